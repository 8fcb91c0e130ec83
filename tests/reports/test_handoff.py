"""The admission hand-off sheet: one page with the drug, dose, dates, pump and MRI rules,
the clinic's phone, the warning signs and what a ward must never do, read back from the PDF."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from sheet_samples import GENERATED, layout_problems, pdf_pages, pdf_text

from pumpmgr import catalogs
from pumpmgr.errors import ImpossibleInput
from pumpmgr.formatting import format_date, format_datetime, format_quantity
from pumpmgr.records import ClinicSettings, PatientChart
from pumpmgr.reports import build_handoff
from pumpmgr.units import Q_, Kind

Charts = Callable[[str], PatientChart]


def handoff(chart: PatientChart, settings: ClinicSettings) -> bytes:
    return build_handoff(
        chart,
        settings,
        generated_at=GENERATED,
        audit_head="812:3f2a9c01",
        catalog=catalogs.default_catalogs(),
    )


@pytest.mark.parametrize("page_size", ["A4", "Letter"])
@pytest.mark.parametrize("kind", ["baclofen", "admixture", "constant_flow"])
def test_one_page_within_the_margins(
    sample_chart: Charts, settings: ClinicSettings, kind: str, page_size: str
) -> None:
    pdf = handoff(sample_chart(kind), replace(settings, page_size=page_size))  # type: ignore[arg-type]
    assert len(pdf_pages(pdf)) == 1
    assert layout_problems(pdf) == []


def test_the_baclofen_sheet_says_what_the_ward_needs(
    sample_chart: Charts, settings: ClinicSettings
) -> None:
    chart = sample_chart("baclofen")
    assert chart.pump is not None and chart.forecast is not None
    text = pdf_text(handoff(chart, settings))
    library = catalogs.default_catalogs()
    for value in (
        chart.patient.display_name,
        f"MRN {chart.patient.mrn}",
        "Drug and concentration Baclofen " + format_quantity(Q_("2000 mcg/mL"), Kind.CONCENTRATION),
        "Daily dose Baclofen " + format_quantity(Q_("545 mcg/day"), Kind.DOSE_RATE),
        "00:00-06:00 720 mcg/day (180 mcg in 6 h)",  # the flex schedule, as the worksheet
        "daily volume 0.273 mL/day",
        f"{chart.pump.model_name}, serial {chart.pump.serial_number}",
        "Low-reservoir alarm " + format_datetime(chart.forecast.alarm_at_with_boluses),
        "Refill due " + format_date(chart.forecast.refill_due) + " (reservoir may be low if the "
        "pump runs fast, on an open clinic day)",  # its 14.5 % accuracy sets it (issue 11)
        "Phone " + settings.clinic_phone,
        "DO NOT STOP THE PUMP",
        library.pump_model("synchromed2-20").mri,
        "; ".join(library.drug("baclofen").overdose_signs),
        "Never stop intrathecal baclofen abruptly, and never let the pump run empty",
        "Never access, refill or aspirate the pump",
        "without training on this pump model",
    ):
        assert value in text, value  # type: ignore[operator]


def test_what_the_pump_holds_is_the_last_fill_and_the_signs_of_each_drug(
    sample_chart: Charts, settings: ClinicSettings
) -> None:
    text = pdf_text(handoff(sample_chart("admixture"), settings))
    assert (
        "Morphine "
        + format_quantity(Q_("10 mg/mL"), Kind.CONCENTRATION, "mg")
        + " + Clonidine "
        + format_quantity(Q_("100 mcg/mL"), Kind.CONCENTRATION)
    ) in text
    assert "20 mg/mL" not in text  # the next refill's prescription has not reached the pump
    assert "Never stop intrathecal morphine and clonidine abruptly" in text
    assert "for baclofen" not in text
    assert "Morphine opioid withdrawal" in text and "Clonidine return of symptoms" in text
    assert "(drug's in-pump stability limit, on an open clinic day)" in text


def test_a_constant_flow_pump(sample_chart: Charts, settings: ClinicSettings) -> None:
    text = pdf_text(handoff(sample_chart("constant_flow"), settings))
    assert "Planning volume reached" in text and "Low-reservoir alarm" not in text
    assert "Schedule Constant flow" in text


def test_ziconotide_is_not_said_to_be_dangerous_to_stop(
    sample_chart: Charts, settings: ClinicSettings
) -> None:
    """Its label allows an abrupt stop (domain-rules section 6); the ward still must not."""
    chart = sample_chart("baclofen")
    ziconotide = tuple(
        replace(i, drug="ziconotide", concentration=Q_("25 mcg/mL"))
        for i in chart.refills[-1].ingredients
    )
    chart = replace(
        chart, refills=(*chart.refills[:-1], replace(chart.refills[-1], ingredients=ziconotide))
    )
    text = pdf_text(handoff(chart, settings))
    assert "Never stop or empty the pump of Ziconotide without the pump clinic" in text
    assert "Never stop intrathecal" not in text
    assert "can be stopped abruptly without a withdrawal syndrome" in text  # the library


def test_no_pump_no_sheet(sample_chart: Charts, settings: ClinicSettings) -> None:
    with pytest.raises(ImpossibleInput, match="no hand-off sheet to print"):
        handoff(replace(sample_chart("baclofen"), pump=None), settings)
