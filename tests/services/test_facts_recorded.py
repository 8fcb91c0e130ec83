"""Facts are recorded, orders are checked (domain-rules §4a, §8 "a fact refused"): a patient
transferred in on a dose outside the library is recorded as the pump runs it, with an
incident, while the same dose as an order is refused."""

from __future__ import annotations

from dataclasses import replace

import pytest
from clinic_world import World, baclofen_patient, baclofen_prescription, count

from pumpmgr.db import schema as db
from pumpmgr.errors import ImpossibleInput

#: 2,500 mcg/day: above baclofen's 2,000 mcg/day hard maximum (clinic policy, §6).
TRANSFER_DOSE = "2500 mcg/day"


def test_a_patient_transferred_in_above_the_hard_maximum_is_recorded_with_an_incident(
        world: World) -> None:
    patient_id, pump_id = baclofen_patient(world)
    transferred = replace(baclofen_prescription(TRANSFER_DOSE), already_programmed=True)
    with pytest.raises(ImpossibleInput, match="hard maximum"):  # as an order: blocked
        world.clinic.change_prescription(world.nurse, world.check, pump_id,
                                         replace(transferred, already_programmed=False))
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
    at_limit = replace(baclofen_prescription("2000 mcg/day"), already_programmed=True)
    outcome = world.clinic.change_prescription(world.nurse, world.check, pump_id, at_limit)
    assert outcome.check.verdict != "blocked"
    assert world.clinic.orders.incidents(patient_id) == []
