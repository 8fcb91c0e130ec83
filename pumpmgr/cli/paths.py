"""Paths typed on the command line, checked before anything is opened or written (presentation
layer: standard library and ``pumpmgr.errors`` only).

A name longer than the file system allows, a parent that is a file, a missing folder or a file
that exists already is refused with one line naming the option and the path, as bad input
(exit 2), never as an internal error from deep inside a write.
"""

from __future__ import annotations

import os
from pathlib import Path

from pumpmgr.errors import Code, InputError

#: Where ``os.pathconf`` cannot say: the common limits of Linux, macOS and Windows (NTFS).
NAME_MAX = 255
PATH_MAX = 4096


def _refuse(option: str, message: str, code: Code = Code.OUT_OF_RANGE) -> InputError:
    return InputError(f"{option}: {message}", code=code, field=option)


def _limits(path: Path) -> tuple[int, int]:
    folder = path.parent
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    try:
        return (os.pathconf(folder, "PC_NAME_MAX"), os.pathconf(folder, "PC_PATH_MAX"))
    except (AttributeError, OSError, ValueError):  # no pathconf (Windows)
        return NAME_MAX, PATH_MAX


def path_problem(path: Path, *, makes_folder: bool = False) -> str | None:
    """Why no file can be at ``path`` (a name or the whole path too long, a parent that is a
    file, a missing folder), or None. ``makes_folder``: the command creates the file's folder
    itself when the folder above it exists (a backup does)."""
    path = path.absolute()
    name_max, path_max = _limits(path)
    if len(os.fsencode(path)) >= path_max:
        return f"the path {str(path)[:60]}... is longer than this system allows ({path_max} bytes)"
    for part in path.parts:
        if len(os.fsencode(part)) > name_max:
            return f"the name {part[:40]}... is longer than this system allows ({name_max} bytes)"
    for parent in reversed(path.parents):
        if parent.exists() and not parent.is_dir():
            return f"{parent} is a file, not a folder"
    folder = path.parent.parent if makes_folder else path.parent
    if not folder.is_dir():
        return f"the folder {folder} does not exist"
    return None


def new_file(option: str, text: str, *, makes_folder: bool = False) -> Path:
    """The path of a file to be created for ``option``; refused when one is there or none can
    be made there (``makes_folder``: see :func:`path_problem`)."""
    path = Path(text).expanduser()
    problem = path_problem(path, makes_folder=makes_folder)
    if problem is not None:
        raise _refuse(option, problem, Code.NO_VALUE)
    if path.exists() or path.is_symlink():
        raise _refuse(option, f"{path} already exists; choose a new file name")
    return path
