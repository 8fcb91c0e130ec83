"""The due list as an iCalendar file (RFC 5545) of refill appointments, for the clinic's diary.

UI layer helper, pure: imports the standard library, :mod:`pumpmgr.records` and
:mod:`ui.presentation` only. Each appointment is an all-day event on the refill-due date (today,
for a refill already overdue, so it is not lost in the past), with the patient, MRN, pump, drug,
alarm date and why the date is due in its description. Lines end in CRLF, long lines are
folded at 75 octets, and text values are escaped (RFC 5545 sections 3.1 and 3.3.11).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, tzinfo

from pumpmgr.formatting import days_left_text
from pumpmgr.records import DueRow
from pumpmgr.urgency import reason_text
from ui import presentation

PRODID = "-//pumpmgr//refill due list//EN"
_LIMIT = 75


def escape_text(value: str) -> str:
    """A TEXT value: backslash, semicolon, comma and newlines escaped (RFC 5545 3.3.11)."""
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


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


def refill_event(row: DueRow, *, today: date, tz: tzinfo, buffer_days: int, stamp: datetime,
                 ) -> list[str]:
    """The VEVENT lines (unfolded) of one due-list row."""
    overdue = row.refill_due < today
    day = today if overdue else row.refill_due
    prefix = "OVERDUE refill" if overdue else "Refill"
    summary = f"{prefix}: {row.patient} (MRN {row.mrn})"
    description = "\n".join([
        f"Patient: {row.patient}, MRN {row.mrn}",
        f"Pump: {row.pump_model}",
        f"Drug: {row.drug}",
        f"Refill due: {presentation.date_text(row.refill_due)} "
        f"({reason_text(row, buffer_days)})",
        f"Alarm date: {presentation.alarm_text(row, tz)}",
        f"Drug left today: {days_left_text(row.days_left)}",
        f"Replace by: {presentation.replace_by_text(row)}",
        "Made by pumpmgr: the pump's programmer stays the device of record.",
    ])
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
        "END:VEVENT",
    ]


def due_list_calendar(rows: Iterable[DueRow], *, today: date, tz: tzinfo, buffer_days: int,
                      clinic_name: str, generated_at: datetime) -> str:
    """The whole VCALENDAR text, CRLF line ends, ready to write as UTF-8."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(f'{clinic_name}: IT pump refills')}",
    ]
    for row in rows:
        lines += refill_event(row, today=today, tz=tz, buffer_days=buffer_days,
                              stamp=generated_at)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
