"""The control panel under each iPad: conditions, Sync now, queue, sync errors, waiting data, log.

It shows what the device says and calls its operations; the rules stay in the engine.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from emulator.engine.device import Device
from emulator.engine.events import Event
from emulator.engine.localstore import QueueItem
from emulator.ui.crm_app import REFRESHING
from emulator.ui.support import Coalescer, Context, hhmmss
from emulator.ui.theme import STATES

Index = QModelIndex | QPersistentModelIndex
NETWORK_MODES = (("online", "Online"), ("offline", "Offline"), ("lie-fi", "Lie-fi (times out)"))


def queue_state(device: Device, item: QueueItem) -> str:
    """A queue item's state in words, from what the item and the device say."""
    if item.state == "uploading":
        return f"{STATES['uploading'].glyph} Uploading"
    if item.state == "waiting" and item.next_attempt_at:
        return f"⟳ Retry at {str(item.next_attempt_at)[11:19]} (attempt {item.attempts + 1})"
    if device.autosync_active:
        return f"{STATES['queued'].glyph} Queued"
    if device.traditional:
        return f"{STATES['saved_locally'].glyph} Waits for Sync now"
    if not device.conditions.app_thinks_online:
        return f"{STATES['saved_locally'].glyph} Waits for connectivity"
    return f"{STATES['saved_locally'].glyph} Waits for the foreground"


class QueueModel(QAbstractTableModel):
    """The upload queue, head first: one row per transaction (an AS-05 family is one row)."""

    HEADERS = ("#", "Upload", "Records", "State", "Last error")

    def __init__(self, device: Device, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.device = device
        self.rows: list[tuple[str, ...]] = []

    def refresh(self) -> None:
        rows: list[tuple[str, ...]] = []
        for position, item in enumerate(self.device.queue(), start=1):
            rows.append(
                (
                    str(position),
                    item.label,
                    str(len(item.items)),
                    queue_state(self.device, item),
                    item.last_error or "",
                    item.transaction_id,
                )
            )
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: Index, role: int = 0) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return row[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"Transaction {row[5]}: {row[1]}"
        return None


class DevicePanel(QTabWidget):
    """Controls and inside views of one device, as tabs.

    Attributes:
        device: the engine device it controls.
    """

    def __init__(self, device: Device, context: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.device = device
        self.context = context
        self.setObjectName(f"panel-{device.id}")
        self.setDocumentMode(True)
        self.busy = False
        self._deferred_reasons: dict[int, str] = {}
        self._log_buffer: list[Event] = []
        self.addTab(self._build_controls(), "Device")
        self.queue_model = QueueModel(device, self)
        self.addTab(self._build_queue(), "Queue")
        self.addTab(self._build_errors(), "Errors")
        self.addTab(self._build_waiting(), "Waiting")
        self.addTab(self._build_log(), "Activity")
        self._refresh = Coalescer(self.refresh, self)
        self._flush = Coalescer(self._flush_log, self)
        context.bridge.happened.connect(self._on_event)
        for event in context.stage.events.events:
            if event.actor == device.actor:
                self._log_buffer.append(event)
        self._flush_log()
        self.refresh()

    # building -------------------------------------------------------------------------------------
    def _build_controls(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        profile = self.device.profile
        who = QLabel(f"{profile.model}, iOS {profile.ios_version} · user {profile.user_id}")
        who.setWordWrap(True)
        form.addRow(who)
        net = QHBoxLayout()
        self.network = QComboBox()
        self.network.setObjectName("network")
        for mode, label in NETWORK_MODES:
            self.network.addItem(label, mode)
        self.latency = QSpinBox()
        self.latency.setObjectName("latency")
        self.latency.setRange(0, 120)
        self.latency.setSuffix(" s latency")
        net.addWidget(self.network, 1)
        net.addWidget(self.latency)
        form.addRow("Network", net)
        self.foreground = QCheckBox("App in the foreground")
        self.foreground.setObjectName("foreground")
        self.foreground.setChecked(self.device.foreground)
        self.traditional = QCheckBox("Traditional sync (Autosync off)")
        self.traditional.setObjectName("traditional")
        modes = QHBoxLayout()
        modes.addWidget(self.foreground)
        modes.addWidget(self.traditional)
        form.addRow(modes)
        self.ineligible = QLabel()
        self.ineligible.setObjectName("ineligible")
        self.ineligible.setWordWrap(True)
        self.ineligible.setStyleSheet(f"color:{STATES['sync_error'].colour}; font-weight:bold;")
        if not profile.autosync_eligible:
            self.traditional.setChecked(True)
            self.traditional.setEnabled(False)
            reason = f"No Autosync: {profile.ineligibility} Saves wait until you tap Sync now."
            self.traditional.setToolTip(reason)
            self.ineligible.setText("⊘ " + reason)
            form.addRow(self.ineligible)
        sync = QHBoxLayout()
        self.sync_now = QPushButton("⟳ Sync now")
        self.sync_now.setObjectName("sync-now")
        self.sync_now.setToolTip("Incremental sync: upload the queue, then download what changed (AS-27)")
        self.progress = QProgressBar()
        self.progress.setObjectName("sync-progress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("%v / %m")
        sync.addWidget(self.sync_now)
        sync.addWidget(self.progress, 1)
        form.addRow(sync)
        self.sync_result = QLabel()
        self.sync_result.setObjectName("sync-result")
        self.sync_result.setWordWrap(True)
        form.addRow(self.sync_result)
        self.lost = QPushButton("What if this iPad were lost now?")
        self.lost.setObjectName("loss-report")
        form.addRow(self.lost)
        self.notices = QLabel()
        self.notices.setObjectName("notices")
        self.notices.setWordWrap(True)
        form.addRow(self.notices)
        self.network.activated.connect(lambda _i: self.set_network())
        self.latency.editingFinished.connect(self.set_network)
        self.foreground.toggled.connect(self._foreground_toggled)
        self.traditional.toggled.connect(self._traditional_toggled)
        self.sync_now.clicked.connect(self.run_sync)
        self.lost.clicked.connect(self.show_loss_report)
        return page

    def _build_queue(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(2, 2, 2, 2)
        self.queue_view = QTableView()
        self.queue_view.setObjectName("queue")
        self.queue_view.setModel(self.queue_model)
        self.queue_view.verticalHeader().setVisible(False)
        self.queue_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.queue_view.setWordWrap(False)
        header = self.queue_view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(QLabel("First in, first out: the top row uploads first."))
        layout.addWidget(self.queue_view)
        return page

    def _build_errors(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(2, 2, 2, 2)
        self.error_list = QListWidget()
        self.error_list.setObjectName("errors")
        self.error_list.setMaximumHeight(self.error_list.fontMetrics().height() * 4 + 12)
        self.error_message = QLabel()
        self.error_message.setObjectName("error-message")
        self.error_message.setWordWrap(True)
        self.conflicts = QTableWidget(0, 4)
        self.conflicts.setObjectName("conflicts")
        self.conflicts.setHorizontalHeaderLabels(["Field", "Previous", "Online", "Mine (new)"])
        self.conflicts.verticalHeader().setVisible(False)
        self.conflicts.setWordWrap(False)
        self.conflicts.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.conflicts.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        buttons = QHBoxLayout()
        self.take_online = QPushButton("Take online version")
        self.take_online.setObjectName("take-online")
        self.keep_mine = QPushButton("Keep mine")
        self.keep_mine.setObjectName("keep-mine")
        buttons.addWidget(self.take_online)
        buttons.addWidget(self.keep_mine)
        layout.addWidget(self.error_list)
        layout.addWidget(self.error_message)
        layout.addWidget(self.conflicts, 1)
        layout.addLayout(buttons)
        self.error_list.currentRowChanged.connect(lambda _row: self._show_error())
        self.take_online.clicked.connect(lambda: self.resolve_error("take_online"))
        self.keep_mine.clicked.connect(lambda: self.resolve_error("keep_mine"))
        return page

    def _build_waiting(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(QLabel("Downloaded from the feed, not merged yet:"))
        self.waiting = QTableWidget(0, 4)
        self.waiting.setObjectName("waiting")
        self.waiting.setHorizontalHeaderLabels(["Feed #", "Records", "Received", "Why it waits"])
        self.waiting.verticalHeader().setVisible(False)
        self.waiting.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
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

    # operations -----------------------------------------------------------------------------------
    def set_network(self, mode: str | None = None) -> None:
        mode = mode or str(self.network.currentData())
        index = self.network.findData(mode)
        if index != self.network.currentIndex():
            self.network.setCurrentIndex(index)
        latency = timedelta(seconds=self.latency.value())
        self.context.tasks.refusing(self, "Network", lambda: self.device.set_network(mode, latency=latency))

    def _foreground_toggled(self, on: bool) -> None:
        self.device.set_foreground(on)

    def _traditional_toggled(self, on: bool) -> None:
        if on == self.device.traditional:
            return
        self.context.tasks.refusing(self, "Traditional sync", lambda: self.device.set_traditional(on))

    def run_sync(self) -> None:
        """Sync now: an incremental sync (AS-27); the progress bar follows its events."""
        if self.busy:
            return
        self.busy = True
        self.sync_now.setEnabled(False)
        self.progress.setRange(0, 0)  # busy until the first progress event
        self.sync_result.setText("Syncing…")

        def finished(report: Any) -> None:
            self.sync_result.setText(report.message if report is not None else "")

        def always() -> None:
            self.busy = False
            self.sync_now.setEnabled(True)
            if self.progress.maximum() == 0:
                self.progress.setRange(0, 1)
            if not self.sync_result.text() or self.sync_result.text() == "Syncing…":
                self.sync_result.setText("")

        self.context.tasks.spawn(
            self.device.syncer.run(), title="Sync now", parent=self, done=finished, always=always
        )

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

    def resolve_error(self, how: str) -> None:
        item = self.error_list.currentItem()
        if item is None or self.busy:
            return
        error_id = int(item.data(Qt.ItemDataRole.UserRole))
        self.busy = True
        self.take_online.setEnabled(False)
        self.keep_mine.setEnabled(False)

        def always() -> None:
            self.busy = False
            self._refresh.request()

        self.context.tasks.spawn(
            self.device.resolve_error(error_id, how),  # type: ignore[arg-type]
            title="Resolve sync error",
            parent=self,
            always=always,
        )

    # refreshing -----------------------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        if event.actor != self.device.actor:
            return
        self._log_buffer.append(event)
        self._flush.request()
        if event.kind == "sync_progress":
            total = int(event.data.get("total", 0))
            self.progress.setRange(0, max(total, 1))
            self.progress.setValue(int(event.data.get("done", 0)))
        elif event.kind == "merge_deferred":
            self._deferred_reasons[int(event.data.get("seq", 0))] = str(event.data.get("reason", ""))
        if event.kind in REFRESHING or event.kind in ("polled", "feed_missed"):
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
        self.queue_model.refresh()
        queued = len(self.queue_model.rows)
        self.setTabText(1, f"Queue ({queued})")
        self._refresh_errors()
        staged = device.store.staged()
        self.setTabText(3, f"Waiting ({len(staged)})")
        self.waiting.setRowCount(len(staged))
        for row, entry in enumerate(staged):
            records = entry.entry.get("records", [])
            total = entry.entry.get("total_records", len(records))
            why = self._deferred_reasons.get(entry.seq, "checking at the next merge")
            cells = (str(entry.seq), f"{len(records)} of {total}", entry.received_at[11:19], why)
            for column, text in enumerate(cells):
                self.waiting.setItem(row, column, QTableWidgetItem(text))
        self.network.blockSignals(True)
        self.network.setCurrentIndex(self.network.findData(device.conditions.mode))
        self.network.blockSignals(False)
        self.foreground.blockSignals(True)
        self.foreground.setChecked(device.foreground)
        self.foreground.blockSignals(False)
        self.traditional.blockSignals(True)
        self.traditional.setChecked(device.traditional)
        self.traditional.blockSignals(False)
        notices = device.store.notices()[-3:]
        self.notices.setText("\n".join(f"ⓘ {n.time[11:19]} {n.text}" for n in notices))
        self.notices.setVisible(bool(notices))

    def _refresh_errors(self) -> None:
        errors = self.device.sync_errors()
        self.setTabText(2, f"Errors ({len(errors)})")
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
        enabled = error is not None and not self.busy
        self.take_online.setEnabled(enabled)
        self.keep_mine.setEnabled(enabled)
        if error is None:
            self.error_message.setText("No sync errors.")
            self.conflicts.setRowCount(0)
            return
        self.error_message.setText(f"{error.label}\n{error.message}")
        self.conflicts.setRowCount(len(error.conflicts))
        for row, conflict in enumerate(error.conflicts):
            cells = (
                conflict.get("label", conflict.get("field")),
                conflict.get("previous"),
                conflict.get("online"),
                conflict.get("new"),
            )
            for column, value in enumerate(cells):
                self.conflicts.setItem(row, column, QTableWidgetItem("—" if value is None else str(value)))
