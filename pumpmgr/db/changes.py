"""What other workstations committed: a change feed over the clinic database.

Persistence layer: the standard library, SQLAlchemy and (on PostgreSQL) psycopg 3.

Several workstations share one clinic; a screen that read the records asks the feed now and
then (:meth:`ChangeFeed.poll`, which never waits) whether someone else committed since, and
reads again if so. Both backends implement the one interface:

- PostgreSQL: every write unit of work that changed a row sends ``NOTIFY`` in its own
  transaction (:func:`notify`), so the notice goes out when, and only if, the change commits;
  the payload names the tables and patients it touched and the program that wrote it. The
  feed ``LISTEN``\\ s on a connection of its own and skips the notices of its own program.
  The channel is per schema: two clinics on one server (or two test schemas) never hear each
  other.
- SQLite: ``PRAGMA data_version`` on a connection of the feed's own changes whenever another
  connection commits to the file (SQLite's documented behaviour), so the feed knows *that*
  something changed, not what: the change says so (``patient_ids`` None). This program's own
  commits are told apart by the committing connection's own ``data_version``, which does not
  change for its own writes (:class:`SqliteFeed`).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.orm import Session

from pumpmgr.db import schema as db

if TYPE_CHECKING:
    from pumpmgr.db.engine import Database

log = logging.getLogger(__name__)

#: NOTIFY's payload must stay under 8000 bytes: past this many patients a change says
#: "unknown patients" instead of listing them.
MAX_LISTED = 400
#: After the listening connection is lost, how long to wait before connecting again (s).
RECONNECT_AFTER_S = 30.0


@dataclass(frozen=True)
class Change:
    """What other programs committed since the last poll. None: not known (SQLite says only
    that the file changed; a lost PostgreSQL connection may have missed notices)."""

    tables: frozenset[str] | None = None
    patient_ids: frozenset[int] | None = None

    def touches_patient(self, patient_id: int) -> bool:
        return self.patient_ids is None or patient_id in self.patient_ids

    def merged(self, other: Change) -> Change:
        def union(a: frozenset[Any] | None, b: frozenset[Any] | None) -> frozenset[Any] | None:
            return None if a is None or b is None else a | b

        return Change(union(self.tables, other.tables), union(self.patient_ids, other.patient_ids))


class ChangeFeed(Protocol):
    """What another program committed to the clinic database since the last poll."""

    def poll(self) -> Change | None:
        """The changes committed by other programs since the last poll, merged into one (None:
        nothing). Never waits for the database."""

    def close(self) -> None:
        """Let go of the feed's own connection."""


def _channel_sql() -> str:
    return "'pumpmgr:' || current_schema()"


def notify(
    session: Session, origin: str, tables: set[str] | None, patient_ids: set[int] | None
) -> None:
    """Tell the PostgreSQL listeners of this clinic, when this transaction commits, that
    ``origin`` changed ``tables`` for ``patient_ids`` (None: not known). Nothing on SQLite (its
    feed polls the file's version)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    listed = None if patient_ids is None or len(patient_ids) > MAX_LISTED else sorted(patient_ids)
    payload = json.dumps(
        {"o": origin, "t": None if tables is None else sorted(tables), "p": listed},
        separators=(",", ":"),
    )
    session.execute(text(f"SELECT pg_notify({_channel_sql()}, :payload)"), {"payload": payload})


_TOUCHED = "pumpmgr.changes.touched"


@dataclass
class _Touched:
    tables: set[str]
    patients: set[int]
    pumps: set[int]
    unknown: bool = False  #: a bulk statement changed rows the ORM did not see


def watch(session: Session) -> None:
    """Collect, for :func:`announce`, the tables and patients this unit of work changes (on
    PostgreSQL: a SQLite feed needs nothing from the writer)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    touched = session.info[_TOUCHED] = _Touched(set(), set(), set())

    def flushed(session: Session, _context: Any) -> None:
        for row in (*session.new, *session.dirty, *session.deleted):
            if row in session.dirty and not session.is_modified(row):
                continue
            table = getattr(row, "__tablename__", None)
            if table is None:
                continue
            touched.tables.add(table)
            if table == "patients":
                touched.patients.add(row.id)
            elif isinstance(getattr(row, "patient_id", None), int):
                touched.patients.add(row.patient_id)
            if table == "pumps":
                touched.pumps.add(row.id)
            elif isinstance(getattr(row, "pump_id", None), int):
                touched.pumps.add(row.pump_id)

    def executed(state: Any) -> None:
        if state.is_insert or state.is_update or state.is_delete:
            touched.unknown = True

    event.listen(session, "after_flush", flushed)
    event.listen(session, "do_orm_execute", executed)


def announce(session: Session, origin: str) -> None:
    """At the end of a unit of work :func:`watch` watched: :func:`notify` what it changed
    (nothing when it changed nothing)."""
    touched: _Touched | None = session.info.get(_TOUCHED)
    if touched is None:
        return
    session.flush()
    if not touched.tables and not touched.unknown:
        return
    if touched.unknown:
        notify(session, origin, None, None)
        return
    patients = set(touched.patients)
    for pump_id in touched.pumps:  # mostly loaded already by the work: no query
        pump = session.get(db.Pump, pump_id)
        if pump is not None:
            patients.add(pump.patient_id)
    notify(session, origin, touched.tables, patients)


def _change_of(payload: str) -> tuple[str, Change]:
    """The origin and change a notice's payload gives (an unreadable one: an unknown change)."""
    try:
        data = json.loads(payload)
        tables, patients = data.get("t"), data.get("p")
        return str(data.get("o", "")), Change(
            None if tables is None else frozenset(str(t) for t in tables),
            None if patients is None else frozenset(int(p) for p in patients),
        )
    except (ValueError, TypeError, AttributeError):
        return "", Change()


class SqliteFeed:
    """Polls ``PRAGMA data_version`` on a read-only connection of its own to the file.

    Given the program's own ``engine``, it does not report that engine's commits: a commit
    through it that no other connection's commit came before (since the last poll) or right
    after (before the committing connection went back to the pool) leaves the feed silent.
    Where it cannot tell, it reports a change, as before (a screen reads again)."""

    def __init__(self, path: str, engine: Engine | None = None) -> None:
        # a URI of its own (spaces, '#' and drive letters escaped), opened read-only
        self._connection = sqlite3.connect(
            f"{Path(path).as_uri()}?mode=ro",
            uri=True,
            check_same_thread=False,
            isolation_level=None,
        )
        #: The program's commits run on worker threads, the polls on the window's.
        self._lock = threading.Lock()
        self._version = self._read()
        #: Another connection committed since the last poll, seen before an own commit.
        self._foreign = False
        self._engine = engine
        #: A pooled connection's info key (one per feed: a window may open another): the
        #: connection's data_version just before this program committed on it.
        self._key = ("pumpmgr.changes.own_commit", id(self))
        if engine is not None:
            event.listen(engine, "commit", self._before_own_commit)
            event.listen(engine, "checkin", self._after_own_commit)

    def _read(self) -> int:
        row = self._connection.execute("PRAGMA data_version").fetchone()
        return int(row[0])

    def _before_own_commit(self, connection: Connection) -> None:
        # A write transaction holds the write lock here, so no other commit can come between
        # this and its own; the writer's data_version does not change for its own commits.
        record = connection.connection
        if self._key in record.info:
            return  # a second transaction on one checkout: the first one's mark stands
        writer = record.driver_connection
        if not isinstance(writer, sqlite3.Connection):
            return
        record.info[self._key] = _data_version(writer)
        with self._lock:
            if self._read() != self._version:
                self._foreign = True

    def _after_own_commit(self, dbapi_connection: Any, record: Any) -> None:
        before = record.info.pop(self._key, None) if record is not None else None
        if before is None or not isinstance(dbapi_connection, sqlite3.Connection):
            return
        with self._lock:
            version = self._read()
            # read after the feed's: unchanged, no other connection committed after ours
            if _data_version(dbapi_connection) == before:
                self._version = version

    def poll(self) -> Change | None:
        with self._lock:
            version = self._read()
            if version == self._version and not self._foreign:
                return None
            self._version = version
            self._foreign = False
        return Change()

    def close(self) -> None:
        if self._engine is not None:
            event.remove(self._engine, "commit", self._before_own_commit)
            event.remove(self._engine, "checkin", self._after_own_commit)
            self._engine = None
        self._connection.close()


def _data_version(connection: sqlite3.Connection) -> int:
    return int(connection.execute("PRAGMA data_version").fetchone()[0])


class PostgresFeed:
    """``LISTEN``\\ s on a connection of its own; skips the notices ``origin`` sent."""

    def __init__(self, conninfo: str, origin: str, *, connect_timeout: int = 5) -> None:
        self._conninfo = conninfo
        self._origin = origin
        self._timeout = connect_timeout
        self._connection: Any = None
        self._retry_at = 0.0
        self._connect()

    def _connect(self) -> None:
        import psycopg  # the postgres extra; only a PostgreSQL clinic gets here

        connection = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=self._timeout)
        row = connection.execute(f"SELECT {_channel_sql()}").fetchone()
        channel = str(row[0]) if row else "pumpmgr:public"
        connection.execute(f'LISTEN "{channel}"')
        self._connection = connection

    def poll(self) -> Change | None:
        found: Change | None = None
        if self._connection is None:
            if not self._reconnect():
                return None
            found = Change()  # notices sent while not listening are lost: say so
        try:
            pgconn = self._connection.pgconn
            # libpq reads what the server already sent: no round trip, never waits
            pgconn.consume_input()
            while (notice := pgconn.notifies()) is not None:
                origin, change = _change_of(notice.extra.decode("utf-8", "replace"))
                if origin != self._origin:
                    found = change if found is None else found.merged(change)
        except Exception:  # the server or the network went away: listen again later
            log.warning(
                "the change feed lost its connection; listening again in %d s",
                RECONNECT_AFTER_S,
                exc_info=True,
            )
            self.close()
            self._retry_at = time.monotonic() + RECONNECT_AFTER_S
            return Change()  # notices may have been missed: whatever is shown may be stale
        return found

    def _reconnect(self) -> bool:
        if time.monotonic() < self._retry_at:
            return False
        try:
            self._connect()
        except Exception:
            log.warning("the change feed could not listen again", exc_info=True)
            self._retry_at = time.monotonic() + RECONNECT_AFTER_S
            return False
        return True

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None


def open_feed(database: Database, origin: str) -> ChangeFeed:
    """The change feed of ``database`` for the program whose writes carry ``origin``."""
    if database.path is not None:
        return SqliteFeed(str(database.path), database.engine)
    url = database.url.set(drivername="postgresql")
    return PostgresFeed(url.render_as_string(hide_password=False), origin)
