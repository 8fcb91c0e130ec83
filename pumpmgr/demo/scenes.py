"""The demo's scenes of today's clinic, played after the history: the prescriber's orders
(telephone orders, a declined and a stopped one, an individual maximum, a program put back
after an incident) and the bookings (visits booked on the proposed day or too late, a visit
missed yesterday, today's diary).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Literal

from pumpmgr.demo.plans import (
    open_day,
)
from pumpmgr.demo.users import DEMO_USERS
from pumpmgr.demo.words import (
    REASONS,
)
from pumpmgr.errors import Code, ImpossibleInput, InputError
from pumpmgr.records import DueRow, PrescriptionRecord
from pumpmgr.schedule import Schedule
from pumpmgr.services import dose_orders
from pumpmgr.services.clinic import Actor
from pumpmgr.services.inputs import (
    IngredientInput,
    OrderGiven,
    PrescriptionInput,
    RefillInput,
    TenfoldConfirmation,
    TenfoldReason,
)
from pumpmgr.units import MCG_PER_DAY, ML, Q_, Quantity

if TYPE_CHECKING:
    from pumpmgr.demo.builder import _Demo


def orders_scene(demo: _Demo) -> None:
    prescriber = demo.users["prescriber"]
    password = next(u.password for u in DEMO_USERS if u.username == "prescriber")
    nurse, check = demo.users["nurse1"], demo.check("nurse2")
    # the first patient shows a signed order and a reviewed incident (so even a small
    # demo holds a row of each table), the next ones the other states
    # the pumps due last, so the due list's other states stay as the history left them;
    # the urgent ones (a declined order, an open incident) only in a clinic of ten or more
    rows = demo.clinic.due_list(today=demo.today)[::-1]
    scenes = ["signed", "incident_reviewed", "held", "awaiting"]
    if len(rows) >= 10:
        scenes += ["declined", "incident"]
    index = 0
    while scenes and index < len(rows):
        row = rows[index]
        index += 1
        rx = demo.clinic.patient_chart(row.patient_id).prescription
        scene = scenes[0]
        if rx is None:
            continue
        if scene in ("incident_reviewed", "held", "incident") and (
            row.pump_type == "constant_flow"
        ):
            continue  # a constant-flow pump's dose changes only with its solution
        demo.clock.moment += timedelta(minutes=7)
        now = demo.clock.now()
        current = rx.schedule.daily_dose()
        drug = demo.clinic.library().drug(rx.primary.drug)
        dose: Quantity | None = None
        fact = scene.startswith("incident")
        if fact:
            # found at interrogation: programmed above the limit on another service
            limit = (
                drug.hard_max.value if drug.hard_max is not None else (drug.typical_max.value * 10)
            )
            dose = (limit * 1.05).to(current.units)
        elif scene == "held":
            dose = current * 1.5
        data = order_input(demo, rx, dose, now, fact=fact)
        if not fact and demo.clinic.check_prescription(row.pump_id, data).blocked:
            continue  # not this patient's program: the next one
        scenes.pop(0)
        outcome = demo.clinic.change_prescription(nurse, check, row.pump_id, data)
        demo.call("record_programmed_change" if fact else "change_prescription")
        order_id = outcome.prescription.id
        if scene == "incident_reviewed":
            (incident, *_) = demo.clinic.orders.incidents(row.patient_id)
            demo.clinic.orders.review_incident(
                prescriber,
                incident.id,
                "the pump was reprogrammed to the ordered dose at the visit; patient well",
            )
            demo.call("review_incident")
            reprogram_back(demo, rx)
        elif scene == "signed":
            demo.clinic.orders.sign_order(prescriber, order_id, password)
            demo.call("sign_order")
            if scenes and scenes[0] == "incident_reviewed":
                index -= 1  # the same patient again
        elif scene == "declined":
            demo.clinic.orders.decline_order(
                prescriber, order_id, password, "not the change I asked for; call me"
            )
            demo.call("decline_order")
    if len(rows) >= 10:
        facts_scene(demo, rows[index:])
    individual_maximum(demo, rows)


def facts_scene(demo: _Demo, rows: list[DueRow]) -> None:
    """What already happened, recorded as it is with its incident (domain-rules §4a), on
    two pumps the orders' scene left alone: one found empty at today's visit and refilled
    on its old program (a restart without a restart order; the over-infusion-risk flag),
    and one whose fill today turned out to use a solution past its expiry date."""
    nurse, check = demo.users["nurse1"], demo.check("nurse2")
    scenes = ["found_empty", "expired"]
    for row in rows:
        chart = demo.clinic.patient_chart(row.patient_id)
        if not scenes or chart.pump is None or chart.prescription is None or (not chart.refills):
            continue
        last = chart.refills[-1]
        demo.clock.moment += timedelta(minutes=11)
        now = demo.clock.now()
        expected = demo.clinic.expected_now(row.pump_id, now)
        if expected is None:
            continue
        scene = scenes.pop(0)
        found_empty = scene == "found_empty"
        demo.clinic.record_refill(
            nurse,
            check,
            row.pump_id,
            RefillInput(
                performed_at=now,
                aspirated=Q_(0.2, ML)
                if found_empty
                else Q_(round(float(expected.to(ML).m), 1), ML),
                volume_added=chart.pump.capacity,
                lot_number=last.lot_number,
                expiry=demo.today + timedelta(days=-3 if not found_empty else 60),
                source=last.source,
                compounded=last.compounded,
                undiluted=last.undiluted,
                needle_position_confirmed=True,
                pump_running_confirmed=True,
                discrepancy_note=(
                    "0.2 mL back where about "
                    f"{round(float(expected.to(ML).m))} mL were expected; "
                    "patient drowsy since the weekend, observed, stable"
                    if found_empty
                    else ""
                ),
                already_filled=not found_empty,
            ),
        )
        demo.call("record_refill_with_incident")
    stop_order_scene(demo, [r for r in rows if r.pump_type != "constant_flow"])


def stop_order_scene(demo: _Demo, rows: list[DueRow]) -> None:
    """A prescriber's Stop order not yet carried out (domain-rules §6): the patient's page,
    the worksheet and the due list say so, with the withdrawal warning for baclofen."""
    row = next((r for r in reversed(rows) if "baclofen" in r.drug_keys), rows[-1] if rows else None)
    if row is None or not row.drug_keys:
        return
    password = next(u.password for u in DEMO_USERS if u.username == "prescriber")
    demo.clock.moment += timedelta(minutes=13)
    demo.clinic.stop_orders.give(
        demo.users["prescriber"],
        password,
        row.pump_id,
        row.drug_keys[0],
        demo.clock.now(),
        "pump pocket infection: the pump is to be explanted next week",
        long_stop=True,
    )
    demo.call("give_stop_order")


def individual_maximum(demo: _Demo, rows: list[DueRow]) -> None:
    """One baclofen patient whose hard maximum a prescriber raised, with a second
    prescriber's signature (domain-rules §6): shown on the patient's page."""
    for row in rows:
        if "baclofen" not in row.drug_keys:
            continue
        demo.clock.moment += timedelta(minutes=5)
        demo.clinic.maxima.raise_maximum(
            demo.users["prescriber"],
            demo.check("prescriber2"),
            row.patient_id,
            "baclofen",
            Q_(3000, MCG_PER_DAY),
            "severe dystonia; 2,000 mcg/day failed; agreed at the spasticity board",
        )
        demo.call("raise_individual_maximum")
        return


def reprogram_back(demo: _Demo, rx: PrescriptionRecord) -> None:
    """The program ``rx`` put back after an incident, as its review says: the
    prescriber's own order (a cut this large is typed again blind, domain-rules §6)."""
    demo.clock.moment += timedelta(minutes=3)
    data = replace(order_input(demo, rx, None, demo.clock.now(), fact=False), order=None)
    context = demo.clinic.context
    with context.database.read() as session:
        found = dose_orders.prescription_check(context, session, rx.pump_id, data)
    tenfold = found.check.needs_prescriber
    if tenfold:  # the doses the check compared, typed again as settle_stop wants them
        data = replace(
            data,
            tenfold=TenfoldConfirmation(
                dict(found.doses), TenfoldReason.OVERDOSE_OR_ADVERSE_EFFECT
            ),
        )
    demo.clinic.change_prescription(
        demo.users["prescriber"], demo.check("nurse1"), rx.pump_id, data
    )
    demo.call("confirm_tenfold_change" if tenfold else "change_prescription")


def order_input(
    demo: _Demo, rx: PrescriptionRecord, dose: Quantity | None, at: datetime, *, fact: bool
) -> PrescriptionInput:
    """A telephone order for ``dose`` of ``rx``'s solution (None: its program again),
    read back, with a reason for every warning its check gives."""
    data = PrescriptionInput(
        ingredients=tuple(IngredientInput(i.drug, i.concentration) for i in rx.ingredients),
        schedule=rx.schedule if dose is None else Schedule.simple(dose),
        effective_at=at,
        prescriber=demo.users["prescriber"].full_name,
        patient_bolus=rx.patient_bolus,
        order=OrderGiven("telephone", at, read_back_confirmed=True),
        already_programmed=fact,
    )
    check = demo.clinic.check_prescription(rx.pump_id, data)
    return replace(
        data,
        reasons={
            str(f.code): REASONS.get(str(f.code), "reviewed by the prescriber; accepted")
            for f in check.findings
            if f.level == "warning"
        },
    )


def book_visit(demo: _Demo, nurse: Actor, pump_id: int, day: date, moment: datetime) -> bool:
    """Book the refill visit of ``day`` (checked as any booking); a visit the forecast
    refuses is not booked (the refill goes ahead, as a walk-in)."""
    at = moment.astimezone(demo.tz).time().replace(second=0, microsecond=0)
    try:
        try:
            demo.clinic.bookings.book(nurse, pump_id, day, at=at)
        except InputError as late:
            if late.field != "reason":
                raise
            demo.clinic.bookings.book(
                nurse, pump_id, day, at=at, reason="first day the patient could come"
            )
    except ImpossibleInput as refused:
        if refused.code is not Code.BOOKING_REFUSED:
            raise
        return False
    demo.call("book_visit")
    return True


def missed_visit(demo: _Demo) -> None:
    """On the last open day before today: the patient due soonest whose visit that afternoon
    is in time, booked and did not attend (first on today's due list, with the call list).
    A pump already past its due date is not chosen: the worst case usually sets that date
    (domain-rules §3), so a day after it is refused. Skipped when the history's last action
    was already later than that afternoon."""
    day = open_day(demo.today - timedelta(days=1))
    afternoon = demo.at(day, time(16, 0))
    if demo.clock.moment > afternoon:
        return
    demo.clock.moment = afternoon
    nurse, other = demo.users["nurse1"], demo.users["nurse2"]
    # the due list is ordered by urgency: the soonest due first here
    soonest = sorted(
        (r for r in demo.clinic.due_list(today=day) if r.refill_due >= day),
        key=lambda r: (r.refill_due, r.pump_id),
    )
    for row in soonest:
        try:
            booking = demo.clinic.bookings.book(nurse, row.pump_id, day, at=time(16, 30))
        except (ImpossibleInput, InputError):
            continue  # not bookable that afternoon (the day full, a date refused)
        demo.call("book_visit")
        demo.clock.moment = demo.at(day, time(17, 30))
        demo.clinic.bookings.mark_did_not_attend(other, booking.booking.id, "no answer at home")
        demo.call("mark_did_not_attend")
        return


def bookings_today(demo: _Demo) -> None:
    """Today's diary, with a booking in every state besides the missed visit (left for the
    call list): visits due within the horizon booked in time on the proposed day, one
    cancelled and booked again, one moved, and one booked too late with its reason: the
    soonest due pump whose worst-case low date leaves an open day after its refill-due date
    (where the worst case sets that date, no day after it can be booked; domain-rules §3)."""
    nurse, other = demo.users["nurse1"], demo.users["nurse2"]
    horizon = demo.today + timedelta(days=demo.clinic.settings().booking_horizon_days)
    # the due list is ordered by urgency: the soonest due first here
    coming = sorted(
        (
            r
            for r in demo.clinic.due_list(today=demo.today)
            if r.refill_due > demo.today and r.booking != "did_not_attend"
        ),
        key=lambda r: (r.refill_due, r.pump_id),
    )
    bookings = demo.clinic.bookings
    later = [r for r in coming if r.refill_due <= horizon]
    late_pump = None
    for row in coming:
        if later and row.pump_id == later[0].pump_id:
            continue  # the visit cancelled and moved
        late = row.refill_due + timedelta(days=1)
        late += timedelta(days=max(0, 7 - late.weekday()) if late.weekday() >= 5 else 0)
        try:
            bookings.book(
                nurse,
                row.pump_id,
                late,
                at=time(14, 0),
                reason="patient away until then; told to call if the alarm sounds",
            )
        except ImpossibleInput:
            continue  # past the worst-case low date: refused
        demo.call("book_visit")
        late_pump = row.pump_id
        break
    for index, row in enumerate(later):
        place: Literal["clinic", "home"] = "home" if index % 5 == 4 else "clinic"
        day = bookings.propose(row.pump_id, place)
        if day is None or row.pump_id == late_pump:
            continue
        if index == 0:  # booked, cancelled by the patient, and booked again
            first = bookings.book(nurse, row.pump_id, day, at=time(8, 0), place=place)
            demo.call("book_visit")
            bookings.cancel(
                nurse, first.booking.id, "patient phoned: transport not available that morning"
            )
            demo.call("cancel_visit")
        outcome = bookings.book(
            nurse,
            row.pump_id,
            day,
            at=time(9 + index % 7, 0),
            place=place,
            nurse_id=(nurse if index % 2 else other).id,
        )
        demo.call("book_visit")
        if index == 0:  # the patient asked for a later time the same day
            bookings.move(
                nurse, outcome.booking.id, day, at=time(16, 30), place=place, nurse_id=other.id
            )
            demo.call("move_visit")
