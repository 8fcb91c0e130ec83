"""Whether a ziconotide solution is undiluted is recorded at the refill, never inferred from its
concentration (domain-rules §3): 25 mcg/mL diluted is stable 40 days, recorded undiluted 84,
not recorded (a refill made before the record) 40. Refused for a solution with no ziconotide;
kept in the audit entry and the export (the world fixture checks the row chain). Both
backends."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from clinic_world import (
    START,
    World,
    baclofen_patient,
    baclofen_prescription,
    fill,
    last_audit,
    written_order,
)

from pumpmgr.errors import ImpossibleInput
from pumpmgr.schedule import Schedule
from pumpmgr.services.exchange import check_document, export_clinic
from pumpmgr.services.inputs import (
    CatheterInput,
    IngredientInput,
    PatientInput,
    PrescriptionInput,
    PumpInput,
    SegmentInput,
)
from pumpmgr.units import Q_


def ziconotide_pump(world: World) -> int:
    """A new SynchroMed II on ziconotide 25 mcg/mL, 1.2 mcg/day (0.048 mL/day: the reservoir
    lasts a year, so the stability limit sets every refill-due date)."""
    clinic, nurse = world.clinic, world.nurse
    patient = clinic.register_patient(
        nurse, PatientInput("200001", "Keller", "Ruth", date(1965, 2, 1), "non_cancer_pain")
    )
    pump = clinic.implant_pump(
        nurse,
        patient.id,
        PumpInput("synchromed2-20", "SN200001", date(2025, 3, 1), "left lower abdomen"),
        CatheterInput(
            "prometra-11823", (SegmentInput(Q_("80 cm"), Q_("30 cm"), Q_("0.0026 mL/cm")),), "T10"
        ),
    )
    clinic.change_prescription(
        nurse,
        world.check,
        pump.id,
        PrescriptionInput(
            ingredients=(IngredientInput("ziconotide", Q_("25 mcg/mL")),),
            schedule=Schedule.simple(Q_("1.2 mcg/day")),
            effective_at=START,
            prescriber="Dr Brandt",
            order=written_order(START),
        ),
    )
    return pump.id


def refill_after(
    world: World,
    pump_id: int,
    days: int,
    undiluted: bool | None,
) -> tuple[date, str, int]:
    """A refill ``days`` after START recording ``undiluted``: the stored refill-due date, its
    reason and the days from the fill."""
    at = START + timedelta(days=days)
    world.clock.moment = at
    aspirated = world.clinic.expected_now(pump_id, at)
    outcome = world.clinic.record_refill(
        world.nurse,
        world.check,
        pump_id,
        fill(
            at,
            aspirated="0 mL" if aspirated is None else f"{aspirated.to('mL').m:.2f} mL",
            undiluted=undiluted,
        ),
    )
    assert outcome.refill.undiluted is undiluted
    forecast = outcome.forecast
    assert forecast is not None
    return forecast.refill_due, forecast.refill_due_reason, (forecast.refill_due - at.date()).days


def test_the_stability_limit_follows_the_record(world: World) -> None:
    pump_id = ziconotide_pump(world)
    # the first fill of a new pump: 14 days (Mon 17 Mar 2025), whatever was recorded
    assert refill_after(world, pump_id, 0, True) == (date(2025, 3, 17), "stability", 14)
    # 25 mcg/mL diluted: 40 days from Mon 10 Mar is Sat 19 Apr, the Friday before
    assert refill_after(world, pump_id, 7, False) == (date(2025, 4, 18), "stability", 39)
    assert json.loads(last_audit(world).payload)["undiluted"] is False
    # the same strength recorded undiluted: 84 days from Tue 18 Mar is Tue 10 Jun
    assert refill_after(world, pump_id, 15, True) == (date(2025, 6, 10), "stability", 84)
    assert json.loads(last_audit(world).payload)["undiluted"] is True
    # not recorded: the diluted 40 days, never 84 from the strength
    _, reason, days = refill_after(world, pump_id, 30, None)
    assert (reason, days) == ("stability", 40)
    assert "undiluted" not in json.loads(last_audit(world).payload)
    # the export carries the record and reads back as it was
    tables, _ = check_document(export_clinic(world.clinic.database))
    assert [row["undiluted"] for row in tables["refills"]] == [True, False, True, None]


def test_refused_for_a_solution_with_no_ziconotide(world: World) -> None:
    _, pump_id = baclofen_patient(world)
    world.clinic.change_prescription(world.nurse, world.check, pump_id, baclofen_prescription())
    for recorded in (True, False):
        with pytest.raises(
            ImpossibleInput, match="undiluted: recorded only for a solution with ziconotide"
        ) as refused:
            world.clinic.record_refill(
                world.nurse, world.check, pump_id, fill(START, undiluted=recorded)
            )
        assert refused.value.field == "undiluted"
    outcome = world.clinic.record_refill(world.nurse, world.check, pump_id, fill(START))
    assert outcome.refill.undiluted is None
