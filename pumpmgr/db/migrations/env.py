"""Alembic environment for pumpmgr (persistence layer: alembic, SQLAlchemy, pumpmgr.db.schema).

Run only through :func:`pumpmgr.db.migrate.upgrade_to_head`, which passes the connection in
``config.attributes["connection"]``: the engine, with its SQLite pragmas and BEGIN IMMEDIATE
recipe, is the one the program uses. Every revision runs in its own transaction
(``transaction_per_migration``), and ``transactional_ddl`` is declared for SQLite because the
recipe makes SQLite DDL transactional. On SQLite each revision checks the foreign keys before it
commits (they are off while revisions run, so that a revision can rebuild a table).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from alembic import context
from alembic.runtime.migration import MigrationContext, MigrationInfo
from sqlalchemy import Connection

from pumpmgr.db.schema import Base


def _check_foreign_keys(
    ctx: MigrationContext, step: MigrationInfo, heads: Collection[Any], run_args: Mapping[str, Any]
) -> None:
    """Before a revision commits on SQLite (where revisions run with foreign keys off, see
    :func:`pumpmgr.db.migrate.upgrade_to_head`): refuse it if a row refers to a missing row."""
    connection = ctx.connection
    if connection is None or connection.dialect.name != "sqlite":
        return
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(
            f"revision {step.up_revision_id} leaves {len(broken)} rows referring to rows that "
            f"do not exist (first: table {broken[0][0]}, row {broken[0][1]}, refers to "
            f"{broken[0][2]})"
        )


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        transaction_per_migration=True,
        transactional_ddl=True,
        compare_type=True,
        on_version_apply=_check_foreign_keys,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError(
            "pumpmgr migrations run from pumpmgr.db.migrate.upgrade_to_head(), "
            "not from the alembic command line"
        )
    run_migrations(connection)


_main()
