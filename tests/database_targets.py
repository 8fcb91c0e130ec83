"""Where a test database lives: a fresh SQLite file, or a schema of its own on PostgreSQL.

SQLite uses a file in ``tmp_path``. PostgreSQL uses the server named by
``PUMPMGR_TEST_POSTGRES_URL`` (for example ``postgresql+psycopg://postgres@127.0.0.1:5432/test``);
each test gets its own schema (``search_path`` set through the URL), dropped afterwards or kept
for a later test (see below). When the
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
    if not _TEMPLATE_SHAPE:  # the first fill, untouched yet: what a kept schema must match
        with psycopg.connect(_libpq_url(os.environ[POSTGRES_ENV])) as connection:
            _TEMPLATE_SHAPE.append(_shape(connection, schema))


# --- Test schemas kept for the next test --------------------------------------------------
#
# Filling a schema from the template and dropping it after its test is most of a PostgreSQL
# test's cost (the server's work on some 400 statements each way). So a schema whose shape
# (tables, columns, constraints, indexes, triggers, functions, types, sequences, privileges,
# owners) is still the template's when its test ends has its rows deleted, the template's rows
# put back and its sequences set as the template's, and is renamed to the next test's schema:
# each test still has a schema and URL of its own. Any other schema is dropped, as before.

_KEPT: list[str] = []
_KEPT_MAX = 4  #: schemas kept at once by one test process
_TEMPLATE_SHAPE: list[str] = []  #: the shape of a freshly filled schema, once known

#: One row of text per thing a test could change in a schema's definition (not its rows).
_SHAPE_SQL = """
WITH n AS (SELECT oid, nspname FROM pg_namespace WHERE nspname = %(schema)s),
c AS (SELECT pg_class.* FROM pg_class JOIN n ON relnamespace = n.oid)
SELECT 'schema ' || nspowner::regrole || ' ' || coalesce(nspacl::text, '')
  FROM pg_namespace JOIN n USING (oid)
UNION ALL SELECT concat_ws(' ', 'class', relname, relkind, relowner::regrole, relacl,
  relpersistence, relrowsecurity, relforcerowsecurity, reloptions, relreplident,
  CASE WHEN relkind IN ('v', 'm') THEN pg_get_viewdef(oid) END) FROM c
UNION ALL SELECT concat_ws(' ', 'column', c.relname, a.attnum, a.attname,
  format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attisdropped, a.attidentity,
  a.attgenerated, a.attcollation, a.attacl, pg_get_expr(d.adbin, d.adrelid))
  FROM pg_attribute a JOIN c ON a.attrelid = c.oid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  WHERE a.attnum > 0
UNION ALL SELECT concat_ws(' ', 'constraint', conrelid::regclass, conname, condeferrable,
  condeferred, convalidated, pg_get_constraintdef(pg_constraint.oid))
  FROM pg_constraint JOIN n ON connamespace = n.oid
UNION ALL SELECT 'index ' || pg_get_indexdef(indexrelid) || ' ' || indisvalid
  FROM pg_index JOIN c ON indrelid = c.oid
UNION ALL SELECT concat_ws(' ', 'trigger', pg_get_triggerdef(t.oid), t.tgenabled)
  FROM pg_trigger t JOIN c ON t.tgrelid = c.oid WHERE NOT t.tgisinternal
UNION ALL SELECT concat_ws(' ', 'rule', r.rulename, pg_get_ruledef(r.oid), r.ev_enabled)
  FROM pg_rewrite r JOIN c ON r.ev_class = c.oid WHERE c.relkind NOT IN ('v', 'm')
UNION ALL SELECT concat_ws(' ', 'policy', p.polname, pg_get_expr(p.polqual, p.polrelid),
  pg_get_expr(p.polwithcheck, p.polrelid), p.polcmd, p.polpermissive, p.polroles::text)
  FROM pg_policy p JOIN c ON p.polrelid = c.oid
UNION ALL SELECT concat_ws(' ', 'inherits', inhrelid::regclass, inhparent::regclass)
  FROM pg_inherits JOIN c ON inhrelid = c.oid
UNION ALL SELECT concat_ws(' ', 'sequence', seqrelid::regclass, seqtypid::regtype,
  seqstart, seqincrement, seqmax, seqmin, seqcache, seqcycle)
  FROM pg_sequence JOIN c ON seqrelid = c.oid
UNION ALL SELECT concat_ws(' ', 'function', p.oid::regprocedure, p.proowner::regrole,
  p.proacl, p.proconfig, pg_get_functiondef(p.oid))
  FROM pg_proc p JOIN n ON pronamespace = n.oid WHERE p.prokind IN ('f', 'p', 'w')
UNION ALL SELECT concat_ws(' ', 'aggregate', p.oid::regprocedure)
  FROM pg_proc p JOIN n ON pronamespace = n.oid WHERE p.prokind = 'a'
UNION ALL SELECT concat_ws(' ', 'type', t.typname, t.typtype, t.typowner::regrole, t.typacl,
  (SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum
   WHERE enumtypid = t.oid))
  FROM pg_type t JOIN n ON typnamespace = n.oid
UNION ALL SELECT concat_ws(' ', 'default acl', defaclrole::regrole, defaclobjtype, defaclacl)
  FROM pg_default_acl JOIN n ON defaclnamespace = n.oid
"""


def _shape(connection: psycopg.Connection[tuple[object, ...]], schema: str) -> str:
    rows = connection.execute(_SHAPE_SQL, {"schema": schema}).fetchall()
    return "\n".join(sorted(str(row[0]) for row in rows)).replace(schema, _PLACEHOLDER)


@cache
def _template_rows(template_sql: str) -> str:
    """The template's rows and sequence values: its dump's TABLE DATA and SEQUENCE SET
    entries."""
    parts = re.split(r"^--\n-- (.*)\n--$", template_sql, flags=re.MULTILINE)
    return "\n".join(
        body
        for header, body in zip(parts[1::2], parts[2::2], strict=True)
        if "; Type: TABLE DATA;" in header or "; Type: SEQUENCE SET;" in header
    )


def take_kept_schema(schema: str) -> bool:
    """Make the (new, empty) ``schema`` a freshly migrated one from a kept schema; False when
    none is kept."""
    if not _KEPT:
        return False
    kept = _KEPT.pop()
    postgres_admin(f'DROP SCHEMA "{schema}"; ALTER SCHEMA "{kept}" RENAME TO "{schema}"')
    return True


def keep_or_drop_schema(schema: str) -> bool:
    """After a test: keep ``schema`` for a later one when its shape is still the template's
    (its rows and sequences put back as the template's), else drop it; True when kept."""
    template = postgres_template_sql()
    if template is None or not _TEMPLATE_SHAPE or len(_KEPT) >= _KEPT_MAX:
        drop_schema(schema)
        return False
    try:
        with psycopg.connect(_libpq_url(os.environ[POSTGRES_ENV])) as connection:
            connection.execute("SET LOCAL lock_timeout = '5s'")
            if _shape(connection, schema) != _TEMPLATE_SHAPE[0]:
                connection.rollback()
                drop_schema(schema)
                return False
            # no trigger fires (the append-only tables refuse DELETE) and no key is checked
            connection.execute("SET LOCAL session_replication_role = replica")
            for (table,) in connection.execute(
                "SELECT relname FROM pg_class JOIN pg_namespace n ON n.oid = relnamespace "
                "WHERE nspname = %s AND relkind IN ('r', 'p')",
                (schema,),
            ).fetchall():
                connection.execute(f'DELETE FROM "{schema}"."{table}"')
            connection.execute(_template_rows(template).replace(_PLACEHOLDER, schema))
    except psycopg.Error:
        drop_schema(schema)
        return False
    _KEPT.append(schema)
    return True


def drop_kept_schemas() -> None:
    """At the end of the run: drop the schemas kept for tests that did not come."""
    while _KEPT:
        drop_schema(_KEPT.pop())
