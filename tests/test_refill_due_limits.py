"""The refill-due date's limits, the states before a refill and the found-empty verdict
(domain-rules sections 3 and 4; issue 11)."""

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pumpmgr.catalogs import default_catalogs
from pumpmgr.errors import Code, ImpossibleInput, InputError
from pumpmgr.forecast import (
    NO_STATE_RANK,
    RefillState,
    due_limits,
    due_reason_words,
    forecast,
    month_end,
    over_infusion_risk,
    parse_expiry,
    refill_due_date,
    state_before_refill,
    state_from_volumes,
    state_rank,
    stored_state,
    worst_case_accuracy,
)
from pumpmgr.records import Ingredient
from pumpmgr.refill import (
    NOT_FROM_RESERVOIR,
    ProgramPeriod,
    discrepancy,
    expected_residual,
    measured_error_percent,
    worst_case_residual,
)
from pumpmgr.schedule import PatientBolus, Program, Schedule
from pumpmgr.since_fill import crossing
from pumpmgr.units import Q_
from pumpmgr.visit import max_interval_days

FILLED = datetime(2025, 3, 3)  # a Monday


def _program(dose: str, concentration: str, bolus: PatientBolus | None = None) -> Program:
    return Program(Q_(concentration), Schedule.simple(Q_(dose)), bolus)


def _ingredient(drug: str, concentration: str) -> Ingredient:
    return Ingredient(drug, Q_(concentration), "mcg")


# --- the cases ----------------------------------------------------------------------


def test_a_40_ml_pump_at_0_2_ml_a_day_is_never_due_after_the_worst_case() -> None:
    """Issue 11: 40 mL at 0.2 mL/day (alarm 190 days; alarm − buffer 183 days) was due after
    the worst-case alarm (190 / 1.145 = 165.9 days) and even after the worst-case empty date."""
    result = forecast(
        fill_volume=Q_("40 mL"),
        filled_at=FILLED,
        program=_program("400 mcg/day", "2000 mcg/mL"),
        accuracy_percent=14.5,
        max_interval_days=None,
    )
    assert result.days_to_alarm_worst_case == pytest.approx(38 / (0.2 * 1.145))
    assert result.refill_due_reason == "worst_case"
    assert result.refill_due <= result.alarm_at_worst_case.date()
    assert result.empty_at_worst_case is not None
    assert result.refill_due < result.empty_at_worst_case.date()
    assert due_reason_words(result.refill_due_reason) == (
        "reservoir may be low if the pump runs fast"
    )


def test_baclofen_100_mcg_a_day_in_a_40_ml_pump_is_due_within_180_days() -> None:
    """Issue 11: 40 mL of 2000 mcg/mL at 100 mcg/day runs 760 days to the alarm; baclofen's
    longest refill interval is 180 days [S72]."""
    library = default_catalogs().drugs
    days, source = max_interval_days([_ingredient("baclofen", "2000 mcg/mL")], library, 90)
    assert (days, source) == (180, "drug library: baclofen")
    result = forecast(
        fill_volume=Q_("40 mL"),
        filled_at=FILLED,
        program=_program("100 mcg/day", "2000 mcg/mL"),
        accuracy_percent=14.5,
        max_interval_days=days,
    )
    assert result.days_to_alarm == pytest.approx(760)
    assert result.refill_due_reason == "max_interval"
    # 2025-03-03 + 180 days = Saturday 2025-08-30: the Friday before
    assert result.refill_due == date(2025, 8, 29)
    assert due_reason_words("max_interval") == "longest refill interval"


def test_one_wording_for_the_alarm_limit() -> None:
    """Review finding: the window, the sheets and the command line name the alarm limit in the
    one core wording, with the clinic's buffer and the constant-flow pump's planning volume."""
    assert due_reason_words("alarm", buffer_days=7) == (
        "alarm date with every bolus taken, minus the 7-day buffer"
    )
    assert due_reason_words("alarm", buffer_days=5, constant_flow=True) == (
        "planning volume date minus the 5-day buffer"
    )
    assert due_reason_words("alarm") == (
        "alarm date with every bolus taken, minus the clinic's buffer"
    )
    assert due_reason_words("stability") == "drug's in-pump stability limit"


def test_the_clinic_interval_applies_to_a_drug_the_library_gives_none() -> None:
    library = default_catalogs().drugs
    assert max_interval_days([_ingredient("morphine", "25000 mcg/mL")], library, 90) == (
        90,
        "clinic setting",
    )
    # an admixture: the shortest of its drugs' intervals, the clinic's for a drug without one
    assert max_interval_days(
        [_ingredient("baclofen", "2000 mcg/mL"), _ingredient("clonidine", "100 mcg/mL")],
        library,
        120,
    ) == (120, "clinic setting")


# --- each limit at its boundary: exactly at, one day over -----------------------------------

ALARM = datetime(2025, 6, 20, 12)  # a Friday; minus the 7-day buffer: Friday 13 June


def _due(**limits: object) -> tuple[date, str]:
    return refill_due_date(filled_at=FILLED, alarm_at_with_boluses=ALARM, **limits)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "at", "over"),
    [
        (
            "worst_case",
            {"worst_case_at": datetime(2025, 6, 13, 8)},
            {"worst_case_at": datetime(2025, 6, 14, 8)},
        ),
        ("stability", {"stability_days": 102}, {"stability_days": 103}),
        ("max_interval", {"max_interval_days": 102}, {"max_interval_days": 103}),
        ("expiry", {"expires_on": date(2025, 6, 13)}, {"expires_on": date(2025, 6, 14)}),
    ],
)
def test_each_limit_exactly_at_and_one_day_over_the_alarm_limit(
    name: str, at: dict[str, object], over: dict[str, object]
) -> None:
    # 2025-03-03 + 102 days = 2025-06-13, the alarm limit's own date: a tie names the alarm
    assert _due(**at) == (date(2025, 6, 13), "alarm")
    assert _due(**over) == (date(2025, 6, 13), "alarm")
    # one day earlier than the alarm limit, the limit sets the date
    earlier = {
        k: (v - timedelta(days=1) if isinstance(v, date | datetime) else v - 1)  # type: ignore[operator]
        for k, v in at.items()
    }
    assert _due(**earlier) == (date(2025, 6, 12), name)


def test_a_due_date_on_closed_days_moves_to_the_open_day_before() -> None:
    closed = [date(2025, 6, 13), date(2025, 6, 12)]
    assert _due(closed_dates=closed) == (date(2025, 6, 11), "alarm")
    assert _due(closed_dates=[date(2025, 6, 14)]) == (date(2025, 6, 13), "alarm")


def test_an_expiry_of_month_and_year_means_the_months_last_day() -> None:
    assert parse_expiry("2026-02") == date(2026, 2, 28)
    assert parse_expiry("2028-02") == date(2028, 2, 29)
    assert parse_expiry("12/2026") == month_end(2026, 12) == date(2026, 12, 31)
    assert parse_expiry("2026-05-14") == date(2026, 5, 14)
    with pytest.raises(InputError) as bad:
        parse_expiry("May 2026", field="expires")
    assert bad.value.field == "expires" and "YYYY-MM" in bad.value.message


def test_a_solution_that_cannot_be_planned_is_refused() -> None:
    program = _program("400 mcg/day", "2000 mcg/mL")
    with pytest.raises(ImpossibleInput) as no_date:
        forecast(fill_volume=Q_("20 mL"), filled_at=FILLED, program=program, compounded=True)
    assert no_date.value.code is Code.NO_BEYOND_USE_DATE and no_date.value.field == "expiry"
    with pytest.raises(ImpossibleInput) as expired:
        forecast(
            fill_volume=Q_("20 mL"), filled_at=FILLED, program=program, expires_on=date(2025, 3, 2)
        )
    assert expired.value.code is Code.SOLUTION_EXPIRED
    # expiring on the refill day itself: planned, and due that day
    same_day = forecast(
        fill_volume=Q_("20 mL"),
        filled_at=FILLED,
        program=program,
        expires_on=date(2025, 3, 3),
        compounded=True,
    )
    assert (same_day.refill_due, same_day.refill_due_reason) == (date(2025, 3, 3), "expiry")


def test_a_top_up_keeps_the_older_fill_for_stability_interval_and_expiry() -> None:
    program = _program("400 mcg/day", "2000 mcg/mL")
    topped = forecast(
        fill_volume=Q_("20 mL"),
        filled_at=FILLED,
        program=program,
        max_interval_days=30,
        solution_filled_at=FILLED - timedelta(days=20),
    )
    assert topped.refill_due == date(2025, 3, 13)  # 2025-02-11 + 30 days
    assert topped.refill_due_reason == "max_interval"


def test_the_default_interval_is_the_clinics_90_days() -> None:
    result = forecast(
        fill_volume=Q_("40 mL"),
        filled_at=FILLED,
        program=_program("100 mcg/day", "2000 mcg/mL"),
        accuracy_percent=15,
    )
    assert result.max_interval_days == 90
    assert dict(result.limits)["max_interval"] == date(2025, 6, 1)
    assert result.refill_due == date(2025, 5, 30)


# --- the worst case's accuracy --------------------------------------------------------------


def test_worst_case_accuracy() -> None:
    unknown = worst_case_accuracy(None)
    assert (unknown.percent, unknown.assumed, unknown.measured) == (15, True, False)
    assert "assumed" in unknown.words
    assert worst_case_accuracy(14.5).percent == 14.5
    assert worst_case_accuracy(14.5, 14.5).measured is False
    measured = worst_case_accuracy(14.5, 20.0)
    assert (measured.percent, measured.measured) == (20, True)
    assert worst_case_accuracy(14.5, -30.0).percent == 14.5  # under-delivery: not a risk here
    assert worst_case_accuracy(None, 7.0, constant_flow=True).percent == 15
    assert worst_case_accuracy(None, 22.0, constant_flow=True).percent == 22
    with pytest.raises(ImpossibleInput):
        worst_case_accuracy(100.0)


def test_measured_error_of_example_2() -> None:
    """domain.md example 2 (a): 20 mL, expected 8, aspirated 6.6: e = +11.7 %."""
    e = measured_error_percent(fill_volume=Q_("20 mL"), expected=Q_("8 mL"), actual=Q_("6.6 mL"))
    assert e == pytest.approx(11.667, abs=1e-3)


def test_the_worst_case_residual_counts_every_program_change() -> None:
    first = _program("400 mcg/day", "2000 mcg/mL")  # 0.2 mL/day
    second = _program(
        "800 mcg/day", "2000 mcg/mL", PatientBolus(Q_("50 mcg"), 2, None)
    )  # 0.4 + 0.05 mL/day
    periods = [ProgramPeriod(FILLED, first), ProgramPeriod(FILLED + timedelta(days=10), second)]
    worst = worst_case_residual(
        fill_volume=Q_("20 mL"),
        filled_at=FILLED,
        at=FILLED + timedelta(days=20),
        programs=periods,
        accuracy_percent=10,
    )
    assert float(worst.m) == pytest.approx(20 - 1.1 * (2 + 4.5))


def test_the_expected_residual_keeps_its_unfloored_value() -> None:
    residual = expected_residual(
        fill_volume=Q_("20 mL"),
        filled_at=FILLED,
        at=FILLED + timedelta(days=110),
        programs=_program("400 mcg/day", "2000 mcg/mL"),
    )
    assert float(residual.expected_residual.m) == 0
    assert float(residual.unfloored_residual.m) == pytest.approx(-2)


# --- the property: never after any limit, never on a closed day -----------------------------

moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1))


@settings(max_examples=300, deadline=None)
@given(
    filled_at=moments,
    alarm_days=st.floats(0, 900),
    worst_days=st.one_of(st.none(), st.floats(0, 900)),
    buffer=st.integers(0, 30),
    stability=st.one_of(st.none(), st.floats(1, 400)),
    interval=st.one_of(st.none(), st.floats(1, 400)),
    expiry_days=st.one_of(st.none(), st.integers(0, 900)),
    open_days=st.sets(st.integers(0, 6), min_size=1),
    closed=st.lists(st.integers(0, 900), max_size=30),
)
def test_the_due_date_is_never_after_a_limit_nor_on_a_closed_day(
    filled_at: datetime,
    alarm_days: float,
    worst_days: float | None,
    buffer: int,
    stability: float | None,
    interval: float | None,
    expiry_days: int | None,
    open_days: set[int],
    closed: list[int],
) -> None:
    closed_dates = {filled_at.date() + timedelta(days=d) for d in closed}
    limits = {
        "filled_at": filled_at,
        "alarm_at_with_boluses": filled_at + timedelta(days=alarm_days),
        "worst_case_at": None if worst_days is None else filled_at + timedelta(days=worst_days),
        "buffer_days": buffer,
        "stability_days": stability,
        "max_interval_days": interval,
        "expires_on": None
        if expiry_days is None
        else filled_at.date() + timedelta(days=expiry_days),
    }
    due, reason = refill_due_date(
        **limits,
        open_days=open_days,  # type: ignore[arg-type]
        closed_dates=closed_dates,
    )
    every = due_limits(**limits)  # type: ignore[arg-type]
    assert all(due <= limit for limit in every.values())
    assert due.weekday() in open_days and due not in closed_dates
    assert every[reason] == min(every.values())  # type: ignore[index]


@settings(max_examples=200, deadline=None)
@given(
    fill=st.floats(2.5, 40),
    rate=st.floats(0.05, 2),
    bolus=st.integers(0, 6),
    accuracy=st.floats(0, 40),
    interval=st.integers(1, 365),
)
def test_a_forecast_is_never_due_after_the_worst_case_nor_the_interval(
    fill: float, rate: float, bolus: int, accuracy: float, interval: int
) -> None:
    program = _program(
        f"{rate * 1000} mcg/day",
        "1000 mcg/mL",
        PatientBolus(Q_("20 mcg"), bolus, None) if bolus else None,
    )
    result = forecast(
        fill_volume=Q_(fill, "mL"),
        filled_at=FILLED,
        program=program,
        accuracy_percent=accuracy,
        max_interval_days=interval,
    )
    assert result.refill_due <= result.alarm_at_worst_case.date()
    assert result.refill_due <= (result.alarm_at_with_boluses - timedelta(days=7)).date()
    assert result.refill_due <= (FILLED + timedelta(days=interval)).date()
    assert result.refill_due.weekday() < 5


# --- the states before a refill -------------------------------------------------------------

NOW = datetime(2025, 6, 1, 12)


def _state(**moments: datetime | None) -> RefillState | None:
    given_ = {
        "alarm_at": NOW + timedelta(days=5),
        "empty_at": NOW + timedelta(days=15),
        "empty_at_worst_case": NOW + timedelta(days=10),
        **moments,
    }
    return state_before_refill(now=NOW, **given_)  # type: ignore[arg-type]


def test_states_before_a_refill_at_their_boundaries() -> None:
    assert _state() is None
    assert _state(alarm_at=NOW) is RefillState.ALARM_PASSED
    assert _state(alarm_at=NOW + timedelta(seconds=1)) is None
    assert _state(alarm_at=NOW, empty_at_worst_case=NOW) is RefillState.MAY_BE_EMPTY
    assert _state(alarm_at=NOW, empty_at_worst_case=NOW, empty_at=NOW) is RefillState.COMPUTED_EMPTY
    assert (
        state_before_refill(
            now=NOW,
            alarm_at=NOW + timedelta(days=9),
            empty_at=NOW + timedelta(days=20),
            empty_at_worst_case=None,
            stopped=True,
        )
        is RefillState.COMPUTED_EMPTY
    )
    assert state_from_volumes(nominal_ml=2.0, worst_ml=0.5, alarm_ml=2) is (
        RefillState.ALARM_PASSED
    )
    assert state_from_volumes(nominal_ml=2.01, worst_ml=0.5, alarm_ml=2) is None
    assert state_from_volumes(nominal_ml=1.0, worst_ml=0.0, alarm_ml=2) is (
        RefillState.MAY_BE_EMPTY
    )
    assert state_from_volumes(nominal_ml=0.0, worst_ml=-1.0, alarm_ml=2) is (
        RefillState.COMPUTED_EMPTY
    )
    assert (
        state_from_volumes(nominal_ml=9, worst_ml=9, alarm_ml=2, past_end_of_service=True)
        is RefillState.COMPUTED_EMPTY
    )


def test_state_rank_orders_the_states_baclofen_first_among_alarms_passed() -> None:
    ranks = [
        state_rank(RefillState.COMPUTED_EMPTY),
        state_rank(RefillState.MAY_BE_EMPTY),
        state_rank(RefillState.ALARM_PASSED, baclofen=True),
        state_rank(RefillState.ALARM_PASSED),
        state_rank(None, baclofen=True),
    ]
    assert ranks == sorted(ranks) and len(set(ranks)) == 5 and ranks[-1] == NO_STATE_RANK
    assert RefillState.MAY_BE_EMPTY.words == "may be empty"


def test_over_infusion_risk() -> None:
    assert over_infusion_risk(ran_empty=True)
    assert not over_infusion_risk(ran_empty=False, longest_stop_hours=48)
    assert over_infusion_risk(ran_empty=False, longest_stop_hours=48.5)


# --- the visit's verdict --------------------------------------------------------------------


def _verdict(
    expected: str,
    actual: str,
    note: str = "",
    fill: str = "20 mL",
    capacity: str = "20 mL",
    threshold: str | None = None,
) -> object:
    return discrepancy(
        fill_volume=Q_(fill),
        expected=Q_(expected),
        actual=Q_(actual),
        reservoir_capacity=Q_(capacity),
        accuracy_percent=14.5,
        empty_threshold=None if threshold is None else Q_(threshold),
        note=note,
    )


def test_expected_zero_and_aspirated_zero_is_found_empty_not_ok() -> None:
    found = _verdict("0 mL", "0 mL")
    assert found.verdict == "found_empty"  # type: ignore[attr-defined]
    assert "restart" in found.meaning  # type: ignore[attr-defined]


def test_found_empty_at_the_clinics_threshold() -> None:
    assert _verdict("0.6 mL", "0.5 mL").verdict == "found_empty"  # type: ignore[attr-defined]
    assert _verdict("0.6 mL", "0.51 mL").verdict == "ok"  # type: ignore[attr-defined]
    assert _verdict("1.1 mL", "1 mL", threshold="1 mL").verdict == (  # type: ignore[attr-defined]
        "found_empty"
    )
    # the unfloored expected residual at or below 0, whatever came back
    below = _verdict("-0.4 mL", "1.2 mL")
    assert below.verdict == "found_empty"  # type: ignore[attr-defined]
    assert float(below.difference.m) == pytest.approx(-1.6)  # type: ignore[attr-defined]


def test_an_aspirate_above_the_capacity_needs_a_note_and_is_investigated() -> None:
    with pytest.raises(ImpossibleInput) as refused:
        _verdict("8 mL", "25 mL")
    assert refused.value.field == "note" and refused.value.code is Code.OVER_CAPACITY
    found = _verdict("8 mL", "25 mL", note="needle in the pocket?")
    assert found.verdict == "investigate"  # type: ignore[attr-defined]
    assert found.warnings == (NOT_FROM_RESERVOIR,)  # type: ignore[attr-defined]
    assert NOT_FROM_RESERVOIR == (
        "this cannot have come from the reservoir: check the needle position"
    )


def test_an_aspirate_above_the_previous_fill_needs_a_note_and_is_investigated() -> None:
    with pytest.raises(ImpossibleInput) as refused:
        _verdict("17.5 mL", "18.5 mL", fill="18 mL", capacity="40 mL")
    assert refused.value.field == "note"
    found = _verdict("17.5 mL", "18.5 mL", fill="18 mL", capacity="40 mL", note="recount")
    assert found.verdict == "investigate"  # type: ignore[attr-defined]
    # exactly the previous fill: no note needed
    assert _verdict("17.8 mL", "18 mL", fill="18 mL", capacity="40 mL").verdict == "ok"  # type: ignore[attr-defined]


def test_a_delivery_error_under_the_syringes_reading_error_is_ok() -> None:
    """|e| above the accuracy but |Δ| under 0.5 mL: the syringe, not the pump (clinic policy)."""
    # 20 mL filled, 18 expected (2 delivered), 17.6 back: e = +20 %, Δ = 0.4 mL
    assert _verdict("18 mL", "17.6 mL").verdict == "ok"  # type: ignore[attr-defined]
    assert _verdict("18 mL", "17.5 mL").verdict == "investigate"  # type: ignore[attr-defined]


def due_rank(*, baclofen: bool = False, **stored: Any) -> tuple[int, RefillState | None]:
    """The due list's sort key of a stored forecast: the rank of its state before a refill."""
    state = stored_state(**stored)
    return state_rank(state, baclofen=baclofen), state


def test_due_rank_sorts_the_states_for_the_due_list() -> None:
    alarm, empty = NOW + timedelta(days=5), NOW + timedelta(days=15)
    fine = due_rank(now=NOW, alarm_at=alarm, empty_at=empty, empty_at_worst_case=None)
    passed = due_rank(
        now=NOW, alarm_at=NOW, empty_at=empty, empty_at_worst_case=None, baclofen=True
    )
    empty_now = due_rank(now=NOW, alarm_at=NOW, empty_at=NOW, empty_at_worst_case=NOW)
    never_filled = due_rank(
        now=NOW, alarm_at=None, empty_at=None, empty_at_worst_case=None, past_end_of_service=True
    )
    assert fine == (NO_STATE_RANK, None)
    assert passed == (2, RefillState.ALARM_PASSED)
    assert empty_now == never_filled == (0, RefillState.COMPUTED_EMPTY)


def test_a_recorded_error_beyond_any_pump_is_capped_and_a_typed_one_refused() -> None:
    """A refill recorded minutes after the last (almost nothing due) cannot stop the next
    forecast or worksheet (domain-rules §4a): the worst case takes the largest error a pump
    can have; typed on the command line the same figure is refused."""
    from pumpmgr.forecast import MAX_ACCURACY_PERCENT, worst_case_accuracy

    capped = worst_case_accuracy(14.5, 1.4e7)
    assert (capped.percent, capped.measured) == (MAX_ACCURACY_PERCENT, True)
    with pytest.raises(ImpossibleInput) as typed:
        worst_case_accuracy(14.5, 1.4e7, recorded=False)
    assert typed.value.field == "measured error"


def test_the_worst_case_error_ignores_what_a_syringe_cannot_read() -> None:
    from pumpmgr.refill import worst_case_error_percent

    assert worst_case_error_percent(20.0, 19.9, 17.0) is None  # 0.1 mL was due
    assert worst_case_error_percent(20.0, 8.0, 7.6) is None  # |Δ| 0.4 mL
    assert worst_case_error_percent(20.0, 8.0, 7.0) == pytest.approx(1 / 12 * 100)
    assert worst_case_error_percent(20.0, 19.5, 18.5) == pytest.approx(200.0)  # exactly 0.5 due


def test_the_worst_case_empty_time_counts_every_program_change() -> None:
    """0.4 mL/day until day 10, then 0.2 mL/day, 10 % fast: 20 − 1.1 × 4 = 15.6 mL left at
    day 10, empty 15.6 / 0.22 = 70.9 days later (the visit's dry time: the worst case through
    every program, where it reaches 0)."""
    periods = [
        ProgramPeriod(FILLED, _program("800 mcg/day", "2000 mcg/mL")),
        ProgramPeriod(FILLED + timedelta(days=10), _program("400 mcg/day", "2000 mcg/mL")),
    ]

    def worst_ml(at: datetime) -> float:
        worst = worst_case_residual(
            fill_volume=Q_("20 mL"),
            filled_at=FILLED,
            at=at,
            programs=periods,
            accuracy_percent=10,
        )
        return float(worst.to("mL").m)

    expected = FILLED + timedelta(days=10 + 15.6 / 0.22)
    assert worst_ml(FILLED + timedelta(days=50)) > 0
    for days in (100, 500):
        found = crossing(0.0, worst_ml, FILLED, FILLED + timedelta(days=days))
        assert found == pytest.approx(expected, abs=timedelta(seconds=1))
