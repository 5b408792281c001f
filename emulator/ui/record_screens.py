"""The record screens of the app: view (fields and related records) and edit (with child rows).

Every user action calls the device through the app shell (:class:`~emulator.ui.crm_app.CrmApp`);
the device decides. What the emulator adds to explain (the record's sync state, an update waiting
to merge, each related record's state) is the X-ray view, drawn in its own style and hidden with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from emulator.engine.device import SYNC_STATE_TEXT, EditSession
from emulator.ui.forms import FieldForm
from emulator.ui.records import ID_ROLE, display_value
from emulator.ui.theme import STATES
from emulator.ui.xray_style import INK, PLATE, XRayNote

if TYPE_CHECKING:
    from emulator.ui.crm_app import CrmApp


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
        self.xray = XRayNote("record-xray")  # the record's sync state, why an update waits
        layout.addWidget(self.xray)
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
        xray = self.app.xray_shown
        self.xray.say(self._xray_text(states), shown=xray)
        body = QWidget()
        column = QVBoxLayout(body)
        column.addWidget(FieldForm(device, self.object_name, record, editable=False))
        children = QTreeWidget()
        children.setObjectName("related-records")
        children.setHeaderHidden(True)
        children.setRootIsDecorated(False)
        children.setColumnCount(2)  # column 1: each related record's sync state, X-ray only
        children.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        children.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        children.header().setStretchLastSection(False)
        children.setColumnHidden(1, not xray)
        self.children_tree = children
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
                item = QTreeWidgetItem([text, f"◎ {mark.glyph} {mark.short}"])
                item.setData(0, ID_ROLE, row["id"])
                item.setBackground(1, QBrush(PLATE))
                item.setForeground(1, QBrush(QColor(INK)))
                item.setToolTip(1, f"X-ray: {SYNC_STATE_TEXT[states.get(row['id'], 'synced')]}")
                group.addChild(item)
                count += 1
        if count:
            children.expandAll()
            children.setMinimumHeight(min(count, 12) * (children.fontMetrics().height() + 8) + 8)
            column.addWidget(QLabel("<b>Related records</b>"))
            column.addWidget(children)
        column.addStretch(1)
        self.scroller.setWidget(body)

    def _xray_text(self, states: dict[str, Any]) -> str:
        """The record's sync state and, if an update waits for it, why (AS-23, AS-25)."""
        device = self.app.device
        state = states.get(self.record_id, "synced")
        text = f"{SYNC_STATE_TEXT[state]}."
        waiting = [
            why
            for entry, why in device.waiting()
            if self.record_id in {r["id"] for r in entry.get("records", [])}
            or device.displayed_ids() & {r["id"] for r in entry.get("records", [])}
        ]
        if waiting:
            text += (
                f" A newer version was downloaded and waits: {waiting[0]}. It merges when you "
                "leave this screen."
            )
        return text


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
            self.app.refusing("Cannot add", lambda: session.add_child(child_object, values))
        else:
            changed = form.changed()
            self.app.refusing("Cannot edit", lambda: session.edit_child(child_id, changed))
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
        self.app.refusing("Cannot remove", lambda: session.remove_child(child_id))
        self._fill_children()

    def do_save(self, *, submit: bool) -> None:
        session, form = self.session, self.form
        if session is None or form is None:
            return
        title = "Cannot submit" if submit else "Cannot save"
        changed = form.changed()

        def save() -> bool:
            for name, value in changed.items():
                session.set(name, value)
            if submit:
                session.submit()
            else:
                session.save()
            return True

        if self.app.refusing(title, save) and session.closed:
            self.session = None
            self.app.session_closed()

    def do_cancel(self) -> None:
        session = self.session
        if session is not None and not session.closed:
            session.cancel()
        self.session = None
        self.app.session_closed()
