"""Persistence layer: the clinic records in SQLite or PostgreSQL through SQLAlchemy 2.

May import the pure modules (``pumpmgr.errors``, ``pumpmgr.units``), SQLAlchemy, alembic,
platformdirs and the standard library; never ``pumpmgr.reports``, ``ui`` or Qt.

- :mod:`pumpmgr.db.engine`: ``open_database()`` with the start-up gates and the migration run.
- :mod:`pumpmgr.db.schema`: the ORM row classes (``Base`` and one class per table).
- :mod:`pumpmgr.db.audit`: the append-only, hash-chained audit log.
- :mod:`pumpmgr.db.rowchain`: the images of the rows each entry wrote, and their check.
- :mod:`pumpmgr.db.pg_role`: the grants of the PostgreSQL role the program connects as.
- :mod:`pumpmgr.db.backup`: online backup, checked restore, daily backup with retention.
"""
