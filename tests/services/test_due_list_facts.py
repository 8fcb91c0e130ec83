"""The due list's facts kept with each stored forecast (revision 0004): the newest
prescription, whether it is a flex schedule, and whether the latest current refill asks for a
review. They are written with every forecast and filled by the migration from the records."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from datetime import time, timedelta
from types import ModuleType
from typing import Any

from clinic_world import (
    START,
    World,
    baclofen_patient,
    baclofen_prescription,
    continuing,
    fill,
    written_order,
)
from sqlalchemy import select, text, update

from pumpmgr.db import migrate
from pumpmgr.db import schema as db
from pumpmgr.schedule import Schedule, Step
from pumpmgr.services import forecasting
from pumpmgr.services.inputs import IngredientInput, PrescriptionInput
from pumpmgr.units import Q_


def _revision(number: str) -> ModuleType:
    path = next((migrate.MIGRATIONS_DIR / "versions").glob(f"{number}_*.py"))
    spec = importlib.util.spec_from_file_location(f"revision_{number}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _stored(world: World) -> dict[int, dict[str, Any]]:
    with world.clinic.database.read() as session:
        return {
            f.pump_id: {
                "prescription_id": f.prescription_id,
                "flex_schedule": f.flex_schedule,
                "open_discrepancy": f.open_discrepancy,
                "order_alert": f.order_alert,
                "open_incident": f.open_incident,
                "open_stop_order": f.open_stop_order,
                "solution": f.solution,
            }
            for f in session.scalars(select(db.PumpForecast))
        }


def _clinic(world: World) -> dict[str, int]:
    """Four pumps: a flex schedule, a refill that asks for a review, that review corrected
    away, and a pump without a prescription."""
    clinic, nurse, check = world.clinic, world.nurse, world.check
    pumps = {}
    _, pumps["flex"] = baclofen_patient(world, "200001")
    clinic.change_prescription(nurse, check, pumps["flex"], continuing(baclofen_prescription()))
    clinic.record_refill(nurse, check, pumps["flex"], fill(START))
    world.clock.advance(timedelta(hours=1))
    flex = Schedule.flex([Step(time(0, 0), Q_("300 mcg/day")), Step(time(8, 0), Q_("500 mcg/day"))])
    # a change within 24 h needs the prescriber (domain-rules §7): entered by them
    clinic.change_prescription(
        world.prescriber,
        check,
        pumps["flex"],
        replace(
            baclofen_prescription(
                at=START + timedelta(hours=1),
                **{"titration.within_24h": "the day and night steps as planned"},
            ),
            schedule=flex,
        ),
    )
    for name, mrn in (("review", "200002"), ("corrected", "200003")):
        _, pumps[name] = baclofen_patient(world, mrn)
        clinic.change_prescription(nurse, check, pumps[name], continuing(baclofen_prescription()))
        clinic.record_refill(nurse, check, pumps[name], fill(START))
    _, pumps["none"] = baclofen_patient(world, "200004")
    world.clock.advance(timedelta(days=60) - timedelta(hours=1))
    day_60 = START + timedelta(days=60)
    for name in ("review", "corrected"):  # expected 8 mL, 6.6 mL aspirated: investigate
        clinic.record_refill(
            nurse, check, pumps[name], fill(day_60, "6.6 mL", discrepancy_note="pocket checked")
        )
    with world.clinic.database.read() as session:
        refill_id = session.scalar(
            select(db.Refill.id)
            .where(db.Refill.pump_id == pumps["corrected"])
            .order_by(db.Refill.id.desc())
            .limit(1)
        )
    assert refill_id is not None
    clinic.correct_refill(
        nurse, check, refill_id, "8 mL was aspirated, not 6.6 mL", aspirated=Q_("8 mL")
    )
    return pumps


def test_the_due_list_shows_each_pumps_facts(world: World) -> None:
    pumps = _clinic(world)
    rows = {row.pump_id: row for row in world.clinic.due_list()}
    assert rows[pumps["flex"]].flex_schedule and not rows[pumps["review"]].flex_schedule
    assert rows[pumps["review"]].open_discrepancy
    # the correction's verdict is the record's: the review it asked for is gone
    assert not rows[pumps["corrected"]].open_discrepancy
    assert not rows[pumps["flex"]].open_discrepancy
    assert rows[pumps["none"]].drug == "no prescription"
    assert not rows[pumps["none"]].flex_schedule


def test_the_stored_facts_are_the_ones_the_records_give(world: World) -> None:
    pumps = _clinic(world)
    stored = _stored(world)
    with world.clinic.database.read() as session:
        assert stored == forecasting.due_facts(session, list(stored))
        newest = session.scalar(
            select(db.Prescription.id)
            .where(db.Prescription.pump_id == pumps["flex"])
            .order_by(db.Prescription.id.desc())
            .limit(1)
        )
    assert stored[pumps["flex"]]["prescription_id"] == newest
    assert stored[pumps["none"]] == {
        "prescription_id": None,
        "flex_schedule": False,
        "open_discrepancy": False,
        "order_alert": None,
        "open_incident": False,
        "open_stop_order": False,
        "solution": None,
    }


def test_revision_0004_fills_the_facts_from_the_records(world: World) -> None:
    """The migration's statements, run on forecasts whose facts were wiped, give back what
    the services wrote (on each backend)."""
    _clinic(world)
    written = _stored(world)
    with world.clinic.database.write() as session:
        session.execute(
            update(db.PumpForecast).values(
                prescription_id=None, flex_schedule=False, open_discrepancy=False
            )
        )
        for statement in _revision("0004")._FILL:
            session.execute(text(statement))
    assert _stored(world) == written
    assert any(f["flex_schedule"] for f in written.values())
    assert any(f["open_discrepancy"] for f in written.values())


def test_revision_0022_fills_the_solutions_as_the_services_write_them(world: World) -> None:
    """On each backend: the migration's fill, run on forecasts whose solution was wiped, gives
    back what the services wrote (an admixture's ingredients in their order)."""
    _clinic(world)
    _, pump_id = baclofen_patient(world, "200006")
    world.clinic.change_prescription(
        world.nurse,
        world.check,
        pump_id,
        continuing(
            PrescriptionInput(
                ingredients=(
                    IngredientInput("morphine", Q_("10 mg/mL")),
                    IngredientInput("bupivacaine", Q_("5 mg/mL")),
                ),
                schedule=Schedule.simple(Q_("2 mg/day")),
                effective_at=START,
                prescriber="Dr Brandt",
                order=written_order(START),
            )
        ),
    )
    world.clinic.record_refill(world.nurse, world.check, pump_id, fill(START))
    written = _stored(world)
    assert written[pump_id]["solution"] == "morphine\x1f10000.0\x1ebupivacaine\x1f5000.0"
    with world.clinic.database.write() as session:
        session.execute(update(db.PumpForecast).values(solution=None))
        _revision("0022")._fill_solutions(session.connection())
    assert _stored(world) == written


def test_an_admixtures_solution_reads_in_its_ingredients_order(world: World) -> None:
    """The first ingredient is the one dosed: the due list names it first, whatever the
    drugs' names (bupivacaine sorts before morphine)."""
    _, pump_id = baclofen_patient(world, "200005")
    world.clinic.change_prescription(
        world.nurse,
        world.check,
        pump_id,
        continuing(
            PrescriptionInput(
                ingredients=(
                    IngredientInput("morphine", Q_("10 mg/mL")),
                    IngredientInput("bupivacaine", Q_("5 mg/mL")),
                ),
                schedule=Schedule.simple(Q_("2 mg/day")),
                effective_at=START,
                prescriber="Dr Brandt",
                order=written_order(START),
            )
        ),
    )
    world.clinic.record_refill(world.nurse, world.check, pump_id, fill(START))
    (row,) = world.clinic.due_list()
    assert row.drug == "morphine 10 mg/mL + bupivacaine 5 mg/mL"
