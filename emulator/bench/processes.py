"""Server processes on a loopback port for the benchmarks: ``autosync-stub`` or the bare floor."""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(kind: Literal["stub", "bare"]) -> Iterator[tuple[str, str]]:
    """Start the server on a free loopback port; yield its URL and admin token; stop it after."""
    port = free_port()
    token = secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory(prefix="autosync-bench-") as folder:
        if kind == "stub":
            db = Path(folder) / "stub.db"
            command = [
                *(sys.executable, "-m", "server_stub.cli", "--port", str(port), "--db", f"sqlite:///{db}"),
                # one word: a random token starts with "-" one time in 64 (argparse: an option)
                *(f"--admin-token={token}", "--clock", "manual", "--start", "2026-11-26T09:00:00Z"),
            ]
        else:
            command = [sys.executable, "-m", "emulator.bench.bare", "--port", str(port)]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            assert process.stdout is not None
            seen = []
            for line in process.stdout:  # until uvicorn says it listens; no sleeping
                seen.append(line)
                if "Uvicorn running" in line:
                    break
            else:
                raise RuntimeError(f"{kind} server did not start:\n{''.join(seen)}")
            # keep reading its log, so that a busy server never stops on a full pipe
            threading.Thread(target=process.stdout.read, daemon=True).start()
            yield f"http://127.0.0.1:{port}", token
        finally:
            process.terminate()
            process.wait(timeout=30)
