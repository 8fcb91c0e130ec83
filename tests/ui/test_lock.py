"""Locking: on demand (Ctrl+L) and after the idle time; patient data is gone from the models
while locked; the same or another user unlocks."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sample_clinic import PASSWORD

from ui.main_window import MainWindow


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


def test_wrong_password_stays_locked_then_same_user_resumes(window: MainWindow,
                                                            qtbot: QtBot) -> None:
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


def test_locks_after_the_idle_time(window: MainWindow, qtbot: QtBot) -> None:
    assert window.idle.timeout_ms() == 10 * 60_000  # the clinic's auto_lock_minutes
    window.idle.set_timeout_ms(80)
    qtbot.waitUntil(window.is_locked, timeout=3000)
    assert "without use" in window.lock_screen.reason.text()
    assert not window.idle.is_running()


def test_input_restarts_the_idle_count(window: MainWindow, qtbot: QtBot) -> None:
    window.idle.set_timeout_ms(400)
    for _ in range(4):
        qtbot.wait(150)
        qtbot.keyClick(window.dashboard.table, Qt.Key.Key_Down)
    assert not window.is_locked()
