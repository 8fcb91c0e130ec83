"""Rules of domain-rules sections 2 to 4 at their boundaries (exactly at, just over) where no
other test held them there (issue 11: docs/clinical-rules.md lists these)."""

from __future__ import annotations

from datetime import date

import pytest

from pumpmgr.errors import Code, ImpossibleInput, InputError
from pumpmgr.forecast import parse_expiry
from pumpmgr.refill import discrepancy, discrepancy_threshold, plan_refill
from pumpmgr.schedule import schedule_from_text
from pumpmgr.units import Q_


def test_thirteen_flex_steps_fit_a_fourteenth_does_not() -> None:
    """§2: up to 13 steps a day (SynchroMed II)."""
    thirteen = schedule_from_text([f"{h:02d}:00 1 mcg/h" for h in range(13)])
    assert len(thirteen.steps) == 13
    assert float(thirteen.daily_dose().to("mcg/day").m) == pytest.approx(24)
    with pytest.raises(ImpossibleInput) as fourteen:
        schedule_from_text([f"{h:02d}:00 1 mcg/h" for h in range(14)])
    assert fourteen.value.code is Code.SCHEDULE


@pytest.mark.parametrize(("capacity", "threshold"), [("20 mL", 1), ("20.5 mL", 2), ("40 mL", 2)])
def test_the_threshold_is_1_ml_up_to_20_ml_and_2_ml_above(capacity: str, threshold: float) -> None:
    """§4: 1 mL for reservoirs of 20 mL or less, 2 mL for larger ones."""
    assert float(discrepancy_threshold(Q_(capacity)).to("mL").m) == threshold


def _verdict(
    expected: str,
    actual: str,
    *,
    fill: str = "20 mL",
    capacity: str = "40 mL",
    accuracy: float | None = None,
) -> str:
    return discrepancy(
        fill_volume=Q_(fill),
        expected=Q_(expected),
        actual=Q_(actual),
        reservoir_capacity=Q_(capacity),
        accuracy_percent=accuracy,
    ).verdict


def test_a_difference_exactly_at_the_threshold_is_ok_just_over_is_investigate() -> None:
    """§4: investigate when |Δ| is greater than the threshold (2 mL in a 40 mL pump), either
    way."""
    assert _verdict("10 mL", "8 mL") == "ok"
    assert _verdict("10 mL", "7.99 mL") == "investigate"
    assert _verdict("10 mL", "12 mL") == "ok"
    assert _verdict("10 mL", "12.01 mL") == "investigate"


def test_a_delivery_error_exactly_at_the_accuracy_is_ok_just_over_is_investigate() -> None:
    """§4: investigate when |e| is greater than the pump's accuracy (|Δ| at least 0.5 mL):
    10 mL due, 1 mL less back is e = +10 %."""
    assert _verdict("10 mL", "9 mL", accuracy=10) == "ok"
    assert _verdict("10 mL", "9 mL", accuracy=9.99) == "investigate"
    assert _verdict("10 mL", "11 mL", accuracy=9.99) == "investigate"  # e = −10 %


def test_the_delivery_error_is_not_computed_when_nothing_was_due() -> None:
    """§4: e is not computed when the expected delivered volume is 0."""
    nothing_due = discrepancy(
        fill_volume=Q_("20 mL"),
        expected=Q_("20 mL"),
        actual=Q_("20 mL"),
        reservoir_capacity=Q_("20 mL"),
    )
    assert nothing_due.delivery_error is None
    some_due = discrepancy(
        fill_volume=Q_("20 mL"),
        expected=Q_("19.99 mL"),
        actual=Q_("19.99 mL"),
        reservoir_capacity=Q_("20 mL"),
    )
    assert some_due.delivery_error == pytest.approx(0)


def test_a_fill_of_exactly_the_capacity_is_planned_more_is_refused() -> None:
    """§4: a refill cannot put more than the reservoir's capacity into the pump."""

    def fill(volume: str) -> float:
        plan = plan_refill(
            reservoir_capacity=Q_("20 mL"),
            aspirated=Q_("3 mL"),
            alarm_volume=Q_("2 mL"),
            fill_volume=Q_(volume),
        )
        return float(plan.final_volume.to("mL").m)

    assert fill("20 mL") == 20
    with pytest.raises(ImpossibleInput) as over:
        fill("20.01 mL")
    assert over.value.code is Code.OVER_CAPACITY and over.value.field == "fill volume"


def test_what_each_direction_may_mean() -> None:
    """§4: less returned suggests over-infusion, an earlier pocket fill or tampering; more
    returned suggests under-delivery."""

    def meaning(actual: str) -> str:
        return discrepancy(
            fill_volume=Q_("20 mL"),
            expected=Q_("8 mL"),
            actual=Q_(actual),
            reservoir_capacity=Q_("20 mL"),
        ).meaning

    less, more, same = meaning("6 mL"), meaning("10 mL"), meaning("8 mL")
    assert "over-infusion" in less and "pocket fill" in less
    assert "under-delivery" in more and "stopped pump" in more
    assert same == "Within the threshold: the aspirated volume agrees with the expected residual."


@pytest.mark.parametrize("typed", ["2026-00", "00/2026", "2026-13", "13/2026", "0001-00"])
def test_an_expiry_month_outside_1_to_12_is_refused(typed: str) -> None:
    """§3: month and year means the month's last day; month 0 once read as December before
    (and '0001-00' overflowed)."""
    with pytest.raises(InputError) as refused:
        parse_expiry(typed, "--expires")
    assert refused.value.field == "--expires"
    assert parse_expiry("2026-01") == date(2026, 1, 31)
    assert parse_expiry("12/2026") == date(2026, 12, 31)
