"""The floor's server: one FastAPI route that reads a JSON body and answers a small JSON one.

``python -m emulator.bench.bare --port N`` serves it on loopback (uvicorn, as ``autosync-stub``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI


def bare_app() -> FastAPI:
    app = FastAPI()

    @app.post("/bare")
    async def bare(body: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "records": len(body.get("records") or [])}

    return app


def main(argv: Sequence[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m emulator.bench.bare")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    uvicorn.run(bare_app(), host="127.0.0.1", port=args.port, log_level="info")


if __name__ == "__main__":
    main()
