"""A day's worksheets as one PDF: pages, per-patient numbering, progress calls."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sheet_samples import CHARTS, GENERATED, VISIT, pdf_pages

from pumpmgr.catalogs import default_catalogs
from pumpmgr.errors import ImpossibleInput
from pumpmgr.records import ClinicSettings
from pumpmgr.reports import build_refill_worksheet, build_worksheet_batch
from pumpmgr.visit import plan_visit

#: The shipped library: these tests check against its limits (the clinic's, in a clinic).
SHIPPED = default_catalogs()

Sheet = Callable[..., bytes]


def test_batch_pages_numbering_and_progress(sheet: Sheet, settings: ClinicSettings) -> None:
    visits = [
        (chart, plan_visit(chart, VISIT, settings=settings, drugs=SHIPPED.drugs))
        for chart in (make() for make in CHARTS.values())
    ]
    calls: list[tuple[int, int]] = []
    data = build_worksheet_batch(
        visits,
        settings,
        generated_at=GENERATED,
        progress=lambda done, total: calls.append((done, total)),
        catalog=SHIPPED,
    )
    assert calls == [(1, 3), (2, 3), (3, 3)]
    singles = [
        len(
            pdf_pages(
                build_refill_worksheet(
                    chart, plan, settings, generated_at=GENERATED, catalog=SHIPPED
                )
            )
        )
        for chart, plan in visits
    ]
    pages = pdf_pages(data)
    assert len(pages) == sum(singles)
    start = 0
    for (chart, _), count in zip(visits, singles, strict=True):
        for offset in range(count):
            text = " ".join(pages[start + offset].extract_text().split())
            assert f"Page {offset + 1} of {count}" in text
            assert f"MRN {chart.patient.mrn}" in text
        start += count
    assert data == sheet("batch")  # reproducible, with or without a progress callback


def test_empty_batch_is_refused(settings: ClinicSettings) -> None:
    with pytest.raises(ImpossibleInput, match="no refill worksheet"):
        build_worksheet_batch([], settings, generated_at=GENERATED, catalog=SHIPPED)
