"""The stage window: the clock bar, the iPads side by side with their panels, the server console.

Menus and shortcuts reach everything (F1 lists them); Ctrl+= / Ctrl+- zoom and presenter mode
make it readable on a projector; layout, zoom and console visibility are remembered.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QEvent, QObject, QPointF, QRect, QSettings, QSize, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QFont,
    QKeyEvent,
    QKeySequence,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QScrollArea,
    QSplitter,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from emulator.engine.device import Device
from emulator.engine.events import DeviceData, EventKind
from emulator.scenarios.loader import ScenarioFileError
from emulator.scenarios.writer import write_file
from emulator.stage import Stage
from emulator.ui.clock_bar import SPEEDS, ClockBar
from emulator.ui.device_view import DeviceFrame
from emulator.ui.dialogs import AddDeviceDialog, ShortcutSheet
from emulator.ui.panel import DRAWER_MARK, DRAWER_TABS, DevicePanel
from emulator.ui.scenario_player import Narration, ScenarioPicker, ScenarioPlayer
from emulator.ui.server_console import ServerConsole
from emulator.ui.support import Coalescer, Context, StageBridge, ask_where_to_save, make_context, when
from emulator.ui.timeline import Timeline
from emulator.ui.travel import SERVER, TravelOverlay, trips_for
from emulator.ui.travel import SPEEDS as SPEEDS_OF_TRAVEL

ZOOM_STEPS = (0.8, 0.9, 1.0, 1.15, 1.3, 1.5, 1.75, 2.0)
PRESENTER_ZOOM = 1.5
DEFAULT_SIZE = (1900, 1040)
CONSOLE_WIDTH, CONSOLE_MIN_WIDTH = 560, 340
#: The least height of presenter mode's bottom area (the console and the timeline): a toolbar
#: or a tab bar, and a few rows.
BOTTOM_LEAST = 150
XRAY_PER_IPAD = "view/xray-ipad"  # settings group: device ID -> that iPad's own X-ray switch


QWIDGETSIZE_MAX = (1 << 24) - 1
#: Widgets that keep the normal font size in presenter mode: the trainer's controls, not the
#: audience's (the iPads and the emulated time need the room).
TRAINER_CONTROLS = ("control-strip", "clock-controls", DRAWER_TABS, DRAWER_MARK)


def set_dock_widget(dock: QDockWidget, widget: QWidget) -> None:
    """Put ``widget`` in ``dock`` inside a scroll area: a dock's content never makes the window
    larger than the screen, it scrolls instead."""
    holder = QScrollArea()
    holder.setObjectName(f"{dock.objectName()}-scroller")
    holder.setWidgetResizable(True)
    holder.setFrameShape(QFrame.Shape.NoFrame)
    holder.setWidget(widget)
    old = dock.widget()
    dock.setWidget(holder)
    if old is not None:
        old.deleteLater()


class ClickerKeys(QObject):
    """A presentation clicker's keys (Space, PageDown, ".", Right, Down) step the scenario.

    A field of the emulator's controls that has the keyboard (the poll interval, a latency)
    would otherwise swallow them; only typing into an iPad's screen or a dialog keeps them.
    The arrows also stay with a control they move in (a spin box, a list, a field, a menu).
    """

    KEYS = frozenset(
        {Qt.Key.Key_Space, Qt.Key.Key_PageDown, Qt.Key.Key_Period, Qt.Key.Key_Right, Qt.Key.Key_Down}
    )
    ARROWS = frozenset({Qt.Key.Key_Right, Qt.Key.Key_Down})
    ARROW_TAKERS = (
        QAbstractSpinBox,
        QLineEdit,
        QComboBox,
        QAbstractItemView,
        QTextEdit,
        QPlainTextEdit,
        QAbstractSlider,
    )

    def __init__(self, window: QMainWindow, step: QAction) -> None:
        super().__init__(window)
        self.window = window
        self.step = step

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return False
        if event.key() not in self.KEYS or event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            return False
        if not self.window.isActiveWindow() or not self.step.isEnabled():
            return False
        focus = QApplication.focusWidget()
        if focus is None or not self.window.isAncestorOf(focus):
            return False
        typing = focus.window() is not self.window or _inside(focus, "crm-app")
        if typing or (event.key() in self.ARROWS and isinstance(focus, self.ARROW_TAKERS)):
            return False
        self.step.trigger()
        return True


def _inside(widget: QWidget, name: str) -> bool:
    parent: QWidget | None = widget
    while parent is not None:
        if parent.objectName() == name:
            return True
        parent = parent.parentWidget()
    return False


class DeviceColumn(QSplitter):
    """One iPad over its control strip, and the X-ray drawer when it is open."""

    def __init__(self, device: Device, context: Context, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Vertical, parent)
        self.device = device
        self.setObjectName(f"column-{device.id}")
        self.setChildrenCollapsible(False)
        self.frame = DeviceFrame(device, context)
        self.panel = DevicePanel(device, context)
        self.addWidget(self.frame)
        self.addWidget(self.panel)
        self.setStretchFactor(0, 3)
        self.setStretchFactor(1, 2)
        self.panel.drawer_toggled.connect(self._drawer_toggled)
        self.panel.wants_room.connect(self._give_room)
        self._drawer_toggled(False)

    def _drawer_toggled(self, shown: bool) -> None:
        """Closed, the strip takes one row and the iPad the rest; open, the drawer gets 40 %,
        or what its page needs to be read whole (a conflict), as long as the iPad keeps its minimum."""
        if shown:
            self.panel.setMaximumHeight(QWIDGETSIZE_MAX)
            total = sum(self.sizes()) or self.height()
            self.setSizes([total * 3 // 5, total - total * 3 // 5])
            self._give_room()
        else:
            self.panel.setMaximumHeight(self.panel.minimumSizeHint().height())

    def _give_room(self) -> None:
        """The open drawer grows (never shrinks) to what its page needs, the iPad keeping its minimum."""
        if not self.panel.drawer.isVisible():
            return
        total = sum(self.sizes()) or self.height()
        strip = self.panel.height() - self.panel.drawer.height()
        wanted = strip + self.panel.drawer_height()
        most = total - self.frame.minimumSizeHint().height()
        panel = min(wanted, most)
        if panel > self.sizes()[1]:
            self.setSizes([total - panel, panel])


class MainWindow(QMainWindow):
    """The stage. Hand it a started :class:`Stage`; closing it closes the stage.

    Signals:
        closed(): the stage is closed and the window is gone.
    """

    closed = Signal()

    def __init__(
        self,
        stage: Stage,
        *,
        settings: QSettings | None = None,
        clock_running: bool = True,
        context: Context | None = None,
    ) -> None:
        super().__init__()
        self.stage = stage
        self.context = context or make_context(stage, self)
        self.context.clock_paused = lambda: not self.clock_bar.running
        self.settings = settings
        self.columns: dict[str, DeviceColumn] = {}
        self.zoom = 1.0
        self.presenter = False
        self._before_presenter: tuple[QRect, QByteArray, bool] | None = None
        self._within_screen = True
        self._watching_screen = False
        self._console_fit: tuple[int, int] | None = None  # (window width, console width) to apply
        self._base_font = QFont(QApplication.font())
        self._closing = False
        self._closed = False
        self._menu_actions: list[tuple[str, QAction]] = []
        self._column_split: QByteArray | None = None  # iPad / panel split, the same for every column
        self.setWindowTitle("Autosync Emulator" + ("" if stage.embedded else f" — {stage.server_url}"))
        self.setObjectName("stage-window")

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 4)
        self.central_layout = layout
        self.clock_bar = ClockBar(self.context, running=clock_running)
        layout.addWidget(self.clock_bar)
        self.scroller = QScrollArea()
        self.scroller.setWidgetResizable(True)
        self.row_host = QWidget()
        self.row = QHBoxLayout(self.row_host)
        self.row.setContentsMargins(4, 4, 4, 4)
        self.row.setSpacing(12)
        self.row.addStretch(0)
        self.scroller.setWidget(self.row_host)
        self.travel = TravelOverlay(self.scroller.viewport(), self._locate, self._band_nodes)
        layout.addWidget(self.scroller, 1)
        self.central = central
        self.setCentralWidget(central)

        self.console = ServerConsole(self.context)
        self.console_dock = QDockWidget("Server console", self)
        self.console_dock.setObjectName("server-dock")
        set_dock_widget(self.console_dock, self.console)
        self.console_dock.setMinimumWidth(CONSOLE_MIN_WIDTH)  # never a sliver: the iPads scroll instead
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.console_dock)
        self.resizeDocks([self.console_dock], [CONSOLE_WIDTH], Qt.Orientation.Horizontal)
        self.console_dock.visibilityChanged.connect(self._console_shown)
        self.timeline_dock = self._make_timeline_dock()
        self.home_stage = stage
        self._home_clock_running = clock_running
        self.context.bridge.happened.connect(self._on_stage_event)

        for device in stage.devices.values():
            self._add_column(device)
        self._build_menus()
        self._build_scenario_menu()
        self._restore()
        self._show_band()
        self.console.reload()

    def _make_timeline_dock(self) -> QDockWidget:
        """The timeline of the event stream, docked at the bottom, hidden until asked for."""
        self.timeline = Timeline(self.context)
        dock = QDockWidget("Timeline", self)
        dock.setObjectName("timeline-dock")
        set_dock_widget(dock, self.timeline)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        dock.hide()
        dock.visibilityChanged.connect(self._timeline_shown)
        return dock

    def _timeline_shown(self, shown: bool) -> None:
        """Opened, the timeline takes a third of the height at most: the iPads keep the rest."""
        if shown and not self._closing:
            if self.presenter:
                self._under_the_ipads(self.timeline_dock)
                return
            share = self.height() // 3
            self.resizeDocks([self.timeline_dock], [max(share, 120)], Qt.Orientation.Vertical)

    def _console_shown(self, shown: bool) -> None:
        """In presenter mode the console opens under the iPads, a tab beside the timeline: the
        iPads keep the width their names need (beside them, it would leave two and a half)."""
        if shown and self.presenter and not self._closing:
            self._under_the_ipads(self.console_dock)

    def _under_the_ipads(self, dock: QDockWidget) -> None:
        """Presenter mode's bottom area: the console and the timeline as tabs, as tall as the
        iPads leave (at least enough for a toolbar and a few rows)."""
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        other = self.timeline_dock if dock is self.console_dock else self.console_dock
        moved = self.dockWidgetArea(dock) != bottom
        if moved:
            self.addDockWidget(bottom, dock)
        if (
            other.isVisible()
            and self.dockWidgetArea(other) == bottom
            and other not in self.tabifiedDockWidgets(dock)
        ):
            self.tabifyDockWidget(other, dock)
            moved = True
        if moved:
            dock.show()
            dock.raise_()
        share = self._bottom_share()
        dock.setMinimumHeight(BOTTOM_LEAST)  # what opens later on the stage scrolls instead
        self.resizeDocks([dock], [share], Qt.Orientation.Vertical)
        self.timeline.show_legend(share >= self.timeline.height_with_legend() + 30)  # 30: the tabs

    def _bottom_share(self) -> int:
        """The height the iPads leave under them in presenter mode: the stage keeps what its
        columns need to show whole (the clock, the narration, the band, an iPad at its least)."""
        columns = [c.minimumSizeHint().height() for c in self.columns.values()]
        stage = (
            self.clock_bar.sizeHint().height()
            + (self.narration.height() if self.narration.isVisible() else 0)
            + (self.travel.band_height() if self.travel.active else 0)
            + max(columns, default=0)
            + 24  # the layouts' margins
        )
        player = self.player_dock
        on_top = player.isVisible() and self.dockWidgetArea(player) == Qt.DockWidgetArea.TopDockWidgetArea
        top = self.menuBar().height() + (player.height() if on_top else 0)
        return max(BOTTOM_LEAST, min(self.height() // 3, self.height() - top - stage))

    # which stage is shown ------------------------------------------------------------------------
    @property
    def showing_scenario(self) -> bool:
        return self.stage is not self.home_stage

    def show_stage(self, stage: Stage, *, clock_running: bool = False) -> None:
        """Show another stage (a scenario's, or home again): iPads, clock bar, console, timeline."""
        if stage is self.stage:
            return
        if self.stage is self.home_stage:
            self._home_clock_running = self.clock_bar.running
        self.clock_bar.set_running(False)
        for device_id in list(self.columns):
            self._remove_column(device_id)
        self.context.bridge.detach()
        stage.xray.set(self.stage.xray.on)  # the window's choice; a scenario's xray: steps may change it
        self.stage = stage
        self.context = replace(self.context, stage=stage, bridge=StageBridge(stage, self))
        self.context.bridge.happened.connect(self._on_stage_event)
        old_bar, self.clock_bar = self.clock_bar, ClockBar(self.context, running=clock_running)
        self.central_layout.replaceWidget(old_bar, self.clock_bar)
        old_bar.deleteLater()
        self.console = ServerConsole(self.context)
        set_dock_widget(self.console_dock, self.console)  # the old console goes with its holder
        self.timeline = Timeline(self.context)
        set_dock_widget(self.timeline_dock, self.timeline)
        for device in stage.devices.values():
            self._add_column(device)
        if self.zoom != 1.0:
            self._fix_fonts(self)
            self.clock_bar.rescale()
        self._rebuild_device_menu()
        self._show_title()
        self.console.reload()
        self.xray_action.setChecked(stage.xray.on)
        self.travel.clear()
        self.travel.set_enabled(stage.xray.on)

    def _show_title(self) -> None:
        title = "Autosync Emulator" + ("" if self.stage.embedded else f" — {self.stage.server_url}")
        scenario = self.scenario_player.scenario if hasattr(self, "scenario_player") else None
        if self.showing_scenario and scenario is not None:
            title += f" — scenario: {scenario.title}"
        self.setWindowTitle(title)
        if hasattr(self, "player_dock"):
            named = f"Scenario: {scenario.title}" if scenario is not None else "Scenario"
            self.player_dock.setWindowTitle(named)

    def _on_stage_event(self, event: Any) -> None:
        """iPads that join or leave the stage shown (a scenario's ``join:`` step, another window);
        the X-ray switch as a scenario or a panel set it."""
        if event.kind == "xray":
            self._show_xray_state()
            return
        self.travel.add(trips_for(event, self._user_of))
        device_id = event.data_as(DeviceData)["device"] if event.kind is EventKind.DEVICE_ADDED else None
        if device_id is not None and device_id in self.stage.devices and device_id not in self.columns:
            self._add_column(self.stage.devices[device_id])
            self._rebuild_device_menu()
        elif event.kind == "device_removed" and device_id in self.columns:
            self._remove_column(device_id)
            self._rebuild_device_menu()

    # changes travelling -------------------------------------------------------------------------------
    def _user_of(self, device_id: str) -> str | None:
        device = self.stage.devices.get(device_id)
        return None if device is None else device.profile.user_id

    def _show_band(self) -> None:
        """The network band above the iPads, where changes travel (none while travel is off)."""
        self.travel.fit()
        self.row.setContentsMargins(4, 4 + (self.travel.band_height() if self.travel.active else 0), 4, 4)

    def _locate(self, place: str) -> QPointF | None:
        """Where a place of :mod:`emulator.ui.travel` is, in the overlay's coordinates.

        Everything sits in the network band above the iPads: the server in the middle, each
        user's feed beside it, and each iPad right above its name. Tokens run along the band,
        so a change never seems to pass through another iPad's screen.
        """
        viewport = self.scroller.viewport()
        y = self.travel.track_y()
        if place.startswith("device:"):
            column = self.columns.get(place.removeprefix("device:"))
            if column is None or not column.isVisible():
                return None
            caption = column.frame.caption
            return QPointF(caption.mapTo(viewport, caption.rect().center()).x(), y)
        centre = viewport.width() / 2
        if place == SERVER:
            return QPointF(centre, y)
        user = place.removeprefix("feed:")
        theirs = [
            point.x()
            for device in self.stage.devices.values()
            if device.profile.user_id == user and (point := self._locate(device.actor)) is not None
        ]
        if not theirs:
            return None
        x = (centre + sum(theirs) / len(theirs)) / 2  # between the server and them
        gap = 40 + (self.travel.plate_width(SERVER) + self.travel.plate_width(place)) / 2
        if abs(x - centre) < gap:  # never on top of the server
            x = centre + (gap if x >= centre else -gap)
        return QPointF(x, y)

    def _band_nodes(self) -> list[str]:
        users = sorted({d.profile.user_id for d in self.stage.devices.values()})
        return [*(d.actor for d in self.stage.devices.values()), SERVER, *(f"feed:{user}" for user in users)]

    def set_travel_speed(self, speed: str) -> None:
        """Off, slow, normal or fast: how tokens show a change travelling (View menu)."""
        self.travel.set_speed(speed)
        for name, action in self.travel_actions.items():
            action.setChecked(name == speed)
        self._show_band()

    # devices --------------------------------------------------------------------------------------
    def _add_column(self, device: Device) -> DeviceColumn:
        column = DeviceColumn(device, self.context)
        column.setMaximumWidth(column.fontMetrics().height() * 44)
        self._fix_fonts(column)
        self.row.insertWidget(self.row.count() - 1, column, 1)
        self.columns[device.id] = column
        if self._column_split is not None:
            column.restoreState(self._column_split)
        return column

    def _remove_column(self, device_id: str) -> None:
        column = self.columns.pop(device_id, None)
        if column is not None:
            column.hide()
            column.setParent(None)
            column.deleteLater()

    def column(self, index: int) -> DeviceColumn:
        return list(self.columns.values())[index]

    def open_add_device(self) -> None:
        """Ask for the new iPad's user, model and iOS version (non-blocking dialog)."""

        async def users() -> list[str]:
            return [u["id"] for u in await self.stage.users()]

        def show(user_ids: list[str]) -> None:
            dialog = AddDeviceDialog(user_ids, set(self.stage.devices), self)
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.accepted.connect(
                lambda: self.add_device(
                    dialog.device_name,
                    dialog.user_id,
                    model=dialog.model_name,
                    ios_version=dialog.ios_version,
                )
            )
            self.add_dialog = dialog
            dialog.open()

        self.context.tasks.spawn(users(), title="Add an iPad", parent=self, done=show)

    def add_device(self, name: str, user_id: str, *, model: str, ios_version: str) -> Any:
        async def add() -> Device:
            return await self.stage.add_device(name, user_id, model=model, ios_version=ios_version)

        def added(device: Device) -> None:
            if device.id not in self.columns and device.id in self.stage.devices:
                self._add_column(device)
            self._rebuild_device_menu()

        return self.context.tasks.spawn(add(), title="Add an iPad", parent=self, done=added)

    def _refuse_while_recording(self, title: str) -> bool:
        """A scenario cannot remove an iPad or reset the stage: say so instead of doing it."""
        if not self.context.recording.active:
            return False
        self.context.messages.refused(
            self,
            title,
            "A recording is running, and a scenario cannot do this. "
            "Stop the recording first (Scenario ▸ Record, Ctrl+Shift+E).",
        )
        return True

    def remove_device(self, device_id: str) -> Any:
        if self._refuse_while_recording("Remove an iPad"):
            return None
        self._remove_column(device_id)

        async def remove() -> None:
            await self.stage.remove_device(device_id)

        return self.context.tasks.spawn(
            remove(), title="Remove an iPad", parent=self, always=self._rebuild_device_menu
        )

    def confirm_reset(self) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Reset to the sample state",
            "Throw away every change on the server and on every iPad, and load the sample data again?",
            QMessageBox.StandardButton.Reset | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.button(QMessageBox.StandardButton.Reset).clicked.connect(self.reset_stage)
        box.open()

    def reset_stage(self) -> Any:
        """Reset this window's own stage to the sample state (:meth:`Stage.reset`) and show it.

        A scenario being shown is closed first.
        """
        if self._refuse_while_recording("Reset"):
            return None
        return self.context.tasks.spawn(self._reset(), title="Reset", parent=self, always=self._after_reset)

    async def _reset(self) -> None:
        """Close a scenario being shown, reset the stage, show its new iPads; raises if it failed."""
        if self.showing_scenario:
            self.player_dock.hide()
            await self.scenario_player.close_run()
        for device_id in list(self.columns):  # no column redraws an iPad while it closes
            self._remove_column(device_id)
        for device in await self.home_stage.reset():
            if device.id not in self.columns:
                self._add_column(device)

    def _after_reset(self) -> None:
        self._rebuild_device_menu()
        self.console.reload()

    # menus ----------------------------------------------------------------------------------------
    def _action(
        self, menu: QMenu, text: str, slot: Any, shortcut: str | QKeySequence.StandardKey | None = None
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        self._menu_actions.append((menu.title(), action))
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        self._action(file, "&Add an iPad…", self.open_add_device, "Ctrl+N")
        self._action(file, "&Reset to the sample state…", self.confirm_reset, "Ctrl+Shift+R")
        self._action(file, "Save a &screenshot…", self.save_screenshot_dialog, "F12")
        file.addSeparator()
        self._action(file, "&Quit", self.close, "Ctrl+Q")

        self.device_menu = bar.addMenu("&Devices")
        self._rebuild_device_menu()

        clock = bar.addMenu("&Clock")
        self._action(
            clock, "&Run / pause", lambda: self.clock_bar.set_running(not self.clock_bar.running), "F5"
        )
        for n, speed in enumerate(SPEEDS, start=1):
            self._action(clock, f"Speed {speed}x", lambda s=speed: self.clock_bar.set_speed(s), f"Ctrl+{n}")
        clock.addSeparator()
        self._action(clock, "+30 seconds", lambda: self.clock_bar.plus30.click(), "Ctrl+T")
        self._action(clock, "To the &next poll", lambda: self.clock_bar.jump_to_next_poll(), "Ctrl+P")
        self._action(clock, "+1 &day", lambda: self.clock_bar.plus_day.click(), "Ctrl+D")
        self._action(clock, "+7 days", lambda: self.clock_bar.plus_week.click(), "Ctrl+Shift+D")
        self._action(clock, "Poll &interval…", lambda: self.clock_bar.poll.setFocus(), "Ctrl+I")

        view = bar.addMenu("&View")
        toggle = self.console_dock.toggleViewAction()
        toggle.setText("&Server console")
        toggle.setShortcut(QKeySequence("Ctrl+Shift+C"))
        view.addAction(toggle)
        self._menu_actions.append((view.title(), toggle))
        timeline = self.timeline_dock.toggleViewAction()
        timeline.setText("&Timeline")
        timeline.setShortcut(QKeySequence("Ctrl+Shift+T"))  # Ctrl+T is the clock's +30 seconds
        timeline.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        view.addAction(timeline)
        self._menu_actions.append((view.title(), timeline))
        travel = view.addMenu("Changes &travelling")
        self.travel_actions: dict[str, QAction] = {}
        for pace in SPEEDS_OF_TRAVEL:
            action = self._action(travel, pace.capitalize(), lambda s=pace: self.set_travel_speed(s))
            action.setCheckable(True)
            action.setChecked(pace == self.travel.speed)
            self.travel_actions[pace] = action
        self.xray_action = self._action(view, "&X-ray view", lambda: self.toggle_xray(), "Ctrl+Shift+X")
        self.xray_action.setCheckable(True)
        self.xray_action.setToolTip(
            "The emulator's explanations inside and beside the iPads. Off: the iPads show exactly "
            "what a rep sees."
        )
        self._action(view, "&Presenter mode", self.toggle_presenter, "Ctrl+Shift+P")
        self._action(view, "Zoom &in", lambda: self.step_zoom(+1), "Ctrl+=")
        self._action(view, "Zoom &out", lambda: self.step_zoom(-1), "Ctrl+-")
        self._action(view, "&Actual size", lambda: self.set_zoom(1.0), "Ctrl+0")
        self._action(view, "&Full screen", self._toggle_full_screen, "F11")

        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&Keyboard shortcuts", self.show_shortcuts, "F1")
        self._action(help_menu, "&About", self.show_about)

    def _rebuild_device_menu(self) -> None:
        menu = self.device_menu
        menu.clear()
        self._menu_actions = [(m, a) for m, a in self._menu_actions if m != menu.title()]
        self._action(menu, "&Add an iPad…", self.open_add_device)
        menu.addSeparator()
        for n, device in enumerate(self.stage.devices.values(), start=1):
            sub = menu.addMenu(f"{n}. {device.profile.name}")
            keys = n <= 9
            panel = self.columns[device.id].panel if device.id in self.columns else None
            if panel is None:
                continue
            app = self.columns[device.id].frame.app
            self._action(sub, "Tap Sync (incremental sync)", app.run_sync, f"Alt+{n}" if keys else None)
            self._action(
                sub,
                "Offline / online",
                lambda d=device, p=panel: p.set_network(
                    "online" if d.conditions.mode != "online" else "offline"
                ),
                f"Ctrl+Alt+{n}" if keys else None,
            )
            self._action(
                sub,
                "Background / foreground",
                lambda d=device: d.set_foreground(not d.foreground),
                f"Ctrl+Shift+{n}" if keys else None,
            )
            shown = self.stage.xray.shown(device.id)
            lost = self._action(sub, "What if it were lost now? (X-ray)", panel.show_loss_report)
            lost.setEnabled(shown)  # as the panel's button: only with the X-ray view on this iPad
            xray = self._action(sub, "X-ray view on this iPad", lambda i=device.id: self.toggle_xray(i))
            xray.setCheckable(True)
            xray.setChecked(shown)
            self._action(sub, "Remove from the stage", lambda i=device.id: self.remove_device(i))

    def all_actions(self) -> list[tuple[str, QAction]]:
        return list(self._menu_actions)

    def show_shortcuts(self) -> ShortcutSheet:
        sheet = ShortcutSheet(self.all_actions(), self)
        sheet.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        sheet.open()
        return sheet

    def show_about(self) -> None:
        self.context.messages.info(
            self,
            "About Autosync Emulator",
            "Several virtual iPads, a Vault CRM stub server and its Autosync feed, side by side.\n"
            "Server: " + ("embedded" if self.stage.embedded else str(self.stage.server_url)),
        )

    # scenarios ------------------------------------------------------------------------------------
    def _build_scenario_menu(self) -> None:
        """The Scenario menu and the player dock (hidden until a scenario is opened)."""
        self.narration = Narration()  # a strip of its own above the iPads: it covers nothing
        self.central_layout.insertWidget(1, self.narration)
        self.scenario_player = ScenarioPlayer(self.narration)
        self.player_dock = QDockWidget("Scenario", self)
        self.player_dock.setObjectName("scenario-dock")
        set_dock_widget(self.player_dock, self.scenario_player)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.player_dock)
        self.player_dock.hide()
        menu = QMenu("&Scenario", self)
        self.menuBar().insertMenu(self.menuBar().actions()[-1], menu)  # before Help
        player = self.scenario_player
        self._action(menu, "&Open scenario…", self.open_scenario_picker, "Ctrl+O")
        self.scenario_actions = {
            "play": self._action(menu, "&Play / pause", player.toggle_play, "Shift+Space"),
            "step": self._action(menu, "&Step", player.step, "Space"),
            "restart": self._action(menu, "&Restart", player.restart, "Ctrl+Home"),
            "close": self._action(menu, "&Close the scenario", self.close_scenario, "Ctrl+Shift+W"),
        }
        menu.addSeparator()
        self.scenario_actions["bundle"] = self._action(
            menu, "Save a &bug bundle…", self.save_bundle_dialog, "Ctrl+Shift+B"
        )
        menu.addSeparator()
        self._build_record_action(menu)
        step = self.scenario_actions["step"]
        step.setShortcuts([QKeySequence("Space"), QKeySequence("PgDown"), QKeySequence(".")])
        for action in self.scenario_actions.values():  # plain keys only while this window is active
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.clicker = ClickerKeys(self, step)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self.clicker)
        player.state_changed.connect(self._scenario_state)
        player.stage_opened.connect(lambda stage: self.show_stage(stage))
        player.stage_closing.connect(
            lambda _stage: self.show_stage(self.home_stage, clock_running=self._home_clock_running)
        )
        self._scenario_state()

    def _scenario_state(self) -> None:
        player = self.scenario_player
        loaded = player.runner is not None
        self.scenario_actions["play"].setEnabled(loaded)
        self.scenario_actions["step"].setEnabled(loaded)
        self.scenario_actions["restart"].setEnabled(player.scenario is not None)
        self.scenario_actions["bundle"].setEnabled(loaded)
        self.scenario_actions["close"].setEnabled(player.scenario is not None)

    def open_scenario_picker(self) -> ScenarioPicker:
        picker = ScenarioPicker(parent=self)
        picker.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        picker.chosen.connect(self.open_scenario)
        self.scenario_picker = picker
        picker.open()
        return picker

    def open_scenario(self, path: Any) -> Any:
        """Play a scenario file on its own fresh stage, shown in place of this one until closed."""
        self._show_player()
        return self.scenario_player.open_file(path)

    def _show_player(self) -> None:
        """The player dock, on the left (a row at the top in presenter mode)."""
        if self.player_dock.isVisible():
            return
        self.player_dock.show()
        self._size_player()

    def _size_player(self) -> None:
        """A row as tall as the player's one line in presenter mode; else a column on the left."""
        if self.presenter:
            row = self.scenario_player.sizeHint().height()
            self.resizeDocks([self.player_dock], [row], Qt.Orientation.Vertical)
        else:
            width = self.fontMetrics().averageCharWidth() * 48
            self.resizeDocks([self.player_dock], [width], Qt.Orientation.Horizontal)

    def close_scenario(self) -> Any:
        """Close the scenario and its stage; the window shows its own stage again."""
        self.player_dock.hide()
        return self.scenario_player.close_scenario()

    def save_bundle_dialog(self) -> None:
        save = self.scenario_player.save_bundle_to
        ask_where_to_save(self, "Save a bug bundle", "bug.bundle.yaml", "Bug bundles (*.yaml)", save)

    # recording a scenario -------------------------------------------------------------------------
    def _build_record_action(self, menu: QMenu) -> None:
        """Scenario ▸ Record (a toggle) and the red "● Recording" sign in the menu bar."""
        self.record_action = self._action(menu, "&Record", self.toggle_recording, "Ctrl+Shift+E")
        self.record_action.setCheckable(True)
        self.recording_sign = QLabel("● Recording")
        self.recording_sign.setObjectName("recording-sign")
        self.recording_sign.setStyleSheet("color: #d1242f; font-weight: bold; padding: 0 12px;")
        self.recording_sign.setToolTip(
            "What you do on the stage is written down as a scenario (Ctrl+Shift+E stops)"
        )
        self.menuBar().setCornerWidget(self.recording_sign, Qt.Corner.TopRightCorner)
        self.recorded_yaml: str | None = None  # the last recording stopped, as a scenario file
        self.context.recording.changed.connect(self._recording_changed)
        self._recording_changed()

    def _recording_changed(self) -> None:
        recording = self.context.recording
        self.record_action.setChecked(recording.active)
        self.recording_sign.setVisible(recording.active)
        steps = recording.step_count
        self.recording_sign.setText(f"● Recording · {steps} step{'' if steps == 1 else 's'}")

    def toggle_recording(self) -> Any:
        """Start a recording (offering the sample state first), or stop it and save the file."""
        result = self.stop_recording() if self.context.recording.active else self.offer_recording()
        self._recording_changed()  # checked only once a recording runs
        return result

    def offer_recording(self) -> QMessageBox:
        """Ask where to start: a replay starts from the sample state on a fresh stage."""
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Record a scenario",
            "A recording replays on a fresh stage: the sample data, these iPads, the clock from where "
            "the recording starts. Reset the stage to the sample state and record from there?\n\n"
            "Record from here only if nothing changed since the stage started: otherwise the replay "
            "starts from another state than yours.",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setObjectName("record-offer")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        fresh = box.addButton("Reset and record", QMessageBox.ButtonRole.AcceptRole)
        here = box.addButton("Record from here", QMessageBox.ButtonRole.ActionRole)
        here.setEnabled(not self.showing_scenario)
        box.setDefaultButton(fresh)
        fresh.clicked.connect(lambda: self.start_recording(reset=True))
        here.clicked.connect(lambda: self.start_recording(reset=False))
        self.record_offer = box
        box.open()
        return box

    def start_recording(self, *, reset: bool = True) -> Any:
        """Record this window's own stage, after resetting it to the sample state when ``reset``."""
        recording = self.context.recording

        async def begin() -> None:
            fresh = reset or self.showing_scenario
            if fresh:
                try:
                    await self._reset()  # a failed reset raises: nothing to record from
                finally:
                    self._after_reset()
            stage = self.home_stage
            await stage.settle()
            start = "the sample state" if fresh else "the stage as it was"
            recording.start(
                stage,
                title="Recorded session",
                description=(
                    f"Recorded in the Autosync Emulator from {start}, {when(stage.clock.now())} "
                    "(emulated time). Replay: autosync-emulator scenario run FILE"
                ),
            )

        return self.context.tasks.spawn(begin(), title="Record", parent=self)

    def stop_recording(self) -> Any:
        """Stop: snapshot the end state as the last step's checks, then ask where to save."""
        stopped = self.context.recording.stop()  # no step is recorded after this
        if stopped is None:
            return None
        recorder, stage = stopped

        async def finish() -> None:
            problem = None
            try:
                await recorder.finish(stage)
            except ScenarioFileError as exc:
                problem = str(exc)
            self.recorded_yaml = recorder.to_yaml()
            if problem is not None:
                self.context.messages.problem(
                    self, "Recording", f"The recording does not read back as a scenario: {problem}"
                )
            self.save_recording_dialog()

        return self.context.tasks.spawn(finish(), title="Recording", parent=self)

    def save_recording_dialog(self) -> None:
        self.recording_dialog = ask_where_to_save(
            self, "Save the recording", "recording.yaml", "Scenarios (*.yaml)", self.save_recording_to
        )

    def save_recording_to(self, path: Any) -> Any:
        """Write the last recording as a scenario file; its Path, or None if there is none."""
        if self.recorded_yaml is None:
            return None
        target = Path(path)
        try:
            write_file(target, self.recorded_yaml)
        except OSError as exc:
            self.context.messages.problem(self, "Save the recording", f"{target}: {exc.strerror or exc}")
            return None
        return target

    # zoom and presenter mode ---------------------------------------------------------------------
    def set_zoom(self, zoom: float) -> None:
        self.zoom = zoom
        font = QFont(self._base_font)
        size = self._base_font.pointSizeF() if self._base_font.pointSizeF() > 0 else 10.0
        font.setPointSizeF(size * zoom)
        self.setFont(font)
        self._fix_fonts(self)
        self.clock_bar.rescale()
        self.narration.set_zoom(zoom)
        self._show_band()

    def _fix_fonts(self, root: QWidget) -> None:
        """Style-sheeted widgets stop inheriting the window font; hand it to them.

        The narration keeps its own, larger size (scaled by ``set_zoom``); the iPads'
        control strips keep the normal size: they are the trainer's, not the audience's, and the
        iPads need the width.
        """
        for widget in root.findChildren(QWidget):
            if widget.styleSheet() and widget is not getattr(self, "narration", None):
                widget.setFont(self.font())
        strips = [root] if root.objectName() in TRAINER_CONTROLS else []
        strips += [w for name in TRAINER_CONTROLS for w in root.findChildren(QWidget, name)]
        for strip in strips:
            strip.setFont(self._base_font)
            for widget in strip.findChildren(QWidget):
                widget.setFont(self._base_font)

    def step_zoom(self, step: int) -> None:
        steps = sorted({*ZOOM_STEPS, self.zoom})
        index = steps.index(self.zoom) + step
        self.set_zoom(steps[max(0, min(index, len(steps) - 1))])

    def toggle_xray(self, device_id: str | None = None) -> None:
        """Switch the X-ray view for every iPad, or for one (off: exactly what a rep sees)."""
        stage = self.stage
        on = not (stage.xray.on if device_id is None else stage.xray.shown(device_id))
        stage.set_xray(on, device_id)

    def _show_xray_state(self) -> None:
        self.xray_action.setChecked(self.stage.xray.on)
        self.travel.set_enabled(self.stage.xray.on)
        self._show_band()
        self._rebuild_device_menu()

    def toggle_presenter(self) -> None:
        """Large fonts for a projector, and the room for them; leaving puts the layout back.

        The server console steps aside and the scenario player becomes one line at the top, so
        the iPads keep the width; the window stays within the screen. Leaving presenter mode
        restores the window's size, its docks and where they were.
        """
        self.presenter = not self.presenter
        if self.presenter:
            self._before_presenter = (self.geometry(), self.saveState(), self.isMaximized())
            self.console_dock.hide()
            self.addDockWidget(Qt.DockWidgetArea.TopDockWidgetArea, self.player_dock)
            self.scenario_player.set_compact(True)
            self.set_zoom(PRESENTER_ZOOM)
            self._size_player()
            self.narration.set_cap(self._narration_cap())
        else:
            self.set_zoom(1.0)
            self.scenario_player.set_compact(False)
            for dock in (self.console_dock, self.timeline_dock):
                dock.setMinimumHeight(0)
            self.timeline.show_legend(True)
            self.narration.set_cap(None)
            if self._before_presenter is not None:
                geometry, state, maximized = self._before_presenter
                self.restoreState(state)  # the docks as they were before presenting...
                if not maximized:
                    self.setGeometry(geometry)
            self._before_presenter = None
            if self.scenario_player.scenario is not None:  # ...but a scenario opened since keeps its player
                self._show_player()
        self.keep_within_screen()

    def _narration_cap(self) -> int:
        """In presenter mode the narration takes an eighth of the window's height at most (two
        lines at presenter size, 96 px on a 768 px projector): the iPads and their drawers need the rest."""
        return max(self.height() // 8, 60)

    def keep_within_screen(self) -> None:
        """The window never grows past its screen's available area, whatever is open.

        (Unless it was sized for a picture larger than the screen: ``fit_to(within_screen=False)``.)
        """
        screen = self.screen()
        if screen is None or not self._within_screen:
            return
        room = screen.availableGeometry()
        frame = self.frameGeometry()
        extra_w, extra_h = frame.width() - self.width(), frame.height() - self.height()  # the title bar
        most = QSize(room.width() - extra_w, room.height() - extra_h)
        self.setMaximumSize(most)
        if self.width() > most.width() or self.height() > most.height():
            self.resize(min(self.width(), most.width()), min(self.height(), most.height()))
        frame = self.frameGeometry()
        if not room.contains(frame):  # back onto the screen, whole
            x = max(room.left(), min(frame.left(), room.right() - frame.width() + 1))
            y = max(room.top(), min(frame.top(), room.bottom() - frame.height() + 1))
            self.move(x, y)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        handle = self.windowHandle()
        if handle is not None and not self._watching_screen:
            handle.screenChanged.connect(lambda _s: self.keep_within_screen())
            self._watching_screen = True
        self.keep_within_screen()

    def _toggle_full_screen(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    # screenshots ----------------------------------------------------------------------------------
    def save_screenshot(self, path: str) -> bool:
        return bool(self.grab().save(path))

    def save_screenshot_dialog(self) -> None:
        ask_where_to_save(self, "Save a screenshot", "stage.png", "PNG images (*.png)", self.save_screenshot)

    # settings and closing -------------------------------------------------------------------------
    def fit_to(self, width: int, height: int, *, within_screen: bool = True) -> None:
        """Size the window (no larger than the screen) and share its width: the iPads first.

        The server console gets the width the iPads leave (up to 560 px); with too little left
        it starts hidden (View ▸ Server console, Ctrl+Shift+C, brings it back).
        """
        self._within_screen = within_screen
        if not within_screen:
            self.setMaximumSize(QWIDGETSIZE_MAX, QWIDGETSIZE_MAX)
        screen = self.screen()
        if within_screen and screen is not None:
            room = screen.availableGeometry()
            extra_w = self.frameGeometry().width() - self.width()
            extra_h = self.frameGeometry().height() - self.height()
            width, height = min(width, room.width() - extra_w), min(height, room.height() - extra_h)
        margins = self.central_layout.contentsMargins()
        needed = self.row_host.minimumSizeHint().width() + margins.left() + margins.right() + 8
        spare = width - needed - self.style().pixelMetric(self.style().PixelMetric.PM_ScrollBarExtent)
        self.console_dock.setVisible(spare >= CONSOLE_MIN_WIDTH)  # first: it counts in the minimum
        layout = self.layout()
        if layout is not None:
            layout.activate()
        self._console_fit = (width, min(CONSOLE_WIDTH, spare)) if spare >= CONSOLE_MIN_WIDTH else None
        self.resize(width, height)
        self._fit_console()

    def _fit_console(self) -> None:
        """Give the console its share once the window has its new width (a shown window resizes later)."""
        if self._console_fit is None or self.width() != self._console_fit[0]:
            return
        self.resizeDocks([self.console_dock], [self._console_fit[1]], Qt.Orientation.Horizontal)
        self._console_fit = None

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_console()
        if self.presenter:
            self.narration.set_cap(self._narration_cap())

    def _restore(self) -> None:
        """Window geometry, docks, the iPad / panel split, zoom, presenter mode and the X-ray
        switch, for all iPads and each iPad's own (QSettings)."""
        if self.settings is None:
            self.fit_to(*DEFAULT_SIZE, within_screen=False)
            return
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.fit_to(*DEFAULT_SIZE)
        state = self.settings.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        split = self.settings.value("window/column-split")
        if isinstance(split, QByteArray):
            self._column_split = split
            for column in self.columns.values():
                column.restoreState(split)
        self.presenter = str(self.settings.value("window/presenter", "false")).lower() == "true"
        travel = str(self.settings.value("view/travel", "normal"))
        self.set_travel_speed(travel if travel in SPEEDS_OF_TRAVEL else "normal")
        if str(self.settings.value("view/xray", "true")).lower() == "false":
            self.stage.set_xray(False)
        self.settings.beginGroup(XRAY_PER_IPAD)  # an iPad's own choice, by device ID
        own = {key: str(self.settings.value(key)).lower() == "true" for key in self.settings.childKeys()}
        self.settings.endGroup()
        for device_id, on in own.items():
            if device_id in self.stage.devices:  # an iPad no longer on the stage: forgotten
                self.stage.set_xray(on, device_id)
        self.xray_action.setChecked(self.stage.xray.on)
        zoom = float(str(self.settings.value("window/zoom", 1.0)))
        if zoom != 1.0:
            self.set_zoom(zoom)

    def save_settings(self) -> None:
        if self.settings is None:
            return
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.setValue("window/zoom", self.zoom)
        self.settings.setValue("window/presenter", self.presenter)
        self.settings.setValue("view/xray", self.home_stage.xray.on)
        self.settings.remove(XRAY_PER_IPAD)
        for device_id, on in self.home_stage.xray.only.items():
            self.settings.setValue(f"{XRAY_PER_IPAD}/{device_id}", on)
        self.settings.setValue("view/travel", self.travel.speed)
        if self.columns:
            self.settings.setValue("window/column-split", next(iter(self.columns.values())).saveState())
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._closed:
            event.accept()
            return
        event.ignore()
        if self._closing:
            return
        self._closing = True
        self.save_settings()
        self.clock_bar.set_running(False)
        self.context.tasks.spawn(self.shutdown(), title="Closing", parent=self)

    async def shutdown(self) -> None:
        """Close every iPad and the stage, then the window."""
        try:
            await self.scenario_player.close_run()  # back to the home stage
            for device_id in list(self.columns):
                self._remove_column(device_id)
            self.context.bridge.detach()
            await self.home_stage.close()
        finally:
            self._closed = True
            for pending in self.findChildren(Coalescer):
                pending.cancel()  # nothing redraws or re-reads a closed stage
            self.close()
            self.closed.emit()
