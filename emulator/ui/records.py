"""A device's records of one object as a Qt model; column 0 is each record's sync state, which
only the emulator's X-ray view shows (AS-30), drawn as an X-ray tag.

The rep sees a record's name and details, and nothing else: the search matches only those, and a
row's tooltip tells its sync state only while the X-ray view is on (``RecordListModel.xray``).

Model/view, not a widget per row: the rows are plain tuples built once per refresh, so a list of
10,000 records scrolls smoothly.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QRectF,
    QSize,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from emulator.engine.device import SYNC_STATE_TEXT, Device
from emulator.engine.schema import DeviceSchema
from emulator.ui.theme import STATES
from emulator.ui.xray_style import EDGE, MARK, paint_xray_tag

Record = dict[str, Any]
#: A list of more records than this is read in turns of the event loop, a page per turn.
READ_IN_TURNS_OVER = 2000
LIST_PAGE = 1000

STATE_ROLE = Qt.ItemDataRole.UserRole + 1
ID_ROLE = Qt.ItemDataRole.UserRole + 2
HIGHLIGHT_ROLE = Qt.ItemDataRole.UserRole + 3  # True while the row was just changed
HIGHLIGHT_SECONDS = 4.0
NAME_COLUMN, DETAILS_COLUMN = 1, 2  # what a rep sees of a record in the list
Index = QModelIndex | QPersistentModelIndex


def display_value(
    schema: DeviceSchema, device: Device | None, object_name: str, name: str, value: Any
) -> str:
    """A field's value as the app shows it: picklist labels, lookup titles, Yes/No, a dash."""
    if value is None or value == "":
        return "—"
    try:
        field = schema.fields(object_name).get(name, {})
    except KeyError:
        return str(value)
    kind = field.get("type")
    if kind == "picklist":
        for option in field.get("values", []):
            if option["value"] == value:
                return str(option["label"])
    if kind == "boolean":
        return "Yes" if value else "No"
    if kind in ("lookup", "master_detail") and device is not None:
        found = device.store.get(str(value))
        if found is not None:
            try:
                return schema.title(found[0], found[1])
            except KeyError:
                return str(value)
    if kind == "number" and isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class HeaderedTableModel(QAbstractTableModel):
    """A flat table with fixed column ``HEADERS``; a subclass says how many rows and what is in them."""

    HEADERS: tuple[str, ...] = ()

    def row_count(self) -> int:
        raise NotImplementedError

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self.row_count()

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None


class RecordListModel(HeaderedTableModel):
    """Columns: sync state, title, subtitle. ``refresh()`` re-reads the device.

    Attributes:
        xray: whether the X-ray view is on: only then do the rows' tooltip and accessible text
            tell the sync state (the app shows none).
    """

    HEADERS = ("X-ray: sync", "Name", "Details")

    def __init__(self, device: Device, object_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.device = device
        self.object_name = object_name
        self._rows: list[tuple[str, str, str, str]] = []  # id, state, title, subtitle
        self._row_of: dict[str, int] = {}
        self._changed: dict[str, float] = {}  # record ID -> when its highlight ends (monotonic s)
        self.now: Callable[[], float] = time.monotonic  # a UI effect's clock, not emulated time
        self.xray = True

    def flash(self, record_ids: Iterable[str]) -> None:
        """Highlight the rows of records an upload answer or a merge just changed, for a few seconds."""
        until = self.now() + HIGHLIGHT_SECONDS
        for rid in record_ids:
            self._changed[rid] = until
            row = self._row_of.get(rid)
            if row is not None:
                self.dataChanged.emit(self.index(row, 0), self.index(row, 2), [HIGHLIGHT_ROLE])

    def expire(self) -> bool:
        """Redraw the rows whose highlight has ended; whether any row still glows."""
        now = self.now()
        for rid in [rid for rid, until in self._changed.items() if until < now]:
            del self._changed[rid]
            row = self._row_of.get(rid)
            if row is not None:
                self.dataChanged.emit(self.index(row, 0), self.index(row, 2), [HIGHLIGHT_ROLE])
        return bool(self._changed)

    def highlighted(self, record_id: str) -> bool:
        until = self._changed.get(record_id)
        if until is None:
            return False
        if until < self.now():
            del self._changed[record_id]
            return False
        return True

    def set_object(self, object_name: str) -> None:
        self.object_name = object_name
        self.refresh()

    def refresh(self) -> None:
        """Re-read the device's records of the object now."""
        self._show(self._rows_of(self.device.records(self.object_name), self.device.sync_states()))

    def is_long(self) -> bool:
        """Whether the list is long enough to be read in turns (:meth:`refresh_in_turns`)."""
        return self.device.record_count(self.object_name) > READ_IN_TURNS_OVER

    async def refresh_in_turns(self) -> None:
        """The same as :meth:`refresh`, a page of records per turn of the event loop."""
        object_name = self.object_name
        records = await self.device.records_in_turns(object_name, LIST_PAGE)
        states = self.device.sync_states()
        rows: list[tuple[str, str, str, str]] = []
        for start in range(0, len(records), LIST_PAGE):
            await asyncio.sleep(0)
            rows += self._rows_of(records[start : start + LIST_PAGE], states)
        if object_name == self.object_name and not self.device.is_closed:  # still the list shown
            self._show(rows)

    def _rows_of(self, records: list[Record], states: Mapping[str, str]) -> list[tuple[str, str, str, str]]:
        schema = self.device.schema
        rows: list[tuple[str, str, str, str]] = []
        try:
            obj = schema.object(self.object_name)
        except KeyError:
            obj = {}
        subtitle = obj.get("subtitle")
        for record in records:
            rid = str(record["id"])
            title = schema.title(self.object_name, record) if obj else rid
            sub = (
                display_value(schema, None, self.object_name, subtitle, record.get(subtitle))
                if subtitle
                else ""
            )
            rows.append((rid, states.get(rid, "synced"), title, sub))
        return rows

    def _show(self, rows: list[tuple[str, str, str, str]]) -> None:
        if [row[0] for row in rows] == [row[0] for row in self._rows]:
            # the same records: only the rows that changed are redrawn (a busy queue changes a few)
            old, self._rows = self._rows, rows
            for number, (before, after) in enumerate(zip(old, rows, strict=True)):
                if before != after:
                    self.dataChanged.emit(self.index(number, 0), self.index(number, 2))
            return
        self.beginResetModel()
        self._rows = rows
        self._row_of = {row[0]: number for number, row in enumerate(rows)}
        self.endResetModel()

    def record_id(self, row: int) -> str:
        return self._rows[row][0]

    def row_of(self, record_id: str) -> int | None:
        return self._row_of.get(record_id)

    def state_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _, state, _, _ in self._rows:
            counts[state] = counts.get(state, 0) + 1
        return counts

    # Qt model interface ---------------------------------------------------------------------------
    def row_count(self) -> int:
        return len(self._rows)

    def data(self, index: Index, role: int = 0) -> Any:
        if not index.isValid():
            return None
        rid, state, title, sub = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (STATES[state].short, title, sub)[column]
        if role == STATE_ROLE:
            return state
        if role == ID_ROLE:
            return rid
        if role == HIGHLIGHT_ROLE:
            return self.highlighted(rid)
        if not self.xray:
            return None  # the sync state is the X-ray view's
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{MARK} · {title}: {SYNC_STATE_TEXT[state]}"
        if role == Qt.ItemDataRole.AccessibleTextRole and column == 0:
            return SYNC_STATE_TEXT[state]
        return None


class RecordFilter(QSortFilterProxyModel):
    """The list's Search: a record's name and details (what the rep sees), case-insensitive.

    Never the sync state: searching "Synced" finds what it would find in the app.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        pattern = self.filterRegularExpression()
        if not pattern.pattern():
            return True
        model = self.sourceModel()
        return any(
            pattern.match(str(model.index(source_row, column, source_parent).data() or "")).hasMatch()
            for column in (NAME_COLUMN, DETAILS_COLUMN)
        )


class RecordCellDelegate(QStyledItemDelegate):
    """An iPad list cell: the record's name on the first line, its details on the second.

    With the X-ray view on, the record's sync state is drawn as an X-ray tag at the right of the
    second line, so the name keeps the whole width. ``xray`` says whether to draw it.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.xray = True

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        widget = option.widget
        style = widget.style() if widget is not None else None
        if style is not None:
            style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, widget)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        palette = option.palette
        text_colour = palette.highlightedText().color() if selected else palette.text().color()
        rect = QRectF(option.rect).adjusted(8, 3, -6, -3)
        line = rect.height() / 2
        painter.save()
        if self.xray and index.data(HIGHLIGHT_ROLE):  # just changed: an X-ray glow behind the row
            glow = QColor(EDGE)
            glow.setAlpha(70)
            painter.fillRect(option.rect, glow)
            painter.setPen(QPen(EDGE, 2))
            painter.drawLine(option.rect.topLeft(), option.rect.bottomLeft())
        title_font = QFont(option.font)
        title_font.setBold(True)
        painter.setFont(title_font)
        painter.setPen(text_colour)
        first = QRectF(rect.left(), rect.top(), rect.width(), line)
        title = str(index.data() or "")
        elided = QFontMetricsF(title_font).elidedText(title, Qt.TextElideMode.ElideRight, first.width())
        painter.drawText(first, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, elided)
        second = QRectF(rect.left(), rect.top() + line, rect.width(), line)
        state = index.sibling(index.row(), 0).data(STATE_ROLE)
        if self.xray and state in STATES:
            metrics = QFontMetricsF(option.font)
            tag_w = (
                metrics.horizontalAdvance(f"{STATES[state].glyph} {STATES[state].short}")
                + metrics.height()
                + 24
            )
            tag = QRectF(second.right() - tag_w, second.top(), tag_w, second.height())
            painter.setFont(option.font)
            paint_xray_tag(painter, tag, STATES[state])
            second.setRight(tag.left() - 4)
        painter.setFont(option.font)
        painter.setPen(palette.highlightedText().color() if selected else palette.placeholderText().color())
        details = str(index.sibling(index.row(), 2).data() or "")
        painter.drawText(
            second,
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            QFontMetricsF(option.font).elidedText(details, Qt.TextElideMode.ElideRight, second.width()),
        )
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        height = QFontMetricsF(option.font).height()
        return QSize(
            int(QFontMetricsF(option.font).horizontalAdvance(str(index.data() or ""))) + 20,
            int(height * 2 + 12),
        )


class XRayStateDelegate(QStyledItemDelegate):
    """Paints a sync-state column as an X-ray tag: the lens mark, the state's glyph and word."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        state = index.data(STATE_ROLE)
        if state not in STATES:
            super().paint(painter, option, index)
            return
        widget = option.widget
        style = widget.style() if widget is not None else None
        if style is not None and option.state & QStyle.StateFlag.State_Selected:
            style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, widget)
        painter.save()
        painter.setFont(option.font)
        paint_xray_tag(painter, QRectF(option.rect), STATES[state])
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(size.width() + 30, size.height() + 6)
