"""Refill bookings checked against the forecast, and the best day to book (issue 16).

Pure layer: stdlib only. A booking is judged with the dates the forecast gives for the pump
(domain-rules §3): the refill-due date, the worst-case low-reservoir date and the computed empty
date. The clinic's calendar is its open weekdays minus its closed dates, as for the refill-due
date itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from pumpmgr.errors import Code, ImpossibleInput
from pumpmgr.formatting import format_date

if TYPE_CHECKING:
    from pumpmgr.records import BookingRecord, DueRow

#: Days ahead within which a pump due and not booked is shown as "not booked" (issue 16: the
#: clinic's horizon, clinic policy, 21 days by default).
DEFAULT_BOOKING_HORIZON_DAYS = 21
#: The furthest a proposal looks back from the refill-due date for a free open day: a clinic
#: open one day a week still finds a day, and a loop over a wrong calendar still ends.
_PROPOSAL_SEARCH_DAYS = 366


#: One wording for one fact (screens, sheets and the command line).
PLACE_TEXT: Mapping[str, str] = {"clinic": "clinic room", "home": "home visit"}
STATE_TEXT: Mapping[str, str] = {
    "booked": "booked",
    "cancelled": "cancelled",
    "did_not_attend": "did not attend",
    "attended": "attended",
}
#: The due list's booking states.
DUE_BOOKING_TEXT: Mapping[str, str] = {
    "": "",
    "not_booked": "not booked",
    "booked_too_late": "booked too late",
    "did_not_attend": "did not attend",
}


@dataclass(frozen=True)
class ClinicCalendar:
    """The days the clinic sees patients: open weekdays (``date.weekday()`` numbers) minus the
    administrator's closed dates."""

    open_days: frozenset[int]
    closed_dates: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if not self.open_days or not self.open_days <= frozenset(range(7)):
            raise ImpossibleInput(
                "open days: the clinic needs at least one open weekday",
                code=Code.OUT_OF_RANGE,
                field="open days",
            )

    def is_open(self, day: date) -> bool:
        return day.weekday() in self.open_days and day not in self.closed_dates

    def next_open(self, day: date) -> date:
        """``day`` when the clinic is open then, else the first open day after it (a year
        on at most: no calendar is closed that long, and a loop over a wrong one still ends)."""
        for offset in range(_PROPOSAL_SEARCH_DAYS):
            candidate = day + timedelta(days=offset)
            if self.is_open(candidate):
                return candidate
        return day


@dataclass(frozen=True)
class PumpDates:
    """The forecast's dates that a booking is judged against (local clinic dates)."""

    refill_due: date
    #: the day the reservoir may reach its alarm volume if the pump runs fast
    worst_case_low: date
    #: the day the nominal forecast reaches 0 mL
    empty_on: date


class BookingVerdict(StrEnum):
    """How a booked day stands against the forecast, least severe first."""

    IN_TIME = "in time"
    TOO_LATE = "booked too late"  #: after the refill-due date: saved only with a reason


@dataclass(frozen=True)
class BookingCheck:
    verdict: BookingVerdict
    #: the words a nurse reads beside the booking
    words: str


def closed_day_text(day: date) -> str:
    """What is said of a closed day chosen for a visit or a day's worksheets."""
    return f"the clinic is closed on {format_date(day)}; choose an open day"


def check_booking(
    day: date, dates: PumpDates, calendar: ClinicCalendar, *, today: date
) -> BookingCheck:
    """Judge a refill visit booked on ``day``.

    Refused (:class:`ImpossibleInput` naming the field "day"): a day in the past, a day the
    clinic is closed, and a day after the worst-case low-reservoir date or the computed empty
    date. A day after the refill-due date is :attr:`BookingVerdict.TOO_LATE`, which the caller
    saves only with a reason; anything else is in time.
    """
    if day < today:
        raise ImpossibleInput(
            f"day: {format_date(day)} has passed; book today or a later day",
            code=Code.BOOKING_REFUSED,
            field="day",
        )
    if not calendar.is_open(day):
        raise ImpossibleInput(
            f"day: {closed_day_text(day)}",
            code=Code.BOOKING_REFUSED,
            field="day",
        )
    unsafe = _unsafe_after(dates)
    if day > unsafe[0]:
        raise ImpossibleInput(
            f"day: {format_date(day)} is after {unsafe[1]} ({format_date(unsafe[0])}); "
            f"book on or before the refill-due date, {format_date(dates.refill_due)}",
            code=Code.BOOKING_REFUSED,
            field="day",
        )
    if day > dates.refill_due:
        late = (day - dates.refill_due).days
        return BookingCheck(
            BookingVerdict.TOO_LATE,
            f"booked too late: {late} day{'s' if late != 1 else ''} after the refill-due date "
            f"({format_date(dates.refill_due)})",
        )
    return BookingCheck(
        BookingVerdict.IN_TIME,
        f"in time: on or before the refill-due date ({format_date(dates.refill_due)})",
    )


def _unsafe_after(dates: PumpDates) -> tuple[date, str]:
    """The last day a visit may still be booked, and the words for what comes after it."""
    if dates.empty_on < dates.worst_case_low:
        return dates.empty_on, "the day the pump is computed empty"
    return dates.worst_case_low, "the day the reservoir may be low if the pump runs fast"


def propose_day(
    dates: PumpDates,
    calendar: ClinicCalendar,
    *,
    today: date,
    capacity: int,
    booked: Mapping[date, int],
) -> date | None:
    """The latest open day on or before the refill-due date, not before ``today``, with room
    left (fewer than ``capacity`` visits already ``booked`` that day): no visit wasted, none
    late. None when no such day exists (the pump is already overdue, or every day is full):
    the caller then says so rather than proposing a late day.
    """
    if capacity < 0:
        raise ImpossibleInput(
            "capacity: give a whole number of visits from 0",
            code=Code.OUT_OF_RANGE,
            field="capacity",
        )
    day = dates.refill_due
    for _ in range(_PROPOSAL_SEARCH_DAYS):
        if day < today:
            return None
        if calendar.is_open(day) and booked.get(day, 0) < capacity:
            return day
        day -= timedelta(days=1)
    return None


def must_be_booked_by(
    dates: Iterable[tuple[int, PumpDates]], calendar: ClinicCalendar
) -> dict[date, list[int]]:
    """For a week view: each pump (by id) under the last open day on or before its refill-due
    date, the day by which its visit must be booked. A pump with no open day in the year before
    its due date is left out (no calendar has that)."""
    by_day: dict[date, list[int]] = {}
    for pump_id, pump_dates in dates:
        day = pump_dates.refill_due
        for _ in range(_PROPOSAL_SEARCH_DAYS):
            if calendar.is_open(day):
                by_day.setdefault(day, []).append(pump_id)
                break
            day -= timedelta(days=1)
    return by_day


def not_booked(
    dates: PumpDates, *, today: date, horizon_days: int = DEFAULT_BOOKING_HORIZON_DAYS
) -> bool:
    """True when a pump with no open booking is due within the clinic's horizon (or overdue):
    the due list's "not booked" state."""
    return dates.refill_due <= today + timedelta(days=horizon_days)


def due_booking_text(row: DueRow) -> str:
    """The due list's booking state in words; a missed visit in capitals with whom to call
    (the patient's phone and emergency contact), as every screen and the command line say it."""
    text = DUE_BOOKING_TEXT[row.booking]
    if row.booking != "did_not_attend":
        return text
    calls = "; ".join(
        p
        for p in (
            row.phone and f"phone {row.phone}",
            row.emergency_contact and f"emergency contact {row.emergency_contact}",
        )
        if p
    )
    return f"{text.upper()}: call {calls}" if calls else text.upper()


def booked_text(row: DueRow) -> str:
    """The booked day and the booking state in one cell (the window's due list): the day,
    after "booked too late: " when it is (the words first: a narrow cell keeps them); else
    the state ("not booked", a missed visit with whom to call)."""
    words = due_booking_text(row)
    if row.booked_on is None:
        return words
    day = format_date(row.booked_on)
    return f"{words}: {day}" if words else day


def visit_text(booking: BookingRecord, *, with_day: bool = True) -> str:
    """When and where the visit is: day (unless ``with_day`` is False), time, place, nurse."""
    at = "" if booking.at is None else f"{' at ' if with_day else ''}{booking.at:%H:%M}"
    nurse = f" with {booking.nurse}" if booking.nurse else ""
    day = format_date(booking.day) if with_day else ""
    return f"{day}{at}{', ' if day or at else ''}{PLACE_TEXT[booking.place]}{nurse}"


def booking_line(booking: BookingRecord, *, with_day: bool = True) -> str:
    """One booking in one line, as the week view and the command line write it: the visit
    (:func:`visit_text`), patient, and its state (booked too late when it is after the
    refill-due date as the forecast is now)."""
    state = "booked too late" if booking.too_late else STATE_TEXT[booking.state]
    due = "" if booking.refill_due is None else f"; refill due {format_date(booking.refill_due)}"
    return (
        f"{visit_text(booking, with_day=with_day)}: {booking.patient} ({booking.mrn}), {state}{due}"
    )
