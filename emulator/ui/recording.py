"""The GUI side of recording: the Record toggle's :class:`EventRecording` of one stage.

A :class:`Recording` belongs to the window, not to a stage: every :class:`~emulator.ui.support.Context`
holds the same one (``make_context(..., recording=...)`` or ``dataclasses.replace`` hands it on),
so the Record toggle and its indicator follow it when the window shows another stage. It
records only the stage it was started on. ``stop()`` or ``discard()`` end it.

The steps come from the stage's events (:mod:`emulator.scenarios.event_recording`): a widget
calls the engine and records nothing itself. Only what has no event that tells its step is
handed over with ``record(step, stage=...)``: the server console's online operations (their
records are named by a lookup online, which needs a request), after the server accepted them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from PySide6.QtCore import QObject, Signal

from emulator.engine.device import Device
from emulator.scenarios.event_recording import EventRecording, duration_text
from emulator.scenarios.model import Scenario
from emulator.scenarios.recorder import Recorder
from emulator.stage import Stage

__all__ = ["Recording", "duration_text"]


class Recording(QObject):
    """An optional active :class:`EventRecording` and the stage it records.

    Signals:
        changed(): a recording started, stopped, or got a step.

    Attributes:
        session: the recording under way (None otherwise).
        last: the recorder of the recording stopped last (finished after :meth:`finish`).
    """

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session: EventRecording | None = None
        self.last: Recorder | None = None

    # starting and stopping -------------------------------------------------------------------------
    @property
    def recorder(self) -> Recorder | None:
        """The recorder while recording (None otherwise)."""
        return None if self.session is None else self.session.recorder

    @property
    def stage(self) -> Stage | None:
        """The stage recorded (None when not recording)."""
        return None if self.session is None else self.session.stage

    @property
    def active(self) -> bool:
        return self.session is not None

    def wants(self, stage: Stage) -> bool:
        """True while recording ``stage``."""
        return self.session is not None and self.session.stage is stage

    @property
    def step_count(self) -> int:
        return len(self.session.recorder.steps) if self.session is not None else 0

    def start(self, stage: Stage, **kwargs: Any) -> Recorder:
        """Record ``stage`` from now on (its iPads and seed); ``kwargs`` go to the Recorder."""
        self.discard()
        self.session = EventRecording.start(stage, on_step=self.changed.emit, **kwargs)
        self.changed.emit()
        return self.session.recorder

    def stop(self) -> tuple[Recorder, Stage] | None:
        """Stop recording; the recorder (not finished) and its stage, or None if not recording."""
        session = self.session
        if session is None:
            return None
        session.close()
        self.session = None
        self.last = session.recorder
        self.changed.emit()
        return session.recorder, session.stage

    async def finish(self) -> Scenario | None:
        """Stop and write the end-state checks (``await recorder.finish(stage)``); None if idle.

        Raises ScenarioFileError if the recording does not make a loadable scenario; the
        recorder stays in ``last`` so that its YAML can still be saved and read.
        """
        stopped = self.stop()
        if stopped is None:
            return None
        recorder, stage = stopped
        return await recorder.finish(stage)

    def discard(self) -> None:
        """Drop the recording under way, if any."""
        if self.session is not None:
            self.session.close()
            self.session = None
            self.changed.emit()

    # steps --------------------------------------------------------------------------------------------
    def record(self, step: Mapping[str, Any], *, stage: Stage | None = None) -> None:
        """Append ``step`` (a scenario-file mapping); a no-op unless recording ``stage``."""
        if self.session is None or (stage is not None and stage is not self.session.stage):
            return
        self.session.record(step)

    def catch_up(self, stage: Stage | None = None) -> None:
        """Write the emulated time that passed since the last step as an ``advance:`` step."""
        if self.session is not None and (stage is None or stage is self.session.stage):
            self.session.catch_up()

    # naming records ------------------------------------------------------------------------------------
    def ref(
        self,
        object_name: str,
        record_id: str,
        rows: Iterable[Mapping[str, Any]],
        title_field: str | None,
    ) -> str:
        """The name of a record in the file (see :meth:`EventRecording.ref`)."""
        assert self.session is not None, "not recording"
        return self.session.ref(object_name, record_id, rows, title_field)

    def device_ref(self, device: Device, object_name: str, record_id: str) -> str:
        """The name of a record on ``device`` (looked up there when it is first named)."""
        assert self.session is not None, "not recording"
        return self.session.device_ref(device, object_name, record_id)
