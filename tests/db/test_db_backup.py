"""Backups (online, consistent, with a manifest), checked restore, daily retention (SQLite)."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
from db_helpers import add_patient
from sqlalchemy import func, select

from pumpmgr.db import migrate
from pumpmgr.db.audit import append_audit
from pumpmgr.db.backup import (
    backup_database,
    check_backup,
    daily_backup,
    daily_backups,
    manifest_path,
    read_manifest,
    restore_database,
)
from pumpmgr.db.engine import Database, open_database
from pumpmgr.db.errors import BackupError
from pumpmgr.db.schema import Patient
from pumpmgr.errors import Code


def _record_patient(db: Database, mrn: str) -> None:
    with db.write() as session:
        patient = add_patient(session, mrn=mrn)
        append_audit(
            session,
            username="ann",
            action="patient.create",
            entity_type="patient",
            entity_id=patient.id,
            changes={"mrn": {"before": None, "after": mrn}},
        )


def _mrns(db: Database) -> list[str]:
    with db.read() as session:
        return list(session.scalars(select(Patient.mrn).order_by(Patient.id)))


def test_backup_and_restore_round_trip(sqlite_database: Database, tmp_path: Path) -> None:
    db = sqlite_database
    assert db.path is not None
    _record_patient(db, "MRN-1")
    _record_patient(db, "MRN-2")
    backup = tmp_path / "saved" / "pumpmgr-manual.db"
    manifest = backup_database(db.engine, backup)

    assert backup.is_file() and not backup.with_name(backup.name + ".partial").exists()
    assert manifest.sha256 == hashlib.sha256(backup.read_bytes()).hexdigest()
    assert manifest.schema_revision == migrate.head_revision() and manifest.chain_ok
    assert manifest.chain_head_seq == 2
    assert read_manifest(backup) == manifest
    assert check_backup(backup).chain.entries_checked == 2

    _record_patient(db, "MRN-3")  # a change after the backup, lost by the restore
    db.dispose()
    safety = restore_database(backup, db.path)

    with open_database(db.path) as restored:
        assert _mrns(restored) == ["MRN-1", "MRN-2"]
        report = restored.verify_audit_chain(manifest.anchor)
        assert report.ok and report.entries_checked == 2
    assert safety is not None and safety.is_file()
    with sqlite3.connect(f"file:{safety}?mode=ro", uri=True) as before:
        assert before.execute("SELECT count(*) FROM patients").fetchone() == (3,)


def test_a_backup_taken_during_writes_is_consistent(
    sqlite_database: Database, tmp_path: Path
) -> None:
    db = sqlite_database
    stop = threading.Event()
    written: list[int] = []

    def writer() -> None:
        n = 0
        while not stop.is_set() and n < 400:
            n += 1
            _record_patient(db, f"W-{n}")
            written.append(n)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 5 and thread.is_alive():
            stop.wait(0.01)
        manifests = [backup_database(db.engine, tmp_path / f"b{i}.db") for i in range(3)]
        during = len(written)
    finally:
        stop.set()
        thread.join()
    assert during >= 5
    for i, manifest in enumerate(manifests):
        checked = check_backup(tmp_path / f"b{i}.db")
        with sqlite3.connect(tmp_path / f"b{i}.db") as copy:
            patients = copy.execute("SELECT count(*) FROM patients").fetchone()[0]
        # every patient came with its audit entry: no half-copied transaction
        assert patients == checked.chain.entries_checked == manifest.chain_head_seq
        assert patients >= 5


def test_restore_refuses_a_file_that_is_not_a_database(
    sqlite_database: Database, tmp_path: Path
) -> None:
    assert sqlite_database.path is not None
    _record_patient(sqlite_database, "MRN-1")
    sqlite_database.dispose()
    impostor = tmp_path / "impostor.db"
    impostor.write_text("not a database at all\n" * 100, encoding="utf-8")
    with pytest.raises(BackupError) as refused:
        restore_database(impostor, sqlite_database.path)
    assert refused.value.code is Code.DB_NOT_PUMPMGR
    assert "not a SQLite database" in refused.value.message
    with open_database(sqlite_database.path) as db:
        assert _mrns(db) == ["MRN-1"]


def test_restore_refuses_another_programs_database(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE recipes (id INTEGER PRIMARY KEY)")
    with pytest.raises(BackupError) as refused:
        restore_database(other, tmp_path / "clinic.db")
    assert refused.value.code is Code.DB_NOT_PUMPMGR
    assert not (tmp_path / "clinic.db").exists()


def _corrupt(path: Path, page: int) -> None:
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    start = page_size * (page - 1)
    data[start : start + page_size] = bytes((i * 37 + 11) % 256 for i in range(page_size))
    path.write_bytes(bytes(data))


def test_restore_refuses_a_corrupt_backup(sqlite_database: Database, tmp_path: Path) -> None:
    for n in range(30):
        _record_patient(sqlite_database, f"MRN-{n}")
    backup = tmp_path / "b.db"
    backup_database(sqlite_database.engine, backup)
    manifest_path(backup).unlink()  # integrity_check alone must catch a damaged page
    _corrupt(backup, page=3)
    with pytest.raises(BackupError) as refused:
        check_backup(backup)
    assert refused.value.code is Code.DB_CORRUPT


def test_restore_refuses_a_truncated_backup(sqlite_database: Database, tmp_path: Path) -> None:
    for n in range(30):
        _record_patient(sqlite_database, f"MRN-{n}")
    backup = tmp_path / "b.db"
    backup_database(sqlite_database.engine, backup)
    data = backup.read_bytes()
    backup.write_bytes(data[: len(data) // 2])
    with pytest.raises(BackupError) as refused:
        check_backup(backup)
    assert refused.value.code is Code.DB_CORRUPT


def test_restore_refuses_an_edited_backup(sqlite_database: Database, tmp_path: Path) -> None:
    """A byte changed inside a record passes integrity_check; the manifest's SHA-256 and,
    without a manifest, the audit chain catch it."""
    _record_patient(sqlite_database, "MRN-1")
    backup = tmp_path / "b.db"
    backup_database(sqlite_database.engine, backup)
    data = backup.read_bytes()
    assert data.count(b'"after":"MRN-1"') == 1
    backup.write_bytes(data.replace(b'"after":"MRN-1"', b'"after":"MRN-7"'))
    with pytest.raises(BackupError, match="SHA-256") as by_manifest:
        check_backup(backup)
    manifest_path(backup).unlink()
    with pytest.raises(BackupError, match="broken audit log") as by_chain:
        check_backup(backup)
    assert by_manifest.value.code is Code.DB_CORRUPT
    assert by_chain.value.code is Code.BACKUP_CHAIN_BROKEN  # an administrator may override


def test_daily_backup_keeps_the_newest(sqlite_database: Database, tmp_path: Path) -> None:
    folder = tmp_path / "daily"
    first_day = date(2026, 3, 1)
    for offset in range(5):
        made = daily_backup(
            sqlite_database.engine, folder, keep=3, today=first_day + timedelta(days=offset)
        )
        assert made is not None
    again = daily_backup(sqlite_database.engine, folder, keep=3, today=date(2026, 3, 5))
    names = [p.name for p in daily_backups(folder)]
    assert again is None
    assert names == [
        "pumpmgr-daily-2026-03-05.db",
        "pumpmgr-daily-2026-03-04.db",
        "pumpmgr-daily-2026-03-03.db",
    ]
    assert sorted(p.name for p in folder.glob("*.json")) == sorted(f"{n}.json" for n in names)


def test_backup_refuses_postgresql(database: Database, tmp_path: Path) -> None:
    if database.backend == "sqlite":
        manifest = backup_database(database.engine, tmp_path / "ok.db")
        assert manifest.schema_revision == migrate.head_revision()
        return
    with pytest.raises(BackupError, match="pg_dump"):
        backup_database(database.engine, tmp_path / "pg.db")


def test_a_restored_backup_counts_what_it_held(sqlite_database: Database, tmp_path: Path) -> None:
    for n in range(5):
        _record_patient(sqlite_database, f"MRN-{n}")
    backup_database(sqlite_database.engine, tmp_path / "b.db")
    target = tmp_path / "fresh" / "clinic.db"
    target.parent.mkdir()
    assert restore_database(tmp_path / "b.db", target) is None  # nothing there to keep
    with open_database(target) as db, db.read() as session:
        assert session.scalar(select(func.count()).select_from(Patient)) == 5


def test_opening_the_database_takes_the_daily_backup_once(tmp_path: Path) -> None:
    path = tmp_path / "clinic.db"
    with open_database(path, daily_backup_keep=None) as db:
        assert daily_backups(tmp_path / "backups") == []
        _record_patient(db, "MRN-1")
    with open_database(path) as db:
        made = daily_backups(tmp_path / "backups")
        assert len(made) == 1 and db.backup_dir == tmp_path / "backups"
        assert check_backup(made[0]).chain.entries_checked == 1
        _record_patient(db, "MRN-2")
    with open_database(path):
        assert daily_backups(tmp_path / "backups") == made  # today's exists already
