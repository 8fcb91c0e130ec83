"""What a demo patient's life is made of: the regimen (drugs, dose, flex shape, boluses), the
pump and catheter, the planned events, the aspirated volumes, and the dates they fall on.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import TYPE_CHECKING, Literal

from pumpmgr.demo.words import (
    NOTES_LESS,
    NOTES_MORE,
)
from pumpmgr.refill import discrepancy_threshold
from pumpmgr.schedule import PatientBolus, Schedule, Step
from pumpmgr.services.inputs import (
    CatheterInput,
    PatientInput,
    SegmentInput,
)
from pumpmgr.units import CM, HOUR, MCG, MCG_PER_DAY, MCG_PER_HOUR, ML, ML_PER_CM, Q_

if TYPE_CHECKING:
    pass


Category = Literal["overdue", "week", "fine"]


@dataclass
class Regimen:
    """What the pump runs: drugs with concentrations (mcg/mL), the primary drug's daily dose
    (mcg/day), an optional flex shape and patient bolus, and how many boluses are used a day."""

    ingredients: tuple[tuple[str, float], ...]
    dose: float
    flex: tuple[tuple[time, float], ...] = ()  #: (start, relative rate)
    bolus: tuple[float, int, float] | None = None  #: (mcg, most a day, lockout hours)
    boluses_used: float = 0.0
    source: str = "pharmacy"
    lot_prefix: str = "PH"
    shelf_days: tuple[int, int] = (60, 120)
    #: the solution goes in as supplied (recorded at each refill; None: not asked, no
    #: ziconotide)
    undiluted: bool | None = None

    def schedule(self) -> Schedule:
        if not self.flex:
            return Schedule.simple(Q_(round(self.dose, 3), MCG_PER_DAY))
        minutes = [s.hour * 60 + s.minute for s, _ in self.flex] + [24 * 60]
        weight = sum(w * (minutes[i + 1] - minutes[i]) / 60 for i, (_, w) in enumerate(self.flex))
        base = self.dose / 24 / (weight / 24)  # mcg/h at relative rate 1
        return Schedule.flex(
            [Step(start, Q_(round(base * w, 2), MCG_PER_HOUR)) for start, w in self.flex]
        )

    def patient_bolus(self) -> PatientBolus | None:
        if self.bolus is None:
            return None
        amount, per_day, lockout = self.bolus
        return PatientBolus(Q_(amount, MCG), per_day, Q_(lockout, HOUR))

    @property
    def concentration(self) -> float:
        return self.ingredients[0][1]


def aspirate(
    rng: random.Random,
    regimen: Regimen,
    *,
    expected: float,
    final: float,
    days: float,
    capacity: float,
    kind: str | None,
) -> tuple[float, str]:
    """The volume a nurse draws back (mL, to 0.1) near the ``expected`` residual, and the note
    of a planned discrepancy (``kind`` "less_returned" or "more_returned"; else '').

    Shared with :mod:`bench.plan`, whose clinic must draw the same volumes from the same
    random numbers."""
    delivered = max(final - expected, 0.0)
    noise = max(-0.5, min(0.5, rng.gauss(0, min(0.2, 0.025 * max(delivered, 1.0)))))
    used = 0.0
    if regimen.bolus is not None and regimen.boluses_used:
        # Patient boluses come out of the reservoir but not out of the expected residual
        # (the services do not read the PTM log); kept small so that most refills are ok.
        used = min(regimen.bolus[0] * regimen.boluses_used * days / regimen.concentration, 0.3)
    aspirated = expected + noise - used
    note = ""
    if kind in ("less_returned", "more_returned"):
        threshold = float(discrepancy_threshold(Q_(capacity, ML)).m)  # domain-rules §4
        shift = threshold + rng.uniform(0.4, 1.4)
        aspirated = expected - shift if kind == "less_returned" else expected + shift
        note = rng.choice(NOTES_LESS if kind == "less_returned" else NOTES_MORE)
    return round(min(max(aspirated, 0.0), capacity), 1), note


@dataclass
class PumpPlan:
    model_key: str
    serial: str
    site: str
    capacity: str | None = None
    nominal_flow: str | None = None
    path_volume: float | None = None  #: mL, when the clinic has confirmed it
    replace_years: float | None = None  #: replace-by = implant + this, battery pumps
    fill: float | None = None  #: mL added at each refill (default: capacity)


@dataclass
class Event:
    when: date  #: not before this day
    kind: str
    done: bool = False
    value: float = 0.0


@dataclass
class Plan:
    index: int
    rng: random.Random
    patient: PatientInput
    pump: PumpPlan
    catheter: CatheterInput
    implanted_on: date
    registered_on: date
    regimen: Regimen
    category: Category
    offset: int  #: days overdue, or days until due
    events: list[Event] = field(default_factory=list)


def open_day(day: date) -> date:
    """The day itself, or the Friday before a weekend."""
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def years(n: float) -> timedelta:
    return timedelta(days=round(n * 365.25))


def serial_number(rng: random.Random, prefix: str) -> str:
    return f"{prefix}{rng.randint(100000, 999999)}"


def medtronic_catheter(rng: random.Random) -> CatheterInput:
    implanted = rng.choice((48, 52, 55, 58, 62))
    return CatheterInput(
        "custom",
        (
            SegmentInput(
                Q_(implanted, CM), Q_(rng.choice((12, 18, 22, 26)), CM), Q_(0.0022, ML_PER_CM)
            ),
        ),
        rng.choice(("T8", "T9", "T10", "T11")),
    )


def prometra_catheter(rng: random.Random) -> CatheterInput:
    trimmed = rng.choice((24, 28, 32, 36))
    return CatheterInput(
        "prometra-11823",
        (SegmentInput(Q_(110 - trimmed, CM), Q_(trimmed, CM), Q_(0.0026, ML_PER_CM)),),
        rng.choice(("T9", "T10", "T11")),
    )


def baclofen_regimen(concentration: float, dose: float, **extra: object) -> Regimen:
    brand = "Lioresal Intrathecal" if concentration < 2000 else "Gablofen"
    return Regimen(
        (("baclofen", concentration),),
        dose,
        source=f"manufacturer ({brand})",
        lot_prefix="BAC",
        shelf_days=(240, 540),
        **extra,  # type: ignore[arg-type]
    )


FLEX_DAY_NIGHT = ((time(0, 0), 0.8), (time(6, 0), 1.3), (time(22, 0), 0.8))
FLEX_MORNING = ((time(0, 0), 1.0), (time(5, 0), 1.6), (time(9, 0), 1.0))


def random_regimen(rng: random.Random, indication: str, prometra: bool) -> Regimen:
    """A typical regimen for ``indication`` (flex schedules only on pumps that run them)."""
    flex = FLEX_DAY_NIGHT if not prometra and rng.random() < 0.2 else ()
    regimen: Regimen
    if indication in ("spasticity_spinal", "spasticity_cerebral", "other"):
        dose = float(rng.randrange(80, 900, 10))
        concentration = 500.0 if dose < 200 else 1000.0 if dose < 450 else 2000.0
        regimen = baclofen_regimen(concentration, dose, flex=flex)
    elif indication == "non_cancer_pain":
        choice = rng.choice(("morphine", "morphine", "hydromorphone", "ziconotide"))
        if choice == "morphine":
            regimen = Regimen(
                (("morphine", rng.choice((10000.0, 25000.0))),),
                float(rng.randrange(1000, 6000, 250)),
                source="manufacturer (Infumorph)",
                lot_prefix="INF",
                shelf_days=(180, 365),
            )
        elif choice == "hydromorphone":
            regimen = Regimen(
                (("hydromorphone", rng.choice((2000.0, 5000.0, 10000.0))),),
                float(rng.randrange(500, 3000, 100)),
                source="hospital pharmacy (compounded)",
                lot_prefix="CMP",
                shelf_days=(45, 90),
            )
        else:
            regimen = Regimen(
                (("ziconotide", 25.0),),
                rng.choice((1.2, 2.4, 3.6)),
                source="manufacturer (Prialt)",
                lot_prefix="PRI",
                shelf_days=(180, 365),
                undiluted=True,
            )
        if choice != "ziconotide" and rng.random() < 0.3:
            regimen.bolus = (regimen.dose / 20, 4, 3.0)
            regimen.boluses_used = 1.0
    else:
        partner = rng.choice((("clonidine", 150.0), ("bupivacaine", 10000.0)))
        regimen = Regimen(
            (("morphine", 10000.0), partner),
            float(rng.randrange(2000, 6000, 500)),
            bolus=(200.0, 4, 2.0),
            boluses_used=1.0,
            source="hospital pharmacy (compounded)",
            lot_prefix="CMP",
            shelf_days=(45, 90),
        )
    return regimen


# The six patients every demo starts with (so a small demo has everything the issue lists).
