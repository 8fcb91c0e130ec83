"""Locks the window after the clinic's idle time: any key, click or wheel restarts the count.

UI layer: imports PySide6 only. Installed as an event filter on the application, so input to
any window (dialogs too) counts as use.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer, Signal

_INPUT = {
    QEvent.Type.KeyPress,
    QEvent.Type.MouseButtonPress,
    QEvent.Type.MouseButtonDblClick,
    QEvent.Type.MouseMove,
    QEvent.Type.Wheel,
    QEvent.Type.TouchBegin,
}


class IdleWatcher(QObject):
    """Emits :attr:`idle` once after ``timeout_ms`` without user input (0: never)."""

    idle = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.idle)
        self._active = False

    def set_minutes(self, minutes: int) -> None:
        self.set_timeout_ms(max(0, minutes) * 60_000)

    def set_timeout_ms(self, milliseconds: int) -> None:
        self._timer.setInterval(milliseconds)
        self._restart()

    def timeout_ms(self) -> int:
        return self._timer.interval()

    def start(self) -> None:
        self._active = True
        self._restart()

    def stop(self) -> None:
        self._active = False
        self._timer.stop()

    def is_running(self) -> bool:
        return self._timer.isActive()

    def _restart(self) -> None:
        if self._active and self._timer.interval() > 0:
            self._timer.start()
        else:
            self._timer.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self._active and event.type() in _INPUT:
            self._restart()
        return False
