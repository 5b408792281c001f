"""The server console: online records, each user's feed, online operations, validation rules.

Everything goes through the stage's admin API (``stage.online``), the same way for the embedded
server and a standalone ``autosync-stub``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from emulator.engine.events import Event
from emulator.ui.records import HeaderedTableModel, Index
from emulator.ui.room import RoomPage
from emulator.ui.support import Coalescer, Context

#: The console re-reads the server at most this often while changes keep coming.
CONSOLE_EVERY_MS = 1000
#: Server-side events after which the console re-reads the server.
SERVER_CHANGES = frozenset({"uploaded", "duplicated", "discarded_online", "put_on_feed", "online_change"})


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def age(seconds: float) -> str:
    seconds = int(seconds)
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days} d {hours} h"
    if hours:
        return f"{sign}{hours} h {minutes} min"
    if minutes:
        return f"{sign}{minutes} min {secs} s"
    return f"{sign}{secs} s"


class OnlineRecordsModel(HeaderedTableModel):
    HEADERS = ("ID", "Name", "Owner", "Modified", "By")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.records: list[dict[str, Any]] = []
        self.title_field = ""

    def set_records(self, records: list[dict[str, Any]], title_field: str) -> None:
        self.beginResetModel()
        self.records = records
        self.title_field = title_field
        self.endResetModel()

    def row_count(self) -> int:
        return len(self.records)

    def data(self, index: Index, role: int = 0) -> Any:
        if not index.isValid() or role != Qt.ItemDataRole.DisplayRole:
            return None
        fields = self.records[index.row()]["fields"]
        keys = ("id", self.title_field, "ownerid__v", "modified_date__v", "modified_by__v")
        value = fields.get(keys[index.column()])
        if index.column() == 3 and value:
            return str(value)[5:19].replace("T", " ")
        return "" if value is None else str(value)


class FeedModel(HeaderedTableModel):
    """A user's feed entries; ages and expiry are computed from the emulated clock."""

    HEADERS = ("#", "Added", "Age", "Expires in", "From device", "Records", "Reason")

    def __init__(self, context: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.entries: list[dict[str, Any]] = []

    def set_entries(self, entries: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.entries = entries
        self.endResetModel()

    def times_moved(self) -> None:
        if self.entries:
            self.dataChanged.emit(self.index(0, 2), self.index(len(self.entries) - 1, 3))

    def row_count(self) -> int:
        return len(self.entries)

    def data(self, index: Index, role: int = 0) -> Any:
        if not index.isValid() or role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        entry = self.entries[index.row()]
        now = self.context.stage.clock.now()
        column = index.column()
        if column == 0:
            return str(entry["seq"])
        if column == 1:
            return entry["added_at"][5:19].replace("T", " ")
        if column == 2:
            return age((now - parse_time(entry["added_at"])).total_seconds())
        if column == 3:
            left = (parse_time(entry["expires_at"]) - now).total_seconds()
            return "expired" if left <= 0 else age(left)
        if column == 4:
            return entry["origin_device"]
        if column == 5:
            names = ", ".join(f"{r['object']} {r['id']}" for r in entry["records"][:3])
            more = len(entry["records"]) - 3
            return names + (f" +{more}" if more > 0 else "")
        return entry.get("reason", "")


class ServerConsole(QTabWidget):
    """The online side of the stage, as tabs."""

    def __init__(self, context: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.stage = context.stage
        self.setObjectName("server-console")
        self.objects: dict[str, dict[str, Any]] = {}
        self.users: list[str] = []
        self.loading = False
        #: The long lists (online records, a feed) not read again since the server changed,
        #: because they were not on screen: read when they are shown.
        self._stale_pages: set[QWidget] = set()
        self.records_page = self._build_records()
        self.feeds_page = self._build_feeds()
        # One short word a tab (the whole name in its tooltip): every tab shows without scroll
        # arrows in a narrow dock, and at presenter size under the iPads.
        self.room = RoomPage()
        self.room.setObjectName("room")
        for page, label, tip in (
            (self.records_page, "Records", "The online records of an object, as the server has them"),
            (self.feeds_page, "Feeds", "Each user's change feed: what the iPads read when they poll"),
            (self._build_operations(), "Operations", "Online operations: change records on the server"),
            (self._build_rules(), "Rules", "Validation rules: switch them on or off on the server"),
            (self._build_admin(), "Admin", "A business admin's sync settings and commands for an iPad"),
            (self.room, "Room", "Every iPad that has talked to the server, as the server saw it"),
        ):
            self.addTab(page, label)
            self.setTabToolTip(self.count() - 1, tip)
        self.room.refresh.clicked.connect(self.reload_room)
        self._room_clock = Coalescer(self._room_tick, self, every_ms=CONSOLE_EVERY_MS)
        self.currentChanged.connect(lambda _i: self._room_tick())
        self.currentChanged.connect(lambda _i: self._load_if_stale())
        self._reload = Coalescer(self.reload, self, every_ms=CONSOLE_EVERY_MS)
        context.bridge.happened.connect(self._on_event)
        context.bridge.time_changed.connect(self._times_moved)  # a bound slot: disconnected on deletion

    # building -------------------------------------------------------------------------------------
    def _build_records(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        top = QHBoxLayout()
        self.record_object = QComboBox()
        self.record_object.setObjectName("online-object")
        self.record_total = QLabel()
        top.addWidget(QLabel("Object"))
        top.addWidget(self.record_object, 1)
        top.addWidget(self.record_total)
        layout.addLayout(top)
        self.records_model = OnlineRecordsModel(self)
        self.records_view = QTableView()
        self.records_view.setObjectName("online-records")
        self.records_view.setModel(self.records_model)
        self.records_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.records_view.verticalHeader().setVisible(False)
        self.records_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.records_view.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(self.records_view, 2)
        heading = QLabel("The selected record's fields (click a row)")
        heading.setObjectName("online-record-heading")
        layout.addWidget(heading)
        self.record_detail = QPlainTextEdit()
        self.record_detail.setReadOnly(True)
        self.record_detail.setObjectName("online-record-detail")
        layout.addWidget(self.record_detail, 1)
        self.record_object.activated.connect(lambda _i: self.reload_records())
        self.records_view.clicked.connect(self._record_clicked)
        return page

    def _build_feeds(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        top = QHBoxLayout()
        self.feed_user = QComboBox()
        self.feed_user.setObjectName("feed-user")
        self.feed_info = QLabel()
        self.feed_info.setWordWrap(True)
        top.addWidget(QLabel("User"))
        top.addWidget(self.feed_user, 1)
        layout.addLayout(top)
        layout.addWidget(self.feed_info)
        self.feed_model = FeedModel(self.context, self)
        self.feed_view = QTableView()
        self.feed_view.setObjectName("feed")
        self.feed_view.setModel(self.feed_model)
        self.feed_view.verticalHeader().setVisible(False)
        self.feed_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.feed_view.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(self.feed_view)
        self.feed_user.activated.connect(lambda _i: self.reload_feed())
        return page

    def _build_operations(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        edit = QGroupBox("Edit a record online")
        form = QFormLayout(edit)
        self.op_object = QComboBox()
        self.op_object.setObjectName("op-object")
        self.op_record = QLineEdit()
        self.op_record.setObjectName("op-record")
        self.op_record.setPlaceholderText("record ID (click a row in Records)")
        self.op_field = QComboBox()
        self.op_field.setObjectName("op-field")
        self.op_value = QLineEdit()
        self.op_value.setObjectName("op-value")
        self.op_actor = QComboBox()
        self.op_actor.setObjectName("op-actor")
        self.op_actor.addItem("Online user (browser)", "online_user")
        self.op_actor.addItem("Integration", "integration")
        apply = QPushButton("Save online")
        apply.setObjectName("op-save")
        form.addRow("Object", self.op_object)
        form.addRow("Record", self.op_record)
        form.addRow("Field", self.op_field)
        form.addRow("New value", self.op_value)
        form.addRow("As", self.op_actor)
        form.addRow(apply)
        layout.addWidget(edit)
        self.op_object.activated.connect(lambda _i: self._fill_fields())
        apply.clicked.connect(self.edit_online)

        align = QGroupBox("Territory alignment")
        form = QFormLayout(align)
        self.align_account = QLineEdit()
        self.align_account.setObjectName("align-account")
        self.align_account.setPlaceholderText("account ID")
        self.align_territory = QLineEdit("T-WC")
        self.align_territory.setObjectName("align-territory")
        run = QPushButton("Run alignment")
        form.addRow("Account", self.align_account)
        form.addRow("Move to territory", self.align_territory)
        form.addRow(run)
        layout.addWidget(align)
        run.clicked.connect(self.align)

        meta = QGroupBox("Metadata, content and data sets")
        form = QFormLayout(meta)
        self.meta_value = QLineEdit("samples_dropped__v")
        self.meta_label = QLineEdit("Samples dropped")
        add_value = QPushButton("Add picklist value to Call type")
        form.addRow("Value", self.meta_value)
        form.addRow("Label", self.meta_label)
        form.addRow(add_value)
        self.clm_name = QLineEdit("Labrinone core story v2")
        publish = QPushButton("Publish CLM content")
        form.addRow("CLM presentation", self.clm_name)
        form.addRow(publish)
        datasets = QVBoxLayout()  # stacked: the console is often a narrow dock
        xpages = QPushButton("Refresh X-Pages data")
        nitro = QPushButton("Refresh Nitro data")
        datasets.addWidget(xpages)
        datasets.addWidget(nitro)
        form.addRow(datasets)
        layout.addWidget(meta)
        note = QLabel(
            "Online changes reach the iPads only by an incremental sync (the Sync button on the iPad's "
            "Home page), not by Autosync."
        )
        note.setWordWrap(True)
        layout.addWidget(note)
        layout.addStretch(1)
        add_value.clicked.connect(self.add_picklist_value)
        publish.clicked.connect(self.publish_clm)
        xpages.clicked.connect(lambda: self.refresh_dataset("xpages_sales", "X-Pages sales data"))
        nitro.clicked.connect(lambda: self.refresh_dataset("nitro", "Nitro data"))
        return page

    def _build_rules(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(QLabel("Untick a rule to switch it off on the server."))
        self.rules = QTableWidget(0, 2)
        self.rules.setObjectName("validation-rules")
        self.rules.setHorizontalHeaderLabels(["Rule", "Message"])
        self.rules.verticalHeader().setVisible(False)
        self.rules.setWordWrap(True)
        self.rules.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.rules.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.rules.itemChanged.connect(self._rule_toggled)
        layout.addWidget(self.rules)
        return page

    def _build_admin(self) -> QWidget:
        """A business admin's settings and commands for a user's iPads (AS-33, AS-34, AS-36, AS-37)."""
        page = QWidget()
        layout = QVBoxLayout(page)
        top = QHBoxLayout()
        self.admin_user = QComboBox()
        self.admin_user.setObjectName("admin-user")
        top.addWidget(QLabel("User"))
        top.addWidget(self.admin_user, 1)
        layout.addLayout(top)
        settings = QGroupBox("Sync settings")
        form = QFormLayout(settings)
        form.addRow(_note("The user's iPads read them at their next incremental sync."))
        self.warn_days = QSpinBox()
        self.warn_days.setObjectName("sync-warn-interval")
        self.warn_days.setRange(1, 365)
        self.warn_days.setSuffix(" days")
        self.warn_days.setToolTip(
            "SYNC_WARN_INTERVAL: the Sync widget's pending count turns red once uploads have waited longer"
        )
        self.refresh_mode = QCheckBox("Refresh mode")
        self.refresh_mode.setToolTip("A non-blocking incremental sync at the first use of a day (AS-36)")
        self.refresh_mode.setObjectName("refresh-mode")
        save = QPushButton("Save settings")
        save.setObjectName("save-user-settings")
        form.addRow("SYNC_WARN_INTERVAL", self.warn_days)
        form.addRow(self.refresh_mode)
        form.addRow(save)
        layout.addWidget(settings)
        commands = QGroupBox("Commands to the user's iPads")
        row = QVBoxLayout(commands)
        row.addWidget(_note("Each iPad runs a command at its next incremental sync."))
        clear = QPushButton("Clear client sync errors")
        clear.setObjectName("clear-sync-errors")
        force = QPushButton("Force a full database refresh")
        force.setObjectName("force-full-refresh")
        row.addWidget(clear)
        row.addWidget(force)
        layout.addWidget(commands)
        layout.addStretch(1)
        self.admin_user.activated.connect(lambda _i: self.reload_user_settings())
        save.clicked.connect(self.save_user_settings)
        clear.clicked.connect(lambda: self.client_command("clear_sync_errors"))
        force.clicked.connect(lambda: self.client_command("full_refresh"))
        return page

    # loading --------------------------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        if event.kind in SERVER_CHANGES or event.kind == "device_added":
            self._reload.request()

    def _times_moved(self, _moment: object) -> None:
        self.feed_model.times_moved()
        if self.currentWidget() is self.room:
            self._room_clock.request()

    def _room_tick(self) -> None:
        """While the room is on screen it follows the clock (other trainees' iPads change it too)."""
        if self.currentWidget() is self.room and not self.loading:
            self.reload_room()

    def reload(self) -> None:
        """Re-read everything the console shows from the server."""
        if self.loading:
            self._reload.request()
            return
        self.loading = True

        def always() -> None:
            self.loading = False

        self.context.tasks.spawn(self._load_all(), title="Server console", parent=self, always=always)

    async def _load_all(self) -> None:
        if not self.objects:
            await self._load_objects()
        if not self.users:
            self.users = [u["id"] for u in await self.stage.users()]
            for combo in (self.feed_user, self.admin_user):
                combo.clear()
                for user in self.users:
                    combo.addItem(user, user)
        # each part in a turn of its own (an in-process server answers at once); the long lists
        # only if they are on screen
        for page, load in ((self.records_page, self._load_records), (self.feeds_page, self._load_feed)):
            if self._on_screen(page):
                await load()
                self._stale_pages.discard(page)
            else:
                self._stale_pages.add(page)
            await asyncio.sleep(0)
        for load in (self._load_rules, self._load_user_settings, self._load_room):
            await load()
            await asyncio.sleep(0)

    def _on_screen(self, page: QWidget) -> bool:
        return self.isVisible() and self.currentWidget() is page

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._load_if_stale()

    def _load_if_stale(self) -> None:
        """Read the list just shown if the server changed while it was hidden."""
        page = self.currentWidget()
        if page in self._stale_pages and self.isVisible():
            self._stale_pages.discard(page)
            {self.records_page: self.reload_records, self.feeds_page: self.reload_feed}[page]()

    async def _load_objects(self) -> None:
        device = next(iter(self.stage.devices.values()), None)
        schema = device.schema.data if device is not None else {}
        self.objects = dict(schema.get("objects", {}))
        if not self.objects:
            return
        for combo in (self.record_object, self.op_object):
            combo.clear()
            for name, obj in self.objects.items():
                combo.addItem(str(obj.get("plural", name)), name)
        self._fill_fields()

    def _fill_fields(self) -> None:
        name = self.op_object.currentData()
        self.op_field.clear()
        for field_name, field in self.objects.get(str(name), {}).get("fields", {}).items():
            if field.get("writable"):
                self.op_field.addItem(f"{field.get('label', field_name)} ({field_name})", field_name)

    def reload_records(self) -> None:
        self.context.tasks.spawn(self._load_records(), title="Online records", parent=self)

    async def _load_records(self) -> None:
        name = self.record_object.currentData()
        if not name:
            return
        page = await self.stage.online("GET", "/records", params={"object": name, "limit": 5000})
        title = str(self.objects.get(name, {}).get("title") or "id")
        self.records_model.set_records(list(page["records"]), title)
        self.record_total.setText(f"{page['total']} online")

    def _record_clicked(self, index: QModelIndex) -> None:
        record = self.records_model.records[index.row()]
        fields = record["fields"]
        self.record_detail.setPlainText("\n".join(f"{k}: {v}" for k, v in sorted(fields.items())))
        self.op_object.setCurrentIndex(self.op_object.findData(record["object"]))
        self._fill_fields()
        self.op_record.setText(record["id"])
        if record["object"] == "account__v":
            self.align_account.setText(record["id"])

    def reload_feed(self) -> None:
        self.context.tasks.spawn(self._load_feed(), title="Feed", parent=self)

    async def _load_feed(self) -> None:
        user = self.feed_user.currentData()
        if not user:
            return
        page = await self.stage.online("GET", f"/feeds/{user}")
        self.feed_model.set_entries(list(page["entries"]))
        missed = f" Entries up to #{page['purged_through']} have expired." if page["purged_through"] else ""
        self.feed_info.setText(
            f"{len(page['entries'])} entries on {user}'s feed; entries expire 7 days after they are added."
            + missed
        )

    def reload_user_settings(self) -> None:
        self.context.tasks.spawn(self._load_user_settings(), title="Sync settings", parent=self)

    async def _load_user_settings(self) -> None:
        user = self.admin_user.currentData()
        if not user:
            return
        settings = await self.stage.online("GET", f"/users/{user}/settings")
        self.warn_days.setValue(int(settings["sync_warn_interval_days"]))
        self.refresh_mode.setChecked(bool(settings["refresh_mode"]))

    def reload_room(self) -> None:
        self.context.tasks.spawn(self._load_room(), title="Room", parent=self)

    async def _load_room(self) -> None:
        answer = await self.stage.online("GET", "/devices")
        names = {device_id: device.profile.name for device_id, device in self.stage.devices.items()}
        self.room.show_room(answer, names)

    async def _load_rules(self) -> None:
        rules = await self.stage.online("GET", "/validation-rules")
        self.rules.blockSignals(True)
        self.rules.setRowCount(len(rules))
        for row, rule in enumerate(rules):
            name = QTableWidgetItem(rule["name"])
            name.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            name.setCheckState(Qt.CheckState.Checked if rule["enabled"] else Qt.CheckState.Unchecked)
            name.setData(Qt.ItemDataRole.UserRole, rule["name"])
            self.rules.setItem(row, 0, name)
            self.rules.setItem(row, 1, QTableWidgetItem(rule["message"]))
        self.rules.resizeRowsToContents()
        self.rules.blockSignals(False)

    # operations -----------------------------------------------------------------------------------
    def _online(
        self,
        title: str,
        method: str,
        path: str,
        text: str,
        *,
        step: Callable[[], Awaitable[dict[str, Any] | None]] | None = None,
        **kwargs: Any,
    ) -> None:
        """Run an online operation; while recording, ``step()`` (read before it) is recorded after it.

        Most online operations are recorded from their ``online_change`` event; ``step`` is for
        those that name records by a lookup online (an edit, a territory alignment).
        """

        async def run() -> None:
            recording = self.context.recording
            planned = await step() if step is not None and recording.wants(self.stage) else None
            await self.stage.online(method, path, say=text, **kwargs)
            if planned is not None:
                recording.record(planned, stage=self.stage)

        self.context.tasks.spawn(run(), title=title, parent=self)

    async def _online_ref(self, object_name: str, record_id: str) -> str | None:
        """The recording's name for an online record (looked up online when first named)."""
        page = await self.stage.online("GET", "/records", params={"object": object_name, "limit": 5000})
        rows = [r["fields"] for r in page["records"]]
        if not self.context.recording.wants(self.stage) or not any(r.get("id") == record_id for r in rows):
            return None  # stopped meanwhile, or no such record online
        title = self.objects.get(object_name, {}).get("title")
        return self.context.recording.ref(object_name, record_id, rows, str(title) if title else None)

    def edit_online(self) -> None:
        name, rid, field = (
            self.op_object.currentData(),
            self.op_record.text().strip(),
            self.op_field.currentData(),
        )
        if not (name and rid and field):
            self.context.messages.refused(self, "Edit online", "Choose an object, a record ID and a field.")
            return
        value = _typed(self.objects.get(str(name), {}).get("fields", {}).get(field, {}), self.op_value.text())
        actor = str(self.op_actor.currentData())
        who = "An integration" if actor == "integration" else "An online user"
        spec = self.objects.get(str(name), {}).get("fields", {}).get(field, {})

        async def step() -> dict[str, Any] | None:
            ref = await self._online_ref(str(name), rid)
            if ref is None:
                return None
            written = value
            target = None
            if (
                isinstance(value, str)
                and spec.get("type") in ("lookup", "master_detail")
                and spec.get("object")
            ):
                target = await self._online_ref(str(spec["object"]), value)
            if target is not None:
                written = f"@{target}"
            elif isinstance(value, str) and value.startswith("@"):
                written = "@" + value  # a literal @ (a record's name starts with one)
            out: dict[str, Any] = {"online_edit": ref, "set": {field: written}}
            if actor != "online_user":
                out["actor"] = actor
            return out

        self._online(
            "Edit online",
            "PATCH",
            f"/records/{name}/{rid}",
            f"{who} set {field} of {name} {rid} to {value!r} online.",
            step=step,
            json={"actor": actor, "fields": {field: value}},
        )

    def align(self) -> None:
        account, territory = self.align_account.text().strip(), self.align_territory.text().strip()

        async def step() -> dict[str, Any] | None:
            ref = await self._online_ref("account__v", account)
            if ref is None or not territory:
                return None
            return {"territory_alignment": {"accounts": [ref], "territory": territory}}

        self._online(
            "Territory alignment",
            "POST",
            "/territory-alignment",
            f"Territory alignment: account {account} moved to {territory}.",
            step=step,
            json={"account_ids": [account], "territory": territory},
        )

    def add_picklist_value(self) -> None:
        value, label = self.meta_value.text().strip(), self.meta_label.text().strip()
        change = {
            "kind": "add_picklist_value",
            "object": "call2__v",
            "field": "call_type__v",
            "value": value,
            "label": label,
        }
        self._online(
            "Metadata change",
            "POST",
            "/metadata",
            f"Metadata change published: Call type gets the value {label!r}.",
            json=change,
        )

    def publish_clm(self) -> None:
        name = self.clm_name.text().strip()
        content = {"kind": "clm", "name": name, "description": "Published from the server console"}
        self._online(
            "Publish content",
            "POST",
            "/content",
            f"CLM content published: {name}.",
            json=content,
        )

    def refresh_dataset(self, name: str, label: str) -> None:
        self._online(
            "Refresh data",
            "POST",
            f"/datasets/{name}/refresh",
            f"New load of {label} online.",
        )

    def save_user_settings(self) -> None:
        user = str(self.admin_user.currentData() or "")
        if not user:
            return
        settings = {
            "sync_warn_interval_days": self.warn_days.value(),
            "refresh_mode": self.refresh_mode.isChecked(),
        }
        mode = "on" if settings["refresh_mode"] else "off"
        self._online(
            "Sync settings",
            "PATCH",
            f"/users/{user}/settings",
            f"An admin set {user}'s sync settings online: SYNC_WARN_INTERVAL "
            f"{settings['sync_warn_interval_days']} days, Refresh mode {mode}.",
            json=settings,
        )

    def client_command(self, kind: str) -> None:
        """Clear client sync errors, or force a full refresh, on every iPad of the user."""
        user = str(self.admin_user.currentData() or "")
        if not user:
            return
        what = "cleared the client sync errors" if kind == "clear_sync_errors" else "forced a full refresh"
        self._online(
            "Command to the iPads",
            "POST",
            f"/users/{user}/commands",
            f"An admin {what} of {user}'s iPads online; each does it at its next incremental sync.",
            json={"kind": kind},
        )

    def _rule_toggled(self, item: QTableWidgetItem) -> None:
        if item.column() != 0:
            return
        name = str(item.data(Qt.ItemDataRole.UserRole))
        enabled = item.checkState() == Qt.CheckState.Checked
        self._online(
            "Validation rule",
            "PUT",
            f"/validation-rules/{name}",
            f"Validation rule {name} switched {'on' if enabled else 'off'} online.",
            json={"enabled": enabled},
        )


def _note(text: str) -> QLabel:
    """An explanation that wraps to the console's width (the console is often a narrow dock)."""
    label = QLabel(text)
    label.setWordWrap(True)
    return label


def _typed(field: dict[str, Any], text: str) -> Any:
    """The typed value of what was typed for a field (numbers, booleans, empty)."""
    text = text.strip()
    if text == "":
        return None
    kind = field.get("type")
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if number.is_integer() and "." not in text else number
    if kind == "boolean":
        return text.lower() in ("1", "true", "yes", "y", "on")
    return text
