"""The due list: ordered by refill-due date, with reasons, flags and replace-by dates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date

import pytest
from sheet_samples import GENERATED, due_rows, pdf_pages, pdf_text

from pumpmgr.errors import ImpossibleInput
from pumpmgr.formatting import format_date
from pumpmgr.records import ClinicSettings, DueRow
from pumpmgr.reports import build_due_list
from pumpmgr.reports.due_list import listed

Sheet = Callable[..., bytes]
START, END = date(2025, 3, 24), date(2025, 4, 11)


def test_rows_in_refill_due_order_with_every_field(
    sheet: Sheet, sample_due_rows: list[DueRow]
) -> None:
    text = pdf_text(sheet("due_list"))
    shown = listed(sample_due_rows, START, END)
    assert [r.mrn for r in shown] == ["100412", "100234", "100871"]
    positions = [text.index(r.patient) for r in shown]
    assert positions == sorted(positions)
    for row in shown:
        for value in (
            format_date(row.refill_due),
            row.patient,
            f"MRN {row.mrn}",
            row.pump_model,
            row.drug,
            format_date(row.alarm_at),
        ):
            assert value in text, value
    assert "3 days" in text and "12 days" in text  # drug left: whole days, never more
    assert "OVERDUE" in text and "alarm passed" in text
    # the baclofen pump (14.5 % labelled accuracy) is due by its worst case (issue 11)
    assert "reservoir may be low if the pump runs fast; open discrepancy; flex schedule" in text
    assert "drug's in-pump stability limit" in text
    assert "planning volume date minus the 7-day buffer" in text  # the constant-flow pump
    assert f"{format_date(START)} to {format_date(END)}" in text
    assert "3 refills due by the end of the period, 1 of them overdue." in text


def test_replace_by_dates_in_the_period(sheet: Sheet) -> None:
    text = pdf_text(sheet("due_list"))
    section = text[text.index("Pumps to replace") :]
    assert "OKONJO, Grace" in section and format_date(date(2025, 4, 9)) in section
    assert "MARTIN" not in section  # replace by 2029


def test_empty_period_and_bad_period(settings: ClinicSettings) -> None:
    text = pdf_text(build_due_list([], settings, start=START, end=END, generated_at=GENERATED))
    assert "No refill is due in this period." in text
    with pytest.raises(ImpossibleInput, match="before it starts"):
        build_due_list([], settings, start=END, end=START, generated_at=GENERATED)


def test_a_long_list_starts_its_table_on_page_one(settings: ClinicSettings) -> None:
    """A list longer than a page: the table starts under the title (only the title on page 1
    was the fault), its header repeats, and every patient is listed once."""
    base = due_rows()
    rows = [
        replace(base[n % 3], pump_id=100 + n, mrn=f"9{n:05d}", patient=f"PATIENT{n:02d}, Test")
        for n in range(45)
    ]
    data = build_due_list(
        rows, settings, start=date(2025, 3, 24), end=date(2025, 4, 11), generated_at=GENERATED
    )
    pages = [" ".join(page.extract_text().split()) for page in pdf_pages(data)]
    assert len(pages) >= 2
    first = pages[0]
    assert "Refill due list" in first and "Refill due State Patient" in first
    assert sum(f"PATIENT{n:02d}" in first for n in range(45)) >= 5
    assert "Refill due State Patient" in pages[1]  # the header row repeats
    assert all(sum(f"PATIENT{n:02d}, Test" in page for page in pages) == 1 for n in range(45))


def test_an_open_incident_and_an_unsigned_order_are_flagged(
    settings: ClinicSettings, sample_due_rows: list[DueRow]
) -> None:
    """Domain-rules §4a and §7: the printed list says what awaits a prescriber, and a
    reviewed incident or a signed order leaves no flag."""
    first, *others = sample_due_rows
    flagged = replace(first, state="urgent", open_incident=True, order_alert="unsigned_high_risk")
    text = pdf_text(
        build_due_list([flagged, *others], settings, start=START, end=END, generated_at=GENERATED)
    )
    assert "INCIDENT to review" in text and "unsigned high-risk order" in text
    plain = pdf_text(
        build_due_list(sample_due_rows, settings, start=START, end=END, generated_at=GENERATED)
    )
    assert "INCIDENT" not in plain and "unsigned" not in plain
