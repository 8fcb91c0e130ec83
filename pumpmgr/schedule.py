"""Dose schedules and pump programs: what a pump is set to deliver, as domain values.

Pure layer: stdlib and pint (through :mod:`pumpmgr.units`) only.

A simple continuous dose is a flex schedule with one step at 00:00, so every calculation sees
one shape. Steps run from their start until the next step's start; the last wraps past midnight
to the first (domain-rules section 2). SynchroMed II allows up to 13 steps a day [S3].
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import time

from pumpmgr.errors import Code, ImpossibleInput, InputError
from pumpmgr.stop_orders import STOP_ORDER_IN_WINDOW
from pumpmgr.units import (
    DAY,
    MCG,
    MCG_PER_DAY,
    MCG_PER_ML,
    ML_PER_DAY,
    Q_,
    Kind,
    Quantity,
    parse,
    require,
    require_positive,
)

#: SynchroMed II flex dosing allows up to 13 rates a day [S3].
MAX_STEPS = 13
_MINUTES_PER_DAY = 24 * 60


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


@dataclass(frozen=True)
class Step:
    """From ``start`` (local pump clock) until the next step starts, infuse at ``rate``."""

    start: time
    rate: Quantity  #: mass per time
    end: time | None = None  #: optional; when given it must meet the next step's start


@dataclass(frozen=True)
class ScheduledBolus:
    """A programmed bolus of ``amount`` given every day at ``at``."""

    at: time
    amount: Quantity  #: mass


@dataclass(frozen=True)
class PatientBolus:
    """Patient-activated bolus settings (myPTM, Prometra PTC)."""

    dose: Quantity  #: mass per bolus
    max_per_day: int
    lockout: Quantity | None = None  #: duration between boluses

    def __post_init__(self) -> None:
        require_positive(self.dose, Kind.MASS, "bolus dose")
        if isinstance(self.max_per_day, bool) or not isinstance(self.max_per_day, int):
            raise InputError(
                "boluses per day: must be a whole number, for example 4",
                code=Code.BAD_NUMBER,
                field="boluses per day",
            )
        if self.max_per_day < 0 or self.max_per_day > 96:
            raise ImpossibleInput(
                "boluses per day: must be between 0 and 96",
                code=Code.OUT_OF_RANGE,
                field="boluses per day",
            )
        if self.lockout is not None:
            require_positive(self.lockout, Kind.DURATION, "bolus lockout")

    @property
    def daily_maximum(self) -> Quantity:
        """Every allowed bolus taken: ``n × b`` as a dose rate."""
        return (self.dose * self.max_per_day / Q_(1, DAY)).to(MCG_PER_DAY)


@dataclass(frozen=True)
class Schedule:
    """One day's basal steps (sorted by start) and scheduled boluses; build with the factories."""

    steps: tuple[Step, ...]
    boluses: tuple[ScheduledBolus, ...] = ()

    @classmethod
    def simple(cls, dose: Quantity) -> Schedule:
        """A simple continuous schedule of ``dose`` (mass per time); never zero (stopping a
        drug is a Stop order, domain-rules §6)."""
        require(dose, Kind.DOSE_RATE, "dose")
        if dose.magnitude <= 0:
            raise InputError(
                f"dose: must be more than zero ({STOP_ORDER_IN_WINDOW})",
                code=Code.NOT_POSITIVE,
                field="dose",
            )
        return cls.flex([Step(time(0, 0), dose)])

    @classmethod
    def flex(cls, steps: Iterable[Step], boluses: Iterable[ScheduledBolus] = ()) -> Schedule:
        """A flex schedule; steps may come in any order. Refuses repeats, overlaps and gaps."""
        ordered = sorted(steps, key=lambda s: _minutes(s.start))
        if not ordered:
            raise ImpossibleInput(
                "step: a schedule needs at least one step", code=Code.SCHEDULE, field="step"
            )
        if len(ordered) > MAX_STEPS:
            raise ImpossibleInput(
                f"step: {len(ordered)} steps given; a day holds at most {MAX_STEPS}",
                code=Code.SCHEDULE,
                field="step",
            )
        for step in ordered:
            require_positive(step.rate, Kind.DOSE_RATE, "step")
        for earlier, later in itertools.pairwise(ordered):
            if earlier.start == later.start:
                raise ImpossibleInput(
                    f"step: two steps start at {earlier.start:%H:%M}",
                    code=Code.SCHEDULE,
                    field="step",
                )
        for index, step in enumerate(ordered):
            following = ordered[(index + 1) % len(ordered)]
            if step.end is not None and step.end != following.start:
                word = "overlaps" if _overlaps(step, following, len(ordered)) else "leaves a gap to"
                raise ImpossibleInput(
                    f"step: the step {step.start:%H:%M}-{step.end:%H:%M} {word} the step "
                    f"starting {following.start:%H:%M}",
                    code=Code.SCHEDULE,
                    field="step",
                )
        bolus_list = sorted(boluses, key=lambda b: _minutes(b.at))
        for bolus in bolus_list:
            require_positive(bolus.amount, Kind.MASS, "scheduled bolus")
        for earlier_bolus, later_bolus in itertools.pairwise(bolus_list):
            if earlier_bolus.at == later_bolus.at:
                raise ImpossibleInput(
                    f"scheduled bolus: two boluses at {earlier_bolus.at:%H:%M}",
                    code=Code.SCHEDULE,
                    field="scheduled bolus",
                )
        return cls(tuple(ordered), tuple(bolus_list))

    @property
    def is_simple(self) -> bool:
        return len(self.steps) == 1 and not self.boluses

    def step_minutes(self) -> list[tuple[int, int, float]]:
        """Each step as (start minute, length in minutes, rate in mcg/day): canonical floats."""
        result = []
        for index, step in enumerate(self.steps):
            start = _minutes(step.start)
            nxt = _minutes(self.steps[(index + 1) % len(self.steps)].start)
            length = (nxt - start) % _MINUTES_PER_DAY or _MINUTES_PER_DAY
            result.append((start, length, float(step.rate.to(MCG_PER_DAY).m)))
        return result

    def daily_dose(self) -> Quantity:
        """``D = Σ rate_i × duration_i + Σ bolus_j`` (domain-rules section 2), in mcg/day."""
        basal = sum(rate * length / _MINUTES_PER_DAY for _, length, rate in self.step_minutes())
        boluses = sum(float(b.amount.to(MCG).m) for b in self.boluses)
        return Q_(basal + boluses, MCG_PER_DAY)


@dataclass(frozen=True)
class ProgramRates:
    """A program in canonical floats (:meth:`Program.rates`): what the walk since a fill
    integrates (:class:`pumpmgr.since_fill.SinceFill`), with no pint, for the forecast of every
    pump. The daily dose is :meth:`Schedule.daily_dose`'s sum, in the same order.
    """

    steps: tuple[tuple[int, int, float], ...]  #: start minute, minutes, mcg/day
    boluses: tuple[tuple[int, float], ...]  #: scheduled: minute of day, mcg
    daily_dose: float  #: mcg/day, basal and scheduled boluses
    concentration: float  #: mcg/mL of the dosed drug
    daily_ml: float  #: mL/day
    max_daily_ml: float  #: mL/day, every allowed patient bolus taken

    @classmethod
    def make(
        cls,
        steps: Sequence[tuple[int, int, float]],
        boluses: Sequence[tuple[int, float]],
        concentration: float,
        patient_bolus_mcg_per_day: float,
    ) -> ProgramRates:
        """From the steps (:meth:`Schedule.step_minutes`), the scheduled boluses, mcg/mL and
        the most the patient boluses give a day (mcg/day)."""
        basal = sum(rate * length / _MINUTES_PER_DAY for _, length, rate in steps)
        daily_dose = basal + sum(amount for _, amount in boluses)
        return cls(
            tuple(steps),
            tuple(boluses),
            daily_dose,
            concentration,
            daily_dose / concentration,
            (daily_dose + patient_bolus_mcg_per_day) / concentration,
        )

    def delivered_mass_mcg(self, start_minute_of_day: float, minutes: float) -> float:
        """Mass (mcg) the schedule delivers over ``minutes`` from a time of day (pump clock).

        Integrates the steps exactly and counts each scheduled bolus whose time falls inside
        the half-open interval.
        """
        if minutes <= 0:
            return 0.0
        whole_days, rest = divmod(minutes, _MINUTES_PER_DAY)
        total = whole_days * self.daily_dose
        position = start_minute_of_day % _MINUTES_PER_DAY
        end = position + rest
        for start, length, rate in self.steps:
            for shift in (-_MINUTES_PER_DAY, 0, _MINUTES_PER_DAY):  # steps may wrap midnight
                overlap = min(start + length + shift, end) - max(start + shift, position)
                if overlap > 0:
                    total += rate * overlap / _MINUTES_PER_DAY
        for at, amount in self.boluses:
            for candidate in (at, at + _MINUTES_PER_DAY):
                if position <= candidate < end:
                    total += amount
        return total


def _overlaps(step: Step, following: Step, count: int) -> bool:
    assert step.end is not None
    start, end, nxt = _minutes(step.start), _minutes(step.end), _minutes(following.start)
    length = (end - start) % _MINUTES_PER_DAY or _MINUTES_PER_DAY
    room = (nxt - start) % _MINUTES_PER_DAY or _MINUTES_PER_DAY
    return length > room or count == 1


@dataclass(frozen=True)
class Program:
    """What the pump is programmed with: a solution concentration, a schedule, patient boluses.

    For an admixture ``concentration`` is the concentration of the drug the schedule is written
    in (the first ingredient); the other drugs follow the same volume rate.
    """

    concentration: Quantity  #: mass per volume
    schedule: Schedule
    patient_bolus: PatientBolus | None = None

    def __post_init__(self) -> None:
        require_positive(self.concentration, Kind.CONCENTRATION, "concentration")

    def daily_dose(self) -> Quantity:
        """Basal plus scheduled boluses, mcg/day."""
        return self.schedule.daily_dose()

    def max_daily_dose(self) -> Quantity:
        """``D_max = D + n × b``: every allowed patient bolus taken (domain-rules section 2)."""
        dose = self.daily_dose()
        if self.patient_bolus is None:
            return dose
        return (dose + self.patient_bolus.daily_maximum).to(MCG_PER_DAY)

    def daily_volume(self) -> Quantity:
        """``Vd = D / C`` in mL/day."""
        return (self.daily_dose() / self.concentration).to(ML_PER_DAY)

    def max_daily_volume(self) -> Quantity:
        """``D_max / C`` in mL/day."""
        return (self.max_daily_dose() / self.concentration).to(ML_PER_DAY)

    def rates(self) -> ProgramRates:
        """The program's canonical floats (pint stops here)."""
        bolus = self.patient_bolus
        return ProgramRates.make(
            self.schedule.step_minutes(),
            [(_minutes(b.at), float(b.amount.to(MCG).m)) for b in self.schedule.boluses],
            float(self.concentration.to(MCG_PER_ML).m),
            0.0 if bolus is None else float(bolus.dose.to(MCG).m) * bolus.max_per_day,
        )


def constant_flow_program(flow: Quantity, concentration: Quantity) -> Program:
    """A constant-flow pump's program: its fixed flow of a solution, as a simple schedule."""
    require_positive(flow, Kind.FLOW, "flow")
    require_positive(concentration, Kind.CONCENTRATION, "concentration")
    return Program(concentration, Schedule.simple((flow * concentration).to(MCG_PER_DAY)))


_TIME_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


def parse_time(text: str, field: str) -> time:
    """``HH:MM`` on a 24-hour clock."""
    match = _TIME_RE.match(text)
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise InputError(
            f"{field}: '{text}' is not a time of day; write HH:MM on a 24-hour clock, "
            "for example '06:30'",
            code=Code.BAD_TIME,
            field=field,
        )
    return time(int(match[1]), int(match[2]))


def parse_step(text: str, field: str = "step") -> Step:
    """``"HH:MM RATE"`` or ``"HH:MM-HH:MM RATE"``, for example ``"06:00 30 mcg/h"``."""
    match = re.match(r"^\s*(\S+?)(?:\s*-\s*(\d{1,2}:\d{2}))?\s+(.+)$", text)
    if match is None:
        raise InputError(
            f"{field}: '{text}' should be a start time and a rate, for example '06:00 30 mcg/h'",
            code=Code.SCHEDULE,
            field=field,
        )
    start = parse_time(match[1], field)
    end = parse_time(match[2], field) if match[2] else None
    return Step(start, parse(match[3], Kind.DOSE_RATE, field), end)


def parse_scheduled_bolus(text: str, field: str = "scheduled bolus") -> ScheduledBolus:
    """``"HH:MM AMOUNT"``, for example ``"07:00 50 mcg"``."""
    parts = text.strip().split(None, 1)
    if len(parts) != 2:
        raise InputError(
            f"{field}: '{text}' should be a time and an amount, for example '07:00 50 mcg'",
            code=Code.SCHEDULE,
            field=field,
        )
    return ScheduledBolus(parse_time(parts[0], field), parse(parts[1], Kind.MASS, field))


def schedule_from_text(steps: Sequence[str], boluses: Sequence[str] = ()) -> Schedule:
    """A flex schedule from the command line's ``--step`` and ``--scheduled-bolus`` texts."""
    return Schedule.flex(
        [parse_step(s) for s in steps], [parse_scheduled_bolus(b) for b in boluses]
    )
