"""``pumpmgr book`` and ``pumpmgr bookings``: refill visits from the command line (issue 16),
through :class:`pumpmgr.services.bookings.BookingsService`, with the same checks as the window.

A refused booking (a closed or past day, after the worst-case low or empty date, a second open
booking, a late or over-full day without ``--reason``) exits 2 with one line naming the option.
Booking is a user's action: ``--user`` signs in (password on standard input with
``--password-stdin``, else asked for on the terminal), and the audit log names that user.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pumpmgr.booking import PLACE_TEXT, STATE_TEXT, booking_line
from pumpmgr.cli.dates import iso_day
from pumpmgr.cli.paths import new_file
from pumpmgr.cli.records import EXIT_OK, _dump, _open, _refuse, jsonable, named, table
from pumpmgr.errors import Code, InputError, PumpMgrError
from pumpmgr.files import write_private_bytes
from pumpmgr.formatting import format_date, read_clock_time
from pumpmgr.records import WeekView

if TYPE_CHECKING:
    from pumpmgr.services.clinic import ClinicService

#: The service's field names as this command's options.
_OPTIONS = {
    "day": "--on",
    "reason": "--reason",
    "place": "--place",
    "nurse": "--nurse",
    "note": "--note",
    "user": "--user",
    "password": "--user",
    "MRN": "MRN",
}


def _named(error: PumpMgrError) -> PumpMgrError:
    """``error`` led by the option that supplied its field (unchanged when there is none)."""
    return named(error, _OPTIONS)


def _clock_time(text: str) -> time:
    try:
        return read_clock_time(text, "--at")
    except InputError as error:  # argparse names the option itself
        raise argparse.ArgumentTypeError(error.message.removeprefix("--at: ")) from None


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        lines = sys.stdin.read().splitlines()
        if not lines:
            raise _refuse(
                "--password-stdin", "standard input must hold the user's password", Code.NO_VALUE
            )
        return lines[0]
    if not sys.stdin.isatty():
        raise _refuse(
            "--password-stdin",
            "there is no terminal to ask for the password on; "
            "give it on standard input with --password-stdin",
            Code.NO_VALUE,
        )
    return getpass.getpass(f"Password of {args.user}: ")


def run_book(args: argparse.Namespace) -> int:
    from pumpmgr.services.clinic import ClinicService  # the services load with the command

    password = _password(args)
    with _open(args, must_exist=True) as database:
        clinic = ClinicService(database)
        try:
            actor = clinic.sign_in(args.user, password)
            patient = clinic.find_patient(args.mrn)
            chart = clinic.patient_chart(patient.id)
            if chart.pump is None:
                raise _refuse(
                    "MRN",
                    f"{patient.display_name} ({patient.mrn}) has no active "
                    "pump to book a refill for",
                    Code.NO_VALUE,
                )
            outcome = clinic.bookings.book(
                actor,
                chart.pump.id,
                args.on,
                at=args.at,
                place=args.place,
                note=args.note or "",
                reason=args.reason or "",
            )
        except PumpMgrError as error:
            raise _named(error) from error
    print(f"Booked: {booking_line(outcome.booking)}")
    print(outcome.check.words[:1].upper() + outcome.check.words[1:] + ".")
    return EXIT_OK


def week_text(week: WeekView) -> str:
    lines = []
    for plan in week.days:
        head = format_date(plan.day)
        if not plan.open:
            lines.append(f"{head}: closed")
            continue
        free = ", ".join(f"{plan.free[p]} {PLACE_TEXT[p]}" for p in ("clinic", "home"))
        lines.append(f"{head}: free {free}")
        lines += [f"  {booking_line(b)}" for b in plan.bookings]
        if plan.must_book:
            lines.append(
                "  Must be booked by this day: "
                + "; ".join(
                    f"{p.patient} ({p.mrn}), refill due {format_date(p.refill_due)}"
                    for p in plan.must_book
                )
            )
    return "\n".join(lines)


def run_bookings(args: argparse.Namespace) -> int:
    from pumpmgr.services.clinic import ClinicService

    target = None if args.ics is None else new_file("--ics", args.ics)
    with _open(args, must_exist=True) as database:
        clinic = ClinicService(database)
        if target is not None:
            return _write_calendar(clinic, target)
        if args.week is not None:
            week = clinic.bookings.week(args.week)
            print(_dump(jsonable(week)) if args.json else week_text(week))
            return EXIT_OK
        day = args.on or clinic.today()
        rows = clinic.bookings.bookings_between(day, day)
        if args.json:
            print(_dump([jsonable(b) for b in rows]))
        elif not rows:
            print(f"No visit is booked on {format_date(day)}.")
        else:
            print(
                table(
                    ("Time", "Place", "Patient", "MRN", "State", "Refill due", "Nurse"),
                    [
                        (
                            ("" if b.at is None else f"{b.at:%H:%M}"),
                            PLACE_TEXT[b.place],
                            b.patient,
                            b.mrn,
                            "booked too late" if b.too_late else STATE_TEXT[b.state],
                            "" if b.refill_due is None else format_date(b.refill_due),
                            b.nurse,
                        )
                        for b in rows
                    ],
                )
            )
    return EXIT_OK


def _write_calendar(clinic: ClinicService, target: Path) -> int:
    """The calendar file of every active pump: its booked visit, or (not booked) an open day
    to book it by, as the window's export writes it."""
    from pumpmgr.calendar_file import clinic_calendar
    from pumpmgr.services.bookings import calendar_of

    settings = clinic.settings()
    rows = clinic.due_list()
    text = clinic_calendar(
        rows,
        clinic.bookings.open_bookings(),
        today=clinic.today(),
        calendar=calendar_of(settings),
        tz=clinic.tz,
        buffer_days=settings.buffer_days,
        clinic_name=settings.clinic_name,
        generated_at=clinic.clock.now(),
    )
    try:
        write_private_bytes(target, text.encode("utf-8"), exclusive=True)  # it names patients
    except OSError as error:
        raise _refuse(
            "--ics", f"{target} cannot be written ({error.strerror})", Code.NO_VALUE
        ) from error
    print(f"wrote {target} ({text.count('BEGIN:VEVENT')} refill visits and pumps to book)")
    return EXIT_OK


def add_parsers(subparsers: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """Register ``book`` and ``bookings`` on the top-level parser."""
    del parser_class
    p: argparse.ArgumentParser = subparsers.add_parser(
        "book",
        help="book a refill visit for a patient's pump",
        description="Book a refill visit for the patient's active pump, checked against its "
        "forecast: a past or closed day, or one after the day the reservoir may be low or the "
        "pump computed empty, is refused; a day after the refill-due date, or a full day, "
        "needs --reason. Audited under --user.",
    )
    p.set_defaults(records=run_book)
    p.add_argument("mrn", metavar="MRN", help="medical record number")
    p.add_argument(
        "--on",
        type=iso_day("--on"),
        required=True,
        metavar="DATE",
        help="the day of the visit (ISO 8601, e.g. 2026-03-01)",
    )
    p.add_argument("--at", type=_clock_time, metavar="HH:MM", help="the time of the visit")
    p.add_argument(
        "--place",
        choices=("clinic", "home"),
        default="clinic",
        metavar="P",
        help="clinic (a clinic room, the default) or home (a home visit)",
    )
    p.add_argument(
        "--reason",
        metavar="TEXT",
        help="why the visit is after the refill-due date or on a full day",
    )
    p.add_argument("--note", metavar="TEXT", help="a note for the visit")
    p.add_argument(
        "--user",
        required=True,
        metavar="USER",
        help="the user booking the visit, signed in with their password",
    )
    p.add_argument(
        "--password-stdin", action="store_true", help="read the user's password from standard input"
    )
    p.add_argument(
        "--db",
        metavar="PATH_OR_URL",
        default=argparse.SUPPRESS,
        help="the database (also accepted before the command)",
    )

    p = subparsers.add_parser(
        "bookings",
        help="the refill visits booked on a day or in a week",
        description="The refill visits booked on a day (--on, default today), or a week's "
        "plan from a day (--week): each day's visits, the free visits per place, and the "
        "pumps that must be booked by that day.",
    )
    p.set_defaults(records=run_bookings)
    when = p.add_mutually_exclusive_group()
    when.add_argument("--on", type=iso_day("--on"), metavar="DATE", help="one day")
    when.add_argument(
        "--week", type=iso_day("--week"), metavar="DATE", help="seven days from this day"
    )
    when.add_argument(
        "--ics",
        metavar="FILE",
        help="write a new calendar file (.ics) instead: every booked visit, and "
        "each pump not booked on an open day to book it by, with reminders",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--db",
        metavar="PATH_OR_URL",
        default=argparse.SUPPRESS,
        help="the database (also accepted before the command)",
    )
