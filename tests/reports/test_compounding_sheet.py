"""The compounding sheet: target, stock, volumes to draw, diluent and the checks."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sheet_samples import GENERATED, VISIT, pdf_text

from pumpmgr.catalogs import default_catalogs
from pumpmgr.compounding import DILUENT
from pumpmgr.errors import ImpossibleInput
from pumpmgr.formatting import format_quantity
from pumpmgr.records import ClinicSettings, PatientChart
from pumpmgr.reports import build_compounding_sheet
from pumpmgr.units import Q_, Kind
from pumpmgr.visit import plan_visit

#: The shipped library: these tests check against its limits (the clinic's, in a clinic).
SHIPPED = default_catalogs()

Sheet = Callable[..., bytes]
Charts = Callable[[str], PatientChart]


def test_constant_flow_example_8_shape(sheet: Sheet) -> None:
    """Morphine 4 mg/day at 1 mL/day: 4 mg/mL; 20 mL from the library's 10 mg/mL stock is
    8 mL of stock and 12 mL of diluent."""
    text = pdf_text(sheet("compounding_constant_flow"))
    for value in (
        "CONSTANT-FLOW PUMP",
        "Pump flow (nominal) " + format_quantity(Q_("1 mL/day"), Kind.FLOW),
        "Morphine " + format_quantity(Q_("4 mg/day"), Kind.DOSE_RATE, "mg"),
        format_quantity(Q_("4 mg/mL"), Kind.CONCENTRATION, "mg"),
        format_quantity(Q_("10 mg/mL"), Kind.CONCENTRATION, "mg")
        + " (chosen from the library: confirm the vial)",
        format_quantity(Q_("8 mL"), Kind.VOLUME)
        + " "
        + format_quantity(Q_("80 mg"), Kind.MASS, "mg"),
        "Diluent: " + DILUENT,
        format_quantity(Q_("12 mL"), Kind.VOLUME),
        "Total - " + format_quantity(Q_("20 mL"), Kind.VOLUME),
        "within the library maximum " + format_quantity(Q_("25 mg/mL"), Kind.CONCENTRATION, "mg"),
        "Prepared by",
        "Checked by",
        "Each volume drawn checked by a second person before mixing.",
    ):
        assert value in text, value


def test_admixture_volumes(sheet: Sheet) -> None:
    """41 mL (40 + 1 extra) of morphine 20 mg/mL + clonidine 200 mcg/mL: 32.8 mL of 25 mg/mL,
    8.2 mL of 1000 mcg/mL, no diluent."""
    text = pdf_text(sheet("compounding_admixture"))
    for value in (
        "ADMIXTURE",
        format_quantity(Q_("32.8 mL"), Kind.VOLUME)
        + " "
        + format_quantity(Q_("820 mg"), Kind.MASS, "mg"),
        format_quantity(Q_("8.2 mL"), Kind.VOLUME)
        + " "
        + format_quantity(Q_("8200 mcg"), Kind.MASS),
        format_quantity(Q_("0 mL"), Kind.VOLUME),
        "fill 40 mL + extra 1 mL",
        format_quantity(Q_("30 mcg/day"), Kind.DOSE_RATE),
        format_quantity(Q_("200 mcg/mL"), Kind.CONCENTRATION),
    ):
        assert value in text, value


def test_concentration_above_the_library_maximum_is_flagged(
    sample_chart: Charts, settings: ClinicSettings
) -> None:
    chart = sample_chart("constant_flow")
    strong = (chart.refills[0].ingredients[0].__class__("morphine", Q_("30 mg/mL"), "mg"),)
    plan = plan_visit(chart, VISIT, settings=settings, new_ingredients=strong, drugs=SHIPPED.drugs)
    text = pdf_text(
        build_compounding_sheet(
            chart,
            plan,
            settings,
            stocks={"morphine": Q_("30 mg/mL")},
            generated_at=GENERATED,
            catalog=SHIPPED,
        )
    )
    assert "is ABOVE the library maximum 25 mg/mL" in text
    assert "old solution in the pump path" in text  # 4 → 30 mg/mL in a constant-flow pump
    with pytest.raises(ImpossibleInput, match="stock"):
        build_compounding_sheet(
            chart,
            plan,
            settings,
            stocks={"morphine": Q_("25 mg/mL")},
            generated_at=GENERATED,
            catalog=SHIPPED,
        )
