"""A consistent view of the whole clinic to read at length, without holding up its writers
(persistence layer: stdlib, SQLAlchemy, pumpmgr.db).

The full integrity check reads every audit entry and every covered row: minutes on a large
clinic. On SQLite with the rollback journal (pumpmgr's choice where SQLite lacks the WAL-reset
fix, :func:`pumpmgr.db.gates.choose_journal_mode`) a reader's shared lock lasts as long as its
transaction, and no writer can commit meanwhile: a nurse saving a refill would wait, then be
told the database is busy. So the check reads a copy taken with SQLite's backup API (the
daily backup's way: one consistent snapshot, the source locked only while its pages are
copied), in a private temporary folder removed afterwards. In WAL mode and on PostgreSQL a
reader never stops a writer: the check reads the database itself, in one transaction (on
PostgreSQL at REPEATABLE READ: at the program's READ COMMITTED each statement would see the
rows committed since the one before, and a refill saved between reading the audit log and
reading the refills would look inserted outside pumpmgr).
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from pumpmgr.db.backup import read_only_engine
from pumpmgr.db.gates import WAL
from pumpmgr.files import create_private_file

if TYPE_CHECKING:
    from pumpmgr.db.engine import Database


@contextmanager
def snapshot(database: Database) -> Iterator[Session]:
    """A session that reads one consistent state of ``database`` (module docstring); the
    caller must only read through it."""
    if database.path is None or database.journal_mode == WAL:
        with database.read() as session:
            if database.path is None:  # one snapshot for every statement, not one each
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            yield session
        return
    with tempfile.TemporaryDirectory(prefix="pumpmgr-snapshot-") as scratch:
        copy = Path(scratch) / "clinic.db"
        create_private_file(copy)  # it holds patient records
        raw = database.engine.raw_connection()
        try:
            source = raw.driver_connection
            assert isinstance(source, sqlite3.Connection)
            target = sqlite3.connect(copy)
            try:
                source.backup(target)
            finally:
                target.close()
        finally:
            raw.close()
        engine = read_only_engine(copy)
        try:
            with Session(engine) as session:
                yield session
        finally:
            engine.dispose()
