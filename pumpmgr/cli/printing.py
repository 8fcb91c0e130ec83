"""``pumpmgr print``: the clinic's sheets as PDF files, the same pages the desktop program prints.

An unknown record number or a bad option exits 2 with one line and writes no file: the PDF is
made in memory first and written only when complete, to a file that did not exist. The services
and reportlab are imported when a sheet is made, never by the other commands.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pumpmgr.cli.dates import iso_day
from pumpmgr.cli.paths import new_file
from pumpmgr.cli.readers import add_reader_options
from pumpmgr.cli.records import _db_option, _open, _refuse, named
from pumpmgr.errors import Code, PumpMgrError
from pumpmgr.files import write_private_bytes
from pumpmgr.units import Kind, Quantity, parse

if TYPE_CHECKING:
    from pumpmgr.services.sheets import SheetService

Handler = Callable[[argparse.Namespace], int]
#: The sheet service's field names as this command's options.
_OPTIONS = {"completed refill": "--completed", "end date": "--to", "day": "--date"}


#: The dates a sheet can be printed for: a clinic's records lie well inside them, and the
#: arithmetic of a date at the very end of the calendar (9999-12-31) would overflow.
DATE_RANGE = (date(1900, 1, 1), date(2999, 12, 31))


def _write(target: Path, pdf: bytes) -> int:
    try:
        write_private_bytes(target, pdf, exclusive=True)  # owner-only: it names patients
    except OSError as error:
        raise _refuse(
            "--out", f"{target} cannot be written ({error.strerror})", Code.NO_VALUE
        ) from error
    print(f"wrote {target} ({len(pdf) // 1024 + 1} kB)")
    return 0


def _sheets(args: argparse.Namespace, make: Callable[[SheetService], bytes]) -> int:
    # the services and reportlab load with the first sheet, not with every command
    from pumpmgr.cli.readers import access_details, reader, reader_password
    from pumpmgr.services.audit_trail import PRINT_ACTION
    from pumpmgr.services.clinic import ClinicService
    from pumpmgr.services.sheets import SheetService

    target = new_file("--out", args.out)
    password = reader_password(args)
    with _open(args, must_exist=True) as database:
        clinic = ClinicService(database)
        who = reader(clinic, args, password)
        try:
            pdf = make(SheetService(clinic))
        except PumpMgrError as error:
            raise named(error, _OPTIONS) from error
        status = _write(target, pdf)
        mrn = getattr(args, "mrn", None)  # who printed which patient's sheet, when
        clinic.records.record_access(
            who,
            PRINT_ACTION,
            None if mrn is None else clinic.find_patient(mrn).id,
            access_details(who, {"sheet": args.print_command, "file": target.name}),
        )
    return status


def run_worksheet(args: argparse.Namespace) -> int:
    return _sheets(args, lambda s: s.worksheet(args.mrn, completed_refill_id=args.completed))


def run_history(args: argparse.Namespace) -> int:
    return _sheets(args, lambda s: s.history(args.mrn))


def run_card(args: argparse.Namespace) -> int:
    return _sheets(args, lambda s: s.card(args.mrn))


def run_handoff(args: argparse.Namespace) -> int:
    return _sheets(args, lambda s: s.handoff(args.mrn))


def run_reminder(args: argparse.Namespace) -> int:
    return _sheets(args, lambda s: s.reminder(args.mrn))


def run_due(args: argparse.Namespace) -> int:
    return _sheets(args, lambda s: s.due(args.start, args.end))


def run_compounding(args: argparse.Namespace) -> int:
    stocks: dict[str, Quantity] = {}
    for drug, strength in args.stock:
        stocks[drug.strip().lower()] = parse(strength, Kind.CONCENTRATION, "--stock")
    extra = (
        None
        if args.extra_volume is None
        else parse(args.extra_volume, Kind.VOLUME, "--extra-volume")
    )
    return _sheets(
        args, lambda s: s.compounding(args.mrn, stocks=stocks or None, extra_volume=extra)
    )


def run_day(args: argparse.Namespace) -> int:
    def progress(done: int, total: int) -> None:
        print(
            f"\rworksheets {done}/{total}",
            end="" if done < total else "\n",
            file=sys.stderr,
            flush=True,
        )

    day = args.date
    return _sheets(args, lambda s: s.day(day or s.next_open_day(), progress))


def add_parser(subparsers: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """Register ``print`` and its sheets on the top-level parser."""
    printing = subparsers.add_parser(
        "print",
        help="print a sheet to a PDF file",
        description="Print one of the clinic's sheets to a PDF.",
    )
    sheets = printing.add_subparsers(
        dest="print_command", metavar="SHEET", parser_class=parser_class, required=True
    )

    def sheet(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = sheets.add_parser(
            name, help=help_text, description=help_text
        )
        sub.set_defaults(records=handler)
        _db_option(sub)
        sub.add_argument("--out", required=True, metavar="FILE", help="a new PDF file")
        add_reader_options(sub, "printing")
        return sub

    p = sheet(
        "worksheet",
        run_worksheet,
        "the refill worksheet (before the visit, or the "
        "completed record of a refill with --completed)",
    )
    p.add_argument("mrn", metavar="MRN")
    p.add_argument(
        "--completed",
        type=int,
        metavar="REFILL_ID",
        help="the refill to print as completed (ids are in 'pumpmgr patient MRN')",
    )
    p = sheet("history", run_history, "one patient's history")
    p.add_argument("mrn", metavar="MRN")
    p = sheet("card", run_card, "the patient's wallet card")
    p.add_argument("mrn", metavar="MRN")
    p = sheet("handoff", run_handoff, "the admission hand-off sheet for a ward (one page)")
    p.add_argument("mrn", metavar="MRN")
    p = sheet(
        "reminder",
        run_reminder,
        "the patient's reminder letter of the booked refill "
        "visit: the appointment, the alarm date, what to do if it sounds, the warning "
        "signs of withdrawal",
    )
    p.add_argument("mrn", metavar="MRN")
    p = sheet("due", run_due, "the due list for a period")
    p.add_argument(
        "--from", dest="start", required=True, type=iso_day("--from", DATE_RANGE), metavar="DATE"
    )
    p.add_argument(
        "--to", dest="end", required=True, type=iso_day("--to", DATE_RANGE), metavar="DATE"
    )
    p = sheet("compounding", run_compounding, "the compounding sheet of the patient's solution")
    p.add_argument("mrn", metavar="MRN")
    p.add_argument(
        "--stock",
        nargs=2,
        action="append",
        default=[],
        metavar=("DRUG", "Q"),
        help="the stock a drug is drawn from, e.g. --stock morphine '25 mg/mL'",
    )
    p.add_argument("--extra-volume", metavar="Q", help="prepared beyond the fill, e.g. '2 mL'")
    p = sheet(
        "day",
        run_day,
        "the worksheets of the visits booked on a day, in booked time "
        "order, then the pumps due by then and not booked, in one file",
    )
    p.add_argument(
        "--date",
        type=iso_day("--date", DATE_RANGE),
        metavar="DATE",
        help="default: today, or the clinic's next open day",
    )
