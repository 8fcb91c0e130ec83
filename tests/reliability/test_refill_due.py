"""Harness 7: the refill-due date is never late (issue 6; reliability.md T7).

Simulated patients live three years of clinic life through :class:`ClinicService` (refills,
reprogramming, flex schedules, scheduled and patient-activated boluses, bridge and priming
boluses drawn from the reservoir, concentration changes, corrections, pump replacements, a
change of the clinic's buffer and open days). After every write the pump's stored forecast (what
the due list shows) is compared with an independent reference written from domain-rules only
(``refill_reference.py``, which imports nothing from pumpmgr):

- the refill-due date and which limit set it are the reference's;
- the alarm instant with boluses agrees within 2 s;
- the due date is never after the alarm date with boluses, never after the stability limit.

The timeline (September 2026 to September 2029) crosses every daylight-saving change of the
clinic's zone (Europe/Berlin and America/New_York), the leap day 2028-02-29 and three year ends;
refills are pulled onto those days when they fall near a due date, and a third of all events
happen at any hour of the day and night. Suite size: 4 patients per zone on SQLite, the
second zone's starting at the fifth regimen, so that the 8 cover all seven regimens; 1 per zone
on PostgreSQL, ziconotide and morphine with patient boluses (the forecast is computed in Python
on both; PostgreSQL adds the round trip of the stored dates and instants); ``--full``: 500 per
zone (1,000 per backend).
"""

from __future__ import annotations

import heapq
import random
import time as clock_time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
from clinical_world import PASSWORD, Clinic, catheter_input, make_clinic, patient_input
from refill_reference import (
    RefClinic,
    RefDue,
    RefFill,
    RefPeriod,
    RefProgram,
    refill_due,
    volume_with_boluses,
)

from pumpmgr.db import schema as db
from pumpmgr.db.engine import Database
from pumpmgr.dose_checks import FindingCode
from pumpmgr.schedule import PatientBolus, Schedule, ScheduledBolus, Step
from pumpmgr.services import ClinicService
from pumpmgr.services.inputs import (
    IngredientInput,
    OrderGiven,
    PrescriptionInput,
    PumpInput,
    RefillInput,
    Verification,
)
from pumpmgr.units import Q_

pytestmark = pytest.mark.long  # a minute or more on 2 CPUs: pytest-xdist starts it early

SIM_START = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)
SIM_END = datetime(2029, 9, 1, 7, 0, tzinfo=UTC)
SUITE_PATIENTS_PER_ZONE = 4
#: The same forecast code runs on both backends; PostgreSQL's round trips make it slower.
SUITE_PATIENTS_PER_ZONE_POSTGRESQL = 1
#: The regimen of each zone's first patient in the suite (then in turn): on SQLite the two
#: zones' 4 + 4 patients together cover every regimen; PostgreSQL's one patient per zone has a
#: stability limit (ziconotide) or patient boluses (morphine). ``--full`` starts every run at
#: the first regimen, as the recorded figures did (same seeds, same patients).
SUITE_FIRST_REGIMEN = {
    ("sqlite", "Europe/Berlin"): 0,
    ("sqlite", "America/New_York"): 4,
    ("postgresql", "Europe/Berlin"): 3,
    ("postgresql", "America/New_York"): 2,
}
FULL_PATIENTS_PER_ZONE = 500
#: The alarm instants must agree this closely (float noise over three years is microseconds).
ALARM_TOLERANCE_S = 2.0


# --------------------------------------------------------------------------------------------
# Regimens and the in-pump stability the reference derives from domain-rules §3 and §6


@dataclass(frozen=True)
class Regimen:
    name: str
    indication: str
    models: tuple[str, ...]
    drug: str
    unit: str  #: "mcg" or "mg": the unit the doses and concentrations below are written in
    concentrations: tuple[float, ...]  #: unit/mL
    doses: tuple[float, float]  #: unit/day
    flex: bool = False
    ptm: tuple[float, int] | None = None  #: (largest bolus dose in unit, most per day)
    extra: tuple[str, str] | None = None  #: a second drug of an admixture and its strength
    constant_flow: bool = False


REGIMENS = (
    Regimen(
        "baclofen",
        "spasticity_spinal",
        ("synchromed2-20", "synchromed2-40", "prometra2-20"),
        "baclofen",
        "mcg",
        (500, 1000, 2000),
        (100, 800),
    ),
    Regimen(
        "baclofen-flex",
        "spasticity_cerebral",
        ("synchromed2-20", "synchromed2-40"),
        "baclofen",
        "mcg",
        (500, 1000, 2000),
        (100, 700),
        flex=True,
    ),
    Regimen(
        "morphine-ptm",
        "cancer_pain",
        ("synchromed2-40", "prometra2-40"),
        "morphine",
        "mg",
        (10, 25),
        (1, 10),
        ptm=(0.5, 4),
    ),
    Regimen(
        "ziconotide",
        "non_cancer_pain",
        ("synchromed2-20",),
        "ziconotide",
        "mcg",
        (25, 100, 50),
        (1, 10),
    ),
    Regimen(
        "morphine-clonidine",
        "non_cancer_pain",
        ("synchromed2-40",),
        "morphine",
        "mg",
        (10,),
        (2, 6),
        extra=("clonidine", "400 mcg/mL"),
    ),
    Regimen(
        "hydromorphone-ptm-flex",
        "cancer_pain",
        ("synchromed2-20",),
        "hydromorphone",
        "mg",
        (5, 10),
        (0.5, 4),
        flex=True,
        ptm=(0.2, 3),
    ),
    Regimen(
        "morphine-constant-flow",
        "non_cancer_pain",
        ("isomed-20",),
        "morphine",
        "mg",
        (),
        (1, 8),
        constant_flow=True,
    ),
)


def interval_days(drug: str) -> float:
    """domain-rules §3: the longest refill interval, baclofen 180 days [S72], else the
    clinic's 90 days (the default setting)."""
    return 180.0 if drug == "baclofen" else 90.0


def worst_case_accuracy(labelled: float | None, constant_flow: bool) -> float:
    """domain-rules §3: the labelled accuracy, 15 % where unknown; at least 15 % for a
    constant-flow pump. (The simulated aspirates stay within the syringe's 0.5 mL, so no
    measured over-delivery counts.)"""
    if constant_flow:
        return max(15.0, labelled or 0.0)
    return 15.0 if labelled is None else labelled


def stability_days(drug: str, first_fill: bool, undiluted: bool | None) -> float | None:
    """domain-rules §3/§6: morphine 90 days; ziconotide 14 days after a new pump's first fill,
    then 84 days when the refill recorded the solution undiluted, else 40 (diluted, or not
    recorded: never inferred from the concentration); others none."""
    if drug == "morphine":
        return 90.0
    if drug == "ziconotide":
        if first_fill:
            return 14.0
        return 84.0 if undiluted is True else 40.0
    return None


def undiluted_record(patient: Patient) -> bool | None:
    """What the nurse records for the solution: for ziconotide in turn undiluted (a stock
    strength only), diluted (at a stock strength too: diluted to 25 mcg/mL is still diluted)
    and not recorded; nothing for the other drugs. Drawn from the fill count, not the
    patient's random numbers, so the rest of the simulation stays as recorded."""
    if patient.regimen.drug != "ziconotide":
        return None
    turn = (patient.index + len(patient.fills)) % 3
    if turn == 0 and patient.concentration in (25.0, 100.0):
        return True
    return None if turn == 2 else False


@dataclass
class Version:
    effective: datetime
    rx: PrescriptionInput
    program: RefProgram
    drugs: tuple[tuple[str, float], ...]  #: (drug, concentration mcg/mL)


@dataclass
class Patient:
    index: int
    rng: random.Random
    regimen: Regimen
    service: ClinicService
    patient_id: int = 0
    pump_id: int = 0
    capacity: float = 20.0
    alarm_ml: float = 2.0
    nominal_flow: float | None = None
    accuracy: float | None = None  #: the pump's labelled accuracy, percent
    constant_flow: bool = False
    versions: list[Version] = field(default_factory=list)
    fills: list[RefFill] = field(default_factory=list)
    last_refill_id: int = 0
    last_event: datetime = SIM_START
    reprogrammed: bool = False
    dose: float = 0.0  #: current daily dose in the regimen's unit
    concentration: float = 0.0


def to_mcg(value: float, unit: str) -> float:
    return value * 1000 if unit == "mg" else value


def ref_program(rx: PrescriptionInput) -> RefProgram:
    steps = tuple(
        sorted(
            (s.start.hour * 60 + s.start.minute, float(s.rate.to("mcg/day").m))
            for s in rx.schedule.steps
        )
    )
    boluses = tuple(
        sorted(
            (b.at.hour * 60 + b.at.minute, float(b.amount.to("mcg").m)) for b in rx.schedule.boluses
        )
    )
    ptm = rx.patient_bolus
    return RefProgram(
        concentration=float(rx.ingredients[0].concentration.to("mcg/mL").m),
        steps=steps,
        boluses=boluses,
        ptm_dose=0.0 if ptm is None else float(ptm.dose.to("mcg").m),
        ptm_per_day=0 if ptm is None else ptm.max_per_day,
    )


# --------------------------------------------------------------------------------------------
# The simulation


@dataclass
class Failure:
    patient: int
    event: str
    detail: str


class Simulation:
    def __init__(
        self,
        clinic: Clinic,
        service: ClinicService,
        patients: int,
        seed: int,
        first_regimen: int = 0,
    ) -> None:
        self.clinic = clinic
        self.first_regimen = first_regimen
        self.service = service
        self.tz: tzinfo = service.tz
        self.count = patients
        self.seed = seed
        self.buffer_days = 7
        self.open_days = frozenset(range(5))
        self.checks = 0
        self.failures: list[Failure] = []
        self.special_days = self._special_days()

    def _special_days(self) -> set[date]:
        """Daylight-saving days of the zone, the leap day and each year's last and first day."""
        days = {date(2028, 2, 29), date(2028, 3, 1)}
        for year in (2026, 2027, 2028, 2029):
            days |= {date(year, 12, 31), date(year, 1, 1)}
        moment = SIM_START
        previous = moment.astimezone(self.tz).utcoffset()
        while moment < SIM_END:
            moment += timedelta(hours=1)
            offset = moment.astimezone(self.tz).utcoffset()
            if offset != previous:
                day = moment.astimezone(self.tz).date()
                days |= {day - timedelta(days=1), day}
                previous = offset
        return days

    # -- times

    def moment(self, rng: random.Random, day: date) -> datetime:
        """An instant on the clinic's local ``day``: mostly clinic hours, a third any hour."""
        if rng.random() < 0.67:
            hour, minute = rng.randint(8, 16), rng.randint(0, 59)
        else:
            hour, minute = rng.randint(0, 23), rng.randint(0, 59)
        local = datetime.combine(day, time(hour, minute, rng.randint(1, 59)), self.tz)
        return local.astimezone(UTC)

    def local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    # -- pumpmgr's side

    def stored(self, pump_id: int) -> db.PumpForecast | None:
        with self.service.database.read() as session:
            return session.get(db.PumpForecast, pump_id)

    def due_of(self, patient: Patient) -> date:
        row = self.stored(patient.pump_id)
        assert row is not None and row.refill_due is not None
        return row.refill_due

    # -- the reference's side

    def reference(self, patient: Patient) -> RefDue | None:
        if not patient.fills:
            return None
        fill = patient.fills[-1]
        ordered = sorted(patient.versions, key=lambda v: v.effective)
        in_force = [v for v in ordered if v.effective <= fill.at]
        if not in_force:
            return None
        running = [in_force[-1], *[v for v in ordered if v.effective > fill.at]]
        periods = []
        for version in running:
            limits = [
                stability_days(drug, fill.first_of_pump, fill.undiluted)
                for drug, _ in version.drugs
            ]
            known = [limit for limit in limits if limit is not None]
            periods.append(
                RefPeriod(
                    version.effective,
                    version.program,
                    min(known) if known else None,
                    min(interval_days(drug) for drug, _ in version.drugs),
                )
            )
        clinic = RefClinic(self.tz, self.buffer_days, self.open_days)
        return refill_due(
            clinic=clinic,
            fill=fill,
            periods=periods,
            alarm_ml=patient.alarm_ml,
            accuracy_percent=worst_case_accuracy(patient.accuracy, patient.constant_flow),
        )

    def compare(self, patient: Patient, event: str) -> None:
        expected = self.reference(patient)
        if expected is None:
            return
        self.checks += 1
        row = self.stored(patient.pump_id)
        problems = []
        if row is None or row.refill_due is None or row.alarm_at_with_boluses is None:
            problems.append("no stored forecast")
        else:
            alarm = row.alarm_at_with_boluses
            alarm = alarm if alarm.tzinfo else alarm.replace(tzinfo=UTC)
            gap = abs((alarm - expected.alarm_with_boluses).total_seconds())
            if gap > ALARM_TOLERANCE_S:
                problems.append(
                    f"alarm with boluses {alarm.isoformat()} vs reference "
                    f"{expected.alarm_with_boluses.isoformat()} ({gap:.0f} s)"
                )
            date_free = (expected.alarm_near_midnight and expected.reason == "alarm") or (
                expected.worst_near_midnight and expected.reason == "worst_case"
            )
            if not date_free and (row.refill_due, row.refill_due_reason) != (
                expected.due,
                expected.reason,
            ):
                problems.append(
                    f"due {row.refill_due} ({row.refill_due_reason}) vs reference "
                    f"{expected.due} ({expected.reason})"
                )
            if row.refill_due > expected.alarm_date:
                problems.append(
                    f"LATE: due {row.refill_due} after the alarm date with boluses "
                    f"{expected.alarm_date}"
                )
            if expected.stable_until is not None and row.refill_due > expected.stable_until:
                problems.append(
                    f"LATE: due {row.refill_due} after the stability limit {expected.stable_until}"
                )
            if expected.worst_date is not None and row.refill_due > expected.worst_date:
                problems.append(
                    f"LATE: due {row.refill_due} after the worst-case low "
                    f"reservoir {expected.worst_date}"
                )
            if expected.interval_until is not None and row.refill_due > expected.interval_until:
                problems.append(
                    f"LATE: due {row.refill_due} after the longest refill interval "
                    f"{expected.interval_until}"
                )
        if problems:
            self.failures.append(Failure(patient.index, event, "; ".join(problems)))

    # -- building inputs

    def schedule(self, patient: Patient, dose: float) -> Schedule:
        """A simple or flex schedule whose daily dose is ``dose`` (regimen unit/day)."""
        regimen, rng = patient.regimen, patient.rng
        unit = regimen.unit
        if not regimen.flex:
            return Schedule.simple(Q_(dose, f"{unit}/day"))
        count = rng.randint(2, 5)
        starts = sorted(rng.sample(range(48), count))
        weights = [rng.uniform(0.5, 1.5) for _ in starts]
        bolus_share = rng.choice((0.0, 0.0, 0.1))
        lengths = [((starts[(i + 1) % count] - s) % 48 or 48) / 48 for i, s in enumerate(starts)]
        basal = dose * (1 - bolus_share)
        scale = basal / sum(w * length for w, length in zip(weights, lengths, strict=True))
        steps = [
            Step(time(s // 2, 30 * (s % 2)), Q_(w * scale, f"{unit}/day"))
            for s, w in zip(starts, weights, strict=True)
        ]
        boluses = []
        if bolus_share:
            at = rng.randrange(0, 1440, 5)
            boluses.append(ScheduledBolus(time(at // 60, at % 60), Q_(dose * bolus_share, unit)))
        return Schedule.flex(steps, boluses)

    def prescription(
        self, patient: Patient, dose: float, concentration: float, at: datetime
    ) -> PrescriptionInput:
        regimen, rng = patient.regimen, patient.rng
        unit = regimen.unit
        ingredients = [IngredientInput(regimen.drug, Q_(concentration, f"{unit}/mL"))]
        if regimen.extra is not None:
            ingredients.append(IngredientInput(regimen.extra[0], Q_(regimen.extra[1])))
        bolus = None
        if regimen.ptm is not None:
            largest, most = regimen.ptm
            bolus = PatientBolus(
                Q_(round(rng.uniform(0.2, 1.0) * largest, 3), unit),
                rng.randint(1, most),
                Q_(rng.choice((2, 3, 4)), "hour"),
            )
        return PrescriptionInput(
            ingredients=tuple(ingredients),
            schedule=self.schedule(patient, dose),
            effective_at=at,
            prescriber="Dr Pia Prescriber",
            patient_bolus=bolus,
            # programmed at once, as every forecast here assumes (a nurse's high-risk order
            # would otherwise wait for the signature: tests/services/test_orders.py)
            order=OrderGiven("written", at),
            already_programmed=True,
        )

    @staticmethod
    def reasoned(data: PrescriptionInput) -> PrescriptionInput:
        """``data`` with a reason ready for any warning its check may give (the regimens stay
        far from every blocking limit, so no check blocks)."""
        return replace(
            data,
            reasons=dict.fromkeys(
                (str(code) for code in FindingCode), "prescriber's order after review"
            ),
        )

    def strength(self, patient: Patient, dose: float) -> float:
        """The weakest stock strength that lasts 30 days, as a clinic would choose (else the
        strongest)."""
        regimen = patient.regimen
        most = dose + (regimen.ptm[0] * regimen.ptm[1] if regimen.ptm else 0.0)
        for concentration in sorted(regimen.concentrations):
            if (patient.capacity - patient.alarm_ml) / (most / concentration) >= 30:
                return concentration
        return max(regimen.concentrations)

    def next_prescription(
        self,
        patient: Patient,
        at: datetime,
        *,
        new_concentration: bool,
    ) -> PrescriptionInput:
        regimen, rng = patient.regimen, patient.rng
        low, high = regimen.doses
        if patient.dose == 0:
            dose = rng.uniform(low, high)
        elif regimen.drug == "ziconotide":
            dose = min(high, max(low, patient.dose + rng.uniform(-1.0, 2.4)))
        else:
            dose = min(high, max(low, patient.dose * rng.uniform(0.8, 1.3)))
        dose = round(dose, 3)
        concentration = patient.concentration
        if regimen.constant_flow:
            assert patient.nominal_flow is not None
            concentration = dose / patient.nominal_flow
        elif new_concentration or not concentration:
            choices = [c for c in regimen.concentrations if c != concentration]
            if regimen.drug == "ziconotide" or not concentration:
                concentration = rng.choice(choices)
            else:
                concentration = rng.choice([self.strength(patient, dose), *choices])
        patient.dose, patient.concentration = dose, concentration
        return self.reasoned(self.prescription(patient, dose, concentration, at))

    def remember(self, patient: Patient, data: PrescriptionInput) -> None:
        drugs = tuple((i.drug, float(i.concentration.to("mcg/mL").m)) for i in data.ingredients)
        effective = data.effective_at.astimezone(UTC)
        patient.versions.append(Version(effective, data, ref_program(data), drugs))

    def refill_input(
        self,
        patient: Patient,
        at: datetime,
        volume: float,
        new: PrescriptionInput | None = None,
        drawn: float | None = None,
    ) -> RefillInput:
        residual = 0.0
        if patient.fills:
            fill = patient.fills[-1]
            ordered = sorted(patient.versions, key=lambda v: v.effective)
            in_force = [v for v in ordered if v.effective <= fill.at][-1:]
            periods = [
                RefPeriod(v.effective, v.program, None)
                for v in in_force + [v for v in ordered if v.effective > fill.at]
            ]
            residual = max(
                0.0, volume_with_boluses(fill, periods, at, self.tz, patient_boluses=False)
            )
        aspirated = min(patient.capacity, max(0.0, residual + patient.rng.uniform(-0.3, 0.3)))
        day = self.local_day(at)
        return RefillInput(
            performed_at=at,
            aspirated=Q_(round(aspirated, 2), "mL"),
            volume_added=Q_(volume, "mL"),
            lot_number=f"L{patient.index}-{day:%y%m%d}",
            expiry=day + timedelta(days=180),
            source="pharmacy",
            needle_position_confirmed=True,
            pump_running_confirmed=True,
            discrepancy_note="residual checked with the second nurse",
            new_prescription=new,
            bridge_acknowledged=True,
            bridge_bolus_given=drawn is not None,
            priming_bolus_given=False,
            bolus_volume=None if drawn is None else Q_(drawn, "mL"),
            undiluted=undiluted_record(patient),
        )

    def fill_volume(self, patient: Patient) -> float:
        if patient.rng.random() < 0.6:
            return patient.capacity
        return round(patient.rng.uniform(patient.alarm_ml + 3, patient.capacity), 1)

    # -- one patient's life

    def implant(self, patient: Patient, at: datetime, *, replacing: bool) -> None:
        regimen, rng = patient.regimen, patient.rng
        model = rng.choice(regimen.models)
        extra: dict[str, object] = {}
        if regimen.constant_flow:
            patient.nominal_flow = rng.choice((0.5, 1.0, 1.5))
            extra = {"capacity": Q_("20 mL"), "nominal_flow": Q_(patient.nominal_flow, "mL/day")}
        elif rng.random() < 0.5:
            extra = {"pump_path_volume": Q_("0.142 mL")}
        data = PumpInput(
            model, f"SN{patient.index}-{at:%y%m%d%H%M}", self.local_day(at), "abdomen", **extra
        )  # type: ignore[arg-type]
        catheter = catheter_input() if "pump_path_volume" in extra else None
        nurse = self.clinic.nurse
        if replacing:
            record = self.service.replace_pump(
                nurse, patient.pump_id, data, "battery ERI", catheter
            )
        else:
            record = self.service.implant_pump(nurse, patient.patient_id, data, catheter)
        patient.pump_id = record.id
        patient.accuracy = record.accuracy_percent
        patient.constant_flow = record.pump_type == "constant_flow"
        patient.capacity = float(record.capacity.to("mL").m)
        patient.alarm_ml = float(record.alarm_volume.to("mL").m)
        patient.versions, patient.fills = [], []
        patient.dose = patient.dose if replacing else 0.0

    def first_fill(self, patient: Patient, at: datetime) -> None:
        self.clinic.at(at)
        data = self.next_prescription(patient, at, new_concentration=not patient.concentration)
        self.service.change_prescription(
            self.clinic.nurse, self.clinic.check, patient.pump_id, data
        )
        self.remember(patient, data)
        fill_at = at + timedelta(minutes=patient.rng.randint(5, 90))
        self.clinic.at(fill_at)
        volume = self.fill_volume(patient)
        drawn = round(patient.rng.uniform(0.1, 0.4), 3) if patient.rng.random() < 0.3 else None
        given = self.refill_input(patient, fill_at, volume, drawn=drawn)
        outcome = self.service.record_refill(
            self.clinic.nurse, self.clinic.check, patient.pump_id, given
        )
        patient.last_refill_id = outcome.refill.id
        patient.fills.append(
            RefFill(
                fill_at,
                volume,
                drawn or 0.0,
                first_of_pump=True,
                expires_on=self.local_day(fill_at) + timedelta(days=180),
                undiluted=given.undiluted,
            )
        )
        patient.last_event = fill_at
        patient.reprogrammed = False
        self.compare(patient, "first fill")

    def refill(self, patient: Patient, at: datetime) -> None:
        rng = patient.rng
        new = None
        if rng.random() < 0.2 and not patient.regimen.constant_flow:
            change = rng.random() < 0.6
            new = self.next_prescription(patient, at, new_concentration=change)
        elif patient.regimen.constant_flow and rng.random() < 0.2:
            new = self.next_prescription(patient, at, new_concentration=True)
        volume = self.fill_volume(patient)
        drawn = round(rng.uniform(0.1, 0.5), 3) if rng.random() < 0.25 else None
        given = self.refill_input(patient, at, volume, new, drawn)
        outcome = self.service.record_refill(
            self.clinic.nurse, self.clinic.check, patient.pump_id, given
        )
        if new is not None:
            self.remember(patient, new)
        patient.last_refill_id = outcome.refill.id
        patient.fills.append(
            RefFill(
                at,
                volume,
                drawn or 0.0,
                first_of_pump=False,
                expires_on=self.local_day(at) + timedelta(days=180),
                undiluted=given.undiluted,
            )
        )
        patient.last_event = at
        patient.reprogrammed = False
        self.compare(patient, "refill" if new is None else "refill with a new prescription")
        if rng.random() < 0.05:
            later = at + timedelta(minutes=rng.randint(10, 240))
            self.clinic.at(later)
            corrected = round(max(patient.alarm_ml + 1, volume - rng.uniform(0.5, 3)), 1)
            self.service.correct_refill(
                self.clinic.nurse,
                Verification(self.clinic.second.username, PASSWORD),
                patient.last_refill_id,
                "volume typed wrong",
                volume_added=Q_(corrected, "mL"),
            )
            patient.fills[-1] = replace(patient.fills[-1], volume_ml=corrected)
            patient.last_event = later
            self.compare(patient, "corrected refill")

    def reprogram(self, patient: Patient, at: datetime) -> None:
        data = self.next_prescription(patient, at, new_concentration=False)
        self.service.change_prescription(
            self.clinic.nurse, self.clinic.check, patient.pump_id, data
        )
        self.remember(patient, data)
        patient.last_event = at
        patient.reprogrammed = True
        self.compare(patient, "reprogram")

    def refill_day(self, patient: Patient, due: date) -> date:
        rng = patient.rng
        earliest = self.local_day(patient.last_event) + timedelta(days=1)
        near = [d for d in self.special_days if due - timedelta(days=6) <= d <= due]
        if near and rng.random() < 0.5:
            day = rng.choice(near)
        elif rng.random() < 0.08:
            day = due + timedelta(days=rng.randint(1, 3))  # a little late
        else:
            day = due - timedelta(days=rng.randint(0, 5))
        return max(day, earliest)

    def script(self, patient: Patient) -> Generator[datetime, None, None]:
        rng = patient.rng
        start = SIM_START + timedelta(days=rng.uniform(0, 60))
        yield start
        record = self.service.register_patient(
            self.clinic.nurse,
            patient_input(
                f"{patient.index:06d}", patient.regimen.indication, family=f"Sim{patient.index}"
            ),
        )
        patient.patient_id = record.id
        self.implant(patient, start, replacing=False)
        self.first_fill(patient, start + timedelta(minutes=rng.randint(1, 30)))
        while True:
            due = self.due_of(patient)
            day = self.refill_day(patient, due)
            refill_at = max(self.moment(rng, day), patient.last_event + timedelta(minutes=30))
            # a constant-flow pump's dose changes only with its concentration, at a refill
            if (
                not patient.reprogrammed
                and not patient.regimen.constant_flow
                and rng.random() < 0.35
            ):
                span = (refill_at - patient.last_event).total_seconds()
                if span > 2 * 86400:
                    at = patient.last_event + timedelta(seconds=int(rng.uniform(0.1, 0.7) * span))
                    if at >= SIM_END:
                        return
                    yield at
                    self.reprogram(patient, at)
                    continue
            if refill_at >= SIM_END:
                return
            yield refill_at
            if rng.random() < 0.02:
                self.implant(patient, refill_at, replacing=True)
                self.first_fill(patient, refill_at + timedelta(minutes=rng.randint(30, 120)))
            else:
                self.refill(patient, refill_at)

    def settings_change(self) -> Generator[datetime, None, None]:
        """Halfway, the clinic changes its buffer and open days; every forecast is redone."""
        yield SIM_START + (SIM_END - SIM_START) / 2
        settings = self.service.settings()
        self.buffer_days, self.open_days = 10, frozenset({0, 2, 3})
        self.service.update_settings(
            self.clinic.admin,
            replace(
                settings,
                clinic_name="Simulated clinic",
                buffer_days=self.buffer_days,
                open_days=self.open_days,
            ),
        )
        for patient in self.patients:
            if patient.fills:
                self.compare(patient, "settings change")

    def run(self) -> None:
        self.patients = [
            Patient(
                i,
                random.Random(self.seed * 100_003 + i),
                REGIMENS[(i + self.first_regimen) % len(REGIMENS)],
                self.service,
            )
            for i in range(self.count)
        ]
        scripts: list[Iterator[datetime]] = [self.script(p) for p in self.patients]
        scripts.append(self.settings_change())
        heap: list[tuple[datetime, int]] = []
        for index, script in enumerate(scripts):
            heapq.heappush(heap, (next(script), index))
        while heap:
            moment, index = heapq.heappop(heap)
            self.clinic.at(moment)
            try:
                following = next(scripts[index])
            except StopIteration:
                continue
            heapq.heappush(heap, (max(following, self.clinic.now), index))


# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York"])
def test_refill_due_is_never_late(
    database: Database,
    zone: str,
    full_size: bool,
    harness_report: Callable[[str, int, int, float], None],
) -> None:
    started = clock_time.perf_counter()
    patients = FULL_PATIENTS_PER_ZONE if full_size else SUITE_PATIENTS_PER_ZONE
    if database.backend == "postgresql" and not full_size:
        patients = SUITE_PATIENTS_PER_ZONE_POSTGRESQL
    tz = ZoneInfo(zone)
    clinic = make_clinic(database, start=SIM_START - timedelta(days=1), tz=tz)
    simulation = Simulation(
        clinic,
        clinic.service,
        patients,
        seed=7 if zone == "Europe/Berlin" else 11,
        first_regimen=0 if full_size else SUITE_FIRST_REGIMEN[(database.backend, zone)],
    )
    simulation.run()
    seconds = clock_time.perf_counter() - started
    harness_report(
        f"7 refill-due never late {zone} {database.backend}",
        simulation.checks,
        len(simulation.failures),
        seconds,
    )
    shown = "\n".join(
        f"patient {f.patient} after {f.event}: {f.detail}" for f in simulation.failures[:10]
    )
    assert not simulation.failures, f"{len(simulation.failures)} disagreements:\n{shown}"
    assert simulation.checks >= patients * 10


@pytest.mark.parametrize(
    ("zone", "fall_back"),
    [("Europe/Berlin", date(2026, 10, 25)), ("America/New_York", date(2026, 11, 1))],
)
def test_stability_limit_counts_real_days_across_a_fall_back(
    database: Database,
    zone: str,
    fall_back: date,
) -> None:
    """Morphine is stable 90 days from the fill. A fill at 00:30 local time, 90 days before a
    day after the autumn clock change, reaches its limit at 23:30 the day before on the wall
    clock: counting wall-clock days instead gave a due date one day late."""
    tz = ZoneInfo(zone)
    day = next(
        fall_back - timedelta(days=n)
        for n in range(1, 89)
        if (fall_back - timedelta(days=n) + timedelta(days=90)).weekday() == 2
    )
    filled = datetime.combine(day, time(0, 30), tz).astimezone(UTC)
    clinic = make_clinic(database, start=filled - timedelta(days=1), tz=tz)
    service = clinic.service
    patient = service.register_patient(clinic.nurse, patient_input("800001", "cancer_pain"))
    pump = service.implant_pump(
        clinic.nurse,
        patient.id,
        PumpInput("synchromed2-40", "SN-DST", day - timedelta(days=2), "abdomen"),
        None,
    )
    clinic.at(filled)
    service.change_prescription(
        clinic.nurse,
        clinic.check,
        pump.id,
        PrescriptionInput(
            (IngredientInput("morphine", Q_("25 mg/mL")),),
            Schedule.simple(Q_("2 mg/day")),
            filled - timedelta(hours=1),
            "Dr Pia Prescriber",
            order=OrderGiven("written", filled - timedelta(hours=1)),
            continues={"morphine": Q_("2 mg/day")},  # not a start (domain-rules §6)
        ),
    )
    clinic.at(filled)
    outcome = service.record_refill(
        clinic.nurse,
        clinic.check,
        pump.id,
        RefillInput(
            performed_at=filled,
            aspirated=Q_("0 mL"),
            volume_added=Q_("40 mL"),
            lot_number="L1",
            expiry=day + timedelta(days=200),
            source="pharmacy",
            needle_position_confirmed=True,
            pump_running_confirmed=True,
        ),
    )
    limit = (filled + timedelta(days=90)).astimezone(tz)
    assert limit.date() == day + timedelta(days=89) and limit.hour == 23  # Tuesday 23:30
    assert outcome.forecast is not None
    assert outcome.forecast.refill_due_reason == "stability"
    assert outcome.forecast.refill_due == limit.date()
