"""The patient boluses the programmer reports are counted in the refill's expected residual,
kept with the refill (revision 0019) and carried by its audit entry (domain-rules §4)."""

from __future__ import annotations

import json
from datetime import timedelta
from io import BytesIO

import pytest
from clinic_world import START, World, baclofen_patient, continuing, fill, last_audit, written_order
from pypdf import PdfReader
from sqlalchemy import select

from pumpmgr.db import schema as db
from pumpmgr.errors import ImpossibleInput
from pumpmgr.schedule import PatientBolus, Schedule
from pumpmgr.services.hospital import HospitalService
from pumpmgr.services.inputs import IngredientInput, PrescriptionInput
from pumpmgr.services.sheets import SheetService
from pumpmgr.units import Q_
from pumpmgr.visit_note import RecordRef
from pumpmgr.visit_record import (
    BedsideFindings,
    Interrogation,
    PumpStatus,
    SiteAssessment,
    SymptomCheck,
)

VISIT = START + timedelta(days=30)


def _found(boluses: int | None) -> BedsideFindings:
    return BedsideFindings(
        Interrogation(PumpStatus.RUNNING, frozenset(), Q_("11 mL"), boluses),
        SiteAssessment(frozenset()),
        SymptomCheck(withdrawal=False, overdose=False),
    )


def _filled_with_a_patient_bolus(world: World) -> int:
    """Baclofen 2000 mcg/mL at 400 mcg/day (0.2 mL/day) with 50 mcg boluses (0.025 mL each),
    4 a day 3 h apart, filled to 20 mL: 30 days later 14 mL are expected without boluses,
    and at most 120 boluses (3 mL) were possible."""
    clinic = world.clinic
    _, pump_id = baclofen_patient(world)
    clinic.change_prescription(
        world.nurse,
        world.check,
        pump_id,
        continuing(
            PrescriptionInput(
                (IngredientInput("baclofen", Q_("2000 mcg/mL")),),
                Schedule.simple(Q_("400 mcg/day")),
                START,
                "Dr Brandt",
                patient_bolus=PatientBolus(Q_("50 mcg"), 4, Q_("3 h")),
                order=written_order(START),
            )
        ),
    )
    clinic.record_refill(world.nurse, world.check, pump_id, fill(START))
    world.clock.advance(VISIT - START)
    return pump_id


def test_the_count_explains_the_residual_and_is_kept(world: World) -> None:
    clinic = world.clinic
    pump_id = _filled_with_a_patient_bolus(world)
    outcome = clinic.record_refill(
        world.nurse, world.check, pump_id, fill(VISIT, aspirated="11 mL", bedside=_found(120))
    )
    assert outcome.discrepancy is not None and outcome.discrepancy.verdict == "ok"
    assert outcome.refill.expected_residual is not None
    assert float(outcome.refill.expected_residual.to("mL").m) == pytest.approx(11.0)
    assert outcome.refill.bedside == _found(120)
    entry = last_audit(world)
    assert entry.action == "refill.record"
    assert json.loads(entry.payload)["bedside"]["interrogated_patient_boluses"] == 120
    with clinic.database.read() as session:
        row = session.scalars(select(db.Refill).order_by(db.Refill.id.desc())).first()
        assert row is not None and row.interrogated_patient_boluses == 120
    # the completed worksheet and the visit note say the count; the worksheet's expected
    # residual counts it
    pages = PdfReader(
        BytesIO(SheetService(clinic).worksheet("100001", completed_refill_id=outcome.refill.id))
    ).pages
    worksheet = " ".join(" ".join((p.extract_text() or "").split()) for p in pages)
    assert "120 patient boluses since the last fill" in worksheet
    assert "Expected 11 mL" in worksheet
    note = HospitalService(clinic).note(RecordRef("refill", outcome.refill.id))
    assert "reservoir 11 mL, 120 patient boluses since the last fill" in note
    # the world fixture verifies the chain and every row image (the new column) at teardown


def test_without_the_count_the_same_residual_says_investigate(world: World) -> None:
    pump_id = _filled_with_a_patient_bolus(world)
    outcome = world.clinic.record_refill(
        world.nurse,
        world.check,
        pump_id,
        fill(VISIT, aspirated="11 mL", bedside=_found(None), discrepancy_note="boluses not read"),
    )
    assert outcome.discrepancy is not None and outcome.discrepancy.verdict == "investigate"
    assert outcome.refill.expected_residual is not None
    assert float(outcome.refill.expected_residual.to("mL").m) == pytest.approx(14.0)


def test_a_count_over_what_the_pump_allows_is_refused(world: World) -> None:
    pump_id = _filled_with_a_patient_bolus(world)
    with pytest.raises(ImpossibleInput, match="at most 120") as refused:
        world.clinic.record_refill(
            world.nurse, world.check, pump_id, fill(VISIT, aspirated="11 mL", bedside=_found(121))
        )
    assert refused.value.field == "patient boluses"
