"""The reservoir forecast: days to the low-reservoir alarm, days to empty, the refill-due date.

Pure layer: stdlib and pint (through :mod:`pumpmgr.units`) only. Formulas of domain-rules
section 3; the worked examples are domain.md section 6, examples 1, 3, 4, 5 and 11.

The forecast echoes every setting it used (alarm volume, accuracy, buffer, stability limit,
open days) so that no screen or sheet can show a date built on a default nobody saw.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from pumpmgr.errors import Code, ImpossibleInput
from pumpmgr.schedule import Program
from pumpmgr.units import (
    Q_,
    Kind,
    Quantity,
    exceeds,
    require_not_negative,
    require_positive,
)

#: Monday to Friday (date.weekday() numbering), the default open clinic days (domain-rules §3).
WEEKDAYS: frozenset[int] = frozenset(range(5))
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: The clinic's default buffer before the alarm date (domain-rules §3).
DEFAULT_BUFFER_DAYS = 7
#: Default alarm volume: the manufacturer's 2 mL for SynchroMed II [S21]; the clinic's choice
#: for constant-flow pumps (domain-rules §3).
DEFAULT_ALARM_VOLUME = Q_(2, "mL")

DueReason = Literal["alarm", "stability"]


@dataclass(frozen=True)
class Forecast:
    """When a filled reservoir reaches its alarm volume and when it must be refilled."""

    fill_volume: Quantity
    filled_at: datetime
    alarm_volume: Quantity
    accuracy_percent: float
    buffer_days: int
    stability_days: float | None
    open_days: frozenset[int]
    daily_dose: Quantity
    max_daily_dose: Quantity
    daily_volume: Quantity
    max_daily_volume: Quantity
    days_to_alarm: float
    alarm_at: datetime
    days_to_alarm_with_boluses: float
    alarm_at_with_boluses: datetime
    days_to_alarm_worst_case: float
    alarm_at_worst_case: datetime
    days_to_empty: float
    empty_at: datetime
    refill_due: date
    refill_due_reason: DueReason


def parse_open_days(text: str) -> frozenset[int]:
    """``mon,tue,wed`` or a range ``mon-fri`` into weekday numbers."""
    days: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        ends = part.split("-")
        if not part or len(ends) > 2 or any(e[:3] not in DAY_NAMES or len(e) < 3 for e in ends):
            raise ImpossibleInput(
                f"open days: '{text}' is not a list of days; write for example 'mon-fri' or "
                "'mon,tue,thu'",
                code=Code.OUT_OF_RANGE, field="open days",
            )
        first, last = DAY_NAMES.index(ends[0][:3]), DAY_NAMES.index(ends[-1][:3])
        days.update(range(first, last + 1) if first <= last else [*range(first, 7),
                                                                    *range(0, last + 1)])
    return frozenset(days)


def last_open_day(day: date, open_days: Iterable[int]) -> date:
    """``day`` itself when the clinic is open then, otherwise the nearest earlier open day."""
    open_set = frozenset(open_days)
    if not open_set or not open_set <= set(range(7)):
        raise ImpossibleInput(
            "open days: the clinic needs at least one open weekday",
            code=Code.OUT_OF_RANGE, field="open days",
        )
    while day.weekday() not in open_set:
        day -= timedelta(days=1)
    return day


def refill_due_date(
    *,
    filled_at: datetime,
    alarm_at_with_boluses: datetime,
    buffer_days: int = DEFAULT_BUFFER_DAYS,
    stability_days: float | None = None,
    open_days: Iterable[int] = WEEKDAYS,
) -> tuple[date, DueReason]:
    """The earliest of (alarm date with boluses − buffer) and (fill + stability limit), moved
    back to the nearest earlier open clinic day, and which of the two set it."""
    _check_settings(0.0, buffer_days, stability_days)
    try:
        return _refill_due_date(filled_at, alarm_at_with_boluses, buffer_days, stability_days,
                                open_days)
    except OverflowError:
        raise ImpossibleInput(
            "refill due: the date falls outside the calendar; check the fill time, the dose "
            "and the concentration units",
            code=Code.OUT_OF_RANGE, field="refill due",
        ) from None


def _refill_due_date(
    filled_at: datetime,
    alarm_at_with_boluses: datetime,
    buffer_days: int,
    stability_days: float | None,
    open_days: Iterable[int],
) -> tuple[date, DueReason]:
    due, reason = alarm_at_with_boluses.date() - timedelta(days=buffer_days), "alarm"
    if stability_days is not None:
        if filled_at.utcoffset() is None:
            stable_until = (filled_at + timedelta(days=stability_days)).date()
        else:
            # Real elapsed time: aware arithmetic in one zone would add wall-clock days, a day
            # late when the fill lies just after midnight before a daylight-saving fall-back.
            stable_until = (
                filled_at.astimezone(UTC) + timedelta(days=stability_days)
            ).astimezone(filled_at.tzinfo).date()
        if stable_until < due:
            due, reason = stable_until, "stability"
    return last_open_day(due, open_days), reason  # type: ignore[return-value]


def _check_settings(
    accuracy_percent: float, buffer_days: int, stability_days: float | None
) -> None:
    if not math.isfinite(accuracy_percent) or not 0 <= accuracy_percent < 100:
        raise ImpossibleInput(
            f"accuracy: {accuracy_percent} % is not a labelled accuracy; give a percentage "
            "from 0 to below 100, for example 14.5",
            code=Code.OUT_OF_RANGE, field="accuracy",
        )
    if isinstance(buffer_days, bool) or not isinstance(buffer_days, int) or not (
        0 <= buffer_days <= 365
    ):
        raise ImpossibleInput(
            "buffer days: give a whole number of days from 0 to 365, for example 7",
            code=Code.OUT_OF_RANGE, field="buffer days",
        )
    if stability_days is not None and (
        not math.isfinite(stability_days) or not 0 < stability_days <= 3650
    ):
        raise ImpossibleInput(
            "stability days: give a number of days above 0, for example 90",
            code=Code.OUT_OF_RANGE, field="stability days",
        )


def _add_days(start: datetime, days: float) -> datetime:
    try:
        return start + timedelta(days=days)
    except OverflowError:
        raise ImpossibleInput(
            f"the forecast runs {days:.0f} days, past any calendar date; check the dose and "
            "concentration units",
            code=Code.OUT_OF_RANGE, field="dose",
        ) from None


def forecast(
    *,
    fill_volume: Quantity,
    filled_at: datetime,
    program: Program,
    alarm_volume: Quantity = DEFAULT_ALARM_VOLUME,
    accuracy_percent: float = 0.0,
    buffer_days: int = DEFAULT_BUFFER_DAYS,
    stability_days: float | None = None,
    open_days: Iterable[int] = WEEKDAYS,
    reservoir_capacity: Quantity | None = None,
) -> Forecast:
    """Forecast a reservoir filled with ``fill_volume`` at ``filled_at`` running ``program``.

    - nominal: ``t_alarm = (Vfill − Valarm) / Vd`` (what the pump itself computes);
    - with boluses: ``(Vfill − Valarm) / (D_max / C)``;
    - worst case: ``(Vfill − Valarm) / ((D_max / C) × (1 + a))``;
    - days to empty ``Vfill / Vd`` (information only);
    - refill due: see :func:`refill_due_date`.
    """
    require_positive(fill_volume, Kind.VOLUME, "fill volume")
    require_not_negative(alarm_volume, Kind.VOLUME, "alarm volume")
    _check_settings(accuracy_percent, buffer_days, stability_days)
    fill_ml = float(fill_volume.to("mL").m)
    alarm_ml = float(alarm_volume.to("mL").m)
    if reservoir_capacity is not None:
        capacity_ml = float(require_positive(reservoir_capacity, Kind.VOLUME,
                                             "reservoir capacity").to("mL").m)
        if exceeds(fill_ml, capacity_ml):  # as refill.plan_refill: a unit round trip is no overfill
            raise ImpossibleInput(
                f"fill volume: {fill_ml:g} mL is more than the reservoir holds "
                f"({capacity_ml:g} mL)",
                code=Code.OVER_CAPACITY, field="fill volume",
            )
    if fill_ml <= alarm_ml:
        raise ImpossibleInput(
            f"fill volume: {fill_ml:g} mL is not above the low-reservoir alarm volume "
            f"({alarm_ml:g} mL); the pump would alarm at once",
            code=Code.FILL_NOT_ABOVE_ALARM, field="fill volume",
        )
    daily_ml = float(program.daily_volume().to("mL/day").m)
    max_daily_ml = float(program.max_daily_volume().to("mL/day").m)
    above_alarm = fill_ml - alarm_ml
    days_alarm = above_alarm / daily_ml
    days_boluses = above_alarm / max_daily_ml
    days_worst = above_alarm / (max_daily_ml * (1 + accuracy_percent / 100))
    days_empty = fill_ml / daily_ml
    alarm_at_boluses = _add_days(filled_at, days_boluses)
    open_set = frozenset(open_days)
    due, reason = refill_due_date(
        filled_at=filled_at,
        alarm_at_with_boluses=alarm_at_boluses,
        buffer_days=buffer_days,
        stability_days=stability_days,
        open_days=open_set,
    )
    return Forecast(
        fill_volume=fill_volume,
        filled_at=filled_at,
        alarm_volume=alarm_volume,
        accuracy_percent=accuracy_percent,
        buffer_days=buffer_days,
        stability_days=stability_days,
        open_days=open_set,
        daily_dose=program.daily_dose(),
        max_daily_dose=program.max_daily_dose(),
        daily_volume=program.daily_volume(),
        max_daily_volume=program.max_daily_volume(),
        days_to_alarm=days_alarm,
        alarm_at=_add_days(filled_at, days_alarm),
        days_to_alarm_with_boluses=days_boluses,
        alarm_at_with_boluses=alarm_at_boluses,
        days_to_alarm_worst_case=days_worst,
        alarm_at_worst_case=_add_days(filled_at, days_worst),
        days_to_empty=days_empty,
        empty_at=_add_days(filled_at, days_empty),
        refill_due=due,
        refill_due_reason=reason,
    )
