"""The Vault-CRM-like app inside a virtual iPad: Home with the Sync widget, object tabs, record
list, view and edit screens, the Errors tab, Options ▸ Database, and the app's own alerts.

Every user action calls the device (``open_record``, ``leave_screen``, ``begin_edit``, the edit
session's ``save`` / ``submit`` / ``cancel``, ``delete``, ``syncer.run``, ``act_on_error``,
``refresh.apply``); the device decides and the screens show what it decided. A refused action
(AS-24) is shown as the app shows it: an alert inside the iPad with the device's reason.

Only what the real app shows is drawn here. The emulator's explanations (each record's sync
state, why an update waits, what the queue holds) are the X-ray view: drawn in the X-ray style
(:mod:`emulator.ui.xray_style`) and hidden with it.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QTabBar,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from emulator.engine.device import ActionRefused, Device, EditSession
from emulator.engine.error_actions import LABELS, ErrorAction
from emulator.engine.events import Event, EventKind, MergedData, answer_data
from emulator.engine.localstore import Notice
from emulator.ui.app_overlays import AppAlert, SyncWindow
from emulator.ui.errors_page import ErrorsPage
from emulator.ui.home import APPLY_COLOURS, HomePage
from emulator.ui.record_screens import EditScreen, ViewScreen
from emulator.ui.records import ID_ROLE, RecordCellDelegate, RecordFilter, RecordListModel
from emulator.ui.support import REDRAW_MS, Coalescer, Context, when
from emulator.ui.theme import STATES
from emulator.ui.xray_style import XRayNote, show_xray

HOME = "home"
MAIN_TABS = ("account__v", "call2__v", "order__v")
PAGES = ("list", "view", "edit", "home", "errors")
ALERT_TITLES = {
    "sync_error": "Sync Error",
    "sync_failed": "Sync Failed",
    "discarded": "Changes Discarded",
    "reminder": "Sync Reminder",
}
#: Events after which what a device shows may have changed.
REFRESHING = frozenset(
    {
        "saved",
        "queued",
        "uploading",
        "uploaded",
        "rejected",
        "discarded_online",
        "duplicated",
        "retry_scheduled",
        "polled",
        "downloaded",
        "merge_deferred",
        "merged",
        "download_discarded",
        "feed_missed",
        "sync_started",
        "sync_progress",
        "sync_finished",
        "sync_failed",
        "network",
        "foreground",
        "mode",
        "error_action",
        "error_resolved",
        "alert",
        "refresh",
        "screen",
    }
)


class CrmApp(QWidget):
    """The app screen of one device.

    Signals:
        page_changed(str): "home", "list", "view", "edit" or "errors".
    """

    page_changed = Signal(str)

    def __init__(self, device: Device, context: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.device = device
        self.context = context
        self.setObjectName("crm-app")
        self.object_name = MAIN_TABS[0]
        self.session: EditSession | None = None
        self._refresh = Coalescer(self.refresh, self, every_ms=REDRAW_MS)
        self._tick = Coalescer(self._on_tick, self)
        self._unglow = QTimer(self)  # while rows glow: ends each glow on time, a few times a second
        self._unglow.setInterval(250)
        self._unglow.timeout.connect(self._expire_glow)
        self._alerting: Notice | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(self._build_nav())

        self.stack = QStackedWidget()
        layout.addWidget(self.stack, 1)
        self.list_page = self._build_list_page()
        self.view_page = ViewScreen(self)
        self.edit_page = EditScreen(self)
        self.home_page = HomePage(device)
        self.errors_page = ErrorsPage(device, context.stage.events)
        home = QScrollArea()  # on a short screen the Home page scrolls, as an iPad's does
        home.setObjectName("home-scroller")
        home.setWidgetResizable(True)
        home.setFrameShape(QFrame.Shape.NoFrame)
        home.setWidget(self.home_page)
        for page in (self.list_page, self.view_page, self.edit_page, home, self.errors_page):
            self.stack.addWidget(page)
        self.home_xray = XRayNote("home-xray")
        self.home_page.xray_box.addWidget(self.home_xray)

        self.alert = AppAlert(self)
        self.sync_window = SyncWindow(self)

        self._fill_tabs()
        self.tabs.currentChanged.connect(self._tab_chosen)
        self.more.activated.connect(self._more_chosen)
        widget = self.home_page.widget
        widget.sync_clicked.connect(lambda: self.run_sync())
        widget.errors_clicked.connect(self.show_errors)
        widget.apply_clicked.connect(self.apply_update)
        self.errors_page.back.connect(self.go_home)
        self.errors_page.sync_clicked.connect(lambda: self.run_sync())
        self.errors_page.act.connect(lambda error_id, action: self.act_on_error(error_id, action))
        context.bridge.happened.connect(self._on_event)
        context.bridge.time_changed.connect(self._on_time)  # a bound slot: disconnected on deletion
        self._go(PAGES.index(HOME))
        self.refresh()

    # building -------------------------------------------------------------------------------------
    def _build_nav(self) -> QHBoxLayout:
        nav = QHBoxLayout()
        nav.setContentsMargins(0, 0, 2, 0)
        nav.setSpacing(2)
        self.tabs = QTabBar()
        self.tabs.setObjectName("object-tabs")
        self.tabs.setExpanding(True)
        self.tabs.setDrawBase(False)
        self.tabs.setUsesScrollButtons(True)
        self.apply_nav = QPushButton("Apply Update")
        self.apply_nav.setObjectName("apply-update-nav")
        self.apply_nav.hide()
        self.options = QToolButton()
        self.options.setObjectName("options")
        self.options.setText("⚙")
        self.options.setToolTip("Options")
        self.options.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.options)
        database = menu.addMenu("Database")
        self.full_refresh_action = database.addAction("Full Database Refresh")
        self.full_refresh_action.setObjectName("full-database-refresh")
        self.options.setMenu(menu)
        self.full_refresh_action.triggered.connect(lambda _c=False: self.run_sync(full=True))
        self.apply_nav.clicked.connect(self.apply_update)
        nav.addWidget(self.tabs, 1)
        nav.addWidget(self.apply_nav)
        nav.addWidget(self.options)
        self.more = QComboBox()
        self.more.setObjectName("more-objects")
        self.more.setToolTip("Other objects")
        self.more.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.more.setMinimumContentsLength(9)
        return nav

    def _build_list_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(6, 4, 6, 6)
        bar = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search")
        self.search.setClearButtonEnabled(True)
        self.new_button = QPushButton("+ New")
        self.new_button.setObjectName("new-record")
        bar.addWidget(self.more)
        bar.addWidget(self.search, 1)
        bar.addWidget(self.new_button)
        layout.addLayout(bar)
        self.model = RecordListModel(self.device, self.object_name, self)
        self.proxy = RecordFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setObjectName("record-list")
        self.table.setModel(self.proxy)
        self.cells = RecordCellDelegate(self.table)
        self.table.setItemDelegateForColumn(1, self.cells)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = self.table.horizontalHeader()
        header.setVisible(False)  # an iPad list: one cell per record, no column headings
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnHidden(0, True)  # the sync state: the cell draws it (X-ray)
        self.table.setColumnHidden(2, True)  # the details: the cell's second line
        self._size_rows()
        self.table.activated.connect(self._row_activated)
        self.search.textChanged.connect(self.proxy.setFilterFixedString)
        self.new_button.clicked.connect(self.new_record)
        layout.addWidget(self.table, 1)
        self.counts = QLabel()
        self.counts.setObjectName("record-count")
        layout.addWidget(self.counts)
        self.list_xray = XRayNote("list-xray")  # how many records are in which sync state
        layout.addWidget(self.list_xray)
        return page

    def _size_rows(self) -> None:
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() * 2 + 14)

    def changeEvent(self, event: Any) -> None:
        super().changeEvent(event)
        if event.type() == event.Type.FontChange and hasattr(self, "table"):
            self._size_rows()

    def _fill_tabs(self) -> None:
        schema = self.device.schema
        objects = schema.objects
        self.tabs.blockSignals(True)
        while self.tabs.count():
            self.tabs.removeTab(0)
        self._tab_objects = [HOME] + [name for name in MAIN_TABS if name in objects]
        self.tabs.addTab("Home")
        for name in self._tab_objects[1:]:
            self.tabs.addTab(str(objects[name].get("plural", name)))
        self.tabs.blockSignals(False)
        self.more.blockSignals(True)
        self.more.clear()
        self.more.addItem("More…", None)
        for name, obj in sorted(objects.items(), key=lambda kv: str(kv[1].get("plural", kv[0]))):
            if name not in self._tab_objects:
                self.more.addItem(str(obj.get("plural", name)), name)
        self.more.blockSignals(False)

    # the X-ray view --------------------------------------------------------------------------------
    @property
    def xray_shown(self) -> bool:
        return self.context.stage.xray.shown(self.device.id)

    def _show_xray(self) -> None:
        shown = self.xray_shown
        self.model.xray = shown  # the rows' tooltips tell the sync state only in the X-ray view
        if self.cells.xray != shown:
            self.cells.xray = shown
            self.table.viewport().update()
        self.list_xray.say(self._list_xray_text(), shown=shown)
        self.home_xray.say(self._home_xray_text(), shown=shown)
        show_xray(self, shown)

    def _list_xray_text(self) -> str:
        counts = self.model.state_counts()
        parts = [f"{STATES[s].glyph} {n} {STATES[s].short}" for s, n in counts.items() if s != "synced"]
        return "Sync states here: " + ("  ·  ".join(parts) if parts else "every record synced")

    def _home_xray_text(self) -> str:
        """What the Sync widget does not say: the queue's head and why it waits, the merges waiting."""
        from emulator.ui.panel import queue_state

        device = self.device
        parts = []
        head = device.store.head()
        if head is not None:
            length = device.store.queue_length()
            parts.append(f"Upload queue: {length}; first {head.label} ({queue_state(device, head).lower()})")
        else:
            parts.append("Upload queue: empty")
        waiting = device.store.staged_count()
        if waiting:
            why = device.poller.why_waiting(device.store.staged_after(-1, 1)[0].seq)
            downloads = "1 download" if waiting == 1 else f"{waiting:,} downloads"
            parts.append(f"{downloads} waiting to merge: {why}")
        if device.store.setting("feed_missed", False):
            parts.append(
                "Changes from this user's other iPads expired from the feed (after 7 days) before this "
                "iPad read them: only an incremental sync brings them now (AS-18)"
            )
        colour, ready_at = device.refresh.colour(), device.refresh.ready_at
        if colour is not None and ready_at is not None:
            parts.append(
                f"Apply Update is {colour}: the update has waited since {when(ready_at)} (blue under a "
                "day, orange for one or two days, red after that: AS-36)"
            )
        if device.traditional:
            parts.append("Comparison mode: this iPad behaves as with traditional sync (AS-32)")
        return ". ".join(parts) + "."

    # navigation -----------------------------------------------------------------------------------
    @property
    def page(self) -> str:
        return PAGES[self.stack.currentIndex()]

    def show_object(self, object_name: str) -> None:
        """Show the list of one object (from the list, Home or the Errors tab)."""
        if self.page not in ("list", "home", "errors"):
            return
        self.object_name = object_name
        self.tabs.blockSignals(True)
        if object_name in self._tab_objects:
            self.tabs.setCurrentIndex(self._tab_objects.index(object_name))
        self.tabs.blockSignals(False)
        self.model.set_object(object_name)
        self._update_counts()
        if self.page != "list":
            self._go(PAGES.index("list"))

    def go_home(self) -> None:
        self._leave_to_list()
        if self.page in ("list", "errors"):
            self.tabs.blockSignals(True)
            self.tabs.setCurrentIndex(0)
            self.tabs.blockSignals(False)
            self._go(PAGES.index(HOME))
            self.refresh()

    def show_errors(self) -> None:
        """The Errors tab (after OK on the sync error alert, or the widget tapped)."""
        self._leave_to_list()
        if self.page in ("list", "home", "errors"):
            self._go(PAGES.index("errors"))
            self.refresh()

    def _tab_chosen(self, index: int) -> None:
        if not 0 <= index < len(self._tab_objects):
            return
        self.more.setCurrentIndex(0)
        if self._tab_objects[index] == HOME:
            self.go_home()
        else:
            self._leave_to_list()
            self.show_object(self._tab_objects[index])

    def _more_chosen(self, index: int) -> None:
        name = self.more.itemData(index)
        if name:
            self._leave_to_list()
            self.show_object(str(name))

    def _row_activated(self, index: QModelIndex) -> None:
        rid = index.data(ID_ROLE)
        if rid:
            self.open_record(str(rid))

    def open_record(self, record_id: str) -> None:
        """Open a record on the view screen (the device now counts it as displayed, AS-23)."""
        found = self.device.store.get(record_id)
        if found is None:
            return
        object_name = found[0]
        record = self.refusing("Cannot open", lambda: self.device.open_record(object_name, record_id))
        if record is None:
            return
        self.view_page.show_record(object_name, record_id)
        self._go(1)

    def back_to_list(self) -> None:
        """Leave the view screen: the device merges what waited for it (AS-25)."""
        if self.session is not None:
            return
        self.refusing("Cannot leave", self.device.leave_screen, done=True)
        self._go(0)
        self.refresh()

    def _leave_to_list(self) -> None:
        if self.page == "view":
            self.back_to_list()

    def new_record(self) -> None:
        self._begin(self.object_name, None)

    def edit_record(self, object_name: str, record_id: str) -> None:
        self._begin(object_name, record_id)

    def _begin(self, object_name: str, record_id: str | None) -> None:
        title = "Cannot edit" if record_id else "Cannot create"
        session = self.refusing(title, lambda: self.device.begin_edit(object_name, record_id))
        if session is None:
            return
        self.session = session
        self.edit_page.show_session(session)
        self._go(2)

    def delete_record(self, object_name: str, record_id: str) -> None:
        done = self.refusing("Cannot delete", lambda: self.device.delete(object_name, record_id))
        if done is not None:
            self.back_to_list()

    def session_closed(self) -> None:
        """The edit screen was saved, submitted or cancelled: go where the device says."""
        self.session = None
        screen = self.device.screen
        if screen is not None and self.device.store.get(screen.record_id) is not None:
            self.view_page.show_record(screen.object, screen.record_id)
            self._go(1)
        else:
            if screen is not None:
                self.device.leave_screen()
            self._go(0)
        self.refresh()

    def _go(self, index: int) -> None:
        if PAGES[index] == HOME:  # only drawn while shown
            self.home_page.refresh(self.context.stage.clock.now())
        self.stack.setCurrentIndex(index)
        editing = PAGES[index] == "edit"
        self.tabs.setEnabled(not editing)
        self.more.setEnabled(not editing)
        self.options.setEnabled(not editing)
        self.page_changed.emit(self.page)

    # the app's alerts -----------------------------------------------------------------------------
    def refusing(self, title: str, action: Callable[[], Any], *, done: bool = False) -> Any:
        """Run an engine action; a refusal shows as the app's alert with the device's reason.

        Returns the action's result (or True when ``done`` and it returned nothing), None if refused.
        """
        try:
            result = action()
        except ActionRefused as exc:
            self._say_refused(title, str(exc))
            return None
        except ValueError as exc:
            self.context.messages.note("problem", title, str(exc))
            self.alert.open_alert(title, str(exc))
            return None
        return True if done and result is None else result

    def _say_refused(self, title: str, text: str) -> None:
        self.context.messages.note("refused", title, text)
        self.alert.open_alert(title, text)

    def _show_next_alert(self) -> None:
        """The oldest message the user has not read yet (AS-12, AS-33, AS-34), one at a time."""
        if self.alert.isVisible() or self.device.blocking is not None:
            return
        unread = self.device.unread_notices()
        if not unread:
            return
        notice = unread[0]
        self._alerting = notice
        self.alert.open_alert(ALERT_TITLES.get(notice.kind, "Vault CRM"), notice.text, self._alert_read)

    def _alert_read(self) -> None:
        """OK: the message is read; a sync error's OK opens the Errors tab (AS-34)."""
        notice, self._alerting = self._alerting, None
        if notice is None:
            return
        self.device.dismiss_notices(notice.id)
        if notice.kind == "sync_error":
            self.show_errors()
        self._show_next_alert()  # the next message at once, as the app does
        self._refresh.request()

    # syncing ---------------------------------------------------------------------------------------
    def run_sync(self, *, full: bool = False) -> Any:
        """The Sync button (incremental sync, AS-35) or Options ▸ Database (full refresh, AS-37)."""
        if self.device.blocking is not None:
            return None
        title = "Full Database Refresh" if full else "Sync"
        return self._in_emulated_time(title, self.device.syncer.run(full=full))

    def apply_update(self) -> Any:
        """Apply Update (Refresh mode, AS-36)."""
        if self.device.blocking is not None:
            return None
        return self._in_emulated_time("Apply Update", self.device.refresh.apply())

    def _in_emulated_time(self, title: str, action: Coroutine[Any, Any, Any]) -> Any:
        context = self.context
        # a device task: the stage's settle() and clock jumps wait for it between timers
        task = self.device.spawn(action)

        async def guarded() -> Any:
            if task is None:
                return None  # the iPad is closing
            try:
                return await context.in_emulated_time(task)
            except ActionRefused as exc:
                self._say_refused(title, str(exc))
                return None

        return context.tasks.spawn(guarded(), title=title, parent=self, always=self._refresh.now)

    def act_on_error(self, error_id: int, action: ErrorAction) -> None:
        """Undo, Undelete or Clear on the Errors tab (AS-34)."""
        self.refusing(LABELS[action], lambda: self.device.act_on_error(error_id, action), done=True)
        self.refresh()

    # refreshing -----------------------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        mine = event.actor == self.device.actor
        if mine and event.kind in ("uploaded", "duplicated", "merged"):
            self._flash(event)
        if event.kind == "xray" or (event.kind in REFRESHING and (mine or event.kind == "network")):
            if event.kind == "sync_finished":
                self._fill_tabs_later = True
            if event.kind == "sync_progress" and mine:
                self._show_blocking()  # every count, as it comes: the window is a few labels
            if event.kind == "alert" and mine:
                self._show_next_alert()  # a modal comes up at once, as in the app
            self._refresh.request()

    def _flash(self, event: Event) -> None:
        """X-ray: the rows an upload answer or a merge changed glow for a few seconds."""
        answer = answer_data(event)
        ids = set(answer["id_map"].values()) if answer is not None else set()
        if event.kind is EventKind.MERGED:
            ids |= set(event.data_as(MergedData)["ids"])
        if event.record is not None:
            ids.add(event.record[1])
        self.model.flash(ids)
        if not self._unglow.isActive():
            self._unglow.start()

    def _expire_glow(self) -> None:
        if not self.model.expire():
            self._unglow.stop()

    def _on_time(self, _moment: object = None) -> None:
        if self.page == "home" or self.device.blocking is not None:
            self._tick.request()

    def _on_tick(self) -> None:
        now = self.context.stage.clock.now()
        self.home_page.refresh(now)
        if self.page == "home":  # Apply Update's colour follows the clock, and the note with it
            self.home_xray.say(self._home_xray_text(), shown=self.xray_shown)
        self._show_blocking()

    _fill_tabs_later = False
    _listing = False
    _list_again = False

    def _refresh_list_in_turns(self) -> None:
        """Re-read a long list a page per turn of the loop (after a large sync, say): one at a time."""
        if self.device.is_closed:
            return
        if self._listing:
            self._list_again = True
            return
        self._listing = True

        def always() -> None:
            self._listing = False
            if self._list_again:
                self._list_again = False
                self._refresh_list_in_turns()

        self.context.tasks.spawn(
            self.model.refresh_in_turns(),
            title="Record list",
            parent=self,
            done=lambda _result: self._update_counts(),
            always=always,
        )

    def refresh(self) -> None:
        if self.device.is_closed:  # a redraw that comes after its iPad left the stage
            return
        if self.device.blocking is not None:
            # the sync window covers the app until the sync ends, as in the app: only its
            # counts and the Sync widget move; the lists are read once, when it is over
            self._show_blocking()
            if self.page == "home":
                self.home_page.refresh(self.context.stage.clock.now())
            return
        self._follow_screen()
        if self._fill_tabs_later:
            self._fill_tabs_later = False
            current = self.object_name if self.page != "home" else HOME
            self._fill_tabs()
            if current in self._tab_objects:
                self.tabs.blockSignals(True)
                self.tabs.setCurrentIndex(self._tab_objects.index(current))
                self.tabs.blockSignals(False)
        if self.model.is_long():
            self._refresh_list_in_turns()
        else:
            self.model.refresh()
        self._update_counts()
        if self.page == "home":
            self.home_page.refresh(self.context.stage.clock.now())
        if self.page == "view":
            self.view_page.refresh()
        if self.page == "errors":
            self.errors_page.refresh(xray=self.xray_shown)
        self._show_apply_nav()
        self._show_xray()
        self._show_blocking()
        self._show_next_alert()

    def _show_apply_nav(self) -> None:
        colour = self.device.refresh.colour()
        self.apply_nav.setVisible(colour is not None)
        if colour is not None:
            self.apply_nav.setStyleSheet(
                f"QPushButton#apply-update-nav {{ background:{APPLY_COLOURS[colour]}; color:white;"
                " font-weight:bold; border-radius:6px; padding:2px 8px; }"
            )

    def _show_blocking(self) -> None:
        """The sync window while a sync or Apply Update blocks the app (AS-35, AS-36, AS-37)."""
        device = self.device
        if device.blocking is None:
            self.sync_window.hide()
            return
        progress = device.syncer.progress
        if device.refresh.applying:
            self.sync_window.show_progress("Applying Update", "Applying the downloaded update", 0, 0, 0, 0)
        elif progress is not None:
            title = "Full Database Refresh" if device.syncer.full else "Syncing"
            self.sync_window.show_progress(
                title,
                progress.phase,
                progress.uploaded,
                progress.to_upload,
                progress.downloaded,
                progress.to_download,
            )

    def _follow_screen(self) -> None:
        """Show the screen the device is on, when someone else moved it (a scenario step).

        Clicks here move the device and the page together; this only catches up afterwards.
        """
        device = self.device
        if device.edit is not None:
            if self.session is not device.edit:
                self.session = device.edit
                self.edit_page.show_session(device.edit)
                self._go(2)
            return
        if self.session is not None:  # closed by someone else
            self.session = None
        screen = device.screen
        if screen is not None and device.store.get(screen.record_id) is not None:
            view = self.view_page
            if self.page != "view" or (view.object_name, view.record_id) != (screen.object, screen.record_id):
                view.show_record(screen.object, screen.record_id)
                self._go(1)
        elif self.page in ("view", "edit"):
            self._go(0)

    def _update_counts(self) -> None:
        total = self.model.rowCount()
        self.counts.setText(f"{total} record{'s' if total != 1 else ''}")
