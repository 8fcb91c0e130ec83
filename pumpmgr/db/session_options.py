"""Execution options pumpmgr sets on its SQLAlchemy connections (persistence layer: stdlib only).

Kept apart so that :mod:`pumpmgr.db.engine` (which sets them) and :mod:`pumpmgr.db.audit`
(which checks them) need not import each other.
"""

from __future__ import annotations

#: Set on the engine behind ``Database.read_sessions``: SQLite begins those transactions with a
#: deferred ``BEGIN`` instead of ``BEGIN IMMEDIATE``.
READ_ONLY_OPTION = "pumpmgr_read_only"

#: Set by :func:`pumpmgr.db.migrate.upgrade_to_head` on PostgreSQL: its transactions do not take
#: the writers' advisory lock (the migration holds its own lock first; taking the writers' lock
#: before it, as every write transaction begins, would invert the order and deadlock).
NO_WRITER_LOCK_OPTION = "pumpmgr_no_writer_lock"
