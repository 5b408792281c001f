"""Playing scenarios in the GUI: a picker, a player dock, and the ``say:`` line large over the stage.

The player drives a :class:`~emulator.scenarios.runner.ScenarioRunner` on the qasync loop: one
``await runner.step()`` per Step (Space, PageDown, "." or Right / Down, so presentation clickers work), Play
steps on until the end or Pause, Restart plays the file again on a fresh stage. The runner owns
its own stage (seeded, embedded server), so a played scenario gives the same event stream as a
headless run; the player announces that stage (``stage_opened``) so the window shows its iPads
while it plays, and hands the window back (``stage_closing``) before the stage is closed.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QRect, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPalette, QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from emulator.heap import thaw_and_collect
from emulator.scenarios.bundle import save_bundle
from emulator.scenarios.loader import ScenarioFileError, library_dir, load_scenario
from emulator.scenarios.model import Scenario, Step
from emulator.scenarios.runner import ScenarioRunner, StepResult

log = logging.getLogger(__name__)
PASS, FAIL = "✓", "✗"
SAY_POINT_SIZE = 16.0
NOTHING_OPEN = "No scenario open (Scenario ▸ Open scenario…)"
QWIDGETSIZE_MAX = (1 << 24) - 1


class ScenarioPicker(QDialog):
    """The scenario library: one line per file with its title and rules.

    Signals:
        chosen(object): the ``Path`` of the scenario picked.
    """

    chosen = Signal(object)

    def __init__(self, folder: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open a scenario")
        self.setObjectName("scenario-picker")
        self.resize(720, 560)
        layout = QVBoxLayout(self)
        self.list = QListWidget()
        self.list.setObjectName("scenario-list")
        for path in sorted((folder or library_dir()).glob("*.yaml")):
            try:
                scenario = load_scenario(path)
            except ScenarioFileError as exc:
                item = QListWidgetItem(f"{FAIL} {path.name}: {exc.problem}")
                item.setFlags(Qt.ItemFlag.NoItemFlags)
            else:
                rules = f"  [{', '.join(scenario.rules)}]" if scenario.rules else ""
                item = QListWidgetItem(f"{scenario.title}{rules}")
                item.setToolTip(scenario.description or path.name)
            item.setData(Qt.ItemDataRole.UserRole, path)
            self.list.addItem(item)
        self.list.itemActivated.connect(lambda _item: self.accept())
        layout.addWidget(self.list)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        if self.list.count():
            self.list.setCurrentRow(0)

    def accept(self) -> None:
        item = self.list.currentItem()
        path = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        super().accept()
        if isinstance(path, Path):
            self.chosen.emit(path)


class Narration(QLabel):
    """The current ``say:`` line, large, in a strip of its own above the iPads.

    It takes its own place in the layout rather than floating: it never covers what the
    audience should be looking at, and it stays on screen however the window is arranged. It is
    as tall as its words at its width, no taller (its height follows every change of text, font
    and width); with a cap (presenter mode) a long line gets a smaller font rather than
    pushing the iPads off the screen.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("narration")
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setStyleSheet(
            "QLabel#narration { background: rgb(20, 24, 32); color: white;"
            " border-radius: 8px; padding: 8px 18px; }"
        )
        self.point_size = SAY_POINT_SIZE
        self.cap: int | None = None
        self._fitting = False
        self.set_zoom(1.0)
        self.hide()

    def set_zoom(self, zoom: float) -> None:
        """Large at any zoom; the window's zoom scales it further, by half as much (a narration
        of three lines at presenter size would push the iPads off a projector)."""
        self.point_size = SAY_POINT_SIZE * (1 + (zoom - 1) / 2)
        self._keep_whole()

    def set_cap(self, cap: int | None) -> None:
        """The most height it may take (None: as much as its words need)."""
        self.cap = cap
        self._keep_whole()

    def say(self, text: str | None) -> None:
        self.setText(text or "")
        self.setVisible(bool(text))
        self._keep_whole()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._keep_whole()

    def needed_height(self, width: int) -> int:
        """The height its words need at ``width``, padding included (-1: not laid out yet).

        (QLabel's own heightForWidth answers the same for any font under a style sheet.)
        """
        margins = self.contentsMargins()
        inner = width - margins.left() - margins.right()
        if width <= 0 or inner <= 0:
            return -1
        flags = Qt.TextFlag.TextWordWrap | Qt.AlignmentFlag.AlignCenter
        text = QFontMetrics(self.font()).boundingRect(QRect(0, 0, inner, 1 << 20), flags, self.text())
        return text.height() + margins.top() + margins.bottom()

    def _keep_whole(self) -> None:
        """Exactly the height its words need at its width: never squeezed, never left taller.

        Under a cap, the font steps down (to three quarters of the normal narration size at least)
        until they fit.
        """
        if self._fitting:
            return
        self._fitting = True
        try:
            font = QFont(self.font())
            size = self.point_size
            smallest = min(SAY_POINT_SIZE * 0.75, size)
            while True:
                font.setPointSizeF(size)
                if font != self.font():
                    self.setFont(font)
                needed = self.needed_height(self.width())
                if self.cap is None or needed <= self.cap or size <= smallest:
                    break
                size = max(smallest, size - 1)
            height = max(needed, 0) if self.cap is None else min(max(needed, 0), self.cap)
            self.setMinimumHeight(height)
            self.setMaximumHeight(height if height > 0 else QWIDGETSIZE_MAX)
        finally:
            self._fitting = False


class ScenarioPlayer(QWidget):
    """Play, pause, step and restart one scenario; its checks as they pass (✓) or fail (✗).

    Signals:
        stepped(object): a :class:`StepResult`, after each step.
        state_changed(): loaded, busy, playing or finished changed.
        stage_opened(object): the runner's :class:`Stage` is started and ready to be shown.
        stage_closing(object): that stage is about to close; stop showing it.

    Attributes:
        runner: the runner of the scenario loaded (None before one is opened).
        busy: a step (or start / restart) is running.
        playing: Play is on: the player steps on until the end or Pause.
    """

    stepped = Signal(object)
    state_changed = Signal()
    stage_opened = Signal(object)
    stage_closing = Signal(object)

    def __init__(self, overlay: Narration, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("scenario-player")
        self.overlay = overlay
        self.scenario: Scenario | None = None
        self.runner: ScenarioRunner | None = None
        self.busy = False
        self.playing = False
        self.play_delay = 1.5  # seconds between steps while playing (presenter pacing, not engine time)
        self._task: asyncio.Future[Any] | None = None

        layout = QVBoxLayout(self)
        self.column = layout
        self._margins = layout.contentsMargins()
        self.title = QLabel(NOTHING_OPEN)
        self.title.setObjectName("scenario-title")
        self.title.setWordWrap(True)
        bold = QFont(self.title.font())
        bold.setBold(True)
        self.title.setFont(bold)
        layout.addWidget(self.title)
        self.progress = QLabel("")
        self.progress.setObjectName("scenario-progress")
        self.progress.setWordWrap(True)
        layout.addWidget(self.progress)
        buttons = QHBoxLayout()
        self.buttons = buttons
        self.play_button = QPushButton("Play")
        self.step_button = QPushButton("Step")
        self.restart_button = QPushButton("Restart")
        for button in (self.play_button, self.step_button, self.restart_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space stays the Step key
            buttons.addWidget(button)
        self.play_button.clicked.connect(self.toggle_play)
        self.step_button.clicked.connect(self.step)
        self.restart_button.clicked.connect(self.restart)
        layout.addLayout(buttons)
        self.results = QListWidget()
        self.results.setObjectName("scenario-results")
        self.results.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.results.setWordWrap(True)
        layout.addWidget(self.results, 1)
        self.checks = QLabel()
        self.checks.setObjectName("scenario-checks")
        self.checks.hide()
        layout.addWidget(self.checks)
        self.compact = False
        self._refresh()

    def set_compact(self, compact: bool) -> None:
        """Presenter mode: one line (title, step, buttons, checks so far) for the top of the window."""
        self.compact = compact
        if compact:  # one slim row: the iPads need the height
            self.column.setContentsMargins(6, 2, 6, 2)
        else:
            self.column.setContentsMargins(self._margins)
        self.column.setDirection(
            QBoxLayout.Direction.LeftToRight if compact else QBoxLayout.Direction.TopToBottom
        )
        self.column.setStretchFactor(self.progress, 1 if compact else 0)
        self.title.setVisible(not compact)  # the dock's title says it then
        self.progress.setSizePolicy(
            QSizePolicy.Policy.Ignored if compact else QSizePolicy.Policy.Preferred,
            QSizePolicy.Policy.Preferred,
        )
        self.results.setVisible(not compact)
        self.checks.setVisible(compact)
        self.title.setWordWrap(not compact)
        self.progress.setWordWrap(not compact)
        self._refresh()

    # loading -------------------------------------------------------------------------------------
    def open_file(self, path: str | Path) -> asyncio.Future[Any] | None:
        """Load a scenario file (a bad one is shown, not played) and start it on a fresh stage."""
        try:
            scenario = load_scenario(path)
        except ScenarioFileError as exc:
            self.results.clear()
            self.results.addItem(f"{FAIL} {exc}")
            self.title.setText("The scenario file cannot be played")
            return None
        return self.open_scenario(scenario)

    def open_scenario(self, scenario: Scenario) -> asyncio.Future[Any] | None:
        self.scenario = scenario
        return self.restart()

    def restart(self) -> asyncio.Future[Any] | None:
        """Play the scenario again from the start, on a fresh stage."""
        if self.scenario is None or self.busy:
            return None
        self.playing = False
        return self._spawn(self._restart())

    async def _restart(self) -> None:
        await self.close_run()
        assert self.scenario is not None
        self.results.clear()
        self.overlay.say(None)
        runner = ScenarioRunner(self.scenario)
        try:
            await runner.start()
        except BaseException:
            await runner.close()
            raise
        self.runner = runner
        self.stage_opened.emit(runner.stage)

    async def close_run(self) -> None:
        """Close the runner's stage (before another run, and when the window closes)."""
        runner, self.runner = self.runner, None
        if runner is not None:
            self.playing = False
            self.stage_closing.emit(runner.stage)
            await runner.close()
            thaw_and_collect()  # what the closed stage held in cycles is freed now
            self._refresh()

    def close_scenario(self) -> asyncio.Future[Any] | None:
        """Close the scenario: its stage closes and nothing is loaded any more."""
        if self.busy:
            return None
        self.scenario = None
        self.overlay.say(None)
        self.results.clear()
        self.title.setText(NOTHING_OPEN)
        self.progress.setText("")
        return self._spawn(self.close_run())

    # stepping ------------------------------------------------------------------------------------
    def step(self) -> asyncio.Future[Any] | None:
        """Play the next step (ignored while a step is running or after the last)."""
        if self.runner is None or self.busy or self.runner.finished:
            return None
        self.playing = False
        return self._spawn(self._step())

    def toggle_play(self) -> asyncio.Future[Any] | None:
        if self.playing:
            self.playing = False
            self._refresh()
            return None
        if self.runner is None or self.busy or self.runner.finished:
            return None
        self.playing = True
        return self._spawn(self._play())

    async def _play(self) -> None:
        while self.playing and self.runner is not None and not self.runner.finished:
            await self._step()
            if self.playing and self.runner is not None and not self.runner.finished and self.play_delay:
                await self._beat(self.play_delay)
        self.playing = False

    def _beat(self, seconds: float) -> asyncio.Future[None]:
        """The presenter's pace between played steps: a Qt timer, like the clock bar's 1x run.

        Only the audience's reading time; the scenario's own time is the emulated clock.
        """
        beat: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def ring() -> None:
            if not beat.done():
                beat.set_result(None)

        QTimer.singleShot(int(seconds * 1000), ring)
        return beat

    async def _step(self) -> None:
        runner = self.runner
        if runner is None:
            return
        result = await runner.step()
        if result is not None:
            self._show(result)
            self.stepped.emit(result)

    def _spawn(self, coro: Any) -> asyncio.Future[Any]:
        self.busy = True
        self._refresh()

        async def guarded() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the window outlives a broken run; show it
                log.exception("scenario player failed")
                self.results.addItem(f"{FAIL} {type(exc).__name__}: {exc}")
            finally:
                self.busy = False
                self.playing = self.playing and self.runner is not None and not self.runner.finished
                self._refresh()

        self._task = asyncio.ensure_future(guarded())
        return self._task

    # showing -------------------------------------------------------------------------------------
    def _show(self, result: StepResult) -> None:
        step = result.step
        if step.say:
            self.overlay.say(step.say)
        if not result.ok:
            self._add(False, f"step {result.number}: {result.message}")
        for check in result.checks:
            self._add(check.passed, check.message)
        self.results.scrollToBottom()

    def _add(self, passed: bool, text: str) -> None:
        item = QListWidgetItem(f"{PASS if passed else FAIL} {text}")
        dark = self.results.palette().color(QPalette.ColorRole.Base).lightness() < 128
        colours = ("#3fb950", "#ff7b72") if dark else ("#1a7f37", "#cf222e")  # readable on either
        item.setForeground(QColor(colours[0] if passed else colours[1]))
        self.results.addItem(item)

    def _refresh(self) -> None:
        runner, scenario = self.runner, self.scenario
        if scenario is not None:
            rules = f" [{', '.join(scenario.rules)}]" if scenario.rules else ""
            self.title.setText(f"{scenario.title}{rules}")
        if runner is not None:
            total = len(runner.scenario.steps)
            upcoming: Step | None = runner.next_step
            if runner.finished:
                verdict = "passed" if runner.result.passed else "FAILED"
                text = f"Finished: {total} steps, {verdict}."
            else:
                text = f"Step {runner.position} of {total}. Next: {upcoming.describe() if upcoming else ''}"
            self.progress.setText(text)
            checks = [c for r in runner.result.steps for c in r.checks]
            failed = sum(1 for c in checks if not c.passed)
            self.checks.setText(
                f"{PASS} {len(checks) - failed} checks passed"
                + (f", {FAIL} {failed} failed" if failed else "")
            )
        loaded = runner is not None and not self.busy
        self.play_button.setText("Pause" if self.playing else "Play")
        self.play_button.setEnabled(self.playing or (loaded and runner is not None and not runner.finished))
        self.step_button.setEnabled(loaded and runner is not None and not runner.finished)
        self.restart_button.setEnabled(self.scenario is not None and not self.busy)
        self.state_changed.emit()

    # bug bundle ----------------------------------------------------------------------------------
    def save_bundle_to(self, path: str | Path) -> Path | None:
        """The steps played so far, the full event stream and the seed, in one bug bundle file."""
        runner = self.runner
        if runner is None:
            return None
        played = list(runner.scenario.steps[: runner.position])
        if not any(not s.setup for s in played):
            played.append(Step(action=None, say="The bundle was saved before the first step."))
        scenario = replace(runner.scenario, steps=tuple(played))
        try:
            return save_bundle(path, scenario, runner.stage.events.events, runner.seed)
        except OSError as exc:
            self._add(False, f"The bug bundle was not saved: {path}: {exc.strerror or exc}")
            return None
