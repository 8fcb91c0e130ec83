"""A pump's forecast since its last fill, through every program change: the one forecast the
due list stores, for one pump or for 5,000 at once.

Pure layer: stdlib, :mod:`pumpmgr.forecast` (the rules: the accuracy of the worst case, the
days to a level, the refill-due date), :mod:`pumpmgr.since_fill` (the walk over the programs
since the fill), :mod:`pumpmgr.clock`, :mod:`pumpmgr.schedule` and :mod:`pumpmgr.units` (pint
only at the boundary, :meth:`ProgramFloats.of`, and to word a refusal). Inside, plain floats
in fixed canonical units: mL, mL/day, mcg, mcg/day, mcg/mL, minutes of the pump's day. A stored
rate is mcg/day and a concentration mcg/mL, so the stored rows need no conversion
(:func:`program_floats`), and a saved prescription's program gives the same floats
(:meth:`ProgramFloats.of`): the pump-by-pump refresh and the clinic-wide one write the same
rows.

The formulas are domain-rules §3's (worked examples in domain.md §6): the expected residual at
the current program's start, every allowed patient bolus taken since the fill for the alarm
with boluses and the worst case of :func:`pumpmgr.forecast.worst_case_accuracy` through every
program (all three :class:`pumpmgr.since_fill.SinceFill`'s, as the refill visit's are), then
each at the current program's rates; and the refill-due date of
:func:`pumpmgr.forecast.refill_due_date` on the clinic's calendar dates of the real instants
(:func:`pumpmgr.forecast.on_clinic_clock`'s rule).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from pumpmgr.clock import PumpClock
from pumpmgr.errors import Code, ImpossibleInput
from pumpmgr.forecast import DueReason, days_until, last_open_day, refill_due_date
from pumpmgr.forecast import worst_case_accuracy as worst_case_accuracy
from pumpmgr.records import ClinicSettings, PrescriptionRecord
from pumpmgr.schedule import ProgramRates
from pumpmgr.since_fill import SinceFill
from pumpmgr.units import (
    MCG_PER_ML,
    ML,
    PLAUSIBLE_MAGNITUDES,
    Q_,
    Kind,
    require_not_negative,
    require_positive,
)

_MINUTES_PER_DAY = 24 * 60
#: Most steps a day a program may have (SynchroMed II flex dosing [S3]).
_MAX_STEPS = 13

#: A solution as the forecast reads it: (drug key, mcg/mL) by position.
Solution = tuple[tuple[str, float], ...]
#: The reason of a stored refill-due date: a limit's, or no fill yet, or no prescription then.
StoredReason = DueReason | str
#: The in-pump stability limit in days of a solution, given the drugs it is the pump's first
#: fill of (:func:`pumpmgr.stability.first_fills`) and whether it was recorded undiluted (None:
#: not recorded).
StabilityOf = Callable[[Solution, frozenset[str], bool | None], float | None]


@dataclass(frozen=True)
class FillPoint:
    """The latest current fill of a pump: when, how much, and the drugs whose first fill in the
    pump put the solution there; and what the refill-due date's limits need of the refills
    (domain-rules §3)."""

    performed_at: datetime
    final_ml: float
    bolus_ml: float
    #: the library keys of the drugs the solution in the pump is the pump's first fill of
    #: (:func:`pumpmgr.stability.first_fills`: ziconotide's own limit follows it)
    first_fill_of: frozenset[str]
    #: the delivery error ``e`` measured at this refill, percent (None: not measured, or |Δ|
    #: within the syringe's reading error)
    measured_error_percent: float | None = None
    #: the fill whose solution is in the pump: older than ``performed_at`` after a top-up that
    #: did not empty the reservoir (None: this fill)
    solution_filled_at: datetime | None = None
    #: the earliest expiry or beyond-use date of the solutions in the pump
    expires_on: date | None = None
    #: a refill of this pump found it empty or set the over-infusion-risk flag (ran empty, or
    #: without drug over 48 hours: :func:`pumpmgr.restart.restart_at_visit`)
    ran_empty: bool = False
    #: the solution in the pump was recorded undiluted at the fill (None: not recorded; never
    #: inferred from the concentration, domain-rules §3)
    undiluted: bool | None = None


@dataclass(frozen=True)
class ProgramFloats:
    """A program from its start, as the stored forecast reads it: its solution (for the
    stability and interval limits) and its canonical floats (:class:`ProgramRates`, what
    :class:`pumpmgr.since_fill.SinceFill` integrates)."""

    effective_at: datetime
    ingredients: Solution
    rates: ProgramRates

    @classmethod
    def make(
        cls,
        effective_at: datetime,
        ingredients: Solution,
        steps: Sequence[tuple[int, int, float]],
        boluses: Sequence[tuple[int, float]],
        patient_bolus_mcg_per_day: float,
    ) -> ProgramFloats:
        """Dosed in the first ingredient's mcg/mL."""
        rates = ProgramRates.make(steps, boluses, ingredients[0][1], patient_bolus_mcg_per_day)
        return cls(effective_at, ingredients, rates)

    @classmethod
    def of(cls, prescription: PrescriptionRecord) -> ProgramFloats:
        """The floats of a saved prescription's program (pint stops here)."""
        return cls(
            prescription.effective_at,
            tuple(
                (i.drug, float(i.concentration.to(MCG_PER_ML).m)) for i in prescription.ingredients
            ),
            prescription.program.rates(),
        )


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def _plausible(value: float, *, zero: bool = False) -> bool:
    """Whether :func:`pumpmgr.units.require` accepts the magnitude (``zero``: also 0)."""
    low, high = PLAUSIBLE_MAGNITUDES
    return (zero and value == 0) or (math.isfinite(value) and low <= abs(value) <= high)


def program_floats(
    effective_at: datetime,
    ingredients: list[tuple[int, str, float]],
    steps: list[tuple[time, float]],
    boluses: list[tuple[time, float]],
    bolus: tuple[float | None, int | None, float | None],
) -> ProgramFloats | None:
    """The program of stored rows (ingredients as position, drug key, mcg/mL; steps as start,
    mcg/day; scheduled boluses as time, mcg; the patient bolus as mcg, most a day, lockout
    days); None when the rows are not a program the schedule would accept (the caller then
    reads the prescription with pint, which says why)."""
    ordered = sorted(steps, key=lambda s: _minutes(s[0]))
    starts = [start for start, _ in ordered]
    times = [at for at, _ in boluses]
    if (
        not ordered
        or len(ordered) > _MAX_STEPS
        or not ingredients
        or len(set(starts)) < len(starts)
        or len(set(times)) < len(times)
        or not all(r > 0 and _plausible(r) for _, r in ordered)
        or not all(a > 0 and _plausible(a) for _, a in boluses)
    ):
        return None
    shape = []
    for index, (start, rate) in enumerate(ordered):
        begin = _minutes(start)
        following = _minutes(ordered[(index + 1) % len(ordered)][0])
        shape.append((begin, (following - begin) % _MINUTES_PER_DAY or _MINUTES_PER_DAY, rate))
    solution = tuple((key, c) for _, key, c in sorted(ingredients))
    if solution[0][1] <= 0 or not _plausible(solution[0][1]):
        return None
    dose, per_day, lockout = bolus
    extra = 0.0
    if dose is not None and per_day is not None:
        if (
            isinstance(per_day, bool)
            or not 0 <= per_day <= 96
            or dose <= 0
            or not _plausible(dose)
            or (lockout and not _plausible(lockout))
        ):
            return None
        extra = dose * per_day  # PatientBolus.daily_maximum: dose × n a day
    scheduled = sorted(((_minutes(at), amount) for at, amount in boluses), key=lambda b: b[0])
    return ProgramFloats.make(effective_at, solution, shape, scheduled, extra)


@dataclass(frozen=True)
class PumpOutlook:
    """The stored forecast's values (the ``pump_forecasts`` columns of the same names):
    instants aware in UTC, volumes in mL, the refill-due date on the clinic's calendar."""

    refill_due: date
    refill_due_reason: StoredReason
    over_infusion_risk: bool
    filled_at: datetime | None = None  #: the current program's start, or the fill's
    fill_volume_ml: float | None = None  #: left then (nominal)
    daily_volume_ml_per_day: float | None = None
    alarm_at: datetime | None = None
    alarm_at_with_boluses: datetime | None = None
    empty_at: datetime | None = None
    alarm_at_worst_case: datetime | None = None
    empty_at_worst_case: datetime | None = None


def _check_fill(fill: FillPoint) -> None:
    """Refuse a fill the forecast cannot start from, in the words of the pint checks."""
    if fill.final_ml <= 0 or not _plausible(fill.final_ml):
        require_positive(Q_(fill.final_ml, ML), Kind.VOLUME, "fill volume")
    if fill.bolus_ml < 0 or not _plausible(fill.bolus_ml, zero=True):
        require_not_negative(Q_(fill.bolus_ml, ML), Kind.VOLUME, "extra volume")


def pump_forecast(
    *,
    fill: FillPoint | None,
    running: Sequence[ProgramFloats],
    alarm_ml: float,
    labelled_accuracy: float | None,
    constant_flow: bool,
    settings: ClinicSettings,
    stability: StabilityOf,
    interval: Callable[[Solution], float],
    tz: tzinfo,
    now: datetime,
) -> PumpOutlook:
    """The forecast of a pump with its last fill ``fill`` (None: never filled, due for its
    first fill today) and ``running``, the program in force at the fill and every later one
    (empty: none was in force, due on the fill's day). ``stability`` and ``interval`` give the
    in-pump stability limit (of a solution, the drugs it is the pump's first fill of, recorded
    undiluted or not or not recorded: :attr:`FillPoint.undiluted`) and the longest refill
    interval (of a solution), in days. Refuses what the forecast cannot start from."""
    open_days, closed = settings.open_days, settings.closed_dates
    if fill is None:
        return PumpOutlook(
            last_open_day(now.astimezone(tz).date(), open_days, closed), "first_fill", False
        )
    if not running:
        return PumpOutlook(
            last_open_day(fill.performed_at.astimezone(tz).date(), open_days, closed),
            "no_prescription",
            fill.ran_empty,
        )
    _check_fill(fill)
    accuracy = worst_case_accuracy(
        labelled_accuracy, fill.measured_error_percent, constant_flow=constant_flow
    )
    try:
        return _outlook(fill, running, alarm_ml, accuracy.factor, settings, stability, interval, tz)
    except OverflowError:
        raise ImpossibleInput(
            "refill due: the forecast runs past any calendar date; check the dose and "
            "concentration units",
            code=Code.OUT_OF_RANGE,
            field="dose",
        ) from None


def _outlook(
    fill: FillPoint,
    running: Sequence[ProgramFloats],
    alarm_ml: float,
    fast: float,
    settings: ClinicSettings,
    stability: StabilityOf,
    interval: Callable[[Solution], float],
    tz: tzinfo,
) -> PumpOutlook:
    clock = PumpClock(fill.performed_at, tz)
    since = SinceFill(
        clock.to_pump(fill.performed_at),
        fill.final_ml,
        fill.bolus_ml,
        tuple((clock.to_pump(p.effective_at), p.rates) for p in running),
    )
    start = max(since.filled_at, since.periods[-1][0])
    current = running[-1]
    daily, max_daily = current.rates.daily_ml, current.rates.max_daily_ml
    # the expected residual at the current program's start
    volume = max(0.0, since.expected_ml(start))
    # every allowed patient bolus taken each day since the fill, in the earlier programs too
    with_boluses = max(0.0, volume - since.patient_bolus_ml(start))
    # every bolus taken and the pump running fast since the fill, through every program
    # change (domain-rules §3), then at the current program's rates
    worst = since.worst_ml(start, fast)

    def worst_reaches(level_ml: float) -> datetime:
        if worst > level_ml:
            return start + timedelta(days=days_until(worst, level_ml, max_daily * fast))
        return since.worst_reached(level_ml, fast, start)

    alarm_at = clock.to_instant(start + timedelta(days=days_until(volume, alarm_ml, daily)))
    with_boluses_at = clock.to_instant(
        start + timedelta(days=days_until(with_boluses, alarm_ml, max_daily))
    )
    worst_alarm_at = clock.to_instant(worst_reaches(alarm_ml))
    # Dates are the clinic's calendar dates of the real instants (forecast.on_clinic_clock).
    due, reason = refill_due_date(
        filled_at=(fill.solution_filled_at or fill.performed_at).astimezone(tz),
        alarm_at_with_boluses=with_boluses_at.astimezone(tz),
        worst_case_at=worst_alarm_at.astimezone(tz),
        buffer_days=settings.buffer_days,
        stability_days=stability(current.ingredients, fill.first_fill_of, fill.undiluted),
        max_interval_days=interval(current.ingredients),
        expires_on=fill.expires_on,
        open_days=settings.open_days,
        closed_dates=settings.closed_dates,
    )
    return PumpOutlook(
        refill_due=due,
        refill_due_reason=reason,
        over_infusion_risk=fill.ran_empty,
        filled_at=clock.to_instant(start),
        fill_volume_ml=volume,
        daily_volume_ml_per_day=daily,
        alarm_at=alarm_at,
        alarm_at_with_boluses=with_boluses_at,
        empty_at=clock.to_instant(start + timedelta(days=volume / daily)),
        alarm_at_worst_case=worst_alarm_at,
        empty_at_worst_case=clock.to_instant(worst_reaches(0.0)),
    )
