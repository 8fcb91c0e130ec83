"""The prescription change outside a refill, and the schedule editor it is typed in.

Live dose checks (a blocked dose disables Save, each warning asks for a reason), the new daily
volume, alarm and refill-due dates updating as the nurse types and matching what Save stores,
the second user's check, and a constant-flow pump that has nothing to change here.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time

import pytest
from dialog_recorder import Dialogs
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QCheckBox, QRadioButton, QWidget
from pytestqt.qtbot import QtBot
from sample_clinic import PASSWORD

from pumpmgr.formatting import format_date, format_datetime
from pumpmgr.records import Ingredient
from pumpmgr.schedule import MAX_STEPS, PatientBolus, Schedule, Step
from pumpmgr.services.inputs import PatientInput, PumpInput
from pumpmgr.units import Q_
from ui.dialogs.prescription import PrescriptionDialog
from ui.main_window import MainWindow
from ui.models.history import timeline
from ui.widgets.quantity_edit import QuantityEdit
from ui.widgets.schedule_edit import ScheduleEdit


def click(qtbot: QtBot, widget: QWidget) -> None:
    if isinstance(widget, QCheckBox | QRadioButton):
        qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=QPoint(8, widget.height() // 2))
    else:
        qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def type_into(qtbot: QtBot, edit: QuantityEdit, text: str) -> None:
    edit.line_edit.clear()
    qtbot.keyClicks(edit.line_edit, text)


def open_dialog(qtbot: QtBot, window: MainWindow, mrn: str) -> PrescriptionDialog:
    window.open_patient(window.clinic.find_patient(mrn).id)
    click(qtbot, window.patient.prescription_button)
    dialog = window.clinical_dialog
    assert isinstance(dialog, PrescriptionDialog)
    qtbot.waitExposed(dialog)
    qtbot.waitUntil(lambda: not dialog.checking())
    return dialog


def settle(qtbot: QtBot, dialog: PrescriptionDialog) -> None:
    qtbot.waitUntil(lambda: not dialog.checking())


def sign_second(qtbot: QtBot, dialog: PrescriptionDialog, password: str = PASSWORD) -> None:
    qtbot.keyClicks(dialog.username, "otto")
    qtbot.keyClicks(dialog.password, password)


def test_the_forecast_updates_as_the_nurse_types_and_matches_what_is_saved(
    qtbot: QtBot, window: MainWindow
) -> None:
    dialog = open_dialog(qtbot, window, "100004")
    assert dialog.solution_fixed and not dialog.solution_editor.isVisible()
    assert "Baclofen 2,000 mcg/mL" in dialog.solution_label.text()
    assert dialog.schedule.daily_dose.text() == "360 mcg/day"  # the current program
    assert dialog.now_fields.text("daily volume") == "0.18 mL/day"
    refill_due_before = dialog.new_fields.text("refill due")
    assert refill_due_before == dialog.now_fields.text("refill due")

    type_into(qtbot, dialog.schedule.daily_dose, "400 mcg/day")
    assert dialog.new_fields.text("daily volume") == "0.2 mL/day"  # at once, from the domain
    assert dialog.new_fields.text("dose baclofen") == "400 mcg/day"
    settle(qtbot, dialog)
    alarm_shown = dialog.new_fields.text("alarm")
    due_shown = dialog.new_fields.text("refill due")
    assert due_shown != refill_due_before
    assert dialog.findings.summary.text().startswith("OK")

    qtbot.keyClicks(dialog.prescriber, "Dr Brandt")

    dialog.order_edit.set_given_as("written")
    assert not dialog.save_button.isEnabled()
    assert "second nurse" in dialog.problem_label.text()
    sign_second(qtbot, dialog)
    assert dialog.save_button.isEnabled(), dialog.problem_label.text()
    click(qtbot, dialog.save_button)
    qtbot.waitUntil(lambda: window.clinical_dialog is None)
    outcome = dialog.outcome
    assert outcome is not None and outcome.forecast is not None
    assert outcome.prescription.schedule.daily_dose() == Q_(400, "mcg/day")
    stored = outcome.forecast
    assert alarm_shown == format_datetime(stored.alarm_at.astimezone(window.clinic.tz))
    assert due_shown.startswith(format_date(stored.refill_due))
    assert window.patient.prescription_fields.text("dose baclofen") == "400 mcg/day"


def test_the_patient_bolus_lockout_comes_back_as_it_is(qtbot: QtBot, window: MainWindow) -> None:
    """Tried by hand: a 3 h lockout was put in the box as "0.13 day", which reads as 3.1 h,
    and "If saved" showed the lockout changed before anything was typed."""
    dialog = open_dialog(qtbot, window, "100006")
    edit = dialog.schedule
    assert edit.bolus_lockout.text() == "3 h"
    bolus = edit.patient_bolus()
    assert bolus is not None and bolus.lockout == Q_(3, "hour")


def test_a_blocked_dose_disables_save(qtbot: QtBot, window: MainWindow) -> None:
    dialog = open_dialog(qtbot, window, "100004")
    qtbot.keyClicks(dialog.prescriber, "Dr Brandt")
    dialog.order_edit.set_given_as("written")
    sign_second(qtbot, dialog)
    type_into(qtbot, dialog.schedule.daily_dose, "360 mg/day")  # mg typed for mcg
    settle(qtbot, dialog)
    assert dialog.findings.is_blocked()
    assert dialog.findings.texts()[0].startswith("Blocked: this cannot be saved")
    assert any(t.startswith("Blocked: ") for t in dialog.findings.texts()[1:])
    assert not dialog.save_button.isEnabled()
    assert "blocked" in dialog.problem_label.text()
    assert dialog.save() is False and dialog.outcome is None


def test_each_warning_asks_for_a_reason_which_is_saved(
    qtbot: QtBot,
    window: MainWindow,
) -> None:
    dialog = open_dialog(qtbot, window, "100004")
    qtbot.keyClicks(dialog.prescriber, "Dr Brandt")
    dialog.order_edit.set_given_as("written")
    sign_second(qtbot, dialog)
    type_into(qtbot, dialog.schedule.daily_dose, "600 mcg/day")  # +67 %, cerebral +15 %/24 h
    settle(qtbot, dialog)
    assert dialog.findings.warning_codes() == ["titration.above_percent"]
    assert not dialog.save_button.isEnabled()
    assert "needs a reason" in dialog.problem_label.text()
    qtbot.keyClicks(
        dialog.findings.reason_edits["titration.above_percent"],
        "spasms at night; agreed with the family",
    )
    assert dialog.save_button.isEnabled()
    type_into(qtbot, dialog.schedule.daily_dose, "620 mcg/day")  # checked again:
    settle(qtbot, dialog)
    assert dialog.findings.reason_edits["titration.above_percent"].text() == (
        "spasms at night; agreed with the family"
    )  # the reason typed stays
    click(qtbot, dialog.save_button)
    assert dialog.outcome is not None
    saved = {f.code: f.reason for f in dialog.outcome.prescription.findings}
    assert saved["titration.above_percent"] == "spasms at night; agreed with the family"


def test_a_wrong_second_password_is_shown_and_the_form_kept(
    qtbot: QtBot, window: MainWindow, dialogs: Dialogs
) -> None:
    dialog = open_dialog(qtbot, window, "100004")
    type_into(qtbot, dialog.schedule.daily_dose, "400 mcg/day")
    qtbot.keyClicks(dialog.prescriber, "Dr Brandt")
    dialog.order_edit.set_given_as("written")
    sign_second(qtbot, dialog, password="not the password")
    settle(qtbot, dialog)
    click(qtbot, dialog.save_button)
    assert "Could not finish saving the prescription" in dialogs.texts("error")[-1]
    assert dialog.outcome is None and dialog.isVisible()
    assert dialog.schedule.daily_dose.text() == "400 mcg/day"
    assert dialog.prescriber.text() == "Dr Brandt" and dialog.username.text() == "otto"
    assert dialog.password.text() == ""


def test_a_filled_constant_flow_pump_has_nothing_to_change_here(
    qtbot: QtBot, window: MainWindow
) -> None:
    dialog = open_dialog(qtbot, window, "100005")
    assert not dialog.schedule.isVisible()
    assert "0.5 mL/day" in dialog.constant_note.text()
    qtbot.keyClicks(dialog.prescriber, "Dr Roth")
    dialog.order_edit.set_given_as("written")
    sign_second(qtbot, dialog)
    settle(qtbot, dialog)
    assert not dialog.save_button.isEnabled()
    assert "constant-flow" in dialog.problem_label.text()


def test_cancel_after_typing_asks_and_saves_nothing(
    qtbot: QtBot, window: MainWindow, dialogs: Dialogs
) -> None:
    dialog = open_dialog(qtbot, window, "100004")
    type_into(qtbot, dialog.schedule.daily_dose, "400 mcg/day")
    click(qtbot, dialog.cancel_button)
    assert "nothing has been saved" in dialogs.texts("confirm")[-1]
    qtbot.waitUntil(lambda: window.clinical_dialog is None)
    assert dialog.outcome is None
    chart = window.clinic.patient_chart(window.clinic.find_patient("100004").id)
    assert chart.prescription is not None
    assert chart.prescription.schedule.daily_dose() == Q_(360, "mcg/day")


# ------------------------------------------------------------------ the schedule editor


def test_flex_steps_boluses_and_patient_bolus_build_the_domain_schedule(
    qtbot: QtBot,
) -> None:
    edit = ScheduleEdit(mass_unit="mg")
    qtbot.addWidget(edit)
    edit.show()
    click(qtbot, edit.flex_radio)
    assert len(edit.steps.rows) == 1
    first = edit.steps.rows[0]
    assert first.time.text() == "00:00"
    qtbot.keyClicks(first.amount.line_edit, "2 mg/day")
    click(qtbot, edit.steps.add_button)
    second = edit.steps.rows[1]
    qtbot.keyClicks(second.time, "8:00")
    qtbot.keyClicks(second.amount.line_edit, "125 mcg/h")  # 3 mg/day
    click(qtbot, edit.boluses.add_button)
    bolus = edit.boluses.rows[0]
    qtbot.keyClicks(bolus.time, "07:00")
    qtbot.keyClicks(bolus.amount.line_edit, "0.5 mg")
    edit.patient_bolus_box.setFocus()
    qtbot.keyClick(edit.patient_bolus_box, Qt.Key.Key_Space)  # tick the group's box
    assert edit.bolus_fields.isVisible()
    qtbot.keyClicks(edit.bolus_dose.line_edit, "0.1 mg")
    qtbot.keyClicks(edit.bolus_lockout.line_edit, "3 h")
    assert edit.problem() == ""
    schedule = edit.schedule()
    assert schedule is not None
    assert [s.start for s in schedule.steps] == [time(0, 0), time(8, 0)]
    assert schedule.daily_dose().to("mg/day").m == pytest.approx(2 / 3 + 2 + 0.5)
    assert edit.summary.text() == "Daily dose of this schedule: 3.167 mg/day"
    assert edit.patient_bolus() == PatientBolus(Q_(0.1, "mg"), 4, Q_(3, "hour"))

    second.time.clear()
    qtbot.keyClicks(second.time, "25:00")
    assert edit.schedule() is None and "not a time of day" in edit.problem()
    assert second.time.property("invalid") is True
    second.time.clear()
    qtbot.keyClicks(second.time, "00:00")
    assert "two steps start at 00:00" in edit.problem()


def test_at_most_13_steps(qtbot: QtBot) -> None:
    edit = ScheduleEdit()
    qtbot.addWidget(edit)
    edit.set_program(
        Schedule.flex([Step(time(hour, 0), Q_(10, "mcg/h")) for hour in range(MAX_STEPS)]), None
    )
    assert edit.is_flex() and len(edit.steps.rows) == MAX_STEPS
    assert not edit.steps.add_button.isEnabled()
    assert edit.steps.count_label.text() == "13 of at most 13"
    schedule = edit.schedule()
    assert schedule is not None and schedule.daily_dose() == Q_(240, "mcg/day")
    click(qtbot, edit.steps.rows[-1].remove)
    assert edit.steps.add_button.isEnabled()


def test_a_drug_with_no_record_asks_first_dose_or_continues(
    qtbot: QtBot, window: MainWindow
) -> None:
    """domain-rules §6: a new patient's first baclofen prescription is a start unless the
    nurse answers that it continues a dose from before this record, with that dose. Neither
    answer is picked beforehand, and Save waits for one; the dose continued is kept."""
    clinic, nurse = window.clinic, window.actor
    patient = clinic.register_patient(
        nurse, PatientInput("100099", "Neumann", "Ida", date(1970, 5, 1), "spasticity_spinal")
    )
    clinic.implant_pump(
        nurse,
        patient.id,
        PumpInput("synchromed2-20", "NGV100099", clinic.today(), "right lower abdomen"),
        None,
    )
    dialog = open_dialog(qtbot, window, "100099")
    dialog.solution_editor.set_ingredients((Ingredient("baclofen", Q_("2000 mcg/mL")),))
    type_into(qtbot, dialog.schedule.daily_dose, "400 mcg/day")
    settle(qtbot, dialog)
    first = dialog.first_dose
    assert first.isVisible()
    (row,) = first._rows
    assert row.question.text() == (
        "Baclofen is not on this patient's record yet: is this the patient's first dose?"
    )
    assert not row.first.isChecked() and not row.continues.isChecked()
    assert dialog.findings.warning_codes() == ["start.screening_bolus_not_given"]
    # a start waits for the prescriber's signature, finding or not (domain-rules §7)
    assert dialog.findings.start_note.isVisible()
    assert dialog.findings.start_note.text() == (
        "Prescriber's signature: Baclofen is a start (a first dose or a restart): the "
        "prescriber signs it before the pump is programmed."
    )
    qtbot.keyClicks(dialog.prescriber, "Dr Brandt")
    dialog.order_edit.set_given_as("written")
    sign_second(qtbot, dialog)
    assert not dialog.save_button.isEnabled()
    assert "answer for baclofen" in dialog.problem_label.text()
    click(qtbot, row.continues)
    assert "baclofen daily dose" in dialog.problem_label.text()
    type_into(qtbot, row.dose, "380 mcg/day")
    settle(qtbot, dialog)
    assert dialog.findings.warning_codes() == []  # compared with 380, not a start
    assert not dialog.findings.start_note.isVisible()
    assert dialog.save_button.isEnabled(), dialog.problem_label.text()
    click(qtbot, dialog.save_button)
    outcome = dialog.outcome
    assert outcome is not None
    assert outcome.prescription.continued_doses == {"baclofen": Q_("380 mcg/day")}
    chart = clinic.patient_chart(patient.id)
    (entry,) = [e for e in timeline(chart, clinic.catalogs) if e.what == "Prescription"]
    assert "Baclofen: continues a dose from before this record, 380 mcg/day" in entry.details
    # the status line after saving: an order held for the prescriber says so before anything
    assert outcome.prescription.order_state == "awaiting_cosignature"
    assert "signature" not in dialog.summary()
    dialog.outcome = replace(
        outcome, prescription=replace(outcome.prescription, order_state="awaiting_signature")
    )
    assert dialog.summary() == (  # no refill-due date: the pump is not filled yet
        "Prescription saved, awaiting the prescriber's signature: no pump settings are printed "
        "for this order until it is signed"
    )
