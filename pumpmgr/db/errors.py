"""Errors the persistence layer raises on purpose (persistence layer: stdlib and pumpmgr.errors).

Each carries a :class:`pumpmgr.errors.Code` and a message fit to show a nurse or an administrator.
"""

from __future__ import annotations

from pumpmgr.errors import PumpMgrError


class DatabaseRefused(PumpMgrError):
    """A start-up gate refused the database (network share, link, newer schema, not ours...)."""


class ChangedMeanwhile(PumpMgrError):
    """Someone else saved the same record after it was loaded (optimistic version check)."""


class RecordConflict(PumpMgrError):
    """The database refused the change because it breaks a rule of the schema (a constraint)."""


class DatabaseBusy(PumpMgrError):
    """Another workstation or program kept the database locked longer than the wait allowed."""


class AuditError(PumpMgrError):
    """An audit entry could not be written as asked (for example a payload that is not JSON)."""


class BackupError(PumpMgrError):
    """A backup could not be taken, or a file offered for restore was refused."""


class StorageFault(PumpMgrError):
    """The disk, the file system or the connection to the server failed a read or a write:
    a full disk, a read-only file or folder, an I/O error, a dropped server connection."""
