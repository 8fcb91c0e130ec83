"""The keyboard: Ctrl+Q quits, Alt+R and Alt+H reach the patient's tabs, menus are off while
locked, the idle lock warns a minute before with a countdown, and unlocking returns to the
screen the nurse was on."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot
from sample_clinic import PASSWORD

from pumpmgr.clock import FixedClock
from ui.main_window import MainWindow
from ui.screens.records import RecordsTab


def clock_of(window: MainWindow) -> FixedClock:
    clock = window.clinic.clock
    assert isinstance(clock, FixedClock)
    return clock


def unlock(qtbot: QtBot, window: MainWindow) -> None:
    form = window.lock_screen.form
    form.password.clear()
    qtbot.keyClicks(form.password, PASSWORD)
    qtbot.keyClick(form.password, Qt.Key.Key_Return)
    assert not window.is_locked(), form.message.text()


def test_ctrl_q_quits(window: MainWindow, qtbot: QtBot) -> None:
    """One action owns Ctrl+Q (two claims of one key make Qt run neither)."""
    owners = [
        a
        for a in window.findChildren(type(window.quit_action))
        if any(k.toString() == "Ctrl+Q" for k in a.shortcuts())
    ]
    assert owners == [window.quit_action]
    assert [k.toString() for k in window.quit_action.shortcuts()] == ["Ctrl+Q"]
    qtbot.keyClick(window.dashboard.table, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert not window.isVisible()


def test_alt_r_and_alt_h_go_to_the_patients_tabs(window: MainWindow, qtbot: QtBot) -> None:
    window.open_patient(window.clinic.find_patient("100001").id)
    tabs = window.patient.tabs
    assert tabs.currentIndex() == 0
    qtbot.keyClick(tabs, Qt.Key.Key_R, Qt.KeyboardModifier.AltModifier)
    assert tabs.tabText(tabs.currentIndex()) == "&Residuals across refills"
    assert window.menuBar().activeAction() is None  # no menu opened
    qtbot.keyClick(tabs, Qt.Key.Key_H, Qt.KeyboardModifier.AltModifier)
    assert tabs.tabText(tabs.currentIndex()) == "&History"
    assert window.menuBar().activeAction() is None


def test_menus_are_off_while_locked(window: MainWindow, qtbot: QtBot) -> None:
    menus = {a.text().replace("&", ""): a for a in window.menuBar().actions()}
    window.lock()
    assert not any(menus[name].isEnabled() for name in ("Go", "Events", "Records"))
    file_menu = menus["File"].menu()
    assert isinstance(file_menu, QMenu)
    assert [a.text() for a in file_menu.actions() if a.isEnabled() and a.text()] == ["&Quit"]
    unlock(qtbot, window)
    assert all(a.isEnabled() for a in menus.values())


def test_the_idle_lock_warns_a_minute_before_with_a_countdown(
    window: MainWindow, qtbot: QtBot
) -> None:
    clock = clock_of(window)
    notice = window.idle_notice
    clock.advance(timedelta(minutes=8, seconds=59))
    window.idle.check()
    assert not notice.isVisible()
    clock.advance(timedelta(seconds=1))
    window.idle.check()
    assert notice.isVisible()
    assert notice.text() == (
        "pumpmgr locks in 1 minute without use: move the mouse or press a key to stay signed in."
    )
    clock.advance(timedelta(seconds=59))
    window.idle.check()
    assert notice.text().startswith("pumpmgr locks in 1 second without use")
    qtbot.keyClick(window.dashboard.table, Qt.Key.Key_Down)  # use: the warning goes
    assert not notice.isVisible() and not window.is_locked()
    clock.advance(timedelta(minutes=9, seconds=30))
    window.idle.check()
    assert notice.text().startswith("pumpmgr locks in 30 seconds without use")
    clock.advance(timedelta(seconds=30))
    assert window.idle.check() and window.is_locked()
    assert not notice.isVisible()


def test_one_minute_is_said_in_the_singular(window: MainWindow, qtbot: QtBot) -> None:
    clock = clock_of(window)
    window.idle.set_minutes(1)
    clock.advance(timedelta(minutes=1))
    assert window.idle.check()
    assert window.lock_screen.reason.text() == "Locked at 09:01 after 1 minute without use."


def test_unlocking_returns_to_the_screen_the_nurse_was_on(window: MainWindow, qtbot: QtBot) -> None:
    window.show_calculators()
    window.calculators.tabs.setCurrentIndex(2)
    window.lock()
    unlock(qtbot, window)
    assert window.stack.currentWidget() is window.calculators
    assert window.calculators.tabs.currentIndex() == 2
    window.show_records(RecordsTab.LIBRARY)
    window.lock()
    unlock(qtbot, window)
    assert window.stack.currentWidget() is window.records
    assert window.records.tabs.currentIndex() == int(RecordsTab.LIBRARY)
    window.show_dashboard()
    window.lock()
    unlock(qtbot, window)
    assert window.stack.currentWidget() is window.dashboard
