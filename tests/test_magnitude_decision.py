"""The spike behind units.py's choice of float magnitudes (see its module docstring)."""

from decimal import Decimal

import pint
import pytest

from pumpmgr.units import Q_, exceeds


def test_decimal_registry_is_no_more_exact_for_hours_and_prints_exponents() -> None:
    """With Decimal, mg to mcg prints an exponent and 1 h is still an inexact 1/24 day."""
    decimal_ureg = pint.UnitRegistry(non_int_type=Decimal)
    converted = decimal_ureg.Quantity(Decimal("2"), "mg/mL").to("mcg/mL").magnitude
    assert "E" in str(converted)  # '2.000E+3': must be quantized before anyone reads it
    eight_hours = decimal_ureg.Quantity(Decimal("1"), "day") / 3
    assert eight_hours.to("hour").magnitude != Decimal(8)  # a third of a day is inexact too


def test_decimal_meets_float_raises_mid_calculation() -> None:
    """A Decimal quantity multiplied by a plain float fails: a trap in every formula."""
    decimal_ureg = pint.UnitRegistry(non_int_type=Decimal)
    with pytest.raises(TypeError):
        decimal_ureg.Quantity(Decimal("2"), "mg/mL") * 1.145


def test_float_noise_is_absorbed_by_the_tolerance_rule() -> None:
    """+30 % from 3.1 to 4.03 mg/day is 0.30000000000000016 in floats: exceeds() calls it equal."""
    new, old = Q_(4.03, "mg/day").to("mcg/day"), Q_(3.1, "mg/day").to("mcg/day")
    change = (new - old) / old
    assert float(change.m) > 0.3  # the noise is real
    assert not exceeds(float(change.m), 0.3)
    assert exceeds(0.3001, 0.3)


def test_float_keeps_fifteen_digits_of_a_clinical_value() -> None:
    """0.048 mL/day for 200 days and back loses nothing a clinic could see."""
    daily = Q_(0.048, "mL/day")
    total = (daily * Q_(200, "day")).to("mL")
    assert abs(float(total.m) - 9.6) < 1e-12
    assert float(Q_(16.7, "mcg/h").to("mcg/day").m) == pytest.approx(400.8, rel=1e-15)
