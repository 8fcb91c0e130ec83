"""``pumpmgr book`` and ``pumpmgr bookings`` (issue 16): the service's checks, exit 2 with one
line naming the option when refused, and ``pumpmgr due`` with the booking columns."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from cli_runner import run

from pumpmgr.db import schema as db
from pumpmgr.db.engine import open_database
from pumpmgr.records import DueRow
from pumpmgr.services import ClinicService

NURSE = ("--user", "nurse1", "--password-stdin")
PASSWORD = "demo-nurse-pass\n"


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "clinic.db"
    result = run("--db", str(path), "demo", "--patients", "12", "--seed", "3")
    assert result.code == 0, result.err
    return path


@pytest.fixture
def clinic_file(demo_file: Path, tmp_path: Path) -> Path:
    path = tmp_path / "clinic.db"
    shutil.copy2(demo_file, path)
    return path


def _unbooked(path: Path) -> tuple[DueRow, date]:
    """A pump due later with no booking, and the day the service proposes for it."""
    database = open_database(str(path), daily_backup_keep=None)
    try:
        clinic = ClinicService(database)
        for row in clinic.due_list():
            if row.booked_on is None and row.refill_due > clinic.today() + timedelta(days=3):
                day = clinic.bookings.propose(row.pump_id)
                if day is not None:
                    return row, day
    finally:
        database.dispose()
    raise AssertionError("the demo has no pump to book")


def test_book_on_the_proposed_day_then_list_it(
    clinic_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    row, day = _unbooked(clinic_file)
    result = run(
        "--db",
        str(clinic_file),
        "book",
        row.mrn,
        "--on",
        day.isoformat(),
        "--at",
        "10:15",
        "--place",
        "home",
        *NURSE,
        stdin=PASSWORD,
        monkeypatch=monkeypatch,
    )
    assert result.code == 0, result.err
    assert "home visit" in result.out and row.mrn in result.out and "In time" in result.out
    listed = run("--db", str(clinic_file), "bookings", "--on", day.isoformat(), "--json")
    assert listed.code == 0, listed.err
    mine = [b for b in listed.json() if b["mrn"] == row.mrn]
    assert mine and mine[0]["at"] == "10:15:00" and mine[0]["place"] == "home"
    assert mine[0]["state"] == "booked" and mine[0]["booked_by"] == "Nora Lindqvist"
    due = run("--db", str(clinic_file), "due")
    assert "Booked" in due.out.splitlines()[0]
    line = next(x for x in due.out.splitlines() if row.mrn in x)
    assert line.count(f"{day.day} {day:%b %Y}") >= 1


def _late_but_bookable(path: Path) -> tuple[DueRow, date]:
    """A pump with no booking and the first weekday after its refill-due date (after today for
    an overdue pump), on or before its stored worst-case low date: late, not refused (where
    the worst case sets the due date, no day after it can be booked; domain-rules §3)."""
    database = open_database(str(path), daily_backup_keep=None)
    try:
        clinic = ClinicService(database)
        for row in clinic.due_list():
            # an overdue pump is late on any day from tomorrow
            late = max(row.refill_due, clinic.today()) + timedelta(days=1)
            while late.weekday() >= 5:
                late += timedelta(days=1)
            with database.read() as session:
                worst = session.get_one(db.PumpForecast, row.pump_id).alarm_at_worst_case
            if (
                row.booked_on is None
                and worst is not None
                and late <= worst.astimezone(clinic.tz).date()
            ):
                return row, late
    finally:
        database.dispose()
    raise AssertionError("the demo has no pump that can be booked late")


def test_a_late_day_needs_the_reason_option(
    clinic_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    row, late = _late_but_bookable(clinic_file)
    refused = run(
        "--db",
        str(clinic_file),
        "book",
        row.mrn,
        "--on",
        late.isoformat(),
        *NURSE,
        stdin=PASSWORD,
        monkeypatch=monkeypatch,
    )
    assert refused.one_line_error.startswith("pumpmgr book: --reason: ")
    assert "booked too late" in refused.err


def test_a_closed_day_a_past_day_and_bad_options_are_one_line(
    clinic_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    row, day = _unbooked(clinic_file)
    saturday = day - timedelta(days=(day.weekday() - 5) % 7)
    cases = {
        saturday.isoformat(): "--on: the clinic is closed",
        "2020-01-06": "--on: ",
        "06/01/2027": "--on",
    }
    for typed, start in cases.items():
        result = run(
            "--db",
            str(clinic_file),
            "book",
            row.mrn,
            "--on",
            typed,
            *NURSE,
            stdin=PASSWORD,
            monkeypatch=monkeypatch,
        )
        assert start in result.one_line_error, result.err
    bad_time = run(
        "--db",
        str(clinic_file),
        "book",
        row.mrn,
        "--on",
        day.isoformat(),
        "--at",
        "25:00",
        *NURSE,
        stdin=PASSWORD,
        monkeypatch=monkeypatch,
    )
    assert "HH:MM" in bad_time.one_line_error
    unknown = run(
        "--db",
        str(clinic_file),
        "book",
        "NOPE",
        "--on",
        day.isoformat(),
        *NURSE,
        stdin=PASSWORD,
        monkeypatch=monkeypatch,
    )
    assert "MRN: no patient" in unknown.one_line_error
    wrong = run(
        "--db",
        str(clinic_file),
        "book",
        row.mrn,
        "--on",
        day.isoformat(),
        *NURSE,
        stdin="not the password\n",
        monkeypatch=monkeypatch,
    )
    assert wrong.one_line_error.startswith("pumpmgr book: --user: ")


def test_the_week_shows_free_room_and_pumps_to_book(clinic_file: Path) -> None:
    result = run("--db", str(clinic_file), "bookings", "--week", date.today().isoformat(), "--json")
    assert result.code == 0, result.err
    week = result.json()
    assert len(week["days"]) == 7
    assert all(set(day["free"]) == {"clinic", "home"} for day in week["days"])
    text = run("--db", str(clinic_file), "bookings", "--week", date.today().isoformat())
    assert text.code == 0 and ("free" in text.out or "closed" in text.out)


def test_the_due_list_puts_a_missed_visit_first_with_whom_to_call(clinic_file: Path) -> None:
    due = run("--db", str(clinic_file), "due", "--json")
    rows = due.json()
    missed = [r for r in rows if r["booking"] == "did_not_attend"]
    if missed:  # the demo books a missed visit when the history leaves room for it
        assert rows[0]["booking"] == "did_not_attend"
        assert rows[0]["phone"].startswith("555-02")
        text = run("--db", str(clinic_file), "due").out
        assert "DID NOT ATTEND: call phone 555-02" in text


def test_the_calendar_file_holds_every_booked_visit_and_each_pump_to_book(
    clinic_file: Path, tmp_path: Path
) -> None:
    database = open_database(str(clinic_file), daily_backup_keep=None)
    try:
        clinic = ClinicService(database)
        booked = clinic.bookings.open_bookings()
        rows = clinic.due_list()
    finally:
        database.dispose()
    assert booked and len(rows) > len(booked)
    out = tmp_path / "refills.ics"
    result = run("--db", str(clinic_file), "bookings", "--ics", str(out))
    assert result.code == 0, result.err
    text = out.read_text(encoding="utf-8").replace("\r\n ", "")
    assert text.count("BEGIN:VEVENT") == len(rows) == text.count("BEGIN:VALARM")
    assert all(f"UID:pumpmgr-booking-{b.id}@pumpmgr" in text for b in booked)
    assert text.count("SUMMARY:Refill visit: ") == len(booked)
    again = run("--db", str(clinic_file), "bookings", "--ics", str(out))
    assert again.code == 2 and "--ics" in again.one_line_error  # never overwritten
