"""compounding: constant-flow pumps (domain.md example 8)."""

import pytest

from pumpmgr.compounding import compound, required_concentration
from pumpmgr.errors import Code, ImpossibleInput
from pumpmgr.units import Q_


def test_example_8_isomed_morphine() -> None:
    """4 mg/day at 1.0 mL/day: 4 mg/mL; 20 mL from 25 mg/mL: 3.2 mL stock + 16.8 mL NaCl."""
    result = compound(
        flow=Q_("1 mL/day"), dose=Q_("4 mg/day"), stock=Q_("25 mg/mL"), fill_volume=Q_("20 mL")
    )
    assert float(result.concentration.to("mg/mL").m) == pytest.approx(4)
    assert float(result.stock_volume.m) == pytest.approx(3.2)
    assert float(result.diluent_volume.m) == pytest.approx(16.8)
    assert float(result.total_volume.m) == pytest.approx(20)
    assert "0.9 %" in result.diluent


def test_extra_volume_is_compounded_too() -> None:
    result = compound(
        flow=Q_("1 mL/day"),
        dose=Q_("4 mg/day"),
        stock=Q_("25 mg/mL"),
        fill_volume=Q_("20 mL"),
        extra_volume=Q_("5 mL"),
    )
    assert float(result.stock_volume.m) == pytest.approx(4)
    assert float(result.total_volume.m) == pytest.approx(25)


def test_concentration_above_the_stock_is_refused() -> None:
    with pytest.raises(ImpossibleInput) as caught:
        compound(
            flow=Q_("0.5 mL/day"),
            dose=Q_("20 mg/day"),
            stock=Q_("25 mg/mL"),
            fill_volume=Q_("20 mL"),
        )
    assert caught.value.code is Code.CONCENTRATION_ABOVE_STOCK
    exact = compound(
        flow=Q_("1 mL/day"), dose=Q_("25 mg/day"), stock=Q_("25 mg/mL"), fill_volume=Q_("20 mL")
    )
    assert float(exact.diluent_volume.m) == 0
    # just over the stock: 25.01 mg/mL needed from a 25 mg/mL stock
    with pytest.raises(ImpossibleInput) as just_over:
        compound(
            flow=Q_("1 mL/day"),
            dose=Q_("25.01 mg/day"),
            stock=Q_("25 mg/mL"),
            fill_volume=Q_("20 mL"),
        )
    assert just_over.value.code is Code.CONCENTRATION_ABOVE_STOCK
    # the same limit typed in the other mass unit is still exactly at it
    mixed = compound(
        flow=Q_("1 mL/day"), dose=Q_("25000 mcg/day"), stock=Q_("25 mg/mL"), fill_volume=Q_("20 mL")
    )
    assert float(mixed.diluent_volume.m) == pytest.approx(0, abs=1e-9)


def test_required_concentration() -> None:
    assert float(required_concentration(Q_("5 mg/day"), Q_("1 mL/day")).to("mg/mL").m) == 5
