"""The emulator's errors: a server's refusal, a missing user and no answer are told apart."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from emulator.errors import (
    ActionRefused,
    AutosyncError,
    NotFound,
    ScenarioError,
    ServerRefused,
    ServerUnreachable,
)
from emulator.scenarios.loader import ScenarioFileError
from emulator.scenarios.resolving import ScenarioRunError
from emulator.stage import Stage
from tests.conftest import LoopRunner


@pytest.fixture
def stage(tmp_path: Path) -> Iterator[tuple[LoopRunner, Stage]]:
    loop = LoopRunner()
    stage = Stage(data_dir=tmp_path)
    loop.run(stage.start())
    yield loop, stage
    loop.run(stage.close())
    loop.close()


def test_the_server_refusing_an_online_call_is_a_server_refused(stage: tuple[LoopRunner, Stage]) -> None:
    loop, st = stage
    with pytest.raises(ServerRefused) as refused:
        loop.run(st.online("PATCH", "/users/anna/settings", json={"sync_warn_interval_days": -4}))
    assert refused.value.status == 422 and not isinstance(refused.value, NotFound)
    assert refused.value.message == str(refused.value) and refused.value.message
    assert [e.kind for e in st.events.events if e.kind == "online_change"] == [], "a refusal changes nothing"


def test_what_the_server_does_not_have_is_not_found(stage: tuple[LoopRunner, Stage]) -> None:
    loop, st = stage
    with pytest.raises(NotFound, match="no user 'nobody' on the server") as missing:
        loop.run(st.add_device("Nobody's iPad", "nobody"))
    assert missing.value.status == 404
    with pytest.raises(NotFound):
        loop.run(st.online("POST", "/datasets/no_such_data/refresh"))
    with pytest.raises(ValueError, match="lower-case letters"):  # the caller's mistake, not the server's
        loop.run(st.add_device("Anna", "anna", device_id="Not An ID"))


def test_a_server_that_does_not_answer_is_unreachable(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port that was free a moment ago: nobody listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    loop = LoopRunner()
    stage = Stage(data_dir=tmp_path, server_url=f"http://127.0.0.1:{port}", admin_token="t")
    try:
        with pytest.raises(ServerUnreachable, match=f"127.0.0.1:{port} did not answer"):
            loop.run(stage.start())
    finally:
        loop.run(stage.close())
        loop.close()


def test_one_hierarchy() -> None:
    for error in (ActionRefused, ServerRefused, NotFound, ServerUnreachable, ScenarioError):
        assert issubclass(error, AutosyncError)
    assert issubclass(ScenarioFileError, ScenarioError) and issubclass(ScenarioRunError, ScenarioError)
    assert not issubclass(ServerRefused, ValueError), "a refusal is not mistaken for a bad argument"
    from emulator.engine.device import ActionRefused as FromDevice

    assert FromDevice is ActionRefused


def test_an_answer_that_is_not_what_the_wire_says_is_a_malformed_answer() -> None:
    from autosync_wire import FeedPageOut
    from emulator.errors import MalformedAnswer, ServerError, read_answer

    request = httpx.Request("GET", "http://stub/api/v1/feeds/anna")
    with pytest.raises(MalformedAnswer, match=r"^the answer to GET /api/v1/feeds/anna could not be read: "):
        read_answer(FeedPageOut, httpx.Response(200, content=b"{", request=request))
    with pytest.raises(ServerError, match=r"latest_seq: Field required \(and 4 more\)"):
        read_answer(
            FeedPageOut, httpx.Response(200, json={"user_id": "anna", "entries": []}, request=request)
        )
