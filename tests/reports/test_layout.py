"""Every sheet: the clinic's paper size, nothing outside the margins or over other text, and
byte-identical rebuilds."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4, LETTER  # type: ignore[import-untyped]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]
from sheet_samples import SHEETS, build_sample, layout_problems

from pumpmgr.records import ClinicSettings

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
