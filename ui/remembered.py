"""What each user left the window like: its size and place, and the due list's columns.

UI layer: imports PySide6 only. Kept with QSettings (an INI file in the user's configuration
folder), under the user's name: two nurses sharing a workstation each find their own. A value
that cannot be read (another version's, a damaged file) is ignored and the defaults stay.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow


def store() -> QSettings:
    """The settings file (tests point QSettings' user folder at a temporary one)."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "pumpmgr", "pumpmgr")


def _key(username: str, name: str) -> str:
    return f"users/{username.casefold()}/{name}"


def save(window: QMainWindow, username: str, columns: bytes) -> None:
    """Keep the window's geometry and the due list's column state for ``username``."""
    settings = store()
    settings.setValue(_key(username, "window"), window.saveGeometry())
    settings.setValue(_key(username, "due_list_columns"), QByteArray(columns))
    settings.sync()


def window_geometry(username: str) -> QByteArray | None:
    value = store().value(_key(username, "window"))
    return value if isinstance(value, QByteArray) and not value.isEmpty() else None


def due_list_columns(username: str) -> bytes | None:
    value = store().value(_key(username, "due_list_columns"))
    return bytes(value.data()) if isinstance(value, QByteArray) and not value.isEmpty() else None
