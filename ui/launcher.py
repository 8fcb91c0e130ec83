"""The ``pumpmgr`` console script: the window, or the command line when a command is named.

Imports no Qt until the window is wanted, so ``pumpmgr calc ...`` starts as fast as the core.
``pumpmgr`` alone, or with only ``--db``/``--demo``, opens the desktop program;
``pumpmgr-window`` (a GUI script: no console window on Windows) always opens it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import NoReturn


def wants_window(argv: Sequence[str]) -> bool:
    """Every argument is one of the window's own options (``--db PATH_OR_URL``, ``--demo``,
    ``--self-test``)."""
    rest = list(argv)
    while rest:
        arg = rest.pop(0)
        if arg in {"--demo", "--self-test"} or arg.startswith("--db="):
            continue
        if arg == "--db" and rest:
            rest.pop(0)
            continue
        return False
    return True


def window(argv: Sequence[str] | None = None) -> NoReturn:
    """The ``pumpmgr-window`` GUI script: the desktop program, whatever the arguments."""
    args = list(sys.argv[1:] if argv is None else argv)
    # A GUI script on Windows has no console: --help or --version must not fail on None
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115
    from ui.app import main

    sys.exit(main(args))


def console(argv: Sequence[str] | None = None) -> NoReturn:
    args = list(sys.argv[1:] if argv is None else argv)
    if wants_window(args):
        window(args)
    from pumpmgr.cli import main as command_line

    sys.exit(command_line(args))
