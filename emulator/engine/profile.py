"""Who a virtual iPad is: its name, user, model and iOS version, and whether Autosync may run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IPadModel:
    name: str
    bits: int


MODELS: dict[str, IPadModel] = {
    m.name: m
    for m in (
        IPadModel("iPad 4", 32),
        IPadModel("iPad Air", 64),
        IPadModel("iPad Air 2", 64),
        IPadModel("iPad (6th generation)", 64),
        IPadModel("iPad (9th generation)", 64),
        IPadModel("iPad mini 6", 64),
        IPadModel("iPad Air (5th generation)", 64),
        IPadModel("iPad Pro 11-inch", 64),
        IPadModel("iPad Pro 12.9-inch", 64),
    )
}


@dataclass(frozen=True)
class DeviceProfile:
    """A device's identity. ``device_id`` is unique on the stage and names its local file."""

    device_id: str
    name: str
    user_id: str
    token: str
    model: str = "iPad Pro 11-inch"
    ios_version: str = "17.5"

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"unknown iPad model {self.model!r}; known: {', '.join(MODELS)}")
        ios_major(self.ios_version)

    @property
    def autosync_eligible(self) -> bool:
        """AS-29: iOS 11 or later on a 64-bit iPad (so never an iPad 4)."""
        return self.ineligibility is None

    @property
    def ineligibility(self) -> str | None:
        """Why this device gets no Autosync, in words, or None if it does."""
        model = MODELS[self.model]
        if model.bits != 64:
            return f"The {model.name} is a 32-bit iPad; Autosync needs a 64-bit iPad."
        if ios_major(self.ios_version) < 11:
            return f"iOS {self.ios_version} is too old; Autosync needs iOS 11 or later."
        return None


def ios_major(version: str) -> int:
    head = version.split(".", 1)[0]
    if not head.isdigit():
        raise ValueError(f"iOS version must look like 17.5, not {version!r}")
    return int(head)
