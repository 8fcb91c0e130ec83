"""Every sheet: the clinic's paper size, nothing outside the margins or over other text, and
byte-identical rebuilds."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pdfplumber
import pytest
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4, LETTER  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]
from reportlab.platypus import Paragraph  # type: ignore[import-untyped]
from sheet_samples import SHEETS, build_sample, layout_problems

from pumpmgr.records import ClinicSettings
from pumpmgr.reports.styles import STYLES, fields, grid, heading, text

Sheet = Callable[..., bytes]
WIDE = {"history", "due_list"}


@pytest.mark.parametrize("page_size", ["A4", "Letter"])
@pytest.mark.parametrize("name", SHEETS)
def test_page_size_and_layout(name: str, page_size: str, sheet: Sheet) -> None:
    data = sheet(name, page_size)
    width, height = A4 if page_size == "A4" else LETTER
    if name in WIDE:
        width, height = height, width
    for page in PdfReader(io.BytesIO(data)).pages:
        assert float(page.mediabox.width) == pytest.approx(width)
        assert float(page.mediabox.height) == pytest.approx(height)
    assert layout_problems(data) == []


@pytest.mark.parametrize("name", SHEETS)
def test_two_builds_are_identical(name: str, sheet: Sheet, settings: ClinicSettings) -> None:
    assert build_sample(name, settings) == sheet(name)


def test_the_layout_check_finds_overlaps_and_overflow() -> None:
    """The checker itself: two strings on top of each other, and one past the right margin."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1)
    canvas.setFont("Helvetica", 10)
    canvas.drawString(100, 500, "Aspirated volume")
    canvas.drawString(104, 502, "Expected 4.74 mL")
    canvas.drawString(A4[0] - 30, 300, "clipped")
    canvas.showPage()
    canvas.save()
    problems = layout_problems(buffer.getvalue())
    assert any("overlaps" in p for p in problems)
    assert any("outside the margins" in p for p in problems)


def _chars(table: Any) -> list[tuple[str, float, float, str, float, Any]]:
    """Every character the table draws: text, left, top, font, size and colour."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1)
    table.wrapOn(canvas, A4[0] - 100, A4[1] - 100)
    table.drawOn(canvas, 50, 300)
    canvas.showPage()
    canvas.save()
    with pdfplumber.open(io.BytesIO(buffer.getvalue())) as pdf:
        return [
            (
                c["text"],
                round(c["x0"], 3),
                round(c["top"], 3),
                c["fontname"],
                c["size"],
                c["non_stroking_color"],
            )
            for c in pdf.pages[0].chars
            if c["text"].strip()
        ]


def test_a_cell_of_one_line_is_drawn_where_its_paragraph_was() -> None:
    """fields, grid and heading draw text that fits on one line as the table's plain string:
    the same characters in the same font, size, colour and place as a Paragraph of it; longer
    text is still broken into lines."""
    long = "Check the label against the prescription and the pump programmer, " * 2
    rows = [("Model", "SynchroMed II 20 mL"), ("Reservoir capacity", "20 mL"), ("Note", long)]
    widths = (30 * mm, 90 * mm)

    def as_paragraphs(value: str, style: Any) -> list[Any]:  # what every cell used to be
        return [Paragraph(text(value), style)]

    before = fields(
        [(as_paragraphs(k, STYLES.label), as_paragraphs(v, STYLES.value)) for k, v in rows],
        widths,
    )
    assert _chars(fields(rows, widths)) == _chars(before)
    assert len({char[2] for char in _chars(before)}) > len(rows)  # the note takes two lines

    header = ["Drug", "Withdrawal or underdose (pump empty, catheter problem)", "Overdose"]
    body = [["Baclofen", "Itching, fever", long], ["Morphine", "Pain, sweating", "Drowsiness"]]
    columns_ = [30 * mm, 50 * mm, 50 * mm]
    old = grid(
        [as_paragraphs(h, STYLES.cell_head) for h in header],
        [
            [as_paragraphs(v, STYLES.cell_bold if i == 0 else STYLES.cell) for i, v in enumerate(r)]
            for r in body
        ],
        columns_,
        bold_first=True,
    )
    assert _chars(grid(header, body, columns_, bold_first=True)) == _chars(old)
    title = "Warning signs and safety"
    assert _chars(heading(title, 120 * mm)) == _chars(
        heading(as_paragraphs(title, STYLES.heading), 120 * mm)
    )
