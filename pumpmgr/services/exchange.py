"""The whole clinic as one JSON document, and back into an empty database (application layer).

May import the standard library, SQLAlchemy, ``pumpmgr.errors`` and the persistence layer
(``pumpmgr.db``); never ``ui``, Qt or reportlab. Used by ``pumpmgr export`` and ``pumpmgr import``.

The document is complete: every table the records are rebuilt from, the audit log verbatim
(sequence numbers, timestamps, payload text and hashes), and the stored forecasts (derived data,
kept so the imported due list is the same one-query list without recomputation)::

    {
      "format": "pumpmgr-clinic-export/1",
      "schema_revision": "<the Alembic revision the rows follow>",
      "instants": "ISO 8601, UTC",
      "units": {"pumps": {"reservoir_capacity_ml": "mL", ...}, ...},
      "audit_chain_head": {"seq": 812, "row_hash": "..."} or null,
      "tables": {"users": [{"id": 1, "username": "admin", ...}, ...], ...}
    }

- Tables come parents first (foreign-key order), rows in primary-key order, columns in schema
  order, so the same records always give the same document.
- Magnitudes are the canonical floats the database holds, in the unit the column is named for
  (``units`` lists them: mcg, mL, mcg/day, mcg/mL, mL/day, cm, mL/cm, day, and % for the labelled
  accuracy); ``drug_library_edits.changes`` holds mcg/day for dose limits and mcg/mL for
  ``max_concentration``, as the schema describes.
- Instants are ISO 8601 in UTC with microseconds (``2025-03-03T08:00:00.000000+00:00``), calendar
  dates ``YYYY-MM-DD``, times of day ``HH:MM:SS``; enumerations are their stored values.

:func:`import_clinic` writes the rows as they are (ids kept) in one transaction into a database
that holds no records yet, then checks the audit chain against the document's head, so that
``verify_chain`` passes exactly as it did where the document came from; anything wrong rolls the
whole import back. It adds no audit entry of its own, so export, import and export again give
the same document. On PostgreSQL the id sequences are moved past the imported ids.

Over 600 lines: export and import are one document format; the import's checks (values, identities,
records) read what the export writes, and kept beside it they change together.
"""

from __future__ import annotations

import enum
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Enum,
    Float,
    Integer,
    String,
    Table,
    Text,
    Time,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from pumpmgr import auth
from pumpmgr.db import schema as db
from pumpmgr.db.audit import ChainAnchor, append_audit, chain_head, verify_chain
from pumpmgr.db.engine import Database
from pumpmgr.db.migrate import head_revision, known_revisions
from pumpmgr.db.rowchain import verify_records
from pumpmgr.db.types import UTCDateTime
from pumpmgr.errors import Code, PumpMgrError
from pumpmgr.files import create_private_file
from pumpmgr.identity import normalize_mrn

FORMAT = "pumpmgr-clinic-export/1"
INSTANTS = "ISO 8601, UTC"
#: The one table a new database already has a row in (created by the first migration).
SETTINGS_TABLE = "clinic_settings"
#: Tables that are not records and stay with the database they are in: the failed sign-ins
#: of the throttle (:mod:`pumpmgr.services.throttle`) and the integrity checkpoint
#: (:mod:`pumpmgr.db.checkpoint`), which only concern that database.
NOT_EXPORTED: frozenset[str] = frozenset({"sign_in_failures", "integrity_checkpoints"})

#: Column-name endings and the canonical unit of the magnitudes they hold (longest first).
_UNIT_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_mcg_per_ml", "mcg/mL"),
    ("_mcg_per_day", "mcg/day"),
    ("_ml_per_day", "mL/day"),
    ("_ml_per_cm", "mL/cm"),
    ("_percent", "%"),
    ("_days", "day"),
    ("_mcg", "mcg"),
    ("_ml", "mL"),
    ("_cm", "cm"),
)


class ExchangeError(PumpMgrError):
    """An export document that cannot be imported, or a database that cannot take it."""


@dataclass(frozen=True)
class ImportSummary:
    rows: Mapping[str, int]  #: rows written per table (the settings row counts as one)
    audit_entries: int
    chain_head: ChainAnchor | None


def tables() -> list[Table]:
    """Every table of the records, parents before children (not :data:`NOT_EXPORTED`)."""
    return [t for t in db.Base.metadata.sorted_tables if t.name not in NOT_EXPORTED]


def column_unit(column: Column[Any]) -> str | None:
    """The canonical unit of a magnitude column (named for its unit), or None for others."""
    if not isinstance(column.type, Float):
        return None
    for suffix, unit in _UNIT_SUFFIXES:
        if column.name.endswith(suffix):
            return unit
    raise AssertionError(f"{column.table.name}.{column.name} holds a magnitude of no known unit")


def column_units() -> dict[str, dict[str, str]]:
    units: dict[str, dict[str, str]] = {}
    for table in tables():
        named = {c.name: unit for c in table.columns if (unit := column_unit(c)) is not None}
        if named:
            units[table.name] = named
    return units


# ------------------------------------------------------------------------------------ export


def _encode(column: Column[Any], value: Any) -> Any:
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(kind, Float):
        return float(value)
    if isinstance(kind, Boolean):
        return bool(value)
    if isinstance(kind, Integer):
        return int(value)
    if isinstance(kind, Date | Time):
        return value.isoformat()
    return value


def _rows(session: Session, table: Table) -> list[dict[str, Any]]:
    result = session.execute(select(table).order_by(*table.primary_key.columns))
    return [
        {column.name: _encode(column, row._mapping[column]) for column in table.columns}
        for row in result
    ]


def export_clinic(database: Database) -> dict[str, Any]:
    """The whole clinic as one JSON-ready document (see the module docstring)."""
    with database.read() as session:
        head = chain_head(session)
        document: dict[str, Any] = {
            "format": FORMAT,
            "schema_revision": _revision(session),
            "instants": INSTANTS,
            "units": column_units(),
            "audit_chain_head": None
            if head is None
            else {"seq": head.seq, "row_hash": head.row_hash},
            "tables": {table.name: _rows(session, table) for table in tables()},
        }
        return document


def export_text(document: Mapping[str, Any]) -> str:
    """The document as an export file holds it."""
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def write_export(document: Mapping[str, Any], destination: Path) -> None:
    """The document at ``destination``, written whole or not at all: into a partial file beside
    it (one a process), then renamed; an :class:`OSError` leaves no partial file behind."""
    partial = destination.with_name(f"{destination.name}.{os.getpid()}.partial")
    try:
        create_private_file(partial)  # owner-only: it holds every patient and password hash
        partial.write_text(export_text(document), encoding="utf-8")
        os.replace(partial, destination)
    except OSError:
        partial.unlink(missing_ok=True)
        raise


def _revision(session: Session) -> str:
    found = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return str(found) if found is not None else head_revision()


# ------------------------------------------------------------------------------------ import


def record_counts(session: Session) -> dict[str, int]:
    """Rows per table, leaving out the settings row every database has."""
    return {
        table.name: int(session.scalar(select(func.count()).select_from(table)) or 0)
        for table in tables()
        if table.name != SETTINGS_TABLE
    }


def require_empty(session: Session, what: str) -> None:
    """Refuse (:class:`ExchangeError`) a database that holds any record, user or audit entry."""
    held = {name: n for name, n in record_counts(session).items() if n}
    if held:
        first = ("patients", "users", "audit_log")
        names = [n for n in first if n in held] + sorted(n for n in held if n not in first)
        shown = ", ".join(
            f"{held[n]} {n.replace('_log', ' entries').replace('_', ' ')}" for n in names[:3]
        )
        raise ExchangeError(
            f"the database already holds records ({shown}); {what} only into an empty "
            "database (a new file, or an empty PostgreSQL database)",
            code=Code.DB_CONFLICT,
        )


def is_empty(database: Database) -> bool:
    with database.read() as session:
        return not any(record_counts(session).values())


def _refuse(message: str, code: Code = Code.DB_NOT_PUMPMGR) -> ExchangeError:
    return ExchangeError(f"the export document {message}", code=code)


#: Whole numbers a database column holds (signed 64 bits on both backends).
INTEGER_RANGE = (-(2**63), 2**63 - 1)
#: How deeply a JSON value inside a row (a drug library edit's changes) may nest.
MAX_JSON_DEPTH = 32


def _unstorable(value: Any) -> str | None:
    """Why a value read from the document cannot be stored as it is on either backend, or
    None: a lone surrogate (not UTF-8), a NUL character (PostgreSQL text cannot hold one), a
    whole number outside 64 bits, a number that is not finite, or JSON nested too deeply."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:  # iteratively: a hostile document may nest deeply
        item, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            return f"values nested more than {MAX_JSON_DEPTH} levels deep"
        if isinstance(item, str):
            if "\x00" in item:
                return "a NUL character"
            if any("\ud800" <= c <= "\udfff" for c in item):
                return "a lone surrogate (text that is not valid Unicode)"
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int):
            if not INTEGER_RANGE[0] <= item <= INTEGER_RANGE[1]:
                return "a whole number outside the range a database stores (64 bits)"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return "a number that is not finite (NaN or Infinity)"
        elif isinstance(item, dict):
            pending.extend((k, depth + 1) for k in item)
            pending.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            pending.extend((v, depth + 1) for v in item)
    return None


def _decode(table: Table, column: Column[Any], value: Any, where: str) -> Any:
    def wrong(expected: str) -> ExchangeError:
        shown = repr(value)
        shown = shown if len(shown) <= 80 else shown[:60] + f"... ({len(shown)} characters)"
        return _refuse(
            f"has {shown} in {where}.{column.name}; expected {expected}", Code.DB_CORRUPT
        )

    problem = _unstorable(value)
    if problem is not None:
        raise _refuse(f"has {problem} in {where}.{column.name}", Code.DB_CORRUPT)

    if value is None:
        if not column.nullable:
            raise wrong("a value (the column is required)")
        return None
    kind = column.type
    if isinstance(kind, UTCDateTime):
        try:
            moment = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None or moment.utcoffset() is None:
            raise wrong("an ISO 8601 instant with its UTC offset")
        return moment.astimezone(UTC)
    if isinstance(kind, Enum):
        if not isinstance(value, str) or value not in kind.enums:
            raise wrong("one of " + ", ".join(kind.enums))
        return value if kind.enum_class is None else kind.enum_class(value)
    if isinstance(kind, Float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise wrong("a number")
        return float(value)
    if isinstance(kind, Boolean):
        if not isinstance(value, bool):
            raise wrong("true or false")
        return value
    if isinstance(kind, Integer):
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong("a whole number")
        return value
    if isinstance(kind, Date | Time):
        if not isinstance(value, str):
            raise wrong("an ISO 8601 date or time of day")
        try:
            return (
                date.fromisoformat(value) if isinstance(kind, Date) else time.fromisoformat(value)
            )
        except ValueError:
            raise wrong("an ISO 8601 date or time of day") from None
    if isinstance(kind, String | Text):
        if not isinstance(value, str):
            raise wrong("text")
        limit = getattr(kind, "length", None)
        if limit is not None and len(value) > limit:
            raise wrong(f"text of at most {limit} characters")
        return value
    if isinstance(kind, JSON):
        return value
    raise AssertionError(f"{table.name}.{column.name}: no import rule for {kind!r}")


def check_document(document: object) -> tuple[dict[str, list[dict[str, Any]]], ChainAnchor | None]:
    """The document's rows, decoded and checked against the schema; or :class:`ExchangeError`."""
    if not isinstance(document, dict):
        raise _refuse("is not a JSON object; it is not a pumpmgr export")
    found = document.get("format")
    if found != FORMAT:
        raise _refuse(f"has format {found!r}; this pumpmgr reads {FORMAT!r} only")
    revision = document.get("schema_revision")
    if not isinstance(revision, str):
        raise _refuse("has no schema_revision")
    if revision not in known_revisions():
        raise _refuse(
            f"was written by a newer pumpmgr (schema revision {revision!r}; this program knows "
            f"revisions up to {head_revision()!r}). Import it with that version.",
            Code.DB_SCHEMA_NEWER,
        )
    if revision != head_revision():
        raise _refuse(
            f"follows the older schema revision {revision!r}; import it with the pumpmgr that "
            "wrote it, then open that database with this version (it upgrades it)",
            Code.DB_SCHEMA_NEWER,
        )
    if document.get("units") != column_units():
        raise _refuse(
            "gives other units for its magnitudes than this schema stores; it was "
            "changed after export",
            Code.DB_CORRUPT,
        )
    rows_in = document.get("tables")
    if not isinstance(rows_in, dict):
        raise _refuse("has no tables")
    known = {table.name: table for table in tables()}
    unknown = sorted(set(rows_in) - set(known))
    missing = sorted(set(known) - set(rows_in))
    if unknown or missing:
        detail = "; ".join(
            filter(
                None,
                [
                    "unknown tables: " + ", ".join(unknown) if unknown else "",
                    "missing tables: " + ", ".join(missing) if missing else "",
                ],
            )
        )
        raise _refuse(f"does not match this schema ({detail})", Code.DB_CORRUPT)
    decoded: dict[str, list[dict[str, Any]]] = {}
    for name, table in known.items():
        rows = rows_in[name]
        if not isinstance(rows, list):
            raise _refuse(f"has no list of rows for {name}", Code.DB_CORRUPT)
        columns = {c.name: c for c in table.columns}
        out = []
        for number, row in enumerate(rows, start=1):
            where = f"{name} row {number}"
            if not isinstance(row, dict) or set(row) != set(columns):
                raise _refuse(f"has {where} with other columns than the schema's", Code.DB_CORRUPT)
            out.append({key: _decode(table, columns[key], row[key], where) for key in columns})
        decoded[name] = out
    if len(decoded[SETTINGS_TABLE]) != 1:
        raise _refuse("must hold exactly one clinic_settings row", Code.DB_CORRUPT)
    _check_values(decoded)
    _check_identities(decoded)
    head = document.get("audit_chain_head")
    anchor = None
    if head is not None:
        if (
            not isinstance(head, dict)
            or not isinstance(head.get("seq"), int)
            or not isinstance(head.get("row_hash"), str)
            or _unstorable(head) is not None
        ):
            raise _refuse("has a malformed audit_chain_head", Code.DB_CORRUPT)
        anchor = ChainAnchor(seq=head["seq"], row_hash=head["row_hash"])
    return decoded, anchor


#: Magnitudes beyond this, in any canonical unit (mcg, mL, mcg/day, mcg/mL, cm, %, days), are
#: no clinic's record (a kilogram of drug, a cubic metre of volume): refused like a typo.
MAX_MAGNITUDE = 1e9
#: How many minutes a recorded instant may lie after the audit entry that wrote it (the
#: services refuse a time more than 5 minutes ahead of their clock).
FUTURE_SLACK = timedelta(minutes=5)
#: Dates that look ahead (a replace-by date, an expiry, a booking, a refill-due date) may lie
#: at most this many years after the document's last audit entry.
MAX_YEARS_AHEAD = 50
#: Calendar dates of things that have happened: not after the last entry's day (+1 for zones).
_PAST_DATES = frozenset(
    {
        ("patients", "date_of_birth"),
        ("pumps", "implant_date"),
        ("pumps", "explant_date"),
        ("catheters", "implant_date"),
        ("catheters", "revision_date"),
    }
)
#: Instants a forecast puts ahead (derived data, recomputed and compared on import).
_FORECAST_INSTANTS = frozenset(
    {
        "filled_at",
        "alarm_at",
        "alarm_at_with_boluses",
        "empty_at",
        "alarm_at_worst_case",
        "empty_at_worst_case",
    }
)


def _record_name(table: str, row: Mapping[str, Any], number: int) -> str:
    key = row.get("id", row.get("pump_id"))
    return f"{table} #{key}" if key is not None else f"{table} row {number}"


def _check_values(decoded: Mapping[str, list[dict[str, Any]]]) -> None:
    """Refuse, naming the record and field, a magnitude no clinic records, an instant after
    the audit entry that would have written it, a date of the past after that day, and any
    date far in the future (9999-12-31): what the services refuse when a record is typed."""
    log = decoded.get("audit_log", [])
    last = max((row["recorded_at"] for row in log), default=None)
    if last is None:
        return  # refused after the chain check: records without entries
    latest, today = last + FUTURE_SLACK, last.date() + timedelta(days=1)
    horizon = date(min(today.year + MAX_YEARS_AHEAD, 9999), 1, 1)
    for table in tables():
        if table.name == SETTINGS_TABLE:
            continue  # made with the database, before any entry; the chain covers it
        for number, row in enumerate(decoded[table.name], start=1):
            for column in table.columns:
                value = row[column.name]
                where = f"{_record_name(table.name, row, number)}, {column.name}"
                if isinstance(value, float) and abs(value) > MAX_MAGNITUDE:
                    raise _refuse(
                        f"has {value!r} in {where}: no clinic records a value that "
                        f"large (at most {MAX_MAGNITUDE:g})",
                        Code.OUT_OF_RANGE,
                    )
                if (
                    isinstance(value, datetime)
                    and value > latest
                    and not (table.name == "pump_forecasts" and column.name in _FORECAST_INSTANTS)
                ):
                    raise _refuse(
                        f"has {value.isoformat()} in {where}: after the last audit "
                        f"entry ({last.isoformat()}), so no service wrote it",
                        Code.TIME_ORDER,
                    )
                if isinstance(value, date) and not isinstance(value, datetime):
                    if (table.name, column.name) in _PAST_DATES and value > today:
                        raise _refuse(
                            f"has {value.isoformat()} in {where}: after the last "
                            f"audit entry's day ({last.date().isoformat()})",
                            Code.TIME_ORDER,
                        )
                    if value >= horizon:
                        raise _refuse(
                            f"has {value.isoformat()} in {where}: more than "
                            f"{MAX_YEARS_AHEAD} years after the last audit entry",
                            Code.OUT_OF_RANGE,
                        )


def _check_identities(decoded: Mapping[str, list[dict[str, Any]]]) -> None:
    """User names and medical record numbers as the services store them, each once."""
    seen: dict[str, int] = {}
    for row in decoded["patients"]:
        try:
            normal = normalize_mrn(row["mrn"], "mrn")
        except PumpMgrError as error:
            raise _refuse(f"has patients #{row['id']}, {error.message}", Code.DB_CORRUPT) from None
        if normal != row["mrn"]:
            raise _refuse(
                f"has patients #{row['id']}, mrn {row['mrn']!r}: not as pumpmgr stores "
                f"it ({normal!r})",
                Code.DB_CORRUPT,
            )
        if normal in seen:
            raise _refuse(
                f"has patients #{row['id']}, mrn {normal!r}: the same as patients #{seen[normal]}",
                Code.DB_CORRUPT,
            )
        seen[normal] = row["id"]
    for row in decoded["users"]:
        try:
            normal = auth.normalize_username(row["username"])
        except PumpMgrError as error:
            raise _refuse(f"has users #{row['id']}, {error.message}", Code.DB_CORRUPT) from None
        if normal != row["username"]:
            raise _refuse(
                f"has users #{row['id']}, username {row['username']!r}: not as "
                f"pumpmgr stores it ({normal!r})",
                Code.DB_CORRUPT,
            )


def _check_records(session: Session, database: Database, upto_seq: int, tz: tzinfo | None) -> None:
    """After the chain: every row is the one the entries' row images say pumpmgr wrote
    (:func:`pumpmgr.db.rowchain.verify_records`: an edited, added or removed record, a log cut
    short), the records are covered by entries at all, each drug-library edit passes the
    checks of one typed in, and every stored forecast is the one its records give (in the
    clinic's zone ``tz``, default this computer's)."""
    from pumpmgr.services.context import ClinicContext
    from pumpmgr.services.forecasts import ForecastService
    from pumpmgr.services.library_edits import checked_edit

    records = verify_records(session, upto_seq)
    if records.problems:
        more = len(records.problems) - 1
        raise _refuse(
            f"holds records that are not what its audit log says pumpmgr wrote: "
            f"{records.problems[0].message}" + (f" (and {more} more)" if more else ""),
            Code.DB_CORRUPT,
        )
    counts = record_counts(session)
    if records.covered_from is None and any(counts.values()):
        raise _refuse(
            "holds records, but no audit entry that wrote them (the audit log is empty or was cut)",
            Code.DB_CORRUPT,
        )
    context = ClinicContext(database, tz=tz)
    library = context.catalogs.drugs
    for edit in session.scalars(select(db.DrugLibraryEdit).order_by(db.DrugLibraryEdit.id)):
        try:
            library = checked_edit(library, edit.drug_key, edit.changes, edit.id)
        except PumpMgrError as error:
            raise _refuse(f"has a {error.message}", Code.DB_CORRUPT) from None
    problems = ForecastService(context).forecast_problems(session)
    if problems:
        raise _refuse(
            f"holds a stored forecast its records do not give: forecast of {problems[0]}",
            Code.DB_CORRUPT,
        )


def _advance_sequences(session: Session) -> None:
    """PostgreSQL: move each id sequence past the imported ids (SQLite needs nothing)."""
    if session.connection().dialect.name != "postgresql":
        return
    for table in tables():
        for column in table.primary_key.columns:
            sequence = session.scalar(
                text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name}
            )
            if sequence is None:  # not a serial column (audit seq, forecast pump_id, settings)
                continue
            highest = session.scalar(select(func.max(column)))
            session.execute(
                text("SELECT setval(:s, :v, :called)"),
                {"s": sequence, "v": highest or 1, "called": highest is not None},
            )


#: The audit action the import ends with: who imported the document, signed in with one of
#: its administrators' passwords.
IMPORT_ACTION = "clinic.import"


def _signed_in_importer(
    session: Session, username: str, password: str, hasher: PasswordHasher
) -> db.User:
    """The document's own administrator account with this password (the clinic has no other
    accounts yet): an import rewrites the whole clinic, so only its administrator may."""
    try:
        user = auth.authenticate(session, username, password, hasher)
    except PumpMgrError as error:
        raise ExchangeError(
            f"user: {error.message} (the accounts are the document's)",
            code=error.code,
            field="user",
        ) from None
    if user.role is not db.Role.ADMINISTRATOR:
        raise ExchangeError(
            f"user: {user.username} is a {user.role.value} in the document; "
            "only an administrator may import a clinic",
            code=Code.AUTH_NOT_PERMITTED,
            field="user",
        )
    return user


def import_clinic(
    database: Database,
    document: object,
    *,
    username: str,
    password: str,
    tz: tzinfo | None = None,
    workstation: str | None = None,
    hasher: PasswordHasher = auth.DEFAULT_HASHER,
) -> ImportSummary:
    """Write an export document into an empty database, in one transaction (see the module
    docstring). Refuses a database holding records, an unknown format, a newer or older schema
    revision, a document that does not fit the schema, values no service would have stored
    (:func:`check_document`), an audit log that does not verify against the document's chain
    head, and records, library edits or stored forecasts that are not what that log says
    pumpmgr wrote (``tz``: the clinic's zone the forecasts were computed in, default this
    computer's), and an importer who is not one of the document's administrators
    (``username``, ``password``); in every case nothing is written and the first problem is
    named. The import ends with an audit entry ``clinic.import`` under the importer's name."""
    decoded, anchor = check_document(document)

    def work(session: Session) -> ImportSummary:
        require_empty(session, "an export is imported")
        written: dict[str, int] = {}
        for table in tables():
            rows = decoded[table.name]
            if table.name == SETTINGS_TABLE:
                row = dict(rows[0])
                key = row.pop("id")
                session.execute(update(table).where(table.c.id == key).values(**row))
            elif rows:
                session.execute(insert(table), rows)
            written[table.name] = len(rows)
        _advance_sequences(session)
        report = verify_chain(session, anchor)
        if not report.ok:
            raise ExchangeError(
                f"the export document's audit log does not verify, so it was not imported: "
                f"{report.message}",
                code=Code.DB_CORRUPT,
            )
        _check_records(session, database, report.entries_checked, tz)
        importer = _signed_in_importer(session, username, password, hasher)
        entry = append_audit(
            session,
            username=importer.username,
            action=IMPORT_ACTION,
            entity_type="clinic",
            entity_id="export",
            changes={
                "rows": sum(written.values()),
                "patients": written.get("patients", 0),
                "document_head": None if report.head is None else report.head.seq,
            },
            workstation=workstation,
            at=datetime.now(UTC),
        )
        return ImportSummary(
            rows=written,
            audit_entries=report.entries_checked,
            chain_head=ChainAnchor(seq=entry.seq, row_hash=entry.row_hash),
        )

    return database.run_write(work)
