"""The dashboard's calendar export: the booked visits of the rows shown and the pumps not
booked, written to the file chosen; a closed day is never used (issue 13)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import time, timedelta
from pathlib import Path

from dialog_recorder import Dialogs
from sample_clinic import PASSWORD, TODAY

from ui.main_window import MainWindow
from ui.models.due_list import DueFilter


def test_dashboard_exports_the_rows_shown(
    window: MainWindow, dialogs: Dialogs, tmp_path: Path
) -> None:
    clinic, actor = window.clinic, window.actor
    assert actor is not None
    schulz = next(r for r in clinic.due_list() if r.mrn == "100002")
    clinic.bookings.book(actor, schulz.pump_id, TODAY + timedelta(days=1), at=time(14, 0))
    window.show_dashboard()
    dialogs.save_to = tmp_path / "refills"
    window.dashboard.set_filter(DueFilter.THIS_WEEK)
    window.dashboard.search.setText("")
    written = window.dashboard.export_calendar()
    assert written == tmp_path / "refills.ics"
    text = written.read_text(encoding="utf-8").replace("\r\n ", "")
    assert text.count("BEGIN:VEVENT") == 1 and text.count("BEGIN:VALARM") == 1
    assert "SUMMARY:Refill visit: SCHULZ\\, Jonas (MRN 100002)" in text
    assert "DTSTART:20251021T120000Z" in text  # 14:00 in Berlin
    assert "patient names" in dialogs.texts("confirm")[0]
    assert dialogs.texts("info") == [f"1 appointment written to {written}."]
    entry = window.clinic.audit_entries(0, 1)[0]  # who exported which patients (issue 13)
    assert (entry.action, entry.username) == ("export.calendar", "nina")
    assert json.loads(entry.payload) == {"file": "refills.ics", "patients": ["100002"]}


def test_an_overdue_pump_not_booked_is_placed_on_the_next_open_day(
    window: MainWindow, dialogs: Dialogs, tmp_path: Path
) -> None:
    clinic = window.clinic
    admin = clinic.sign_in("admin", PASSWORD)
    settings, version = clinic.settings_for_edit()
    clinic.update_settings(
        admin,
        replace(settings, clinic_name="Test clinic", closed_dates=frozenset({TODAY})),
        version,
    )
    window.show_dashboard()
    window.dashboard.set_filter(DueFilter.OVERDUE)
    text = window.dashboard.calendar_text().replace("\r\n ", "")
    assert text.count("BEGIN:VEVENT") == 1
    assert "SUMMARY:OVERDUE\\, book the refill: BECKER\\, Lena (MRN 100001)" in text
    assert f"DTSTART;VALUE=DATE:{TODAY + timedelta(days=1):%Y%m%d}" in text  # not today
    assert "TRIGGER:-P1D" in text


def test_export_cancelled_writes_nothing(
    window: MainWindow, dialogs: Dialogs, tmp_path: Path
) -> None:
    dialogs.confirm_answer = False
    assert window.dashboard.export_calendar() is None
    dialogs.confirm_answer = True
    dialogs.save_to = None
    assert window.dashboard.export_calendar() is None
    assert list(tmp_path.glob("*.ics")) == []


def test_export_to_a_folder_that_cannot_be_written(
    window: MainWindow, dialogs: Dialogs, tmp_path: Path
) -> None:
    dialogs.save_to = tmp_path / "missing" / "refills.ics"
    assert window.dashboard.export_calendar() is None
    assert "Choose another folder" in dialogs.texts("error")[0]
