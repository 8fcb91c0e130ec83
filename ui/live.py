"""Other workstations' changes reach the window within seconds (issue 13).

UI layer: imports PySide6 and the change feed of :mod:`pumpmgr.db.changes` (through
:mod:`pumpmgr.services.context`: the window never imports the database layer). A Qt timer asks
the clinic's change feed now and then what other programs committed; its poll never waits for
the database (SQLite: one ``PRAGMA data_version``; PostgreSQL: the notices libpq already
received), so it runs on the window's thread like :class:`ui.idle.IdleWatcher`'s look at the
clock, and no worker thread is needed. What arrives is kept until the window may show it
(:attr:`LiveUpdates.ready`: no dialog or wizard open, not locked), so a refresh never resets
what a nurse is typing; then :attr:`LiveUpdates.changed` says what changed, once, merged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from pumpmgr.services.context import Change, ChangeFeed

log = logging.getLogger(__name__)

#: How often the feed is asked (milliseconds): a change shows within about this long.
POLL_MS = 1500


class LiveUpdates(QObject):
    """Emits :attr:`changed` with what other programs committed, when ``ready()`` allows."""

    changed = Signal(object)  # Change

    def __init__(
        self,
        feed: ChangeFeed | None,
        ready: Callable[[], bool],
        parent: QObject | None = None,
        *,
        poll_ms: int = POLL_MS,
    ) -> None:
        super().__init__(parent)
        self.feed = feed
        self.ready = ready
        #: Arrived and not yet shown (the window was busy).
        self.pending: Change | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self.check)

    def start(self) -> None:
        if self.feed is not None:
            self._timer.start()

    def stop(self) -> None:
        """Stop asking and let go of the feed's connection (the window closes)."""
        self._timer.stop()
        if self.feed is not None:
            self.feed.close()
            self.feed = None

    def check(self) -> None:
        """Ask the feed once; emit what is pending if the window is ready for it."""
        if self.feed is None:
            return
        try:
            change = self.feed.poll()
        except Exception:  # a feed that cannot answer leaves the window as F5 keeps it
            log.warning("the change feed failed; live updates stopped", exc_info=True)
            self.stop()
            return
        if change is not None:
            self.pending = change if self.pending is None else self.pending.merged(change)
        if self.pending is not None and self.ready():
            pending, self.pending = self.pending, None
            self.changed.emit(pending)
