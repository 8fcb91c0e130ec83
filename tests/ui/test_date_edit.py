"""Every date field is one DateEdit: typed in the clinic's format or ISO, refused otherwise with
the field named, never guessed; its calendar shows the month's last week whole."""

from __future__ import annotations

from datetime import date, datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDateTimeEdit, QTableView, QWidget
from pytestqt.qtbot import QtBot

from ui import icons
from ui.dialogs import events
from ui.main_window import MainWindow
from ui.widgets.date_edit import DateEdit
from ui.wizards.refill import RefillWizard


def typed(qtbot: QtBot, edit: DateEdit, text: str) -> None:
    edit.line_edit.selectAll()
    qtbot.keyClicks(edit.line_edit, text)
    qtbot.keyClick(edit.line_edit, Qt.Key.Key_Return)  # done: editingFinished


def test_a_typed_date_is_read_as_typed_never_guessed(qtbot: QtBot) -> None:
    """'Mon 12 Apr 2027' typed is 12 April 2027 (Qt's date box made it 'Tue 7 Dec 2027')."""
    holder = QWidget()
    qtbot.addWidget(holder)
    edit = DateEdit("expiry", holder, missing="not entered")
    holder.show()
    assert edit.day() is None and edit.line_edit.placeholderText() == "not entered"
    seen: list[object] = []
    edit.valueChanged.connect(seen.append)
    typed(qtbot, edit, "Mon 12 Apr 2027")
    assert edit.day() == date(2027, 4, 12) and edit.error_text() == ""
    assert seen == [date(2027, 4, 12)]
    typed(qtbot, edit, "2027-04-13")
    assert edit.day() == date(2027, 4, 13)
    assert edit.text() == "Tue 13 Apr 2027"  # written back in the clinic's format
    for wrong, message in (
        (
            "12/04/2027",
            "expiry: '12/04/2027' is not a date; type it as Mon 12 Apr 2027 or 2027-04-12",
        ),
        ("Tue 12 Apr 2027", "expiry: 12 Apr 2027 is a Monday, not a Tuesday: check the date"),
    ):
        typed(qtbot, edit, wrong)
        assert edit.day() is None
        assert edit.text() == wrong  # kept as typed, to be corrected
        assert edit.error_text() == message
        assert edit.message.isVisible() and edit.message.text() == message
        assert edit.line_edit.property("invalid") is True
    assert seen[-1] is None


def test_a_date_outside_the_fields_range_is_refused(qtbot: QtBot) -> None:
    edit = DateEdit(
        "explant date", value=date(2026, 3, 2), earliest=date(2026, 1, 1), latest=date(2026, 3, 2)
    )
    qtbot.addWidget(edit)
    assert edit.day() == date(2026, 3, 2)
    edit.line_edit.setText("2026-03-03")
    assert edit.day() is None
    assert edit.error_text() == (
        "explant date: Tue 3 Mar 2026 is after the latest allowed, Mon 2 Mar 2026"
    )
    edit.line_edit.setText("31 Dec 2025")
    assert "is before the earliest allowed, Thu 1 Jan 2026" in edit.error_text()


def test_a_date_and_time_field(qtbot: QtBot) -> None:
    edit = DateEdit("time of the scan", with_time=True, value=datetime(2026, 3, 2, 9, 5))
    qtbot.addWidget(edit)
    assert edit.text() == "Mon 2 Mar 2026 09:05"
    edit.line_edit.setText("2026-03-01 17:45")
    assert edit.moment() == datetime(2026, 3, 1, 17, 45)
    edit.line_edit.setText("Sun 1 Mar 2026")
    assert edit.moment() is None
    assert edit.error_text().startswith(
        "time of the scan: 'Sun 1 Mar 2026' is not a date and a 24-hour time"
    )


def test_the_calendar_shows_its_last_row_whole_and_picks_a_day(qtbot: QtBot) -> None:
    """With the program's style sheet (its 2-pixel frame on focused tables cut the last week
    in half), every row of the month calendar is inside the calendar's view."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    before = app.styleSheet()
    app.setStyleSheet(icons.stylesheet())
    try:
        edit = DateEdit("clinic day", value=date(2026, 11, 6))  # a month over six weeks
        qtbot.addWidget(edit)
        edit.show()
        edit.show_calendar()
        qtbot.waitUntil(edit.popup.isVisible)
        view = edit.calendar.findChild(QTableView)
        assert view is not None
        view.setFocus()
        qtbot.wait(10)
        last = view.model().rowCount() - 1
        assert view.rowViewportPosition(last) + view.rowHeight(last) <= (view.viewport().height())
        edit.calendar.clicked.emit(edit.calendar.selectedDate().addDays(3))
        assert edit.day() == date(2026, 11, 9)
        assert not edit.popup.isVisible()
        qtbot.keyClick(edit.line_edit, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
        qtbot.waitUntil(edit.popup.isVisible)  # from the keyboard too
        assert edit.calendar.selectedDate().toPython() == date(2026, 11, 9)
        edit.popup.close()
    finally:
        app.setStyleSheet(before)


def test_every_date_field_is_a_date_edit(window: MainWindow, qtbot: QtBot) -> None:
    """No Qt date box is left in the refill wizard, the prescription dialog, the event
    dialogs or the calculators: each date is typed the same way."""

    def no_qt_date_boxes(widget: QWidget) -> None:
        assert widget.findChildren(QDateTimeEdit) == [], type(widget).__name__
        assert widget.findChildren(DateEdit), type(widget).__name__

    window.open_patient(window.clinic.find_patient("100001").id)
    for kind in (events.MRI, events.NOTE, events.PUMP_DATES, events.REVISION, events.EXPLANT):
        dialog = window.open_event_dialog(kind)
        assert dialog is not None, kind
        no_qt_date_boxes(dialog)
        dialog.reject()
    wizard = window.start_refill()
    assert isinstance(wizard, RefillWizard)
    no_qt_date_boxes(wizard)
    wizard.reject()
    prescription = window.change_prescription()
    assert prescription is not None
    no_qt_date_boxes(prescription)
    prescription.reject()
    window.show_calculators()
    no_qt_date_boxes(window.calculators)


def test_the_fields_alt_key_reaches_the_date_box(qtbot: QtBot) -> None:
    """Tried by hand: Alt+X on a refill's "E&xpiry" and Alt+W on an event's "&When" left the
    focus where it was, and the date was typed into the box before (the lot number)."""
    from PySide6.QtWidgets import QFormLayout, QLineEdit

    holder = QWidget()
    qtbot.addWidget(holder)
    lot = QLineEdit(holder)
    edit = DateEdit("expiry", holder)
    form = QFormLayout(holder)
    form.addRow("&Lot number", lot)
    form.addRow("E&xpiry", edit)
    holder.show()
    holder.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is holder)
    lot.setFocus()
    qtbot.keyClick(lot, Qt.Key.Key_X, Qt.KeyboardModifier.AltModifier)
    assert QApplication.focusWidget() is edit.line_edit
    qtbot.keyClicks(edit.line_edit, "12 Apr 2027")
    assert edit.day() == date(2027, 4, 12) and lot.text() == ""
