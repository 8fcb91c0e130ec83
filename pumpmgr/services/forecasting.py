"""Recompute a pump's stored forecast from its last fill and the programs since (application
layer: pure calculations over rows read in the caller's session).

The stored forecast is what makes the due list one indexed query. It is rewritten by every
service that changes one of its inputs: a refill, a prescription change, a pump change, a
correction, a clinic setting or a drug-library edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from pumpmgr.catalogs import Drug, DrugLibrary
from pumpmgr.db import schema as db
from pumpmgr.errors import CatalogError
from pumpmgr.forecast import forecast, last_open_day, refill_due_date
from pumpmgr.records import ClinicSettings, PrescriptionRecord
from pumpmgr.refill import ProgramPeriod, expected_residual
from pumpmgr.units import Q_

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


def current_refills(session: Session, pump_id: int) -> list[db.Refill]:
    """The pump's refills that no later row corrects, oldest first."""
    corrected = select(db.Refill.corrects_id).where(db.Refill.corrects_id.is_not(None))
    return list(
        session.scalars(
            select(db.Refill)
            .where(db.Refill.pump_id == pump_id, db.Refill.id.not_in(corrected))
            .order_by(db.Refill.performed_at, db.Refill.id)
        )
    )


def naive_local(moment: datetime, tz: tzinfo) -> datetime:
    """The clinic's wall-clock time of an instant, without its zone."""
    return moment.astimezone(tz).replace(tzinfo=None)


@dataclass(frozen=True)
class PumpClock:
    """The pump's own clock: set to the clinic's wall time at the fill, then running in real
    time (it does not jump at a daylight-saving change). Calculations run on it, so elapsed time
    is real and flex steps fall at the pump's times of day."""

    origin: datetime  #: an aware instant (the fill)
    tz: tzinfo

    def to_pump(self, moment: datetime) -> datetime:
        return naive_local(self.origin, self.tz) + (moment - self.origin)

    def to_instant(self, pump_time: datetime) -> datetime:
        return (self.origin + (pump_time - naive_local(self.origin, self.tz))).astimezone(UTC)


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
    # Dates are the clinic's calendar dates of the real instants.
    due, reason = refill_due_date(
        filled_at=fill.performed_at.astimezone(tz),
        alarm_at_with_boluses=row.alarm_at_with_boluses.astimezone(tz),
        buffer_days=settings.buffer_days, stability_days=stability,
        open_days=settings.open_days,
    )
    row.refill_due, row.refill_due_reason = due, reason
    return row
