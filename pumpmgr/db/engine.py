"""Open the clinic database: URL resolution, start-up gates, connection settings, migration
(the errors of a unit of work are translated in :mod:`pumpmgr.db.translate`).

Persistence layer: may import the standard library, SQLAlchemy, alembic (through
:mod:`pumpmgr.db.migrate`), platformdirs, ``pumpmgr.errors`` and the other ``pumpmgr.db``
modules; never ``pumpmgr.services``, ``pumpmgr.reports`` or ``ui``.

Where the database is (first match wins): the ``--db PATH_OR_URL`` value passed to
:func:`open_database`, the ``PUMPMGR_DB`` environment variable, then ``pumpmgr.db`` in the user's
data folder (:func:`default_database_path`). A value with ``://`` is a SQLAlchemy URL
(``postgresql+psycopg://user@host/db``, ``sqlite:////abs/path.db``); anything else is a path.

SQLite connections (reliability.md §2): ``foreign_keys=ON``, ``synchronous=FULL`` and
``recursive_triggers=ON`` (so that REPLACE fires the append-only DELETE triggers) on every
connection, a busy timeout, the journal mode chosen by :func:`pumpmgr.db.gates.choose_journal_mode`,
and SQLAlchemy's pysqlite recipe: the driver's own transaction handling is switched off
(``isolation_level = None``) and pumpmgr emits ``BEGIN IMMEDIATE`` itself, so that DDL is
transactional and a writer takes the write lock before reading (no lock upgrade, so no
"database is locked" halfway through a save). :meth:`Database.read` uses a deferred ``BEGIN``.

PostgreSQL runs at READ COMMITTED; a write unit of work takes the audit chain's advisory lock
(:mod:`pumpmgr.db.audit`) at its start, so writers run one after the other as on SQLite, and
:meth:`Database.run_write` retries serialization failures and deadlocks.
"""

from __future__ import annotations

import logging
import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from platformdirs import user_data_dir
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    OperationalError,
)
from sqlalchemy.orm import Session, sessionmaker

from pumpmgr import workstation
from pumpmgr.db import gates
from pumpmgr.db.audit import PG_AUDIT_LOCK_KEY, ChainAnchor, ChainReport, verify_chain
from pumpmgr.db.backup import DEFAULT_KEEP, backup_before_migration, daily_backup
from pumpmgr.db.errors import (
    BackupError,
    DatabaseRefused,
)
from pumpmgr.db.migrate import SchemaState, head_revision, read_schema_state, upgrade_to_head
from pumpmgr.db.session_options import NO_WRITER_LOCK_OPTION, READ_ONLY_OPTION
from pumpmgr.db.translate import _is_retryable, translate_errors
from pumpmgr.errors import Code
from pumpmgr.files import create_private_file, private_folder

log = logging.getLogger(__name__)
#: Both engines are made with ``hide_parameters=True``: statement parameters hold patient data,
#: and they would otherwise appear in SQLAlchemy's statement log (when anyone switches it on)
#: and in the text of database errors (reliability harness 9).

ENV_VAR = "PUMPMGR_DB"
DEFAULT_FILENAME = "pumpmgr.db"
DEFAULT_BUSY_TIMEOUT_S = 15.0

T = TypeVar("T")


def default_database_path() -> Path:
    """``pumpmgr.db`` in the user's data folder (``platformdirs.user_data_dir("pumpmgr")``)."""
    return Path(user_data_dir("pumpmgr", appauthor=False)) / DEFAULT_FILENAME


def default_backup_dir(database_path: Path) -> Path:
    """Where automatic backups of a SQLite file go: ``backups/`` beside the file."""
    return database_path.parent / "backups"


def resolve_database_url(
    url_or_path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> URL:
    """The database URL from the ``--db`` value, else ``PUMPMGR_DB``, else the one this
    workstation was pointed at (:mod:`pumpmgr.workstation`), else the default file."""
    env = os.environ if environ is None else environ
    chosen: str | Path
    if url_or_path is not None and str(url_or_path).strip():
        chosen = url_or_path
    elif env.get(ENV_VAR, "").strip():
        chosen = env[ENV_VAR].strip()
    else:
        chosen = workstation.chosen_database() or default_database_path()
    if isinstance(chosen, str) and "://" in chosen:
        try:
            url = make_url(chosen)
        except ArgumentError as exc:
            raise DatabaseRefused(
                f"'{chosen}' is not a database URL pumpmgr can read ({exc})",
                code=Code.DB_UNSUPPORTED,
            ) from exc
        return _check_backend(url)
    path = Path(chosen).expanduser().absolute()
    return URL.create("sqlite", database=str(path))


def _require_psycopg() -> None:
    """Raise :class:`DatabaseRefused` when psycopg 3 (the ``postgres`` extra) cannot be
    imported: a single-workstation install leaves it out."""
    try:
        import psycopg  # noqa: F401  (imported again by SQLAlchemy's dialect)
    except ImportError as exc:
        raise DatabaseRefused(
            "this pumpmgr was installed without PostgreSQL support, so it cannot open a "
            "postgresql:// database. Install pumpmgr with its postgres extra "
            '(pip install "pumpmgr[postgres]"), or give a SQLite file instead '
            f"({type(exc).__name__}: {exc})",
            code=Code.DB_UNSUPPORTED,
        ) from exc


def _check_backend(url: URL) -> URL:
    backend = url.get_backend_name()
    if backend == "postgresql":
        if url.drivername not in {"postgresql", "postgresql+psycopg"}:
            raise DatabaseRefused(
                f"pumpmgr talks to PostgreSQL through psycopg 3; write the URL as "
                f"postgresql+psycopg://..., not {url.drivername}://...",
                code=Code.DB_UNSUPPORTED,
            )
        _require_psycopg()
        return url.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
            raise DatabaseRefused(
                "pumpmgr keeps its records in a file: give a file path or "
                "sqlite:////absolute/path.db, not an in-memory or URI database",
                code=Code.DB_UNSUPPORTED,
            )
        return URL.create("sqlite", database=str(Path(url.database).expanduser().absolute()))
    raise DatabaseRefused(
        f"pumpmgr works with SQLite files and PostgreSQL, not '{backend}'",
        code=Code.DB_UNSUPPORTED,
    )


# ---------------------------------------------------------------------------------------------
# The open database


@dataclass
class Database:
    """An open clinic database: one engine and its session factories for the program's life.

    ``sessions`` make write sessions (SQLite: ``BEGIN IMMEDIATE``); ``read_sessions`` make
    sessions that only read (SQLite: deferred ``BEGIN``). Both have ``expire_on_commit=False``.
    """

    engine: Engine
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]
    url: URL
    #: The SQLite file; None on PostgreSQL.
    path: Path | None
    #: The SQLite journal mode in force ("wal" or "delete"); None on PostgreSQL.
    journal_mode: str | None
    #: The schema revision found before any migration ran (None for a new database).
    revision_at_open: str | None
    #: The backup taken before migrating an existing file, if one was needed.
    pre_migration_backup: Path | None = None
    #: Where automatic backups of a SQLite file go; None on PostgreSQL.
    backup_dir: Path | None = None
    #: Held (shared) while the SQLite file is open; see :class:`pumpmgr.db.gates.InstanceLock`.
    instance_lock: gates.InstanceLock | None = None
    #: Why today's automatic backup could not be taken at start-up (None when it was, or was
    #: not due); the database is open all the same, so the records can still be read.
    startup_backup_problem: str | None = None

    @property
    def backend(self) -> str:
        return self.url.get_backend_name()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One unit of work that writes: commit at the end, roll back on error, errors
        translated by :func:`translate_errors`."""
        with translate_errors(), self.sessions.begin() as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """One unit of work that only reads. Closing the session at the end ends the
        transaction without expiring what was loaded, so the objects stay usable (detached)."""
        with translate_errors(), self.read_sessions() as session:
            yield session

    def run_write(
        self,
        work: Callable[[Session], T],
        *,
        attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> T:
        """Run ``work(session)`` in a write unit of work, retrying it from the start after a
        PostgreSQL serialization failure or deadlock (up to ``attempts`` times, with a short
        random pause)."""
        with translate_errors():
            for attempt in range(1, attempts + 1):
                try:
                    with self.sessions.begin() as session:
                        return work(session)
                except DBAPIError as exc:
                    if attempt == attempts or not _is_retryable(exc):
                        raise
                    log.info(
                        "retrying a write after %s (attempt %d)", type(exc.orig).__name__, attempt
                    )
                    sleep(random.uniform(0.05, 0.2) * attempt)
        raise ValueError(f"attempts must be at least 1, not {attempts}")

    def daily_backup(self, keep: int = DEFAULT_KEEP, today: date | None = None) -> Path | None:
        """Take today's backup of a SQLite file if there is none yet, keeping the ``keep``
        newest (see :func:`pumpmgr.db.backup.daily_backup`); None on PostgreSQL or when today's
        backup already exists."""
        if self.path is None or self.backup_dir is None:
            return None
        return daily_backup(self.engine, self.backup_dir, keep=keep, today=today)

    def verify_audit_chain(self, anchor: ChainAnchor | None = None) -> ChainReport:
        """Check the whole audit log (:func:`pumpmgr.db.audit.verify_chain`)."""
        with self.read() as session:
            return verify_chain(session, anchor)

    def dispose(self) -> None:
        self.engine.dispose()
        if self.instance_lock is not None:
            self.instance_lock.release()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.dispose()


def _configure_sqlite(engine: Engine, journal_mode: str, busy_timeout_s: float) -> None:
    busy_ms = int(busy_timeout_s * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Switch off the driver's transaction handling; pumpmgr emits BEGIN itself (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            cursor.execute("PRAGMA foreign_keys = ON")
            # REPLACE (INSERT OR REPLACE, REPLACE INTO) deletes the rows it conflicts with
            # without firing DELETE triggers unless recursive triggers are on: without this,
            # it would replace append-only rows, audit entries included, past their triggers.
            cursor.execute("PRAGMA recursive_triggers = ON")
            mode = str(cursor.execute(f"PRAGMA journal_mode = {journal_mode}").fetchone()[0])
            if mode.lower() != journal_mode:
                raise DatabaseRefused(
                    f"the database could not be switched to journal mode '{journal_mode}' (it "
                    f"stays '{mode}'); close other programs that have it open and start again",
                    code=Code.DB_JOURNAL_MODE,
                )
            cursor.execute("PRAGMA synchronous = FULL")
            if cursor.execute("PRAGMA foreign_keys").fetchone()[0] != 1:
                raise DatabaseRefused(
                    "this SQLite cannot enforce foreign keys; pumpmgr will not run without them",
                    code=Code.DB_UNSUPPORTED,
                )
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(READ_ONLY_OPTION):
            connection.exec_driver_sql("BEGIN")
        else:
            _begin_immediate(connection, busy_timeout_s)


#: How often a writer waiting for another one tries again (seconds).
_WRITE_LOCK_POLL_S = 0.001


def _begin_immediate(connection: Connection, busy_timeout_s: float) -> None:
    """``BEGIN IMMEDIATE``, trying again every few milliseconds while another writer holds the
    lock, for up to the busy timeout.

    SQLite's own busy handler backs off to one try every 100 ms, so a writer that commits and
    begins again within that window can keep another one waiting past the busy timeout
    (harness 2 saw "database is locked" after 15 s with two busy writers). Polling this often
    catches the gap between two of its transactions. The last try goes through SQLAlchemy, so
    a lock that outlasts the timeout fails as before (:class:`DatabaseBusy`).
    """
    driver = connection.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    deadline = time.monotonic() + busy_timeout_s
    driver.execute("PRAGMA busy_timeout = 2")
    try:
        while time.monotonic() < deadline:
            try:
                driver.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "database is locked" not in str(exc):
                    break  # not a lock: let the last try below report it
            time.sleep(_WRITE_LOCK_POLL_S)
        driver.execute("PRAGMA busy_timeout = 0")
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    finally:
        driver.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")


def _sqlite_engine(url: URL, journal_mode: str, busy_timeout_s: float) -> Engine:
    engine = create_engine(url, connect_args={"timeout": busy_timeout_s}, hide_parameters=True)
    _configure_sqlite(engine, journal_mode, busy_timeout_s)
    return engine


def _postgres_engine(url: URL, busy_timeout_s: float) -> Engine:
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = 10
    engine = create_engine(
        url,
        isolation_level="READ COMMITTED",
        pool_pre_ping=True,
        connect_args=connect_args,
        hide_parameters=True,
    )
    busy_ms = int(busy_timeout_s * 1000)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # PostgreSQL's BEGIN IMMEDIATE: a write unit of work takes the writers' lock (the
        # audit chain's advisory lock) before it reads anything, so the services' checks and
        # read-modify-writes (the next prescription revision, the last refill, the forecast)
        # see every write committed before theirs. Waiting longer than the busy timeout fails
        # with lock_not_available, reported as DatabaseBusy.
        options = connection.get_execution_options()
        if options.get(READ_ONLY_OPTION) or options.get(NO_WRITER_LOCK_OPTION):
            return
        connection.exec_driver_sql(f"SET LOCAL lock_timeout = {busy_ms}")
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_AUDIT_LOCK_KEY})")

    return engine


def _refuse_unreadable(path: Path, exc: BaseException) -> DatabaseRefused:
    message = str(getattr(exc, "orig", exc))
    if "not a database" in message:
        return DatabaseRefused(
            f"{path} is not a SQLite database, so it cannot be a pumpmgr database",
            code=Code.DB_NOT_PUMPMGR,
        )
    return DatabaseRefused(
        f"{path} cannot be read as a database ({message}); restore it from a backup",
        code=Code.DB_CORRUPT,
    )


def _check_state(state: SchemaState, where: str) -> None:
    if not state.empty and not state.looks_like_pumpmgr:
        shown = ", ".join(sorted(state.tables)[:5])
        raise DatabaseRefused(
            f"{where} holds other tables ({shown}) and is not a pumpmgr database; "
            "pumpmgr will not write into it",
            code=Code.DB_NOT_PUMPMGR,
        )
    if not state.empty and state.revision is None:
        raise DatabaseRefused(
            f"{where} has pumpmgr's tables but no schema revision, so pumpmgr cannot tell how "
            "to read it; restore it from a backup",
            code=Code.DB_NOT_PUMPMGR,
        )
    if not state.revision_known:
        raise DatabaseRefused(
            f"{where} was written by a newer version of pumpmgr (schema revision "
            f"'{state.revision}'; this program knows revisions up to '{head_revision()}'). "
            "Open it with the newer pumpmgr; this one will not change it.",
            code=Code.DB_SCHEMA_NEWER,
        )


def _read_state(engine: Engine, path: Path | None, where: str) -> SchemaState:
    try:
        with engine.connect().execution_options(**{READ_ONLY_OPTION: True}) as connection:
            state = read_schema_state(connection)
            connection.rollback()
            return state
    except (DBAPIError, sqlite3.DatabaseError) as exc:
        if path is not None:
            raise _refuse_unreadable(path, exc) from exc
        if isinstance(exc, OperationalError):
            raise DatabaseRefused(
                f"{where} cannot be reached ({str(exc.orig).strip().splitlines()[0]}); check "
                "that the database server is running and the address is right",
                code=Code.DB_UNREACHABLE,
            ) from exc
        raise


def _migrate(
    engine: Engine, state: SchemaState, path: Path | None, backup_dir: Path | None, where: str
) -> Path | None:
    """Bring the schema to the head revision; returns the backup taken first, if any."""
    if state.at_head:
        return None
    backup: Path | None = None
    if path is not None and not state.empty:
        assert backup_dir is not None
        backup = backup_before_migration(engine, backup_dir, state.revision)
    log.info("migrating %s from %s to %s", where, state.revision, head_revision())
    try:
        with engine.connect() as connection:
            upgrade_to_head(connection)
    except Exception as exc:
        kept = f"; the backup taken before it is {backup}" if backup is not None else ""
        raise DatabaseRefused(
            f"upgrading {where} from schema revision '{state.revision}' to '{head_revision()}' "
            f"failed ({type(exc).__name__}: {exc}). The failed revision was rolled back as a "
            f"whole, so the database keeps the schema of the last revision that completed{kept}.",
            code=Code.DB_MIGRATION_FAILED,
        ) from exc
    return backup


def _refuse_migrating_under_others(
    instance_lock: gates.InstanceLock, state: SchemaState, where: str
) -> None:
    """A schema change under another running pumpmgr would leave that program reading and
    writing tables it does not know: migrate only when this program is alone on the file."""
    if instance_lock.exclusive():
        return
    what = (
        "set up"
        if state.empty
        else f"upgraded from schema revision '{state.revision}' to '{head_revision()}'"
    )
    raise DatabaseRefused(
        f"{where} must be {what}, but another pumpmgr program on this computer has it open. "
        "Close every pumpmgr window that uses it, then start pumpmgr again: the upgrade runs "
        "when one program has the database to itself.",
        code=Code.DB_BUSY,
    )


def open_database(
    url_or_path: str | Path | None = None,
    *,
    backup_dir: Path | None = None,
    busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
    environ: Mapping[str, str] | None = None,
    mounts_reader: Callable[[], str] | None = None,
    sqlite_version: tuple[int, int, int] | None = None,
    daily_backup_keep: int | None = DEFAULT_KEEP,
) -> Database:
    """Open (creating or upgrading if needed) the clinic database and return it.

    Start-up gates, each a :class:`DatabaseRefused` with its own :class:`~pumpmgr.errors.Code`:
    a SQLite file on a network filesystem (``DB_NETWORK_FS``) or reached through a link
    (``DB_LINKED_PATH``), a missing folder (``DB_MISSING_FOLDER``), a file that is not a pumpmgr
    database (``DB_NOT_PUMPMGR``) or cannot be read (``DB_CORRUPT``), an orphaned or foreign
    journal beside it (``DB_CORRUPT``, :func:`pumpmgr.db.gates.refuse_stray_journal`), a file
    or folder this user cannot write (``DB_READ_ONLY``), a schema
    written by a newer pumpmgr (``DB_SCHEMA_NEWER``), and a file that needs migrating while
    another pumpmgr has it open, or is being migrated or restored by one (``DB_BUSY``).
    An existing SQLite file that needs migrating is backed up first (into ``backup_dir``,
    default ``backups/`` beside it), and then, unless ``daily_backup_keep`` is None, today's
    daily backup is taken if missing (the ``daily_backup_keep`` newest are kept); when that
    backup fails the database still opens, :attr:`Database.startup_backup_problem` saying why.
    """
    url = resolve_database_url(url_or_path, environ)
    path: Path | None = None
    journal_mode: str | None = None
    instance_lock: gates.InstanceLock | None = None
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        path = Path(url.database)
        gates.refuse_linked_path(path)
        if not path.parent.is_dir():
            if path == default_database_path():
                path.parent.mkdir(parents=True, exist_ok=True)
                private_folder(path.parent)
            else:
                raise DatabaseRefused(
                    f"the folder {path.parent} does not exist; create it or choose another "
                    "place for the database",
                    code=Code.DB_MISSING_FOLDER,
                )
        gates.refuse_network_filesystem(path, mounts_reader)
        gates.refuse_read_only(path)
        instance_lock = gates.InstanceLock(path)
        instance_lock.share(busy_timeout_s)
        try:
            gates.refuse_stray_journal(path)
            if not path.exists():  # owner-only from the start; SQLite gives its journals its mode
                create_private_file(path)
        except BaseException:
            instance_lock.release()
            raise
        version = sqlite_version or sqlite3.sqlite_version_info
        journal_mode = gates.choose_journal_mode(version)
        engine = _sqlite_engine(url, journal_mode, busy_timeout_s)
        where = str(path)
    else:
        engine = _postgres_engine(url, busy_timeout_s)
        where = f"the PostgreSQL database {url.render_as_string(hide_password=True)}"
    if path is not None and backup_dir is None:
        backup_dir = default_backup_dir(path)

    try:
        state = _read_state(engine, path, where)
        _check_state(state, where)
        if instance_lock is not None and not state.at_head:
            _refuse_migrating_under_others(instance_lock, state, where)
        pre_migration_backup = _migrate(engine, state, path, backup_dir, where)
        if instance_lock is not None:
            instance_lock.share(busy_timeout_s)
    except BaseException:
        engine.dispose()
        if instance_lock is not None:
            instance_lock.release()
        raise

    read_engine = engine.execution_options(**{READ_ONLY_OPTION: True})
    database = Database(
        engine=engine,
        sessions=sessionmaker(engine, expire_on_commit=False),
        read_sessions=sessionmaker(read_engine, expire_on_commit=False),
        url=url,
        path=path,
        journal_mode=journal_mode,
        revision_at_open=state.revision,
        pre_migration_backup=pre_migration_backup,
        backup_dir=backup_dir,
        instance_lock=instance_lock,
    )
    if daily_backup_keep is not None:
        try:
            database.daily_backup(keep=daily_backup_keep)
        except BackupError as exc:
            # A full or missing backup drive must not stop the clinic from reading its records
            # (the due list above all): say so, and go on.
            log.warning("today's automatic backup failed: %s", exc.message)
            database.startup_backup_problem = exc.message
        except BaseException:
            database.dispose()
            raise
    return database
