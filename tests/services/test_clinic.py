"""ClinicService: every action writes one transaction, audits it and updates the forecast."""

from __future__ import annotations

import json
import random
import sqlite3
from datetime import date, timedelta
from typing import Any

import pytest
from clinic_world import (
    PASSWORD,
    START,
    World,
    baclofen_patient,
    baclofen_prescription,
    continuing,
    count,
    fill,
    written_order,
)
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from pumpmgr.auth import AuthError
from pumpmgr.db import schema as db
from pumpmgr.db.errors import DatabaseBusy
from pumpmgr.errors import Code, ImpossibleInput, InputError, PumpMgrError
from pumpmgr.records import ProgrammerFigures
from pumpmgr.refill import compare_programmer
from pumpmgr.schedule import Schedule
from pumpmgr.services import PermissionDenied
from pumpmgr.services.forecasts import ForecastService
from pumpmgr.services.inputs import (
    IngredientInput,
    PatientInput,
    PrescriptionInput,
    PumpInput,
    Verification,
)
from pumpmgr.units import Q_


def first_fill(world: World, **reasons: str) -> tuple[int, int]:
    patient_id, pump_id = baclofen_patient(world)
    world.clinic.change_prescription(
        world.nurse, world.check, pump_id, continuing(baclofen_prescription(**reasons))
    )
    world.clinic.record_refill(world.nurse, world.check, pump_id, fill(START))
    return patient_id, pump_id


def test_example_1_forecast_reaches_the_due_list(world: World) -> None:
    """20 mL of 2000 mcg/mL at 400 mcg/day from Mon 3 Mar 2025 09:00: alarm Sun 1 Jun; alarm
    − 7 days would be Fri 23 May, but the pump running 14.5 % fast may reach the alarm volume
    after 18 / 0.229 = 78.6 days, at 00:28 on Wed 21 May (Berlin summer time): due then, no
    buffer (domain-rules §3)."""
    _, pump_id = first_fill(world)
    rows = world.clinic.due_list()
    assert len(rows) == 1
    row = rows[0]
    assert row.pump_id == pump_id
    assert row.refill_due == date(2025, 5, 21)
    assert row.refill_due_reason == "worst_case"
    assert row.alarm_at.astimezone(world.clinic.tz).date() == date(2025, 6, 1)
    assert row.days_left == pytest.approx(90)
    assert row.drug == "baclofen 2,000 mcg/mL"
    assert row.state == "fine"
    assert row.patient == "MEYER, Anna"


def test_refill_with_discrepancy_needs_a_note_and_records_the_verdict(world: World) -> None:
    """Day 60: expected 8 mL, 6.6 mL aspirated: Δ +1.4 mL > 1 mL: investigate (example 2a)."""
    _, pump_id = first_fill(world)
    world.clock.advance(timedelta(days=60))
    day_60 = START + timedelta(days=60)
    before = count(world, db.Refill)
    with pytest.raises(InputError) as caught:
        world.clinic.record_refill(world.nurse, world.check, pump_id, fill(day_60, "6.6 mL"))
    assert caught.value.field == "discrepancy note"
    assert count(world, db.Refill) == before  # nothing half-done
    outcome = world.clinic.record_refill(
        world.nurse,
        world.check,
        pump_id,
        fill(day_60, "6.6 mL", discrepancy_note="pocket checked; no swelling"),
    )
    assert outcome.discrepancy is not None
    assert outcome.discrepancy.verdict == "investigate"
    assert float(outcome.discrepancy.difference.m) == pytest.approx(1.4)
    assert outcome.refill.expected_residual is not None
    assert float(outcome.refill.expected_residual.m) == pytest.approx(8.0)
    assert outcome.refill.verifier == "Otto Second"
    assert world.clinic.due_list()[0].open_discrepancy


def test_the_second_check_must_be_another_user_with_the_right_password(world: World) -> None:
    _, pump_id = baclofen_patient(world)
    for verification in (
        Verification("nina", PASSWORD),
        Verification("otto", "wrong pass"),
        Verification("nobody", PASSWORD),
    ):
        with pytest.raises(AuthError):
            world.clinic.change_prescription(
                world.nurse, verification, pump_id, continuing(baclofen_prescription())
            )
    assert count(world, db.Prescription) == 0


def test_blocked_doses_cannot_be_saved_and_warnings_need_reasons(world: World) -> None:
    _, pump_id = baclofen_patient(world)
    with pytest.raises(ImpossibleInput, match="mg/mcg"):
        world.clinic.change_prescription(
            world.nurse, world.check, pump_id, continuing(baclofen_prescription("12 mg/day"))
        )
    with pytest.raises(InputError) as missing:
        world.clinic.change_prescription(
            world.nurse, world.check, pump_id, continuing(baclofen_prescription("1100 mcg/day"))
        )
    assert "dose.above_soft_max" in missing.value.message
    assert count(world, db.Prescription) == 0
    outcome = world.clinic.change_prescription(
        world.nurse,
        world.check,
        pump_id,
        continuing(
            baclofen_prescription("1100 mcg/day", **{"dose.above_soft_max": "long-standing dose"})
        ),
    )
    assert outcome.check.verdict == "warning"
    assert any(f.reason == "long-standing dose" for f in outcome.prescription.findings)


def test_titration_beyond_the_rule_is_a_warning_with_its_reason(world: World) -> None:
    _, pump_id = first_fill(world)
    world.clock.advance(timedelta(days=2))
    later = START + timedelta(days=2)
    check = world.clinic.check_prescription(pump_id, baclofen_prescription("600 mcg/day", at=later))
    assert "titration.above_percent" in {str(f.code) for f in check.findings}
    within_rule = world.clinic.check_prescription(
        pump_id, baclofen_prescription("520 mcg/day", at=later)
    )
    assert within_rule.verdict == "ok"  # +30 % exactly, spinal origin


def test_a_program_change_moves_the_forecast(world: World) -> None:
    """After 30 days at 400 mcg/day (6 mL used), 800 mcg/day: 12 mL above the alarm at 0.4 mL/day
    is 30 more days: alarm on day 60."""
    _, pump_id = first_fill(world)
    world.clock.advance(timedelta(days=30))
    outcome = world.clinic.change_prescription(  # above the titration rule: the prescriber
        world.prescriber,
        world.check,
        pump_id,
        baclofen_prescription(
            "800 mcg/day",
            at=START + timedelta(days=30),
            **{"titration.above_percent": "prescriber's order", "dose.above_typical": "x"},
        ),
    )
    assert outcome.forecast is not None
    assert float(outcome.forecast.fill_volume.m) == pytest.approx(14)
    alarm = outcome.forecast.alarm_at - START
    assert alarm.total_seconds() / 86400 == pytest.approx(60)


def test_a_concentration_change_needs_the_bridge_acknowledged(world: World) -> None:
    patient_id, pump_id = baclofen_patient(world, path_volume="0.142 mL")
    world.clinic.change_prescription(
        world.nurse,
        world.check,
        pump_id,
        continuing(baclofen_prescription("300 mcg/day", "1000 mcg/mL")),
    )
    world.clinic.record_refill(world.nurse, world.check, pump_id, fill(START))
    world.clock.advance(timedelta(days=40))
    at = START + timedelta(days=40)
    change = baclofen_prescription("300 mcg/day", "2000 mcg/mL", at=at)
    with pytest.raises(InputError) as caught:
        world.clinic.record_refill(
            world.nurse, world.check, pump_id, fill(at, "8 mL", new_prescription=change)
        )
    assert caught.value.field == "bridge"
    assert count(world, db.Prescription) == 1  # the new version was not kept either
    outcome = world.clinic.record_refill(
        world.nurse,
        world.check,
        pump_id,
        fill(
            at,
            "8 mL",
            new_prescription=change,
            bridge_acknowledged=True,
            bridge_bolus_given=True,
            bolus_volume=Q_("0.35 mL"),
        ),
    )
    assert outcome.bridge is not None  # dead space 0.142 + 80 × 0.0026 = 0.35 mL (example 6)
    assert float(outcome.bridge.bridge_duration.to("hour").m) == pytest.approx(28)
    assert float(outcome.bridge.unbridged_dose.m) == pytest.approx(150)
    assert outcome.prescription is not None
    chart = world.clinic.patient_chart(patient_id)
    assert chart.prescription is not None
    assert float(chart.prescription.primary.concentration.m) == 2000


def test_morphine_stability_sets_the_due_date(world: World) -> None:
    """Example 3: 40 mL of morphine 25 mg/mL at 5 mg/day: alarm in 190 days, but morphine is
    stable 90 days: due on 1 Jun 2025 (a Sunday), moved back to Friday 30 May."""
    clinic, nurse = world.clinic, world.nurse
    patient = clinic.register_patient(
        nurse, PatientInput("200001", "Okafor", "Ben", date(1960, 1, 1), "cancer_pain")
    )
    pump = clinic.implant_pump(
        nurse,
        patient.id,
        PumpInput("synchromed2-40", "SN2", date(2025, 3, 1), "left abdomen"),
        None,
    )
    clinic.change_prescription(
        nurse,
        world.check,
        pump.id,
        continuing(
            PrescriptionInput(
                (IngredientInput("morphine", Q_("25 mg/mL")),),
                Schedule.simple(Q_("5 mg/day")),
                START,
                "Dr Brandt",
                order=written_order(START),
            )
        ),
    )
    clinic.record_refill(nurse, world.check, pump.id, fill(START, volume="40 mL"))
    row = clinic.due_list()[0]
    assert row.refill_due == date(2025, 5, 30)
    assert row.refill_due_reason == "stability"


def test_constant_flow_prescription_must_match_the_nominal_flow(world: World) -> None:
    clinic, nurse = world.clinic, world.nurse
    patient = clinic.register_patient(
        nurse, PatientInput("300001", "Silva", "Rita", date(1958, 2, 2), "non_cancer_pain")
    )
    with pytest.raises(InputError) as no_flow:
        clinic.implant_pump(
            nurse,
            patient.id,
            PumpInput("isomed-20", "IM1", date(2025, 3, 1), "abdomen", capacity=Q_("20 mL")),
            None,
        )
    assert no_flow.value.field == "nominal flow"
    pump = clinic.implant_pump(
        nurse,
        patient.id,
        PumpInput(
            "isomed-20",
            "IM1",
            date(2025, 3, 1),
            "abdomen",
            capacity=Q_("20 mL"),
            nominal_flow=Q_("1 mL/day"),
        ),
        None,
    )
    wrong = continuing(
        PrescriptionInput(
            (IngredientInput("morphine", Q_("4 mg/mL")),),
            Schedule.simple(Q_("5 mg/day")),
            START,
            "Dr Brandt",
            reasons={"concentration.above_unverified_max": "x"},
            order=written_order(START),
        )
    )
    with pytest.raises(ImpossibleInput, match="needs 5 mg/mL"):
        clinic.change_prescription(nurse, world.check, pump.id, wrong)
    right = continuing(
        PrescriptionInput(
            (IngredientInput("morphine", Q_("4 mg/mL")),),
            Schedule.simple(Q_("4 mg/day")),
            START,
            "Dr Brandt",
            order=written_order(START),
        )
    )
    clinic.change_prescription(nurse, world.check, pump.id, right)
    clinic.record_refill(nurse, world.check, pump.id, fill(START))
    row = clinic.due_list()[0]
    assert row.days_left == pytest.approx(18)  # (20 − 2 mL) / 1 mL/day


def test_pump_replacement_keeps_the_history(world: World) -> None:
    patient_id, pump_id = first_fill(world)
    world.clock.advance(timedelta(days=10))
    new = world.clinic.replace_pump(
        world.nurse,
        pump_id,
        PumpInput(
            "synchromed2-40",
            "SN-NEW",
            (START + timedelta(days=10)).date(),
            "left abdomen",
            replace_by=date(2032, 3, 1),
        ),
        "battery ERI",
    )
    chart = world.clinic.patient_chart(patient_id)
    assert chart.pump is not None and chart.pump.id == new.id
    assert [p.status for p in chart.pumps] == ["explanted", "active"]
    assert {e.kind for e in chart.events} >= {"implant", "explant", "replacement"}
    assert len(chart.refills) == 1  # the old pump's fill stays on the record
    due = world.clinic.due_list()
    assert [r.pump_id for r in due] == [new.id]
    assert due[0].refill_due_reason == "first_fill"
    with pytest.raises(PumpMgrError):
        world.clinic.implant_pump(
            world.nurse,
            patient_id,
            PumpInput("synchromed2-20", "SN-THIRD", date(2025, 3, 12), "x"),
            None,
        )


def test_a_correction_is_a_new_row_and_the_original_stays(world: World) -> None:
    first_fill(world)
    with world.clinic.database.read() as session:
        original = session.scalars(select(db.Refill)).one()
    corrected = world.clinic.correct_refill(
        world.nurse, world.check, original.id, "wrong volume typed", volume_added=Q_("18 mL")
    )
    assert corrected.corrects_id == original.id
    assert float(corrected.final_volume.m) == 18
    with world.clinic.database.read() as session:
        again = session.get_one(db.Refill, original.id)
    assert again.final_reservoir_ml == 20
    row = world.clinic.due_list()[0]
    assert row.days_left == pytest.approx(80)  # (18 − 2) / 0.2
    with pytest.raises(ImpossibleInput) as superseded:
        world.clinic.correct_refill(
            world.nurse, world.check, original.id, "again", volume_added=Q_("19 mL")
        )
    assert superseded.value.field == "refill"
    assert f"#{original.id} was already corrected by #{corrected.id}" in superseded.value.message
    # an unknown id is refused on the same field, never a database error
    with pytest.raises(InputError) as unknown:
        world.clinic.correct_refill(world.nurse, world.check, 9999, "typo", lot_number="L1")
    assert unknown.value.field == "refill"
    assert unknown.value.message == "refill: there is no refill #9999 to correct"
    # a corrected note is checked as the refill's own note is: too long is refused by name
    with pytest.raises(InputError) as long_note:
        world.clinic.correct_refill(
            world.nurse, world.check, corrected.id, "note", discrepancy_note="x" * 4001
        )
    assert long_note.value.field == "discrepancy note"


def test_mri_and_events_are_recorded(world: World) -> None:
    patient_id, pump_id = first_fill(world)
    world.clinic.record_mri(world.nurse, pump_id, START, True, "1.5 T lumbar spine")
    world.clinic.record_event(world.nurse, pump_id, "alarm", START, "low reservoir alarm heard")
    chart = world.clinic.patient_chart(patient_id)
    mri = [e for e in chart.events if e.kind == "mri"]
    assert mri and mri[0].details["post-MRI check"] == "done"


def test_refill_refusals_write_nothing(world: World) -> None:
    _, pump_id = first_fill(world)
    world.clock.advance(timedelta(days=30))
    at = START + timedelta(days=30)
    refills = count(world, db.Refill)
    cases = [
        (fill(at, "14 mL", volume="25 mL"), Code.OVER_CAPACITY),
        (fill(at, "14 mL", volume="2 mL"), Code.FILL_NOT_ABOVE_ALARM),
        (fill(at + timedelta(days=5), "14 mL"), Code.TIME_ORDER),
        (fill(START - timedelta(days=1), "14 mL"), Code.TIME_ORDER),
        (fill(at, "14 mL", needle_position_confirmed=False), Code.NO_VALUE),
    ]
    for data, code in cases:
        with pytest.raises(PumpMgrError) as caught:
            world.clinic.record_refill(world.nurse, world.check, pump_id, data)
        assert caught.value.code is code, caught.value.message
    assert count(world, db.Refill) == refills


def test_every_action_is_audited_and_the_chain_verifies(world: World) -> None:
    before = count(world, db.AuditEntry)
    first_fill(world)  # register, implant (its event in its entry), prescription, refill
    after = count(world, db.AuditEntry)
    assert after - before == 4  # one a call; the order's details are in its prescription's
    report = world.clinic.verify_audit()
    assert report.ok, report.message


def test_only_an_administrator_adds_users(world: World) -> None:
    with pytest.raises(PermissionDenied):
        world.clinic.add_user(world.nurse, "eve", PASSWORD, "Eve", "administrator")


def test_drug_library_edit_changes_the_checks(world: World) -> None:
    _, pump_id = baclofen_patient(world)
    world.clinic.edit_drug_library(
        world.admin, "baclofen", {"soft_max": Q_("800 mcg/day")}, "clinic protocol 2025"
    )
    check = world.clinic.check_prescription(
        pump_id, continuing(baclofen_prescription("900 mcg/day"))
    )
    assert "dose.above_soft_max" in {str(f.code) for f in check.findings}
    (soft,) = [f for f in check.findings if f.code == "dose.above_soft_max"]
    assert soft.sources == ("clinic edit #1",) and "800 mcg/day" in soft.message
    assert "clinic edit" not in soft.message and not soft.unconfirmed


# ------------------------------------------------------------ the programmer's own figures


def test_the_programmers_figures_are_stored_with_the_refill(world: World) -> None:
    """Example 1 (alarm Sun 1 Jun 2025): figures that agree are stored with the verdict
    'agrees' and audited; at the next refill an alarm date three days off is flagged (typed in
    other units, stored canonical); a correction of the refill keeps them."""
    clinic = world.clinic
    patient_id, pump_id = baclofen_patient(world)
    clinic.change_prescription(
        world.nurse, world.check, pump_id, continuing(baclofen_prescription())
    )
    agreeing = ProgrammerFigures(Q_("20 mL"), date(2025, 6, 1), Q_("0.2 mL/day"))
    outcome = clinic.record_refill(
        world.nurse, world.check, pump_id, fill(START, programmer=agreeing)
    )
    assert outcome.refill.programmer == agreeing and outcome.refill.programmer_differs is False
    with clinic.database.read() as session:
        entry = session.scalars(select(db.AuditEntry).order_by(db.AuditEntry.seq.desc())).first()
        assert entry is not None and entry.action == "refill.record"
        assert json.loads(entry.payload)["programmer"] == {
            "reservoir_ml": 20.0,
            "alarm_date": "2025-06-01",
            "daily_volume_ml_per_day": 0.2,
            "differs": [],
        }

    world.clock.advance(timedelta(days=30))  # alarm of the next fill: Tue 1 Jul 2025
    off = ProgrammerFigures(Q_("20000 uL"), date(2025, 7, 4), Q_("8.333 uL/hour"))
    second = clinic.record_refill(
        world.nurse, world.check, pump_id, fill(START + timedelta(days=30), "14 mL", programmer=off)
    )
    assert second.refill.programmer_differs is True
    assert second.refill.programmer is not None
    assert second.refill.programmer.reservoir == Q_(20.0, "mL")
    assert second.refill.programmer.daily_volume.to("mL/day").m == pytest.approx(0.2, rel=1e-3)
    with clinic.database.read() as session:
        row = session.get_one(db.Refill, second.refill.id)
        assert (row.programmer_reservoir_ml, row.programmer_alarm_date, row.programmer_differs) == (
            20.0,
            date(2025, 7, 4),
            True,
        )
        entry = session.scalars(select(db.AuditEntry).order_by(db.AuditEntry.seq.desc())).first()
        assert entry is not None
        assert json.loads(entry.payload)["programmer"]["differs"] == ["alarm date"]

    corrected = clinic.correct_refill(
        world.nurse, world.check, second.refill.id, "lot misread", lot_number="L124"
    )
    assert (corrected.programmer, corrected.programmer_differs) == (second.refill.programmer, True)
    chart = clinic.patient_chart(patient_id)
    assert [r.programmer_differs for r in chart.refills] == [False, True, True]


def test_the_programmers_figures_are_compared_within_their_tolerances() -> None:
    """0.1 mL of reservoir volume, a day of alarm date, 2 % of daily volume (the wizard's
    live check uses the same figures)."""
    ours = {
        "our_reservoir": Q_("20 mL"),
        "our_alarm_date": date(2025, 6, 1),
        "our_daily_volume": Q_("0.2 mL/day"),
    }
    within = compare_programmer(
        reservoir=Q_("19.9 mL"),
        alarm_date=date(2025, 6, 2),
        daily_volume=Q_("0.204 mL/day"),
        **ours,
    )
    assert not within.differs and within.differing == ()
    beyond = compare_programmer(
        reservoir=Q_("19.85 mL"),
        alarm_date=date(2025, 5, 30),
        daily_volume=Q_("0.205 mL/day"),
        **ours,
    )
    assert beyond.differing == ("reservoir volume", "alarm date", "daily volume")
    with pytest.raises(PumpMgrError) as wrong_unit:
        compare_programmer(
            reservoir=Q_("20 mg"),
            alarm_date=date(2025, 6, 1),
            daily_volume=Q_("0.2 mL/day"),
            **ours,
        )
    assert wrong_unit.value.field == "programmer reservoir volume"


def test_a_constant_flow_pump_has_no_programmer_figures(world: World) -> None:
    clinic, nurse = world.clinic, world.nurse
    patient = clinic.register_patient(
        nurse, PatientInput("300001", "Silva", "Rita", date(1958, 2, 2), "non_cancer_pain")
    )
    pump = clinic.implant_pump(
        nurse,
        patient.id,
        PumpInput(
            "isomed-20",
            "IM1",
            date(2025, 3, 1),
            "abdomen",
            capacity=Q_("20 mL"),
            nominal_flow=Q_("1 mL/day"),
        ),
        None,
    )
    clinic.change_prescription(
        nurse,
        world.check,
        pump.id,
        continuing(
            PrescriptionInput(
                (IngredientInput("morphine", Q_("4 mg/mL")),),
                Schedule.simple(Q_("4 mg/day")),
                START,
                "Dr Brandt",
                order=written_order(START),
            )
        ),
    )
    figures = ProgrammerFigures(Q_("20 mL"), date(2025, 3, 21), Q_("1 mL/day"))
    with pytest.raises(ImpossibleInput) as refused:
        clinic.record_refill(nurse, world.check, pump.id, fill(START, programmer=figures))
    assert refused.value.field == "programmer" and "no programmer" in refused.value.message
    assert count(world, db.Refill) == 0
    outcome = clinic.record_refill(nurse, world.check, pump.id, fill(START))
    assert (outcome.refill.programmer, outcome.refill.programmer_differs) == (None, None)


def last_payload(world: World, action: str) -> dict[str, Any]:
    with world.clinic.database.read() as session:
        entry = session.scalars(select(db.AuditEntry).order_by(db.AuditEntry.seq.desc())).first()
    assert entry is not None and entry.action == action
    payload: dict[str, Any] = json.loads(entry.payload)
    return payload


#: What the programmer shows after example 1's fill of 20 mL (alarm Sun 1 Jun 2025).
EXAMPLE_1_PROGRAMMER = ProgrammerFigures(Q_("20 mL"), date(2025, 6, 1), Q_("0.2 mL/day"))


def test_a_volume_correction_judges_the_programmers_figures_again(world: World) -> None:
    """The programmer shows 20 mL and an alarm on 1 Jun, which agree with the 20 mL typed; the
    fill is corrected to 18 mL (alarm 22 May): the correction stores 'differs', and its audit
    entry says which figures; the original keeps its verdict."""
    clinic = world.clinic
    _, pump_id = baclofen_patient(world)
    clinic.change_prescription(
        world.nurse, world.check, pump_id, continuing(baclofen_prescription())
    )
    original = clinic.record_refill(
        world.nurse, world.check, pump_id, fill(START, programmer=EXAMPLE_1_PROGRAMMER)
    ).refill
    assert original.programmer_differs is False

    corrected = clinic.correct_refill(
        world.nurse, world.check, original.id, "18 mL put in, not 20", volume_added=Q_("18 mL")
    )
    assert corrected.programmer == EXAMPLE_1_PROGRAMMER  # the figures as the nurse copied them
    assert corrected.programmer_differs is True
    assert last_payload(world, "refill.correct")["programmer"] == {
        "differs": ["reservoir volume", "alarm date"]
    }
    with clinic.database.read() as session:
        assert session.get_one(db.Refill, corrected.id).programmer_differs is True
        assert session.get_one(db.Refill, original.id).programmer_differs is False


def test_a_volume_correction_may_make_the_programmers_figures_agree(world: World) -> None:
    """18 mL typed by mistake (the programmer's 20 mL and 1 Jun differ from it); corrected to
    the 20 mL put in, the figures agree, and the audit entry says so."""
    clinic = world.clinic
    patient_id, pump_id = baclofen_patient(world)
    clinic.change_prescription(
        world.nurse, world.check, pump_id, continuing(baclofen_prescription())
    )
    original = clinic.record_refill(
        world.nurse,
        world.check,
        pump_id,
        fill(START, volume="18 mL", programmer=EXAMPLE_1_PROGRAMMER),
    ).refill
    assert original.programmer_differs is True

    corrected = clinic.correct_refill(
        world.nurse, world.check, original.id, "20 mL put in, 18 typed", volume_added=Q_("20 mL")
    )
    assert corrected.programmer_differs is False
    assert last_payload(world, "refill.correct")["programmer"] == {"differs": []}
    chart = clinic.patient_chart(patient_id)  # the original and its correction
    assert [(r.id, r.programmer_differs) for r in chart.refills] == [
        (original.id, True),
        (corrected.id, False),
    ]


def test_a_lot_correction_keeps_the_programmer_verdict(world: World) -> None:
    """Only the lot is corrected, after the dose was changed at a later visit: the figures are
    judged with the program of their own visit, so they still agree, and the audit entry has
    no new verdict."""
    clinic = world.clinic
    _, pump_id = baclofen_patient(world)
    clinic.change_prescription(
        world.nurse, world.check, pump_id, continuing(baclofen_prescription())
    )
    original = clinic.record_refill(
        world.nurse, world.check, pump_id, fill(START, programmer=EXAMPLE_1_PROGRAMMER)
    ).refill
    later = START + timedelta(days=30)
    world.clock.advance(timedelta(days=30))
    clinic.change_prescription(
        world.nurse, world.check, pump_id, baclofen_prescription("440 mcg/day", at=later)
    )

    corrected = clinic.correct_refill(
        world.nurse, world.check, original.id, "lot misread", lot_number="L124"
    )
    assert corrected.lot_number == "L124"
    assert (corrected.programmer, corrected.programmer_differs) == (EXAMPLE_1_PROGRAMMER, False)
    payload = last_payload(world, "refill.correct")
    assert "programmer" not in payload and payload["corrects"] == original.id


def test_a_refill_without_programmer_figures_is_corrected_without_them(world: World) -> None:
    clinic = world.clinic
    first_fill(world)
    with clinic.database.read() as session:
        original = session.scalars(select(db.Refill)).one()
    corrected = clinic.correct_refill(
        world.nurse, world.check, original.id, "wrong volume typed", volume_added=Q_("18 mL")
    )
    assert (corrected.programmer, corrected.programmer_differs) == (None, None)
    assert "programmer" not in last_payload(world, "refill.correct")
    with clinic.database.read() as session:
        row = session.get_one(db.Refill, corrected.id)
        assert (
            row.programmer_reservoir_ml,
            row.programmer_alarm_date,
            row.programmer_daily_volume_ml_per_day,
            row.programmer_differs,
        ) == (None, None, None, None)


# ------------------------------------------------------------ retried writes


def test_a_serialization_failure_is_retried_and_the_refill_saved_once(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """reliability.md T12: the refill's unit of work fails once after writing the refill and
    its audit entry (on PostgreSQL a real SQLSTATE 40001 raised by the server), is rolled back
    and run again: one refill, one audit entry, and the nurse sees only the saved refill. On
    SQLite, where the failure is a lock that outlasted the busy timeout, the writer has waited
    long enough: the nurse is told at once (database busy) and nothing is saved."""
    clinic = world.clinic
    _, pump_id = baclofen_patient(world)
    clinic.change_prescription(
        world.nurse, world.check, pump_id, continuing(baclofen_prescription())
    )
    refills, audits = count(world, db.Refill), count(world, db.AuditEntry)
    attempts: list[int] = []
    raised: list[str | None] = []
    refresh = ForecastService.refresh_forecast

    def failing_once(self: ForecastService, session: Session, pump: db.Pump) -> Any:
        attempts.append(count_in(session, db.Refill))
        if len(attempts) > 1:
            return refresh(self, session, pump)
        if clinic.database.backend != "postgresql":
            raised.append("database is locked")
            raise OperationalError(
                "BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked")
            )
        try:
            session.execute(
                text(
                    "DO $$ BEGIN RAISE EXCEPTION 'could not serialize access' "
                    "USING ERRCODE = '40001'; END $$"
                )
            )
        except OperationalError as failure:
            raised.append(getattr(failure.orig, "sqlstate", None))
            raise
        raise AssertionError("the server did not raise the serialization failure")

    monkeypatch.setattr(ForecastService, "refresh_forecast", failing_once)
    monkeypatch.setattr(random, "uniform", lambda _a, _b: 0.0)  # no pause before the retry
    if clinic.database.backend != "postgresql":
        with pytest.raises(DatabaseBusy) as busy:
            clinic.record_refill(world.nurse, world.check, pump_id, fill(START))
        assert busy.value.code is Code.DB_BUSY and "nothing was saved" in busy.value.message
        assert attempts == [refills + 1] and raised == ["database is locked"]
        assert (count(world, db.Refill), count(world, db.AuditEntry)) == (refills, audits)
        return
    outcome = clinic.record_refill(world.nurse, world.check, pump_id, fill(START))
    assert attempts == [refills + 1, refills + 1]  # each attempt had written its refill
    assert raised == ["40001"]
    assert count(world, db.Refill) == refills + 1
    assert count(world, db.AuditEntry) == audits + 1
    with clinic.database.read() as session:
        saved = session.scalars(select(db.Refill)).one()
        actions = session.scalars(
            select(db.AuditEntry.action).where(db.AuditEntry.action == "refill.record")
        ).all()
    assert saved.id == outcome.refill.id and actions == ["refill.record"]
    # example 1 at the pump's 14.5 %: the worst case (78.6 days, Wed 21 May) sets the date
    assert clinic.due_list()[0].refill_due == date(2025, 5, 21)
    assert clinic.verify_audit().ok


def count_in(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)
