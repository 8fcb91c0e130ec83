"""The demo clinic's builder: one walk through several years of clinic life, each step a
call of the services the screens call (see :mod:`pumpmgr.demo`).

:class:`_Demo` is one walk holding the clock, the service, the users and each pump's state;
the patients it walks are in :mod:`.scenarios`, today's orders and bookings in :mod:`.scenes`.

Over 600 lines: one walk whose steps share its clock and each pump's state; the patients and scenes
it walks are in the sibling modules.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy import func, select

from pumpmgr.clock import FixedClock
from pumpmgr.db import schema as db
from pumpmgr.db.engine import Database
from pumpmgr.demo.plans import (
    Event,
    Plan,
    PumpPlan,
    aspirate,
    open_day,
    serial_number,
    years,
)
from pumpmgr.demo.scenarios import SCENARIOS, random_patient
from pumpmgr.demo.scenes import book_visit, bookings_today, missed_visit, orders_scene
from pumpmgr.demo.users import DEMO_HASHER, DEMO_USERS, WORKSTATION, DemoUser
from pumpmgr.demo.words import (
    FAMILY,
    GIVEN,
    NOTE_ANY,
    REASONS,
    RELATION,
    TITRATION_REASON,
)
from pumpmgr.dose_checks import DoseCheck
from pumpmgr.records import Indication
from pumpmgr.refill import discrepancy
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
    Verification,
)
from pumpmgr.units import CM, MCG_PER_ML, ML, ML_PER_CM, Q_

#: How far back the records go (patients implanted earlier were transferred in).
HISTORY_DAYS = round(4.5 * 365.25)
#: Refills in the last weeks of the history were booked first (the visit closed as attended
#: by the refill); the older history predates the clinic's bookings.
BOOKED_HISTORY_DAYS = 42
MAX_PATIENTS = 2000


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


class _Demo:
    def __init__(
        self,
        database: Database,
        patients: int,
        seed: int,
        today: date,
        tz: tzinfo,
        progress: Callable[[float], None] | None,
    ) -> None:
        self.patients = patients
        self.seed = seed
        self.today = today
        self.tz = tz
        self.progress = progress
        self.first_day = open_day(today - timedelta(days=HISTORY_DAYS))
        self.end = datetime.combine(today, time(0, 0), tz)
        self.clock = FixedClock(self.at(self.first_day, time(7, 30)))
        self.clinic = ClinicService(
            database, clock=self.clock, tz=tz, workstation=WORKSTATION, hasher=DEMO_HASHER
        )
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
        missed_visit(self)
        # the orders' scene in the last hour before the end, after everything else
        self.clock.moment = max(self.clock.moment, self.end - timedelta(hours=1))
        orders_scene(self)
        self.clock.moment = max(self.clock.moment, self.end)
        bookings_today(self)
        if self.progress is not None:
            self.progress(1.0)
        return self.summary()

    # -- orders and incidents (domain-rules §4a, §7): each state at least once, on the last
    #    day, as far as the clinic has patients on a simple program

    def setup(self) -> None:
        admin_spec, *others = DEMO_USERS
        admin = self.clinic.create_first_administrator(
            admin_spec.username, admin_spec.password, admin_spec.full_name
        )
        self.call("create_first_administrator")
        self.users[admin.username] = admin
        for spec in others:
            self.clinic.add_user(admin, spec.username, spec.password, spec.full_name, spec.role)
            self.call("add_user")
            self.users[spec.username] = self.clinic.sign_in(spec.username, spec.password)
            self.call("sign_in")
        settings = self.clinic.settings()
        self.clinic.update_settings(
            admin,
            replace(
                settings,
                clinic_name="Demo Intrathecal Pump Clinic",
                clinic_phone="555-0100",
                buffer_days=7,
                open_days=frozenset(range(5)),
                # the zone the clinic's days were laid out in: the settings page shows it, and
                # the clinic opened on a workstation elsewhere keeps its own days and times
                time_zone=getattr(self.tz, "key", None) or settings.time_zone,
            ),
        )
        self.call("update_settings")

    def summary(self) -> DemoSummary:
        due = self.clinic.due_list(today=self.today)
        with self.clinic.database.read() as session:

            def count(model: type[db.Base]) -> int:
                return int(session.scalar(select(func.count()).select_from(model)) or 0)

            investigate = int(
                session.scalar(
                    select(func.count())
                    .select_from(db.Refill)
                    .where(db.Refill.discrepancy_verdict == "investigate")
                )
                or 0
            )
            audit = count(db.AuditEntry)
            totals = (
                count(db.Patient),
                count(db.Pump),
                count(db.Prescription),
                count(db.Refill),
                count(db.PumpEvent),
            )
        soon = self.today + timedelta(days=183)
        return DemoSummary(
            users=DEMO_USERS,
            first_day=self.first_day,
            today=self.today,
            patients=totals[0],
            pumps=totals[1],
            prescriptions=totals[2],
            refills=totals[3],
            discrepancies=investigate,
            events=totals[4],
            calls=dict(sorted(self.calls.items())),
            audit_entries=audit,
            overdue=tuple(r.mrn for r in due if r.state == "overdue"),
            due_this_week=tuple(r.mrn for r in due if r.state == "due_this_week"),
            replace_within_6_months=tuple(
                r.mrn for r in due if r.replace_by is not None and r.replace_by <= soon
            ),
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
            mid = open_day(state.last.date() + timedelta(days=max(10, state.interval // 3)))
            pending = [
                e for e in plan.events if not e.done and e.when <= mid and e.kind in _MID_EVENTS
            ]
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

    def new_pump(
        self,
        plan: Plan,
        patient_id: int,
        day: date,
        old: _State | None,
    ) -> Generator[datetime, None, _State]:
        """Implant (or replace) a pump, prescribe and fill it; returns the new state."""
        rng = plan.rng
        nurse, check = self.nurses(rng)
        spec = plan.pump
        catheter = plan.catheter if old is None else old.catheter
        replace_by = None
        if spec.replace_years is not None:
            replace_by = (
                plan.implanted_on + years(spec.replace_years)
                if old is None
                else (day + years(spec.replace_years))
            )
        data = PumpInput(
            spec.model_key,
            spec.serial,
            plan.implanted_on if old is None else day,
            spec.site,
            capacity=None if spec.capacity is None else Q_(spec.capacity),
            nominal_flow=None if spec.nominal_flow is None else Q_(spec.nominal_flow),
            pump_path_volume=None if spec.path_volume is None else Q_(spec.path_volume, ML),
            replace_by=replace_by,
        )
        if old is None:
            pump = self.clinic.implant_pump(nurse, patient_id, data, catheter)
            self.call("implant_pump")
        else:
            pump = self.clinic.replace_pump(
                nurse,
                old.pump_id,
                data,
                "elective replacement indicator reached; new pump connected to the existing "
                "catheter",
                catheter,
            )
            self.call("replace_pump")
        prescribed = self.at(day, time(12, 30))
        yield prescribed
        self.prescribe(plan, pump.id, prescribed)
        filled = self.at(day, time(12, 45))
        yield filled
        capacity = float(pump.capacity.to(ML).m)
        outcome = self.clinic.record_refill(
            nurse, check, pump.id, self.refill_input(plan, filled, 0.0, capacity, note="")
        )
        self.call("record_refill")
        dead = None
        if spec.path_volume is not None:
            dead = spec.path_volume + sum(
                float(s.implanted_length.to(CM).m) * float(s.volume_per_length.to(ML_PER_CM).m)
                for s in catheter.segments
            )
        state = _State(
            pump.id,
            capacity,
            float(pump.alarm_volume.to(ML).m),
            pump.accuracy_percent,
            filled,
            0.0,
            self.today,
            60,
            dead,
            catheter,
            filled,
        )
        self.after_refill(state, outcome, filled)
        return state

    def prescription(
        self, plan: Plan, pump_id: int, at: datetime, reasons: Mapping[str, str] | None = None
    ) -> PrescriptionInput:
        regimen = plan.regimen
        data = PrescriptionInput(
            ingredients=tuple(
                IngredientInput(d, Q_(c, MCG_PER_ML)) for d, c in regimen.ingredients
            ),
            schedule=regimen.schedule(),
            effective_at=at,
            prescriber=self.users["prescriber"].full_name,
            patient_bolus=regimen.patient_bolus(),
            # a nurse's entry (with a refill) records the prescriber's written order
            order=OrderGiven("written", at),
        )
        check: DoseCheck = self.clinic.check_prescription(pump_id, data)
        if check.verdict == "blocked":
            raise AssertionError(
                f"demo patient {plan.index}: a blocked prescription: "
                + "; ".join(f.message for f in check.findings)
            )
        given = dict(reasons or {})
        for finding in check.findings:
            code = str(finding.code)
            if finding.level == "warning" and code not in given:
                given[code] = REASONS.get(code, "reviewed by the prescriber; accepted")
        return replace(data, reasons=given)

    def prescribe(
        self, plan: Plan, pump_id: int, at: datetime, reasons: Mapping[str, str] | None = None
    ) -> date | None:
        outcome = self.clinic.change_prescription(
            self.users["prescriber"],
            self.check(plan.rng.choice(("nurse1", "nurse2"))),
            pump_id,
            self.prescription(plan, pump_id, at, reasons),
        )
        self.call("change_prescription")
        return None if outcome.forecast is None else outcome.forecast.refill_due

    def refill_input(
        self,
        plan: Plan,
        at: datetime,
        aspirated: float,
        volume: float,
        *,
        note: str,
        new: PrescriptionInput | None = None,
        bridge_volume: float | None = None,
    ) -> RefillInput:
        rng, regimen = plan.rng, plan.regimen
        day = at.astimezone(self.tz).date()
        return RefillInput(
            performed_at=at,
            aspirated=Q_(aspirated, ML),
            volume_added=Q_(volume, ML),
            lot_number=f"{regimen.lot_prefix}-{day:%y%m}-{rng.randint(100, 999)}",
            expiry=day + timedelta(days=rng.randint(*regimen.shelf_days)),
            source=regimen.source,
            needle_position_confirmed=True,
            pump_running_confirmed=True,
            discrepancy_note=note,
            new_prescription=new,
            bridge_acknowledged=new is not None,
            bridge_bolus_given=bridge_volume is not None,
            bolus_volume=None if bridge_volume is None else Q_(round(bridge_volume, 3), ML),
            undiluted=regimen.undiluted,
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
        state.final = float(outcome.refill.final_volume.to(ML).m)
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
        day = open_day(max(day, last + timedelta(days=10)))
        if plan.category == "overdue":
            goal = self.today - timedelta(days=plan.offset)
            if day + timedelta(days=state.interval) >= goal:
                target = goal - timedelta(days=state.interval)
                if (target - last).days < 14:
                    return None  # the patient missed this refill
                day = open_day(target)
        elif plan.category == "week":
            goal = self.today + timedelta(days=plan.offset)
            if day + timedelta(days=state.interval) >= goal:
                target = goal - timedelta(days=state.interval)
                if (target - last).days < 3:
                    return None
                day = open_day(target)
        elif day >= self.today and state.due < self.today:
            day = open_day(self.today - timedelta(days=1))
        if day >= self.today or day <= last:
            return None
        return day

    def refill(self, plan: Plan, state: _State, moment: datetime) -> Iterator[datetime]:
        rng, regimen = plan.rng, plan.regimen
        nurse, check = self.nurses(rng)
        day = moment.astimezone(self.tz).date()
        bound = [
            e for e in plan.events if not e.done and e.when <= day and e.kind in _REFILL_EVENTS
        ]
        event = bound[0] if bound else None
        if event is not None:
            event.done = True
        expected_q = self.clinic.expected_now(state.pump_id, moment)
        expected = 0.0 if expected_q is None else float(expected_q.to(ML).m)
        aspirated, note = aspirate(
            rng,
            regimen,
            expected=expected,
            final=state.final,
            days=(moment - state.last).total_seconds() / 86400,
            capacity=state.capacity,
            kind=None if event is None else event.kind,
        )
        if state.final > 0 and not note:
            verdict = discrepancy(
                fill_volume=Q_(state.final, ML),
                expected=Q_(expected, ML),
                actual=Q_(aspirated, ML),
                reservoir_capacity=Q_(state.capacity, ML),
                accuracy_percent=state.accuracy,
                note=NOTE_ANY,
            ).verdict
            if verdict != "ok":  # investigate or found empty: the services ask for a note
                note = NOTE_ANY
        new = None
        bridge_volume = None
        if event is not None and event.kind == "concentration":
            old = regimen.concentration
            regimen.ingredients = (
                (regimen.ingredients[0][0], event.value),
                *regimen.ingredients[1:],
            )
            if plan.pump.nominal_flow is not None:
                regimen.dose = regimen.dose * event.value / old  # constant flow: dose follows
            new = self.prescription(plan, state.pump_id, moment)
            bridge_volume = state.dead_space
        volume = plan.pump.fill or state.capacity
        booked = day >= self.today - timedelta(days=BOOKED_HISTORY_DAYS) and book_visit(
            self, nurse, state.pump_id, day, moment
        )
        outcome = self.clinic.record_refill(
            nurse,
            check,
            state.pump_id,
            self.refill_input(
                plan, moment, aspirated, volume, note=note, new=new, bridge_volume=bridge_volume
            ),
        )
        self.call("record_refill")
        if booked:
            self.call("attended_by_refill")
        if event is not None and event.kind == "correction":
            correct_at = self.later(state, moment + timedelta(minutes=40))
            yield correct_at
            typed = outcome.refill.lot_number
            self.clinic.correct_refill(
                nurse,
                check,
                outcome.refill.id,
                "lot number mistyped; corrected from the label kept with the refill kit",
                lot_number=typed[:-1] + str((int(typed[-1]) + 1) % 10),
            )
            self.call("correct_refill")
        self.after_refill(state, outcome, moment)

    def mid_event(self, plan: Plan, state: _State, event: Event, moment: datetime) -> None:
        rng, regimen = plan.rng, plan.regimen
        nurse, _ = self.nurses(rng)
        if event.kind in ("titrate", "adjust"):
            regimen.dose = round(regimen.dose * event.value, 3)
            reasons = (
                {"titration.above_percent": TITRATION_REASON} if event.kind == "titrate" else None
            )
            due = self.prescribe(plan, state.pump_id, moment, reasons)
            if due is not None:
                state.due = due
        elif event.kind == "mri":
            self.clinic.record_mri(
                nurse,
                state.pump_id,
                moment - timedelta(hours=3),
                True,
                "1.5 T MRI of the lumbar spine. Pump interrogated afterwards: motor stall "
                "recovered, running, reservoir volume as expected.",
            )
            self.call("record_mri")
        elif event.kind == "revise":
            old = state.catheter.segments[0]
            length = float(old.implanted_length.to(CM).m) - rng.choice((4, 6, 8))
            state.catheter = CatheterInput(
                state.catheter.model_key,
                (
                    replace(
                        old,
                        implanted_length=Q_(length, CM),
                        trimmed_length=old.trimmed_length + Q_(rng.choice((4, 6, 8)), CM),
                    ),
                ),
                rng.choice(("T9", "T10")),
            )
            self.clinic.revise_catheter(
                nurse,
                state.pump_id,
                state.catheter,
                moment.astimezone(self.tz).date(),
                "catheter fracture at the connector seen on X-ray after loss of effect; "
                "catheter replaced, tip repositioned; priming bolus given in theatre",
            )
            self.call("revise_catheter")
            if state.dead_space is not None:
                state.dead_space = None  # the new dead space is confirmed at the next visit
        else:
            raise AssertionError(f"unknown demo event {event.kind}")

    def replace(
        self,
        plan: Plan,
        patient_id: int,
        state: _State,
        moment: datetime,
    ) -> Generator[datetime, None, _State]:
        nurse, _ = self.nurses(plan.rng)
        self.clinic.record_event(
            nurse,
            state.pump_id,
            "eri",
            moment,
            "elective replacement indicator on interrogation; replacement booked",
        )
        self.call("record_event")
        day = open_day(moment.astimezone(self.tz).date() + timedelta(days=10))
        if day >= self.today:
            return state
        yield self.at(day, time(12, 0))
        plan.pump = PumpPlan(
            "synchromed2-40", serial_number(plan.rng, "NGV"), plan.pump.site, replace_years=7.0
        )
        new_state: _State = yield from self.new_pump(plan, patient_id, day, state)
        return new_state

    def explant(
        self,
        plan: Plan,
        patient_id: int,
        state: _State,
        moment: datetime,
    ) -> Iterator[datetime]:
        nurse, _ = self.nurses(plan.rng)
        day = moment.astimezone(self.tz).date()
        self.clinic.explant_pump(
            nurse,
            state.pump_id,
            day,
            "pocket infection; pump and catheter removed, oral baclofen "
            "restarted under observation",
        )
        self.call("explant_pump")
        yield moment + timedelta(minutes=30)
        self.clinic.set_patient_status(
            nurse, patient_id, "inactive", "pump explanted; followed by the spasticity clinic"
        )
        self.call("set_patient_status")

    # -- the patients

    def plan(self, index: int) -> Plan:
        rng = random.Random(f"pumpmgr-demo-{self.seed}-{index}")
        builder = SCENARIOS[index] if index < len(SCENARIOS) else random_patient
        return builder(self, index, rng)

    def person(
        self,
        index: int,
        rng: random.Random,
        indication: Indication,
        age: int,
        *,
        notes: str = "",
        renal: bool = False,
    ) -> PatientInput:
        family = FAMILY[(index * 7 + self.seed) % len(FAMILY)]
        given = rng.choice(GIVEN)
        born = self.today - timedelta(days=age * 365 + rng.randint(0, 364))
        contact = f"{rng.choice(GIVEN)} {family} ({rng.choice(RELATION)})"
        return PatientInput(
            mrn=f"D{index + 1:06d}",
            family_name=family,
            given_name=given,
            date_of_birth=born,
            indication=indication,
            renal_impairment=renal,
            emergency_contact_name=contact,
            emergency_contact_phone=f"555-01{(index * 37 + 11) % 100:02d}",
            notes=notes,
            phone=f"555-02{(index * 53 + 7) % 100:02d}",
        )

    def history(self, rng: random.Random, low: float, high: float) -> date:
        """An implant day between ``low`` and ``high`` years ago, within the history."""
        day = self.today - years(rng.uniform(low, high))
        return open_day(max(day, self.first_day + timedelta(days=3)))

    def fraction(self, plan_start: date, share: float) -> date:
        return plan_start + timedelta(days=round((self.today - plan_start).days * share))


_MID_EVENTS = frozenset({"titrate", "adjust", "mri", "revise", "replace", "explant"})
_REFILL_EVENTS = frozenset({"concentration", "less_returned", "more_returned", "correction"})
