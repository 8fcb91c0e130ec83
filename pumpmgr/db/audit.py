"""The append-only, hash-chained audit log (persistence layer: stdlib, SQLAlchemy, pumpmgr.db).

Every entry holds a sequence number (1, 2, 3 ... without gaps), a UTC timestamp, the user, the
workstation, the action, the entity type and id, a canonical JSON payload of what changed, an
optional reason, the previous entry's hash and its own hash::

    row_hash = sha256(canonical JSON of ["pumpmgr-audit-v1", seq, recorded_at, username,
                      workstation, action, entity_type, entity_id, payload, reason, prev_hash])

Since revision 0008 an entry also carries ``written_rows``, the images of the rows its unit of
work wrote (:mod:`pumpmgr.db.rowchain`), hashed as a twelfth field under
``"pumpmgr-audit-v2"``; entries written before keep NULL and the version-1 hash, and once an
entry carries images every later one must.

The first entry's ``prev_hash`` is 64 zeros. :func:`append_audit` writes an entry inside the
caller's transaction, so the entry commits or rolls back with the change it records. Two writers
cannot take the same sequence number: on SQLite the write transaction began with ``BEGIN
IMMEDIATE`` and holds the database's write lock; on PostgreSQL the append takes a
transaction-level advisory lock first (READ COMMITTED, so the head read after the lock is the
committed head).

Triggers refuse UPDATE and DELETE on the table. Anyone who can write the SQLite file (or owns the
PostgreSQL tables) can drop the triggers; the chain is what proves tampering:
:func:`verify_chain` reports the first entry that was altered, inserted or removed. A tamperer who
rewrites the whole chain consistently is caught only against a head recorded elsewhere (a
printed sheet, a backup manifest): pass it as ``anchor``. A sheet prints the head as
:meth:`ChainAnchor.printed` (``812:3f2a9c01d4e5b6a7``: the sequence number and the first 16 hex
digits of the hash), and :func:`parse_anchor` reads that back, or a whole hash.
"""

from __future__ import annotations

import enum
import hashlib
import json
import logging
import socket
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, String, inspect, null, select, text, type_coerce
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from pumpmgr.db import rowchain
from pumpmgr.db.errors import AuditError
from pumpmgr.db.schema import AuditEntry
from pumpmgr.db.session_options import READ_ONLY_OPTION
from pumpmgr.errors import Code

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
HASH_VERSION = "pumpmgr-audit-v1"
#: Entries that carry row images (revision 0008 on) hash them too, under this version.
HASH_VERSION_ROWS = "pumpmgr-audit-v2"
#: Key of the PostgreSQL transaction-level advisory lock that serialises appends.
PG_AUDIT_LOCK_KEY = 0x70756D7061756431  # "pumpaud1"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise AuditError(
                f"the audit payload holds the instant {value.isoformat()} without a time zone",
                code=Code.AUDIT_PAYLOAD,
            )
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    raise AuditError(
        f"the audit payload holds a {type(value).__name__}, which pumpmgr cannot record as JSON",
        code=Code.AUDIT_PAYLOAD,
    )


def canonical_json(value: Any) -> str:
    """One text per value: sorted keys, no spaces, UTF-8 characters kept, no NaN or infinity."""
    try:
        return json.dumps(
            value,
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
            default=_json_default,
        )
    except ValueError as exc:
        if isinstance(exc, AuditError):
            raise
        raise AuditError(
            f"the audit payload cannot be recorded as JSON ({exc})", code=Code.AUDIT_PAYLOAD
        ) from exc


def _instant_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(
    *,
    seq: int,
    recorded_at: datetime,
    username: str,
    workstation: str,
    action: str,
    entity_type: str,
    entity_id: str | None,
    payload: str,
    reason: str | None,
    prev_hash: str,
    written_rows: str | None = None,
) -> str:
    """The SHA-256 (hex) of the canonical serialization of one entry's fields: version 1
    without row images (``written_rows`` None), version 2 with them as the last field."""
    material = canonical_json(
        [
            HASH_VERSION if written_rows is None else HASH_VERSION_ROWS,
            seq,
            _instant_text(recorded_at),
            username,
            workstation,
            action,
            entity_type,
            entity_id,
            payload,
            reason,
            prev_hash,
            *([] if written_rows is None else [written_rows]),
        ]
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def _hash_of(entry: AuditEntry | Row[Any], recorded_at: datetime | None = None) -> str:
    """The hash of an entry, or of a row read as stored (its time parsed: ``recorded_at``)."""
    return entry_hash(
        seq=entry.seq,
        recorded_at=entry.recorded_at if recorded_at is None else recorded_at,
        username=entry.username,
        workstation=entry.workstation,
        action=entry.action,
        entity_type=entry.entity_type,
        entity_id=entry.entity_id,
        payload=entry.payload,
        reason=entry.reason,
        prev_hash=entry.prev_hash,
        written_rows=entry.written_rows,
    )


#: Hex digits of the head's hash a printed sheet shows, and the fewest an anchor may give.
#: 16 digits are 64 bits: a tamperer who rewrites the log must make the entry at the printed
#: sequence number hash to those 64 bits, about 2^64 (1.8e19) SHA-256 trials by brute force
#: for each sheet (the printed value is fixed, so no birthday shortcut), while a nurse can
#: still read and type them. A backup manifest and an export keep the whole hash.
PRINTED_HASH_DIGITS = 16
_HASH_DIGITS = 64
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class ChainAnchor:
    """A chain head recorded outside the database: in a backup manifest or an export (the
    whole hash), or on a printed sheet (its first :data:`PRINTED_HASH_DIGITS` hex digits)."""

    seq: int
    row_hash: str  #: 64 hex digits, or a prefix of at least PRINTED_HASH_DIGITS of them

    @property
    def is_prefix(self) -> bool:
        """True when the anchor holds only the beginning of the hash (a printed sheet's)."""
        return len(self.row_hash) < _HASH_DIGITS

    def matches(self, row_hash: str) -> bool:
        """Whether the entry at :attr:`seq` with this hash is the anchored one: the whole hash
        equal, or it begins with the anchor's prefix. A prefix shorter than
        :data:`PRINTED_HASH_DIGITS` digits (or an empty one) matches nothing."""
        if not self.is_prefix:
            return row_hash == self.row_hash
        return len(self.row_hash) >= PRINTED_HASH_DIGITS and row_hash.startswith(self.row_hash)

    def printed(self) -> str:
        """The anchor as a sheet prints it, ``812:3f2a9c01d4e5b6a7``; ``pumpmgr audit verify
        --anchor`` takes it back as typed (:func:`parse_anchor`)."""
        return f"{self.seq}:{self.row_hash[:PRINTED_HASH_DIGITS]}"


def parse_anchor(text: str) -> ChainAnchor:
    """``SEQ:HASH`` as a sheet prints it (``812:3f2a9c01d4e5b6a7``) or with the whole hash, as
    a backup manifest holds it: HASH is 16 to 64 hex digits, upper or lower case; a ``#``
    before SEQ and spaces around the whole are allowed. ValueError (its message says what
    was wrong) otherwise."""
    seq_text, colon, digest = text.strip().partition(":")
    seq_text, digest = seq_text.strip().removeprefix("#"), digest.strip().lower()
    if not colon or not (seq_text.isascii() and seq_text.isdigit()) or int(seq_text) < 1:
        raise ValueError(f"'{text}' does not begin with an entry number and a colon (SEQ:HASH)")
    if not set(digest) <= _HEX or not PRINTED_HASH_DIGITS <= len(digest) <= _HASH_DIGITS:
        raise ValueError(
            f"'{text}': the hash after the colon must be {PRINTED_HASH_DIGITS} to "
            f"{_HASH_DIGITS} hex digits (0-9, a-f), not {len(digest)} characters"
            + ("" if set(digest) <= _HEX else " with others among them")
        )
    return ChainAnchor(seq=int(seq_text), row_hash=digest)


def chain_head(session: Session) -> ChainAnchor | None:
    """The newest entry's sequence number and hash, or None for an empty log."""
    row = session.execute(
        select(AuditEntry.seq, AuditEntry.row_hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    return None if row is None else ChainAnchor(seq=row.seq, row_hash=row.row_hash)


def _lock_chain(session: Session) -> None:
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_AUDIT_LOCK_KEY})
        return
    if connection.get_execution_options().get(READ_ONLY_OPTION):
        raise AuditError(
            "audit entries are written in a write unit of work (Database.write), "
            "not a read-only one",
            code=Code.AUDIT_PAYLOAD,
        )


def append_audit(
    session: Session,
    *,
    username: str,
    action: str,
    entity_type: str,
    entity_id: int | str | None = None,
    changes: Mapping[str, Any] | None = None,
    reason: str | None = None,
    workstation: str | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Append one entry inside the caller's transaction and return it (flushed, not committed).

    ``changes`` is what changed, for example ``{"status": {"before": "active", "after":
    "explanted"}}``; it is stored as canonical JSON. ``at`` defaults to now; it must carry a
    time zone.
    """
    if at is not None and (at.tzinfo is None or at.utcoffset() is None):
        raise AuditError(
            f"the audit time {at.isoformat()} has no time zone", code=Code.AUDIT_PAYLOAD
        )
    payload = canonical_json(dict(changes or {}))
    recorded_at = (at or datetime.now(UTC)).astimezone(UTC)
    host = workstation if workstation is not None else socket.gethostname()
    entity = None if entity_id is None else str(entity_id)

    _lock_chain(session)
    session.flush()  # the rows written so far are collected (pumpmgr.db.rowchain)
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.row_hash, AuditEntry.written_rows.is_(None))
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    ).first()
    head = None if last is None else ChainAnchor(seq=last[0], row_hash=last[1])
    seq = 1 if head is None else head.seq + 1
    prev_hash = GENESIS_HASH if head is None else head.row_hash
    writes = rowchain.take_writes(session)
    # The first entry that carries row images also records every row that was there before.
    first_covered = last is None or bool(last[2])
    base = (
        rowchain.baseline(session, {(w["t"], w["id"]) for w in writes}) if (first_covered) else None
    )
    entry = AuditEntry(
        seq=seq,
        recorded_at=recorded_at,
        username=username,
        workstation=host,
        action=action,
        entity_type=entity_type,
        entity_id=entity,
        payload=payload,
        reason=reason,
        prev_hash=prev_hash,
        written_rows=rowchain.rows_json(writes, base),
    )
    entry.row_hash = _hash_of(entry)
    session.add(entry)
    session.flush()
    # Record ids only: the log file must hold no patient data (pumpmgr.logfile)
    log.info("writing audit entry %d: %s on %s %s", seq, action, entity_type, entity or "-")
    return entry


class ChainProblem(enum.StrEnum):
    ALTERED = "altered"  #: an entry's fields no longer match its own hash
    REMOVED = "removed"  #: a sequence number is missing
    #: a valid entry that does not follow its predecessor
    INSERTED_OR_REMOVED = "inserted_or_removed"
    TRUNCATED = "truncated"  #: the log ends before the anchored head
    REWRITTEN = "rewritten"  #: the entry at the anchored head has another hash


@dataclass(frozen=True)
class ChainReport:
    """The result of :func:`verify_chain`."""

    ok: bool
    #: Entries checked and found sound before the first problem (all of them when ``ok``).
    entries_checked: int
    head: ChainAnchor | None
    first_bad_seq: int | None = None
    problem: ChainProblem | None = None
    message: str = "the audit log is intact"


def _stored_instant(value: object) -> datetime:
    """An entry's ``recorded_at`` as the database returned it (text on SQLite, a datetime on
    PostgreSQL) as an aware UTC datetime; ValueError or TypeError when it is not a time, or
    (SQLite) not written exactly as pumpmgr writes one (a changed byte can leave the same time,
    for example another separator between date and time)."""
    if isinstance(value, str):
        text_value = value
        value = datetime.fromisoformat(text_value)
        if value.isoformat(sep=" ", timespec="microseconds") != text_value:
            raise ValueError(f"not a time as pumpmgr stores one: {text_value!r}")
    if not isinstance(value, datetime):
        raise TypeError(f"not a time: {value!r}")
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _written_rows(session: Session) -> Any:
    """The ``written_rows`` column, or NULL in a database of a revision before 0008 (a backup
    taken before migrating one verifies its chain as it stands)."""
    columns = {c["name"] for c in inspect(session.connection()).get_columns("audit_log")}
    if "written_rows" in columns:
        return AuditEntry.written_rows
    return null().label("written_rows")


def _entries(session: Session, from_seq: int, batch_size: int) -> Iterable[Any]:
    """The audit entries from ``from_seq`` on, in sequence order, ``batch_size`` at a time."""
    return session.execute(
        select(
            AuditEntry.seq,
            # Read as stored, parsed below: a tampered value that is not a time must be
            # reported as an altered entry, not stop the check with an error.
            type_coerce(AuditEntry.recorded_at, String).label("recorded_at"),
            AuditEntry.username,
            AuditEntry.workstation,
            AuditEntry.action,
            AuditEntry.entity_type,
            AuditEntry.entity_id,
            AuditEntry.payload,
            AuditEntry.reason,
            AuditEntry.prev_hash,
            AuditEntry.row_hash,
            _written_rows(session),
        )
        .where(AuditEntry.seq >= from_seq)
        .order_by(AuditEntry.seq)
        .execution_options(yield_per=batch_size)
    )


def _readable(session: Session, batch_size: int, from_seq: int = 1) -> Iterator[Any]:
    """Every audit entry in sequence order, then None and the end at the first one the database
    cannot decode (SQLite refuses to return text that is not UTF-8: a byte of it was changed
    behind its back). Such an entry spoils the whole batch it is read in, the first one
    included, so the entries from the last one read are read again one at a time: the None
    comes exactly where that entry is."""
    next_seq, size = from_seq, batch_size
    while True:
        try:
            for row in _entries(session, next_seq, size):
                yield row
                next_seq = row.seq + 1
            return
        except DBAPIError as exc:
            if "Could not decode" not in str(exc.orig):
                raise
            if size == 1:
                yield None
                return
            size = 1


def verify_chain(
    session: Session,
    anchor: ChainAnchor | None = None,
    *,
    batch_size: int = 5000,
    start: ChainAnchor | None = None,
) -> ChainReport:
    """Check every entry in sequence order and report the first that was tampered with.

    Order of the checks for each entry: a gap in the sequence (entries removed), its own hash
    (entry altered), its link to the previous entry (an entry inserted or removed before it).
    With ``anchor``, also that the log reaches the anchored entry and that entry's hash matches.

    With ``start`` (a head verified before: :mod:`pumpmgr.db.checkpoint`), only the entries
    from ``start.seq`` on are read: that entry must still be there with the hash it had, so a
    log rewritten or cut at or before it is reported; an entry before it altered on its own
    (its successors untouched) is then found only by the full check.
    """
    expected_seq = 1 if start is None else start.seq
    prev_hash: str | None = GENESIS_HASH if start is None else None  #: None: not checked
    head: ChainAnchor | None = None
    covered = False  #: an entry with row images was seen: every later one has them

    def bad(seq: int, problem: ChainProblem, message: str) -> ChainReport:
        return ChainReport(
            ok=False,
            entries_checked=expected_seq - 1,
            head=head,
            first_bad_seq=seq,
            problem=problem,
            message=message,
        )

    for row in _readable(session, batch_size, expected_seq):
        if (
            start is not None
            and row is not None
            and row.seq == start.seq
            and (row.row_hash != start.row_hash)
        ):
            return bad(
                row.seq,
                ChainProblem.REWRITTEN,
                f"audit entry #{row.seq} differs from the one verified before: the log was "
                "rewritten up to or past that entry.",
            )
        if row is None:
            return bad(
                expected_seq,
                ChainProblem.ALTERED,
                f"audit entry #{expected_seq} cannot be read (its text is not valid UTF-8): "
                "it was altered.",
            )
        if row.seq != expected_seq:
            missing = (
                f"#{expected_seq}"
                if row.seq == expected_seq + 1
                else f"#{expected_seq} to #{row.seq - 1}"
            )
            return bad(
                expected_seq,
                ChainProblem.REMOVED,
                f"audit entry {missing} is missing: the next entry is #{row.seq}. "
                "Entries were removed from the log.",
            )
        try:
            computed: str | None = _hash_of(row, _stored_instant(row.recorded_at))
        except (AuditError, ValueError, TypeError, AttributeError):
            computed = None  # a field no program of ours could have written: altered
        if computed != row.row_hash:
            return bad(
                row.seq,
                ChainProblem.ALTERED,
                f"audit entry #{row.seq} was altered: its contents no longer match its hash.",
            )
        if covered and row.written_rows is None:
            return bad(
                row.seq,
                ChainProblem.ALTERED,
                f"audit entry #{row.seq} was altered: it no longer carries the images of the "
                "rows it wrote, which every entry after the first that does must carry.",
            )
        covered = covered or row.written_rows is not None
        if prev_hash is not None and row.prev_hash != prev_hash:
            return bad(
                row.seq,
                ChainProblem.INSERTED_OR_REMOVED,
                f"audit entry #{row.seq} does not follow entry #{row.seq - 1}: an entry was "
                f"inserted or removed before #{row.seq}.",
            )
        if anchor is not None and row.seq == anchor.seq and not anchor.matches(row.row_hash):
            recorded = f" (its hash does not begin {anchor.row_hash})" if anchor.is_prefix else ""
            return bad(
                row.seq,
                ChainProblem.REWRITTEN,
                f"audit entry #{row.seq} differs from the head recorded outside the "
                f"database{recorded}: the log was rewritten up to or past that entry.",
            )
        prev_hash = row.row_hash
        head = ChainAnchor(seq=row.seq, row_hash=row.row_hash)
        expected_seq += 1

    if start is not None and (head is None or head.seq < start.seq):
        last = start.seq - 1 if head is None else head.seq
        return bad(
            last + 1,
            ChainProblem.TRUNCATED,
            f"the audit log ends before entry #{start.seq}, which was verified before: "
            "entries were removed from the end.",
        )
    if anchor is not None and (head is None or head.seq < anchor.seq):
        last = 0 if head is None else head.seq
        return bad(
            last + 1,
            ChainProblem.TRUNCATED,
            f"the audit log ends at entry #{last}, but entry #{anchor.seq} was recorded "
            "outside the database: entries were removed from the end.",
        )
    return ChainReport(ok=True, entries_checked=expected_seq - 1, head=head)
