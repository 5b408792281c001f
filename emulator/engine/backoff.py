"""Retry timing for uploads that failed for transport reasons, as small pure functions.

queued --send--> uploading --answer--> (applied, item leaves)
                     |
             timeout / 5xx / lost
                     v
              waiting(attempt n) --after retry_delay(n)--> uploading
                     |
         connectivity returns (offline or lie-fi to online) --at once--> uploading

docs/sync-timings.md tells every timing in words; a test keeps it equal to these constants.
"""

from __future__ import annotations

from datetime import timedelta

BASE = timedelta(seconds=5)
CAP = timedelta(minutes=5)


def retry_delay(attempt: int, base: timedelta = BASE, cap: timedelta = CAP) -> timedelta:
    """How long to wait before attempt ``attempt + 1`` (attempt counts from 1): 5 s doubling."""
    if attempt < 1:
        raise ValueError("attempts count from 1")
    delay: timedelta = base * (2 ** min(attempt - 1, 30))
    return min(delay, cap)
