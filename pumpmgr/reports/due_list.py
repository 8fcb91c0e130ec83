"""The clinic's due list for a period, for the front desk: who needs a refill and when, and
which pumps reach their replace-by date.

Reports layer: imports reportlab and the pure pumpmgr modules (records, formatting); never
SQLAlchemy, :mod:`pumpmgr.db` or Qt. Reads the services' :class:`~pumpmgr.records.DueRow`
values. A refill already overdue is listed whatever the period, first and framed: a front desk
that books only the dates inside the window would miss the patient most at risk.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.platypus import Flowable, Spacer  # type: ignore[import-untyped]

from pumpmgr.errors import Code, ImpossibleInput
from pumpmgr.formatting import days_left_text
from pumpmgr.orders import STATE_TEXT as ORDER_STATE_TEXT
from pumpmgr.orders import OrderState
from pumpmgr.records import ClinicSettings, DueRow
from pumpmgr.urgency import reason_text, state_text

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
    section,
    title_block,
)

TITLE = "Refill due list"


def due_section(start: date, end: date) -> Section:
    return Section(
        f"Refill due list {common.day(start)} to {common.day(end)}",
        f"pumpmgr:due:{start:%Y-%m-%d}:{end:%Y-%m-%d}",
    )


def listed(rows: Sequence[DueRow], start: date, end: date) -> list[DueRow]:
    """The rows due by ``end`` (overdue ones too) and every urgent one (an unreviewed incident,
    a declined order), urgent first, then by refill-due date, then patient."""
    return sorted(
        (r for r in rows if r.refill_due <= end or r.state == "urgent"),
        key=lambda r: (r.state != "urgent", r.refill_due, r.patient, r.pump_id),
    )


def replacements(rows: Sequence[DueRow], start: date, end: date) -> list[DueRow]:
    """The pumps whose replace-by date falls by ``end``, soonest first."""
    return sorted(
        (r for r in rows if r.replace_by is not None and r.replace_by <= end),
        key=lambda r: (r.replace_by, r.patient),
    )


def due_story(
    rows: Sequence[DueRow], settings: ClinicSettings, *, start: date, end: date
) -> list[Flowable]:
    if end < start:
        raise ImpossibleInput(
            f"to: the period ends ({end:%Y-%m-%d}) before it starts ({start:%Y-%m-%d})",
            code=Code.TIME_ORDER,
            field="to",
        )
    width = frame_width(settings, wide=True)
    clinic = common.clinic_line(settings)
    due = listed(rows, start, end)
    overdue = sum(1 for r in due if r.refill_due < start or r.state == "overdue")
    story: list[Flowable] = [
        SectionStart(due_section(start, end)),
        title_block(TITLE, clinic, width),
        para(f"{common.day(start)} to {common.day(end)}", STYLES.large),
        para(
            f"{len(due)} refill{'s' if len(due) != 1 else ''} due by the end of the period, "
            f"{overdue} of them overdue. Ordered by refill-due date.",
            STYLES.body,
        ),
        Spacer(1, 3 * mm),
    ]
    table_rows: list[list[Cell]] = []
    highlight: list[int] = []
    for row in due:
        late = row.state == "overdue" or row.refill_due < start
        if late or row.state == "urgent":
            highlight.append(len(table_rows))
        flags = [reason_text(row, settings.buffer_days)]
        if row.open_stop_order:
            flags.append("STOP ORDER to carry out")
        if row.open_incident:
            flags.append("INCIDENT to review")
        if row.order_alert is not None:
            flags.append(ORDER_STATE_TEXT[OrderState(row.order_alert)])
        if row.open_discrepancy:
            flags.append("open discrepancy")
        if row.flex_schedule:
            flags.append("flex schedule")
        if row.replace_by is not None and row.replace_by <= end:
            flags.append(f"REPLACE BY {common.day(row.replace_by)}")
        table_rows.append(
            [
                common.day(row.refill_due),
                state_text(row).upper()
                if late or row.refill_state or row.state == "urgent"
                else state_text(row),
                [para(row.patient, STYLES.cell_bold), para(f"MRN {row.mrn}", STYLES.cell)],
                row.pump_model,
                row.drug,
                common.day(row.alarm_at),
                days_left_text(row.days_left),
                "; ".join(flags),
            ]
        )
    if table_rows:
        widths = columns(width, 30, 26, 46, 34, 50, 30, 20, 33)
        story += section(
            "Refills",
            width,
            [
                grid(
                    [
                        "Refill due",
                        "State",
                        "Patient",
                        "Pump",
                        "Drug",
                        "Alarm (with boluses)",
                        "Days left",
                        "Reason, flags",
                    ],
                    table_rows,
                    widths,
                    bold_first=True,
                    highlight=highlight,
                )
            ],
            keep=False,
        )
    else:
        story += section("Refills", width, [para("No refill is due in this period.")])
    replace_rows = [
        [
            common.day(row.replace_by),
            "PAST" if row.replace_by < start else "in the period",
            [para(row.patient, STYLES.cell_bold), para(f"MRN {row.mrn}", STYLES.cell)],
            row.pump_model,
            "book the replacement: the pump stops some time after its replace-by date",
        ]
        for row in replacements(rows, start, end)
        if row.replace_by is not None
    ]
    if replace_rows:
        widths = columns(width, 30, 26, 46, 34, 133)
        story += section(
            "Pumps to replace (replace-by date by the end of the period)",
            width,
            [
                grid(
                    ["Replace by", "State", "Patient", "Pump", "Action"],
                    replace_rows,
                    widths,
                    bold_first=True,
                )
            ],
            keep=False,
        )
    return story


def build_due_list(
    rows: Sequence[DueRow],
    settings: ClinicSettings,
    *,
    start: date,
    end: date,
    generated_at: datetime,
    invariant: bool = True,
    audit_head: str | None = None,
) -> bytes:
    """The due list from ``start`` to ``end`` (inclusive) as PDF bytes, landscape."""
    story = due_story(rows, settings, start=start, end=end)
    return build_pdf(
        story,
        settings,
        title=due_section(start, end).title,
        subject=TITLE,
        generated_at=generated_at,
        invariant=invariant,
        audit_head=audit_head,
        wide=True,
    )
