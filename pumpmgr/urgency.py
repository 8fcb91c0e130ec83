"""Who is called first: the due list's order by danger, over a due row's dates.

Pure layer: stdlib only (and :mod:`pumpmgr.records` for the row). domain-rules section 3 ranks the
states before a refill above every other: computed empty, then may be empty, then alarm passed,
baclofen next in rank because its withdrawal can start above the alarm volume [S21]. After those,
the soonest of the worst-case alarm and the empty date decides, the withdrawal risk breaking ties
of one day.

The stored forecast keeps the nominal alarm, the alarm with every bolus and the empty time, not the
worst case (a pump running fast) nor a "may be empty" state: until it does, :func:`danger` reads
the bolus alarm as the worst known, and a forecast state can replace :func:`danger` alone.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from enum import IntEnum

from pumpmgr.records import DueRow

#: Drugs whose withdrawal can start above the alarm volume: ranked first among equals [S21].
WITHDRAWAL_FIRST = frozenset({"baclofen"})


class Danger(IntEnum):
    """The states before a refill, most dangerous first (their order is the list's)."""

    COMPUTED_EMPTY = 0  #: the nominal residual has reached 0
    ALARM_PASSED = 1  #: the alarm (with boluses, the worst case known) has passed
    COUNTING = 2  #: neither: the soonest date decides


def danger(row: DueRow, now: datetime) -> Danger:
    """The row's state at ``now`` from its dates."""
    if row.empty_at is not None and row.empty_at <= now:
        return Danger.COMPUTED_EMPTY
    alarms = [a for a in (row.alarm_at, row.nominal_alarm_at) if a is not None]
    if any(alarm <= now for alarm in alarms):
        return Danger.ALARM_PASSED
    return Danger.COUNTING


def soonest_event(row: DueRow) -> datetime:
    """The earlier of the row's worst-case alarm (the bolus alarm) and its empty time."""
    return min(row.alarm_at, row.empty_at) if row.empty_at is not None else row.alarm_at


def withdrawal_first(row: DueRow) -> bool:
    return not WITHDRAWAL_FIRST.isdisjoint(row.drug_keys)


def urgency_key(row: DueRow, now: datetime, tz: tzinfo) -> tuple[int, int, int, float, str]:
    """Sorts the most urgent row first: by :func:`danger`, then the calendar day (in ``tz``)
    of :func:`soonest_event`, a withdrawal risk first on the same day, then the instant, then
    the patient's name. Equal keys are the same urgency."""
    soonest = soonest_event(row)
    return (int(danger(row, now)), soonest.astimezone(tz).date().toordinal(),
            0 if withdrawal_first(row) else 1, soonest.timestamp(), row.patient.casefold())
