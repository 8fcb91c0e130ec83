"""The patient history sheet: pumps, catheter, prescriptions over time, every refill with its
discrepancy, events, and expected against aspirated residual across refills.

Reports layer: imports reportlab and the pure pumpmgr modules (records, visit, refill,
formatting, catalogs); never SQLAlchemy, :mod:`pumpmgr.db` or Qt. Printed sideways, since the
refill table is wide. Corrected records stay visible, marked, because a history that hides a
correction cannot be audited.
"""

from __future__ import annotations

from datetime import datetime

from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.platypus import Flowable, Spacer  # type: ignore[import-untyped]

from pumpmgr import catalogs
from pumpmgr.errors import PumpMgrError
from pumpmgr.formatting import format_percent
from pumpmgr.records import (
    INDICATION_TEXT,
    ClinicSettings,
    PatientChart,
    PrescriptionRecord,
    PumpRecord,
    RefillRecord,
)
from pumpmgr.refill import discrepancy
from pumpmgr.visit import program_of

from . import common
from .charts import residual_chart
from .styles import (
    STYLES,
    Cell,
    Section,
    SectionStart,
    build_pdf,
    columns,
    fields,
    frame_width,
    grid,
    para,
    section,
    title_block,
)

TITLE = "Intrathecal pump patient history"


def history_section(chart: PatientChart) -> Section:
    return Section(f"Patient history: {chart.patient.display_name}, MRN {chart.patient.mrn}",
                   f"pumpmgr:patient:{chart.patient.mrn}:history")


def _corrections(records: tuple[RefillRecord, ...] | tuple[PrescriptionRecord, ...]
                 ) -> dict[int, int]:
    """Corrected record id -> the id of the record correcting it."""
    return {r.corrects_id: r.id for r in records if r.corrects_id is not None}


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
        rows.append([
            pump.model_name, pump.serial_number,
            f"{common.day(pump.implanted_on)}" + (f", {pump.site}" if pump.site else ""),
            common.volume(pump.capacity), common.volume(pump.alarm_volume),
            common.accuracy_text(pump.accuracy_percent),
            common.day(pump.replace_by, "none recorded"), status,
        ])
    if not rows:
        return section("Pumps", width, [para("No pump recorded.")])
    widths = columns(width, 44, 30, 48, 18, 18, 20, 28, 63)
    return section("Pumps", width, [grid(
        ["Model", "Serial", "Implanted", "Capacity", "Alarm volume", "Accuracy", "Replace by",
         "Status"], rows, widths, bold_first=True)])


def _catheter(chart: PatientChart, width: float) -> list[Flowable]:
    catheter = chart.catheter
    if catheter is None:
        return section("Catheter", width, [para("No catheter recorded.")])
    segments = [
        f"{common.length(s.length)} implanted, {common.length(s.trimmed)} trimmed, "
        + ("volume per cm not recorded" if s.volume_per_length is None else
           common.per_length(s.volume_per_length))
        for s in catheter.segments
    ]
    pump = _pump_of(chart, catheter.pump_id)
    rows: list[tuple[str, Cell]] = [
        ("Model", catheter.model_key),
        ("On pump", pump.serial_number if pump is not None else f"#{catheter.pump_id}"),
        ("Segments", "; ".join(segments) or "not recorded"),
        ("Catheter volume", "not recorded" if catheter.volume is None
         else common.volume(catheter.volume)),
        ("Tip level", catheter.tip_level or "not recorded"),
        ("Implanted", common.day(catheter.implanted_on)),
        ("Revised", common.day(catheter.revised_on, "never")),
    ]
    return section("Catheter", width, [fields(rows, (36 * mm, width - 36 * mm))])


def _prescriptions(chart: PatientChart, width: float, catalog: catalogs.Catalogs
                   ) -> list[Flowable]:
    corrected = _corrections(chart.prescriptions)
    rows = []
    for rx in sorted(chart.prescriptions, key=lambda p: p.effective_at):
        pump = _pump_of(chart, rx.pump_id)
        program = program_of(rx, pump) if pump is not None else rx.program
        unit = rx.primary.display_unit
        findings = "; ".join(
            f"{f.level}: {f.message}" + (f" (reason: {f.reason})" if f.reason else "")
            for f in rx.findings if f.level != "ok"
        ) or "none"
        rows.append([
            common.moment(rx.effective_at),
            pump.serial_number if pump is not None else f"#{rx.pump_id}",
            common.solution_text(rx.ingredients, catalog),
            common.schedule_summary(program.schedule, unit),
            common.prescription_dose_text(rx, program),
            common.flow(program.daily_volume()),
            common.bolus_text(rx.patient_bolus, unit),
            rx.prescriber,
            f"{_status(rx.id, rx.corrects_id, corrected)}; findings: {findings}",
        ])
    if not rows:
        return section("Prescriptions over time", width, [para("No prescription recorded.")])
    widths = columns(width, 29, 24, 40, 24, 28, 24, 32, 30, 38)
    return section("Prescriptions over time", width, [grid(
        ["Effective", "Pump", "Solution", "Schedule", "Daily dose", "Daily volume",
         "Patient bolus", "Prescriber", "Record, dose-check findings"], rows, widths)],
        keep=False)


def delivery_error_text(refill: RefillRecord, pump: PumpRecord | None) -> str:
    """The refill's delivery error e, from its record, or why there is none."""
    if (pump is None or refill.previous_fill_volume is None or refill.expected_residual is None
            or refill.aspirated is None):
        return "-"
    try:
        found = discrepancy(fill_volume=refill.previous_fill_volume,
                            expected=refill.expected_residual, actual=refill.aspirated,
                            reservoir_capacity=pump.capacity,
                            accuracy_percent=pump.accuracy_percent)
    except PumpMgrError:
        return "not computable"
    return "-" if found.delivery_error is None else format_percent(found.delivery_error)


def _refills(chart: PatientChart, width: float, catalog: catalogs.Catalogs) -> list[Flowable]:
    corrected = _corrections(chart.refills)
    ordered = sorted(chart.refills, key=lambda r: r.performed_at)
    rows: list[list[Cell]] = []
    highlight: list[int] = []
    for refill in ordered:
        pump = _pump_of(chart, refill.pump_id)
        verdict = {"ok": "ok", "investigate": "INVESTIGATE", None: "first fill"}[
            refill.discrepancy_verdict]
        if refill.discrepancy_verdict == "investigate":
            highlight.append(len(rows))
        note = refill.discrepancy_note or ""
        status = _status(refill.id, refill.corrects_id, corrected)
        rows.append([
            common.moment(refill.performed_at),
            pump.serial_number if pump is not None else f"#{refill.pump_id}",
            common.solution_text(refill.ingredients, catalog),
            "-" if refill.expected_residual is None else common.volume(refill.expected_residual),
            "-" if refill.aspirated is None else common.volume(refill.aspirated),
            "-" if refill.discrepancy_difference is None
            else common.signed_volume(refill.discrepancy_difference),
            delivery_error_text(refill, pump),
            para(verdict, STYLES.cell_bold if refill.discrepancy_verdict == "investigate"
                 else STYLES.cell),
            common.volume(refill.final_volume),
            f"{refill.lot_number}, exp. {common.day(refill.expiry)}",
            f"{refill.nurse}; {refill.verifier}",
            f"{status}" + (f": {note}" if note else ""),
        ])
    if not rows:
        return section("Refills", width, [para("No refill recorded.")])
    header = ["Date", "Pump", "Solution", "Expected", "Aspirated", "Difference",
              "Delivery error", "Verdict", "Final", "Lot, expiry", "Nurse; verifier",
              "Record, note"]
    weights = [28, 23, 28, 18, 18, 20, 16, 26, 14, 27, 28, 36]
    title = "Refills, with the discrepancy at each"
    serials = {row[1] for row in rows}
    if len(serials) == 1:
        # one pump only: its serial goes in the heading and the room to the other columns
        title += f" (pump {next(iter(serials))})"
        for table_row in rows:
            del table_row[1]
        del header[1], weights[1]
    return section(title, width, [grid(header, rows, columns(width, *weights),
                                       highlight=highlight)], keep=False)


def _trend(chart: PatientChart, width: float) -> list[Flowable]:
    live = sorted((r for r in chart.refills
                   if r.id not in _corrections(chart.refills)), key=lambda r: r.performed_at)
    drawing = residual_chart(live, width=width, height=62 * mm)
    body: list[Flowable] = [drawing] if drawing is not None else [
        para("No refill has both an expected and an aspirated volume yet.")]
    return section("Expected against aspirated residual, refill by refill", width, body)


def _events(chart: PatientChart, width: float) -> list[Flowable]:
    rows: list[list[Cell]] = []
    for event in sorted(chart.events, key=lambda e: e.occurred_at):
        pump = None if event.pump_id is None else _pump_of(chart, event.pump_id)
        details = "".join(f"; {k}: {v}" for k, v in sorted(event.details.items()))
        rows.append([common.moment(event.occurred_at), event.kind.replace("_", " "),
                     "-" if pump is None else pump.serial_number, event.summary + details,
                     event.user])
    if not rows:
        return section("Events", width, [para("No event recorded.")])
    widths = columns(width, 30, 28, 28, 143, 40)
    return section("Events", width, [grid(["Date", "Event", "Pump", "Summary", "By"], rows,
                                          widths)], keep=False)


def history_story(chart: PatientChart, settings: ClinicSettings, *,
                  catalog: catalogs.Catalogs | None = None) -> list[Flowable]:
    library = common.library(catalog)
    width = frame_width(settings, wide=True)
    patient = chart.patient
    clinic = settings.clinic_name + (f"   Phone {settings.clinic_phone}"
                                     if settings.clinic_phone else "")
    story: list[Flowable] = [SectionStart(history_section(chart)),
                             title_block(TITLE, clinic, width), Spacer(1, 2 * mm)]
    now: list[tuple[str, Cell]] = [
        ("Patient", patient.display_name),
        ("MRN", patient.mrn),
        ("Date of birth", common.day(patient.date_of_birth)),
        ("Indication", INDICATION_TEXT.get(patient.indication, patient.indication)),
        ("Status", patient.status + ("; renal impairment recorded"
                                     if patient.renal_impairment else "")),
    ]
    if patient.emergency_contact:
        now.append(("Emergency contact", patient.emergency_contact))
    if chart.pump is not None and chart.prescription is not None:
        now.append(("Now", f"{chart.pump.model_name} {chart.pump.serial_number}, "
                           f"{common.solution_text(chart.prescription.ingredients, library)}"))
    if chart.forecast is not None:
        now.append(("Next refill due", para(common.day(chart.forecast.refill_due),
                                            STYLES.large)))
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
    catalog: catalogs.Catalogs | None = None,
) -> bytes:
    """The patient's history as PDF bytes (landscape pages of the clinic's paper size)."""
    story = history_story(chart, settings, catalog=catalog)
    return build_pdf(story, settings, title=history_section(chart).title, subject=TITLE,
                     generated_at=generated_at, invariant=invariant,
                     audit_head=audit_head, wide=True)
