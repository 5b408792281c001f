"""What a rep can see inside an iPad's bezel, read off the widget tree (issue 9's guard).

:func:`what_a_rep_sees` walks every widget inside a bezel and reads every text a rep can see or
reach there: labels, buttons, fields and their placeholders, tabs, group titles, combo box items,
the items of every list, table and tree (the rows and columns shown), the menus behind buttons,
and every widget's tooltip, status tip, What's This and accessible name and description.
:func:`xray_leaks` says which of them belong to the emulator's X-ray view: a visible widget marked
``xray``, the X-ray film painted anywhere, or a text with the X-ray view's words in it.

The words are derived from the code that produces the X-ray view, so they cannot drift: the sync
state texts and tags (:data:`SYNC_STATE_TEXT`, :data:`STATES`), the X-ray mark, and the texts the
X-ray notes hold at that moment (:attr:`XRayNote.plain`, kept up to date while hidden).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from PySide6.QtCore import QAbstractItemModel, QModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QComboBox,
    QGroupBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QPlainTextEdit,
    QProgressBar,
    QTabBar,
    QTableView,
    QTextEdit,
    QTreeView,
    QWidget,
)

from emulator.engine.device import SYNC_STATE_TEXT
from emulator.ui.theme import STATES
from emulator.ui.xray_style import MARK, PLATE, XRayNote, is_xray

#: Words of the sync state vocabulary that the real app uses too (REAL-APP.md): the Sync widget's
#: "1 sync error" and the "Sync Error" modal; the sync window's "Uploading" phase.
REAL_APP_WORDS = frozenset({"Sync error", "Uploading"})
#: The X-ray view's own words besides the sync states: its mark, its name, what it explains
#: (the upload queue, updates waiting to merge and how long they waited, the feed, the rules by
#: their IDs, the emulator). The app's sync window says "Please wait": not these.
XRAY_WORDS = (MARK, "X-ray", "queue", "waiting", "waited", "feed", "AS-", "emulator")
ROLES = (
    Qt.ItemDataRole.DisplayRole,
    Qt.ItemDataRole.ToolTipRole,
    Qt.ItemDataRole.StatusTipRole,
    Qt.ItemDataRole.WhatsThisRole,
    Qt.ItemDataRole.AccessibleTextRole,
    Qt.ItemDataRole.AccessibleDescriptionRole,
)


@dataclass(frozen=True)
class Seen:
    """A text a rep can see or reach: where it is (the widget and what of it) and what it says."""

    where: str
    text: str


def xray_vocabulary(bezel: QWidget) -> list[str]:
    """The X-ray view's words, and what its notes inside ``bezel`` say now (shown or not)."""
    states = {*SYNC_STATE_TEXT.values(), *(style.short for style in STATES.values())} - REAL_APP_WORDS
    notes = [note.plain for note in bezel.findChildren(XRayNote) if note.plain]
    return sorted(states) + list(XRAY_WORDS) + notes


def _name(widget: QWidget) -> str:
    return f"{type(widget).__name__}#{widget.objectName() or '?'}"


def _menu(menu: QMenu, where: str) -> Iterator[Seen]:
    for action in menu.actions():
        for what, text in (
            ("text", action.text()),
            ("tooltip", action.toolTip()),
            ("status tip", action.statusTip()),
            ("what's this", action.whatsThis()),
        ):
            yield Seen(f"{where} ▸ {action.text()} ({what})", text)
        sub = action.menu()
        if isinstance(sub, QMenu):
            yield from _menu(sub, f"{where} ▸ {action.text()}")


def _items(view: QAbstractItemView, where: str) -> Iterator[Seen]:
    """Every shown row and column of a list, table or tree (a tree's children too)."""
    model = view.model()
    if model is None:
        return
    if isinstance(view, QHeaderView):
        for section in range(view.count()):
            if not view.isSectionHidden(section):
                for role in ROLES:
                    value = model.headerData(section, view.orientation(), role)
                    if value is not None:
                        yield Seen(f"{where} section {section}", str(value))
        return
    yield from _rows(view, model, QModelIndex(), where)


def _rows(
    view: QAbstractItemView, model: QAbstractItemModel, parent: QModelIndex, where: str
) -> Iterator[Seen]:
    for row in range(model.rowCount(parent)):
        if isinstance(view, (QTableView, QTreeView)) and (
            view.isRowHidden(row) if isinstance(view, QTableView) else view.isRowHidden(row, parent)
        ):
            continue
        shown = (view.modelColumn(),) if isinstance(view, QListView) else range(model.columnCount(parent))
        for column in shown:
            if isinstance(view, (QTableView, QTreeView)) and view.isColumnHidden(column):
                continue
            index = model.index(row, column, parent)
            for role in ROLES:
                value = index.data(role)
                if value is not None:
                    yield Seen(f"{where} row {row} column {column} ({role.name})", str(value))
        if isinstance(view, QTreeView):  # only a tree's rows have rows of their own
            yield from _rows(view, model, model.index(row, 0, parent), f"{where} row {row}")


def _texts(widget: QWidget) -> Iterator[Seen]:
    where = _name(widget)
    for what, text in (
        ("tooltip", widget.toolTip()),
        ("status tip", widget.statusTip()),
        ("what's this", widget.whatsThis()),
        ("accessible name", widget.accessibleName()),
        ("accessible description", widget.accessibleDescription()),
    ):
        yield Seen(f"{where} ({what})", text)
    if isinstance(widget, (QLabel, QAbstractButton)):
        yield Seen(f"{where} (text)", widget.text())
    if isinstance(widget, QAbstractButton) and hasattr(widget, "menu") and isinstance(widget.menu(), QMenu):
        yield from _menu(widget.menu(), where)
    if isinstance(widget, QLineEdit):
        yield Seen(f"{where} (text)", widget.text())
        yield Seen(f"{where} (placeholder)", widget.placeholderText())
    if isinstance(widget, (QTextEdit, QPlainTextEdit)):
        yield Seen(f"{where} (text)", widget.toPlainText())
        yield Seen(f"{where} (placeholder)", widget.placeholderText())
    if isinstance(widget, QComboBox):  # its popup is a window of its own: read its items here
        for n in range(widget.count()):
            yield Seen(f"{where} item {n}", widget.itemText(n))
            tip = widget.itemData(n, Qt.ItemDataRole.ToolTipRole)
            if tip is not None:
                yield Seen(f"{where} item {n} (tooltip)", str(tip))
    if isinstance(widget, QTabBar):
        for n in range(widget.count()):
            yield Seen(f"{where} tab {n}", widget.tabText(n))
            yield Seen(f"{where} tab {n} (tooltip)", widget.tabToolTip(n))
            yield Seen(f"{where} tab {n} (what's this)", widget.tabWhatsThis(n))
    if isinstance(widget, QGroupBox):
        yield Seen(f"{where} (title)", widget.title())
    if isinstance(widget, QProgressBar):
        yield Seen(f"{where} (text)", widget.text())
    if isinstance(widget, QAbstractItemView):
        yield from _items(widget, where)


def shown_in(bezel: QWidget) -> list[QWidget]:
    """The bezel and every widget inside it that shows (popups are read through their owners)."""
    return [bezel, *(w for w in bezel.findChildren(QWidget) if w.isVisibleTo(bezel) and not w.isWindow())]


def what_a_rep_sees(bezel: QWidget) -> list[Seen]:
    """Every text inside ``bezel`` that a rep can see or reach (empty texts left out)."""
    return [seen for widget in shown_in(bezel) for seen in _texts(widget) if seen.text]


def film_in(widget: QWidget) -> bool:
    """Whether the X-ray view's film colour is painted anywhere in ``widget``."""
    image = widget.grab().toImage()
    alpha = PLATE.alpha() / 255
    film = [round(c * alpha + 255 * (1 - alpha)) for c in (PLATE.red(), PLATE.green(), PLATE.blue())]
    found = 0
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            pixel = image.pixelColor(x, y)
            if all(
                abs(a - b) < 14 for a, b in zip((pixel.red(), pixel.green(), pixel.blue()), film, strict=True)
            ):
                found += 1
    return found > 20


def xray_leaks(bezel: QWidget, *, paint: bool = True) -> list[str]:
    """What of the X-ray view is inside ``bezel``: widgets, texts and (``paint``) the film."""
    words = [word.lower() for word in xray_vocabulary(bezel)]
    leaks = [f"{_name(w)} is an X-ray widget" for w in shown_in(bezel) if is_xray(w)]
    leaks += [
        f"{seen.where}: {seen.text!r}"
        for seen in what_a_rep_sees(bezel)
        if any(word in seen.text.lower() for word in words)
    ]
    if paint and film_in(bezel):
        leaks.append("the X-ray film is painted")
    return leaks
