"""urgency: the due list's order by danger, from a due row's dates and the forecast's states."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from pumpmgr.forecast import NO_STATE_RANK, RefillState
from pumpmgr.records import DueRow
from pumpmgr.urgency import refill_state, replace_soon, soonest_event, urgency_key

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def at(days: float | None) -> datetime | None:
    return None if days is None else NOW + timedelta(days=days)


def row(
    name: str,
    *,
    alarm_in: float,
    empty_in: float | None,
    nominal_in: float | None = None,
    worst_alarm_in: float | None = None,
    worst_empty_in: float | None = None,
    due: date = date(2026, 3, 20),
    keys: tuple[str, ...] = ("morphine",),
    pump_type: str = "programmable_peristaltic",
    replace_by: date | None = None,
) -> DueRow:
    """A row whose alarm (with boluses), nominal alarm, empty time and worst-case times are so
    many days away (the nominal alarm defaults to the bolus alarm)."""
    return DueRow(
        patient_id=1,
        mrn="1",
        patient=name,
        pump_id=1,
        pump_model="SynchroMed II 20 mL",
        pump_type=pump_type,
        drug="x",
        days_left=alarm_in,
        alarm_at=NOW + timedelta(days=alarm_in),
        refill_due=due,
        refill_due_reason="alarm",
        replace_by=replace_by,
        state="fine",
        nominal_alarm_at=at(alarm_in if nominal_in is None else nominal_in),
        empty_at=at(empty_in),
        alarm_at_worst_case=at(worst_alarm_in),
        empty_at_worst_case=at(worst_empty_in),
        drug_keys=keys,
    )


def order(rows: list[DueRow]) -> list[str]:
    for r in rows:  # the state the due list reads with each row
        r.refill_state = refill_state(r, NOW)[1]
    return [r.patient for r in sorted(rows, key=lambda r: urgency_key(r, UTC))]


def test_the_states_before_a_refill_rank_first() -> None:
    empty = row("EMPTY", alarm_in=-20, empty_in=-1)
    may_be = row("MAY BE", alarm_in=-2, empty_in=3, worst_empty_in=-0.5)
    passed = row("PASSED", alarm_in=-4, empty_in=1, worst_empty_in=0.5, keys=("baclofen",))
    passed_morphine = row("PASSED M", alarm_in=-4, empty_in=1, worst_empty_in=0.5)
    soon = row("SOON", alarm_in=2, empty_in=30)
    assert [refill_state(r, NOW)[1] for r in (empty, may_be, passed, soon)] == [
        RefillState.COMPUTED_EMPTY,
        RefillState.MAY_BE_EMPTY,
        RefillState.ALARM_PASSED,
        None,
    ]
    assert refill_state(soon, NOW)[0] == NO_STATE_RANK
    assert order([soon, passed_morphine, passed, may_be, empty]) == [
        "EMPTY",
        "MAY BE",
        "PASSED",
        "PASSED M",
        "SOON",
    ]


def test_a_state_before_a_refill_ranks_above_a_missed_visit_which_ranks_above_the_rest() -> None:
    """Domain-rules §3: the states before a refill rank above every other state; a missed
    visit (issue 16's call list) heads the rest. Tried by hand: a missed visit with 17 days
    left sat above a pump that may be empty tomorrow."""
    missed = row("MISSED", alarm_in=17, empty_in=40)
    missed.booking = "did_not_attend"
    passed = row("ALARM PASSED", alarm_in=-2, empty_in=3, worst_empty_in=1)
    overdue = row("OVERDUE", alarm_in=1, empty_in=20, due=date(2026, 3, 1))
    assert order([overdue, missed, passed]) == ["ALARM PASSED", "MISSED", "OVERDUE"]


def test_a_pump_past_its_end_of_service_ranks_with_computed_empty() -> None:
    old = row("OLD", alarm_in=30, empty_in=60, replace_by=date(2026, 3, 1))
    assert refill_state(old, NOW)[1] is RefillState.COMPUTED_EMPTY


def test_a_pump_due_last_week_ranks_below_one_whose_alarm_passed() -> None:
    """The issue's case: sorted by refill-due date, an IsoMed due last week sat above a
    baclofen pump whose alarm passed four days ago and that empties tomorrow."""
    isomed = row("ISOMED", alarm_in=3, empty_in=12, due=date(2026, 3, 3), pump_type="constant_flow")
    baclofen = row("BACLOFEN", alarm_in=-4, empty_in=1, due=date(2026, 3, 6), keys=("baclofen",))
    assert order([isomed, baclofen]) == ["BACLOFEN", "ISOMED"]


def test_the_soonest_worst_case_or_empty_date_then_baclofen_on_the_same_day() -> None:
    later = row("LATER", alarm_in=9, empty_in=40)
    morphine = row("MORPHINE", alarm_in=5.2, empty_in=30)
    baclofen = row("BACLOFEN", alarm_in=5.3, empty_in=30, keys=("clonidine", "baclofen"))
    empties_first = row("EMPTIES", alarm_in=8, empty_in=4)  # (an alarm after the empty time)
    assert soonest_event(empties_first) == NOW + timedelta(days=4)
    assert order([later, morphine, baclofen, empties_first]) == [
        "EMPTIES",
        "BACLOFEN",
        "MORPHINE",
        "LATER",
    ]
    # a day apart, the date decides, not the drug
    assert order(
        [
            row("B", alarm_in=6.5, empty_in=30, keys=("baclofen",)),
            row("M", alarm_in=5.2, empty_in=30),
        ]
    ) == ["M", "B"]


def test_the_worst_case_low_reservoir_decides_where_it_is_stored() -> None:
    """A fast pump's worst-case low-reservoir date comes before its alarm with boluses."""
    fast = row("FAST", alarm_in=9, empty_in=40, worst_alarm_in=3)
    steady = row("STEADY", alarm_in=5, empty_in=40, worst_alarm_in=4.5)
    assert soonest_event(fast) == NOW + timedelta(days=3)
    assert order([steady, fast]) == ["FAST", "STEADY"]


def test_no_fill_yet_is_in_no_state() -> None:
    assert refill_state(row("NEW", alarm_in=1, empty_in=None), NOW) == (NO_STATE_RANK, None)


def test_a_replace_by_date_is_warned_of_from_6_months_before() -> None:
    """domain-rules §3: the warning from 183 days before the replace-by date, and after it."""
    today = date(2025, 10, 20)
    assert replace_soon(today + timedelta(days=183), today)
    assert not replace_soon(today + timedelta(days=184), today)
    assert replace_soon(today - timedelta(days=1), today)  # past it: still warned of
    assert not replace_soon(None, today)
