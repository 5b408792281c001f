"""The start-up floor: a bare PySide6 window grabbed the way ``autosync-emulator --screenshot`` is.

``python -m emulator.bench.bare_window FILE.png`` starts a QApplication (offscreen), shows a
QMainWindow with a label, grabs it, saves the PNG and exits: what any Qt app's first picture costs.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m emulator.bench.bare_window FILE.png", file=sys.stderr)
        return 2
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

    app = QApplication(sys.argv[:1])
    window = QMainWindow()
    window.setCentralWidget(QLabel("Autosync Emulator"))
    window.resize(1900, 1040)
    window.show()
    app.processEvents()
    ok = window.grab().save(args[0])
    window.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
