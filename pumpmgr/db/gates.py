"""Start-up self-checks for a SQLite file (persistence layer: stdlib and pumpmgr.errors only).

- :func:`choose_journal_mode`: WAL only on a SQLite with the WAL-reset fix, the rollback journal
  otherwise (SQLite "How To Corrupt" §8.1: 3.7.0 to 3.51.2 are affected; fixed in 3.51.3 and
  backported to 3.44.6 and 3.50.7).
- :func:`refuse_network_filesystem`: SQLite's locking is unreliable on network shares, and WAL
  needs shared memory on one host; several workstations must share PostgreSQL instead.
- :func:`refuse_linked_path`: a database reached through a symbolic or hard link can be paired
  with the wrong journal (How To Corrupt §2.6).
- :func:`refuse_stray_journal`: a rollback journal or write-ahead log that is not the
  database's own (orphaned or foreign; How To Corrupt §1.3-1.4). A hot journal left by a crash
  of this database is its own: SQLite rolls it back on first access, and it is never deleted.
- :class:`InstanceLock`: several pumpmgr programs may share one local file (SQLite's locking,
  ``BEGIN IMMEDIATE`` and the version columns keep that safe), but the schema is only migrated,
  and a backup only restored over the file, while no other pumpmgr has it open.

Network shares are recognised on Linux from ``/proc/mounts`` and on Windows from a UNC path or a
drive the system reports as remote. Other systems (macOS) are not checked.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import portalocker

from pumpmgr.db.errors import DatabaseRefused
from pumpmgr.errors import Code

WAL = "wal"
ROLLBACK_JOURNAL = "delete"

#: Filesystem types (the third field of /proc/mounts) that are network or remote filesystems.
NETWORK_FILESYSTEMS: frozenset[str] = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb",
        "smb2",
        "smb3",
        "smbfs",
        "9p",
        "afs",
        "ncpfs",
        "coda",
        "ceph",
        "glusterfs",
        "lustre",
        "gfs2",
        "ocfs2",
        "davfs",
        "sshfs",
        "fuse.sshfs",
        "fuse.glusterfs",
        "fuse.cephfs",
        "fuse.s3fs",
        "fuse.rclone",
        "fuse.davfs2",
        "fuse.smbnetfs",
        "fuse.gvfsd-fuse",
        "virtiofs",
        "vboxsf",
        "prl_fs",
        "vmhgfs",
        "fuse.vmhgfs-fuse",
    }
)


def wal_is_safe(version: tuple[int, int, int]) -> bool:
    """Whether this SQLite version has the WAL-reset fix (3.51.3+, or 3.44.6+ / 3.50.7+)."""
    if version >= (3, 51, 3):
        return True
    if version[:2] == (3, 50):
        return version >= (3, 50, 7)
    if version[:2] == (3, 44):
        return version >= (3, 44, 6)
    return False


def choose_journal_mode(version: tuple[int, int, int]) -> str:
    """``"wal"`` on a SQLite with the WAL-reset fix, ``"delete"`` (rollback journal) otherwise."""
    return WAL if wal_is_safe(version) else ROLLBACK_JOURNAL


def read_proc_mounts() -> str:
    """The text of ``/proc/mounts``, or "" where there is none."""
    try:
        return Path("/proc/mounts").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _unescape_mount_field(field: str) -> str:
    # /proc/mounts writes space, tab, newline and backslash as octal escapes (\040 ...).
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def filesystem_type(path: Path, mounts_text: str) -> str | None:
    """The type of the filesystem ``path`` lives on, from /proc/mounts text (longest mount
    point that contains the path), or None when the text names none."""
    target = os.path.normpath(os.path.abspath(path))
    best: tuple[int, str] | None = None
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        mount_point = os.path.normpath(_unescape_mount_field(fields[1]))
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and (best is None or len(mount_point) >= best[0]):
            best = (len(mount_point), fields[2])
    return None if best is None else best[1]


def is_network_filesystem(fs_type: str) -> bool:
    fs_type = fs_type.lower()
    return fs_type in NETWORK_FILESYSTEMS or fs_type.startswith(("nfs", "smb", "cifs"))


def _windows_remote(path: Path) -> bool:
    text = str(path)
    if text.startswith(("\\\\", "//")):
        return True  # a UNC path: \\server\share\...
    if sys.platform == "win32":
        import ctypes

        drive = os.path.splitdrive(os.path.abspath(path))[0]
        if drive:
            drive_remote = 4  # DRIVE_REMOTE
            return bool(ctypes.windll.kernel32.GetDriveTypeW(drive + "\\") == drive_remote)
    return False


def refuse_network_filesystem(path: Path, mounts_reader: Callable[[], str] | None = None) -> None:
    """Raise :class:`DatabaseRefused` when ``path`` (or its folder, for a new file) is on a
    network filesystem. ``mounts_reader`` defaults to :func:`read_proc_mounts`."""
    where = path if path.exists() else path.parent
    where = where.resolve()
    read = mounts_reader if mounts_reader is not None else read_proc_mounts
    fs_type = filesystem_type(where, read())
    if (fs_type is not None and is_network_filesystem(fs_type)) or _windows_remote(path):
        shown = fs_type or "a network share"
        raise DatabaseRefused(
            f"the database {path} is on a network filesystem ({shown}). SQLite's file locking "
            "is not reliable there and two workstations could corrupt the records. Keep the "
            "file on a local disk of this computer, or let the clinic's workstations share a "
            "PostgreSQL database (a postgresql+psycopg:// address).",
            code=Code.DB_NETWORK_FS,
            field="database",
        )


def refuse_read_only(path: Path) -> None:
    """Raise :class:`DatabaseRefused` when ``path`` or its folder cannot be written: pumpmgr
    saves records into the file, and SQLite writes its journal beside it."""
    folder = path.parent
    if path.exists() and not os.access(path, os.W_OK):
        what = f"the database {path} is read-only"
    elif not os.access(folder, os.W_OK):
        what = f"the folder {folder} is read-only"
    else:
        return
    raise DatabaseRefused(
        f"{what} for this user (or on a read-only disk), and pumpmgr must write there to save "
        "records and the journal that protects them. Ask whoever looks after the clinic's "
        "computers to make it writable, or open a copy in a folder you can write.",
        code=Code.DB_READ_ONLY,
    )


def refuse_linked_path(path: Path) -> None:
    """Raise :class:`DatabaseRefused` when ``path`` is a symbolic link or has other hard links."""
    if path.is_symlink():
        raise DatabaseRefused(
            f"the database {path} is a symbolic link to {os.readlink(path)}. Open the real "
            "file instead: through a link SQLite can pair the database with the wrong journal.",
            code=Code.DB_LINKED_PATH,
        )
    if path.exists() and path.stat().st_nlink > 1:
        raise DatabaseRefused(
            f"the database {path} has {path.stat().st_nlink} hard links. Keep one name for the "
            "file: through a second name SQLite can pair it with the wrong journal.",
            code=Code.DB_LINKED_PATH,
        )


# ---------------------------------------------------------------------------------------------
# Journals that are not the database's own

JOURNAL_MAGIC = bytes.fromhex("d9d505f920a163d7")
WAL_MAGICS = (0x377F0682, 0x377F0683)
_HEADER = 100  #: the SQLite database header: the first 100 bytes of page 1


def _page_size(field: bytes) -> int:
    value = int.from_bytes(field, "big")
    return 65536 if value == 1 else value


def _read_head(path: Path, size: int) -> bytes | None:
    """The first ``size`` bytes of ``path`` (None when it is missing or shorter).

    Only called before pumpmgr opens a connection to the database: reading the file directly
    while this process holds a connection to it would drop that connection's POSIX locks (How
    To Corrupt §2.2)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(size)
    except FileNotFoundError:
        return None
    return data if len(data) == size else None


def _journal_page_one(journal: Path) -> tuple[int, int, bytes | None] | None:
    """A rollback journal's initial database size (pages), page size and saved page 1 header
    (None when page 1 is not in it); None when the file is not a rollback journal."""
    try:
        with journal.open("rb") as handle:
            header = handle.read(28)
            if len(header) < 28 or header[:8] != JOURNAL_MAGIC:
                return None
            records = int.from_bytes(header[8:12], "big")
            initial_pages = int.from_bytes(header[16:20], "big")
            sector = int.from_bytes(header[20:24], "big")
            page_size = int.from_bytes(header[24:28], "big")
            if not 512 <= sector <= 65536 or not 512 <= page_size <= 65536:
                return None
            if records == 0xFFFFFFFF:
                records = 1 << 31  # no-sync journal: read records up to the end of the file
            handle.seek(sector)
            for _ in range(records):
                number = handle.read(4)
                if len(number) < 4:
                    break
                page = handle.read(page_size + 4)
                if len(page) < page_size + 4:
                    break
                if int.from_bytes(number, "big") == 1:
                    return initial_pages, page_size, page[:_HEADER]
            return initial_pages, page_size, None
    except FileNotFoundError:
        return None


def _foreign_journal_detail(path: Path, journal: Path) -> str | None:
    """Why ``journal`` cannot be ``path``'s own rollback journal, or None when it can be."""
    saved = _journal_page_one(journal)
    if saved is None:
        return None  # not a journal SQLite would play back
    initial_pages, page_size, page_one = saved
    header = _read_head(path, _HEADER)
    if header is None or header[:16] != b"SQLite format 3\x00":
        return (
            None
            if initial_pages == 0
            else (f"it would restore {initial_pages} pages into a database that has none")
        )
    if page_size != _page_size(header[16:18]):
        return f"its pages are {page_size} bytes, the database's {_page_size(header[16:18])} bytes"
    pages = path.stat().st_size // page_size
    if pages < initial_pages:  # pumpmgr never shrinks a file in place (no VACUUM, no autovacuum)
        return f"it was written when its database had {initial_pages} pages; this one has {pages}"
    if page_one is None:
        return None
    saved_counter = int.from_bytes(page_one[24:28], "big")
    counter = int.from_bytes(header[24:28], "big")
    if counter not in (saved_counter, (saved_counter + 1) & 0xFFFFFFFF):
        return (
            f"it was written when the database's change counter was {saved_counter}; the "
            f"database's is {counter}, so the journal comes from another file or time"
        )
    return None


def _foreign_wal_detail(path: Path, wal: Path) -> str | None:
    header = _read_head(wal, 32)
    if header is None or int.from_bytes(header[:4], "big") not in WAL_MAGICS:
        return None
    database = _read_head(path, _HEADER)
    if database is None:
        return None
    wal_page = int.from_bytes(header[8:12], "big")
    if wal_page != _page_size(database[16:18]):
        return f"its pages are {wal_page} bytes, the database's {_page_size(database[16:18])}"
    return None


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def refuse_stray_journal(path: Path, attempts: int = 3) -> None:
    """Raise :class:`DatabaseRefused` when a ``-journal`` or ``-wal`` beside ``path`` is not its
    own; leave every journal where it is.

    - A journal left by a crash of this database is *hot*: SQLite rolls it back the first time
      the database is read (Atomic Commit §4), which is how an interrupted save is undone.
      Accepted, never deleted (How To Corrupt §1.3).
    - An *orphaned* journal (no database beside it, or an empty one that the journal says had
      pages) means the database was moved, renamed, emptied or deleted during a save. Creating
      a new database there would throw away the journal its real database needs: refused.
    - A *foreign* journal (§1.4): SQLite cannot tell whose journal it is and would write another
      file's pages into this one. pumpmgr refuses a rollback journal whose page size differs
      from the database's, that started from a larger file than this one (pumpmgr never
      shrinks a file in place), or whose saved copy of page 1 carries a change counter the
      database cannot have had at the start of its last transaction (the database's counter
      must equal it, or be one more when the commit reached the file); and a write-ahead log
      whose page size differs. A foreign journal that passes these checks (same page size and
      change counter, from a file no larger) is not detected; SQLite cannot detect any.
    """
    for suffix in ("-journal", "-wal"):
        side = path.with_name(path.name + suffix)
        for attempt in range(attempts):
            before = _stamp(side)
            if before is None or before[1] == 0:
                break
            if not path.exists():
                raise DatabaseRefused(
                    f"{side.name} lies in {path.parent} but the database {path.name} it belongs "
                    "to is not there. A journal holds what is needed to finish or undo an "
                    "interrupted save of its own database, so the database was moved, renamed "
                    "or deleted in the middle of a save. Put the database back beside this "
                    "journal (or restore it from a backup). Do not delete the journal; pumpmgr "
                    "will not create a new database here.",
                    code=Code.DB_CORRUPT,
                )
            detail = (
                _foreign_journal_detail(path, side)
                if suffix == "-journal"
                else _foreign_wal_detail(path, side)
            )
            if detail is None:
                break
            if _stamp(side) == before and attempt == attempts - 1:
                raise DatabaseRefused(
                    f"{side.name} beside the database {path} is not that database's journal "
                    f"({detail}). SQLite would use it to undo an interrupted save and write "
                    "another database's pages into this one. If the database was copied or "
                    "renamed, the journal belongs with the original file: put them back "
                    "together, or restore this database from a backup. Do not delete the "
                    "journal unless you are sure whose it is.",
                    code=Code.DB_CORRUPT,
                )
            time.sleep(0.05)  # a live writer may have just replaced it: look again


# ---------------------------------------------------------------------------------------------
# Other pumpmgr programs on the same file


class InstanceLock:
    """Tells pumpmgr programs on one computer that share a SQLite file about each other.

    Every program holds a shared lock on ``<database>.pumpmgr-lock`` while the database is
    open; migrating the schema or restoring a backup over the file needs it exclusively. The
    lock is portalocker's: ``flock`` on Linux and macOS, ``LockFileEx`` on Windows (through
    pywin32, which shared locks need there). The system releases it when a program ends,
    however it ends, so a crashed program never leaves a stale lock. (The lock file itself is
    never opened by SQLite and stays in place.)

    Neither ``flock`` nor ``LockFileEx`` changes a held lock from shared to exclusive in one
    step (``LockFileEx`` would conflict with the program's own shared lock), so a change of
    mode releases the held lock first, on every system alike; a change that fails leaves
    none held.
    """

    SUFFIX = ".pumpmgr-lock"

    def __init__(self, database: Path) -> None:
        self.database = database
        self.path = database.with_name(database.name + self.SUFFIX)
        self._handle: IO[bytes] | None = None
        self._exclusive: bool | None = None  #: the mode held; None: no lock held

    def _flock(self, exclusive: bool) -> bool:
        if self._handle is None:
            try:
                self._handle = self.path.open("a+b")
            except OSError:  # a folder pumpmgr cannot write: nothing can be migrated there
                return True
        if self._exclusive is exclusive:
            return True
        if self._exclusive is not None:
            portalocker.unlock(self._handle)
            self._exclusive = None
        wanted = portalocker.LockFlags.EXCLUSIVE if exclusive else portalocker.LockFlags.SHARED
        try:
            portalocker.lock(self._handle, wanted | portalocker.LockFlags.NON_BLOCKING)
        except portalocker.exceptions.LockException:  # held by another program
            return False
        self._exclusive = exclusive
        return True

    def share(self, wait_s: float) -> None:
        """Hold the lock shared, waiting up to ``wait_s`` for a migration or restore by
        another program to end; :class:`DatabaseRefused` if it does not."""
        deadline = time.monotonic() + wait_s
        while not self._flock(exclusive=False):
            if time.monotonic() >= deadline:
                self.release()
                raise DatabaseRefused(
                    f"another pumpmgr program is upgrading or restoring the database "
                    f"{self.database}; wait until it has finished, then start pumpmgr again.",
                    code=Code.DB_BUSY,
                )
            time.sleep(0.05)

    def exclusive(self) -> bool:
        """Try to hold the lock alone (no other pumpmgr has the database open)."""
        return self._flock(exclusive=True)

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing the file releases the lock
            self._handle = None
            self._exclusive = None
