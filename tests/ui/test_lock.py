"""Locking: on demand (Ctrl+L) and after the idle time, measured on the clinic's clock (so a
test moves the clock instead of waiting); patient data is gone from the models while locked,
open dialogs and the refill wizard hidden; the same user gets everything back as typed, and
another user's sign-in discards the first user's unsaved forms with a notice to both."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from dialog_recorder import Dialogs
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QLabel, QMenu, QMessageBox, QWidget
from pytestqt.qtbot import QtBot
from sample_clinic import PASSWORD
from sqlalchemy import func, select
from test_refill_wizard import nothing_found

from pumpmgr.clock import FixedClock
from pumpmgr.db import schema as db
from pumpmgr.services import ClinicService
from ui import icons
from ui.dialogs import events
from ui.dialogs.prescription import PrescriptionDialog
from ui.main_window import MainWindow
from ui.wizards.refill import RefillWizard


def clock_of(window: MainWindow) -> FixedClock:
    clock = window.clinic.clock
    assert isinstance(clock, FixedClock)
    return clock


def refill_count(clinic: ClinicService) -> int:
    with clinic.database.read() as session:
        return int(session.scalar(select(func.count()).select_from(db.Refill)) or 0)


def visible_texts() -> str:
    """Every label text in a visible window: what someone passing the screen could read."""
    texts = []
    for top in QApplication.topLevelWidgets():
        if top.isVisible():
            texts += [label.text() for label in top.findChildren(QLabel) if label.isVisible()]
    return "\n".join(texts)


def unlock_as(qtbot: QtBot, window: MainWindow, username: str) -> None:
    form = window.lock_screen.form
    form.username.setText(username)
    form.password.clear()
    qtbot.keyClicks(form.password, PASSWORD)
    qtbot.keyClick(form.password, Qt.Key.Key_Return)
    assert not window.is_locked(), form.message.text()


def open_refill(qtbot: QtBot, window: MainWindow, mrn: str) -> RefillWizard:
    """A refill half done: residual measured with a note, solution step with a lot typed."""
    window.open_patient(window.clinic.find_patient(mrn).id)
    wizard = window.start_refill()
    assert isinstance(wizard, RefillWizard)
    qtbot.waitExposed(wizard)
    wizard.patient.confirmed.setChecked(True)
    wizard.next()
    nothing_found(wizard)
    wizard.residual.aspirated.set_text("0.2 mL")
    wizard.residual.note.setPlainText("pocket checked, no swelling")
    wizard.next()
    wizard.solution.lot.setText("L2025-301")
    wizard.solution.expiry.set_value(date(2026, 6, 30))
    assert wizard.current() is wizard.solution
    return wizard


# ------------------------------------------------------------------ locking, unlocking


def test_ctrl_l_locks_and_hides_patient_data(window: MainWindow, qtbot: QtBot) -> None:
    window.open_patient(window.clinic.find_patient("100004").id)
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert window.is_locked()
    assert window.stack.currentWidget() is window.lock_screen
    assert window.dashboard.model.rowCount() == 0
    assert window.patient.chart is None and window.patient.name_label.text() == ""
    assert window.patient.history_model.rowCount() == 0
    assert not window.toolbar.isVisible()
    assert not window.refresh_action.isEnabled()
    window.show_dashboard()  # shortcuts and menus cannot reach data while locked
    assert window.stack.currentWidget() is window.lock_screen
    assert window.lock_screen.form.username.text() == "nina"
    assert "by Nina Nurse" in window.lock_screen.reason.text()
    assert not window.lock_screen.kept.isVisible()  # nothing unsaved was open


def test_wrong_password_stays_locked_then_same_user_resumes(
    window: MainWindow, qtbot: QtBot
) -> None:
    patient_id = window.clinic.find_patient("100004").id
    window.open_patient(patient_id)
    window.lock()
    form = window.lock_screen.form
    qtbot.keyClicks(form.password, "not it")
    qtbot.keyClick(form.password, Qt.Key.Key_Return)
    assert window.is_locked()
    assert "wrong password" in form.message.text()
    qtbot.keyClicks(form.password, PASSWORD)
    qtbot.keyClick(form.password, Qt.Key.Key_Return)
    assert not window.is_locked()
    assert window.stack.currentWidget() is window.patient
    assert window.patient.patient_id == patient_id


def test_another_user_unlocks(window: MainWindow, qtbot: QtBot) -> None:
    window.lock()
    form = window.lock_screen.form
    form.username.setText("otto")
    form.password.setText(PASSWORD)
    qtbot.mouseClick(form.submit, Qt.MouseButton.LeftButton)
    assert window.actor is not None and window.actor.username == "otto"
    assert window.user_label.text() == "Signed in: Otto Second (nurse)"
    assert window.stack.currentWidget() is window.dashboard
    assert window.dashboard.model.rowCount() == 6


# ------------------------------------------------------------------ the idle time, on the clock


def test_locks_after_the_idle_time_on_the_clinics_clock(window: MainWindow, qtbot: QtBot) -> None:
    """Ten minutes (the clinic's auto_lock_minutes) on the clock, not on the wall: a standing
    clock never locks however long the test runs, a moved one locks at the next look."""
    clock = clock_of(window)
    assert window.idle.timeout_ms() == 10 * 60_000
    window.idle.set_poll_ms(5)
    clock.advance(timedelta(minutes=9, seconds=59))
    qtbot.wait(60)  # the watcher looks at the clock a dozen times
    assert not window.is_locked() and window.idle.is_running()
    clock.advance(timedelta(seconds=1))
    qtbot.waitUntil(window.is_locked, timeout=2000)
    assert window.lock_screen.reason.text() == ("Locked at 09:10 after 10 minutes without use.")
    assert not window.idle.is_running()
    unlock_as(qtbot, window, "nina")
    assert window.idle.is_running()  # counting again from the sign-in
    clock.advance(timedelta(minutes=9))
    assert not window.idle.check()


def test_input_restarts_the_idle_count(window: MainWindow, qtbot: QtBot) -> None:
    clock = clock_of(window)
    clock.advance(timedelta(minutes=6))
    qtbot.keyClick(window.dashboard.table, Qt.Key.Key_Down)
    clock.advance(timedelta(minutes=6))
    assert not window.idle.check() and not window.is_locked()
    assert window.idle.idle_for() == timedelta(minutes=6)
    clock.advance(timedelta(minutes=4))
    assert window.idle.check() and window.is_locked()


def test_input_in_a_dialog_counts_as_use(window: MainWindow, qtbot: QtBot) -> None:
    wizard = open_refill(qtbot, window, "100001")
    clock = clock_of(window)
    clock.advance(timedelta(minutes=8))
    qtbot.keyClicks(wizard.solution.lot, "A")
    clock.advance(timedelta(minutes=8))
    assert not window.idle.check()
    clock.advance(timedelta(minutes=2))
    assert window.idle.check() and window.is_locked()


def test_a_clock_set_back_restarts_the_count(window: MainWindow) -> None:
    clock = clock_of(window)
    clock.advance(timedelta(hours=-1))
    assert not window.idle.check()
    clock.advance(timedelta(minutes=9))
    assert not window.idle.check()
    clock.advance(timedelta(minutes=1))
    assert window.idle.check()


def test_no_idle_lock_when_the_clinic_set_none(window: MainWindow) -> None:
    window.idle.set_minutes(0)
    assert not window.idle.is_running()
    clock_of(window).advance(timedelta(days=1))
    assert not window.idle.check() and not window.is_locked()


# ------------------------------------------------------------------ unsaved work behind the lock


def test_the_refill_wizard_is_hidden_while_locked_and_back_as_typed(
    window: MainWindow, qtbot: QtBot, dialogs: Dialogs
) -> None:
    refills = refill_count(window.clinic)
    wizard = open_refill(qtbot, window, "100001")
    clock_of(window).advance(timedelta(minutes=10))
    assert window.idle.check()

    assert window.is_locked() and not wizard.isVisible()
    assert window.stack.currentWidget() is window.lock_screen
    kept = window.lock_screen.kept
    assert kept.isVisible()
    assert kept.text().startswith("Nina Nurse has an unsaved form open, kept as typed.")
    shown = visible_texts()
    assert "BECKER" not in shown and "100001" not in shown  # no patient behind the lock
    assert refill_count(window.clinic) == refills
    assert not dialogs.shown  # no question asked, nothing to answer behind the lock

    unlock_as(qtbot, window, "nina")
    assert wizard.isVisible() and window.clinical_dialog is wizard
    assert wizard.current() is wizard.solution
    assert wizard.residual.aspirated.text() == "0.2 mL"
    assert wizard.residual.note.toPlainText() == "pocket checked, no swelling"
    assert wizard.solution.lot.text() == "L2025-301"
    assert window.stack.currentWidget() is window.patient  # the patient behind it, read again
    assert window.patient.chart is not None
    assert window.patient.chart.patient.mrn == "100001"
    assert window.hidden_windows == []
    assert not dialogs.shown
    wizard.next()  # carries on where it was
    assert wizard.current() is wizard.volume
    wizard.discard()


def test_ctrl_l_from_inside_the_wizard_locks(window: MainWindow, qtbot: QtBot) -> None:
    wizard = open_refill(qtbot, window, "100001")
    qtbot.keyClick(wizard.solution.lot, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert window.is_locked() and not wizard.isVisible()
    assert wizard.solution.lot.text() == "L2025-301"  # the key typed nothing
    unlock_as(qtbot, window, "nina")
    assert wizard.isVisible()
    wizard.discard()


def test_another_user_signing_in_discards_the_unsaved_refill_and_says_so(
    window: MainWindow, qtbot: QtBot, dialogs: Dialogs
) -> None:
    refills = refill_count(window.clinic)
    wizard = open_refill(qtbot, window, "100001")
    window.lock()
    assert "If another user signs in, it is discarded" in window.lock_screen.kept.text()

    unlock_as(qtbot, window, "otto")
    assert window.actor is not None and window.actor.username == "otto"
    assert window.clinical_dialog is None and not wizard.isVisible()
    assert wizard.outcome is None and refill_count(window.clinic) == refills
    assert window.stack.currentWidget() is window.dashboard  # not the first nurse's patient
    told = dialogs.texts("info")
    assert len(told) == 1
    assert told[0].startswith(
        "Nina Nurse had unsaved work open when pumpmgr locked: a refill "
        "for BECKER, Lena (MRN 100001), at step 4 of 11."
    )
    assert "nothing of it was saved" in told[0]
    # Otto may refill the same patient afresh.
    window.open_patient(window.clinic.find_patient("100001").id)
    second = window.start_refill()
    assert isinstance(second, RefillWizard) and second is not wizard
    assert second.actor.username == "otto"
    second.discard()

    # Nina is told too, when she next signs in here.
    window.lock()
    unlock_as(qtbot, window, "nina")
    told = dialogs.texts("info")
    assert len(told) == 2
    assert told[1].startswith(
        "Your unsaved work (a refill for BECKER, Lena (MRN 100001), at "
        "step 4 of 11) was discarded at 09:00 when Otto Second signed in"
    )
    window.lock()
    unlock_as(qtbot, window, "nina")
    assert len(dialogs.texts("info")) == 2  # once


def test_the_prescription_dialog_is_hidden_and_back_as_typed(
    window: MainWindow, qtbot: QtBot
) -> None:
    window.open_patient(window.clinic.find_patient("100001").id)
    dialog = window.change_prescription()
    assert isinstance(dialog, PrescriptionDialog)
    qtbot.waitExposed(dialog)
    dialog.prescriber.setText("Dr Brandt")
    dialog.order_edit.set_given_as("written")
    window.lock()
    assert not dialog.isVisible()
    assert window.lock_screen.kept.isVisible()
    unlock_as(qtbot, window, "nina")
    assert dialog.isVisible() and dialog.prescriber.text() == "Dr Brandt"
    assert dialog.outcome is None
    dialog.discard()


@pytest.mark.parametrize("locked", [False, True], ids=["open", "locked"])
def test_quitting_over_an_unsaved_form_asks_first(
    window: MainWindow, qtbot: QtBot, dialogs: Dialogs, locked: bool
) -> None:
    window.open_patient(window.clinic.find_patient("100001").id)
    dialog = window.change_prescription()
    assert isinstance(dialog, PrescriptionDialog)
    qtbot.waitExposed(dialog)
    dialog.prescriber.setText("Dr Brandt")
    dialog.order_edit.set_given_as("written")
    if locked:
        window.lock()
    dialogs.confirm_answers = [False]
    assert not window.close()  # "Go back"
    question = dialogs.texts("confirm")[-1]
    if locked:
        assert "Not saved: an unsaved form." in question and "BECKER" not in question.upper()
    else:
        assert "a prescription change for" in question and "(MRN 100001)" in question
        assert dialog.isVisible() and dialog.prescriber.text() == "Dr Brandt"
    assert window.isVisible()
    dialogs.confirm_answers = [True]
    assert window.close()
    assert not dialog.isVisible() and dialog.outcome is None


def test_quitting_with_nothing_unsaved_asks_nothing(window: MainWindow, dialogs: Dialogs) -> None:
    window.open_patient(window.clinic.find_patient("100001").id)
    assert window.close()
    assert dialogs.texts("confirm") == []


@pytest.mark.parametrize("username", ["nina", "otto"])
def test_a_pump_event_dialog_behind_the_lock(
    window: MainWindow, qtbot: QtBot, dialogs: Dialogs, username: str
) -> None:
    window.open_patient(window.clinic.find_patient("100001").id)
    dialog = window.open_event_dialog(events.NOTE)
    assert dialog is not None
    qtbot.waitExposed(dialog)
    window.lock()
    assert not dialog.isVisible()
    unlock_as(qtbot, window, username)
    if username == "nina":
        assert dialog.isVisible() and window.event_dialog is dialog
        assert not dialogs.shown
        dialog.reject()
    else:
        assert window.event_dialog is None
        assert any(
            "unsaved work" in text and "BECKER, Lena" in text for text in dialogs.texts("info")
        )


def test_a_window_closed_while_locked_is_not_shown_again(window: MainWindow, qtbot: QtBot) -> None:
    """A print job finishing behind the lock closes its progress dialog: it stays closed."""
    progress = QWidget(window, Qt.WindowType.Dialog)
    progress.show()
    window.lock()
    assert not progress.isVisible() and progress in window.hidden_windows
    progress.close()
    assert progress not in window.hidden_windows
    unlock_as(qtbot, window, "nina")
    assert not progress.isVisible()


def test_a_question_waiting_for_an_answer_is_closed_by_the_lock(
    window: MainWindow, qtbot: QtBot
) -> None:
    """An application-modal box would block the lock screen: it is answered "no" (closed),
    and not shown again."""
    box = QMessageBox(
        QMessageBox.Icon.Question,
        "Restore",
        "Restore the backup?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        window,
    )
    box.setWindowModality(Qt.WindowModality.ApplicationModal)
    box.show()
    window.lock()
    assert not box.isVisible() and box not in window.hidden_windows
    assert box.result() != QMessageBox.StandardButton.Yes
    assert QApplication.activeModalWidget() is None  # nothing blocks the lock screen
    unlock_as(qtbot, window, "nina")
    assert not box.isVisible()


def _darkest(image: QImage, area: QRect) -> int:
    """The lightness (0 to 255) of the darkest pixel in ``area``: the text drawn there."""
    return min(
        QColor(image.pixel(x, y)).lightness()
        for x in range(area.left(), area.right())
        for y in range(area.top(), area.bottom())
    )


def test_while_locked_the_menus_look_off(window: MainWindow, qtbot: QtBot) -> None:
    """Tried by hand: locked, the Go, Events and Records menus and the File menu's printing
    entries were off but drawn like the ones that work (the stylesheet's text colour won)."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    before = app.styleSheet()
    app.setStyleSheet(icons.stylesheet())
    try:
        window.lock(idle=False)
        bar = window.menuBar()
        assert not window.records_menu.menuAction().isEnabled()
        assert window.help_menu.menuAction().isEnabled()
        image = bar.grab().toImage()
        off = _darkest(image, bar.actionGeometry(window.records_menu.menuAction()))
        on = _darkest(image, bar.actionGeometry(window.help_menu.menuAction()))
        assert off - on >= 60, (off, on)
        (menu,) = [m for m in window.print_due_action.associatedObjects() if isinstance(m, QMenu)]
        menu.popup(window.mapToGlobal(window.rect().center()))
        qtbot.waitExposed(menu)
        shown = menu.grab().toImage()
        menu.hide()
        assert not window.print_due_action.isEnabled() and window.quit_action.isEnabled()
        off = _darkest(shown, menu.actionGeometry(window.print_due_action))
        on = _darkest(shown, menu.actionGeometry(window.quit_action))
        assert off - on >= 60, (off, on)
    finally:
        app.setStyleSheet(before)
