"""Who reads the records from the command line, for the audit log's "who saw what"
(presentation layer).

A view, a print or a FHIR export may be made by a pumpmgr user who signs in with ``--user``
(password from ``PUMPMGR_PASSWORD``, ``--password-stdin`` or the terminal), or by a script with
no sign-in: then the entry names the operating-system account. Either way the entry says which
it was (``signed_in`` in its details), so a reader of the log never takes an OS account for a
pumpmgr user.
"""

from __future__ import annotations

import argparse
import getpass
from typing import TYPE_CHECKING, Any

from pumpmgr.cli.records import _refuse, _user_password
from pumpmgr.errors import PumpMgrError

if TYPE_CHECKING:
    from pumpmgr.services.clinic import ClinicService
    from pumpmgr.services.values import Actor


def os_account() -> str:
    """The audit log's name for a reader who did not sign in: the operating-system account,
    marked as such."""
    try:
        return f"{getpass.getuser()} (command line)"
    except (OSError, KeyError):
        return "unknown account (command line)"


def reader_password(args: argparse.Namespace) -> str | None:
    """The password of ``--user`` when it is given (read before the database is opened, so a
    missing one changes nothing); None for a reader who does not sign in."""
    return _user_password(args) if getattr(args, "user", None) else None


def signed_in(clinic: ClinicService, args: argparse.Namespace, password: str) -> Actor:
    """``--user`` signed in with ``password``; a refusal names ``--user``."""
    try:
        return clinic.sign_in(args.user, password)
    except PumpMgrError as error:
        raise _refuse("--user", error.message, error.code) from error


def reader(
    clinic: ClinicService,
    args: argparse.Namespace,
    password: str | None,
) -> Actor | str:
    """``--user`` signed in with ``password``, else the operating-system account."""
    return os_account() if password is None else signed_in(clinic, args, password)


def access_details(who: Actor | str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """``details`` for the access entry of ``who``, saying whether a pumpmgr user signed in."""
    return {**(details or {}), "signed_in": not isinstance(who, str)}


def add_reader_options(parser: argparse.ArgumentParser, what: str) -> None:
    """``--user`` (optional) and ``--password-stdin`` on a command that reads records."""
    parser.add_argument(
        "--user",
        metavar="USER",
        help=f"the user {what}, signed in with their password (asked for, or "
        "taken from PUMPMGR_PASSWORD); without it the audit log names the "
        "computer's account, not signed in",
    )
    parser.add_argument(
        "--password-stdin", action="store_true", help="read the user's password from standard input"
    )
