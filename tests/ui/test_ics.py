"""The iCalendar export: RFC 5545 structure, escaping, folding, CRLF, one event per row, and
the dashboard writing the rows shown to the file chosen."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from dialog_recorder import Dialogs

from pumpmgr.records import DueRow
from ui.ics import due_list_calendar, escape_text, fold
from ui.main_window import MainWindow
from ui.models.due_list import DueFilter

BERLIN = ZoneInfo("Europe/Berlin")


def row(**changes: object) -> DueRow:
    values: dict[str, object] = dict(
        patient_id=1, mrn="100001", patient="MÜLLER, Jörg; jr", pump_id=7,
        pump_model="SynchroMed II 20 mL", pump_type="programmable_peristaltic",
        drug="baclofen 2000 mcg/mL", days_left=10.0,
        alarm_at=datetime(2025, 10, 30, 8, 0, tzinfo=UTC), refill_due=date(2025, 10, 23),
        refill_due_reason="alarm", replace_by=date(2031, 5, 1), state="due_this_week")
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


def test_calendar_structure() -> None:
    text = due_list_calendar([row(), row(pump_id=8, mrn="100002", refill_due=date(2025, 10, 8),
                                         state="overdue", days_left=-5)],
                             today=date(2025, 10, 20), tz=BERLIN, buffer_days=7,
                             clinic_name="IT clinic", generated_at=datetime(2025, 10, 20, 7,
                                                                            tzinfo=UTC))
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    lines = unfold(text)
    assert lines[:6] == ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//pumpmgr//refill due "
                         "list//EN", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
                         "X-WR-CALNAME:IT clinic: IT pump refills"]
    assert lines.count("BEGIN:VEVENT") == 2 and lines.count("END:VEVENT") == 2
    assert lines[-2] == "END:VCALENDAR"
    assert "UID:pumpmgr-refill-7-20251023@pumpmgr" in lines
    assert "DTSTAMP:20251020T070000Z" in lines
    assert "DTSTART;VALUE=DATE:20251023" in lines and "DTEND;VALUE=DATE:20251024" in lines
    assert "SUMMARY:Refill: MÜLLER\\, Jörg\\; jr (MRN 100001)" in lines
    # an overdue refill is put on today, and says so
    assert "SUMMARY:OVERDUE refill: MÜLLER\\, Jörg\\; jr (MRN 100002)" in lines
    assert "DTSTART;VALUE=DATE:20251020" in lines
    description = next(x for x in lines if x.startswith("DESCRIPTION:"))
    assert "Refill due: Thu 23 Oct 2025 (alarm − 7 days)\\nAlarm date: Thu 30 Oct 2025" in (
        description)
    assert all(len(x.encode()) <= 75 for x in text.split("\r\n"))


def test_dashboard_exports_the_rows_shown(window: MainWindow, dialogs: Dialogs,
                                          tmp_path: Path) -> None:
    dialogs.save_to = tmp_path / "refills"
    window.dashboard.set_filter(DueFilter.OVERDUE)
    written = window.dashboard.export_calendar()
    assert written == tmp_path / "refills.ics"
    text = written.read_text(encoding="utf-8")
    assert text.count("BEGIN:VEVENT") == 1
    assert "OVERDUE refill: BECKER\\, Lena (MRN 100001)" in text.replace("\r\n ", "")
    assert "patient names" in dialogs.texts("confirm")[0]
    assert dialogs.texts("info") == [f"1 appointment written to {written}."]
    entry = window.clinic.audit_entries(0, 1)[0]  # who exported which patients (issue 13)
    assert (entry.action, entry.username) == ("export.calendar", "nina")
    assert json.loads(entry.payload) == {"file": "refills.ics", "patients": ["100001"]}


def test_export_cancelled_writes_nothing(window: MainWindow, dialogs: Dialogs,
                                         tmp_path: Path) -> None:
    dialogs.confirm_answer = False
    assert window.dashboard.export_calendar() is None
    dialogs.confirm_answer = True
    dialogs.save_to = None
    assert window.dashboard.export_calendar() is None
    assert list(tmp_path.glob("*.ics")) == []


def test_export_to_a_folder_that_cannot_be_written(window: MainWindow, dialogs: Dialogs,
                                                   tmp_path: Path) -> None:
    dialogs.save_to = tmp_path / "missing" / "refills.ics"
    assert window.dashboard.export_calendar() is None
    assert "Choose another folder" in dialogs.texts("error")[0]
