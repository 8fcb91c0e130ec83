"""Harness: restore after a crash never loses a committed record (issue 12, group 1).

A program saving records is killed (``os._exit``, no rollback, no checkpoint) in the middle of
a transaction, leaving a *hot* rollback journal beside the database, or after commits that are
still only in the write-ahead log. Then a backup older than those records is restored. Every
record committed after the backup must be in the safety copy restore makes of the replaced
database (the uncommitted transaction must not be), and when no verified safety copy can be made
the restore is refused with the clinic left as it was.
"""

from __future__ import annotations

import contextlib
import io
import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from storage_workers import PASSWORD, build_clinic, print_failures

from pumpmgr.cli import main
from pumpmgr.db.backup import backup_database, restore_database
from pumpmgr.db.engine import open_database
from pumpmgr.db.errors import BackupError
from pumpmgr.errors import Code

ROOT = Path(__file__).resolve().parents[2]

#: A child that commits ``committed`` patients (each acknowledged on stdout after its commit)
#: and then, in ``journal`` mode "delete", dies inside a transaction that has spilled pages
#: into the database file (a hot journal), or in "wal" mode dies with the commits still in the
#: write-ahead log.
CRASH = r"""
import os, sys, sqlite3
path, journal, committed, spill = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
db = sqlite3.connect(path, isolation_level=None)
db.execute("PRAGMA foreign_keys = ON")
db.execute(f"PRAGMA journal_mode = {journal}")
if journal == "wal":
    db.execute("PRAGMA wal_autocheckpoint = 0")
for n in range(committed):
    mrn = f"AFTER{os.getpid()}-{n}"
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO patients (mrn, family_name, given_name, date_of_birth, indication, "
               "renal_impairment, status, notes, created_at, updated_at, version) VALUES "
               "(?, 'Late', 'Lena', '1970-01-01', 'other', 0, 'active', '', "
               "'2026-03-02 09:30:00.000000', '2026-03-02 09:30:00.000000', 1)", (mrn,))
    db.execute("COMMIT")
    print(mrn, flush=True)
db.execute("PRAGMA cache_size = 2")
db.execute("BEGIN IMMEDIATE")
db.execute("INSERT INTO patients (mrn, family_name, given_name, date_of_birth, indication, "
           "renal_impairment, status, notes, created_at, updated_at, version) VALUES "
           "('UNCOMMITTED', 'Never', 'Saved', '1970-01-01', 'other', 0, 'active', '', "
           "'2026-03-02 09:30:00.000000', '2026-03-02 09:30:00.000000', 1)")
db.execute("CREATE TABLE spill (x BLOB)")
db.execute("INSERT INTO spill SELECT randomblob(900) FROM "
           "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
           "SELECT i FROM n)", (spill,))
os._exit(0)
"""


def _crash(path: Path, journal: str, committed: int, spill: int) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", CRASH, str(path), journal, str(committed), str(spill)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def _cli(*argv: str) -> tuple[int, str, str]:
    """``pumpmgr ARGV`` in this process, signed in as the clinic's administrator: exit status,
    standard output, standard error."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PUMPMGR_PASSWORD", PASSWORD)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([*argv, "--user", "admin"])
    return code, out.getvalue(), err.getvalue()


def _mrns(path: Path) -> set[str]:
    connection = sqlite3.connect(path)  # read-write: rolls a hot journal back, as pumpmgr does
    try:
        return {str(r[0]) for r in connection.execute("SELECT mrn FROM patients")}
    finally:
        connection.close()


@pytest.fixture
def clinic_with_backup(tmp_path: Path) -> tuple[Path, Path]:
    path = tmp_path / "clinic.db"
    with open_database(path, daily_backup_keep=None) as database:
        build_clinic(database, 3)
        backup_database(database.engine, tmp_path / "older.db")
    return path, tmp_path / "older.db"


def test_restore_after_crash_keeps_every_committed_record(
    tmp_path: Path,
    clinic_with_backup: tuple[Path, Path],
    full_size: bool,
    harness_report: Callable[[str, int, int, float], None],
) -> None:
    """Trials alternate a hot rollback journal and a write-ahead log holding the last commits;
    in each, the safety copy holds every acknowledged record and not the uncommitted one, and
    the restored database is the backup."""
    path, backup = clinic_with_backup
    pristine = tmp_path / "pristine.db"
    pristine.write_bytes(path.read_bytes())
    backed_up = _mrns(backup)
    rng = random.Random(1207)
    trials = 24 if full_size else 6
    failures: list[str] = []
    started = time.perf_counter()
    for trial in range(trials):
        journal = "delete" if trial % 2 == 0 else "wal"
        for leftover in tmp_path.glob("clinic.db*"):
            leftover.unlink()
        path.write_bytes(pristine.read_bytes())
        acknowledged = _crash(path, journal, rng.randint(1, 6), rng.randint(300, 1500))
        side = path.with_name(path.name + ("-journal" if journal == "delete" else "-wal"))
        if not side.exists() or side.stat().st_size == 0:
            failures.append(f"trial {trial} ({journal}): the crash left no {side.name}")
            continue
        safety_dir = tmp_path / f"safety-{trial}"
        try:
            safety = restore_database(backup, path, safety_dir=safety_dir)
        except BackupError as exc:
            failures.append(f"trial {trial} ({journal}): refused ({exc.message})")
            continue
        if safety is None:
            failures.append(f"trial {trial} ({journal}): no safety copy was kept")
            continue
        kept = _mrns(safety)
        if not set(acknowledged) <= kept:
            failures.append(
                f"trial {trial} ({journal}): committed records lost: "
                f"{sorted(set(acknowledged) - kept)}"
            )
        if "UNCOMMITTED" in kept:
            failures.append(f"trial {trial} ({journal}): the interrupted save was kept")
        if _mrns(path) != backed_up:
            failures.append(f"trial {trial} ({journal}): the restored database is not the backup")
    seconds = time.perf_counter() - started
    harness_report("restore after a crash (hot journal / WAL)", trials, len(failures), seconds)
    print_failures(failures)
    assert failures == []


def _hot_journal_clinic(clinic_with_backup: tuple[Path, Path]) -> tuple[Path, Path, list[str]]:
    path, backup = clinic_with_backup
    acknowledged = _crash(path, "delete", 2, 800)
    assert path.with_name(path.name + "-journal").stat().st_size > 0
    return path, backup, acknowledged


def test_restore_is_refused_when_no_safety_copy_can_be_made(
    tmp_path: Path,
    clinic_with_backup: tuple[Path, Path],
) -> None:
    """The safety copy's folder cannot be made (a file stands where its parent should be: as a
    missing drive or a full disk, but possible as root too)."""
    path, backup, acknowledged = _hot_journal_clinic(clinic_with_backup)
    blocked = tmp_path / "blocked"
    blocked.write_text("a file, not a folder")
    with pytest.raises(BackupError) as refused:
        restore_database(backup, path, safety_dir=blocked / "safety")
    assert refused.value.code is Code.BACKUP_FAILED
    assert "nothing was changed" in refused.value.message and str(path) in refused.value.message
    assert set(acknowledged) <= _mrns(path)  # the clinic is as it was, journal rolled back


def test_command_line_restore_refused_without_a_safety_copy_exits_2(
    tmp_path: Path,
    clinic_with_backup: tuple[Path, Path],
) -> None:
    path, backup, acknowledged = _hot_journal_clinic(clinic_with_backup)
    (path.parent / "backups").write_text("a file where the safety copy's folder goes")
    code, _, error = _cli("--db", str(path), "restore", str(backup))
    assert code == 2 and error.count("\n") == 1, error
    assert "--db" in error and "could not first be copied" in error and "--user" not in error
    assert set(acknowledged) <= _mrns(path)


def test_command_line_restore_after_a_crash_keeps_the_records(
    tmp_path: Path,
    clinic_with_backup: tuple[Path, Path],
) -> None:
    path, backup, acknowledged = _hot_journal_clinic(clinic_with_backup)
    code, out, error = _cli("--db", str(path), "restore", str(backup))
    assert code == 0, error
    kept = next((path.parent / "backups").glob("pumpmgr-before-restore-*.db"))
    assert f"kept as {kept}" in out
    assert set(acknowledged) <= _mrns(kept) and "UNCOMMITTED" not in _mrns(kept)


def test_a_foreign_journal_refuses_the_restore(
    tmp_path: Path,
    clinic_with_backup: tuple[Path, Path],
) -> None:
    """A journal that is not the database's own is refused, never played back or ignored."""
    path, backup = clinic_with_backup
    other = tmp_path / "other.db"
    other.write_bytes(path.read_bytes())
    _crash(other, "delete", 0, 800)
    journal = other.with_name("other.db-journal").read_bytes()
    with open_database(path, daily_backup_keep=None) as database:
        for _ in range(3):  # three commits: the file's change counter moves past the journal's
            with database.write() as session:
                session.execute(text("UPDATE clinic_settings SET version = version + 1"))
    path.with_name("clinic.db-journal").write_bytes(journal)
    before = path.read_bytes()
    with pytest.raises(BackupError) as refused:
        restore_database(backup, path, safety_dir=tmp_path / "safety")
    assert refused.value.code is Code.DB_CORRUPT and "journal" in refused.value.message
    assert path.read_bytes() == before
