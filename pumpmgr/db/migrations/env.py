"""Alembic environment for pumpmgr (persistence layer: alembic, SQLAlchemy, pumpmgr.db.schema).

Run only through :func:`pumpmgr.db.migrate.upgrade_to_head`, which passes the connection in
``config.attributes["connection"]``: the engine, with its SQLite pragmas and BEGIN IMMEDIATE
recipe, is the one the program uses. Every revision runs in its own transaction
(``transaction_per_migration``), and ``transactional_ddl`` is declared for SQLite because the
recipe makes SQLite DDL transactional.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from pumpmgr.db.schema import Base


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        transaction_per_migration=True,
        transactional_ddl=True,
        compare_type=True,
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
