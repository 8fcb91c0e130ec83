"""Patient-activated boluses taken since the last fill, as the pump's programmer counts them.

Pure layer: stdlib and pint (through :mod:`pumpmgr.units`) only. They leave the reservoir
besides the program, so the expected residual subtracts them (domain-rules §4:
``V_exp = Vfill − ∫ Vd dt − boluses and other volumes delivered``); without them a patient who
took many boluses seems to have been over-infused.

Each bolus is counted at the volume of the bolus in force at the visit (the newest program since
the fill with a patient bolus): the programmer reports one count, not one per program, and the
bolus in force is the one the patient has been taking most recently.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pumpmgr.errors import Code, ImpossibleInput
from pumpmgr.formatting import format_product
from pumpmgr.refill import ProgramPeriod, Residual, expected_residual
from pumpmgr.schedule import PatientBolus
from pumpmgr.since_fill import ran
from pumpmgr.units import DAY, ML, Q_, Kind, Quantity, require_positive

FIELD = "patient boluses"
#: The wording of the count wherever it is entered or shown.
LABEL = "patient boluses given since the last fill (programmer)"
#: Said when the count is not given: the expected residual then counts none of them.
NOT_COUNTED = (
    "patient boluses since the last fill were not entered, so none are counted: "
    "the expected residual may be too high (read the count from the programmer)"
)
#: Below a millionth of a day a period is rounding, not a day of boluses.
_DAY_TOLERANCE = 1e-6


@dataclass(frozen=True)
class BolusesTaken:
    """The count the programmer reports, each bolus's volume and the most that were possible."""

    count: int
    volume_each: Quantity  #: the bolus dose over the solution's concentration, mL
    allowed: int  #: the most the lockout and the maximum per day allow over the interval

    @property
    def volume(self) -> Quantity:
        return (self.volume_each * self.count).to(ML)

    def text(self) -> str:
        """'3 × 0.01 mL = 0.03 mL': each bolus with the decimals the product needs to add up."""
        return format_product(self.count, self.volume_each)


@dataclass(frozen=True)
class BolusPeriod:
    """The patient bolus in force from ``starts_at`` (None: the program has none) and the
    concentration of the solution it draws: all the count needs of a program (the calculator
    knows no schedule)."""

    starts_at: datetime
    bolus: PatientBolus | None
    concentration: Quantity


#: The programs since the fill, as the visit has them or as the calculator does.
Periods = Sequence[ProgramPeriod | BolusPeriod]


def _bolus_period(period: ProgramPeriod | BolusPeriod) -> BolusPeriod:
    if isinstance(period, BolusPeriod):
        return period
    program = period.program
    return BolusPeriod(period.starts_at, program.patient_bolus, program.concentration)


def _running(
    periods: Periods, filled_at: datetime, at: datetime
) -> list[tuple[BolusPeriod, float]]:
    """Each program that ran between the fill and ``at``, with how many days it ran."""
    ordered = sorted(((p.starts_at, _bolus_period(p)) for p in periods), key=lambda p: p[0])
    return [(period, seconds / 86400) for period, _, seconds in ran(ordered, filled_at, at)]


def asked(periods: Periods, filled_at: datetime, at: datetime) -> bool:
    """Whether a program since the fill had a patient bolus (else the count is not asked)."""
    return any(p.bolus is not None for p, _ in _running(periods, filled_at, at))


def allowed_boluses(periods: Periods, filled_at: datetime, at: datetime) -> int:
    """The most patient boluses the programs since the fill allow: for each program, the
    fewer of its maximum per day for every 24 hours begun and one bolus at the start and after
    each lockout (a program without a patient bolus allows none)."""
    total = 0
    for period, days in _running(periods, filled_at, at):
        bolus = period.bolus
        if bolus is None:
            continue
        most = bolus.max_per_day * math.ceil(days - _DAY_TOLERANCE)
        if bolus.lockout is not None:
            lockout_days = float(bolus.lockout.to(DAY).m)
            most = min(most, math.floor(days / lockout_days + _DAY_TOLERANCE) + 1)
        total += most
    return total


def boluses_taken(count: int, periods: Periods, filled_at: datetime, at: datetime) -> BolusesTaken:
    """The programmer's count as volume drawn from the reservoir; a count above what the
    programs allow over the interval is refused (a misread count, not a fact to record)."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ImpossibleInput(
            f"{FIELD}: give the number the programmer shows, 0 or more",
            code=Code.BAD_NUMBER,
            field=FIELD,
        )
    with_bolus = [p for p, _ in _running(periods, filled_at, at) if p.bolus is not None]
    allowed = allowed_boluses(periods, filled_at, at)
    if count > allowed:
        why = (
            "the program since the last fill has no patient bolus"
            if not with_bolus
            else f"the lockout and the maximum per day allow at most {allowed} since the last fill"
        )
        raise ImpossibleInput(
            f"{FIELD}: {count} is more than possible ({why}); read the "
            "count again from the programmer",
            code=Code.OUT_OF_RANGE,
            field=FIELD,
        )
    if not with_bolus:
        return BolusesTaken(0, Q_(0.0, ML), 0)
    in_force = with_bolus[-1]
    assert in_force.bolus is not None
    return BolusesTaken(count, bolus_volume(in_force.bolus.dose, in_force.concentration), allowed)


def bolus_volume(dose: Quantity, concentration: Quantity) -> Quantity:
    """One bolus's volume: its dose over the concentration of the solution in the pump, mL."""
    require_positive(dose, Kind.MASS, "bolus dose")
    require_positive(concentration, Kind.CONCENTRATION, "concentration")
    return (dose / concentration).to(ML)


@dataclass(frozen=True)
class ExpectedResidual:
    """The expected residual and the two volumes it takes off besides the program."""

    residual: Residual  #: its ``extra_volume`` is the sum of the two below
    bridge_or_priming: Quantity  #: mL the last fill's bridge or priming bolus drew
    taken: BolusesTaken | None  #: the programmer's count; None: not entered
    asked: bool  #: a program since the fill had a patient bolus (the count is asked)


def expected_with_boluses(
    *,
    fill_volume: Quantity,
    filled_at: datetime,
    at: datetime,
    periods: Sequence[ProgramPeriod],
    bridge_or_priming: Quantity | None,
    count: int | None,
) -> ExpectedResidual:
    """``V_exp = Vfill − ∫ Vd dt − boluses and other volumes delivered`` (domain-rules §4): the
    last fill's bridge or priming bolus and the patient boluses the programmer counts
    (:func:`boluses_taken`, refused above what the programs allow) come off
    :func:`pumpmgr.refill.expected_residual`. ``count`` None counts no patient bolus."""
    taken = None if count is None else boluses_taken(count, periods, filled_at, at)
    bridge = Q_(0.0, ML) if bridge_or_priming is None else bridge_or_priming.to(ML)
    residual = expected_residual(
        fill_volume=fill_volume,
        filled_at=filled_at,
        at=at,
        programs=periods,
        extra_volume=bridge if taken is None else bridge + taken.volume,
    )
    return ExpectedResidual(residual, bridge, taken, asked(periods, filled_at, at))
