"""Checking only what was written since the last check (persistence layer: stdlib, SQLAlchemy,
pumpmgr.db).

The full check (:func:`pumpmgr.db.audit.verify_chain` and
:func:`pumpmgr.db.rowchain.verify_records`) reads every entry and every covered row: about two
minutes on a 5,000-patient clinic, too long for every start-up. The program therefore keeps a
*checkpoint*, the head of the chain the last check found sound and the highest id of every
covered table then (table ``integrity_checkpoints``, one row), and at start-up and before each
backup checks only:

- that the checkpoint's entry is still there with the hash it had (a log rewritten or cut at or
  before it is found), then every entry after it, linked to it;
- the rows those entries wrote, against their last images, and every row with an id above the
  checkpoint's (a row inserted behind pumpmgr's back);

and, when all is sound, moves the checkpoint to the new head. What it does not see: a row no
entry since the checkpoint wrote, changed or deleted in place, and an old entry altered on its
own; the full check (``pumpmgr audit verify``, and the window once a day per workstation:
:meth:`pumpmgr.services.records.RecordService.run_full_check`) finds those, and moves the
checkpoint too when it finds nothing. The first check of a clinic (no checkpoint yet)
verifies the whole chain but trusts the rows as they are, until the first full check.

The checkpoint is not covered by the chain: someone who can write the database can move it
forward, which hides a change from the start-up check but not from ``audit verify``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from pumpmgr.db.audit import ChainAnchor, ChainReport, verify_chain
from pumpmgr.db.rowchain import RecordsReport, max_ids, verify_records_since
from pumpmgr.db.schema import IntegrityCheckpoint

TABLE = IntegrityCheckpoint.__tablename__


@dataclass(frozen=True)
class Checkpoint:
    """The chain head a check found sound, and the highest id of every covered table then."""

    head: ChainAnchor
    max_ids: dict[str, int]
    verified_at: datetime


@dataclass(frozen=True)
class IncrementalReport:
    """The result of :func:`check_since_checkpoint`."""

    #: Where the check started (None: no checkpoint yet, the whole chain was checked).
    since: Checkpoint | None
    chain: ChainReport
    #: The rows written since the checkpoint; None when there was none (rows not checked).
    records: RecordsReport | None
    #: The highest ids when the check ran: the next checkpoint's.
    max_ids: dict[str, int]

    @property
    def ok(self) -> bool:
        return self.chain.ok and (self.records is None or self.records.ok)

    def findings(self) -> list[str]:
        """What is wrong, one line each: the chain's finding first, then each row's."""
        found = [] if self.chain.ok else [self.chain.message]
        if self.records is not None:
            found += [p.message for p in self.records.problems]
        return found

    def scope(self) -> str:
        """What was checked, in words."""
        head = self.chain.head.seq if self.chain.head is not None else 0
        if self.since is None:
            return (
                f"the whole audit log (entries #1 to #{head}); the records are checked "
                "from the next start on, or now by 'pumpmgr audit verify'"
            )
        rows = 0 if self.records is None else self.records.rows_checked
        return f"audit entries #{self.since.head.seq} to #{head} and the {rows} rows written since"


def read_checkpoint(session: Session) -> Checkpoint | None:
    """The stored checkpoint; None when there is none (or the schema predates it)."""
    if not inspect(session.connection()).has_table(TABLE):
        return None
    row = session.get(IntegrityCheckpoint, 1)
    if row is None:
        return None
    try:
        ids = {str(k): int(v) for k, v in json.loads(row.max_ids).items()}
    except (ValueError, TypeError, AttributeError):
        ids = {}  # damaged: every row counts as newer, which the check then reads
    return Checkpoint(ChainAnchor(seq=row.seq, row_hash=row.row_hash), ids, row.verified_at)


def check_since_checkpoint(session: Session) -> IncrementalReport:
    """Check the entries and rows written since the stored checkpoint (module docstring);
    changes nothing. In a write unit of work no other writer appends meanwhile."""
    since = read_checkpoint(session)
    chain = verify_chain(session, start=None if since is None else since.head)
    records = None
    if since is not None:
        records = verify_records_since(
            session, since.head.seq, chain.entries_checked, since.max_ids
        )
    # Read after the chain, so that no row of an entry after the head is taken for old.
    return IncrementalReport(since, chain, records, max_ids(session))


def store_checkpoint(
    session: Session, head: ChainAnchor, ids: dict[str, int], at: datetime
) -> None:
    """Make ``head`` (with the highest ``ids`` when it was checked) the checkpoint."""
    row = session.get(IntegrityCheckpoint, 1)
    text = json.dumps(ids, sort_keys=True, separators=(",", ":"))
    if row is None:
        session.add(
            IntegrityCheckpoint(
                id=1, seq=head.seq, row_hash=head.row_hash, max_ids=text, verified_at=at
            )
        )
    else:
        row.seq, row.row_hash, row.max_ids, row.verified_at = (head.seq, head.row_hash, text, at)
    session.flush()


def advance(session: Session, report: IncrementalReport, at: datetime) -> bool:
    """Move the checkpoint to the head ``report`` found sound; False (nothing written) when it
    found a problem or the log is empty."""
    if not report.ok or report.chain.head is None:
        return False
    if (
        report.since is not None
        and report.since.head == report.chain.head
        and (report.since.max_ids == report.max_ids)
    ):
        return True  # nothing new: no write
    store_checkpoint(session, report.chain.head, report.max_ids, at)
    return True
