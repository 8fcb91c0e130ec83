"""The clinic's records as a whole (application layer): reading and verifying the audit log,
and backing up, restoring and exporting the database. A restore replaces the context's
database, so every area reads the restored one from then on."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pumpmgr.db import checkpoint
from pumpmgr.db import schema as db
from pumpmgr.db.audit import ChainAnchor, ChainReport, append_audit, verify_chain
from pumpmgr.db.backup import BackupManifest, backup_database, check_backup
from pumpmgr.db.checkpoint import IncrementalReport as IncrementalReport  # the window names it
from pumpmgr.db.engine import open_database
from pumpmgr.db.rowchain import RecordsReport, max_ids, verify_records
from pumpmgr.db.snapshot import snapshot
from pumpmgr.errors import Code, InputError
from pumpmgr.services import audit_trail
from pumpmgr.services.audit_trail import AuditFilter, AuditPage, require_active
from pumpmgr.services.context import ClinicContext
from pumpmgr.services.forecasts import ForecastService
from pumpmgr.services.permissions import require_account
from pumpmgr.services.values import Actor, AuditRecord, ExportSummary

if TYPE_CHECKING:
    from pumpmgr.services.restoring import BrokenChainOverride

#: The audit action and user of an entry that records a break found by a check.
BREAK_ACTION = "integrity.break"
PROGRAM_USER = "pumpmgr"
#: Findings an ``integrity.break`` entry lists (all are counted).
BREAK_FINDINGS_KEPT = 50
#: The audit action of a full verification (:meth:`RecordService.run_full_check`): when, on
#: which workstation, and what it found.
FULL_CHECK_ACTION = "integrity.full_check"


@dataclass(frozen=True)
class IntegrityReport:
    """The audit chain, the records it covers and the stored forecasts, checked together
    (:meth:`RecordService.verify_integrity`)."""

    chain: ChainReport
    records: RecordsReport
    #: One line per stored forecast that differs from what its records give.
    forecasts: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.chain.ok and self.records.ok and not self.forecasts

    def findings(self) -> list[str]:
        """What is wrong, one line each: the chain's finding first, then every other."""
        return ([] if self.chain.ok else [self.chain.message]) + self.problems()

    def coverage(self) -> str:
        """From which entry the records are covered, in words."""
        if self.records.covered_from is None:
            return (
                "no audit entry carries row images yet: the records are covered from the "
                "next change on"
            )
        checked = (
            f"checked against entries #{self.records.covered_from} to #{self.records.checked_to}"
            if self.records.checked_to >= self.records.covered_from
            else "not checked (the chain broke before)"
        )
        return (
            f"records covered from audit entry #{self.records.covered_from}: "
            f"{self.records.rows_checked} rows {checked}"
        )

    def problems(self) -> list[str]:
        """Every finding of the records and the forecasts, one line each (the chain's own
        finding is :attr:`ChainReport.message`)."""
        return [p.message for p in self.records.problems] + [
            f"forecast of {line}" for line in self.forecasts
        ]


@dataclass(frozen=True)
class FullCheck:
    """One full verification as its audit entry records it."""

    at: datetime
    workstation: str
    ok: bool
    findings: int
    #: The newest audit entry it checked (None: the log was empty).
    head_seq: int | None
    seconds: float

    def summary(self, tz: tzinfo) -> str:
        """When and where it ran and what it found, in words."""
        from pumpmgr.formatting import format_datetime

        found = (
            "every record matched the audit log"
            if self.ok
            else f"{self.findings} finding{'' if self.findings == 1 else 's'} (the audit log "
            "says which)"
        )
        upto = "" if self.head_seq is None else f", audit entries #1 to #{self.head_seq}"
        return (
            f"Last full integrity check: {format_datetime(self.at.astimezone(tz))} on "
            f"{self.workstation}{upto}: {found}."
        )


def integrity_notice(report: IncrementalReport | IntegrityReport) -> str | None:
    """The one line every screen of an administrator, the due list and ``pumpmgr due`` show
    while the start-up check (or the window's daily full check) finds a break; None when it
    finds none."""
    found = report.findings()
    if not found:
        return None
    more = f" and {len(found) - 1} more" if len(found) > 1 else ""
    return (
        f"Integrity break: {found[0]}{more}. Clinical work can go on; the break is in the "
        "audit log, and an administrator should find out what changed."
    )


#: Entries behind the checkpoint above which the start-up check first catches up on a
#: snapshot: a write unit of work holds every other writer while it runs (SQLite's rollback
#: journal), so it is kept to about what a save may wait for (docs/performance.md).
CATCH_UP_AFTER_ENTRIES = 5_000


class RecordService:
    """The audit log, backup, restore and export."""

    def __init__(self, ctx: ClinicContext) -> None:
        self.ctx = ctx

    def verify_audit(self) -> ChainReport:
        with self.ctx.database.read() as session:
            return verify_chain(session)

    def verify_integrity(self, anchor: ChainAnchor | None = None) -> IntegrityReport:
        """The audit chain (:func:`verify_chain`, against ``anchor`` when given), then every
        covered row against the row images of its sound entries (:func:`verify_records`),
        then every stored forecast against its records
        (:meth:`ForecastService.forecast_problems`), in one read."""
        with self.ctx.database.read() as session:
            return self._verify(session, anchor)

    def _verify(self, session: Session, anchor: ChainAnchor | None = None) -> IntegrityReport:
        chain = verify_chain(session, anchor)
        records = verify_records(session, chain.entries_checked)
        forecasts = ForecastService(self.ctx).forecast_problems(session)
        return IntegrityReport(chain, records, tuple(forecasts))

    def run_full_check(self, anchor: ChainAnchor | None = None) -> IntegrityReport:
        """The full verification (:meth:`verify_integrity`, against ``anchor`` when given) of
        a consistent snapshot that holds up no writer (:func:`pumpmgr.db.snapshot.snapshot`),
        then on the record: an
        ``integrity.full_check`` entry (user ``pumpmgr``, this workstation) with what it
        found, the ``integrity.break`` entry when it found anything (once for the same
        findings), and, when all is sound, the start-up check's checkpoint moved up to the
        head it verified (so the next start-up check reads only what came after). It sees
        what the start-up check cannot: an old row or entry changed in place.

        The one call that may write two entries (reliability.md T8 asks one per mutating
        call): a break found is a fact about the records, written once for the same findings
        and looked up by its own action (:meth:`_record_break`, shared with the start-up
        check), while ``integrity.full_check`` records this run, sound or not."""
        started = time.perf_counter()
        checked = self.ctx.database
        with snapshot(checked) as session:
            report = self._verify(session, anchor)
            ids = max_ids(session)
        seconds = time.perf_counter() - started
        findings = report.findings()
        head = report.chain.head

        def work(session: Session) -> None:
            if findings:
                self._record_break(session, findings)
            elif head is not None:
                stored = checkpoint.read_checkpoint(session)
                if stored is None or stored.head.seq < head.seq:
                    checkpoint.store_checkpoint(session, head, ids, self.ctx.now())
            append_audit(
                session,
                username=PROGRAM_USER,
                action=FULL_CHECK_ACTION,
                entity_type="clinic",
                entity_id="records",
                changes={
                    "ok": not findings,
                    "findings": len(findings),
                    "head": None if head is None else head.seq,
                    "rows": report.records.rows_checked,
                    "seconds": round(seconds, 1),
                },
                workstation=self.ctx.workstation,
                at=self.ctx.now(),
            )

        if self.ctx.database is checked:  # (a restore meanwhile: the result is not its)
            self.ctx.write(work)
        return report

    def last_full_check(self, *, here: bool = False) -> FullCheck | None:
        """The newest full verification on record (``here``: run on this workstation);
        None when none has run."""
        query = select(db.AuditEntry).where(  # the entity's index: not the whole log
            db.AuditEntry.entity_type == "clinic",
            db.AuditEntry.entity_id == "records",
            db.AuditEntry.action == FULL_CHECK_ACTION,
        )
        if here:
            query = query.where(db.AuditEntry.workstation == self.ctx.workstation)
        with self.ctx.database.read() as session:
            entry = session.scalars(query.order_by(db.AuditEntry.seq.desc()).limit(1)).first()
            if entry is None:
                return None
            try:
                found = json.loads(entry.payload or "{}")
            except ValueError:
                found = {}
            return FullCheck(
                entry.recorded_at,
                entry.workstation or "?",
                found.get("ok") is True,
                int(found.get("findings") or 0),
                found.get("head"),
                float(found.get("seconds") or 0),
            )

    def full_check_due(self) -> bool:
        """Whether this workstation has not run the full verification since the clinic's
        day began (the window runs it once a day)."""
        last = self.last_full_check(here=True)
        return last is None or last.at.astimezone(self.ctx.tz).date() < self.ctx.today()

    def record_integrity_break(self) -> IntegrityReport:
        """:meth:`verify_integrity`, and when it finds anything, an audit entry
        ``integrity.break`` (user ``pumpmgr``) holding the findings, so that the break itself
        is on the record; the same findings as the last such entry's are not recorded again.
        Clinical work goes on either way: the caller shows the returned report."""
        report = self.verify_integrity()
        if report.ok:
            return report
        findings = report.findings()
        self.ctx.write(lambda session: self._record_break(session, findings))
        return report

    def _record_break(self, session: Session, findings: list[str]) -> None:
        """The ``integrity.break`` entry for ``findings``, unless the last one holds them."""
        digest = hashlib.sha256("\n".join(findings).encode("utf-8")).hexdigest()
        last = session.scalar(
            select(db.AuditEntry.payload)
            .where(db.AuditEntry.action == BREAK_ACTION)
            .order_by(db.AuditEntry.seq.desc())
            .limit(1)
        )
        if last is not None and digest in last:
            return
        append_audit(
            session,
            username=PROGRAM_USER,
            action=BREAK_ACTION,
            entity_type="clinic",
            entity_id="records",
            changes={
                "findings": findings[:BREAK_FINDINGS_KEPT],
                "count": len(findings),
                "digest": digest,
            },
            workstation=self.ctx.workstation,
            at=self.ctx.now(),
        )

    def check_since_checkpoint(self) -> IncrementalReport:
        """The start-up check: the audit entries and rows written since the last integrity
        checkpoint (:mod:`pumpmgr.db.checkpoint`), in one write unit of work so that no one
        appends meanwhile. Sound: the checkpoint moves to the head. Broken: the break is
        audited once (:meth:`record_integrity_break`'s entry) and the checkpoint stays, so
        every later check finds it again; clinical work goes on, the caller shows
        :func:`integrity_notice`."""

        self._catch_up()

        def work(session: Session) -> IncrementalReport:
            report = checkpoint.check_since_checkpoint(session)
            if not checkpoint.advance(session, report, self.ctx.now()) and not report.ok:
                self._record_break(session, report.findings())
            return report

        return self.ctx.write(work)

    def _catch_up(self) -> None:
        """When the checkpoint is far behind the head (none yet: the first start after an
        upgrade reads the whole chain), check that part on a snapshot that holds up no writer
        and move the checkpoint to it, so that the write unit of work that follows reads only
        what came after. A break found here is left for that unit, which finds and audits it
        again."""
        with self.ctx.database.read() as session:
            since = checkpoint.read_checkpoint(session)
            behind = (
                session.scalar(
                    select(func.count())
                    .select_from(db.AuditEntry)
                    .where(db.AuditEntry.seq > (0 if since is None else since.head.seq))
                )
                or 0
            )
        if behind <= CATCH_UP_AFTER_ENTRIES:
            return
        with snapshot(self.ctx.database) as session:
            report = checkpoint.check_since_checkpoint(session)
        if not report.ok or report.chain.head is None:
            return

        def work(session: Session) -> None:
            if checkpoint.read_checkpoint(session) == since:  # nobody moved it meanwhile
                checkpoint.advance(session, report, self.ctx.now())

        self.ctx.write(work)

    def audit_count(self, *, newer_than: int | None = None) -> int:
        """How many audit entries there are (with ``newer_than``: with a higher sequence
        number, which is the offset of that entry in :meth:`audit_entries`)."""
        with self.ctx.database.read() as session:
            query = select(func.count()).select_from(db.AuditEntry)
            if newer_than is not None:
                query = query.where(db.AuditEntry.seq > newer_than)
            return int(session.scalar(query) or 0)

    def audit_entries(self, offset: int, limit: int) -> list[AuditRecord]:
        """One page of the audit log, newest first, each entry naming its patient."""
        with self.ctx.database.read() as session:
            rows = session.scalars(
                select(db.AuditEntry)
                .order_by(db.AuditEntry.seq.desc())
                .offset(max(0, offset))
                .limit(max(0, limit))
            ).all()
            return list(audit_trail.records_of(session, rows))

    def audit_log(
        self, actor: Actor, wanted: AuditFilter | None = None, *, offset: int = 0, limit: int = 200
    ) -> AuditPage:
        """The entries ``wanted`` matches among those ``actor`` may read (the administrator
        all, another user their own and their own patients':
        :mod:`pumpmgr.services.audit_trail`), newest first: ``limit`` of them from
        ``offset``, and how many match. The account must still be active."""
        with self.ctx.database.read() as session:
            require_active(session, actor)
            where = audit_trail.conditions(session, actor, wanted or AuditFilter(), self.ctx.tz)
            total = (
                session.scalar(select(func.count()).select_from(db.AuditEntry).where(*where)) or 0
            )
            rows = session.scalars(
                select(db.AuditEntry)
                .where(*where)
                .order_by(db.AuditEntry.seq.desc())
                .offset(max(0, offset))
                .limit(max(0, limit))
            ).all()
            return AuditPage(audit_trail.records_of(session, rows), int(total))

    def audit_actions(self) -> list[str]:
        """Every action the log holds, in alphabetical order (for a filter's choices)."""
        with self.ctx.database.read() as session:
            return list(
                session.scalars(
                    select(db.AuditEntry.action).distinct().order_by(db.AuditEntry.action)
                )
            )

    def record_access(
        self,
        who: Actor | str,
        action: str,
        patient_id: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """An audit entry saying that ``who`` (a signed-in user, or the name of a command-line
        account) saw records without changing them: ``patient.view`` (a chart opened),
        ``sheet.print`` (a sheet made for printing or saving), ``export.clinic``. About the
        patient ``patient_id`` when given, else about the clinic. One small write: the
        entry is chained like every other."""
        username = who if isinstance(who, str) else who.username

        def work(session: Session) -> None:
            if not isinstance(who, str):
                require_active(session, who)
            append_audit(
                session,
                username=username,
                action=action,
                entity_type="clinic" if patient_id is None else "patient",
                entity_id="records" if patient_id is None else str(patient_id),
                changes=details,
                workstation=self.ctx.workstation,
                at=self.ctx.now(),
            )

        self.ctx.write(work)

    def switch_database(self, address: str) -> None:
        """Go on with the clinic database at ``address`` (the first run's choice of where the
        records live), created and migrated if new; it is opened before the current one is
        closed, so a refusal leaves the service as it was."""
        opened = open_database(address)
        self.ctx.database.dispose()
        self.ctx.database = opened
        if not self.ctx.tz_given:
            self.ctx.tz = self.ctx.clinic_zone()

    def _sqlite_path(self, doing: str) -> Path:
        path = self.ctx.database.path
        if path is None:
            does = "backs up" if doing == "backup" else "restores"
            raise InputError(
                f"{doing}: pumpmgr {does} SQLite files only; for PostgreSQL use the "
                "server's tools (pg_dump -Fc, pg_restore)",
                code=Code.BACKUP_FAILED,
                field=doing,
            )
        return path

    def backup_to(self, destination: Path) -> BackupManifest:
        """An online, consistent copy of the SQLite database at ``destination`` (a new file),
        with its manifest beside it (:func:`pumpmgr.db.backup.backup_database`)."""
        self._sqlite_path("backup")
        if destination.exists():
            raise InputError(
                f"backup: {destination} already exists; choose a new file name",
                code=Code.BACKUP_FAILED,
                field="backup",
            )
        self.check_since_checkpoint()  # a break is audited; the backup's manifest says it
        return backup_database(self.ctx.database.engine, destination)

    def restore_from(
        self,
        actor: Actor,
        backup: Path,
        *,
        require_manifest: bool = True,
        override: BrokenChainOverride | None = None,
    ) -> Path | None:
        """Replace the clinic's SQLite database with the checked backup ``backup`` and go on
        with the restored records; returns the safety copy of the replaced database.
        Only a signed-in administrator may (``actor``); the restore is audited under their
        name. ``require_manifest=False`` restores a backup that has no manifest after every other
        check; ``override`` (an administrator's, with a reason) one whose audit log is broken
        (:func:`pumpmgr.services.restoring.restore_clinic`, as the command line does).

        The backup is checked before anything is closed. The database is then closed, restored
        (refused while another pumpmgr has it open) and opened again; if the restore is refused
        the database is opened again as it was. Every signed-in user must sign in again: the
        restored records have their own accounts.
        """
        from pumpmgr.services.restoring import require_administrator, restore_clinic

        require_administrator(actor, "restore a backup")
        with self.ctx.database.read() as session:  # still an active administrator
            require_account(session, actor, "restore_backup")
        target = self._sqlite_path("restore")
        check_backup(
            backup, accept_broken_chain=override is not None, require_signed=require_manifest
        )
        old = self.ctx.database
        old.dispose()
        try:
            restored = restore_clinic(
                backup,
                target,
                administrator=actor,
                safety_dir=old.backup_dir,
                require_manifest=require_manifest,
                override=override,
                workstation=self.ctx.workstation,
            )
        finally:
            self.ctx.database = open_database(
                target, backup_dir=old.backup_dir, daily_backup_keep=None
            )
        return restored.safety_copy

    def export_document(self, actor: Actor) -> dict[str, Any]:
        """Every record, the audit log and the accounts' password hashes included, as one
        document (:func:`pumpmgr.services.exchange.export_clinic`): a signed-in
        administrator's alone, like the restore and import it feeds."""
        from pumpmgr.services.exchange import export_clinic
        from pumpmgr.services.restoring import require_administrator

        require_administrator(actor, "export the clinic's records")
        with self.ctx.database.read() as session:  # still an active administrator
            require_account(session, actor, "export_clinic")
        return export_clinic(self.ctx.database)

    def export_to(self, actor: Actor, destination: Path) -> ExportSummary:
        """:meth:`export_document` at ``destination``, written whole or not at all, and
        audited as ``actor``'s export (:meth:`record_access`) once written."""
        from pumpmgr.services.exchange import write_export

        document = self.export_document(actor)
        try:
            write_export(document, destination)
        except OSError as exc:
            raise InputError(
                f"export: {destination} cannot be written ({exc.strerror})",
                code=Code.NO_VALUE,
                field="export",
            ) from exc
        tables = document["tables"]
        self.record_access(
            actor,
            audit_trail.EXPORT_ACTION,
            None,
            {"file": destination.name, "patients": len(tables.get("patients", ()))},
        )
        return ExportSummary(
            destination,
            sum(len(rows) for rows in tables.values()),
            len(tables.get("patients", ())),
            len(tables.get("audit_log", ())),
        )
