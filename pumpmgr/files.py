"""Files pumpmgr writes that hold patient records: owner-only on POSIX (pure layer: standard
library only).

The database, its backups and their manifests, exports and printed sheets are made readable
and writable by their owner alone (files 0600, folders 0700), so that other accounts on a
shared computer cannot read them. On Windows the mode bits do nothing; a file there takes the
access list of its folder (the user's own profile by default; docs/reliability.md).
"""

from __future__ import annotations

import os
from pathlib import Path

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def private_file(path: Path) -> None:
    """Make ``path`` readable and writable by its owner only (POSIX; nothing elsewhere)."""
    if os.name == "posix":
        os.chmod(path, FILE_MODE)


def private_folder(path: Path) -> None:
    """Make a folder pumpmgr created for its own files owner-only (POSIX; nothing elsewhere).
    A folder this user does not own (a shared drive's) is left as it is."""
    if os.name == "posix" and path.stat().st_uid == os.getuid():
        os.chmod(path, FOLDER_MODE)


def create_private_file(path: Path) -> None:
    """Create ``path`` empty and owner-only if it is not there (so that SQLite, which gives a
    new database the process's default mode and its journals the database's, writes into an
    owner-only file from the start); make an existing one owner-only."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    os.close(descriptor)
    private_file(path)


def write_private_bytes(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Write ``data`` to ``path`` as an owner-only file (a sheet or calendar naming patients);
    ``exclusive``: refuse (FileExistsError) a file that is there already, else replace it."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    descriptor = os.open(path, flags, FILE_MODE)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    private_file(path)  # a file that was there keeps its old mode through O_TRUNC
