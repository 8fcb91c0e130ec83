"""A day's refill worksheets in one PDF, each patient's pages numbered on their own, and a
last page of the pumps due and not booked (issue 16).

Reports layer: imports reportlab and the pure pumpmgr modules (records, visit); never
SQLAlchemy, :mod:`pumpmgr.db` or Qt. The caller plans each booked visit for its booked moment
(:func:`pumpmgr.visit.plan_visit`) and hands the pairs in, in booked time order;
``progress(done, total)`` is called as each worksheet has been laid out, so a command line or a
desktop dialog can show it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime

from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.platypus import Flowable, PageBreak, Spacer  # type: ignore[import-untyped]

from pumpmgr import catalogs
from pumpmgr.booking import DUE_BOOKING_TEXT
from pumpmgr.errors import Code, ImpossibleInput
from pumpmgr.formatting import days_left_text
from pumpmgr.records import ClinicSettings, DueRow, PatientChart
from pumpmgr.urgency import state_text
from pumpmgr.visit import VisitPlan

from . import common
from .styles import (
    STYLES,
    Cell,
    Section,
    SectionStart,
    build_pdf,
    columns,
    frame_width,
    grid,
    para,
    title_block,
)
from .worksheet import TITLE, worksheet_story

#: The last page's title: the pumps due by the day that have no booking.
NOT_BOOKED_TITLE = "Due and not booked"

Progress = Callable[[int, int], None]


def not_booked_story(
    rows: Sequence[DueRow],
    settings: ClinicSettings,
    day: date,
) -> list[Flowable]:
    """The page of the pumps due on or before ``day`` with no booking, most overdue first,
    with the patient's phone to call."""
    width = frame_width(settings)
    clinic = common.clinic_line(settings)
    table: list[list[Cell]] = [
        [
            common.day(row.refill_due),
            # a missed visit says so, in the due list's words, above the state
            [
                para(DUE_BOOKING_TEXT[row.booking].upper(), STYLES.cell_bold),
                para(state_text(row), STYLES.cell),
            ]
            if row.booking == "did_not_attend"
            else state_text(row),
            [para(row.patient, STYLES.cell_bold), para(f"MRN {row.mrn}", STYLES.cell)],
            [para(row.phone or "not recorded", STYLES.cell)]
            + (
                [para(f"emergency contact {row.emergency_contact}", STYLES.cell)]
                if row.emergency_contact
                else []
            ),
            row.drug,
            common.day(row.alarm_at),
            days_left_text(row.days_left),
        ]
        for row in sorted(rows, key=lambda r: (r.refill_due, r.patient, r.pump_id))
    ]
    return [
        SectionStart(
            Section(f"{NOT_BOOKED_TITLE} {common.day(day)}", f"pumpmgr:not-booked:{day:%Y-%m-%d}")
        ),
        title_block(NOT_BOOKED_TITLE, clinic, width),
        para(
            f"Refill due on or before {common.day(day)} and no visit booked: "
            f"{len(table)} pump{'s' if len(table) != 1 else ''}. Call the patient and book "
            "the visit.",
            STYLES.body,
        ),
        Spacer(1, 3 * mm),
        grid(
            [
                "Refill due",
                "State",
                "Patient",
                "Phone",
                "Drug",
                "Alarm (with boluses)",
                "Days left",
            ],
            table,
            columns(width, 22, 22, 34, 40, 30, 22, 16),
            bold_first=True,
        ),
    ]


def build_worksheet_batch(
    visits: Sequence[tuple[PatientChart, VisitPlan]],
    settings: ClinicSettings,
    *,
    generated_at: datetime,
    progress: Progress | None = None,
    invariant: bool = True,
    audit_head: str | None = None,
    catalog: catalogs.Catalogs,
    not_booked: Sequence[DueRow] = (),
    day: date | None = None,
) -> bytes:
    """Every visit's "before" worksheet, in the order given, as one PDF, then (when there are
    any) the page of the pumps due by ``day`` and not booked.

    Each worksheet starts on a new page and has its own "page x of y" and QR code.
    ``progress`` is called ``(1, n)`` ... ``(n, n)``. Refuses a day with neither visits nor
    pumps not booked: there would be nothing to print.
    """
    total = len(visits)
    if total == 0 and not not_booked:
        raise ImpossibleInput(
            "visits: no refill worksheet to print for this day",
            code=Code.OUT_OF_RANGE,
            field="visits",
        )
    story: list[Flowable] = []
    for index, (chart, plan) in enumerate(visits):
        if index:
            story.append(PageBreak())
        story += worksheet_story(chart, plan, settings, catalog=catalog, index=index)
    day = day or min(plan.at for _, plan in visits).date()
    if not_booked:
        if story:
            story.append(PageBreak())
        story += not_booked_story(not_booked, settings, day)

    def laid_out(flowable: Flowable) -> None:
        # a worksheet is done when the next one starts; the last when the build ends
        if progress is not None and isinstance(flowable, SectionStart) and flowable.index:
            progress(flowable.index, total)

    data = build_pdf(
        story,
        settings,
        title=f"Refill worksheets {day:%Y-%m-%d}",
        subject=TITLE,
        generated_at=generated_at,
        invariant=invariant,
        audit_head=audit_head,
        after_flowable=laid_out,
    )
    if progress is not None:
        progress(total, total)
    return data
