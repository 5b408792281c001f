"""``autosync-stub`` as a real process on loopback, for tests that cross a real socket."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from emulator.bench.processes import free_port

__all__ = ["ADMIN_TOKEN", "free_port", "running_stub"]

ADMIN_TOKEN = "secret-admin"


@contextmanager
def running_stub(db: Path, *flags: str) -> Iterator[str]:
    """Start the standalone server on a free loopback port (manual clock); yield its URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "server_stub.cli",
            "--port",
            str(port),
            "--db",
            f"sqlite:///{db}",
            "--admin-token",
            ADMIN_TOKEN,
            "--clock",
            "manual",
            "--start",
            "2026-11-26T09:00:00Z",
            *flags,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        seen = []
        for line in process.stdout:  # blocks until uvicorn says it listens; no sleeping
            seen.append(line)
            if "Uvicorn running" in line or process.poll() is not None:
                break
        assert any("Uvicorn running" in line for line in seen), "".join(seen)
        # Keep reading its log: a full pipe would stop the server at its next access-log line.
        threading.Thread(target=process.stdout.read, daemon=True).start()
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)
        if process.stdout is not None:
            process.stdout.close()
