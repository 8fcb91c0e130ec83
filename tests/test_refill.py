"""refill: expected residual, discrepancy, refill plan, measured flow (domain-rules 4 and 5)."""

from datetime import datetime, timedelta

import pytest

from pumpmgr.errors import Code, ImpossibleInput
from pumpmgr.refill import (
    ProgramPeriod,
    discrepancy,
    expected_residual,
    measured_flow,
    plan_refill,
)
from pumpmgr.schedule import Program, Schedule, schedule_from_text
from pumpmgr.units import Q_

FILLED = datetime(2025, 3, 3)
EXAMPLE_1 = Program(Q_("2000 mcg/mL"), Schedule.simple(Q_("400 mcg/day")))


def test_example_1_residual_after_60_days() -> None:
    result = expected_residual(
        fill_volume=Q_("20 mL"),
        filled_at=FILLED,
        at=FILLED + timedelta(days=60),
        programs=EXAMPLE_1,
    )
    assert result.elapsed_days == pytest.approx(60)
    assert float(result.infused.m) == pytest.approx(12)
    assert float(result.expected_residual.m) == pytest.approx(8.0)


def test_residual_is_piecewise_over_a_program_change() -> None:
    """30 days at 400 mcg/day, then 30 days at 600 mcg/day: 6 + 9 mL infused."""
    later = Program(Q_("2000 mcg/mL"), Schedule.simple(Q_("600 mcg/day")))
    result = expected_residual(
        fill_volume=Q_("20 mL"),
        filled_at=FILLED,
        at=FILLED + timedelta(days=60),
        programs=[
            ProgramPeriod(FILLED - timedelta(days=100), EXAMPLE_1),
            ProgramPeriod(FILLED + timedelta(days=30), later),
        ],
    )
    assert float(result.expected_residual.m) == pytest.approx(20 - 6 - 9)


def test_residual_counts_extra_volumes_and_never_goes_below_zero() -> None:
    result = expected_residual(
        fill_volume=Q_("20 mL"),
        filled_at=FILLED,
        at=FILLED + timedelta(days=60),
        programs=EXAMPLE_1,
        extra_volume=Q_("0.5 mL"),
    )
    assert float(result.expected_residual.m) == pytest.approx(7.5)
    empty = expected_residual(
        fill_volume=Q_("20 mL"),
        filled_at=FILLED,
        at=FILLED + timedelta(days=400),
        programs=EXAMPLE_1,
    )
    assert float(empty.expected_residual.m) == 0


def test_flex_residual_integrates_the_time_of_day() -> None:
    """Filled at 06:00; one hour later the 100 mcg/h step has run: 0.05 mL at 2000 mcg/mL."""
    program = Program(
        Q_("2000 mcg/mL"),
        schedule_from_text(
            ["00:00 30 mcg/h", "06:00 100 mcg/h", "07:00 15 mcg/h", "22:00 20 mcg/h"]
        ),
    )
    start = datetime(2025, 3, 3, 6, 0)
    result = expected_residual(
        fill_volume=Q_("20 mL"), filled_at=start, at=start + timedelta(hours=1), programs=program
    )
    assert float(result.infused.m) == pytest.approx(0.05)


def test_residual_refuses_time_going_backwards() -> None:
    with pytest.raises(ImpossibleInput) as caught:
        expected_residual(
            fill_volume=Q_("20 mL"),
            filled_at=FILLED,
            at=FILLED - timedelta(days=1),
            programs=EXAMPLE_1,
        )
    assert caught.value.code is Code.TIME_ORDER


@pytest.mark.parametrize(
    ("actual", "difference", "error_percent", "verdict", "direction"),
    [
        (6.6, 1.4, 11.67, "investigate", "less_returned"),  # example 2 (a)
        (9.1, -1.1, -9.17, "investigate", "more_returned"),  # example 2 (b)
        (8.5, -0.5, -4.17, "ok", "more_returned"),
        (8.0, 0.0, 0.0, "ok", "as_expected"),
        (7.0, 1.0, 8.33, "ok", "less_returned"),  # exactly the 1 mL threshold is ok
    ],
)
def test_example_2_discrepancy(
    actual: float, difference: float, error_percent: float, verdict: str, direction: str
) -> None:
    result = discrepancy(
        fill_volume=Q_("20 mL"),
        expected=Q_("8 mL"),
        actual=Q_(actual, "mL"),
        reservoir_capacity=Q_("20 mL"),
        accuracy_percent=14.5,
    )
    assert float(result.difference.m) == pytest.approx(difference)
    assert result.delivery_error_percent == pytest.approx(error_percent, abs=0.01)
    assert float(result.threshold.m) == 1
    assert result.verdict == verdict
    assert result.direction == direction


@pytest.mark.parametrize("actual", [7.0, 8.0, 8.5])
def test_an_ok_residual_says_nothing_alarming(actual: float) -> None:
    """Domain-rules section 4: an "ok" is never shown beside words that suggest a problem
    (tried by hand: "Residual OK" above "possible over-infusion (overdose signs ...)")."""
    result = discrepancy(
        fill_volume=Q_("20 mL"),
        expected=Q_("8 mL"),
        actual=Q_(actual, "mL"),
        reservoir_capacity=Q_("20 mL"),
        accuracy_percent=14.5,
    )
    assert result.verdict == "ok"
    assert result.meaning.startswith("Within the threshold")
    for alarming in ("over-infusion", "overdose", "withdrawal", "stall", "Less", "More"):
        assert alarming not in result.meaning


def test_large_reservoir_threshold_and_accuracy_verdict() -> None:
    """40 mL pump: 2 mL threshold; 1.5 mL off is ok by volume, but e = 20 % > 14.5 %."""
    result = discrepancy(
        fill_volume=Q_("40 mL"),
        expected=Q_("32.5 mL"),
        actual=Q_("31 mL"),
        reservoir_capacity=Q_("40 mL"),
        accuracy_percent=14.5,
    )
    assert float(result.threshold.m) == 2
    assert result.delivery_error_percent == pytest.approx(20)
    assert result.verdict == "investigate"
    without_accuracy = discrepancy(
        fill_volume=Q_("40 mL"),
        expected=Q_("32.5 mL"),
        actual=Q_("31 mL"),
        reservoir_capacity=Q_("40 mL"),
    )
    assert without_accuracy.verdict == "ok"


def test_discrepancy_refuses_impossible_volumes() -> None:
    with pytest.raises(ImpossibleInput) as caught:
        discrepancy(
            fill_volume=Q_("20 mL"),
            expected=Q_("8 mL"),
            actual=Q_("25 mL"),
            reservoir_capacity=Q_("20 mL"),
        )
    assert caught.value.code is Code.OVER_CAPACITY
    with pytest.raises(ImpossibleInput):
        discrepancy(
            fill_volume=Q_("20 mL"),
            expected=Q_("21 mL"),
            actual=Q_("5 mL"),
            reservoir_capacity=Q_("40 mL"),
        )


def test_refill_plan() -> None:
    plan = plan_refill(
        reservoir_capacity=Q_("20 mL"),
        aspirated=Q_("6.6 mL"),
        alarm_volume=Q_("2 mL"),
        prepared_volume=Q_("22 mL"),
    )
    assert float(plan.volume_to_add.m) == 20
    assert float(plan.final_volume.m) == 20
    assert float(plan.waste.m) == pytest.approx(6.6 + 2)
    with pytest.raises(ImpossibleInput) as over:
        plan_refill(
            reservoir_capacity=Q_("20 mL"),
            aspirated=Q_("5 mL"),
            alarm_volume=Q_("2 mL"),
            fill_volume=Q_("21 mL"),
        )
    assert over.value.code is Code.OVER_CAPACITY
    with pytest.raises(ImpossibleInput) as low:
        plan_refill(
            reservoir_capacity=Q_("20 mL"),
            aspirated=Q_("5 mL"),
            alarm_volume=Q_("2 mL"),
            fill_volume=Q_("2 mL"),
        )
    assert low.value.code is Code.FILL_NOT_ABOVE_ALARM


def test_example_9_measured_flow() -> None:
    """20 mL filled, 4.2 mL aspirated 17 days later: 0.929 mL/day, −7.1 % against 1.0."""
    result = measured_flow(
        fill_volume=Q_("20 mL"),
        aspirated=Q_("4.2 mL"),
        filled_at=FILLED,
        at=FILLED + timedelta(days=17),
        nominal_flow=Q_("1 mL/day"),
    )
    assert float(result.flow.m) == pytest.approx(0.9294, abs=0.0001)
    assert result.deviation == pytest.approx(-0.0706, abs=0.0001)
