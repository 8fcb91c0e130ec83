"""Where a test database lives: a fresh SQLite file, or a schema of its own on PostgreSQL.

SQLite uses a file in ``tmp_path``. PostgreSQL uses the server named by
``PUMPMGR_TEST_POSTGRES_URL`` (for example ``postgresql+psycopg://postgres@127.0.0.1:5432/test``);
each test gets its own schema (``search_path`` set through the URL), dropped afterwards. When the
variable is unset or the server cannot be reached, the PostgreSQL cases are skipped and the skip
reason says so. The fixtures using this live in ``tests/conftest.py``.

Migrating a new database through every Alembic revision takes about half a second on SQLite and
two on PostgreSQL, and most tests only need one at the head: the ``database`` fixture therefore
migrates one template per test session and gives each test a copy of it (a copy of the SQLite
file; on PostgreSQL the template schema's ``pg_dump`` replayed into the test's schema).
``tests/db/test_template_database.py`` proves a copy is the database a migration makes; the tests
of migrating itself open an empty ``db_target`` and migrate it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from pumpmgr.db.engine import open_database
from pumpmgr.files import write_private_bytes

POSTGRES_ENV = "PUMPMGR_TEST_POSTGRES_URL"


@cache
def postgres_unavailable() -> str | None:
    """Why the PostgreSQL cases cannot run, or None when they can."""
    base = os.environ.get(POSTGRES_ENV, "").strip()
    if not base:
        return (
            f"PostgreSQL tests skipped: {POSTGRES_ENV} is not set "
            "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
        )
    try:
        with psycopg.connect(_libpq_url(base), connect_timeout=3):
            pass
    except psycopg.Error as exc:
        return f"PostgreSQL tests skipped: {POSTGRES_ENV}={base} is unreachable ({exc})"
    return None


def use_worker_database() -> None:
    """Under pytest-xdist, point ``PUMPMGR_TEST_POSTGRES_URL`` (for this worker and the programs
    its tests start) at a database of the worker's own, created once: PostgreSQL's advisory
    locks, the audit chain's writers' lock among them, are one per database, so test schemas in
    one shared database would wait on each other's writes across workers (and the lock-timeout
    tests fail when they do)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    base = os.environ.get(POSTGRES_ENV, "").strip()
    if not worker or not base or postgres_unavailable() is not None:
        return
    url = make_url(base)
    name = f"{url.database}_{worker}"
    if str(url.database).endswith(f"_{worker}"):
        return  # a pytest this worker's test started (the lowest versions' smoke subset)
    with psycopg.connect(_libpq_url(base), autocommit=True) as connection:
        if (
            connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            is None
        ):
            connection.execute(f'CREATE DATABASE "{name}"')
    os.environ[POSTGRES_ENV] = url.set(database=name).render_as_string(hide_password=False)
    postgres_unavailable.cache_clear()


def _libpq_url(sqlalchemy_url: str) -> str:
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def postgres_admin(sql: str) -> None:
    with psycopg.connect(_libpq_url(os.environ[POSTGRES_ENV]), autocommit=True) as connection:
        connection.execute(sql)


@dataclass(frozen=True)
class DbTarget:
    backend: str  #: "sqlite" or "postgresql"
    url: str  #: what is passed to open_database (a path for SQLite)
    path: Path | None  #: the SQLite file
    schema: str | None  #: the PostgreSQL schema of this test


def postgres_schema_url(schema: str) -> str:
    url = make_url(os.environ[POSTGRES_ENV]).update_query_dict(
        {"options": f"-csearch_path={schema}"}
    )
    return url.render_as_string(hide_password=False)


def create_schema(schema: str) -> None:
    postgres_admin(f'CREATE SCHEMA "{schema}"')


def drop_schema(schema: str) -> None:
    postgres_admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


# --- Migrated templates, copied per test ----------------------------------------------------


def make_sqlite_template(path: Path) -> Path:
    """Create and migrate the SQLite database every ``database`` copy starts from."""
    open_database(path, daily_backup_keep=None).dispose()
    # the last close folds the WAL into the file: a copy of the file alone is the whole database
    assert not path.with_name(f"{path.name}-wal").exists(), "the template kept a WAL file"
    return path


def copy_sqlite_template(template: Path, path: Path) -> None:
    """``path`` as a copy of ``template``, owner-only like a database pumpmgr creates."""
    write_private_bytes(path, template.read_bytes(), exclusive=True)


_PLACEHOLDER = "pumpmgr_template_schema"


@cache
def postgres_template_sql() -> str | None:
    """The SQL that recreates a freshly migrated schema's tables, functions, triggers and rows in
    the schema named ``pumpmgr_template_schema``; None when ``pg_dump`` is missing or fails (then
    each test migrates its own schema)."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        return None
    schema = f"pumpmgr_template_{uuid.uuid4().hex[:16]}"
    create_schema(schema)
    try:
        open_database(postgres_schema_url(schema), daily_backup_keep=None).dispose()
        dumped = subprocess.run(
            [
                pg_dump,
                "--schema",
                schema,
                "--no-owner",
                "--inserts",
                "--dbname",
                _libpq_url(os.environ[POSTGRES_ENV]),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
    finally:
        drop_schema(schema)
    if dumped.returncode != 0:
        return None
    # psql's own commands (\restrict) and the schema itself (each test's exists already) go
    lines = [line for line in dumped.stdout.splitlines() if not line.startswith("\\")]
    sql = "\n".join(lines).replace(f"CREATE SCHEMA {schema};", "")
    return re.sub(rf"\b{schema}\b", _PLACEHOLDER, sql)


def fill_postgres_schema(schema: str, template_sql: str) -> None:
    """Recreate the migrated template in the (empty) ``schema``."""
    postgres_admin(template_sql.replace(_PLACEHOLDER, schema))
