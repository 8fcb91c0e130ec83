"""The only module that names icon files (under ``resources/icons``) and the stylesheet.

UI layer: imports PySide6 and :mod:`pumpmgr.resources_locator` (which knows where the shipped
``resources`` folder is, in a checkout and in an installed wheel). Icons are SVG, so they stay
sharp at any screen scale.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QIcon

from pumpmgr.resources_locator import resources_dir

APP = "pumpmgr"
LOCK = "lock"
CALENDAR = "calendar"
BACK = "back"
REFRESH = "refresh"
DUE_LIST = "home"


def icon_path(name: str) -> Path:
    """The SVG file of icon ``name``."""
    return resources_dir() / "icons" / f"{name}.svg"


def icon(name: str) -> QIcon:
    """Icon ``name``; an empty icon if the file is missing (a label always goes with it)."""
    path = icon_path(name)
    return QIcon(str(path)) if path.is_file() else QIcon()


def app_icon() -> QIcon:
    return icon(APP)


def stylesheet() -> str:
    """The program's quiet stylesheet (``resources/styles/pumpmgr.qss``), or '' if missing."""
    path = resources_dir() / "styles" / "pumpmgr.qss"
    return path.read_text(encoding="utf-8") if path.is_file() else ""
