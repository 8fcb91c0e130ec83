"""Harness 4, second half: a Hypothesis state machine over :class:`ClinicService` (T4).

Rules: register a patient, implant a pump, prescribe, refill, reprogram, change the
concentration at a refill, replace the pump, correct a refill, let time pass, and try actions
that must be refused (a fill over the capacity, a blocked dose, a second check by the same
user). A refill that finds the pump empty is a restart (domain-rules §3, §4): its new program
is the prescriber's restart order, with reasons for the start's warnings (§6, §7); without a
new program the fill resumed the program in force and gets its incident (§4a). After every
step:

- the audit log grew by exactly one entry for each change the model made (reliability.md T8:
  one entry per mutating call, whatever its steps recorded; a refused action adds nothing);
- the audit chain verifies;
- every active pump of the run's patients has a stored refill-due date (once it has a
  prescription and a fill, from its forecast; before that, the due date of its first fill).

Each example runs on a fresh database of the test's backend (a SQLite file, or a PostgreSQL
schema of its own). Suite: 6 examples × 20 steps on SQLite, 2 × 20 on PostgreSQL (the same
rules; a fresh schema per example costs most of it); ``--full``: 100 × 50 on both.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime, time, timedelta
from itertools import count
from pathlib import Path
from time import perf_counter
from typing import Any

from clinical_world import (
    PASSWORD,
    Clinic,
    continuing,
    make_clinic,
    patient_input,
    prescription,
    pump_input,
    refill,
)
from database_targets import create_schema, drop_schema, postgres_schema_url
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from pumpmgr.db import schema as db
from pumpmgr.db.engine import Database, open_database
from pumpmgr.errors import ImpossibleInput, PumpMgrError
from pumpmgr.orders import OrderState
from pumpmgr.services import forecasting
from pumpmgr.services.inputs import Verification
from pumpmgr.services.permissions import PermissionDenied
from pumpmgr.services.values import PrescriptionOutcome, RefillOutcome

SERIALS = count(1)
#: What every refill of the model aspirates: above the clinic's empty threshold (0.5 mL by
#: default), so a refill finds the pump empty only when its expected residual has reached 0.
ASPIRATED = "1 mL"
RESTART_WINDOW = timedelta(hours=24)


class Pump:
    """What the model knows of one pump."""

    def __init__(self, pump_id: int, capacity: float) -> None:
        self.id = pump_id
        self.capacity = capacity
        self.dose = 0.0
        self.concentration = 2000.0
        self.refills: list[int] = []
        self.active = True
        #: for a pump that replaced one: the dose the old pump ran and the start of the day it
        #: was explanted, from which the new pump continues that dose for the drug's restart
        #: window (baclofen 24 h, clinic policy; domain-rules §6)
        self.continues = 0.0
        self.ended: datetime | None = None

    def current(self, now: datetime) -> float:
        """The dose a change is compared with: the one the pump runs, else the one it
        continues."""
        if self.dose or self.ended is None or now - self.ended > RESTART_WINDOW:
            return self.dose
        return self.continues


def programmed(outcome: PrescriptionOutcome) -> bool:
    """Whether the pump runs the change a nurse entered: one that needs the prescriber (a start,
    above the titration rule...) waits for the signature and is not programmed (§7)."""
    return outcome.prescription.order_state != str(OrderState.AWAITING_SIGNATURE)


def refill_incidents(clinic: Clinic) -> int:
    """How many incidents the newest refill's one audit entry carries."""
    with clinic.service.database.read() as session:
        payload = session.scalars(
            select(db.AuditEntry.payload)
            .where(db.AuditEntry.action == "refill.record")
            .order_by(db.AuditEntry.seq.desc())
        ).first()
    return len(json.loads(payload or "{}").get("incidents") or [])


def audit_total(clinic: Clinic) -> int:
    with clinic.service.database.read() as session:
        return int(session.scalar(select(func.count()).select_from(db.AuditEntry)) or 0)


class Places:
    """A fresh database for each example, on the backend of the test's database."""

    def __init__(self, database: Database, folder: Path) -> None:
        self.backend = database.backend
        self.folder = folder
        self.made = 0

    def new(self) -> tuple[Database, str | None]:
        self.made += 1
        if self.backend == "sqlite":
            return open_database(str(self.folder / f"example-{self.made}.db")), None
        schema = f"pumpmgr_sm_{uuid.uuid4().hex[:16]}"
        create_schema(schema)
        return open_database(postgres_schema_url(schema)), schema

    @staticmethod
    def close(database: Database, schema: str | None) -> None:
        database.dispose()
        if schema is not None:
            drop_schema(schema)


def make_machine(places: Places, stats: dict[str, int]) -> type[RuleBasedStateMachine]:
    class ClinicMachine(RuleBasedStateMachine):
        patients = Bundle("patients")
        pumps = Bundle("pumps")

        def __init__(self) -> None:
            super().__init__()
            self.database, self.schema = places.new()
            self.clinic = make_clinic(self.database)
            self.expected_audit = audit_total(self.clinic)
            self.active: dict[int, Pump] = {}  # by patient id
            stats["examples"] += 1

        def teardown(self) -> None:
            places.close(self.database, self.schema)

        def changed(self) -> None:
            """One mutating call made: one more audit entry (T8)."""
            self.expected_audit += 1
            stats["steps"] += 1

        def later(self, hours: float) -> None:
            self.clinic.at(self.clinic.now + timedelta(hours=hours))

        def finds_empty(self, pump: Pump) -> bool:
            """Whether a refill now finds the pump empty (domain-rules §4): after a fill, when
            the expected residual has reached 0 (the aspirate is above the empty threshold)."""
            expected = self.clinic.service.expected_now(pump.id)
            return bool(pump.refills) and expected is not None and float(expected.to("mL").m) <= 0

        @staticmethod
        def found_empty(outcome: RefillOutcome) -> bool:
            found = outcome.discrepancy
            return found is not None and found.verdict == "found_empty"

        @initialize(target=patients)
        def first_patient(self) -> int:
            return self.register()

        @rule(target=patients)
        def create_patient(self) -> int:
            return self.register()

        def register(self) -> int:
            record = self.clinic.service.register_patient(
                self.clinic.nurse, patient_input(f"S{next(SERIALS):06d}")
            )
            self.changed()
            return record.id

        @rule(
            target=pumps,
            patient=patients,
            model=st.sampled_from(["synchromed2-20", "synchromed2-40", "prometra2-20"]),
        )
        def implant(self, patient: int, model: str) -> Any:
            if patient in self.active:
                return None
            today = self.clinic.now.astimezone(self.clinic.service.tz).date()
            record = self.clinic.service.implant_pump(
                self.clinic.nurse,
                patient,
                pump_input(model, f"SN{next(SERIALS)}", implanted_on=today),
                None,
            )
            self.changed()  # the pump, its implant event in the same entry
            pump = Pump(record.id, float(record.capacity.to("mL").m))
            self.active[patient] = pump
            return pump

        @rule(pump=pumps, dose=st.floats(min_value=50, max_value=900))
        def prescribe(self, pump: Pump | None, dose: float) -> None:
            if pump is None or not pump.active or pump.refills:
                return
            self.later(1)
            dose = round(dose, 1)
            # a change to 5 times or a fifth of the dose the pump runs is a possible tenfold
            # error, which only a prescriber saves (§6): refused to the nurse, nothing written
            current = pump.current(self.clinic.now)
            tenfold = bool(current) and not 0.2 < dose / current < 5
            data = prescription(dose=f"{dose:.1f} mcg/day", at=self.clinic.now, reasons=REASONS)
            if self.clinic.service.prescriptions.first_prescriptions(pump.id, data):
                data = continuing(data)  # on this dose from before the record: not a start
            try:
                outcome = self.clinic.service.change_prescription(
                    self.clinic.nurse, self.clinic.check, pump.id, data
                )
            except ImpossibleInput as refused:  # below the pump's lowest flow (§6): blocked
                assert "lowest programmable flow" in refused.message, refused.message
                return
            except PermissionDenied as refused:
                assert tenfold, refused.message
                return
            assert not tenfold, "a possible tenfold error was saved by a nurse"
            if programmed(outcome):
                pump.dose = dose
            self.changed()

        @rule(
            pump=pumps,
            days=st.floats(min_value=0.1, max_value=80),
            fill=st.floats(min_value=0.2, max_value=1.0),
        )
        def refill_pump(self, pump: Pump | None, days: float, fill: float) -> None:
            if pump is None or not pump.active or not pump.dose:
                return
            self.later(24 * days)
            volume = round(max(4.0, pump.capacity * fill), 1)
            empty = self.finds_empty(pump)
            outcome = self.clinic.service.record_refill(
                self.clinic.nurse,
                self.clinic.check,
                pump.id,
                refill(self.clinic.now, ASPIRATED, f"{volume} mL", discrepancy_note="checked"),
            )
            assert self.found_empty(outcome) == empty, outcome.discrepancy
            pump.refills.append(outcome.refill.id)
            # A restart that resumed the program in force is checked as a start (§6); every
            # start needs the prescriber before it is programmed (§7), so the fill, already
            # made, always gets the incident "resumed without restart order" (§4a), in the
            # refill's entry.
            assert refill_incidents(self.clinic) == (1 if empty else 0)
            self.changed()

        @rule(pump=pumps, factor=st.floats(min_value=0.7, max_value=1.6))
        def reprogram(self, pump: Pump | None, factor: float) -> None:
            if pump is None or not pump.active or not pump.refills:
                return
            self.later(30)
            dose = round(min(1000.0, max(50.0, pump.dose * factor)), 1)
            outcome = self.clinic.service.change_prescription(
                self.clinic.nurse,
                self.clinic.check,
                pump.id,
                prescription(
                    dose=f"{dose} mcg/day",
                    concentration=f"{pump.concentration:g} mcg/mL",
                    at=self.clinic.now,
                    reasons=REASONS,
                ),
            )
            if programmed(outcome):
                pump.dose = dose
            self.changed()

        @rule(pump=pumps, strength=st.sampled_from([500.0, 1000.0, 2000.0]))
        def change_concentration(self, pump: Pump | None, strength: float) -> None:
            if pump is None or not pump.active or not pump.refills:
                return
            self.later(24 * 20)
            # a restart's new program is checked as a start, which the prescriber signs before
            # it is programmed (§6, §7): found empty, the prescriber enters it at the visit
            empty = self.finds_empty(pump)
            new = prescription(
                dose=f"{pump.dose} mcg/day",
                concentration=f"{strength:g} mcg/mL",
                at=self.clinic.now,
                reasons=REASONS,
            )
            outcome = self.clinic.service.record_refill(
                self.clinic.prescriber if empty else self.clinic.nurse,
                self.clinic.check,
                pump.id,
                refill(
                    self.clinic.now,
                    ASPIRATED,
                    f"{pump.capacity} mL",
                    discrepancy_note="checked",
                    new_prescription=new,
                    bridge_acknowledged=True,
                ),
            )
            assert self.found_empty(outcome) == empty, outcome.discrepancy
            pump.refills.append(outcome.refill.id)
            pump.concentration = strength
            self.changed()  # the refill; its new prescription is in the same entry

        @rule(target=pumps, old=consumes(pumps))
        def replace_pump(self, old: Pump | None) -> Any:
            if old is None or not old.active:
                return None
            self.later(5)
            today = self.clinic.now.astimezone(self.clinic.service.tz).date()
            patient = next(p for p, pump in self.active.items() if pump is old)
            record = self.clinic.service.replace_pump(
                self.clinic.nurse,
                old.id,
                pump_input("synchromed2-40", f"SN{next(SERIALS)}", implanted_on=today),
                "battery ERI",
            )
            old.active = False
            self.changed()  # the replacement, its two events in the same entry
            pump = Pump(record.id, float(record.capacity.to("mL").m))
            pump.continues = old.dose
            pump.ended = datetime.combine(today, time.min, self.clinic.service.tz)
            self.active[patient] = pump
            return pump

        @rule(pump=pumps, lot=st.integers(min_value=100, max_value=999))
        def correct_refill(self, pump: Pump | None, lot: int) -> None:
            if pump is None or not pump.refills:
                return
            self.later(1)
            corrected = self.clinic.service.correct_refill(
                self.clinic.nurse,
                self.clinic.check,
                pump.refills[-1],
                "lot misread",
                lot_number=f"L{lot}",
            )
            pump.refills[-1] = corrected.id
            self.changed()

        @rule(pump=pumps)
        def refused_actions(self, pump: Pump | None) -> None:
            """Each must be refused and write nothing."""
            if pump is None or not pump.active:
                return
            attempts: list[Callable[[], Any]] = [
                lambda: self.clinic.service.record_refill(
                    self.clinic.nurse,
                    self.clinic.check,
                    pump.id,
                    refill(self.clinic.now, "1 mL", f"{pump.capacity + 5} mL"),
                ),
                lambda: self.clinic.service.change_prescription(
                    self.clinic.nurse,
                    self.clinic.check,
                    pump.id,
                    prescription(dose="400 mg/day", at=self.clinic.now, reasons=REASONS),
                ),
                lambda: self.clinic.service.change_prescription(
                    self.clinic.nurse,
                    Verification(self.clinic.nurse.username, PASSWORD),
                    pump.id,
                    prescription(at=self.clinic.now, reasons=REASONS),
                ),
            ]
            for attempt in attempts:
                try:
                    attempt()
                except PumpMgrError:
                    continue
                raise AssertionError("a refused action was saved")
            stats["steps"] += 1

        @invariant()
        def audit_matches_the_changes(self) -> None:
            with self.clinic.service.database.read() as session:
                newest = list(
                    session.scalars(
                        select(db.AuditEntry.action).order_by(db.AuditEntry.seq.desc()).limit(3)
                    )
                )
            assert audit_total(self.clinic) == self.expected_audit, newest

        @invariant()
        def chain_verifies(self) -> None:
            report = self.clinic.service.verify_audit()
            assert report.ok, report.message

        @invariant()
        def every_active_pump_has_a_due_date(self) -> None:
            ids = [p.id for p in self.active.values() if p.active]
            if not ids:
                return
            with self.clinic.service.database.read() as session:
                rows = {
                    r.pump_id: r
                    for r in session.scalars(
                        select(db.PumpForecast).where(db.PumpForecast.pump_id.in_(ids))
                    )
                }
            for pump_id in ids:
                assert pump_id in rows and rows[pump_id].refill_due is not None, pump_id

        @invariant()
        def the_due_lists_facts_are_the_records(self) -> None:
            """What the due list shows beside each forecast (its prescription, flex schedule,
            open review: revision 0004) is what the records say after every change."""
            with self.clinic.service.database.read() as session:
                stored = {
                    f.pump_id: {
                        "prescription_id": f.prescription_id,
                        "flex_schedule": f.flex_schedule,
                        "open_discrepancy": f.open_discrepancy,
                        "order_alert": f.order_alert,
                        "open_incident": f.open_incident,
                        "open_stop_order": f.open_stop_order,
                        "solution": f.solution,
                    }
                    for f in session.scalars(select(db.PumpForecast))
                }
                assert stored == forecasting.due_facts(session, list(stored))

    return ClinicMachine


REASONS = {
    "titration.above_percent": "prescriber's order",
    "titration.within_24h": "ordered",
    "dose.above_typical": "ordered",
    "dose.above_soft_max": "ordered",
    "dose.below_typical": "ordered",
    "withdrawal.cut_below_half": "ordered",
    "withdrawal.cut_beyond_titration_within_24h": "ordered",
    "schedule.step_slip": "ordered",
    "start.screening_bolus_not_given": "restart ordered",
    "start.above_range": "restart ordered",
}


def test_clinic_state_machine(
    database: Database,
    tmp_path: Path,
    full_size: bool,
    harness_report: Callable[[str, int, int, float], None],
) -> None:
    started = perf_counter()
    stats = {"examples": 0, "steps": 0}
    machine = make_machine(Places(database, tmp_path), stats)
    examples, steps = (100, 50) if full_size else (6 if database.backend == "sqlite" else 2, 20)
    failures = 0
    try:
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=examples,
                stateful_step_count=steps,
                deadline=None,
                database=None,
                derandomize=not full_size,
                suppress_health_check=list(HealthCheck),
            ),
        )
    except BaseException:
        failures = 1
        raise
    finally:
        harness_report(
            f"4 stateful clinic {database.backend}",
            stats["steps"],
            failures,
            perf_counter() - started,
        )


def test_found_empty_refills_as_the_model_expects(database: Database, tmp_path: Path) -> None:
    """Steps that find the pump empty (hypothesis reaches them only for some source texts):
    a restart with a new program, then two without one, each with its incident."""
    machine = make_machine(Places(database, tmp_path), {"examples": 0, "steps": 0})()
    try:
        pump = machine.implant(patient=machine.first_patient(), model="synchromed2-20")
        steps: list[Callable[[], None]] = [
            lambda: machine.prescribe(pump=pump, dose=655.4),
            lambda: machine.refill_pump(pump=pump, days=55.0, fill=0.2),
            lambda: machine.change_concentration(pump=pump, strength=500.0),
            lambda: machine.refill_pump(pump=pump, days=70.0, fill=0.2),
            lambda: machine.refill_pump(pump=pump, days=60.0, fill=0.2),
        ]
        for step in steps:
            step()
            machine.audit_matches_the_changes()
            machine.chain_verifies()
            machine.the_due_lists_facts_are_the_records()
        with machine.clinic.service.database.read() as session:
            verdicts = session.scalars(select(db.Refill.discrepancy_verdict).order_by(db.Refill.id))
            incidents = session.scalar(select(func.count()).select_from(db.Incident))
            carried = [
                json.loads(payload).get("incidents")
                for payload in session.scalars(
                    select(db.AuditEntry.payload).where(db.AuditEntry.action == "refill.record")
                )
            ]
            assert (list(verdicts), incidents) == (["first_fill"] + ["found_empty"] * 3, 2)
            # each incident is in its refill's one entry
            assert [len(found) for found in carried if found] == [1, 1]
    finally:
        machine.teardown()
