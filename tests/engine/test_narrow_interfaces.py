"""The upload loop, the feed poller and the incremental sync each see only what they use of a
device: a Protocol in their own module, which Device satisfies structurally (mypy checks every
``Uploader(self)`` and the like in Device; this test keeps the constructors typed with them)."""

from __future__ import annotations

import typing

import pytest

from emulator.engine.feedpoller import FeedPoller, PollingDevice
from emulator.engine.incremental import DownloadingDevice, IncrementalSync, SyncingDevice, download
from emulator.engine.uploader import Uploader, UploadingDevice
from tests.engine.conftest import World


def _members(protocol: type) -> set[str]:
    return {
        name
        for klass in protocol.__mro__
        if klass not in (typing.Protocol, typing.Generic, object)
        for name in vars(klass)
        if not name.startswith("_")
    }


@pytest.mark.parametrize(
    ("takes", "protocol", "most"),
    [
        (Uploader.__init__, UploadingDevice, 15),
        (FeedPoller.__init__, PollingDevice, 8),
        (IncrementalSync.__init__, SyncingDevice, 15),  # alert: a failed sync tells the rep
        (download, DownloadingDevice, 2),
    ],
    ids=["uploader", "poller", "incremental", "download"],
)
def test_each_engine_part_takes_the_narrow_interface_of_its_own_module(
    world: World, takes: typing.Callable[..., object], protocol: type, most: int
) -> None:
    assert typing.get_type_hints(takes)["device"] is protocol, "typed with the protocol, not the whole Device"
    members = _members(protocol)
    assert len(members) <= most, f"{protocol.__name__} grew: {sorted(members)}"
    ipad = world.device("Anna iPad")
    assert {name for name in members if not hasattr(ipad, name)} == set(), "every member is one of Device's"
