"""The week's bookings (issue 16): for each day of a week, the refill visits booked, the free
visits per place, and the pumps that must be booked by that day.

UI layer: reads :meth:`pumpmgr.services.bookings.BookingsService.week` and writes each booking
with :func:`pumpmgr.booking.booking_line`, the command line's words. A booking after the
refill-due date says "booked too late" in its text (colour is never the only signal).
"""

from __future__ import annotations

from datetime import date, timedelta

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDateEdit,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.booking import PLACE_TEXT, booking_line
from pumpmgr.formatting import format_date
from pumpmgr.records import DayPlan, WeekView
from pumpmgr.services import ClinicService

#: The table's rows, top to bottom.
ROWS = ("Free", "Booked", "Must be booked by this day")


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


class WeekViewScreen(QWidget):
    """Seven days from a Monday: free room, bookings and pumps to book, one column a day."""

    def __init__(self, clinic: ClinicService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.clinic = clinic
        self.week: WeekView | None = None
        self.title = QLabel("Bookings", self)
        self.title.setProperty("role", "title")
        self.previous = QPushButton("◀ &Previous week", self)
        self.next = QPushButton("&Next week ▶", self)
        self.this_week = QPushButton("&This week", self)
        self.start = QDateEdit(self)
        self.start.setCalendarPopup(True)
        self.start.setDisplayFormat("ddd d MMM yyyy")
        self.start.setAccessibleName("Week from")
        self.table = QTableWidget(len(ROWS), 7, self)
        self.table.setVerticalHeaderLabels(list(ROWS))
        # a row taller than the view keeps its name in sight at its top
        self.table.verticalHeader().setDefaultAlignment(
            Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft
        )
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.summary = QLabel(" ", self)
        self.summary.setWordWrap(True)

        bar = QHBoxLayout()
        bar.addWidget(self.title)
        bar.addStretch(1)
        for widget in (self.previous, self.start, self.next, self.this_week):
            bar.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)

        self.previous.clicked.connect(lambda: self.show_week(self._start() - timedelta(days=7)))
        self.next.clicked.connect(lambda: self.show_week(self._start() + timedelta(days=7)))
        self.this_week.clicked.connect(lambda: self.show_week(monday_of(self.clinic.today())))
        self.start.dateChanged.connect(lambda _d: self.show_week(self._start()))

    def _start(self) -> date:
        chosen: date = self.start.date().toPython()  # type: ignore[assignment]
        return chosen

    def show_week(self, start: date) -> None:
        """Read and show the seven days from ``start``."""
        if self._start() != start:
            self.start.blockSignals(True)
            self.start.setDate(QDate(start.year, start.month, start.day))
            self.start.blockSignals(False)
        self.week = self.clinic.bookings.week(start)
        self._fill(self.week)

    def refresh(self) -> None:
        self.show_week(self._start() if self.week is not None else monday_of(self.clinic.today()))

    def clear(self) -> None:
        """Forget every patient shown (the window locks)."""
        self.week = None
        self.table.clearContents()
        self.summary.setText(" ")

    def _fill(self, week: WeekView) -> None:
        self.table.setHorizontalHeaderLabels([format_date(d.day) for d in week.days])
        for column, plan in enumerate(week.days):
            for row, text in enumerate(self._cells(plan)):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
                item.setToolTip(text)
                if row == 1 and any(b.too_late for b in plan.bookings):
                    item.setForeground(self.palette().color(self.palette().ColorRole.Link))
                self.table.setItem(row, column, item)
        self.table.resizeRowsToContents()
        booked = sum(len(d.bookings) for d in week.days)
        late = sum(b.too_late for d in week.days for b in d.bookings)
        waiting = sum(len(d.must_book) for d in week.days)
        self.summary.setText(
            f"{booked} visit{'s' if booked != 1 else ''} booked this week"
            + (f", {late} booked too late" if late else "")
            + f"; {waiting} pump{'s' if waiting != 1 else ''} still to book by these days."
        )

    @staticmethod
    def _cells(plan: DayPlan) -> tuple[str, str, str]:
        if not plan.open:
            return (
                "closed",
                "",
                "\n".join(
                    f"{p.patient} ({p.mrn}), refill due {format_date(p.refill_due)}"
                    for p in plan.must_book
                ),
            )
        free = "\n".join(f"{plan.free[place]} {PLACE_TEXT[place]}" for place in ("clinic", "home"))
        booked = "\n".join(booking_line(b, with_day=False) for b in plan.bookings) or "none"
        waiting = "\n".join(
            f"{p.patient} ({p.mrn}), refill due {format_date(p.refill_due)}" for p in plan.must_book
        )
        return free, booked, waiting
