"""Whether the emulator's X-ray view is shown: for every iPad, and per iPad.

Inside an iPad's bezel the emulator draws only what the real Vault CRM app shows. Everything it
adds to explain (per-record sync state, waiting merges, why an upload waits, queue contents,
expired-feed explanations, the lost-iPad report) is the X-ray view, which one switch turns off to
show exactly what a rep sees. The state lives with the stage, so that a scenario can set it
(``xray: off``) and the window shows what the scenario says; no Qt here.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class XRay:
    """The X-ray switch: ``on`` for every iPad, and an iPad's own choice where it made one."""

    on: bool = True
    only: dict[str, bool] = field(default_factory=dict)  # device ID -> its own switch

    def shown(self, device_id: str) -> bool:
        return self.only.get(device_id, self.on)

    def set(self, on: bool, device_id: str | None = None) -> None:
        """Switch it for one iPad, or (``device_id`` None) for all of them."""
        if device_id is None:
            self.on = on
            self.only.clear()
        else:
            self.only[device_id] = on
