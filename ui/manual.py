"""Help → Manual and Help → Quick reference: the nurse's guide (HTML) and the one-page quick
reference (PDF), opened with the desktop's own viewer.

UI layer: imports PySide6 and :mod:`ui.messages`. The files are ``docs/manual/`` of a source
checkout, or of the release bundle's folder (tools/bundle.py copies them beside the programs);
a pip install carries no manual, and the message then says where it is.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QWidget

from ui import messages

GUIDE = "guide.html"
QUICK_REFERENCE = "quick-reference.pdf"
#: Where the manual is when this pumpmgr has none.
ONLINE = "docs/manual in pumpmgr's source, or the release bundle's docs/manual folder"


def manual_folders() -> list[Path]:
    """Where the manual may be, in order: the bundle's folder (the programs' folder of a
    PyInstaller build), then the source checkout that holds this ``ui`` package."""
    folders = []
    if getattr(sys, "frozen", False):
        folders.append(Path(sys.executable).resolve().parent / "docs" / "manual")
    folders.append(Path(__file__).resolve().parent.parent / "docs" / "manual")
    return folders


def manual_file(name: str) -> Path | None:
    """The manual's file ``name``, or None when this pumpmgr has no manual."""
    return next((f / name for f in manual_folders() if (f / name).is_file()), None)


def open_manual(parent: QWidget | None, name: str) -> bool:
    """Open ``name`` in the desktop's viewer; say where it is when it cannot be opened."""
    path = manual_file(name)
    if path is None:
        messages.info(
            parent, "Manual", f"This pumpmgr was installed without its manual. It is in {ONLINE}."
        )
        return False
    if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
        messages.info(
            parent,
            "Manual",
            f"No program on this computer opened the manual. It is the file {path}.",
        )
        return False
    return True
