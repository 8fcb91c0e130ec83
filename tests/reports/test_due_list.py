"""The due list: ordered by refill-due date, with reasons, flags and replace-by dates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from sheet_samples import GENERATED, pdf_text

from pumpmgr.errors import ImpossibleInput
from pumpmgr.formatting import format_date
from pumpmgr.records import ClinicSettings, DueRow
from pumpmgr.reports import build_due_list
from pumpmgr.reports.due_list import listed

Sheet = Callable[..., bytes]
START, END = date(2025, 3, 24), date(2025, 4, 11)


def test_rows_in_refill_due_order_with_every_field(sheet: Sheet,
                                                   sample_due_rows: list[DueRow]) -> None:
    text = pdf_text(sheet("due_list"))
    shown = listed(sample_due_rows, START, END)
    assert [r.mrn for r in shown] == ["100412", "100234", "100871"]
    positions = [text.index(r.patient) for r in shown]
    assert positions == sorted(positions)
    for row in shown:
        for value in (format_date(row.refill_due), row.patient, f"MRN {row.mrn}", row.pump_model,
                      row.drug, format_date(row.alarm_at)):
            assert value in text, value
    assert "3 days" in text and "12 days" in text  # drug left: whole days, never more
    assert "OVERDUE" in text and "alarm passed" in text
    # the baclofen pump (14.5 % labelled accuracy) is due by its worst case (issue 11)
    assert ("reservoir may be low if the pump runs fast; open discrepancy; flex schedule"
            in text)
    assert "drug's in-pump stability limit" in text
    assert "planning volume date minus the 7-day buffer" in text  # the constant-flow pump
    assert f"{format_date(START)} to {format_date(END)}" in text
    assert "3 refills due by the end of the period, 1 of them overdue." in text


def test_replace_by_dates_in_the_period(sheet: Sheet) -> None:
    text = pdf_text(sheet("due_list"))
    section = text[text.index("Pumps to replace"):]
    assert "OKONJO, Grace" in section and format_date(date(2025, 4, 9)) in section
    assert "MARTIN" not in section  # replace by 2029


def test_empty_period_and_bad_period(settings: ClinicSettings) -> None:
    text = pdf_text(build_due_list([], settings, start=START, end=END, generated_at=GENERATED))
    assert "No refill is due in this period." in text
    with pytest.raises(ImpossibleInput, match="before it starts"):
        build_due_list([], settings, start=END, end=START, generated_at=GENERATED)
