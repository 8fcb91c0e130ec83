"""Orders and signatures (domain-rules §7) and incidents (§4a): which changes need the
prescriber's signature before they are programmed, an order's state, and when it is overdue.

Pure layer: the standard library and :mod:`pumpmgr.dose_checks`' finding codes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from pumpmgr.dose_checks import FindingCode as F

#: Findings that need a prescriber before the change is programmed [domain-rules §7]: a start
#: or restart above its range or without the screening bolus, above the titration rule, above
#: the soft maximum, a decrease to less than half, a drug not labelled for the pump, a
#: possible tenfold error. A start or restart needs the prescriber with no finding at all
#: (:func:`needs_prescriber`'s ``starts``).
PRESCRIBER_CODES: frozenset[str] = frozenset(
    {
        F.START_ABOVE_RANGE,
        F.START_WITHOUT_SCREENING,
        F.TITRATION_ABOVE_PERCENT,
        F.TITRATION_ABOVE_STEP,
        F.TITRATION_TOO_MANY_STEPS,
        F.INCREASE_WITHIN_24H,
        F.ABOVE_SOFT_MAX,
        F.WITHDRAWAL_CUT_BELOW_HALF,
        F.NOT_LABELLED,
        F.POSSIBLE_TENFOLD_ERROR,
    }
)
#: The dose checks' verdict that only a prescriber may save (domain-rules §6).
STOP_VERDICT = "stop"

#: Blocked findings that no pump can have run (not a dose, or a program the pump cannot
#: hold): refused even when recorded as already programmed.
NOT_A_FACT_CODES: frozenset[str] = frozenset(
    {
        F.NO_UNIT,
        F.WRONG_KIND,
        F.NOT_FINITE,
        F.NOT_POSITIVE,
        F.NEGATIVE_TIME,
        F.TOO_MANY_FLEX_STEPS,
        F.SCHEDULE_NOT_OFFERED,
        F.DUPLICATE_DRUG,
    }
)

#: Clinic policy defaults [domain-rules §7]: an ordinary order awaiting co-signature is
#: overdue after 48 hours, an unsigned high-risk order after 24 hours.
COSIGN_OVERDUE_HOURS = 48
HIGH_RISK_OVERDUE_HOURS = 24


def needs_prescriber(verdict: str, codes: Iterable[str], *, starts: Collection[str]) -> bool:
    """Whether a change with this dose-check ``verdict`` and these finding ``codes``, which
    starts (or restarts) the drugs ``starts``, must be signed by the prescriber before it is
    programmed: any start or restart, verdict stop, or any finding above the titration rule,
    above the soft maximum, a decrease to less than half or a drug not labelled for the pump
    (domain-rules §7)."""
    if starts or str(verdict) == STOP_VERDICT:
        return True
    return any(str(code) in PRESCRIBER_CODES for code in codes)


class GivenAs(StrEnum):
    """How the prescriber gave an order a nurse enters."""

    SPOKEN = "spoken"
    TELEPHONE = "telephone"
    WRITTEN = "written"

    @property
    def needs_read_back(self) -> bool:
        """A spoken or telephone order is read back and confirmed before it is entered."""
        return self is not GivenAs.WRITTEN


class OrderState(StrEnum):
    """Where an order stands; the words the screens and sheets show are :data:`STATE_TEXT`."""

    SIGNED = "signed"
    #: An ordinary change a nurse entered: may be programmed, counts for every forecast.
    AWAITING_COSIGNATURE = "awaiting_cosignature"
    #: A change that needs the prescriber, not yet programmed: no pump settings are printed.
    AWAITING_SIGNATURE = "awaiting_signature"
    #: A change that needs the prescriber, programmed all the same (on a spoken order).
    UNSIGNED_HIGH_RISK = "unsigned_high_risk"
    DECLINED = "declined"


STATE_TEXT: dict[OrderState, str] = {
    OrderState.SIGNED: "signed",
    OrderState.AWAITING_COSIGNATURE: "awaiting co-signature",
    OrderState.AWAITING_SIGNATURE: "awaiting the prescriber's signature",
    OrderState.UNSIGNED_HIGH_RISK: "unsigned high-risk order",
    OrderState.DECLINED: "declined by the prescriber",
}

#: What an order not yet signed means for the sheets.
NO_SETTINGS_UNTIL_SIGNED = "no pump settings are printed for this order until it is signed"
#: Said where pump settings would be printed for an order not yet signed.
NO_SETTINGS_TEXT = f"awaiting the prescriber's signature: {NO_SETTINGS_UNTIL_SIGNED}"


def order_state(
    *, high_risk: bool, by_prescriber: bool, programmed: bool, signed: bool, declined: bool
) -> OrderState:
    """An order's state from what happened to it: entered by its prescriber (signed at once)
    or by a nurse, whether it needs the prescriber (``high_risk``), whether the pump was
    programmed with it, and the prescriber's decision. A decision wins over everything."""
    if declined:
        return OrderState.DECLINED
    if signed or by_prescriber:
        return OrderState.SIGNED
    if not high_risk:
        return OrderState.AWAITING_COSIGNATURE
    return OrderState.UNSIGNED_HIGH_RISK if programmed else OrderState.AWAITING_SIGNATURE


def counts_for_forecast(
    *, high_risk: bool, by_prescriber: bool, programmed: bool, signed: bool
) -> bool:
    """Whether the pump runs this order, so every forecast uses it: anything programmed, an
    ordinary change (it may be programmed at once) and a signed order. Only a high-risk order
    a nurse entered, neither signed nor programmed, waits (declined or not)."""
    return not high_risk or by_prescriber or programmed or signed


def prints_settings(state: OrderState, *, programmed: bool) -> bool:
    """Whether a sheet may print the pump settings of an order in ``state``: never for one
    awaiting the prescriber's signature, nor for a declined order the pump never ran."""
    if state is OrderState.AWAITING_SIGNATURE:
        return False
    return not (state is OrderState.DECLINED and not programmed)


def overdue_limit(
    state: OrderState,
    *,
    cosign_hours: int,
    high_risk_hours: int,
) -> timedelta | None:
    """How long an order in ``state`` may wait for its signature (None: it waits for none)."""
    if state is OrderState.AWAITING_COSIGNATURE:
        return timedelta(hours=cosign_hours)
    if state in (OrderState.AWAITING_SIGNATURE, OrderState.UNSIGNED_HIGH_RISK):
        return timedelta(hours=high_risk_hours)
    return None


def is_overdue(
    state: OrderState,
    entered_at: datetime,
    now: datetime,
    *,
    cosign_hours: int,
    high_risk_hours: int,
) -> bool:
    """Whether the signature is overdue: the limit has passed once ``now`` is ``entered_at``
    plus the limit or later (exactly 48 h after an ordinary order is overdue)."""
    limit = overdue_limit(state, cosign_hours=cosign_hours, high_risk_hours=high_risk_hours)
    return limit is not None and now - entered_at >= limit


class IncidentKind(StrEnum):
    """What happened in the pump that broke a limit (domain-rules §4a)."""

    PROGRAMMED_OUTSIDE_LIMITS = "programmed_outside_limits"
    FILLED_EXPIRED_SOLUTION = "filled_expired_solution"
    #: A restart (domain-rules §3) that resumed a program the start checks would stop.
    RESUMED_WITHOUT_RESTART_ORDER = "resumed_without_restart_order"


INCIDENT_TEXT: dict[IncidentKind, str] = {
    IncidentKind.PROGRAMMED_OUTSIDE_LIMITS: "programmed outside limits",
    IncidentKind.FILLED_EXPIRED_SOLUTION: "filled with an expired solution",
    IncidentKind.RESUMED_WITHOUT_RESTART_ORDER: "restarted on the old program without a "
    "restart order",
}


#: The order states that need someone's attention, most pressing first.
_PRESSING: tuple[OrderState, ...] = (
    OrderState.DECLINED,
    OrderState.UNSIGNED_HIGH_RISK,
    OrderState.AWAITING_SIGNATURE,
    OrderState.AWAITING_COSIGNATURE,
)


def open_states(orders: Sequence[tuple[OrderState, bool]]) -> list[int]:
    """Which of a pump's ``orders`` (state and whether it counts for forecasts, in the order
    they were entered) still need attention, by index: every one awaiting a signature, and a
    declined one until a later order the pump runs replaces it (domain-rules §7)."""
    found = []
    for index, (state, _counts) in enumerate(orders):
        if state is OrderState.SIGNED:
            continue
        if state is OrderState.DECLINED and any(c for _s, c in orders[index + 1 :]):
            continue
        found.append(index)
    return found


def most_pressing(orders: Sequence[tuple[OrderState, bool]]) -> OrderState | None:
    """The most pressing state of :func:`open_states`, None when no order needs attention."""
    states = {orders[i][0] for i in open_states(orders)}
    return next((s for s in _PRESSING if s in states), None)


def pressing_rank(state: str) -> int:
    """Sort key of the co-signature list and the banner: declined, unsigned high-risk,
    awaiting the signature before programming, awaiting co-signature."""
    try:
        return _PRESSING.index(OrderState(state))
    except ValueError:
        return len(_PRESSING)
