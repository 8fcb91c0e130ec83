"""An independent reference for the refill-due date, written from domain-rules only.

Harness 7 (``test_refill_due.py``) checks pumpmgr's stored forecast against this module. It is
written from ``shared/domain-rules.md`` sections 2 to 4 and imports nothing from pumpmgr, so a
mistake in pumpmgr's forecast cannot be copied here. Plain floats in fixed units: mcg, mL,
mcg/day, mcg/mL, days; instants are aware ``datetime`` values, dates are the clinic's local
calendar dates.

The rules it implements:

- ``D = Σ rate_i × duration_i + Σ bolus_j`` per day (§2); ``D_max = D + n × b`` (§2).
- The pump's clock is set to the clinic's wall time at the fill and then runs in real time, so
  flex steps fall at the pump's times of day; elapsed time is always real time (§3: stored
  instants carry their zone, so daylight-saving changes cannot shift a record).
- From the fill, volume leaves the reservoir at the program's rate; the bridge or priming bolus
  drawn at the fill leaves at once (§4). For the alarm *with boluses* every allowed patient bolus
  is taken each day (§3), in every program period since the fill, not only in the current one.
- Days to alarm with boluses from the current program's start: ``(V − Valarm) / (D_max / C)``;
  when the reservoir is already at or below the alarm volume then, the alarm instant is when it
  crossed the alarm volume (found by integrating the earlier periods).
- Worst case (§3, issue 11): every allowed bolus taken and the pump running ``a`` percent fast
  from the fill through every program change: ``V(t) = Vfill − drawn − (1 + a) ∫ D_max/C``;
  the worst-case low reservoir is when it reaches the alarm volume (found by integrating when
  already passed at the current program's start).
- Refill due: the earliest of (the alarm date with boluses − the buffer), the worst-case low
  reservoir's date (no buffer), the fill's date plus the stability limit and plus the longest
  refill interval (both counted in real time from the fill instant), and the solution's expiry
  date; moved back to the nearest earlier open day that is not a closed date (§3). A tie names
  the first in that order. A date is the calendar date of the instant in the clinic zone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

MINUTES_PER_DAY = 1440.0


@dataclass(frozen=True)
class RefProgram:
    """A program in the units above; ``steps`` and ``boluses`` are sorted by minute of day."""

    concentration: float  #: mcg/mL of the drug the rates are written in
    steps: tuple[tuple[int, float], ...]  #: (start minute of day, rate mcg/day)
    boluses: tuple[tuple[int, float], ...] = ()  #: (minute of day, mcg) every day
    ptm_dose: float = 0.0  #: mcg per patient-activated bolus
    ptm_per_day: int = 0

    def rate_at(self, minute: float) -> float:
        """The basal rate (mcg/day) at a minute of the pump's day."""
        current = self.steps[-1][1]  # before the first start, the last step still runs
        for start, rate in self.steps:
            if start <= minute:
                current = rate
        return current

    def next_boundary(self, minute: float) -> float:
        """The next step start after ``minute`` in the same day, or the day's end."""
        for start, _ in self.steps:
            if start > minute:
                return float(start)
        return MINUTES_PER_DAY

    @property
    def daily_dose(self) -> float:
        """D in mcg/day: each step's rate times its share of the day, plus scheduled boluses."""
        total = 0.0
        count = len(self.steps)
        for index, (start, rate) in enumerate(self.steps):
            following = self.steps[(index + 1) % count][0]
            length = (following - start) % 1440 or 1440
            total += rate * length / MINUTES_PER_DAY
        return total + sum(amount for _, amount in self.boluses)

    @property
    def max_daily_dose(self) -> float:
        return self.daily_dose + self.ptm_dose * self.ptm_per_day


@dataclass(frozen=True)
class RefFill:
    at: datetime  #: aware
    volume_ml: float  #: reservoir volume after the fill
    drawn_ml: float = 0.0  #: bridge or priming bolus drawn from the reservoir at the fill
    first_of_pump: bool = False
    expires_on: date | None = None  #: the solution's expiry or beyond-use date
    #: the solution recorded undiluted at the fill (None: not recorded)
    undiluted: bool | None = None


@dataclass(frozen=True)
class RefPeriod:
    effective: datetime  #: aware; the program runs from here until the next period
    program: RefProgram
    stability_days: float | None  #: shortest in-pump stability of its drugs for this fill
    interval_days: float = 90.0  #: the longest refill interval of its solution


@dataclass(frozen=True)
class RefClinic:
    tz: tzinfo
    buffer_days: int
    open_days: frozenset[int]  #: date.weekday() numbers
    closed: frozenset[date] = frozenset()


@dataclass(frozen=True)
class RefDue:
    alarm_with_boluses: datetime  #: aware, UTC
    alarm_date: date  #: local
    stable_until: date | None  #: local date of fill + stability
    due: date
    reason: str  #: "alarm", "worst_case", "stability", "max_interval" or "expiry"
    #: the alarm instant lies so close to local midnight that float noise may pick either date
    alarm_near_midnight: bool
    worst_date: date | None = None  #: local date of the worst-case low reservoir
    interval_until: date | None = None  #: local date of fill + the longest interval
    worst_near_midnight: bool = False


def pump_minutes(fill_at: datetime, moment: datetime, tz: tzinfo) -> float:
    """Minutes on the pump clock since the midnight (pump time) of the fill day."""
    wall = fill_at.astimezone(tz)
    offset = wall.hour * 60 + wall.minute + wall.second / 60 + wall.microsecond / 6e7
    return offset + (moment - fill_at).total_seconds() / 60


def basal_mass(program: RefProgram, start: float, end: float) -> float:
    """mcg the basal steps and scheduled boluses deliver between two pump-clock minutes."""
    total = 0.0
    t = start
    while t < end:
        day = math.floor(t / MINUTES_PER_DAY)
        minute = t - day * MINUTES_PER_DAY
        boundary = day * MINUTES_PER_DAY + program.next_boundary(minute)
        stop = min(end, boundary)
        total += program.rate_at(minute) * (stop - t) / MINUTES_PER_DAY
        t = stop
    first_day = math.floor(start / MINUTES_PER_DAY)
    last_day = math.floor(end / MINUTES_PER_DAY)
    for day in range(first_day, last_day + 1):
        for at, amount in program.boluses:
            moment = day * MINUTES_PER_DAY + at
            if start <= moment < end:
                total += amount
    return total


def volume_with_boluses(
    fill: RefFill,
    periods: list[RefPeriod],
    until: datetime,
    tz: tzinfo,
    *,
    patient_boluses: bool = True,
    fast: float = 1.0,
) -> float:
    """mL left at ``until`` when every allowed patient bolus was taken (may go below zero);
    without ``patient_boluses``, the nominal volume (basal and scheduled boluses only); with
    ``fast`` (1 + a), the pump delivering that much more."""
    left = fill.volume_ml - fill.drawn_ml
    for index, period in enumerate(periods):
        start = max(period.effective, fill.at)
        end = periods[index + 1].effective if index + 1 < len(periods) else until
        end = min(end, until)
        if end <= start:
            continue
        a, b = pump_minutes(fill.at, start, tz), pump_minutes(fill.at, end, tz)
        program = period.program
        mass = basal_mass(program, a, b)
        if patient_boluses:
            mass += program.ptm_dose * program.ptm_per_day * (b - a) / MINUTES_PER_DAY
        left -= fast * mass / program.concentration
    return left


def _crossing(
    fill: RefFill,
    periods: list[RefPeriod],
    alarm_ml: float,
    start: datetime,
    tz: tzinfo,
    fast: float = 1.0,
) -> datetime:
    """When the volume with boluses reached ``alarm_ml`` before ``start`` (bisection)."""
    low, high = fill.at, start
    if volume_with_boluses(fill, periods, low, tz, fast=fast) <= alarm_ml:
        return low
    for _ in range(60):
        middle = low + (high - low) / 2
        if volume_with_boluses(fill, periods, middle, tz, fast=fast) > alarm_ml:
            low = middle
        else:
            high = middle
        if high - low < timedelta(milliseconds=1):
            break
    return high


def last_open_day(
    day: date, open_days: frozenset[int], closed: frozenset[date] = frozenset()
) -> date:
    while day.weekday() not in open_days or day in closed:
        day -= timedelta(days=1)
    return day


def _near_midnight(moment: datetime, tz: tzinfo) -> bool:
    midnight = datetime.combine(moment.astimezone(tz).date(), datetime.min.time(), tz)
    return (
        min(
            abs((moment - midnight).total_seconds()),
            abs((midnight + timedelta(days=1) - moment).total_seconds()),
        )
        < 1.0
    )


def refill_due(
    *,
    clinic: RefClinic,
    fill: RefFill,
    periods: list[RefPeriod],
    alarm_ml: float,
    accuracy_percent: float = 0.0,
) -> RefDue:
    """The refill-due date after ``fill`` with the program periods in force since it.

    ``periods`` are sorted by effective time; the first is the program in force at the fill.
    ``accuracy_percent`` is the worst case's ``a``.
    """
    tz = clinic.tz
    current = periods[-1]
    start = max(fill.at, current.effective)
    left = volume_with_boluses(fill, periods, start, tz)
    program = current.program
    if left > alarm_ml:
        days = (left - alarm_ml) / (program.max_daily_dose / program.concentration)
        alarm = start + timedelta(days=days)
    else:
        alarm = _crossing(fill, periods, alarm_ml, start, tz)
    alarm_local = alarm.astimezone(tz)
    alarm_date = alarm_local.date()
    midnight = datetime.combine(alarm_date, datetime.min.time(), tz)
    from_midnight = abs((alarm - midnight).total_seconds())
    to_next = abs((midnight + timedelta(days=1) - alarm).total_seconds())
    near = min(from_midnight, to_next) < 1.0
    fast = 1 + accuracy_percent / 100
    worst_left = volume_with_boluses(fill, periods, start, tz, fast=fast)
    if worst_left > alarm_ml:
        worst = start + timedelta(
            days=(worst_left - alarm_ml) / (fast * program.max_daily_dose / program.concentration)
        )
    else:
        worst = _crossing(fill, periods, alarm_ml, start, tz, fast=fast)

    def after_fill(days: float) -> date:
        return (fill.at.astimezone(UTC) + timedelta(days=days)).astimezone(tz).date()

    limits: list[tuple[date, str]] = [
        (alarm_date - timedelta(days=clinic.buffer_days), "alarm"),
        (worst.astimezone(tz).date(), "worst_case"),
    ]
    stable_until = None
    if current.stability_days is not None:
        stable_until = after_fill(current.stability_days)
        limits.append((stable_until, "stability"))
    interval_until = after_fill(current.interval_days)
    limits.append((interval_until, "max_interval"))
    if fill.expires_on is not None:
        limits.append((fill.expires_on, "expiry"))
    due, reason = limits[0]
    for day, why in limits[1:]:
        if day < due:
            due, reason = day, why
    return RefDue(
        alarm_with_boluses=alarm.astimezone(UTC),
        alarm_date=alarm_date,
        stable_until=stable_until,
        due=last_open_day(due, clinic.open_days, clinic.closed),
        reason=reason,
        alarm_near_midnight=near,
        worst_date=worst.astimezone(tz).date(),
        interval_until=interval_until,
        worst_near_midnight=_near_midnight(worst, tz),
    )
