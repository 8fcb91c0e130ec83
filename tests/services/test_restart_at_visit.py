"""A restart is decided at the visit (domain-rules §3): the reservoir found empty, the pump log
showing an empty-reservoir alarm or a stop, or the patient showing withdrawal; the next dose is
then checked as a start (§6). A new program entered by a nurse waits for the prescriber; the
program in force resumed is recorded with an incident where a start would need the
prescriber (§4a). The time without drug is counted from the worst-case empty time and kept
with the refill; over 48 hours it sets the over-infusion-risk flag. Both backends."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from clinic_world import (
    START,
    World,
    baclofen_patient,
    baclofen_prescription,
    continuing,
    fill,
    last_audit,
)
from sqlalchemy import select

from pumpmgr.db import schema as db
from pumpmgr.errors import ImpossibleInput
from pumpmgr.refill import restart_reasons
from pumpmgr.units import Q_
from pumpmgr.visit_record import (
    BedsideFindings,
    Interrogation,
    PumpAlarm,
    PumpStatus,
    SiteAssessment,
    SymptomCheck,
)

RESUMED = "restarted on the old program without a restart order"


def bedside(*, withdrawal: bool = False, empty_alarm: bool = False) -> BedsideFindings:
    """What the nurse found before the refill: an empty-reservoir alarm on the programmer,
    withdrawal signs, or neither."""
    alarms = frozenset({PumpAlarm.EMPTY_RESERVOIR}) if empty_alarm else frozenset()
    return BedsideFindings(
        Interrogation(PumpStatus.RUNNING, alarms, Q_("0 mL" if empty_alarm else "14 mL")),
        SiteAssessment(frozenset()),
        SymptomCheck(
            withdrawal=withdrawal,
            overdose=False,
            note="spasticity worse since yesterday" if withdrawal else "",
        ),
    )


def filled(world: World) -> tuple[int, int]:
    patient_id, pump_id = baclofen_patient(world)
    world.clinic.change_prescription(
        world.nurse, world.check, pump_id, continuing(baclofen_prescription())
    )
    world.clinic.record_refill(world.nurse, world.check, pump_id, fill(START))
    return patient_id, pump_id


def refill_entry(world: World) -> dict[str, object]:
    """The newest refill's audit entry."""
    with world.clinic.database.read() as session:
        payload = session.scalars(
            select(db.AuditEntry.payload)
            .where(db.AuditEntry.action == "refill.record")
            .order_by(db.AuditEntry.seq.desc())
        ).first()
    assert payload is not None
    return dict(json.loads(payload))


def test_the_reasons_for_a_restart_at_their_boundaries() -> None:
    assert restart_reasons("ok") == ()
    assert restart_reasons("investigate") == ()
    assert restart_reasons("found_empty") == ("the reservoir was found empty",)
    assert restart_reasons("ok", withdrawal_signs=True) == ("the patient shows withdrawal",)
    assert restart_reasons(None, pump_log_empty_or_stopped=True) == (
        "the pump log shows an empty-reservoir alarm or a stop",
    )


def test_a_found_empty_pump_resumed_on_its_program_gets_an_incident(world: World) -> None:
    patient_id, pump_id = filled(world)
    later = START + timedelta(days=110)  # the unfloored expected residual is below 0
    world.clock.moment = later
    outcome = world.clinic.record_refill(
        world.nurse,
        world.check,
        pump_id,
        fill(later, "0.2 mL", discrepancy_note="rebound spasticity since yesterday"),
    )
    assert outcome.refill.discrepancy_verdict == "found_empty"
    (incident,) = world.clinic.orders.incidents(patient_id)
    assert incident.text == RESUMED and incident.refill_id == outcome.refill.id
    assert "the reservoir was found empty" in incident.summary
    assert "screening" in incident.summary  # a baclofen start needs the screening bolus
    assert "Baclofen is a start (a first dose or a restart)" in incident.summary
    assert world.clinic.due_list()[0].state == "urgent"


def test_withdrawal_signs_make_a_restart_even_with_a_normal_residual(world: World) -> None:
    patient_id, pump_id = filled(world)
    later = START + timedelta(days=30)
    world.clock.moment = later
    world.clinic.record_refill(
        world.nurse, world.check, pump_id, fill(later, "14 mL", bedside=bedside(withdrawal=True))
    )
    (incident,) = world.clinic.orders.incidents(patient_id)
    assert "the patient shows withdrawal" in incident.summary


def test_no_restart_no_incident(world: World) -> None:
    patient_id, pump_id = filled(world)
    later = START + timedelta(days=30)
    world.clock.moment = later
    world.clinic.record_refill(world.nurse, world.check, pump_id, fill(later, "14 mL"))
    assert world.clinic.orders.incidents(patient_id) == []


def test_a_new_program_at_a_restart_is_checked_as_a_start_and_waits_for_the_prescriber(
    world: World,
) -> None:
    _, pump_id = filled(world)
    later = START + timedelta(days=30)
    world.clock.moment = later
    program = baclofen_prescription(
        "100 mcg/day",
        at=later,
        **{
            "start.screening_bolus_not_given": "restart dosed by the prescriber's order",
            "withdrawal.cut_below_half": "a restart, not a cut",
        },
    )
    with pytest.raises(ImpossibleInput, match="prescriber's signature"):
        world.clinic.record_refill(
            world.nurse,
            world.check,
            pump_id,
            fill(later, "14 mL", bedside=bedside(empty_alarm=True), new_prescription=program),
        )
    # the prescriber's own order, with the screening bolus that dosed the restart
    own = replace(program, order=None, screening_bolus=Q_("50 mcg"), screening_effect_hours=6.0)
    outcome = world.clinic.record_refill(
        world.prescriber,
        world.check,
        pump_id,
        fill(later, "14 mL", bedside=bedside(empty_alarm=True), new_prescription=own),
    )
    assert outcome.refill.discrepancy_verdict == "ok"
    assert json.loads(last_audit(world).payload)["restart"] == [
        "the pump log shows an empty-reservoir alarm or a stop"
    ]


@pytest.mark.parametrize(("over_by", "risk"), [(timedelta(0), False), (timedelta(minutes=1), True)])
def test_time_without_drug_at_48_hours_and_just_over(
    world: World, over_by: timedelta, risk: bool
) -> None:
    """Withdrawal signs 48 hours after the worst case ran empty: no over-infusion risk yet; a
    minute more sets the flag on the pump (kept with the refill, in its audit entry, and in
    the stored forecast)."""
    patient_id, pump_id = filled(world)
    before = world.clinic.patient_chart(patient_id).forecast
    assert before is not None and before.empty_at_worst_case is not None
    visit = before.empty_at_worst_case + timedelta(hours=48) + over_by
    world.clock.moment = visit
    # 0.2 mL/day from 20 mL: the nominal residual is still about 2.1 mL, so the residual is ok
    outcome = world.clinic.record_refill(
        world.nurse, world.check, pump_id, fill(visit, "2 mL", bedside=bedside(withdrawal=True))
    )
    assert outcome.refill.discrepancy_verdict == "ok"
    assert outcome.refill.empty_at_worst_case == before.empty_at_worst_case
    entry = refill_entry(world)
    assert entry["restart"] == ["the patient shows withdrawal"]
    assert entry["without_drug_hours"] == round((48 * 3600 + over_by.total_seconds()) / 3600, 2)
    assert entry["over_infusion_risk"] is risk
    assert outcome.forecast is not None and outcome.forecast.over_infusion_risk is risk
    assert world.clinic.patient_chart(patient_id).refills[-1].empty_at_worst_case == (
        before.empty_at_worst_case
    )


def test_no_time_without_drug_before_the_worst_case_is_empty(world: World) -> None:
    _, pump_id = filled(world)
    later = START + timedelta(days=30)
    world.clock.moment = later
    outcome = world.clinic.record_refill(
        world.nurse, world.check, pump_id, fill(later, "14 mL", bedside=bedside(withdrawal=True))
    )
    assert outcome.refill.empty_at_worst_case is None
    entry = refill_entry(world)
    assert entry["without_drug_hours"] is None and entry["over_infusion_risk"] is False
    assert outcome.forecast is not None and not outcome.forecast.over_infusion_risk


def test_a_correction_that_undoes_the_found_empty_clears_the_flag(world: World) -> None:
    """0.3 mL aspirated at day 30 was found empty (a restart, the pump flagged); corrected to
    the 14 mL really drawn, the residual is ok, no restart, and the flag goes."""
    _, pump_id = filled(world)
    later = START + timedelta(days=30)
    world.clock.moment = later
    outcome = world.clinic.record_refill(
        world.nurse,
        world.check,
        pump_id,
        fill(later, "0.3 mL", discrepancy_note="nothing came back"),
    )
    assert outcome.forecast is not None and outcome.forecast.over_infusion_risk
    world.clock.moment = later + timedelta(hours=1)
    corrected = world.clinic.correct_refill(
        world.nurse, world.check, outcome.refill.id, "misread the syringe", aspirated=Q_("14 mL")
    )
    assert corrected.discrepancy_verdict == "ok"
    with world.clinic.database.read() as session:
        assert session.get_one(db.Refill, corrected.id).over_infusion_risk is False
    chart = world.clinic.patient_chart(world.clinic.find_patient("100001").id)
    assert chart.forecast is not None and not chart.forecast.over_infusion_risk
