"""The ``pumpmgr`` console script: the window, or the command line when a command is named.

Imports no Qt until the window is wanted, so ``pumpmgr calc ...`` starts as fast as the core.
``pumpmgr`` alone, or with only ``--db``/``--demo``, opens the desktop program.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Sequence
from typing import NoReturn

#: Words that make the arguments a command-line call rather than the window's options.
_CLI_WORDS = {"-h", "--help", "--version"}


def wants_window(argv: Sequence[str]) -> bool:
    """No command is named: every argument is one of the window's own options."""
    from pumpmgr.cli import build_parser

    if any(arg in _CLI_WORDS for arg in argv):
        return False
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            known, _ = build_parser().parse_known_args(list(argv))
    except SystemExit:  # not the window's options either: let the command line say why
        return False
    return known.command is None


def console(argv: Sequence[str] | None = None) -> NoReturn:
    args = list(sys.argv[1:] if argv is None else argv)
    if wants_window(args):
        from ui.app import main as window

        sys.exit(window(args))
    from pumpmgr.cli import main as command_line

    sys.exit(command_line(args))
