"""What every widget shares: the stage as Qt signals, coalesced refreshes, async tasks, messages.

A widget never calls ``stage.events.subscribe`` itself: the :class:`StageBridge` subscribes once
and re-emits each event as a Qt signal, so a widget that is deleted is disconnected by Qt and
never called again. A widget asks for a redraw with a :class:`Coalescer`; a thousand events in
one burst give one redraw. Engine coroutines run through :class:`Tasks`, which shows refusals
and failures to the user instead of losing them, and never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import httpx
import shiboken6
from PySide6.QtCore import QElapsedTimer, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from emulator.engine.device import ActionRefused
from emulator.engine.events import Event
from emulator.errors import AutosyncError
from emulator.stage import Stage
from emulator.ui.recording import Recording

log = logging.getLogger(__name__)
T = TypeVar("T")


class StageBridge(QObject):
    """The stage's event stream and clock, as Qt signals.

    Signals:
        happened(object): every new :class:`Event`, as it is emitted.
        time_changed(object): the emulated time moved (a ``datetime``).
    """

    happened = Signal(object)
    time_changed = Signal(object)

    def __init__(self, stage: Stage, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.stage = stage
        self._alive = True
        self._unsubscribe_events = stage.events.subscribe(self._on_event)
        self._unsubscribe_clock = stage.clock.on_change(self._on_time)

    def _on_event(self, event: Event) -> None:
        if self._alive:
            self.happened.emit(event)

    def _on_time(self, moment: datetime) -> None:
        if self._alive:
            self.time_changed.emit(moment)

    def detach(self) -> None:
        """Stop listening to the event stream and the clock."""
        if self._alive:
            self._alive = False
            self._unsubscribe_events()
            self._unsubscribe_clock()


#: The least time between two redraws of a busy view (a burst of events), in milliseconds.
REDRAW_MS = 150


class Coalescer(QObject):
    """Calls ``callback`` once, soon, however often it is requested.

    With ``every_ms``, it also waits that long after its last call before the next one: a view
    that reads the whole queue redraws a few times a second while a thousand uploads go by,
    not a thousand times (the window stays responsive; the last state is always drawn).
    """

    def __init__(self, callback: Callable[[], None], parent: QObject, every_ms: int = 0) -> None:
        super().__init__(parent)
        self._callback = callback
        self._every = every_ms
        self._since = QElapsedTimer()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._run)

    def request(self) -> None:
        if self._timer.isActive():
            return
        wait = 0
        if self._every and self._since.isValid():
            wait = max(0, self._every - int(self._since.elapsed()))
        self._timer.start(wait)

    def now(self) -> None:
        """Call it at once (the end of something the user did), dropping a pending call."""
        self._timer.stop()
        self._run()

    def cancel(self) -> None:
        """Drop a pending call (the view is going away)."""
        self._timer.stop()

    def flush(self) -> None:
        """Make a pending call now (a picture is about to be taken); nothing if none is pending."""
        if self._timer.isActive():
            self.now()

    def _run(self) -> None:
        self._since.start()
        self._callback()


@dataclass
class Shown:
    kind: str  # "refused", "problem", "info"
    title: str
    text: str


class Messages(QObject):
    """Tells the user something in a window-modal message box opened with ``open()``.

    ``open()`` never blocks, so tests (and the event loop) carry on; tests read ``history``.

    Signals:
        shown(object): a :class:`Shown` value, each time a message is shown.
    """

    shown = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.history: list[Shown] = []
        self.boxes = True

    def refused(self, parent: QWidget | None, title: str, text: str) -> None:
        self._show(parent, Shown("refused", title, text), QMessageBox.Icon.Warning)

    def problem(self, parent: QWidget | None, title: str, text: str) -> None:
        self._show(parent, Shown("problem", title, text), QMessageBox.Icon.Critical)

    def info(self, parent: QWidget | None, title: str, text: str) -> None:
        self._show(parent, Shown("info", title, text), QMessageBox.Icon.Information)

    def note(self, kind: str, title: str, text: str) -> None:
        """Keep a message shown elsewhere (an alert inside an iPad) in ``history``, without a box."""
        shown = Shown(kind, title, text)
        self.history.append(shown)
        self.shown.emit(shown)

    def _show(self, parent: QWidget | None, shown: Shown, icon: QMessageBox.Icon) -> None:
        self.history.append(shown)
        self.shown.emit(shown)
        if not self.boxes:
            return
        box = QMessageBox(icon, shown.title, shown.text, QMessageBox.StandardButton.Ok, parent)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setObjectName(f"message-{shown.kind}")
        box.open()


@dataclass
class Tasks:
    """Runs engine coroutines from the UI; refusals and failures become messages.

    Attributes:
        messages: where refusals and failures are shown.
        running: tasks not finished yet (kept so they are not garbage-collected).
    """

    messages: Messages
    running: set[asyncio.Future[Any]] = field(default_factory=set)

    def spawn(
        self,
        coro: Coroutine[Any, Any, Any],
        *,
        title: str,
        parent: QWidget | None = None,
        done: Callable[[Any], None] | None = None,
        always: Callable[[], None] | None = None,
    ) -> asyncio.Future[Any]:
        """Run ``coro``; ``done(result)`` on success; ``always()`` at the end in any case."""
        future = asyncio.ensure_future(self._guarded(coro, title, parent, done, always))
        self.running.add(future)
        future.add_done_callback(self.running.discard)
        return future

    async def _guarded(
        self,
        coro: Coroutine[Any, Any, Any],
        title: str,
        parent: QWidget | None,
        done: Callable[[Any], None] | None,
        always: Callable[[], None] | None,
    ) -> Any:
        try:
            result = await coro
        except ActionRefused as exc:
            self._tell(parent, title, "refused", str(exc))
            return None
        except (AutosyncError, ValueError, httpx.HTTPError, RuntimeError) as exc:
            self._tell(parent, title, "problem", str(exc) or type(exc).__name__)
            return None
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the window must outlive any bug; show it, log it
            log.exception("%s failed", title)
            self._tell(parent, title, "problem", f"{type(exc).__name__}: {exc}")
            return None
        finally:
            if always is not None and _alive(parent):
                always()
        if done is not None and _alive(parent):
            done(result)
        return result

    def _tell(self, parent: QWidget | None, title: str, kind: str, text: str) -> None:
        """Show a refusal or a problem, unless the task's window closed under it (nobody to tell)."""
        if not _alive(parent):
            log.debug("%s ended after its window closed: %s", title, text)
        elif kind == "refused":
            self.messages.refused(parent, title, text)
        else:
            self.messages.problem(parent, title, text)

    def refusing(self, parent: QWidget | None, title: str, action: Callable[[], Any]) -> Any:
        """Run a synchronous engine action; an :class:`ActionRefused` becomes a dialog."""
        try:
            return action()
        except ActionRefused as exc:
            self.messages.refused(parent, title, str(exc))
            return None
        except ValueError as exc:
            self.messages.problem(parent, title, str(exc))
            return None

    def attempt(self, parent: QWidget | None, title: str, action: Callable[[], Any]) -> bool:
        """:meth:`refusing` for an action whose result does not tell: True if it was done."""
        done = False

        def run() -> None:
            nonlocal done
            action()
            done = True

        self.refusing(parent, title, run)
        return done


def _alive(widget: QWidget | None) -> bool:
    """Whether ``widget`` still exists (a task may end after its widget was closed and deleted)."""
    return widget is None or shiboken6.isValid(widget)


@dataclass
class Context:
    """What a widget of the stage is handed besides the engine object it shows.

    ``recording`` is the window's, the same in every context it hands out (see
    :mod:`emulator.ui.recording`); widgets tell it what the user did.
    """

    stage: Stage
    bridge: StageBridge
    messages: Messages
    tasks: Tasks
    recording: Recording = field(default_factory=Recording)
    #: Whether the emulated clock stands still (then a user's sync moves it while it runs).
    clock_paused: Callable[[], bool] = lambda: True

    async def in_emulated_time(self, action: Awaitable[T]) -> T:
        """An action that takes emulated time (a sync): run by the clock bar when it runs,
        else moved along by the stage (``Stage.complete``), as a scenario step is."""
        if self.clock_paused():
            return await self.stage.complete(action)
        return await action


def make_context(stage: Stage, parent: QObject | None = None, recording: Recording | None = None) -> Context:
    messages = Messages(parent)
    return Context(
        stage,
        StageBridge(stage, parent),
        messages,
        Tasks(messages),
        recording if recording is not None else Recording(parent),
    )


def ask_where_to_save(
    parent: QWidget, title: str, name: str, kinds: str, save: Callable[[str], Any]
) -> QFileDialog:
    """A non-blocking Save dialog (``open()``, never ``exec()``); ``save(path)`` once one is chosen."""
    dialog = QFileDialog(parent, title, name, kinds)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setDefaultSuffix(name.rsplit(".", 1)[-1])
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.fileSelected.connect(save)
    dialog.open()
    return dialog


def hhmmss(moment: datetime) -> str:
    return moment.strftime("%H:%M:%S")


def when(moment: datetime) -> str:
    """Emulated date and time as a trainer reads it: ``Thu 26 Nov 2026, 09:00:30``."""
    return moment.strftime("%a %d %b %Y, %H:%M:%S")
