"""DateEdit: a date (or a date and time) typed as text or picked from a calendar.

UI layer: imports PySide6 and :mod:`pumpmgr.formatting`. Every date field of the program is
one of these. The text is read by :func:`pumpmgr.formatting.read_date` (or
:func:`~pumpmgr.formatting.read_datetime`): the clinic's own format (``Mon 12 Apr 2027``) or
ISO (``2027-04-12``), and nothing else; Qt's section-by-section date box turned a typed
``Mon 12 Apr 2027`` into ``Tue 7 Dec 2027`` without a word. A wrong text, or a date outside
the field's range, turns the box red and names the field in the message beneath it; the value
is then None, and the form refuses to save with :meth:`DateEdit.error_text`. The calendar
button opens a month calendar sized to show all its rows.
"""

from __future__ import annotations

from datetime import date, datetime, time

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCalendarWidget,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
    QWidgetAction,
)

from pumpmgr.errors import Code, InputError
from pumpmgr.formatting import (
    date_example,
    format_date,
    format_datetime,
    read_date,
    read_datetime,
)
from ui.widgets.style_state import set_style_property


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


class DateEdit(QWidget):
    """A line edit for one date of field ``field`` (with a time when ``with_time``), its
    calendar button and its message line. Empty reads as None: an optional date, or a
    required one not yet entered (``missing`` is then the placeholder)."""

    #: The date (or naive datetime) now read, or None when the box is empty or wrong.
    valueChanged = Signal(object)

    def __init__(
        self,
        field: str,
        parent: QWidget | None = None,
        *,
        with_time: bool = False,
        value: date | datetime | None = None,
        earliest: date | None = None,
        latest: date | None = None,
        missing: str = "",
        month_is_last_day: bool = False,
    ) -> None:
        super().__init__(parent)
        #: A month and year typed is that month's last day (an expiry date, USP <7>).
        self.month_is_last_day = month_is_last_day
        #: The field's name as the messages use it, for example "expiry".
        self.field = field
        self.with_time = with_time
        self.earliest = earliest
        self.latest = latest
        self._value: date | datetime | None = None
        self._error = ""

        self.line_edit = QLineEdit(self)
        self.line_edit.setMaxLength(40)
        self.line_edit.setAccessibleName(field)
        self.line_edit.setPlaceholderText(missing or f"for example {date_example(with_time)}")
        self.line_edit.setToolTip(
            f"Type the date as {date_example(with_time)}, or pick it from the calendar (Alt+Down)"
        )
        self.calendar = QCalendarWidget(self)
        self.calendar.setGridVisible(True)
        self.calendar.setFirstDayOfWeek(Qt.DayOfWeek.Monday)
        self.calendar.setVerticalHeaderFormat(QCalendarWidget.VerticalHeaderFormat.NoVerticalHeader)
        # the calendar's size hint counts no frame around its days: the program's frame on
        # tables (2 px when focused) cut the last week in half
        self.calendar.setStyleSheet("QTableView, QTableView:focus { border: none; }")
        self.calendar.clicked.connect(self._picked)
        self.calendar.activated.connect(self._picked)
        self.popup = QMenu(self)
        shown = QWidgetAction(self.popup)
        shown.setDefaultWidget(self.calendar)
        self.popup.addAction(shown)
        self.popup.aboutToShow.connect(self._prepare_calendar)
        self.button = QToolButton(self)
        self.button.setText("▾")
        self.button.setAccessibleName(f"{field}: calendar")
        self.button.setToolTip("Pick the date from a calendar (Alt+Down)")
        self.button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes from box to box
        self.button.clicked.connect(self.show_calendar)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setProperty("role", "error")
        self.message.hide()

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        row.addWidget(self.line_edit, 1)
        row.addWidget(self.button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.message)
        self.setFocusProxy(self.line_edit)
        # A label's Alt key focuses its buddy only when the buddy takes focus itself; the
        # proxy then hands it to the box (Tab skips a widget with a proxy).
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.line_edit.setMinimumWidth(
            self.line_edit.fontMetrics().horizontalAdvance(
                format_datetime(datetime(2027, 9, 30, 23, 59))
                if with_time
                else format_date(date(2027, 9, 30))
            )
            + 24
        )
        self.line_edit.textChanged.connect(self._read)
        self.line_edit.editingFinished.connect(self._tidy)
        self.set_value(value)

    # ----------------------------------------------------------------- public

    def value(self) -> date | datetime | None:
        """The date (a naive datetime with a time) read, or None when empty or wrong."""
        return self._value

    def day(self) -> date | None:
        """The calendar date read (the date part of a date and time), or None."""
        value = self._value
        return value.date() if isinstance(value, datetime) else value

    def moment(self) -> datetime | None:
        """The date and time read (a date alone: its midnight), naive, or None."""
        value = self._value
        if value is None or isinstance(value, datetime):
            return value
        return datetime.combine(value, time())

    def set_value(self, value: date | datetime | None) -> None:
        """Show ``value`` in the clinic's format (None: empty)."""
        if value is None:
            self.line_edit.setText("")
        elif self.with_time:
            moment = value if isinstance(value, datetime) else datetime.combine(value, time())
            self.line_edit.setText(format_datetime(moment))
        else:
            self.line_edit.setText(format_date(value))
        self._read(self.line_edit.text())

    def set_range(self, earliest: date | None, latest: date | None) -> None:
        """Refuse dates before ``earliest`` or after ``latest`` (None: no limit)."""
        self.earliest, self.latest = earliest, latest
        self._read(self.line_edit.text())

    def text(self) -> str:
        return self.line_edit.text()

    def error_text(self) -> str:
        """Why the text typed is refused (naming the field), '' when it is fine or empty."""
        return self._error

    def required_day(self) -> date:
        """The date read, or :class:`InputError` naming the field when empty or wrong."""
        self._require()
        day = self.day()
        assert day is not None
        return day

    def required_moment(self) -> datetime:
        """The date and time read (naive), or :class:`InputError` naming the field."""
        self._require()
        moment = self.moment()
        assert moment is not None
        return moment

    def _require(self) -> None:
        if self._value is None:
            raise InputError(
                self._error
                or f"{self.field}: no date entered; type it as {date_example(self.with_time)}",
                code=Code.BAD_DATE if self._error else Code.NO_VALUE,
                field=self.field,
            )

    def show_calendar(self) -> None:
        """Open the month calendar under the box."""
        self.popup.popup(self.line_edit.mapToGlobal(self.line_edit.rect().bottomLeft()))

    # ----------------------------------------------------------------- inside

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if (
            event.key() == Qt.Key.Key_Down and event.modifiers() & Qt.KeyboardModifier.AltModifier
        ) or (event.key() == Qt.Key.Key_F4):
            self.show_calendar()
            return
        super().keyPressEvent(event)

    def _prepare_calendar(self) -> None:
        calendar = self.calendar
        calendar.setMinimumDate(_qdate(self.earliest or date(1900, 1, 1)))
        calendar.setMaximumDate(_qdate(self.latest or date(2200, 12, 31)))
        shown = self.day() or self.latest or date.today()
        calendar.setSelectedDate(_qdate(shown))
        calendar.setMinimumSize(calendar.sizeHint())
        calendar.setFocus()

    def _picked(self, picked: QDate) -> None:
        day = date(picked.year(), picked.month(), picked.day())
        self.popup.close()
        if self.with_time:
            before = self.moment()
            self.set_value(datetime.combine(day, before.time() if before else time()))
        else:
            self.set_value(day)
        self.line_edit.setFocus()

    def _read(self, text: str) -> None:
        value: date | datetime | None = None
        error = ""
        if text.strip():
            try:
                value = (
                    read_datetime(text, self.field)
                    if self.with_time
                    else read_date(text, self.field, month_is_last_day=self.month_is_last_day)
                )
            except InputError as exc:
                error = str(exc)
            else:
                day = value.date() if isinstance(value, datetime) else value
                if self.earliest is not None and day < self.earliest:
                    error = (
                        f"{self.field}: {format_date(day)} is before the earliest "
                        f"allowed, {format_date(self.earliest)}"
                    )
                elif self.latest is not None and day > self.latest:
                    error = (
                        f"{self.field}: {format_date(day)} is after the latest allowed, "
                        f"{format_date(self.latest)}"
                    )
                if error:
                    value = None
        changed = value != self._value
        self._value, self._error = value, error
        self.message.setText(error)
        self.message.setVisible(bool(error) and not self.line_edit.hasFocus())
        set_style_property(self.line_edit, "invalid", bool(error))
        if changed:
            self.valueChanged.emit(value)

    def _tidy(self) -> None:
        """When the nurse leaves the box: a good date is written in the clinic's format, a
        wrong one keeps its text and shows why."""
        if self._value is not None:
            shown = (
                format_datetime(self._value)
                if isinstance(self._value, datetime)
                else format_date(self._value)
            )
            if shown != self.line_edit.text():
                self.line_edit.setText(shown)
        self.message.setVisible(bool(self._error))
