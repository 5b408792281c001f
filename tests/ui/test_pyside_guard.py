"""Guard for the PySide6 pin: void calls must not drop references to None.

PySide6 6.12.0 on Python 3.11 releases one reference to ``None`` on every call of a method that
returns void; after a few thousand UI updates the interpreter aborts with ``none_dealloc``.
"""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot


def test_a_thousand_void_calls_keep_the_references_to_none(qtbot: QtBot) -> None:
    label = QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for index in range(1000):
        label.setText(str(index))  # void
        label.setVisible(False)  # void
    after = sys.getrefcount(None)
    assert after >= before - 50, f"references to None fell from {before} to {after}"
