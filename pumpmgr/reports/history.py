"""The patient history sheet: pumps, catheter, prescriptions over time, every refill with its
discrepancy, events, and expected against aspirated residual across refills.

Reports layer: imports reportlab and the pure pumpmgr modules (records, visit, refill,
formatting, catalogs); never SQLAlchemy, :mod:`pumpmgr.db` or Qt. Printed sideways, since the
refill table is wide. Corrected records stay visible, marked, because a history that hides a
correction cannot be audited: each says which record corrects it ("CORRECTED by #M") and each
correction which record it corrects ("corrects #N"), with the reason and who recorded it where
the record keeps them. Superseded catheter versions and pump events are also struck through and
greyed (never by colour alone: the words say it too), and the catheter section shows the newest
version's values.

Over 600 lines: one sheet's sections, each a function, sharing the marks of corrected and superseded
records.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.platypus import (  # type: ignore[import-untyped]
    Flowable,
    KeepTogether,
    Spacer,
    Table,
    TableStyle,
)

from pumpmgr import catalogs
from pumpmgr.errors import PumpMgrError
from pumpmgr.formatting import format_percent
from pumpmgr.orders import NO_SETTINGS_TEXT, STATE_TEXT, OrderState
from pumpmgr.records import (
    INDICATION_TEXT,
    CatheterRecord,
    ClinicSettings,
    EventRecord,
    PatientChart,
    PumpRecord,
    RefillRecord,
)
from pumpmgr.refill import VERDICT_WORDS, discrepancy
from pumpmgr.visit import program_of
from pumpmgr.wording import findings_texts

from . import common
from .charts import residual_chart
from .styles import (
    MUTED,
    STYLES,
    Cell,
    Section,
    SectionStart,
    build_pdf,
    columns,
    fields,
    frame_width,
    grid,
    markup,
    para,
    section,
    text,
    title_block,
)

TITLE = "Intrathecal pump patient history"

#: A superseded version's values: grey italic, struck through (its record cell says why).
SUPERSEDED = ParagraphStyle(
    "cell_superseded", parent=STYLES.cell, textColor=MUTED, fontName="Helvetica-Oblique"
)
#: The rows of a correction, as the patient view tints them.
CORRECTION_TINT = colors.Color(0.91, 0.95, 0.97)


class Versioned(Protocol):
    """A record kept in versions: a correction is a new record pointing at the one it
    corrects."""

    @property
    def id(self) -> int: ...

    @property
    def corrects_id(self) -> int | None: ...


V = TypeVar("V", bound=Versioned)


def history_section(chart: PatientChart) -> Section:
    return Section(
        f"Patient history: {chart.patient.display_name}, MRN {chart.patient.mrn}",
        f"pumpmgr:patient:{chart.patient.mrn}:history",
    )


def _corrections(records: Sequence[Versioned]) -> dict[int, int]:
    """Corrected record id -> the id of the record correcting it."""
    return {
        r.corrects_id: r.id
        for r in sorted(records, key=lambda r: r.id)
        if r.corrects_id is not None
    }


def _with_corrections_beneath(records: Sequence[V], key: Callable[[V], Any]) -> list[V]:
    """``records`` ordered by ``key``, each correction placed right under the record it
    corrects (a chain of corrections in its order), as the patient view's timeline places
    them; a correction of a record not in ``records`` stays at its own place."""
    ids = {r.id for r in records}
    beneath: dict[int, list[V]] = {}
    for record in sorted(records, key=lambda r: r.id):
        if record.corrects_id is not None and record.corrects_id in ids:
            beneath.setdefault(record.corrects_id, []).append(record)
    ordered: list[V] = []
    placed: set[int] = set()
    for root in sorted(
        (r for r in records if r.corrects_id is None or r.corrects_id not in ids), key=key
    ):
        pending = [root]
        while pending:
            record = pending.pop()
            if record.id in placed:
                continue
            placed.add(record.id)
            ordered.append(record)
            pending += reversed(beneath.get(record.id, []))
    # a loop of corrections (never written by the services) still prints, at its own time
    ordered += sorted((r for r in records if r.id not in placed), key=key)
    return ordered


def _recorded(user: str, reason: str) -> str:
    """A correction's reason and author, worded as the patient view words them."""
    parts = [f"Corrected because: {reason}"] if reason else []
    if user:
        parts.append(f"recorded by {user}")
    return "; ".join(parts)


def _struck(value: str) -> Cell:
    """A superseded value: struck through and greyed, still legible for the audit."""
    return markup(f"<strike>{text(value)}</strike>", SUPERSEDED)


def _tint(table: Table, rows: Sequence[int]) -> Table:
    """Tint the correction rows of a :func:`grid` table (row 0 is its header)."""
    if rows:
        table.setStyle(
            TableStyle(
                [("BACKGROUND", (0, row + 1), (-1, row + 1), CORRECTION_TINT) for row in rows]
            )
        )
    return table


def _status(record_id: int, corrects_id: int | None, corrected: dict[int, int]) -> str:
    parts = []
    if corrects_id is not None:
        parts.append(f"corrects #{corrects_id}")
    if record_id in corrected:
        parts.append(f"CORRECTED by #{corrected[record_id]}")
    return f"#{record_id}" + (f" ({'; '.join(parts)})" if parts else "")


def _pump_of(chart: PatientChart, pump_id: int) -> PumpRecord | None:
    return next((p for p in (*chart.pumps, chart.pump) if p is not None and p.id == pump_id), None)


def _pumps(chart: PatientChart, width: float) -> list[Flowable]:
    pumps = list(chart.pumps) or ([chart.pump] if chart.pump is not None else [])
    rows = []
    for pump in pumps:
        status = str(pump.status)
        if pump.explanted_on is not None:
            status += f" {common.day(pump.explanted_on)}"
        if pump.explant_reason:
            status += f": {pump.explant_reason}"
        rows.append(
            [
                pump.model_name,
                pump.serial_number,
                f"{common.day(pump.implanted_on)}" + (f", {pump.site}" if pump.site else ""),
                common.volume(pump.capacity),
                common.volume(pump.alarm_volume),
                common.accuracy_text(pump.accuracy_percent),
                common.day(pump.replace_by, "none recorded"),
                status,
            ]
        )
    if not rows:
        return section("Pumps", width, [para("No pump recorded.")])
    widths = columns(width, 44, 30, 48, 18, 18, 20, 28, 63)
    return section(
        "Pumps",
        width,
        [
            grid(
                [
                    "Model",
                    "Serial",
                    "Implanted",
                    "Capacity",
                    "Alarm volume",
                    "Accuracy",
                    "Replace by",
                    "Status",
                ],
                rows,
                widths,
                bold_first=True,
            )
        ],
    )


def current_catheter(chart: PatientChart) -> CatheterRecord | None:
    """The chart's catheter as last corrected: the newest version of ``chart.catheter``'s
    record among ``chart.catheters`` (the services hand out that one already)."""
    catheter = chart.catheter
    if catheter is None:
        return None
    newer = {
        c.corrects_id: c
        for c in sorted(chart.catheters, key=lambda c: c.id)
        if c.corrects_id is not None
    }
    seen = {catheter.id}
    while catheter.id in newer and newer[catheter.id].id not in seen:
        catheter = newer[catheter.id]
        seen.add(catheter.id)
    return catheter


def _segments(catheter: CatheterRecord) -> str:
    return (
        "; ".join(
            f"{common.length(s.length)} implanted, {common.length(s.trimmed)} trimmed, "
            + (
                "volume per cm not recorded"
                if s.volume_per_length is None
                else common.per_length(s.volume_per_length)
            )
            for s in catheter.segments
        )
        or "not recorded"
    )


def _catheter_volume(catheter: CatheterRecord) -> str:
    return "not recorded" if catheter.volume is None else common.volume(catheter.volume)


def _catheter_versions(
    chart: PatientChart,
    current: CatheterRecord | None,
    width: float,
) -> list[Flowable]:
    """Every catheter version that takes part in a correction (the corrected ones and their
    corrections), each correction under what it corrects; superseded values struck."""
    involved = {c.corrects_id for c in chart.catheters if c.corrects_id is not None}
    involved |= {c.id for c in chart.catheters if c.corrects_id is not None}
    versions = _with_corrections_beneath(
        [c for c in chart.catheters if c.id in involved], key=lambda c: c.id
    )
    if not versions:
        return []
    corrected = _corrections(chart.catheters)
    rows: list[list[Cell]] = []
    tinted: list[int] = []
    for catheter in versions:
        pump = _pump_of(chart, catheter.pump_id)
        status = _status(catheter.id, catheter.corrects_id, corrected)
        values = [
            catheter.model_key,
            _segments(catheter),
            _catheter_volume(catheter),
            catheter.tip_level or "not recorded",
            common.day(catheter.implanted_on),
            common.day(catheter.revised_on, "never"),
        ]
        if catheter.id in corrected:
            status += ": superseded, do not use"
            cells: list[Cell] = [_struck(v) for v in values]
        else:
            if current is not None and catheter.id == current.id:
                status += ": current, as above"
            cells = list(values)
        if catheter.corrects_id is not None:
            tinted.append(len(rows))
        rows.append(
            [
                para(status, STYLES.cell_bold),
                pump.serial_number if pump is not None else f"#{catheter.pump_id}",
                *cells,
                catheter.user or "-",
                catheter.correction_reason if catheter.corrects_id is not None else "-",
            ]
        )
    header = [
        "Record",
        "Pump",
        "Model",
        "Segments",
        "Volume",
        "Tip",
        "Implanted",
        "Revised",
        "Recorded by",
        "Corrected because",
    ]
    table = grid(header, rows, columns(width, 34, 24, 28, 40, 18, 10, 22, 22, 25, 46))
    note = markup(
        "<b>Catheter record versions</b>, each correction under what it corrects: "
        "struck values were corrected and must not be used.",
        STYLES.small,
    )
    gap = Spacer(1, 1 * mm)
    note.keepWithNext = gap.keepWithNext = True  # the note never ends a page on its own
    return [Spacer(1, 2 * mm), note, gap, _tint(table, tinted)]


def _catheter(chart: PatientChart, width: float) -> list[Flowable]:
    catheter = current_catheter(chart)
    if catheter is None:
        body: list[Flowable] = [para("No catheter recorded.")]
        return section("Catheter", width, body + _catheter_versions(chart, None, width))
    pump = _pump_of(chart, catheter.pump_id)
    record = _status(catheter.id, catheter.corrects_id, _corrections(chart.catheters))
    if catheter.corrects_id is not None:
        record += ": the current version"
    rows: list[tuple[str, Cell]] = [
        ("Model", catheter.model_key),
        ("On pump", pump.serial_number if pump is not None else f"#{catheter.pump_id}"),
        ("Segments", _segments(catheter)),
        ("Catheter volume", _catheter_volume(catheter)),
        ("Tip level", catheter.tip_level or "not recorded"),
        ("Implanted", common.day(catheter.implanted_on)),
        ("Revised", common.day(catheter.revised_on, "never")),
        ("Record", record),
    ]
    if catheter.corrects_id is not None and (catheter.correction_reason or catheter.user):
        rows.append(("Correction", _recorded(catheter.user, catheter.correction_reason)))
    current = fields(rows, (36 * mm, width - 36 * mm))
    versions = _catheter_versions(chart, catheter, width)
    if not versions:
        return section("Catheter", width, [current])
    # the current values stay together under the heading; a long list of versions may go on
    # to the next page rather than push the whole section there
    return section("Catheter", width, [KeepTogether([current]), *versions], keep=False)


def _superseded(
    cells: list[Cell],
    record_id: int,
    corrects_id: int | None,
    reason: str,
    corrected: dict[int, int],
    note_at: int,
) -> tuple[list[Cell], Cell, bool]:
    """A row of a versioned record as the sheet prints it: a superseded version's values
    struck through, a correction's reason after its ``note_at`` cell; its record cell; and
    whether it is a correction (tinted)."""
    status = _status(record_id, corrects_id, corrected)
    if corrects_id is not None and reason:  # before striking: a correction may be corrected
        note = cells[note_at]
        cells[note_at] = (
            f"Corrected because: {reason}"
            if note in ("-", "")
            else f"{note}. Corrected because: {reason}"
        )
    if record_id in corrected:
        status += ": superseded, do not use"
        cells = [_struck(c) if isinstance(c, str) else c for c in cells]
    marked = corrects_id is not None or record_id in corrected
    return cells, para(status, STYLES.cell_bold) if marked else status, corrects_id is not None


def _prescriptions(chart: PatientChart, width: float, catalog: catalogs.Catalogs) -> list[Flowable]:
    corrected = _corrections(chart.prescriptions)
    rows: list[list[Cell]] = []
    tinted: list[int] = []
    spanned: list[int] = []  #: the findings rows, across the page
    for rx in _with_corrections_beneath(chart.prescriptions, key=lambda p: (p.effective_at, p.id)):
        pump = _pump_of(chart, rx.pump_id)
        program = program_of(rx, pump) if pump is not None else rx.program
        unit = rx.primary.display_unit
        findings = "; ".join(findings_texts(rx.findings)) or "none"
        held = rx.order_state == OrderState.AWAITING_SIGNATURE  # no settings before it
        cells, status, correction = _superseded(
            [
                common.moment(rx.effective_at),
                pump.serial_number if pump is not None else f"#{rx.pump_id}",
                common.solution_text(rx.ingredients, catalog),
                NO_SETTINGS_TEXT if held else common.schedule_summary(program.schedule, unit),
                common.prescription_dose_text(rx, program),
                "" if held else common.flow(program.daily_volume()),
                "" if held else common.bolus_text(rx.patient_bolus, unit),
                rx.prescriber_text
                + (
                    ""
                    if rx.order_state in (None, OrderState.SIGNED)
                    else f" ({STATE_TEXT[OrderState(rx.order_state)]})"
                ),
                f"Dose-check findings: {findings}",
            ],
            rx.id,
            rx.corrects_id,
            rx.correction_reason,
            corrected,
            note_at=8,
        )
        if correction:
            tinted.append(len(rows))
        rows.append([*cells[:8], status])
        if findings != "none" or correction:
            # under the row, the page's whole width: a long list of findings in a column of
            # its own made a row taller than a page, and the sheet could not be printed
            if correction:
                tinted.append(len(rows))
            spanned.append(len(rows))
            rows.append([cells[8], *[""] * 8])
    if not rows:
        return section("Prescriptions over time", width, [para("No prescription recorded.")])
    widths = columns(width, 29, 24, 36, 24, 28, 24, 30, 34, 28)
    table = grid(
        [
            "Effective",
            "Pump",
            "Solution",
            "Schedule",
            "Daily dose",
            "Daily volume",
            "Patient bolus",
            "Prescriber",
            "Record",
        ],
        rows,
        widths,
    )
    table.setStyle(TableStyle([("SPAN", (0, row + 1), (-1, row + 1)) for row in spanned]))
    return section("Prescriptions over time", width, [_tint(table, tinted)], keep=False)


def delivery_error_text(refill: RefillRecord, pump: PumpRecord | None) -> str:
    """The refill's delivery error e, from its record, or why there is none."""
    if (
        pump is None
        or refill.previous_fill_volume is None
        or refill.expected_residual is None
        or refill.aspirated is None
    ):
        return "-"
    try:
        found = discrepancy(
            fill_volume=refill.previous_fill_volume,
            expected=refill.expected_residual,
            actual=refill.aspirated,
            reservoir_capacity=pump.capacity,
            accuracy_percent=pump.accuracy_percent,
        )
    except PumpMgrError:
        return "not computable"
    return "-" if found.delivery_error is None else format_percent(found.delivery_error)


def _refills(chart: PatientChart, width: float, catalog: catalogs.Catalogs) -> list[Flowable]:
    corrected = _corrections(chart.refills)
    rows: list[list[Cell]] = []
    highlight: list[int] = []
    tinted: list[int] = []
    for refill in _with_corrections_beneath(chart.refills, key=lambda r: (r.performed_at, r.id)):
        pump = _pump_of(chart, refill.pump_id)
        verdict = (
            "first fill"
            if refill.discrepancy_verdict is None
            else (VERDICT_WORDS[refill.discrepancy_verdict])
        )
        # found empty ranks above investigate: both are shown for review
        review = refill.discrepancy_verdict in ("investigate", "found_empty") and (
            refill.id not in corrected
        )
        if review:
            verdict = verdict.upper()
        if review:
            highlight.append(len(rows))
        cells, status, correction = _superseded(
            [
                common.moment(refill.performed_at),
                pump.serial_number if pump is not None else f"#{refill.pump_id}",
                common.solution_text(refill.ingredients, catalog),
                "-"
                if refill.expected_residual is None
                else common.volume(refill.expected_residual),
                "-" if refill.aspirated is None else common.volume(refill.aspirated),
                "-"
                if refill.discrepancy_difference is None
                else common.signed_volume(refill.discrepancy_difference),
                delivery_error_text(refill, pump),
                verdict,
                common.volume(refill.final_volume),
                f"{refill.lot_number}, exp. {common.day(refill.expiry)}",
                f"{refill.nurse}; {refill.verifier}",
                refill.discrepancy_note or "-",
            ],
            refill.id,
            refill.corrects_id,
            refill.correction_reason,
            corrected,
            note_at=11,
        )
        if review:
            cells[7] = para(verdict, STYLES.cell_bold)
        if correction:
            tinted.append(len(rows))
        rows.append([*cells[:11], status, cells[11]])
    if not rows:
        return section("Refills", width, [para("No refill recorded.")])
    header = [
        "Date",
        "Pump",
        "Solution",
        "Expected",
        "Aspirated",
        "Difference",
        "Delivery error",
        "Verdict",
        "Final",
        "Lot, expiry",
        "Nurse; verifier",
        "Record",
        "Note",
    ]
    weights = [28, 23, 24, 18, 18, 20, 16, 26, 14, 25, 24, 26, 24]
    title = "Refills, with the discrepancy at each"
    serials = {r.pump_id for r in chart.refills}
    if len(serials) == 1:
        # one pump only: its serial goes in the heading and the room to the other columns
        pump = _pump_of(chart, next(iter(serials)))
        title += f" (pump {pump.serial_number if pump is not None else f'#{serials.pop()}'})"
        for table_row in rows:
            del table_row[1]
        del header[1], weights[1]
    table = grid(header, rows, columns(width, *weights), highlight=highlight)
    return section(title, width, [_tint(table, tinted)], keep=False)


def _trend(chart: PatientChart, width: float) -> list[Flowable]:
    live = sorted(
        (r for r in chart.refills if r.id not in _corrections(chart.refills)),
        key=lambda r: r.performed_at,
    )
    drawing = residual_chart(live, width=width, height=62 * mm)
    body: list[Flowable] = (
        [drawing]
        if drawing is not None
        else [para("No refill has both an expected and an aspirated volume yet.")]
    )
    return section("Expected against aspirated residual, refill by refill", width, body)


def _events(chart: PatientChart, width: float) -> list[Flowable]:
    """Every pump event, oldest first, each correction right under the event it corrects; a
    corrected event's values struck through, its record cell saying which corrects it."""
    corrected = _corrections(chart.events)
    rows: list[list[Cell]] = []
    tinted: list[int] = []
    ordered: list[EventRecord] = _with_corrections_beneath(
        chart.events, key=lambda e: (e.occurred_at, e.id)
    )
    for event in ordered:
        pump = None if event.pump_id is None else _pump_of(chart, event.pump_id)
        details = "".join(f"; {k}: {v}" for k, v in sorted(event.details.items()))
        cells, status, correction = _superseded(
            [
                common.moment(event.occurred_at),
                event.kind.replace("_", " "),
                "-" if pump is None else pump.serial_number,
                event.summary + details,
            ],
            event.id,
            event.corrects_id,
            event.correction_reason,
            corrected,
            note_at=3,
        )
        if correction:
            tinted.append(len(rows))
        rows.append([*cells, event.user or "-", status])
    if not rows:
        return section("Events", width, [para("No event recorded.")])
    widths = columns(width, 30, 26, 26, 117, 34, 36)
    table = grid(["Date", "Event", "Pump", "Summary", "By", "Record"], rows, widths)
    return section("Events", width, [_tint(table, tinted)], keep=False)


def history_story(
    chart: PatientChart, settings: ClinicSettings, *, catalog: catalogs.Catalogs
) -> list[Flowable]:
    library = catalog
    width = frame_width(settings, wide=True)
    patient = chart.patient
    clinic = common.clinic_line(settings)
    story: list[Flowable] = [
        SectionStart(history_section(chart)),
        title_block(TITLE, clinic, width),
        Spacer(1, 2 * mm),
    ]
    now: list[tuple[str, Cell]] = [
        ("Patient", patient.display_name),
        ("MRN", patient.mrn),
        ("Date of birth", common.day(patient.date_of_birth)),
        ("Indication", INDICATION_TEXT.get(patient.indication, patient.indication)),
        (
            "Status",
            patient.status + ("; renal impairment recorded" if patient.renal_impairment else ""),
        ),
    ]
    if patient.emergency_contact:
        now.append(("Emergency contact", patient.emergency_contact))
    if chart.pump is not None and chart.prescription is not None:
        now.append(
            (
                "Now",
                f"{chart.pump.model_name} {chart.pump.serial_number}, "
                f"{common.solution_text(chart.prescription.ingredients, library)}",
            )
        )
    if chart.forecast is not None:
        now.append(("Next refill due", para(common.day(chart.forecast.refill_due), STYLES.large)))
    if patient.notes:
        now.append(("Notes", patient.notes))
    story.append(fields(now, (36 * mm, width - 36 * mm)))
    story.append(Spacer(1, 4 * mm))
    story += _pumps(chart, width)
    story += _catheter(chart, width)
    story += _prescriptions(chart, width, library)
    story += _refills(chart, width, library)
    story += _trend(chart, width)
    story += _events(chart, width)
    return story


def build_history(
    chart: PatientChart,
    settings: ClinicSettings,
    *,
    generated_at: datetime,
    invariant: bool = True,
    audit_head: str | None = None,
    catalog: catalogs.Catalogs,
) -> bytes:
    """The patient's history as PDF bytes (landscape pages of the clinic's paper size)."""
    story = history_story(chart, settings, catalog=catalog)
    return build_pdf(
        story,
        settings,
        title=history_section(chart).title,
        subject=TITLE,
        generated_at=generated_at,
        invariant=invariant,
        audit_head=audit_head,
        wide=True,
    )
