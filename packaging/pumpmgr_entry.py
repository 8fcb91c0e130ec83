"""The release bundle's entry point: ``pumpmgr`` (the console program) or ``pumpmgr-window``
(the same program built without a console, for Windows), told apart by the executable's name."""

import sys
from pathlib import Path

from ui.launcher import console, window

if __name__ == "__main__":
    if Path(sys.executable).stem.lower() == "pumpmgr-window":
        window()
    console()
