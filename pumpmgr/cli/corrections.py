"""``pumpmgr correct-refill REFILL_ID``: a refill recorded wrong, corrected as the window's
History → Correct this refill… corrects it, through
:meth:`pumpmgr.services.ClinicService.correct_refill` (domain-rules §8: the correction is a new
record pointing at the refill, which stays as it was recorded).

``--user`` signs in and ``--second-nurse`` verifies with their own password: both are asked on
the terminal, or read from standard input with ``--password-stdin`` (one a line: the user's,
then the second nurse's). Volumes are typed with their unit (``--aspirated 12.5mL``); a value
without one is refused, naming the option and the unit wanted. Only the values given change;
the verdict and the forecast are worked out again. A refusal exits 2 with one line naming the
option, and nothing is written.
"""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from pumpmgr.cli.audit_log import _passwords
from pumpmgr.cli.records import EXIT_OK, _dump, _open, _refuse, jsonable, named
from pumpmgr.errors import Code, InputError, PumpMgrError
from pumpmgr.forecast import due_reason_words
from pumpmgr.formatting import format_date, read_date
from pumpmgr.units import Kind, Quantity, parse
from pumpmgr.visit_note import RecordRef
from pumpmgr.wording import refill_corrected_text

#: The services' field names as this command's options.
_OPTIONS = {
    "refill": "REFILL_ID",
    "record": "REFILL_ID",
    "aspirated": "--aspirated",
    "fill volume": "--added",
    "lot number": "--lot",
    "expiry": "--expiry",
    "note": "--note",
    "undiluted": "--undiluted",
    "reason": "--reason",
    # the second nurse's password is checked in the correction; the user's at the sign-in
    "username": "--second-nurse",
    "password": "--second-nurse",
    "verification": "--second-nurse",
}
_SIGN_IN = {"user": "--user", "username": "--user", "password": "--user"}

#: The options that each correct one value, for the refusal of a command that gives none.
_VALUE_OPTIONS = "--aspirated, --added, --lot, --expiry, --note, --undiluted or --diluted"


def _refill_id(text: str) -> int:
    """``12`` or ``refill:12`` (as ``pumpmgr note`` and the worksheet's code name it)."""
    number = text.strip().lower().removeprefix("pumpmgr:").removeprefix("refill:")
    if not number.isdigit() or int(number) < 1:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a refill's id; write its number or refill:ID, for example 12"
        )
    return int(number)


def _volume(text: str | None, option: str) -> Quantity | None:
    return None if text is None else parse(text, Kind.VOLUME, option)


def _expiry(text: str | None) -> date | None:
    # a month and year is that month's last day (USP <7>), as the window reads an expiry
    return None if text is None else read_date(text, "--expiry", month_is_last_day=True)


def corrections(args: argparse.Namespace) -> dict[str, Any]:
    """The values given, as :meth:`correct_refill` takes them; refused when none is."""
    values: dict[str, Any] = {
        "aspirated": _volume(args.aspirated, "--aspirated"),
        "volume_added": _volume(args.added, "--added"),
        "lot_number": args.lot,
        "expiry": _expiry(args.expiry),
        "discrepancy_note": args.note,
        "undiluted": args.undiluted,
    }
    given = {name: value for name, value in values.items() if value is not None}
    if not given:
        raise InputError(
            f"nothing to correct: give the value recorded wrong with {_VALUE_OPTIONS}",
            code=Code.NO_VALUE,
        )
    return given


def run_correct_refill(args: argparse.Namespace) -> int:
    from pumpmgr.services.clinic import ClinicService  # the services load with the command
    from pumpmgr.services.hospital import HospitalService
    from pumpmgr.services.inputs import Verification

    if not args.reason or not args.reason.strip():
        raise _refuse("--reason", "say why the refill is corrected", Code.NO_VALUE)
    given = corrections(args)
    password, second_password = _passwords(
        args, [f"Password of {args.user}", f"Password of {args.second_nurse} (second nurse)"]
    )
    with _open(args, must_exist=True) as database:
        clinic = ClinicService(database)
        try:
            actor = clinic.sign_in(args.user, password)
        except PumpMgrError as error:
            raise named(error, _SIGN_IN) from error
        try:
            patient_id = HospitalService(clinic).patient_of(RecordRef("refill", args.refill))
            old = next(r for r in clinic.patient_chart(patient_id).refills if r.id == args.refill)
            new = clinic.correct_refill(
                actor,
                Verification(args.second_nurse, second_password),
                args.refill,
                args.reason,
                **given,
            )
        except PumpMgrError as error:
            raise named(error, _OPTIONS) from error
        if args.json:
            print(_dump(jsonable(new)))
            return EXIT_OK
        chart = clinic.patient_chart(patient_id)
        buffer_days = clinic.settings().buffer_days
    print(refill_corrected_text(old, new, clinic.tz))
    print(f"Saved as refill:{new.id}, correcting refill:{old.id}; checked by {new.verifier}.")
    forecast = chart.forecast if chart.pump is not None and chart.pump.id == new.pump_id else None
    if forecast is not None:
        why = due_reason_words(
            forecast.refill_due_reason,
            buffer_days=buffer_days,
            constant_flow=chart.pump is not None and chart.pump.pump_type == "constant_flow",
        )
        print(f"Forecast worked out again: refill due {format_date(forecast.refill_due)} ({why}).")
    return EXIT_OK


def add_parser(subparsers: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """Register ``correct-refill`` on the top-level parser."""
    del parser_class
    p: argparse.ArgumentParser = subparsers.add_parser(
        "correct-refill",
        help="correct a refill recorded wrong (a second nurse verifies)",
        description="Correct a refill recorded wrong: a new record pointing at the refill, "
        "which stays as it was recorded. Give only the values recorded wrong; the verdict and "
        "the forecast are worked out again. --user signs in and --second-nurse verifies, each "
        "with their own password. The refill's id is in 'pumpmgr patient MRN' and its notes.",
    )
    p.set_defaults(records=run_correct_refill)
    p.add_argument(
        "refill", metavar="REFILL_ID", type=_refill_id, help="the refill, as 12 or refill:12"
    )
    p.add_argument("--reason", required=True, metavar="TEXT", help="why it is corrected")
    p.add_argument("--aspirated", metavar="VOLUME", help="the volume aspirated, e.g. 12.5mL")
    p.add_argument("--added", metavar="VOLUME", help="the volume added, e.g. 20mL")
    p.add_argument("--lot", metavar="TEXT", help="the solution's lot number")
    p.add_argument(
        "--expiry",
        metavar="DATE",
        help="the solution's expiry or beyond-use date (2026-06-30; 2026-06 is its last day)",
    )
    p.add_argument("--note", metavar="TEXT", help="the discrepancy note ('' removes it)")
    dilution = p.add_mutually_exclusive_group()
    dilution.add_argument(
        "--undiluted",
        dest="undiluted",
        action="store_const",
        const=True,
        help="the solution went in undiluted, as supplied (ziconotide)",
    )
    dilution.add_argument(
        "--diluted",
        dest="undiluted",
        action="store_const",
        const=False,
        help="the solution went in diluted (ziconotide)",
    )
    p.add_argument("--user", required=True, metavar="USER", help="the user correcting the refill")
    p.add_argument(
        "--second-nurse",
        required=True,
        metavar="USER",
        help="the second nurse who checks the correction with their own password",
    )
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the passwords from standard input, one a line: the user's, then the "
        "second nurse's",
    )
    p.add_argument("--json", action="store_true", help="print the corrected refill as JSON")
    p.add_argument(
        "--db",
        metavar="PATH_OR_URL",
        default=argparse.SUPPRESS,
        help="the database (also accepted before the command)",
    )
