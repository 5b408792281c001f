"""The clock bar: emulated time, pause / run, speed, jumps and the feed poll interval.

While running, a QTimer moves the emulated clock by the real time elapsed times the speed
(``clock.advance``); jumps call ``await stage.advance(delta)``, which fires every timer in order.
Nothing sleeps on wall time. While a jump runs, the running clock holds still, so time never
moves under the jump.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from PySide6.QtCore import QElapsedTimer, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSpinBox, QWidget

from emulator.ui.support import Context, when
from emulator.ui.theme import scaled

SPEEDS = (1, 10, 60)
TICK_MS = 100


def _shorter(moment: datetime) -> tuple[str, ...]:
    """The emulated time in shorter forms, for a narrow window: without the clock's state, then
    the time of day alone."""
    return (when(moment), moment.strftime("%H:%M:%S"))


class ClockBar(QWidget):
    """Emulated time and its controls.

    Signals:
        jumping(bool): a jump started (True) or ended (False).
    """

    jumping = Signal(bool)

    def __init__(self, context: Context, *, running: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.stage = context.stage
        self.setObjectName("clock-bar")
        self.speed = 1
        self.busy = False
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 8, 4)
        self.time = QLabel()
        self.time.setObjectName("clock-time")
        # the time says as much as its width holds (the whole date in a wide window, the time of
        # day at least), so the bar never holds the window wider than the screen
        self.time.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.time.installEventFilter(self)
        self.run = QPushButton()
        self.run.setObjectName("clock-run")
        self.run.setCheckable(True)
        self.speed_box = QComboBox()
        self.speed_box.setObjectName("clock-speed")
        for speed in SPEEDS:
            self.speed_box.addItem(f"{speed}x", speed)
        self.plus30 = QPushButton("+30 s")
        self.plus30.setObjectName("clock-plus30")
        self.next_poll = QPushButton("Next poll")
        self.next_poll.setObjectName("clock-next-poll")
        self.plus_day = QPushButton("+1 day")
        self.plus_day.setObjectName("clock-plus-day")
        self.plus_week = QPushButton("+7 days")
        self.plus_week.setObjectName("clock-plus-week")
        self.poll = QSpinBox()
        self.poll.setObjectName("poll-interval")
        self.poll.setRange(5, 3600)
        self.poll.setSuffix(" s")
        self.poll.setPrefix("Feed poll every ")
        self.poll.setValue(int(self.stage.poll_interval.total_seconds()))
        self.poll.setToolTip("How often every iPad checks its feed (AS-20)")
        row.addWidget(self.time, 1)
        self.controls = QWidget()
        self.controls.setObjectName("clock-controls")  # keeps its size in presenter mode
        buttons = QHBoxLayout(self.controls)
        buttons.setContentsMargins(0, 0, 0, 0)
        for widget in (
            self.run,
            self.speed_box,
            self.plus30,
            self.next_poll,
            self.plus_day,
            self.plus_week,
            self.poll,
        ):
            widget.setFocusPolicy(
                Qt.FocusPolicy.ClickFocus if widget is self.poll else Qt.FocusPolicy.NoFocus
            )
            buttons.addWidget(widget)
        row.addWidget(self.controls)
        self._elapsed = QElapsedTimer()
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        self.run.toggled.connect(self.set_running)
        self.speed_box.activated.connect(lambda i: self.set_speed(int(self.speed_box.itemData(i))))
        self.plus30.clicked.connect(lambda: self.jump(timedelta(seconds=30)))
        self.next_poll.clicked.connect(self.jump_to_next_poll)
        self.plus_day.clicked.connect(lambda: self.jump(timedelta(days=1)))
        self.plus_week.clicked.connect(lambda: self.jump(timedelta(days=7)))
        self.poll.editingFinished.connect(self.apply_poll_interval)
        context.bridge.time_changed.connect(self.show_time)  # a bound slot: disconnected on deletion
        self.rescale()
        self.set_running(running)
        self.show_time()

    def rescale(self) -> None:
        self.time.setFont(scaled(self.font(), 1.5, bold=True))
        self.time.setMinimumWidth(self.time.fontMetrics().horizontalAdvance("00:00:00") + 8)
        self.show_time()

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def set_running(self, running: bool) -> None:
        self.run.blockSignals(True)
        self.run.setChecked(running)
        self.run.blockSignals(False)
        self.run.setText("❚❚ Pause" if running else "▶ Run")
        if running:
            self._elapsed.start()
            self._timer.start()
        else:
            self._timer.stop()
        self.show_time()

    def set_speed(self, speed: int) -> None:
        self.speed = speed
        self.speed_box.setCurrentIndex(self.speed_box.findData(speed))
        self.show_time()

    def _tick(self) -> None:
        elapsed_ms = self._elapsed.restart()
        if self.busy:
            return  # a jump is moving the clock; real time spent waiting is not added later
        self.stage.clock.advance(timedelta(milliseconds=elapsed_ms * self.speed))

    def show_time(self, _moment: object = None) -> None:
        state = f"running {self.speed}x" if self.running else "paused"
        moment = self.stage.clock.now()
        whole = f"{when(moment)}  ({state})"
        self.time.setToolTip(whole)
        self.time.setText(self._fitting(whole, *_shorter(moment)))

    def _fitting(self, *texts: str) -> str:
        """The first of ``texts`` (longest first) the label's width holds, else the last."""
        metrics = self.time.fontMetrics()
        room = self.time.contentsRect().width()
        return next((text for text in texts if metrics.horizontalAdvance(text) <= room), texts[-1])

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.time and event.type() == QEvent.Type.Resize:
            self.show_time()  # as much of the time as the new width holds
        return False

    def jump(self, delta: timedelta) -> None:
        """Jump the clock ahead, firing every timer on the way in order.

        A recording gets the jump as an ``advance:`` step of its own (the running time before
        it is written first).
        """
        if self.busy:
            return
        recording = self.context.recording
        recording.catch_up(self.stage)
        self._set_busy(True)

        def always() -> None:
            recording.catch_up(self.stage)
            self._set_busy(False)

        self.context.tasks.spawn(self.stage.advance(delta), title="Clock", parent=self, always=always)

    def jump_to_next_poll(self) -> None:
        dues = [d.next_poll() for d in self.stage.devices.values() if d.autosync_active]
        dues = [due for due in dues if due is not None]
        if not dues:
            self.context.messages.info(
                self, "Next poll", "No iPad polls its feed now (offline, background or traditional sync)."
            )
            return
        self.jump(max(min(dues) - self.stage.clock.now(), timedelta(0)))

    def apply_poll_interval(self) -> None:
        interval = timedelta(seconds=self.poll.value())
        if interval == self.stage.poll_interval:
            return
        self.stage.poll_interval = interval
        for device in self.stage.devices.values():
            device.set_poll_interval(interval)

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        for button in (self.plus30, self.next_poll, self.plus_day, self.plus_week):
            button.setEnabled(not busy)
        self.jumping.emit(busy)
