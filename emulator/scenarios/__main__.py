"""``python -m emulator.scenarios run FILE...``: the scenario CLI without the desktop app."""

import sys

from emulator.scenarios.cli import main

sys.exit(main())
