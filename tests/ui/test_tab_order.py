"""Tab goes through every dialog and wizard step in the order the eye reads them (their
layouts' order), tested through ``QWidget.nextInFocusChain``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import test_prescription as prescription
from focus_order import assert_tab_follows_reading, reading_order, tab_order
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from test_prescription import open_dialog, settle, sign_second
from test_refill_wizard import (
    at_the_pump,
    before_the_refill,
    choose_solution,
    click,
    next_step,
    open_wizard,
    programmer_as_pumpmgr,
    second_nurse,
    type_into,
)

from pumpmgr.services import ClinicService
from ui.dialogs import events, print_preview
from ui.dialogs.prescription import PrescriptionDialog
from ui.dialogs.sign_in import SignInDialog
from ui.main_window import MainWindow
from ui.wizards.refill import RefillWizard


def test_every_event_dialog(window: MainWindow, qtbot: QtBot) -> None:
    window.open_patient(window.clinic.find_patient("100001").id)
    for kind in (
        events.MRI,
        events.NOTE,
        events.PUMP_DATES,
        events.REVISION,
        events.EXPLANT,
        events.REPLACE,
    ):
        dialog = window.open_event_dialog(kind)
        assert dialog is not None, kind
        qtbot.waitExposed(dialog)
        assert_tab_follows_reading(dialog)
        dialog.reject()


def test_the_prescription_dialog(window: MainWindow, qtbot: QtBot) -> None:
    window.open_patient(window.clinic.find_patient("100001").id)
    dialog = window.change_prescription()
    assert isinstance(dialog, PrescriptionDialog)
    qtbot.waitExposed(dialog)
    assert_tab_follows_reading(dialog)
    dialog.reject()


def test_a_warnings_reason_comes_before_the_buttons(window: MainWindow, qtbot: QtBot) -> None:
    """The warning's reason box is read above Save: Tab reaches it before the buttons."""
    dialog = open_dialog(qtbot, window, "100004")
    qtbot.keyClicks(dialog.prescriber, "Dr Brandt")
    dialog.order_edit.set_given_as("written")
    sign_second(qtbot, dialog)
    prescription.type_into(qtbot, dialog.schedule.daily_dose, "600 mcg/day")
    settle(qtbot, dialog)
    reason = dialog.findings.reason_edits["titration.above_percent"]
    qtbot.wait(1)
    assert_tab_follows_reading(dialog)
    tabbed = tab_order(dialog, reading_order(dialog))
    assert not dialog.save_button.isEnabled()  # (no Tab stop until the reason is typed)
    assert tabbed.index(reason) < tabbed.index(dialog.cancel_button)
    qtbot.keyClicks(reason, "agreed with the family")
    tabbed = tab_order(dialog, reading_order(dialog))
    assert tabbed.index(reason) < tabbed.index(dialog.save_button)


def test_every_refill_step_and_the_second_nurses_order(window: MainWindow, qtbot: QtBot) -> None:
    """Through a whole refill; the blind second-nurse step goes user name, password, then
    each concentration, volume and lot as the form shows them (Tab went Password, Volume,
    Lot, Concentration: the lot number landed in the concentration box)."""
    wizard = open_wizard(qtbot, window, "100001")
    checked = []

    def check() -> None:
        qtbot.wait(1)  # rows a step made on entering are shown by the event loop
        assert_tab_follows_reading(wizard)
        checked.append(wizard.current().title)

    check()
    click(qtbot, wizard.patient.confirmed)
    next_step(qtbot, wizard)
    check()
    bedside = wizard.bedside
    tabbed = tab_order(wizard, reading_order(wizard))
    reading = [
        bedside.running,
        *bedside.alarms.values(),
        bedside.reservoir.line_edit,
        bedside.site_assessed,
        *bedside.findings.values(),
        bedside.site_note,
        bedside.symptoms_asked,
        bedside.withdrawal,
        bedside.overdose,
        bedside.symptoms_note,
    ]
    first = tabbed.index(bedside.running)
    assert tabbed[first : first + len(reading)] == reading
    before_the_refill(qtbot, wizard)
    check()
    type_into(qtbot, wizard.residual.aspirated, "1 mL")
    next_step(qtbot, wizard)
    check()
    choose_solution(qtbot, wizard)
    check()
    through_volume_and_program_checked(qtbot, wizard, check)
    at_the_pump(qtbot, wizard)
    check()
    programmer_as_pumpmgr(qtbot, wizard)
    step = wizard.verify_step
    assert wizard.current() is step
    check()
    tabbed = tab_order(wizard, reading_order(wizard))
    first = tabbed.index(step.username)
    assert tabbed[first : first + 5] == [
        step.username,
        step.password,
        step.concentrations[0].line_edit,
        step.volume.line_edit,
        step.lot,
    ]
    second_nurse(qtbot, wizard, concentrations=["2000 mcg/mL"])
    check()
    assert len(set(checked)) == len(wizard.steps) - 1  # every step but the last (done)


def through_volume_and_program_checked(
    qtbot: QtBot, wizard: RefillWizard, check: Callable[[], None]
) -> None:
    assert wizard.current() is wizard.volume
    next_step(qtbot, wizard)
    check()
    qtbot.waitUntil(lambda: not wizard.program.check_pending())
    next_step(qtbot, wizard)
    check()


def test_the_sign_in_dialog(clinic: ClinicService, qtbot: QtBot) -> None:
    for dialog in (SignInDialog(clinic),):
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)
        assert_tab_follows_reading(dialog)


def test_the_print_questions(qtbot: QtBot) -> None:
    """The due list's period and the day's worksheets: From, To, then the buttons."""
    checked: list[int] = []

    def check_and_cancel() -> None:
        dialog = QApplication.activeModalWidget()
        assert dialog is not None
        assert_tab_follows_reading(dialog)
        checked.append(len(reading_order(dialog)))
        dialog.reject()

    for ask in (print_preview.ask_period, print_preview.ask_day):
        QTimer.singleShot(0, check_and_cancel)
        assert ask(None, date(2026, 3, 2)) is None
    assert checked == [4, 3]  # two dates and two buttons; one date and two buttons


def test_the_first_run_and_clinic_database_dialogs(
    clinic: ClinicService, empty_clinic: ClinicService, qtbot: QtBot
) -> None:
    """Each first-run step, and File → Clinic database…, is tabbed in reading order."""
    from sample_clinic import PASSWORD

    from ui.dialogs.clinic_database import ClinicDatabaseDialog
    from ui.wizards.first_run import FirstRunWizard

    wizard = FirstRunWizard(empty_clinic)
    qtbot.addWidget(wizard)
    wizard.show()
    qtbot.waitExposed(wizard)
    for index in range(3):  # where, the clinic, the days (later steps write the clinic)
        wizard.go_to(index)
        assert_tab_follows_reading(wizard)
    admin = next(u for u in clinic.list_users() if u.role == "administrator")
    dialog = ClinicDatabaseDialog(clinic, clinic.sign_in(admin.username, PASSWORD))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert_tab_follows_reading(dialog)
