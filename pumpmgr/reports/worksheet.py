"""The refill worksheet: before the visit (pre-filled, with fields to write in) and completed.

Reports layer: imports reportlab and the pure pumpmgr modules (records, visit, refill, dosing,
formatting, catalogs); never SQLAlchemy, :mod:`pumpmgr.db` or Qt. It reads a
:class:`~pumpmgr.records.PatientChart`, the :class:`~pumpmgr.visit.VisitPlan` the desktop refill
wizard shows too, and, for the completed state, the :class:`~pumpmgr.records.RefillRecord`.

Layout, in the order of the procedure: who and what (patient, pump, prescription), the next
refill date in large type, what the reservoir should hold now, the framed block of fields
measured at the refill (aspirated volume first), the planned solution and program, the
concentration change and bridge, the warning signs, the reservoir chart and the two signatures.

Over 600 lines on purpose: the sections above are one sheet's story in the order of the
procedure, each a short function over the same plan, chart and settings; the shared pieces
(styles, the chart, the words) already live in :mod:`.styles`, :mod:`.charts`, :mod:`.common`
and :mod:`pumpmgr.wording`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, tzinfo

from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.platypus import (  # type: ignore[import-untyped]
    Flowable,
    KeepTogether,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from pumpmgr import catalogs
from pumpmgr.alerts import patient_alerts
from pumpmgr.dosing import admixture_doses
from pumpmgr.errors import PumpMgrError
from pumpmgr.forecast import RefillState
from pumpmgr.formatting import format_duration, format_percent
from pumpmgr.records import ClinicSettings, PatientChart, RefillRecord
from pumpmgr.refill import Discrepancy, discrepancy, measured_flow
from pumpmgr.restart import restart_of, restart_summary
from pumpmgr.units import DAY, Q_, Kind, Quantity
from pumpmgr.visit import VisitPlan, catheter_volume_of, pump_refills
from pumpmgr.visit_note import due_reason_text
from pumpmgr.visit_record import (
    interrogation_text,
    programmer_check_text,
    site_text,
    symptoms_text,
)
from pumpmgr.wording import (
    BRIDGE_OR_PRIMING_DRAWN,
    PATIENT_BOLUSES_DRAWN,
    bridge_wording,
    dilution_text,
    refill_state_text,
    run_dry_text,
)

from . import common
from .charts import reservoir_chart
from .styles import (
    BAND,
    INK,
    STYLES,
    WRITE_IN,
    Cell,
    CheckBox,
    Section,
    SectionStart,
    build_pdf,
    fields,
    frame_width,
    framed,
    grid,
    heading,
    markup,
    para,
    section,
    signatures,
    text,
    title_block,
)

TITLE = "Intrathecal pump refill worksheet"


def record_id(chart: PatientChart, plan: VisitPlan, completed: RefillRecord | None) -> str:
    """What the QR code holds: the refill record, or the planned visit of a patient's pump."""
    if completed is not None:
        return f"pumpmgr:refill:{completed.id}"
    return f"pumpmgr:visit:{chart.patient.mrn}:{plan.pump.serial_number}:{plan.at:%Y-%m-%dT%H:%M}"


def worksheet_section(
    chart: PatientChart, plan: VisitPlan, completed: RefillRecord | None
) -> Section:
    state = "completed" if completed is not None else "before the visit"
    return Section(
        f"Refill worksheet ({state}): {chart.patient.display_name}, MRN {chart.patient.mrn}",
        record_id(chart, plan, completed),
    )


def _due_reason(plan: VisitPlan) -> str:
    outlook = plan.forecast
    reason = outlook.refill_due_reason
    detail = ""
    if reason == "worst_case" and plan.accuracy is not None:
        detail = f" ({plan.accuracy.words} fast, every bolus)"
    elif reason == "max_interval" and outlook.max_interval_days is not None:
        detail = f", {format_duration(_days(outlook.max_interval_days))} ({plan.interval_source})"
    elif reason == "expiry" and outlook.expires_on is not None:
        detail = f" on {common.day(outlook.expires_on)}"
    elif reason == "stability":
        detail = f" ({plan.stability_source})"
    return "set by: " + due_reason_text(
        reason,
        buffer_days=outlook.buffer_days,
        constant_flow=plan.constant_flow,
        stability_days=outlook.stability_days,
        detail=detail,
    )


def _days(days: float) -> Quantity:
    return Q_(days, DAY)


def _header(
    chart: PatientChart,
    plan: VisitPlan,
    settings: ClinicSettings,
    completed: RefillRecord | None,
    width: float,
) -> list[Flowable]:
    clinic = settings.clinic_name + (
        f"   Phone {settings.clinic_phone}" if settings.clinic_phone else ""
    )
    badge = (
        ("COMPLETED", "the refill as recorded")
        if completed is not None
        else ("BEFORE THE VISIT", "planned values; write in what you measure")
    )
    patient = chart.patient
    when = (
        ("Refill performed", common.moment(completed.performed_at))
        if completed
        else ("Visit planned for", common.moment(plan.at))
    )
    left = fields(
        [
            ("Patient", patient.display_name),
            ("MRN", patient.mrn),
            ("Date of birth", common.day(patient.date_of_birth)),
            when,
        ],
        (27 * mm, width - 80 * mm - 27 * mm),
    )
    outlook = plan.forecast
    label = "NEXT REFILL DUE" if completed is not None else "NEXT REFILL DUE, if all goes to plan"
    due_box = framed(
        [
            para(label, STYLES.bold),
            para(common.day(outlook.refill_due), STYLES.huge),
            para(f"{alarm_name(plan)} {common.day(outlook.alarm_at)}", STYLES.body),
            para(_due_reason(plan), STYLES.small),
        ],
        78 * mm,
        warning=False,
    )
    top = Table([[left, due_box]], colWidths=[width - 80 * mm, 80 * mm])
    top.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    story: list[Flowable] = [
        title_block(TITLE, clinic, width, badge=badge),
        Spacer(1, 2 * mm),
        top,
        Spacer(1, 4 * mm),
    ]
    if plan.state is not None and completed is None:
        lines = [para(refill_state_text(plan.state), STYLES.bold)]
        if plan.may_have_run_dry_at is not None:
            lines.append(para(run_dry_text(plan.may_have_run_dry_at), STYLES.body))
        story += [framed(lines, width, warning=True), Spacer(1, 4 * mm)]
    return story


def _pump_and_prescription(
    chart: PatientChart, plan: VisitPlan, width: float, catalog: catalogs.Catalogs
) -> list[Flowable]:
    pump = plan.pump
    half = (width - 6 * mm) / 2
    widths = (29 * mm, half - 29 * mm)
    catheter = chart.catheter if chart.catheter and chart.catheter.pump_id == pump.id else None
    catheter_volume = catheter_volume_of(chart, pump)
    pump_rows: list[tuple[str, Cell]] = [
        ("Model", pump.model_name),
        ("Serial number", pump.serial_number),
        ("Reservoir capacity", common.volume(pump.capacity)),
        (
            "Implanted",
            f"{common.day(pump.implanted_on)}, {pump.site}"
            if pump.site
            else common.day(pump.implanted_on),
        ),
        (
            "Alarm volume",
            common.volume(pump.alarm_volume)
            + ("" if not plan.constant_flow else " (clinic's planning volume; no pump alarm)"),
        ),
        ("Labelled accuracy", common.accuracy_text(pump.accuracy_percent)),
        ("Replace by", common.day(pump.replace_by, "no date recorded")),
    ]
    if plan.constant_flow:
        pump_rows.append(
            (
                "Nominal flow",
                "not recorded" if pump.nominal_flow is None else common.flow(pump.nominal_flow),
            )
        )
    pump_rows += [
        (
            "Pump fluid path",
            "not recorded"
            if pump.pump_path_volume is None
            else common.volume(pump.pump_path_volume),
        ),
        (
            "Catheter volume",
            "not recorded" if catheter_volume is None else common.volume(catheter_volume),
        ),
    ]
    if catheter is not None and catheter.tip_level:
        pump_rows.append(("Catheter tip", catheter.tip_level))

    rx = plan.prescription
    program = plan.current_program
    unit = rx.primary.display_unit
    volume_rate = program.daily_volume()
    doses = admixture_doses(volume_rate, [(i.drug, i.concentration) for i in rx.ingredients])
    dose_lines = [
        f"{common.drug_name(i.drug, catalog)}: {common.dose(doses[i.drug], i.display_unit)}"
        if rx.is_admixture
        else common.dose(doses[i.drug], i.display_unit)
        for i in rx.ingredients
    ]
    if program.patient_bolus is not None:
        dose_lines.append(
            f"with every patient bolus: {common.dose(program.max_daily_dose(), unit)}"
            f" of {common.drug_name(rx.primary.drug, catalog)}"
        )
    daily_volume = common.flow(volume_rate)
    if program.patient_bolus is not None:
        daily_volume += f" (with every bolus {common.flow(program.max_daily_volume())})"
    rx_rows: list[tuple[str, Cell]] = [
        (
            "Solution",
            _lines([common.ingredient_text(i, catalog) for i in rx.ingredients], STYLES.value),
        ),
        (
            "Schedule",
            common.schedule_lines(program.schedule, unit)[0]
            if program.schedule.is_simple
            else f"{common.schedule_summary(program.schedule, unit)} (steps listed under the "
            "planned program)",
        ),
        ("Daily dose", _lines(dose_lines, STYLES.value)),
        ("Daily volume", daily_volume),
        ("Patient bolus", common.bolus_text(program.patient_bolus, unit)),
        ("In force since", f"{common.moment(rx.effective_at)}, {rx.prescriber}"),
    ]
    left = [heading("Pump and catheter", half), Spacer(1, 1.5 * mm), fields(pump_rows, widths)]
    right = [heading("Prescription", half), Spacer(1, 1.5 * mm), fields(rx_rows, widths)]
    table = Table([[left, right]], colWidths=[half + 6 * mm, half])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (0, 0), 6 * mm),
                ("RIGHTPADDING", (1, 0), (1, 0), 0),
            ]
        )
    )
    return [table, Spacer(1, 4 * mm)]


def _lines(lines: Sequence[str], style: ParagraphStyle) -> list[Flowable]:
    return [Paragraph(text(line), style) for line in lines]


def _since_last_fill(plan: VisitPlan, width: float, catalog: catalogs.Catalogs) -> Flowable:
    """The last fill in two lines, above the fields measured now."""
    last, residual = plan.last_refill, plan.residual
    if last is None or residual is None:
        text_ = "First fill of this pump: there is nothing to aspirate."
        if plan.priming is not None:
            text_ += (
                f" Priming bolus {common.volume(plan.priming)} (catheter"
                f"{' and pump fluid path' if plan.pump.pump_path_volume else ''}), only "
                "under medical supervision."
            )
        return para(text_, STYLES.bold)
    rows: list[tuple[str, Cell]] = [
        (
            "Last fill",
            f"{common.moment(last.performed_at)}: filled to "
            f"{common.volume(last.final_volume)} of "
            f"{common.solution_text(last.ingredients, catalog)}",
        ),
        (
            "Since then",
            f"{common.days(_days(residual.elapsed_days))}; "
            f"{common.volume(residual.infused)} expected to have been delivered by the program",
        ),
    ]
    bridge, taken = plan.bridge_or_priming, plan.patient_boluses
    if bridge is not None and float(bridge.m) > 0:
        rows.append((BRIDGE_OR_PRIMING_DRAWN, common.volume(bridge)))
    if taken is not None:
        rows.append((PATIENT_BOLUSES_DRAWN, taken.text()))
    return fields(rows, (24 * mm, width - 24 * mm))


def _write_in(value: str | None, unit: str, *, large: bool = False) -> Flowable:
    """A ruled field to write in (unit at its right end), or the recorded value."""
    if value is not None:
        return para(value, STYLES.large if large else STYLES.value)
    return Paragraph(f"<para align='right'>{text(unit)}</para>", STYLES.body)


def _measured(
    chart: PatientChart,
    plan: VisitPlan,
    width: float,
    completed: RefillRecord | None,
    catalog: catalogs.Catalogs,
) -> list[Flowable]:
    threshold = common.volume(plan.threshold)
    capacity = common.volume(plan.pump.capacity)
    done = completed is not None
    rows: list[list[object]] = []
    big_rows: list[int] = []
    box_rows: list[int] = []

    def row(
        label: str,
        field: Flowable,
        hint: str | list[Flowable],
        *,
        big: bool = False,
        box: bool = True,
    ) -> None:
        if big:
            big_rows.append(len(rows))
        if box:
            box_rows.append(len(rows))
        rows.append(
            [
                para(label, STYLES.large if big else STYLES.bold),
                field,
                para(hint, STYLES.small) if isinstance(hint, str) else hint,
            ]
        )

    when = "at the refill" if done else "at the planned time"

    expected = plan.expected_residual
    if completed is not None and completed.expected_residual is not None:
        expected = completed.expected_residual  # the record's own value is the one signed
    found = _found_discrepancy(plan, completed)
    aspirated = (
        None
        if completed is None or completed.aspirated is None
        else common.volume(completed.aspirated)
    )
    recorded = "not recorded"
    if expected is not None:
        row(
            "Aspirated volume",
            _write_in(aspirated if done else None, "mL", large=True),
            [
                para(
                    f"Expected {common.volume(expected)}"
                    + (" (computed empty)" if plan.state is RefillState.COMPUTED_EMPTY else ""),
                    STYLES.large,
                ),
                para(f"{when[0].upper()}{when[1:]}. Empty the reservoir completely.", STYLES.small),
            ],
            big=True,
        )
        difference = None
        if done:
            stored = completed.discrepancy_difference if completed else None
            difference = "not recorded" if stored is None else common.signed_volume(stored)
        row(
            "Discrepancy: expected minus aspirated",
            _write_in(difference, "mL"),
            f"Investigate if more than {threshold} either way (reservoir {capacity}), "
            + (
                f"or if the delivery error is beyond {common.accuracy_text(plan.accuracy_percent)}."
                if plan.accuracy_percent is not None
                else "(the labelled accuracy is not known)."
            ),
        )
        delivered = (
            common.settled(plan.last_refill.final_volume - expected, Kind.VOLUME)
            if plan.last_refill
            else None
        )
        if plan.accuracy_percent is not None and delivered is not None and float(delivered.m) > 0:
            error = None
            if done:
                error = (
                    "not known"
                    if found is None or found.delivery_error is None
                    else format_percent(found.delivery_error)
                )
            row(
                "Delivery error",
                _write_in(error, "%"),
                f"= discrepancy divided by the {common.volume(delivered)} expected to be "
                "delivered, times 100.",
            )
    else:
        row(
            "Aspirated volume",
            _write_in("none: first fill" if done else None, "mL"),
            "First fill: nothing to aspirate.",
            big=True,
        )
    if plan.constant_flow and plan.last_refill is not None:
        measured = None
        if done and completed is not None and completed.aspirated is not None:
            flow = measured_flow(
                fill_volume=plan.last_refill.final_volume,
                aspirated=completed.aspirated,
                filled_at=plan.last_refill.performed_at,
                at=completed.performed_at,
                nominal_flow=plan.pump.nominal_flow,
            )
            measured = common.flow(flow.flow) + (
                "" if flow.deviation is None else f" ({format_percent(flow.deviation)})"
            )
        nominal = (
            "nominal not recorded"
            if plan.pump.nominal_flow is None
            else f"nominal {common.flow(plan.pump.nominal_flow)}"
        )
        row(
            "Measured flow",
            _write_in(measured, "mL/day"),
            f"= (last fill {common.volume(plan.last_refill.final_volume)} minus aspirated) "
            f"divided by the days since the fill ("
            f"{common.days(_days(plan.residual.elapsed_days)) if plan.residual else 'unknown'}"
            f"{' at the refill' if done else ' at the planned time'}); {nominal}.",
        )
    solution = common.solution_text(plan.ingredients, catalog)
    row(
        "Drug lot number",
        _write_in(completed.lot_number if completed else None, ""),
        f"Check the label: {solution}.",
    )
    row(
        "Expiry or beyond-use date",
        _write_in(common.day(completed.expiry) if completed else None, ""),
        "Do not use an expired solution.",
    )
    row(
        "Solution source",
        _write_in(
            None
            if completed is None
            else completed.source
            + (" (pharmacy-compounded)" if completed.compounded else "")
            + (
                f", {dilution_text(completed.undiluted)}" if completed.undiluted is not None else ""
            ),
            "",
        ),
        "Pharmacy, manufacturer or compounding service.",
    )
    row(
        "Volume injected",
        _write_in(common.volume(completed.volume_added) if completed else None, "mL"),
        f"Planned {common.volume(plan.refill.volume_to_add)}.",
    )
    row(
        "Final reservoir volume",
        _write_in(common.volume(completed.final_volume) if completed else None, "mL"),
        f"Planned {common.volume(plan.refill.final_volume)}; never above the capacity, "
        f"{capacity}. Program this volume into the pump.",
    )
    if plan.concentration_changed or plan.first_fill:
        given = None
        if completed is not None:
            given = (
                "none" if completed.bridge_bolus is None else common.volume(completed.bridge_bolus)
            )
        row(
            "Bridge or priming bolus given",
            _write_in(given, "mL"),
            "Only under medical supervision. See the bridge section.",
        )
    row(
        "Needle position confirmed",
        _confirmed(completed.needle_position_confirmed if completed else None),
        "Needle through the reservoir septum to the needle stop; aspiration confirmed before "
        "injecting.",
        box=False,
    )
    row(
        "Pump confirmed running",
        _confirmed(completed.pump_running_confirmed if completed else None),
        "Interrogated again: not stopped, the new program shown.",
        box=False,
    )
    if not plan.constant_flow:
        figures = None if completed is None else completed.programmer
        readback = None
        hint = (
            f"pumpmgr: {common.volume(plan.refill.final_volume)}, "
            f"{common.day(plan.forecast.alarm_at)}, "
            f"{common.flow(plan.program.daily_volume())}. Differs? Correct the wrong one."
        )
        if completed is not None:
            readback = (
                recorded
                if figures is None
                else f"{common.volume(figures.reservoir)}, {common.day(figures.alarm_date)}, "
                f"{common.flow(figures.daily_volume)}"
            )
            check = programmer_check_text(completed.programmer_differs)
            hint = f"Cross-check: {check}."
        row("Programmer's read-back", _write_in(readback, ""), hint)
    row(
        "Time of refill",
        _write_in(common.moment(completed.performed_at) if completed else None, ""),
        "24-hour clock.",
    )

    label_w, field_w = 52 * mm, 52 * mm
    table = Table(rows, colWidths=[label_w, field_w, width - label_w - field_w])
    commands: list[object] = [
        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("BOX", (0, 0), (-1, -1), 1.5, INK),
        ("LINEBELOW", (0, 0), (-1, -2), 0.3, BAND),
    ]
    for index in box_rows:
        if not done:
            commands += [
                ("BACKGROUND", (1, index), (1, index), WRITE_IN),
                ("LINEBELOW", (1, index), (1, index), 1.2, INK),
            ]
    for index in big_rows:
        commands += [
            ("TOPPADDING", (0, index), (-1, index), 7),
            ("BOX", (0, index), (-1, index), 2, INK),
        ]
    if not done:
        commands += [("TOPPADDING", (0, 1), (-1, -1), 2.5)]
    table.setStyle(TableStyle(commands))
    title = (
        "Measured at the refill"
        if done
        else "At the refill: measure and write in (aspirated volume first)"
    )
    body: list[Flowable] = [_since_last_fill(plan, width, catalog), Spacer(1, 2 * mm)]
    if plan.concentration_changed:
        # on the first page too: a change must never wait to be found on a later one
        changes = "; ".join(
            f"{common.drug_name(c.drug, catalog)} "
            f"{'none' if c.old is None else common.concentration(c.old, c.display_unit)} to "
            f"{'none' if c.new is None else common.concentration(c.new, c.display_unit)}"
            for c in plan.changes
        )
        body += [
            framed(
                [
                    para(
                        f"CONCENTRATION CHANGES AT THIS REFILL: {changes}. Bridge bolus: "
                        "see the section 'Concentration change and bridge bolus'.",
                        STYLES.warning,
                    )
                ],
                width,
                warning=True,
            ),
            Spacer(1, 2 * mm),
        ]
    body += [_before(plan, completed, width), Spacer(1, 1 * mm), table]
    if done and completed is not None:
        body += [Spacer(1, 3 * mm), *_verdict(plan, completed, found, width)]
    # A record's values may be long: it may flow on, never leaving page 1 empty.
    return [*section(title, width, body, keep=not done)]


def _before(plan: VisitPlan, completed: RefillRecord | None, width: float) -> Table:
    """What paper refill sheets ask before anything is drawn (field.md 1.6), side by side:
    the programmer's reading, the site and pocket, the symptoms asked."""
    found = None if completed is None else completed.bedside
    columns: list[tuple[str, str | None, str]] = []
    if not plan.constant_flow:
        columns.append(
            (
                "Programmer's reading first",
                None if found is None else interrogation_text(found.interrogation),
                "Status, each alarm, reservoir mL.",
            )
        )
    columns.append(
        (
            "Site and pocket",
            None if found is None else site_text(found.site),
            "'Normal', or what you find.",
        )
    )
    columns.append(
        (
            "Symptoms asked",
            None if found is None else symptoms_text(found.symptoms),
            "Withdrawal or overdose signs, or 'none'.",
        )
    )
    done = completed is not None
    values = [
        para("not recorded" if done and value is None else value or "", STYLES.value)
        for _, value, _ in columns
    ]
    table = Table(
        [
            [
                [para(label, STYLES.bold), *([] if done else [para(hint, STYLES.small)])]
                for label, _, hint in columns
            ],
            values,
        ],
        colWidths=[width / len(columns)] * len(columns),
        rowHeights=[None, None if done else 8 * mm],
    )
    commands: list[object] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("BOX", (0, 0), (-1, -1), 1.5, INK),
        ("INNERGRID", (0, 0), (-1, -1), 0.3, BAND),
    ]
    if not done:
        commands.append(("BACKGROUND", (0, 1), (-1, 1), WRITE_IN))
    table.setStyle(TableStyle(commands))
    return table


def _confirmed(value: bool | None) -> Flowable:
    box = CheckBox(value)
    if value is None:
        return Table(
            [[box, para("yes", STYLES.body)]],
            colWidths=[8 * mm, 20 * mm],
            style=TableStyle(
                [("LEFTPADDING", (0, 0), (-1, -1), 0), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
            ),
        )
    word = "Yes" if value else "NO: see the note"
    return Table(
        [[box, para(word, STYLES.value)]],
        colWidths=[8 * mm, 40 * mm],
        style=TableStyle(
            [("LEFTPADDING", (0, 0), (-1, -1), 0), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
        ),
    )


def _found_discrepancy(plan: VisitPlan, completed: RefillRecord | None) -> Discrepancy | None:
    """The completed refill's discrepancy, rebuilt from its record for the delivery error and
    what it may mean; the stored verdict and difference stay the record's own."""
    if completed is None or completed.aspirated is None or completed.expected_residual is None:
        return None
    fill = completed.previous_fill_volume or (
        plan.last_refill.final_volume if plan.last_refill else None
    )
    if fill is None:
        return None
    try:
        found = discrepancy(
            fill_volume=fill,
            expected=completed.expected_residual,
            actual=completed.aspirated,
            reservoir_capacity=plan.pump.capacity,
            accuracy_percent=plan.accuracy_percent,
        )
    except PumpMgrError:
        return None
    verdict = completed.discrepancy_verdict or found.verdict
    difference = completed.discrepancy_difference
    return replace(
        found, verdict=verdict, difference=found.difference if difference is None else difference
    )


def _verdict(
    plan: VisitPlan, completed: RefillRecord, found: Discrepancy | None, width: float
) -> list[Flowable]:
    verdict = completed.discrepancy_verdict
    note = completed.discrepancy_note.strip()
    if verdict is None:
        return [
            para(
                "Discrepancy verdict: none (first fill of the pump)."
                + (f" Note: {note}" if note else ""),
                STYLES.body,
            )
        ]
    detail = []
    if completed.discrepancy_difference is not None:
        detail.append(f"difference {common.signed_volume(completed.discrepancy_difference)}")
    detail.append(f"threshold {common.volume(plan.threshold)}")
    if found is not None and found.delivery_error is not None:
        detail.append(
            f"delivery error {format_percent(found.delivery_error)}"
            f" (labelled accuracy {common.accuracy_text(plan.accuracy_percent)})"
        )
    facts = "; ".join(detail) + "."
    facts = facts[0].upper() + facts[1:]
    restart = restart_of(completed)
    # a restart (domain-rules §3) is said first; an "ok" is never printed beside it (§4)
    said = (
        [] if restart is None else [para(f"RESTART: {restart_summary(restart)}.", STYLES.warning)]
    )
    body: list[Flowable]
    if verdict == "found_empty":
        body = [
            para("RESERVOIR FOUND EMPTY", STYLES.warning),
            *said,
            para(facts, STYLES.bold),
            para(
                "Ask for the patient's condition (withdrawal; lost opioid tolerance) and tell "
                "the responsible clinician today.",
                STYLES.body,
            ),
        ]
    elif verdict == "investigate":
        meaning = (
            found.meaning
            if found is not None
            else ("The aspirated volume differs from the expected residual beyond the threshold.")
        )
        body = [
            para("DISCREPANCY: INVESTIGATE", STYLES.warning),
            *said,
            para(facts, STYLES.bold),
            para(f"What it may mean: {meaning}", STYLES.body),
            para(
                "Whatever the numbers, look first for withdrawal or overdose signs in the "
                "patient, and tell the responsible clinician today.",
                STYLES.body,
            ),
        ]
    elif said:  # a restart for withdrawal or the pump log
        body = [*said, para(f"Residual within the threshold. {facts}", STYLES.bold)]
    else:
        body = [para(f"Discrepancy verdict: OK. {facts}", STYLES.bold)]
    if note:
        body.append(para(f"Nurse's note: {note}", STYLES.body))
    return [framed(body, width, warning=bool(said) or verdict != "ok")]


def _planned(
    plan: VisitPlan, width: float, catalog: catalogs.Catalogs, completed: RefillRecord | None
) -> list[Flowable]:
    rows = [
        [
            common.drug_name(d.ingredient.drug, catalog),
            common.concentration(d.ingredient.concentration, d.ingredient.display_unit),
            common.dose(d.daily_dose, d.ingredient.display_unit),
            common.dose(d.max_daily_dose, d.ingredient.display_unit)
            if plan.program.patient_bolus is not None
            else "no patient bolus",
        ]
        for d in plan.doses
    ]
    column = (width - 40 * mm) / 3
    table = grid(
        ["Drug", "Concentration", "Daily dose", "With every patient bolus"],
        rows,
        [40 * mm, column, column, column],
        bold_first=True,
    )
    unit = plan.ingredients[0].display_unit
    outlook = plan.forecast
    stability = (
        "none set"
        if outlook.stability_days is None
        else f"{format_duration(_days(outlook.stability_days))} ({plan.stability_source})"
    )
    waste = plan.refill.waste
    if completed is not None and completed.aspirated is not None:
        waste = completed.aspirated
    new_steps = common.schedule_lines(plan.program.schedule, unit)
    old_steps = common.schedule_lines(
        plan.current_program.schedule, plan.prescription.primary.display_unit
    )
    info: list[tuple[str, Cell]] = []
    if new_steps != old_steps and not plan.constant_flow:
        info.append(("Schedule until now", _lines(old_steps, STYLES.body)))
        info.append(("New schedule", _lines(new_steps, STYLES.value)))
    else:
        info.append(("Schedule", _lines(new_steps, STYLES.value)))
    info += [
        ("Daily volume", common.program_dose_lines(plan.program, unit)[1]),
    ]
    if not plan.constant_flow:
        info.append(("Patient bolus", common.bolus_text(plan.program.patient_bolus, unit)))
    info += [
        ("Volume to add", common.volume(plan.refill.volume_to_add)),
        (
            "Waste",
            f"{common.volume(waste)} (the aspirate; discard by the clinic's "
            "controlled-drug procedure)",
        ),
        *_alarm_rows(plan),
        (
            "Empty",
            f"{common.day(outlook.empty_at)} (information only: withdrawal can start earlier)",
        ),
        ("Stability limit", stability),
    ]
    title = (
        "New solution and program"
        if completed is not None
        else ("Planned solution and program (if all goes to plan)")
    )
    return section(
        title, width, [table, Spacer(1, 2 * mm), fields(info, (42 * mm, width - 42 * mm))]
    )


def alarm_name(plan: VisitPlan) -> str:
    """What the alarm volume is called: a constant-flow pump has no alarm, only the clinic's
    planning volume."""
    if plan.constant_flow:
        return f"{common.volume(plan.pump.alarm_volume)} planning volume reached"
    return "Low-reservoir alarm"


def _alarm_rows(plan: VisitPlan) -> list[tuple[str, Cell]]:
    outlook = plan.forecast
    how = "the pump's nominal flow" if plan.constant_flow else "as the pump computes it"
    rows: list[tuple[str, Cell]] = [
        (
            alarm_name(plan),
            f"{common.day(outlook.alarm_at)} "
            f"({format_duration(_days(outlook.days_to_alarm))}, {how})",
        ),
    ]
    if plan.program.patient_bolus is not None:
        rows.append(
            (
                "With every patient bolus",
                f"{common.day(outlook.alarm_at_with_boluses)} "
                f"({format_duration(_days(outlook.days_to_alarm_with_boluses))})",
            )
        )
    if plan.accuracy_percent is not None:
        fast = "every patient bolus, and " if plan.program.patient_bolus is not None else ""
        rows.append(
            (
                "Worst case",
                f"{common.day(outlook.alarm_at_worst_case)} ({fast}the pump "
                f"fast by {common.accuracy_text(plan.accuracy_percent)})",
            )
        )
    else:
        rows.append(("Worst case", "not known: the pump's labelled accuracy is not recorded"))
    return rows


def _bridge(plan: VisitPlan, width: float, catalog: catalogs.Catalogs) -> list[Flowable]:
    if not plan.concentration_changed:
        return section(
            "Concentration change and bridge bolus",
            width,
            [para("No concentration change: the pump holds the same solution. No bridge bolus.")],
        )
    words = bridge_wording(plan, catalog)
    style = {"computed": STYLES.value, "dead_space_unknown": STYLES.warning}.get(
        plan.bridge_status, STYLES.body
    )
    lines: list[Flowable] = [para("CONCENTRATION CHANGES AT THIS REFILL", STYLES.warning)]
    lines += [para(change, STYLES.bold) for change in words.changes]
    lines += [para(how, style) for how in words.how]
    lines.append(para("Priming and bridge boluses only under medical supervision.", STYLES.bold))
    return section(
        "Concentration change and bridge bolus", width, [framed(lines, width, warning=True)]
    )


def _signs(
    chart: PatientChart,
    plan: VisitPlan,
    settings: ClinicSettings,
    width: float,
    catalog: catalogs.Catalogs,
) -> list[Flowable]:
    signs = common.warning_signs(plan.ingredients, catalog)
    current = {s.drug for s in signs}
    for extra in common.warning_signs(plan.current_solution, catalog):
        if extra.drug not in current:
            signs.append(extra)
    rows = [
        [s.drug, _lines(s.withdrawal, STYLES.cell), _lines(s.overdose, STYLES.cell)] for s in signs
    ]
    column = (width - 30 * mm) / 2
    table = grid(
        ["Drug", "Withdrawal or underdose (pump empty, catheter problem)", "Overdose"],
        rows,
        [30 * mm, column, column],
        bold_first=True,
    )
    phone = settings.clinic_phone or "the clinic's number (not set in pumpmgr)"
    reminders = [
        "The pump programmer stays the device of record: check every value here against it.",
        f"Call the clinic at {phone} about any of these signs; an emergency goes to the "
        "emergency department, with this sheet.",
        "Refill through the reservoir fill port only. Never inject into the catheter access "
        "port: it goes straight into the spinal fluid.",
        "Priming and bridge boluses only under medical supervision.",
        "After the refill watch the patient for overdose signs: a pocket fill or a wrong "
        "program shows there first.",
        "Check the medication list for other central nervous system depressants.",
    ]
    if chart.patient.renal_impairment:
        reminders.append("Renal impairment is recorded: overdose signs may appear at lower doses.")
    bullets = [markup(f"&bull; {text(r)}", STYLES.body) for r in reminders]
    return section("Warning signs and safety", width, [table, Spacer(1, 2 * mm), *bullets])


def _chart(
    chart: PatientChart, plan: VisitPlan, width: float, completed: RefillRecord | None
) -> list[Flowable]:
    refills = pump_refills(chart, plan.pump.id)
    outlook = plan.forecast
    if completed is not None:
        history = [r for r in refills if r.performed_at <= completed.performed_at]
        projection = [
            (completed.performed_at, completed.final_volume),
            (outlook.alarm_at, plan.pump.alarm_volume),
        ]
    else:
        history = [r for r in refills if r.performed_at <= plan.at]
        projection = []
        if plan.last_refill is not None and plan.expected_residual is not None:
            projection += [
                (plan.last_refill.performed_at, plan.last_refill.final_volume),
                (plan.at, plan.expected_residual),
            ]
        projection += [
            (plan.at, plan.refill.final_volume),
            (outlook.alarm_at, plan.pump.alarm_volume),
        ]
    drawing = reservoir_chart(
        history,
        capacity=plan.pump.capacity,
        alarm_volume=plan.pump.alarm_volume,
        projection=projection,
        due=outlook.refill_due,
        width=width,
        alarm_label="planning volume (no pump alarm)"
        if plan.constant_flow
        else "low-reservoir alarm volume",
    )
    return section("Reservoir volume over the last fills", width, [drawing])


def _notes(plan: VisitPlan, width: float) -> list[Flowable]:
    if not plan.notes:
        return []
    return section(
        "What this plan could not know",
        width,
        [markup(f"&bull; {text(n[0].upper() + n[1:])}.", STYLES.body) for n in plan.notes],
    )


def orders_and_incidents(chart: PatientChart, tz: tzinfo) -> list[Flowable]:
    """What awaits a prescriber, before anything else on the sheet: every Stop order not yet
    carried out with the drug's withdrawal warning (domain-rules §6), every unreviewed incident
    (§4a), every open order (§7) and every individual maximum (§6), as the
    patient's page says them. An order not yet signed prints no pump settings: the
    worksheet's program is the one the pump runs."""
    return [para(alert.text, STYLES.warning) for alert in patient_alerts(chart, tz)]


def worksheet_story(
    chart: PatientChart,
    plan: VisitPlan,
    settings: ClinicSettings,
    *,
    completed: RefillRecord | None = None,
    catalog: catalogs.Catalogs,
    index: int = 0,
) -> list[Flowable]:
    """The worksheet's flowables, headed by its :class:`SectionStart` (``index`` in a batch)."""
    library = catalog
    width = frame_width(settings)
    story: list[Flowable] = [SectionStart(worksheet_section(chart, plan, completed), index)]
    story += _header(chart, plan, settings, completed, width)
    if completed is None:
        story += orders_and_incidents(chart, plan.at.tzinfo or UTC)
    story += _measured(chart, plan, width, completed, library)
    # Signed where the measured values are, so page 1 is the whole procedure record.
    nurse = completed.nurse if completed is not None else ""
    verifier = completed.verifier if completed is not None else ""
    story.append(
        KeepTogether(
            [
                heading("Signatures", width),
                Spacer(1, 2 * mm),
                para(
                    "The verifying nurse checks the drug, concentration, volume and the pump "
                    "program independently.",
                    STYLES.small,
                ),
                signatures([("Nurse", nurse), ("Verifying nurse", verifier)], width),
            ]
        )
    )
    story.append(Spacer(1, 4 * mm))
    story += _pump_and_prescription(chart, plan, width, library)
    story += _planned(plan, width, library, completed)
    story += _bridge(plan, width, library)
    story += _signs(chart, plan, settings, width, library)
    story += _chart(chart, plan, width, completed)
    story += _notes(plan, width)
    return story


def build_refill_worksheet(
    chart: PatientChart,
    plan: VisitPlan,
    settings: ClinicSettings,
    *,
    completed: RefillRecord | None = None,
    generated_at: datetime,
    invariant: bool = True,
    audit_head: str | None = None,
    catalog: catalogs.Catalogs,
) -> bytes:
    """The refill worksheet as PDF bytes: before the visit, or ``completed`` with the record.

    ``plan`` is :func:`pumpmgr.visit.plan_visit` for a coming visit, or
    :func:`pumpmgr.visit.plan_for_refill` of ``completed`` for a completed one.
    """
    story = worksheet_story(chart, plan, settings, completed=completed, catalog=catalog)
    section_ = worksheet_section(chart, plan, completed)
    return build_pdf(
        story,
        settings,
        title=section_.title,
        subject=TITLE,
        generated_at=generated_at,
        invariant=invariant,
        audit_head=audit_head,
    )


__all__ = ["build_refill_worksheet", "record_id", "worksheet_section", "worksheet_story"]
