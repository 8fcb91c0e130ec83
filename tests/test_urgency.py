"""urgency: the due list's order by danger, from a due row's dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from pumpmgr.records import DueRow
from pumpmgr.urgency import Danger, danger, soonest_event, urgency_key

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def row(name: str, *, alarm_in: float, empty_in: float | None, nominal_in: float | None = None,
        due: date = date(2026, 3, 20), keys: tuple[str, ...] = ("morphine",),
        pump_type: str = "programmable_peristaltic") -> DueRow:
    """A row whose alarm (with boluses), nominal alarm and empty time are so many days away."""
    return DueRow(
        patient_id=1, mrn="1", patient=name, pump_id=1, pump_model="SynchroMed II 20 mL",
        pump_type=pump_type, drug="x", days_left=alarm_in,
        alarm_at=NOW + timedelta(days=alarm_in), refill_due=due, refill_due_reason="alarm",
        replace_by=None, state="fine",
        nominal_alarm_at=None if nominal_in is None else NOW + timedelta(days=nominal_in),
        empty_at=None if empty_in is None else NOW + timedelta(days=empty_in),
        drug_keys=keys)


def order(rows: list[DueRow]) -> list[str]:
    return [r.patient for r in sorted(rows, key=lambda r: urgency_key(r, NOW, UTC))]


def test_the_states_before_a_refill_rank_first() -> None:
    empty = row("EMPTY", alarm_in=-20, empty_in=-1)
    passed = row("PASSED", alarm_in=-4, empty_in=1, keys=("baclofen",))
    soon = row("SOON", alarm_in=2, empty_in=30)
    assert [danger(r, NOW) for r in (empty, passed, soon)] == [
        Danger.COMPUTED_EMPTY, Danger.ALARM_PASSED, Danger.COUNTING]
    assert order([soon, passed, empty]) == ["EMPTY", "PASSED", "SOON"]


def test_a_pump_due_last_week_ranks_below_one_whose_alarm_passed() -> None:
    """The issue's case: sorted by refill-due date, an IsoMed due last week sat above a
    baclofen pump whose alarm passed four days ago and that empties tomorrow."""
    isomed = row("ISOMED", alarm_in=3, empty_in=12, due=date(2026, 3, 3),
                 pump_type="constant_flow")
    baclofen = row("BACLOFEN", alarm_in=-4, empty_in=1, due=date(2026, 3, 6),
                   keys=("baclofen",))
    assert order([isomed, baclofen]) == ["BACLOFEN", "ISOMED"]


def test_the_soonest_alarm_or_empty_date_then_baclofen_on_the_same_day() -> None:
    later = row("LATER", alarm_in=9, empty_in=40)
    morphine = row("MORPHINE", alarm_in=5.2, empty_in=30)
    baclofen = row("BACLOFEN", alarm_in=5.3, empty_in=30, keys=("clonidine", "baclofen"))
    empties_first = row("EMPTIES", alarm_in=8, empty_in=4)  # (an alarm after the empty time)
    assert soonest_event(empties_first) == NOW + timedelta(days=4)
    assert order([later, morphine, baclofen, empties_first]) == [
        "EMPTIES", "BACLOFEN", "MORPHINE", "LATER"]
    # a day apart, the date decides, not the drug
    assert order([row("B", alarm_in=6.5, empty_in=30, keys=("baclofen",)),
                  row("M", alarm_in=5.2, empty_in=30)]) == ["M", "B"]


def test_a_passed_nominal_alarm_counts_and_no_empty_date_is_no_empty_state() -> None:
    nominal_passed = row("NOMINAL", alarm_in=1, empty_in=None, nominal_in=-0.5)
    assert danger(nominal_passed, NOW) is Danger.ALARM_PASSED
    assert danger(row("NONE", alarm_in=1, empty_in=None), NOW) is Danger.COUNTING
