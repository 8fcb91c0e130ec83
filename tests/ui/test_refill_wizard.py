"""The refill wizard, driven as a nurse drives it: typed quantities, ticked boxes, Next.

Normal residual (saved, audited, the due list moves), a discrepancy (a note is required), a
concentration change (the bridge is shown and must be acknowledged; an unknown dead space is
said so with the unbridged dose), the second nurse's independent check (a mismatch and a wrong
password stop the save), a blocked dose, a service error that keeps everything typed, and
Cancel that saves nothing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from dialog_recorder import Dialogs
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QAbstractButton, QCheckBox, QRadioButton, QWidget
from pytestqt.qtbot import QtBot
from sample_clinic import PASSWORD
from sqlalchemy import func, select

from pumpmgr.clock import FixedClock
from pumpmgr.db import schema as db
from pumpmgr.errors import Code, ImpossibleInput
from pumpmgr.forecast import RefillState
from pumpmgr.formatting import format_date, format_datetime, format_quantity
from pumpmgr.records import Ingredient
from pumpmgr.refill import (
    PROGRAMMER_ALARM_TOLERANCE_DAYS,
    PROGRAMMER_DAILY_VOLUME_TOLERANCE,
    PROGRAMMER_RESERVOIR_TOLERANCE_ML,
    compare_programmer,
)
from pumpmgr.services import ClinicService
from pumpmgr.units import Q_, Kind
from pumpmgr.visit import plan_visit
from pumpmgr.visit_record import PumpAlarm, PumpStatus, SiteFinding, SymptomCheck
from ui.main_window import MainWindow
from ui.widgets.quantity_edit import QuantityEdit
from ui.wizards import refill_checks
from ui.wizards.refill import RefillWizard
from ui.wizards.refill_steps.program import bridge_text
from ui.wizards.refill_steps.pump_checks import ProgrammerStep

# ------------------------------------------------------------------ driving


def click(qtbot: QtBot, widget: QWidget) -> None:
    """A click on a button, or on the box of a tick box or radio button (its left end: the
    widget may be stretched wider than its text)."""
    if isinstance(widget, QCheckBox | QRadioButton):
        qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=QPoint(8, widget.height() // 2))
    else:
        qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def type_into(qtbot: QtBot, edit: QuantityEdit, text: str) -> None:
    edit.line_edit.clear()
    qtbot.keyClicks(edit.line_edit, text)


def next_step(qtbot: QtBot, wizard: RefillWizard) -> None:
    assert wizard.next_button.isEnabled(), wizard.problem_label.text()
    click(qtbot, wizard.next_button)


def open_wizard(qtbot: QtBot, window: MainWindow, mrn: str) -> RefillWizard:
    window.open_patient(window.clinic.find_patient(mrn).id)
    click(qtbot, window.patient.refill_button)
    wizard = window.clinical_dialog
    assert isinstance(wizard, RefillWizard)
    qtbot.waitExposed(wizard)
    return wizard


def refill_count(clinic: ClinicService) -> int:
    with clinic.database.read() as session:
        return int(session.scalar(select(func.count()).select_from(db.Refill)) or 0)


def audit_count(clinic: ClinicService) -> int:
    with clinic.database.read() as session:
        return int(session.scalar(select(func.count()).select_from(db.AuditEntry)) or 0)


def through_patient_and_residual(
    qtbot: QtBot, wizard: RefillWizard, aspirated: str, note: str = ""
) -> None:
    assert not wizard.next_button.isEnabled()
    assert "Patient and pump confirmed" in wizard.problem_label.text()
    click(qtbot, wizard.patient.confirmed)
    next_step(qtbot, wizard)
    before_the_refill(qtbot, wizard)
    assert wizard.current() is wizard.residual
    type_into(qtbot, wizard.residual.aspirated, aspirated)
    if note:
        qtbot.keyClicks(wizard.residual.note, note)
    next_step(qtbot, wizard)


def before_the_refill(qtbot: QtBot, wizard: RefillWizard, reservoir: str = "2 mL") -> None:
    """A running pump without alarms, a normal site, no symptoms."""
    step = wizard.bedside
    assert wizard.current() is step
    if not wizard.constant_flow:
        click(qtbot, step.running)
        type_into(qtbot, step.reservoir, reservoir)
    click(qtbot, step.site_assessed)
    click(qtbot, step.symptoms_asked)
    next_step(qtbot, wizard)


def nothing_found(wizard: RefillWizard) -> None:
    """As :func:`before_the_refill`, without the mouse (for tests that drive the wizard's
    methods)."""
    step = wizard.bedside
    assert wizard.current() is step
    if not wizard.constant_flow:
        step.running.setChecked(True)
        step.reservoir.set_text("2 mL")
    step.site_assessed.setChecked(True)
    step.symptoms_asked.setChecked(True)
    wizard.next()


def choose_solution(
    qtbot: QtBot, wizard: RefillWizard, lot: str = "L2025-200", concentration: str = ""
) -> None:
    step = wizard.solution
    if concentration:
        click(qtbot, step.new_concentration)
        type_into(qtbot, step.editor.rows[0].concentration, concentration)
    qtbot.keyClicks(step.lot, lot)
    qtbot.keyClicks(step.expiry.line_edit, "Tue 30 Jun 2026")  # typed, as the nurse types it
    next_step(qtbot, wizard)


def through_volume_and_program(qtbot: QtBot, wizard: RefillWizard) -> None:
    assert wizard.current() is wizard.volume
    assert wizard.volume.volume.text() == "20 mL"  # the reservoir's capacity, to start with
    next_step(qtbot, wizard)
    assert wizard.current() is wizard.program
    qtbot.waitUntil(lambda: not wizard.program.check_pending())
    next_step(qtbot, wizard)


def at_the_pump(qtbot: QtBot, wizard: RefillWizard) -> None:
    assert wizard.current() is wizard.checks
    click(qtbot, wizard.checks.needle)
    assert not wizard.next_button.isEnabled()
    click(qtbot, wizard.checks.running)
    next_step(qtbot, wizard)


def programmer_as_pumpmgr(qtbot: QtBot, wizard: RefillWizard) -> None:
    """Copy figures that agree with pumpmgr's forecast (as the programmer would show them)."""
    assert wizard.current() is wizard.programmer and wizard.plan is not None
    plan = wizard.plan
    type_into(
        qtbot, wizard.programmer.reservoir, format_quantity(plan.refill.final_volume, Kind.VOLUME)
    )
    alarm = plan.forecast.alarm_at
    wizard.programmer.alarm.set_value(alarm)
    type_into(
        qtbot,
        wizard.programmer.daily_volume,
        format_quantity(plan.program.daily_volume(), Kind.FLOW),
    )
    assert wizard.programmer.summary() == "agree with pumpmgr's forecast"
    next_step(qtbot, wizard)


def second_nurse(
    qtbot: QtBot,
    wizard: RefillWizard,
    *,
    concentrations: list[str],
    volume: str = "20 mL",
    lot: str = "L2025-200",
    username: str = "otto",
    password: str = PASSWORD,
) -> None:
    step = wizard.verify_step
    assert wizard.current() is step
    qtbot.keyClicks(step.username, username)
    qtbot.keyClicks(step.password, password)
    for edit, text in zip(step.concentrations, concentrations, strict=True):
        type_into(qtbot, edit, text)
    type_into(qtbot, step.volume, volume)
    qtbot.keyClicks(step.lot, lot)
    click(qtbot, wizard.next_button)


def save(qtbot: QtBot, wizard: RefillWizard) -> None:
    assert wizard.current() is wizard.review
    assert wizard.next_button.text() == "&Save refill"
    click(qtbot, wizard.next_button)


# ------------------------------------------------------------------ tests


def test_refill_with_a_normal_residual_is_saved_audited_and_moves_the_due_list(
    qtbot: QtBot, window: MainWindow, dialogs: Dialogs
) -> None:
    clinic = window.clinic
    before = next(r for r in clinic.due_list() if r.mrn == "100001")
    assert before.state == "overdue"
    wizard = open_wizard(qtbot, window, "100001")
    # counted once the chart is open: its view is an audit entry of its own (issue 13)
    refills, audits = refill_count(clinic), audit_count(clinic)
    assert wizard.patient.patient_fields.text("name") == "BECKER, Lena"
    assert wizard.patient.pump_fields.text("serial") == "NGV100001"
    assert wizard.patient.now_fields.text("solution") == "Baclofen 2,000 mcg/mL"
    through_patient_and_residual(qtbot, wizard, "1.2 mL")
    assert wizard.residual.expected_fields.text("expected") == "1 mL"
    assert wizard.verdict is not None and wizard.verdict.verdict == "ok"
    assert wizard.residual.verdict.text().startswith("Residual OK")
    choose_solution(qtbot, wizard)
    through_volume_and_program(qtbot, wizard)
    at_the_pump(qtbot, wizard)
    programmer_as_pumpmgr(qtbot, wizard)
    second_nurse(qtbot, wizard, concentrations=["2 mg/mL"], lot=" l2025-200 ")
    assert wizard.current() is wizard.review, wizard.verify_step.message.text()
    assert wizard.review.text("Solution") == ("Baclofen 2,000 mcg/mL", "Baclofen 2,000 mcg/mL")
    assert wizard.review.text("Nurses")[1] == ("Nina Nurse, verified independently by Otto Second")
    assert refill_count(clinic) == refills  # nothing saved before Save
    save(qtbot, wizard)

    assert wizard.current() is wizard.done_step and wizard.outcome is not None
    outcome = wizard.outcome
    assert outcome.refill.verifier == "Otto Second" and outcome.refill.nurse == "Nina Nurse"
    assert outcome.refill.aspirated == Q_(1.2, "mL")
    assert outcome.discrepancy is not None and outcome.discrepancy.verdict == "ok"
    assert outcome.prescription is None  # same solution, same program
    assert outcome.refill.programmer_differs is False  # stored as the wizard showed it
    assert refill_count(clinic) == refills + 1
    assert audit_count(clinic) == audits + 1
    with clinic.database.read() as session:
        entry = session.scalars(select(db.AuditEntry).order_by(db.AuditEntry.seq.desc())).first()
        assert entry is not None and entry.action == "refill.record"
        assert '"verified_by":"otto"' in entry.payload.replace(" ", "")
    after = next(r for r in clinic.due_list() if r.mrn == "100001")
    assert after.refill_due > before.refill_due and after.state == "fine"
    assert outcome.forecast is not None
    assert wizard.done_step.summary.text("refill due") == format_date(outcome.forecast.refill_due)

    click(qtbot, wizard.next_button)  # Close
    qtbot.waitUntil(lambda: window.clinical_dialog is None)
    assert window.stack.currentWidget() is window.patient
    assert window.patient.forecast_fields.text("refill due") == format_date(after.refill_due)
    assert not dialogs.texts("error")


def test_an_ok_residual_is_shown_without_alarming_words(qtbot: QtBot, window: MainWindow) -> None:
    """Tried by hand: 0.1 mL less than expected said "Residual OK" above "Less came back than
    expected: possible over-infusion (overdose signs ...)"."""
    wizard = open_wizard(qtbot, window, "100004")
    click(qtbot, wizard.patient.confirmed)
    next_step(qtbot, wizard)
    before_the_refill(qtbot, wizard)
    assert wizard.residual.expected_fields.text("expected") == "16.4 mL"
    type_into(qtbot, wizard.residual.aspirated, "16.3 mL")
    assert wizard.verdict is not None and wizard.verdict.verdict == "ok"
    assert wizard.residual.verdict.text().startswith("Residual OK")
    shown = wizard.residual.meaning.text()
    assert shown.startswith("Within the threshold") and "over-infusion" not in shown


def test_a_discrepancy_requires_a_note(qtbot: QtBot, window: MainWindow) -> None:
    wizard = open_wizard(qtbot, window, "100004")
    click(qtbot, wizard.patient.confirmed)
    next_step(qtbot, wizard)
    before_the_refill(qtbot, wizard)
    assert wizard.residual.expected_fields.text("expected") == "16.4 mL"
    type_into(qtbot, wizard.residual.aspirated, "14 mL")
    assert wizard.verdict is not None and wizard.verdict.verdict == "investigate"
    assert wizard.residual.verdict.text().startswith("INVESTIGATE")
    assert "+2.4 mL" in wizard.residual.details.text()
    assert "threshold 1 mL" in wizard.residual.details.text()
    assert "Less came back than expected" in wizard.residual.meaning.text()
    assert not wizard.next_button.isEnabled()
    assert "write what was found" in wizard.problem_label.text()
    qtbot.keyClicks(wizard.residual.note, "pocket checked, no swelling; pump interrogated")
    assert wizard.next_button.isEnabled()
    next_step(qtbot, wizard)
    choose_solution(qtbot, wizard)
    through_volume_and_program(qtbot, wizard)
    at_the_pump(qtbot, wizard)
    programmer_as_pumpmgr(qtbot, wizard)
    second_nurse(qtbot, wizard, concentrations=["2000 mcg/mL"])
    assert "investigate" in wizard.review.text("Residual verdict")[1]
    save(qtbot, wizard)
    assert wizard.outcome is not None
    assert wizard.outcome.refill.discrepancy_verdict == "investigate"
    assert wizard.outcome.refill.discrepancy_note.startswith("pocket checked")


def test_a_concentration_change_shows_the_bridge_to_acknowledge(
    qtbot: QtBot, window: MainWindow
) -> None:
    wizard = open_wizard(qtbot, window, "100004")
    through_patient_and_residual(qtbot, wizard, "16.4 mL")
    choose_solution(qtbot, wizard, concentration="1000 mcg/mL")
    next_step(qtbot, wizard)  # volume
    program = wizard.program
    assert wizard.current() is program
    assert program.bridge_box.isVisible()
    text = program.bridge_text.text()
    assert "Baclofen: 2,000 mcg/mL in the pump now, 1,000 mcg/mL in the new solution." in text
    assert "run the old rate of 0.18 mL/day for 2.38 days" in text
    assert "Without a bridge the patient gets 720 mcg/day" in text
    # The dose is kept in mass: twice the volume a day with half the concentration.
    assert program.after_fields.text("daily volume") == "0.36 mL/day"
    assert program.after_fields.text("dose baclofen") == "360 mcg/day"
    qtbot.waitUntil(lambda: not program.check_pending())
    problems = program.problems()
    assert "enter who prescribed the new solution or program" in problems
    assert "acknowledge the bridge (the concentration changes)" in problems
    assert not wizard.next_button.isEnabled()
    qtbot.keyClicks(program.prescriber, "Dr Brandt")
    program.order_edit.set_given_as("written")
    click(qtbot, program.bridge_acknowledged)
    click(qtbot, program.bridge_given)
    qtbot.waitUntil(lambda: not program.check_pending())
    next_step(qtbot, wizard)
    at_the_pump(qtbot, wizard)
    programmer_as_pumpmgr(qtbot, wizard)
    second_nurse(qtbot, wizard, concentrations=["1 mg/mL"])
    assert wizard.review.text("Solution")[1] == "Baclofen 1,000 mcg/mL"
    assert "acknowledged; bridge bolus programmed" in wizard.review.text("Bridge")[1]
    save(qtbot, wizard)
    outcome = wizard.outcome
    assert outcome is not None and outcome.bridge is not None
    assert outcome.prescription is not None
    assert outcome.prescription.primary.concentration == Q_(1000, "mcg/mL")
    assert outcome.prescription.prescriber == "Dr Brandt"


def test_an_unknown_dead_space_is_said_and_the_unbridged_dose_still_shown(
    qtbot: QtBot, window: MainWindow
) -> None:
    wizard = open_wizard(qtbot, window, "100004")
    chart = wizard.local
    assert chart.pump is not None
    unknown = replace(chart, pump=replace(chart.pump, pump_path_volume=None))
    plan = plan_visit(
        unknown,
        wizard.at(),
        settings=wizard.settings,
        drugs=wizard.library,
        new_ingredients=(Ingredient("baclofen", Q_(1000, "mcg/mL")),),
    )
    assert plan.bridge_status == "dead_space_unknown"
    text = bridge_text(plan, wizard.library)
    assert "The dead space is not known (pump fluid-path volume not recorded)" in text
    assert (
        "Without a bridge the patient gets 720 mcg/day of Baclofen instead of 360 mcg/day" in text
    )


def test_a_mismatch_of_the_second_nurse_stops_the_save(
    qtbot: QtBot,
    window: MainWindow,
) -> None:
    clinic = window.clinic
    refills = refill_count(clinic)
    wizard = open_wizard(qtbot, window, "100001")
    through_patient_and_residual(qtbot, wizard, "1 mL")
    choose_solution(qtbot, wizard)
    through_volume_and_program(qtbot, wizard)
    at_the_pump(qtbot, wizard)
    programmer_as_pumpmgr(qtbot, wizard)
    # The verification step shows nothing of the first nurse's entry.
    shown = " ".join(w.text() for w in wizard.verify_step.findChildren(QAbstractButton))
    assert "L2025-200" not in shown
    second_nurse(qtbot, wizard, concentrations=["2000 mcg/mL"], volume="18 mL", lot="L2025-201")
    assert wizard.current() is wizard.verify_step
    message = wizard.verify_step.message.text()
    assert "Does not match the first nurse's entry: volume added, lot number" in message
    assert "20 mL" not in message and "L2025-200" not in message
    assert wizard.verification is None
    assert refill_count(clinic) == refills
    # Retyped right, it goes on.
    type_into(qtbot, wizard.verify_step.volume, "20 mL")
    wizard.verify_step.lot.clear()
    qtbot.keyClicks(wizard.verify_step.lot, "L2025-200")
    next_step(qtbot, wizard)
    assert wizard.current() is wizard.review


def test_a_wrong_verifier_password_or_the_same_nurse_is_refused(
    qtbot: QtBot, window: MainWindow
) -> None:
    clinic = window.clinic
    refills = refill_count(clinic)
    wizard = open_wizard(qtbot, window, "100001")
    through_patient_and_residual(qtbot, wizard, "1 mL")
    choose_solution(qtbot, wizard)
    through_volume_and_program(qtbot, wizard)
    at_the_pump(qtbot, wizard)
    programmer_as_pumpmgr(qtbot, wizard)
    second_nurse(qtbot, wizard, concentrations=["2000 mcg/mL"], password="wrong password")
    step = wizard.verify_step
    assert wizard.current() is step
    assert step.message.text().startswith("Not verified:")
    assert step.password.text() == ""  # cleared; everything else stays
    assert step.volume.text() == "20 mL" and step.lot.text() == "L2025-200"
    step.username.clear()
    qtbot.keyClicks(step.username, "nina")  # the first nurse cannot verify herself
    qtbot.keyClicks(step.password, PASSWORD)
    click(qtbot, wizard.next_button)
    assert wizard.current() is step
    assert "another user" in step.message.text()
    assert refill_count(clinic) == refills


def test_cancel_at_any_step_saves_nothing(
    qtbot: QtBot, window: MainWindow, dialogs: Dialogs
) -> None:
    clinic = window.clinic
    wizard = open_wizard(qtbot, window, "100004")
    refills, audits = refill_count(clinic), audit_count(clinic)  # the chart's view counted
    through_patient_and_residual(qtbot, wizard, "14 mL", note="recheck")
    choose_solution(qtbot, wizard, concentration="1000 mcg/mL")
    dialogs.confirm_answer = False
    click(qtbot, wizard.cancel_button)
    assert "Nothing has been saved" in dialogs.texts("confirm")[-1]
    assert wizard.isVisible() and wizard.volume.volume.text() == "20 mL"  # kept working
    dialogs.confirm_answer = True
    click(qtbot, wizard.cancel_button)
    qtbot.waitUntil(lambda: window.clinical_dialog is None)
    assert wizard.outcome is None
    assert refill_count(clinic) == refills and audit_count(clinic) == audits


def test_a_service_error_is_shown_and_nothing_typed_is_lost(
    qtbot: QtBot, window: MainWindow, dialogs: Dialogs, monkeypatch: pytest.MonkeyPatch
) -> None:
    wizard = open_wizard(qtbot, window, "100001")
    through_patient_and_residual(qtbot, wizard, "1 mL")
    choose_solution(qtbot, wizard)
    through_volume_and_program(qtbot, wizard)
    at_the_pump(qtbot, wizard)
    programmer_as_pumpmgr(qtbot, wizard)
    second_nurse(qtbot, wizard, concentrations=["2000 mcg/mL"])

    def refuse(*args: object, **kw: object) -> None:
        raise ImpossibleInput(
            "refill time: is before the last refill on record",
            code=Code.TIME_ORDER,
            field="refill time",
        )

    monkeypatch.setattr(window.clinic, "record_refill", refuse)
    save(qtbot, wizard)
    assert "Could not finish saving the refill" in dialogs.texts("error")[-1]
    assert wizard.current() is wizard.review and wizard.outcome is None
    assert wizard.residual.aspirated.text() == "1 mL"
    assert wizard.solution.lot.text() == "L2025-200"
    monkeypatch.undo()
    save(qtbot, wizard)
    assert wizard.outcome is not None


def test_a_blocked_dose_disables_next_and_a_warning_needs_a_reason(
    qtbot: QtBot, window: MainWindow
) -> None:
    wizard = open_wizard(qtbot, window, "100001")
    through_patient_and_residual(qtbot, wizard, "1 mL")
    choose_solution(qtbot, wizard)
    next_step(qtbot, wizard)
    program = wizard.program
    click(qtbot, program.changed_radio)
    type_into(qtbot, program.schedule.daily_dose, "400 mg/day")  # a mg/mcg slip
    qtbot.keyClicks(program.prescriber, "Dr Brandt")
    program.order_edit.set_given_as("written")
    qtbot.waitUntil(lambda: not program.check_pending() and program.findings.check() is not None)
    assert program.findings.is_blocked()
    assert program.findings.summary.text().startswith("Blocked")
    assert not wizard.next_button.isEnabled()
    assert "blocked" in wizard.problem_label.text()

    type_into(qtbot, program.schedule.daily_dose, "480 mcg/day")  # +20 %: spinal allows 30 %
    qtbot.waitUntil(lambda: not program.check_pending())
    assert not program.findings.is_blocked() and not program.findings.warning_codes()
    type_into(qtbot, program.schedule.daily_dose, "600 mcg/day")  # +50 %: a warning
    qtbot.waitUntil(lambda: not program.check_pending())
    assert program.findings.warning_codes() == ["titration.above_percent"]
    assert not wizard.next_button.isEnabled()
    assert "needs a reason" in wizard.problem_label.text()
    qtbot.keyClicks(
        program.findings.reason_edits["titration.above_percent"],
        "ordered by Dr Brandt after review",
    )
    assert wizard.next_button.isEnabled()
    data = wizard.prescription_input()
    assert data is not None
    assert data.reasons == {"titration.above_percent": "ordered by Dr Brandt after review"}


def programmer_shows(
    qtbot: QtBot, wizard: RefillWizard, reservoir: str, alarm_days_later: int, daily_volume: str
) -> ProgrammerStep:
    """Through a plain refill to the programmer's step, and type what the programmer shows:
    ``reservoir``, the alarm ``alarm_days_later`` than pumpmgr's, ``daily_volume``."""
    through_patient_and_residual(qtbot, wizard, "1 mL")
    choose_solution(qtbot, wizard)
    through_volume_and_program(qtbot, wizard)
    at_the_pump(qtbot, wizard)
    assert wizard.plan is not None
    step = wizard.programmer
    type_into(qtbot, step.reservoir, reservoir)
    alarm = wizard.plan.forecast.alarm_at
    step.alarm.set_value(alarm + timedelta(days=alarm_days_later))
    type_into(qtbot, step.daily_volume, daily_volume)
    return step


def test_programmer_figures_that_differ_are_flagged(qtbot: QtBot, window: MainWindow) -> None:
    wizard = open_wizard(qtbot, window, "100001")
    step = programmer_shows(qtbot, wizard, "19.8 mL", 2, "0.2 mL/day")
    checks = step.checks()
    assert [c.differs for c in checks] == [True, True, False]
    assert "DIFFER (reservoir volume, low-reservoir alarm date)" in step.result.text()
    assert not wizard.next_button.isEnabled()
    click(qtbot, step.differences_checked)
    assert wizard.next_button.isEnabled()


def test_the_wizards_flags_are_pumpmgrs_verdict_at_the_tolerances(
    qtbot: QtBot,
    window: MainWindow,
) -> None:
    """Exactly at each tolerance (0.1 mL, a day, 2 %) a figure agrees, just over it it differs,
    and every flag the wizard shows is the one compare_programmer (whose verdict the service
    stores) gives for the same figures; the step names pumpmgr's tolerances."""
    wizard = open_wizard(qtbot, window, "100001")
    step = programmer_shows(qtbot, wizard, "20 mL", 0, "0.2 mL/day")
    plan = wizard.plan
    assert plan is not None
    final = float(plan.refill.final_volume.to("mL").m)
    alarm = plan.forecast.alarm_at.date()
    daily = float(plan.program.daily_volume().to("mL/day").m)
    volume, days, share = (
        PROGRAMMER_RESERVOIR_TOLERANCE_ML,
        PROGRAMMER_ALARM_TOLERANCE_DAYS,
        PROGRAMMER_DAILY_VOLUME_TOLERANCE,
    )
    # (programmer's reservoir mL, alarm days off, daily mL/day) -> the flags expected
    cases = {
        (final + volume, 0, daily): [False, False, False],
        (final - volume, 0, daily): [False, False, False],
        (final + volume + 0.001, 0, daily): [True, False, False],
        (final - volume - 0.001, 0, daily): [True, False, False],
        (final, days, daily): [False, False, False],
        (final, -days, daily): [False, False, False],
        (final, days + 1, daily): [False, True, False],
        (final, -days - 1, daily): [False, True, False],
        (final, 0, daily * (1 + share)): [False, False, False],
        (final, 0, daily * (1 - share)): [False, False, False],
        (final, 0, daily * (1 + share + 0.001)): [False, False, True],
        (final, 0, daily * (1 - share - 0.001)): [False, False, True],
    }
    for (reservoir, off, theirs), expected in cases.items():
        figures = (Q_(reservoir, "mL"), alarm + timedelta(days=off), Q_(theirs, "mL/day"))
        shown = [c.differs for c in refill_checks.programmer_checks(plan, *figures)]
        judged = compare_programmer(
            reservoir=figures[0],
            alarm_date=figures[1],
            daily_volume=figures[2],
            our_reservoir=plan.refill.final_volume,
            our_alarm_date=alarm,
            our_daily_volume=plan.program.daily_volume(),
        )
        assert shown == expected, (reservoir, off, theirs)
        assert shown == [
            judged.reservoir_differs,
            judged.alarm_date_differs,
            judged.daily_volume_differs,
        ], (reservoir, off, theirs)
    assert step.tolerance.text() == (
        "Each figure is flagged when the reservoir volume differs "
        "by more than 0.1 mL, the alarm date by more than 1 day, "
        "or the daily volume by more than 2 %."
    )


def test_a_negative_programmer_figure_is_refused_without_a_verdict(
    qtbot: QtBot,
    window: MainWindow,
) -> None:
    """pumpmgr refuses a negative volume (the save would too): no verdict, Next stays off."""
    wizard = open_wizard(qtbot, window, "100001")
    step = programmer_shows(qtbot, wizard, "-1 mL", 0, "0.2 mL/day")
    assert step.checks() == []
    assert "programmer reservoir volume: must not be negative" in wizard.problem_label.text()
    assert not wizard.next_button.isEnabled()


def test_cross_checks_compare_in_any_unit() -> None:
    first = refill_checks.Entry((Q_(2000, "mcg/mL"),), Q_(20, "mL"), "L-1")
    same = refill_checks.Entry((Q_(2, "mg/mL"),), Q_(20000, "microliter"), " l-1 ")
    assert refill_checks.mismatches(first, same, ["baclofen"]) == []
    other = refill_checks.Entry((Q_(200, "mcg/mL"),), Q_(20, "mL"), "L-7")
    assert refill_checks.mismatches(first, other, ["baclofen"]) == [
        "baclofen concentration",
        "lot number",
    ]


def test_locking_the_window_hides_an_open_wizard_as_it_is(
    qtbot: QtBot, window: MainWindow, dialogs: Dialogs
) -> None:
    """Hidden behind the lock, nothing saved, no question asked; the same nurse carries on
    (tests/ui/test_lock.py has another user signing in)."""
    clinic = window.clinic
    refills = refill_count(clinic)
    wizard = open_wizard(qtbot, window, "100001")
    through_patient_and_residual(qtbot, wizard, "1 mL")
    window.lock()
    assert not wizard.isVisible() and wizard.outcome is None
    assert window.clinical_dialog is wizard
    assert not dialogs.texts("confirm")  # no question behind the lock
    assert refill_count(clinic) == refills
    window.unlock(clinic.sign_in("nina", PASSWORD))
    assert wizard.isVisible() and wizard.current() is wizard.solution
    assert wizard.residual.aspirated.text() == "1 mL"


def test_the_refill_button_needs_a_pump_with_a_prescription(window: MainWindow) -> None:
    window.open_patient(window.clinic.find_patient("100001").id)
    assert window.patient.refill_button.isEnabled()
    assert window.patient.prescription_button.isEnabled()
    window.patient.clear()
    window.patient._update_buttons()
    assert not window.patient.refill_button.isEnabled()
    assert not window.patient.print_button.isEnabled()


def test_the_programmers_figures_are_saved_with_the_refill(
    qtbot: QtBot, window: MainWindow
) -> None:
    """What the nurse copies from the programmer is stored with the refill, with the verdict
    the wizard showed (here: the alarm date differs by two days, checked by both nurses)."""
    clinic = window.clinic
    wizard = open_wizard(qtbot, window, "100001")
    step = programmer_shows(qtbot, wizard, "20 mL", 2, "200 uL/day")
    assert wizard.plan is not None
    alarm = wizard.plan.forecast.alarm_at
    assert [c.differs for c in step.checks()] == [False, True, False]
    click(qtbot, step.differences_checked)
    next_step(qtbot, wizard)
    second_nurse(qtbot, wizard, concentrations=["2000 mcg/mL"])
    save(qtbot, wizard)

    assert wizard.current() is wizard.done_step and wizard.outcome is not None
    saved = wizard.outcome.refill
    assert saved.programmer is not None
    assert saved.programmer.reservoir == Q_(20, "mL")
    assert saved.programmer.alarm_date == alarm.date() + timedelta(days=2)
    assert saved.programmer.daily_volume == Q_(0.2, "mL/day")
    assert saved.programmer_differs is True and saved.programmer_differs == step.differs()
    with clinic.database.read() as session:
        row = session.get_one(db.Refill, saved.id)
        assert (
            row.programmer_reservoir_ml,
            row.programmer_daily_volume_ml_per_day,
            row.programmer_differs,
        ) == (20.0, 0.2, True)
    chart = clinic.patient_chart(clinic.find_patient("100001").id)
    assert chart.refills[-1].programmer == saved.programmer


def test_the_visit_of_a_pump_computed_empty_says_so_first_and_before_the_refill(
    qtbot: QtBot, clinic: ClinicService, window: MainWindow
) -> None:
    """Domain-rules §3: the visit of a pump computed empty says so on its first page, with
    what to ask, and again on the step where the patient's condition is asked; a pump in no
    such state says nothing."""
    calm = next(r for r in clinic.due_list() if r.refill_state is None)
    wizard = open_wizard(qtbot, window, calm.mrn)
    assert wizard.base_plan is not None and wizard.base_plan.state is None
    assert wizard.patient.state_notice.isHidden()
    wizard.discard()
    assert isinstance(clinic.clock, FixedClock)
    clinic.clock.advance(timedelta(days=28))  # a pump of the small clinic runs dry by then
    row = next(r for r in clinic.due_list() if r.refill_state is RefillState.COMPUTED_EMPTY)
    wizard = open_wizard(qtbot, window, row.mrn)
    notice = wizard.patient.state_notice
    assert notice.isVisible() and notice.property("role") == "alert"
    assert notice.text().startswith(
        "COMPUTED EMPTY: the forecast says the reservoir is empty. Ask for the patient's condition"
    )
    assert "the next dose is a restart" in notice.text()
    click(qtbot, wizard.patient.confirmed)
    next_step(qtbot, wizard)
    assert wizard.bedside.state_notice.isVisible()
    assert wizard.bedside.state_notice.text() == notice.text()
    wizard.discard()


def test_a_reservoir_found_empty_needs_the_patients_condition(
    qtbot: QtBot, window: MainWindow
) -> None:
    """Issue 11: 0.3 mL back (at or below the clinic's 0.5 mL) is "found empty", never "ok";
    the nurse writes the patient's condition before going on; the pump is flagged."""
    wizard = open_wizard(qtbot, window, "100001")
    click(qtbot, wizard.patient.confirmed)
    next_step(qtbot, wizard)
    before_the_refill(qtbot, wizard)
    type_into(qtbot, wizard.residual.aspirated, "0.3 mL")
    assert wizard.verdict is not None and wizard.verdict.verdict == "found_empty"
    assert wizard.residual.verdict.text().startswith("FOUND EMPTY")
    assert "restart" in wizard.residual.meaning.text()
    assert not wizard.next_button.isEnabled()
    assert "write the patient's condition" in wizard.problem_label.text()
    qtbot.keyClicks(wizard.residual.note, "rebound spasticity since yesterday; no fever")
    assert wizard.next_button.isEnabled()
    next_step(qtbot, wizard)
    choose_solution(qtbot, wizard)
    through_volume_and_program(qtbot, wizard)
    at_the_pump(qtbot, wizard)
    programmer_as_pumpmgr(qtbot, wizard)
    second_nurse(qtbot, wizard, concentrations=["2000 mcg/mL"])
    save(qtbot, wizard)
    assert wizard.outcome is not None
    assert wizard.outcome.refill.discrepancy_verdict == "found_empty"
    assert wizard.outcome.forecast is not None and wizard.outcome.forecast.over_infusion_risk


def test_a_restart_says_the_time_without_drug_and_the_over_infusion_risk_past_48_hours(
    qtbot: QtBot, window: MainWindow
) -> None:
    """Issue 11, domain-rules §3: the worst case ran empty before the visit. Step 2 says how
    long the patient may have been without drug should this be a restart: at 48 hours no
    over-infusion risk, a minute later the risk; withdrawal signs make it a restart, which
    the review says and the saved refill flags."""
    # the patient's page and the visit's first page say the state before the refill
    window.open_patient(window.clinic.find_patient("100001").id)
    assert [t for t in window.patient.alert_texts() if t.startswith("MAY BE EMPTY: ")]
    wizard = open_wizard(qtbot, window, "100001")
    assert wizard.patient.state_notice.isVisibleTo(wizard) and (
        wizard.patient.state_notice.text().startswith(
            "MAY BE EMPTY: the reservoir may be empty if the pump runs fast"
        )
    )
    stored = wizard.chart.forecast
    assert stored is not None and stored.empty_at_worst_case is not None
    # one worst-case empty time on the page: the state's and the time without drug's (the
    # state's was extrapolated at today's rate, an hour off beside the other)
    since = format_datetime(stored.empty_at_worst_case.astimezone(window.clinic.tz))
    assert f"may have run dry from {since} (worst case)" in wizard.patient.state_notice.text()
    at_48 = (
        (stored.empty_at_worst_case + timedelta(hours=48))
        .astimezone(window.clinic.tz)
        .replace(tzinfo=None, second=0, microsecond=0)
    )  # 48 h less seconds
    click(qtbot, wizard.patient.confirmed)
    shown = {}
    for typed in (at_48, at_48 + timedelta(minutes=1)):
        wizard.patient.refill_time.set_value(typed)
        next_step(qtbot, wizard)
        assert wizard.current() is wizard.bedside and wizard.bedside.without_drug.isVisible()
        shown[typed] = wizard.bedside.without_drug.text()
        if typed == at_48:
            click(qtbot, wizard.back_button)
    low, high = shown.values()
    assert low.startswith("If this refill is a restart") and "48 h without drug" in low
    assert "over-infusion" not in low
    assert "2 days without drug" in high and "over 48 h: an over-infusion risk" in high
    step = wizard.bedside
    click(qtbot, step.running)
    type_into(qtbot, step.reservoir, "2 mL")
    click(qtbot, step.site_assessed)
    click(qtbot, step.symptoms_asked)
    click(qtbot, step.withdrawal)
    qtbot.keyClicks(step.symptoms_note, "spasms since the weekend")
    next_step(qtbot, wizard)
    type_into(qtbot, wizard.residual.aspirated, "2 mL")
    assert wizard.verdict is not None and wizard.verdict.verdict == "ok"
    next_step(qtbot, wizard)
    choose_solution(qtbot, wizard)
    through_volume_and_program(qtbot, wizard)
    at_the_pump(qtbot, wizard)
    programmer_as_pumpmgr(qtbot, wizard)
    second_nurse(qtbot, wizard, concentrations=["2000 mcg/mL"])
    (restart,) = [row.after for row in wizard.review.rows if row.name == "Restart"]
    assert restart.startswith("yes: the patient shows withdrawal; up to 2 days without drug")
    assert "over-infusion risk" in restart
    save(qtbot, wizard)
    assert wizard.outcome is not None and wizard.outcome.forecast is not None
    assert wizard.outcome.forecast.over_infusion_risk
    window.open_patient(window.clinic.find_patient("100001").id)
    assert [t for t in window.patient.alert_texts() if t.startswith("OVER-INFUSION RISK: ")]


def test_a_solution_expiring_before_the_due_date_moves_it_before_saving(
    qtbot: QtBot, window: MainWindow
) -> None:
    """domain-rules §4: the expiry typed on the Solution page moves the refill-due date, and
    the review says so before the refill is saved (the service stores the same date)."""
    wizard = open_wizard(qtbot, window, "100001")
    click(qtbot, wizard.patient.confirmed)
    next_step(qtbot, wizard)
    before_the_refill(qtbot, wizard)
    type_into(qtbot, wizard.residual.aspirated, "2 mL")
    qtbot.keyClicks(wizard.residual.note, "checked twice")
    next_step(qtbot, wizard)
    expiry = window.clinic.today() + timedelta(days=24)  # Thu 13 Nov 2025, an open day
    qtbot.keyClicks(wizard.solution.lot, "L2025-201")
    qtbot.keyClicks(wizard.solution.expiry.line_edit, format_date(expiry))
    assert wizard.plan is not None and wizard.plan.expiry_moved_due
    next_step(qtbot, wizard)
    through_volume_and_program(qtbot, wizard)
    at_the_pump(qtbot, wizard)
    programmer_as_pumpmgr(qtbot, wizard)
    second_nurse(qtbot, wizard, concentrations=["2000 mcg/mL"], lot="L2025-201")
    (due,) = [row.after for row in wizard.review.rows if row.name == "Refill due"]
    assert due == f"{format_date(expiry)} (solution expires)"
    save(qtbot, wizard)
    assert wizard.outcome is not None and wizard.outcome.forecast is not None
    assert wizard.outcome.forecast.refill_due == expiry


def test_what_was_found_before_the_refill_is_asked_reviewed_and_saved(
    qtbot: QtBot, window: MainWindow
) -> None:
    """Step 2: the programmer's reading, the site and the symptoms; a finding needs words;
    the review shows them in the core's wording and the refill keeps them. An unchanged
    prescription is not marked changed."""
    clinic = window.clinic
    wizard = open_wizard(qtbot, window, "100001")
    click(qtbot, wizard.patient.confirmed)
    next_step(qtbot, wizard)
    step = wizard.bedside
    assert wizard.current() is step and not wizard.next_button.isEnabled()
    assert "pump status: choose Running or Stopped" in wizard.problem_label.text()
    click(qtbot, step.stopped)
    click(qtbot, step.alarms[PumpAlarm.EMPTY_RESERVOIR])
    type_into(qtbot, step.reservoir, "25 mL")
    assert "reservoir volume: 25 mL is not within 0 to 20 mL" in wizard.problem_label.text()
    type_into(qtbot, step.reservoir, "0 mL")
    click(qtbot, step.site_assessed)
    click(qtbot, step.findings[SiteFinding.SWELLING])
    click(qtbot, step.symptoms_asked)
    click(qtbot, step.withdrawal)
    assert not wizard.next_button.isEnabled()
    assert "site note: say what you found" in wizard.problem_label.text()
    qtbot.keyClicks(step.site_note, "soft swelling")
    assert "symptoms note: say which signs" in wizard.problem_label.text()
    qtbot.keyClicks(step.symptoms_note, "spasms since yesterday")
    next_step(qtbot, wizard)
    type_into(qtbot, wizard.residual.aspirated, "1.2 mL")
    next_step(qtbot, wizard)
    choose_solution(qtbot, wizard)
    through_volume_and_program(qtbot, wizard)
    at_the_pump(qtbot, wizard)
    programmer_as_pumpmgr(qtbot, wizard)
    second_nurse(qtbot, wizard, concentrations=["2 mg/mL"])
    assert wizard.current() is wizard.review
    assert wizard.review.text("Programmer's reading before")[1] == (
        "stopped, empty reservoir, reservoir 0 mL"
    )
    assert wizard.review.text("Site and pocket")[1] == "swelling: soft swelling"
    assert wizard.review.text("Symptoms")[1] == "signs of withdrawal: spasms since yesterday"
    prescription = next(r for r in wizard.review.rows if r.name == "Prescription")
    assert prescription.after == "unchanged" and not prescription.changed
    row = [r.name for r in wizard.review.rows].index("Prescription")
    assert wizard.review.table.item(row, 3).text() == ""
    save(qtbot, wizard)
    assert wizard.outcome is not None
    saved = clinic.patient_chart(clinic.find_patient("100001").id).refills[-1].bedside
    assert saved is not None and saved.interrogation is not None
    assert (saved.interrogation.status, saved.interrogation.alarms) == (
        PumpStatus.STOPPED,
        frozenset({PumpAlarm.EMPTY_RESERVOIR}),
    )
    assert saved.site.findings == frozenset({SiteFinding.SWELLING})
    assert saved.symptoms == SymptomCheck(True, False, "spasms since yesterday")


def test_a_constant_flow_pump_has_no_programmer_to_read_before_the_refill(
    qtbot: QtBot, window: MainWindow
) -> None:
    wizard = open_wizard(qtbot, window, "100005")
    click(qtbot, wizard.patient.confirmed)
    next_step(qtbot, wizard)
    step = wizard.bedside
    assert wizard.current() is step and wizard.constant_flow
    assert step.no_programmer.isVisibleTo(step) and not step.reading.isVisibleTo(step)
    problems = wizard.problem_label.text()
    assert "pump status" not in problems and "reservoir volume" not in problems
    assert "Site and pocket looked at and felt" in problems
    before_the_refill(qtbot, wizard)
    assert wizard.current() is wizard.residual
    assert wizard.bedside.findings_entered().interrogation is None
    wizard.discard()


def ziconotide_patient(clinic: ClinicService) -> str:
    """A pump on ziconotide 25 mcg/mL, 1.2 mcg/day, since its first fill 10 days ago; its MRN."""
    from sample_clinic import _at, _catheter, _fill

    from pumpmgr.schedule import Schedule
    from pumpmgr.services.inputs import (
        IngredientInput,
        OrderGiven,
        PatientInput,
        PrescriptionInput,
        PumpInput,
        Verification,
    )

    nurse, check = clinic.sign_in("nina", PASSWORD), Verification("otto", PASSWORD)
    patient = clinic.register_patient(
        nurse,
        PatientInput(
            "200001", "Keller", "Ruth", _at(0).date().replace(year=1965), "non_cancer_pain"
        ),
    )
    pump = clinic.implant_pump(
        nurse,
        patient.id,
        PumpInput("synchromed2-20", "NGV200001", _at(11).date(), "left lower abdomen"),
        _catheter(),
    )
    clinic.change_prescription(  # a first dose is a start: Dr Brandt's own order (§7)
        clinic.sign_in("brandt", PASSWORD),
        check,
        pump.id,
        PrescriptionInput(
            ingredients=(IngredientInput("ziconotide", Q_("25 mcg/mL")),),
            schedule=Schedule.simple(Q_("1.2 mcg/day")),
            effective_at=_at(10, 8),
            prescriber="Dr Brandt",
            order=OrderGiven("written", _at(10, 8)),
        ),
    )
    clinic.record_refill(nurse, check, pump.id, _fill(_at(10)))
    return "200001"


def test_undiluted_is_ticked_for_ziconotide_only_and_sets_the_stability_limit(
    qtbot: QtBot, window: MainWindow
) -> None:
    """domain-rules §3: the Solution step asks "Undiluted (as supplied)" for a ziconotide
    solution only; unticked the 25 mcg/mL solution is stable 40 days, ticked 84; the review
    and the saved refill say so."""
    baclofen = open_wizard(qtbot, window, "100001")
    through_patient_and_residual(qtbot, baclofen, "1.2 mL")
    assert baclofen.current() is baclofen.solution
    assert not baclofen.solution.undiluted.isVisibleTo(baclofen.solution)
    assert baclofen.solution.undiluted_record() is None
    baclofen.discard()
    qtbot.waitUntil(lambda: window.clinical_dialog is None)

    wizard = open_wizard(qtbot, window, ziconotide_patient(window.clinic))
    through_patient_and_residual(qtbot, wizard, "19.5 mL")
    step = wizard.solution
    assert wizard.current() is step and step.undiluted.isVisible()
    assert not step.undiluted.isChecked() and step.undiluted_record() is False
    assert wizard.plan is not None and wizard.plan.forecast.stability_days == 40

    def warning_of_the_plan() -> bool:  # the naive pump's warning, of the plan now shown
        said = step.naive_warning.text() if step.naive_warning.isVisibleTo(step) else ""
        assert wizard.plan is not None
        return said.lower() == "\n".join(wizard.plan.naive_pump).lower()

    assert warning_of_the_plan()
    click(qtbot, step.undiluted)
    assert step.undiluted_record() is True
    assert wizard.plan is not None and wizard.plan.forecast.stability_days == 84
    assert warning_of_the_plan()
    choose_solution(qtbot, wizard)
    through_volume_and_program(qtbot, wizard)
    at_the_pump(qtbot, wizard)
    programmer_as_pumpmgr(qtbot, wizard)
    second_nurse(qtbot, wizard, concentrations=["25 mcg/mL"])
    assert wizard.current() is wizard.review, wizard.verify_step.message.text()
    assert wizard.review.text("Solution") == (
        "Ziconotide 25 mcg/mL",
        "Ziconotide 25 mcg/mL, undiluted (as supplied)",
    )
    save(qtbot, wizard)
    assert wizard.outcome is not None and wizard.outcome.refill.undiluted is True
    assert wizard.outcome.forecast is not None
    assert wizard.outcome.forecast.refill_due_reason == "stability"


def test_undiluted_is_refused_on_the_solution_step_for_a_strength_not_supplied(
    qtbot: QtBot, window: MainWindow
) -> None:
    """An undiluted ziconotide solution is a stock strength (25 or 100 mcg/mL): 50 mcg/mL
    ticked "Undiluted (as supplied)" is refused on the Solution step, before any saving, in the
    box's name; unticked (diluted) it is planned at 40 days."""
    wizard = open_wizard(qtbot, window, ziconotide_patient(window.clinic))
    through_patient_and_residual(qtbot, wizard, "19.5 mL")
    step = wizard.solution
    click(qtbot, step.new_concentration)
    type_into(qtbot, step.editor.rows[0].concentration, "50 mcg/mL")
    qtbot.keyClicks(step.lot, "L2025-200")
    qtbot.keyClicks(step.expiry.line_edit, "Tue 30 Jun 2026")
    click(qtbot, step.undiluted)
    said = "Undiluted (as supplied): ziconotide 50 mcg/mL is not a stock strength"
    assert wizard.current() is step and not wizard.next_button.isEnabled()
    assert said in wizard.problem_label.text()
    assert wizard.plan is None and wizard.plan_error.startswith(said)
    click(qtbot, step.undiluted)
    assert wizard.next_button.isEnabled() and said not in wizard.problem_label.text()
    assert wizard.plan is not None and wizard.plan.forecast.stability_days == 40


def verdict_of(wizard: RefillWizard) -> str | None:
    return None if wizard.verdict is None else wizard.verdict.verdict


def test_the_patient_boluses_the_programmer_counts_are_drawn_from_the_residual(
    qtbot: QtBot, window: MainWindow
) -> None:
    """Morphine with 0.1 mg boluses of 10 mg/mL (0.01 mL), 4 a day, filled 30 days ago: at most
    120. 121 is refused on the step that asks it; 120 draw 1.2 mL, which turns the residual's
    investigate into ok, and the count is reviewed and saved with the refill."""
    clinic = window.clinic
    wizard = open_wizard(qtbot, window, "100006")
    click(qtbot, wizard.patient.confirmed)
    next_step(qtbot, wizard)
    step = wizard.bedside
    assert step.boluses_row.isVisibleTo(step)
    assert step.boluses_label.text().replace("&", "") == (
        "Patient boluses given since the last fill (programmer)"
    )
    click(qtbot, step.running)
    type_into(qtbot, step.reservoir, "30.8 mL")
    click(qtbot, step.site_assessed)
    click(qtbot, step.symptoms_asked)
    # not entered: the residual says the expected residual may be too high
    next_step(qtbot, wizard)
    assert wizard.residual.expected_fields.text("expected") == "32 mL"
    assert "may be too high" in wizard.residual.notes.text()
    type_into(qtbot, wizard.residual.aspirated, "30.8 mL")
    assert verdict_of(wizard) == "investigate"
    click(qtbot, wizard.back_button)
    qtbot.keyClicks(step.boluses, "121")
    assert not wizard.next_button.isEnabled()
    assert (
        "patient boluses: 121 is more than possible (the lockout and the maximum per day "
        "allow at most 120 since the last fill)"
    ) in wizard.problem_label.text()
    step.boluses.clear()
    qtbot.keyClicks(step.boluses, "120")
    next_step(qtbot, wizard)
    fields = wizard.residual.expected_fields
    assert fields.text("patient boluses") == "120 × 0.01 mL = 1.2 mL"
    assert fields.text("extra") == "0 mL"  # the bridge or priming part, apart from them
    assert fields.text("expected") == "30.8 mL"
    assert "may be too high" not in wizard.residual.notes.text()
    assert verdict_of(wizard) == "ok"
    next_step(qtbot, wizard)
    choose_solution(qtbot, wizard)
    assert wizard.current() is wizard.volume
    next_step(qtbot, wizard)
    qtbot.waitUntil(lambda: not wizard.program.check_pending())
    next_step(qtbot, wizard)
    at_the_pump(qtbot, wizard)
    programmer_as_pumpmgr(qtbot, wizard)
    second_nurse(qtbot, wizard, concentrations=["10 mg/mL", "100 mcg/mL"], volume="40 mL")
    assert wizard.review.text("Programmer's reading before")[1] == (
        "running, no alarm, reservoir 30.8 mL, 120 patient boluses since the last fill"
    )
    save(qtbot, wizard)
    assert wizard.outcome is not None and wizard.outcome.discrepancy is not None
    assert wizard.outcome.discrepancy.verdict == "ok"
    saved = clinic.patient_chart(clinic.find_patient("100006").id).refills[-1]
    assert saved.bedside is not None and saved.bedside.interrogation is not None
    assert saved.bedside.interrogation.patient_boluses == 120
    assert saved.expected_residual is not None
    assert float(saved.expected_residual.to("mL").m) == pytest.approx(30.8)
