"""The reservoir forecast: days to the low-reservoir alarm, days to empty, the refill-due date.

Pure layer: stdlib and pint (through :mod:`pumpmgr.units`) only. Formulas of domain-rules
section 3; the worked examples are domain.md section 6, examples 1, 3, 4, 5 and 11.

The forecast echoes every setting it used (alarm volume, accuracy, buffer, stability limit,
open days) so that no screen or sheet can show a date built on a default nobody saw.

Over 600 lines on purpose: the refill-due limits, the forecast and the pump's state before a
refill (the last section) are the formulas of domain-rules section 3 in their order, sharing
the accuracy and calendar helpers; :mod:`pumpmgr.pump_forecast` is their fast plain-float form.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any, Literal

from pumpmgr.clock import PumpClock
from pumpmgr.errors import Code, ImpossibleInput, InputError
from pumpmgr.schedule import Program
from pumpmgr.units import (
    ML,
    ML_PER_DAY,
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
DEFAULT_ALARM_VOLUME = Q_(2, ML)
#: The longest refill interval for a drug the library gives none: clinic policy, 90 days by
#: default (domain-rules §3), a clinic setting.
DEFAULT_MAX_REFILL_INTERVAL_DAYS = 90
#: The accuracy assumed for the worst case where the pump's labelled one is unknown, and the
#: least for a constant-flow pump: clinic policy (domain-rules §3), shown as "assumed".
ASSUMED_ACCURACY_PERCENT = 15.0
#: The largest pump error the worst case accepts (a measured over-delivery can exceed the
#: labelled accuracy many times; beyond this the record is wrong, not the pump).
MAX_ACCURACY_PERCENT = 1000.0

#: Which limit set the refill-due date (domain-rules §3), in the order a tie is named.
DueReason = Literal["alarm", "worst_case", "stability", "max_interval", "expiry"]
DUE_REASONS: tuple[DueReason, ...] = ("alarm", "worst_case", "stability", "max_interval", "expiry")

#: The one wording of each reason, for screens, sheets and the command line alike (the stored
#: forecast adds two of its own: no fill yet, no prescription at the fill). The alarm's words
#: depend on the pump and the buffer: :func:`due_reason_words`.
_DUE_REASON_WORDS: dict[str, str] = {
    "worst_case": "reservoir may be low if the pump runs fast",
    "stability": "drug's in-pump stability limit",
    "max_interval": "longest refill interval",
    "expiry": "solution expires",
    "first_fill": "first fill",
    "no_prescription": "no prescription in force at the fill",
}


def due_reason_words(
    reason: str, *, buffer_days: int | None = None, constant_flow: bool = False
) -> str:
    """What a nurse reads for the limit that set a refill-due date: the one wording of the
    window, the sheets and the command line. The alarm limit names the clinic's buffer
    (``buffer_days``, or "the clinic's buffer" when not known) and, for a constant-flow pump,
    the planning volume instead of the alarm."""
    if reason == "alarm":
        reached = "planning volume date" if constant_flow else "alarm date with every bolus taken,"
        buffer = "the clinic's buffer" if buffer_days is None else f"the {buffer_days}-day buffer"
        return f"{reached} minus {buffer}"
    return _DUE_REASON_WORDS.get(reason, reason.replace("_", " "))


@dataclass(frozen=True)
class Accuracy:
    """The ``a`` of the worst case (domain-rules §3) and where it came from."""

    percent: float
    assumed: bool  #: no labelled accuracy known: the clinic's 15 % (clinic policy)
    measured: bool  #: the over-delivery measured at the last refill set it

    @property
    def factor(self) -> float:
        """``1 + a``: how much faster than programmed the worst case has the pump run."""
        return 1 + self.percent / 100

    @property
    def words(self) -> str:
        if self.measured:
            return f"{self.percent:.3g} % (over-delivery measured at the last refill)"
        return f"{self.percent:.3g} %" + (" (assumed)" if self.assumed else "")


def worst_case_accuracy(
    labelled_percent: float | None,
    measured_error_percent: float | None = None,
    *,
    constant_flow: bool = False,
    recorded: bool = True,
) -> Accuracy:
    """``a``: the larger of the pump's labelled accuracy (15 % "assumed" where unknown) and the
    over-delivery ``e`` measured at the last refill when positive; for a constant-flow pump the
    larger of 15 % and the measured flow's excess over nominal (domain-rules §3). A measured
    error beyond any pump's (:data:`MAX_ACCURACY_PERCENT`) is refused when typed
    (``recorded=False``) and taken at that maximum when it comes from the record."""
    for name, value in (("accuracy", labelled_percent), ("measured error", measured_error_percent)):
        if value is not None and not math.isfinite(value):
            raise ImpossibleInput(
                f"{name}: give a percentage, for example 14.5", code=Code.OUT_OF_RANGE, field=name
            )
    if labelled_percent is not None and not 0 <= labelled_percent < 100:
        raise ImpossibleInput(
            f"accuracy: {labelled_percent:g} % is not a labelled accuracy; give a percentage "
            "from 0 to below 100, for example 14.5",
            code=Code.OUT_OF_RANGE,
            field="accuracy",
        )
    if constant_flow:
        base = max(ASSUMED_ACCURACY_PERCENT, labelled_percent or 0.0)
        assumed = labelled_percent is None or labelled_percent < ASSUMED_ACCURACY_PERCENT
    elif labelled_percent is None:
        base, assumed = ASSUMED_ACCURACY_PERCENT, True
    else:
        base, assumed = labelled_percent, False
    if measured_error_percent is not None and measured_error_percent > base:
        if measured_error_percent > MAX_ACCURACY_PERCENT and recorded:
            # a fact on record is never refused (domain-rules §4a): the worst case takes the
            # largest error a pump can have, so the refill falls due at once, on the safe side
            return Accuracy(MAX_ACCURACY_PERCENT, False, True)
        if measured_error_percent > MAX_ACCURACY_PERCENT:
            raise ImpossibleInput(
                f"measured error: {measured_error_percent:g} % over-delivery cannot be a pump's; "
                "check the last refill's volumes",
                code=Code.OUT_OF_RANGE,
                field="measured error",
            )
        return Accuracy(measured_error_percent, False, True)
    return Accuracy(base, assumed, False)


def month_end(year: int, month: int) -> date:
    """The last day of a month: an expiry given as month and year (USP <7>, domain-rules §3).
    Refuses a month outside 1 to 12 (ValueError)."""
    if not 1 <= month <= 12:
        raise ValueError(f"month {month} is not 1 to 12")
    following = date(year + month // 12, month % 12 + 1, 1)
    return following - timedelta(days=1)


def parse_expiry(text: str, field: str = "expiry") -> date:
    """An expiry or beyond-use date: ``2026-05-14``, or month and year (``2026-05``,
    ``05/2026``), which means the month's last day."""
    value = text.strip()
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        if len(value) == 7 and value[4] == "-":
            return month_end(int(value[:4]), int(value[5:]))
        if len(value) == 7 and value[2] == "/":
            return month_end(int(value[3:]), int(value[:2]))
    except ValueError:
        pass
    raise InputError(
        f"{field}: '{text}' is not a date; give YYYY-MM-DD, or month and year as YYYY-MM "
        "(the month's last day)",
        code=Code.BAD_DATE,
        field=field,
    )


def check_solution_date(
    expires_on: date | None, *, compounded: bool, refill_day: date, field: str = "expiry"
) -> None:
    """Refuse a fill that cannot be planned: a pharmacy-compounded solution without its
    beyond-use date, or a solution that expires before the refill day (domain-rules §3, §4)."""
    if expires_on is None:
        if compounded:
            raise ImpossibleInput(
                f"{field}: a pharmacy-compounded solution needs its beyond-use date; the fill "
                "cannot be planned without it",
                code=Code.NO_BEYOND_USE_DATE,
                field=field,
            )
        return
    if expires_on < refill_day:
        raise ImpossibleInput(
            f"{field}: the solution expired on {expires_on.isoformat()}, before the refill day "
            f"{refill_day.isoformat()}; it cannot be put in the pump",
            code=Code.SOLUTION_EXPIRED,
            field=field,
        )


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
    max_interval_days: float | None = None
    expires_on: date | None = None
    closed_dates: frozenset[date] = frozenset()
    #: the fill whose solution is in the pump (older than ``filled_at`` after a top-up)
    solution_filled_at: datetime | None = None
    days_to_empty_worst_case: float | None = None
    empty_at_worst_case: datetime | None = None
    #: every limit's date before the move to an open day, by reason
    limits: tuple[tuple[DueReason, date], ...] = ()


def parse_open_days(text: str) -> frozenset[int]:
    """``mon,tue,wed`` or a range ``mon-fri`` into weekday numbers."""
    days: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        ends = part.split("-")
        if not part or len(ends) > 2 or any(e[:3] not in DAY_NAMES or len(e) < 3 for e in ends):
            raise ImpossibleInput(
                f"open days: '{text}' is not a list of days; write for example 'mon-fri' or "
                "'mon,tue,thu'",
                code=Code.OUT_OF_RANGE,
                field="open days",
            )
        first, last = DAY_NAMES.index(ends[0][:3]), DAY_NAMES.index(ends[-1][:3])
        days.update(
            range(first, last + 1) if first <= last else [*range(first, 7), *range(0, last + 1)]
        )
    return frozenset(days)


def last_open_day(day: date, open_days: Iterable[int], closed_dates: Iterable[date] = ()) -> date:
    """``day`` itself when the clinic is open then, otherwise the nearest earlier open day: an
    open weekday that is not one of the clinic's closed dates."""
    open_set = frozenset(open_days)
    if not open_set or not open_set <= set(range(7)):
        raise ImpossibleInput(
            "open days: the clinic needs at least one open weekday",
            code=Code.OUT_OF_RANGE,
            field="open days",
        )
    closed = frozenset(closed_dates)
    while day.weekday() not in open_set or day in closed:
        day -= timedelta(days=1)
    return day


def _days_after(start: datetime, days: float) -> date:
    """The calendar date ``days`` of real time after ``start`` (in ``start``'s zone)."""
    if start.utcoffset() is None:
        return (start + timedelta(days=days)).date()
    # Real elapsed time: aware arithmetic in one zone would add wall-clock days, a day late
    # when the fill lies just after midnight before a daylight-saving fall-back.
    return (start.astimezone(UTC) + timedelta(days=days)).astimezone(start.tzinfo).date()


def _outside_calendar() -> ImpossibleInput:
    return ImpossibleInput(
        "refill due: the date falls outside the calendar; check the fill time, the dose and "
        "the concentration units",
        code=Code.OUT_OF_RANGE,
        field="refill due",
    )


def due_limits(
    *,
    filled_at: datetime,
    alarm_at_with_boluses: datetime,
    worst_case_at: datetime | None = None,
    buffer_days: int = DEFAULT_BUFFER_DAYS,
    stability_days: float | None = None,
    max_interval_days: float | None = None,
    expires_on: date | None = None,
) -> dict[DueReason, date]:
    """Every limit of the refill-due date (domain-rules §3), by reason, as calendar dates:

    - the alarm with boluses minus the buffer;
    - the worst-case low reservoir (``worst_case_at``), no buffer;
    - ``filled_at`` (the fill whose solution is in the pump) plus the stability limit, and plus
      the longest refill interval;
    - the solution's expiry or beyond-use date.
    """
    _check_settings(0.0, buffer_days, stability_days)
    _check_interval(max_interval_days)
    try:
        limits: dict[DueReason, date] = {
            "alarm": alarm_at_with_boluses.date() - timedelta(days=buffer_days)
        }
        if worst_case_at is not None:
            limits["worst_case"] = worst_case_at.date()
        if stability_days is not None:
            limits["stability"] = _days_after(filled_at, stability_days)
        if max_interval_days is not None:
            limits["max_interval"] = _days_after(filled_at, max_interval_days)
    except OverflowError:
        raise _outside_calendar() from None
    if expires_on is not None:
        limits["expiry"] = expires_on
    return limits


def earliest_limit(limits: dict[DueReason, date]) -> tuple[date, DueReason]:
    """The earliest limit and its reason (a tie names the first of :data:`DUE_REASONS`)."""
    reason = min(limits, key=lambda r: (limits[r], DUE_REASONS.index(r)))
    return limits[reason], reason


def refill_due_date(
    *,
    filled_at: datetime,
    alarm_at_with_boluses: datetime,
    worst_case_at: datetime | None = None,
    buffer_days: int = DEFAULT_BUFFER_DAYS,
    stability_days: float | None = None,
    max_interval_days: float | None = None,
    expires_on: date | None = None,
    open_days: Iterable[int] = WEEKDAYS,
    closed_dates: Iterable[date] = (),
) -> tuple[date, DueReason]:
    """The earliest of :func:`due_limits`, moved back to the nearest earlier open clinic day,
    and which limit set it. Never after any limit, never on a closed day."""
    due, reason = earliest_limit(
        due_limits(
            filled_at=filled_at,
            alarm_at_with_boluses=alarm_at_with_boluses,
            worst_case_at=worst_case_at,
            buffer_days=buffer_days,
            stability_days=stability_days,
            max_interval_days=max_interval_days,
            expires_on=expires_on,
        )
    )
    try:
        return last_open_day(due, open_days, closed_dates), reason
    except OverflowError:
        raise _outside_calendar() from None


def _check_interval(max_interval_days: float | None) -> None:
    if max_interval_days is not None and (
        not math.isfinite(max_interval_days) or not 0 < max_interval_days <= 3650
    ):
        raise ImpossibleInput(
            "longest refill interval: give a number of days above 0, for example 90",
            code=Code.OUT_OF_RANGE,
            field="longest refill interval",
        )


def _check_settings(
    accuracy_percent: float, buffer_days: int, stability_days: float | None
) -> None:
    if not math.isfinite(accuracy_percent) or not 0 <= accuracy_percent <= MAX_ACCURACY_PERCENT:
        raise ImpossibleInput(
            f"accuracy: {accuracy_percent} % is not a pump's accuracy; give a percentage "
            "from 0, for example 14.5",
            code=Code.OUT_OF_RANGE,
            field="accuracy",
        )
    if (
        isinstance(buffer_days, bool)
        or not isinstance(buffer_days, int)
        or not (0 <= buffer_days <= 365)
    ):
        raise ImpossibleInput(
            "buffer days: give a whole number of days from 0 to 365, for example 7",
            code=Code.OUT_OF_RANGE,
            field="buffer days",
        )
    if stability_days is not None and (
        not math.isfinite(stability_days) or not 0 < stability_days <= 3650
    ):
        raise ImpossibleInput(
            "stability days: give a number of days above 0, for example 90",
            code=Code.OUT_OF_RANGE,
            field="stability days",
        )


def days_until(volume_ml: float, level_ml: float, rate_ml_per_day: float) -> float:
    """Days for ``volume_ml`` to fall to ``level_ml`` at ``rate_ml_per_day``: 0 when it is at
    or below it already."""
    return max(0.0, (volume_ml - level_ml) / rate_ml_per_day)


def _add_days(start: datetime, days: float) -> datetime:
    try:
        return start + timedelta(days=days)
    except OverflowError:
        raise ImpossibleInput(
            f"the forecast runs {days:.0f} days, past any calendar date; check the dose and "
            "concentration units",
            code=Code.OUT_OF_RANGE,
            field="dose",
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
    max_interval_days: float | None = DEFAULT_MAX_REFILL_INTERVAL_DAYS,
    expires_on: date | None = None,
    compounded: bool = False,
    closed_dates: Iterable[date] = (),
    solution_filled_at: datetime | None = None,
) -> Forecast:
    """Forecast a reservoir filled with ``fill_volume`` at ``filled_at`` running ``program``.

    - nominal: ``t_alarm = (Vfill − Valarm) / Vd`` (what the pump itself computes);
    - with boluses: ``(Vfill − Valarm) / (D_max / C)``;
    - worst case: ``(Vfill − Valarm) / ((D_max / C) × (1 + a))``, ``a`` the accuracy given
      (:func:`worst_case_accuracy` makes it);
    - days to empty ``Vfill / Vd`` (information only), and in the worst case;
    - refill due: :func:`refill_due_date` of all these limits, the stability limit, the longest
      refill interval and the expiry counted from ``solution_filled_at`` (the older fill after a
      top-up; ``filled_at`` by default).

    Refuses a pharmacy-compounded solution without its beyond-use date, and one that expired
    before the day of the fill.
    """
    require_positive(fill_volume, Kind.VOLUME, "fill volume")
    require_not_negative(alarm_volume, Kind.VOLUME, "alarm volume")
    _check_settings(accuracy_percent, buffer_days, stability_days)
    _check_interval(max_interval_days)
    solution_at = filled_at if solution_filled_at is None else solution_filled_at
    check_solution_date(expires_on, compounded=compounded, refill_day=filled_at.date())
    fill_ml = float(fill_volume.to(ML).m)
    alarm_ml = float(alarm_volume.to(ML).m)
    if reservoir_capacity is not None:
        capacity_ml = float(
            require_positive(reservoir_capacity, Kind.VOLUME, "reservoir capacity").to(ML).m
        )
        if exceeds(fill_ml, capacity_ml):  # as refill.plan_refill: a unit round trip is no overfill
            raise ImpossibleInput(
                f"fill volume: {fill_ml:g} mL is more than the reservoir holds "
                f"({capacity_ml:g} mL)",
                code=Code.OVER_CAPACITY,
                field="fill volume",
            )
    if fill_ml <= alarm_ml:
        raise ImpossibleInput(
            f"fill volume: {fill_ml:g} mL is not above the low-reservoir alarm volume "
            f"({alarm_ml:g} mL); the pump would alarm at once",
            code=Code.FILL_NOT_ABOVE_ALARM,
            field="fill volume",
        )
    daily_ml = float(program.daily_volume().to(ML_PER_DAY).m)
    max_daily_ml = float(program.max_daily_volume().to(ML_PER_DAY).m)
    worst_ml = max_daily_ml * (1 + accuracy_percent / 100)
    days_alarm = days_until(fill_ml, alarm_ml, daily_ml)
    days_boluses = days_until(fill_ml, alarm_ml, max_daily_ml)
    days_worst = days_until(fill_ml, alarm_ml, worst_ml)
    days_empty = fill_ml / daily_ml
    days_empty_worst = fill_ml / worst_ml
    alarm_at_boluses = _add_days(filled_at, days_boluses)
    alarm_at_worst = _add_days(filled_at, days_worst)
    open_set = frozenset(open_days)
    closed = frozenset(closed_dates)
    limits = due_limits(
        filled_at=solution_at,
        alarm_at_with_boluses=alarm_at_boluses,
        worst_case_at=alarm_at_worst,
        buffer_days=buffer_days,
        stability_days=stability_days,
        max_interval_days=max_interval_days,
        expires_on=expires_on,
    )
    due, reason = refill_due_date(
        filled_at=solution_at,
        alarm_at_with_boluses=alarm_at_boluses,
        worst_case_at=alarm_at_worst,
        buffer_days=buffer_days,
        stability_days=stability_days,
        max_interval_days=max_interval_days,
        expires_on=expires_on,
        open_days=open_set,
        closed_dates=closed,
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
        alarm_at_worst_case=alarm_at_worst,
        days_to_empty=days_empty,
        empty_at=_add_days(filled_at, days_empty),
        refill_due=due,
        refill_due_reason=reason,
        max_interval_days=max_interval_days,
        expires_on=expires_on,
        closed_dates=closed,
        solution_filled_at=solution_at,
        days_to_empty_worst_case=days_empty_worst,
        empty_at_worst_case=_add_days(filled_at, days_empty_worst),
        limits=tuple(sorted(limits.items(), key=lambda item: DUE_REASONS.index(item[0]))),
    )


def on_clinic_clock(outlook: Forecast, clock: PumpClock, tz: tzinfo) -> Forecast:
    """A forecast computed on the pump's clock (set at the fill: ``outlook.filled_at`` is the
    clinic's wall-clock time then), as the clinic's wall-clock times, with every limit and the
    refill-due date taken from the real instants in the clinic's zone.

    The one rule for dates across a daylight-saving change, shared by the stored forecast
    (:func:`pumpmgr.pump_forecast.pump_forecast`), the visit plan and ``pumpmgr calc``.
    """

    def wall(pump_time: datetime) -> datetime:
        return clock.to_instant(pump_time).astimezone(tz).replace(tzinfo=None)

    solution_at = outlook.solution_filled_at or outlook.filled_at
    solution_instant = clock.to_instant(solution_at).astimezone(tz)
    with_boluses = clock.to_instant(outlook.alarm_at_with_boluses).astimezone(tz)
    worst = clock.to_instant(outlook.alarm_at_worst_case).astimezone(tz)
    dates = due_limits(
        filled_at=solution_instant,
        alarm_at_with_boluses=with_boluses,
        worst_case_at=worst,
        buffer_days=outlook.buffer_days,
        stability_days=outlook.stability_days,
        max_interval_days=outlook.max_interval_days,
        expires_on=outlook.expires_on,
    )
    due, reason = refill_due_date(
        filled_at=solution_instant,
        alarm_at_with_boluses=with_boluses,
        worst_case_at=worst,
        buffer_days=outlook.buffer_days,
        stability_days=outlook.stability_days,
        max_interval_days=outlook.max_interval_days,
        expires_on=outlook.expires_on,
        open_days=outlook.open_days,
        closed_dates=outlook.closed_dates,
    )
    empty_worst = outlook.empty_at_worst_case
    return replace(
        outlook,
        filled_at=wall(outlook.filled_at),
        alarm_at=wall(outlook.alarm_at),
        alarm_at_with_boluses=wall(outlook.alarm_at_with_boluses),
        alarm_at_worst_case=wall(outlook.alarm_at_worst_case),
        empty_at=wall(outlook.empty_at),
        empty_at_worst_case=None if empty_worst is None else wall(empty_worst),
        solution_filled_at=wall(solution_at),
        refill_due=due,
        refill_due_reason=reason,
        limits=tuple(sorted(dates.items(), key=lambda item: DUE_REASONS.index(item[0]))),
    )


def forecast_in_zone(tz: tzinfo | None, **arguments: Any) -> Forecast:
    """:func:`forecast` of a fill at the wall-clock time ``filled_at`` in the clinic's zone
    ``tz``, counted on the pump's clock (:func:`on_clinic_clock`); plain wall-clock arithmetic
    when no zone is given."""
    if tz is None:
        return forecast(**arguments)
    filled_at: datetime = arguments["filled_at"]
    instant = filled_at.replace(tzinfo=tz) if filled_at.tzinfo is None else filled_at
    clock = PumpClock(instant, tz)
    pump_start = clock.to_pump(instant)
    solution = arguments.get("solution_filled_at")
    if solution is not None:
        solution_instant = solution.replace(tzinfo=tz) if solution.tzinfo is None else solution
        arguments["solution_filled_at"] = clock.to_pump(solution_instant)
    return on_clinic_clock(forecast(**{**arguments, "filled_at": pump_start}), clock, tz)


# ---------------------------------------------------------------------------------------------
# The states before a refill (domain-rules §3)


class RefillState(StrEnum):
    """A pump's state before its refill, worst first; each ranks above every other due-list
    state."""

    #: the nominal residual has reached 0 (a pump past its end of service or recorded as
    #: stopped ranks with it)
    COMPUTED_EMPTY = "computed_empty"
    #: the worst-case residual (boluses, the pump running fast) has reached 0
    MAY_BE_EMPTY = "may_be_empty"
    #: the nominal forecast is at or below the alarm volume
    ALARM_PASSED = "alarm_passed"

    @property
    def words(self) -> str:
        return self.value.replace("_", " ")

    @property
    def advice(self) -> str:
        """What the visit says on its first page (domain-rules §3, §4), one wording."""
        return _STATE_ADVICE[self]


_STATE_ADVICE = {
    RefillState.COMPUTED_EMPTY: (
        "the forecast says the reservoir is empty. Ask for the patient's condition (withdrawal; "
        "lost opioid tolerance): the next dose is a restart, checked as a start"
    ),
    RefillState.MAY_BE_EMPTY: (
        "the reservoir may be empty if the pump runs fast. Ask for the patient's condition "
        "(withdrawal) before refilling"
    ),
    RefillState.ALARM_PASSED: (
        "the reservoir is at or below the low-reservoir alarm volume. Ask for the patient's "
        "condition (withdrawal can start above 2 mL)"
    ),
}


#: :func:`state_rank` of a pump in none of the states: after all of them.
NO_STATE_RANK = 4
#: Stops longer than this are an over-infusion risk factor (HSA notice, 8 Nov 2016;
#: domain-rules §3).
STOP_RISK_HOURS = 48.0


def state_before_refill(
    *,
    now: datetime,
    alarm_at: datetime,
    empty_at: datetime,
    empty_at_worst_case: datetime | None,
    stopped: bool = False,
    past_end_of_service: bool = False,
) -> RefillState | None:
    """The worst state the pump is in at ``now``, or None when it is in none of them."""
    if stopped or past_end_of_service or now >= empty_at:
        return RefillState.COMPUTED_EMPTY
    if empty_at_worst_case is not None and now >= empty_at_worst_case:
        return RefillState.MAY_BE_EMPTY
    if now >= alarm_at:
        return RefillState.ALARM_PASSED
    return None


def state_rank(state: RefillState | None, *, baclofen: bool = False) -> int:
    """A sort key, lowest first: computed empty 0, may be empty 1, alarm passed 2 for baclofen
    (withdrawal can start above 2 mL [S21]) and 3 for other drugs, then
    :data:`NO_STATE_RANK` for a pump in none of the states."""
    if state is RefillState.COMPUTED_EMPTY:
        return 0
    if state is RefillState.MAY_BE_EMPTY:
        return 1
    if state is RefillState.ALARM_PASSED:
        return 2 if baclofen else 3
    return NO_STATE_RANK


def over_infusion_risk(*, ran_empty: bool, longest_stop_hours: float | None = None) -> bool:
    """Running with no fluid in the reservoir, or a stop of more than 48 hours (HSA notice,
    8 Nov 2016): the pump's over-infusion-risk flag (domain-rules §3)."""
    return ran_empty or (longest_stop_hours is not None and longest_stop_hours > STOP_RISK_HOURS)


def state_from_volumes(
    *,
    nominal_ml: float,
    worst_ml: float,
    alarm_ml: float,
    stopped: bool = False,
    past_end_of_service: bool = False,
) -> RefillState | None:
    """:func:`state_before_refill` from the residuals now: the unfloored nominal one at or
    below 0 (computed empty), the worst-case one at or below 0 (may be empty), the nominal one
    at or below the alarm volume (alarm passed)."""
    if stopped or past_end_of_service or nominal_ml <= 0:
        return RefillState.COMPUTED_EMPTY
    if worst_ml <= 0:
        return RefillState.MAY_BE_EMPTY
    if nominal_ml <= alarm_ml:
        return RefillState.ALARM_PASSED
    return None


def stored_state(
    *,
    now: datetime,
    alarm_at: datetime | None,
    empty_at: datetime | None,
    empty_at_worst_case: datetime | None,
    stopped: bool = False,
    past_end_of_service: bool = False,
) -> RefillState | None:
    """:func:`state_before_refill` of a stored forecast at ``now``. A forecast without
    instants (no fill yet) is in a state only when the pump is stopped or past its end of
    service (computed empty)."""
    if alarm_at is None or empty_at is None:
        return RefillState.COMPUTED_EMPTY if stopped or past_end_of_service else None
    return state_before_refill(
        now=now,
        alarm_at=alarm_at,
        empty_at=empty_at,
        empty_at_worst_case=empty_at_worst_case,
        stopped=stopped,
        past_end_of_service=past_end_of_service,
    )
