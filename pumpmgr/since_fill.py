"""What a pump's programs delivered since its fill, through every program change: the one walk
over program periods behind the expected residual (domain-rules §4), the alarm with boluses and
the worst case (§3), for the refill visit and for every pump's stored forecast alike.

Pure layer: stdlib and :class:`pumpmgr.schedule.ProgramRates` only, no pint. Plain floats in
fixed canonical units (mL, mL/day, mcg, mcg/mL, seconds, minutes of the pump's day); times are
the pump's clock (:class:`pumpmgr.clock.PumpClock`) or any other clock that runs in real time.
The pint boundaries are :func:`pumpmgr.refill.since_fill` (the visit's and the calculator's
programs) and :meth:`pumpmgr.pump_forecast.ProgramFloats.of` (the stored forecast's).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from pumpmgr.schedule import ProgramRates

_MINUTES_PER_DAY = 24 * 60
_SECONDS_PER_DAY = 86400

T = TypeVar("T")


def ran(
    periods: Sequence[tuple[datetime, T]], since: datetime, until: datetime
) -> Iterator[tuple[T, datetime, float]]:
    """Each period that ran between ``since`` and ``until``, with when it began there and for
    how many seconds. ``periods`` are (start, what ran), sorted by start, each running until
    the next one starts; a period before ``since`` counts from ``since``."""
    last = len(periods) - 1
    for index, (start, what) in enumerate(periods):
        begin = max(start, since)
        end = min(periods[index + 1][0] if index < last else until, until)
        if end > begin:
            yield what, begin, (end - begin).total_seconds()


@dataclass(frozen=True)
class SinceFill:
    """A fill and the programs that ran from it (each from its start until the next; the
    first was in force at the fill). Callers make sure of the order and of the first program;
    :func:`pumpmgr.refill.since_fill` refuses what breaks them."""

    filled_at: datetime
    fill_ml: float
    #: mL drawn besides the programs: the last fill's bridge or priming bolus, the patient
    #: boluses the programmer counted
    extra_ml: float
    periods: tuple[tuple[datetime, ProgramRates], ...]

    def delivered_ml(self, at: datetime, *, boluses: bool = False) -> float:
        """``∫ Vd dt`` in mL from the fill to ``at`` through every program; ``∫ D_max/C ds``
        (every allowed patient bolus taken each day) when ``boluses``."""
        total = 0.0
        for rates, begin, seconds in ran(self.periods, self.filled_at, at):
            minutes = seconds / 60
            minute_of_day = begin.hour * 60 + begin.minute + begin.second / 60
            total += rates.delivered_mass_mcg(minute_of_day, minutes) / rates.concentration
            if boluses:
                total += (rates.max_daily_ml - rates.daily_ml) * minutes / _MINUTES_PER_DAY
        return total

    def patient_bolus_ml(self, at: datetime) -> float:
        """mL the patient boluses take from the fill to ``at`` when every allowed bolus is
        taken each day."""
        total = 0.0
        for rates, _, seconds in ran(self.periods, self.filled_at, at):
            total += (rates.max_daily_ml - rates.daily_ml) * seconds / _SECONDS_PER_DAY
        return total

    def expected_ml(self, at: datetime) -> float:
        """``V_exp = Vfill − ∫ Vd dt − extra`` at ``at`` (domain-rules §4): never above the
        fill, not floored at 0 (Δ and e keep the unfloored value)."""
        return min(self.fill_ml, self.fill_ml - self.delivered_ml(at) - self.extra_ml)

    def worst_ml(self, at: datetime, fast: float) -> float:
        """``Vfill − (1 + a) × ∫ D_max/C ds − extra`` at ``at`` (domain-rules §3), ``fast``
        being ``1 + a``: every allowed bolus taken and the pump running fast. Not floored:
        below 0, the pump may have run dry."""
        return self.fill_ml - fast * self.delivered_ml(at, boluses=True) - self.extra_ml

    def worst_reached(self, level_ml: float, fast: float, until: datetime) -> datetime:
        """When the worst case fell to ``level_ml`` between the fill and ``until``, to a
        millisecond (``until`` when it did not get there)."""
        return crossing(level_ml, lambda at: self.worst_ml(at, fast), self.filled_at, until)


def crossing(
    level_ml: float, left_at: Callable[[datetime], float], low: datetime, high: datetime
) -> datetime:
    """When a residual falling from ``low`` to ``high`` reached ``level_ml`` (bisection to a
    millisecond)."""
    if left_at(low) <= level_ml:
        return low
    while high - low > timedelta(milliseconds=1):
        middle = low + (high - low) / 2
        if left_at(middle) > level_ml:
            low = middle
        else:
            high = middle
    return high
