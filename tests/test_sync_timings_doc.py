"""docs/sync-timings.md tells the timings the code uses (AS-06, AS-18, AS-20, AS-33, AS-36)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from emulator.engine import backoff, device, incremental, network, refresh, sync_widget, uploader
from server_stub import feed

DOC = Path(__file__).resolve().parents[1] / "docs" / "sync-timings.md"
ROW = re.compile(r"^\| `(?P<name>[a-z_]+\.[A-Z_]+)` \| (?P<value>[^|]+) \|", re.MULTILINE)


def human(value: object) -> str:
    """A constant as the doc writes it: 5 s, 5 min, 12 h, 7 days, 40 ms, or a list of statuses."""
    if isinstance(value, frozenset):
        return ", ".join(str(v) for v in sorted(value))
    if isinstance(value, float | int):
        return f"{value:g} s"
    assert isinstance(value, timedelta), value
    seconds = value.total_seconds()
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if unit == 'day' and n != 1 else ''}"
    if seconds < 1:
        return f"{seconds * 1000:g} ms"
    return f"{seconds:g} s"


def constants() -> dict[str, str]:
    """Every timing the doc must tell, read from the code."""
    modules = {
        "backoff": (backoff, ["BASE", "CAP"]),
        "uploader": (uploader, ["TRANSIENT_STATUS"]),
        "network": (network, ["REQUEST_TIMEOUT", "WIRE_TIMEOUT_SECONDS"]),
        "device": (device, ["DEFAULT_POLL_INTERVAL"]),
        "feed": (feed, ["RETENTION"]),
        "incremental": (incremental, ["HANDSHAKE", "PER_RECORD"]),
        "refresh": (refresh, ["APPLY_TIME", "RESUME_WITHIN"]),
        "sync_widget": (sync_widget, ["REMIND_AFTER"]),
    }
    found = {
        f"{m}.{name}": human(getattr(mod, name)) for m, (mod, names) in modules.items() for name in names
    }
    found["sync_widget.DEFAULT_WARN_DAYS"] = human(timedelta(days=sync_widget.DEFAULT_WARN_DAYS))
    return found


def test_the_doc_tells_every_timing_as_the_code_has_it() -> None:
    documented = {m["name"]: m["value"].strip() for m in ROW.finditer(DOC.read_text(encoding="utf-8"))}
    assert documented == constants()


@pytest.mark.rule("AS-06")
def test_the_doc_tells_the_retry_waits_attempt_by_attempt() -> None:
    waits: list[str] = []
    attempt = 1
    while not waits or backoff.retry_delay(attempt - 1) < backoff.CAP:
        waits.append(human(backoff.retry_delay(attempt)))
        attempt += 1
    sentence = f"The waits, attempt by attempt: {', '.join(waits)}, then {human(backoff.CAP)} for every"
    assert sentence in " ".join(DOC.read_text(encoding="utf-8").split())


def test_the_request_timeout_is_the_conditions_default() -> None:
    assert network.NetworkConditions().request_timeout == network.REQUEST_TIMEOUT


def test_the_readme_links_the_doc() -> None:
    readme = (DOC.parents[1] / "README.md").read_text(encoding="utf-8")
    assert "(docs/sync-timings.md)" in readme
