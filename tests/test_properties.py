"""Property tests: unit invariance, monotonicity, bounds, and only domain errors escape."""

from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pumpmgr.compounding import compound
from pumpmgr.deadspace import CatheterSegment, bridge, catheter_volume
from pumpmgr.errors import PumpMgrError
from pumpmgr.forecast import forecast
from pumpmgr.refill import discrepancy, expected_residual
from pumpmgr.schedule import PatientBolus, Program, Schedule
from pumpmgr.units import Q_, Kind, parse

FILLED = datetime(2025, 3, 3, 9, 30)
doses = st.floats(min_value=1, max_value=5000)  # mcg/day
concentrations = st.floats(min_value=10, max_value=25000)  # mcg/mL
fills = st.floats(min_value=2.5, max_value=40)  # mL
anything = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e6, max_value=1e6),
    st.just(0.0),
)
quick = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _forecast(dose: object, concentration: object, fill: float = 20.0) -> object:
    return forecast(
        fill_volume=Q_(fill, "mL"),
        filled_at=FILLED,
        program=Program(concentration, Schedule.simple(dose)),
    )


@quick
@given(doses, concentrations, fills)
def test_mg_or_mcg_per_day_or_per_hour_give_the_same_forecast(
    dose: float, concentration: float, fill: float
) -> None:
    try:
        in_mcg = _forecast(Q_(dose, "mcg/day"), Q_(concentration, "mcg/mL"), fill)
    except PumpMgrError:
        return
    in_mg = _forecast(Q_(dose / 1000, "mg/h") / 24, Q_(concentration / 1000, "mg/mL"), fill)
    assert in_mg.days_to_alarm == pytest.approx(in_mcg.days_to_alarm, rel=1e-9)  # type: ignore[attr-defined]
    assert in_mg.refill_due == in_mcg.refill_due  # type: ignore[attr-defined]


@quick
@given(doses, doses, concentrations, fills)
def test_more_dose_never_gives_more_days_to_alarm(
    low: float, high: float, concentration: float, fill: float
) -> None:
    low, high = sorted((low, high))
    try:
        a = _forecast(Q_(low, "mcg/day"), Q_(concentration, "mcg/mL"), fill)
        b = _forecast(Q_(high, "mcg/day"), Q_(concentration, "mcg/mL"), fill)
    except PumpMgrError:
        return
    assert b.days_to_alarm <= a.days_to_alarm  # type: ignore[attr-defined]
    assert b.refill_due <= a.refill_due  # type: ignore[attr-defined]


@quick
@given(
    doses,
    concentrations,
    fills,
    st.floats(min_value=0, max_value=3000),
    st.one_of(st.just(0.0), st.floats(min_value=0.001, max_value=50)),
)
def test_expected_residual_stays_between_zero_and_the_fill(
    dose: float, concentration: float, fill: float, days: float, extra: float
) -> None:
    program = Program(Q_(concentration, "mcg/mL"), Schedule.simple(Q_(dose, "mcg/day")))
    result = expected_residual(
        fill_volume=Q_(fill, "mL"),
        filled_at=FILLED,
        at=FILLED + timedelta(days=days),
        programs=program,
        extra_volume=Q_(extra, "mL"),
    )
    assert 0 <= float(result.expected_residual.m) <= fill


@quick
@given(doses, concentrations, st.floats(min_value=0, max_value=100), st.integers(0, 20))
def test_boluses_never_lengthen_the_forecast(
    dose: float, concentration: float, bolus: float, per_day: int
) -> None:
    try:
        plain = _forecast(Q_(dose, "mcg/day"), Q_(concentration, "mcg/mL"))
        with_boluses = forecast(
            fill_volume=Q_(20, "mL"),
            filled_at=FILLED,
            accuracy_percent=14.5,
            program=Program(
                Q_(concentration, "mcg/mL"),
                Schedule.simple(Q_(dose, "mcg/day")),
                PatientBolus(Q_(bolus, "mcg"), per_day),
            ),
        )
    except PumpMgrError:
        return
    assert with_boluses.days_to_alarm_with_boluses <= plain.days_to_alarm  # type: ignore[attr-defined]
    assert with_boluses.days_to_alarm_worst_case <= with_boluses.days_to_alarm_with_boluses


@settings(max_examples=300, deadline=None)
@given(anything, anything, anything, anything)
def test_calculators_raise_only_domain_errors(a: float, b: float, c: float, d: float) -> None:
    """Any number, NaN, infinity, zero or negative: a result or a PumpMgrError, nothing else."""
    calls = [
        lambda: _forecast(Q_(a, "mcg/day"), Q_(b, "mcg/mL"), c),
        lambda: expected_residual(
            fill_volume=Q_(a, "mL"),
            filled_at=FILLED,
            at=FILLED,
            programs=Program(Q_(b, "mcg/mL"), Schedule.simple(Q_(c, "mcg/day"))),
        ),
        lambda: discrepancy(
            fill_volume=Q_(a, "mL"),
            expected=Q_(b, "mL"),
            actual=Q_(c, "mL"),
            reservoir_capacity=Q_(d, "mL"),
            accuracy_percent=d,
        ),
        lambda: compound(
            flow=Q_(a, "mL/day"),
            dose=Q_(b, "mcg/day"),
            stock=Q_(c, "mcg/mL"),
            fill_volume=Q_(d, "mL"),
        ),
        lambda: bridge(
            dose=Q_(a, "mcg/day"),
            old_concentration=Q_(b, "mcg/mL"),
            new_concentration=Q_(c, "mcg/mL"),
            dead_space=Q_(d, "mL"),
        ),
        lambda: catheter_volume([CatheterSegment(Q_(a, "cm"), Q_(b, "mL/cm"))]),
    ]
    for call in calls:
        try:
            result = call()
        except PumpMgrError:
            continue
        for value in vars(result).values():
            magnitude = getattr(value, "magnitude", value)
            if isinstance(magnitude, float):
                assert magnitude == magnitude and abs(magnitude) != float("inf")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40), st.sampled_from(list(Kind)))
def test_parser_raises_only_domain_errors(text: str, kind: Kind) -> None:
    try:
        quantity = parse(text, kind, "field")
    except PumpMgrError as error:
        assert error.message.startswith("field:")
        return
    assert quantity.check(kind.spec.dimensionality)
