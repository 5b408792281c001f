"""Typed form widgets for a record, built from the device's schema.

text -> line edit, long_text -> multi-line edit, number -> validated line edit, date -> date
edit (with an empty value), picklist -> combo of labels, boolean -> check box, lookup -> combo
of the device's local records of that object. Read-only and server-set fields are shown as text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QDate
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)

from emulator.engine.device import Device
from emulator.engine.schema import DeviceSchema
from emulator.ui.records import display_value

EMPTY_DATE = QDate(1900, 1, 1)
EDITABLE_TYPES = ("text", "long_text", "number", "date", "picklist", "boolean", "lookup")


class FieldEditor:
    """One field's editor: ``widget`` to show, ``value()`` to read, ``set_value()`` to fill."""

    def __init__(self, widget: QWidget, read: Callable[[], Any], write: Callable[[Any], None]) -> None:
        self.widget = widget
        self._read = read
        self._write = write

    def value(self) -> Any:
        return self._read()

    def set_value(self, value: Any) -> None:
        self._write(value)


def make_editor(device: Device, schema: DeviceSchema, field: dict[str, Any], value: Any) -> FieldEditor:
    kind = field["type"]
    editor: FieldEditor
    if kind == "long_text":
        text = QPlainTextEdit()
        text.setTabChangesFocus(True)
        text.setFixedHeight(text.fontMetrics().lineSpacing() * 4 + 12)
        editor = FieldEditor(
            text,
            lambda: text.toPlainText() or None,
            lambda v: text.setPlainText("" if v is None else str(v)),
        )
    elif kind == "number":
        line = QLineEdit()
        line.setValidator(QDoubleValidator(line))
        editor = FieldEditor(line, lambda: _number(line.text()), lambda v: line.setText(_number_text(v)))
    elif kind == "date":
        date = QDateEdit()
        date.setCalendarPopup(True)
        date.setDisplayFormat("yyyy-MM-dd")
        date.setMinimumDate(EMPTY_DATE)
        date.setSpecialValueText("—")
        editor = FieldEditor(date, lambda: _date(date), lambda v: _set_date(date, v))
    elif kind in ("picklist", "lookup", "master_detail"):
        combo = QComboBox()
        combo.addItem("—", None)
        if kind == "picklist":
            for option in field.get("values", []):
                combo.addItem(str(option["label"]), option["value"])
        else:
            target = str(field.get("object"))
            for record in device.records(target):
                combo.addItem(schema.title(target, record), record["id"])
        editor = FieldEditor(combo, combo.currentData, lambda v: _set_combo(combo, v))
    elif kind == "boolean":
        check = QCheckBox()
        editor = FieldEditor(check, check.isChecked, lambda v: check.setChecked(bool(v)))
    else:
        line = QLineEdit()
        editor = FieldEditor(
            line, lambda: line.text() or None, lambda v: line.setText("" if v is None else str(v))
        )
    editor.set_value(value)
    return editor


class FieldForm(QWidget):
    """A record's fields as a form; editable fields get typed editors.

    Attributes:
        editors: field name -> its editor (editable fields only).
    """

    def __init__(
        self,
        device: Device,
        object_name: str,
        record: dict[str, Any],
        *,
        editable: bool,
        hide: tuple[str, ...] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.device = device
        self.object_name = object_name
        self.original = dict(record)
        self.editors: dict[str, FieldEditor] = {}
        schema = device.schema
        layout = QFormLayout(self)
        layout.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for name, field in schema.fields(object_name).items():
            if name in hide:
                continue
            label = str(field.get("label", name)) + (" *" if field.get("required") and editable else "")
            if editable and field.get("writable") and field["type"] in EDITABLE_TYPES:
                editor = make_editor(device, schema, field, record.get(name))
                editor.widget.setObjectName(f"field-{name}")
                self.editors[name] = editor
                layout.addRow(label, editor.widget)
            else:
                shown = display_value(schema, device, object_name, name, record.get(name))
                value = QLabel(shown)
                value.setObjectName(f"value-{name}")
                value.setWordWrap(True)
                layout.addRow(label, value)

    def values(self) -> dict[str, Any]:
        return {name: editor.value() for name, editor in self.editors.items()}

    def changed(self) -> dict[str, Any]:
        """Only the fields the user changed (AS-08 is the engine's; this just avoids noise)."""
        return {
            name: value
            for name, value in self.values().items()
            if value != self.original.get(name) and not (value is None and self.original.get(name) == "")
        }

    def set(self, name: str, value: Any) -> None:
        """Fill one editor, as a user typing would (for tests and scripted screenshots)."""
        self.editors[name].set_value(value)


def _number(text: str) -> int | float | None:
    text = text.strip().replace(",", ".")
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number.is_integer() and "." not in text else number


def _number_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return f"{value:.1f}"
    return str(value)


def _date(edit: QDateEdit) -> str | None:
    if edit.date() == EMPTY_DATE:
        return None
    return str(edit.date().toString("yyyy-MM-dd"))


def _set_date(edit: QDateEdit, value: Any) -> None:
    parsed = QDate.fromString(str(value)[:10], "yyyy-MM-dd") if value else QDate()
    edit.setDate(parsed if parsed.isValid() else EMPTY_DATE)


def _set_combo(combo: QComboBox, value: Any) -> None:
    index = combo.findData(value)
    if index < 0 and value not in (None, ""):
        combo.addItem(str(value), value)
        index = combo.count() - 1
    combo.setCurrentIndex(max(index, 0))
