"""``pumpmgr note RECORD_ID`` and ``pumpmgr export --fhir``: what the clinic hands the hospital
(presentation layer over :class:`pumpmgr.services.hospital.HospitalService`).

A bad record id, an unknown record, a missing MRN system or an existing ``--out`` file exits 2
with one line naming the option, and writes nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pumpmgr.cli.dates import iso_day
from pumpmgr.cli.paths import new_file
from pumpmgr.cli.records import _open, _refuse
from pumpmgr.errors import Code, PumpMgrError
from pumpmgr.files import write_private_bytes
from pumpmgr.visit_note import parse_record_ref


def _named(error: PumpMgrError, option: str) -> PumpMgrError:
    """``error`` led by the command-line option that supplied its field."""
    rest = error.message.split(":", 1)[-1].strip()
    return _refuse(option, rest, error.code)


def run_note(args: argparse.Namespace) -> int:
    from pumpmgr.services.clinic import ClinicService  # the services load with the command
    from pumpmgr.services.hospital import HospitalService

    try:
        ref = parse_record_ref(args.record, "RECORD_ID")
    except PumpMgrError as error:
        raise _named(error, "RECORD_ID") from error
    with _open(args, must_exist=True) as database:
        try:
            text = HospitalService(ClinicService(database)).note(ref)
        except PumpMgrError as error:
            if error.field == "record":
                raise _named(error, "RECORD_ID") from error
            raise
    sys.stdout.write(text)
    return 0


def run_fhir_export(args: argparse.Namespace) -> int:
    from pumpmgr.cli.readers import reader, reader_password
    from pumpmgr.services.clinic import ClinicService
    from pumpmgr.services.hospital import HospitalService

    if args.out is None:
        raise _refuse("--out", "give the file the FHIR bundle is written to", Code.NO_VALUE)
    out = new_file("--out", args.out)
    if (args.patient is None) == (args.since is None):
        raise _refuse("--fhir", "give --patient MRN or --since DATE", Code.NO_VALUE)
    password = reader_password(args)
    with _open(args, must_exist=True) as database:
        clinic = ClinicService(database)
        hospital = HospitalService(clinic)
        try:
            document = hospital.export_fhir(
                reader(clinic, args, password),
                mrn=args.patient,
                since=args.since,
                mrn_system=args.mrn_system,
            )
        except PumpMgrError as error:
            option = {"MRN system": "--mrn-system", "MRN": "--patient"}.get(error.field or "")
            if option is not None:
                raise _named(error, option) from error
            raise
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    try:
        write_private_bytes(out, text.encode("utf-8"), exclusive=True)  # owner-only: patient data
    except OSError as error:
        raise _refuse("--out", f"{out} cannot be written ({error.strerror})") from error
    entries = document["entry"]
    patients = sum(1 for e in entries if e["resource"]["resourceType"] == "Patient")
    print(
        f"Exported a FHIR R4 bundle of {len(entries)} resources ({patients} patients) to "
        f"{out.absolute()}; the export is in the audit log."
    )
    return 0


def add_export_options(parser: argparse.ArgumentParser) -> None:
    """The FHIR options of ``pumpmgr export``."""
    parser.add_argument(
        "--fhir",
        action="store_true",
        help="a FHIR R4 Bundle (JSON) for the hospital's record, of one patient "
        "(--patient) or of every record written since a date (--since); needs "
        "--out; audited",
    )
    parser.add_argument("--patient", metavar="MRN", help="with --fhir: the patient")
    parser.add_argument(
        "--since",
        type=iso_day("--since"),
        metavar="DATE",
        help="with --fhir: records written on or after DATE (the clinic's day)",
    )
    parser.add_argument(
        "--mrn-system",
        metavar="URI",
        help="with --fhir: the MRN system URI, if the clinic's is not set",
    )


def add_parser(subparsers: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """Register ``note`` on the top-level parser."""
    note = subparsers.add_parser(
        "note",
        help="the visit note of a refill, prescription or event, for the hospital's record",
        description="Print the visit note of one record in the clinic's template: "
        "RECORD_ID is refill:ID, prescription:ID or event:ID (the ids are in "
        "'pumpmgr patient MRN --json').",
    )
    note.set_defaults(records=run_note)
    note.add_argument(
        "--db",
        metavar="PATH_OR_URL",
        default=argparse.SUPPRESS,
        help="the database (also accepted before the command)",
    )
    note.add_argument("record", metavar="RECORD_ID")
