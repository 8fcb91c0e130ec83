"""Reads for the screens (application layer): finding and searching patients, a patient's
chart and the due list, as frozen records (:mod:`pumpmgr.records`). Nothing here writes; the
due list reads the forecasts the other areas store."""

from __future__ import annotations

import functools
from datetime import UTC, date, timedelta
from typing import Any

from sqlalchemy import Date, bindparam, func, or_, select

from pumpmgr.db import schema as db
from pumpmgr.db.types import UTCDateTime
from pumpmgr.errors import Code, InputError, PumpMgrError
from pumpmgr.formatting import format_quantity
from pumpmgr.identity import clean_text, normalize_mrn
from pumpmgr.records import (
    DueRow,
    DueState,
    PatientChart,
    PatientRecord,
    PrescriptionRecord,
    RefillRecord,
)
from pumpmgr.services import forecasting, mapping, maxima, stop_orders
from pumpmgr.services.context import ClinicContext, _current_catheter_of
from pumpmgr.services.orders import OrderService
from pumpmgr.units import MCG_PER_ML, Q_, Kind
from pumpmgr.urgency import stored_refill_state

#: The due list's state words (so colour is never the only signal).
DUE_SOON_DAYS = 7
DUE_LATER_DAYS = 14
#: A missed visit older than this is no longer on the call list (the pump has been refilled,
#: or its patient's care moved on; clinic policy, issue 16).
MISSED_VISIT_DAYS = 90
#: Replace-by dates are warned from 6 months before [S8].
REPLACE_BY_WARNING_DAYS = 183


class QueryService:
    """Finding patients, a patient's chart and the due list."""

    def __init__(self, ctx: ClinicContext, orders: OrderService) -> None:
        self.ctx = ctx
        self.orders = orders

    def find_patient(self, mrn: str) -> PatientRecord:
        with self.ctx.database.read() as session:
            # The stored form; then as typed, for a number stored before normalising (which
            # cannot hold what normalize_mrn refuses beyond spaces and case: no NUL, <= 64).
            typed = clean_text(mrn, "MRN", limit=64)
            try:
                wanted = [normalize_mrn(mrn, "MRN"), typed]
            except InputError:
                wanted = [typed]
            row = session.scalars(
                select(db.Patient)
                .where(db.Patient.mrn.in_(wanted))
                .order_by(db.Patient.mrn != wanted[0])
            ).first()
            if row is None:
                raise InputError(
                    f"MRN: no patient with medical record number '{mrn}'",
                    code=Code.NO_VALUE,
                    field="MRN",
                )
            return mapping.patient_record(row)

    def search_patients(self, text: str, limit: int = 50) -> list[PatientRecord]:
        pattern = f"%{text.strip().lower()}%"
        with self.ctx.database.read() as session:
            rows = session.scalars(
                select(db.Patient)
                .where(
                    func.lower(db.Patient.family_name).like(pattern)
                    | func.lower(db.Patient.given_name).like(pattern)
                    | func.lower(db.Patient.mrn).like(pattern)
                )
                .order_by(db.Patient.family_name, db.Patient.given_name)
                .limit(limit)
            ).all()
            return [mapping.patient_record(r) for r in rows]

    def patient_chart(self, patient_id: int, *, current_pump_only: bool = False) -> PatientChart:
        """The patient's chart; ``current_pump_only``: of the patient's pumps, only the active
        one's prescriptions, refills and events (all that a visit's plan and its worksheet
        read, :func:`pumpmgr.visit.plan_visit`); every other part is the whole chart's."""
        with self.ctx.database.read() as session:
            patient = session.get_one(db.Patient, patient_id)
            pumps = list(
                session.scalars(
                    select(db.Pump)
                    .where(db.Pump.patient_id == patient_id)
                    .order_by(db.Pump.implant_date, db.Pump.id)
                )
            )
            active = next((p for p in pumps if p.status is db.PumpStatus.ACTIVE), None)
            catheter = None
            prescriptions: list[PrescriptionRecord] = []
            refills: list[RefillRecord] = []
            events = []
            users = self.ctx.user_names(session)
            for pump in pumps:
                if current_pump_only and pump is not active:
                    continue
                prescriptions += self.ctx.prescriptions_all(session, pump.id)
                refills += self.ctx.refill_records(session, pump.id)
                for event in session.scalars(
                    select(db.PumpEvent).where(db.PumpEvent.pump_id == pump.id)
                ):
                    events.append(
                        mapping.event_record(
                            event, patient_id, users.get(event.recorded_by_id, "?")
                        )
                    )
            # every catheter version (corrections beside what they correct), in two queries
            catheter_rows = list(
                session.scalars(
                    select(db.Catheter)
                    .where(db.Catheter.patient_id == patient_id)
                    .order_by(db.Catheter.id)
                )
            )
            segments: dict[int, list[db.CatheterSegment]] = {r.id: [] for r in catheter_rows}
            if segments:
                for segment in session.scalars(
                    select(db.CatheterSegment).where(
                        db.CatheterSegment.catheter_id.in_(list(segments))
                    )
                ):
                    segments[segment.catheter_id].append(segment)
            catheters = {
                r.id: mapping.catheter_record(r, segments[r.id], users.get(r.recorded_by_id, "?"))
                for r in catheter_rows
            }
            open_orders = self.orders.open_orders(session, [p.id for p in pumps])
            open_incidents = self.orders.patient_incidents(session, patient_id)
            current_rx = None
            forecast = None
            if active is not None:
                catheter_row = _current_catheter_of(
                    r for r in catheter_rows if r.pump_id == active.id
                )
                if catheter_row is not None:
                    catheter = catheters[catheter_row.id]
                current = self.ctx.prescriptions(session, active.id)
                current_rx = current[-1] if current else None
                stored = session.get(db.PumpForecast, active.id)
                forecast = None if stored is None else mapping.stored_forecast(stored)
            return PatientChart(
                patient=mapping.patient_record(patient),
                pump=None if active is None else mapping.pump_record(active, self.ctx.catalogs),
                catheter=catheter,
                prescription=current_rx,
                forecast=forecast,
                pumps=tuple(mapping.pump_record(p, self.ctx.catalogs) for p in pumps),
                prescriptions=tuple(sorted(prescriptions, key=lambda p: (p.effective_at, p.id))),
                refills=tuple(sorted(refills, key=lambda r: (r.performed_at, r.id))),
                events=tuple(sorted(events, key=lambda e: (e.occurred_at, e.id))),
                catheters=tuple(catheters.values()),
                open_orders=tuple(open_orders),
                open_incidents=tuple(open_incidents),
                individual_maxima=tuple(
                    maxima.current_maxima(self.ctx, session, patient.id).values()
                ),
                stop_orders=tuple(
                    stop_orders.open_stop_orders(self.ctx, session, [p.id for p in pumps])
                ),
            )

    def due_list(
        self,
        *,
        within_days: int | None = None,
        today: date | None = None,
    ) -> list[DueRow]:
        """Active pumps by refill-due date, earliest first: one indexed query on the stored
        forecasts, which keep each pump's solution."""
        today = today or self.ctx.today()
        pumps = _due_list_statement(within_days is not None)
        open_bookings, missed_visits = _booking_statements()
        limit = {} if within_days is None else {"due_by": today + timedelta(days=within_days)}
        # the same few solutions come back on most rows: each is worded once
        solutions: dict[str | None, tuple[str, tuple[str, ...]]] = {None: ("no prescription", ())}
        models: dict[str, tuple[str, str]] = {}
        # in UTC, as the instants read: a difference of two instants in one zone asks no zone
        now = self.ctx.now().astimezone(UTC)
        # due_state's limits, once for every row
        soon, later = (
            today + timedelta(days=DUE_SOON_DAYS),
            today + timedelta(days=DUE_LATER_DAYS),
        )
        result: list[DueRow] = []
        add, row_of, state_at = (
            result.append,
            DueRow,
            stored_refill_state,
        )  # 5,000 rows: looked up once
        with self.ctx.database.read() as session:
            # Plain rows through the connection: no ORM objects are wanted here.
            connection = session.connection()
            booked_on: dict[int, date] = dict(connection.execute(open_bookings).all())
            # a missed visit counts until the pump is refilled or booked again
            missed_on = {
                pump_id: day
                for pump_id, day in connection.execute(
                    missed_visits, {"since": today - timedelta(days=MISSED_VISIT_DAYS)}
                )
                if pump_id not in booked_on
            }
            refilled = (
                dict(connection.execute(_last_refills(), {"pumps": list(missed_on)}).all())
                if missed_on
                else {}
            )
            missed = {
                pump_id
                for pump_id, day in missed_on.items()
                if pump_id not in refilled
                or day >= refilled[pump_id].astimezone(self.ctx.tz).date()
            }
            horizon = today + timedelta(days=self.ctx.settings(session).booking_horizon_days)
            # each row made as it is read (the result iterated, not fetched whole): the
            # driver's rows and SQLAlchemy's are freed as the loop goes, so the collector's
            # youngest generation fills a quarter as often (docs/performance.md)
            for (
                refill_due,
                reason,
                alarm_at,
                pump_id,
                model_key,
                replace_by,
                patient_id,
                mrn,
                family_name,
                given_name,
                stored_solution,
                flex,
                open_review,
                order_alert,
                open_incident,
                open_stop,
                nominal,
                empty,
                filled,
                fill_ml,
                daily_ml,
                worst_alarm,
                worst_empty,
                phone,
                contact_name,
                contact_phone,
            ) in connection.execute(pumps, limit):
                due = refill_due or today
                booked = booked_on.get(pump_id)
                model = models.get(model_key)
                if model is None:
                    model = models[model_key] = (
                        self.ctx.model_name(model_key),
                        self.ctx.model_type(model_key),
                    )
                solution = solutions.get(stored_solution)
                if solution is None:
                    solution = solutions[stored_solution] = self._solution(stored_solution)
                alarm = now if alarm_at is None else alarm_at
                # positional, in DueRow's field order (its keywords cost a third of making it)
                add(
                    row_of(
                        patient_id,
                        mrn,
                        f"{family_name.upper()}, {given_name}",
                        pump_id,
                        model[0],
                        model[1],
                        solution[0],
                        (alarm - now).total_seconds() / 86400,
                        alarm,
                        due,
                        reason,
                        replace_by,
                        "urgent"
                        if open_incident or open_stop or order_alert == "declined"
                        else "overdue"
                        if due < today
                        else "due_this_week"
                        if due <= soon
                        else "due_in_14_days"
                        if due <= later
                        else "fine",
                        open_review,
                        stored_solution is not None and flex,
                        order_alert,
                        open_incident,
                        open_stop,
                        nominal,
                        empty,
                        worst_alarm,
                        worst_empty,
                        None
                        if filled is None or fill_ml is None or daily_ml is None
                        else max(0.0, fill_ml - daily_ml * (now - filled).total_seconds() / 86400),
                        solution[1],
                        state_at(
                            now=now,
                            nominal_alarm_at=nominal,
                            empty_at=empty,
                            empty_at_worst_case=worst_empty,
                            replace_by=replace_by,
                        ),
                        booked,
                        "did_not_attend"
                        if pump_id in missed
                        else "not_booked"
                        if booked is None and due <= horizon
                        else "booked_too_late"
                        if booked is not None and booked > due
                        else "",
                        phone or "",
                        f"{contact_name} {contact_phone}"
                        if contact_name and contact_phone
                        else contact_name or contact_phone or "",
                    )
                )
        # a missed visit of a pump still due first, for the call list; then an incident or a
        # declined order, urgent whatever the date (domain-rules §4a, §7); each part still by
        # due date (a stable sort)
        if missed or any(row.state == "urgent" for row in result):
            result.sort(key=lambda row: (row.booking != "did_not_attend", row.state != "urgent"))
        return result

    def _solution(self, solution: str) -> tuple[str, tuple[str, ...]]:
        """A stored solution's text and drug keys, in ingredient order
        (:func:`forecasting.solution_parts`)."""
        parts = forecasting.solution_parts(solution)
        texts = []
        for key, concentration in parts:
            try:
                found = self.ctx.catalogs.drugs.drug(key)
                name, unit = found.name.lower(), found.display_unit
            except PumpMgrError:
                name, unit = key, "mcg"
            texts.append(f"{name} {_strength(concentration, unit)}")
        return " + ".join(texts), tuple(key for key, _concentration in parts)


@functools.cache
def _due_list_statement(within: bool) -> Any:
    """The due list's statement, made once (``within``: with a ``due_by`` limit). The
    prescription, its step count and the last verdict (revision 0004) and its solution
    (revision 0022) are kept with each forecast, so it has no subquery for each pump."""
    f = db.PumpForecast
    # an urgent pump (an unreviewed incident, an open Stop order, a declined order) is listed
    # whatever its date
    due_by = (
        [
            or_(
                f.refill_due <= bindparam("due_by", type_=Date()),
                f.open_incident,
                f.open_stop_order,
                f.order_alert == "declined",
            )
        ]
        if within
        else []
    )
    filters = [
        db.Pump.status == db.PumpStatus.ACTIVE,
        db.Patient.status == db.PatientStatus.ACTIVE,
        *due_by,
    ]
    # the alarm with every bolus taken, else the nominal one (one instant to read)
    alarm = func.coalesce(f.alarm_at_with_boluses, f.alarm_at, type_=UTCDateTime())
    pumps = (
        select(
            f.refill_due,
            f.refill_due_reason,
            alarm,
            db.Pump.id,
            db.Pump.model_key,
            db.Pump.replace_by_date,
            db.Patient.id,
            db.Patient.mrn,
            db.Patient.family_name,
            db.Patient.given_name,
            f.solution,
            f.flex_schedule,
            f.open_discrepancy,
            f.order_alert,
            f.open_incident,
            f.open_stop_order,
            f.alarm_at,
            f.empty_at,
            f.filled_at,
            f.fill_volume_ml,
            f.daily_volume_ml_per_day,
            f.alarm_at_worst_case,
            f.empty_at_worst_case,
            db.Patient.phone,
            db.Patient.emergency_contact_name,
            db.Patient.emergency_contact_phone,
        )
        .join(db.Pump, db.Pump.id == f.pump_id)
        .join(db.Patient, db.Patient.id == db.Pump.patient_id)
        .where(*filters)
        .order_by(f.refill_due, db.Patient.family_name, db.Patient.id)
    )
    return pumps


@functools.cache
def _booking_statements() -> tuple[Any, Any]:
    """The open bookings' (pump, day) (the partial unique index holds exactly them), and each
    pump's latest missed visit since ``since`` (the (state, day) index)."""
    b = db.Booking
    open_bookings = select(b.pump_id, b.day).where(b.state == db.BookingState.BOOKED)
    missed = (
        select(b.pump_id, func.max(b.day))
        .where(b.state == db.BookingState.DID_NOT_ATTEND, b.day >= bindparam("since", type_=Date()))
        .group_by(b.pump_id)
    )
    return open_bookings, missed


@functools.cache
def _last_refills() -> Any:
    """The latest refill of each pump in ``pumps`` (a refill after a missed visit takes the
    pump off the call list)."""
    return (
        select(db.Refill.pump_id, func.max(db.Refill.performed_at))
        .where(db.Refill.pump_id.in_(bindparam("pumps", expanding=True)))
        .group_by(db.Refill.pump_id)
    )


@functools.lru_cache(maxsize=4096)
def _strength(mcg_per_ml: float, unit: str) -> str:
    """A concentration as the due list writes it (the same few strengths come back on every
    row, so each is formatted once)."""
    return format_quantity(Q_(mcg_per_ml, MCG_PER_ML), Kind.CONCENTRATION, unit)  # type: ignore[arg-type]


def due_state(due: date, today: date) -> DueState:
    if due < today:
        return "overdue"
    if due <= today + timedelta(days=DUE_SOON_DAYS):
        return "due_this_week"
    if due <= today + timedelta(days=DUE_LATER_DAYS):
        return "due_in_14_days"
    return "fine"
