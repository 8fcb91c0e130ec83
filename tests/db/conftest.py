"""Fixtures for the persistence tests that only SQLite can run (the shared, two-backend
fixtures ``db_target`` and ``database`` are in ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from database_targets import DbTarget, copy_sqlite_template

from pumpmgr.db.engine import Database, open_database


@pytest.fixture
def sqlite_target(tmp_path: Path) -> DbTarget:
    path = tmp_path / "clinic.db"
    return DbTarget("sqlite", str(path), path, None)


@pytest.fixture
def sqlite_database(sqlite_target: DbTarget, sqlite_template: Path) -> Iterator[Database]:
    """A migrated SQLite database: a copy of the session's template (as ``database``)."""
    assert sqlite_target.path is not None
    copy_sqlite_template(sqlite_template, sqlite_target.path)
    db = open_database(sqlite_target.url, daily_backup_keep=None)
    try:
        yield db
    finally:
        db.dispose()
