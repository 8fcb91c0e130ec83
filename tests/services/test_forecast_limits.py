"""The services keep and use the refill-due date's new limits (issue 11, domain-rules §3, §4):
the clinic's interval, closed dates and empty threshold; the refill's expiry and compounding;
found empty; the stored worst case, states and over-infusion flag."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta

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

from pumpmgr.errors import Code, ImpossibleInput, InputError
from pumpmgr.forecast import RefillState
from pumpmgr.refill import NOT_FROM_RESERVOIR
from pumpmgr.services.forecasts import FORECAST_RULES


def filled(world: World, **extra: object) -> tuple[int, object]:
    _, pump_id = baclofen_patient(world)
    world.clinic.change_prescription(
        world.nurse, world.check, pump_id, continuing(baclofen_prescription())
    )
    data = replace(fill(START), **extra)  # type: ignore[arg-type]
    outcome = world.clinic.record_refill(world.nurse, world.check, pump_id, data)
    return pump_id, outcome


def test_the_stored_forecast_keeps_the_worst_case_and_gives_the_states(world: World) -> None:
    """Example 1 with the pump's 14.5 %: worst-case alarm after 18 / 0.229 = 78.6 days, empty
    after 20 / 0.229 = 87.3 days; nominal alarm 90 days, empty 100 days."""
    _, outcome = filled(world)
    stored = outcome.forecast  # type: ignore[attr-defined]
    assert stored.refill_due_reason == "worst_case"
    assert stored.alarm_at_worst_case - START == pytest.approx(
        timedelta(days=18 / 0.229), abs=timedelta(seconds=1)
    )
    assert stored.empty_at_worst_case - START == pytest.approx(
        timedelta(days=20 / 0.229), abs=timedelta(seconds=1)
    )
    assert stored.state(START + timedelta(days=80)) is None
    assert stored.state(START + timedelta(days=88)) is RefillState.MAY_BE_EMPTY
    assert stored.state(START + timedelta(days=100)) is RefillState.COMPUTED_EMPTY
    assert stored.state(START, stopped=True) is RefillState.COMPUTED_EMPTY
    assert not stored.over_infusion_risk


def test_a_solution_expiring_before_the_due_date_moves_it(world: World) -> None:
    _, outcome = filled(world, expiry=date(2025, 3, 23))  # a Sunday
    stored = outcome.forecast  # type: ignore[attr-defined]
    assert (stored.refill_due, stored.refill_due_reason) == (date(2025, 3, 21), "expiry")


def test_an_expired_solution_cannot_be_filled(world: World) -> None:
    _, pump_id = baclofen_patient(world)
    world.clinic.change_prescription(
        world.nurse, world.check, pump_id, continuing(baclofen_prescription())
    )
    with pytest.raises(ImpossibleInput) as refused:
        world.clinic.record_refill(
            world.nurse, world.check, pump_id, replace(fill(START), expiry=date(2025, 3, 2))
        )
    assert refused.value.code is Code.SOLUTION_EXPIRED and refused.value.field == "expiry"


def test_the_refill_records_a_compounded_solution(world: World) -> None:
    _, outcome = filled(world, compounded=True)
    assert outcome.refill.compounded  # type: ignore[attr-defined]


def test_a_pump_found_empty_needs_the_patients_condition_and_is_flagged(world: World) -> None:
    """110 days after example 1's fill the unfloored expected residual is −2 mL: found empty,
    whatever came back; a note (the patient's condition) is required; the pump is flagged for
    over-infusion risk (it ran empty)."""
    pump_id, _ = filled(world)
    later = START + timedelta(days=110)
    world.clock.moment = later
    with pytest.raises(InputError) as silent:
        world.clinic.record_refill(world.nurse, world.check, pump_id, fill(later, "0.4 mL"))
    assert silent.value.field == "discrepancy note" and "found empty" in silent.value.message
    outcome = world.clinic.record_refill(
        world.nurse,
        world.check,
        pump_id,
        fill(later, "0.4 mL", discrepancy_note="patient with rebound spasticity; restart"),
    )
    assert outcome.refill.discrepancy_verdict == "found_empty"
    assert outcome.refill.expected_residual is not None
    assert float(outcome.refill.expected_residual.m) == 0  # shown floored
    assert outcome.refill.discrepancy_difference is not None
    assert float(outcome.refill.discrepancy_difference.m) == pytest.approx(-2 - 0.4, abs=0.01)
    assert outcome.forecast is not None and outcome.forecast.over_infusion_risk


def test_an_aspirate_above_the_capacity_is_recorded_with_a_note(world: World) -> None:
    pump_id, _ = filled(world)
    later = START + timedelta(days=30)
    world.clock.moment = later
    with pytest.raises(ImpossibleInput) as silent:
        world.clinic.record_refill(world.nurse, world.check, pump_id, fill(later, "25 mL"))
    assert silent.value.field == "note" and silent.value.code is Code.OVER_CAPACITY
    outcome = world.clinic.record_refill(
        world.nurse,
        world.check,
        pump_id,
        fill(later, "25 mL", discrepancy_note="needle position checked again"),
    )
    assert outcome.refill.discrepancy_verdict == "investigate"
    assert outcome.discrepancy is not None
    assert outcome.discrepancy.warnings == (NOT_FROM_RESERVOIR,)


def test_the_clinics_interval_closed_dates_and_threshold_are_kept_audited_and_used(
    world: World,
) -> None:
    pump_id, outcome = filled(world)
    assert outcome.forecast.refill_due == date(2025, 5, 21)  # type: ignore[attr-defined]
    before = replace(world.clinic.settings(), clinic_name="St Elsewhere")
    assert (before.max_refill_interval_days, before.closed_dates, before.empty_threshold_ml) == (
        90,
        frozenset(),
        0.5,
    )
    changed = replace(
        before,
        max_refill_interval_days=60,
        closed_dates=frozenset({date(2025, 5, 21), date(2025, 5, 20)}),
        empty_threshold_ml=1.0,
    )
    after = world.clinic.update_settings(world.admin, changed)
    assert after.closed_dates == changed.closed_dates and after.empty_threshold_ml == 1.0
    entry = last_audit(world)
    payload = json.loads(entry.payload)
    assert payload["after"]["closed_dates"] == ["2025-05-20", "2025-05-21"]
    assert payload["before"]["max_refill_interval_days"] == 90
    assert payload["after"]["max_refill_interval_days"] == 60
    # baclofen keeps its own 180 days [S72]; the closed days move the date back to Monday
    rows = world.clinic.due_list()
    assert rows[0].pump_id == pump_id
    assert (rows[0].refill_due, rows[0].refill_due_reason) == (date(2025, 5, 19), "worst_case")
    for bad, field in (
        (replace(changed, max_refill_interval_days=0), "longest refill interval"),
        (replace(changed, empty_threshold_ml=-1.0), "empty threshold"),
    ):
        with pytest.raises(ImpossibleInput) as refused:
            world.clinic.update_settings(world.admin, bad)
        assert refused.value.field == field


def test_a_forecast_stored_under_the_old_rules_is_computed_again_when_the_clinic_opens(
    world: World,
) -> None:
    """A clinic upgraded to revision 0007 keeps forecasts written by the old rules: an alarm
    date, no worst-case date, and a refill-due date later than the worst case allows. The
    next service opened on the database computes them again at once, audited."""
    from sqlalchemy import event, update

    from pumpmgr.db import schema as db
    from pumpmgr.db.audit import append_audit
    from pumpmgr.services.clinic import ClinicService

    pump_id, outcome = filled(world)
    right = outcome.forecast  # type: ignore[attr-defined]
    old_due = right.refill_due + timedelta(days=11)  # what alarm − 7 days gave before
    with world.clinic.database.write() as session:
        session.execute(
            update(db.PumpForecast)
            .where(db.PumpForecast.pump_id == pump_id)
            .values(
                alarm_at_worst_case=None,
                empty_at_worst_case=None,
                refill_due=old_due,
                refill_due_reason="alarm",
            )
        )
        # as revision 0014 leaves a clinic that had such a forecast (on the record)
        session.get_one(db.ClinicSettings, 1).forecast_rules = 0
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
    again = world.clinic.patient_chart(world.clinic.find_patient("100001").id).forecast
    assert again is not None and (again.refill_due, again.refill_due_reason) == (
        right.refill_due,
        "worst_case",
    )
    entry = last_audit(world)
    assert (entry.action, entry.username) == ("forecast.recompute_after_upgrade", "pumpmgr")
    # the settings say so now: a service opened on the database writes nothing more, and
    # does not search the forecasts (it reads the settings' marker)
    statements: list[str] = []
    engine = world.clinic.database.engine

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        ClinicService(world.clinic.database, clock=world.clock, tz=world.clinic.tz)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert any("forecast_rules" in s for s in statements)
    assert not any("pump_forecasts" in s for s in statements)
    assert last_audit(world).seq == entry.seq
    with world.clinic.database.read() as session:
        assert session.get_one(db.ClinicSettings, 1).forecast_rules == FORECAST_RULES
