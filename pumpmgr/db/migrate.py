"""Run the Alembic migrations programmatically (persistence layer: stdlib, SQLAlchemy, alembic).

No ``alembic.ini`` is read: the configuration is built here and points at the ``migrations``
folder beside this module, so it works from a source tree, an installed wheel and any current
directory. Each revision runs in its own transaction together with the ``alembic_version``
update; with the SQLite transaction recipe of :mod:`pumpmgr.db.engine` DDL is transactional, so
an interrupted migration leaves the previous schema.

To add a revision during development::

    .venv/bin/python -c "from pumpmgr.db.migrate import new_revision; new_revision('message')"

then write its ``upgrade()`` by hand.

alembic is imported only where it is used (a migration, a new revision, a check of a database
whose revision table is not one plain row): it takes a quarter of a second to import, and a
program that starts on a database already at the head never needs it.
:func:`head_revision` and :func:`known_revisions` read the revision files as text
(:func:`_scan_revisions`) and leave anything that reader does not take to alembic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text

from pumpmgr.db.session_options import NO_WRITER_LOCK_OPTION

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

#: Tables every pumpmgr database has; used to tell a pumpmgr database from any other.
REQUIRED_TABLES: frozenset[str] = frozenset({"alembic_version", "audit_log", "users", "patients"})

#: Key of the PostgreSQL session advisory lock held while migrating, so that two workstations
#: starting at once do not both run the same revision.
_PG_MIGRATION_LOCK = 0x70756D706D677231  # "pumpmgr1"


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def script_directory() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


#: A revision file's top-level ``name = value`` (or ``name: type = value``) for the names alembic
#: reads; the value is one string literal or None, else the file is left to alembic.
_ASSIGNMENT = re.compile(
    r"^(?P<name>revision|down_revision|branch_labels|depends_on)[ \t]*(?::[^=\n]*)?=[ \t]*"
    r"(?P<value>.*?)[ \t]*(?:#.*)?$",
    re.MULTILINE,
)
_LITERAL = re.compile(r"^(?:\"(?P<double>[\w.-]+)\"|'(?P<single>[\w.-]+)')$")
#: The file names alembic reads as revisions (alembic.script.base, not sourceless).
_REVISION_FILE = re.compile(r"(?!\.#|__init__)(.*\.py)$")


def _scan_revisions() -> dict[str, str | None] | None:
    """Each revision in ``MIGRATIONS_DIR/versions`` with the one it revises, read from the files
    as text, without importing alembic or the revisions; None when any file has what this
    reading does not take (a value other than one string or None, a name assigned twice or
    not at all, branch labels, dependencies, a merge, a duplicate revision), so that alembic
    decides as it always did."""
    folder = MIGRATIONS_DIR / "versions"
    found: dict[str, str | None] = {}
    try:
        files = sorted(p for p in folder.iterdir() if _REVISION_FILE.match(p.name))
        for file in files:
            values: dict[str, list[str | None]] = {}
            for match in _ASSIGNMENT.finditer(file.read_text(encoding="utf-8")):
                raw = match["value"]
                literal = _LITERAL.match(raw)
                if raw != "None" and literal is None:
                    return None
                values.setdefault(match["name"], []).append(
                    None if literal is None else literal["double"] or literal["single"]
                )
            if any(len(v) != 1 for v in values.values()):
                return None
            revision, down = values.get("revision"), values.get("down_revision")
            if (
                revision is None
                or revision[0] is None
                or down is None
                or values.get("branch_labels", [None])[0] is not None
                or values.get("depends_on", [None])[0] is not None
                or revision[0] in found
            ):
                return None
            found[revision[0]] = down[0]
    except (OSError, UnicodeDecodeError):
        return None
    return found or None


def _scanned_head(revisions: dict[str, str | None]) -> str | None:
    """The one revision no other revises, when every revision lies on the one line from it down
    to the base; else None (a branch, a gap or a loop: alembic says what is wrong)."""
    heads = set(revisions) - set(revisions.values())
    if len(heads) != 1:
        return None
    head = heads.pop()
    current: str | None = head
    seen = 0
    while current is not None and current in revisions and seen <= len(revisions):
        seen += 1
        current = revisions[current]
    return head if current is None and seen == len(revisions) else None


def head_revision() -> str:
    scanned = _scan_revisions()
    head = _scanned_head(scanned) if scanned is not None else None
    if head is not None:
        return head
    head = script_directory().get_current_head()
    if head is None:  # pragma: no cover - the package always ships the initial revision
        raise RuntimeError("pumpmgr ships no migration revisions")
    return head


def known_revisions() -> frozenset[str]:
    scanned = _scan_revisions()
    if scanned is not None and _scanned_head(scanned) is not None:
        return frozenset(scanned)
    return frozenset(rev.revision for rev in script_directory().walk_revisions())


@dataclass(frozen=True)
class SchemaState:
    """What a database holds before migrating."""

    tables: frozenset[str]
    revision: str | None  #: the ``alembic_version`` row, None when there is no such table or row

    @property
    def empty(self) -> bool:
        return not self.tables

    @property
    def looks_like_pumpmgr(self) -> bool:
        return self.tables >= REQUIRED_TABLES

    @property
    def revision_known(self) -> bool:
        return self.revision is None or self.revision in known_revisions()

    @property
    def at_head(self) -> bool:
        return self.revision == head_revision()


def read_schema_state(connection: Connection) -> SchemaState:
    """Tables and Alembic revision of the database behind ``connection`` (read-only).

    The revision is read with a plain query; only a revision table that is not one row or none
    is handed to alembic's ``MigrationContext``, which refuses it as it always did."""
    tables = frozenset(inspect(connection).get_table_names())
    revision: str | None = None
    if "alembic_version" in tables:
        rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        if len(rows) > 1:
            from alembic.runtime.migration import MigrationContext

            revision = MigrationContext.configure(connection).get_current_revision()
        elif rows:
            revision = rows[0][0]
    return SchemaState(tables=tables, revision=revision)


def _sqlite_foreign_keys(connection: Connection, on: bool) -> None:
    """Switch SQLite's foreign keys on the driver connection, outside any transaction (inside
    one the pragma does nothing); a connection that cannot get them back is discarded."""
    if connection.in_transaction():
        connection.rollback()
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")
    if driver.execute("PRAGMA foreign_keys").fetchone()[0] != int(on):
        connection.invalidate()  # never hand a connection without foreign keys back to the pool


def upgrade_to_head(connection: Connection) -> None:
    """Apply every missing revision; ``connection`` must not be inside a transaction.

    On SQLite the revisions run with foreign keys off and each one checks them with
    ``PRAGMA foreign_key_check`` before it commits (``migrations/env.py``): SQLite's procedure
    for the changes ALTER TABLE cannot make (lang_altertable.html, "Making Other Kinds Of
    Table Schema Changes"), without which a revision could not rebuild a table that other
    tables refer to (``DROP TABLE`` of the old copy fails with foreign keys on).
    """
    postgres = connection.dialect.name == "postgresql"
    sqlite = connection.dialect.name == "sqlite"
    if postgres:
        connection.execution_options(**{NO_WRITER_LOCK_OPTION: True})
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        connection.commit()
    if sqlite:
        _sqlite_foreign_keys(connection, on=False)
    from alembic import command

    try:
        command.upgrade(alembic_config(connection), "head")
    finally:
        if sqlite:
            _sqlite_foreign_keys(connection, on=True)
        if postgres:
            connection.rollback()
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_MIGRATION_LOCK})
            connection.commit()


def new_revision(message: str) -> None:  # pragma: no cover - a developer tool
    """Create an empty revision file in ``migrations/versions`` for a developer to fill in."""
    from alembic import command

    command.revision(alembic_config(), message=message)
