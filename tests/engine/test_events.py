"""The one event stream: its kinds are one enum, and every emitter names a member."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest

from emulator.engine.events import KINDS, Event, EventKind, EventLog, answer_data
from emulator.engine.uploader import server_ids

ROOT = Path(__file__).resolve().parents[2] / "emulator"
T0 = datetime(2026, 11, 26, 9, tzinfo=UTC)


def _kind_arguments() -> list[tuple[str, ast.expr]]:
    """Every event kind the source hands to ``Device.say`` or ``EventLog.emit``, with where."""
    found: list[tuple[str, ast.expr]] = []
    for path in sorted(ROOT.rglob("*.py")):
        in_ui = "ui" in path.relative_to(ROOT).parts  # widgets' own say() shows text, not events
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            receiver = ast.unparse(node.func.value)
            if node.func.attr == "emit" and receiver.endswith("events"):
                position = 1
            elif node.func.attr == "say" and not in_ui and not receiver.endswith("xray"):
                position = 0
            else:
                continue
            if len(node.args) > position and not isinstance(node.args[0], ast.Starred):
                found.append((f"{path.relative_to(ROOT)}:{node.lineno}", node.args[position]))
    return found


def test_every_kind_emitted_anywhere_is_a_member() -> None:
    found = _kind_arguments()
    assert len(found) > 40, "the scan finds the emitters"
    named = set()
    for where, kind in found:
        if isinstance(kind, ast.Name):
            continue  # a variable: mypy holds it to EventKind (say and emit take nothing else)
        assert isinstance(kind, ast.Attribute) and ast.unparse(kind.value) == "EventKind", (
            f"{where}: {ast.unparse(kind)} is not an EventKind member"
        )
        assert kind.attr in EventKind.__members__, f"{where}: no EventKind.{kind.attr}"
        named.add(EventKind[kind.attr])
    # a kind nothing emits by name is either emitted through a variable or a stale member
    through_variables = {EventKind.UPLOADED, EventKind.DUPLICATED, EventKind.DISCARDED_ONLINE}
    assert set(EventKind) - named - through_variables == {EventKind.CLOCK}, "only the clock is unused"


def test_a_plain_string_is_refused_at_runtime() -> None:
    log = EventLog(lambda: T0)
    with pytest.raises(TypeError, match="EventKind member"):
        log.emit("stage", "saved", "text")  # type: ignore[arg-type]
    event = log.emit("stage", EventKind.SYNC_FAILED, "Sync failed.", reason="offline", full=False)
    assert event.kind is EventKind.SYNC_FAILED


def test_a_kind_is_still_its_string() -> None:
    event = Event(1, T0, "device:pro", "polled", "Polled.")  # type: ignore[arg-type]  # as read back
    assert event.kind is EventKind.POLLED and event.kind == "polled"
    assert event.kind in {"polled", "merged"}
    assert type(event.to_json()["kind"]) is str and event.to_json()["kind"] == "polled"
    assert tuple(k.value for k in EventKind) == KINDS and "put_on_feed" in KINDS
    with pytest.raises(ValueError):
        Event(1, T0, "stage", "no_such_kind", "")  # type: ignore[arg-type]


@pytest.mark.rule("AS-14")
def test_an_upload_answer_is_read_typed() -> None:
    log = EventLog(lambda: T0)
    saved = log.emit(
        "device:pro",
        EventKind.UPLOADED,
        "Saved.",
        ("call2__v", "C-1"),
        transaction_id="pro-1-1",
        replayed=False,
        id_map={"tmp-pro-1": "C-1"},
    )
    assert answer_data(saved) == {
        "transaction_id": "pro-1-1",
        "replayed": False,
        "id_map": {"tmp-pro-1": "C-1"},
    }
    assert (
        answer_data(log.emit("device:pro", EventKind.QUEUED, "Queued.", transaction_id="pro-1-2", seq=2))
        is None
    )
    assert server_ids(log.events) == {"tmp-pro-1": "C-1"}
