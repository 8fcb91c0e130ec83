"""Run the Alembic migrations programmatically (persistence layer: stdlib, SQLAlchemy, alembic).

No ``alembic.ini`` is read: the configuration is built here and points at the ``migrations``
folder beside this module, so it works from a source tree, an installed wheel and any current
directory. Each revision runs in its own transaction together with the ``alembic_version``
update; with the SQLite transaction recipe of :mod:`pumpmgr.db.engine` DDL is transactional, so
an interrupted migration leaves the previous schema.

To add a revision during development::

    .venv/bin/python -c "from pumpmgr.db.migrate import new_revision; new_revision('message')"

then write its ``upgrade()`` by hand.

alembic is imported when a database is first opened (behind the sign-in window, where its
fifth of a second is hidden), not with this module.
"""

from __future__ import annotations

import functools
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


@functools.cache
def _revisions(folder: Path) -> tuple[str, frozenset[str]]:
    """The head and every revision of the migrations in ``folder``, as alembic reads them. A
    folder's revisions do not change while the program runs, and each database opened asks for
    them, so alembic reads a folder once."""
    from alembic.script import ScriptDirectory

    config = alembic_config()
    config.set_main_option("script_location", str(folder))
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head()
    if head is None:  # pragma: no cover - the package always ships the initial revision
        raise RuntimeError("pumpmgr ships no migration revisions")
    return head, frozenset(rev.revision for rev in script.walk_revisions())


def head_revision() -> str:
    return _revisions(MIGRATIONS_DIR)[0]


def known_revisions() -> frozenset[str]:
    return _revisions(MIGRATIONS_DIR)[1]


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
    """Tables and Alembic revision of the database behind ``connection`` (read-only); a
    revision table alembic cannot read (more than one row) raises alembic's own error."""
    from alembic.runtime.migration import MigrationContext

    tables = frozenset(inspect(connection).get_table_names())
    revision = (
        MigrationContext.configure(connection).get_current_revision()
        if "alembic_version" in tables
        else None
    )
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
