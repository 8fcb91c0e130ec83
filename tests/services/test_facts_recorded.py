"""Facts are recorded, orders are checked (domain-rules §4a, §8 "a fact refused"): a patient
transferred in on a dose outside the library is recorded as the pump runs it, with an
incident, while the same dose as an order is refused. And when a dose on record is a restart
(§6's restart window), at its boundary."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta

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
)

from pumpmgr.auth import AuthError
from pumpmgr.db import schema as db
from pumpmgr.errors import ImpossibleInput
from pumpmgr.services.inputs import PumpInput, Verification

#: 2,500 mcg/day: above baclofen's 2,000 mcg/day hard maximum (clinic policy, §6).
TRANSFER_DOSE = "2500 mcg/day"


def test_a_patient_transferred_in_above_the_hard_maximum_is_recorded_with_an_incident(
    world: World,
) -> None:
    patient_id, pump_id = baclofen_patient(world)
    transferred = replace(continuing(baclofen_prescription(TRANSFER_DOSE)), already_programmed=True)
    with pytest.raises(ImpossibleInput, match="hard maximum"):  # as an order: blocked
        world.clinic.change_prescription(
            world.nurse, world.check, pump_id, replace(transferred, already_programmed=False)
        )
    assert count(world, db.Prescription) == 0
    outcome = world.clinic.change_prescription(world.nurse, world.check, pump_id, transferred)
    assert outcome.check.verdict == "blocked"
    chart = world.clinic.patient_chart(patient_id)
    assert chart.prescription is not None
    assert chart.prescription.schedule.daily_dose().to("mcg/day").m == pytest.approx(2500)
    (incident,) = world.clinic.orders.incidents(patient_id)
    assert incident.text == "programmed outside limits"
    assert incident.prescription_id == outcome.prescription.id
    assert "hard maximum" in incident.summary


def test_exactly_at_the_hard_maximum_is_an_order_and_no_incident(world: World) -> None:
    patient_id, pump_id = baclofen_patient(world)
    at_limit = replace(continuing(baclofen_prescription("2000 mcg/day")), already_programmed=True)
    outcome = world.clinic.change_prescription(world.nurse, world.check, pump_id, at_limit)
    assert outcome.check.verdict != "blocked"
    assert world.clinic.orders.incidents(patient_id) == []


@pytest.mark.parametrize(
    ("after", "restart"),
    [
        (timedelta(hours=24), False),  # exactly the baclofen restart window: a continuation
        (timedelta(hours=24, minutes=1), True),  # just over it: a restart, checked as a start
    ],
)
def test_the_restart_window_at_its_boundary(world: World, after: timedelta, restart: bool) -> None:
    """Domain-rules §6: baclofen's restart window is 24 h (clinic policy), counted from the
    end of the last dose on record (here the explant, at the start of its day)."""
    patient_id, pump_id = baclofen_patient(world)
    world.clinic.change_prescription(
        world.nurse, world.check, pump_id, continuing(baclofen_prescription("400 mcg/day"))
    )
    world.clock.advance(timedelta(days=10))
    world.clinic.explant_pump(world.nurse, pump_id, date(2025, 3, 10), "pocket infection")
    new = world.clinic.implant_pump(
        world.nurse,
        patient_id,
        PumpInput("synchromed2-20", "SN-NEW", date(2025, 3, 10), "left lower abdomen"),
        None,
    )
    at = datetime.combine(date(2025, 3, 10), time(0, 0), BERLIN) + after
    check = world.clinic.check_prescription(new.id, baclofen_prescription("400 mcg/day", at=at))
    codes = {str(f.code) for f in check.findings}
    assert ("start.screening_bolus_not_given" in codes) is restart


def test_a_refill_is_never_saved_without_a_second_nurse(world: World) -> None:
    """Domain-rules §8: the refill's second nurse is another user, with their own password."""
    _, pump_id = baclofen_patient(world)
    world.clinic.change_prescription(
        world.prescriber, world.check, pump_id, continuing(baclofen_prescription())
    )
    for verification in (
        Verification("nina", PASSWORD),
        Verification("otto", "wrong pass"),
        Verification("nobody", PASSWORD),
    ):
        with pytest.raises(AuthError):
            world.clinic.record_refill(world.nurse, verification, pump_id, fill(START))
    assert count(world, db.Refill) == 0
    saved = world.clinic.record_refill(world.nurse, world.check, pump_id, fill(START))
    assert (saved.refill.nurse, saved.refill.verifier) == ("Nina Nurse", "Otto Second")
    assert saved.refill.performed_at == START
