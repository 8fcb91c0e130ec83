"""Printing from where each sheet belongs: the patient's worksheet, wallet card and history, the
due list of a period from the dashboard, a day's worksheets built in the background with
progress, and the preview's Print and Save as PDF."""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from dialog_recorder import Dialogs
from pypdf import PdfReader
from PySide6.QtCore import QTimer
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QApplication, QPushButton, QWidget
from pytestqt.qtbot import QtBot
from sample_clinic import PASSWORD, TODAY

from pumpmgr.formatting import format_date
from pumpmgr.reports import common
from ui.dialogs import print_preview
from ui.dialogs.print_preview import PrintPreviewDialog
from ui.main_window import MainWindow
from ui.widgets.date_edit import DateEdit

Shown = list[tuple[str, bytes, str]]


@pytest.fixture
def previews(monkeypatch: pytest.MonkeyPatch) -> Shown:
    """Every preview the program opened: (title, PDF, suggested file name)."""
    shown: Shown = []

    def preview(parent: QWidget | None, title: str, pdf: bytes, filename: str) -> None:
        shown.append((title, pdf, filename))

    monkeypatch.setattr(print_preview, "preview", preview)
    return shown


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


def open_mrn(window: MainWindow, mrn: str) -> None:
    window.open_patient(window.clinic.find_patient(mrn).id)


def _set_phone(window: MainWindow, phone: str) -> None:
    from dataclasses import replace

    clinic = window.clinic
    settings, version = clinic.settings_for_edit()
    clinic.update_settings(
        clinic.sign_in("admin", PASSWORD),
        replace(settings, clinic_name="Spinal pump clinic", clinic_phone=phone),
        version,
    )


def test_the_patient_sheets_print_from_the_patient_view(
    window: MainWindow,
    previews: Shown,
) -> None:
    _set_phone(window, "030 555 0100")
    hoffmann = next(r for r in window.clinic.due_list() if r.mrn == "100004")
    assert window.actor is not None
    window.clinic.bookings.book(
        window.actor, hoffmann.pump_id, hoffmann.refill_due, at=time(10, 15)
    )
    open_mrn(window, "100004")
    menu = window.patient.print_button.menu()
    texts = [a.text() for a in menu.actions()]
    assert texts == [
        "Refill &worksheet (before the visit)…",
        "Wallet &card…",
        "&History…",
        "&Admission hand-off for a ward…",
        "&Reminder letter of the booked visit…",
    ]
    for action in menu.actions():
        action.trigger()
    titles = [title for title, _, _ in previews]
    assert titles == [
        "Refill worksheet (before the visit)",
        "Wallet card",
        "Patient history",
        "Admission hand-off",
        "Reminder letter",
    ]
    for _, pdf, filename in previews:
        assert pdf.startswith(b"%PDF") and "100004" in filename and filename.endswith(".pdf")
        assert "HOFFMANN" in text_of(pdf).upper()
    letter = " ".join(text_of(previews[-1][1]).split())
    assert f"{format_date(hoffmann.refill_due)} at 10:15" in letter
    assert "Pump alarm" in letter and "If the pump alarm sounds" in letter
    assert "Call the clinic at 030 555 0100 the same day" in letter
    assert "Warning signs of withdrawal" in letter
    assert "Stopping baclofen suddenly can be life-threatening" in letter


def test_a_reminder_letter_needs_a_booked_visit_and_the_clinics_phone(
    window: MainWindow, previews: Shown, dialogs: Dialogs
) -> None:
    open_mrn(window, "100004")
    window.patient.print_sheet("reminder")
    assert "has no refill visit booked; book the visit first" in dialogs.texts("error")[-1]
    hoffmann = next(r for r in window.clinic.due_list() if r.mrn == "100004")
    assert window.actor is not None
    window.clinic.bookings.book(window.actor, hoffmann.pump_id, hoffmann.refill_due)
    _set_phone(window, "")
    window.patient.print_sheet("reminder")
    assert "clinic phone: the clinic's phone is not set" in dialogs.texts("error")[-1]
    assert previews == []


def test_the_due_list_of_a_chosen_period_prints_from_the_dashboard(
    qtbot: QtBot, window: MainWindow, previews: Shown, monkeypatch: pytest.MonkeyPatch
) -> None:
    today = window.clinic.today()
    asked: list[object] = []

    def ask_period(parent: QWidget | None, day: object) -> tuple[object, object]:
        asked.append(day)
        return today, today + timedelta(days=21)

    monkeypatch.setattr(print_preview, "ask_period", ask_period)
    window.show_dashboard()
    window.dashboard.print_due_button.click()
    assert asked == [today]
    ((title, pdf, filename),) = previews
    assert title == "Refill due list"
    assert filename == "due-list-2025-10-20-to-2025-11-10.pdf"
    assert "BECKER" in text_of(pdf).upper()


def test_a_days_worksheets_are_built_in_the_background_with_progress(
    qtbot: QtBot, window: MainWindow, previews: Shown, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The day's worksheets come from the day's bookings, in booked time order, each planned
    for its booked moment (issue 13: not the print time), then the page of the pumps due by
    then and not booked (issue 16)."""
    from pumpmgr.services.sheets import SheetService

    clinic, actor = window.clinic, window.actor
    assert actor is not None
    rows = {r.mrn: r for r in clinic.due_list()}
    day = TODAY + timedelta(days=1)  # Tuesday: Schulz and Wagner are due on or after it
    clinic.bookings.book(actor, rows["100003"].pump_id, day, at=time(14, 0))
    clinic.bookings.book(actor, rows["100002"].pump_id, day, at=time(9, 30), place="home")
    offered: list[date] = []

    def ask(parent: QWidget | None, default: date, is_open: object = None) -> date:
        offered.append(default)
        return day

    monkeypatch.setattr(print_preview, "ask_day", ask)
    job = window.print_day()
    assert job is not None
    assert offered == [TODAY]  # a Monday, open
    assert job.dialog.isVisible()  # the progress dialog, while the window stays usable
    with qtbot.waitSignal(job.done, timeout=20000):
        pass
    assert job.reported == [(1, 2), (2, 2)]
    assert not job.dialog.isVisible()
    ((title, pdf, filename),) = previews
    assert title == f"Worksheets for {format_date(day)}"
    assert filename == f"worksheets-{day:%Y-%m-%d}.pdf"
    pages = [
        " ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(pdf)).pages
    ]
    firsts = [p for p in pages if "Visit planned for" in p]
    assert ["MRN 100002" in firsts[0], "MRN 100003" in firsts[1]] == [True, True]
    assert f"Visit planned for {format_date(day)} 09:30" in firsts[0]
    assert f"Visit planned for {format_date(day)} 14:00" in firsts[1]
    sheets = SheetService(clinic)
    chart = sheets.chart("100003")
    booked = sheets.plan(chart, datetime.combine(day, time(14, 0)))
    now = sheets.plan(chart)
    assert booked.expected_residual is not None and now.expected_residual is not None
    assert booked.expected_residual < now.expected_residual  # a day and five hours on
    assert f"Expected {common.volume(booked.expected_residual)}" in firsts[1]
    assert "Due and not booked" in pages[-1]
    assert "BECKER, Lena" in pages[-1] and "WAGNER" not in pages[-1]


def test_the_day_chooser_offers_the_next_open_day_and_refuses_a_closed_one(
    qtbot: QtBot, window: MainWindow, dialogs: Dialogs
) -> None:
    from dataclasses import replace

    clinic = window.clinic
    admin = clinic.sign_in("admin", PASSWORD)
    settings, version = clinic.settings_for_edit()
    clinic.update_settings(
        admin,
        replace(settings, clinic_name="Test clinic", closed_dates=frozenset({TODAY})),
        version,
    )
    seen: list[date | None] = []

    def saturday_then_cancel() -> None:
        dialog = QApplication.activeModalWidget()
        assert dialog is not None
        edit = dialog.findChild(DateEdit)
        seen.append(edit.day())
        edit.line_edit.setText((TODAY + timedelta(days=5)).isoformat())  # Saturday
        QTimer.singleShot(100, lambda: _click(qtbot, "Cancel"))
        _click(qtbot, "Build worksheets")

    QTimer.singleShot(0, saturday_then_cancel)
    assert window.print_day() is None
    assert seen == [TODAY + timedelta(days=1)]  # Tuesday, not the closed Monday
    closed = dialogs.texts("warn")
    assert closed == [
        f"clinic day: the clinic is closed on "
        f"{format_date(TODAY + timedelta(days=5))}; choose an open day"
    ]


def _click(qtbot: QtBot, answer: str) -> None:
    dialog = QApplication.activeModalWidget()
    assert dialog is not None
    next(b for b in dialog.findChildren(QPushButton) if b.text() == answer).click()


def test_a_day_without_visits_or_patients_due_says_so(
    qtbot: QtBot,
    window: MainWindow,
    previews: Shown,
    dialogs: Dialogs,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        print_preview, "ask_day", lambda parent, day, is_open=None: day - timedelta(days=400)
    )
    job = window.print_day()
    assert job is not None
    with qtbot.waitSignal(job.failed, timeout=20000):
        pass
    assert "no visit is booked on" in dialogs.texts("error")[-1]
    assert previews == []


def test_the_preview_shows_prints_and_saves_the_pdf(
    qtbot: QtBot,
    window: MainWindow,
    dialogs: Dialogs,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pumpmgr.services.sheets import SheetService

    pdf = SheetService(window.clinic).worksheet("100004")
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    dialog = PrintPreviewDialog("Refill worksheet", pdf, "worksheet.pdf", window)
    qtbot.addWidget(dialog)
    assert dialog.page_count == pages
    assert dialog.print_button.isEnabled()

    printed = tmp_path / "printed.pdf"

    def choose_printer(parent: QWidget | None) -> QPrinter:
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(str(printed))
        printer.setResolution(100)
        return printer

    monkeypatch.setattr(print_preview, "choose_printer", choose_printer)
    assert dialog.print_sheet() is True
    assert len(PdfReader(printed).pages) == pages

    dialogs.save_to = tmp_path / "saved"
    saved = dialog.save()
    assert saved == tmp_path / "saved.pdf" and saved.read_bytes() == pdf
    assert "Saved to" in dialogs.texts("info")[-1]


def test_a_sheet_that_cannot_be_drawn_keeps_save_and_says_so(
    qtbot: QtBot, window: MainWindow
) -> None:
    dialog = PrintPreviewDialog("Wallet card", b"%PDF-1.4 not really a PDF", "card.pdf", window)
    qtbot.addWidget(dialog)
    assert dialog.page_count == 0
    assert not dialog.print_button.isEnabled() and dialog.save_button.isEnabled()
    assert dialog.info.text() == "Preview not available."


def test_the_completed_worksheet_and_card_print_from_the_wizard(
    qtbot: QtBot, window: MainWindow, previews: Shown
) -> None:
    from test_refill_wizard import (
        at_the_pump,
        choose_solution,
        open_wizard,
        programmer_as_pumpmgr,
        save,
        second_nurse,
        through_patient_and_residual,
        through_volume_and_program,
    )

    wizard = open_wizard(qtbot, window, "100001")
    through_patient_and_residual(qtbot, wizard, "1 mL")
    choose_solution(qtbot, wizard, lot="LOT-77")
    through_volume_and_program(qtbot, wizard)
    at_the_pump(qtbot, wizard)
    programmer_as_pumpmgr(qtbot, wizard)
    second_nurse(qtbot, wizard, concentrations=["2000 mcg/mL"], lot="LOT-77")
    save(qtbot, wizard)
    wizard.done_step.worksheet_button.click()
    wizard.done_step.card_button.click()
    (title, pdf, filename), (card_title, card, _) = previews
    assert title == "Completed refill worksheet" and filename.startswith("refill-worksheet-")
    assert "LOT-77" in text_of(pdf)
    assert card_title == "Wallet card" and card.startswith(b"%PDF")


def test_a_batch_finishing_after_the_window_locked_shows_nothing(
    qtbot: QtBot, window: MainWindow, previews: Shown, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        print_preview, "ask_day", lambda parent, day, is_open=None: day + timedelta(days=14)
    )
    job = window.print_day()
    assert job is not None
    window.lock()
    with qtbot.waitSignal(job.done, timeout=20000):
        pass
    assert previews == []


def _answer_the_dialog(qtbot: QtBot, answer: str, edits: list[str] | None = None) -> None:
    """When the next modal dialog opens, type ``edits`` into its date fields in order, then
    press its button named ``answer``."""

    def act() -> None:
        dialog = QApplication.activeModalWidget()
        assert dialog is not None
        for edit, text in zip(dialog.findChildren(DateEdit), edits or [], strict=False):
            edit.line_edit.setText(text)
        button = next(b for b in dialog.findChildren(QPushButton) if b.text() == answer)
        button.click()

    QTimer.singleShot(0, act)


def test_the_period_and_day_questions_return_what_was_chosen(qtbot: QtBot) -> None:
    today = date(2026, 3, 2)
    _answer_the_dialog(qtbot, "Preview", ["2026-03-05", "2026-03-19"])
    assert print_preview.ask_period(None, today) == (date(2026, 3, 5), date(2026, 3, 19))
    _answer_the_dialog(qtbot, "Cancel")
    assert print_preview.ask_period(None, today) is None
    _answer_the_dialog(qtbot, "Build worksheets", ["2026-03-09"])
    assert print_preview.ask_day(None, today) == date(2026, 3, 9)
    _answer_the_dialog(qtbot, "Cancel")
    assert print_preview.ask_day(None, today) is None
