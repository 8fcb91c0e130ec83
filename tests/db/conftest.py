"""Fixtures for the persistence tests: a fresh database per test, on SQLite and PostgreSQL.

SQLite uses a file in ``tmp_path``. PostgreSQL uses the server named by
``PUMPMGR_TEST_POSTGRES_URL`` (for example ``postgresql+psycopg://postgres@127.0.0.1:5432/test``);
each test gets its own schema (``search_path`` set through the URL), dropped afterwards. When the
variable is unset or the server cannot be reached, the PostgreSQL cases are skipped and the skip
reason says so.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import psycopg
import pytest
from db_helpers import DbTarget
from sqlalchemy.engine import make_url

from pumpmgr.db.engine import Database, open_database

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


def _libpq_url(sqlalchemy_url: str) -> str:
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _postgres_admin(sql: str) -> None:
    with psycopg.connect(_libpq_url(os.environ[POSTGRES_ENV]), autocommit=True) as connection:
        connection.execute(sql)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DbTarget]:
    """Where a fresh database for this test lives (nothing is created yet)."""
    if request.param == "sqlite":
        path = tmp_path / "clinic.db"
        yield DbTarget("sqlite", str(path), path, None)
        return
    reason = postgres_unavailable()
    if reason is not None:
        pytest.skip(reason)
    schema = f"pumpmgr_test_{uuid.uuid4().hex[:16]}"
    _postgres_admin(f'CREATE SCHEMA "{schema}"')
    url = make_url(os.environ[POSTGRES_ENV]).update_query_dict(
        {"options": f"-csearch_path={schema}"}
    )
    try:
        yield DbTarget("postgresql", url.render_as_string(hide_password=False), None, schema)
    finally:
        _postgres_admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def sqlite_target(tmp_path: Path) -> DbTarget:
    path = tmp_path / "clinic.db"
    return DbTarget("sqlite", str(path), path, None)


@pytest.fixture
def database(db_target: DbTarget) -> Iterator[Database]:
    """A freshly created and migrated database on each backend."""
    db = open_database(db_target.url)
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def sqlite_database(sqlite_target: DbTarget) -> Iterator[Database]:
    db = open_database(sqlite_target.url)
    try:
        yield db
    finally:
        db.dispose()
