"""Booking a refill visit from the window (issue 16): book, move, cancel, did not attend.

UI layer: imports PySide6, :mod:`pumpmgr.booking` (its wording) and the bookings service.
Every check is the service's (:class:`pumpmgr.services.bookings.BookingsService`); a refusal is
shown in the dialog in the service's own words, with nothing lost of what was typed. A day after
the refill-due date, or a full day, makes the service ask for the reason: the dialog then shows
the reason field under the service's message, and saves once a reason is given.

The due list and the patient view offer :func:`booking_actions` for a pump; the signed-in user
is the window's (``window().actor``), as the print jobs read the window's lock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, time

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from pumpmgr.booking import PLACE_TEXT, visit_text
from pumpmgr.errors import InputError, PumpMgrError
from pumpmgr.formatting import format_date, read_clock_time
from pumpmgr.records import BookingRecord
from pumpmgr.services import Actor, ClinicService
from pumpmgr.services.bookings import PLACES, Place
from ui import messages
from ui.widgets.date_edit import DateEdit


def window_actor(widget: QWidget) -> Actor | None:
    """The user signed in to the window ``widget`` is in (None while it is locked)."""
    actor = getattr(widget.window(), "actor", None)
    return actor if isinstance(actor, Actor) else None


def proposal_text(proposed: date | None, refill_due: date | None, place: str) -> str:
    """What the dialog says of the service's proposed day."""
    due = "" if refill_due is None else f" ({format_date(refill_due)})"
    if proposed is None:
        return (
            f"No open day with room for a {PLACE_TEXT[place]} is left on or before the "
            f"refill-due date{due}: choose a day; a later one needs a reason."
        )
    return (
        f"Proposed: {format_date(proposed)}, the latest open day on or before the "
        f"refill-due date{due} with room for a {PLACE_TEXT[place]}."
    )


class BookingDialog(QDialog):
    """Book a refill visit for a pump, or move its open ``booking``."""

    def __init__(
        self,
        clinic: ClinicService,
        actor: Actor,
        pump_id: int,
        patient: str,
        refill_due: date | None,
        booking: BookingRecord | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.clinic, self.actor, self.pump_id = clinic, actor, pump_id
        self.refill_due, self.booking = refill_due, booking
        #: What the service saved (None until then).
        self.saved: BookingRecord | None = None
        self.setWindowTitle("Move the refill visit" if booking else "Book a refill visit")
        heading = QLabel(
            patient + ("" if booking is None else f": booked {visit_text(booking)}"), self
        )
        heading.setWordWrap(True)
        heading.setProperty("role", "title")

        self.place = QComboBox(self)
        self.place.setAccessibleName("place")
        for key in PLACES:
            self.place.addItem(PLACE_TEXT[key], key)
        if booking is not None:
            self.place.setCurrentIndex(PLACES.index(booking.place))
        self.proposed = clinic.bookings.propose(pump_id, self.place_key())
        self.proposal = QLabel(proposal_text(self.proposed, refill_due, self.place_key()), self)
        self.proposal.setWordWrap(True)
        self.proposal.setProperty("role", "muted")
        # no earliest day here: the service says why a past day cannot be booked
        self.day = DateEdit(
            "day",
            self,
            value=booking.day if booking is not None else self.proposed or clinic.today(),
        )
        self.time = QLineEdit(self)
        self.time.setAccessibleName("time")
        self.time.setPlaceholderText("HH:MM, or leave empty")
        self.time.setMaxLength(5)
        if booking is not None and booking.at is not None:
            self.time.setText(f"{booking.at:%H:%M}")
        self.nurse = QComboBox(self)
        self.nurse.setAccessibleName("nurse")
        self.nurse.addItem("not yet known", None)
        for user in clinic.list_users():
            if user.active and user.role != "administrator":
                self.nurse.addItem(user.full_name, user.id)
        if booking is not None and booking.nurse:
            self.nurse.setCurrentIndex(max(0, self.nurse.findText(booking.nurse)))
        self.note = QLineEdit(booking.note if booking is not None else "", self)
        self.note.setAccessibleName("note")
        self.note.setMaxLength(2000)
        self.reason_label = QLabel("&Reason", self)
        self.reason = QLineEdit(self)
        self.reason.setAccessibleName("reason")
        self.reason.setMaxLength(2000)
        self.reason_label.setBuddy(self.reason)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setProperty("role", "error")
        self.message.hide()
        #: The service asked for a reason (a late or full day): the reason field is shown.
        self.asking_reason = False

        # Tab follows what the eye reads (the place box was made first, for the proposal)
        for first, second in (
            (self.day, self.time),
            (self.time, self.place),
            (self.place, self.nurse),
            (self.nurse, self.note),
            (self.note, self.reason),
        ):
            QWidget.setTabOrder(first, second)

        form = QFormLayout()
        form.addRow("&Day", self.day)
        form.addRow("", self.proposal)
        form.addRow("&Time", self.time)
        form.addRow("&Place", self.place)
        form.addRow("&Nurse", self.nurse)
        form.addRow("N&ote", self.note)
        form.addRow(self.reason_label, self.reason)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Move the visit" if booking else "Book the visit")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self._show_reason(False)
        self.place.currentIndexChanged.connect(lambda _i: self._place_changed())
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance("m") * 46)

    def place_key(self) -> Place:
        key: Place = self.place.currentData()
        return key

    def _place_changed(self) -> None:
        self.proposed = self.clinic.bookings.propose(self.pump_id, self.place_key())
        self.proposal.setText(proposal_text(self.proposed, self.refill_due, self.place_key()))

    def _show_reason(self, shown: bool) -> None:
        self.asking_reason = shown
        self.reason_label.setVisible(shown)
        self.reason.setVisible(shown)

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def accept(self) -> None:
        """Save through the service; a refusal stays in the dialog in the service's words."""
        try:
            self.saved = self._save()
        except InputError as exc:
            self._say(exc.message)
            if exc.field == "reason":  # late or full: the service asks why
                self._show_reason(True)
                self.reason.setFocus()
            elif exc.field == "time":
                self.time.setFocus()
            else:
                self.day.setFocus()
            return
        except PumpMgrError as exc:
            self._say(exc.message)
            self.day.setFocus()
            return
        super().accept()

    def _save(self) -> BookingRecord:
        day = self.day.required_day()
        typed = self.time.text().strip()
        at: time | None = read_clock_time(typed, "time") if typed else None
        nurse: int | None = self.nurse.currentData()
        reason = self.reason.text() if self.asking_reason else ""
        if self.booking is None:
            return self.clinic.bookings.book(
                self.actor,
                self.pump_id,
                day,
                at=at,
                place=self.place_key(),
                nurse_id=nurse,
                note=self.note.text(),
                reason=reason,
            ).booking
        return self.clinic.bookings.move(
            self.actor,
            self.booking.id,
            day,
            at=at,
            place=self.place_key(),
            nurse_id=nurse,
            note=self.note.text(),
            reason=reason,
            version=self.booking.version,
        ).booking


#: What :func:`booking_actions` offers, by the label the menus and buttons show.
BOOK, MOVE, CANCEL, MISSED = (
    "&Book a visit…",
    "&Move the visit…",
    "&Cancel the visit…",
    "Did &not attend",
)


def booking_actions(
    parent: QWidget,
    clinic: ClinicService,
    pump_id: int,
    patient: str,
    refill_due: date | None,
    done: Callable[[], None],
) -> list[tuple[str, Callable[[], object]]]:
    """The booking actions for the pump (labels and what each does): book a visit when it has
    no open booking; else move it, cancel it, or mark it not attended. ``done`` runs after a
    change was saved (the screen reads its rows again)."""
    booking = clinic.bookings.open_booking(pump_id)
    if booking is None:
        return [(BOOK, lambda: book(parent, clinic, pump_id, patient, refill_due, done))]
    return [
        (MOVE, lambda: book(parent, clinic, pump_id, patient, refill_due, done, booking)),
        (CANCEL, lambda: cancel(parent, clinic, booking, done)),
        (MISSED, lambda: did_not_attend(parent, clinic, booking, done)),
    ]


def book(
    parent: QWidget,
    clinic: ClinicService,
    pump_id: int,
    patient: str,
    refill_due: date | None,
    done: Callable[[], None],
    booking: BookingRecord | None = None,
) -> BookingRecord | None:
    """Open the booking dialog (a new visit, or moving ``booking``); what it saved."""
    actor = window_actor(parent)
    if actor is None:
        return None
    try:
        dialog = BookingDialog(clinic, actor, pump_id, patient, refill_due, booking, parent)
    except PumpMgrError as exc:
        messages.show_error(parent, exc, "opening the booking")
        return None
    dialog.exec()
    if dialog.saved is not None:
        done()
    return dialog.saved


def cancel(
    parent: QWidget, clinic: ClinicService, booking: BookingRecord, done: Callable[[], None]
) -> BookingRecord | None:
    """Ask why, then cancel the open booking."""
    actor = window_actor(parent)
    if actor is None:
        return None
    reason = messages.ask_text(
        parent, "Cancel the visit", f"Why is the visit of {format_date(booking.day)} cancelled?"
    )
    if reason is None:
        return None
    return _saved(
        parent,
        "cancelling the visit",
        done,
        lambda: clinic.bookings.cancel(actor, booking.id, reason, booking.version),
    )


def did_not_attend(
    parent: QWidget, clinic: ClinicService, booking: BookingRecord, done: Callable[[], None]
) -> BookingRecord | None:
    """Mark the open booking as not attended, once confirmed."""
    actor = window_actor(parent)
    if actor is None or not messages.confirm(
        parent,
        "Did not attend",
        f"{booking.patient} did not come to the visit of {format_date(booking.day)}? The "
        "pump goes to the top of the due list with the patient's phone and emergency "
        "contact until it is refilled or booked again.",
        yes="Did not attend",
    ):
        return None
    return _saved(
        parent,
        "marking the visit as not attended",
        done,
        lambda: clinic.bookings.mark_did_not_attend(actor, booking.id),
    )


def _saved(
    parent: QWidget, doing: str, done: Callable[[], None], change: Callable[[], BookingRecord]
) -> BookingRecord | None:
    try:
        record = change()
    except PumpMgrError as exc:
        messages.show_error(parent, exc, doing)
        return None
    done()
    return record
