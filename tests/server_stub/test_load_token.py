"""The load driver hands its random admin token to the server it starts, whatever its first letter."""

from __future__ import annotations

from pathlib import Path

from server_stub import cli
from server_stub.load import ServerProcess, parse_args


def test_a_token_that_starts_with_a_dash_reaches_the_server(tmp_path: Path) -> None:
    """secrets.token_urlsafe starts with "-" one time in 64; argparse took it for an option."""
    options = parse_args(
        ["--devices", "1", "--seconds", "1", "--server", "http://127.0.0.1:8765", "--db", "sqlite://"]
    )
    command = ServerProcess(options, "-starts-with-a-dash", tmp_path).command()
    assert command[1:3] == ["-m", "server_stub.cli"]
    assert cli.parse_args(command[3:]).admin_token == "-starts-with-a-dash"
