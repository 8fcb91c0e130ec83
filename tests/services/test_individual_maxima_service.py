"""Individual maxima (domain-rules §6): a prescriber raises a clinic-policy hard maximum for one
patient with a second prescriber's signature and a reason; the dose checks use it; it is
reviewed every 6 months and can be ended; label maxima cannot be raised. Both backends."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from clinic_world import (
    PASSWORD,
    START,
    World,
    baclofen_patient,
    baclofen_prescription,
    count,
    last_audit,
)

from pumpmgr.auth import AuthError
from pumpmgr.db import schema as db
from pumpmgr.errors import ImpossibleInput
from pumpmgr.services import PermissionDenied
from pumpmgr.services.inputs import Verification
from pumpmgr.units import Q_

HARD = "dose.above_hard_max"
INDIVIDUAL = "dose.above_individual_max"


def codes(world: World, pump_id: int, dose: str) -> set[str]:
    check = world.clinic.check_prescription(pump_id, baclofen_prescription(dose))
    return {str(f.code) for f in check.findings}


def second_prescriber(world: World) -> Verification:
    world.clinic.add_user(world.admin, "roth", PASSWORD, "Dr Roth", "prescriber")
    return Verification("roth", PASSWORD)


def raised(world: World, maximum: str = "3000 mcg/day") -> tuple[int, int]:
    patient_id, pump_id = baclofen_patient(world)
    world.clinic.maxima.raise_maximum(
        world.prescriber,
        second_prescriber(world),
        patient_id,
        "baclofen",
        Q_(maximum),
        "dystonia, failed 2000 mcg/day",
    )
    return patient_id, pump_id


def test_a_raised_maximum_replaces_the_policy_hard_maximum_for_that_patient(world: World) -> None:
    patient_id, pump_id = baclofen_patient(world)
    assert HARD in codes(world, pump_id, "2500 mcg/day")
    record = world.clinic.maxima.raise_maximum(
        world.prescriber,
        second_prescriber(world),
        patient_id,
        "baclofen",
        Q_("3 mg/day"),
        "dystonia, failed 2000 mcg/day",
    )
    assert record.maximum == Q_(3000, "mcg/day") and str(record.maximum.units) == (
        "microgram / day"
    )
    assert (record.set_by, record.signed_by) == ("Dr Brandt", "Dr Roth")
    assert record.review_by == date(2025, 9, 3) and not record.review_overdue
    found = codes(world, pump_id, "2500 mcg/day")
    assert HARD not in found and INDIVIDUAL not in found
    assert INDIVIDUAL in codes(world, pump_id, "3001 mcg/day")
    assert INDIVIDUAL not in codes(world, pump_id, "3000 mcg/day")  # exactly at: allowed
    entry = last_audit(world)
    assert entry.action == "individual_maximum.set"
    payload = json.loads(entry.payload)
    assert payload["maximum"] == "3,000 mcg/day" and payload["signed_by"] == "roth"
    chart = world.clinic.patient_chart(patient_id)
    assert [m.drug for m in chart.individual_maxima] == ["Baclofen"]


def test_a_raise_is_the_prescribers_and_needs_another_prescribers_signature(world: World) -> None:
    patient_id, _ = baclofen_patient(world)
    second = second_prescriber(world)
    maxima = world.clinic.maxima
    with pytest.raises(PermissionDenied):
        maxima.raise_maximum(world.nurse, second, patient_id, "baclofen", Q_("3000 mcg/day"), "x")
    with pytest.raises(PermissionDenied, match="second prescriber"):
        maxima.raise_maximum(
            world.prescriber,
            Verification("otto", PASSWORD),
            patient_id,
            "baclofen",
            Q_("3000 mcg/day"),
            "x",
        )
    with pytest.raises(AuthError, match="another user"):
        maxima.raise_maximum(
            world.prescriber,
            Verification("brandt", PASSWORD),
            patient_id,
            "baclofen",
            Q_("3000 mcg/day"),
            "x",
        )
    with pytest.raises(AuthError):
        maxima.raise_maximum(
            world.prescriber,
            Verification("roth", "wrong"),
            patient_id,
            "baclofen",
            Q_("3000 mcg/day"),
            "x",
        )
    assert count(world, db.IndividualMaximum) == 0


@pytest.mark.parametrize(
    ("drug", "maximum", "words"),
    [
        ("ziconotide", "30 mcg/day", "label"),  # a label maximum cannot be raised
        ("baclofen", "2000 mcg/day", "not above the hard maximum of 2,000 mcg/day"),  # exactly at
        ("baclofen", "1500 mcg/day", "not above"),
        ("baclofen", "3 mL/day", "maximum"),  # not a dose
    ],
)
def test_what_cannot_be_raised_is_refused_and_nothing_is_written(
    world: World, drug: str, maximum: str, words: str
) -> None:
    patient_id, _ = baclofen_patient(world)
    second = second_prescriber(world)
    with pytest.raises(ImpossibleInput if "mL" not in maximum else Exception, match=words):
        world.clinic.maxima.raise_maximum(
            world.prescriber, second, patient_id, drug, Q_(maximum), "a reason"
        )
    assert count(world, db.IndividualMaximum) == 0


def test_a_review_is_due_within_6_months_and_moves_the_next_review(world: World) -> None:
    patient_id, _ = raised(world)
    world.clock.advance(timedelta(days=200))
    (overdue,) = world.clinic.maxima.maxima(patient_id)
    assert overdue.review_overdue
    with pytest.raises(PermissionDenied):
        world.clinic.maxima.review_maximum(world.nurse, patient_id, "baclofen", "still needed")
    reviewed = world.clinic.maxima.review_maximum(
        world.prescriber, patient_id, "baclofen", "still needed: spasms at 2000"
    )
    assert not reviewed.review_overdue and reviewed.reviewed_by == "Dr Brandt"
    assert reviewed.review_by == (START + timedelta(days=200)).date().replace(year=2026, month=3)
    assert reviewed.reason == "dystonia, failed 2000 mcg/day"  # why it was raised stays
    assert last_audit(world).action == "individual_maximum.review"


def test_an_ended_maximum_gives_back_the_hard_maximum(world: World) -> None:
    patient_id, pump_id = raised(world)
    world.clinic.maxima.end_maximum(
        world.prescriber, patient_id, "baclofen", "dose back below 2000 mcg/day"
    )
    assert HARD in codes(world, pump_id, "2500 mcg/day")
    assert world.clinic.maxima.maxima(patient_id) == []
    assert last_audit(world).action == "individual_maximum.end"
    with pytest.raises(ImpossibleInput, match="no individual maximum"):
        world.clinic.maxima.end_maximum(world.prescriber, patient_id, "baclofen", "again")
    assert count(world, db.IndividualMaximum) == 2
