"""pumpmgr.orders: which changes need the prescriber, an order's state, overdue at the limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pumpmgr.orders import (
    GivenAs,
    OrderState,
    counts_for_forecast,
    is_overdue,
    most_pressing,
    needs_prescriber,
    open_states,
    order_state,
    prints_settings,
)

T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "verdict, codes",
    [
        ("stop", []),
        ("warning", ["start.above_range"]),
        ("warning", ["start.screening_bolus_not_given"]),
        ("warning", ["titration.above_percent"]),
        ("warning", ["titration.within_24h"]),
        ("warning", ["dose.above_typical", "dose.above_soft_max"]),
        ("warning", ["withdrawal.cut_below_half"]),
        ("warning", ["pump.not_labelled"]),
        ("stop", ["dose.possible_tenfold_error"]),
    ],
)
def test_these_findings_need_the_prescriber(verdict: str, codes: list[str]) -> None:
    assert needs_prescriber(verdict, codes, starts=())


@pytest.mark.parametrize("verdict", ["ok", "warning"])
def test_a_start_needs_the_prescriber_with_or_without_a_finding(verdict: str) -> None:
    """domain-rules §7: a start or restart is signed before it is programmed, even within its
    start range (no finding at all)."""
    codes = [] if verdict == "ok" else ["dose.above_typical"]
    assert needs_prescriber(verdict, codes, starts={"morphine"})
    assert not needs_prescriber(verdict, codes, starts=())


@pytest.mark.parametrize(
    "verdict, codes",
    [
        ("ok", []),
        ("warning", ["dose.above_typical"]),
        ("warning", ["dose.below_typical", "concentration.above_unverified_max"]),
        ("warning", ["withdrawal.cut_beyond_titration_within_24h"]),
        ("warning", ["schedule.step_slip"]),
    ],
)
def test_ordinary_findings_do_not(verdict: str, codes: list[str]) -> None:
    assert not needs_prescriber(verdict, codes, starts=())


def test_spoken_and_telephone_orders_are_read_back_written_ones_not() -> None:
    assert GivenAs.SPOKEN.needs_read_back and GivenAs.TELEPHONE.needs_read_back
    assert not GivenAs.WRITTEN.needs_read_back


@pytest.mark.parametrize(
    "kwargs, state",
    [
        ({"high_risk": False, "by_prescriber": True}, OrderState.SIGNED),
        ({"high_risk": True, "by_prescriber": True}, OrderState.SIGNED),
        ({"high_risk": False, "by_prescriber": False}, OrderState.AWAITING_COSIGNATURE),
        ({"high_risk": True, "by_prescriber": False}, OrderState.AWAITING_SIGNATURE),
        (
            {"high_risk": True, "by_prescriber": False, "programmed": True},
            OrderState.UNSIGNED_HIGH_RISK,
        ),
        ({"high_risk": True, "by_prescriber": False, "signed": True}, OrderState.SIGNED),
        ({"high_risk": False, "by_prescriber": False, "declined": True}, OrderState.DECLINED),
    ],
)
def test_an_orders_state(kwargs: dict[str, bool], state: OrderState) -> None:
    given = {"programmed": False, "signed": False, "declined": False, **kwargs}
    assert order_state(**given) is state


def test_only_a_held_high_risk_order_stays_out_of_the_forecast() -> None:
    assert not counts_for_forecast(
        high_risk=True, by_prescriber=False, programmed=False, signed=False
    )
    assert counts_for_forecast(high_risk=True, by_prescriber=False, programmed=True, signed=False)
    assert counts_for_forecast(high_risk=True, by_prescriber=False, programmed=False, signed=True)
    assert counts_for_forecast(high_risk=False, by_prescriber=False, programmed=False, signed=False)


def test_no_settings_are_printed_before_the_signature() -> None:
    assert not prints_settings(OrderState.AWAITING_SIGNATURE, programmed=False)
    assert not prints_settings(OrderState.DECLINED, programmed=False)
    assert prints_settings(OrderState.DECLINED, programmed=True)
    assert prints_settings(OrderState.UNSIGNED_HIGH_RISK, programmed=True)
    assert prints_settings(OrderState.AWAITING_COSIGNATURE, programmed=True)


@pytest.mark.parametrize(
    "state, hours",
    [
        (OrderState.AWAITING_COSIGNATURE, 48),
        (OrderState.UNSIGNED_HIGH_RISK, 24),
        (OrderState.AWAITING_SIGNATURE, 24),
    ],
)
def test_overdue_exactly_at_the_limit(state: OrderState, hours: int) -> None:
    limit = T0 + timedelta(hours=hours)
    kwargs = {"cosign_hours": 48, "high_risk_hours": 24}
    assert not is_overdue(state, T0, limit - timedelta(seconds=1), **kwargs)
    assert is_overdue(state, T0, limit, **kwargs)


def test_a_signed_or_declined_order_is_never_overdue() -> None:
    later = T0 + timedelta(days=30)
    for state in (OrderState.SIGNED, OrderState.DECLINED):
        assert not is_overdue(state, T0, later, cosign_hours=48, high_risk_hours=24)


def test_a_declined_order_is_open_until_a_later_order_runs() -> None:
    declined = (OrderState.DECLINED, True)
    assert open_states([declined]) == [0]
    assert most_pressing([declined, (OrderState.SIGNED, True)]) is None
    # a later order still waiting for its signature does not run: still declined
    held = (OrderState.AWAITING_SIGNATURE, False)
    assert most_pressing([declined, held]) is OrderState.DECLINED
    assert most_pressing(
        [(OrderState.AWAITING_COSIGNATURE, True), (OrderState.UNSIGNED_HIGH_RISK, True)]
    ) is (OrderState.UNSIGNED_HIGH_RISK)
    assert most_pressing([(OrderState.SIGNED, True)]) is None
