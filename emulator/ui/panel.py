"""The emulator's panel under each iPad: its controls, and the X-ray view's tabs.

The Device tab holds the emulator's controls (network, faults, foreground, the traditional-sync
comparison switch, the X-ray switch): they stand for the world around the iPad, not the app. The
other tabs (queue, conflict details, waiting downloads, activity) belong to the X-ray view: they
carry its mark and hide with it. The panel shows what the device says and calls its operations;
the rules stay in the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from html import escape
from typing import Any

from PySide6.QtCore import QEvent, QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QAction, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
    QWidgetAction,
)

from emulator.engine.device import Device
from emulator.engine.events import Event
from emulator.engine.feedpoller import DEFAULT_PAGE_RECORDS
from emulator.engine.localstore import QueueItem
from emulator.engine.merge import entry_ids
from emulator.ui.crm_app import REFRESHING
from emulator.ui.errors_page import who_won
from emulator.ui.records import display_value
from emulator.ui.support import REDRAW_MS, Coalescer, Context, hhmmss
from emulator.ui.theme import NETWORK, STATES
from emulator.ui.xray_style import MARK, STYLE_SHEET, mark_xray

XRAY_TIP = "The emulator's X-ray view: not part of the app"
#: Object names of the drawer's tab bar and its X-ray mark: the trainer's controls, which keep
#: the normal font in presenter mode (main_window.TRAINER_CONTROLS).
DRAWER_TABS, DRAWER_MARK = "xray-drawer-tabs", "xray-drawer-mark"
#: The queue and waiting lists show this many items from the head, and say how many more wait behind.
SHOWN_QUEUE = 100
#: The network's segments: mode, label, what it means.
NETWORK_MODES = (
    ("online", "Online", "Connected: uploads go at once, the feed is read every 30 seconds"),
    ("offline", "Offline", "No connection, and the iPad knows it: everything waits (AS-06)"),
    (
        "lie-fi",
        "Lie-fi",
        "The iPad thinks it is connected, but no answer comes: each request times out (emulated time)",
    ),
)
#: One-shot faults (``Device.inject_fault``): label, and what a trainer shows with it.
FAULTS = (
    (
        "reply_lost",
        "Reply lost (server saved it)",
        "The server saves the upload but its reply never reaches the iPad. The iPad retries "
        "with the same transaction ID and the server answers without saving twice.",
    ),
    (
        "server_error",
        "Server answers 503",
        "The server is unavailable once. The upload stays first in the queue and is retried "
        "with backoff; the items behind it wait, so the order never breaks (AS-06).",
    ),
    (
        "timeout",
        "Request times out",
        "No answer before the request timeout (emulated time). The upload stays first in the "
        "queue and is retried with backoff (AS-06).",
    ),
)
FAULT_TEXT = {name: label for name, label, _tip in FAULTS}
#: The rows of the conflicts table: conflict key, row label, what the row means.
CONFLICT_ROWS = (
    ("previous", "Previous", "The value this iPad had before the edit (what it sent as old)"),
    ("online", "Online", "The value online now, saved first by another device (AS-07)"),
    ("new", "Mine (new)", "The value this iPad's user saved"),
)
OPS = {"create": "+ New", "update": "✎ Edit", "delete": "✕ Delete"}


def queue_state(device: Device, item: QueueItem) -> str:
    """A queue item's state in words, as the engine decides why it waits (Device.upload_wait)."""
    wait = device.upload_wait(item)
    if wait is None:
        return f"{STATES['queued'].glyph} Queued"
    glyph = {"in_flight": STATES["uploading"].glyph, "backoff": "⟳"}.get(
        wait.reason, STATES["saved_locally"].glyph
    )
    return f"{glyph} {wait.describe()}"


class WrappingDelegate(QStyledItemDelegate):
    """Rows of a tree as tall as their wrapped text at the column's width.

    A tree view asks for a row's size without saying how wide the column is (Qt's style then
    measures one long line); this delegate tells it the column's width.
    """

    def __init__(self, tree: QTreeWidget) -> None:
        super().__init__(tree)
        self.tree = tree

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        width = self.tree.header().sectionSize(index.column())
        if width > 0:
            option = QStyleOptionViewItem(option)
            option.rect = QRect(0, 0, width, 1)
        return super().sizeHint(option, index)


class QueueTree(QTreeWidget):
    """The upload queue, head first: one row per transaction, expanded to show its records.

    An AS-05 family is one row; under it, each record of the transaction (operation, object,
    record) and under each record its changed fields, previous value → new value (AS-08).

    Attributes:
        rows: one tuple per transaction, as shown: position, label, record count, state,
            last error, transaction ID.
    """

    HEADERS = ("#", "Upload", "State", "Last error")

    def __init__(self, device: Device, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.device = device
        self.rows: list[tuple[str, ...]] = []
        self.total = 0
        self._local: dict[str, tuple[str, dict[str, Any]]] = {}  # the shown items' records
        self.setObjectName("queue")
        self.setColumnCount(len(self.HEADERS))
        self.setHeaderLabels(list(self.HEADERS))
        self.setAlternatingRowColors(True)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        # A record's name is what the trainer points at: wrapped over two lines, never elided.
        self.setUniformRowHeights(False)
        self.setWordWrap(True)
        self.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.setItemDelegateForColumn(1, WrappingDelegate(self))
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        # wrapped rows take their height again when the Upload column's width changes
        self._relayout = Coalescer(self.doItemsLayout, self)
        header.sectionResized.connect(self._section_resized)

    def _section_resized(self, index: int, _old: int, _new: int) -> None:
        if index == 1:
            self._relayout.request()

    def refresh(self) -> None:
        expanded = self.expanded_transactions()
        self.rows = []
        self.setUpdatesEnabled(False)
        try:
            self.clear()
            queue = self.device.store.queue_head(SHOWN_QUEUE)
            self._local = self.device.store.get_many(rid for item in queue for rid in item.record_ids())
            for position, item in enumerate(queue, start=1):
                row = (
                    str(position),
                    item.label,
                    str(len(item.items)),
                    queue_state(self.device, item),
                    item.last_error or "",
                    item.transaction_id,
                )
                self.rows.append(row)
                label = item.label if len(item.items) == 1 else f"{item.label} ({_count(len(item.items))})"
                top = QTreeWidgetItem([row[0], label, row[3], row[4]])
                top.setData(0, Qt.ItemDataRole.UserRole, item.transaction_id)
                tip = f"Transaction {item.transaction_id}: {item.label}"
                for column in range(len(self.HEADERS)):
                    top.setToolTip(column, tip)
                self.addTopLevelItem(top)
                for record in item.items:
                    top.addChild(self._record_item(record))
                if item.transaction_id in expanded:
                    self.expandRecursively(self.indexFromItem(top))
        finally:
            self.setUpdatesEnabled(True)
        self.setColumnHidden(3, not any(row[4] for row in self.rows))
        more = self.device.store.queue_length() - len(queue)
        if more > 0:
            self.addTopLevelItem(QTreeWidgetItem(["", f"… and {more} more behind them", "", ""]))
        self.total = len(queue) + max(more, 0)

    def expanded_transactions(self) -> set[str]:
        tops = [self.topLevelItem(i) for i in range(self.topLevelItemCount())]
        return {
            str(top.data(0, Qt.ItemDataRole.UserRole)) for top in tops if top is not None and top.isExpanded()
        }

    def _record_item(self, record: dict[str, Any]) -> QTreeWidgetItem:
        device = self.device
        schema = device.schema
        object_name = str(record.get("object", ""))
        rid = str(record.get("id", ""))
        try:
            label = schema.label(object_name)
        except KeyError:
            label = object_name
        found = self._local.get(rid)
        local = found[1] if found is not None else None
        title = rid
        if local is not None:
            try:
                title = f"{schema.title(object_name, local)} ({rid})"
            except KeyError:
                title = rid
        op = str(record.get("op", ""))
        item = QTreeWidgetItem(["", f"{OPS.get(op, op)} {label} {title}", "", ""])
        item.setData(0, Qt.ItemDataRole.UserRole, rid)
        item.setToolTip(1, f"{op} {object_name} {rid}")
        if op == "update":
            changes = {name: (c.get("old"), c.get("new")) for name, c in record.get("changes", {}).items()}
        elif op == "create":
            changes = {name: (None, value) for name, value in record.get("fields", {}).items()}
        else:
            changes = {}
        for name, (old, new) in changes.items():
            try:
                field_label = str(schema.fields(object_name).get(name, {}).get("label", name))
            except KeyError:
                field_label = name
            before = display_value(schema, device, object_name, name, old)
            after = display_value(schema, device, object_name, name, new)
            text = f"{field_label}: {after}" if op == "create" else f"{field_label}: {before} → {after}"
            child = QTreeWidgetItem(["", text, "", ""])
            child.setToolTip(1, text)
            item.addChild(child)
        return item


class _Refitting(QWidget):
    """A page that calls ``refit`` when its width or its font changes."""

    def __init__(self, refit: Callable[[], None]) -> None:
        super().__init__()
        self._refit = refit

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._refit()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._refit()


class WholeLabel(QLabel):
    """A word-wrapped label that is never squeezed below the height its words need."""

    def setText(self, text: str) -> None:
        super().setText(text)
        self._keep_whole()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._keep_whole()

    def _keep_whole(self) -> None:
        if self.width() > 0:
            self.setMinimumHeight(max(self.heightForWidth(self.width()), 0))


def fit_table_height(table: QTableWidget) -> None:
    """A short table as tall as its rows (and header): nothing in it scrolls out of sight."""
    table.resizeRowsToContents()
    height = 2 * table.frameWidth() + sum(table.rowHeight(row) for row in range(table.rowCount()))
    if table.horizontalHeader().isVisible():
        height += table.horizontalHeader().height()
    if table.horizontalScrollBar().isVisible():
        height += table.horizontalScrollBar().height()
    table.setFixedHeight(height)


def _count(n: int) -> str:
    return f"{n} record" if n == 1 else f"{n} records"


class DevicePanel(QWidget):
    """The emulator's controls under one iPad, in one slim strip, and its X-ray drawer.

    The strip: the network as a segmented Online / Offline / Lie-fi control, the app open or in
    the background, a menu of one-shot faults, "⋯" for the rest (latency, loss, feed page, the
    traditional-sync comparison, the X-ray switch, the lost-iPad report), and the X-ray drawer's
    toggle. The drawer (queue, conflicts, waiting downloads, activity) is the X-ray view's: it
    opens with a click and hides with the X-ray view.

    Signals:
        drawer_toggled(bool): the X-ray drawer opened (True) or closed.
        wants_room(): the drawer's conflicts page changed height (:meth:`drawer_height`).

    Attributes:
        device: the engine device it controls.
    """

    drawer_toggled = Signal(bool)
    wants_room = Signal()

    def __init__(self, device: Device, context: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.device = device
        self.context = context
        self.setObjectName(f"panel-{device.id}")
        self._log_buffer: list[Event] = []
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 2, 0, 0)
        column.setSpacing(2)
        column.addWidget(self._build_strip())
        self.drawer = QTabWidget()
        self.drawer.setObjectName(f"xray-drawer-{device.id}")
        self.drawer.setDocumentMode(True)
        mark_xray(self.drawer)
        # Short tab names in the trainer's font (like the strip): the four tabs fit a narrow
        # column whole, without scroll arrows; the X-ray mark stands once, in the corner.
        self.drawer.tabBar().setObjectName(DRAWER_TABS)
        self.drawer.tabBar().setExpanding(False)
        mark = QLabel(MARK)
        mark.setObjectName(DRAWER_MARK)
        mark.setToolTip(XRAY_TIP)
        mark.setStyleSheet(f"QLabel {{ {STYLE_SHEET} padding: 0px 4px; font-weight: bold; }}")
        self.drawer.setCornerWidget(mark_xray(mark), Qt.Corner.TopRightCorner)
        for page, title in (
            (self._build_queue(), "Queue"),
            (self._build_errors(), "Conflicts"),
            (self._build_waiting(), "Waiting"),
            (self._build_log(), "Activity"),
        ):
            self.drawer.addTab(page, title)
            self.drawer.setTabToolTip(self.drawer.count() - 1, XRAY_TIP)
        self.drawer.hide()
        self._drawer_stale = True
        self._errors: dict[int, Any] = {}
        self._errors_key: tuple[object, ...] | None = None  # what the error list last showed
        column.addWidget(self.drawer, 1)
        self._fit_drawer_minimum()
        self._refresh = Coalescer(self.refresh, self, every_ms=REDRAW_MS)
        self._flush = Coalescer(self._flush_log, self, every_ms=REDRAW_MS)
        self.drawer.currentChanged.connect(lambda _i: self._fit_errors.request())
        context.bridge.happened.connect(self._on_event)
        for event in context.stage.events.events:
            if event.actor == device.actor:
                self._log_buffer.append(event)
        self._flush_log()
        self.refresh()

    # building -------------------------------------------------------------------------------------
    def _build_strip(self) -> QWidget:
        strip = QWidget()
        strip.setObjectName("control-strip")
        row = QHBoxLayout(strip)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(3)
        self.network_group = QButtonGroup(self)
        self.network_group.setExclusive(True)
        self.network_buttons: dict[str, QToolButton] = {}
        for mode, label, tip in NETWORK_MODES:
            button = QToolButton()
            button.setObjectName(f"network-{mode}")
            button.setText(label)
            button.setToolTip(tip)
            button.setCheckable(True)
            button.setAutoRaise(False)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # clicker keys keep reaching the player
            colour = NETWORK[mode]
            button.setStyleSheet(
                f"QToolButton:checked {{ background: {colour.colour}; color: {colour.text_colour.name()};"
                " font-weight: bold; border: 1px solid palette(dark); border-radius: 3px; padding: 2px 6px; }"
            )
            self.network_group.addButton(button)
            self.network_buttons[mode] = button
            row.addWidget(button)
            button.clicked.connect(lambda _c=False, m=mode: self.set_network(m))
        row.addSpacing(4)
        self.foreground = QToolButton()
        self.foreground.setObjectName("foreground")
        self.foreground.setCheckable(True)
        self.foreground.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.foreground.setToolTip("The app open on the iPad (checked), or in the background")
        row.addWidget(self.foreground)
        self.fault = QToolButton()
        self.fault.setObjectName("fault")
        self.fault.setText("⚡")
        self.fault.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.fault.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        faults = QMenu(self.fault)
        self.fault_actions: dict[str, QAction] = {}
        for name, label, tip in FAULTS:
            action = faults.addAction(f"On the next request: {label}")
            action.setToolTip(tip)
            action.triggered.connect(lambda _c=False, f=name: self.inject_fault(f))
            self.fault_actions[name] = action
        faults.setToolTipsVisible(True)
        self.fault.setMenu(faults)
        row.addWidget(self.fault)
        row.addStretch(1)
        self.more = QToolButton()
        self.more.setObjectName("more-controls")
        self.more.setText("⋯")
        self.more.setToolTip("More: latency, loss, feed page, comparison, X-ray, lost-iPad report")
        self.more.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.more.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        more = QMenu(self.more)
        holder = QWidgetAction(more)
        holder.setDefaultWidget(self._build_more())
        more.addAction(holder)
        self.more.setMenu(more)
        row.addWidget(self.more)
        self.drawer_button = QToolButton()
        self.drawer_button.setObjectName("xray-drawer-toggle")
        self.drawer_button.setText("◎ ▸")
        self.drawer_button.setCheckable(True)
        self.drawer_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.drawer_button.setToolTip("Open the X-ray drawer: queue, conflicts, waiting downloads, activity")
        mark_xray(self.drawer_button)
        row.addWidget(self.drawer_button)
        self.foreground.toggled.connect(self._foreground_toggled)
        self.drawer_button.toggled.connect(self.open_drawer)
        return strip

    def _build_more(self) -> QWidget:
        """The popover: what a trainer sets less often."""
        page = QWidget()
        form = QFormLayout(page)
        profile = self.device.profile
        who = QLabel(f"{profile.model}, iOS {profile.ios_version} · user {profile.user_id}")
        form.addRow(who)
        self.latency = QSpinBox()
        self.latency.setObjectName("latency")
        self.latency.setRange(0, 120)
        self.latency.setSuffix(" s latency")
        self.latency.setToolTip("Added delay on every request and reply (emulated time)")
        self.loss = QSpinBox()
        self.loss.setObjectName("loss")
        self.loss.setRange(0, 100)
        self.loss.setSuffix(" % loss")
        self.loss.setToolTip(
            "Share of requests lost on the way: each lost request times out, and the upload "
            "stays first in the queue and is retried with backoff (AS-06)."
        )
        form.addRow("Latency", self.latency)
        form.addRow("Loss", self.loss)
        self.page_size = QSpinBox()
        self.page_size.setObjectName("feed-page-size")
        self.page_size.setRange(1, DEFAULT_PAGE_RECORDS)
        self.page_size.setSuffix(" records per feed read")
        self.page_size.setValue(int(self.device.store.setting("feed_page_records", DEFAULT_PAGE_RECORDS)))
        self.page_size.setToolTip(
            "How many records one feed read may bring. Set it to 1 and save an order with lines "
            "on another iPad of the same user: the order arrives in pieces and waits until all "
            "its lines are here (AS-22)."
        )
        form.addRow("Feed page", self.page_size)
        self.traditional = QCheckBox("Compare: traditional sync (emulator only)")
        self.traditional.setObjectName("traditional")
        self.traditional.setToolTip(
            "A comparison for triage (AS-32): this iPad behaves as if it had no Autosync, so saves wait "
            "until an incremental sync. A rep has no such switch in the app."
        )
        self.xray = QCheckBox("X-ray view on this iPad")
        self.xray.setObjectName("xray-switch")
        self.xray.setToolTip(
            "The emulator's explanations (sync states, queue, waiting merges). Off: the iPad shows "
            "exactly what a rep sees. View ▸ X-ray view switches every iPad (Ctrl+Shift+X)."
        )
        form.addRow(self.traditional)
        form.addRow(self.xray)
        self.ineligible = QLabel()
        self.ineligible.setObjectName("ineligible")
        self.ineligible.setWordWrap(True)
        self.ineligible.setStyleSheet(f"color:{STATES['sync_error'].colour}; font-weight:bold;")
        if not profile.autosync_eligible:
            self.traditional.setChecked(True)
            self.traditional.setEnabled(False)
            reason = f"No Autosync: {profile.ineligibility} Saves wait until the user taps Sync."
            self.traditional.setToolTip(reason)
            self.ineligible.setText("⊘ " + reason)
            form.addRow(self.ineligible)
        self.lost = QPushButton("What if this iPad were lost now?")
        self.lost.setObjectName("loss-report")
        mark_xray(self.lost)
        form.addRow(self.lost)
        self.latency.editingFinished.connect(self.set_network)
        self.loss.editingFinished.connect(self.set_network)
        self.page_size.editingFinished.connect(self.set_page_size)
        self.traditional.toggled.connect(self._traditional_toggled)
        self.xray.toggled.connect(self._xray_toggled)
        self.lost.clicked.connect(self.show_loss_report)
        return page

    def _build_queue(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(2, 2, 2, 2)
        self.queue_view = QueueTree(self.device)
        hint = QLabel("First in, first out: the top row uploads first. ▸ shows a row's records.")
        hint.setWordWrap(True)
        layout.addWidget(hint)
        layout.addWidget(self.queue_view)
        return page

    def _build_errors(self) -> QWidget:
        """The conflicts page: the list, the message whole, the table as tall as its rows.

        Nothing on it is squeezed: the drawer asks its column for the room (``wants_room``),
        and scrolls the page if the column has less.
        """
        page = _Refitting(lambda: self._fit_errors.request())
        self.errors_page = page
        layout = QVBoxLayout(page)
        layout.setContentsMargins(2, 2, 2, 2)
        self.error_list = QListWidget()
        self.error_list.setObjectName("errors")
        self.error_message = WholeLabel()
        self.error_message.setObjectName("error-message")
        self.error_message.setWordWrap(True)
        self.error_message.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        # One column per conflicting field, one row per version: a narrow panel still shows
        # each value in full (and wraps a long one) instead of eliding it.
        self.conflicts = QTableWidget(len(CONFLICT_ROWS), 0)
        self.conflicts.setObjectName("conflicts")
        self.conflicts.setVerticalHeaderLabels([label for _key, label, _tip in CONFLICT_ROWS])
        for row, (_key, _label, tip) in enumerate(CONFLICT_ROWS):
            header_item = self.conflicts.verticalHeaderItem(row)
            if header_item is not None:
                header_item.setToolTip(tip)
        self.conflicts.setWordWrap(True)
        self.conflicts.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.conflicts.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        # rows grow with wrapped values once the columns have their width (after layout)
        # and the table takes the height of its three rows: "Mine (new)" never scrolls away
        self._fit_errors = Coalescer(self._fit_errors_page, self.conflicts)
        self.conflicts.horizontalHeader().sectionResized.connect(lambda *_a: self._fit_errors.request())
        self.conflicts.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.conflicts.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout.addWidget(self.error_list)
        layout.addWidget(self.error_message)
        layout.addWidget(self.conflicts)
        layout.addStretch(1)
        self.error_list.currentRowChanged.connect(lambda _row: self._show_error())
        scroller = QScrollArea()
        scroller.setObjectName("errors-page")
        scroller.setWidgetResizable(True)
        scroller.setFrameShape(QFrame.Shape.NoFrame)
        scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroller.setWidget(page)
        return scroller

    def _fit_errors_page(self) -> None:
        """The error list as tall as its rows (three at most), the table as tall as its rows."""
        rows = max(1, min(self.error_list.count(), 3))
        row = self.error_list.sizeHintForRow(0) if self.error_list.count() else -1
        row = row if row > 0 else self.error_list.fontMetrics().height() + 6
        self.error_list.setFixedHeight(rows * row + 2 * self.error_list.frameWidth())
        fit_table_height(self.conflicts)
        self.wants_room.emit()

    def drawer_height(self) -> int:
        """The height the open drawer needs to show its page whole (0: any height does)."""
        if self.drawer.currentWidget() is not self.drawer.widget(1):
            return 0
        layout = self.errors_page.layout()
        if layout is not None:
            layout.activate()
        return self.drawer.tabBar().sizeHint().height() + self.errors_page.minimumSizeHint().height() + 4

    def _build_waiting(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(QLabel("Downloaded from the feed, not merged yet:"))
        self.waiting = QTableWidget(0, 4)
        self.waiting.setObjectName("waiting")
        self.waiting.setHorizontalHeaderLabels(["Feed #", "Records", "First record", "Why it waits"])
        self.waiting.verticalHeader().setVisible(False)
        self.waiting.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.waiting.setWordWrap(True)
        self.waiting.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header = self.waiting.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.waiting)
        return page

    def _build_log(self) -> QWidget:
        self.log = QPlainTextEdit()
        self.log.setObjectName("activity")
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(5000)
        self.log.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        return self.log

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._fit_drawer_minimum()

    def _fit_drawer_minimum(self) -> None:
        """The drawer can shrink to its tabs and three lines (its pages scroll): an open drawer
        never pushes its iPad, or the iPads, off a projector (pages ask for more: ``wants_room``)."""
        lines = 3 * self.fontMetrics().height() + 8
        self.drawer.setMinimumHeight(self.drawer.tabBar().sizeHint().height() + lines)

    # operations -----------------------------------------------------------------------------------
    def set_network(self, mode: str | None = None) -> None:
        """Online, offline or lie-fi (``None``: as it is), with the popover's latency and loss."""
        mode = mode or self.device.conditions.mode
        latency = timedelta(seconds=self.latency.value())
        loss = self.loss.value() / 100
        self.context.tasks.attempt(
            self, "Network", lambda: self.device.set_network(mode, latency=latency, loss=loss)
        )

    def inject_fault(self, fault: str) -> None:
        """Arm a one-shot fault for the device's next request (reply lost, 503, timeout)."""
        self.context.tasks.attempt(self, "Inject a fault", lambda: self.device.inject_fault(fault))
        self._show_armed()

    def set_page_size(self) -> None:
        records = self.page_size.value()
        if records != int(self.device.store.setting("feed_page_records", DEFAULT_PAGE_RECORDS)):
            self.context.tasks.attempt(self, "Feed page", lambda: self.device.set_feed_page_records(records))

    def _show_armed(self) -> None:
        """The fault button says what is armed for the next request."""
        faults = list(self.device.conditions.faults)
        self.fault.setText(f"⚡ {len(faults)}" if faults else "⚡")
        self.fault.setToolTip(
            "Armed for the next request: " + ", then ".join(FAULT_TEXT.get(f, f) for f in faults)
            if faults
            else "Arm a one-shot fault for this iPad's next request"
        )

    def open_drawer(self, shown: bool = True) -> None:
        """Open or close the X-ray drawer (queue, conflicts, waiting, activity)."""
        shown = shown and self.context.stage.xray.shown(self.device.id)
        self.drawer_button.blockSignals(True)
        self.drawer_button.setChecked(shown)
        self.drawer_button.blockSignals(False)
        self.drawer_button.setText(f"◎ {'▾' if shown else '▸'}")
        if shown != self.drawer.isVisible():
            self.drawer.setVisible(shown)
            self.drawer_toggled.emit(shown)
        if shown and self._drawer_stale:
            self.refresh()

    def _foreground_toggled(self, on: bool) -> None:
        self.device.set_foreground(on)

    def _xray_toggled(self, on: bool) -> None:
        stage = self.context.stage
        if on != stage.xray.shown(self.device.id):
            stage.set_xray(on, self.device.id)

    def _traditional_toggled(self, on: bool) -> None:
        if on == self.device.traditional:
            return
        self.context.tasks.attempt(self, "Traditional sync", lambda: self.device.set_traditional(on))

    def show_loss_report(self) -> None:
        """AS-31: what a lost or wiped iPad would take with it, and what is safe online."""
        report = self.device.loss_report()
        lines = [f"If {self.device.profile.name} were lost or wiped now:"]
        if report.at_risk == 0:
            lines.append("\nNothing would be lost: every change is already online.")
        if report.queued:
            lines.append(f"\nLost with it: {len(report.queued)} upload(s) still in the queue:")
            lines += [f"  • {label}" for label in report.queued]
        if report.sync_errors:
            lines.append(f"\nLost with it: {len(report.sync_errors)} change(s) stuck in sync errors:")
            lines += [f"  • {label}" for label in report.sync_errors]
        lines.append(f"\nSafe online already: {report.safe_records} records.")
        self.context.messages.info(self, "What if this iPad were lost now?", "\n".join(lines))

    # refreshing -----------------------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        if event.kind == "xray":
            self._show_xray()
            return
        if event.actor != self.device.actor:
            return
        self._log_buffer.append(event)
        self._flush.request()
        if event.kind in REFRESHING:
            self._refresh.request()

    def _flush_log(self) -> None:
        if not self._log_buffer:
            return
        lines = [f"{hhmmss(e.time)}  {e.text}" for e in self._log_buffer if e.kind != "sync_progress"]
        self._log_buffer.clear()
        if lines:
            self.log.appendPlainText("\n".join(lines))

    def refresh(self) -> None:
        device = self.device
        if device.is_closed:  # a redraw that comes after its iPad left the stage
            return
        store = device.store
        counts = (store.queue_length(), len(store.errors()), store.staged_count())
        for tab, (name, count) in enumerate(zip(("Queue", "Conflicts", "Waiting"), counts, strict=True)):
            self.drawer.setTabText(tab, f"{name} ({count})")
        if self.drawer.isHidden():
            self._drawer_stale = True  # filled when it opens: nobody reads a closed drawer
        else:
            self._fill_drawer()
        self._show_armed()
        for mode, button in self.network_buttons.items():
            button.setChecked(mode == device.conditions.mode)
        if not self.latency.hasFocus():
            self.latency.setValue(int(device.conditions.latency.total_seconds()))
        if not self.loss.hasFocus():
            self.loss.setValue(round(device.conditions.loss * 100))
        self.foreground.blockSignals(True)
        self.foreground.setChecked(device.foreground)
        self.foreground.setText("App open" if device.foreground else "Background")
        self.foreground.blockSignals(False)
        self.traditional.blockSignals(True)
        self.traditional.setChecked(device.traditional)
        self.traditional.blockSignals(False)
        self._show_xray()

    def _fill_drawer(self) -> None:
        """The drawer's lists: the queue's head, the conflicts, the entries waiting to merge."""
        self._drawer_stale = False
        self.queue_view.refresh()
        self._refresh_errors()
        self._refresh_waiting()

    def _show_xray(self) -> None:
        """The X-ray drawer and its toggle show with the X-ray view; the controls always."""
        shown = self.context.stage.xray.shown(self.device.id)
        self.xray.blockSignals(True)
        self.xray.setChecked(shown)
        self.xray.blockSignals(False)
        self.lost.setVisible(shown)
        self.drawer_button.setVisible(shown)
        if not shown:
            self.open_drawer(False)

    def _refresh_waiting(self) -> None:
        """Data downloaded but not merged, each with the reason the device gives (AS-21 to AS-23)."""
        device = self.device
        waiting = device.waiting()
        more = len(waiting) - SHOWN_QUEUE
        waiting = waiting[:SHOWN_QUEUE]
        self.waiting.setRowCount(len(waiting) + (more > 0))
        if more > 0:
            self.waiting.setItem(len(waiting), 2, QTableWidgetItem(f"… and {more} more behind them"))
        for row, (entry, why) in enumerate(waiting):
            records = entry.get("records", [])
            got = int(entry.get("first_record", 0)) + len(records)
            total = int(entry.get("total_records", len(records)))
            first = records[0] if records else None
            what = "—"
            if first is not None:
                try:
                    what = device.schema.label(str(first["object"]))
                    fields = first.get("fields", {})
                    what += " " + device.schema.title(str(first["object"]), fields)
                except KeyError:
                    what = str(first.get("id", "—"))
            cells = (str(entry.get("seq", "")), f"{got} of {total}", what, why)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{text}\nRecords: {', '.join(sorted(entry_ids(entry)))}")
                self.waiting.setItem(row, column, item)

    def _refresh_errors(self) -> None:
        errors = self.device.sync_errors()
        events = self.context.stage.events
        key = tuple((e.id, e.label, e.message, repr(e.conflicts), who_won(events, e)) for e in errors)
        if key == self._errors_key:
            return  # unchanged: the list, its selection and the conflicts table stay as they are
        self._errors_key = key
        current = self.error_list.currentItem()
        keep = None if current is None else current.data(Qt.ItemDataRole.UserRole)
        self.error_list.blockSignals(True)
        self.error_list.clear()
        self._errors = {e.id: e for e in errors}
        for error in errors:
            item = QListWidgetItem(f"{STATES['sync_error'].glyph} {error.label}")
            item.setData(Qt.ItemDataRole.UserRole, error.id)
            self.error_list.addItem(item)
            if error.id == keep:
                self.error_list.setCurrentItem(item)
        if self.error_list.currentItem() is None and errors:
            self.error_list.setCurrentRow(0)
        self.error_list.blockSignals(False)
        self._show_error()

    def _show_error(self) -> None:
        item = self.error_list.currentItem()
        error = None if item is None else self._errors.get(int(item.data(Qt.ItemDataRole.UserRole)))
        if error is None:
            self.error_message.setText("No sync errors.")
            self.conflicts.setColumnCount(0)
            self.conflicts.hide()
            self._fit_errors.request()
            return
        winner = who_won(self.context.stage.events, error)
        won = f"<br>Saved first by {escape(winner)}." if winner and error.conflicts else ""
        self.error_message.setText(f"<b>{escape(error.label)}</b><br>{escape(error.message)}{won}")
        self.conflicts.setVisible(bool(error.conflicts))
        self.conflicts.setColumnCount(len(error.conflicts))
        self.conflicts.setHorizontalHeaderLabels(
            [str(c.get("label", c.get("field"))) for c in error.conflicts]
        )
        for column, conflict in enumerate(error.conflicts):
            for row, (key, label, _tip) in enumerate(CONFLICT_ROWS):
                value = conflict.get(key)
                text = "—" if value is None else str(value)
                cell = QTableWidgetItem(text)
                cell.setToolTip(f"{conflict.get('label', conflict.get('field'))}, {label.lower()}: {text}")
                if key == "new":
                    font = cell.font()
                    font.setBold(True)
                    cell.setFont(font)
                self.conflicts.setItem(row, column, cell)
        self._fit_errors_page()
        self._fit_errors.request()  # again once the columns have their width

    def conflict_values(self) -> list[dict[str, str]]:
        """What the conflicts table shows, per field: field, previous, online, new."""
        out = []
        for column in range(self.conflicts.columnCount()):
            header = self.conflicts.horizontalHeaderItem(column)
            values = {"field": header.text() if header is not None else ""}
            for row, (key, _label, _tip) in enumerate(CONFLICT_ROWS):
                item = self.conflicts.item(row, column)
                values[key] = item.text() if item is not None else ""
            out.append(values)
        return out
