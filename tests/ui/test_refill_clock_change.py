"""The refill wizard plans on the pump's clock, as the stored forecast does, across a
daylight-saving change in Berlin: its expected residual is the one the saved refill records, and
its alarm and refill-due dates are the ones the due list then shows.

The last fill was on Monday 20 October 2025, 09:00 CEST; the clocks went back on Sunday 26
October; the refill is on Thursday 30 October, 23:30 CET. 200 mcg/day of baclofen 2000 mcg/mL
is 0.1 mL/day, so a 20 mL fill reaches the 2 mL alarm 180 days later, after the clocks went
forward on Sunday 29 March 2026: at 00:30 CEST on Wednesday 29 April. Counted on the wall clock
it would be 23:30 on Tuesday 28 April, a day early, and the refill-due date a day early too.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from sample_clinic import BERLIN, PASSWORD, clinic_on
from test_refill_wizard import nothing_found

from pumpmgr.clock import FixedClock
from pumpmgr.db.engine import open_database
from pumpmgr.formatting import format_quantity
from pumpmgr.schedule import Schedule
from pumpmgr.services import ClinicService
from pumpmgr.services.inputs import (
    CatheterInput,
    IngredientInput,
    OrderGiven,
    PatientInput,
    PrescriptionInput,
    PumpInput,
    RefillInput,
    SegmentInput,
    Verification,
)
from pumpmgr.units import Q_, Kind
from pumpmgr.visit import plan_visit, wall_clock
from ui.main_window import MainWindow
from ui.wizards.refill import RefillWizard

#: Thursday 30 October 2025, 23:30 in Berlin (CET, UTC+1).
REFILL = datetime(2025, 10, 30, 22, 30, tzinfo=UTC)
LAST_FILL = datetime(2025, 10, 20, 9, 0, tzinfo=BERLIN)  # CEST, UTC+2


@pytest.fixture
def clinic(tmp_path: Path) -> Iterator[ClinicService]:
    database = open_database(tmp_path / "dst.db", daily_backup_keep=None)
    service = clinic_on(database, FixedClock(REFILL))
    admin = service.create_first_administrator("admin", PASSWORD, "Ada Admin")
    service.add_user(admin, "nina", PASSWORD, "Nina Nurse", "nurse")
    nurse = service.sign_in("nina", PASSWORD)
    service.add_user(admin, "otto", PASSWORD, "Otto Second", "nurse")
    service.add_user(admin, "brandt", PASSWORD, "Dr Brandt", "prescriber")
    check = Verification("otto", PASSWORD)
    patient = service.register_patient(
        nurse, PatientInput("200001", "Sommer", "Zeit", date(1970, 3, 29), "spasticity_spinal")
    )
    pump = service.implant_pump(
        nurse,
        patient.id,
        PumpInput(
            "synchromed2-20",
            "NGV200001",
            date(2025, 10, 1),
            "right lower abdomen",
            pump_path_volume=Q_("0.22 mL"),
            replace_by=date(2031, 5, 1),
        ),
        CatheterInput(
            "prometra-11823", (SegmentInput(Q_("80 cm"), Q_("30 cm"), Q_("0.0026 mL/cm")),), "T10"
        ),
    )
    service.change_prescription(
        nurse,
        check,
        pump.id,
        PrescriptionInput(
            ingredients=(IngredientInput("baclofen", Q_("2000 mcg/mL")),),
            schedule=Schedule.simple(Q_("200 mcg/day")),
            effective_at=LAST_FILL.replace(hour=8),
            prescriber="Dr Brandt",
            order=OrderGiven("written", LAST_FILL.replace(hour=8)),
            continues={"baclofen": Q_("200 mcg/day")},  # not a start (domain-rules §6)
        ),
    )
    service.record_refill(
        nurse,
        check,
        pump.id,
        RefillInput(
            performed_at=LAST_FILL,
            aspirated=Q_("0 mL"),
            volume_added=Q_("20 mL"),
            lot_number="L2025-117",
            expiry=date(2026, 6, 30),
            source="pharmacy",
            needle_position_confirmed=True,
            pump_running_confirmed=True,
        ),
    )
    try:
        yield service
    finally:
        database.dispose()


def test_the_wizard_plans_on_the_stored_forecasts_clock(qtbot: QtBot, window: MainWindow) -> None:
    clinic = window.clinic
    patient = clinic.find_patient("200001")
    window.open_patient(patient.id)
    wizard = window.start_refill()
    assert isinstance(wizard, RefillWizard)
    assert wizard.at() == datetime(2025, 10, 30, 23, 30)
    pump_id = wizard.pump.id

    # Before the refill: the expected residual counts the real 10 days 15.5 hours since the
    # fill (the wall clock says 10 days 14.5 hours), as the service does.
    base = wizard.base_plan
    assert base is not None and base.residual is not None
    assert base.residual.elapsed_days == pytest.approx(10 + 15.5 / 24)
    expected = clinic.expected_now(pump_id)
    assert expected is not None
    assert base.residual.expected_residual.to("mL").m == pytest.approx(
        expected.to("mL").m, abs=1e-12
    )

    # Through the wizard: same solution, a full 20 mL, the program unchanged.
    wizard.patient.confirmed.setChecked(True)
    wizard.next()
    nothing_found(wizard)
    wizard.residual.aspirated.set_text(format_quantity(expected, Kind.VOLUME))
    wizard.next()
    wizard.solution.lot.setText("L2025-200")
    wizard.solution.expiry.set_value(date(2026, 6, 30))
    wizard.next()
    wizard.next()  # the volume: the reservoir's capacity
    qtbot.waitUntil(lambda: not wizard.program.check_pending())
    wizard.next()
    wizard.checks.needle.setChecked(True)
    wizard.checks.running.setChecked(True)
    wizard.next()
    plan = wizard.plan
    assert plan is not None
    # The wizard's forecast: the alarm 180 real days after 23:30 CET, at 00:30 CEST.
    assert plan.forecast.alarm_at == datetime(2026, 4, 29, 0, 30)
    # alarm − 7 days counts real days (22 April); the pump running 14.5 % fast may reach the
    # alarm volume earlier, which sets the date (issue 11)
    assert dict(plan.forecast.limits)["alarm"] == date(2026, 4, 22)
    assert (plan.forecast.refill_due, plan.forecast.refill_due_reason) == (
        date(2026, 4, 6),
        "worst_case",
    )
    wall = plan_visit(
        wizard.local, wizard.at(), settings=wizard.settings, drugs=wizard.library
    )  # counted on the wall clock: a day early
    assert wall.forecast.alarm_at == datetime(2026, 4, 28, 23, 30)
    assert dict(wall.forecast.limits)["alarm"] == date(2026, 4, 21)

    programmer = wizard.programmer
    programmer.reservoir.set_quantity(plan.refill.final_volume)
    alarm = plan.forecast.alarm_at
    programmer.alarm.set_value(alarm)
    programmer.daily_volume.set_text(format_quantity(plan.program.daily_volume(), Kind.FLOW))
    assert programmer.summary() == "agree with pumpmgr's forecast"
    wizard.next()
    step = wizard.verify_step
    step.username.setText("otto")
    step.password.setText(PASSWORD)
    step.concentrations[0].set_text("2000 mcg/mL")
    step.volume.set_text("20 mL")
    step.lot.setText("L2025-200")
    wizard.next()
    assert wizard.current() is wizard.review, step.message.text()
    wizard.next()  # Save
    outcome = wizard.outcome
    assert outcome is not None, wizard.problem_label.text()

    # The saved refill's expected residual is the one the wizard showed ...
    assert outcome.refill.expected_residual is not None
    assert outcome.refill.expected_residual.to("mL").m == pytest.approx(
        base.residual.expected_residual.to("mL").m, abs=1e-9
    )
    # ... and the stored forecast (the due list's) has the wizard's figures.
    stored = outcome.forecast
    assert stored is not None
    assert wall_clock(stored.alarm_at, BERLIN) == plan.forecast.alarm_at
    assert wall_clock(stored.alarm_at_with_boluses, BERLIN) == (plan.forecast.alarm_at_with_boluses)
    assert wall_clock(stored.empty_at, BERLIN) == plan.forecast.empty_at
    assert stored.refill_due == plan.forecast.refill_due
    assert stored.refill_due_reason == plan.forecast.refill_due_reason
    row = next(r for r in clinic.due_list() if r.mrn == "200001")
    assert row.refill_due == plan.forecast.refill_due
    assert wall_clock(row.alarm_at, BERLIN) == plan.forecast.alarm_at
    wizard.next()  # Close
