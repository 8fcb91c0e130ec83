"""The refill worksheet: every field, before the visit and completed, as formatting gives it."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from sheet_samples import GENERATED, VISIT, pdf_pages, pdf_text

import pumpmgr
from pumpmgr import catalogs
from pumpmgr.catalogs import default_catalogs
from pumpmgr.formatting import (
    format_date,
    format_datetime,
    format_duration,
    format_percent,
    format_quantity,
)
from pumpmgr.records import ClinicSettings, PatientChart
from pumpmgr.refill import discrepancy
from pumpmgr.reports import build_refill_worksheet
from pumpmgr.units import Q_, Kind
from pumpmgr.visit import plan_for_refill, plan_visit
from pumpmgr.visit_record import (
    BedsideFindings,
    Interrogation,
    PumpStatus,
    SiteAssessment,
    SymptomCheck,
)

#: The shipped library: these tests check against its limits (the clinic's, in a clinic).
SHIPPED = default_catalogs()

Sheet = Callable[..., bytes]
Charts = Callable[[str], PatientChart]


def test_before_visit_prefilled_fields(
    sheet: Sheet, sample_chart: Charts, settings: ClinicSettings
) -> None:
    """Patient, pump, catheter, prescription, last fill, expected residual, plan and dates."""
    chart = sample_chart("baclofen")
    plan = plan_visit(chart, VISIT, settings=settings, drugs=SHIPPED.drugs)
    pump, patient, last = plan.pump, chart.patient, plan.last_refill
    assert last is not None and chart.catheter is not None
    text = pdf_text(sheet("worksheet_baclofen"))
    expected = [
        "BEFORE THE VISIT",
        patient.display_name,
        patient.mrn,
        format_date(patient.date_of_birth),
        format_datetime(VISIT),
        pump.model_name,
        pump.serial_number,
        format_quantity(pump.capacity, Kind.VOLUME),
        format_date(pump.implanted_on),
        format_quantity(pump.alarm_volume, Kind.VOLUME),
        "±" + format_percent(0.145, signed=False),
        format_date(pump.replace_by),  # type: ignore[arg-type]
        format_quantity(chart.catheter.volume, Kind.VOLUME),
        "Baclofen " + format_quantity(Q_("2000 mcg/mL"), Kind.CONCENTRATION),
        "Flex, 4 steps",
        "00:00-06:00 " + format_quantity(Q_("30 mcg/h"), Kind.DOSE_RATE),
        format_quantity(Q_("180 mcg"), Kind.MASS),
        "06:00-07:00 " + format_quantity(Q_("100 mcg/h"), Kind.DOSE_RATE),
        format_quantity(Q_("545 mcg/day"), Kind.DOSE_RATE),
        format_quantity(Q_("0.2725 mL/day"), Kind.FLOW),
        "Patient bolus none",
        format_datetime(last.performed_at),
        format_quantity(last.final_volume, Kind.VOLUME),
        "Expected " + format_quantity(plan.expected_residual, Kind.VOLUME),
        format_quantity(plan.refill.volume_to_add, Kind.VOLUME),
        format_quantity(plan.refill.waste, Kind.VOLUME),
        "No concentration change",
        format_date(plan.forecast.refill_due),
        format_date(plan.forecast.alarm_at),
        format_date(plan.forecast.alarm_at_worst_case),
        format_duration(Q_(plan.forecast.days_to_alarm, "day")),
    ]
    for value in expected:
        assert value in text, value
    assert format_quantity(plan.expected_residual, Kind.VOLUME) == "4.74 mL"  # 20 − 56 × 0.2725
    # the pump running 14.5 % fast may reach the alarm volume before alarm − 7 days
    assert format_date(plan.forecast.refill_due) == "Thu 22 May 2025"
    assert "set by: reservoir may be low if the pump runs fast (14.5 % fast" in text


def test_before_visit_write_in_fields_and_safety(sheet: Sheet, settings: ClinicSettings) -> None:
    text = pdf_text(sheet("worksheet_baclofen"))
    for label in (
        "Aspirated volume",
        "Discrepancy: expected minus aspirated",
        "Delivery error",
        "Drug lot number",
        "Expiry or beyond-use date",
        "Volume injected",
        "Final reservoir volume",
        "Needle position confirmed",
        "Pump confirmed running",
        "Time of refill",
        "Nurse",
        "Verifying nurse",
        "Signature",
        "Date and time",
    ):
        assert label in text, label
    threshold = format_quantity(Q_("1 mL"), Kind.VOLUME)
    assert f"Investigate if more than {threshold} either way" in text
    assert "beyond ±14.5 %" in text
    assert "Priming and bridge boluses only under medical supervision." in text
    assert settings.clinic_phone in text
    assert "catheter access port" in text


def test_drug_specific_warning_signs(sheet: Sheet) -> None:
    library = catalogs.default_catalogs().drugs
    text = pdf_text(sheet("worksheet_baclofen"))
    for sign in (
        *library.drug("baclofen").withdrawal_signs,
        *library.drug("baclofen").overdose_signs,
    ):
        assert sign in text, sign
    mixed = pdf_text(sheet("worksheet_admixture"))
    for drug in ("morphine", "clonidine"):
        for sign in library.drug(drug).withdrawal_signs:
            assert sign in mixed, sign
    assert "opioid withdrawal" in mixed and "respiratory depression" in mixed
    # clonidine has no listed overdose sign: the sheet says so instead of an empty box
    assert "none listed in the drug library" in mixed
    assert "Renal impairment is recorded" in mixed


def test_footer_on_every_page(sheet: Sheet) -> None:
    data = sheet("worksheet_baclofen")
    pages = pdf_pages(data)
    for number, page in enumerate(pages, 1):
        text = " ".join(page.extract_text().split())
        assert f"Page {number} of {len(pages)}" in text
        assert f"pumpmgr {pumpmgr.__version__}" in text
        assert f"Generated {format_datetime(GENERATED)}" in text
        assert "Record pumpmgr:visit:100234:NGP204518H:2025-03-25T09:00" in text


def test_admixture_bridge_is_computed_and_shown(
    sheet: Sheet, sample_chart: Charts, settings: ClinicSettings
) -> None:
    """Morphine 10 → 20 mg/mL at 3 mg/day, dead space 0.26 + 0.187 mL: run 0.3 mL/day for
    0.447 / 0.3 days, then 0.15 mL/day; clonidine's change shown with its own doses."""
    chart = sample_chart("admixture")
    plan = plan_visit(chart, VISIT, settings=settings, drugs=SHIPPED.drugs)
    assert plan.bridge is not None
    text = pdf_text(sheet("worksheet_admixture"))
    for value in (
        "CONCENTRATION CHANGES AT THIS REFILL",
        "Morphine: " + format_quantity(Q_("10 mg/mL"), Kind.CONCENTRATION, "mg"),
        format_quantity(Q_("20 mg/mL"), Kind.CONCENTRATION, "mg") + " in the new solution",
        "Clonidine: " + format_quantity(Q_("100 mcg/mL"), Kind.CONCENTRATION),
        "Without a bridge the patient gets "
        + format_quantity(Q_("1.5 mg/day"), Kind.DOSE_RATE, "mg")
        + " for "
        + format_duration(plan.bridge.unbridged_duration)
        + " instead of "
        + format_quantity(Q_("3 mg/day"), Kind.DOSE_RATE, "mg"),
        format_quantity(Q_("15 mcg/day"), Kind.DOSE_RATE) + " of Clonidine",
        "run the old rate of " + format_quantity(plan.bridge.bridge_rate, Kind.FLOW),
        format_duration(plan.bridge.bridge_duration),
        format_quantity(plan.bridge.new_rate, Kind.FLOW),
        format_quantity(Q_("0.447 mL"), Kind.VOLUME),
        # every drug's dose, each in its own unit: the mg/mcg pair side by side
        format_quantity(Q_("3 mg/day"), Kind.DOSE_RATE, "mg"),
        format_quantity(Q_("30 mcg/day"), Kind.DOSE_RATE),
        format_quantity(Q_("3.4 mg/day"), Kind.DOSE_RATE, "mg"),
        format_quantity(Q_("34 mcg/day"), Kind.DOSE_RATE),
        "0.1 mg a bolus, at most 4 a day, lockout 3 h",
        format_date(plan.forecast.alarm_at_with_boluses),
        "90 days (drug library: Morphine)",
    ):
        assert value in text, value
    # 0.447 mL / 0.3 mL/day = 35.76 h, shown to 0.1 h
    assert format_duration(plan.bridge.bridge_duration) == "35.8 h"


def test_unknown_dead_space_never_hides_the_change(
    sample_chart: Charts, settings: ClinicSettings
) -> None:
    """A concentration change with no dead space recorded: the sheet says the bridge cannot be
    worked out, and still shows the dose the patient gets without one."""
    chart = sample_chart("baclofen")
    stronger = (chart.refills[-1].ingredients[0].__class__("baclofen", Q_("1000 mcg/mL"), "mcg"),)
    plan = plan_visit(
        chart, VISIT, settings=settings, new_ingredients=stronger, drugs=SHIPPED.drugs
    )
    assert plan.bridge_status == "dead_space_unknown"
    text = pdf_text(
        build_refill_worksheet(chart, plan, settings, generated_at=GENERATED, catalog=SHIPPED)
    )
    assert "The dead space is not known (pump fluid-path volume not recorded)" in text
    assert "Do not change the concentration without a bridge" in text
    assert (
        format_quantity(Q_("1090 mcg/day"), Kind.DOSE_RATE)
        + " of Baclofen instead of "
        + format_quantity(Q_("545 mcg/day"), Kind.DOSE_RATE)
    ) in text
    assert "Bridge or priming bolus given" in text


def test_constant_flow_sheet(sheet: Sheet, sample_chart: Charts, settings: ClinicSettings) -> None:
    chart = sample_chart("constant_flow")
    plan = plan_visit(chart, VISIT, settings=settings, drugs=SHIPPED.drugs)
    text = pdf_text(sheet("worksheet_constant_flow"))
    for value in (
        "IsoMed 20 mL",
        "Nominal flow " + format_quantity(Q_("1 mL/day"), Kind.FLOW),
        "Morphine " + format_quantity(Q_("4 mg/mL"), Kind.CONCENTRATION, "mg"),
        format_quantity(Q_("4 mg/day"), Kind.DOSE_RATE, "mg"),
        "Measured flow",
        "Expected " + format_quantity(Q_("9 mL"), Kind.VOLUME),  # 20 − 11 days × 1 mL/day
        "planning volume reached",
        "Worst case not known",
        "the labelled accuracy is not known",
        format_date(plan.forecast.refill_due),
    ):
        assert value in text, value
    assert "Low-reservoir alarm" not in text  # a constant-flow pump has no alarm


def test_completed_investigate(
    sheet: Sheet, sample_chart: Charts, settings: ClinicSettings
) -> None:
    """The measured values, the framed warning with what it may mean, both names, and the
    next refill date."""
    chart = sample_chart("baclofen")
    refill = chart.refills[2]
    assert refill.discrepancy_verdict == "investigate"
    assert refill.aspirated is not None and refill.expected_residual is not None
    plan = plan_for_refill(chart, refill, settings=settings, drugs=SHIPPED.drugs)
    found = discrepancy(
        fill_volume=Q_("20 mL"),
        expected=refill.expected_residual,
        actual=refill.aspirated,
        reservoir_capacity=Q_("20 mL"),
        accuracy_percent=14.5,
    )
    text = pdf_text(sheet("completed_investigate"))
    for value in (
        "COMPLETED",
        "Aspirated volume " + format_quantity(refill.aspirated, Kind.VOLUME),
        "Expected " + format_quantity(refill.expected_residual, Kind.VOLUME),
        "+" + format_quantity(found.difference, Kind.VOLUME),
        format_percent(found.delivery_error),  # type: ignore[arg-type]
        refill.lot_number,
        format_date(refill.expiry),
        "Volume injected " + format_quantity(refill.volume_added, Kind.VOLUME),
        "Final reservoir volume " + format_quantity(refill.final_volume, Kind.VOLUME),
        "Needle position confirmed Yes",
        "Pump confirmed running Yes",
        format_datetime(refill.performed_at),
        "DISCREPANCY: INVESTIGATE",
        "threshold " + format_quantity(Q_("1 mL"), Kind.VOLUME),
        refill.discrepancy_note,
        refill.nurse,
        refill.verifier,
        "NEXT REFILL DUE",
        format_date(plan.forecast.refill_due),
        "New solution and program",
    ):
        assert value in text, value
    assert " ".join(found.meaning.split()) in text
    assert format_quantity(found.difference, Kind.VOLUME) == "1.41 mL"


def test_completed_ok_constant_flow(sheet: Sheet, sample_chart: Charts) -> None:
    chart = sample_chart("constant_flow")
    refill = chart.refills[-1]
    text = pdf_text(sheet("completed_ok"))
    assert "Discrepancy verdict: OK" in text
    assert "INVESTIGATE" not in text
    # measured flow: (20 − 8.9) mL over 11 days, against the nominal 1 mL/day
    assert format_quantity(Q_(11.1 / 11, "mL/day"), Kind.FLOW) in text
    assert format_percent(11.1 / 11 - 1) in text
    assert refill.nurse in text


def test_two_builds_are_byte_identical(sample_chart: Charts, settings: ClinicSettings) -> None:
    chart = sample_chart("admixture")
    plan = plan_visit(chart, VISIT, settings=settings, drugs=SHIPPED.drugs)
    first = build_refill_worksheet(chart, plan, settings, generated_at=GENERATED, catalog=SHIPPED)
    second = build_refill_worksheet(chart, plan, settings, generated_at=GENERATED, catalog=SHIPPED)
    assert first == second
    later = build_refill_worksheet(
        chart, plan, settings, generated_at=GENERATED.replace(minute=46), catalog=SHIPPED
    )
    assert later != first  # the generation time is printed, not hidden


def test_title_metadata(sheet: Sheet) -> None:
    from io import BytesIO

    from pypdf import PdfReader

    meta = PdfReader(BytesIO(sheet("worksheet_baclofen"))).metadata
    assert meta is not None
    assert meta.title == "Refill worksheet (before the visit): MARTIN, Alice, MRN 100234"
    assert re.search(r"pumpmgr \d", str(meta.creator))


@pytest.mark.parametrize("kind", ["baclofen", "admixture", "constant_flow"])
def test_first_fill_says_there_is_nothing_to_aspirate(
    kind: str, sample_chart: Charts, settings: ClinicSettings
) -> None:
    from dataclasses import replace

    chart = sample_chart(kind)
    first = replace(chart, refills=())
    plan = plan_visit(first, VISIT, settings=settings, drugs=SHIPPED.drugs)
    text = pdf_text(
        build_refill_worksheet(first, plan, settings, generated_at=GENERATED, catalog=SHIPPED)
    )
    assert "First fill of this pump: there is nothing to aspirate." in text
    if plan.priming is not None:
        assert "Priming bolus " + format_quantity(plan.priming, Kind.VOLUME) in text


def _completed_as(chart: PatientChart, settings: ClinicSettings, **changes: object) -> str:
    """The completed worksheet of the chart's last refill with ``changes`` to its record."""
    from dataclasses import replace

    refill = replace(chart.refills[-1], **changes)  # type: ignore[arg-type]
    chart = replace(chart, refills=(*chart.refills[:-1], refill))
    plan = plan_for_refill(chart, refill, settings=settings, drugs=SHIPPED.drugs)
    return " ".join(
        pdf_text(
            build_refill_worksheet(
                chart, plan, settings, completed=refill, generated_at=GENERATED, catalog=SHIPPED
            )
        ).split()
    )


def test_a_reservoir_found_empty_is_never_printed_ok(
    sample_chart: Charts, settings: ClinicSettings
) -> None:
    """Domain-rules §3, §4: found empty is said, with the restart and its meaning; the
    completed sheet printed "Discrepancy verdict: OK" for it."""
    text = _completed_as(
        sample_chart("baclofen"),
        settings,
        aspirated=Q_("0.2 mL"),
        discrepancy_verdict="found_empty",
        discrepancy_note="rebound spasticity since yesterday",
    )
    assert "RESERVOIR FOUND EMPTY RESTART: the reservoir was found empty;" in text
    assert "the next dose is checked as a start." in text
    assert "Ask for the patient's condition (withdrawal; lost opioid tolerance)" in text
    assert "Nurse's note: rebound spasticity since yesterday" in text
    assert "Discrepancy verdict: OK" not in text


def test_withdrawal_makes_a_restart_the_sheet_says_beside_a_normal_residual(
    sample_chart: Charts, settings: ClinicSettings
) -> None:
    chart = sample_chart("baclofen")
    refill = chart.refills[-1]
    assert refill.discrepancy_verdict == "ok"
    bedside = BedsideFindings(
        Interrogation(PumpStatus.RUNNING, frozenset(), Q_("12 mL")),
        SiteAssessment(frozenset()),
        SymptomCheck(withdrawal=True, overdose=False, note="itching and spasms"),
    )
    text = _completed_as(chart, settings, bedside=bedside)
    assert "RESTART: the patient shows withdrawal;" in text
    assert "the next dose is checked as a start. Residual within the threshold." in text
    assert "Residual within the threshold. Difference" in text
    assert "Discrepancy verdict: OK" not in text


def test_completed_first_fill(sample_chart: Charts, settings: ClinicSettings) -> None:
    """The first recorded fill of a pump: no discrepancy, and the sheet says why."""
    chart = sample_chart("baclofen")
    first = chart.refills[0]
    text = pdf_text(
        build_refill_worksheet(
            chart,
            plan_for_refill(chart, first, settings=settings, drugs=SHIPPED.drugs),
            settings,
            completed=first,
            generated_at=GENERATED,
            catalog=SHIPPED,
        )
    )
    assert "Aspirated volume none: first fill" in text
    assert "Discrepancy verdict: none (first fill of the pump)." in text
    assert "Record pumpmgr:refill:11" in text


@pytest.mark.parametrize("kind", ["baclofen", "admixture", "constant_flow"])
def test_a_worksheet_printed_a_moment_after_the_fill(
    kind: str, sample_chart: Charts, settings: ClinicSettings
) -> None:
    """5 ms after the fill 1e-8 mL (or 6e-8 days) has passed: too small for the formatter,
    which refuses such a value when it is typed, so the sheet shows 0 rather than fail."""
    chart = sample_chart(kind)
    last = chart.refills[-1]
    plan = plan_visit(
        chart, last.performed_at + timedelta(milliseconds=5), settings=settings, drugs=SHIPPED.drugs
    )
    text = pdf_text(
        build_refill_worksheet(chart, plan, settings, generated_at=GENERATED, catalog=SHIPPED)
    )
    assert f"Expected {format_quantity(last.final_volume, Kind.VOLUME)}" in text
    assert "0 h;" in text  # since the last fill
    assert "Delivery error" not in text  # nothing delivered yet to divide by


def test_a_computed_empty_pump_says_so_on_the_first_page(
    sample_chart: Charts, settings: ClinicSettings
) -> None:
    """Issue 11: a visit long after the forecast emptied the reservoir shows the state, its
    advice, when the pump may have run dry, and never a bare "Expected 0 mL"."""
    from sheet_samples import GENERATED as generated

    chart = sample_chart("baclofen")
    late = VISIT + timedelta(days=120)
    plan = plan_visit(chart, late, settings=settings, drugs=SHIPPED.drugs)
    assert plan.state is not None and plan.state.words == "computed empty"
    pages = pdf_pages(
        build_refill_worksheet(chart, plan, settings, generated_at=generated, catalog=SHIPPED)
    )
    first = pages[0].extract_text()
    assert "COMPUTED EMPTY: the forecast says the reservoir is empty" in first
    assert "the next dose is a restart" in first
    assert "may have run dry from" in first
    assert "Expected 0 mL (computed empty)" in pdf_text(
        build_refill_worksheet(chart, plan, settings, generated_at=generated, catalog=SHIPPED)
    )


def test_the_blank_worksheet_asks_what_paper_sheets_ask_and_keeps_page_one_whole(
    sheet: Sheet,
) -> None:
    """The programmer's reading, site and pocket, symptoms, the solution's source and the
    programmer's read-back are written in; the signatures stay on page 1 with them."""
    first = " ".join(pdf_pages(sheet("worksheet_baclofen"))[0].extract_text().split())
    for words in (
        "Programmer's reading first",
        "Status, each alarm, reservoir mL.",
        "Site and pocket",
        "Symptoms asked",
        "Solution source",
        "Programmer's read-back",
        "pumpmgr: 20 mL, Fri 30 May 2025, 0.273 mL/day.",
        "Verifying nurse",
    ):
        assert words in first, words
    constant = " ".join(pdf_text(sheet("worksheet_constant_flow")).split())
    assert "Programmer's reading" not in constant and "read-back" not in constant
    assert "Site and pocket" in constant and "Symptoms asked" in constant


def test_the_completed_worksheet_carries_the_findings_source_and_cross_check(sheet: Sheet) -> None:
    text = " ".join(pdf_text(sheet("completed_investigate")).split())
    for words in (
        "running, low reservoir, reservoir 1.9 mL",
        "tenderness: tender over the pump",
        "signs of withdrawal: more spasms for two days",
        "hospital pharmacy (pharmacy-compounded)",
        "20 mL, Fri 6 Dec 2024, 0.273 mL/day",
        "Cross-check: the programmer's figures agree with pumpmgr's forecast.",
    ):
        assert words in text, words
    # a refill recorded before revision 0016 says so rather than leaving blanks
    older = " ".join(pdf_text(sheet("completed_ok")).split())
    assert "Site and pocket Symptoms asked not recorded not recorded" in older


@pytest.mark.parametrize(
    ("undiluted", "words"),
    [(True, "pharmacy, undiluted (as supplied)"), (False, "pharmacy, diluted")],
)
def test_the_completed_worksheet_says_how_the_solution_was_recorded(
    undiluted: bool, words: str, sample_chart: Charts, settings: ClinicSettings
) -> None:
    """domain-rules §3: the record of the refill, never the concentration, says undiluted or
    diluted (a refill without the record says neither)."""
    from dataclasses import replace

    chart = sample_chart("baclofen")
    first = replace(chart.refills[0], undiluted=undiluted)
    text = " ".join(
        pdf_text(
            build_refill_worksheet(
                chart,
                plan_for_refill(chart, first, settings=settings, drugs=SHIPPED.drugs),
                settings,
                completed=first,
                generated_at=GENERATED,
                catalog=SHIPPED,
            )
        ).split()
    )
    assert words in text
    unrecorded = " ".join(
        pdf_text(
            build_refill_worksheet(
                chart,
                plan_for_refill(chart, chart.refills[0], settings=settings, drugs=SHIPPED.drugs),
                settings,
                completed=chart.refills[0],
                generated_at=GENERATED,
                catalog=SHIPPED,
            )
        ).split()
    )
    assert "diluted" not in unrecorded


def test_the_bridge_and_the_patient_boluses_are_two_lines_worded_as_on_screen(
    settings: ClinicSettings,
) -> None:
    """A 1 mL bridge at the last fill and 120 patient boluses of 0.05 mL since: the completed
    sheet shows each on its own line, as the residual step labels them, never the 7 mL sum
    as a bridge or priming bolus."""
    from dataclasses import replace
    from datetime import datetime

    from pumpmgr.records import Ingredient
    from pumpmgr.schedule import PatientBolus
    from pumpmgr.wording import BRIDGE_OR_PRIMING_DRAWN, PATIENT_BOLUSES_DRAWN
    from tests.test_visit import chart, prescription, refill, synchromed

    filled = datetime(2025, 3, 3, 9, 0)
    morphine = (Ingredient("morphine", Q_("10 mg/mL"), "mg"),)
    rx = prescription(
        1, "3 mg/day", filled - timedelta(days=1), morphine, PatientBolus(Q_("0.5 mg"), 4)
    )
    bridged = refill(1, filled, ingredients=morphine, bridge_bolus=Q_("1 mL"))
    found = BedsideFindings(
        Interrogation(PumpStatus.RUNNING, frozenset(), Q_("4 mL"), 120),
        SiteAssessment(frozenset()),
        SymptomCheck(False, False),
    )
    done = refill(2, filled + timedelta(days=30), ingredients=morphine, bedside=found)
    done = replace(done, aspirated=Q_("4 mL"), previous_fill_volume=Q_("20 mL"))
    recorded = chart(synchromed(), [rx], [bridged, done])
    plan = plan_for_refill(recorded, done, settings=settings, drugs=SHIPPED.drugs)
    text = " ".join(
        pdf_text(
            build_refill_worksheet(
                recorded, plan, settings, completed=done, generated_at=GENERATED, catalog=SHIPPED
            )
        ).split()
    )
    assert f"{BRIDGE_OR_PRIMING_DRAWN} 1 mL" in text
    assert f"{PATIENT_BOLUSES_DRAWN} 120 × 0.05 mL = 6 mL" in text
    assert "7 mL of bridge or priming bolus" not in text
