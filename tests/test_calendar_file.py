"""The calendar file (RFC 5545): structure, escaping, folding, CRLF; each booked visit at its
time with a reminder, each pump due and not booked on an open day, never a closed one
(issue 13), with a reminder too."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from pumpmgr.booking import ClinicCalendar
from pumpmgr.calendar_file import clinic_calendar, escape_text, fold, placed_on
from pumpmgr.records import BookingRecord, DueRow

BERLIN = ZoneInfo("Europe/Berlin")


def row(**changes: object) -> DueRow:
    values: dict[str, object] = dict(
        patient_id=1,
        mrn="100001",
        patient="MÜLLER, Jörg; jr",
        pump_id=7,
        pump_model="SynchroMed II 20 mL",
        pump_type="programmable_peristaltic",
        drug="baclofen 2000 mcg/mL",
        days_left=10.0,
        alarm_at=datetime(2025, 10, 30, 8, 0, tzinfo=UTC),
        refill_due=date(2025, 10, 23),
        refill_due_reason="alarm",
        replace_by=date(2031, 5, 1),
        state="due_this_week",
    )
    values.update(changes)
    return DueRow(**values)  # type: ignore[arg-type]


def unfold(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")


def test_escape_and_fold() -> None:
    assert escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
    line = "DESCRIPTION:" + "µ" * 100
    folded = fold(line)
    assert all(len(part.encode()) <= 75 for part in folded.split("\r\n"))
    assert folded.replace("\r\n ", "") == line


#: Monday to Friday, closed on Friday 24 October 2025.
WEEKDAYS = ClinicCalendar(frozenset(range(5)), frozenset({date(2025, 10, 24)}))
STAMP = datetime(2025, 10, 20, 7, tzinfo=UTC)


def visit(**changes: object) -> BookingRecord:
    values: dict[str, object] = dict(
        id=3,
        pump_id=7,
        patient_id=1,
        mrn="100001",
        patient="MÜLLER, Jörg; jr",
        day=date(2025, 10, 22),
        at=time(9, 30),
        place="clinic",
        nurse="Nina Nurse",
        note="brings the card",
        state="booked",
        late_reason="",
        refill_due=date(2025, 10, 23),
        too_late=False,
        booked_by="Nina Nurse",
        booked_at=STAMP,
        changed_by="Nina Nurse",
        changed_at=STAMP,
        version=1,
    )
    values.update(changes)
    return BookingRecord(**values)  # type: ignore[arg-type]


def calendar_of(
    rows: list[DueRow], bookings: list[BookingRecord], today: date = date(2025, 10, 20)
) -> list[str]:
    text = clinic_calendar(
        rows,
        bookings,
        today=today,
        calendar=WEEKDAYS,
        tz=BERLIN,
        buffer_days=7,
        clinic_name="IT clinic",
        generated_at=STAMP,
    )
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    assert all(len(x.encode()) <= 75 for x in text.split("\r\n"))
    return unfold(text)


def events(lines: list[str]) -> list[list[str]]:
    found, current = [], None
    for line in lines:
        if line == "BEGIN:VEVENT":
            current = []
        elif line == "END:VEVENT":
            found.append(current)
            current = None
        elif current is not None:
            current.append(line)
    return found


def test_a_booked_visit_at_its_time_with_a_reminder_the_day_before() -> None:
    lines = calendar_of([row()], [visit()])
    assert lines[:6] == [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//pumpmgr//refill visits//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "X-WR-CALNAME:IT clinic: IT pump refills",
    ]
    assert lines[-2] == "END:VCALENDAR"
    (event,) = events(lines)  # the booked pump is not listed again as not booked
    assert "UID:pumpmgr-booking-3@pumpmgr" in event
    assert "DTSTAMP:20251020T070000Z" in event
    # 09:30 in Berlin (summer time until 26 October) is 07:30 UTC; half an hour
    assert "DTSTART:20251022T073000Z" in event and "DTEND:20251022T080000Z" in event
    assert "SUMMARY:Refill visit: MÜLLER\\, Jörg\\; jr (MRN 100001)" in event
    description = next(x for x in event if x.startswith("DESCRIPTION:"))
    assert (
        "Visit: Wed 22 Oct 2025 at 09:30\\, clinic room with Nina Nurse\\nNote: brings the card"
    ) in description
    assert (
        "Refill due: Thu 23 Oct 2025 (alarm date with every bolus taken\\, minus the 7-day "
        "buffer)\\nAlarm date: Thu 30 Oct 2025"
    ) in (description)
    alarm = event[event.index("BEGIN:VALARM") : event.index("END:VALARM") + 1]
    assert alarm[1:2] == ["ACTION:DISPLAY"] and "TRIGGER:-P1D" in alarm


def test_an_untimed_or_late_visit_and_bookings_of_other_pumps() -> None:
    lines = calendar_of(
        [row()],
        [
            visit(at=None, too_late=True, day=date(2025, 10, 27)),
            visit(id=4, pump_id=99),
            visit(id=5, state="cancelled"),
        ],
    )
    (event,) = events(lines)
    assert "DTSTART;VALUE=DATE:20251027" in event and "DTEND;VALUE=DATE:20251028" in event
    assert any(x.startswith("SUMMARY:") and x.endswith("booked too late") for x in event)


def test_pumps_not_booked_are_placed_on_an_open_day_with_a_reminder() -> None:
    rows = [
        row(),  # due Thu 23 Oct: on that day
        row(
            pump_id=8,
            mrn="100002",
            refill_due=date(2025, 10, 8),
            state="overdue",
            days_left=-5,
            booking="not_booked",
            phone="030 1234",
        ),  # overdue: today
        row(pump_id=9, mrn="100003", refill_due=date(2025, 10, 26)),  # Sunday: Thursday
    ]
    placed = {}
    for event in events(calendar_of(rows, [])):
        uid = next(x for x in event if x.startswith("UID:"))
        placed[uid] = next(x for x in event if x.startswith("DTSTART"))
        assert "TRIGGER:-P1D" in event and "TRANSP:TRANSPARENT" in event
    assert placed == {
        "UID:pumpmgr-refill-7-20251023@pumpmgr": "DTSTART;VALUE=DATE:20251023",
        "UID:pumpmgr-refill-8-20251008@pumpmgr": "DTSTART;VALUE=DATE:20251020",
        # Sat 25 and Sun 26 closed, Fri 24 a closed date: Thursday 23
        "UID:pumpmgr-refill-9-20251026@pumpmgr": "DTSTART;VALUE=DATE:20251023",
    }
    overdue = events(calendar_of(rows[1:2], [], today=date(2025, 10, 25)))[0]  # a Saturday
    assert "DTSTART;VALUE=DATE:20251027" in overdue  # the next open day, Monday
    assert "SUMMARY:OVERDUE\\, book the refill: MÜLLER\\, Jörg\\; jr (MRN 100002)" in overdue
    description = next(x for x in overdue if x.startswith("DESCRIPTION:"))
    assert "Booking: not booked\\nPhone: 030 1234" in description


@given(
    today=st.dates(date(2025, 1, 1), date(2026, 12, 31)),
    due=st.dates(date(2024, 6, 1), date(2027, 6, 30)),
)
def test_a_pump_not_booked_is_never_placed_on_a_closed_day(today: date, due: date) -> None:
    day = placed_on(row(refill_due=due), today=today, calendar=WEEKDAYS)
    assert WEEKDAYS.is_open(day) and day >= today
    assert day <= due or day < today + timedelta(days=7)  # late only when overdue already
