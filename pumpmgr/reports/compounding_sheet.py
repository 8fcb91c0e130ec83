"""The compounding sheet: how to make the planned solution for a constant-flow pump or an
admixture, with the checks to tick before it goes into the pump.

Reports layer: imports reportlab and the pure pumpmgr modules (records, visit, compounding,
formatting, catalogs); never SQLAlchemy, :mod:`pumpmgr.db` or Qt. The volumes come from
:func:`pumpmgr.visit.plan_compounding` (which calls :func:`pumpmgr.compounding.compound` per
drug), so the sheet and the refill wizard agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.platypus import Flowable, KeepTogether, Spacer, Table, TableStyle  # type: ignore[import-untyped]

from pumpmgr import catalogs
from pumpmgr.errors import CatalogError
from pumpmgr.records import ClinicSettings, PatientChart
from pumpmgr.units import MCG, MCG_PER_ML, Quantity, exceeds
from pumpmgr.visit import CompoundingPlan, VisitPlan, plan_compounding

from . import common
from .styles import (
    STYLES,
    Cell,
    CheckBox,
    Section,
    SectionStart,
    build_pdf,
    columns,
    fields,
    frame_width,
    framed,
    grid,
    para,
    section,
    signatures,
    title_block,
)

TITLE = "Compounding sheet"


def compounding_section(chart: PatientChart, plan: VisitPlan) -> Section:
    return Section(
        f"Compounding sheet: {chart.patient.display_name}, MRN {chart.patient.mrn}",
        f"pumpmgr:compounding:{chart.patient.mrn}:{plan.pump.serial_number}:"
        f"{plan.at:%Y-%m-%dT%H:%M}",
    )


def _limit_checks(made: CompoundingPlan, catalog: catalogs.Catalogs) -> list[str]:
    """Each drug's concentration against the library's maximum, in words."""
    lines = []
    for line in made.lines:
        ingredient = line.ingredient
        unit = ingredient.display_unit
        name = common.drug_name(ingredient.drug, catalog)
        shown = common.concentration(line.result.concentration, unit)
        try:
            limit = catalog.drug(ingredient.drug).max_concentration
        except CatalogError:
            lines.append(f"{name} {shown}: not in the drug library, no maximum to check.")
            continue
        if limit is None:
            lines.append(f"{name} {shown}: the library sets no maximum concentration.")
        elif exceeds(
            float(line.result.concentration.to(MCG_PER_ML).m), float(limit.value.to(MCG_PER_ML).m)
        ):
            kind = (
                "a soft, unverified limit: the prescriber's reason is needed"
                if (limit.unverified)
                else "a hard limit: do not prepare"
            )
            lines.append(
                f"{name} {shown} is ABOVE the library maximum "
                f"{common.concentration(limit.value, unit)} ({kind})."
            )
        else:
            lines.append(
                f"{name} {shown}: within the library maximum "
                f"{common.concentration(limit.value, unit)}."
            )
    return lines


def compounding_story(
    chart: PatientChart,
    plan: VisitPlan,
    settings: ClinicSettings,
    *,
    stocks: Mapping[str, Quantity] | None = None,
    extra_volume: Quantity | None = None,
    catalog: catalogs.Catalogs,
) -> list[Flowable]:
    library = catalog
    made = plan_compounding(plan, stocks, extra_volume=extra_volume, drugs=library.drugs)
    width = frame_width(settings)
    clinic = common.clinic_line(settings)
    kind = (
        ("CONSTANT-FLOW PUMP", "the dose is set by the concentration")
        if plan.constant_flow
        else (
            "ADMIXTURE" if len(plan.ingredients) > 1 else "SOLUTION",
            "one solution, one volume rate",
        )
    )
    patient = chart.patient
    flow_label = "Pump flow (nominal)" if plan.constant_flow else "Programmed daily volume"
    story: list[Flowable] = [
        SectionStart(compounding_section(chart, plan)),
        title_block(TITLE, clinic, width, badge=kind),
        Spacer(1, 2 * mm),
        fields(
            [
                ("Patient", common.patient_line(patient)),
                ("Pump", f"{plan.pump.model_name}, serial {plan.pump.serial_number}"),
                ("For the refill on", common.moment(plan.at)),
                (flow_label, common.flow(made.flow)),
            ],
            (40 * mm, width - 40 * mm),
        ),
        Spacer(1, 4 * mm),
    ]
    target_rows = [
        [
            common.drug_name(line.ingredient.drug, library),
            common.dose(line.target_dose, line.ingredient.display_unit),
            common.flow(made.flow),
            common.concentration(line.result.concentration, line.ingredient.display_unit),
        ]
        for line in made.lines
    ]
    column = (width - 40 * mm) / 3
    story += section(
        "Target",
        width,
        [
            grid(
                ["Drug", "Daily dose", "At the flow of", "Concentration needed (dose / flow)"],
                target_rows,
                [40 * mm, column, column, column],
                bold_first=True,
            )
        ],
    )

    draw_rows: list[list[Cell]] = []
    for line in made.lines:
        unit = line.ingredient.display_unit
        stock = common.concentration(line.result.stock_concentration, unit)
        if line.stock_from_library:
            stock += " (chosen from the library: confirm the vial)"
        amount = (line.result.stock_volume * line.result.stock_concentration).to(MCG)
        draw_rows.append(
            [
                common.drug_name(line.ingredient.drug, library),
                stock,
                para(common.volume(line.result.stock_volume), STYLES.large),
                common.mass(amount, unit),
            ]
        )
    draw_rows.append(
        [
            f"Diluent: {made.diluent}",
            "-",
            para(common.volume(made.diluent_volume), STYLES.large),
            "-",
        ]
    )
    draw_rows.append(
        [
            "Total",
            "-",
            para(common.volume(made.total_volume), STYLES.large),
            f"fill {common.volume(plan.refill.volume_to_add)}"
            + ("" if extra_volume is None else f" + extra {common.volume(extra_volume)}"),
        ]
    )
    widths = columns(width, 50, 58, 34, 40)
    story += section(
        "Draw and mix",
        width,
        [
            grid(
                ["Component", "Stock concentration", "Volume to draw", "Drug amount"],
                draw_rows,
                widths,
                bold_first=True,
            ),
            Spacer(1, 1.5 * mm),
            para(
                "Volume of stock = concentration needed × total volume / stock concentration; "
                "diluent = total minus the stock volumes.",
                STYLES.small,
            ),
        ],
    )

    computed = [
        "Every concentration needed is at or below its stock's (checked by pumpmgr).",
        f"The volumes add up: stocks and diluent make {common.volume(made.total_volume)}.",
        *_limit_checks(made, library),
    ]
    if plan.constant_flow and plan.concentration_changed:
        flush = (
            "an unknown time (dead space not recorded)"
            if plan.flush_duration is None
            else common.days(plan.flush_duration)
        )
        computed.append(
            f"The concentration changes: the old solution in the pump path and "
            f"catheter keeps flowing for {flush} after the refill. Empty the pump "
            "completely before filling."
        )
    to_tick = [
        "Drug, stock strength, lot and expiry checked against the prescription.",
        "Diluent is preservative-free 0.9 % sodium chloride.",
        "Each volume drawn checked by a second person before mixing.",
        "Syringe labelled: patient, drug(s) and final concentration(s), total volume, date, "
        "preparer.",
    ]
    check_rows = [[CheckBox(), para(item, STYLES.body)] for item in to_tick]
    ticks = Table(check_rows, colWidths=[9 * mm, width - 9 * mm])
    ticks.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    above = any("ABOVE" in line for line in computed)
    story += section(
        "Checks",
        width,
        [
            framed(
                [
                    para(line, STYLES.warning if "ABOVE" in line else STYLES.body)
                    for line in computed
                ],
                width,
                warning=above,
            ),
            Spacer(1, 2 * mm),
            ticks,
        ],
    )
    story.append(
        KeepTogether(
            [
                Spacer(1, 2 * mm),
                signatures(
                    [("Prepared by", ""), ("Checked by", "")],
                    width,
                    rows=("Name", "Signature, date and time"),
                ),
            ]
        )
    )
    return story


def build_compounding_sheet(
    chart: PatientChart,
    plan: VisitPlan,
    settings: ClinicSettings,
    *,
    stocks: Mapping[str, Quantity] | None = None,
    extra_volume: Quantity | None = None,
    generated_at: datetime,
    invariant: bool = True,
    audit_head: str | None = None,
    catalog: catalogs.Catalogs,
) -> bytes:
    """The compounding sheet of ``plan``'s solution as PDF bytes.

    ``stocks`` maps a drug key to the stock concentration drawn from; a drug without one takes
    the library's weakest strong-enough stock, marked on the sheet for confirmation.
    ``extra_volume`` is prepared beyond the fill (to prime the syringe and tubing).
    """
    story = compounding_story(
        chart, plan, settings, stocks=stocks, extra_volume=extra_volume, catalog=catalog
    )
    return build_pdf(
        story,
        settings,
        title=compounding_section(chart, plan).title,
        subject=TITLE,
        generated_at=generated_at,
        invariant=invariant,
        audit_head=audit_head,
    )
