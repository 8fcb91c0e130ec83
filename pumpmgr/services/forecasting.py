"""Recompute a pump's stored forecast from its last fill and the programs since (application
layer: pure calculations over rows read in the caller's session).

The stored forecast is what makes the due list one indexed query. It is rewritten by every
service that changes one of its inputs: a refill, a prescription change, a pump change, a
correction, a clinic setting or a drug-library edit.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, aliased

from pumpmgr.catalogs import Drug, DrugLibrary
from pumpmgr.clock import PumpClock as PumpClock  # the pump's clock (re-exported)
from pumpmgr.db import schema as db
from pumpmgr.errors import CatalogError, Code, ImpossibleInput, InputError, PumpMgrError
from pumpmgr.forecast import days_until, last_open_day, refill_due_date, worst_case_accuracy
from pumpmgr.records import ClinicSettings, PrescriptionRecord
from pumpmgr.refill import (
    Discrepancy,
    ProgramPeriod,
    expected_residual,
    worst_case_error_percent,
)
from pumpmgr.units import PLAUSIBLE_MAGNITUDES, Q_
from pumpmgr.visit import max_interval_days

#: The due list counts days left from the alarm with every allowed bolus taken (domain-rules
#: section 3: the refill-due date is built on it).
DAYS_LEFT_BASIS = "with_boluses"


@dataclass(frozen=True)
class FillPoint:
    """The latest current fill of a pump: when, how much, and whether it was the pump's first;
    and what the refill-due date's limits need of the refills (domain-rules §3)."""

    performed_at: datetime
    final_ml: float
    bolus_ml: float
    first_fill: bool
    #: the delivery error ``e`` measured at this refill, percent (None: not measured, or |Δ|
    #: within the syringe's reading error)
    measured_error_percent: float | None = None
    #: the fill whose solution is in the pump: older than ``performed_at`` after a top-up that
    #: did not empty the reservoir (None: this fill)
    solution_filled_at: datetime | None = None
    #: the earliest expiry or beyond-use date of the solutions in the pump
    expires_on: date | None = None
    #: a refill of this pump found it empty: the over-infusion-risk flag
    ran_empty: bool = False


#: An old solution is left in the reservoir when the final volume exceeds what was added by
#: more than this (mL): the fill was a top-up.
TOP_UP_ML = 0.01


def fill_point(refills: list[db.Refill]) -> FillPoint | None:
    """The pump's :class:`FillPoint` from its current refills, oldest first (None: no fill)."""
    if not refills:
        return None
    last = refills[-1]
    error = None
    if len(refills) > 1 and last.discrepancy_verdict != "first_fill":
        error = worst_case_error_percent(refills[-2].final_reservoir_ml, unfloored_expected(last),
                               last.aspirated_ml)
    origin = len(refills) - 1
    while origin > 0 and (refills[origin].final_reservoir_ml
                          - refills[origin].volume_added_ml) > TOP_UP_ML:
        origin -= 1
    solution = refills[origin:]
    return FillPoint(
        last.performed_at, last.final_reservoir_ml, last.bolus_volume_ml or 0.0,
        len(refills) == 1, measured_error_percent=error,
        solution_filled_at=None if origin == len(refills) - 1 else refills[origin].performed_at,
        expires_on=min(r.expiry_date for r in solution),
        ran_empty=any(r.discrepancy_verdict == "found_empty" for r in refills))


#: Where :func:`session_cache` keeps its reads, in ``Session.info``.
_CACHE_KEY = "pumpmgr.reads"
#: The cached reads that rows of each table feed: a flush writing such rows forgets them.
_FEEDS: dict[str, tuple[str, ...]] = {
    "refills": ("refills",),
    "prescriptions": ("prescriptions",),
    "prescription_ingredients": ("prescriptions",),
    "schedule_steps": ("prescriptions",),
    "scheduled_boluses": ("prescriptions",),
    "prescription_findings": ("prescriptions",),
    "drug_library_edits": ("library", "prescriptions"),
    "users": ("users",),
}


def session_cache(session: Session, kind: str) -> dict[Any, Any]:
    """Reads of ``kind`` ("refills", "prescriptions", "library", "users") kept for the rest
    of one unit of work, so that an action reading a pump's refills or prescriptions several
    times (check, expected residual, forecast) loads and maps them once.

    The session's pending changes are flushed first, as a query would; a flush that writes
    rows of a table a kind is read from forgets that kind (:data:`_FEEDS`). Nothing outlives
    the session.
    """
    if session.new or session.dirty or session.deleted:
        session.flush()
    caches: dict[str, dict[Any, Any]] | None = session.info.get(_CACHE_KEY)
    if caches is None:
        caches = session.info[_CACHE_KEY] = {}
        event.listen(session, "after_flush", _forget_written)
    return caches.setdefault(kind, {})


def _forget_written(session: Session, _context: object) -> None:
    caches: dict[str, dict[Any, Any]] | None = session.info.get(_CACHE_KEY)
    if not caches:
        return
    for written in itertools.chain(session.new, session.dirty, session.deleted):
        table = getattr(type(written), "__tablename__", None)
        for kind in _FEEDS.get(table, ()) if isinstance(table, str) else ():
            caches.pop(kind, None)


def current_refills(session: Session, pump_id: int) -> list[db.Refill]:
    """The pump's refills that no later row corrects, oldest first."""
    cache = session_cache(session, "refills")
    found: list[db.Refill] | None = cache.get(pump_id)
    if found is None:
        corrected = select(db.Refill.corrects_id).where(db.Refill.corrects_id.is_not(None))
        found = cache[pump_id] = list(
            session.scalars(
                select(db.Refill)
                .where(db.Refill.pump_id == pump_id, db.Refill.id.not_in(corrected))
                .order_by(db.Refill.performed_at, db.Refill.id)
            )
        )
    return list(found)


def naive_local(moment: datetime, tz: tzinfo) -> datetime:
    """The clinic's wall-clock time of an instant, without its zone."""
    return moment.astimezone(tz).replace(tzinfo=None)


def stability_days(
    prescription: PrescriptionRecord, library: DrugLibrary, *, first_fill: bool
) -> float | None:
    """The shortest in-pump stability limit of the solution's drugs, in days (or none set).

    A drug counts as undiluted when its concentration is one of its stock strengths [S33].
    """
    limits: list[float] = []
    for ingredient in prescription.ingredients:
        try:
            drug: Drug = library.drug(ingredient.drug)
        except CatalogError:
            continue
        strength = float(ingredient.concentration.to("mcg/mL").m)
        undiluted = any(
            abs(float(stock.to("mcg/mL").m) - strength) <= 1e-9 * strength
            for stock in drug.stock_concentrations
        )
        limit = drug.stability.limit(diluted=not undiluted, new_pump_first_fill=first_fill)
        if limit is not None:
            limits.append(float(limit.to("day").m))
    return min(limits) if limits else None


def patient_bolus_volume_ml(
    running: list[PrescriptionRecord], filled_at: datetime, until: datetime
) -> float:
    """mL the patient-activated boluses take from ``filled_at`` to ``until`` when every allowed
    bolus is taken each day, over the programs that ran (each until the next one starts)."""
    total = 0.0
    for index, prescription in enumerate(running):
        begin = max(prescription.effective_at, filled_at)
        end = running[index + 1].effective_at if index + 1 < len(running) else until
        end = min(end, until)
        if end <= begin:
            continue
        program = prescription.program
        extra = float((program.max_daily_volume() - program.daily_volume()).to("mL/day").m)
        total += extra * (end - begin).total_seconds() / 86400
    return total


def interval_days(ingredients: tuple[tuple[str, float], ...], library: DrugLibrary,
                  settings: ClinicSettings) -> float:
    """:func:`pumpmgr.visit.max_interval_days` of a stored solution (drug key, mcg/mL)."""
    from pumpmgr.records import Ingredient

    return max_interval_days([Ingredient(drug, Q_(strength, "mcg/mL"))
                              for drug, strength in ingredients], library,
                             settings.max_refill_interval_days)[0]


#: A period's delivery for the worst case: its start (the pump's time), the mcg its basal steps
#: and scheduled boluses deliver from a minute of day over some minutes, its concentration
#: (mcg/mL) and the mL/day its patient boluses add when every one is taken.
WorstPeriod = tuple[datetime, Callable[[float, float], float], float, float]


def _worst_delivered(periods: list[WorstPeriod], filled_at: datetime, at: datetime) -> float:
    """mL delivered from the fill to ``at`` (the pump's times) with every bolus taken."""
    total = 0.0
    for index, (begin, mass, concentration, extra) in enumerate(periods):
        begin = max(begin, filled_at)
        end = min(periods[index + 1][0] if index + 1 < len(periods) else at, at)
        if end <= begin:
            continue
        minutes = (end - begin).total_seconds() / 60
        minute_of_day = begin.hour * 60 + begin.minute + begin.second / 60
        total += mass(minute_of_day, minutes) / concentration + extra * minutes / 1440
    return total


def _worst_crossing(level_ml: float, left_at: Callable[[datetime], float],
                    filled_at: datetime, start: datetime) -> datetime:
    """When the worst-case residual fell to ``level_ml`` between the fill and ``start`` (the
    pump's times; bisection to a millisecond)."""
    low, high = filled_at, start
    if left_at(low) <= level_ml:
        return low
    while high - low > timedelta(milliseconds=1):
        middle = low + (high - low) / 2
        if left_at(middle) > level_ml:
            low = middle
        else:
            high = middle
    return high


def _outlook(
    row: dict[str, Any], *, pump: db.Pump, labelled_accuracy: float | None, fill: FillPoint,
    clock: PumpClock, start: datetime, periods: list[WorstPeriod],
    volume: float, with_boluses: float, daily: float, max_daily: float,
    settings: ClinicSettings, stability: float | None, interval: float, tz: tzinfo,
) -> None:
    """The instants and the refill-due date of a forecast from ``start`` (the pump's time) with
    ``volume`` left (nominal) and ``with_boluses`` left when every bolus was taken; written
    into ``row``. The one tail of :func:`compute` and :func:`compute_floats`, so both give the
    same dates."""
    accuracy = worst_case_accuracy(labelled_accuracy, fill.measured_error_percent,
                                   constant_flow=pump.nominal_flow_ml_per_day is not None)
    fast = 1 + accuracy.percent / 100
    filled_at = clock.to_pump(fill.performed_at)

    def worst_at(at: datetime) -> float:
        # every bolus taken and the pump running fast since the fill, through every program
        # change (domain-rules §3); not floored
        return fill.final_ml - fast * _worst_delivered(periods, filled_at, at) - fill.bolus_ml

    worst = worst_at(start)
    alarm_ml = pump.low_reservoir_alarm_ml

    def worst_reaches(level_ml: float) -> datetime:
        if worst > level_ml:
            return start + timedelta(days=days_until(worst, level_ml, max_daily * fast))
        return _worst_crossing(level_ml, worst_at, filled_at, start)

    row["alarm_at"] = clock.to_instant(start + timedelta(days=days_until(volume, alarm_ml,
                                                                         daily)))
    row["alarm_at_with_boluses"] = clock.to_instant(start + timedelta(
        days=days_until(with_boluses, alarm_ml, max_daily)))
    row["empty_at"] = clock.to_instant(start + timedelta(days=volume / daily))
    row["alarm_at_worst_case"] = clock.to_instant(worst_reaches(alarm_ml))
    row["empty_at_worst_case"] = clock.to_instant(worst_reaches(0.0))
    row["over_infusion_risk"] = fill.ran_empty
    # Dates are the clinic's calendar dates of the real instants (forecast.on_clinic_clock).
    row["refill_due"], row["refill_due_reason"] = refill_due_date(
        filled_at=(fill.solution_filled_at or fill.performed_at).astimezone(tz),
        alarm_at_with_boluses=row["alarm_at_with_boluses"].astimezone(tz),
        worst_case_at=row["alarm_at_worst_case"].astimezone(tz),
        buffer_days=settings.buffer_days, stability_days=stability,
        max_interval_days=interval, expires_on=fill.expires_on,
        open_days=settings.open_days, closed_dates=settings.closed_dates)


def compute(
    *,
    pump: db.Pump,
    fill: FillPoint | None,
    prescriptions: list[PrescriptionRecord],
    settings: ClinicSettings,
    library: DrugLibrary,
    accuracy_percent: float | None,
    tz: tzinfo,
    now: datetime,
) -> db.PumpForecast:
    """The forecast row for ``pump`` (not added to any session).

    ``accuracy_percent`` is the pump's labelled accuracy (``pump.accuracy_percent``); the worst
    case takes the larger of it (15 % assumed where unknown) and the over-delivery measured at
    the last refill (:func:`pumpmgr.forecast.worst_case_accuracy`).
    """
    row = db.PumpForecast(pump_id=pump.id, computed_at=now, days_left_basis=DAYS_LEFT_BASIS,
                          over_infusion_risk=False if fill is None else fill.ran_empty)
    if fill is None:
        # A pump with no fill on record is due for its first fill now.
        row.refill_due = last_open_day(naive_local(now, tz).date(), settings.open_days,
                                       settings.closed_dates)
        row.refill_due_reason = "first_fill"
        return row
    in_force = [p for p in prescriptions if p.effective_at <= fill.performed_at]
    if not in_force:
        row.refill_due = last_open_day(naive_local(fill.performed_at, tz).date(),
                                       settings.open_days, settings.closed_dates)
        row.refill_due_reason = "no_prescription"
        return row
    running = [in_force[-1], *[p for p in prescriptions if p.effective_at > fill.performed_at]]
    clock = PumpClock(fill.performed_at, tz)
    filled_at = clock.to_pump(fill.performed_at)
    start = max(filled_at, clock.to_pump(running[-1].effective_at))
    periods = [ProgramPeriod(clock.to_pump(p.effective_at), p.program) for p in running]
    residual = expected_residual(
        fill_volume=Q_(fill.final_ml, "mL"), filled_at=filled_at, at=start, programs=periods,
        extra_volume=Q_(fill.bolus_ml, "mL"),
    )
    current = running[-1]
    volume = float(residual.expected_residual.m)
    daily = float(current.program.daily_volume().to("mL/day").m)
    max_daily = float(current.program.max_daily_volume().to("mL/day").m)
    row.filled_at = clock.to_instant(start)
    row.fill_volume_ml = volume
    row.daily_volume_ml_per_day = daily
    # With boluses, every allowed patient bolus was taken each day since the fill, in the
    # earlier programs too (domain-rules §3), so less is left at the current program's start.
    bolus_ml = patient_bolus_volume_ml(running, fill.performed_at, clock.to_instant(start))
    values: dict[str, Any] = {}
    try:
        worst_periods: list[WorstPeriod] = [
            (period.starts_at, period.program.schedule.delivered_mass_mcg,
             float(period.program.concentration.to("mcg/mL").m),
             float((period.program.max_daily_volume() - period.program.daily_volume())
                   .to("mL/day").m))
            for period in periods]
        _outlook(values, pump=pump, labelled_accuracy=accuracy_percent, fill=fill, clock=clock,
                 start=start, periods=worst_periods, volume=volume,
                 with_boluses=max(0.0, volume - bolus_ml), daily=daily,
                 max_daily=max_daily, settings=settings,
                 stability=stability_days(current, library, first_fill=fill.first_fill),
                 interval=interval_days(tuple((i.drug, float(i.concentration.to("mcg/mL").m))
                                              for i in current.ingredients), library, settings),
                 tz=tz)
    except OverflowError:
        raise ImpossibleInput(
            "refill due: the forecast runs past any calendar date; check the dose and "
            "concentration units", code=Code.OUT_OF_RANGE, field="dose") from None
    for key, value in values.items():
        setattr(row, key, value)
    return row


# ---------------------------------------------------------------------------------------------
# Many pumps at once (a clinic setting or a drug-library edit): the same forecasts on canonical
# magnitudes, with the pint quantities left at the edges.

_MINUTES_PER_DAY = 24 * 60
#: Ids per IN list (SQLite's oldest limit on bound parameters is 999).
_CHUNK = 900


@dataclass(frozen=True)
class ProgramFloats:
    """A saved prescription's program as the canonical floats the pure functions reduce it to.

    Read straight from the stored magnitudes: a stored rate is mcg/day and a concentration
    mcg/mL, so every unit conversion :mod:`pumpmgr.schedule` makes on them has the factor 1,
    and the sums below are the ones :meth:`pumpmgr.schedule.Schedule.daily_dose`,
    :meth:`~pumpmgr.schedule.Schedule.delivered_mass_mcg` and
    :meth:`~pumpmgr.schedule.Program.daily_volume` compute, in the same order, so they give the
    same floats (``tests/test_bench.py`` compares every forecast both ways).
    """

    effective_at: datetime
    ingredients: tuple[tuple[str, float], ...]  #: drug key, mcg/mL, by position
    steps: tuple[tuple[int, int, float], ...]  #: start minute, minutes, mcg/day
    boluses: tuple[tuple[int, float], ...]  #: minute of day, mcg
    daily_dose: float  #: mcg/day
    daily_ml: float
    max_daily_ml: float

    @property
    def concentration(self) -> float:
        return self.ingredients[0][1]

    def delivered_mass_mcg(self, start_minute_of_day: float, minutes: float) -> float:
        """:meth:`pumpmgr.schedule.Schedule.delivered_mass_mcg` on these floats."""
        if minutes <= 0:
            return 0.0
        whole_days, rest = divmod(minutes, _MINUTES_PER_DAY)
        total = whole_days * self.daily_dose
        position = start_minute_of_day % _MINUTES_PER_DAY
        end = position + rest
        for start, length, rate in self.steps:
            for shift in (-_MINUTES_PER_DAY, 0, _MINUTES_PER_DAY):
                overlap = min(start + length + shift, end) - max(start + shift, position)
                if overlap > 0:
                    total += rate * overlap / _MINUTES_PER_DAY
        for at, amount in self.boluses:
            for candidate in (at, at + _MINUTES_PER_DAY):
                if position <= candidate < end:
                    total += amount
        return total


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
    days); None when the rows are not a program the schedule would accept (then the forecast
    is computed the reference way, which says why)."""

    def minutes(moment: time) -> int:
        return moment.hour * 60 + moment.minute

    ordered = sorted(steps, key=lambda s: minutes(s[0]))
    starts = [start for start, _ in ordered]
    times = [at for at, _ in boluses]
    if (not ordered or len(ordered) > 13 or not ingredients or len(set(starts)) < len(starts)
            or len(set(times)) < len(times)
            or not all(r > 0 and _plausible(r) for _, r in ordered)
            or not all(a > 0 and _plausible(a) for _, a in boluses)):
        return None
    shape = []
    for index, (start, rate) in enumerate(ordered):
        begin = minutes(start)
        following = minutes(ordered[(index + 1) % len(ordered)][0])
        shape.append((begin, (following - begin) % _MINUTES_PER_DAY or _MINUTES_PER_DAY, rate))
    scheduled = [(minutes(at), amount) for at, amount in sorted(boluses, key=lambda b:
                                                                  minutes(b[0]))]
    basal = sum(rate * length / _MINUTES_PER_DAY for _, length, rate in shape)
    daily_dose = basal + sum(amount for _, amount in scheduled)
    ordered_ingredients = tuple((key, c) for _, key, c in sorted(ingredients))
    concentration = ordered_ingredients[0][1]
    if concentration <= 0 or not _plausible(concentration):
        return None
    max_dose = daily_dose
    dose, per_day, lockout = bolus
    if dose is not None and per_day is not None:
        if (isinstance(per_day, bool) or not 0 <= per_day <= 96 or dose <= 0
                or not _plausible(dose) or (lockout and not _plausible(lockout))):
            return None
        # PatientBolus.daily_maximum: dose × n / (1 day), then added to the daily dose
        max_dose = daily_dose + dose * per_day / 1
    return ProgramFloats(effective_at, ordered_ingredients, tuple(shape), tuple(scheduled),
                         daily_dose, daily_dose / concentration, max_dose / concentration)


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[i:i + _CHUNK] for i in range(0, len(ids), _CHUNK)]


def last_fills(session: Session, pump_ids: list[int]) -> dict[int, FillPoint]:
    """Each pump's latest current fill (:func:`fill_point` of :func:`current_refills`), in a
    few queries."""
    corrected = select(db.Refill.corrects_id).where(db.Refill.corrects_id.is_not(None))
    latest, second = aliased(db.Refill), aliased(db.Refill)
    emptied = aliased(db.Refill)

    def nth(alias: Any, offset: int) -> Any:
        return (select(alias.id).where(alias.pump_id == db.Pump.id, alias.id.not_in(corrected))
                .order_by(alias.performed_at.desc(), alias.id.desc()).limit(1).offset(offset)
                .correlate(db.Pump).scalar_subquery())

    previous_final = (select(second.final_reservoir_ml).where(second.id == nth(second, 1))
                      .correlate(db.Pump).scalar_subquery())
    ran_empty = (select(emptied.id).where(emptied.pump_id == db.Pump.id,
                                          emptied.id.not_in(corrected),
                                          emptied.discrepancy_verdict == "found_empty")
                 .correlate(db.Pump).exists())
    r = db.Refill
    fills: dict[int, FillPoint] = {}
    for chunk in _chunks(pump_ids):
        rows = session.execute(
            select(db.Pump.id, r.performed_at, r.final_reservoir_ml, r.bolus_volume_ml,
                   previous_final, r.expected_residual_ml, r.expected_residual_unfloored_ml,
                   r.aspirated_ml, r.volume_added_ml, r.discrepancy_verdict, r.expiry_date,
                   ran_empty)
            .join(r, r.id == nth(latest, 0))
            .where(db.Pump.id.in_(chunk)))
        for (pump_id, performed_at, final_ml, bolus_ml, before_ml, expected_ml, unfloored_ml,
             aspirated_ml, added_ml, verdict, expiry, empty) in rows:
            if final_ml - added_ml > TOP_UP_ML:  # a top-up: the older solutions count too
                found = fill_point(current_refills(session, pump_id))
                if found is not None:
                    fills[pump_id] = found
                continue
            error = None if before_ml is None or verdict == "first_fill" else (
                worst_case_error_percent(before_ml, expected_ml if unfloored_ml is None
                                         else unfloored_ml, aspirated_ml))
            fills[pump_id] = FillPoint(performed_at, final_ml, bolus_ml or 0.0,
                                       before_ml is None, measured_error_percent=error,
                                       expires_on=expiry, ran_empty=bool(empty))
    return fills


def due_facts(session: Session, pump_ids: list[int]) -> dict[int, dict[str, Any]]:
    """What the due list shows beside each pump's forecast (the ``pump_forecasts`` columns
    ``prescription_id``, ``flex_schedule``, ``open_discrepancy``): the pump's newest
    prescription version, whether its program has more than one step, and whether the pump's
    latest current refill (one no later row corrects) asks for a review. A few queries."""
    corrected = select(db.Refill.corrects_id).where(db.Refill.corrects_id.is_not(None))
    latest = (select(db.Refill.discrepancy_verdict)
              .where(db.Refill.pump_id == db.Pump.id, db.Refill.id.not_in(corrected))
              .order_by(db.Refill.performed_at.desc(), db.Refill.id.desc()).limit(1)
              .correlate(db.Pump).scalar_subquery())
    facts: dict[int, dict[str, Any]] = {
        pump_id: {"prescription_id": None, "flex_schedule": False, "open_discrepancy": False}
        for pump_id in pump_ids}
    for chunk in _chunks(pump_ids):
        for pump_id, verdict in session.execute(
                select(db.Pump.id, latest).where(db.Pump.id.in_(chunk))):
            facts[pump_id]["open_discrepancy"] = verdict == "investigate"
        newest = dict(session.execute(
            select(db.Prescription.pump_id, func.max(db.Prescription.id))
            .where(db.Prescription.pump_id.in_(chunk)).group_by(db.Prescription.pump_id)).all())
        steps = dict(session.execute(
            select(db.ScheduleStep.prescription_id, func.count())
            .where(db.ScheduleStep.prescription_id.in_(list(newest.values())))
            .group_by(db.ScheduleStep.prescription_id)).all())
        for pump_id, rx_id in newest.items():
            facts[pump_id]["prescription_id"] = rx_id
            facts[pump_id]["flex_schedule"] = steps.get(rx_id, 0) > 1
    return facts


def running_programs(session: Session, fills: dict[int, FillPoint],
                     pump_ids: list[int]) -> dict[int, list[ProgramFloats] | None]:
    """For each filled pump, the programs its forecast runs on (the one in force at the fill
    and every later one, as :func:`compute` picks them); None when the rows are not a program
    (or no prescription was in force at the fill: an empty list)."""
    corrected = select(db.Prescription.corrects_id).where(
        db.Prescription.corrects_id.is_not(None))
    wanted: dict[int, list[int]] = {}
    for chunk in _chunks([p for p in pump_ids if p in fills]):
        versions: dict[int, list[tuple[int, datetime]]] = {}
        for rx_id, pump_id, effective_at in session.execute(
                select(db.Prescription.id, db.Prescription.pump_id,
                       db.Prescription.effective_at)
                .where(db.Prescription.pump_id.in_(chunk),
                       db.Prescription.id.not_in(corrected))
                .order_by(db.Prescription.pump_id, db.Prescription.effective_at,
                          db.Prescription.id)):
            versions.setdefault(pump_id, []).append((rx_id, effective_at))
        for pump_id in chunk:
            performed = fills[pump_id].performed_at
            found = versions.get(pump_id, [])
            in_force = [v for v in found if v[1] <= performed]
            wanted[pump_id] = [] if not in_force else [
                in_force[-1][0], *[v[0] for v in found if v[1] > performed]]
    ids = [rx_id for chosen in wanted.values() for rx_id in chosen]
    rows: dict[int, Any] = {}
    parts: dict[str, dict[int, list[Any]]] = {"i": {}, "s": {}, "b": {}}
    for chunk in _chunks(ids):
        for row in session.execute(
                select(db.Prescription.id, db.Prescription.effective_at,
                       db.Prescription.ptm_bolus_dose_mcg, db.Prescription.ptm_max_per_day,
                       db.Prescription.ptm_lockout_days)
                .where(db.Prescription.id.in_(chunk))):
            rows[row[0]] = row
        for rx_id, *values in session.execute(
                select(db.PrescriptionIngredient.prescription_id,
                       db.PrescriptionIngredient.position, db.PrescriptionIngredient.drug_key,
                       db.PrescriptionIngredient.concentration_mcg_per_ml)
                .where(db.PrescriptionIngredient.prescription_id.in_(chunk))):
            parts["i"].setdefault(rx_id, []).append(tuple(values))
        for rx_id, *values in session.execute(
                select(db.ScheduleStep.prescription_id, db.ScheduleStep.start_time,
                       db.ScheduleStep.rate_mcg_per_day)
                .where(db.ScheduleStep.prescription_id.in_(chunk))
                .order_by(db.ScheduleStep.id)):
            parts["s"].setdefault(rx_id, []).append(tuple(values))
        for rx_id, *values in session.execute(
                select(db.ScheduledBolus.prescription_id, db.ScheduledBolus.at_time,
                       db.ScheduledBolus.amount_mcg)
                .where(db.ScheduledBolus.prescription_id.in_(chunk))
                .order_by(db.ScheduledBolus.id)):
            parts["b"].setdefault(rx_id, []).append(tuple(values))
    programs: dict[int, list[ProgramFloats] | None] = {}
    for pump_id, chosen in wanted.items():
        made = [program_floats(rows[i][1], parts["i"].get(i, []), parts["s"].get(i, []),
                               parts["b"].get(i, []), (rows[i][2], rows[i][3], rows[i][4]))
                for i in chosen]
        programs[pump_id] = None if any(m is None for m in made) else [
            m for m in made if m is not None]
    return programs


def compute_floats(
    *,
    pump: db.Pump,
    fill: FillPoint | None,
    running: list[ProgramFloats],
    settings: ClinicSettings,
    stability: Callable[[tuple[tuple[str, float], ...], bool], float | None],
    tz: tzinfo,
    now: datetime,
    interval: Callable[[tuple[tuple[str, float], ...]], float] | None = None,
) -> dict[str, Any] | None:
    """:func:`compute` on canonical floats: the forecast row's columns, or None when the
    reference :func:`compute` must decide (it would refuse an input, or a date leaves the
    calendar). ``running`` is what :func:`running_programs` gives for the pump; ``stability``
    is :func:`stability_days` of an ingredient list, ``interval`` :func:`interval_days` of one
    (None: the clinic's setting for every drug)."""
    row: dict[str, Any] = {
        "pump_id": pump.id, "computed_at": now, "filled_at": None, "fill_volume_ml": None,
        "daily_volume_ml_per_day": None, "alarm_at": None, "alarm_at_with_boluses": None,
        "empty_at": None, "refill_due": None, "refill_due_reason": None,
        "days_left_basis": DAYS_LEFT_BASIS, "alarm_at_worst_case": None,
        "empty_at_worst_case": None,
        "over_infusion_risk": False if fill is None else fill.ran_empty,
    }
    if fill is None:
        row["refill_due"] = last_open_day(naive_local(now, tz).date(), settings.open_days,
                                          settings.closed_dates)
        row["refill_due_reason"] = "first_fill"
        return row
    if not running:
        row["refill_due"] = last_open_day(naive_local(fill.performed_at, tz).date(),
                                          settings.open_days, settings.closed_dates)
        row["refill_due_reason"] = "no_prescription"
        return row
    accuracy = pump.accuracy_percent
    alarm_ml = pump.low_reservoir_alarm_ml
    buffer_days = settings.buffer_days
    if (fill.final_ml <= 0 or not _plausible(fill.final_ml) or fill.bolus_ml < 0
            or not _plausible(fill.bolus_ml, zero=True) or alarm_ml < 0
            or not _plausible(alarm_ml, zero=True)
            or (accuracy is not None and not 0 <= accuracy < 100)
            or isinstance(buffer_days, bool) or not isinstance(buffer_days, int)
            or not 0 <= buffer_days <= 365):
        return None
    try:
        clock = PumpClock(fill.performed_at, tz)
        filled_at = clock.to_pump(fill.performed_at)
        start = max(filled_at, clock.to_pump(running[-1].effective_at))
        # expected_residual from the fill to the current program's start
        starts = [clock.to_pump(p.effective_at) for p in running]
        infused_ml = 0.0
        for index, program in enumerate(running):
            begin = max(starts[index], filled_at)
            end = min(starts[index + 1] if index + 1 < len(running) else start, start)
            if end <= begin:
                continue
            minutes = (end - begin).total_seconds() / 60
            minute_of_day = begin.hour * 60 + begin.minute + begin.second / 60
            mass = program.delivered_mass_mcg(minute_of_day, minutes)
            infused_ml += mass / program.concentration
        volume = min(fill.final_ml, max(0.0, fill.final_ml - infused_ml - fill.bolus_ml))
        current = running[-1]
        daily = current.daily_ml
        row["filled_at"] = clock.to_instant(start)
        row["fill_volume_ml"] = volume
        row["daily_volume_ml_per_day"] = daily
        limit = stability(current.ingredients, fill.first_fill)
        until = clock.to_instant(start)
        bolus_ml = 0.0
        for index, program in enumerate(running):
            begin_at = max(program.effective_at, fill.performed_at)
            end_at = running[index + 1].effective_at if index + 1 < len(running) else until
            end_at = min(end_at, until)
            if end_at <= begin_at:
                continue
            extra = program.max_daily_ml - program.daily_ml
            bolus_ml += extra * (end_at - begin_at).total_seconds() / 86400
        _outlook(row, pump=pump, labelled_accuracy=accuracy, fill=fill, clock=clock,
                 start=start, volume=volume, with_boluses=max(0.0, volume - bolus_ml),
                 periods=[(begin, program.delivered_mass_mcg, program.concentration,
                           program.max_daily_ml - program.daily_ml)
                          for begin, program in zip(starts, running, strict=True)],
                 daily=daily,
                 max_daily=current.max_daily_ml, settings=settings, stability=limit,
                 interval=float(settings.max_refill_interval_days) if interval is None
                 else interval(current.ingredients), tz=tz)
    except (ArithmeticError, ValueError, PumpMgrError):
        return None
    return row


# ---------------------------------------------------------------------------------------------
# The clinic settings the refill-due date uses (revision 0007)

#: The longest refill interval and the empty threshold a clinic may set.
MAX_INTERVAL_SETTING_DAYS = 365
MAX_EMPTY_THRESHOLD_ML = 5.0


def settings_fields(row: db.ClinicSettings) -> dict[str, Any]:
    """The forecast's clinic settings of the stored row, as :class:`ClinicSettings` fields."""
    return {
        "max_refill_interval_days": row.max_refill_interval_days,
        "closed_dates": frozenset(date.fromisoformat(d) for d in row.closed_dates),
        "empty_threshold_ml": row.empty_threshold_ml,
    }


def write_settings_fields(row: db.ClinicSettings, settings: ClinicSettings) -> None:
    """Check the forecast's clinic settings and put them in the stored row; refused with the
    field named: an interval that is not 1 to 365 whole days, an empty threshold outside
    0 to 5 mL."""
    interval = settings.max_refill_interval_days
    if isinstance(interval, bool) or not isinstance(interval, int) or not (
            1 <= interval <= MAX_INTERVAL_SETTING_DAYS):
        raise ImpossibleInput(
            "longest refill interval: give a whole number of days from 1 to "
            f"{MAX_INTERVAL_SETTING_DAYS}, for example 90", code=Code.OUT_OF_RANGE,
            field="longest refill interval")
    threshold = settings.empty_threshold_ml
    if not math.isfinite(threshold) or not 0 <= threshold <= MAX_EMPTY_THRESHOLD_ML:
        raise ImpossibleInput(
            f"empty threshold: give a volume in mL from 0 to {MAX_EMPTY_THRESHOLD_ML:g}, for "
            "example 0.5", code=Code.OUT_OF_RANGE, field="empty threshold")
    row.max_refill_interval_days = interval
    row.closed_dates = sorted(d.isoformat() for d in settings.closed_dates)
    row.empty_threshold_ml = float(threshold)


def settings_audit(settings: ClinicSettings) -> dict[str, Any]:
    """The forecast's clinic settings as an audit entry records them."""
    return {"max_refill_interval_days": settings.max_refill_interval_days,
            "closed_dates": sorted(d.isoformat() for d in settings.closed_dates),
            "empty_threshold_ml": settings.empty_threshold_ml}


def settings_move_forecasts(before: ClinicSettings, after: ClinicSettings) -> bool:
    """Whether a settings change moves refill-due dates (every forecast is then rewritten)."""
    def inputs(s: ClinicSettings) -> tuple[Any, ...]:
        return (s.buffer_days, s.open_days, s.max_refill_interval_days, s.closed_dates)

    return inputs(before) != inputs(after)


def interval_cache(library: DrugLibrary, settings: ClinicSettings,
                   ) -> Callable[[tuple[tuple[str, float], ...]], float]:
    """:func:`interval_days` for many pumps at once, each solution worked out once."""
    known: dict[tuple[str, ...], float] = {}

    def interval(ingredients: tuple[tuple[str, float], ...]) -> float:
        drugs = tuple(drug for drug, _ in ingredients)
        if drugs not in known:
            known[drugs] = interval_days(ingredients, library, settings)
        return known[drugs]

    return interval


def unfloored_expected(row: db.Refill) -> float:
    """A refill's expected residual not floored at 0 (the floored one for refills recorded
    before revision 0007)."""
    return (row.expected_residual_ml if row.expected_residual_unfloored_ml is None
            else row.expected_residual_unfloored_ml)


def require_verdict_note(found: Discrepancy, note: str) -> None:
    """A found-empty or investigate verdict is saved only with the nurse's note: the patient's
    condition, or what was found (domain-rules section 4)."""
    if found.verdict == "ok" or note.strip():
        return
    if found.verdict == "found_empty":
        raise InputError(
            f"discrepancy note: the reservoir was found empty ({found.meaning}); write the "
            "patient's condition before saving", code=Code.NO_VALUE, field="discrepancy note")
    raise InputError(
        f"discrepancy note: the residual says investigate ({found.meaning}); write what was "
        "found before saving", code=Code.NO_VALUE, field="discrepancy note")
