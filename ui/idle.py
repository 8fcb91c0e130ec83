"""Locks the window after the clinic's idle time: any key, click or wheel restarts the count.

UI layer: imports PySide6 and :mod:`pumpmgr.clock`. Installed as an event filter on the
application, so input to any window (dialogs too) counts as use.

The idle time is measured on the injected :class:`~pumpmgr.clock.Clock` (the clinic's, the one
the services use), not by a Qt timer's own count: a timer only looks at the clock now and then
(:attr:`IdleWatcher.poll_ms`). So a test moves a :class:`~pumpmgr.clock.FixedClock` on and sees
the lock without waiting, and a workstation that slept past the idle time locks as soon as it
wakes (a Qt timer would not count the time asleep). A clock that goes back restarts the count.

In the last minute the watcher says how long is left at each look (:attr:`IdleWatcher.warning`),
and :class:`IdleNotice` shows it, so that a nurse reading a chart is not locked out unawares.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel, QWidget

from pumpmgr.clock import Clock, SystemClock
from ui.presentation import count_text

_INPUT = {
    QEvent.Type.KeyPress,
    QEvent.Type.MouseButtonPress,
    QEvent.Type.MouseButtonDblClick,
    QEvent.Type.MouseMove,
    QEvent.Type.Wheel,
    QEvent.Type.TouchBegin,
}

#: How often the clock is looked at, in milliseconds.
POLL_MS = 1000
#: The warning comes this long before the lock (for idle times longer than this).
WARN_BEFORE = timedelta(minutes=1)


class IdleWatcher(QObject):
    """Emits :attr:`idle` once when ``timeout`` passed on ``clock`` without user input
    (0: never); :meth:`start` again after it fired."""

    idle = Signal()
    #: Seconds left before the lock, at each look at the clock in the last minute.
    warning = Signal(int)
    #: Use (or a stop) ended the warning.
    warning_over = Signal()

    def __init__(
        self, parent: QObject | None = None, *, clock: Clock | None = None, poll_ms: int = POLL_MS
    ) -> None:
        super().__init__(parent)
        self.clock: Clock = clock or SystemClock()
        self._timeout = timedelta(0)
        self._last_input: datetime = self.clock.now()
        self._active = False
        self._warned = False
        self._poll = QTimer(self)
        self._poll.setInterval(poll_ms)
        self._poll.timeout.connect(self.check)

    @property
    def poll_ms(self) -> int:
        return self._poll.interval()

    def set_poll_ms(self, milliseconds: int) -> None:
        self._poll.setInterval(max(1, milliseconds))

    def set_minutes(self, minutes: int) -> None:
        self.set_timeout_ms(max(0, minutes) * 60_000)

    def set_timeout_ms(self, milliseconds: int) -> None:
        self._timeout = timedelta(milliseconds=max(0, milliseconds))
        self._restart()

    def timeout_ms(self) -> int:
        return int(self._timeout / timedelta(milliseconds=1))

    def start(self) -> None:
        self._active = True
        self._restart()

    def stop(self) -> None:
        self._active = False
        self._poll.stop()
        self._end_warning()

    def _end_warning(self) -> None:
        if self._warned:
            self._warned = False
            self.warning_over.emit()

    def is_running(self) -> bool:
        return self._poll.isActive()

    def idle_for(self) -> timedelta:
        """How long the clock has run since the last input (or the start)."""
        return self.clock.now() - self._last_input

    def check(self) -> bool:
        """Emit :attr:`idle` (and stop) when the idle time has passed; True when it did."""
        if not self._active or not self._timeout:
            return False
        since = self.idle_for()
        if since < timedelta(0):  # the clock went back: count from now
            self._last_input = self.clock.now()
            return False
        if since < self._timeout:
            left = self._timeout - since
            if self._timeout > WARN_BEFORE and left <= WARN_BEFORE:
                self._warned = True
                self.warning.emit(math.ceil(left.total_seconds()))
            return False
        self.stop()
        self.idle.emit()
        return True

    def _restart(self) -> None:
        self._last_input = self.clock.now()
        if self._active and self._timeout:
            if not self._poll.isActive():
                self._poll.start()
        else:
            self._poll.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self._active and event.type() in _INPUT:
            self._last_input = self.clock.now()
            self._end_warning()
        return False


class IdleNotice(QLabel):
    """The countdown to the idle lock, hidden until the last minute and after any use."""

    def __init__(self, watcher: IdleWatcher, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("role", "notice")
        self.setAccessibleName("Idle lock warning")
        self.hide()
        watcher.warning.connect(self._show_left)
        watcher.warning_over.connect(self.hide)

    def _show_left(self, seconds: int) -> None:
        left = (
            count_text(seconds // 60, "minute") if seconds >= 60 else count_text(seconds, "second")
        )
        self.setText(
            f"pumpmgr locks in {left} without use: move the mouse or press a key to stay signed in."
        )
        self.show()
