"""The ``pumpmgr`` console script: the window, or the command line when a command is named.

Imports no Qt until the window is wanted, so ``pumpmgr calc ...`` starts as fast as the core.
``pumpmgr`` alone, or with only ``--db``/``--demo``, opens the desktop program.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence
from typing import NoReturn


def wants_window(argv: Sequence[str]) -> bool:
    """Every argument is one of the window's own options (``--db PATH_OR_URL``, ``--demo``)."""
    rest = list(argv)
    while rest:
        arg = rest.pop(0)
        if arg == "--demo" or arg.startswith("--db="):
            continue
        if arg == "--db" and rest:
            rest.pop(0)
            continue
        return False
    return True


def console(argv: Sequence[str] | None = None) -> NoReturn:
    args = list(sys.argv[1:] if argv is None else argv)
    if wants_window(args):
        # held off for the window's imports (ui.app.collector_after_imports): their
        # collector passes find nothing to free and cost a tenth of the start
        gc.disable()
        from ui.app import main as window

        sys.exit(window(args))
    from pumpmgr.cli import main as command_line

    sys.exit(command_line(args))
