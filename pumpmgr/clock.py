"""The clock and the clinic's time zone, injected wherever "now" or "today" matters.

Pure layer: stdlib only. Tests and the demo clinic pass a :class:`FixedClock`; nothing in
pumpmgr reads the system time except :class:`SystemClock`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, time-zone aware."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock that stands still until moved: for tests, the demo clinic and benchmarks."""

    moment: datetime

    def __post_init__(self) -> None:
        if self.moment.tzinfo is None:
            raise ValueError("a FixedClock needs an aware datetime")

    def now(self) -> datetime:
        return self.moment

    def advance(self, by: timedelta) -> None:
        self.moment += by
