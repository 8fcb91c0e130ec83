"""``pumpmgr audit log`` (the audit log, filtered as the window's Records → Audit filters it),
``pumpmgr user password`` (change one's own) and ``pumpmgr user reset-password`` (an
administrator's reset) (presentation layer).

Each is a user's action: ``--user`` signs in, the password read on the terminal
or, with ``--password-stdin``, from standard input one per line. The log shows what that user
may read (:mod:`pumpmgr.services.audit_trail`). The services load inside the handlers.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pumpmgr.cli.dates import iso_day
from pumpmgr.cli.records import EXIT_OK, _dump, _local, _open, _refuse, jsonable, table
from pumpmgr.errors import Code, PumpMgrError

if TYPE_CHECKING:
    from pumpmgr.services.clinic import ClinicService
    from pumpmgr.services.values import Actor, AuditRecord

Handler = Callable[[argparse.Namespace], int]
#: The widest "what changed" cell in the table; --json gives everything.
_PAYLOAD_WIDTH = 70


def _passwords(
    args: argparse.Namespace,
    prompts: list[str],
    *,
    repeat_last: bool = False,
) -> list[str]:
    """One password per prompt: from standard input (one a line) or asked on the terminal,
    the last asked twice with ``repeat_last``."""
    if args.password_stdin:
        lines = sys.stdin.read().splitlines()
        if len(lines) < len(prompts):
            raise _refuse(
                "--password-stdin",
                "standard input must hold, one a line: " + "; ".join(prompts),
                Code.NO_VALUE,
            )
        return lines[: len(prompts)]
    if not sys.stdin.isatty():
        raise _refuse(
            "--password-stdin",
            "there is no terminal to ask for the password on; "
            "give it on standard input with --password-stdin",
            Code.NO_VALUE,
        )
    answers = [getpass.getpass(f"{prompt}: ") for prompt in prompts]
    if repeat_last and getpass.getpass("The same new password again: ") != answers[-1]:
        raise _refuse(
            "password", "the two new passwords differ; nothing was saved", Code.AUTH_WEAK_PASSWORD
        )
    return answers


def _sign_in(clinic: ClinicService, option: str, username: str, password: str) -> Actor:
    try:
        return clinic.sign_in(username, password)
    except PumpMgrError as error:
        raise _refuse(option, error.message, error.code) from error


def _whole(low: int) -> Callable[[str], int]:
    def read(text: str) -> int:
        if not text.strip().isdigit() or not low <= int(text) <= 1_000_000:
            raise argparse.ArgumentTypeError(
                f"'{text}' is not a whole number from {low} to 1000000"
            )
        return int(text)

    return read


def _entry_json(entry: AuditRecord) -> dict[str, Any]:
    data: dict[str, Any] = jsonable(entry)
    data["patient"] = (
        None
        if entry.patient is None
        else {"id": entry.patient.id, "mrn": entry.patient.mrn, "name": entry.patient.display_name}
    )
    return data


def _cell(text: str) -> str:
    return text if len(text) <= _PAYLOAD_WIDTH else text[: _PAYLOAD_WIDTH - 1] + "…"


def run_audit_log(args: argparse.Namespace) -> int:
    from pumpmgr.services.audit_trail import AuditFilter
    from pumpmgr.services.clinic import ClinicService

    if args.since and args.until and args.until < args.since:
        raise _refuse("--until", "the last day is before --since", Code.TIME_ORDER)
    (password,) = _passwords(args, [f"Password of {args.user}"])
    with _open(args, must_exist=True) as database:
        clinic = ClinicService(database)
        actor = _sign_in(clinic, "--user", args.user, password)
        patient_id = None
        if args.patient is not None:
            try:
                patient_id = clinic.find_patient(args.patient).id
            except PumpMgrError as error:
                raise _refuse("--patient", error.message, error.code) from error
        wanted = AuditFilter(
            patient_id=patient_id,
            username=args.by,
            action=args.action,
            since=args.since,
            until=args.until,
        )
        page = clinic.records.audit_log(actor, wanted, offset=args.offset, limit=args.limit)
    if args.json:
        print(
            _dump(
                {
                    "total": page.total,
                    "offset": args.offset,
                    "entries": [_entry_json(e) for e in page.entries],
                }
            )
        )
        return EXIT_OK
    if not page.entries:
        print(f"No audit entries match (of the entries {actor.username} may read).")
        return EXIT_OK
    rows = [
        [
            f"#{e.seq}",
            _local(e.recorded_at, clinic.tz),
            e.username,
            e.action,
            "" if e.patient is None else e.patient.name_and_mrn,
            e.entity_type + ("" if e.entity_id is None else f" #{e.entity_id}"),
            _cell(e.payload),
        ]
        for e in page.entries
    ]
    print(table(["Entry", "Time", "User", "Action", "Patient", "Record", "What changed"], rows))
    last = args.offset + len(page.entries)
    print(
        f"\nEntries {args.offset + 1} to {last} of {page.total}, newest first"
        + (f"; the next ones with --offset {last}" if last < page.total else "")
        + "."
    )
    return EXIT_OK


def run_user_password(args: argparse.Namespace) -> int:
    from pumpmgr.services.clinic import ClinicService

    old, new = _passwords(
        args, [f"Current password of {args.user}", "New password"], repeat_last=True
    )
    with _open(args, must_exist=True) as database:
        clinic = ClinicService(database)
        actor = _sign_in(clinic, "--user", args.user, old)
        try:
            clinic.users.change_password(actor, old, new)
        except PumpMgrError as error:
            raise _refuse("password", error.message, error.code) from error
    print(f"The password of {actor.username} is changed.")
    return EXIT_OK


def run_user_reset_password(args: argparse.Namespace) -> int:
    from pumpmgr.services.clinic import ClinicService
    from pumpmgr.services.permissions import PermissionDenied

    admin_password, new = _passwords(
        args,
        [f"Password of the administrator {args.user}", f"New password for {args.username}"],
        repeat_last=True,
    )
    with _open(args, must_exist=True) as database:
        clinic = ClinicService(database)
        admin = _sign_in(clinic, "--user", args.user, admin_password)
        user = next(
            (u for u in clinic.list_users() if u.username == args.username.strip().lower()), None
        )
        if user is None:
            raise _refuse("--username", f"there is no account '{args.username}'", Code.NO_VALUE)
        try:
            clinic.users.reset_password(admin, user.id, new)
        except PermissionDenied as error:
            raise _refuse("--user", error.message, error.code) from error
        except PumpMgrError as error:
            field = "--username" if error.field == "user" else "password"
            raise _refuse(field, error.message.split(": ", 1)[-1], error.code) from error
    print(
        f"The password of {user.username} is reset by {admin.username}; {user.username} "
        "must change it at the next sign-in."
    )
    return EXIT_OK


def add_parsers(
    command: Callable[..., argparse.ArgumentParser],
    audits: Any,
    users: Any,
) -> None:
    """``audit log`` on the ``audit`` command's actions, ``password`` and ``reset-password``
    on the ``user`` command's (``command`` adds one with ``--db``)."""
    p = command(
        "log",
        run_audit_log,
        "the audit log, newest first, filtered",
        where=audits,
        description="The audit log, newest first: each entry's time, user, action, "
        "the patient its record belongs to and what changed. --user signs in (the "
        "password asked for, or read from standard input with --password-stdin); the "
        "administrator reads every entry, another user their own and those of the "
        "patients whose records they recorded, printed or viewed.",
    )
    p.add_argument(
        "--user",
        required=True,
        metavar="USER",
        help="the user reading the log, signed in with their password",
    )
    p.add_argument(
        "--password-stdin", action="store_true", help="read the user's password from standard input"
    )
    p.add_argument("--patient", metavar="MRN", help="only entries about this patient")
    p.add_argument("--by", metavar="USER", help="only entries written by this user")
    p.add_argument(
        "--action", metavar="A", help="only this action (refill.record) or family (refill)"
    )
    p.add_argument(
        "--since", type=iso_day("--since"), metavar="DATE", help="from this clinic day (ISO 8601)"
    )
    p.add_argument(
        "--until", type=iso_day("--until"), metavar="DATE", help="to this clinic day, inclusive"
    )
    p.add_argument(
        "--limit", type=_whole(1), default=50, metavar="N", help="entries shown (default 50)"
    )
    p.add_argument(
        "--offset",
        type=_whole(0),
        default=0,
        metavar="N",
        help="skip the N newest matching entries",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = command(
        "password",
        run_user_password,
        "change your own password",
        where=users,
        description="Change your own password: your current one first, then the new "
        "one twice (or, with --password-stdin, the current and the new one on two "
        "lines of standard input). Audited; no password is ever logged.",
    )
    p.add_argument(
        "--user",
        required=True,
        metavar="USER",
        help="your user name, signed in with your current password",
    )
    p.add_argument(
        "--password-stdin", action="store_true", help="read the passwords from standard input"
    )

    p = command(
        "reset-password",
        run_user_reset_password,
        "an administrator sets another user's password",
        where=users,
        description="Set another user's password (an administrator, signed in with "
        "--user): the user must change it at the next sign-in. The administrator's "
        "password is asked for first, then the new one twice (or both read from "
        "standard input with --password-stdin, one a line). Audited; no password is "
        "ever logged.",
    )
    p.add_argument(
        "--user",
        required=True,
        metavar="USER",
        help="the administrator, signed in with their password",
    )
    p.add_argument("--username", required=True, metavar="U", help="the account to reset")
    p.add_argument(
        "--password-stdin", action="store_true", help="read the passwords from standard input"
    )
