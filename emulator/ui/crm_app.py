"""The Vault-CRM-like app inside a virtual iPad: object tabs, record list, view and edit screens.

Every user action calls the device (``open_record``, ``leave_screen``, ``begin_edit``, the edit
session's ``save`` / ``submit`` / ``cancel``, ``delete``); the device decides and the screens
show what it decided. A refused action (AS-24) is shown in a dialog with the device's reason.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QTabBar,
    QTableView,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from emulator.engine.device import Device, EditSession
from emulator.engine.events import Event
from emulator.ui.forms import FieldForm
from emulator.ui.records import ID_ROLE, RecordFilter, RecordListModel, SyncBadgeDelegate, display_value
from emulator.ui.support import Coalescer, Context
from emulator.ui.theme import STATES

MAIN_TABS = ("account__v", "call2__v", "order__v", "medical_event__v")
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
        "downloaded",
        "merge_deferred",
        "merged",
        "download_discarded",
        "sync_finished",
        "network",
        "foreground",
        "mode",
        "error_resolved",
        "screen",
    }
)


class CrmApp(QWidget):
    """The app screen of one device.

    Signals:
        page_changed(str): "list", "view" or "edit".
    """

    page_changed = Signal(str)

    def __init__(self, device: Device, context: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.device = device
        self.context = context
        self.setObjectName("crm-app")
        self.object_name = MAIN_TABS[0]
        self.session: EditSession | None = None
        self._refresh = Coalescer(self.refresh, self)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.tabs = QTabBar()
        self.tabs.setObjectName("object-tabs")
        self.tabs.setExpanding(True)
        self.tabs.setDrawBase(False)
        self.tabs.setUsesScrollButtons(True)
        self.more = QComboBox()
        self.more.setObjectName("more-objects")
        self.more.setToolTip("Other objects")
        self.more.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.more.setMinimumContentsLength(9)
        layout.addWidget(self.tabs)

        self.stack = QStackedWidget()
        layout.addWidget(self.stack, 1)
        self.list_page = self._build_list_page()
        self.view_page = ViewScreen(self)
        self.edit_page = EditScreen(self)
        for page in (self.list_page, self.view_page, self.edit_page):
            self.stack.addWidget(page)

        self._fill_tabs()
        self.tabs.currentChanged.connect(self._tab_chosen)
        self.more.activated.connect(self._more_chosen)
        context.bridge.happened.connect(self._on_event)
        self.refresh()

    # building -------------------------------------------------------------------------------------
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
        self.table.setItemDelegateForColumn(0, SyncBadgeDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        self._size_rows()
        self.table.activated.connect(self._row_activated)
        self.search.textChanged.connect(self.proxy.setFilterFixedString)
        self.new_button.clicked.connect(self.new_record)
        layout.addWidget(self.table, 1)
        self.counts = QLabel()
        self.counts.setObjectName("state-counts")
        self.counts.setWordWrap(True)
        layout.addWidget(self.counts)
        return page

    def _size_rows(self) -> None:
        metrics = self.table.fontMetrics()
        self.table.verticalHeader().setDefaultSectionSize(metrics.height() + 14)
        self.table.setColumnWidth(0, metrics.horizontalAdvance("⇣ Update waiting") + 28)
        self.table.setColumnWidth(2, metrics.horizontalAdvance("General practice") + 12)

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
        self._tab_objects = [name for name in MAIN_TABS if name in objects]
        for name in self._tab_objects:
            self.tabs.addTab(str(objects[name].get("plural", name)))
        self.tabs.blockSignals(False)
        self.more.blockSignals(True)
        self.more.clear()
        self.more.addItem("More…", None)
        for name, obj in sorted(objects.items(), key=lambda kv: str(kv[1].get("plural", kv[0]))):
            if name not in self._tab_objects:
                self.more.addItem(str(obj.get("plural", name)), name)
        self.more.blockSignals(False)

    # navigation -----------------------------------------------------------------------------------
    @property
    def page(self) -> str:
        return {0: "list", 1: "view", 2: "edit"}[self.stack.currentIndex()]

    def show_object(self, object_name: str) -> None:
        """Show the list of one object (only from the list page)."""
        if self.page != "list":
            return
        self.object_name = object_name
        self.tabs.blockSignals(True)
        if object_name in self._tab_objects:
            self.tabs.setCurrentIndex(self._tab_objects.index(object_name))
        self.tabs.blockSignals(False)
        self.model.set_object(object_name)
        self._update_counts()

    def _tab_chosen(self, index: int) -> None:
        if 0 <= index < len(self._tab_objects):
            self.more.setCurrentIndex(0)
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
        record = self.context.tasks.refusing(
            self, "Cannot open", lambda: self.device.open_record(object_name, record_id)
        )
        if record is None:
            return
        if self.recording:
            self.record({"open": self.context.recording.device_ref(self.device, object_name, record_id)})
        self.view_page.show_record(object_name, record_id)
        self._go(1)

    def back_to_list(self) -> None:
        """Leave the view screen: the device merges what waited for it (AS-25)."""
        if self.session is not None:
            return
        if self.context.tasks.attempt(self, "Cannot leave", self.device.leave_screen):
            self.record({"leave": True})
        self._go(0)
        self.refresh()

    # recording ------------------------------------------------------------------------------------
    @property
    def recording(self) -> bool:
        """True while the window records this device's stage."""
        return self.context.recording.wants(self.context.stage)

    def record(self, step: dict[str, Any]) -> None:
        """Tell the recording what the user did on this device (a scenario step)."""
        self.context.recording.record({"device": self.device.id, **step}, stage=self.context.stage)

    def _leave_to_list(self) -> None:
        if self.page == "view":
            self.back_to_list()

    def new_record(self) -> None:
        self._begin(self.object_name, None)

    def edit_record(self, object_name: str, record_id: str) -> None:
        self._begin(object_name, record_id)

    def _begin(self, object_name: str, record_id: str | None) -> None:
        title = "Cannot edit" if record_id else "Cannot create"
        session = self.context.tasks.refusing(
            self, title, lambda: self.device.begin_edit(object_name, record_id)
        )
        if session is None:
            return
        if self.recording:
            recording = self.context.recording
            if record_id is not None:
                self.record({"edit": recording.device_ref(self.device, object_name, record_id)})
            else:
                label = self.device.schema.label(object_name)
                name = recording.bind(object_name, session.record_id, f"new_{label}")
                self.record({"new": object_name, "as": name})
        self.session = session
        self.edit_page.show_session(session)
        self._go(2)

    def delete_record(self, object_name: str, record_id: str) -> None:
        name = None
        if self.recording and self.device.record(record_id) is not None:
            name = self.context.recording.device_ref(self.device, object_name, record_id)
        done = self.context.tasks.refusing(
            self, "Cannot delete", lambda: self.device.delete(object_name, record_id)
        )
        if done is not None:
            if name is not None:
                self.record({"delete": name})
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
                self.record({"leave": True})
            self._go(0)
        self.refresh()

    def _go(self, index: int) -> None:
        self.stack.setCurrentIndex(index)
        self.tabs.setEnabled(index != 2)
        self.more.setEnabled(index != 2)
        self.page_changed.emit(self.page)

    # refreshing -----------------------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        if event.kind in REFRESHING and (event.actor == self.device.actor or event.kind == "network"):
            if event.kind == "sync_finished":
                self._fill_tabs_later = True
            self._refresh.request()

    _fill_tabs_later = False

    def refresh(self) -> None:
        self._follow_screen()
        if self._fill_tabs_later:
            self._fill_tabs_later = False
            current = self.object_name
            self._fill_tabs()
            if current in self._tab_objects:
                self.tabs.blockSignals(True)
                self.tabs.setCurrentIndex(self._tab_objects.index(current))
                self.tabs.blockSignals(False)
        self.model.refresh()
        self._update_counts()
        if self.page == "view":
            self.view_page.refresh()

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
        elif self.page != "list":
            self._go(0)

    def _update_counts(self) -> None:
        counts = self.model.state_counts()
        total = sum(counts.values())
        parts = [f"{total} records"] + [
            f"{STATES[s].glyph} {n} {STATES[s].short}" for s, n in counts.items() if s != "synced"
        ]
        self.counts.setText("  ·  ".join(parts))


class ScreenHeader(QFrame):
    """A title bar with buttons, like the top of an iPad app screen."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("screen-header")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(4, 2, 4, 2)
        self.title = QLabel()
        self.title.setObjectName("screen-title")
        self.title.setStyleSheet("font-weight:bold;")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setWordWrap(True)

    def button(self, text: str, name: str) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        return button


class ViewScreen(QWidget):
    """The view screen: a record's fields and its related child records."""

    def __init__(self, app: CrmApp) -> None:
        super().__init__(app)
        self.app = app
        self.object_name = ""
        self.record_id = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.header = ScreenHeader()
        self.back = self.header.button("◀ Back", "back")
        self.edit = self.header.button("Edit", "edit")
        self.delete = self.header.button("Delete", "delete")
        self.header.row.addWidget(self.back)
        self.header.row.addWidget(self.header.title, 1)
        self.header.row.addWidget(self.delete)
        self.header.row.addWidget(self.edit)
        layout.addWidget(self.header)
        self.banner = QLabel()
        self.banner.setObjectName("update-waiting")
        self.banner.setWordWrap(True)
        style = STATES["update_waiting"]
        self.banner.setStyleSheet(
            f"background:{style.colour}; color:{style.text_colour.name()}; padding:6px; font-weight:bold;"
        )
        self.banner.hide()
        layout.addWidget(self.banner)
        self.state = QLabel()
        self.state.setObjectName("record-state")
        layout.addWidget(self.state)
        self.scroller = QScrollArea()
        self.scroller.setWidgetResizable(True)
        self.scroller.setFrameShape(QFrame.Shape.NoFrame)
        layout.addWidget(self.scroller, 1)
        self.back.clicked.connect(app.back_to_list)
        self.edit.clicked.connect(lambda: app.edit_record(self.object_name, self.record_id))
        self.delete.clicked.connect(lambda: app.delete_record(self.object_name, self.record_id))

    def show_record(self, object_name: str, record_id: str) -> None:
        self.object_name = object_name
        self.record_id = record_id
        self.refresh()

    def refresh(self) -> None:
        device = self.app.device
        record = device.record(self.record_id)
        if record is None:
            return
        schema = device.schema
        self.header.title.setText(
            f"{schema.label(self.object_name)}\n{schema.title(self.object_name, record)}"
        )
        states = device.sync_states()
        state = states.get(self.record_id, "synced")
        style = STATES[state]
        self.state.setText(f"  {style.glyph} {style.short}")
        self.state.setStyleSheet(
            f"background:{style.colour}; color:{style.text_colour.name()}; padding:3px; font-weight:bold;"
        )
        waiting = [rid for rid in device.displayed_ids() if states.get(rid) == "update_waiting"]
        if waiting:
            self.banner.setText(
                "⇣ Update waiting: a newer version of this record was downloaded. "
                "It will show when you leave this screen."
            )
            self.banner.show()
        else:
            self.banner.hide()
        body = QWidget()
        column = QVBoxLayout(body)
        column.addWidget(FieldForm(device, self.object_name, record, editable=False))
        children = QTreeWidget()
        children.setObjectName("related-records")
        children.setHeaderHidden(True)
        children.setRootIsDecorated(False)
        count = 0
        for child_object, via in schema.children_of(self.object_name):
            rows = [r for r in device.records(child_object) if r.get(via) == self.record_id]
            if not rows:
                continue
            group = QTreeWidgetItem(
                [f"{schema.object(child_object).get('plural', child_object)} ({len(rows)})"]
            )
            font = group.font(0)
            font.setBold(True)
            group.setFont(0, font)
            children.addTopLevelItem(group)
            count += 1
            subtitle = schema.object(child_object).get("subtitle")
            for row in rows:
                text = schema.title(child_object, row)
                if subtitle:
                    text += " · " + display_value(schema, device, child_object, subtitle, row.get(subtitle))
                mark = STATES[states.get(row["id"], "synced")]
                item = QTreeWidgetItem([f"{mark.glyph}  {text}"])
                item.setData(0, ID_ROLE, row["id"])
                item.setToolTip(0, mark.short)
                group.addChild(item)
                count += 1
        if count:
            children.expandAll()
            children.setMinimumHeight(min(count, 12) * (children.fontMetrics().height() + 8) + 8)
            column.addWidget(QLabel("<b>Related records</b>"))
            column.addWidget(children)
        column.addStretch(1)
        self.scroller.setWidget(body)


class EditScreen(QWidget):
    """The edit screen: typed fields, child rows for AS-05 family roots, Save / Submit / Cancel."""

    def __init__(self, app: CrmApp) -> None:
        super().__init__(app)
        self.app = app
        self.session: EditSession | None = None
        self.form: FieldForm | None = None
        self.child_form: FieldForm | None = None
        self._child_target: tuple[str, str | None] | None = None  # (object, id or None for new)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.header = ScreenHeader()
        self.cancel = self.header.button("Cancel", "cancel")
        self.save = self.header.button("Save", "save")
        self.submit = self.header.button("Submit", "submit")
        self.save.setDefault(True)
        self.header.row.addWidget(self.cancel)
        self.header.row.addWidget(self.header.title, 1)
        self.header.row.addWidget(self.submit)
        self.header.row.addWidget(self.save)
        layout.addWidget(self.header)
        self.scroller = QScrollArea()
        self.scroller.setWidgetResizable(True)
        self.scroller.setFrameShape(QFrame.Shape.NoFrame)
        layout.addWidget(self.scroller, 1)
        self.cancel.clicked.connect(self.do_cancel)
        self.save.clicked.connect(lambda: self.do_save(submit=False))
        self.submit.clicked.connect(lambda: self.do_save(submit=True))
        self.child_lists: dict[str, QListWidget] = {}

    def show_session(self, session: EditSession) -> None:
        self.session = session
        device = self.app.device
        schema = device.schema
        record = dict(session.values)
        label = schema.label(session.object)
        self.header.title.setText(f"New {label.lower()}" if session.new else f"Edit {label.lower()}")
        statuses = {v["value"] for v in schema.fields(session.object).get("status__v", {}).get("values", [])}
        self.submit.setVisible("submitted__v" in statuses)
        body = QWidget()
        self.body_layout = QVBoxLayout(body)
        self.form = FieldForm(device, session.object, record, editable=True)
        self.form.setObjectName("edit-form")
        self.body_layout.addWidget(self.form)
        self.child_lists = {}
        self.child_form = None
        self._child_box: QGroupBox | None = None
        family = schema.family_of(session.object)
        if family is not None and family["root"] == session.object:
            for child_object, _via in schema.children_of(session.object):
                if child_object in family["members"]:
                    self.body_layout.addWidget(self._child_section(child_object))
        self.body_layout.addStretch(1)
        self.scroller.setWidget(body)
        self._fill_children()

    def _child_section(self, child_object: str) -> QGroupBox:
        schema = self.app.device.schema
        box = QGroupBox(str(schema.object(child_object).get("plural", child_object)))
        box.setObjectName(f"children-{child_object}")
        layout = QVBoxLayout(box)
        rows = QListWidget()
        rows.setObjectName(f"child-list-{child_object}")
        rows.setMaximumHeight(rows.fontMetrics().height() * 5 + 16)
        layout.addWidget(rows)
        buttons = QHBoxLayout()
        add = QPushButton(f"+ Add {schema.label(child_object).lower()}")
        add.setObjectName(f"add-{child_object}")
        edit = QPushButton("Edit")
        remove = QPushButton("Remove")
        for button in (add, edit, remove):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        add.clicked.connect(lambda: self.open_child(child_object, None))
        edit.clicked.connect(lambda: self._edit_selected(child_object))
        remove.clicked.connect(lambda: self._remove_selected(child_object))
        rows.itemDoubleClicked.connect(lambda item: self.open_child(child_object, item.data(ID_ROLE)))
        self.child_lists[child_object] = rows
        return box

    def _fill_children(self) -> None:
        session = self.session
        if session is None:
            return
        device = self.app.device
        schema = device.schema
        for child_object, rows in self.child_lists.items():
            rows.clear()
            master = schema.master_field(child_object)
            via = master[0] if master else ""
            existing = {r["id"]: r for r in device.records(child_object) if r.get(via) == session.record_id}
            for draft in session.children.values():
                if draft.object == child_object:
                    existing[draft.id] = {**existing.get(draft.id, {}), **draft.values, "id": draft.id}
            for rid, values in existing.items():
                draft_row = session.children.get(rid)
                text = schema.title(child_object, values)
                if draft_row is not None and draft_row.deleted:
                    text = f"✕ {text} (removed on save)"
                elif draft_row is not None:
                    text = f"✎ {text} ({'new' if draft_row.new else 'changed'})"
                item = QListWidgetItem(text)
                item.setData(ID_ROLE, rid)
                rows.addItem(item)

    def open_child(self, child_object: str, child_id: str | None) -> FieldForm:
        """Show the inline form for a new (``child_id`` None) or existing child row."""
        session = self.session
        assert session is not None
        device = self.app.device
        schema = device.schema
        values: dict[str, Any] = {}
        if child_id is not None:
            draft = session.children.get(child_id)
            values = dict(draft.values) if draft else dict(device.record(child_id) or {})
        else:
            values = {
                n: f.get("default")
                for n, f in schema.fields(child_object).items()
                if f.get("default") is not None
            }
        if self._child_box is not None:
            self._child_box.deleteLater()
        master = schema.master_field(child_object)
        box = QGroupBox(f"{'New' if child_id is None else 'Edit'} {schema.label(child_object).lower()}")
        box.setObjectName("child-editor")
        layout = QVBoxLayout(box)
        form = FieldForm(device, child_object, values, editable=True, hide=(master[0],) if master else ())
        layout.addWidget(form)
        row = QHBoxLayout()
        apply = QPushButton("Apply")
        apply.setObjectName("apply-child")
        discard = QPushButton("Discard")
        row.addStretch(1)
        row.addWidget(discard)
        row.addWidget(apply)
        layout.addLayout(row)
        apply.clicked.connect(self.apply_child)
        discard.clicked.connect(self._close_child)
        self.body_layout.insertWidget(self.body_layout.count() - 1, box)
        self._child_box = box
        self.child_form = form
        self._child_target = (child_object, child_id)
        self.scroller.ensureWidgetVisible(box)
        return form

    def apply_child(self) -> None:
        session, form, target = self.session, self.child_form, self._child_target
        if session is None or form is None or target is None:
            return
        child_object, child_id = target
        if child_id is None:
            values = {k: v for k, v in form.values().items() if v is not None}
            self.app.context.tasks.refusing(
                self, "Cannot add", lambda: session.add_child(child_object, values)
            )
        else:
            changed = form.changed()
            self.app.context.tasks.refusing(
                self, "Cannot edit", lambda: session.edit_child(child_id, changed)
            )
        self._close_child()
        self._fill_children()

    def _close_child(self) -> None:
        if self._child_box is not None:
            self._child_box.deleteLater()
        self._child_box = None
        self.child_form = None
        self._child_target = None

    def _selected(self, child_object: str) -> str | None:
        item = self.child_lists[child_object].currentItem()
        return None if item is None else str(item.data(ID_ROLE))

    def _edit_selected(self, child_object: str) -> None:
        child_id = self._selected(child_object)
        if child_id is not None:
            self.open_child(child_object, child_id)

    def _remove_selected(self, child_object: str) -> None:
        child_id, session = self._selected(child_object), self.session
        if child_id is None or session is None:
            return
        self.app.context.tasks.refusing(self, "Cannot remove", lambda: session.remove_child(child_id))
        self._fill_children()

    def do_save(self, *, submit: bool) -> None:
        session, form = self.session, self.form
        if session is None or form is None:
            return
        title = "Cannot submit" if submit else "Cannot save"
        changed = form.changed()
        step = (
            self._save_step(session, changed, "submit" if submit else "save") if self.app.recording else None
        )

        def save() -> bool:
            for name, value in changed.items():
                session.set(name, value)
            if submit:
                session.submit()
            else:
                session.save()
            return True

        if self.app.context.tasks.refusing(self, title, save) and session.closed:
            if step is not None:
                self.app.record(step)
            self.session = None
            self.app.session_closed()

    def _save_step(self, session: EditSession, changed: dict[str, Any], how: str) -> dict[str, Any]:
        """The step a save makes: ``set:`` the changed fields, ``children:``, ``then: save``.

        Read before saving, while the related records removed are still there to be named.
        """
        device = self.app.device
        recording = self.app.context.recording
        schema = device.schema
        children: list[dict[str, Any]] = []
        for draft in session.children.values():
            master = schema.master_field(draft.object)
            if draft.new:
                if draft.deleted:
                    continue
                values = {
                    k: v
                    for k, v in draft.values.items()
                    if v is not None and (master is None or k != master[0])
                }
                name = recording.bind(draft.object, draft.id, f"new_{schema.label(draft.object)}")
                child: dict[str, Any] = {"add": draft.object}
                if values:
                    child["set"] = recording.values(device, draft.object, values)
                child["as"] = name
            elif draft.deleted:
                child = {"remove": recording.device_ref(device, draft.object, draft.id)}
            else:
                before = device.record(draft.id) or {}
                edits = {k: v for k, v in draft.values.items() if before.get(k) != v}
                if not edits:
                    continue
                child = {
                    "edit": recording.device_ref(device, draft.object, draft.id),
                    "set": recording.values(device, draft.object, edits),
                }
            children.append(child)
        if not changed and not children:
            return {how: True}
        step: dict[str, Any] = {"set": recording.values(device, session.object, changed)}
        if children:
            step["children"] = children
        step["then"] = how
        return step

    def do_cancel(self) -> None:
        session = self.session
        if session is not None and not session.closed:
            session.cancel()
            self.app.record({"cancel": True})
        self.session = None
        self.app.session_closed()
