"""Shared test set-up: Qt runs offscreen before any QApplication exists; a fresh database per
test on each backend (SQLite always, PostgreSQL when ``PUMPMGR_TEST_POSTGRES_URL`` is set)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from database_targets import (
    DbTarget,
    create_schema,
    drop_schema,
    postgres_schema_url,
    postgres_unavailable,
)

from pumpmgr.db.engine import Database, open_database

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


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
    create_schema(schema)
    try:
        yield DbTarget("postgresql", postgres_schema_url(schema), None, schema)
    finally:
        drop_schema(schema)


@pytest.fixture
def database(db_target: DbTarget) -> Iterator[Database]:
    """A freshly created and migrated database on each backend."""
    db = open_database(db_target.url)
    try:
        yield db
    finally:
        db.dispose()
