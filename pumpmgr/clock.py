"""The clock and the clinic's time zone, injected wherever "now" or "today" matters, and the
pump's own clock that every forecast runs on.

Pure layer: stdlib only. Tests and the demo clinic pass a :class:`FixedClock`; nothing in
pumpmgr reads the system time except :class:`SystemClock`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
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


@dataclass(frozen=True)
class PumpClock:
    """The pump's own clock: set to the clinic's wall time at the fill, then running in real
    time (it does not jump at a daylight-saving change). Calculations run on it, so elapsed time
    is real and flex steps fall at the pump's times of day.

    The stored forecast (:mod:`pumpmgr.pump_forecast`) and the planned refill visit
    (:func:`pumpmgr.visit.plan_visit` with a zone) both count on it, so the due list, the
    refill wizard and the worksheet give the same alarm and refill-due dates across a change.
    """

    origin: datetime  #: an aware instant (the fill)
    tz: tzinfo

    def to_pump(self, moment: datetime) -> datetime:
        """The pump's time (naive) of an aware instant."""
        # In UTC: Python subtracts two times of one zone object as wall-clock times.
        elapsed = moment.astimezone(UTC) - self.origin.astimezone(UTC)
        return self.origin.astimezone(self.tz).replace(tzinfo=None) + elapsed

    def to_instant(self, pump_time: datetime) -> datetime:
        """The instant (aware, UTC) the pump's clock shows ``pump_time``."""
        start = self.origin.astimezone(self.tz).replace(tzinfo=None)
        return self.origin.astimezone(UTC) + (pump_time - start)
