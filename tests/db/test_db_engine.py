"""Opening the database: where it is, the start-up gates, migrations and retries."""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
from pathlib import Path

import psycopg
import pytest
from database_targets import DbTarget
from db_helpers import add_patient
from platformdirs import user_data_dir
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from pumpmgr.db import gates, migrate
from pumpmgr.db.engine import (
    Database,
    default_database_path,
    open_database,
    resolve_database_url,
)
from pumpmgr.db.errors import DatabaseRefused
from pumpmgr.db.gates import choose_journal_mode, filesystem_type
from pumpmgr.db.schema import Patient
from pumpmgr.errors import Code

# ---------------------------------------------------------------------------------------------
# Where the database is


def test_default_database_is_in_the_user_data_folder() -> None:
    path = default_database_path()
    assert path == Path(user_data_dir("pumpmgr", appauthor=False)) / "pumpmgr.db"
    url = resolve_database_url(None, environ={})
    assert (url.get_backend_name(), url.database) == ("sqlite", str(path))


def test_db_option_beats_the_environment_which_beats_the_default(tmp_path: Path) -> None:
    env = {"PUMPMGR_DB": str(tmp_path / "from-env.db")}
    assert resolve_database_url(None, env).database == str(tmp_path / "from-env.db")
    chosen = resolve_database_url(tmp_path / "from-option.db", env)
    assert chosen.database == str(tmp_path / "from-option.db")
    pg = resolve_database_url("postgresql://clinic@db.local/pumps", env)
    assert pg.drivername == "postgresql+psycopg"
    assert resolve_database_url(None, {"PUMPMGR_DB": "sqlite:///rel.db"}).database == str(
        Path("rel.db").absolute()
    )


@pytest.mark.parametrize(
    "url", ["mysql://x@y/z", "sqlite://", "sqlite:///:memory:", "postgresql+psycopg2://x@y/z"]
)
def test_other_databases_are_refused(url: str) -> None:
    with pytest.raises(DatabaseRefused) as refused:
        resolve_database_url(url, {})
    assert refused.value.code is Code.DB_UNSUPPORTED


@pytest.mark.parametrize(
    "url", ["postgresql://clinic@db.local/pumps", "postgresql+psycopg://clinic@db.local/pumps"]
)
def test_postgres_without_the_postgres_extra_says_how_to_get_it(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """psycopg is the ``postgres`` extra: without it, a PostgreSQL URL is refused with what to
    install, before any connection is tried; a SQLite file still opens."""
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if it were not installed
    with pytest.raises(DatabaseRefused) as refused:
        resolve_database_url(url, {})
    assert refused.value.code is Code.DB_UNSUPPORTED
    assert "without PostgreSQL support" in refused.value.message
    assert 'pip install "pumpmgr[postgres]"' in refused.value.message
    assert resolve_database_url("sqlite:////tmp/clinic.db", {}).database == "/tmp/clinic.db"


# ---------------------------------------------------------------------------------------------
# Journal mode by SQLite version


@pytest.mark.parametrize(
    ("version", "mode"),
    [
        ((3, 7, 0), "delete"),
        ((3, 40, 1), "delete"),  # the development machines' SQLite
        ((3, 44, 5), "delete"),
        ((3, 44, 6), "wal"),  # backport of the WAL-reset fix
        ((3, 45, 0), "delete"),
        ((3, 50, 6), "delete"),
        ((3, 50, 7), "wal"),  # backport
        ((3, 51, 2), "delete"),
        ((3, 51, 3), "wal"),  # the fix
        ((3, 52, 0), "wal"),
        ((4, 0, 0), "wal"),
    ],
)
def test_journal_mode_follows_the_wal_reset_fix(version: tuple[int, int, int], mode: str) -> None:
    assert choose_journal_mode(version) == mode


def test_a_fixed_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    with open_database(tmp_path / "wal.db", sqlite_version=(3, 51, 3)) as db:
        assert db.journal_mode == "wal"
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


# ---------------------------------------------------------------------------------------------
# Network filesystems and links


def _mounts(tmp_path: Path, fs_type: str) -> str:
    mount_point = str(tmp_path).replace(" ", "\\040")
    return (
        "/dev/sda1 / ext4 rw,relatime 0 0\n"
        "proc /proc proc rw 0 0\n"
        f"server:/export {mount_point} {fs_type} rw,relatime 0 0\n"
    )


@pytest.mark.parametrize("fs_type", ["nfs", "nfs4", "cifs", "smb3", "9p", "fuse.sshfs"])
def test_a_database_on_a_network_filesystem_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fs_type: str
) -> None:
    monkeypatch.setattr(gates, "read_proc_mounts", lambda: _mounts(tmp_path, fs_type))
    with pytest.raises(DatabaseRefused) as refused:
        open_database(tmp_path / "clinic.db")
    assert refused.value.code is Code.DB_NETWORK_FS
    assert fs_type in refused.value.message and "PostgreSQL" in refused.value.message
    assert "--" not in refused.value.message  # the window shows it too: no option named
    assert not (tmp_path / "clinic.db").exists()


def test_a_local_filesystem_is_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gates, "read_proc_mounts", lambda: _mounts(tmp_path, "ext4"))
    with open_database(tmp_path / "clinic.db") as db:
        assert db.path == tmp_path / "clinic.db"


def test_mount_points_are_matched_longest_first_and_unescaped(tmp_path: Path) -> None:
    spaced = tmp_path / "clinic share"
    text = _mounts(spaced, "cifs")
    assert filesystem_type(spaced / "pumpmgr.db", text) == "cifs"
    assert filesystem_type(tmp_path / "other.db", text) == "ext4"
    assert filesystem_type(Path(str(spaced) + "x") / "a.db", text) == "ext4"


def test_a_unc_path_is_remote() -> None:
    assert gates._windows_remote(Path("//server/share/pumpmgr.db"))
    assert not gates._windows_remote(Path("/home/nurse/pumpmgr.db"))


def test_a_database_reached_through_a_link_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real.db"
    open_database(real).dispose()
    (tmp_path / "symlink.db").symlink_to(real)
    with pytest.raises(DatabaseRefused) as through_symlink:
        open_database(tmp_path / "symlink.db")
    os.link(real, tmp_path / "hardlink.db")
    with pytest.raises(DatabaseRefused) as through_hardlink:
        open_database(real)
    assert through_symlink.value.code is Code.DB_LINKED_PATH
    assert through_hardlink.value.code is Code.DB_LINKED_PATH
    assert "2 hard links" in through_hardlink.value.message


def test_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatabaseRefused) as refused:
        open_database(tmp_path / "no-such-folder" / "clinic.db")
    assert refused.value.code is Code.DB_MISSING_FOLDER


# ---------------------------------------------------------------------------------------------
# Files that are not ours, and schemas from a newer pumpmgr


def test_a_file_that_is_not_a_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"shopping list: milk, eggs\n" * 200)
    before = path.read_bytes()
    with pytest.raises(DatabaseRefused) as refused:
        open_database(path)
    assert refused.value.code is Code.DB_NOT_PUMPMGR
    assert "not a SQLite database" in refused.value.message
    assert path.read_bytes() == before


def test_another_programs_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE recipes (id INTEGER PRIMARY KEY, name TEXT)")
    with pytest.raises(DatabaseRefused) as refused:
        open_database(path)
    assert refused.value.code is Code.DB_NOT_PUMPMGR
    assert "recipes" in refused.value.message
    with sqlite3.connect(path) as connection:
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
    assert tables == {"recipes"}


def test_a_newer_schema_is_refused(db_target: DbTarget) -> None:
    with open_database(db_target.url) as db, db.engine.connect() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0099_future'")
        connection.commit()
    with pytest.raises(DatabaseRefused) as refused:
        open_database(db_target.url)
    assert refused.value.code is Code.DB_SCHEMA_NEWER
    assert "'0099_future'" in refused.value.message and "newer version" in refused.value.message
    if db_target.path is not None:
        assert not list((db_target.path.parent / "backups").glob("*before-upgrade*"))


def test_an_unreachable_server_is_reported(tmp_path: Path) -> None:
    with pytest.raises(DatabaseRefused) as refused:
        open_database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    assert refused.value.code is Code.DB_UNREACHABLE


# ---------------------------------------------------------------------------------------------
# Migrations: backup first, one transaction per revision

_NEXT_REVISION = '''"""test revision: a column and a table, then optionally a failure."""

import os

import sqlalchemy as sa
from alembic import op

revision = "9000"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("patients", sa.Column("nickname", sa.String(50), nullable=True))
    op.create_table("wards", sa.Column("id", sa.Integer(), primary_key=True))
    op.execute("UPDATE patients SET nickname = 'JD'")
    if os.environ.get("PUMPMGR_TEST_FAIL_9000"):
        raise RuntimeError("simulated crash in the middle of revision 9000")


def downgrade() -> None:
    raise NotImplementedError
'''


def _ship_next_revision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Use a copy of the migrations with a second revision, as a later release would ship."""
    migrations = tmp_path / "migrations"
    shutil.copytree(
        migrate.MIGRATIONS_DIR, migrations, ignore=shutil.ignore_patterns("__pycache__")
    )
    (migrations / "versions" / "9000_test.py").write_text(
        _NEXT_REVISION.format(down=migrate.head_revision()), encoding="utf-8"
    )
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", migrations)


def _columns(db: Database, table: str) -> set[str]:
    with db.engine.connect() as connection:
        return {column["name"] for column in inspect(connection).get_columns(table)}


def test_an_upgrade_backs_up_the_file_first(
    db_target: DbTarget, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with open_database(db_target.url) as db, db.write() as session:
        add_patient(session)
    released = migrate.head_revision()
    _ship_next_revision(tmp_path, monkeypatch)
    with open_database(db_target.url) as db:
        assert (db.revision_at_open, migrate.head_revision()) == (released, "9000")
        assert "nickname" in _columns(db, "patients")
        with db.read() as session:
            assert session.scalar(text("SELECT nickname FROM patients")) == "JD"
        backup = db.pre_migration_backup
    if db_target.backend == "sqlite":
        assert backup is not None and f"before-upgrade-from-{released}" in backup.name
        with sqlite3.connect(f"file:{backup}?mode=ro", uri=True) as copy:
            assert copy.execute("SELECT version_num FROM alembic_version").fetchone() == (released,)
            assert copy.execute("SELECT count(*) FROM patients").fetchone() == (1,)
    else:
        assert backup is None  # a PostgreSQL server is backed up with pg_dump by the clinic


def test_an_interrupted_upgrade_leaves_the_old_schema(
    db_target: DbTarget, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with open_database(db_target.url) as db, db.write() as session:
        add_patient(session)
    with monkeypatch.context() as patch:
        _ship_next_revision(tmp_path, patch)
        patch.setenv("PUMPMGR_TEST_FAIL_9000", "1")
        with pytest.raises(DatabaseRefused) as refused:
            open_database(db_target.url)
    assert refused.value.code is Code.DB_MIGRATION_FAILED
    assert "simulated crash" in refused.value.message
    if db_target.backend == "sqlite":
        assert "backup taken before it is" in refused.value.message

    with open_database(db_target.url) as db:  # this program's own migrations again
        assert db.revision_at_open == migrate.head_revision()
        assert "nickname" not in _columns(db, "patients")
        with db.engine.connect() as connection:
            assert "wards" not in inspect(connection).get_table_names()
        with db.read() as session:
            assert session.scalar(select(func.count()).select_from(Patient)) == 1


def test_a_new_database_interrupted_while_created_stays_empty(
    db_target: DbTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alembic import op

    def crash(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("simulated crash before the default settings")

    monkeypatch.setattr(op, "bulk_insert", crash)
    with pytest.raises(DatabaseRefused) as refused:
        open_database(db_target.url)
    assert refused.value.code is Code.DB_MIGRATION_FAILED
    monkeypatch.undo()
    with open_database(db_target.url) as db:
        assert db.revision_at_open is None  # nothing of the failed attempt was kept
        with db.read() as session:
            assert session.scalar(text("SELECT count(*) FROM clinic_settings")) == 1


def test_a_revision_table_of_two_rows_is_refused_as_alembic_refuses_it(tmp_path: Path) -> None:
    from alembic.util import CommandError

    path = tmp_path / "clinic.db"
    open_database(path, daily_backup_keep=None).dispose()
    with sqlite3.connect(path) as connection:
        connection.execute("INSERT INTO alembic_version VALUES ('0001')")
    with pytest.raises(CommandError, match="more than one head"):
        open_database(path, daily_backup_keep=None)


# ---------------------------------------------------------------------------------------------
# Retrying a write after a serialization failure (T12's forced 40001)


def _serialization_failure() -> OperationalError:
    return OperationalError(
        "UPDATE pumps ...", {}, psycopg.errors.SerializationFailure("could not serialize")
    )


def test_run_write_retries_a_serialization_failure(database: Database) -> None:
    calls: list[int] = []
    pauses: list[float] = []

    def work(session: Session) -> int:
        calls.append(len(calls) + 1)
        patient = add_patient(session, mrn=f"MRN-{len(calls)}")
        if len(calls) == 1:
            raise _serialization_failure()
        return patient.id

    patient_id = database.run_write(work, sleep=pauses.append)
    assert calls == [1, 2] and len(pauses) == 1
    with database.read() as session:
        mrns = session.scalars(select(Patient.mrn)).all()
    assert mrns == ["MRN-2"] and patient_id is not None


def test_run_write_gives_up_after_its_attempts(database: Database) -> None:
    calls: list[int] = []

    def always_fails(session: Session) -> None:
        calls.append(1)
        raise _serialization_failure()

    with pytest.raises(OperationalError):
        database.run_write(always_fails, attempts=3, sleep=lambda _s: None)
    assert len(calls) == 3


def test_run_write_does_not_retry_other_errors(database: Database) -> None:
    calls: list[int] = []

    def fails(session: Session) -> None:
        calls.append(1)
        raise ValueError("a bug, not a conflict")

    with pytest.raises(ValueError):
        database.run_write(fails, sleep=lambda _s: None)
    assert len(calls) == 1
