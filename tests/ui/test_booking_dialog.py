"""Booking refill visits from the window (issue 16): from the due list (button and the row's
context menu) and from the patient view, the dialog proposing the service's best day, refusals
in the service's words, the reason a late visit needs, move, cancel and did not attend, and
the due list's booking columns after each change."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date, time, timedelta
from pathlib import Path

import pytest
from dialog_recorder import Dialogs
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QLabel, QMenu
from pytestqt.qtbot import QtBot
from sample_clinic import FAST_HASHER, PASSWORD, TODAY

from pumpmgr.formatting import format_date
from pumpmgr.services import ClinicService
from ui.dialogs import booking
from ui.dialogs.booking import BookingDialog
from ui.main_window import MainWindow
from ui.models.due_list import Column

SCREENSHOTS = os.environ.get("PUMPMGR_SCREENSHOT_DIR")


def _row_of(window: MainWindow, mrn: str) -> int:
    proxy = window.dashboard.proxy
    return next(r for r in range(proxy.rowCount()) if proxy.row_at(r).mrn == mrn)


def _select(window: MainWindow, mrn: str) -> None:
    window.show_dashboard()
    window.dashboard.table.selectRow(_row_of(window, mrn))


def _cell(window: MainWindow, mrn: str, column: Column) -> str:
    proxy = window.dashboard.proxy
    text: str = proxy.index(_row_of(window, mrn), int(column)).data()
    return text


def _menu_texts(menu: QMenu) -> list[str]:
    return [a.text() for a in menu.actions()]


def _trigger(menu: QMenu, text: str) -> None:
    next(a for a in menu.actions() if a.text() == text).trigger()


def _in_dialog(act: Callable[[BookingDialog], None]) -> list[BookingDialog]:
    """When the booking dialog opens, run ``act`` on it (it clicks what a nurse would)."""
    seen: list[BookingDialog] = []

    def run() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, BookingDialog)
        seen.append(dialog)
        try:
            act(dialog)
        finally:
            if dialog.isVisible():
                dialog.reject()

    QTimer.singleShot(0, run)
    return seen


def _type(qtbot: QtBot, edit: object, text: str) -> None:
    edit.clear()  # type: ignore[attr-defined]
    qtbot.keyClicks(edit, text)


def _ok(qtbot: QtBot, dialog: BookingDialog) -> None:
    qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)


def test_booking_from_the_due_list_proposes_the_best_day_and_fills_the_booked_column(
    qtbot: QtBot, window: MainWindow, clinic: ClinicService, tmp_path: Path
) -> None:
    wagner = next(r for r in clinic.due_list() if r.mrn == "100003")
    proposed = clinic.bookings.propose(wagner.pump_id)
    assert proposed is not None and proposed <= wagner.refill_due
    _select(window, "100003")
    assert _cell(window, "100003", Column.BOOKED) == "not booked"  # due within 21 days
    menu = window.dashboard.booking_button.menu()
    menu.aboutToShow.emit()
    assert _menu_texts(menu) == [booking.BOOK]
    messages: list[str] = []

    def act(dialog: BookingDialog) -> None:
        assert dialog.day.day() == proposed
        assert dialog.proposal.text().startswith(
            f"Proposed: {format_date(proposed)}, the latest open day on or before the refill-due"
        )
        _type(qtbot, dialog.time, "9.30")
        _ok(qtbot, dialog)
        messages.append(dialog.message.text())  # the dialog stays open, nothing lost
        assert dialog.isVisible() and dialog.note.text() == ""
        _type(qtbot, dialog.time, "09:30")
        dialog.nurse.setCurrentIndex(dialog.nurse.findText("Otto Second"))
        _type(qtbot, dialog.note, "patient brings the pump card")
        if SCREENSHOTS:
            dialog.grab().save(str(Path(SCREENSHOTS) / "61-book-a-visit.png"))
        _ok(qtbot, dialog)

    seen = _in_dialog(act)
    _trigger(menu, booking.BOOK)
    assert seen and messages == [
        "time: '9.30' is not a time of day; write HH:MM, for example 09:30"
    ]
    saved = clinic.bookings.open_booking(wagner.pump_id)
    assert saved is not None
    assert (saved.day, saved.at, saved.nurse, saved.note) == (
        proposed,
        time(9, 30),
        "Otto Second",
        "patient brings the pump card",
    )
    # the due list was read again: the booked day beside the due date, in the booking columns
    assert _cell(window, "100003", Column.BOOKED) == format_date(proposed)  # in time
    assert _cell(window, "100001", Column.BOOKED) == "not booked"  # Becker, overdue
    menu.aboutToShow.emit()
    assert _menu_texts(menu) == [booking.MOVE, booking.CANCEL, booking.MISSED]
    picture = Path(SCREENSHOTS or tmp_path) / "62-due-list-booked.png"
    assert window.grab().save(str(picture))


def test_a_late_day_asks_for_the_reason_and_a_closed_day_is_refused_in_the_services_words(
    qtbot: QtBot, window: MainWindow, clinic: ClinicService
) -> None:
    fischer = next(r for r in clinic.due_list() if r.mrn == "100005")
    late = fischer.refill_due + timedelta(days=1)
    while late.weekday() >= 5:
        late += timedelta(days=1)
    saturday = TODAY + timedelta(days=5)
    window.open_patient(fischer.patient_id)
    assert window.patient.forecast_fields.text("visit booked") == "not booked"
    said: list[str] = []

    def act(dialog: BookingDialog) -> None:
        _type(qtbot, dialog.day.line_edit, (TODAY - timedelta(days=1)).isoformat())
        _ok(qtbot, dialog)
        said.append(dialog.message.text())
        _type(qtbot, dialog.day.line_edit, saturday.isoformat())
        _ok(qtbot, dialog)
        said.append(dialog.message.text())
        assert not dialog.asking_reason
        _type(qtbot, dialog.day.line_edit, late.isoformat())
        dialog.place.setCurrentIndex(dialog.place.findText("home visit"))
        _ok(qtbot, dialog)
        said.append(dialog.message.text())
        assert dialog.asking_reason and dialog.reason.isVisible()
        assert dialog.focusWidget() is dialog.reason
        qtbot.keyClicks(dialog.reason, "patient away until then; son phoned")
        _ok(qtbot, dialog)

    menu = window.patient.booking_button.menu()
    menu.aboutToShow.emit()
    _in_dialog(act)
    _trigger(menu, booking.BOOK)
    assert said[0] == (
        f"day: {format_date(TODAY - timedelta(days=1))} has passed; book today or a later day"
    )
    assert said[1] == f"day: the clinic is closed on {format_date(saturday)}; choose an open day"
    days = (late - fischer.refill_due).days
    assert said[2] == (
        f"reason: {format_date(late)} is booked too late: {days} day"
        f"{'s' if days > 1 else ''} after the refill-due date "
        f"({format_date(fischer.refill_due)}); book on or before "
        f"{format_date(fischer.refill_due)}, or give the reason for the late "
        "visit"
    )
    saved = clinic.bookings.open_booking(fischer.pump_id)
    assert saved is not None and saved.too_late and saved.place == "home"
    assert saved.late_reason == "patient away until then; son phoned"
    shown = window.patient.forecast_fields.text("visit booked")
    assert shown == f"{format_date(late)}, home visit, booked too late"
    window.show_dashboard()
    assert _cell(window, "100005", Column.BOOKED) == f"booked too late: {format_date(late)}"


def test_move_cancel_and_did_not_attend_from_the_due_list(
    qtbot: QtBot, window: MainWindow, clinic: ClinicService, dialogs: Dialogs
) -> None:
    actor = window.actor
    assert actor is not None
    rows = {r.mrn: r for r in clinic.due_list()}
    wagner, schulz = rows["100003"], rows["100002"]
    first = clinic.bookings.book(actor, wagner.pump_id, TODAY + timedelta(days=2)).booking
    _select(window, "100003")
    menu = window.dashboard._booking_menu()
    assert _menu_texts(menu) == [booking.MOVE, booking.CANCEL, booking.MISSED]

    def move(dialog: BookingDialog) -> None:
        assert dialog.windowTitle() == "Move the refill visit"
        heading = dialog.findChildren(QLabel)[0].text()
        assert heading == (
            f"WAGNER, Mia (100003): booked {format_date(TODAY + timedelta(days=2))}, clinic room"
        )
        assert dialog.day.day() == first.day
        _type(qtbot, dialog.day.line_edit, (TODAY + timedelta(days=3)).isoformat())
        _type(qtbot, dialog.time, "11:00")
        _ok(qtbot, dialog)

    _in_dialog(move)
    _trigger(menu, booking.MOVE)
    moved = clinic.bookings.booking(first.id)
    assert (moved.day, moved.at) == (TODAY + timedelta(days=3), time(11, 0))
    assert _cell(window, "100003", Column.BOOKED) == format_date(TODAY + timedelta(days=3))

    # not attended before its day: refused in the service's words
    _select(window, "100003")
    _trigger(window.dashboard._booking_menu(), booking.MISSED)
    assert "is still to come; move or cancel it instead" in dialogs.texts("error")[-1]
    dialogs.text_answer = "patient in hospital elsewhere"
    _trigger(window.dashboard._booking_menu(), booking.CANCEL)
    assert clinic.bookings.booking(first.id).state == "cancelled"
    assert _cell(window, "100003", Column.BOOKED) == "not booked"

    # booked today, not come: did not attend, to the top of the list with whom to call
    clinic.bookings.book(actor, schulz.pump_id, TODAY, at=time(8, 30))
    _select(window, "100002")
    _trigger(window.dashboard._booking_menu(), booking.MISSED)
    # (below only the states before a refill, which rank above every other: domain-rules §3)
    listed = [window.dashboard.proxy.row_at(i) for i in range(window.dashboard.proxy.rowCount())]
    top = next(n for n, r in enumerate(listed) if r.refill_state is None)
    assert listed[top].mrn == "100002"
    assert all(r.refill_state is not None for r in listed[:top])
    assert _cell(window, "100002", Column.BOOKED) == (
        "DID NOT ATTEND: call emergency contact Kim Example +49 30 1234567"
    )


def test_two_nurses_booking_one_pump_the_second_reads_who_booked_which_day(
    qtbot: QtBot, window: MainWindow, clinic: ClinicService
) -> None:
    wagner = next(r for r in clinic.due_list() if r.mrn == "100003")
    other = ClinicService(
        clinic.database, clock=clinic.clock, tz=clinic.tz, workstation="other", hasher=FAST_HASHER
    )
    otto = other.sign_in("otto", PASSWORD)
    said: list[str] = []

    def act(dialog: BookingDialog) -> None:
        # the other workstation books while this dialog is open
        other.bookings.book(otto, wagner.pump_id, TODAY + timedelta(days=1), at=time(10, 0))
        _ok(qtbot, dialog)
        said.append(dialog.message.text())

    _select(window, "100003")
    _in_dialog(act)
    _trigger(window.dashboard._booking_menu(), booking.BOOK)
    assert said == [
        f"day: Otto Second has already booked this pump's visit on "
        f"{format_date(TODAY + timedelta(days=1))} at 10:00 (clinic room); move or "
        "cancel that booking instead"
    ]


@pytest.mark.parametrize("mrn", ["100003"])
def test_a_locked_window_books_nothing(window: MainWindow, clinic: ClinicService, mrn: str) -> None:
    _select(window, mrn)
    actions = dict(window.dashboard.booking_actions())
    window.lock()
    assert actions[booking.BOOK]() is None  # no user signed in: no dialog, nothing saved
    assert (
        clinic.bookings.open_booking(next(r for r in clinic.due_list() if r.mrn == mrn).pump_id)
        is None
    )


def test_the_proposal_says_when_no_day_is_left(qtbot: QtBot) -> None:
    assert booking.proposal_text(None, date(2025, 10, 22), "home") == (
        "No open day with room for a home visit is left on or before the refill-due date "
        "(Wed 22 Oct 2025): choose a day; a later one needs a reason."
    )


def test_the_dialogs_tab_order_follows_what_the_eye_reads(
    qtbot: QtBot, window: MainWindow, clinic: ClinicService
) -> None:
    from focus_order import assert_tab_follows_reading, names, reading_order

    fischer = next(r for r in clinic.due_list() if r.mrn == "100005")
    late = fischer.refill_due + timedelta(days=1)
    while late.weekday() >= 5:
        late += timedelta(days=1)
    orders: list[list[str]] = []

    def act(dialog: BookingDialog) -> None:
        assert_tab_follows_reading(dialog)
        _type(qtbot, dialog.day.line_edit, late.isoformat())
        _ok(qtbot, dialog)
        assert dialog.asking_reason  # the reason field is shown: still in reading order
        assert_tab_follows_reading(dialog)
        orders.append(names(reading_order(dialog)))

    _select(window, "100005")
    _in_dialog(act)
    _trigger(window.dashboard._booking_menu(), booking.BOOK)
    assert orders == [
        [
            "QLineEdit:day",
            "QLineEdit:time",
            "QComboBox:place",
            "QComboBox:nurse",
            "QLineEdit:note",
            "QLineEdit:reason",
            "QPushButton:Book the visit",
            "QPushButton:Cancel",
        ]
    ]


def test_every_column_shown_fits_at_1366_and_the_header_menu_shows_the_pump_again(
    qtbot: QtBot, window: MainWindow
) -> None:
    window.resize(1366, 768)
    window.show_dashboard()
    qtbot.wait(20)
    table = window.dashboard.table
    header = table.horizontalHeader()
    assert header.isSectionHidden(int(Column.PUMP))
    assert not header.isSectionHidden(int(Column.BOOKED))
    assert header.length() <= table.viewport().width()  # no sideways scrolling
    menu = window.dashboard.columns_menu()
    pump = next(a for a in menu.actions() if a.text() == "Pump")
    assert not pump.isChecked()
    pump.trigger()
    assert not header.isSectionHidden(int(Column.PUMP))
    assert header.sectionSize(int(Column.PUMP)) > 0
