"""The ``pumpmgr`` command line: the scriptable calculator and the clinic's records.

``pumpmgr [--db PATH_OR_URL] COMMAND``: ``calc`` needs no database; the records commands
(:mod:`pumpmgr.cli.records`) use ``--db``, else ``PUMPMGR_DB``, else the default file.
Bad input exits with status 2 and one line on stderr naming the option; never a traceback.
``pumpmgr --version`` is answered before the commands (and the units they load) are imported.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from pumpmgr import __version__
from pumpmgr.errors import PumpMgrError
from pumpmgr.logfile import current_log_file, log_unexpected, start_log

#: Fields named by the domain's errors that a command-line option supplies under another name.
_FIELD_OPTIONS = {
    "segment length": "--segment",
    "volume per length": "--segment",
    "programs": "--filled-at",
    "full_name": "--full-name",
    "password": "password",
    "user": "--user",
    "expiry": "--expires",
    "longest refill interval": "--max-interval-days",
    "database": "--db",
}

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug of ours, reported in one line


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message}\n")


def build_parser() -> OneLineParser:
    from pumpmgr.cli import bookings, calc, corrections, hospital, printing, records
    from pumpmgr.formatting import program_version

    parser = OneLineParser(
        prog="pumpmgr",
        description="Intrathecal pump clinic manager. Without a command: a demo forecast.",
    )
    parser.add_argument("--version", action="version", version=program_version())
    parser.add_argument(
        "--db",
        metavar="PATH_OR_URL",
        help="the clinic database: a SQLite file or a postgresql+psycopg:// URL "
        "(default: $PUMPMGR_DB, else pumpmgr.db in the user's data folder)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    calc.add_parser(commands, OneLineParser)
    records.add_parsers(commands, OneLineParser)
    printing.add_parser(commands, OneLineParser)
    hospital.add_parser(commands, OneLineParser)
    bookings.add_parsers(commands, OneLineParser)
    corrections.add_parser(commands, OneLineParser)
    return parser


def _typed_options(argv: Sequence[str]) -> set[str]:
    """The options on the command line as typed (``--out=x.pdf`` is ``--out``)."""
    return {arg.split("=", 1)[0] for arg in argv if arg.startswith("--")}


def _command_options(parser: argparse.ArgumentParser, argv: Sequence[str]) -> set[str]:
    """Every option string of the command (and sub-command) the user chose."""
    found = {option for action in parser._actions for option in action.option_strings}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen = next((word for word in argv if word in action.choices), None)
            if chosen is not None:
                found |= _command_options(action.choices[chosen], argv)
    return found


def _option_message(
    error: PumpMgrError, argv: Sequence[str] = (), offered: set[str] | None = None
) -> str:
    """The error's message, led by the option that supplied the field: an option the user
    typed, or one the chosen command ``offered`` that was left out (say, a required note);
    a field no such option supplies (a stored setting, a record being read) is named in
    words, as the screens name it."""
    field = error.field
    if not field or field.startswith("--") or field.isupper():
        return error.message
    option = _FIELD_OPTIONS.get(field, "--" + field.replace(" ", "-"))
    named = _typed_options(argv) | (offered or set())
    if option.startswith("--") and option not in named:
        return (
            error.message
            if error.message.startswith(f"{field}:")
            else (f"{field.replace('_', ' ')}: {error.message}")
        )
    rest = error.message.removeprefix(f"{field}:").strip()
    return f"{option}: {rest}"


DEMO = [
    "calc",
    "forecast",
    "--fill-volume",
    "20 mL",
    "--filled-at",
    "2025-03-03",
    "--concentration",
    "2000 mcg/mL",
    "--dose",
    "400 mcg/day",
    "--accuracy",
    "14.5",
]


def _silence_stdout() -> None:
    """Point stdout at the null device so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv == ["--version"]:  # as the parser's --version says it, without loading the commands
        print(f"pumpmgr {__version__}")
        return 0
    start_log()  # the records' writes and any fault of ours (pumpmgr.logfile)
    from pumpmgr.cli import calc

    parser = build_parser()
    if not argv:
        print(
            "pumpmgr demo: SynchroMed II 20 mL, baclofen 2000 mcg/mL at 400 mcg/day, "
            "filled 2025-03-03\n"
        )
        argv = DEMO
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    commands = ("calc_command", "user_command", "audit_command", "print_command")
    sub = next((getattr(args, k) for k in commands if getattr(args, k, None)), "")
    prog = f"pumpmgr {args.command} {sub}".strip()
    try:
        handler = getattr(args, "records", None)
        if handler is not None:
            status: int = handler(args)
            return status
        print(calc.run(args))
    except PumpMgrError as error:
        offered = _command_options(parser, argv)
        print(f"{prog}: {_option_message(error, argv, offered)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # the reader went away (| head): nothing more to say
        _silence_stdout()
        return 0
    except Exception as error:  # never a traceback in a nurse's terminal
        reference = log_unexpected(type(error), error, error.__traceback__, f"running {prog}")
        print(
            f"{prog}: internal error ({type(error).__name__}: {error}); please report it "
            f"with the reference {reference} (details in {current_log_file()})",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    if argv is DEMO:
        print("\nMore: pumpmgr calc --help")
    return 0
