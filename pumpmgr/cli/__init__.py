"""The ``pumpmgr`` command line: the scriptable calculator and, later, the clinic's records.

Bad input exits with status 2 and one line on stderr naming the option; never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from pumpmgr import __version__
from pumpmgr.cli import calc
from pumpmgr.errors import PumpMgrError

#: Fields named by the domain's errors that a command-line option supplies under another name.
_FIELD_OPTIONS = {
    "segment length": "--segment",
    "volume per length": "--segment",
    "programs": "--filled-at",
}

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug of ours, reported in one line


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message}\n")


def build_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="pumpmgr",
        description="Intrathecal pump clinic manager. Without a command: a demo forecast.",
    )
    parser.add_argument("--version", action="version", version=f"pumpmgr {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    calc.add_parser(commands, OneLineParser)
    return parser


def _option_message(error: PumpMgrError) -> str:
    """The error's message, led by the option that supplied the field."""
    field = error.field
    if not field or field.startswith("--") or field.isupper():
        return error.message
    option = _FIELD_OPTIONS.get(field, "--" + field.replace(" ", "-"))
    rest = error.message.removeprefix(f"{field}:").strip()
    return f"{option}: {rest}"


DEMO = [
    "calc", "forecast", "--fill-volume", "20 mL", "--filled-at", "2025-03-03",
    "--concentration", "2000 mcg/mL", "--dose", "400 mcg/day", "--accuracy", "14.5",
]


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv:
        print("pumpmgr demo: SynchroMed II 20 mL, baclofen 2000 mcg/mL at 400 mcg/day, "
              "filled 2025-03-03\n")
        argv = DEMO
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    prog = f"pumpmgr {args.command} {getattr(args, 'calc_command', '')}".strip()
    try:
        print(calc.run(args))
    except PumpMgrError as error:
        print(f"{prog}: {_option_message(error)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as error:  # never a traceback in a nurse's terminal
        print(f"{prog}: internal error ({type(error).__name__}: {error}); please report it",
              file=sys.stderr)
        return EXIT_INTERNAL
    if argv is DEMO:
        print("\nMore: pumpmgr calc --help")
    return 0


def console() -> NoReturn:
    """The ``pumpmgr`` console script."""
    sys.exit(main())
