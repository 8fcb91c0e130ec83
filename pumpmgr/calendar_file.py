"""The clinic's refill visits as an iCalendar file (RFC 5545), for the clinic's diary: each
booked visit on its booked day and time, and each pump due and not booked on an open day by
which it must be booked; every event with a reminder (VALARM) the day before.

Pure layer: stdlib and the pure pumpmgr modules (records, formatting, booking, urgency); the
window and the command line write the same file. A pump due and not booked is placed on its
refill-due date when that is still to come and open, else on the last open day before it from
today, else (overdue) on the clinic's next open day: never on a closed day (issue 13). Lines
end in CRLF, long lines are folded at 75 octets, and text values are escaped (RFC 5545
sections 3.1 and 3.3.11).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo

from pumpmgr.booking import ClinicCalendar, due_booking_text, visit_text
from pumpmgr.formatting import days_left_text, format_date
from pumpmgr.records import BookingRecord, DueRow
from pumpmgr.urgency import alarm_text, reason_text, replace_by_text

PRODID = "-//pumpmgr//refill visits//EN"
_LIMIT = 75
#: A booked visit's length in the diary (clinic convention; the clinic records none).
VISIT_MINUTES = 30
#: The reminder: the day before the event, time to phone the patient and prepare the drug.
REMINDER = "-P1D"


def escape_text(value: str) -> str:
    """A TEXT value: backslash, semicolon, comma and newlines escaped (RFC 5545 3.3.11)."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """One content line folded so no physical line exceeds 75 octets (RFC 5545 3.1)."""
    out: list[str] = []
    current = ""
    size = 0
    for char in line:
        width = len(char.encode("utf-8"))
        limit = _LIMIT if not out else _LIMIT - 1  # continuation lines start with a space
        if size + width > limit:
            out.append(current)
            current, size = "", 0
        current += char
        size += width
    out.append(current)
    return "\r\n ".join(out)


def _date(day: date) -> str:
    return f"{day:%Y%m%d}"


def _stamp(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def placed_on(row: DueRow, *, today: date, calendar: ClinicCalendar) -> date:
    """The open day a pump due and not booked is shown on: its refill-due date when that is
    to come and open, else the last open day before it from today, else the next open day."""
    day = row.refill_due
    while day >= today:
        if calendar.is_open(day):
            return day
        day -= timedelta(days=1)
    return calendar.next_open(today)


def _alarm(summary: str) -> list[str]:
    return [
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        f"DESCRIPTION:{escape_text(summary)}",
        f"TRIGGER:{REMINDER}",
        "END:VALARM",
    ]


def _details(row: DueRow | None, tz: tzinfo, buffer_days: int) -> list[str]:
    if row is None:
        return []
    return [
        f"Pump: {row.pump_model}",
        f"Drug: {row.drug}",
        f"Refill due: {format_date(row.refill_due)} ({reason_text(row, buffer_days)})",
        f"Alarm date: {alarm_text(row, tz)}",
        f"Drug left today: {days_left_text(row.days_left)}",
        f"Replace by: {replace_by_text(row)}",
    ]


_MADE_BY = "Made by pumpmgr: the pump's programmer stays the device of record."


def visit_event(
    booking: BookingRecord, row: DueRow | None, *, tz: tzinfo, buffer_days: int, stamp: datetime
) -> list[str]:
    """The VEVENT lines (unfolded) of a booked visit: at its time when it has one (in UTC),
    else all day."""
    late = ", booked too late" if booking.too_late else ""
    summary = f"Refill visit: {booking.patient} (MRN {booking.mrn}){late}"
    description = "\n".join(
        [
            f"Patient: {booking.patient}, MRN {booking.mrn}",
            f"Visit: {visit_text(booking)}{late}",
            *([f"Note: {booking.note}"] if booking.note else []),
            *_details(row, tz, buffer_days),
            _MADE_BY,
        ]
    )
    if booking.at is None:
        when = [
            f"DTSTART;VALUE=DATE:{_date(booking.day)}",
            f"DTEND;VALUE=DATE:{_date(booking.day + timedelta(days=1))}",
        ]
    else:
        start = datetime.combine(booking.day, booking.at, tz)
        when = [
            f"DTSTART:{_stamp(start)}",
            f"DTEND:{_stamp(start + timedelta(minutes=VISIT_MINUTES))}",
        ]
    return [
        "BEGIN:VEVENT",
        f"UID:pumpmgr-booking-{booking.id}@pumpmgr",
        f"DTSTAMP:{_stamp(stamp)}",
        *when,
        f"SUMMARY:{escape_text(summary)}",
        f"DESCRIPTION:{escape_text(description)}",
        "CATEGORIES:IT pump refill",
        *_alarm(summary),
        "END:VEVENT",
    ]


def not_booked_event(
    row: DueRow,
    *,
    today: date,
    calendar: ClinicCalendar,
    tz: tzinfo,
    buffer_days: int,
    stamp: datetime,
) -> list[str]:
    """The VEVENT lines (unfolded) of a pump due and not booked: all day on
    :func:`placed_on`'s open day."""
    day = placed_on(row, today=today, calendar=calendar)
    prefix = "OVERDUE, book the refill" if row.refill_due < today else "Book the refill"
    summary = f"{prefix}: {row.patient} (MRN {row.mrn})"
    state = due_booking_text(row) or "not booked"
    description = "\n".join(
        [
            f"Patient: {row.patient}, MRN {row.mrn}",
            f"Booking: {state}",
            *([f"Phone: {row.phone}"] if row.phone else []),
            *_details(row, tz, buffer_days),
            _MADE_BY,
        ]
    )
    return [
        "BEGIN:VEVENT",
        f"UID:pumpmgr-refill-{row.pump_id}-{_date(row.refill_due)}@pumpmgr",
        f"DTSTAMP:{_stamp(stamp)}",
        f"DTSTART;VALUE=DATE:{_date(day)}",
        f"DTEND;VALUE=DATE:{_date(day + timedelta(days=1))}",
        f"SUMMARY:{escape_text(summary)}",
        f"DESCRIPTION:{escape_text(description)}",
        "CATEGORIES:IT pump refill",
        "TRANSP:TRANSPARENT",
        *_alarm(summary),
        "END:VEVENT",
    ]


def clinic_calendar(
    rows: Sequence[DueRow],
    bookings: Iterable[BookingRecord],
    *,
    today: date,
    calendar: ClinicCalendar,
    tz: tzinfo,
    buffer_days: int,
    clinic_name: str,
    generated_at: datetime,
) -> str:
    """The whole VCALENDAR text, CRLF line ends, ready to write as UTF-8: the open
    ``bookings`` of the pumps in ``rows``, then the pumps in ``rows`` with no open booking."""
    by_pump = {row.pump_id: row for row in rows}
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(f'{clinic_name}: IT pump refills')}",
    ]
    booked: set[int] = set()
    for booking in bookings:
        if booking.state != "booked" or booking.pump_id not in by_pump:
            continue
        booked.add(booking.pump_id)
        lines += visit_event(
            booking, by_pump[booking.pump_id], tz=tz, buffer_days=buffer_days, stamp=generated_at
        )
    for row in rows:
        if row.pump_id not in booked:
            lines += not_booked_event(
                row,
                today=today,
                calendar=calendar,
                tz=tz,
                buffer_days=buffer_days,
                stamp=generated_at,
            )
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
