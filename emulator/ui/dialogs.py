"""Dialogs of the stage window: add a device, the keyboard shortcut sheet.

Both are opened with ``open()`` (window-modal, never blocking the event loop).
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from emulator.engine.profile import MODELS, DeviceProfile
from emulator.ui.theme import STATES


class AddDeviceDialog(QDialog):
    """Name, user, model and iOS version of a new iPad; says at once if it gets no Autosync."""

    def __init__(self, users: list[str], taken: set[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add an iPad")
        self.setObjectName("add-device")
        form = QFormLayout(self)
        self.name = QLineEdit(_free_name("New iPad", taken))
        self.name.setObjectName("device-name")
        self.user = QComboBox()
        self.user.setObjectName("device-user")
        for user in users:
            self.user.addItem(user, user)
        self.model = QComboBox()
        self.model.setObjectName("device-model")
        for model in MODELS.values():
            self.model.addItem(f"{model.name} ({model.bits}-bit)", model.name)
        self.model.setCurrentIndex(self.model.findData("iPad Pro 11-inch"))
        self.ios = QLineEdit("17.5")
        self.ios.setObjectName("device-ios")
        self.verdict = QLabel()
        self.verdict.setObjectName("eligibility")
        self.verdict.setWordWrap(True)
        form.addRow("Name", self.name)
        form.addRow("Signed in as", self.user)
        form.addRow("Model", self.model)
        form.addRow("iOS version", self.ios)
        form.addRow(self.verdict)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        form.addRow(self.buttons)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.model.currentIndexChanged.connect(lambda _i: self.check())
        self.ios.textChanged.connect(lambda _t: self.check())
        self.check()

    def check(self) -> str | None:
        """Show whether the chosen model and iOS get Autosync (AS-29); returns the problem."""
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        try:
            profile = DeviceProfile("check", "check", "check", "check", self.model_name, self.ios_version)
        except ValueError as exc:
            self.verdict.setText(f"⚠ {exc}")
            self.verdict.setStyleSheet(f"color:{STATES['sync_error'].colour}; font-weight:bold;")
            ok.setEnabled(False)
            return str(exc)
        ok.setEnabled(True)
        if profile.ineligibility:
            self.verdict.setText(
                f"⊘ No Autosync: {profile.ineligibility} It will use traditional sync only: "
                "saves wait in its queue until you tap Sync."
            )
            self.verdict.setStyleSheet(f"color:{STATES['sync_error'].colour}; font-weight:bold;")
            return profile.ineligibility
        self.verdict.setText("✓ Gets Autosync (iOS 11 or later on a 64-bit iPad).")
        self.verdict.setStyleSheet(f"color:{STATES['synced'].colour}; font-weight:bold;")
        return None

    @property
    def model_name(self) -> str:
        return str(self.model.currentData())

    @property
    def ios_version(self) -> str:
        return self.ios.text().strip()

    @property
    def user_id(self) -> str:
        return str(self.user.currentData())

    @property
    def device_name(self) -> str:
        return self.name.text().strip()


class ShortcutSheet(QDialog):
    """Every menu action with its shortcut (F1), each shown whole; type to find one."""

    def __init__(self, actions: list[tuple[str, QAction]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.setObjectName("shortcut-sheet")
        layout = QVBoxLayout(self)
        self.search = QLineEdit()
        self.search.setObjectName("shortcut-search")
        self.search.setPlaceholderText("Find a shortcut (an action, a key or a menu)")
        self.search.setClearButtonEnabled(True)
        layout.addWidget(self.search)
        rows = [(menu, a) for menu, a in actions if not a.shortcut().isEmpty()]
        table = QTableWidget(len(rows), 3)
        self.table = table
        table.setObjectName("shortcuts")
        table.setHorizontalHeaderLabels(["Shortcut", "Action", "Menu"])
        table.verticalHeader().setVisible(False)
        table.setWordWrap(False)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for row, (menu, action) in enumerate(rows):
            keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts())
            table.setItem(row, 0, QTableWidgetItem(keys))
            table.setItem(row, 1, QTableWidgetItem(action.text().replace("&", "")))
            table.setItem(row, 2, QTableWidgetItem(menu.replace("&", "")))
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        table.resizeColumnsToContents()
        layout.addWidget(table)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout.addWidget(close)
        self.search.textChanged.connect(self.filter_rows)
        wanted = (
            sum(table.columnWidth(c) for c in range(3)) + table.verticalScrollBar().sizeHint().width() + 40
        )
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        width = min(wanted, screen.width() - 40) if screen is not None else wanted
        height = min(560, screen.height() - 80) if screen is not None else 560
        self.resize(max(width, 480), height)

    def filter_rows(self, text: str) -> None:
        """Show only the rows whose key, action or menu holds ``text``."""
        needle = text.strip().casefold()
        for row in range(self.table.rowCount()):
            cells = [self.table.item(row, c) for c in range(3)]
            words = " ".join(c.text() for c in cells if c is not None).casefold()
            self.table.setRowHidden(row, bool(needle) and needle not in words)

    def visible_actions(self) -> list[str]:
        rows = range(self.table.rowCount())
        return [self.table.item(r, 1).text() for r in rows if not self.table.isRowHidden(r)]  # type: ignore[union-attr]


def _free_name(base: str, taken: set[str]) -> str:
    name, n = base, 1
    while name.lower().replace(" ", "-") in taken:
        n += 1
        name = f"{base} {n}"
    return name
