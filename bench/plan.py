"""The large clinic's plan: every patient's life as a list of service actions, in time order.

Benchmark support (not part of the program). Each patient's life is simulated on its own (so
the work can be shared between processes) with the same kinds of records the demo clinic has
(:mod:`pumpmgr.demo`): pumps of every kind including constant-flow pumps and
replacements at the end of battery life, catheters and their revisions, prescription versions
with flex schedules, patient boluses and admixtures, concentration changes with their bridge,
refills near each due date with aspirated volumes near the expected residual, discrepancies
with their notes, corrected refills, MRIs and explants.

Every clinical number is computed with the pure domain functions the services use
(:func:`pumpmgr.refill.expected_residual`, :func:`pumpmgr.refill.discrepancy`,
:func:`pumpmgr.dose_checks.check_admixture`, :func:`pumpmgr.services.forecasting.stability_days`),
on the canonical magnitudes the database would hold, so that :mod:`bench.writer` can write the
rows the services would write, and :mod:`bench.replay` can make the same calls through
:class:`~pumpmgr.services.ClinicService` to prove it. Only the choice of each next visit day uses
a float estimate of the refill-due date (the stored forecasts are computed exactly, by
:func:`pumpmgr.services.forecasting.compute`, when the rows are written).

The clinic "now" is fixed (:data:`ANCHOR`, a Monday morning in Berlin), so the same size and
seed always give the same records, and the benchmark runs the services on a clock standing
there.

Over 600 lines: one patient's simulated life (:class:`_Life`) steps through the same state the
service calls would change (its pumps, prescriptions and fills), and the specs and actions it emits
are the interface :mod:`bench.writer` and :mod:`bench.replay` read; the scenarios at the end are the
demo's, in the planner's terms.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Literal
from zoneinfo import ZoneInfo

from pumpmgr.catalogs import Catalogs, DrugLibrary
from pumpmgr.demo import plans, users, words
from pumpmgr.demo.plans import FLEX_DAY_NIGHT, Regimen, baclofen_regimen
from pumpmgr.dose_checks import DoseCheck, change_context, check_admixture, patient_context
from pumpmgr.dosing import admixture_doses
from pumpmgr.forecast import last_open_day
from pumpmgr.records import Ingredient, PrescriptionRecord
from pumpmgr.refill import ProgramPeriod, discrepancy, expected_residual
from pumpmgr.schedule import PatientBolus, Program, Schedule, Step
from pumpmgr.services import forecasting, mapping
from pumpmgr.units import (
    HOUR,
    MCG,
    MCG_PER_DAY,
    MCG_PER_ML,
    ML,
    ML_PER_DAY,
    Q_,
    Kind,
    Quantity,
    as_unit,
    from_canonical,
    to_canonical,
)

#: Bump when the records written for a size and seed change (it keys the cached file).
GENERATOR_VERSION = 3
TZ = ZoneInfo("Europe/Berlin")
#: The built clinic's "now": Monday 20 October 2025, 09:00 in Berlin.
ANCHOR = datetime(2025, 10, 20, 9, 0, tzinfo=TZ)
TODAY = ANCHOR.date()
OPEN_DAYS = frozenset(range(5))
BUFFER_DAYS = 7
#: Patients due on or before :data:`TODAY` per 5,000 (the day's worksheets: about 60).
DUE_TODAY_PER_5000 = 50
OVERDUE_PER_5000 = 16
NURSES = ("nurse1", "nurse2")
PRESCRIBER = "prescriber"

Category = Literal["overdue", "today", "week", "fine"]


# ------------------------------------------------------------------------------ plan records


@dataclass(frozen=True, slots=True)
class StepSpec:
    start: time
    value: float  #: as typed
    unit: str  #: "mcg/day" or "mcg/h"
    canonical: float  #: mcg/day, as stored


@dataclass(frozen=True, slots=True)
class RxSpec:
    """One prescription version as typed, with its dose check (computed as the service does)."""

    ingredients: tuple[tuple[str, float], ...]  #: drug key, mcg/mL
    steps: tuple[StepSpec, ...]
    bolus: tuple[float, int, float] | None  #: mcg, most a day, lockout hours
    effective_at: datetime  #: aware, the clinic's zone
    prescriber: str
    reasons: tuple[tuple[str, str], ...]
    verdict: str
    findings: tuple[tuple[str, str, str], ...]  #: code, level, message
    revision: int
    #: The patient's first prescription here continues each drug's dose from before the record
    #: (drug key, mcg/day): the bench's patients come on their therapy (domain-rules §6).
    continued: tuple[tuple[str, float], ...] = ()

    def schedule(self) -> Schedule:
        return Schedule.flex([Step(s.start, Q_(s.value, as_unit(s.unit))) for s in self.steps])

    def patient_bolus(self) -> PatientBolus | None:
        if self.bolus is None:
            return None
        amount, per_day, lockout = self.bolus
        return PatientBolus(Q_(amount, MCG), per_day, Q_(lockout, HOUR))


@dataclass(frozen=True, slots=True)
class SegmentSpec:
    implanted_cm: float
    trimmed_cm: float
    ml_per_cm: float


@dataclass(frozen=True, slots=True)
class CatheterSpec:
    model_key: str
    segments: tuple[SegmentSpec, ...]
    tip_level: str

    @property
    def volume_ml(self) -> float:
        return sum(s.implanted_cm * s.ml_per_cm for s in self.segments)


@dataclass(frozen=True, slots=True)
class PumpSpec:
    model_key: str
    serial: str
    implanted_on: date
    site: str
    capacity: str | None  #: typed, e.g. "35 mL"; None: the catalog's
    nominal_flow: str | None
    path_volume: float | None  #: mL
    replace_by: date | None


@dataclass(frozen=True, slots=True)
class PatientSpec:
    mrn: str
    family_name: str
    given_name: str
    date_of_birth: date
    indication: str
    renal_impairment: bool
    contact_name: str
    contact_phone: str
    notes: str


@dataclass(slots=True)
class Action:
    """One service call: ``clock`` is the moment the clinic's clock shows when it is made."""

    clock: datetime
    patient: int  #: the patient's index
    order: int  #: its place in the patient's life


@dataclass(slots=True)
class Register(Action):
    user: str
    spec: PatientSpec


@dataclass(slots=True)
class Implant(Action):
    user: str
    pump: int  #: the pump's number in the patient's life
    spec: PumpSpec
    catheter: CatheterSpec


@dataclass(slots=True)
class Prescribe(Action):
    user: str
    verifier: str
    pump: int
    rx: int  #: the prescription's number in the patient's life
    spec: RxSpec


@dataclass(slots=True)
class Refill(Action):
    user: str
    verifier: str
    pump: int
    refill: int  #: the refill's number in the patient's life
    performed_at: datetime
    aspirated: float  #: mL as typed
    volume: float  #: mL added
    lot: str
    expiry: date
    source: str
    note: str
    bridge_ml: float | None
    new_rx: tuple[int, RxSpec] | None
    #: What the service computes: the expected residual (None for a first fill), the verdict,
    #: the prescription in force after the refill.
    expected: float | None
    verdict: str
    current_rx: int


@dataclass(slots=True)
class Correct(Action):
    user: str
    verifier: str
    pump: int
    refill: int  #: the refill corrected
    new: int  #: the correction's number
    lot: str
    reason: str


@dataclass(slots=True)
class Event(Action):
    user: str
    pump: int
    kind: Literal["mri", "eri"]
    occurred_at: datetime
    note: str
    post_mri_check_done: bool | None


@dataclass(slots=True)
class Revise(Action):
    user: str
    pump: int
    catheter: CatheterSpec
    revised_on: date
    note: str


@dataclass(slots=True)
class Replace(Action):
    user: str
    pump: int  #: the old pump
    new: int
    spec: PumpSpec
    catheter: CatheterSpec
    reason: str


@dataclass(slots=True)
class Explant(Action):
    user: str
    pump: int
    explanted_on: date
    reason: str


@dataclass(slots=True)
class Status(Action):
    user: str
    status: Literal["inactive", "deceased"]
    reason: str


@dataclass(frozen=True)
class ClinicPlan:
    """Every patient's actions merged in clock order (ties: patient index, then order)."""

    patients: int
    years: float
    seed: int
    first_day: date
    actions: list[Action]


# ------------------------------------------------------------------------------ helpers


def open_day(day: date) -> date:
    return last_open_day(day, OPEN_DAYS)


def at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, TZ)


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


@cache
def _catalogs() -> Catalogs:
    return mapping.default_catalogs()


def library() -> DrugLibrary:
    return _catalogs().drugs


@cache
def _step_canonical(value: float, unit: str) -> float:
    return to_canonical(Q_(value, as_unit(unit)), Kind.DOSE_RATE)


@cache
def _lockout_days(hours: float) -> float:
    return to_canonical(Q_(hours, HOUR), Kind.DURATION)


def _steps(regimen: Regimen) -> tuple[StepSpec, ...]:
    """The schedule steps of ``regimen`` with their canonical values, as the services store
    them (:meth:`pumpmgr.demo.plans.Regimen.schedule` without the quantities)."""
    if not regimen.flex:
        value = round(regimen.dose, 3)
        return (StepSpec(time(0, 0), value, "mcg/day", _step_canonical(value, "mcg/day")),)
    minutes = [s.hour * 60 + s.minute for s, _ in regimen.flex] + [24 * 60]
    weight = sum(w * (minutes[i + 1] - minutes[i]) / 60 for i, (_, w) in enumerate(regimen.flex))
    base = regimen.dose / 24 / (weight / 24)
    return tuple(
        StepSpec(start, round(base * w, 2), "mcg/h", _step_canonical(round(base * w, 2), "mcg/h"))
        for start, w in regimen.flex
    )


@dataclass
class _Rx:
    """A saved version: its plan record, the service's record of it and its program."""

    number: int
    spec: RxSpec
    record: PrescriptionRecord
    program: Program
    daily_ml: float
    max_daily_ml: float

    @property
    def effective(self) -> datetime:
        return self.record.effective_at


def _record(number: int, spec: RxSpec) -> _Rx:
    """The prescription as :func:`pumpmgr.services.mapping.prescription_record` reads it back
    (quantities from the stored canonical magnitudes)."""
    lib = library()
    ingredients = tuple(
        Ingredient(
            key,
            from_canonical(to_canonical(Q_(c, MCG_PER_ML), Kind.CONCENTRATION), Kind.CONCENTRATION),
            lib.drug(key).display_unit,
        )
        for key, c in spec.ingredients
    )
    schedule = Schedule.flex(
        [Step(s.start, from_canonical(s.canonical, Kind.DOSE_RATE)) for s in spec.steps]
    )
    bolus = None
    if spec.bolus is not None and spec.bolus[1] != 0:
        amount, per_day, hours = spec.bolus
        lockout = _lockout_days(hours)
        bolus = PatientBolus(
            from_canonical(to_canonical(Q_(amount, MCG), Kind.MASS), Kind.MASS),
            max(per_day, 1),
            None if not lockout else from_canonical(lockout, Kind.DURATION),
        )
    record = PrescriptionRecord(
        id=number,
        pump_id=0,
        ingredients=ingredients,
        schedule=schedule,
        patient_bolus=bolus,
        effective_at=utc(spec.effective_at),
        prescriber=spec.prescriber,
    )
    program = record.program
    return _Rx(
        number,
        spec,
        record,
        program,
        float(program.daily_volume().to(ML_PER_DAY).m),
        float(program.max_daily_volume().to(ML_PER_DAY).m),
    )


# ------------------------------------------------------------------------------ one life


@dataclass
class _Pump:
    number: int
    spec: PumpSpec
    capacity: float
    alarm: float
    accuracy: float | None
    catheter: CatheterSpec
    rx: list[_Rx] = field(default_factory=list)
    #: current refills: (performed, final mL, bolus mL)
    fills: list[tuple[datetime, float, float | None]] = field(default_factory=list)
    due: date = date.max
    interval: int = 60


@dataclass
class LifePlan:
    """One patient's plan (as the demo's ``Plan``), for a history of ``years``."""

    index: int
    rng: random.Random
    patient: PatientSpec
    pump: PumpSpec
    catheter: CatheterSpec
    regimen: Regimen
    category: Category
    goal: date  #: the due date the last refill aims at (overdue, today, week)
    start: date  #: the implant (or transfer) day
    events: list[tuple[date, str, float]]
    end: date | None = None  #: explant day (the patient leaves the clinic)
    fill: float | None = None  #: mL added at each refill (default: capacity)


class _Life:
    """Simulates one patient; :meth:`run` returns the patient's actions."""

    def __init__(self, plan: LifePlan, first_day: date) -> None:
        self.plan = plan
        self.rng = plan.rng
        self.first_day = first_day
        self.actions: list[Action] = []
        self.busy = at(first_day, time(0, 0))
        self.pumps: list[_Pump] = []
        self.rx_count = 0
        self.refill_count = 0
        self.dead_space: float | None = None
        self.events = sorted(plan.events)

    # -- recording

    def add(self, action: Action) -> None:
        self.actions.append(action)

    def moment(self, wanted: datetime) -> datetime:
        """``wanted``, or 20 minutes after the patient's last action if that is later."""
        moment = max(wanted, self.busy + timedelta(minutes=20))
        self.busy = moment
        return moment

    def base(self, moment: datetime) -> tuple[datetime, int, int]:
        return moment + timedelta(minutes=3), self.plan.index, len(self.actions)

    def visit(self, day: date) -> datetime:
        return at(day, time(self.rng.randint(8, 15), self.rng.choice((0, 15, 30, 45))))

    def nurses(self) -> tuple[str, str]:
        first, second = NURSES if self.rng.random() < 0.5 else NURSES[::-1]
        return first, second

    @property
    def pump(self) -> _Pump:
        return self.pumps[-1]

    # -- the run

    def run(self) -> list[Action]:
        plan = self.plan
        nurse, _ = self.nurses()
        registered = self.moment(at(plan.start, time(8, 0)))
        self.add(Register(*self.base(registered), user=nurse, spec=plan.patient))
        self.new_pump(plan.pump, plan.catheter, plan.start, replacing=None)
        events = self.events
        while True:
            pump = self.pump
            last = pump.fills[-1][0].astimezone(TZ).date()
            mid = open_day(last + timedelta(days=max(10, pump.interval // 3)))
            ending = plan.end is not None and last < plan.end < TODAY
            if ending and plan.end is not None and plan.end <= mid:
                self.explant(self.moment(self.visit(plan.end)))
                return self.actions
            pending = [e for e in events if e[0] <= mid and e[1] in _MID_EVENTS]
            if pending and last < mid < min(pump.due, TODAY):
                event = pending[0]
                events.remove(event)
                moment = self.moment(self.visit(mid))
                if event[1] == "replace":
                    self.replace(moment)
                else:
                    self.mid_event(event, moment)
                continue
            day = self.next_refill()
            if ending and plan.end is not None and (day is None or day >= plan.end):
                self.explant(self.moment(self.visit(plan.end)))
                return self.actions
            if day is None:
                return self.actions
            bound = [e for e in events if e[0] <= day and e[1] in _REFILL_EVENTS]
            event = bound[0] if bound else None
            if event is not None:
                events.remove(event)
            self.refill(self.moment(self.visit(day)), event)

    def new_pump(
        self, spec: PumpSpec, catheter: CatheterSpec, day: date, replacing: _Pump | None
    ) -> None:
        catalogs = _catalogs()
        model = catalogs.pump_model(spec.model_key)
        capacity = (
            float(Q_(spec.capacity).to(ML).m) if spec.capacity else float(model.capacity.to(ML).m)
        )
        alarm = float(model.alarm_volume.to(ML).m)
        pump = _Pump(len(self.pumps), spec, capacity, alarm, model.accuracy_percent, catheter)
        nurse, check = self.nurses()
        moment = self.moment(at(day, time(12, 0)))
        if replacing is None:
            self.add(
                Implant(
                    *self.base(moment), user=nurse, pump=pump.number, spec=spec, catheter=catheter
                )
            )
        else:
            self.add(
                Replace(
                    *self.base(moment),
                    user=nurse,
                    pump=replacing.number,
                    new=pump.number,
                    spec=spec,
                    catheter=catheter,
                    reason="elective replacement indicator reached; new pump "
                    "connected to the existing catheter",
                )
            )
        self.pumps.append(pump)
        self.dead_space = (
            None if spec.path_volume is None else (spec.path_volume + catheter.volume_ml)
        )
        prescribed = self.moment(at(day, time(12, 30)))
        self.prescribe(prescribed)
        filled = self.moment(at(day, time(12, 45)))
        self.fill(filled, nurse, check, aspirated=0.0, note="")

    # -- prescriptions

    def rx_spec(
        self, effective: datetime, clock: datetime, reasons: dict[str, str] | None = None
    ) -> RxSpec | None:
        """The regimen as a prescription for the current pump, with the service's dose check;
        None when the check would block it (the prescriber would not save that)."""
        regimen = self.plan.regimen
        pump = self.pump
        steps = _steps(regimen)
        spec = RxSpec(
            regimen.ingredients,
            steps,
            regimen.bolus,
            effective,
            users.DEMO_USERS[3].full_name,
            (),
            "ok",
            (),
            len(pump.rx) + 1,
        )
        if not any(p.rx for p in self.pumps):  # the patient's first: continues (RxSpec)
            doses = _doses(spec)
            spec = replace(
                spec,
                continued=tuple((k, float(d.to(MCG_PER_DAY).m)) for k, d in doses.items()),
            )
        check = dose_check(pump.rx, spec, self.plan.patient, clock.astimezone(TZ).date())
        if check.verdict == "blocked":
            return None
        given = dict(reasons or {})
        for finding in check.findings:
            code = str(finding.code)
            if finding.level == "warning" and code not in given:
                given[code] = words.REASONS.get(code, "reviewed by the prescriber; accepted")
        return RxSpec(
            spec.ingredients,
            steps,
            spec.bolus,
            effective,
            spec.prescriber,
            tuple(sorted(given.items())),
            str(check.verdict),
            tuple((str(f.code), str(f.level), f.message) for f in check.findings),
            spec.revision,
            spec.continued,
        )

    def save_rx(self, spec: RxSpec) -> _Rx:
        self.rx_count += 1
        saved = _record(self.rx_count, spec)
        self.pump.rx.append(saved)
        return saved

    def prescribe(self, moment: datetime, reasons: dict[str, str] | None = None) -> bool:
        clock = moment + timedelta(minutes=3)
        spec = self.rx_spec(moment, clock, reasons)
        if spec is None:
            return False
        saved = self.save_rx(spec)
        self.add(
            Prescribe(
                *self.base(moment),
                user=PRESCRIBER,
                verifier=self.rng.choice(NURSES),
                pump=self.pump.number,
                rx=saved.number,
                spec=spec,
            )
        )
        self.update_due(clock)
        return True

    # -- refills

    def expected_at(self, moment: datetime) -> float | None:
        """:meth:`ClinicService._expected_at`, on this patient's records."""
        pump = self.pump
        if not pump.fills:
            return None
        performed, final, bolus = pump.fills[-1]
        in_force = [p for p in pump.rx if p.effective <= performed]
        if not in_force:
            return None
        running = [in_force[-1], *[p for p in pump.rx if performed < p.effective <= moment]]
        clock = forecasting.PumpClock(performed, TZ)
        result = expected_residual(
            fill_volume=Q_(final, ML),
            filled_at=clock.to_pump(performed),
            at=clock.to_pump(moment),
            programs=[ProgramPeriod(clock.to_pump(p.effective), p.program) for p in running],
            extra_volume=Q_(bolus or 0.0, ML),
        )
        return float(result.unfloored_residual.m)  # the service keeps it for Δ and e

    def fill(
        self,
        moment: datetime,
        nurse: str,
        check: str,
        *,
        aspirated: float,
        note: str,
        expected: float | None = None,
        new_rx: RxSpec | None = None,
        bridge_ml: float | None = None,
    ) -> Refill:
        regimen, pump, rng = self.plan.regimen, self.pump, self.rng
        day = moment.date()
        performed = utc(moment)
        previous = pump.fills[-1] if pump.fills else None
        new = None
        if new_rx is not None:
            new = (self.save_rx(new_rx).number, new_rx)
        # The service computes it after saving a new prescription, which takes effect at
        # the refill itself and so leaves the expected residual as it was.
        if previous is None:
            expected = None
        verdict = "first_fill"
        if expected is not None and previous is not None:
            verdict = discrepancy(
                fill_volume=Q_(previous[1], ML),
                expected=Q_(expected, ML),
                actual=Q_(aspirated, ML),
                reservoir_capacity=Q_(pump.capacity, ML),
                accuracy_percent=pump.accuracy,
                note=note or words.NOTE_ANY,
            ).verdict
            if verdict != "ok" and not note:
                note = words.NOTE_ANY
        volume = self.plan.fill or pump.capacity
        self.refill_count += 1
        action = Refill(
            *self.base(moment),
            user=nurse,
            verifier=check,
            pump=pump.number,
            refill=self.refill_count,
            performed_at=moment,
            aspirated=aspirated,
            volume=volume,
            lot=f"{regimen.lot_prefix}-{day:%y%m}-{rng.randint(100, 999)}",
            expiry=day + timedelta(days=rng.randint(*regimen.shelf_days)),
            source=regimen.source,
            note=note,
            bridge_ml=None if bridge_ml is None else round(bridge_ml, 3),
            new_rx=new,
            expected=expected,
            verdict=verdict,
            current_rx=pump.rx[-1].number,
        )
        self.add(action)
        pump.fills.append((performed, volume, action.bridge_ml))
        self.update_due(moment + timedelta(minutes=3))
        pump.interval = max(7, (pump.due - day).days)
        return action

    def refill(self, moment: datetime, event: tuple[date, str, float] | None) -> None:
        pump, rng, regimen = self.pump, self.rng, self.plan.regimen
        nurse, check = self.nurses()
        computed = self.expected_at(utc(moment))
        expected = max(0.0, computed or 0.0)  # shown floored, as the nurse sees it
        last, final, _ = pump.fills[-1]
        kind = None if event is None else event[1]
        aspirated, note = plans.aspirate(
            rng,
            regimen,
            expected=expected,
            final=final,
            days=(utc(moment) - last).total_seconds() / 86400,
            capacity=pump.capacity,
            kind=kind,
        )
        new = None
        bridge_ml = None
        if kind == "concentration" and event is not None:
            old = regimen.concentration
            before = regimen.ingredients
            regimen.ingredients = ((regimen.ingredients[0][0], event[2]), *regimen.ingredients[1:])
            old_dose = regimen.dose
            if pump.spec.nominal_flow is not None:
                regimen.dose = regimen.dose * event[2] / old
            new = self.rx_spec(moment, moment + timedelta(minutes=3))
            if new is None:
                regimen.ingredients, regimen.dose = before, old_dose
            else:
                bridge_ml = self.dead_space
        action = self.fill(
            moment,
            nurse,
            check,
            aspirated=aspirated,
            note=note,
            expected=computed,
            new_rx=new,
            bridge_ml=bridge_ml,
        )
        if kind == "correction":
            corrected = self.moment(moment + timedelta(minutes=40))
            typed = action.lot
            self.refill_count += 1
            self.add(
                Correct(
                    *self.base(corrected),
                    user=nurse,
                    verifier=check,
                    pump=pump.number,
                    refill=action.refill,
                    new=self.refill_count,
                    lot=typed[:-1] + str((int(typed[-1]) + 1) % 10),
                    reason="lot number mistyped; corrected from the label kept with the refill kit",
                )
            )
            self.update_due(corrected + timedelta(minutes=3))
        if kind != "concentration" and self.needs_stronger():
            stronger = _STRONGER.get(regimen.ingredients[0])
            if stronger is not None:
                bisect.insort(
                    self.events, (moment.date() + timedelta(days=1), "concentration", stronger)
                )

    def needs_stronger(self) -> bool:
        """The reservoir lasts under 5 weeks: the next refill brings a stronger solution."""
        pump = self.pump
        rx = pump.rx[-1]
        return (
            pump.spec.nominal_flow is None and (pump.capacity - pump.alarm) / rx.max_daily_ml < 35
        )

    def next_refill(self) -> date | None:
        """As the demo's: roughly at the due date; the last refill before today is placed so
        that the patient ends overdue, due today, due this week or fine as planned."""
        plan, pump, rng = self.plan, self.pump, self.rng
        last = pump.fills[-1][0].astimezone(TZ).date()
        day = pump.due - timedelta(days=rng.choice((0, 0, 1, 1, 2, 3, 4, 7)))
        if rng.random() < 0.08 and pump.due + timedelta(days=2) < TODAY:
            day = pump.due + timedelta(days=rng.randint(1, 2))
        day = open_day(max(day, last + timedelta(days=10)))
        if plan.category != "fine":
            if day + timedelta(days=pump.interval) >= plan.goal:
                target = plan.goal - timedelta(days=pump.interval)
                if (target - last).days < (14 if plan.category == "overdue" else 3):
                    return None
                day = open_day(target)
        elif day >= TODAY and pump.due <= TODAY:
            day = open_day(TODAY - timedelta(days=1))
        if day >= TODAY or day <= last:
            return None
        return day

    def update_due(self, now: datetime) -> None:
        """A float estimate of the stored forecast's refill-due date (for planning only)."""
        pump = self.pump
        if not pump.fills:
            pump.due = open_day(now.astimezone(TZ).date())
            return
        performed, final, bolus = pump.fills[-1]
        in_force = [p for p in pump.rx if p.effective <= performed]
        if not in_force:
            pump.due = open_day(performed.astimezone(TZ).date())
            return
        running = [in_force[-1], *[p for p in pump.rx if p.effective > performed]]
        volume = final - (bolus or 0.0)
        for index, rx in enumerate(running[:-1]):
            begin = max(rx.effective, performed)
            end = running[index + 1].effective
            volume -= rx.max_daily_ml * max(0.0, (end - begin).total_seconds()) / 86400
        current = running[-1]
        start = max(performed, current.effective)
        days = max(0.0, volume - pump.alarm) / current.max_daily_ml
        due = (start + timedelta(days=days)).astimezone(TZ).date() - timedelta(days=BUFFER_DAYS)
        stability = _stability(current, len(pump.fills) == 1)
        if stability is not None:
            due = min(due, (performed + timedelta(days=stability)).astimezone(TZ).date())
        pump.due = open_day(due)

    # -- other events

    def mid_event(self, event: tuple[date, str, float], moment: datetime) -> None:
        rng, regimen, pump = self.rng, self.plan.regimen, self.pump
        nurse, _ = self.nurses()
        _, kind, value = event
        if kind in ("titrate", "adjust"):
            if pump.spec.nominal_flow is not None:
                return  # a constant-flow pump's dose changes only with its concentration
            before = regimen.dose
            regimen.dose = round(_clamped(regimen, regimen.dose * value), 3)
            if regimen.dose == before:
                return
            reasons = (
                {"titration.above_percent": words.TITRATION_REASON} if kind == "titrate" else None
            )
            if not self.prescribe(moment, reasons):
                regimen.dose = before
        elif kind == "mri":
            self.add(
                Event(
                    *self.base(moment),
                    user=nurse,
                    pump=pump.number,
                    kind="mri",
                    occurred_at=moment - timedelta(hours=3),
                    note="1.5 T MRI of the lumbar spine. Pump interrogated afterwards: "
                    "motor stall recovered, running, reservoir volume as expected.",
                    post_mri_check_done=True,
                )
            )
        elif kind == "revise":
            old = pump.catheter.segments[0]
            cut = rng.choice((4, 6, 8))
            catheter = CatheterSpec(
                pump.catheter.model_key,
                (
                    SegmentSpec(
                        old.implanted_cm - cut,
                        old.trimmed_cm + rng.choice((4, 6, 8)),
                        old.ml_per_cm,
                    ),
                ),
                rng.choice(("T9", "T10")),
            )
            pump.catheter = catheter
            self.add(
                Revise(
                    *self.base(moment),
                    user=nurse,
                    pump=pump.number,
                    catheter=catheter,
                    revised_on=moment.date(),
                    note="catheter fracture at the connector seen on X-ray after loss "
                    "of effect; catheter replaced, tip repositioned; priming bolus "
                    "given in theatre",
                )
            )
            self.dead_space = None
        else:
            raise AssertionError(f"unknown event {kind}")

    def replace(self, moment: datetime) -> None:
        nurse, _ = self.nurses()
        old = self.pump
        self.add(
            Event(
                *self.base(moment),
                user=nurse,
                pump=old.number,
                kind="eri",
                occurred_at=moment,
                note="elective replacement indicator on interrogation; replacement booked",
                post_mri_check_done=None,
            )
        )
        day = open_day(moment.date() + timedelta(days=10))
        if day >= TODAY:
            return
        model = "synchromed2-40" if old.spec.model_key != "synchromed2-20" else ("synchromed2-20")
        spec = PumpSpec(
            model,
            _serial(self.plan.index, len(self.pumps), "NGV"),
            day,
            old.spec.site,
            None,
            None,
            old.spec.path_volume,
            day + _years(7.0),
        )
        self.new_pump(spec, old.catheter, day, replacing=old)
        assert spec.replace_by is not None
        bisect.insort(
            self.events,
            (spec.replace_by - timedelta(days=self.rng.randint(60, 150)), "replace", 0.0),
        )

    def explant(self, moment: datetime) -> None:
        nurse, _ = self.nurses()
        self.add(
            Explant(
                *self.base(moment),
                user=nurse,
                pump=self.pump.number,
                explanted_on=moment.date(),
                reason="pocket infection; pump and catheter removed, oral baclofen "
                "restarted under observation",
            )
        )
        later = self.moment(moment + timedelta(minutes=30))
        self.add(
            Status(
                *self.base(later),
                user=nurse,
                status="inactive",
                reason="pump explanted; followed by the spasticity clinic",
            )
        )


_MID_EVENTS = frozenset({"titrate", "adjust", "mri", "revise", "replace"})
_REFILL_EVENTS = frozenset({"concentration", "less_returned", "more_returned", "correction"})
#: The next stock strength when a reservoir runs out too fast.
_STRONGER: dict[tuple[str, float], float] = {
    ("baclofen", 500.0): 1000.0,
    ("baclofen", 1000.0): 2000.0,
    ("morphine", 10000.0): 25000.0,
    ("hydromorphone", 2000.0): 5000.0,
    ("hydromorphone", 5000.0): 10000.0,
}


@cache
def _stability_cached(key: tuple[tuple[str, float], ...], first_fill: bool) -> float | None:
    # the plan's pumps keep their drugs: a first fill is the first of each
    first_of = frozenset(k for k, _ in key) if first_fill else frozenset()
    return forecasting.stability_days(
        (k for k, _ in key), library(), first_fill_of=first_of, undiluted=None
    )


def _stability(rx: _Rx, first_fill: bool) -> float | None:
    return _stability_cached(rx.spec.ingredients, first_fill)


def _clamped(regimen: Regimen, dose: float) -> float:
    drug = library().drug(regimen.ingredients[0][0])
    low = float(drug.typical_min.value.to(MCG_PER_DAY).m)
    high = float(drug.typical_max.value.to(MCG_PER_DAY).m)
    if drug.soft_max is not None:
        high = min(high, float(drug.soft_max.value.to(MCG_PER_DAY).m) * 1.1)
    return min(max(dose, low * 1.2), high * 0.95)


# ------------------------------------------------------------------------------ dose check


def _doses(spec: RxSpec) -> dict[str, Quantity]:
    """Each drug's daily dose (``D_max``, by key), as the service's check compares it."""
    program = Program(Q_(spec.ingredients[0][1], MCG_PER_ML), spec.schedule(), spec.patient_bolus())
    return admixture_doses(
        program.max_daily_volume(),
        [(library().drug(key).key, Q_(c, MCG_PER_ML)) for key, c in spec.ingredients],
    )


def dose_check(
    history: Sequence[_Rx], spec: RxSpec, patient: PatientSpec, today: date
) -> DoseCheck:
    """:meth:`ClinicService.check_prescription` on this pump's versions (``history``)."""
    lib = library()
    drugs = [lib.drug(key) for key, _ in spec.ingredients]
    concentrations = [Q_(c, MCG_PER_ML) for _, c in spec.ingredients]
    doses = _doses(spec)
    change = change_context([h.record for h in history], utc(spec.effective_at), lib)
    person = patient_context(patient.indication, patient.date_of_birth, today)
    continued = {key: Q_(value, MCG_PER_DAY) for key, value in spec.continued}
    return check_admixture(
        [(d, doses[d.key], c) for d, c in zip(drugs, concentrations, strict=True)],
        previous_doses={**change.previous_doses, **continued},
        hours_since_change=change.hours_since_change,
        increases_past_7_days=change.increases_past_7_days,
        origin=person.origin,
        pain=person.pain,
        child=person.child,
    )


# ------------------------------------------------------------------------------ the patients


def _serial(index: int, pump: int, prefix: str) -> str:
    """Invented, and unique in the clinic (a model and serial number are recorded once)."""
    return f"{prefix}{100000 + 10 * index + pump}"


def _years(n: float) -> timedelta:
    return timedelta(days=round(n * 365.25))


def _medtronic_catheter(rng: random.Random) -> CatheterSpec:
    return CatheterSpec(
        "custom",
        (
            SegmentSpec(
                float(rng.choice((48, 52, 55, 58, 62))), float(rng.choice((12, 18, 22, 26))), 0.0022
            ),
        ),
        rng.choice(("T8", "T9", "T10", "T11")),
    )


def _prometra_catheter(rng: random.Random) -> CatheterSpec:
    trimmed = rng.choice((24, 28, 32, 36))
    return CatheterSpec(
        "prometra-11823",
        (SegmentSpec(float(110 - trimmed), float(trimmed), 0.0026),),
        rng.choice(("T9", "T10", "T11")),
    )


class _Planner:
    """Draws each patient's plan from the seed (the first few patients are fixed scenarios,
    so that even a tiny clinic has every kind of record)."""

    def __init__(self, patients: int, years: float, seed: int) -> None:
        self.patients = patients
        self.years = years
        self.seed = seed
        self.first_day = open_day(TODAY - _years(years))
        scale = patients / 5000
        self.overdue = max(1, round(OVERDUE_PER_5000 * scale))
        self.due_today = max(1, round(DUE_TODAY_PER_5000 * scale))

    def category(self, index: int, rng: random.Random) -> tuple[Category, date]:
        if index < self.overdue:
            return "overdue", TODAY - timedelta(days=rng.randint(1, 9))
        if index < self.overdue + self.due_today:
            return "today", TODAY
        if rng.random() < 0.08:
            return "week", open_day(TODAY + timedelta(days=rng.randint(2, 6)))
        return "fine", TODAY

    def day_between(self, rng: random.Random, low: float, high: float) -> date:
        """A day between ``low`` and ``high`` years ago, inside the history."""
        day = TODAY - _years(rng.uniform(low, high))
        return open_day(max(day, self.first_day + timedelta(days=3)))

    def person(
        self,
        index: int,
        rng: random.Random,
        indication: str,
        age: int,
        notes: str = "",
        renal: bool = False,
    ) -> PatientSpec:
        family = words.FAMILY[(index * 7 + self.seed) % len(words.FAMILY)]
        given = rng.choice(words.GIVEN)
        born = TODAY - timedelta(days=age * 365 + rng.randint(0, 364))
        return PatientSpec(
            f"D{index + 1:06d}",
            family,
            given,
            born,
            indication,
            renal,
            f"{rng.choice(words.GIVEN)} {family} ({rng.choice(words.RELATION)})",
            f"555-01{(index * 37 + 11) % 100:02d}",
            notes,
        )

    def plan(self, index: int) -> LifePlan:
        rng = random.Random(f"pumpmgr-bench-{self.seed}-{index}")
        # Spread the patients over the years so the cohort's first patients reach back the
        # whole history: the first ten percent were all implanted in its first year.
        if index == 0 or (index > 6 and rng.random() < 0.1):
            low, high = self.years - 0.05, self.years
        else:
            low, high = 0.3, self.years
        plan = (
            _SCENARIOS[index](self, index, rng, low, high)
            if index < len(_SCENARIOS)
            else self.random_patient(index, rng, low, high)
        )
        plan.category, plan.goal = self.category(index, rng)
        if plan.category == "fine" and plan.end is None and rng.random() < 0.02:
            plan.end = self.day_between(rng, 0.2, max(0.3, (TODAY - plan.start).days / 365.25))
        self.life_events(plan)
        return plan

    def life_events(self, plan: LifePlan) -> None:
        """Adjustments every two years or so, MRIs, discrepancies, corrections, catheter
        revisions and (for battery pumps) replacements before the end of battery life."""
        rng = plan.rng
        span = (TODAY - plan.start).days
        events = plan.events

        def when() -> date:
            return plan.start + timedelta(days=rng.randint(20, max(21, span - 5)))

        for _ in range(rng.randint(0, max(1, round(span / 365.25 / 2)))):
            events.append((when(), "adjust", rng.choice((0.9, 1.1, 1.15, 1.2, 0.85, 1.1))))
        for _ in range(int(rng.random() < 0.25) + int(rng.random() < 0.1)):
            events.append((when(), "mri", 0.0))
        for _ in range(rng.choice((0, 0, 0, 1, 1, 2))):
            events.append((when(), rng.choice(("less_returned", "more_returned")), 0.0))
        if rng.random() < 0.1:
            events.append((when(), "correction", 0.0))
        if rng.random() < 0.06:
            events.append((when(), "revise", 0.0))
        if plan.pump.replace_by is not None and plan.pump.replace_by - timedelta(days=150) < TODAY:
            events.append(
                (
                    max(
                        plan.start + timedelta(days=30),
                        plan.pump.replace_by - timedelta(days=rng.randint(60, 150)),
                    ),
                    "replace",
                    0.0,
                )
            )

    def random_patient(
        self,
        index: int,
        rng: random.Random,
        low: float,
        high: float,
    ) -> LifePlan:
        indication = rng.choices(
            ("spasticity_spinal", "spasticity_cerebral", "non_cancer_pain", "cancer_pain", "other"),
            (35, 20, 22, 13, 10),
        )[0]
        model = rng.choices(
            ("synchromed2-20", "synchromed2-40", "prometra2-20", "prometra2-40"), (35, 35, 15, 15)
        )[0]
        prometra = model.startswith("prometra")
        start = (
            self.day_between(rng, 0.2, min(high, 2.0))
            if indication == "cancer_pain"
            else self.day_between(rng, low, high)
        )
        years_in = (TODAY - start).days / 365.25
        age = (
            rng.randint(8, 17)
            if indication == "spasticity_cerebral" and rng.random() < 0.2
            else rng.randint(25, 82)
        )
        age = max(age, round(years_in) + rng.randint(8, 30))
        regimen = plans.random_regimen(rng, indication, prometra)
        serial = _serial(index, 0, "P2" if prometra else "NGV")
        pump = PumpSpec(
            model,
            serial,
            start,
            rng.choice(words.SITES),
            None,
            None,
            None,
            None if prometra else start + _years(7.0),
        )
        return LifePlan(
            index,
            rng,
            self.person(index, rng, indication, age),
            pump,
            _prometra_catheter(rng) if prometra else _medtronic_catheter(rng),
            regimen,
            "fine",
            TODAY,
            start,
            [],
            fill=20.0 if regimen.ingredients[0][0] == "ziconotide" else None,
        )


def _s0_long_history(
    p: _Planner,
    index: int,
    rng: random.Random,
    low: float,
    high: float,
) -> LifePlan:
    """Twenty years (the whole history) of baclofen with a flex schedule: two replacements,
    stronger solutions as the dose rises, an MRI, a catheter revision, a correction."""
    start = p.day_between(rng, high - 0.01, high)
    plan = LifePlan(
        index,
        rng,
        p.person(
            index,
            rng,
            "spasticity_spinal",
            38 + round(high),
            notes="T6 incomplete spinal cord injury. Prefers morning appointments.",
        ),
        PumpSpec(
            "synchromed2-20",
            _serial(index, 0, "NGV"),
            start,
            words.SITES[0],
            None,
            None,
            0.142,
            start + _years(7.0),
        ),
        _medtronic_catheter(rng),
        baclofen_regimen(500, 180, flex=FLEX_DAY_NIGHT),
        "fine",
        TODAY,
        start,
        [],
    )
    span = (TODAY - start).days
    plan.events += [
        (start + timedelta(days=round(span * f)), kind, value)
        for f, kind, value in (
            (0.15, "adjust", 1.2),
            (0.3, "adjust", 1.2),
            (0.35, "mri", 0.0),
            (0.45, "correction", 0.0),
            (0.5, "adjust", 1.15),
            (0.6, "less_returned", 0.0),
            (0.7, "revise", 0.0),
            (0.8, "adjust", 1.1),
            (0.9, "more_returned", 0.0),
        )
    ]
    return plan


def _s1_constant_flow(
    p: _Planner,
    index: int,
    rng: random.Random,
    low: float,
    high: float,
) -> LifePlan:
    start = p.day_between(rng, min(low + 1.0, high), high)
    plan = LifePlan(
        index,
        rng,
        p.person(index, rng, "non_cancer_pain", 63, notes="Failed back surgery syndrome."),
        PumpSpec(
            "isomed-35",
            _serial(index, 0, "IM"),
            start,
            words.SITES[1],
            "35 mL",
            "0.5 mL/day",
            None,
            None,
        ),
        _medtronic_catheter(rng),
        Regimen(
            (("morphine", 4000.0),),
            2000.0,
            source="hospital pharmacy (compounded)",
            lot_prefix="CMP",
            shelf_days=(60, 90),
        ),
        "fine",
        TODAY,
        start,
        [],
    )
    plan.events.append((start + timedelta(days=(TODAY - start).days // 2), "concentration", 5000.0))
    return plan


def _s2_admixture_ptm(
    p: _Planner,
    index: int,
    rng: random.Random,
    low: float,
    high: float,
) -> LifePlan:
    start = p.day_between(rng, min(low, 1.6), min(high, 1.9))
    return LifePlan(
        index,
        rng,
        p.person(index, rng, "cancer_pain", 58, notes="Pancreatic cancer."),
        PumpSpec(
            "prometra2-20", _serial(index, 0, "P2"), start, words.SITES[0], None, None, None, None
        ),
        _prometra_catheter(rng),
        Regimen(
            (("morphine", 10000.0), ("clonidine", 150.0)),
            3000.0,
            bolus=(100.0, 4, 3.0),
            boluses_used=1.5,
            source="hospital pharmacy (compounded)",
            lot_prefix="CMP",
            shelf_days=(45, 90),
        ),
        "fine",
        TODAY,
        start,
        [],
    )


def _s3_legacy_replacement(
    p: _Planner, index: int, rng: random.Random, low: float, high: float
) -> LifePlan:
    """Transferred in with a SynchroMed EL near its end of service: replaced early on."""
    start = open_day(p.first_day + timedelta(days=17))
    return LifePlan(
        index,
        rng,
        p.person(
            index,
            rng,
            "spasticity_cerebral",
            34 + round(high),
            notes="Cerebral palsy; transferred from another clinic with a SynchroMed EL pump.",
        ),
        PumpSpec(
            "synchromed-el-18",
            _serial(index, 0, "NEL"),
            start,
            words.SITES[1],
            "18 mL",
            None,
            None,
            start + timedelta(days=200),
        ),
        _medtronic_catheter(rng),
        baclofen_regimen(500, 250),
        "fine",
        TODAY,
        start,
        [],
    )


def _s4_ziconotide(
    p: _Planner,
    index: int,
    rng: random.Random,
    low: float,
    high: float,
) -> LifePlan:
    start = p.day_between(rng, low, high)
    plan = LifePlan(
        index,
        rng,
        p.person(
            index,
            rng,
            "non_cancer_pain",
            51 + round(high),
            notes="Complex regional pain syndrome; opioids not tolerated.",
        ),
        PumpSpec(
            "synchromed2-40",
            _serial(index, 0, "NGV"),
            start,
            words.SITES[0],
            None,
            None,
            None,
            start + _years(7.0),
        ),
        _medtronic_catheter(rng),
        Regimen(
            (("ziconotide", 25.0),),
            2.4,
            source="manufacturer (Prialt)",
            lot_prefix="PRI",
            shelf_days=(180, 365),
        ),
        "fine",
        TODAY,
        start,
        [],
        fill=20.0,
    )
    plan.events.append((start + timedelta(days=(TODAY - start).days * 2 // 5), "correction", 0.0))
    return plan


def _s5_titration(
    p: _Planner,
    index: int,
    rng: random.Random,
    low: float,
    high: float,
) -> LifePlan:
    start = p.day_between(rng, low, high)
    plan = LifePlan(
        index,
        rng,
        p.person(index, rng, "spasticity_spinal", 39 + round(high), notes="Multiple sclerosis."),
        PumpSpec(
            "prometra2-40", _serial(index, 0, "P2"), start, words.SITES[1], None, None, None, None
        ),
        _prometra_catheter(rng),
        baclofen_regimen(2000, 300),
        "fine",
        TODAY,
        start,
        [],
    )
    plan.events.append((start + timedelta(days=(TODAY - start).days // 3), "titrate", 1.4))
    return plan


def _s6_explanted(
    p: _Planner,
    index: int,
    rng: random.Random,
    low: float,
    high: float,
) -> LifePlan:
    start = p.day_between(rng, low, high)
    plan = LifePlan(
        index,
        rng,
        p.person(
            index, rng, "spasticity_cerebral", 28 + round(high), notes="Traumatic brain injury."
        ),
        PumpSpec(
            "synchromed2-20",
            _serial(index, 0, "NGV"),
            start,
            words.SITES[0],
            None,
            None,
            None,
            start + _years(7.0),
        ),
        _medtronic_catheter(rng),
        baclofen_regimen(500, 180),
        "fine",
        TODAY,
        start,
        [],
    )
    plan.end = start + timedelta(days=max(40, (TODAY - start).days * 3 // 5))
    return plan


_SCENARIOS = (
    _s0_long_history,
    _s1_constant_flow,
    _s2_admixture_ptm,
    _s3_legacy_replacement,
    _s4_ziconotide,
    _s5_titration,
    _s6_explanted,
)


def simulate(patients: int, years: float, seed: int, indexes: Sequence[int]) -> list[Action]:
    """The actions of the patients ``indexes`` (a share of the work, for one process)."""
    planner = _Planner(patients, years, seed)
    actions: list[Action] = []
    for index in indexes:
        plan = planner.plan(index)
        actions += _Life(plan, planner.first_day).run()
    return actions


def first_day(years: float) -> date:
    return open_day(TODAY - _years(years))


def merge(parts: Sequence[Sequence[Action]]) -> list[Action]:
    """The actions of every patient in clock order (ties: patient index, then order)."""
    return sorted(itertools.chain.from_iterable(parts), key=lambda a: (a.clock, a.patient, a.order))


def plan_clinic(patients: int, years: float, seed: int, *, jobs: int = 1) -> ClinicPlan:
    """Every patient's life, simulated (in ``jobs`` processes) and merged in clock order."""
    if patients < 1:
        raise ValueError("patients: give at least 1")
    shares = [list(range(start, patients, max(1, jobs))) for start in range(max(1, jobs))]
    if jobs > 1 and patients >= 200:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(jobs) as pool:
            parts = list(
                pool.map(
                    simulate,
                    itertools.repeat(patients),
                    itertools.repeat(years),
                    itertools.repeat(seed),
                    shares,
                )
            )
    else:
        parts = [simulate(patients, years, seed, range(patients))]
    return ClinicPlan(patients, years, seed, first_day(years), merge(parts))


def counts(actions: Sequence[Action]) -> dict[str, int]:
    """How many actions of each kind."""
    result: dict[str, int] = {}
    for action in actions:
        name = type(action).__name__
        result[name] = result.get(name, 0) + 1
    return result
