"""The clinic's records from the command line: ``demo``, ``due``, ``patient``, ``user add``,
``audit verify``, ``backup``, ``restore``, ``export`` and ``import`` (presentation layer).

May import the standard library, the application layer (``pumpmgr.services``), the persistence
layer for opening, backing up and restoring the database (``pumpmgr.db.engine``,
``pumpmgr.db.backup``, ``pumpmgr.db.audit``), ``pumpmgr.auth`` for the account rules, and the pure
modules (formatting, records, units); never ``ui`` or Qt. The database, the services and the
password hasher are imported inside the commands that use them, so ``pumpmgr --version`` and
``pumpmgr calc`` load none of them (``tests/cli/test_lazy_imports.py``).

The database is ``--db PATH_OR_URL`` (before or after the command), else the ``PUMPMGR_DB``
environment variable, else ``pumpmgr.db`` in the user's data folder. Commands that read the
records (``due``, ``patient``, ``audit verify``, ``backup``, ``export``; each may add an audit
entry: who viewed or exported what, the integrity check's) refuse a SQLite file that does not
exist rather than create an empty one.

Exit status: 0 done; 1 ``audit verify`` found the audit log broken, or a record or stored
forecast that does not match it; 2 bad input or a refusal,
with one line on standard error naming the option and nothing written.

Over 600 lines on purpose: each command is a short ``run_*`` function over the helpers at the
top (opening the database, refusing input, tables and JSON), which the other record commands
(:mod:`.audit_log`, :mod:`.bookings`, :mod:`.hospital`, :mod:`.printing`) import too; the
parsers at the end are the one list of the clinic's record commands.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import os
import shutil
import stat
import sys
import tempfile
import time as timing
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, tzinfo
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pumpmgr.booking import due_booking_text
from pumpmgr.catalogs import default_catalogs
from pumpmgr.cli.paths import new_file, path_problem
from pumpmgr.errors import Code, InputError, PumpMgrError
from pumpmgr.forecast import due_reason_words
from pumpmgr.formatting import (
    days_left_text,
    format_date,
    format_datetime,
    format_number,
    format_quantity,
)
from pumpmgr.records import (
    INDICATION_TEXT,
    DueRow,
    PatientChart,
    PrescriptionRecord,
)
from pumpmgr.units import Kind, Quantity, as_unit, kind_of, ureg
from pumpmgr.urgency import reason_text, state_text
from pumpmgr.wording import bolus_text, schedule_lines, solution_text

if TYPE_CHECKING:
    from pumpmgr.db.audit import ChainAnchor
    from pumpmgr.db.engine import Database
    from pumpmgr.services.values import Actor

Handler = Callable[[argparse.Namespace], int]

EXIT_OK = 0
EXIT_BROKEN_CHAIN = 1

ROLES = ("nurse", "prescriber", "administrator")

#: An export larger than this is refused before it is read: far beyond any clinic's records,
#: and reading it would hold that much memory.
MAX_IMPORT_BYTES = 1 << 30


# ------------------------------------------------------------------------------ helpers


def _refuse(field: str, message: str, code: Code = Code.OUT_OF_RANGE) -> InputError:
    return InputError(f"{field}: {message}", code=code, field=field)


def named(error: PumpMgrError, options: Mapping[str, str]) -> PumpMgrError:
    """``error`` led by the command's option that supplied its field (``options``: the
    services' field names as the command's options), unchanged when none did: the services
    name what a nurse filled in, the command line adds its option names itself."""
    option = options.get(error.field or "")
    if option is None:
        return error
    rest = error.message.split(":", 1)[-1].strip() if ":" in error.message else error.message
    return _refuse(option, rest, error.code)


def _folder_refused(path: Path) -> PumpMgrError:
    return _refuse(
        "--db",
        f"{path} is a folder; name the database file in it, for example "
        + str(path / "pumpmgr.db"),
        Code.NO_VALUE,
    )


def _open(
    args: argparse.Namespace,
    *,
    must_exist: bool,
    daily_backup: bool = True,
) -> Database:
    """The database of ``--db`` / ``PUMPMGR_DB`` / the default file; errors name ``--db``.
    ``daily_backup=False``: no start-up backup (a database that is being created)."""
    from pumpmgr.db.backup import DEFAULT_KEEP
    from pumpmgr.db.engine import open_database, resolve_database_url

    try:
        url = resolve_database_url(args.db)
        if url.get_backend_name() == "sqlite":
            path = Path(url.database or "")
            problem = path_problem(path)
            if problem is not None:
                raise _refuse("--db", problem, Code.NO_VALUE)
            if path.is_dir():
                raise _folder_refused(path)
            if must_exist and not path.exists():
                raise _refuse(
                    "--db",
                    f"there is no database at {path}; create one with "
                    "'pumpmgr demo', 'pumpmgr user add' or 'pumpmgr import'",
                    Code.NO_VALUE,
                )
        database = open_database(args.db, daily_backup_keep=DEFAULT_KEEP if daily_backup else None)
        if database.startup_backup_problem is not None:
            print(
                f"pumpmgr: warning: today's automatic backup was not taken: "
                f"{database.startup_backup_problem}",
                file=sys.stderr,
            )
        return database
    except PumpMgrError as error:
        if error.field is not None and error.field.startswith("--"):
            raise
        raise PumpMgrError(f"--db: {error.message}", code=error.code, field="--db") from error


def _require_empty(database: Database, what: str) -> None:
    """Refuse a database holding records, naming ``--db`` (before anything is written)."""
    from pumpmgr.services.exchange import require_empty

    try:
        with database.read() as session:
            require_empty(session, what)
    except PumpMgrError as error:
        raise _refuse("--db", error.message, error.code) from error


def _where(database: Database) -> str:
    if database.path is not None:
        return str(database.path)
    return database.url.render_as_string(hide_password=True)


def _whole(low: int, high: int | None, example: str) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` (to ``high``); one-line message."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"'{text}' is not a whole number; for example {example}"
            ) from None
        if value < low or (high is not None and value > high):
            upper = "" if high is None else f" to {high}"
            raise argparse.ArgumentTypeError(f"give {low}{upper}, not {value}")
        return value

    return parse


def _patients(text: str) -> int:
    """``demo --patients``: a whole number up to the demo's limit (read with the demo, which
    only that command loads)."""
    from pumpmgr.demo import MAX_PATIENTS

    return _whole(1, MAX_PATIENTS, "24")(text)


def _number(value: float) -> float | int:
    rounded = float(f"{value:.12g}")
    return int(rounded) if rounded.is_integer() and abs(rounded) < 2**53 else rounded


def jsonable(value: Any) -> Any:
    """Records as JSON values: a quantity is ``{"value", "unit"}`` in its canonical unit
    (mcg, mL, mcg/day, mcg/mL, mL/day, cm, mL/cm, day), instants ISO 8601 in UTC, dates and
    times ISO 8601."""
    if isinstance(value, ureg.Quantity):
        kind = kind_of(value)
        unit = "day" if kind is None else kind.spec.canonical
        return {"value": _number(float(value.to(as_unit(unit)).m)), "unit": unit}
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, frozenset | set):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, float):
        return _number(value)
    return value


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], indent: str = "") -> str:
    """Columns aligned on the widest cell; the last column is not padded."""
    body = [list(headers), *[list(r) for r in rows]]
    widths = [max(len(r[i]) for r in body) for i in range(len(headers))]
    lines = []
    for row in body:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])] + [row[-1]]
        lines.append((indent + "  ".join(cells)).rstrip())
    return "\n".join(lines)


def _q(quantity: Quantity | None, kind: Kind, mass_unit: str = "mcg") -> str:
    if quantity is None:
        return "not recorded"
    return format_quantity(quantity, kind, "mg" if mass_unit == "mg" else "mcg")


def _days(value: float) -> str:
    text = format_number(value, 1)
    return f"{text} day" if text in ("1", "-1") else f"{text} days"


def _local(moment: datetime, tz: tzinfo) -> str:
    return format_datetime(moment.astimezone(tz))


# ------------------------------------------------------------------------------ demo


def run_demo(args: argparse.Namespace) -> int:
    from pumpmgr.demo import DEMO_USERS, build_demo_clinic

    started = timing.perf_counter()
    with _open(args, must_exist=False) as database:
        _require_empty(database, "the demo clinic is written")
        progress = None
        if sys.stderr.isatty():

            def progress(done: float) -> None:
                print(
                    f"\rwriting the demo clinic: {done * 100:3.0f} %",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )

        summary = build_demo_clinic(
            database, patients=args.patients, seed=args.seed, progress=progress
        )
        if progress is not None:
            print(file=sys.stderr)
        chain = database.verify_audit_chain()
        where = _where(database)
    seconds = timing.perf_counter() - started
    print(
        f"Demo clinic written to {where} in {seconds:.1f} s: {summary.patients} patients, "
        f"{summary.pumps} pumps, {summary.prescriptions} prescriptions, {summary.refills} "
        f"refills ({summary.discrepancies} with a discrepancy to investigate), "
        f"{summary.events} pump events."
    )
    print(
        f"History from {format_date(summary.first_day)} to today, "
        f"{format_date(summary.today)}; {summary.actions} service actions wrote "
        f"{summary.audit_entries} audit entries; audit chain "
        f"{'intact' if chain.ok else 'BROKEN: ' + chain.message}."
    )
    print(
        f"Due list: {len(summary.overdue)} overdue, {len(summary.due_this_week)} due this "
        f"week; {len(summary.replace_within_6_months)} pump(s) to replace within 6 months."
    )
    print()
    print("Demo users (demo passwords only, never for real accounts):")
    print(
        table(
            ("user name", "password", "role", "name"),
            [(u.username, u.password, u.role, u.full_name) for u in DEMO_USERS],
            "  ",
        )
    )
    print()
    print("Next: pumpmgr due   |   pumpmgr patient D000001")
    return EXIT_OK


# ------------------------------------------------------------------------------ due


def due_json(row: DueRow) -> dict[str, Any]:
    data: dict[str, Any] = jsonable(row)
    data["days_left"] = round(row.days_left, 2)
    if row.volume_left_ml is not None:  # volumes to 0.01 mL (domain-rules §1)
        data["volume_left_ml"] = round(row.volume_left_ml, 2)
    return data


def due_text(rows: Sequence[DueRow], tz: tzinfo, today: date, buffer_days: int) -> str:
    from pumpmgr.services.queries import REPLACE_BY_WARNING_DAYS

    def notes(row: DueRow) -> str:
        found = []
        if row.open_discrepancy:
            found.append("discrepancy to investigate")
        if row.flex_schedule:
            found.append("flex schedule")
        if row.replace_by is not None and (row.replace_by - today).days <= (
            REPLACE_BY_WARNING_DAYS
        ):
            found.append(f"replace by {format_date(row.replace_by)}")
        return "; ".join(found)

    return table(
        (
            "Refill due",
            "Booked",
            "State",
            "To alarm",
            "Patient",
            "MRN",
            "Pump",
            "Drug",
            "Alarm",
            "Set by",
            "Booking",
            "Notes",
        ),
        [
            (
                format_date(r.refill_due),
                "" if r.booked_on is None else format_date(r.booked_on),
                state_text(r),
                days_left_text(r.days_left),
                r.patient,
                r.mrn,
                r.pump_model,
                r.drug,
                _local(r.alarm_at, tz),
                reason_text(r, buffer_days),
                due_booking_text(r),
                notes(r),
            )
            for r in rows
        ],
    )


#: What ``due`` says before any full integrity check has run.
NO_FULL_CHECK = (
    "No full integrity check has run yet: the window runs one a day, or run 'pumpmgr audit verify'."
)


def run_due(args: argparse.Namespace) -> int:
    from pumpmgr.services.clinic import ClinicService
    from pumpmgr.services.records import integrity_notice

    with _open(args, must_exist=True) as database:
        clinic = ClinicService(database)
        notice = integrity_notice(clinic.records.check_since_checkpoint())
        if notice is not None:  # on the due list of everyone; the records are still listed
            print(f"pumpmgr: {notice}", file=sys.stderr if args.json else sys.stdout)
        rows = clinic.due_list(within_days=args.within)
        last = clinic.records.last_full_check()
        checked = NO_FULL_CHECK if last is None else last.summary(clinic.tz)
        if args.json:
            print(_dump([due_json(r) for r in rows]))
            print(f"pumpmgr: {checked}", file=sys.stderr)
            return EXIT_OK
        if not rows:
            scope = "" if args.within is None else f" within {_days(args.within)}"
            print(f"No active pump is due for a refill{scope}.")
        else:
            print(due_text(rows, clinic.tz, clinic.today(), clinic.settings().buffer_days))
        print(f"\n{checked}")
    return EXIT_OK


# ------------------------------------------------------------------------------ patient


def _program(rx: PrescriptionRecord) -> str:
    """The schedule and the patient's bolus in the one wording (:mod:`pumpmgr.wording`)."""
    unit = rx.primary.display_unit
    text = "; ".join(line.replace("  ", " ") for line in schedule_lines(rx.schedule, unit))
    if rx.patient_bolus is not None:
        text += f"; patient bolus {bolus_text(rx.patient_bolus, unit)}"
    return text


def patient_text(chart: PatientChart, tz: tzinfo, buffer_days: int) -> str:
    p = chart.patient
    lines = [
        f"{p.display_name}   MRN {p.mrn}   born {format_date(p.date_of_birth)}   {p.status}",
        f"Indication: {INDICATION_TEXT.get(p.indication, p.indication)}"
        + ("; renal impairment" if p.renal_impairment else ""),
    ]
    if p.emergency_contact:
        lines.append(f"Emergency contact: {p.emergency_contact}")
    if p.notes:
        lines.append(f"Notes: {p.notes}")
    lines.append("")
    pump = chart.pump
    if pump is None:
        lines.append("Pump: no active pump")
    else:
        flow = (
            ""
            if pump.nominal_flow is None
            else (f", nominal flow {_q(pump.nominal_flow, Kind.FLOW)}")
        )
        replace_by = (
            "" if pump.replace_by is None else (f", replace by {format_date(pump.replace_by)}")
        )
        lines.append(
            f"Pump: {pump.model_name}, serial {pump.serial_number}, implanted "
            f"{format_date(pump.implanted_on)} ({pump.site}); capacity "
            f"{_q(pump.capacity, Kind.VOLUME)}, alarm at "
            f"{_q(pump.alarm_volume, Kind.VOLUME)}{flow}{replace_by}"
        )
    if chart.catheter is not None:
        cat = chart.catheter
        lengths = ", ".join(_q(s.length, Kind.LENGTH) for s in cat.segments)
        volume = "" if cat.volume is None else f", volume {_q(cat.volume, Kind.VOLUME)}"
        revised = "" if cat.revised_on is None else f", revised {format_date(cat.revised_on)}"
        lines.append(
            f"Catheter: {cat.model_key}, tip {cat.tip_level}, implanted length "
            f"{lengths}{volume}{revised}"
        )
    if chart.prescription is not None:
        rx = chart.prescription
        lines.append(
            f"Prescription (since {_local(rx.effective_at, tz)}, {rx.prescriber}): "
            f"{solution_text(rx.ingredients, default_catalogs())}; {_program(rx)}"
        )
    if chart.forecast is not None:
        fc = chart.forecast
        why = due_reason_words(
            fc.refill_due_reason,
            buffer_days=buffer_days,
            constant_flow=pump is not None and pump.pump_type == "constant_flow",
        )
        lines.append(
            f"Forecast: alarm {_local(fc.alarm_at_with_boluses, tz)}; refill due "
            f"{format_date(fc.refill_due)} (set by {why})"
        )
    lines += ["", f"Pumps ({len(chart.pumps)}):"]
    lines.append(
        table(
            ("Model", "Serial", "Implanted", "Status", "Explanted"),
            [
                (
                    x.model_name,
                    x.serial_number,
                    format_date(x.implanted_on),
                    x.status,
                    ""
                    if x.explanted_on is None
                    else f"{format_date(x.explanted_on)}: {x.explant_reason}",
                )
                for x in chart.pumps
            ],
            "  ",
        )
    )
    lines += ["", f"Prescriptions ({len(chart.prescriptions)}):"]
    lines.append(
        table(
            ("Effective", "Solution", "Program", "Warnings accepted"),
            [
                (
                    _local(rx.effective_at, tz),
                    solution_text(rx.ingredients, default_catalogs()),
                    _program(rx),
                    "; ".join(f"{f.code}: {f.reason}" for f in rx.findings if f.level == "warning"),
                )
                for rx in chart.prescriptions
            ],
            "  ",
        )
    )
    lines += ["", f"Refills ({len(chart.refills)}):"]
    lines.append(
        table(
            (
                "Record",
                "Date",
                "Expected",
                "Aspirated",
                "Verdict",
                "Added",
                "Lot",
                "Nurse / second",
                "Note",
            ),
            [
                (
                    f"refill:{r.id}",  # what 'note' and 'correct-refill' take
                    _local(r.performed_at, tz),
                    _q(r.expected_residual, Kind.VOLUME)
                    if r.expected_residual is not None
                    else "first fill",
                    _q(r.aspirated, Kind.VOLUME),
                    r.discrepancy_verdict or "",
                    _q(r.volume_added, Kind.VOLUME),
                    r.lot_number,
                    f"{r.nurse} / {r.verifier}",
                    "; ".join(
                        filter(
                            None,
                            [
                                f"corrects refill:{r.corrects_id}"
                                if r.corrects_id is not None
                                else "",
                                f"bolus {_q(r.bridge_bolus, Kind.VOLUME)}"
                                if r.bridge_bolus is not None
                                else "",
                                r.discrepancy_note,
                            ],
                        )
                    ),
                )
                for r in chart.refills
            ],
            "  ",
        )
    )
    lines += ["", f"Events ({len(chart.events)}):"]
    lines.append(
        table(
            ("Date", "Event", "By", "Note"),
            [
                (
                    _local(e.occurred_at, tz),
                    e.kind.replace("_", " "),
                    e.user,
                    "; ".join(
                        [
                            f"corrects event {e.corrects_id}" if e.corrects_id is not None else "",
                            e.summary,
                            *(f"{k}: {v}" for k, v in e.details.items()),
                        ]
                    ).strip("; "),
                )
                for e in chart.events
            ],
            "  ",
        )
    )
    return "\n".join(lines)


def patient_json(chart: PatientChart) -> dict[str, Any]:
    data: dict[str, Any] = jsonable(chart)

    def doses(target: dict[str, Any], rx: PrescriptionRecord) -> None:
        target["daily_dose"] = jsonable(rx.program.daily_dose())
        target["daily_volume"] = jsonable(rx.program.daily_volume())

    if chart.prescription is not None:
        doses(data["prescription"], chart.prescription)
    for target, rx in zip(data["prescriptions"], chart.prescriptions, strict=True):
        doses(target, rx)
    return data


def run_patient(args: argparse.Namespace) -> int:
    from pumpmgr.cli.readers import access_details, reader, reader_password  # imports this
    from pumpmgr.services.audit_trail import VIEW_ACTION
    from pumpmgr.services.clinic import ClinicService

    mrn = args.mrn.strip()
    if not mrn:
        raise _refuse("MRN", "give the medical record number", Code.NO_VALUE)
    password = reader_password(args)
    with _open(args, must_exist=True) as database:
        clinic = ClinicService(database)
        who = reader(clinic, args, password)
        chart = clinic.patient_chart(clinic.find_patient(mrn).id)
        # who saw which chart, when (issue 13), as the window records it
        clinic.records.record_access(who, VIEW_ACTION, chart.patient.id, access_details(who))
        print(
            _dump(patient_json(chart))
            if args.json
            else patient_text(chart, clinic.tz, clinic.settings().buffer_days)
        )
    return EXIT_OK


# ------------------------------------------------------------------------------ users


def _read_passwords(args: argparse.Namespace, username: str) -> tuple[str, str | None]:
    """The new user's password and, with ``--user``, the administrator's."""
    if args.password_stdin:
        lines = sys.stdin.read().splitlines()
        wanted = 2 if args.user else 1
        if len(lines) < wanted:
            shape = (
                "the new user's password on the first line and the administrator's on the second"
                if args.user
                else "the new user's password"
            )
            raise _refuse("--password-stdin", f"standard input must hold {shape}", Code.NO_VALUE)
        return lines[0], (lines[1] if args.user else None)
    if not sys.stdin.isatty():
        raise _refuse(
            "--password-stdin",
            "there is no terminal to ask for the password on; "
            "give it on standard input with --password-stdin",
            Code.NO_VALUE,
        )
    password = getpass.getpass(f"Password for the new user {username}: ")
    if getpass.getpass("The same password again: ") != password:
        raise _refuse(
            "password", "the two passwords differ; nothing was saved", Code.AUTH_WEAK_PASSWORD
        )
    admin_password = None
    if args.user:
        admin_password = getpass.getpass(f"Password of the administrator {args.user}: ")
    return password, admin_password


def run_user_add(args: argparse.Namespace) -> int:
    from pumpmgr import auth
    from pumpmgr.db.engine import resolve_database_url
    from pumpmgr.services.clinic import ClinicService
    from pumpmgr.services.throttle import SignInThrottled

    try:
        username = auth.normalize_username(args.username)
    except PumpMgrError as error:
        raise _refuse("--username", error.message, error.code) from error
    if not args.full_name.strip():
        raise _refuse(
            "--full-name", "give the user's full name, for example 'Nina Berg'", Code.NO_VALUE
        )
    if args.user and args.role is None:
        raise _refuse(
            "--role", "give the new user's role: nurse, prescriber or administrator", Code.NO_VALUE
        )
    url = resolve_database_url(args.db)
    new_file = url.get_backend_name() == "sqlite" and not Path(url.database or "").exists()
    if new_file and args.user:
        raise _refuse(
            "--user",
            "there is no database yet, so no administrator; the first "
            "user is added without --user and becomes the administrator",
        )
    if new_file and args.role not in (None, "administrator"):
        raise _refuse(
            "--role",
            "the clinic's first user is its administrator; add "
            f"{username} as administrator, then add the other users",
        )
    password, admin_password = _read_passwords(args, username)
    try:
        auth.check_password_rules(password, username)
    except PumpMgrError as error:
        raise _refuse("password", error.message, error.code) from error
    with _open(args, must_exist=False) as database:
        clinic = ClinicService(database)
        if not clinic.has_users():
            if args.user:
                raise _refuse(
                    "--user",
                    "the clinic has no users yet; the first user is "
                    "added without --user and becomes the administrator",
                )
            if args.role not in (None, "administrator"):
                raise _refuse(
                    "--role",
                    "the clinic's first user is its administrator; add "
                    f"{username} as administrator, then add the other users",
                )
            actor = clinic.create_first_administrator(username, password, args.full_name)
            print(
                f"User {actor.username} ({actor.full_name}) added as the clinic's first "
                "administrator."
            )
            return EXIT_OK
        if not args.user or admin_password is None:
            raise _refuse(
                "--user",
                "the clinic already has users; give --user with an "
                "administrator's user name (their password is asked for)",
                Code.NO_VALUE,
            )
        try:
            admin = clinic.sign_in(args.user, admin_password)
        except (auth.AuthError, SignInThrottled) as error:  # throttled: shared by every call
            raise _refuse("--user", error.message, error.code) from error
        actor = clinic.add_user(admin, username, password, args.full_name, args.role)
        print(f"User {actor.username} ({actor.full_name}, {actor.role}) added by {admin.username}.")
    return EXIT_OK


# ------------------------------------------------------------------------------ audit


def _anchor(text: str) -> ChainAnchor:
    from pumpmgr.db.audit import parse_anchor

    try:
        return parse_anchor(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"{error}; give SEQ:HASH as a printed sheet shows it, for example "
            f"812:3f2a9c01d4e5b6a7, or with the whole hash from a backup manifest"
        ) from error


def _anchor_checked(anchor: ChainAnchor) -> str:
    """What was compared with the anchor: a printed sheet gives only the hash's beginning."""
    if anchor.is_prefix:
        return (
            f"entry #{anchor.seq} matches the anchor {anchor.printed()}: a PREFIX was "
            f"checked, the first {len(anchor.row_hash)} of the hash's 64 hex digits (as a "
            "printed sheet shows it)"
        )
    return f"entry #{anchor.seq} matches the anchor: all 64 hex digits of its hash checked"


def run_audit_verify(args: argparse.Namespace) -> int:
    from pumpmgr.services.clinic import ClinicService

    with _open(args, must_exist=True) as database:
        integrity = ClinicService(database).records.run_full_check(args.anchor)
    report = integrity.chain
    if report.ok:
        head = (
            "empty" if report.head is None else (f"head #{report.head.seq} {report.head.row_hash}")
        )
        print(f"audit log intact: {report.entries_checked} entries checked; {head}")
        if args.anchor is not None:
            print(_anchor_checked(args.anchor))
    else:
        print(
            f"audit log BROKEN at entry #{report.first_bad_seq} "
            f"({report.problem}): {report.message} "
            f"({report.entries_checked} entries before it are sound)"
        )
        if args.anchor is not None and args.anchor.is_prefix:
            print(
                f"The anchor {args.anchor.printed()} gives a prefix of the hash (the first "
                f"{len(args.anchor.row_hash)} of 64 hex digits), as a printed sheet shows "
                "it."
            )
    print(integrity.coverage())
    problems = integrity.problems()
    if problems:
        print(
            f"RECORDS DO NOT MATCH THE AUDIT CHAIN: {len(problems)} finding"
            f"{'' if len(problems) == 1 else 's'}"
        )
        for line in problems:
            print(f"  {line}")
    else:
        print("records and stored forecasts match the audit chain")
    return EXIT_OK if integrity.ok else EXIT_BROKEN_CHAIN


# ------------------------------------------------------------------------------ backup, restore


def run_backup(args: argparse.Namespace) -> int:
    """The window's backup (:meth:`RecordService.backup_to`): the records since the
    checkpoint checked first, a break audited and named in the manifest."""
    from pumpmgr.services.clinic import ClinicService

    target = new_file("PATH", args.path, makes_folder=True)
    with _open(args, must_exist=True) as database:
        manifest = ClinicService(database).backup_to(target)
    head = (
        "no audit entries"
        if manifest.chain_head_seq is None
        else (f"audit head #{manifest.chain_head_seq}")
    )
    print(
        f"Backup written to {target.absolute()} ({manifest.size_bytes} bytes, SHA-256 "
        f"{manifest.sha256}, {head}); manifest {target.absolute()}.json"
    )
    return EXIT_OK


#: Where a whole-clinic command takes the signed-in user's password from when it is set.
PASSWORD_VARIABLE = "PUMPMGR_PASSWORD"


def _user_password(args: argparse.Namespace) -> str:
    """The password of ``--user``: from ``PUMPMGR_PASSWORD``, standard input
    (``--password-stdin``) or the terminal's prompt."""
    from_environment = os.environ.get(PASSWORD_VARIABLE, "")
    if from_environment:
        return from_environment
    if getattr(args, "password_stdin", False):
        return sys.stdin.readline().rstrip("\r\n")
    if sys.stdin.isatty():
        return getpass.getpass(f"Password of {args.user}: ")
    raise _refuse(
        "--user",
        f"there is no terminal to ask for {args.user}'s password on; set "
        f"{PASSWORD_VARIABLE} or give it on standard input with --password-stdin",
        Code.NO_VALUE,
    )


def _administrator(args: argparse.Namespace, where: Path, doing: str) -> Actor:
    """``--user`` signed in with their password in the SQLite clinic at ``where``, who must be
    an administrator. Signed in on a copy: the sign-in may upgrade the stored hash, and a
    refused command changes nothing."""
    from pumpmgr import auth
    from pumpmgr.db.engine import open_database
    from pumpmgr.services.clinic import ClinicService
    from pumpmgr.services.throttle import SignInThrottled

    if not args.user:
        raise _refuse(
            "--user",
            f"{doing} replaces the clinic's records: give --user with an "
            "administrator's user name (the password is asked for, or taken from "
            f"{PASSWORD_VARIABLE})",
            Code.NO_VALUE,
        )
    password = _user_password(args)
    with tempfile.TemporaryDirectory(prefix="pumpmgr-sign-in-") as scratch:
        copy = Path(scratch) / "clinic.db"
        for suffix in ("-journal", "-wal"):  # after a crash, what SQLite recovers from
            side = where.with_name(where.name + suffix)
            if side.is_file():
                shutil.copyfile(side, copy.with_name(copy.name + suffix))
        where = shutil.copyfile(where, copy)
        with open_database(where, backup_dir=Path(scratch), daily_backup_keep=None) as database:
            try:
                actor = ClinicService(database).sign_in(args.user, password)
            except (auth.AuthError, SignInThrottled) as error:
                raise _refuse("--user", error.message, error.code) from error
    if actor.role != "administrator":
        raise _refuse(
            "--user",
            f"{actor.username} is a {actor.role}; only an administrator may {doing}",
            Code.AUTH_NOT_PERMITTED,
        )
    return actor


def run_restore(args: argparse.Namespace) -> int:
    from pumpmgr.db.backup import manifest_path, signed_here
    from pumpmgr.db.engine import resolve_database_url
    from pumpmgr.services.restoring import BrokenChainOverride, restore_clinic

    source = Path(args.path).expanduser()
    try:
        url = resolve_database_url(args.db)
    except PumpMgrError as error:
        raise _refuse("--db", error.message, error.code) from error
    if url.get_backend_name() != "sqlite" or url.database is None:
        raise _refuse(
            "--db", "restore replaces a SQLite file; restore a PostgreSQL database with pg_restore"
        )
    target = Path(url.database)
    problem = path_problem(target)
    if problem is not None:
        raise _refuse("--db", problem, Code.NO_VALUE)
    if target.is_dir():
        raise _folder_refused(target)
    if not source.is_file():
        raise _refuse("PATH", f"there is no backup file at {source}", Code.NO_VALUE)
    if args.override_broken_chain and not (args.reason or "").strip():
        raise _refuse(
            "--reason",
            "say why this backup is restored although its audit log is "
            "broken; it is kept in the audit log",
            Code.NO_VALUE,
        )
    if args.reason and not args.override_broken_chain:
        raise _refuse("--reason", "is only for --override-broken-chain", Code.NO_VALUE)
    # Signed in where the clinic is now, or (a new computer, none there yet) in the backup.
    administrator = _administrator(args, target if target.exists() else source, "restore a backup")
    override = (
        BrokenChainOverride(administrator, args.reason) if args.override_broken_chain else None
    )
    had_manifest = manifest_path(source).exists()
    proven = signed_here(source)
    try:
        restored = restore_clinic(
            source,
            target,
            administrator=administrator,
            require_manifest=not args.without_manifest,
            override=override,
        )
    except PumpMgrError as error:
        message = error.message
        if error.code is Code.BACKUP_NO_MANIFEST:
            message += (
                " If it never had one (a copy made by hand, or by an older pumpmgr), "
                "add --without-manifest to restore it after the checks that need no "
                "manifest."
            )
        if error.code is Code.BACKUP_CHAIN_BROKEN:
            message += " To do so, add --override-broken-chain --reason TEXT."
        # A refusal about the database being replaced names --db; one about the backup, PATH.
        raise _refuse(
            "--db" if error.field == "database" else "PATH", message, error.code
        ) from error
    report = restored.chain
    print(
        f"Restored {source.absolute()} into {target} (audit log "
        f"{'intact' if report.ok else 'BROKEN'}, {report.entries_checked} entries)."
    )
    if override is not None and restored.override_seq is not None:
        print(
            f"RESTORED WITH A BROKEN AUDIT LOG (at entry #{report.first_bad_seq}: "
            f"{report.message}). {override.administrator.username}'s decision and reason "
            f"are audit entry #{restored.override_seq}."
        )
    if not proven:
        head = (
            "it has no entries"
            if report.head is None
            else (f"its newest entry is #{report.head.seq} {report.head.row_hash}")
        )
        print(
            (
                "RESTORED WITHOUT A SIGNED MANIFEST (its manifest is not signed with this "
                "computer's clinic key, so it proves nothing).\n"
                if had_manifest
                else "RESTORED WITHOUT A MANIFEST.\n"
            )
            + "Checked: a pumpmgr database of a known schema revision, SQLite's integrity and "
            "foreign key checks, the audit log's chain on its own.\n"
            "NOT checked: that the file is unchanged since the backup was taken (no SHA-256 "
            "was recorded that proves it), so a changed value inside a record (a dose, a "
            "date) would not be noticed; and the audit log's head against the one recorded "
            "at backup time, so a log cut short or rewritten whole would not be noticed.\n"
            f"Compare the audit log's head ({head}) with one recorded elsewhere (a printed "
            "sheet, an export, an older backup's manifest: 'pumpmgr audit verify --anchor "
            "SEQ:HASH'), and the latest records with the paper chart."
        )
    if restored.safety_copy is not None:
        print(f"The database it replaced was kept as {restored.safety_copy}.")
    return EXIT_OK


# ------------------------------------------------------------------------------ export, import


def run_export(args: argparse.Namespace) -> int:
    from pumpmgr.services.exchange import export_text, write_export

    if getattr(args, "fhir", False):
        from pumpmgr.cli.hospital import run_fhir_export  # it imports this module

        return run_fhir_export(args)
    if any(getattr(args, k, None) is not None for k in ("patient", "since", "mrn_system")):
        raise _refuse("--fhir", "--patient, --since and --mrn-system go with --fhir", Code.NO_VALUE)
    from pumpmgr.cli.readers import access_details, signed_in
    from pumpmgr.services.audit_trail import EXPORT_ACTION
    from pumpmgr.services.clinic import ClinicService

    if not args.user:
        raise _refuse(
            "--user",
            "the whole clinic's export holds every record and the "
            "accounts' password hashes: give --user with an administrator's user "
            f"name (the password is asked for, or taken from {PASSWORD_VARIABLE})",
            Code.NO_VALUE,
        )
    out = None if args.out is None else new_file("--out", args.out)
    password = _user_password(args)
    with _open(args, must_exist=True) as database:
        clinic = ClinicService(database)
        who = signed_in(clinic, args, password)
        try:
            document = clinic.records.export_document(who)
        except PumpMgrError as error:
            raise _refuse("--user", error.message.removeprefix("user: "), error.code) from error
        if out is None:
            sys.stdout.write(export_text(document))
        else:
            try:
                write_export(document, out)
            except OSError as error:
                raise _refuse("--out", f"{out} cannot be written ({error.strerror})") from error
        clinic.records.record_access(
            who,
            EXPORT_ACTION,
            None,
            access_details(
                who,
                {
                    "file": "standard output" if out is None else out.name,
                    "patients": len(document["tables"]["patients"]),
                },
            ),
        )
    if out is None:
        return EXIT_OK
    rows = sum(len(r) for r in document["tables"].values())
    print(
        f"Exported {rows} rows ({len(document['tables']['patients'])} patients, "
        f"{len(document['tables']['audit_log'])} audit entries) to {out.absolute()}"
    )
    return EXIT_OK


def _read_import(name: str) -> str:
    """The text of the export ``name`` (``-``: standard input). A pipe, device or folder is
    refused before it is opened: opening a pipe nobody writes waits for ever, and a device
    such as /dev/zero never ends."""
    if name == "-":
        return sys.stdin.read()
    path = Path(name).expanduser()
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise _refuse(
                "FILE",
                f"{name} is not a file (a pipe, device or folder); give an "
                "export file, or - to read standard input",
                Code.NO_VALUE,
            )
        if path.stat().st_size > MAX_IMPORT_BYTES:
            raise _refuse(
                "FILE",
                f"{name} is larger than {MAX_IMPORT_BYTES // 2**20} MiB, "
                "far more than any clinic's export",
                Code.OUT_OF_RANGE,
            )
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise _refuse("FILE", f"{name} cannot be read ({reason})", Code.NO_VALUE) from error


def _new_sqlite_file(args: argparse.Namespace) -> Path | None:
    """The SQLite file ``--db`` names when it does not exist yet (the command creates it)."""
    from pumpmgr.db.engine import resolve_database_url

    try:
        url = resolve_database_url(args.db)
    except PumpMgrError:
        return None  # _open names the problem
    if url.get_backend_name() != "sqlite" or not url.database:
        return None
    path = Path(url.database).absolute()
    return None if path.exists() else path


def run_import(args: argparse.Namespace) -> int:
    from pumpmgr.services.exchange import ExchangeError, check_document, import_clinic

    text = _read_import(args.file)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise _refuse(
            "FILE",
            f"{args.file} is not JSON (line {error.lineno}, column {error.colno}: {error.msg})",
            Code.BAD_NUMBER,
        ) from error
    except RecursionError as error:
        raise _refuse(
            "FILE",
            f"{args.file} nests its values too deeply to be a pumpmgr export",
            Code.BAD_NUMBER,
        ) from error
    except ValueError as error:  # a number of more digits than Python converts (4,300)
        raise _refuse(
            "FILE",
            f"{args.file} holds a number too long to read (thousands of "
            "digits), so it is not a pumpmgr export",
            Code.BAD_NUMBER,
        ) from error
    try:
        check_document(document)
    except PumpMgrError as error:
        raise _refuse("FILE", error.message, error.code) from error
    if not args.user:
        raise _refuse(
            "--user",
            "an import replaces the clinic's records: give --user with one "
            "of the document's administrators (the password is asked for, or taken "
            f"from {PASSWORD_VARIABLE})",
            Code.NO_VALUE,
        )
    password = _user_password(args)
    new_file = _new_sqlite_file(args)
    database = _open(args, must_exist=False, daily_backup=new_file is None)
    try:
        with database:
            _require_empty(database, "an export is imported")
            try:
                summary = import_clinic(database, document, username=args.user, password=password)
            except ExchangeError as error:  # what the document holds: name the file
                if error.code is Code.DB_CONFLICT:
                    raise
                if error.field == "user":  # the sign-in: name --user
                    raise _refuse(
                        "--user", error.message.removeprefix("user: "), error.code
                    ) from error
                raise _refuse("FILE", error.message, error.code) from error
            where = _where(database)
    except BaseException:
        if new_file is not None:  # a refused import leaves no file behind
            for path in (
                new_file,
                *(
                    new_file.with_name(new_file.name + suffix)
                    for suffix in ("-journal", "-wal", "-shm", ".pumpmgr-lock")
                ),
            ):
                path.unlink(missing_ok=True)
        raise
    print(
        f"Imported {sum(summary.rows.values())} rows ({summary.rows.get('patients', 0)} "
        f"patients) into {where}; audit log verified, {summary.audit_entries} entries; the "
        f"import is audit entry #{summary.chain_head.seq if summary.chain_head else '?'} "
        f"under {args.user}."
    )
    return EXIT_OK


# ------------------------------------------------------------------------------ the parsers


USER_ADD_HELP = """\
Add a user. The clinic's first user is added without a sign-in and becomes its administrator
(--role may be left out or must be administrator). Every later user is added by an
administrator: give --user with the administrator's user name (the one signing in); their
password is asked for after the new user's.

Passwords are asked for on the terminal (the new one twice), never given as options. With
--password-stdin they are read from standard input instead: the new user's password on the
first line and, with --user, the administrator's password on the second. Passwords have at
least 8 characters and are not the user name.
"""


def _db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="PATH_OR_URL",
        default=argparse.SUPPRESS,
        help="the database (also accepted before the command)",
    )


def add_parsers(subparsers: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """Register the records commands on the top-level parser."""

    def command(
        name: str,
        handler: Handler,
        help_text: str,
        *,
        where: Any = subparsers,
        description: str | None = None,
    ) -> argparse.ArgumentParser:
        text = description or help_text
        sub: argparse.ArgumentParser = where.add_parser(
            name,
            help=help_text,
            description=text,
            formatter_class=argparse.RawDescriptionHelpFormatter
            if "\n" in text
            else argparse.HelpFormatter,
        )
        sub.set_defaults(records=handler)
        _db_option(sub)
        return sub

    p = command(
        "demo",
        run_demo,
        "fill an empty database with a realistic demo clinic",
        description="Fill an EMPTY database with a realistic demo clinic: several "
        "years of refills, written through the clinic's services and audited, dated "
        "relative to today. Refuses a database that holds any record. The demo "
        "users and their (demo-only) passwords are printed at the end. Each action is "
        "saved as it is written: if the run is interrupted, delete the database and "
        "start again.",
    )
    p.add_argument(
        "--patients", type=_patients, default=24, metavar="N", help="how many patients (default 24)"
    )
    p.add_argument(
        "--seed",
        type=_whole(0, None, "1"),
        default=1,
        metavar="S",
        help="the same seed gives the same clinic (default 1)",
    )

    p = command("due", run_due, "active pumps by refill-due date, earliest first")
    p.add_argument(
        "--within",
        type=_whole(0, 3650, "14"),
        metavar="DAYS",
        help="only pumps due within this many days from today (overdue included)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON list")

    p = command(
        "patient",
        run_patient,
        "one patient's current state and history",
        description="One patient's current state and history. The view is in the audit "
        "log under --user when given, else under the computer's account.",
    )
    p.add_argument("mrn", metavar="MRN", help="medical record number")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    from pumpmgr.cli.readers import add_reader_options  # it imports this module

    add_reader_options(p, "viewing the chart")

    user = subparsers.add_parser("user", help="user accounts", description="User accounts.")
    users = user.add_subparsers(
        dest="user_command", metavar="ACTION", parser_class=parser_class, required=True
    )
    p = command("add", run_user_add, "add a user", where=users, description=USER_ADD_HELP)
    p.add_argument("--username", required=True, metavar="U", help="the new user's name")
    p.add_argument("--full-name", required=True, metavar="N")
    p.add_argument("--role", choices=ROLES, metavar="R", help="nurse, prescriber or administrator")
    p.add_argument(
        "--user",
        metavar="USER",
        help="the administrator adding the user, signed in with their password",
    )
    p.add_argument(
        "--password-stdin", action="store_true", help="read the password(s) from standard input"
    )

    audit = subparsers.add_parser("audit", help="the audit log", description="The audit log.")
    audits = audit.add_subparsers(
        dest="audit_command", metavar="ACTION", parser_class=parser_class, required=True
    )
    p = command(
        "verify",
        run_audit_verify,
        "check the audit log's hash chain, the records and the stored forecasts",
        where=audits,
        description="Check every audit entry's hash and its link to the one before, "
        "then every record against the row images the entries carry (a record "
        "changed, inserted or deleted outside pumpmgr is named: table, id, columns), "
        "then every stored forecast against its records, on a consistent snapshot "
        "(writers are not held up). Exit 0 when all match; 1 with the first altered, "
        "inserted or removed entry and every finding. The check is recorded in the "
        "audit log (integrity.full_check: when, where, what it found; a break, an "
        "anchor that does not match included, also as integrity.break), as the "
        "window's daily one is; 'pumpmgr due' says when the last one ran.",
    )
    p.add_argument(
        "--anchor",
        type=_anchor,
        metavar="SEQ:HASH",
        help="a chain head recorded elsewhere: as a printed sheet's footer shows "
        "it (812:3f2a9c01d4e5b6a7, the hash's first 16 hex digits) or a backup "
        "manifest's (the whole hash); also catches a log rewritten or cut short "
        "up to it",
    )
    from pumpmgr.cli.audit_log import add_parsers as add_audit_log  # it imports this module

    add_audit_log(command, audits, users)

    p = command(
        "backup",
        run_backup,
        "an online, consistent copy of the SQLite database",
        description="Write an online, consistent copy of the SQLite database to PATH "
        "(a new file) with a manifest PATH.json beside it (SHA-256, schema revision, "
        "audit chain head). Safe while pumpmgr runs. For PostgreSQL use pg_dump.",
    )
    p.add_argument("path", metavar="PATH")

    p = command(
        "restore",
        run_restore,
        "replace the SQLite database with a checked backup",
        description="Replace the SQLite database (--db) with the backup at PATH, after "
        "checking it (integrity, pumpmgr schema, manifest, audit chain), for an "
        "administrator signed in with --user. Close every pumpmgr window first. The "
        "database being replaced is kept in backups/ beside it.",
    )
    p.add_argument("path", metavar="PATH")
    p.add_argument(
        "--user",
        metavar="USER",
        help="the administrator restoring, signed in with their password (asked "
        "for, or taken from PUMPMGR_PASSWORD, or read from standard input with "
        "--password-stdin); the restore is audited under this name",
    )
    p.add_argument(
        "--override-broken-chain",
        action="store_true",
        help="restore a backup whose audit log is broken (its manifest says so): "
        "the administrator's decision, with --reason TEXT, kept in the restored "
        "audit log",
    )
    p.add_argument("--reason", metavar="TEXT", help="why the broken backup is restored")
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the administrator's password from standard input",
    )
    p.add_argument(
        "--without-manifest",
        action="store_true",
        help="restore a backup that has no manifest (PATH.json), or one not signed "
        "with this computer's clinic key: a copy made by hand, by an older pumpmgr or "
        "on another computer. Every other check still runs; what needs the manifest "
        "(the file's SHA-256, the audit head at backup time) cannot, and is said so. "
        "A manifest that is there is still checked.",
    )

    p = command(
        "export",
        run_export,
        "the whole clinic as JSON (standard output by default)",
        description="Write every record, the audit log and the accounts' password "
        "hashes included, as one JSON document (format pumpmgr-clinic-export/1) to "
        "standard output or to --out FILE (a new file), for an administrator signed in "
        "with --user; audited. With --fhir: a FHIR R4 Bundle for the hospital instead.",
    )
    p.add_argument("--out", metavar="FILE")
    p.add_argument(
        "--user",
        metavar="USER",
        help="who exports, signed in with their password (asked for, or taken from "
        "PUMPMGR_PASSWORD): an administrator, required for the whole clinic (it "
        "holds the accounts' password hashes); optional with --fhir",
    )
    p.add_argument(
        "--password-stdin", action="store_true", help="read the user's password from standard input"
    )
    from pumpmgr.cli.hospital import add_export_options  # it imports this module

    add_export_options(p)

    p = command(
        "import",
        run_import,
        "an export into an empty database",
        description="Import an export document (FILE, or - for standard input) into an "
        "empty database, ids and audit log unchanged, for one of the document's "
        "administrators signed in with --user; refuses a database holding any record "
        "and a document whose records, checked like ones typed in and against its "
        "audit log, are not what pumpmgr wrote. The import is audited.",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument(
        "--user",
        metavar="USER",
        help="one of the document's administrators (the password is asked for, or "
        "taken from PUMPMGR_PASSWORD)",
    )
