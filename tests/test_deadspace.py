"""deadspace: catheter volume, priming and the bridge bolus (domain.md examples 6 and 7)."""

import pytest

from pumpmgr.deadspace import (
    CatheterSegment,
    bridge,
    catheter_volume,
    implanted_length,
    priming_volume,
)
from pumpmgr.errors import ImpossibleInput, InputError
from pumpmgr.units import Q_


def test_example_7_prometra_catheter() -> None:
    """110 cm − 30 cm trimmed = 80 cm × 0.0026 mL/cm = 0.208 mL."""
    length = implanted_length(Q_("110 cm"), Q_("30 cm"))
    assert float(length.m) == 80
    volume = catheter_volume([CatheterSegment(length, Q_("0.0026 mL/cm"))])
    assert float(volume.m) == pytest.approx(0.208)
    assert float(priming_volume(volume).m) == pytest.approx(0.208)
    assert float(priming_volume(volume, Q_("0.1 mL")).m) == pytest.approx(0.308)


def test_segments_add_up() -> None:
    volume = catheter_volume(
        [
            CatheterSegment(Q_("40 cm"), Q_("0.0026 mL/cm")),
            CatheterSegment(Q_("30 cm"), Q_("0.003 mL/cm")),
        ]
    )
    assert float(volume.m) == pytest.approx(0.104 + 0.09)


def test_example_6_bridge_1000_to_2000() -> None:
    """300 mcg/day, 1000 → 2000 mcg/mL, dead space 0.35 mL: 28 h at 0.3 mL/day, then 0.15;
    without a bridge 150 mcg/day (half) for 2.33 days."""
    result = bridge(
        dose=Q_("300 mcg/day"),
        old_concentration=Q_("1000 mcg/mL"),
        new_concentration=Q_("2000 mcg/mL"),
        dead_space=Q_("0.35 mL"),
    )
    assert float(result.bridge_rate.m) == pytest.approx(0.3)
    assert float(result.bridge_duration.to("hour").m) == pytest.approx(28)
    assert float(result.new_rate.m) == pytest.approx(0.15)
    assert float(result.unbridged_dose.m) == pytest.approx(150)
    assert float(result.unbridged_duration.to("day").m) == pytest.approx(2.333, abs=0.001)
    assert float(result.bridge_volume.m) == pytest.approx(0.35)


def test_reverse_change_doubles_the_dose_without_a_bridge() -> None:
    result = bridge(
        dose=Q_("300 mcg/day"),
        old_concentration=Q_("2000 mcg/mL"),
        new_concentration=Q_("1000 mcg/mL"),
        dead_space=Q_("0.35 mL"),
    )
    assert float(result.unbridged_dose.m) == pytest.approx(600)


def test_refusals() -> None:
    with pytest.raises(ImpossibleInput):
        implanted_length(Q_("110 cm"), Q_("110 cm"))
    with pytest.raises(ImpossibleInput):
        catheter_volume([])
    with pytest.raises(InputError):
        CatheterSegment(Q_("80 cm"), Q_("0.0026 mL"))
    with pytest.raises(InputError):
        bridge(
            dose=Q_("300 mcg/day"),
            old_concentration=Q_("0 mcg/mL"),
            new_concentration=Q_("1000 mcg/mL"),
            dead_space=Q_("0.35 mL"),
        )
