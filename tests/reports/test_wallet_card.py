"""The wallet card: pump, drug, dose, dates, phone, signs, the pump model's MRI note."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from sheet_samples import GENERATED, pdf_pages, pdf_text

from pumpmgr import catalogs
from pumpmgr.catalogs import default_catalogs
from pumpmgr.errors import ImpossibleInput
from pumpmgr.formatting import format_date, format_quantity
from pumpmgr.records import ClinicSettings, PatientChart
from pumpmgr.reports import build_wallet_card
from pumpmgr.reports.common import NO_MRI_NOTE
from pumpmgr.units import Q_, Kind

#: The shipped library: these tests check against its limits (the clinic's, in a clinic).
SHIPPED = default_catalogs()

Sheet = Callable[..., bytes]
Charts = Callable[[str], PatientChart]


def test_card_fields(sheet: Sheet, sample_chart: Charts, settings: ClinicSettings) -> None:
    chart = sample_chart("baclofen")
    assert chart.pump is not None and chart.forecast is not None
    text = pdf_text(sheet("card_baclofen"))
    library = catalogs.default_catalogs()
    for value in (
        chart.patient.display_name,
        chart.pump.model_name,
        chart.pump.serial_number,
        "Drug: Baclofen " + format_quantity(Q_("2000 mcg/mL"), Kind.CONCENTRATION),
        "Daily dose: " + format_quantity(Q_("545 mcg/day"), Kind.DOSE_RATE),
        "Next refill: " + format_date(chart.forecast.refill_due),
        "Pump alarm: " + format_date(chart.forecast.alarm_at),
        "Phone: " + settings.clinic_phone,
        "MRI: " + library.pump_model("synchromed2-20").mri,  # type: ignore[operator]
        "; ".join(library.drug("baclofen").overdose_signs),
    ):
        assert value in text, value
    assert text.count(chart.patient.display_name) >= 2  # two copies
    assert len(pdf_pages(sheet("card_baclofen"))) == 1


def test_card_shows_what_the_pump_holds_not_the_next_prescription(sheet: Sheet) -> None:
    """The admixture patient's double-strength prescription starts at the next refill."""
    text = pdf_text(sheet("card_admixture"))
    assert (
        "Morphine "
        + format_quantity(Q_("10 mg/mL"), Kind.CONCENTRATION, "mg")
        + " + Clonidine "
        + format_quantity(Q_("100 mcg/mL"), Kind.CONCENTRATION)
    ) in text
    assert (
        format_quantity(Q_("3 mg/day"), Kind.DOSE_RATE, "mg")
        + " + "
        + format_quantity(Q_("30 mcg/day"), Kind.DOSE_RATE)
    ) in text
    assert "20 mg/mL" not in text


def test_constant_flow_card_and_a_model_without_mri_note(
    sheet: Sheet, sample_chart: Charts, settings: ClinicSettings
) -> None:
    text = pdf_text(sheet("card_constant_flow"))
    assert "Reservoir low:" in text and "Pump alarm" not in text
    assert "MRI: Exposure to 1.5 T did not affect pump performance." in text
    chart = sample_chart("constant_flow")
    assert chart.pump is not None
    codman = replace(
        chart, pump=replace(chart.pump, model_key="codman-3000", model_name="Codman 3000")
    )
    assert NO_MRI_NOTE in pdf_text(
        build_wallet_card(codman, settings, generated_at=GENERATED, catalog=SHIPPED)
    )
    own = replace(chart, pump=replace(chart.pump, mri_note="Clinic note: 1.5 T only."))
    assert "MRI: Clinic note: 1.5 T only." in pdf_text(
        build_wallet_card(own, settings, generated_at=GENERATED, catalog=SHIPPED)
    )


def test_no_pump_no_card(sample_chart: Charts, settings: ClinicSettings) -> None:
    chart = replace(sample_chart("baclofen"), pump=None)
    with pytest.raises(ImpossibleInput, match="no active pump"):
        build_wallet_card(chart, settings, generated_at=GENERATED, catalog=SHIPPED)
