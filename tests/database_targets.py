"""Where a test database lives: a fresh SQLite file, or a schema of its own on PostgreSQL.

SQLite uses a file in ``tmp_path``. PostgreSQL uses the server named by
``PUMPMGR_TEST_POSTGRES_URL`` (for example ``postgresql+psycopg://postgres@127.0.0.1:5432/test``);
each test gets its own schema (``search_path`` set through the URL), dropped afterwards. When the
variable is unset or the server cannot be reached, the PostgreSQL cases are skipped and the skip
reason says so. The fixtures using this live in ``tests/conftest.py``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

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
