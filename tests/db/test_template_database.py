"""The ``database`` fixture's copy of the session's migrated template is the database that
migrating an empty one makes: same tables, columns, indexes, constraints, triggers and functions,
same rows, same revision (so the tests that use the copy prove what they proved on a fresh
migration). On PostgreSQL, a schema kept after its test for a later one is that copy again."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from database_targets import (
    DbTarget,
    create_schema,
    drop_kept_schemas,
    drop_schema,
    fill_postgres_schema,
    keep_or_drop_schema,
    postgres_admin,
    postgres_schema_url,
    postgres_template_sql,
    take_kept_schema,
)
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from pumpmgr.clock import FixedClock
from pumpmgr.db.engine import Database, open_database
from pumpmgr.services import ClinicService

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
# The one row whose value is the moment it was written: equal up to the time of creation
_CREATION_TIME = {("clinic_settings", "updated_at")}

_PG_DEFINITIONS = {
    "index": "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()",
    "constraint": """SELECT c.conrelid::regclass::text || '.' || c.conname,
                            pg_get_constraintdef(c.oid)
                     FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
                     WHERE n.nspname = current_schema()""",
    "trigger": """SELECT t.tgrelid::regclass::text || '.' || t.tgname, pg_get_triggerdef(t.oid)
                  FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid
                  JOIN pg_namespace n ON n.oid = r.relnamespace
                  WHERE n.nspname = current_schema() AND NOT t.tgisinternal""",
    "function": """SELECT p.proname, pg_get_functiondef(p.oid) FROM pg_proc p
                   JOIN pg_namespace n ON n.oid = p.pronamespace
                   WHERE n.nspname = current_schema()""",
    "sequence": """SELECT sequencename, coalesce(last_value, 0)::text FROM pg_sequences
                   WHERE schemaname = current_schema()""",
    "column default": """SELECT table_name || '.' || column_name, column_default
                         FROM information_schema.columns
                         WHERE table_schema = current_schema() AND column_default IS NOT NULL""",
}


def _facts(database: Database) -> dict[str, Any]:
    """Everything a migration decides, with the schema's own name taken out."""
    with database.engine.connect() as connection:
        facts: dict[str, Any] = {"rows": _rows(connection)}
        inspector = inspect(connection)
        for table in inspector.get_table_names():
            facts[f"{table} columns"] = [
                (c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)
            ]
        if connection.dialect.name == "sqlite":
            facts["sqlite_master"] = sorted(
                connection.execute(
                    text("SELECT type, name, tbl_name, sql FROM sqlite_master")
                ).all()
            )
            facts["user_version"] = connection.execute(text("PRAGMA user_version")).scalar()
        else:
            schema = connection.execute(text("SELECT current_schema()")).scalar_one()
            for kind, query in _PG_DEFINITIONS.items():
                facts[kind] = sorted(
                    (name.replace(f"{schema}.", ""), _deparsed(definition, schema))
                    for name, definition in connection.execute(text(query)).all()
                )
    return facts


def _deparsed(definition: str | None, schema: str) -> str:
    """A definition without the schema's name and without the casts PostgreSQL writes
    differently once ``pg_dump``'s text is read back (``x IN ('a', 'b')`` is deparsed as
    ``ARRAY[('a'::character varying)::text, ...]`` after a migration and as
    ``(ARRAY['a'::character varying, ...])::text[]`` after the dump: the same check)."""
    plain = (definition or "").replace(f"{schema}.", "")
    return re.sub(r"::(character varying|text\[\]|text)|[()]", "", plain)


def _rows(connection: Connection) -> dict[str, list[tuple[object, ...]]]:
    rows = {}
    for table in sorted(inspect(connection).get_table_names()):
        result = connection.execute(text(f'SELECT * FROM "{table}"'))
        keep = [
            i for i, column in enumerate(result.keys()) if (table, column) not in _CREATION_TIME
        ]
        rows[table] = sorted((tuple(row[i] for i in keep) for row in result.all()), key=repr)
    return rows


@pytest.fixture
def migrated_here(db_target: DbTarget, tmp_path: Path) -> Iterator[Database]:
    """An empty database beside the fixture's, migrated through every revision here."""
    schema = None
    if db_target.backend == "sqlite":
        url = str(tmp_path / "migrated-here.db")
    else:
        schema = f"pumpmgr_test_{uuid.uuid4().hex[:16]}"
        create_schema(schema)
        url = postgres_schema_url(schema)
    db = open_database(url)
    try:
        yield db
    finally:
        db.dispose()
        if schema is not None:
            drop_schema(schema)


def test_the_fixture_copy_is_what_migrating_makes(
    database: Database, migrated_here: Database
) -> None:
    copied, migrated = _facts(database), _facts(migrated_here)
    assert copied["rows"]["alembic_version"] and copied["rows"]["clinic_settings"]
    assert copied.keys() == migrated.keys()
    assert {k: v for k, v in copied.items() if v != migrated[k]} == {}


def _filled_schema() -> str:
    schema = f"pumpmgr_test_{uuid.uuid4().hex[:16]}"
    create_schema(schema)
    template = postgres_template_sql()
    assert template is not None, "pg_dump is needed for the template"
    fill_postgres_schema(schema, template)
    return schema


def _facts_of(schema: str) -> dict[str, Any]:
    with open_database(postgres_schema_url(schema), daily_backup_keep=None) as database:
        return _facts(database)


@pytest.mark.parametrize("db_target", ["postgresql"], indirect=True)
def test_a_schema_kept_after_its_test_is_the_fresh_copy_again(db_target: DbTarget) -> None:
    """A test's rows and sequence values go; the template's row comes back; the next test
    gets the schema under its own name. A schema whose definition a test changed is dropped."""
    drop_kept_schemas()  # room for this test's schema
    used = _filled_schema()
    fresh = _facts_of(used)
    with open_database(postgres_schema_url(used), daily_backup_keep=None) as database:
        clinic = ClinicService(
            database, clock=FixedClock(datetime(2025, 3, 3, tzinfo=UTC)), hasher=FAST_HASHER
        )
        clinic.create_first_administrator("admin", "correct horse battery", "Ada Admin")
        assert _facts(database) != fresh
    assert keep_or_drop_schema(used)
    assert db_target.schema is not None
    postgres_admin(f'DROP SCHEMA "{db_target.schema}"')  # the next test's name, made again
    create_schema(db_target.schema)
    assert take_kept_schema(db_target.schema)
    assert _facts_of(db_target.schema) == fresh

    changed = _filled_schema()
    postgres_admin(f'ALTER TABLE "{changed}".audit_log DISABLE TRIGGER USER')
    assert not keep_or_drop_schema(changed)
    create_schema(changed)  # refused if it were still there
    drop_schema(changed)
