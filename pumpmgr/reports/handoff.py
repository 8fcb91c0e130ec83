"""The admission hand-off sheet: one page for a ward admitting a patient with a drug pump.

Reports layer: imports reportlab and the pure pumpmgr modules (records, visit, visit_note,
formatting, catalogs); never SQLAlchemy, :mod:`pumpmgr.db` or Qt. What the pump holds and runs
(the last fill's solution, the prescription in force), the alarm and refill-due dates, the pump
model and its MRI rules, the clinic's phone, the signs of withdrawal and of overdose, and what a
ward must never do. The words and numbers are the visit note's and the wallet card's
(:mod:`pumpmgr.visit_note`, :mod:`pumpmgr.reports.common`), so the ward reads what the clinic
wrote. A story that would not fit one page is shrunk to fit, never cut.
"""

from __future__ import annotations

from datetime import datetime

from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.platypus import Flowable, KeepInFrame, Spacer  # type: ignore[import-untyped]

from pumpmgr import catalogs
from pumpmgr.errors import Code, ImpossibleInput
from pumpmgr.formatting import format_datetime
from pumpmgr.records import INDICATION_TEXT, ClinicSettings, PatientChart
from pumpmgr.visit import is_constant_flow, program_of, pump_prescriptions, pump_refills
from pumpmgr.visit_note import bolus_text, dose_text, due_reason_text

from . import common
from .styles import (
    FOOTER_HEIGHT,
    MARGIN,
    STYLES,
    Section,
    SectionStart,
    build_pdf,
    columns,
    fields,
    framed,
    grid,
    markup,
    page_size,
    para,
    section,
    text,
    title_block,
)

TITLE = "Admission hand-off: intrathecal pump"
#: Drugs whose abrupt stop is itself the danger (the label's boxed warning for baclofen
#: [S48][S58]; withdrawal for opioids and clonidine, domain-rules section 6).
WITHDRAWAL_DANGER = {"baclofen", "morphine", "hydromorphone", "fentanyl", "sufentanil", "clonidine"}


def handoff_section(chart: PatientChart) -> Section:
    return Section(
        f"Admission hand-off: {chart.patient.display_name}, MRN {chart.patient.mrn}",
        f"pumpmgr:patient:{chart.patient.mrn}:handoff",
    )


def never_lines(drugs: list[str], catalog: catalogs.Catalogs) -> list[str]:
    """What a ward must never do with this pump, the dangerous first."""
    names = " and ".join(common.drug_name(d, catalog) for d in drugs)
    lines = []
    dangerous = [common.drug_name(d, catalog) for d in drugs if d in WITHDRAWAL_DANGER]
    if dangerous:
        # the baclofen label's boxed warning on abrupt withdrawal [S48][S58]
        baclofen = (
            (
                " (for baclofen: high fever, altered mental state, rebound spasticity and "
                "muscle rigidity)"
            )
            if "baclofen" in drugs
            else ""
        )
        lines.append(
            f"Never stop intrathecal {' and '.join(dangerous).lower()} abruptly, and never let "
            f"the pump run empty: withdrawal can be life-threatening{baclofen}."
        )
    else:
        lines.append(f"Never stop or empty the pump of {names} without the pump clinic.")
    lines += [
        "Never access, refill or aspirate the pump, or inject into its catheter access port, "
        "without training on this pump model: a drug injected outside the reservoir can be a "
        "fatal overdose.",
        "Never reprogram the pump or change the dose without the pump clinic or the "
        "prescriber; never give the pump's drug by another route to replace it without them.",
        "Never do an MRI before reading the pump's MRI rules below; after an MRI the clinic "
        "checks that the pump runs.",
    ]
    return lines


def handoff_story(
    chart: PatientChart, settings: ClinicSettings, *, at: datetime, catalog: catalogs.Catalogs
) -> list[Flowable]:
    """The sheet's flowables for the pump as it is at ``at`` (the clinic's wall-clock time)."""
    library = catalog
    pump = chart.pump
    rx = None
    if pump is not None:
        running = [p for p in pump_prescriptions(chart, pump.id) if p.effective_at <= at]
        rx = running[-1] if running else chart.prescription
    if pump is None or rx is None:
        raise ImpossibleInput(
            f"pump: {chart.patient.display_name} has no active pump and prescription, so there "
            "is no hand-off sheet to print",
            code=Code.OUT_OF_RANGE,
            field="pump",
        )
    fills = [r for r in pump_refills(chart, pump.id) if r.performed_at <= at]
    solution = fills[-1].ingredients if fills else rx.ingredients
    program = program_of(rx, pump)
    constant = is_constant_flow(pump)
    width = page_size(settings)[0] - 2 * MARGIN
    outlook = chart.forecast
    ask = "not forecast: ask the clinic"
    phone = settings.clinic_phone or "see the clinic's letter"
    patient = chart.patient
    label_width = 46 * mm

    story: list[Flowable] = [
        SectionStart(handoff_section(chart)),
        title_block(
            TITLE,
            settings.clinic_name,
            width,
            badge=("DO NOT STOP THE PUMP", f"Pump clinic: {phone}"),
        ),
        para(
            f"{common.patient_line(patient)}; "
            f"{INDICATION_TEXT.get(patient.indication, patient.indication)}"
            + ("; renal impairment" if patient.renal_impairment else ""),
            STYLES.bold,
        ),
        Spacer(1, 2 * mm),
    ]
    never = [para("WHAT THE WARD MUST NEVER DO", STYLES.warning)]
    never += [
        para(f"• {line}", STYLES.body) for line in never_lines([i.drug for i in solution], library)
    ]
    story += [framed(never, width, warning=True), Spacer(1, 3 * mm)]

    holds = [
        ("Drug and concentration", common.solution_text(solution, library)),
        ("Daily dose", dose_text(program, solution, library)),
        (
            "Schedule",
            [
                para(line, STYLES.value)
                for line in (
                    ["Constant flow"]
                    if constant
                    else common.schedule_lines(rx.schedule, rx.primary.display_unit)
                )
            ]
            + [para(f"daily volume {common.flow(program.daily_volume())}", STYLES.value)],
        ),
        ("Patient-activated bolus", bolus_text(rx.patient_bolus, rx.primary.display_unit)),
        (
            "Pump",
            f"{pump.model_name}, serial {pump.serial_number}, implanted "
            f"{common.day(pump.implanted_on)} ({pump.site}); reservoir "
            f"{common.volume(pump.capacity)}",
        ),
    ]
    if chart.catheter is not None:
        holds.append(("Catheter", f"tip at {chart.catheter.tip_level}"))
    story += section(
        "What the pump holds and delivers",
        width,
        [fields(holds, (label_width, width - label_width))],
        keep=False,
    )

    alarm_label = "Planning volume reached" if constant else "Low-reservoir alarm"
    if outlook is None:
        dates = [(alarm_label, ask), ("Refill due", ask)]
    else:
        reason = due_reason_text(
            outlook.refill_due_reason, buffer_days=settings.buffer_days, constant_flow=constant
        )
        dates = [
            (alarm_label, format_datetime(outlook.alarm_at_with_boluses)),
            ("Refill due", f"{common.day(outlook.refill_due)} ({reason})"),
        ]
    dates.append(
        (
            "If the refill falls due during the admission",
            f"call the pump clinic ({phone}) before that date: the refill is done by the "
            "clinic or by staff trained on this pump, with the pump's own refill kit.",
        )
    )
    story += section(
        "Dates", width, [fields(dates, (label_width, width - label_width))], keep=False
    )

    signs = common.warning_signs(solution, library)
    rows = [[s.drug, "; ".join(s.withdrawal), "; ".join(s.overdose)] for s in signs]
    story += section(
        "Watch for (call the pump clinic at once)",
        width,
        [
            grid(
                ["Drug", "Withdrawal or too little", "Overdose"],
                rows,
                columns(width, 25, 80, 80),
                bold_first=True,
            )
        ],
        keep=False,
    )
    story += section(
        "MRI rules of this pump model",
        width,
        [para(common.mri_note(pump, library), STYLES.body)],
        keep=False,
    )
    story += [
        markup(
            f"<b>Pump clinic:</b> {text(settings.clinic_name)}, phone <b>{text(phone)}</b>",
            STYLES.large,
        ),
    ]
    return story


def build_handoff(
    chart: PatientChart,
    settings: ClinicSettings,
    *,
    generated_at: datetime,
    invariant: bool = True,
    audit_head: str | None = None,
    catalog: catalogs.Catalogs,
) -> bytes:
    """The one-page hand-off sheet as PDF bytes, for the pump as it is at ``generated_at``."""
    story = handoff_story(chart, settings, at=generated_at, catalog=catalog)
    size = page_size(settings)
    height = size[1] - 2 * MARGIN - FOOTER_HEIGHT
    fitted = KeepInFrame(size[0] - 2 * MARGIN, height, story[1:], mode="shrink")
    return build_pdf(
        [story[0], fitted],
        settings,
        title=handoff_section(chart).title,
        subject=TITLE,
        generated_at=generated_at,
        invariant=invariant,
        audit_head=audit_head,
    )
