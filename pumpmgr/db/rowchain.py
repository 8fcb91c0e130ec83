"""The audit chain over the records themselves (persistence layer: stdlib, SQLAlchemy, pumpmgr.db).

Every audit entry written since revision 0008 carries, in ``audit_log.written_rows``, an image
of every row its unit of work inserted, changed or deleted in a covered table (every table but
the audit log itself and the derived ones, :data:`UNCOVERED_TABLES`)::

    {"writes": [{"t": "refills", "id": 12, "before": null,
                 "after": {"hash": H, "columns": {"aspirated_ml": D, ...}}}, ...],
     "baseline": [["patients", 3, H], ...]}          # first covered entry only

``H`` is the SHA-256 of the row's canonical image (:func:`row_image`), ``D`` the first 16 hex
digits of the SHA-256 of one column's canonical value, so that a row changed behind pumpmgr's
back is found by its hash and the column that changed is named by its digest, without a second
copy of the record in the log. ``before`` is the hash of the row as the write found it (None for
an insert), ``after`` None for a deletion. The first covered entry also carries ``baseline``:
the hash of every covered row that existed before it (a clinic migrated from an earlier
revision, or the settings row every new database starts with).

The canonical image is the same on SQLite and PostgreSQL: column values as Python reads them
through the schema's types, then floats as ``repr`` of the double, instants as UTC ISO text
with microseconds, dates and times as ISO text, booleans as JSON booleans, NULL as null, bytes
as hex, JSON as canonical JSON; each non-text value is tagged with its kind, so that the text
``'18.5'`` put in a number column behind pumpmgr's back never hashes like the number 18.5.

The rows are collected centrally, not at each call site: session events note, at each flush,
the before image of every covered row about to be changed or deleted and the after image of
every row inserted or changed, read back from the database; :func:`take_writes` hands what was
collected since the last entry to :func:`pumpmgr.db.audit.append_audit`. A write that bypasses
the ORM's unit of work (a bulk ``UPDATE`` statement) is not collected: the program makes none
on covered tables, and :func:`verify_records` would name its rows.

:func:`verify_records` replays the images of the intact entries and compares them with every
covered row in the tables: a row changed, inserted or deleted outside pumpmgr is named with its
table, id and the columns that differ.

Over 600 lines: the images collected at each flush and the verification that replays them share
the canonical image, and must change together.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import Enum as PyEnum
from typing import Any

from sqlalchemy import (
    Column,
    Enum,
    Float,
    LargeBinary,
    String,
    Table,
    Text,
    cast,
    event,
    func,
    select,
    type_coerce,
)
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.orm import Session, UOWTransaction

from pumpmgr.db.schema import AuditEntry, Base

log = logging.getLogger(__name__)

#: Tables the chain does not cover: the log itself (it is the chain), the stored forecasts
#: (derived: recomputed from the records and compared by the services) and the sign-in
#: failure counters (rewritten at every sign-in; not a record).
UNCOVERED_TABLES = frozenset(
    {"audit_log", "pump_forecasts", "sign_in_failures", "integrity_checkpoints"}
)
ROW_HASH_VERSION = "pumpmgr-row-v1"
COLUMN_DIGITS = 16  #: hex digits kept of a column's digest (64 bits)
#: Where a session keeps the rows written since its last audit entry (``Session.info``).
_PENDING = "pumpmgr.row_writes"


def covered_tables() -> list[Table]:
    """The covered tables, parents first."""
    return [t for t in Base.metadata.sorted_tables if t.name not in UNCOVERED_TABLES]


_COVERED = {t.name: t for t in covered_tables()}


# ---------------------------------------------------------------------------------------------
# Canonical images


def canonical_value(column: Column[Any], value: Any) -> Any:
    """One column's value in the backend-independent form that is hashed (module docstring)."""
    if value is None:
        return None
    if isinstance(value, PyEnum):
        value = value.value
    if isinstance(value, bool):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return ["bytes", bytes(value).hex()]
    if isinstance(column.type, Float) and isinstance(value, int | float | Decimal):
        return ["float", repr(float(value))]  # SQLite may hand back 5 for 5.0
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return ["float", repr(value)]
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return ["instant", moment.astimezone(UTC).isoformat(timespec="microseconds")]
    if isinstance(value, date):
        return ["date", value.isoformat()]
    if isinstance(value, time):
        return ["time", value.isoformat(timespec="microseconds")]
    if isinstance(value, dict | list):
        return ["json", _dumps(value)]
    return ["other", type(value).__name__, repr(value)]


def _dumps(value: Any) -> str:
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=True,
        default=repr,
    )


def _sha(material: Any) -> str:
    return hashlib.sha256(_dumps(material).encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class RowImage:
    """A row's canonical column values, its hash and its column digests."""

    table: str
    id: int
    values: Mapping[str, Any]

    @property
    def hash(self) -> str:
        return _sha([ROW_HASH_VERSION, self.table, dict(self.values)])

    def digests(self) -> dict[str, str]:
        return {
            name: _sha([ROW_HASH_VERSION, self.table, name, value])[:COLUMN_DIGITS]
            for name, value in self.values.items()
        }


def _read_expression(column: Column[Any]) -> Any:
    """What is selected for ``column``: its own type, except that an enum is read as the text
    stored (a value no member has must be reported, not raise)."""
    if isinstance(column.type, Enum):
        return type_coerce(column, String).label(column.name)
    return column


def _raw_expression(column: Column[Any], dialect: str) -> Any:
    """A column read with no conversion that could fail: SQLite's bytes, PostgreSQL's text."""
    if dialect == "sqlite":
        return cast(column, LargeBinary).label(column.name)
    return cast(column, Text).label(column.name)


def _image(table: Table, row: Mapping[Any, Any]) -> RowImage:
    values = {c.name: canonical_value(c, row[c.name]) for c in table.columns}
    return RowImage(table.name, int(row["id"]), values)


def _images_by_id(session: Session, table: Table, ids: Sequence[int]) -> Iterator[RowImage]:
    """The images of the rows of ``table`` with these ids (the ones that exist)."""
    columns = [_read_expression(c) for c in table.columns]
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        try:
            rows = (
                session.connection()
                .execute(select(*columns).where(table.c.id.in_(chunk)))
                .mappings()
                .all()
            )
        except (DBAPIError, StatementError, ValueError, LookupError):
            yield from (image for one in chunk for image in _robust_row(session, table, one))
            continue
        yield from (_image(table, row) for row in rows)


def _robust_row(session: Session, table: Table, row_id: int) -> Iterator[RowImage]:
    """One row read column by column: a column the schema's type cannot read (text that is
    not UTF-8, a date that is not one) is read raw, tagged, so it never matches an image."""
    connection = session.connection()
    if connection.execute(select(table.c.id).where(table.c.id == row_id)).first() is None:
        return
    values: dict[str, Any] = {}
    for column in table.columns:
        try:
            value = connection.execute(
                select(_read_expression(column)).where(table.c.id == row_id)
            ).scalar()
            values[column.name] = canonical_value(column, value)
        except (DBAPIError, StatementError, ValueError, LookupError, TypeError):
            raw = connection.execute(
                select(_raw_expression(column, connection.dialect.name)).where(table.c.id == row_id)
            ).scalar()
            values[column.name] = ["unreadable", repr(raw)]
    yield RowImage(table.name, row_id, values)


def table_images(session: Session, table: Table, batch: int = 5000) -> Iterator[RowImage]:
    """Every row of ``table`` as an image, in id order."""
    ids = list(session.connection().execute(select(table.c.id).order_by(table.c.id)).scalars())
    for start in range(0, len(ids), batch):
        yield from sorted(
            _images_by_id(session, table, ids[start : start + batch]), key=lambda image: image.id
        )


# ---------------------------------------------------------------------------------------------
# Collecting what a unit of work wrote


@dataclass
class _Write:
    before: str | None  #: the row's hash when first touched since the last entry
    after: RowImage | None = None


def _pending(session: Session) -> dict[tuple[str, int], _Write]:
    pending: dict[tuple[str, int], _Write] = session.info.setdefault(_PENDING, {})
    return pending


def _key_of(obj: Any) -> tuple[Table, int] | None:
    table = getattr(obj, "__table__", None)
    if not isinstance(table, Table) or table.name not in _COVERED:
        return None
    row_id = getattr(obj, "id", None)
    return (table, row_id) if isinstance(row_id, int) else None


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    """Note the before image of every covered row this flush changes or deletes."""
    pending = _pending(session)
    wanted: dict[Table, list[int]] = {}
    for obj in list(session.dirty) + list(session.deleted):
        key = _key_of(obj)
        if key is not None and (key[0].name, key[1]) not in pending:
            wanted.setdefault(key[0], []).append(key[1])
    for table, ids in wanted.items():
        found = {image.id: image.hash for image in _images_by_id(session, table, ids)}
        for row_id in ids:
            pending[(table.name, row_id)] = _Write(before=found.get(row_id))


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    """Note the after image of every covered row this flush inserted, changed or deleted."""
    pending = _pending(session)
    wanted: dict[Table, list[int]] = {}
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        key = _key_of(obj)
        if key is None:
            continue
        table, row_id = key
        pending.setdefault((table.name, row_id), _Write(before=None))
        wanted.setdefault(table, []).append(row_id)
    for table, ids in wanted.items():
        found = {image.id: image for image in _images_by_id(session, table, ids)}
        for row_id in ids:
            pending[(table.name, row_id)].after = found.get(row_id)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    """A unit of work that wrote covered rows after its last audit entry (or with none) left
    them uncovered: ``audit verify`` will name them. Said in the log for whoever wrote it."""
    session.flush()
    left = take_writes(session)
    if left:
        log.warning(
            "rows written without an audit entry carrying them (audit verify will report them): %s",
            ", ".join(f"{w['t']} #{w['id']}" for w in left[:10]),
        )


def has_pending(session: Session, table: str, row_id: int) -> bool:
    """Whether the session wrote this row since its last audit entry (flushed first)."""
    session.flush()
    return (table, row_id) in session.info.get(_PENDING, {})


def take_writes(session: Session) -> list[dict[str, Any]]:
    """What the session wrote to covered tables since it last took them, in the form an entry
    carries (sorted by table and id; rows written and left as they were are dropped)."""
    pending = session.info.pop(_PENDING, {})
    writes = []
    for (table, row_id), write in sorted(pending.items()):
        after = write.after
        if after is not None and write.before == after.hash:
            continue
        if after is None and write.before is None:
            continue  # inserted and deleted again, or never there
        writes.append(
            {
                "t": table,
                "id": row_id,
                "before": write.before,
                "after": None
                if after is None
                else {"hash": after.hash, "columns": after.digests()},
            }
        )
    return writes


def baseline(session: Session, skip: set[tuple[str, int]]) -> list[list[Any]]:
    """``[table, id, hash]`` of every covered row but those in ``skip``: what the first covered
    entry records as the state the chain starts from."""
    return [
        [image.table, image.id, image.hash]
        for table in covered_tables()
        for image in table_images(session, table)
        if (image.table, image.id) not in skip
    ]


# ---------------------------------------------------------------------------------------------
# Verifying the tables against the chain


@dataclass(frozen=True)
class RowProblem:
    """A covered row that does not match what pumpmgr wrote."""

    table: str
    record_id: int
    #: "changed", "inserted", "deleted" or "changed between" (overwritten by a later write)
    kind: str
    message: str
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordsReport:
    """The result of :func:`verify_records`."""

    #: The first entry that carries row images; None when no entry does yet.
    covered_from: int | None
    #: The last entry whose images were replayed (the sound part of the chain).
    checked_to: int
    rows_checked: int
    problems: tuple[RowProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class _Expected:
    hash: str
    seq: int
    baseline: bool


def _entries_with_rows(session: Session, upto: int) -> Iterator[tuple[int, str | None]]:
    result = session.execute(
        select(AuditEntry.seq, AuditEntry.written_rows)
        .where(AuditEntry.written_rows.is_not(None), AuditEntry.seq <= upto)
        .order_by(AuditEntry.seq)
        .execution_options(yield_per=1000)
    )
    for row in result:
        yield row.seq, row.written_rows


def _label(table: str, row_id: int) -> str:
    return f"{table} #{row_id}"


def verify_records(session: Session, upto_seq: int) -> RecordsReport:
    """Replay the row images of the entries up to ``upto_seq`` (the part of the chain that
    verified) and compare them with every covered row. Guarantees: every row changed, inserted
    or deleted since coverage began by anything but pumpmgr's unit of work is reported, named
    by table and id, with the columns that differ from the last image (when that image holds
    column digests); a change made between two of pumpmgr's writes of the same row is reported
    too, even when the later write overwrote it."""
    expected: dict[tuple[str, int], _Expected] = {}
    problems: list[RowProblem] = []
    covered_from: int | None = None
    for seq, text in _entries_with_rows(session, upto_seq):
        covered_from = seq if covered_from is None else covered_from
        try:
            images = json.loads(text or "{}")
        except ValueError:  # the chain verified, so pumpmgr wrote it: cannot happen
            continue
        # In the first covered entry, the state a write found is that row's baseline.
        first = "baseline" in images
        for table, row_id, digest in images.get("baseline", ()):
            expected[(table, row_id)] = _Expected(digest, seq, True)
        for write in images.get("writes", ()):
            key = (write["t"], write["id"])
            known = expected.get(key)
            before = write["before"]
            if before is not None and known is not None and known.hash != before:
                problems.append(
                    RowProblem(
                        key[0],
                        key[1],
                        "changed between",
                        f"{_label(*key)}: changed outside pumpmgr after audit entry #{known.seq} "
                        f"and before entry #{seq}, which changed it again",
                    )
                )
            elif before is not None and known is None and not first:
                problems.append(
                    RowProblem(
                        key[0],
                        key[1],
                        "inserted",
                        f"{_label(*key)}: inserted outside pumpmgr (first changed by pumpmgr at "
                        f"audit entry #{seq})",
                    )
                )
            after = write["after"]
            if after is None:
                expected.pop(key, None)
            else:
                expected[key] = _Expected(after["hash"], seq, False)
    rows = 0
    if covered_from is not None:
        for table in covered_tables():
            for image in table_images(session, table):
                rows += 1
                key = (table.name, image.id)
                known = expected.pop(key, None)
                if known is None:
                    problems.append(
                        RowProblem(
                            table.name,
                            image.id,
                            "inserted",
                            f"{_label(*key)}: inserted outside pumpmgr",
                        )
                    )
                elif known.hash != image.hash:
                    problems.append(_changed(session, image, known))
        for (table_name, row_id), known in sorted(expected.items()):
            problems.append(
                RowProblem(
                    table_name,
                    row_id,
                    "deleted",
                    f"{_label(table_name, row_id)}: deleted outside pumpmgr (last written at "
                    f"audit entry #{known.seq})",
                )
            )
    return RecordsReport(covered_from, upto_seq, rows, tuple(problems))


def max_ids(session: Session) -> dict[str, int]:
    """The highest id of every covered table (0 for an empty one)."""
    connection = session.connection()
    return {
        table.name: int(connection.execute(select(func.max(table.c.id))).scalar() or 0)
        for table in covered_tables()
    }


def verify_records_since(
    session: Session, after_seq: int, upto_seq: int, known_max_ids: Mapping[str, int]
) -> RecordsReport:
    """:func:`verify_records` for what was written since a checkpoint: replay the images of the
    entries after ``after_seq`` up to ``upto_seq`` only, and compare the rows they wrote, and
    every row with an id above ``known_max_ids`` (the highest ids at the checkpoint), with the
    tables. A row no entry since the checkpoint wrote is not read: a change to it is found by
    the full check (:func:`verify_records`)."""
    expected: dict[tuple[str, int], _Expected] = {}
    problems: list[RowProblem] = []
    result = session.execute(
        select(AuditEntry.seq, AuditEntry.written_rows)
        .where(
            AuditEntry.written_rows.is_not(None),
            AuditEntry.seq > after_seq,
            AuditEntry.seq <= upto_seq,
        )
        .order_by(AuditEntry.seq)
        .execution_options(yield_per=1000)
    )
    covered_from: int | None = None
    for seq, text in result:
        covered_from = seq if covered_from is None else covered_from
        images = json.loads(text or "{}")
        for table, row_id, digest in images.get("baseline", ()):
            expected[(table, row_id)] = _Expected(digest, seq, True)
        for write in images.get("writes", ()):
            key = (write["t"], write["id"])
            known = expected.get(key)
            if write["before"] is not None and known is not None and known.hash != write["before"]:
                problems.append(
                    RowProblem(
                        key[0],
                        key[1],
                        "changed between",
                        f"{_label(*key)}: changed outside pumpmgr after audit entry #{known.seq} "
                        f"and before entry #{seq}, which changed it again",
                    )
                )
            after = write["after"]
            expected[key] = _Expected(after["hash"] if after else "", seq, False)
    # Rows above the checkpoint's ids are compared once the chain covers rows: before that
    # (a clinic written around the services, like the benchmark's) no row has an image.
    covered = covered_from is not None or bool(
        session.scalar(
            select(AuditEntry.written_rows.is_not(None)).where(AuditEntry.seq == after_seq)
        )
    )
    rows = 0
    for table in covered_tables():
        written = sorted(i for (t, i) in expected if t == table.name)
        newer = (
            session.connection()
            .execute(select(table.c.id).where(table.c.id > known_max_ids.get(table.name, 0)))
            .scalars()
            if covered
            else ()
        )
        ids = sorted(set(written) | set(newer))
        found = {image.id: image for image in _images_by_id(session, table, ids)}
        for row_id in ids:
            key = (table.name, row_id)
            known = expected.get(key)
            image = found.get(row_id)
            rows += image is not None
            if known is None:
                problems.append(
                    RowProblem(
                        table.name, row_id, "inserted", f"{_label(*key)}: inserted outside pumpmgr"
                    )
                )
            elif image is None and known.hash:
                problems.append(
                    RowProblem(
                        table.name,
                        row_id,
                        "deleted",
                        f"{_label(*key)}: deleted outside pumpmgr (last written at audit entry "
                        f"#{known.seq})",
                    )
                )
            elif image is not None and not known.hash:
                problems.append(
                    RowProblem(
                        table.name,
                        row_id,
                        "inserted",
                        f"{_label(*key)}: inserted outside pumpmgr after pumpmgr deleted it at "
                        f"audit entry #{known.seq}",
                    )
                )
            elif image is not None and known.hash != image.hash:
                problems.append(_changed(session, image, known))
    return RecordsReport(covered_from, upto_seq, rows, tuple(problems))


def _changed(session: Session, image: RowImage, known: _Expected) -> RowProblem:
    """A row whose hash differs from its last image: name the columns, from that entry's
    column digests."""
    label = _label(image.table, image.id)
    if known.baseline:
        return RowProblem(
            image.table,
            image.id,
            "changed",
            f"{label}: changed outside pumpmgr since coverage began at audit "
            f"entry #{known.seq} (that entry holds the row's hash only, so the "
            "column is not named)",
        )
    text = session.scalar(select(AuditEntry.written_rows).where(AuditEntry.seq == known.seq))
    digests: dict[str, str] = {}
    for write in json.loads(text or "{}").get("writes", ()):
        if (write["t"], write["id"]) == (image.table, image.id) and write["after"]:
            digests = write["after"]["columns"]
    actual = image.digests()
    columns = tuple(
        sorted(name for name in set(digests) | set(actual) if digests.get(name) != actual.get(name))
    )
    named = ", ".join(columns) if columns else "its hash"
    return RowProblem(
        image.table,
        image.id,
        "changed",
        f"{label}: {named} changed outside pumpmgr (last written by pumpmgr at "
        f"audit entry #{known.seq})",
        columns,
    )


def rows_json(writes: list[dict[str, Any]], base: list[list[Any]] | None) -> str:
    """The ``written_rows`` text of an entry: canonical JSON."""
    document: dict[str, Any] = {"writes": writes}
    if base is not None:
        document["baseline"] = base
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
