"""Whether a ziconotide solution is undiluted is recorded at the refill, never inferred from its
concentration (domain-rules §3): 25 mcg/mL diluted is stable 40 days, recorded undiluted 84,
not recorded (a refill made before the record) 40. Refused for a solution with no ziconotide;
kept in the audit entry and the export (the world fixture checks the row chain). Both
backends."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest
from clinic_world import (
    START,
    World,
    baclofen_patient,
    baclofen_prescription,
    continuing,
    fill,
    last_audit,
    written_order,
)
from sqlalchemy import select

from pumpmgr.db import schema as db
from pumpmgr.db.audit import append_audit
from pumpmgr.errors import ImpossibleInput
from pumpmgr.schedule import Schedule
from pumpmgr.services.exchange import check_document, export_clinic
from pumpmgr.services.forecasts import FORECAST_RULES
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
    clinic.change_prescription(  # a first dose is a start: the prescriber's own order (§7)
        world.prescriber,
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
    world.clinic.change_prescription(
        world.nurse, world.check, pump_id, continuing(baclofen_prescription())
    )
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


def ziconotide_order(at: datetime) -> PrescriptionInput:
    """Ziconotide 25 mcg/mL at 1.2 mcg/day from ``at`` (the stability limit sets the due date)."""
    return PrescriptionInput(
        ingredients=(IngredientInput("ziconotide", Q_("25 mcg/mL")),),
        schedule=Schedule.simple(Q_("1.2 mcg/day")),
        effective_at=at,
        prescriber="Dr Brandt",
        order=written_order(at),
    )


def test_a_pump_switched_to_ziconotide_gets_the_first_fill_limit(world: World) -> None:
    """domain-rules §3: 14 days after the pump's first *ziconotide* fill, whatever it held
    before (a pump on baclofen got 84 days here); its next ziconotide fill 84 undiluted, 40
    diluted."""
    _, pump_id = baclofen_patient(world)
    world.clinic.change_prescription(
        world.nurse, world.check, pump_id, continuing(baclofen_prescription())
    )
    world.clinic.record_refill(world.nurse, world.check, pump_id, fill(START))
    switch = START + timedelta(days=60)  # Fri 2 May 2025
    world.clock.moment = switch
    left = world.clinic.expected_now(pump_id, switch)
    assert left is not None
    outcome = world.clinic.record_refill(  # ziconotide's first dose is a start, signed (§7)
        world.prescriber,
        world.check,
        pump_id,
        fill(
            switch,
            aspirated=f"{left.to('mL').m:.2f} mL",
            new_prescription=ziconotide_order(switch),
            bridge_acknowledged=True,
            undiluted=True,
        ),
    )
    assert outcome.forecast is not None
    # 14 days from Fri 2 May is Fri 16 May
    assert (outcome.forecast.refill_due, outcome.forecast.refill_due_reason) == (
        date(2025, 5, 16),
        "stability",
    )
    assert refill_after(world, pump_id, 70, True) == (date(2025, 8, 4), "stability", 84)
    assert refill_after(world, pump_id, 80, False) == (date(2025, 7, 1), "stability", 40)


def test_undiluted_is_refused_for_an_admixture_or_a_strength_not_supplied(world: World) -> None:
    """An admixture is diluted by definition; an undiluted ziconotide solution is a stock
    strength (25 or 100 mcg/mL): 50 mcg/mL undiluted is refused, naming the field; recorded
    diluted, the same solution is taken."""
    pump_id = ziconotide_pump(world)
    mixed = (
        IngredientInput("ziconotide", Q_("25 mcg/mL")),
        IngredientInput("morphine", Q_("1 mg/mL")),
    )
    fifty = (IngredientInput("ziconotide", Q_("50 mcg/mL")),)
    for ingredients, words in (
        (mixed, "undiluted: an admixture is diluted by definition"),
        (fifty, r"undiluted: ziconotide 50 mcg/mL is not a stock strength \(25 mcg/mL or 100"),
    ):
        order = replace(
            ziconotide_order(START),
            ingredients=ingredients,
            schedule=Schedule.simple(Q_("2.4 mcg/day")),
            reasons={
                "dose.below_typical": "a low morphine dose beside ziconotide",
                "titration.within_24h": "the order is entered again",
            },
        )
        # the prescriber's own order runs at once (a nurse's with warnings waits to be signed)
        world.clinic.change_prescription(world.prescriber, world.check, pump_id, order)
        with pytest.raises(ImpossibleInput, match=words) as refused:
            world.clinic.record_refill(
                world.nurse, world.check, pump_id, fill(START, undiluted=True)
            )
        assert refused.value.field == "undiluted"
    outcome = world.clinic.record_refill(
        world.nurse, world.check, pump_id, fill(START, undiluted=False)
    )
    assert outcome.refill.undiluted is False


def test_a_wrong_undiluted_box_is_corrected_and_moves_the_forecast(world: World) -> None:
    """A refill recorded diluted by mistake is corrected to undiluted (audited, verified by a
    second user): the stored forecast takes 84 days instead of 40."""
    pump_id = ziconotide_pump(world)
    refill_after(world, pump_id, 0, True)
    assert refill_after(world, pump_id, 15, False) == (date(2025, 4, 25), "stability", 38)
    with world.clinic.database.read() as session:
        refill_id = session.scalars(
            select(db.Refill.id).where(db.Refill.pump_id == pump_id).order_by(db.Refill.id.desc())
        ).first()
    assert refill_id is not None
    corrected = world.clinic.correct_refill(
        world.nurse, world.check, refill_id, "the solution went in as supplied", undiluted=True
    )
    assert corrected.undiluted is True and corrected.corrects_id == refill_id
    assert json.loads(last_audit(world).payload)["undiluted"] is True
    forecast = world.clinic.patient_chart(world.clinic.find_patient("200001").id).forecast
    assert forecast is not None
    assert (forecast.refill_due, forecast.refill_due_reason) == (date(2025, 6, 10), "stability")


def test_forecasts_stored_before_the_first_ziconotide_fill_rule_are_computed_again(
    world: World,
) -> None:
    """A clinic upgraded from refill-due rules 1 (a new database is current: revision 0021)
    keeps forecasts that gave a pump switched to ziconotide 84 days: the first start computes
    every active pump's again, once, audited as pumpmgr's own."""
    _, pump_id = baclofen_patient(world)
    world.clinic.change_prescription(
        world.nurse, world.check, pump_id, continuing(baclofen_prescription())
    )
    world.clinic.record_refill(world.nurse, world.check, pump_id, fill(START))
    switch = START + timedelta(days=60)
    world.clock.moment = switch
    left = world.clinic.expected_now(pump_id, switch)
    assert left is not None
    world.clinic.record_refill(  # ziconotide's first dose is a start, signed (§7)
        world.prescriber,
        world.check,
        pump_id,
        fill(
            switch,
            aspirated=f"{left.to('mL').m:.2f} mL",
            new_prescription=ziconotide_order(switch),
            bridge_acknowledged=True,
            undiluted=True,
        ),
    )
    with world.clinic.database.write() as session:
        settings = session.get_one(db.ClinicSettings, 1)
        assert settings.forecast_rules == FORECAST_RULES
        forecast = session.get_one(db.PumpForecast, pump_id)
        forecast.refill_due = date(2025, 7, 25)  # 84 days: what the old rule stored
        settings.forecast_rules = 1
        # as an upgrade leaves the database (on the record, as revision 0021 does)
        append_audit(
            session,
            username="pumpmgr",
            action="test.upgrade",
            entity_type="clinic",
            entity_id="all",
            changes={},
            reason=None,
            workstation="test",
            at=world.clock.now(),
        )
    assert world.clinic.forecasts.refresh_stale() == 1
    assert last_audit(world).action == "forecast.recompute_after_upgrade"
    with world.clinic.database.read() as session:
        assert session.get_one(db.PumpForecast, pump_id).refill_due == date(2025, 5, 16)
        assert session.get_one(db.ClinicSettings, 1).forecast_rules == FORECAST_RULES
    assert world.clinic.forecasts.refresh_stale() == 0


def test_the_recompute_and_the_pumps_forecast_agree_when_ids_run_against_time(
    world: World,
) -> None:
    """The first-fill limit belongs to the latest fill in the clinical order (time filled, then
    id), whatever order the rows were written in: the first ziconotide fill corrected after the
    second is the newest row but the oldest fill. The pump's own forecast (refreshed by the
    correction) and the bulk recompute both give the second fill's 84 days undiluted, never
    the first fill's 14 (domain-rules §3). Both backends."""
    pump_id = ziconotide_pump(world)
    refill_after(world, pump_id, 0, True)
    # 84 days from Tue 18 Mar is Tue 10 Jun
    assert refill_after(world, pump_id, 15, True) == (date(2025, 6, 10), "stability", 84)
    with world.clinic.database.read() as session:
        first = session.scalars(
            select(db.Refill.id).where(db.Refill.pump_id == pump_id).order_by(db.Refill.id)
        ).first()
    assert first is not None
    world.clinic.correct_refill(world.nurse, world.check, first, "lot misread", lot_number="L2")
    patient_id = world.clinic.find_patient("200001").id

    def stored() -> tuple[date, str]:
        forecast = world.clinic.patient_chart(patient_id).forecast
        assert forecast is not None
        return forecast.refill_due, forecast.refill_due_reason

    single = stored()
    assert world.clinic.recompute_all_forecasts(world.admin, "test") == 1
    assert stored() == single == (date(2025, 6, 10), "stability")
