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
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import event, false, func, or_, select
from sqlalchemy.orm import Session, aliased

from pumpmgr.catalogs import Drug, DrugLibrary
from pumpmgr.clock import PumpClock as PumpClock  # the pump's clock (re-exported)
from pumpmgr.db import schema as db
from pumpmgr.errors import CatalogError, PumpMgrError
from pumpmgr.forecast import forecast, last_open_day, refill_due_date
from pumpmgr.orders import OrderState, most_pressing
from pumpmgr.records import ClinicSettings, PrescriptionRecord
from pumpmgr.refill import ProgramPeriod, expected_residual
from pumpmgr.services import mapping
from pumpmgr.units import PLAUSIBLE_MAGNITUDES, Q_

#: The due list counts days left from the alarm with every allowed bolus taken (domain-rules
#: section 3: the refill-due date is built on it).
DAYS_LEFT_BASIS = "with_boluses"


@dataclass(frozen=True)
class FillPoint:
    """The latest current fill of a pump: when, how much, and whether it was the pump's first."""

    performed_at: datetime
    final_ml: float
    bolus_ml: float
    first_fill: bool


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
    "order_actions": ("prescriptions",),
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
    """The forecast row for ``pump`` (not added to any session)."""
    row = db.PumpForecast(pump_id=pump.id, computed_at=now, days_left_basis=DAYS_LEFT_BASIS)
    if fill is None:
        # A pump with no fill on record is due for its first fill now.
        row.refill_due = last_open_day(naive_local(now, tz).date(), settings.open_days)
        row.refill_due_reason = "first_fill"
        return row
    in_force = [p for p in prescriptions if p.effective_at <= fill.performed_at]
    if not in_force:
        row.refill_due = last_open_day(naive_local(fill.performed_at, tz).date(),
                                       settings.open_days)
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
    alarm_ml = pump.low_reservoir_alarm_ml
    daily = float(current.program.daily_volume().to("mL/day").m)
    row.filled_at = clock.to_instant(start)
    row.fill_volume_ml = volume
    row.daily_volume_ml_per_day = daily
    stability = stability_days(current, library, first_fill=fill.first_fill)
    # With boluses, every allowed patient bolus was taken each day since the fill, in the
    # earlier programs too (domain-rules §3), so less is left at the current program's start.
    volume_with_boluses = max(0.0, volume - patient_bolus_volume_ml(
        running, fill.performed_at, clock.to_instant(start)))
    if volume <= alarm_ml:
        # Already at or below the alarm volume when the current program started.
        row.alarm_at = row.alarm_at_with_boluses = clock.to_instant(start)
        row.empty_at = clock.to_instant(start + timedelta(days=volume / daily))
    else:
        result = forecast(
            fill_volume=Q_(volume, "mL"), filled_at=start, program=current.program,
            alarm_volume=Q_(alarm_ml, "mL"), accuracy_percent=accuracy_percent or 0.0,
            buffer_days=settings.buffer_days, open_days=settings.open_days,
        )
        row.alarm_at = clock.to_instant(result.alarm_at)
        row.alarm_at_with_boluses = clock.to_instant(result.alarm_at_with_boluses)
        row.empty_at = clock.to_instant(result.empty_at)
        if volume_with_boluses <= alarm_ml:
            row.alarm_at_with_boluses = clock.to_instant(start)
        elif volume_with_boluses < volume:
            with_boluses = forecast(
                fill_volume=Q_(volume_with_boluses, "mL"), filled_at=start,
                program=current.program, alarm_volume=Q_(alarm_ml, "mL"),
                accuracy_percent=accuracy_percent or 0.0, buffer_days=settings.buffer_days,
                open_days=settings.open_days,
            )
            row.alarm_at_with_boluses = clock.to_instant(with_boluses.alarm_at_with_boluses)
    # Dates are the clinic's calendar dates of the real instants.
    due, reason = refill_due_date(
        filled_at=fill.performed_at.astimezone(tz),
        alarm_at_with_boluses=row.alarm_at_with_boluses.astimezone(tz),
        buffer_days=settings.buffer_days, stability_days=stability,
        open_days=settings.open_days,
    )
    row.refill_due, row.refill_due_reason = due, reason
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
    """Each pump's latest current fill (:func:`current_refills`' last), in a few queries."""
    corrected = select(db.Refill.corrects_id).where(db.Refill.corrects_id.is_not(None))
    latest, second = aliased(db.Refill), aliased(db.Refill)

    def nth(alias: Any, offset: int) -> Any:
        return (select(alias.id).where(alias.pump_id == db.Pump.id, alias.id.not_in(corrected))
                .order_by(alias.performed_at.desc(), alias.id.desc()).limit(1).offset(offset)
                .correlate(db.Pump).scalar_subquery())

    fills: dict[int, FillPoint] = {}
    for chunk in _chunks(pump_ids):
        rows = session.execute(
            select(db.Pump.id, db.Refill.performed_at, db.Refill.final_reservoir_ml,
                   db.Refill.bolus_volume_ml, nth(second, 1))
            .join(db.Refill, db.Refill.id == nth(latest, 0))
            .where(db.Pump.id.in_(chunk)))
        for pump_id, performed_at, final_ml, bolus_ml, earlier in rows:
            fills[pump_id] = FillPoint(performed_at, final_ml, bolus_ml or 0.0, earlier is None)
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
        pump_id: {"prescription_id": None, "flex_schedule": False, "open_discrepancy": False,
                  "order_alert": None, "open_incident": False}
        for pump_id in pump_ids}
    for chunk in _chunks(pump_ids):
        for pump_id, verdict in session.execute(
                select(db.Pump.id, latest).where(db.Pump.id.in_(chunk))):
            facts[pump_id]["open_discrepancy"] = verdict == "investigate"
        newest = dict(session.execute(
            select(db.Prescription.pump_id, func.max(db.Prescription.id))
            .where(db.Prescription.pump_id.in_(chunk), runs_in_pump())
            .group_by(db.Prescription.pump_id)).all())
        steps = dict(session.execute(
            select(db.ScheduleStep.prescription_id, func.count())
            .where(db.ScheduleStep.prescription_id.in_(list(newest.values())))
            .group_by(db.ScheduleStep.prescription_id)).all())
        for pump_id, rx_id in newest.items():
            facts[pump_id]["prescription_id"] = rx_id
            facts[pump_id]["flex_schedule"] = steps.get(rx_id, 0) > 1
        for pump_id, alert in order_alerts(session, chunk).items():
            facts[pump_id]["order_alert"] = alert
        reviewed = select(db.IncidentReview.incident_id)
        for pump_id in session.scalars(select(db.Incident.pump_id).where(
                db.Incident.pump_id.in_(chunk), db.Incident.id.not_in(reviewed)).distinct()):
            facts[pump_id]["open_incident"] = True
    return facts


def pump_orders(session: Session, pump_ids: list[int],
                ) -> dict[int, list[tuple[db.Prescription, OrderState, bool]]]:
    """Each pump's orders that name a prescriber's account (not corrected), in the order
    they were entered, with their state and whether the pump runs them."""
    corrected = select(db.Prescription.corrects_id).where(
        db.Prescription.corrects_id.is_not(None))
    rows = list(session.scalars(select(db.Prescription).where(
        db.Prescription.pump_id.in_(pump_ids), db.Prescription.prescriber_id.is_not(None),
        db.Prescription.id.not_in(corrected)).order_by(db.Prescription.id)))
    actions: dict[int, list[db.OrderAction]] = {r.id: [] for r in rows}
    if actions:
        for action in session.scalars(select(db.OrderAction).where(
                db.OrderAction.prescription_id.in_(list(actions)))):
            actions[action.prescription_id].append(action)
    found: dict[int, list[tuple[db.Prescription, OrderState, bool]]] = {}
    for row in rows:
        done = {a.action for a in actions[row.id]}
        programmed = not row.held_for_signature or "programmed" in done or "signed" in done
        found.setdefault(row.pump_id, []).append(
            (row, mapping.order_state_of(row, actions[row.id]), programmed))
    return found


def order_alerts(session: Session, pump_ids: list[int]) -> dict[int, str | None]:
    """Each pump's most pressing order state (:func:`pumpmgr.orders.most_pressing`)."""
    alerts: dict[int, str | None] = {}
    for pump_id, orders in pump_orders(session, pump_ids).items():
        state = most_pressing([(s, runs) for _row, s, runs in orders])
        alerts[pump_id] = None if state is None else str(state)
    return alerts


def runs_in_pump() -> Any:
    """The condition a prescription version meets when the pump runs it: every version but a
    high-risk order a nurse entered that waits for the prescriber's signature, neither signed
    nor recorded as programmed since (domain-rules §7; :func:`pumpmgr.orders.counts_for_forecast`).
    Such an order is rare, so the condition is cheap where there is none."""
    done = select(db.OrderAction.prescription_id).where(
        db.OrderAction.action.in_(("signed", "programmed")))
    return or_(db.Prescription.held_for_signature == false(), db.Prescription.id.in_(done))


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
                       db.Prescription.id.not_in(corrected), runs_in_pump())
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
) -> dict[str, Any] | None:
    """:func:`compute` on canonical floats: the forecast row's columns, or None when the
    reference :func:`compute` must decide (it would refuse an input, or a date leaves the
    calendar). ``running`` is what :func:`running_programs` gives for the pump; ``stability``
    is :func:`stability_days` of an ingredient list."""
    row: dict[str, Any] = {
        "pump_id": pump.id, "computed_at": now, "filled_at": None, "fill_volume_ml": None,
        "daily_volume_ml_per_day": None, "alarm_at": None, "alarm_at_with_boluses": None,
        "empty_at": None, "refill_due": None, "refill_due_reason": None,
        "days_left_basis": DAYS_LEFT_BASIS,
    }
    if fill is None:
        row["refill_due"] = last_open_day(naive_local(now, tz).date(), settings.open_days)
        row["refill_due_reason"] = "first_fill"
        return row
    if not running:
        row["refill_due"] = last_open_day(naive_local(fill.performed_at, tz).date(),
                                          settings.open_days)
        row["refill_due_reason"] = "no_prescription"
        return row
    accuracy = pump.accuracy_percent or 0.0
    alarm_ml = pump.low_reservoir_alarm_ml
    buffer_days = settings.buffer_days
    if (fill.final_ml <= 0 or not _plausible(fill.final_ml) or fill.bolus_ml < 0
            or not _plausible(fill.bolus_ml, zero=True) or alarm_ml < 0
            or not _plausible(alarm_ml, zero=True) or not 0 <= accuracy < 100
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
        volume_with_boluses = max(0.0, volume - bolus_ml)
        if volume <= alarm_ml:
            row["alarm_at"] = row["alarm_at_with_boluses"] = clock.to_instant(start)
            row["empty_at"] = clock.to_instant(start + timedelta(days=volume / daily))
        else:
            if not _plausible(volume) or not _plausible(volume_with_boluses, zero=True):
                return None  # forecast() would refuse it
            above = volume - alarm_ml
            with_boluses = start + timedelta(days=above / current.max_daily_ml)
            # forecast() also finds the worst case and a due date it does not return: a date
            # it could not reach is left to the reference
            worst = start + timedelta(days=above / (current.max_daily_ml * (1 + accuracy / 100)))
            if with_boluses.date().year < 2 or worst.date().year < 2:
                return None
            row["alarm_at"] = clock.to_instant(start + timedelta(days=above / daily))
            row["alarm_at_with_boluses"] = clock.to_instant(with_boluses)
            row["empty_at"] = clock.to_instant(start + timedelta(days=volume / daily))
            if volume_with_boluses <= alarm_ml:
                row["alarm_at_with_boluses"] = clock.to_instant(start)
            elif volume_with_boluses < volume:
                row["alarm_at_with_boluses"] = clock.to_instant(start + timedelta(
                    days=(volume_with_boluses - alarm_ml) / current.max_daily_ml))
        row["refill_due"], row["refill_due_reason"] = refill_due_date(
            filled_at=fill.performed_at.astimezone(tz),
            alarm_at_with_boluses=row["alarm_at_with_boluses"].astimezone(tz),
            buffer_days=buffer_days, stability_days=limit, open_days=settings.open_days)
    except (ArithmeticError, ValueError, PumpMgrError):
        return None
    return row
