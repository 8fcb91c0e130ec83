"""Refill arithmetic: expected residual, the discrepancy verdict, the refill plan, measured flow,
and the programmer's own figures against pumpmgr's forecast.

Pure layer: stdlib and pint (through :mod:`pumpmgr.units`) only. Formulas of domain-rules
section 4 and section 5 (measured flow); worked examples in domain.md section 6, examples 1, 2
and 9. The residuals are :mod:`pumpmgr.since_fill`'s walk on canonical floats, the stored
forecast's own; here they take and give quantities (:func:`since_fill` converts once).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from pumpmgr.errors import Code, ImpossibleInput
from pumpmgr.schedule import Program
from pumpmgr.since_fill import SinceFill
from pumpmgr.units import (
    ML,
    ML_PER_DAY,
    Q_,
    Kind,
    Quantity,
    exceeds,
    require,
    require_not_negative,
    require_positive,
    to_canonical,
)

#: Absolute discrepancy thresholds: > 1 mL in pumps of 20 mL or less, > 2 mL in larger ones
#: ([S37] Maino 2017; [S38] flags > 2 mL).
SMALL_RESERVOIR_ML = 20.0
SMALL_RESERVOIR_THRESHOLD_ML = 1.0
LARGE_RESERVOIR_THRESHOLD_ML = 2.0

#: The programmer's figures after the update may differ from pumpmgr's forecast of the same
#: fill by this much before they are flagged (issue 5): the reservoir volume by 0.1 mL, the
#: low-reservoir alarm date by a day, the daily volume by 2 % (display rounding of the lowest
#: SynchroMed rate, 0.048 mL/day, stays well inside it). The wizard's live check
#: (``ui/wizards/refill_checks.py``) judges with :func:`compare_programmer` too.
PROGRAMMER_RESERVOIR_TOLERANCE_ML = 0.1
PROGRAMMER_ALARM_TOLERANCE_DAYS = 1
PROGRAMMER_DAILY_VOLUME_TOLERANCE = 0.02

#: Aspirated at or below this is "found empty": clinic policy, 0.5 mL by default (domain-rules
#: section 4), a clinic setting.
DEFAULT_EMPTY_THRESHOLD_ML = 0.5
#: Below this |Δ| a delivery error beyond the accuracy is the syringe's reading error, not the
#: pump's (clinic policy, domain-rules section 4).
SYRINGE_READING_ML = 0.5
#: The words shown with an aspirate the reservoir cannot have held (domain-rules section 4).
NOT_FROM_RESERVOIR = "this cannot have come from the reservoir: check the needle position"
ABOVE_PREVIOUS_FILL = (
    "more came back than the previous fill put in: the previous record or this one is wrong"
)

#: Worst first: found empty ranks above investigate.
Verdict = Literal["ok", "investigate", "found_empty"]
Direction = Literal["less_returned", "more_returned", "as_expected"]
#: Each verdict in words (the sheets, the note, the export): never the stored code.
VERDICT_WORDS: dict[str, str] = {
    "ok": "ok",
    "investigate": "investigate",
    "found_empty": "found empty",
}


@dataclass(frozen=True)
class ProgramPeriod:
    """``program`` ran from ``starts_at`` until the next period (or the time asked about)."""

    starts_at: datetime
    program: Program


@dataclass(frozen=True)
class Residual:
    elapsed_days: float
    infused: Quantity  #: volume the program delivered from the reservoir (mL)
    extra_volume: Quantity  #: boluses, bridge and priming volumes drawn besides (mL)
    expected_residual: Quantity  #: mL, never below 0 nor above the fill
    #: mL, not floored at 0: kept for Δ and e (domain-rules section 4); None: as shown
    unfloored: Quantity | None = None

    @property
    def unfloored_residual(self) -> Quantity:
        return self.expected_residual if self.unfloored is None else self.unfloored


def _check_order(earlier: datetime, later: datetime, field: str, what: str) -> None:
    try:
        backwards = later < earlier
    except TypeError:
        raise ImpossibleInput(
            f"{field}: give both times with a time zone, or both without",
            code=Code.BAD_DATE,
            field=field,
        ) from None
    if backwards:
        raise ImpossibleInput(
            f"{field}: {later:%Y-%m-%d %H:%M} is before {what} ({earlier:%Y-%m-%d %H:%M})",
            code=Code.TIME_ORDER,
            field=field,
        )


def since_fill(
    *,
    fill_volume: Quantity,
    filled_at: datetime,
    at: datetime,
    programs: Program | Sequence[ProgramPeriod],
    extra_volume: Quantity | None = None,
) -> SinceFill:
    """The fill and the programs that ran from it to ``at``, in canonical floats: the pint
    boundary of :class:`pumpmgr.since_fill.SinceFill`, converting once.

    ``programs`` is the program in force at the fill, or the periods of every program that ran
    (each from its start until the next); periods before the fill count from the fill. Refuses
    a fill volume not above 0, a negative extra volume, ``at`` before the fill and periods none
    of which was running at the fill.
    """
    require_positive(fill_volume, Kind.VOLUME, "fill volume")
    extra_ml = (
        0.0
        if extra_volume is None
        else float(require_not_negative(extra_volume, Kind.VOLUME, "extra volume").to(ML).m)
    )
    _check_order(filled_at, at, "at", "the fill")
    periods = (
        [ProgramPeriod(filled_at, programs)]
        if isinstance(programs, Program)
        else sorted(programs, key=lambda p: p.starts_at)
    )
    if not periods or periods[0].starts_at > filled_at:
        raise ImpossibleInput(
            "programs: no program was running at the fill; give the one in force then",
            code=Code.TIME_ORDER,
            field="programs",
        )
    return SinceFill(
        filled_at,
        float(fill_volume.to(ML).m),
        extra_ml,
        tuple((p.starts_at, p.program.rates()) for p in periods),
    )


def expected_residual(
    *,
    fill_volume: Quantity,
    filled_at: datetime,
    at: datetime,
    programs: Program | Sequence[ProgramPeriod],
    extra_volume: Quantity | None = None,
) -> Residual:
    """``V_exp = Vfill − ∫ Vd dt − extra volumes``, piecewise over program changes, never < 0
    (:meth:`pumpmgr.since_fill.SinceFill.expected_ml`; the arguments and refusals are
    :func:`since_fill`'s). Flex schedules are integrated by time of day on the pump's clock.
    """
    since = since_fill(
        fill_volume=fill_volume,
        filled_at=filled_at,
        at=at,
        programs=programs,
        extra_volume=extra_volume,
    )
    unfloored = since.expected_ml(at)
    return Residual(
        elapsed_days=(at - filled_at).total_seconds() / 86400,
        infused=Q_(since.delivered_ml(at), ML),
        extra_volume=Q_(since.extra_ml, ML),
        expected_residual=Q_(max(0.0, unfloored), ML),
        unfloored=Q_(unfloored, ML),
    )


def worst_case_residual(
    *,
    fill_volume: Quantity,
    filled_at: datetime,
    at: datetime,
    programs: Program | Sequence[ProgramPeriod],
    accuracy_percent: float,
    extra_volume: Quantity | None = None,
) -> Quantity:
    """``Vfill − (1 + a) × ∫ D_max/C ds − extra volumes`` from the fill to ``at`` through every
    program change (domain-rules section 3): every allowed patient bolus taken and the pump
    running ``a`` percent fast. Not floored: below 0, the pump may have run dry
    (:meth:`pumpmgr.since_fill.SinceFill.worst_ml`; the arguments and refusals are
    :func:`since_fill`'s)."""
    since = since_fill(
        fill_volume=fill_volume,
        filled_at=filled_at,
        at=at,
        programs=programs,
        extra_volume=extra_volume,
    )
    return Q_(since.worst_ml(at, 1 + accuracy_percent / 100), ML)


@dataclass(frozen=True)
class Discrepancy:
    difference: Quantity  #: Δ = V_exp − V_act (mL), V_exp unfloored; positive: less came back
    delivery_error: float | None  #: e as a fraction; None when nothing was due to be delivered
    threshold: Quantity  #: the absolute threshold for this reservoir (mL)
    accuracy_percent: float | None
    verdict: Verdict
    direction: Direction
    #: what must be said beside the verdict (an aspirate the reservoir cannot have held...)
    warnings: tuple[str, ...] = ()

    @property
    def delivery_error_percent(self) -> float | None:
        return None if self.delivery_error is None else self.delivery_error * 100

    @property
    def meaning(self) -> str:
        """What the direction may mean, in the clinic's words (domain-rules section 4)."""
        if self.verdict == "found_empty":
            return (
                "The reservoir was found empty: ask for the patient's condition (withdrawal, "
                "lost opioid tolerance); the next dose is a restart, checked as a start."
            )
        if self.verdict == "ok":  # never beside words that suggest a problem (section 4)
            return "Within the threshold: the aspirated volume agrees with the expected residual."
        if self.direction == "less_returned":
            return (
                "Less came back than expected: possible over-infusion (overdose signs; the "
                "pump may run dry early), an earlier pocket fill, withdrawal from the pump, "
                "or incomplete aspiration."
            )
        if self.direction == "more_returned":
            return (
                "More came back than expected: possible under-delivery (motor stall, "
                "catheter problem, stopped pump); watch for withdrawal."
            )
        return "The aspirated volume matches the expected residual."


def restart_reasons(
    verdict: str | None, *, pump_log_empty_or_stopped: bool = False, withdrawal_signs: bool = False
) -> tuple[str, ...]:
    """Why this refill is a restart, in the clinic's words; empty when it is not one
    (domain-rules §3): the reservoir found empty, the pump log showing an empty-reservoir
    alarm or a stop, or the patient showing withdrawal. The next dose is then checked as a
    start (§6)."""
    reasons = []
    if verdict == "found_empty":
        reasons.append("the reservoir was found empty")
    if pump_log_empty_or_stopped:
        reasons.append("the pump log shows an empty-reservoir alarm or a stop")
    if withdrawal_signs:
        reasons.append("the patient shows withdrawal")
    return tuple(reasons)


def discrepancy_threshold(reservoir_capacity: Quantity) -> Quantity:
    """1 mL for reservoirs of 20 mL or less, 2 mL for larger ones [S37]."""
    capacity_ml = float(
        require_positive(reservoir_capacity, Kind.VOLUME, "reservoir capacity").to(ML).m
    )
    small = not exceeds(capacity_ml, SMALL_RESERVOIR_ML)
    return Q_(SMALL_RESERVOIR_THRESHOLD_ML if small else LARGE_RESERVOIR_THRESHOLD_ML, ML)


def _require_within_capacity(field: str, volume_ml: float, capacity_ml: float) -> None:
    """Refuse a volume the reservoir cannot hold (within the rounding tolerance)."""
    if exceeds(volume_ml, capacity_ml):
        raise ImpossibleInput(
            f"{field}: {volume_ml:g} mL is more than the reservoir holds ({capacity_ml:g} mL)",
            code=Code.OVER_CAPACITY,
            field=field,
        )


def measured_error_percent(
    *, fill_volume: Quantity, expected: Quantity, actual: Quantity
) -> float | None:
    """``e`` in percent: ``((Vfill − V_act) − (Vfill − V_exp)) / (Vfill − V_exp)``, with
    ``V_exp`` unfloored; None when nothing was due to be delivered."""
    require_positive(fill_volume, Kind.VOLUME, "fill volume")
    require(expected, Kind.VOLUME, "expected")
    require_not_negative(actual, Kind.VOLUME, "actual")
    fill_ml, exp_ml, act_ml = (float(q.to(ML).m) for q in (fill_volume, expected, actual))
    due = fill_ml - exp_ml
    return None if due <= 0 else ((fill_ml - act_ml) - due) / due * 100


def worst_case_error_percent(
    previous_fill_ml: float, expected_ml: float, aspirated_ml: float
) -> float | None:
    """The delivery error ``e`` (percent) measured at a refill, as the worst case counts it
    (domain-rules §3): None when less than a syringe's reading error (0.5 mL, clinic policy)
    was due to be delivered or separates the expected from the aspirated residual, for then
    the ratio measures the syringe, not the pump. ``expected_ml`` is the unfloored residual."""
    due = previous_fill_ml - expected_ml
    if due < SYRINGE_READING_ML or abs(expected_ml - aspirated_ml) < SYRINGE_READING_ML:
        return None
    return (expected_ml - aspirated_ml) / due * 100


def discrepancy(
    *,
    fill_volume: Quantity,
    expected: Quantity,
    actual: Quantity,
    reservoir_capacity: Quantity,
    accuracy_percent: float | None = None,
    empty_threshold: Quantity | None = None,
    note: str = "",
) -> Discrepancy:
    """The verdict on an aspirated residual (domain-rules section 4), worst first:

    - ``found_empty`` when the aspirate is at or below the clinic's empty threshold (0.5 mL by
      default) or the unfloored ``expected`` is at or below 0;
    - ``investigate`` when ``|Δ|`` is above the reservoir's threshold, or ``|e|`` above the
      pump's accuracy (when one is given) with ``|Δ|`` at least 0.5 mL; and always for an
      aspirate above the reservoir's capacity or above the previous fill, which ``note`` must
      then explain;
    - ``ok`` otherwise.

    ``expected`` is the unfloored expected residual: it may be below 0.
    """
    require_positive(fill_volume, Kind.VOLUME, "fill volume")
    require(expected, Kind.VOLUME, "expected")
    require_not_negative(actual, Kind.VOLUME, "actual")
    threshold = discrepancy_threshold(reservoir_capacity)
    empty_ml = (
        DEFAULT_EMPTY_THRESHOLD_ML
        if empty_threshold is None
        else float(require_not_negative(empty_threshold, Kind.VOLUME, "empty threshold").to(ML).m)
    )
    fill_ml, exp_ml, act_ml = (float(q.to(ML).m) for q in (fill_volume, expected, actual))
    capacity_ml = float(reservoir_capacity.to(ML).m)
    _require_within_capacity("fill volume", fill_ml, capacity_ml)
    if exceeds(exp_ml, fill_ml):
        raise ImpossibleInput(
            f"expected: {exp_ml:g} mL is more than was filled ({fill_ml:g} mL)",
            code=Code.OUT_OF_RANGE,
            field="expected",
        )
    warnings: list[str] = []
    if exceeds(act_ml, capacity_ml):
        warnings.append(NOT_FROM_RESERVOIR)
    elif exceeds(act_ml, fill_ml):
        warnings.append(ABOVE_PREVIOUS_FILL)
    if warnings and not note.strip():
        raise ImpossibleInput(
            f"note: {act_ml:g} mL aspirated is more than "
            + (
                f"the reservoir holds ({capacity_ml:g} mL)"
                if exceeds(act_ml, capacity_ml)
                else f"the previous fill put in ({fill_ml:g} mL)"
            )
            + "; it is recorded only with a note saying what was found",
            code=Code.OVER_CAPACITY if exceeds(act_ml, capacity_ml) else Code.OUT_OF_RANGE,
            field="note",
        )
    if accuracy_percent is not None and (
        not math.isfinite(accuracy_percent) or not 0 <= accuracy_percent < 100
    ):
        raise ImpossibleInput(
            "accuracy: give the labelled accuracy as a percentage from 0 to below 100, "
            "for example 14.5",
            code=Code.OUT_OF_RANGE,
            field="accuracy",
        )
    delta = exp_ml - act_ml
    expected_delivered = fill_ml - exp_ml
    error = (
        None
        if expected_delivered <= 0
        else ((fill_ml - act_ml) - expected_delivered) / (expected_delivered)
    )
    investigate = (
        bool(warnings)
        or exceeds(abs(delta), float(threshold.m))
        or (
            accuracy_percent is not None
            and error is not None
            and exceeds(abs(error) * 100, accuracy_percent)
            and not exceeds(SYRINGE_READING_ML, abs(delta))
        )
    )
    found_empty = not exceeds(act_ml, empty_ml) or exp_ml <= 0
    if math.isclose(delta, 0.0, abs_tol=1e-9):
        direction: Direction = "as_expected"
    else:
        direction = "less_returned" if delta > 0 else "more_returned"
    verdict: Verdict = "found_empty" if found_empty else ("investigate" if investigate else "ok")
    return Discrepancy(
        difference=Q_(delta, ML),
        delivery_error=error,
        threshold=threshold,
        accuracy_percent=accuracy_percent,
        verdict=verdict,
        direction=direction,
        warnings=tuple(warnings),
    )


@dataclass(frozen=True)
class RefillPlan:
    aspirated: Quantity  #: old solution drawn back and discarded (mL)
    volume_to_add: Quantity  #: new solution injected into the emptied reservoir (mL)
    final_volume: Quantity  #: reservoir volume after the refill (mL)
    waste: Quantity  #: discarded: the aspirate plus prepared solution not used (mL)


def plan_refill(
    *,
    reservoir_capacity: Quantity,
    aspirated: Quantity,
    alarm_volume: Quantity,
    fill_volume: Quantity | None = None,
    prepared_volume: Quantity | None = None,
) -> RefillPlan:
    """Empty the reservoir, then fill it to ``fill_volume`` (default: its capacity).

    Refuses a fill above the capacity or not above the alarm volume, and prepared solution
    that does not cover the fill. The aspirate is taken as drawn, even above the capacity
    (:func:`discrepancy` then asks for a note).
    """
    capacity_ml = float(
        require_positive(reservoir_capacity, Kind.VOLUME, "reservoir capacity").to(ML).m
    )
    aspirated_ml = float(require_not_negative(aspirated, Kind.VOLUME, "aspirated").to(ML).m)
    alarm_ml = float(require_not_negative(alarm_volume, Kind.VOLUME, "alarm volume").to(ML).m)
    fill_ml = (
        capacity_ml
        if fill_volume is None
        else float(require_positive(fill_volume, Kind.VOLUME, "fill volume").to(ML).m)
    )
    # An aspirate above the capacity is recorded as drawn: the discrepancy verdict asks for
    # the note and says to check the needle position (domain-rules section 4).
    _require_within_capacity("fill volume", fill_ml, capacity_ml)
    if fill_ml <= alarm_ml:
        raise ImpossibleInput(
            f"fill volume: {fill_ml:g} mL is not above the low-reservoir alarm volume "
            f"({alarm_ml:g} mL)",
            code=Code.FILL_NOT_ABOVE_ALARM,
            field="fill volume",
        )
    unused_ml = 0.0
    if prepared_volume is not None:
        prepared_ml = float(
            require_positive(prepared_volume, Kind.VOLUME, "prepared volume").to(ML).m
        )
        if exceeds(fill_ml, prepared_ml):
            raise ImpossibleInput(
                f"prepared volume: {prepared_ml:g} mL does not cover the {fill_ml:g} mL fill",
                code=Code.OUT_OF_RANGE,
                field="prepared volume",
            )
        unused_ml = max(0.0, prepared_ml - fill_ml)
    return RefillPlan(
        aspirated=Q_(aspirated_ml, ML),
        volume_to_add=Q_(fill_ml, ML),
        final_volume=Q_(fill_ml, ML),
        waste=Q_(aspirated_ml + unused_ml, ML),
    )


@dataclass(frozen=True)
class MeasuredFlow:
    flow: Quantity  #: (Vfill − V_act) / days, mL/day
    nominal: Quantity | None
    deviation: float | None  #: (measured − nominal) / nominal, as a fraction


def measured_flow(
    *,
    fill_volume: Quantity,
    aspirated: Quantity,
    filled_at: datetime,
    at: datetime,
    nominal_flow: Quantity | None = None,
) -> MeasuredFlow:
    """A constant-flow pump's real flow since its last fill (domain-rules section 5)."""
    require_positive(fill_volume, Kind.VOLUME, "fill volume")
    require_not_negative(aspirated, Kind.VOLUME, "aspirated")
    _check_order(filled_at, at, "at", "the fill")
    days = (at - filled_at).total_seconds() / 86400
    if days <= 0:
        raise ImpossibleInput(
            "at: the refill must come after the fill to measure a flow",
            code=Code.TIME_ORDER,
            field="at",
        )
    delivered = float((fill_volume - aspirated).to(ML).m)
    if delivered < 0:
        raise ImpossibleInput(
            "aspirated: more came back than was filled",
            code=Code.OUT_OF_RANGE,
            field="aspirated",
        )
    flow = Q_(delivered / days, ML_PER_DAY)
    if nominal_flow is None:
        return MeasuredFlow(flow, None, None)
    nominal = float(require_positive(nominal_flow, Kind.FLOW, "nominal flow").to(ML_PER_DAY).m)
    return MeasuredFlow(flow, nominal_flow, (float(flow.m) - nominal) / nominal)


@dataclass(frozen=True)
class ProgrammerComparison:
    """The programmer's three figures against pumpmgr's, each flagged when beyond its
    tolerance."""

    reservoir_differs: bool
    alarm_date_differs: bool
    daily_volume_differs: bool

    @property
    def differs(self) -> bool:
        return self.reservoir_differs or self.alarm_date_differs or self.daily_volume_differs

    @property
    def differing(self) -> tuple[str, ...]:
        """The names of the figures that differ, in the programmer's order."""
        flagged = (
            ("reservoir volume", self.reservoir_differs),
            ("alarm date", self.alarm_date_differs),
            ("daily volume", self.daily_volume_differs),
        )
        return tuple(name for name, differs in flagged if differs)


def compare_programmer(
    *,
    reservoir: Quantity,
    alarm_date: date,
    daily_volume: Quantity,
    our_reservoir: Quantity,
    our_alarm_date: date,
    our_daily_volume: Quantity,
) -> ProgrammerComparison:
    """The programmer's reservoir volume, alarm date and daily volume (as the nurse copied
    them after the update) against pumpmgr's final volume, forecast alarm date (the clinic's
    calendar date) and program's daily volume for the same fill. A guard against programming
    slips and programmer defects: the pump's programmer computes its alarm date from the
    programmed rate, pumpmgr from its own record (domain.md section 1, SynchroMed alarm)."""
    theirs_ml = to_canonical(
        require_not_negative(reservoir, Kind.VOLUME, "programmer reservoir volume"), Kind.VOLUME
    )
    theirs_flow = to_canonical(
        require_not_negative(daily_volume, Kind.FLOW, "programmer daily volume"), Kind.FLOW
    )
    ours_ml = to_canonical(
        require_not_negative(our_reservoir, Kind.VOLUME, "final volume"), Kind.VOLUME
    )
    ours_flow = to_canonical(
        require_not_negative(our_daily_volume, Kind.FLOW, "daily volume"), Kind.FLOW
    )
    return ProgrammerComparison(
        reservoir_differs=exceeds(abs(theirs_ml - ours_ml), PROGRAMMER_RESERVOIR_TOLERANCE_ML),
        alarm_date_differs=abs((alarm_date - our_alarm_date).days)
        > PROGRAMMER_ALARM_TOLERANCE_DAYS,
        daily_volume_differs=exceeds(
            abs(theirs_flow - ours_flow), PROGRAMMER_DAILY_VOLUME_TOLERANCE * ours_flow
        ),
    )
