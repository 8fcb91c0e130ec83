"""Start-up self-checks for a SQLite file (persistence layer: stdlib and pumpmgr.errors only).

- :func:`choose_journal_mode`: WAL only on a SQLite with the WAL-reset fix, the rollback journal
  otherwise (SQLite "How To Corrupt" §8.1: 3.7.0 to 3.51.2 are affected; fixed in 3.51.3 and
  backported to 3.44.6 and 3.50.7).
- :func:`refuse_network_filesystem`: SQLite's locking is unreliable on network shares, and WAL
  needs shared memory on one host; several workstations must share PostgreSQL instead.
- :func:`refuse_linked_path`: a database reached through a symbolic or hard link can be paired
  with the wrong journal (How To Corrupt §2.6).

Network shares are recognised on Linux from ``/proc/mounts`` and on Windows from a UNC path or a
drive the system reports as remote. Other systems (macOS) are not checked.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

from pumpmgr.db.errors import DatabaseRefused
from pumpmgr.errors import Code

WAL = "wal"
ROLLBACK_JOURNAL = "delete"

#: Filesystem types (the third field of /proc/mounts) that are network or remote filesystems.
NETWORK_FILESYSTEMS: frozenset[str] = frozenset(
    {
        "nfs", "nfs4", "cifs", "smb", "smb2", "smb3", "smbfs", "9p", "afs", "ncpfs", "coda",
        "ceph", "glusterfs", "lustre", "gfs2", "ocfs2", "davfs", "sshfs", "fuse.sshfs",
        "fuse.glusterfs", "fuse.cephfs", "fuse.s3fs", "fuse.rclone", "fuse.davfs2", "fuse.smbnetfs",
        "fuse.gvfsd-fuse", "virtiofs", "vboxsf", "prl_fs", "vmhgfs", "fuse.vmhgfs-fuse",
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


def refuse_network_filesystem(
    path: Path, mounts_reader: Callable[[], str] | None = None
) -> None:
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
            "PostgreSQL database (--db postgresql+psycopg://...).",
            code=Code.DB_NETWORK_FS,
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
