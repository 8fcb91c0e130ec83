"""Harness 3 (issue 6; reliability.md T3): every start-up gate refuses with its specific message.

Each case builds the situation for real (files, links, journals, a second program) and checks
the code, the words of the message and that nothing was changed. What is refused and why:

- a database on a network filesystem, or reached through a symbolic or hard link;
- an *orphaned* journal (``-journal`` or ``-wal`` whose database is gone: it was moved, renamed
  or deleted mid-save) and a *foreign* one (How To Corrupt §1.4: SQLite would write another
  file's pages into this one). A *hot* journal left by a crash of this very database is not
  refused: SQLite rolls it back on first access (Atomic Commit §4), which the harness checks
  by killing a writer after its journal was synced and pages of the database overwritten;
- a schema written by a newer pumpmgr;
- a second pumpmgr program on the same file *when that is unsafe*: sharing a local file is
  safe (SQLite's locks, ``BEGIN IMMEDIATE``, version columns: harness 2), so two programs are
  allowed; migrating the schema under another running program, restoring a backup over a file
  another program has open, and starting while another program migrates or restores are
  refused.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from database_targets import DbTarget
from sqlalchemy import text
from storage_workers import add_patient_row as add_patient
from storage_workers import build_clinic, print_failures, sqlite_file_problems

from pumpmgr.db import gates, migrate
from pumpmgr.db.backup import backup_database, restore_database
from pumpmgr.db.engine import open_database
from pumpmgr.db.errors import BackupError, DatabaseRefused
from pumpmgr.errors import Code, PumpMgrError

# A writer that modifies ~150 pages with a 5-page cache, so SQLite syncs the journal and
# overwrites pages of the database before COMMIT; then it waits to be killed.
_SPILLING_WRITER = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("PRAGMA cache_size = 5")
connection.execute("PRAGMA journal_mode = delete")
connection.execute("BEGIN IMMEDIATE")
connection.execute("UPDATE patients SET notes = printf('%.2000c', 'X')")
print("spilled", flush=True)
time.sleep(60)
"""

# Another pumpmgr program on this computer: on "open PATH" it opens the database as pumpmgr
# does, on "lock PATH" it holds the instance lock as a migration or restore does, and on
# "close PATH" it lets go, as the program ending would.
_OTHER_PROGRAM = """
import sys
from pathlib import Path
from pumpmgr.db.engine import open_database
from pumpmgr.db.gates import InstanceLock
if "--as-on-windows" in sys.argv:
    sys.modules["fcntl"] = None  # no fcntl to import, as on Windows
held = {}
print("ready", flush=True)
for line in sys.stdin:
    command, path = line.split(maxsplit=1)
    path = path.strip()
    if command == "open":
        held[path] = open_database(path, daily_backup_keep=None)
    elif command == "lock":
        held[path] = InstanceLock(Path(path))
        assert held[path].exclusive()
    else:
        thing = held.pop(path)
        (thing.dispose if hasattr(thing, "dispose") else thing.release)()
    print("done", flush=True)
"""


class OtherProgram:
    """Drives :data:`_OTHER_PROGRAM` (one interpreter for every case)."""

    def __init__(self, *options: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _OTHER_PROGRAM, *options],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == b"ready"

    def __call__(self, command: str, path: Path) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{command} {path}\n".encode())
        self.process.stdin.flush()
        answer = self.process.stdout.readline().strip()
        assert answer == b"done", f"the other program failed on {command} {path}"

    def stop(self) -> None:
        _kill(self.process)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run_until(script: str, *args: str) -> subprocess.Popen[bytes]:
    """Start a helper script and wait for its first line."""
    process = subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE)
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.strip(), f"the helper process failed ({process.wait()})"
    return process


def _kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()


def _clinic_file(path: Path, patients: int = 150) -> None:
    with open_database(path, daily_backup_keep=None) as database, database.write() as session:
        for n in range(patients):
            add_patient(session, f"MRN-{n}")


def _hot_journal(path: Path) -> Path:
    """Leave a hot journal beside ``path``: a writer killed after it overwrote pages."""
    before = _digest(path)
    _kill(_run_until(_SPILLING_WRITER, str(path)))
    journal = path.with_name(path.name + "-journal")
    assert journal.stat().st_size > 0 and _digest(path) != before
    assert int.from_bytes(journal.read_bytes()[8:12], "big") > 0  # synced: records count
    return journal


def _notes(path: Path) -> set[str]:
    with open_database(path, daily_backup_keep=None) as database, database.read() as session:
        return set(session.scalars(text("SELECT notes FROM patients")))


def _refused(call: Callable[[], object], code: Code, *words: str) -> str | None:
    """None when ``call`` raised a domain error with ``code`` and every word in its message."""
    try:
        result = call()
    except PumpMgrError as exc:
        missing = [w for w in words if w not in exc.message]
        if exc.code is not code or missing:
            return f"refused with {exc.code} {exc.message!r} (missing {missing})"
        return None
    if hasattr(result, "dispose"):
        result.dispose()  # type: ignore[union-attr]
    return "accepted"


# ---------------------------------------------------------------------------------------------
# The cases: each returns None when the gate behaved, or what went wrong


def case_network_filesystem(tmp: Path) -> str | None:
    mounts = f"/dev/sda1 / ext4 rw 0 0\nserver:/clinic {tmp} nfs4 rw 0 0\n"
    return _refused(
        lambda: open_database(tmp / "clinic.db", mounts_reader=lambda: mounts),
        Code.DB_NETWORK_FS,
        "network filesystem",
        "nfs4",
        "PostgreSQL",
    ) or ("a database was created" if (tmp / "clinic.db").exists() else None)


def case_symbolic_link(tmp: Path) -> str | None:
    _clinic_file(tmp / "real.db", 1)
    (tmp / "link.db").symlink_to(tmp / "real.db")
    return _refused(
        lambda: open_database(tmp / "link.db"), Code.DB_LINKED_PATH, "symbolic link", "real.db"
    )


def case_hard_link(tmp: Path) -> str | None:
    _clinic_file(tmp / "real.db", 1)
    os.link(tmp / "real.db", tmp / "second-name.db")
    return _refused(lambda: open_database(tmp / "real.db"), Code.DB_LINKED_PATH, "2 hard links")


def case_hot_journal_is_recovered(tmp: Path) -> str | None:
    path = tmp / "clinic.db"
    _clinic_file(path)
    journal = _hot_journal(path)
    try:
        notes = _notes(path)  # open_database accepts it; SQLite rolls the journal back
    except PumpMgrError as exc:
        return f"a hot journal of the database itself was refused: {exc.message}"
    problems = sqlite_file_problems(path)
    if notes != {""}:
        problems.append(f"the interrupted transaction was not rolled back: {len(notes)}")
    if journal.exists() and journal.stat().st_size:
        problems.append("the hot journal is still there")
    return "; ".join(problems) or None


def case_orphaned_journal(tmp: Path) -> str | None:
    path = tmp / "clinic.db"
    _clinic_file(path)
    journal = _hot_journal(path)
    content = journal.read_bytes()
    moved = tmp / "elsewhere.db"
    path.rename(moved)
    problem = _refused(
        lambda: open_database(path),
        Code.DB_CORRUPT,
        "clinic.db-journal",
        "is not there",
        "Do not delete the journal",
    )
    if path.exists() or journal.read_bytes() != content:
        problem = (problem or "") + " a database was created or the journal touched"
    moved.rename(path)  # put back together, the database opens and is recovered
    if problem is None and _notes(path) != {""}:
        problem = "the database put back beside its journal was not recovered"
    return problem


def case_orphaned_wal(tmp: Path) -> str | None:
    wal = tmp / "clinic.db-wal"
    header = (
        (0x377F0682).to_bytes(4, "big")
        + (3007000).to_bytes(4, "big")
        + (4096).to_bytes(4, "big")
        + bytes(20)
    )
    wal.write_bytes(header)
    return _refused(
        lambda: open_database(tmp / "clinic.db"), Code.DB_CORRUPT, "clinic.db-wal", "is not there"
    )


def case_foreign_journal(tmp: Path) -> str | None:
    """A hot journal of one clinic file placed beside another, larger clinic file (same page
    size, another change counter). Without the gate SQLite would play it back into the wrong
    file."""
    first, second = tmp / "first.db", tmp / "second.db"
    _clinic_file(first)
    _clinic_file(second, 300)
    with open_database(second, daily_backup_keep=None) as database:
        for n in range(3):  # a history of its own: another change counter
            with database.write() as session:
                add_patient(session, f"EXTRA-{n}")
    journal = _hot_journal(first)
    foreign = second.with_name(second.name + "-journal")
    shutil.copyfile(journal, foreign)
    before = _digest(second)
    problem = _refused(
        lambda: open_database(second),
        Code.DB_CORRUPT,
        "is not that database's journal",
        "change counter",
    )
    if _digest(second) != before or not foreign.exists():
        problem = (problem or "") + " the database or the journal was changed"
    # What the gate prevents: SQLite alone plays the foreign journal back into the file.
    scratch = tmp / "scratch"
    scratch.mkdir()
    shutil.copyfile(second, scratch / "second.db")
    shutil.copyfile(foreign, scratch / "second.db-journal")
    damaged = sqlite_file_problems(scratch / "second.db")
    with sqlite3.connect(scratch / "second.db") as raw:
        try:
            patients = raw.execute("SELECT count(*) FROM patients").fetchone()[0]
        except sqlite3.DatabaseError:
            patients = -1
    if not damaged and patients == 303:
        problem = (problem or "") + " (note: SQLite did not damage the file this time)"
    return problem


def case_foreign_journal_page_size(tmp: Path) -> str | None:
    other = tmp / "other.db"
    with sqlite3.connect(other) as raw:
        raw.execute("PRAGMA page_size = 1024")
        raw.execute("CREATE TABLE patients (notes TEXT)")
        raw.executemany("INSERT INTO patients VALUES (?)", [("",)] * 300)
    raw.close()
    journal = _hot_journal(other)
    path = tmp / "clinic.db"
    _clinic_file(path, 5)
    shutil.copyfile(journal, path.with_name("clinic.db-journal"))
    return _refused(
        lambda: open_database(path), Code.DB_CORRUPT, "is not that database's journal", "1024 bytes"
    )


def case_newer_schema(tmp: Path) -> str | None:
    path = tmp / "clinic.db"
    _clinic_file(path, 1)
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE alembic_version SET version_num = '0099_future'")
    before = _digest(path)
    problem = _refused(
        lambda: open_database(path), Code.DB_SCHEMA_NEWER, "newer version", "'0099_future'"
    )
    return problem or ("the file was changed" if _digest(path) != before else None)


def case_two_programs_share_a_file(tmp: Path, other: OtherProgram) -> str | None:
    path = tmp / "clinic.db"
    _clinic_file(path, 1)
    other("open", path)
    try:
        with open_database(path, daily_backup_keep=None) as database, database.write() as session:
            add_patient(session, "SECOND-PROGRAM")
    except PumpMgrError as exc:
        return f"a second program on an up-to-date file was refused: {exc.message}"
    finally:
        other("close", path)
    return None


_NEXT_REVISION = '''"""A later release's revision: a column and a table."""

import sqlalchemy as sa
from alembic import op

revision = "9000"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("patients", sa.Column("nickname", sa.String(50), nullable=True))
    op.create_table("wards", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    raise NotImplementedError
'''


def case_no_upgrade_under_a_running_program(
    tmp: Path, other: OtherProgram, monkeypatch: pytest.MonkeyPatch
) -> str | None:
    path = tmp / "clinic.db"
    _clinic_file(path, 1)
    migrations = tmp / "migrations"
    shutil.copytree(
        migrate.MIGRATIONS_DIR, migrations, ignore=shutil.ignore_patterns("__pycache__")
    )
    released = migrate.head_revision()
    (migrations / "versions" / "9000_test.py").write_text(
        _NEXT_REVISION.format(down=released), encoding="utf-8"
    )
    other("open", path)  # a program of the release before, on its head revision
    with monkeypatch.context() as patch:
        patch.setattr(migrate, "MIGRATIONS_DIR", migrations)
        try:
            problem = _refused(
                lambda: open_database(path),
                Code.DB_BUSY,
                f"upgraded from schema revision '{released}' to '9000'",
                "another pumpmgr program",
            )
        finally:
            other("close", path)
        with sqlite3.connect(path) as raw:
            revision = raw.execute("SELECT version_num FROM alembic_version").fetchone()
        if revision != (released,):
            problem = (problem or "") + f" the schema changed to {revision}"
        with open_database(path, daily_backup_keep=None) as database:  # alone now: upgrades
            if database.revision_at_open != released:
                problem = (problem or "") + " the later upgrade did not run"
    return problem


def case_no_restore_under_a_running_program(tmp: Path, other: OtherProgram) -> str | None:
    path = tmp / "clinic.db"
    _clinic_file(path, 3)
    with open_database(path, daily_backup_keep=None) as database:
        backup_database(database.engine, tmp / "backup.db")
    other("open", path)
    try:
        before = _digest(path)
        problem = _refused(
            lambda: restore_database(tmp / "backup.db", path),
            Code.DB_BUSY,
            "pumpmgr is running with",
            "Nothing was changed",
        )
        if _digest(path) != before:
            problem = (problem or "") + " the file was changed"
    finally:
        other("close", path)
    try:
        restore_database(tmp / "backup.db", path)
    except BackupError as exc:
        return (problem or "") + f" restore with pumpmgr closed failed: {exc.message}"
    return problem


def case_no_start_during_a_migration(tmp: Path, other: OtherProgram) -> str | None:
    path = tmp / "clinic.db"
    _clinic_file(path, 1)
    other("lock", path)  # as while migrating or restoring
    try:
        started = time.monotonic()
        problem = _refused(
            lambda: open_database(path, busy_timeout_s=0.5),
            Code.DB_BUSY,
            "upgrading or restoring",
            "wait until it has finished",
        )
        if time.monotonic() - started < 0.5:
            problem = (problem or "") + " it did not wait"
    finally:
        other("close", path)
    try:
        open_database(path, daily_backup_keep=None).dispose()
    except PumpMgrError as exc:
        return (problem or "") + f" start after the migration ended failed: {exc.message}"
    return problem


def case_foreign_journal_from_a_larger_file(tmp: Path) -> str | None:
    """Two clinic files with the same history (so the same change counter): the journal of the
    larger one beside the smaller one."""
    larger, smaller = tmp / "larger.db", tmp / "smaller.db"
    _clinic_file(larger, 150)
    _clinic_file(smaller, 40)
    journal = _hot_journal(larger)
    shutil.copyfile(journal, smaller.with_name("smaller.db-journal"))
    before = _digest(smaller)
    problem = _refused(
        lambda: open_database(smaller), Code.DB_CORRUPT, "is not that database's journal", "pages"
    )
    return problem or ("the database was changed" if _digest(smaller) != before else None)


CASES = [
    case_network_filesystem,
    case_symbolic_link,
    case_hard_link,
    case_hot_journal_is_recovered,
    case_orphaned_journal,
    case_orphaned_wal,
    case_foreign_journal,
    case_foreign_journal_page_size,
    case_foreign_journal_from_a_larger_file,
    case_newer_schema,
    case_two_programs_share_a_file,
    case_no_upgrade_under_a_running_program,
    case_no_restore_under_a_running_program,
    case_no_start_during_a_migration,
]


def test_start_up_gates(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    harness_report: Callable[[str, int, int, float], None],
) -> None:
    failures = []
    started = time.perf_counter()
    other = OtherProgram()
    try:
        for case in CASES:
            folder = tmp_path / case.__name__
            folder.mkdir()
            wants = case.__code__.co_varnames[: case.__code__.co_argcount]
            extra = {"other": other, "monkeypatch": monkeypatch}
            problem = case(folder, **{k: v for k, v in extra.items() if k in wants})
            if problem:
                failures.append(f"{case.__name__}: {problem}")
    finally:
        other.stop()
    harness_report(
        "start-up gates (sqlite)", len(CASES), len(failures), time.perf_counter() - started
    )
    print_failures(failures)
    assert failures == []


LOCK_CASES = [
    case_two_programs_share_a_file,
    case_no_upgrade_under_a_running_program,
    case_no_restore_under_a_running_program,
    case_no_start_during_a_migration,
]


def test_the_instance_lock_holds_where_fcntl_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows has no ``fcntl``: the lock used to find none and do nothing, so a restore or an
    upgrade ran under another program. Here both programs are without it, as on Windows (the
    one thing stubbed: the lock goes through portalocker as it does there), and every case of
    two programs on one file still holds. Windows' own LockFileEx was not run here."""
    assert "fcntl" not in gates.__dict__  # the lock has no POSIX path of its own
    monkeypatch.setitem(sys.modules, "fcntl", None)
    other = OtherProgram("--as-on-windows")
    failures = []
    try:
        for case in LOCK_CASES:
            folder = tmp_path / case.__name__
            folder.mkdir()
            wants = case.__code__.co_varnames[: case.__code__.co_argcount]
            extra = {"other": other, "monkeypatch": monkeypatch}
            problem = case(folder, **{k: v for k, v in extra.items() if k in wants})
            if problem:
                failures.append(f"{case.__name__}: {problem}")
    finally:
        other.stop()
    assert failures == []


def test_a_lock_changes_mode_by_letting_go_first(tmp_path: Path) -> None:
    """Shared, then exclusive while alone, then shared again beside another program; an
    exclusive wanted beside another program fails and leaves nothing held."""
    path = tmp_path / "clinic.db"
    mine, theirs = gates.InstanceLock(path), gates.InstanceLock(path)
    try:
        mine.share(0)
        assert mine.exclusive()
        assert not theirs.exclusive() and not theirs._flock(exclusive=False)
        mine.share(0)
        theirs.share(0)
        assert not mine.exclusive()  # the other holds it shared
        theirs.release()
        assert gates.InstanceLock(path).exclusive()  # the failed change left nothing held
    finally:
        mine.release()
        theirs.release()


def test_a_newer_schema_is_refused_on_each_backend(db_target: DbTarget) -> None:
    with open_database(db_target.url, daily_backup_keep=None) as database:
        build_clinic(database, 1)
        with database.engine.connect() as connection:
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0099_x'")
            connection.commit()
    with pytest.raises(DatabaseRefused) as refused:
        open_database(db_target.url, daily_backup_keep=None)
    assert refused.value.code is Code.DB_SCHEMA_NEWER
    assert "newer version of pumpmgr" in refused.value.message


def test_gates_leave_journals_alone(tmp_path: Path) -> None:
    """No gate ever deletes a journal: a refused start leaves every file as it was."""
    path = tmp_path / "clinic.db"
    _clinic_file(path)
    journal = _hot_journal(path)
    files = {p.name: _digest(p) for p in tmp_path.iterdir() if p.is_file()}
    path.rename(tmp_path / "moved.db")
    with pytest.raises(DatabaseRefused):
        open_database(path)
    (tmp_path / "moved.db").rename(path)
    assert {p.name: _digest(p) for p in tmp_path.iterdir() if p.is_file()} == files
    assert gates.InstanceLock.SUFFIX and journal.exists()
