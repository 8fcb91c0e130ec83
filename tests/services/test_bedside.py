"""What the nurse found before refilling is kept with the refill (revision 0016)."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from clinic_world import (
    START,
    World,
    baclofen_patient,
    baclofen_prescription,
    continuing,
    count,
    fill,
    written_order,
)
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from pumpmgr.db import schema as db
from pumpmgr.db.engine import open_database
from pumpmgr.errors import ImpossibleInput
from pumpmgr.schedule import Schedule
from pumpmgr.services import mapping
from pumpmgr.services.inputs import IngredientInput, PatientInput, PrescriptionInput, PumpInput
from pumpmgr.units import Q_
from pumpmgr.visit_record import (
    BedsideFindings,
    Interrogation,
    PumpAlarm,
    PumpStatus,
    SiteAssessment,
    SiteFinding,
    SymptomCheck,
)

FIXTURES = Path(__file__).resolve().parents[1] / "reliability" / "fixtures"
FOUND = BedsideFindings(
    Interrogation(PumpStatus.RUNNING, frozenset({PumpAlarm.LOW_RESERVOIR}), Q_("2.4 mL")),
    SiteAssessment(frozenset({SiteFinding.REDNESS}), "slight, no warmth"),
    SymptomCheck(withdrawal=True, overdose=False, note="more spasms at night"),
)


def test_the_findings_are_stored_audited_and_read_back(world: World) -> None:
    clinic = world.clinic
    patient_id, pump_id = baclofen_patient(world)
    clinic.change_prescription(
        world.nurse, world.check, pump_id, continuing(baclofen_prescription())
    )
    outcome = clinic.record_refill(world.nurse, world.check, pump_id, fill(START, bedside=FOUND))
    assert outcome.refill.bedside == FOUND
    assert clinic.patient_chart(patient_id).refills[-1].bedside == FOUND
    with clinic.database.read() as session:
        entry = session.scalars(select(db.AuditEntry).order_by(db.AuditEntry.seq.desc())).first()
        assert entry is not None and entry.action == "refill.record"
        assert json.loads(entry.payload)["bedside"] == {
            "interrogated_status": "running",
            "interrogated_alarms": "low_reservoir",
            "interrogated_reservoir_ml": 2.4,
            "site_findings": "redness",
            "site_note": "slight, no warmth",
            "withdrawal_signs": True,
            "overdose_signs": False,
            "symptoms_note": "more spasms at night",
        }
        # the entry's row image of the refill carries the new columns
        images = json.loads(entry.written_rows or "{}")
        refill = next(w for w in images["writes"] if w["t"] == "refills")
        assert {"interrogated_status", "site_findings", "withdrawal_signs"} <= set(
            refill["after"]["columns"]
        )
    # the world fixture verifies the chain and every row image at teardown


def test_a_refill_without_findings_reads_as_not_recorded(world: World) -> None:
    clinic = world.clinic
    _, pump_id = baclofen_patient(world)
    clinic.change_prescription(
        world.nurse, world.check, pump_id, continuing(baclofen_prescription())
    )
    assert (
        clinic.record_refill(world.nurse, world.check, pump_id, fill(START)).refill.bedside is None
    )


def test_too_much_in_the_reservoir_and_a_reading_of_a_constant_flow_pump_are_refused(
    world: World,
) -> None:
    clinic, nurse = world.clinic, world.nurse
    _, pump_id = baclofen_patient(world)
    clinic.change_prescription(nurse, world.check, pump_id, continuing(baclofen_prescription()))
    overfull = BedsideFindings(
        Interrogation(PumpStatus.RUNNING, frozenset(), Q_("25 mL")), FOUND.site, FOUND.symptoms
    )
    with pytest.raises(ImpossibleInput) as refused:
        clinic.record_refill(nurse, world.check, pump_id, fill(START, bedside=overfull))
    assert refused.value.field == "interrogated reservoir volume"
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
    with pytest.raises(ImpossibleInput) as no_programmer:
        clinic.record_refill(nurse, world.check, pump.id, fill(START, bedside=FOUND))
    assert no_programmer.value.field == "interrogation"
    assert count(world, db.Refill) == 0
    without = BedsideFindings(None, FOUND.site, FOUND.symptoms)
    assert (
        clinic.record_refill(
            nurse, world.check, pump.id, fill(START, bedside=without)
        ).refill.bedside
        == without
    )


def test_half_an_interrogation_is_refused_by_the_database(world: World) -> None:
    """Revision 0010's CHECK: the programmer's reading is all three columns or none."""
    clinic = world.clinic
    _, pump_id = baclofen_patient(world)
    clinic.change_prescription(
        world.nurse, world.check, pump_id, continuing(baclofen_prescription())
    )
    refill_id = clinic.record_refill(
        world.nurse, world.check, pump_id, fill(START, bedside=FOUND)
    ).refill.id
    columns = ", ".join(c.name for c in db.Refill.__table__.columns if c.name != "id")
    copied = columns.replace("interrogated_alarms", "NULL")
    with (
        pytest.raises(IntegrityError, match="interrogation_complete"),
        clinic.database.engine.begin() as connection,
    ):
        connection.execute(
            text(
                f"INSERT INTO refills ({columns}) SELECT {copied} "
                f"FROM refills WHERE id = {refill_id}"
            )
        )
    assert count(world, db.Refill) == 1


def test_the_released_clinic_upgrades_with_its_refills_not_recorded(tmp_path: Path) -> None:
    """Revision 0010 on the 0004 release's clinic: every refill kept, none with findings."""
    path = tmp_path / "clinic.db"
    shutil.copyfile(FIXTURES / "schema_0004.db", path)
    with open_database(path) as database, database.read() as session:
        rows = session.scalars(select(db.Refill)).all()
        assert rows and all(mapping.bedside_findings(r) is None for r in rows)
        assert {(r.interrogated_status, r.site_findings, r.withdrawal_signs) for r in rows} == {
            (None, None, None)
        }
