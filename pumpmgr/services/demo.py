"""A realistic demo clinic, written entirely through :class:`ClinicService` (application layer).

May import the standard library, argon2-cffi, the pure modules (clock, schedule, units, refill,
records), ``pumpmgr.db`` (to count what was written) and the other services; never ``ui``, Qt or
reportlab. Used by ``pumpmgr demo`` and by tests and screens that need a full clinic.

:func:`build_demo_clinic` fills an *empty* database with several years of clinic life, dated
relative to today, by calling the same service methods the screens call (each one transaction
with its audit entries and forecast update), so the audit trail is complete and verifies. A
:class:`~pumpmgr.clock.FixedClock` is moved forward through the history (the services refuse
instants in the future) and is left at the start of ``today``. The same seed, patient count,
``today`` and time zone give the same records and the same audit chain.

Demo users (the passwords are for this demo only and must never be used for real accounts; they
are hashed with a deliberately cheap argon2 setting, ``PasswordHasher(time_cost=1,
memory_cost=1024, parallelism=1)``, so that building the demo is quick; a real sign-in upgrades
such a hash to the full setting)::

    user name    password               role
    admin        demo-admin-pass        administrator
    nurse1       demo-nurse-pass        nurse
    nurse2       demo-nurse-pass        nurse
    prescriber   demo-prescriber-pass   prescriber

What the clinic holds (the first six patients always have these, so even a small demo does):

- pumps: SynchroMed II 20 and 40 mL, Prometra II 20 and 40 mL, an IsoMed 35 mL constant-flow pump
  at a nominal 0.5 mL/day with compounded morphine matching it, and a legacy SynchroMed EL 18 mL
  that reaches its elective replacement indicator and is replaced by a SynchroMed II 40 mL;
- drugs: mostly baclofen at 500, 1000 and 2000 mcg/mL, morphine, ziconotide, hydromorphone, and
  the admixtures morphine + clonidine and hydromorphone + bupivacaine; flex schedules for some,
  patient-activated boluses for some;
- refills at roughly each due date with aspirated volumes near the expected residual, a few
  discrepancies with a note, a titration beyond the rule saved with its reasons, a
  concentration change with its bridge bolus, a corrected refill, an MRI with the post-MRI check,
  a catheter revision, a pump replacement, a pump whose replace-by date is under 6 months away,
  some patients overdue and some due this week (with 10 patients or more also an explanted pump);
- bookings (issue 16): the last six weeks' refills were booked visits, closed as attended by the
  refill; today's diary has visits booked in time on the proposed day, one booked too late with
  its reason, one cancelled and booked again, one moved, and a patient due within days who did
  not attend yesterday's visit (first on the due list, with the call list).

Catheters of Medtronic pumps are recorded as the clinic-defined catheter with an illustrative
volume per cm (the catalog never defaults a Medtronic per-cm volume), and serial and lot numbers,
names and telephone numbers (555-01xx) are invented. Nothing here is clinical advice.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Literal

from argon2 import PasswordHasher
from sqlalchemy import func, select

from pumpmgr.clock import FixedClock
from pumpmgr.db import schema as db
from pumpmgr.db.engine import Database
from pumpmgr.dose_checks import DoseCheck
from pumpmgr.errors import Code, ImpossibleInput, InputError
from pumpmgr.records import DueRow, Indication, PrescriptionRecord
from pumpmgr.refill import discrepancy, discrepancy_threshold
from pumpmgr.schedule import PatientBolus, Schedule, Step
from pumpmgr.services.clinic import Actor, ClinicService, RefillOutcome
from pumpmgr.services.exchange import require_empty
from pumpmgr.services.inputs import (
    CatheterInput,
    IngredientInput,
    OrderGiven,
    PatientInput,
    PrescriptionInput,
    PumpInput,
    RefillInput,
    SegmentInput,
    TenfoldConfirmation,
    TenfoldReason,
    Verification,
)
from pumpmgr.units import Q_, Quantity

#: Cheap on purpose (demo only): see the module docstring.
DEMO_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
WORKSTATION = "demo"
#: How far back the records go (patients implanted earlier were transferred in).
HISTORY_DAYS = round(4.5 * 365.25)
#: Refills in the last weeks of the history were booked first (the visit closed as attended
#: by the refill); the older history predates the clinic's bookings.
BOOKED_HISTORY_DAYS = 42
MAX_PATIENTS = 2000
Role = Literal["nurse", "prescriber", "administrator"]
Category = Literal["overdue", "week", "fine"]


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    full_name: str
    role: Role


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("admin", "demo-admin-pass", "Alex Morgan", "administrator"),
    DemoUser("nurse1", "demo-nurse-pass", "Nora Lindqvist", "nurse"),
    DemoUser("nurse2", "demo-nurse-pass", "Samuel Okoro", "nurse"),
    DemoUser("prescriber", "demo-prescriber-pass", "Dr Helen Brandt", "prescriber"),
    # the second signature of an individual maximum (domain-rules §6)
    DemoUser("prescriber2", "demo-prescriber-pass", "Dr Omar Haddad", "prescriber"),
)


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`build_demo_clinic` wrote."""

    users: tuple[DemoUser, ...]
    first_day: date
    today: date
    patients: int
    pumps: int
    prescriptions: int
    refills: int
    discrepancies: int  #: refills whose residual said "investigate" (each with its note)
    events: int
    #: Service methods called, by name, and how often (each is one transaction).
    calls: Mapping[str, int]
    audit_entries: int
    overdue: tuple[str, ...]  #: MRNs
    due_this_week: tuple[str, ...]  #: MRNs
    replace_within_6_months: tuple[str, ...]  #: MRNs

    @property
    def actions(self) -> int:
        return sum(self.calls.values())


# ------------------------------------------------------------------------------ the plans

FAMILY = (
    "Almeida", "Bauer", "Castillo", "Dubois", "Eriksen", "Fischer", "García", "Haddad",
    "Ivanova", "Jansen", "Kowalski", "Laurent", "Moreau", "Nakamura", "O'Neill", "Petrov",
    "Quinn", "Rossi", "Schneider", "Tanaka", "Usman", "Varga", "Weber", "Xu", "Yilmaz",
    "Zimmermann", "Andersson", "Becker", "Costa", "Diallo", "Evans", "Ferreira", "Gallagher",
    "Hoffmann", "Ibrahim", "Jovanović", "Keller", "Lindberg", "Mensah", "Novak",
)
GIVEN = (
    "Anna", "Ben", "Clara", "David", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Karin",
    "Luca", "Maya", "Nils", "Olivia", "Pavel", "Rosa", "Stefan", "Tara", "Umar", "Vera",
    "Walter", "Yara", "Zoe", "Amir", "Birgit", "Carlos", "Dana", "Emil", "Fatima",
)
RELATION = ("spouse", "partner", "child", "parent", "sibling", "friend")
SITES = ("right lower abdomen", "left lower abdomen")

_REASONS: dict[str, str] = {
    "dose.above_soft_max": "long-standing dose, effective and tolerated; reviewed at clinic",
    "dose.above_typical": "reached by gradual titration over months; tolerated",
    "dose.below_typical": "effective at this dose; patient sensitive to side effects",
    "dose.tenth_of_typical": "deliberately low starting dose; reviewed",
    "concentration.above_unverified_max": "compounded to the pharmacy's protocol; "
    "concentration checked by the pharmacist",
    "titration.above_percent": "increase ordered by the prescriber after review; patient "
    "observed in clinic",
    "titration.above_step": "prescriber's order after review; patient observed in clinic",
    "titration.too_many_steps": "rapid titration agreed with the patient; daily phone contact",
    "titration.within_24h": "correction of the morning's programming; prescriber present",
}

_NOTES_LESS = (
    "Less returned than expected. Pocket fill excluded: no swelling or pain at the pump site, "
    "patient alert, no signs of overdose. Pump interrogated, no alarms. Recheck next refill.",
    "Less returned than expected. Patient reports extra bolus use after a fall; PTM log "
    "reviewed and matches. No overdose signs.",
)
_NOTES_MORE = (
    "More returned than expected (under-infusion). Pump log shows a motor stall that recovered; "
    "rotor study normal. Catheter access port aspirated: CSF clear. Physician informed.",
    "More returned than expected. Spasticity increased over the last weeks; catheter dye study "
    "booked. Physician informed.",
)
#: The reason given for the demo's one titration beyond the rule.
TITRATION_REASON = ("no effect from the last two increases (Ashworth 3, painful spasms at "
                    "night); prescriber's order after examination, patient observed in clinic "
                    "for 4 h")
_NOTE_ANY = ("Residual outside the expected range; pump interrogated, no alarm, running. "
             "Recheck at next refill.")


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

    def schedule(self) -> Schedule:
        if not self.flex:
            return Schedule.simple(Q_(round(self.dose, 3), "mcg/day"))
        minutes = [s.hour * 60 + s.minute for s, _ in self.flex] + [24 * 60]
        weight = sum(w * (minutes[i + 1] - minutes[i]) / 60 for i, (_, w) in
                     enumerate(self.flex))
        base = self.dose / 24 / (weight / 24)  # mcg/h at relative rate 1
        return Schedule.flex([Step(start, Q_(round(base * w, 2), "mcg/h"))
                              for start, w in self.flex])

    def patient_bolus(self) -> PatientBolus | None:
        if self.bolus is None:
            return None
        amount, per_day, lockout = self.bolus
        return PatientBolus(Q_(amount, "mcg"), per_day, Q_(lockout, "h"))

    @property
    def concentration(self) -> float:
        return self.ingredients[0][1]


def aspirate(rng: random.Random, regimen: Regimen, *, expected: float, final: float,
             days: float, capacity: float, kind: str | None) -> tuple[float, str]:
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
        used = min(regimen.bolus[0] * regimen.boluses_used * days / regimen.concentration,
                   0.3)
    aspirated = expected + noise - used
    note = ""
    if kind in ("less_returned", "more_returned"):
        threshold = float(discrepancy_threshold(Q_(capacity, "mL")).m)  # domain-rules §4
        shift = threshold + rng.uniform(0.4, 1.4)
        aspirated = expected - shift if kind == "less_returned" else expected + shift
        note = rng.choice(_NOTES_LESS if kind == "less_returned" else _NOTES_MORE)
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


@dataclass
class _State:
    pump_id: int
    capacity: float
    alarm: float
    accuracy: float | None
    last: datetime
    final: float
    due: date
    interval: int
    dead_space: float | None
    catheter: CatheterInput
    busy: datetime  #: the patient's last action (the next one comes after it)


# ------------------------------------------------------------------------------ the builder


def build_demo_clinic(
    database: Database,
    *,
    patients: int = 24,
    seed: int = 1,
    today: date | None = None,
    progress: Callable[[float], None] | None = None,
    tz: tzinfo | None = None,
) -> DemoSummary:
    """Fill an empty database with a demo clinic of ``patients`` patients (see the module
    docstring). ``progress`` is called with the fraction of the history written so far."""
    if not 1 <= patients <= MAX_PATIENTS:
        raise ValueError(f"patients: give 1 to {MAX_PATIENTS}, not {patients}")
    with database.read() as session:
        require_empty(session, "the demo clinic is written")
    if tz is None:
        import tzlocal

        tz = tzlocal.get_localzone()
    if today is None:
        today = datetime.now(tz).date()
    return _Demo(database, patients, seed, today, tz, progress).build()


def _open_day(day: date) -> date:
    """The day itself, or the Friday before a weekend."""
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def _years(n: float) -> timedelta:
    return timedelta(days=round(n * 365.25))


class _Demo:
    def __init__(self, database: Database, patients: int, seed: int, today: date, tz: tzinfo,
                 progress: Callable[[float], None] | None) -> None:
        self.patients = patients
        self.seed = seed
        self.today = today
        self.tz = tz
        self.progress = progress
        self.first_day = _open_day(today - timedelta(days=HISTORY_DAYS))
        self.end = datetime.combine(today, time(0, 0), tz)
        self.clock = FixedClock(self.at(self.first_day, time(7, 30)))
        self.clinic = ClinicService(database, clock=self.clock, tz=tz, workstation=WORKSTATION,
                                    hasher=DEMO_HASHER)
        self.calls: Counter[str] = Counter()
        self.users: dict[str, Actor] = {}

    # -- time

    def at(self, day: date, moment: time) -> datetime:
        return datetime.combine(day, moment, self.tz)

    def visit(self, rng: random.Random, day: date) -> datetime:
        return self.at(day, time(rng.randint(8, 15), rng.choice((0, 15, 30, 45))))

    # -- service calls, counted

    def call(self, name: str) -> None:
        self.calls[name] += 1

    def check(self, user: str) -> Verification:
        spec = next(u for u in DEMO_USERS if u.username == user)
        return Verification(spec.username, spec.password)

    def nurses(self, rng: random.Random) -> tuple[Actor, Verification]:
        first, second = ("nurse1", "nurse2") if rng.random() < 0.5 else ("nurse2", "nurse1")
        return self.users[first], self.check(second)

    # -- the run

    def build(self) -> DemoSummary:
        self.setup()
        plans = [self.plan(i) for i in range(self.patients)]
        heap: list[tuple[datetime, int, Generator[datetime, None, None]]] = []
        for plan in plans:
            script = self.life(plan)
            first = next(script, None)
            if first is not None:
                heapq.heappush(heap, (first, plan.index, script))
        span = (self.end - self.clock.now()).total_seconds()
        reported = -1.0
        while heap:
            moment, index, script = heapq.heappop(heap)
            if moment >= self.end:
                script.close()
                continue
            self.clock.moment = max(self.clock.moment, moment + timedelta(minutes=3))
            following = next(script, None)
            if following is not None:
                if following < moment:
                    raise AssertionError(f"demo patient {index}: script went back in time")
                heapq.heappush(heap, (following, index, script))
            if self.progress is not None:
                done = 1 - (self.end - moment).total_seconds() / span
                if done - reported >= 0.02:
                    reported = done
                    self.progress(min(done, 1.0))
        self.missed_visit()
        # the orders' scene in the last hour before the end, after everything else
        self.clock.moment = max(self.clock.moment, self.end - timedelta(hours=1))
        self.orders_scene()
        self.clock.moment = max(self.clock.moment, self.end)
        self.bookings_today()
        if self.progress is not None:
            self.progress(1.0)
        return self.summary()

    # -- orders and incidents (domain-rules §4a, §7): each state at least once, on the last
    #    day, as far as the clinic has patients on a simple program

    def orders_scene(self) -> None:
        prescriber = self.users["prescriber"]
        password = next(u.password for u in DEMO_USERS if u.username == "prescriber")
        nurse, check = self.users["nurse1"], self.check("nurse2")
        # the first patient shows a signed order and a reviewed incident (so even a small
        # demo holds a row of each table), the next ones the other states
        # the pumps due last, so the due list's other states stay as the history left them;
        # the urgent ones (a declined order, an open incident) only in a clinic of ten or more
        rows = self.clinic.due_list(today=self.today)[::-1]
        scenes = ["signed", "incident_reviewed", "held", "awaiting"]
        if len(rows) >= 10:
            scenes += ["declined", "incident"]
        index = 0
        while scenes and index < len(rows):
            row = rows[index]
            index += 1
            rx = self.clinic.patient_chart(row.patient_id).prescription
            scene = scenes[0]
            if rx is None:
                continue
            if scene in ("incident_reviewed", "held", "incident") and (
                    row.pump_type == "constant_flow"):
                continue  # a constant-flow pump's dose changes only with its solution
            self.clock.moment += timedelta(minutes=7)
            now = self.clock.now()
            current = rx.schedule.daily_dose()
            drug = self.clinic.library().drug(rx.primary.drug)
            dose: Quantity | None = None
            fact = scene.startswith("incident")
            if fact:
                # found at interrogation: programmed above the limit on another service
                limit = drug.hard_max.value if drug.hard_max is not None else (
                    drug.typical_max.value * 10)
                dose = (limit * 1.05).to(current.units)
            elif scene == "held":
                dose = current * 1.5
            data = self.order_input(rx, dose, now, fact=fact)
            if not fact and self.clinic.check_prescription(row.pump_id, data).blocked:
                continue  # not this patient's program: the next one
            scenes.pop(0)
            outcome = self.clinic.change_prescription(nurse, check, row.pump_id, data)
            self.call("record_programmed_change" if fact else "change_prescription")
            order_id = outcome.prescription.id
            if scene == "incident_reviewed":
                (incident, *_) = self.clinic.orders.incidents(row.patient_id)
                self.clinic.orders.review_incident(
                    prescriber, incident.id, "the pump was reprogrammed to the ordered dose "
                    "at the visit; patient well")
                self.call("review_incident")
                self.reprogram_back(rx)
            elif scene == "signed":
                self.clinic.orders.sign_order(prescriber, order_id, password)
                self.call("sign_order")
                if scenes and scenes[0] == "incident_reviewed":
                    index -= 1  # the same patient again
            elif scene == "declined":
                self.clinic.orders.decline_order(prescriber, order_id, password,
                                                 "not the change I asked for; call me")
                self.call("decline_order")
        self.individual_maximum(rows)

    def individual_maximum(self, rows: list[DueRow]) -> None:
        """One baclofen patient whose hard maximum a prescriber raised, with a second
        prescriber's signature (domain-rules §6): shown on the patient's page."""
        for row in rows:
            if "baclofen" not in row.drug_keys:
                continue
            self.clock.moment += timedelta(minutes=5)
            self.clinic.maxima.raise_maximum(
                self.users["prescriber"], self.check("prescriber2"), row.patient_id,
                "baclofen", Q_("3000 mcg/day"), "severe dystonia; 2,000 mcg/day failed; "
                "agreed at the spasticity board")
            self.call("raise_individual_maximum")
            return

    def reprogram_back(self, rx: PrescriptionRecord) -> None:
        """The program ``rx`` put back after an incident, as its review says: the
        prescriber's own order (a cut this large is typed again blind, domain-rules §6)."""
        self.clock.moment += timedelta(minutes=3)
        data = replace(self.order_input(rx, None, self.clock.now(), fact=False), order=None)
        tenfold = self.clinic.check_prescription(rx.pump_id, data).needs_prescriber
        if tenfold:
            daily = rx.program.max_daily_volume()  # D_max, as the check compares
            data = replace(data, tenfold=TenfoldConfirmation(
                {i.drug: (daily * i.concentration).to("mcg/day") for i in rx.ingredients},
                TenfoldReason.OVERDOSE_OR_ADVERSE_EFFECT))
        self.clinic.change_prescription(self.users["prescriber"], self.check("nurse1"),
                                        rx.pump_id, data)
        self.call("confirm_tenfold_change" if tenfold else "change_prescription")

    def order_input(self, rx: PrescriptionRecord, dose: Quantity | None, at: datetime, *,
                    fact: bool) -> PrescriptionInput:
        """A telephone order for ``dose`` of ``rx``'s solution (None: its program again),
        read back, with a reason for every warning its check gives."""
        data = PrescriptionInput(
            ingredients=tuple(IngredientInput(i.drug, i.concentration) for i in rx.ingredients),
            schedule=rx.schedule if dose is None else Schedule.simple(dose), effective_at=at,
            prescriber=self.users["prescriber"].full_name, patient_bolus=rx.patient_bolus,
            order=OrderGiven("telephone", at, read_back_confirmed=True),
            already_programmed=fact)
        check = self.clinic.check_prescription(rx.pump_id, data)
        return replace(data, reasons={
            str(f.code): _REASONS.get(str(f.code), "reviewed by the prescriber; accepted")
            for f in check.findings if f.level == "warning"})

    def setup(self) -> None:
        admin_spec, *others = DEMO_USERS
        admin = self.clinic.create_first_administrator(admin_spec.username, admin_spec.password,
                                                       admin_spec.full_name)
        self.call("create_first_administrator")
        self.users[admin.username] = admin
        for spec in others:
            self.clinic.add_user(admin, spec.username, spec.password, spec.full_name, spec.role)
            self.call("add_user")
            self.users[spec.username] = self.clinic.sign_in(spec.username, spec.password)
            self.call("sign_in")
        settings = self.clinic.settings()
        self.clinic.update_settings(admin, replace(
            settings, clinic_name="Demo Intrathecal Pump Clinic", clinic_phone="555-0100",
            buffer_days=7, open_days=frozenset(range(5)),
            # the zone the clinic's days were laid out in: the settings page shows it, and
            # the clinic opened on a workstation elsewhere keeps its own days and times
            time_zone=getattr(self.tz, "key", None) or settings.time_zone))
        self.call("update_settings")

    def summary(self) -> DemoSummary:
        due = self.clinic.due_list(today=self.today)
        with self.clinic.database.read() as session:
            def count(model: type[db.Base]) -> int:
                return int(session.scalar(select(func.count()).select_from(model)) or 0)

            investigate = int(session.scalar(select(func.count()).select_from(db.Refill).where(
                db.Refill.discrepancy_verdict == "investigate")) or 0)
            audit = count(db.AuditEntry)
            totals = (count(db.Patient), count(db.Pump), count(db.Prescription),
                      count(db.Refill), count(db.PumpEvent))
        soon = self.today + timedelta(days=183)
        return DemoSummary(
            users=DEMO_USERS, first_day=self.first_day, today=self.today,
            patients=totals[0], pumps=totals[1], prescriptions=totals[2], refills=totals[3],
            discrepancies=investigate, events=totals[4], calls=dict(sorted(self.calls.items())),
            audit_entries=audit,
            overdue=tuple(r.mrn for r in due if r.state == "overdue"),
            due_this_week=tuple(r.mrn for r in due if r.state == "due_this_week"),
            replace_within_6_months=tuple(r.mrn for r in due if r.replace_by is not None
                                          and r.replace_by <= soon),
        )

    # -- one patient's life, as a script that yields when it next wants to act

    def life(self, plan: Plan) -> Generator[datetime, None, None]:
        rng = plan.rng
        nurse, _ = self.nurses(rng)
        yield self.at(plan.registered_on, time(8, 0))
        patient = self.clinic.register_patient(nurse, plan.patient)
        self.call("register_patient")
        day = max(plan.implanted_on, plan.registered_on)
        yield self.at(day, time(12, 0))
        state = yield from self.new_pump(plan, patient.id, day, None)
        while True:
            mid = _open_day(state.last.date() + timedelta(days=max(10, state.interval // 3)))
            pending = [e for e in plan.events if not e.done and e.when <= mid
                       and e.kind in _MID_EVENTS]
            if pending and state.last.date() < mid < min(state.due, self.today):
                event = pending[0]
                event.done = True
                moment = self.later(state, self.visit(rng, mid))
                yield moment
                if event.kind == "explant":
                    yield from self.explant(plan, patient.id, state, moment)
                    return
                if event.kind == "replace":
                    state = yield from self.replace(plan, patient.id, state, moment)
                    continue
                self.mid_event(plan, state, event, moment)
                continue
            day_next = self.next_refill(plan, state)
            if day_next is None:
                return
            moment = self.later(state, self.visit(rng, day_next))
            yield moment
            yield from self.refill(plan, state, moment)

    def new_pump(self, plan: Plan, patient_id: int, day: date, old: _State | None,
                 ) -> Generator[datetime, None, _State]:
        """Implant (or replace) a pump, prescribe and fill it; returns the new state."""
        rng = plan.rng
        nurse, check = self.nurses(rng)
        spec = plan.pump
        catheter = plan.catheter if old is None else old.catheter
        replace_by = None
        if spec.replace_years is not None:
            replace_by = plan.implanted_on + _years(spec.replace_years) if old is None else (
                day + _years(spec.replace_years))
        data = PumpInput(
            spec.model_key, spec.serial, plan.implanted_on if old is None else day, spec.site,
            capacity=None if spec.capacity is None else Q_(spec.capacity),
            nominal_flow=None if spec.nominal_flow is None else Q_(spec.nominal_flow),
            pump_path_volume=None if spec.path_volume is None else Q_(spec.path_volume, "mL"),
            replace_by=replace_by,
        )
        if old is None:
            pump = self.clinic.implant_pump(nurse, patient_id, data, catheter)
            self.call("implant_pump")
        else:
            pump = self.clinic.replace_pump(
                nurse, old.pump_id, data,
                "elective replacement indicator reached; new pump connected to the existing "
                "catheter", catheter)
            self.call("replace_pump")
        prescribed = self.at(day, time(12, 30))
        yield prescribed
        self.prescribe(plan, pump.id, prescribed)
        filled = self.at(day, time(12, 45))
        yield filled
        capacity = float(pump.capacity.to("mL").m)
        outcome = self.clinic.record_refill(nurse, check, pump.id, self.refill_input(
            plan, filled, 0.0, capacity, note=""))
        self.call("record_refill")
        dead = None
        if spec.path_volume is not None:
            dead = spec.path_volume + sum(
                float(s.implanted_length.to("cm").m) * float(s.volume_per_length.to("mL/cm").m)
                for s in catheter.segments)
        state = _State(pump.id, capacity, float(pump.alarm_volume.to("mL").m),
                       pump.accuracy_percent, filled, 0.0, self.today, 60, dead, catheter,
                       filled)
        self.after_refill(state, outcome, filled)
        return state

    def prescription(self, plan: Plan, pump_id: int, at: datetime,
                     reasons: Mapping[str, str] | None = None) -> PrescriptionInput:
        regimen = plan.regimen
        data = PrescriptionInput(
            ingredients=tuple(IngredientInput(d, Q_(c, "mcg/mL")) for d, c in
                              regimen.ingredients),
            schedule=regimen.schedule(), effective_at=at,
            prescriber=self.users["prescriber"].full_name,
            patient_bolus=regimen.patient_bolus(),
            # a nurse's entry (with a refill) records the prescriber's written order
            order=OrderGiven("written", at),
        )
        check: DoseCheck = self.clinic.check_prescription(pump_id, data)
        if check.verdict == "blocked":
            raise AssertionError(f"demo patient {plan.index}: a blocked prescription: "
                                 + "; ".join(f.message for f in check.findings))
        given = dict(reasons or {})
        for finding in check.findings:
            code = str(finding.code)
            if finding.level == "warning" and code not in given:
                given[code] = _REASONS.get(code, "reviewed by the prescriber; accepted")
        return replace(data, reasons=given)

    def prescribe(self, plan: Plan, pump_id: int, at: datetime,
                  reasons: Mapping[str, str] | None = None) -> date | None:
        outcome = self.clinic.change_prescription(
            self.users["prescriber"], self.check(plan.rng.choice(("nurse1", "nurse2"))),
            pump_id, self.prescription(plan, pump_id, at, reasons))
        self.call("change_prescription")
        return None if outcome.forecast is None else outcome.forecast.refill_due

    def refill_input(self, plan: Plan, at: datetime, aspirated: float, volume: float, *,
                     note: str, new: PrescriptionInput | None = None,
                     bridge_volume: float | None = None) -> RefillInput:
        rng, regimen = plan.rng, plan.regimen
        day = at.astimezone(self.tz).date()
        return RefillInput(
            performed_at=at, aspirated=Q_(aspirated, "mL"), volume_added=Q_(volume, "mL"),
            lot_number=f"{regimen.lot_prefix}-{day:%y%m}-{rng.randint(100, 999)}",
            expiry=day + timedelta(days=rng.randint(*regimen.shelf_days)),
            source=regimen.source, needle_position_confirmed=True, pump_running_confirmed=True,
            discrepancy_note=note, new_prescription=new,
            bridge_acknowledged=new is not None,
            bridge_bolus_given=bridge_volume is not None,
            bolus_volume=None if bridge_volume is None else Q_(round(bridge_volume, 3), "mL"),
        )

    @staticmethod
    def later(state: _State, moment: datetime) -> datetime:
        """``moment``, or just after the patient's last action if that was later."""
        moment = max(moment, state.busy + timedelta(minutes=20))
        state.busy = moment
        return moment

    def after_refill(self, state: _State, outcome: RefillOutcome, at: datetime) -> None:
        state.busy = max(state.busy, at)
        state.last = at
        state.final = float(outcome.refill.final_volume.to("mL").m)
        if outcome.forecast is not None:
            state.due = outcome.forecast.refill_due
        state.interval = max(7, (state.due - at.astimezone(self.tz).date()).days)

    def next_refill(self, plan: Plan, state: _State) -> date | None:
        """Roughly at the due date; the last refill before today is placed so the patient ends
        overdue, due this week or fine as planned. None: no more refills before today."""
        rng = plan.rng
        last = state.last.astimezone(self.tz).date()
        day = state.due - timedelta(days=rng.choice((0, 0, 1, 1, 2, 3, 4, 7)))
        if rng.random() < 0.08 and state.due + timedelta(days=2) < self.today:
            day = state.due + timedelta(days=rng.randint(1, 2))  # the patient came a bit late
        day = _open_day(max(day, last + timedelta(days=10)))
        if plan.category == "overdue":
            goal = self.today - timedelta(days=plan.offset)
            if day + timedelta(days=state.interval) >= goal:
                target = goal - timedelta(days=state.interval)
                if (target - last).days < 14:
                    return None  # the patient missed this refill
                day = _open_day(target)
        elif plan.category == "week":
            goal = self.today + timedelta(days=plan.offset)
            if day + timedelta(days=state.interval) >= goal:
                target = goal - timedelta(days=state.interval)
                if (target - last).days < 3:
                    return None
                day = _open_day(target)
        elif day >= self.today and state.due < self.today:
            day = _open_day(self.today - timedelta(days=1))
        if day >= self.today or day <= last:
            return None
        return day

    def refill(self, plan: Plan, state: _State, moment: datetime) -> Iterator[datetime]:
        rng, regimen = plan.rng, plan.regimen
        nurse, check = self.nurses(rng)
        day = moment.astimezone(self.tz).date()
        bound = [e for e in plan.events if not e.done and e.when <= day
                 and e.kind in _REFILL_EVENTS]
        event = bound[0] if bound else None
        if event is not None:
            event.done = True
        expected_q = self.clinic.expected_now(state.pump_id, moment)
        expected = 0.0 if expected_q is None else float(expected_q.to("mL").m)
        aspirated, note = aspirate(
            rng, regimen, expected=expected, final=state.final,
            days=(moment - state.last).total_seconds() / 86400, capacity=state.capacity,
            kind=None if event is None else event.kind)
        if state.final > 0 and not note:
            verdict = discrepancy(
                fill_volume=Q_(state.final, "mL"), expected=Q_(expected, "mL"),
                actual=Q_(aspirated, "mL"), reservoir_capacity=Q_(state.capacity, "mL"),
                accuracy_percent=state.accuracy, note=_NOTE_ANY).verdict
            if verdict != "ok":  # investigate or found empty: the services ask for a note
                note = _NOTE_ANY
        new = None
        bridge_volume = None
        if event is not None and event.kind == "concentration":
            old = regimen.concentration
            regimen.ingredients = ((regimen.ingredients[0][0], event.value),
                                   *regimen.ingredients[1:])
            if plan.pump.nominal_flow is not None:
                regimen.dose = regimen.dose * event.value / old  # constant flow: dose follows
            new = self.prescription(plan, state.pump_id, moment)
            bridge_volume = state.dead_space
        volume = plan.pump.fill or state.capacity
        booked = day >= self.today - timedelta(days=BOOKED_HISTORY_DAYS) and self.book_visit(
            nurse, state.pump_id, day, moment)
        outcome = self.clinic.record_refill(nurse, check, state.pump_id, self.refill_input(
            plan, moment, aspirated, volume, note=note, new=new, bridge_volume=bridge_volume))
        self.call("record_refill")
        if booked:
            self.call("attended_by_refill")
        if event is not None and event.kind == "correction":
            correct_at = self.later(state, moment + timedelta(minutes=40))
            yield correct_at
            typed = outcome.refill.lot_number
            self.clinic.correct_refill(
                nurse, check, outcome.refill.id,
                "lot number mistyped; corrected from the label kept with the refill kit",
                lot_number=typed[:-1] + str((int(typed[-1]) + 1) % 10))
            self.call("correct_refill")
        self.after_refill(state, outcome, moment)

    def book_visit(self, nurse: Actor, pump_id: int, day: date, moment: datetime) -> bool:
        """Book the refill visit of ``day`` (checked as any booking); a visit the forecast
        refuses is not booked (the refill goes ahead, as a walk-in)."""
        at = moment.astimezone(self.tz).time().replace(second=0, microsecond=0)
        try:
            try:
                self.clinic.bookings.book(nurse, pump_id, day, at=at)
            except InputError as late:
                if late.field != "reason":
                    raise
                self.clinic.bookings.book(nurse, pump_id, day, at=at,
                                          reason="first day the patient could come")
        except ImpossibleInput as refused:
            if refused.code is not Code.BOOKING_REFUSED:
                raise
            return False
        self.call("book_visit")
        return True

    def missed_visit(self) -> None:
        """On the last open day before today: the patient due soonest whose visit that afternoon
        is in time, booked and did not attend (first on today's due list, with the call list).
        A pump already past its due date is not chosen: the worst case usually sets that date
        (domain-rules §3), so a day after it is refused. Skipped when the history's last action
        was already later than that afternoon."""
        day = _open_day(self.today - timedelta(days=1))
        afternoon = self.at(day, time(16, 0))
        if self.clock.moment > afternoon:
            return
        self.clock.moment = afternoon
        nurse, other = self.users["nurse1"], self.users["nurse2"]
        # the due list is ordered by urgency: the soonest due first here
        soonest = sorted((r for r in self.clinic.due_list(today=day) if r.refill_due >= day),
                         key=lambda r: (r.refill_due, r.pump_id))
        for row in soonest:
            try:
                booking = self.clinic.bookings.book(nurse, row.pump_id, day, at=time(16, 30))
            except (ImpossibleInput, InputError):
                continue  # not bookable that afternoon (the day full, a date refused)
            self.call("book_visit")
            self.clock.moment = self.at(day, time(17, 30))
            self.clinic.bookings.mark_did_not_attend(other, booking.booking.id,
                                                     "no answer at home")
            self.call("mark_did_not_attend")
            return

    def bookings_today(self) -> None:
        """Today's diary, with a booking in every state besides the missed visit (left for the
        call list): visits due within the horizon booked in time on the proposed day, one
        cancelled and booked again, one moved, and one booked too late with its reason: the
        soonest due pump whose worst-case low date leaves an open day after its refill-due date
        (where the worst case sets that date, no day after it can be booked; domain-rules §3)."""
        nurse, other = self.users["nurse1"], self.users["nurse2"]
        horizon = self.today + timedelta(days=self.clinic.settings().booking_horizon_days)
        # the due list is ordered by urgency: the soonest due first here
        coming = sorted((r for r in self.clinic.due_list(today=self.today)
                         if r.refill_due > self.today and r.booking != "did_not_attend"),
                        key=lambda r: (r.refill_due, r.pump_id))
        bookings = self.clinic.bookings
        later = [r for r in coming if r.refill_due <= horizon]
        late_pump = None
        for row in coming:
            if later and row.pump_id == later[0].pump_id:
                continue  # the visit cancelled and moved
            late = row.refill_due + timedelta(days=1)
            late += timedelta(days=max(0, 7 - late.weekday()) if late.weekday() >= 5 else 0)
            try:
                bookings.book(nurse, row.pump_id, late, at=time(14, 0),
                              reason="patient away until then; told to call if the alarm "
                              "sounds")
            except ImpossibleInput:
                continue  # past the worst-case low date: refused
            self.call("book_visit")
            late_pump = row.pump_id
            break
        for index, row in enumerate(later):
            place: Literal["clinic", "home"] = "home" if index % 5 == 4 else "clinic"
            day = bookings.propose(row.pump_id, place)
            if day is None or row.pump_id == late_pump:
                continue
            if index == 0:  # booked, cancelled by the patient, and booked again
                first = bookings.book(nurse, row.pump_id, day, at=time(8, 0), place=place)
                self.call("book_visit")
                bookings.cancel(nurse, first.booking.id, "patient phoned: transport not "
                                "available that morning")
                self.call("cancel_visit")
            outcome = bookings.book(nurse, row.pump_id, day, at=time(9 + index % 7, 0),
                                    place=place,
                                    nurse_id=(nurse if index % 2 else other).id)
            self.call("book_visit")
            if index == 0:  # the patient asked for a later time the same day
                bookings.move(nurse, outcome.booking.id, day, at=time(16, 30), place=place,
                              nurse_id=other.id)
                self.call("move_visit")

    def mid_event(self, plan: Plan, state: _State, event: Event, moment: datetime) -> None:
        rng, regimen = plan.rng, plan.regimen
        nurse, _ = self.nurses(rng)
        if event.kind in ("titrate", "adjust"):
            regimen.dose = round(regimen.dose * event.value, 3)
            reasons = ({"titration.above_percent": TITRATION_REASON}
                       if event.kind == "titrate" else None)
            due = self.prescribe(plan, state.pump_id, moment, reasons)
            if due is not None:
                state.due = due
        elif event.kind == "mri":
            self.clinic.record_mri(
                nurse, state.pump_id, moment - timedelta(hours=3), True,
                "1.5 T MRI of the lumbar spine. Pump interrogated afterwards: motor stall "
                "recovered, running, reservoir volume as expected.")
            self.call("record_mri")
        elif event.kind == "revise":
            old = state.catheter.segments[0]
            length = float(old.implanted_length.to("cm").m) - rng.choice((4, 6, 8))
            state.catheter = CatheterInput(state.catheter.model_key, (replace(
                old, implanted_length=Q_(length, "cm"),
                trimmed_length=old.trimmed_length + Q_(rng.choice((4, 6, 8)), "cm")),),
                rng.choice(("T9", "T10")))
            self.clinic.revise_catheter(
                nurse, state.pump_id, state.catheter, moment.astimezone(self.tz).date(),
                "catheter fracture at the connector seen on X-ray after loss of effect; "
                "catheter replaced, tip repositioned; priming bolus given in theatre")
            self.call("revise_catheter")
            if state.dead_space is not None:
                state.dead_space = None  # the new dead space is confirmed at the next visit
        else:
            raise AssertionError(f"unknown demo event {event.kind}")

    def replace(self, plan: Plan, patient_id: int, state: _State, moment: datetime,
                ) -> Generator[datetime, None, _State]:
        nurse, _ = self.nurses(plan.rng)
        self.clinic.record_event(nurse, state.pump_id, "eri", moment,
                                 "elective replacement indicator on interrogation; "
                                 "replacement booked")
        self.call("record_event")
        day = _open_day(moment.astimezone(self.tz).date() + timedelta(days=10))
        if day >= self.today:
            return state
        yield self.at(day, time(12, 0))
        plan.pump = PumpPlan("synchromed2-40", _serial(plan.rng, "NGV"), plan.pump.site,
                             replace_years=7.0)
        new_state: _State = yield from self.new_pump(plan, patient_id, day, state)
        return new_state

    def explant(self, plan: Plan, patient_id: int, state: _State, moment: datetime,
                ) -> Iterator[datetime]:
        nurse, _ = self.nurses(plan.rng)
        day = moment.astimezone(self.tz).date()
        self.clinic.explant_pump(nurse, state.pump_id, day,
                                 "pocket infection; pump and catheter removed, oral baclofen "
                                 "restarted under observation")
        self.call("explant_pump")
        yield moment + timedelta(minutes=30)
        self.clinic.set_patient_status(nurse, patient_id, "inactive",
                                       "pump explanted; followed by the spasticity clinic")
        self.call("set_patient_status")

    # -- the patients

    def plan(self, index: int) -> Plan:
        rng = random.Random(f"pumpmgr-demo-{self.seed}-{index}")
        builder = _SCENARIOS[index] if index < len(_SCENARIOS) else _random_patient
        return builder(self, index, rng)

    def person(self, index: int, rng: random.Random, indication: Indication, age: int,
               *, notes: str = "", renal: bool = False) -> PatientInput:
        family = FAMILY[(index * 7 + self.seed) % len(FAMILY)]
        given = rng.choice(GIVEN)
        born = self.today - timedelta(days=age * 365 + rng.randint(0, 364))
        contact = f"{rng.choice(GIVEN)} {family} ({rng.choice(RELATION)})"
        return PatientInput(
            mrn=f"D{index + 1:06d}", family_name=family, given_name=given, date_of_birth=born,
            indication=indication, renal_impairment=renal, emergency_contact_name=contact,
            emergency_contact_phone=f"555-01{(index * 37 + 11) % 100:02d}", notes=notes,
            phone=f"555-02{(index * 53 + 7) % 100:02d}")

    def history(self, rng: random.Random, low: float, high: float) -> date:
        """An implant day between ``low`` and ``high`` years ago, within the history."""
        day = self.today - _years(rng.uniform(low, high))
        return _open_day(max(day, self.first_day + timedelta(days=3)))

    def fraction(self, plan_start: date, share: float) -> date:
        return plan_start + timedelta(days=round((self.today - plan_start).days * share))


_MID_EVENTS = frozenset({"titrate", "adjust", "mri", "revise", "replace", "explant"})
_REFILL_EVENTS = frozenset({"concentration", "less_returned", "more_returned", "correction"})


def _serial(rng: random.Random, prefix: str) -> str:
    return f"{prefix}{rng.randint(100000, 999999)}"


def _medtronic_catheter(rng: random.Random) -> CatheterInput:
    implanted = rng.choice((48, 52, 55, 58, 62))
    return CatheterInput("custom", (SegmentInput(Q_(implanted, "cm"), Q_(rng.choice(
        (12, 18, 22, 26)), "cm"), Q_(0.0022, "mL/cm")),), rng.choice(("T8", "T9", "T10", "T11")))


def _prometra_catheter(rng: random.Random) -> CatheterInput:
    trimmed = rng.choice((24, 28, 32, 36))
    return CatheterInput("prometra-11823", (SegmentInput(Q_(110 - trimmed, "cm"),
                                                         Q_(trimmed, "cm"),
                                                         Q_(0.0026, "mL/cm")),),
                         rng.choice(("T9", "T10", "T11")))


def baclofen_regimen(concentration: float, dose: float, **extra: object) -> Regimen:
    brand = "Lioresal Intrathecal" if concentration < 2000 else "Gablofen"
    return Regimen((("baclofen", concentration),), dose, source=f"manufacturer ({brand})",
                   lot_prefix="BAC", shelf_days=(240, 540), **extra)  # type: ignore[arg-type]


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
            regimen = Regimen((("morphine", rng.choice((10000.0, 25000.0))),),
                              float(rng.randrange(1000, 6000, 250)),
                              source="manufacturer (Infumorph)", lot_prefix="INF",
                              shelf_days=(180, 365))
        elif choice == "hydromorphone":
            regimen = Regimen((("hydromorphone", rng.choice((2000.0, 5000.0, 10000.0))),),
                              float(rng.randrange(500, 3000, 100)),
                              source="hospital pharmacy (compounded)", lot_prefix="CMP",
                              shelf_days=(45, 90))
        else:
            regimen = Regimen((("ziconotide", 25.0),), rng.choice((1.2, 2.4, 3.6)),
                              source="manufacturer (Prialt)", lot_prefix="PRI",
                              shelf_days=(180, 365))
        if choice != "ziconotide" and rng.random() < 0.3:
            regimen.bolus = (regimen.dose / 20, 4, 3.0)
            regimen.boluses_used = 1.0
    else:
        partner = rng.choice((("clonidine", 150.0), ("bupivacaine", 10000.0)))
        regimen = Regimen((("morphine", 10000.0), partner), float(rng.randrange(2000, 6000, 500)),
                          bolus=(200.0, 4, 2.0), boluses_used=1.0,
                          source="hospital pharmacy (compounded)", lot_prefix="CMP",
                          shelf_days=(45, 90))
    return regimen


# The six patients every demo starts with (so a small demo has everything the issue lists).


def _p0_bridge_mri_replace_soon(demo: _Demo, index: int, rng: random.Random) -> Plan:
    implanted = _open_day(demo.today - timedelta(days=round(6.7 * 365.25)))
    start = _open_day(max(implanted, demo.first_day + timedelta(days=3)))
    return Plan(
        index, rng, demo.person(index, rng, "spasticity_spinal", 46,
                                notes="T6 incomplete spinal cord injury. Prefers morning "
                                "appointments."),
        PumpPlan("synchromed2-20", _serial(rng, "NGV"), SITES[0], path_volume=0.142,
                 replace_years=7.0),
        _medtronic_catheter(rng), implanted, start,
        baclofen_regimen(1000, 480, flex=FLEX_DAY_NIGHT), "week", 4,
        [Event(demo.fraction(start, 0.35), "concentration", value=2000),
         Event(demo.fraction(start, 0.6), "mri")],
    )


def _p1_constant_flow(demo: _Demo, index: int, rng: random.Random) -> Plan:
    implanted = demo.history(rng, 4.0, 4.4)
    return Plan(
        index, rng, demo.person(index, rng, "non_cancer_pain", 63,
                                notes="Failed back surgery syndrome."),
        PumpPlan("isomed-35", _serial(rng, "IM"), SITES[1], capacity="35 mL",
                 nominal_flow="0.5 mL/day"),
        _medtronic_catheter(rng), implanted, implanted,
        Regimen((("morphine", 4000.0),), 2000.0, source="hospital pharmacy (compounded)",
                lot_prefix="CMP", shelf_days=(60, 90)),
        "overdue", 5,
        [Event(demo.fraction(implanted, 0.5), "concentration", value=5000)],
    )


def _p2_admixture_ptm(demo: _Demo, index: int, rng: random.Random) -> Plan:
    implanted = demo.history(rng, 1.6, 1.9)
    return Plan(
        index, rng, demo.person(index, rng, "cancer_pain", 58, notes="Pancreatic cancer."),
        PumpPlan("prometra2-20", _serial(rng, "P2"), SITES[0]),
        _prometra_catheter(rng), implanted, implanted,
        Regimen((("morphine", 10000.0), ("clonidine", 150.0)), 3000.0,
                bolus=(100.0, 4, 3.0), boluses_used=1.5,
                source="hospital pharmacy (compounded)", lot_prefix="CMP", shelf_days=(45, 90)),
        "fine", 0,
        [Event(demo.fraction(implanted, 0.3), "adjust", value=1.25),
         Event(demo.fraction(implanted, 0.5), "less_returned")],
    )


def _p3_legacy_replacement(demo: _Demo, index: int, rng: random.Random) -> Plan:
    registered = _open_day(demo.first_day + timedelta(days=17))
    return Plan(
        index, rng, demo.person(index, rng, "spasticity_cerebral", 34,
                                notes="Cerebral palsy; transferred from another clinic with "
                                "a SynchroMed EL pump."),
        PumpPlan("synchromed-el-18", _serial(rng, "NEL"), SITES[1], capacity="18 mL"),
        _medtronic_catheter(rng), registered - _years(4.6), registered,
        baclofen_regimen(500, 250), "fine", 0,
        [Event(demo.fraction(registered, 0.2), "replace"),
         Event(demo.fraction(registered, 0.7), "revise"),
         Event(demo.fraction(registered, 0.8), "more_returned")],
    )


def _p4_ziconotide(demo: _Demo, index: int, rng: random.Random) -> Plan:
    implanted = demo.history(rng, 3.0, 3.5)
    return Plan(
        index, rng, demo.person(index, rng, "non_cancer_pain", 51,
                                notes="Complex regional pain syndrome; opioids not tolerated."),
        PumpPlan("synchromed2-40", _serial(rng, "NGV"), SITES[0], replace_years=7.0, fill=20.0),
        _medtronic_catheter(rng), implanted, implanted,
        Regimen((("ziconotide", 25.0),), 2.4, source="manufacturer (Prialt)", lot_prefix="PRI",
                shelf_days=(180, 365)),
        "fine", 0,
        [Event(demo.fraction(implanted, 0.15), "adjust", value=1.5),
         Event(demo.fraction(implanted, 0.4), "correction")],
    )


def _p5_titration(demo: _Demo, index: int, rng: random.Random) -> Plan:
    implanted = demo.history(rng, 2.5, 3.0)
    return Plan(
        index, rng, demo.person(index, rng, "spasticity_spinal", 39,
                                notes="Multiple sclerosis."),
        PumpPlan("prometra2-40", _serial(rng, "P2"), SITES[1]),
        _prometra_catheter(rng), implanted, implanted,
        baclofen_regimen(2000, 300), "overdue", 2,
        [Event(demo.fraction(implanted, 0.3), "adjust", value=1.15),
         Event(demo.fraction(implanted, 0.45), "titrate", value=1.4)],
    )


def _p6_hydromorphone_bupivacaine(demo: _Demo, index: int, rng: random.Random) -> Plan:
    implanted = demo.history(rng, 0.8, 1.2)
    return Plan(
        index, rng, demo.person(index, rng, "cancer_pain", 67, notes="Prostate cancer, "
                                "vertebral metastases.", renal=True),
        PumpPlan("synchromed2-20", _serial(rng, "NGV"), SITES[0], replace_years=7.0),
        _medtronic_catheter(rng), implanted, implanted,
        Regimen((("hydromorphone", 5000.0), ("bupivacaine", 10000.0)), 1000.0,
                bolus=(50.0, 6, 2.0), boluses_used=2.0,
                source="hospital pharmacy (compounded)", lot_prefix="CMP", shelf_days=(45, 90)),
        "week", 5, [Event(demo.fraction(implanted, 0.5), "adjust", value=1.3)],
    )


def _p7_flex_scheduled(demo: _Demo, index: int, rng: random.Random) -> Plan:
    implanted = demo.history(rng, 3.6, 4.4)
    return Plan(
        index, rng, demo.person(index, rng, "spasticity_spinal", 55),
        PumpPlan("synchromed2-40", _serial(rng, "NGV"), SITES[1], replace_years=7.0),
        _medtronic_catheter(rng), implanted, implanted,
        baclofen_regimen(2000, 800, flex=FLEX_MORNING), "fine", 0,
        [Event(demo.fraction(implanted, 0.5), "adjust", value=1.1)],
    )


def _p8_morphine_ptm(demo: _Demo, index: int, rng: random.Random) -> Plan:
    implanted = demo.history(rng, 2.0, 4.0)
    return Plan(
        index, rng, demo.person(index, rng, "non_cancer_pain", 71),
        PumpPlan("prometra2-20", _serial(rng, "P2"), SITES[0]),
        _prometra_catheter(rng), implanted, implanted,
        Regimen((("morphine", 25000.0),), 4000.0, bolus=(200.0, 3, 4.0), boluses_used=0.8,
                source="manufacturer (Infumorph)", lot_prefix="INF", shelf_days=(180, 365)),
        "fine", 0, [],
    )


def _p9_explanted(demo: _Demo, index: int, rng: random.Random) -> Plan:
    implanted = demo.history(rng, 3.0, 4.0)
    return Plan(
        index, rng, demo.person(index, rng, "spasticity_cerebral", 28,
                                notes="Traumatic brain injury."),
        PumpPlan("synchromed2-20", _serial(rng, "NGV"), SITES[0], replace_years=7.0),
        _medtronic_catheter(rng), implanted, implanted,
        baclofen_regimen(500, 180), "fine", 0,
        [Event(demo.fraction(implanted, 0.6), "explant")],
    )


def _random_patient(demo: _Demo, index: int, rng: random.Random) -> Plan:
    indication: Indication = rng.choices(
        ("spasticity_spinal", "spasticity_cerebral", "non_cancer_pain", "cancer_pain", "other"),
        (35, 20, 22, 13, 10))[0]
    model = rng.choices(("synchromed2-20", "synchromed2-40", "prometra2-20", "prometra2-40"),
                        (35, 35, 15, 15))[0]
    prometra = model.startswith("prometra")
    if indication == "cancer_pain":
        implanted = demo.history(rng, 0.2, 2.0)
    else:
        implanted = demo.history(rng, 0.3, 4.5)
    age = rng.randint(11, 17) if indication == "spasticity_cerebral" and rng.random() < 0.2 \
        else rng.randint(25, 82)
    regimen = random_regimen(rng, indication, prometra)
    # About one patient in eight is planned overdue and one in eight due this week (more end
    # up due soon by chance).
    category: Category = "overdue" if index % 8 == 3 else "week" if index % 8 == 5 else "fine"
    offset = rng.randint(1, 9) if category == "overdue" else rng.randint(2, 5)
    events: list[Event] = []
    for _ in range(rng.choice((0, 1, 1, 2))):
        events.append(Event(demo.fraction(implanted, rng.uniform(0.1, 0.8)), "adjust",
                            value=rng.choice((0.9, 1.1, 1.15, 1.2))))
    if rng.random() < 0.25:
        events.append(Event(demo.fraction(implanted, rng.uniform(0.2, 0.9)),
                            rng.choice(("less_returned", "more_returned"))))
    events.sort(key=lambda e: e.when)
    serial = _serial(rng, "P2" if prometra else "NGV")
    return Plan(
        index, rng, demo.person(index, rng, indication, age),
        PumpPlan(model, serial, rng.choice(SITES), replace_years=None if prometra else 7.0,
                 fill=20.0 if regimen.ingredients[0][0] == "ziconotide" else None),
        _prometra_catheter(rng) if prometra else _medtronic_catheter(rng),
        implanted, implanted, regimen, category, offset, events,
    )


_SCENARIOS: tuple[Callable[[_Demo, int, random.Random], Plan], ...] = (
    _p0_bridge_mri_replace_soon,
    _p1_constant_flow,
    _p2_admixture_ptm,
    _p3_legacy_replacement,
    _p4_ziconotide,
    _p5_titration,
    _p6_hydromorphone_bupivacaine,
    _p7_flex_scheduled,
    _p8_morphine_ptm,
    _p9_explanted,
)
