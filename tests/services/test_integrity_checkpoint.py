"""The check at start-up and before each backup reads only what was written since the last
integrity checkpoint, finds a change made outside pumpmgr there, audits it once and lets
clinical work go on (issue 12, groups 2 and 3: pumpmgr/db/checkpoint.py)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from clinic_world import BERLIN, FAST_HASHER, PASSWORD, START
from sqlalchemy import select

from pumpmgr.clock import FixedClock
from pumpmgr.db import schema as db
from pumpmgr.db.backup import check_backup, read_manifest
from pumpmgr.db.checkpoint import read_checkpoint
from pumpmgr.db.engine import Database
from pumpmgr.db.errors import BackupError
from pumpmgr.errors import Code
from pumpmgr.services import Actor, ClinicService
from pumpmgr.services.inputs import PatientInput
from pumpmgr.services.records import BREAK_ACTION, integrity_notice


def _clinic(database: Database) -> tuple[ClinicService, Actor]:
    clinic = ClinicService(
        database, clock=FixedClock(START), tz=BERLIN, workstation="test", hasher=FAST_HASHER
    )
    admin = clinic.create_first_administrator("admin", PASSWORD, "Ada Admin")
    clinic.add_user(admin, "nina", PASSWORD, "Nina Nurse", "nurse")
    nurse = clinic.sign_in("nina", PASSWORD)
    return clinic, nurse


def _patient(clinic: ClinicService, nurse: Actor, mrn: str) -> int:
    return clinic.register_patient(
        nurse, PatientInput(mrn, "Meyer", "Anna", date(1970, 5, 1), "other")
    ).id


def _head(database: Database) -> int:
    with database.read() as session:
        return int(
            session.scalar(select(db.AuditEntry.seq).order_by(db.AuditEntry.seq.desc()).limit(1))
            or 0
        )


def _checkpoint_seq(database: Database) -> int | None:
    with database.read() as session:
        found = read_checkpoint(session)
    return None if found is None else found.head.seq


def _breaks(database: Database) -> list[dict[str, object]]:
    with database.read() as session:
        payloads = session.scalars(
            select(db.AuditEntry.payload).where(db.AuditEntry.action == BREAK_ACTION)
        ).all()
    return [json.loads(p) for p in payloads]


def _sql(database: Database, *statements: str) -> None:
    with database.engine.begin() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)


def test_a_sound_check_moves_the_checkpoint_and_then_reads_only_what_is_new(
    database: Database,
) -> None:
    clinic, nurse = _clinic(database)
    for n in range(5):
        _patient(clinic, nurse, f"10000{n}")
    first = clinic.records.check_since_checkpoint()
    assert first.ok and first.since is None and integrity_notice(first) is None
    assert _checkpoint_seq(database) == _head(database)
    _patient(clinic, nurse, "100009")
    second = clinic.records.check_since_checkpoint()
    assert second.ok and second.since is not None
    assert second.chain.head is not None and second.chain.head.seq == _head(database)
    assert second.records is not None and second.records.rows_checked == 1  # the new patient
    assert _checkpoint_seq(database) == _head(database)
    assert "the 1 rows written since" in second.scope()


def test_an_edit_since_the_checkpoint_is_found_audited_once_and_work_goes_on(
    database: Database,
) -> None:
    clinic, nurse = _clinic(database)
    clinic.records.check_since_checkpoint()
    kept = _checkpoint_seq(database)
    patient = _patient(clinic, nurse, "100001")
    _sql(database, f"UPDATE patients SET notes = 'x' WHERE id = {patient}")
    report = clinic.records.check_since_checkpoint()
    assert not report.ok
    assert report.findings() == [
        f"patients #{patient}: notes changed outside pumpmgr (last "
        f"written by pumpmgr at audit entry #{kept + 1})"
    ]
    notice = integrity_notice(report)
    assert notice is not None and notice.startswith(f"Integrity break: patients #{patient}")
    assert "Clinical work can go on" in notice
    assert [b["count"] for b in _breaks(database)] == [1]
    assert _checkpoint_seq(database) == kept  # found again by every later check ...
    assert not clinic.records.check_since_checkpoint().ok
    assert len(_breaks(database)) == 1  # ... but audited once
    _patient(clinic, nurse, "100002")  # clinical work goes on
    assert not clinic.records.check_since_checkpoint().ok


def test_a_row_inserted_outside_pumpmgr_is_found(database: Database) -> None:
    clinic, nurse = _clinic(database)
    patient = _patient(clinic, nurse, "100001")
    clinic.records.check_since_checkpoint()
    columns = [c.name for c in db.Patient.__table__.columns if c.name not in ("id", "mrn")]
    listed = ", ".join(columns)
    _sql(
        database,
        f"INSERT INTO patients (id, mrn, {listed}) SELECT {patient + 50}, 'Z9', "
        f"{listed} FROM patients WHERE id = {patient}",
    )
    report = clinic.records.check_since_checkpoint()
    assert report.findings() == [f"patients #{patient + 50}: inserted outside pumpmgr"]


def test_a_deletion_of_a_row_written_since_is_found(database: Database) -> None:
    clinic, nurse = _clinic(database)
    clinic.records.check_since_checkpoint()
    patient = _patient(clinic, nurse, "100001")
    _sql(database, f"DELETE FROM patients WHERE id = {patient}")
    (finding,) = clinic.records.check_since_checkpoint().findings()
    assert finding.startswith(f"patients #{patient}: deleted outside pumpmgr")


def _drop_audit_triggers(database: Database) -> list[str]:
    if database.backend == "sqlite":
        return ["DROP TRIGGER trg_audit_log_no_update", "DROP TRIGGER trg_audit_log_no_delete"]
    return ["DROP TRIGGER trg_audit_log_no_change ON audit_log"]


def test_a_rewrite_of_the_verified_entries_is_caught_by_the_checkpoint_hash(
    database: Database,
) -> None:
    """A log rewritten up to the checkpoint (here its entry's hash replaced, as a consistent
    rewrite would) or cut before it is found without reading the entries before it."""
    clinic, nurse = _clinic(database)
    _patient(clinic, nurse, "100001")
    clinic.records.check_since_checkpoint()
    seq = _checkpoint_seq(database)
    _sql(
        database,
        *_drop_audit_triggers(database),
        f"UPDATE audit_log SET row_hash = '{'f' * 64}' WHERE seq = {seq}",
    )
    report = clinic.records.check_since_checkpoint()
    assert report.findings() == [
        f"audit entry #{seq} differs from the one verified before: "
        "the log was rewritten up to or past that entry."
    ]


def test_a_log_cut_before_the_checkpoint_is_caught(database: Database) -> None:
    clinic, nurse = _clinic(database)
    _patient(clinic, nurse, "100001")
    clinic.records.check_since_checkpoint()
    seq = _checkpoint_seq(database)
    assert seq is not None
    _sql(database, *_drop_audit_triggers(database), f"DELETE FROM audit_log WHERE seq >= {seq}")
    (finding,) = clinic.records.check_since_checkpoint().findings()
    assert finding == (
        f"the audit log ends before entry #{seq}, which was verified before: "
        "entries were removed from the end."
    )


def test_a_row_not_written_since_the_checkpoint_is_left_to_the_full_check(
    database: Database,
) -> None:
    """The limit of the incremental check, as documented: only the full check reads every
    row. A full check that finds nothing moves the checkpoint too."""
    clinic, nurse = _clinic(database)
    patient = _patient(clinic, nurse, "100001")
    clinic.records.check_since_checkpoint()
    _sql(database, f"UPDATE patients SET notes = 'x' WHERE id = {patient}")
    assert clinic.records.check_since_checkpoint().ok
    assert not clinic.verify_integrity().ok


@pytest.mark.parametrize("db_target", ["sqlite"], indirect=True)  # pumpmgr backs up SQLite
def test_a_backup_after_a_break_is_taken_and_its_manifest_says_broken(
    database: Database, tmp_path: Path
) -> None:
    clinic, nurse = _clinic(database)
    clinic.records.check_since_checkpoint()
    patient = _patient(clinic, nurse, "100001")
    _sql(database, f"UPDATE patients SET notes = 'x' WHERE id = {patient}")
    backup = tmp_path / "after-break.db"
    manifest = clinic.records.backup_to(backup)
    assert backup.is_file() and not manifest.chain_ok
    assert manifest.chain_problem is not None
    assert manifest.chain_problem.startswith(f"patients #{patient}: notes changed outside")
    assert read_manifest(backup) == manifest
    assert len(_breaks(database)) == 1  # the check before the backup audited it
    with pytest.raises(BackupError) as refused:
        check_backup(backup)
    assert refused.value.code is Code.BACKUP_CHAIN_BROKEN
    assert f"patients #{patient}: notes changed outside" in refused.value.message
    assert not check_backup(backup, accept_broken_chain=True).chain.ok


def test_a_checkpoint_far_behind_is_caught_up_on_a_snapshot_first(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Far behind (no checkpoint yet, the first start after an upgrade), the long part is
    checked on a snapshot and the checkpoint moved to it; the write unit of work that follows
    reads only the rest, and a break in the part caught up is still found and audited once."""
    monkeypatch.setattr("pumpmgr.services.records.CATCH_UP_AFTER_ENTRIES", 3)
    clinic, nurse = _clinic(database)
    for n in range(5):
        _patient(clinic, nurse, f"10000{n}")
    report = clinic.records.check_since_checkpoint()
    assert report.ok and report.since is not None  # caught up: the unit started from it
    assert report.records is not None and report.records.rows_checked == 0  # nothing after
    assert _checkpoint_seq(database) == _head(database)

    clinic.records.check_since_checkpoint()
    patient = _patient(clinic, nurse, "100009")
    for n in range(5):  # far behind again, with a break in the part caught up
        _patient(clinic, nurse, f"20000{n}")
    _sql(database, f"UPDATE patients SET notes = 'x' WHERE id = {patient}")
    kept = _checkpoint_seq(database)
    broken = clinic.records.check_since_checkpoint()
    assert [f.split(":")[0] for f in broken.findings()] == [f"patients #{patient}"]
    assert _checkpoint_seq(database) == kept  # not moved past the break
    assert [b["count"] for b in _breaks(database)] == [1]
