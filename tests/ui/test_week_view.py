"""The week's bookings screen (issue 16): opened from the View menu, each day's free room,
visits (a late one says so in words) and pumps to book; emptied when the window locks."""

from __future__ import annotations

import os
from datetime import time, timedelta
from pathlib import Path

from dialog_recorder import Dialogs
from pytestqt.qtbot import QtBot
from sample_clinic import TODAY

from pumpmgr.formatting import format_date
from pumpmgr.services import ClinicService
from ui.main_window import MainWindow
from ui.screens.week_view import ROWS, WeekViewScreen

#: Set to a folder (docs/screenshots) to keep the picture; otherwise it goes to a temporary one.
SCREENSHOTS = os.environ.get("PUMPMGR_SCREENSHOT_DIR")


def _column(screen: WeekViewScreen, row: str, column: int) -> str:
    item = screen.table.item(ROWS.index(row), column)
    return "" if item is None else item.text()


def test_the_week_view_shows_visits_free_room_and_pumps_to_book(
    qtbot: QtBot, window: MainWindow, clinic: ClinicService, tmp_path: Path
) -> None:
    rows = {r.mrn: r for r in clinic.due_list()}
    wagner, fischer = rows["100003"], rows["100005"]
    assert window.actor is not None
    day = TODAY + timedelta(days=2)  # Wednesday, before Wagner's refill-due date
    clinic.bookings.book(window.actor, wagner.pump_id, day, at=time(10, 30))
    # Fischer's refill-due date is set by the alarm less the buffer, so the worst-case low date
    # leaves room for a late visit (the baclofen pumps' worst case is their due date: no day
    # after it can be booked)
    late = fischer.refill_due + timedelta(days=1)
    while late.weekday() >= 5:
        late += timedelta(days=1)
    booked_late = clinic.bookings.book(
        window.actor, fischer.pump_id, late, reason="patient away", place="home"
    )
    assert booked_late.booking.too_late

    window.week_view_action.trigger()
    screen = window.week_view
    assert window.stack.currentWidget() is screen
    assert screen.week is not None and screen.week.start == TODAY  # a Monday
    column = (day - TODAY).days
    assert "10:30, clinic room" in _column(screen, "Booked", column)
    assert "WAGNER, Mia (100003), booked" in _column(screen, "Booked", column)
    assert "7 clinic room" in _column(screen, "Free", column)
    assert _column(screen, "Free", 5) == "closed"
    assert "BECKER, Lena (100001)" in _column(screen, "Must be booked by this day", 0)
    assert "booked this week" in screen.summary.text()
    window.resize(1366, 768)
    qtbot.wait(50)
    picture = Path(SCREENSHOTS or tmp_path) / "60-week-bookings.png"
    assert window.grab().save(str(picture)) and picture.stat().st_size > 5_000

    screen.next.click()
    assert screen.week is not None and screen.week.start == TODAY + timedelta(days=7)
    screen.this_week.click()
    assert screen.week is not None and screen.week.start == TODAY
    weeks, late_column = divmod((late - TODAY).days, 7)
    for _ in range(weeks):
        screen.next.click()
    assert "FISCHER, Greta (100005)" in _column(screen, "Booked", late_column)
    assert "booked too late" in _column(screen, "Booked", late_column)
    screen.this_week.click()
    assert screen.week is not None and screen.week.start == TODAY

    window.lock()
    assert screen.week is None and screen.table.item(1, column) is None


def test_a_dose_change_that_makes_the_booking_too_late_tells_the_nurse(
    qtbot: QtBot, window: MainWindow, clinic: ClinicService, dialogs: Dialogs
) -> None:
    from test_prescription import click, open_dialog, settle, sign_second, type_into

    hoffmann = next(r for r in clinic.due_list() if r.mrn == "100004")
    assert window.actor is not None
    booking = clinic.bookings.book(window.actor, hoffmann.pump_id, hoffmann.refill_due).booking
    dialog = open_dialog(qtbot, window, "100004")
    type_into(qtbot, dialog.schedule.daily_dose, "400 mcg/day")
    settle(qtbot, dialog)
    qtbot.keyClicks(dialog.prescriber, "Dr Brandt")
    dialog.order_edit.set_given_as("written")
    sign_second(qtbot, dialog)
    click(qtbot, dialog.save_button)
    qtbot.waitUntil(lambda: window.clinical_dialog is None)
    warned = dialogs.texts("warn")
    assert warned and "booked too late" in warned[-1]
    assert format_date(booking.day) in warned[-1]
    assert clinic.bookings.booking(booking.id).too_late
