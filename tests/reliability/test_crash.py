"""Harness 1 (issue 6; reliability.md T1, T12): SIGKILL the writer at random moments and at hooks.

A child process runs the real services in a loop (refills, prescription changes, events, pump
replacements, and the migration of fresh databases) and acknowledges each record only after its
commit returned. The parent kills it with SIGKILL either after a random delay or from a hook
inside the unit of work (before/after flush, before COMMIT, after COMMIT, before the N-th SQL
statement). After every kill the parent opens the database the way the program does and checks:
every acknowledged record present, no half transaction (every refill, prescription, event and
pump with its audit entry and the other way round, every active pump with its forecast), the
audit chain verifies against the head seen after the previous trial, and on SQLite
``integrity_check`` is ``ok`` and ``foreign_key_check`` empty. A fresh database killed while it
was being migrated is either empty or exactly the schema of one whole revision (each revision
commits on its own; the next start completes the upgrade), never a mix, and one acknowledged as
migrated is at the head.

On PostgreSQL the same loop runs and the *client* is killed (the server aborts its transaction).
Children are forked from a zygote that imported pumpmgr but never opened a database (see
``storage_workers``); a few trials instead spawn a fresh interpreter with ``subprocess``.
Small in the suite (50 kills on SQLite, 10 on PostgreSQL); ``--full``: 1,000 and 200.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic import command
from database_targets import DbTarget, _libpq_url, postgres_schema_url
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool
from storage_workers import (
    KILL_POINTS,
    Acknowledged,
    ChildResult,
    build_clinic,
    clinic_problems,
    file_schema,
    print_failures,
    schema_fingerprint,
    spawn_task,
    sqlite_file_problems,
    zygote,
)

from pumpmgr.db import migrate
from pumpmgr.db.audit import ChainAnchor
from pumpmgr.db.engine import open_database
from pumpmgr.db.migrate import head_revision

pytestmark = pytest.mark.long  # a minute or more on 2 CPUs: pytest-xdist starts it early

PATIENTS = 8
#: Upper bound of a hook's occurrence count, per kill point (a few operations' worth).
HOOK_SPAN = {
    "statement": 300,
    "before_flush": 25,
    "after_flush": 25,
    "before_commit": 12,
    "commit": 12,
    "after_commit": 12,
}
SPAWN_EVERY = 25


def _sqlite_fresh_problems(
    folder: Path, acknowledged: set[str], reference: dict[str, Any]
) -> list[str]:
    """Each fresh file is empty (the migration rolled back) or exactly the schema of the
    revision it records (``reference``: revision → schema), with the settings row; one
    acknowledged as migrated is at the head."""
    problems = []
    for path in sorted(folder.glob("*.db")):
        schema = file_schema(path)  # rolls a hot journal back first
        revision = settings = None
        if schema["objects"]:
            with sqlite3.connect(path) as connection:
                revision = connection.execute("SELECT version_num FROM alembic_version").fetchall()
                settings = connection.execute("SELECT count(*) FROM clinic_settings").fetchone()
            connection.close()
        at = revision[0][0] if revision and len(revision) == 1 else None
        if schema["objects"] and (schema != reference.get(at) or settings != (1,)):
            problems.append(
                f"{path.name}: a partly migrated schema "
                f"({len(schema['objects'])} objects, revision {revision})"
            )
        if str(path) in acknowledged and at != head_revision():
            problems.append(
                f"{path.name}: acknowledged as migrated but "
                f"{'empty' if not schema['objects'] else f'at revision {at}'}"
            )
        problems += [f"{path.name}: {p}" for p in sqlite_file_problems(path)]
        with open_database(path, daily_backup_keep=None):  # the program can start on it
            pass
        for leftover in folder.glob(path.name + "*"):
            leftover.unlink()
    return problems


def _pg_fresh_problems(
    prefix: str, acknowledged: set[str], reference: dict[str, Any], base_url: str
) -> list[str]:
    problems = []
    with psycopg.connect(_libpq_url(base_url), autocommit=True) as admin:
        schemas = [
            r[0]
            for r in admin.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (prefix + "%",)
            )
        ]
    for schema in schemas:
        with psycopg.connect(_libpq_url(base_url), autocommit=True) as admin:
            tables = admin.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s", (schema,)
            ).fetchone()
        if tables is not None and tables[0]:
            database = open_database(postgres_schema_url(schema), daily_backup_keep=None)
            try:
                if schema_fingerprint(database.engine) != reference:
                    problems.append(f"{schema}: a partly migrated schema")
            finally:
                database.dispose()
        elif schema in acknowledged:
            problems.append(f"{schema}: acknowledged as migrated but empty")
        with psycopg.connect(_libpq_url(base_url), autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return problems


def _sqlite_revision_schemas(folder: Path) -> dict[str, Any]:
    """The schema of a new file migrated to each revision: the head's as the program makes it,
    the others' by alembic alone."""
    folder.mkdir()
    head = folder / "head.db"
    open_database(head, daily_backup_keep=None).dispose()
    schemas = {head_revision(): file_schema(head)}
    for script in migrate.script_directory().iterate_revisions(head_revision(), "base"):
        if script.revision in schemas:
            continue
        path = folder / f"{script.revision}.db"
        engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)
        try:
            with engine.connect() as connection:
                command.upgrade(migrate.alembic_config(connection), script.revision)
                connection.commit()
        finally:
            engine.dispose()
        schemas[script.revision] = file_schema(path)
    return schemas


def _reference_schema(db_target: DbTarget, tmp_path: Path, base_url: str | None) -> Any:
    if db_target.backend == "sqlite":
        return _sqlite_revision_schemas(tmp_path / "reference")
    assert db_target.schema is not None and base_url is not None
    schema = f"{db_target.schema}_ref"
    with psycopg.connect(_libpq_url(base_url), autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        with open_database(postgres_schema_url(schema), daily_backup_keep=None) as reference:
            return schema_fingerprint(reference.engine)
    finally:
        with psycopg.connect(_libpq_url(base_url), autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_crash_during_write(
    db_target: DbTarget,
    tmp_path: Path,
    full_size: bool,
    harness_report: Callable[[str, int, int, float], None],
) -> None:
    sqlite = db_target.backend == "sqlite"
    kills = (1000 if full_size else 50) if sqlite else (200 if full_size else 10)
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    base_url = os.environ.get("PUMPMGR_TEST_POSTGRES_URL") if not sqlite else None
    reference = _reference_schema(db_target, tmp_path, base_url)
    with open_database(db_target.url, daily_backup_keep=None) as database:
        build_clinic(database, PATIENTS)
    fresh_dir = tmp_path / "fresh"
    fresh_dir.mkdir()
    prefix = f"{db_target.schema}_f" if not sqlite else ""
    fresh = {"dir": str(fresh_dir)} if sqlite else {"pg_base": base_url, "prefix": prefix}

    acknowledged = Acknowledged()
    anchor: ChainAnchor | None = None
    failures: list[str] = []
    by_point: dict[str, int] = {}
    started = time.perf_counter()
    with zygote(tmp_path / "zygote.log") as server:
        for trial in range(kills):
            task: dict[str, Any] = {
                "task": "crash_loop",
                "url": db_target.url,
                "seed": rng.randrange(1 << 30),
                "fresh": fresh,
            }
            how = "random"
            if trial % 2:
                point = rng.choice(KILL_POINTS)
                task["hook"] = {"point": point, "after": rng.randint(1, HOOK_SPAN[point])}
                how = point
            by_point[how] = by_point.get(how, 0) + 1
            if trial % SPAWN_EVERY == SPAWN_EVERY // 2:
                result: ChildResult = spawn_task(
                    task, kill_after_ready=None if "hook" in task else rng.uniform(0.0, 0.3)
                )
            else:
                result = server.run(
                    task,
                    tmp_path / "ack.txt",
                    timeout=120,
                    kill_after=None
                    if "hook" in task
                    else rng.uniform(0.01, 0.3 if full_size else 0.25),
                )
            problems = [f"child error: {e}" for e in result.errors]
            if not result.killed:
                problems.append(f"the child was not killed (exit {result.exit_code})")
            acknowledged.add(result)
            with open_database(db_target.url, daily_backup_keep=None) as database:
                found, head = clinic_problems(database, acknowledged, anchor)
            problems += found
            if sqlite:
                assert db_target.path is not None
                problems += sqlite_file_problems(db_target.path)
                problems += _sqlite_fresh_problems(fresh_dir, acknowledged.fresh, reference)
            else:
                assert base_url is not None
                problems += _pg_fresh_problems(prefix, acknowledged.fresh, reference, base_url)
            failures += [f"trial {trial} ({how}, seed {task['seed']}): {p}" for p in problems]
            anchor = head or anchor
    elapsed = time.perf_counter() - started
    shutil.rmtree(fresh_dir, ignore_errors=True)
    name = f"crash during write ({db_target.backend})"
    harness_report(name, kills, len(failures), elapsed)
    print(
        f"\n{name}: seed {seed}, kills by point {by_point}; acknowledged "
        f"{len(acknowledged.refills)} refills, {len(acknowledged.prescriptions)} "
        f"prescriptions, {len(acknowledged.events)} events, {len(acknowledged.pumps)} "
        f"replacements, {len(acknowledged.fresh)} fresh migrations; head {anchor}"
    )
    print_failures(failures)
    assert failures == []
