"""The same clinic through the services: every planned action as a :class:`ClinicService` call.

Benchmark support. This is the slow, reference way to build a clinic (each call one
transaction with its checks, audit entries and forecast update, about as the demo clinic is
built); ``tests/test_bench.py`` builds a tiny clinic both ways and checks that the services
cannot tell the bulk-written one from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, time

from bench import plan as p
from pumpmgr import demo
from pumpmgr.clock import FixedClock
from pumpmgr.db.engine import Database
from pumpmgr.services.clinic import Actor, ClinicService
from pumpmgr.services.inputs import (
    CatheterInput,
    IngredientInput,
    OrderGiven,
    PatientInput,
    PrescriptionInput,
    PumpInput,
    RefillInput,
    SegmentInput,
    Verification,
)
from pumpmgr.units import CM, MCG_PER_DAY, MCG_PER_ML, ML, ML_PER_CM, Q_

WORKSTATION = "bench"
CLINIC_NAME = "Regional Intrathecal Pump Service (benchmark)"


def service(database: Database, clock: FixedClock | None = None) -> ClinicService:
    """The clinic's service as the benchmark runs it: Berlin, the demo's cheap password hash,
    a clock standing at ``clock`` (default: the built clinic's now)."""
    return ClinicService(
        database,
        clock=clock or FixedClock(p.ANCHOR),
        tz=p.TZ,
        workstation=WORKSTATION,
        hasher=demo.DEMO_HASHER,
    )


def setup(clinic: ClinicService, first_day: datetime) -> dict[str, Actor]:
    """The demo's users and the clinic's settings, through the services (as the demo does)."""
    assert isinstance(clinic.clock, FixedClock)
    clinic.clock.moment = datetime.combine(first_day, time(7, 30), p.TZ)
    admin_spec, *others = demo.DEMO_USERS
    admin = clinic.create_first_administrator(
        admin_spec.username, admin_spec.password, admin_spec.full_name
    )
    users = {admin.username: admin}
    for spec in others:
        clinic.add_user(admin, spec.username, spec.password, spec.full_name, spec.role)
        users[spec.username] = clinic.sign_in(spec.username, spec.password)
    settings = clinic.settings()
    clinic.update_settings(
        admin,
        replace(
            settings,
            clinic_name=CLINIC_NAME,
            clinic_phone="555-0100",
            buffer_days=p.BUFFER_DAYS,
            open_days=p.OPEN_DAYS,
        ),
    )
    return users


def verification(username: str) -> Verification:
    spec = next(u for u in demo.DEMO_USERS if u.username == username)
    return Verification(spec.username, spec.password)


def patient_input(spec: p.PatientSpec) -> PatientInput:
    return PatientInput(
        spec.mrn,
        spec.family_name,
        spec.given_name,
        spec.date_of_birth,
        spec.indication,
        spec.renal_impairment,  # type: ignore[arg-type]
        spec.contact_name,
        spec.contact_phone,
        spec.notes,
    )


def pump_input(spec: p.PumpSpec) -> PumpInput:
    return PumpInput(
        spec.model_key,
        spec.serial,
        spec.implanted_on,
        spec.site,
        capacity=None if spec.capacity is None else Q_(spec.capacity),
        nominal_flow=None if spec.nominal_flow is None else Q_(spec.nominal_flow),
        pump_path_volume=None if spec.path_volume is None else Q_(spec.path_volume, ML),
        replace_by=spec.replace_by,
    )


def catheter_input(spec: p.CatheterSpec) -> CatheterInput:
    return CatheterInput(
        spec.model_key,
        tuple(
            SegmentInput(Q_(s.implanted_cm, CM), Q_(s.trimmed_cm, CM), Q_(s.ml_per_cm, ML_PER_CM))
            for s in spec.segments
        ),
        spec.tip_level,
    )


def prescription_input(spec: p.RxSpec) -> PrescriptionInput:
    return PrescriptionInput(
        ingredients=tuple(IngredientInput(d, Q_(c, MCG_PER_ML)) for d, c in spec.ingredients),
        schedule=spec.schedule(),
        effective_at=spec.effective_at,
        prescriber=spec.prescriber,
        patient_bolus=spec.patient_bolus(),
        reasons=dict(spec.reasons),
        # a clinic's history replayed: a nurse enters the written order the pump was
        # programmed with (a prescriber's own entry needs neither)
        order=OrderGiven("written", spec.effective_at),
        already_programmed=True,
        continues={key: Q_(value, MCG_PER_DAY) for key, value in spec.continued},
    )


def refill_input(action: p.Refill) -> RefillInput:
    new = None if action.new_rx is None else prescription_input(action.new_rx[1])
    return RefillInput(
        performed_at=action.performed_at,
        aspirated=Q_(action.aspirated, ML),
        volume_added=Q_(action.volume, ML),
        lot_number=action.lot,
        expiry=action.expiry,
        source=action.source,
        needle_position_confirmed=True,
        pump_running_confirmed=True,
        discrepancy_note=action.note,
        new_prescription=new,
        bridge_acknowledged=new is not None,
        bridge_bolus_given=action.bridge_ml is not None,
        bolus_volume=None if action.bridge_ml is None else Q_(action.bridge_ml, ML),
    )


def replay(
    database: Database, plan: p.ClinicPlan, progress: Callable[[int, int], None] | None = None
) -> ClinicService:
    """Build ``plan`` into the empty ``database`` through the services; returns the service,
    its clock left at the built clinic's now."""
    clinic = service(database)
    clock = clinic.clock
    assert isinstance(clock, FixedClock)
    users = setup(clinic, datetime.combine(plan.first_day, time(0, 0), p.TZ))
    patients: dict[int, int] = {}
    pumps: dict[tuple[int, int], int] = {}
    refills: dict[tuple[int, int], int] = {}
    for done, action in enumerate(plan.actions):
        clock.moment = action.clock
        who = action.patient
        if isinstance(action, p.Register):
            patients[who] = clinic.register_patient(
                users[action.user], patient_input(action.spec)
            ).id
        elif isinstance(action, p.Implant):
            pumps[who, action.pump] = clinic.implant_pump(
                users[action.user],
                patients[who],
                pump_input(action.spec),
                catheter_input(action.catheter),
            ).id
        elif isinstance(action, p.Replace):
            pumps[who, action.new] = clinic.replace_pump(
                users[action.user],
                pumps[who, action.pump],
                pump_input(action.spec),
                action.reason,
                catheter_input(action.catheter),
            ).id
        elif isinstance(action, p.Prescribe):
            clinic.change_prescription(
                users[action.user],
                verification(action.verifier),
                pumps[who, action.pump],
                prescription_input(action.spec),
            )
        elif isinstance(action, p.Refill):
            outcome = clinic.record_refill(
                users[action.user],
                verification(action.verifier),
                pumps[who, action.pump],
                refill_input(action),
            )
            refills[who, action.refill] = outcome.refill.id
        elif isinstance(action, p.Correct):
            record = clinic.correct_refill(
                users[action.user],
                verification(action.verifier),
                refills[who, action.refill],
                action.reason,
                lot_number=action.lot,
            )
            refills[who, action.new] = record.id
        elif isinstance(action, p.Event):
            if action.kind == "mri":
                clinic.record_mri(
                    users[action.user],
                    pumps[who, action.pump],
                    action.occurred_at,
                    bool(action.post_mri_check_done),
                    action.note,
                )
            else:
                clinic.record_event(
                    users[action.user],
                    pumps[who, action.pump],
                    action.kind,
                    action.occurred_at,
                    action.note,
                )
        elif isinstance(action, p.Revise):
            clinic.revise_catheter(
                users[action.user],
                pumps[who, action.pump],
                catheter_input(action.catheter),
                action.revised_on,
                action.note,
            )
        elif isinstance(action, p.Explant):
            clinic.explant_pump(
                users[action.user], pumps[who, action.pump], action.explanted_on, action.reason
            )
        elif isinstance(action, p.Status):
            clinic.set_patient_status(
                users[action.user], patients[who], action.status, action.reason
            )
        else:
            raise AssertionError(f"unknown action {action!r}")
        if progress is not None:
            progress(done + 1, len(plan.actions))
    clock.moment = p.ANCHOR
    return clinic
