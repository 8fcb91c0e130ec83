"""Orders and signatures (domain-rules §7) and incidents (§4a), through the services, on each
backend: the prescriber's account, the nurse's record of the order, co-signature, high-risk
orders held until signed, declined orders, incidents, every step audited and permitted."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, time, timedelta
from io import BytesIO

import pytest
from clinic_world import (
    BERLIN,
    PASSWORD,
    START,
    World,
    baclofen_patient,
    baclofen_prescription,
    continuing,
    count,
    fill,
    last_audit,
    written_order,
)
from pypdf import PdfReader

from pumpmgr.auth import AuthError
from pumpmgr.db import schema as db
from pumpmgr.errors import ImpossibleInput, InputError
from pumpmgr.orders import NO_SETTINGS_TEXT
from pumpmgr.records import ClinicSettings, OrderRecord
from pumpmgr.reports.worksheet import orders_and_incidents
from pumpmgr.services import PermissionDenied
from pumpmgr.services.inputs import OrderGiven, PrescriptionInput
from pumpmgr.services.sheets import SheetService

TITRATION = {"titration.above_percent": "prescriber's order"}


def filled(world: World, mrn: str = "100001") -> tuple[int, int]:
    """A patient on 400 mcg/day, filled at START, the order entered by the prescriber."""
    patient_id, pump_id = baclofen_patient(world, mrn)
    world.clinic.change_prescription(
        world.prescriber, world.check, pump_id, continuing(baclofen_prescription())
    )
    world.clinic.record_refill(world.nurse, world.check, pump_id, fill(START))
    return patient_id, pump_id


def two_days_on(world: World) -> None:
    world.clock.advance(timedelta(days=2))


def change(dose: str, world: World, **extra: object) -> PrescriptionInput:
    """A change at the clock's time, as a written order given then."""
    now = world.clinic.clock.now()
    data = (
        baclofen_prescription(dose, at=now, **TITRATION)
        if dose == "600 mcg/day"
        else (baclofen_prescription(dose, at=now))
    )
    fields: dict[str, object] = {"order": written_order(now), **extra}
    return replace(data, **fields)  # type: ignore[arg-type]


def listed(world: World) -> list[OrderRecord]:
    return world.clinic.orders.awaiting_signature()


# -- the prescriber is an account ----------------------------------------------------------


def test_free_text_is_not_a_prescriber(world: World) -> None:
    _, pump_id = baclofen_patient(world)
    data = replace(continuing(baclofen_prescription()), prescriber="Dr Nobody")
    with pytest.raises(InputError) as refused:
        world.clinic.change_prescription(world.nurse, world.check, pump_id, data)
    assert refused.value.field == "prescriber"
    assert "Dr Brandt (brandt)" in refused.value.message  # the accounts it could be
    assert count(world, db.Prescription) == 0


def test_a_deactivated_or_non_prescriber_account_is_not_a_prescriber(world: World) -> None:
    _, pump_id = baclofen_patient(world)
    with pytest.raises(InputError, match="prescriber"):
        world.clinic.change_prescription(
            world.nurse,
            world.check,
            pump_id,
            replace(continuing(baclofen_prescription()), prescriber="nina"),
        )
    world.clinic.deactivate_user(world.admin, world.prescriber.id, "left the clinic")
    with pytest.raises(InputError, match="prescriber"):
        world.clinic.change_prescription(world.nurse, world.check, pump_id, baclofen_prescription())
    assert count(world, db.Prescription) == 0


def test_the_order_names_the_account_by_user_name_or_full_name(world: World) -> None:
    _, pump_id = baclofen_patient(world)
    outcome = world.clinic.change_prescription(
        world.nurse,
        world.check,
        pump_id,
        replace(continuing(baclofen_prescription()), prescriber="BRANDT"),
    )
    assert outcome.prescription.prescriber_id == world.prescriber.id
    assert outcome.prescription.prescriber_text == "Dr Brandt"


def test_a_nurse_records_how_the_order_was_given_and_its_read_back(world: World) -> None:
    _, pump_id = baclofen_patient(world)
    with pytest.raises(InputError) as missing:
        world.clinic.change_prescription(
            world.nurse,
            world.check,
            pump_id,
            replace(continuing(baclofen_prescription()), order=None),
        )
    assert missing.value.field == "order"
    spoken = OrderGiven("spoken", START)
    with pytest.raises(InputError) as not_read_back:
        world.clinic.change_prescription(
            world.nurse,
            world.check,
            pump_id,
            continuing(replace(baclofen_prescription(), order=spoken)),
        )
    assert not_read_back.value.field == "read back"
    with pytest.raises(InputError) as unknown:
        world.clinic.change_prescription(
            world.nurse,
            world.check,
            pump_id,
            continuing(replace(baclofen_prescription(), order=OrderGiven("email", START))),
        )
    assert unknown.value.field == "order given as"
    with pytest.raises(ImpossibleInput) as future:
        world.clinic.change_prescription(
            world.nurse,
            world.check,
            pump_id,
            replace(
                continuing(baclofen_prescription()),
                order=OrderGiven("written", START + timedelta(hours=1)),
            ),
        )
    assert future.value.field == "order given at"
    assert count(world, db.Prescription) == 0
    telephone = OrderGiven("telephone", START - timedelta(minutes=10), read_back_confirmed=True)
    outcome = world.clinic.change_prescription(
        world.nurse,
        world.check,
        pump_id,
        continuing(replace(baclofen_prescription(), order=telephone)),
    )
    assert outcome.prescription.order_state == "awaiting_cosignature"
    (order,) = listed(world)
    assert (order.given_as, order.read_back_confirmed) == ("telephone", True)
    assert order.entered_by == "Nina Nurse" and order.prescriber == "Dr Brandt"
    payload = json.loads(last_audit(world).payload)
    assert payload["order"]["given_as"] == "telephone"
    assert payload["order"]["read_back_confirmed"] is True
    assert payload["order"]["prescriber"] == "brandt"


@pytest.mark.writes_outside_pumpmgr
def test_older_rows_keep_their_typed_prescriber_as_history(world: World) -> None:
    _, pump_id = filled(world)
    with world.clinic.database.write() as session:  # as revision 0010 leaves them
        old = db.Prescription(
            pump_id=pump_id,
            revision=9,
            effective_at=START - timedelta(days=1),
            prescriber_name="Dr Old Text",
            recorded_at=START,
            recorded_by_id=world.nurse.id,
        )
        session.add(old)
        session.flush()
        session.add(
            db.PrescriptionIngredient(
                prescription_id=old.id,
                position=0,
                drug_key="baclofen",
                concentration_mcg_per_ml=2000.0,
            )
        )
        session.add(
            db.ScheduleStep(prescription_id=old.id, start_time=time(0, 0), rate_mcg_per_day=300.0)
        )
    chart = world.clinic.patient_chart(world.clinic.find_patient("100001").id)
    old = next(p for p in chart.prescriptions if p.prescriber == "Dr Old Text")
    assert old.prescriber_text == "Dr Old Text (as typed)" and old.order_state is None
    assert chart.open_orders == ()


# -- co-signature --------------------------------------------------------------------------


def test_a_prescribers_own_entry_is_signed_at_once(world: World) -> None:
    _, pump_id = baclofen_patient(world)
    outcome = world.clinic.change_prescription(
        world.prescriber,
        world.check,
        pump_id,
        replace(continuing(baclofen_prescription()), order=None),
    )
    assert outcome.prescription.order_state == "signed"
    assert listed(world) == []


def test_an_ordinary_change_counts_at_once_and_is_overdue_exactly_at_48_hours(world: World) -> None:
    _, pump_id = filled(world)
    before = world.clinic.due_list()[0].alarm_at
    two_days_on(world)
    outcome = world.clinic.change_prescription(
        world.nurse, world.check, pump_id, change("500 mcg/day", world)
    )
    assert outcome.check.verdict == "ok"
    assert world.clinic.due_list()[0].alarm_at < before  # every forecast uses it
    world.clock.advance(timedelta(hours=48) - timedelta(seconds=1))
    (order,) = listed(world)
    assert order.state == "awaiting_cosignature" and not order.overdue
    world.clock.advance(timedelta(seconds=1))
    assert listed(world)[0].overdue
    assert world.clinic.due_list()[0].order_alert == "awaiting_cosignature"


def test_the_clinics_own_co_signature_limit(world: World) -> None:
    settings = replace(world.clinic.settings(), clinic_name="Pump clinic", cosign_overdue_hours=12)
    world.clinic.update_settings(world.admin, settings)
    _, pump_id = filled(world)
    world.clinic.change_prescription(
        world.nurse, world.check, pump_id, change("400 mcg/day", world)
    )
    world.clock.advance(timedelta(hours=12))
    assert listed(world)[0].overdue
    with pytest.raises(ImpossibleInput) as refused:
        world.clinic.update_settings(world.admin, replace(settings, high_risk_overdue_hours=0))
    assert refused.value.field == "high-risk order overdue"
    assert ClinicSettings().cosign_overdue_hours == 48


def test_only_the_named_prescriber_signs_with_their_own_password(world: World) -> None:
    _, pump_id = filled(world)
    world.clinic.change_prescription(
        world.nurse, world.check, pump_id, change("400 mcg/day", world)
    )
    (order,) = listed(world)
    with pytest.raises(PermissionDenied):
        world.clinic.orders.sign_order(world.nurse, order.prescription_id, PASSWORD)
    world.clinic.add_user(world.admin, "kim", PASSWORD, "Dr Kim", "prescriber")
    other = world.clinic.sign_in("kim", PASSWORD)
    with pytest.raises(ImpossibleInput, match="Dr Brandt"):
        world.clinic.orders.sign_order(other, order.prescription_id, PASSWORD)
    with pytest.raises(AuthError):
        world.clinic.orders.sign_order(world.prescriber, order.prescription_id, "wrong")
    assert count(world, db.OrderAction) == 0
    signed = world.clinic.orders.sign_order(world.prescriber, order.prescription_id, PASSWORD)
    assert signed.state == "signed" and signed.decided_by == "Dr Brandt"
    assert listed(world) == []
    entry = last_audit(world)
    assert (entry.action, entry.username, entry.entity_id) == (
        "order.sign",
        "brandt",
        str(order.prescription_id),
    )
    with pytest.raises(ImpossibleInput, match="already signed"):
        world.clinic.orders.sign_order(world.prescriber, order.prescription_id, PASSWORD)


# -- high-risk orders -----------------------------------------------------------------------


def test_a_high_risk_change_waits_for_the_signature_before_it_is_programmed(world: World) -> None:
    patient_id, pump_id = filled(world)
    two_days_on(world)
    due_before = world.clinic.due_list()[0]
    outcome = world.clinic.change_prescription(
        world.nurse, world.check, pump_id, change("600 mcg/day", world)
    )
    assert outcome.prescription.order_state == "awaiting_signature"
    row = world.clinic.due_list()[0]
    assert (row.alarm_at, row.refill_due) == (due_before.alarm_at, due_before.refill_due)
    chart = world.clinic.patient_chart(patient_id)
    assert chart.prescription is not None and chart.prescription.id != outcome.prescription.id
    assert [o.state for o in chart.open_orders] == ["awaiting_signature"]
    printed = [p.text for p in orders_and_incidents(chart, BERLIN)]
    assert len(printed) == 1 and NO_SETTINGS_TEXT.split(":")[0] in printed[0]
    # the dose checks still compare with the dose the pump runs (400), not the held 600
    again = world.clinic.check_prescription(pump_id, change("600 mcg/day", world))
    assert "titration.above_percent" in {str(f.code) for f in again.findings}
    world.clinic.orders.sign_order(world.prescriber, outcome.prescription.id, PASSWORD)
    assert world.clinic.due_list()[0].alarm_at < due_before.alarm_at
    chart = world.clinic.patient_chart(patient_id)
    assert chart.prescription is not None and chart.prescription.id == outcome.prescription.id
    assert orders_and_incidents(chart, BERLIN) == []


def test_a_high_risk_order_programmed_all_the_same_is_unsigned_and_first(world: World) -> None:
    _, pump_a = filled(world, "100001")
    _, pump_b = filled(world, "100002")
    two_days_on(world)
    world.clinic.change_prescription(world.nurse, world.check, pump_a, change("400 mcg/day", world))
    alarm_before = next(r for r in world.clinic.due_list() if r.pump_id == pump_b).alarm_at
    held = world.clinic.change_prescription(
        world.nurse, world.check, pump_b, change("600 mcg/day", world)
    )
    with pytest.raises(PermissionDenied):
        world.clinic.orders.record_programmed(world.admin, held.prescription.id)
    programmed = world.clinic.orders.record_programmed(world.nurse, held.prescription.id)
    assert programmed.state == "unsigned_high_risk" and programmed.programmed
    assert last_audit(world).action == "order.programmed"
    row = next(r for r in world.clinic.due_list() if r.pump_id == pump_b)
    assert row.alarm_at < alarm_before and row.order_alert == "unsigned_high_risk"
    assert [o.state for o in listed(world)] == ["unsigned_high_risk", "awaiting_cosignature"]
    assert world.clinic.orders.count_awaiting() == 2  # the badge
    assert [o.pump_id for o in world.clinic.orders.awaiting_signature(world.prescriber.id)] == [
        pump_b,
        pump_a,
    ]
    world.clock.advance(timedelta(hours=24) - timedelta(seconds=1))
    assert not listed(world)[0].overdue
    world.clock.advance(timedelta(seconds=1))
    assert [o.overdue for o in listed(world)] == [True, False]  # 24 h, and 48 h for the other
    with pytest.raises(ImpossibleInput):  # it is programmed already
        world.clinic.orders.record_programmed(world.nurse, held.prescription.id)


def test_already_programmed_on_a_spoken_order_at_entry(world: World) -> None:
    patient_id, pump_id = filled(world)
    two_days_on(world)
    spoken = OrderGiven("spoken", world.clinic.clock.now(), read_back_confirmed=True)
    outcome = world.clinic.change_prescription(
        world.nurse,
        world.check,
        pump_id,
        change("600 mcg/day", world, order=spoken, already_programmed=True),
    )
    assert outcome.prescription.order_state == "unsigned_high_risk"
    chart = world.clinic.patient_chart(patient_id)
    assert chart.prescription is not None and chart.prescription.id == outcome.prescription.id
    assert chart.open_orders[0].state == "unsigned_high_risk"


def test_a_refill_cannot_carry_a_held_order(world: World) -> None:
    _, pump_id = filled(world)
    world.clock.advance(timedelta(days=30))
    now = world.clinic.clock.now()
    new = replace(
        baclofen_prescription("600 mcg/day", at=now, **TITRATION), order=written_order(now)
    )
    with pytest.raises(ImpossibleInput) as refused:
        world.clinic.record_refill(
            world.nurse,
            world.check,
            pump_id,
            fill(now, "14 mL", volume="6 mL", new_prescription=new),
        )
    assert refused.value.field == "prescription"
    assert count(world, db.Refill) == 1 and count(world, db.Prescription) == 1


# -- declined -------------------------------------------------------------------------------


def test_a_declined_order_keeps_the_patient_urgent_until_a_new_order_runs(world: World) -> None:
    _, pump_a = filled(world, "100001")
    _, pump_b = filled(world, "100002")
    two_days_on(world)
    outcome = world.clinic.change_prescription(
        world.nurse, world.check, pump_b, change("400 mcg/day", world)
    )
    order_id = outcome.prescription.id
    with pytest.raises(InputError) as no_reason:
        world.clinic.orders.decline_order(world.prescriber, order_id, PASSWORD, "  ")
    assert no_reason.value.field == "reason"
    declined = world.clinic.orders.decline_order(
        world.prescriber, order_id, PASSWORD, "not what I ordered"
    )
    assert declined.state == "declined" and declined.decline_reason == "not what I ordered"
    entry = last_audit(world)
    assert (entry.action, entry.reason) == ("order.decline", "not what I ordered")
    rows = world.clinic.due_list()
    assert (rows[0].pump_id, rows[0].state) == (pump_b, "urgent")
    assert next(r for r in rows if r.pump_id == pump_a).state != "urgent"
    assert listed(world)[0].state == "declined"
    assert [r.pump_id for r in world.clinic.due_list(within_days=0)] == [pump_b]
    assert count(world, db.Prescription) == 3  # nothing deleted
    world.clock.advance(timedelta(hours=1))
    world.clinic.change_prescription(
        world.prescriber, world.check, pump_b, change("400 mcg/day", world)
    )
    assert all(r.state != "urgent" for r in world.clinic.due_list())
    assert listed(world) == []


def test_the_badge_counts_what_the_list_shows_in_every_state(world: World) -> None:
    """The badge's count is made by the database (it is read on every due-list show); it
    must equal the co-signature list's length whatever the orders' states: two open orders on
    one pump, held, programmed unsigned, declined, declined and replaced, signed."""
    _, pump_a = filled(world, "100001")
    _, pump_b = filled(world, "100002")
    _, pump_c = filled(world, "100003")
    two_days_on(world)

    def badge_is_the_list(length: int) -> None:
        assert world.clinic.orders.count_awaiting() == len(listed(world)) == length

    badge_is_the_list(0)
    first = world.clinic.change_prescription(
        world.nurse, world.check, pump_a, change("400 mcg/day", world)
    )
    world.clock.advance(timedelta(hours=25))  # a day between increases
    world.clinic.change_prescription(world.nurse, world.check, pump_a, change("500 mcg/day", world))
    badge_is_the_list(2)  # both of pump A's orders await co-signature
    held = world.clinic.change_prescription(
        world.nurse, world.check, pump_b, change("600 mcg/day", world)
    )
    badge_is_the_list(3)
    world.clinic.orders.record_programmed(world.nurse, held.prescription.id)
    badge_is_the_list(3)  # now an unsigned high-risk order
    refused = world.clinic.change_prescription(
        world.nurse, world.check, pump_c, change("400 mcg/day", world)
    )
    world.clinic.orders.decline_order(
        world.prescriber, refused.prescription.id, PASSWORD, "not what I ordered"
    )
    badge_is_the_list(4)
    world.clock.advance(timedelta(hours=1))
    world.clinic.change_prescription(world.nurse, world.check, pump_c, change("400 mcg/day", world))
    badge_is_the_list(4)  # the declined one replaced by an order awaiting co-signature
    world.clinic.orders.sign_order(world.prescriber, first.prescription.id, PASSWORD)
    world.clinic.orders.sign_order(world.prescriber, held.prescription.id, PASSWORD)
    badge_is_the_list(2)
    for order in listed(world):
        world.clinic.orders.sign_order(world.prescriber, order.prescription_id, PASSWORD)
    badge_is_the_list(0)


# -- incidents (§4a) ------------------------------------------------------------------------


def test_a_change_already_programmed_outside_limits_is_recorded_with_an_incident(
    world: World,
) -> None:
    patient_id, pump_id = filled(world)
    two_days_on(world)
    tenfold = change("12 mg/day", world, already_programmed=True)
    with pytest.raises(ImpossibleInput, match="mg/mcg"):  # as an order: blocked
        world.clinic.change_prescription(
            world.nurse, world.check, pump_id, replace(tenfold, already_programmed=False)
        )
    outcome = world.clinic.change_prescription(world.nurse, world.check, pump_id, tenfold)
    assert outcome.check.verdict == "blocked"
    assert outcome.forecast is not None  # the forecast runs on what the pump does
    assert float(outcome.forecast.daily_volume.to("mL/day").m) == pytest.approx(6.0)
    (incident,) = world.clinic.orders.incidents(patient_id)
    assert incident.text == "programmed outside limits"
    assert incident.prescription_id == outcome.prescription.id and "mg/mcg" in incident.summary
    assert last_audit(world).action == "prescription.change"
    row = world.clinic.due_list()[0]
    assert row.state == "urgent" and row.open_incident
    chart = world.clinic.patient_chart(patient_id)
    assert chart.open_incidents == (incident,)
    assert "INCIDENT: programmed outside limits" in (orders_and_incidents(chart, BERLIN)[0].text)
    with pytest.raises(PermissionDenied):
        world.clinic.orders.review_incident(world.nurse, incident.id, "seen")
    reviewed = world.clinic.orders.review_incident(
        world.prescriber, incident.id, "pump reprogrammed to 400 mcg/day"
    )
    assert reviewed.reviewed_by == "Dr Brandt"
    assert last_audit(world).action == "incident.review"
    assert not world.clinic.due_list()[0].open_incident
    assert world.clinic.orders.incidents(patient_id) == []
    assert len(world.clinic.orders.incidents(patient_id, open_only=False)) == 1
    with pytest.raises(ImpossibleInput, match="already reviewed"):
        world.clinic.orders.review_incident(world.prescriber, incident.id, "again")


def test_a_program_no_pump_can_hold_is_not_a_fact(world: World) -> None:
    _, pump_id = filled(world)
    two_days_on(world)
    with pytest.raises(InputError) as refused:
        world.clinic.change_prescription(
            world.nurse, world.check, pump_id, change("0 mcg/day", world, already_programmed=True)
        )
    assert refused.value.field == "dose"
    assert count(world, db.Prescription) == 1


def test_a_fill_with_an_expired_solution_is_recorded_with_an_incident(world: World) -> None:
    patient_id, pump_id = filled(world)
    world.clock.advance(timedelta(days=30))
    now = world.clinic.clock.now()
    outcome = world.clinic.record_refill(
        world.nurse,
        world.check,
        pump_id,
        replace(fill(now, "14 mL", volume="6 mL"), expiry=date(2025, 3, 31), already_filled=True),
    )
    assert outcome.refill.expiry == date(2025, 3, 31)
    (incident,) = world.clinic.orders.incidents(patient_id)
    assert incident.text == "filled with an expired solution"
    assert incident.refill_id == outcome.refill.id and "2025-03-31" in incident.summary
    assert world.clinic.due_list()[0].state == "urgent"


def test_the_printed_sheets_say_it_awaits_the_signature_and_print_no_settings(world: World) -> None:
    def text(data: bytes) -> str:
        pages = PdfReader(BytesIO(data)).pages
        return " ".join(" ".join((p.extract_text() or "").split()) for p in pages)

    _, pump_id = filled(world)
    two_days_on(world)
    world.clinic.change_prescription(
        world.nurse, world.check, pump_id, change("600 mcg/day", world)
    )
    sheets = SheetService(world.clinic)
    worksheet, history = text(sheets.worksheet("100001")), text(sheets.history("100001"))
    # the worksheet's banner says it once (it said "awaiting ...; awaiting ...: no pump ...")
    assert "awaiting the prescriber's signature; no pump settings" in worksheet
    assert worksheet.count("awaiting the prescriber's signature") == 1
    assert "awaiting the prescriber's signature: no pump settings" in history
    assert "0.3 mL/day" not in worksheet + history  # 600 mcg/day of 2000 mcg/mL, nowhere
    assert "0.2 mL/day" in worksheet  # the program the pump runs
