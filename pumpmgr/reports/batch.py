"""A day's refill worksheets in one PDF, each patient's pages numbered on their own.

Reports layer: imports reportlab and the pure pumpmgr modules (records, visit); never
SQLAlchemy, :mod:`pumpmgr.db` or Qt. The caller plans each visit
(:func:`pumpmgr.visit.plan_visit`) and hands the pairs in; ``progress(done, total)`` is called
as each worksheet has been laid out, so a command line or a desktop dialog can show it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from reportlab.platypus import Flowable, PageBreak  # type: ignore[import-untyped]

from pumpmgr import catalogs
from pumpmgr.errors import Code, ImpossibleInput
from pumpmgr.records import ClinicSettings, PatientChart
from pumpmgr.visit import VisitPlan

from .styles import SectionStart, build_pdf
from .worksheet import TITLE, worksheet_story

Progress = Callable[[int, int], None]


def build_worksheet_batch(
    visits: Sequence[tuple[PatientChart, VisitPlan]],
    settings: ClinicSettings,
    *,
    generated_at: datetime,
    progress: Progress | None = None,
    invariant: bool = True,
    audit_head: str | None = None,
    catalog: catalogs.Catalogs,
) -> bytes:
    """Every visit's "before" worksheet, in the order given, as one PDF.

    Each worksheet starts on a new page and has its own "page x of y" and QR code.
    ``progress`` is called ``(1, n)`` ... ``(n, n)``. Refuses an empty list: there would be
    nothing to print.
    """
    total = len(visits)
    if total == 0:
        raise ImpossibleInput("visits: no refill worksheet to print for this day",
                              code=Code.OUT_OF_RANGE, field="visits")
    story: list[Flowable] = []
    for index, (chart, plan) in enumerate(visits):
        if index:
            story.append(PageBreak())
        story += worksheet_story(chart, plan, settings, catalog=catalog, index=index)

    def laid_out(flowable: Flowable) -> None:
        # a worksheet is done when the next one starts; the last when the build ends
        if progress is not None and isinstance(flowable, SectionStart) and flowable.index:
            progress(flowable.index, total)

    day = min(plan.at for _, plan in visits)
    data = build_pdf(story, settings, title=f"Refill worksheets {day:%Y-%m-%d}", subject=TITLE,
                     generated_at=generated_at, invariant=invariant,
                     audit_head=audit_head, after_flowable=laid_out)
    if progress is not None:
        progress(total, total)
    return data
