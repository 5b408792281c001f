"""What a business admin sets online for a user's iPads: sync settings and client commands.

* Settings (AS-33, AS-36): ``sync_warn_interval_days`` (the ``SYNC_WARN_INTERVAL`` after which
  the Sync widget's pending count turns red; 3 days unless changed) and ``refresh_mode``
  (non-blocking sync; off unless an admin turns it on).
* Client commands (AS-34, AS-37): "clear client sync errors" and "force a full database
  refresh". An admin issues them online; every iPad of the user carries each one out once, at its
  next incremental sync (the commands are numbered, and a device remembers the last it ran).

A device receives both in every incremental sync answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from server_stub.clock import iso
from server_stub.store import Store

CommandKind = Literal["clear_sync_errors", "full_refresh"]
DEFAULT_SETTINGS: dict[str, Any] = {"sync_warn_interval_days": 3, "refresh_mode": False}
#: How many commands a user's list keeps (a device that missed more runs a full refresh anyway).
KEPT_COMMANDS = 50


def _settings_key(user_id: str) -> str:
    return f"user_settings:{user_id}"


def _commands_key(user_id: str) -> str:
    return f"client_commands:{user_id}"


def user_settings(store: Store, user_id: str) -> dict[str, Any]:
    """The user's sync settings, defaults filled in."""
    return {**DEFAULT_SETTINGS, **store.setting(_settings_key(user_id), {})}


def update_user_settings(store: Store, user_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Change some of the user's sync settings; returns them all."""
    unknown = set(changes) - set(DEFAULT_SETTINGS)
    if unknown:
        raise ValueError(f"unknown setting {sorted(unknown)[0]!r}")
    settings = {**user_settings(store, user_id), **changes}
    store.set_setting(_settings_key(user_id), settings)
    return settings


def issue_command(store: Store, user_id: str, kind: CommandKind, now: datetime) -> dict[str, Any]:
    """Queue a client command for every iPad of the user; returns it."""
    commands = list(store.setting(_commands_key(user_id), []))
    number = store.next_number(f"client_command:{user_id}")
    command = {"id": number, "kind": kind, "issued_at": iso(now)}
    commands = [*commands, command][-KEPT_COMMANDS:]
    store.set_setting(_commands_key(user_id), commands)
    return command


def commands(store: Store, user_id: str) -> list[dict[str, Any]]:
    """Every command still kept for the user, oldest first."""
    return list(store.setting(_commands_key(user_id), []))
