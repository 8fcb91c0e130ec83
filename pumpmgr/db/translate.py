"""Errors raised inside a unit of work, turned into domain errors (persistence layer).

May import the standard library, SQLAlchemy and ``pumpmgr.db.errors``: a lost version check, a
constraint or trigger refusal, a lock held too long, and a failing disk, file or server each
become the :mod:`pumpmgr.db.errors` error that says what happened and what to do.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, StatementError
from sqlalchemy.orm.exc import StaleDataError

from pumpmgr.db.errors import ChangedMeanwhile, DatabaseBusy, RecordConflict, StorageFault
from pumpmgr.errors import Code, PumpMgrError

_CONSTRAINT_MESSAGES: dict[str, str] = {
    "ux_pumps_one_active_per_patient": "this patient already has an active pump; explant or "
    "deactivate it before recording another active pump",
    "uq_patients_mrn": "another patient already has this medical record number (MRN)",
    "uq_users_username": "that user name is already taken",
    "uq_pumps_model_key_serial_number": "a pump of this model with this serial number is "
    "already recorded",
    "ck_refills_two_different_nurses": "the verifying nurse must be a different person from "
    "the nurse who did the refill",
}
# SQLite names the columns of a failed UNIQUE constraint, not the index.
_SQLITE_UNIQUE_COLUMNS: dict[str, str] = {
    "pumps.patient_id": "ux_pumps_one_active_per_patient",
    "patients.mrn": "uq_patients_mrn",
    "users.username": "uq_users_username",
    "pumps.model_key, pumps.serial_number": "uq_pumps_model_key_serial_number",
}


def _constraint_name(exc: IntegrityError) -> str | None:
    diag = getattr(exc.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if isinstance(name, str):
        return name
    text = str(exc.orig)
    for columns, constraint in _SQLITE_UNIQUE_COLUMNS.items():
        if text == f"UNIQUE constraint failed: {columns}":
            return constraint
    if text.startswith("CHECK constraint failed: "):
        return text.removeprefix("CHECK constraint failed: ").strip()
    return None


def _conflict_message(exc: IntegrityError) -> str:
    text = str(exc.orig)
    if "append-only" in text:
        return (
            "clinical records and the audit log are never changed or deleted; "
            "record a correction instead"
        )
    name = _constraint_name(exc)
    if name in _CONSTRAINT_MESSAGES:
        return _CONSTRAINT_MESSAGES[name]
    if "FOREIGN KEY" in text or "foreign key" in text:
        return "the record refers to another record that does not exist"
    detail = name or text.splitlines()[0]
    return f"the database refused the change ({detail})"


def _is_retryable(exc: BaseException) -> bool:
    """A PostgreSQL serialization failure or deadlock: the server gave up on this attempt so
    that another could go on, and the same work run again succeeds. A lock held past the busy
    timeout is not: the writer has already waited that long, and a nurse waiting three times
    as long learns nothing more (:class:`DatabaseBusy` says so at once)."""
    if not isinstance(exc, DBAPIError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return sqlstate in ("40001", "40P01")


def _is_busy(exc: DBAPIError) -> bool:
    """SQLite busy past its timeout, or PostgreSQL's lock_timeout (lock_not_available)."""
    if not isinstance(exc, OperationalError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return sqlstate == "55P03" or "database is locked" in str(exc.orig)


def translate_error(exc: Exception) -> Exception:
    """The domain error for an error SQLAlchemy raised inside a unit of work, or ``exc`` itself.

    - a lost optimistic version check (``StaleDataError``) → :class:`ChangedMeanwhile`;
    - a domain error raised while binding a value (a naive datetime) → that error itself;
    - a constraint or trigger refusal → :class:`RecordConflict`;
    - a lock held too long by another writer → :class:`DatabaseBusy`;
    - a full disk, a database file moved or deleted while open, a read-only file or folder, a
      disk I/O error or a lost connection to the server → :class:`StorageFault` with its own
      code (``DB_DISK_FULL``, ``DB_MOVED``, ``DB_READ_ONLY``, ``DB_IO_ERROR``,
      ``DB_UNREACHABLE``), saying what to do.
    """
    if isinstance(exc, StaleDataError):
        return ChangedMeanwhile(
            "this record was changed by someone else (another workstation or window) after you "
            "opened it, so your change was not saved. Reload the record to see the other "
            "change, then make yours again.",
            code=Code.DB_CHANGED_MEANWHILE,
        )
    if isinstance(exc, StatementError):
        if isinstance(exc.orig, PumpMgrError):
            return exc.orig
        if isinstance(exc, IntegrityError):
            return RecordConflict(_conflict_message(exc), code=Code.DB_CONFLICT)
        if isinstance(exc, DBAPIError) and _is_busy(exc):
            return DatabaseBusy(
                "the database stayed locked by another workstation or program for too long; "
                "nothing was saved. Try again in a moment.",
                code=Code.DB_BUSY,
            )
        if isinstance(exc, DBAPIError):
            fault = _storage_fault(exc)
            if fault is not None:
                return StorageFault(fault[1], code=fault[0])
    return exc


#: SQLite's extended result code for a write to a database file that was moved or unlinked.
SQLITE_READONLY_DBMOVED = 1032


def _storage_fault(exc: DBAPIError) -> tuple[Code, str] | None:
    """The code of a failing disk (``DB_DISK_FULL``, ``DB_IO_ERROR``), file system
    (``DB_READ_ONLY``) or server connection (``DB_UNREACHABLE``), and what to tell the user."""
    text = str(exc.orig).lower()
    sqlstate = getattr(exc.orig, "sqlstate", None) or ""
    if getattr(exc.orig, "sqlite_errorcode", None) == SQLITE_READONLY_DBMOVED:
        return Code.DB_MOVED, (
            "the database file was moved, renamed or deleted while pumpmgr had it open, so "
            "this change was not saved. Close pumpmgr, put the file back where it was (or open "
            "it where it is now), then make the change again."
        )
    if "database or disk is full" in text or sqlstate == "53100" or "no space left" in text:
        return Code.DB_DISK_FULL, (
            "the disk that holds the database is full, so this change was not saved "
            "(everything saved before is kept). Free space on that disk, or ask whoever "
            "looks after the clinic's computers, then save again."
        )
    if "readonly database" in text or "read-only" in text or sqlstate == "25006":
        return Code.DB_READ_ONLY, (
            "the database cannot be written: the file or its folder is read-only for this "
            "user (or the disk was switched to read-only), so this change was not saved. "
            "Ask whoever looks after the clinic's computers to make it writable again, "
            "then save again."
        )
    if "disk i/o error" in text or sqlstate.startswith("58"):
        return Code.DB_IO_ERROR, (
            "the disk reported an error while the database was being written, so this "
            "change was not saved. Check the disk (and that it is still connected), then "
            "save again; if it happens again, stop and restore from a backup."
        )
    if exc.connection_invalidated or sqlstate.startswith(("08", "57P")):
        return Code.DB_UNREACHABLE, (
            "the connection to the database server was lost while saving. The change may "
            "not have been saved: reload to see whether it is there, and if not, make it "
            "again once the network or the server is back. Everything saved before is "
            "kept."
        )
    return None


@contextmanager
def translate_errors() -> Iterator[None]:
    """Re-raise SQLAlchemy errors from the block as domain errors (:func:`translate_error`)."""
    try:
        yield
    except (StaleDataError, StatementError) as exc:
        translated = translate_error(exc)
        if translated is exc:
            raise
        raise translated from exc
