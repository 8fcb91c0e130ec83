"""The room a top-level window may take on the screen.

UI layer: imports PySide6 only.
"""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtGui import QGuiApplication


def within_screen(wanted: QSize, spare: tuple[int, int] = (40, 60)) -> QSize:
    """``wanted``, made no larger than the primary screen's free area less ``spare`` pixels
    (width, height), so that a window opens whole on a small screen."""
    screen = QGuiApplication.primaryScreen()
    if screen is not None:  # none while no screen is attached
        room = screen.availableGeometry().size()
        wanted = wanted.boundedTo(QSize(room.width() - spare[0], room.height() - spare[1]))
    return wanted
