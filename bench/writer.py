"""Write a planned clinic straight into the database: the rows the services would write.

Benchmark support. Building 5,000 patients' twenty years through the services takes a service
call per action (16 ms or more each: hours for 400,000 actions), so the large clinic is
written here instead, in a few transactions of bulk inserts: the users and settings through
the services (as the demo clinic does), then, for every planned action, the rows the service
method would add, with the ids the database would give them (actions run in clock order), the
audit entries chained with :func:`pumpmgr.db.audit.entry_hash` over
:func:`pumpmgr.db.audit.canonical_json` payloads, and at the end each active pump's stored
forecast from :func:`pumpmgr.services.forecasting.compute`, computed as of the pump's last
change, as the service's forecast update would have left it.

The entries carry no row images (revision 0005, :mod:`pumpmgr.db.rowchain`): the rows are
written in bulk, patients and pumps in their final state, so the images the services' entries
carry cannot be mirrored here. The chain verifies; ``audit verify``'s check of the records
reports the bulk-written rows as written outside pumpmgr, which they are.

``tests/test_bench.py`` builds a small clinic here and through the services
(:mod:`bench.replay`) and compares them row for row, so this mirror cannot drift unseen from
the services it copies.

Over 600 lines: one writer mirroring every service write the bench's actions make, kept whole so
that ``tests/test_bench.py`` compares it with the services at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from bench import plan as p
from bench import replay
from pumpmgr.catalogs import DrugLibrary
from pumpmgr.db import schema as db
from pumpmgr.db.audit import GENESIS_HASH, canonical_json, chain_head, entry_hash
from pumpmgr.db.engine import Database
from pumpmgr.db.rowchain import rows_json
from pumpmgr.orders import needs_prescriber
from pumpmgr.records import ClinicSettings, PrescriptionRecord
from pumpmgr.services import forecasting
from pumpmgr.services.clinic import Actor
from pumpmgr.services.prescriptions import continues_payload, dose_change
from pumpmgr.units import CM, HOUR, MCG, MCG_PER_ML, ML, ML_PER_CM, Q_, Kind, to_canonical

#: Actions per write transaction.
BATCH = 40_000
#: What each entry written here carries as its row images: none (module docstring).
NO_ROW_IMAGES = rows_json([], None)

#: Child tables in the order their rows are inserted (parents first).
_ORDER: tuple[type[db.Base], ...] = (
    db.Catheter,
    db.CatheterSegment,
    db.Prescription,
    db.PrescriptionIngredient,
    db.ScheduleStep,
    db.PrescriptionFinding,
    db.Refill,
    db.PumpEvent,
    db.AuditEntry,
)


@dataclass
class _PumpState:
    """What the pump's stored forecast is computed from."""

    id: int
    patient_id: int
    spec: p.PumpSpec
    alarm_ml: float
    accuracy: float | None
    active: bool
    rx: list[tuple[int, p.RxSpec]] = field(default_factory=list)
    last_fill: tuple[datetime, float, float | None] | None = None
    fills: int = 0  #: current refills
    refill_rows: list[dict[str, Any]] = field(default_factory=list)  #: current, oldest first
    refreshed: datetime | None = None
    catheter_implanted: date | None = None


@dataclass(frozen=True)
class WriteSummary:
    rows: dict[str, int]
    audit_entries: int
    forecasts: int


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), p.TZ).astimezone(UTC)


class _Writer:
    def __init__(
        self, database: Database, plan: p.ClinicPlan, progress: Callable[[str, float], None] | None
    ) -> None:
        self.database = database
        self.plan = plan
        self.progress = progress
        self.clinic = replay.service(database)
        self.users: dict[str, Actor] = {}
        self.library: DrugLibrary
        self.settings: ClinicSettings
        self.buffers: dict[type[db.Base], list[dict[str, Any]]] = {t: [] for t in _ORDER}
        self.next_id: dict[type[db.Base], int] = {}
        self.patients: dict[int, int] = {}
        self.pumps: dict[tuple[int, int], _PumpState] = {}
        self.rx: dict[tuple[int, int], int] = {}
        self.refills: dict[tuple[int, int], dict[str, Any]] = {}
        self.seq = 0
        self.prev_hash = GENESIS_HASH
        self.written: dict[str, int] = {}

    # -- ids, rows, audit

    def new_id(self, model: type[db.Base]) -> int:
        value = self.next_id[model]
        self.next_id[model] = value + 1
        return value

    def row(self, model: type[db.Base], values: dict[str, Any]) -> dict[str, Any]:
        self.buffers[model].append(values)
        return values

    def audit(
        self,
        now: datetime,
        user: str,
        action: str,
        entity: str,
        entity_id: object,
        changes: dict[str, Any],
        reason: str | None = None,
    ) -> None:
        self.seq += 1
        fields: dict[str, Any] = {
            "seq": self.seq,
            "recorded_at": now.astimezone(UTC),
            "username": user,
            "workstation": replay.WORKSTATION,
            "action": action,
            "entity_type": entity,
            "entity_id": str(entity_id),
            "payload": canonical_json(changes),
            "reason": reason,
            "prev_hash": self.prev_hash,
            "written_rows": NO_ROW_IMAGES,
        }
        self.prev_hash = entry_hash(**fields)
        fields["row_hash"] = self.prev_hash
        self.row(db.AuditEntry, fields)

    def uid(self, username: str) -> int:
        return self.users[username].id

    # -- the run

    def run(self) -> WriteSummary:
        self.users = replay.setup(
            self.clinic, datetime.combine(self.plan.first_day, time(0, 0), p.TZ)
        )
        self.settings = self.clinic.settings()
        self.library = self.clinic.library()
        with self.database.write() as session:
            for model in (*_ORDER, db.Patient, db.Pump):
                if model is db.AuditEntry:
                    continue
                table = _table(model)
                self.next_id[model] = (
                    int(session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0) + 1
                )
            head = chain_head(session)
            if head is not None:
                self.seq, self.prev_hash = head.seq, head.row_hash
        self.write_patients_and_pumps()
        actions = self.plan.actions
        for start in range(0, len(actions), BATCH):
            for action in actions[start : start + BATCH]:
                self.apply(action)
            self.flush()
            if self.progress is not None:
                self.progress("writing", min(1.0, (start + BATCH) / max(1, len(actions))))
        forecasts = self.write_forecasts()
        return WriteSummary(dict(self.written), self.seq, forecasts)

    def insert(
        self,
        session: Session,
        model: type[db.Base],
        rows: list[dict[str, Any]],
    ) -> None:
        if rows:
            session.execute(insert(_table(model)), rows)
            name = _table(model).name
            self.written[name] = self.written.get(name, 0) + len(rows)

    def flush(self) -> None:
        with self.database.write() as session:
            for model in _ORDER:
                self.insert(session, model, self.buffers[model])
                self.buffers[model] = []

    # -- patients and pumps, in their final state (so no row is updated afterwards)

    def write_patients_and_pumps(self) -> None:
        patients: dict[int, dict[str, Any]] = {}
        pumps: dict[tuple[int, int], dict[str, Any]] = {}
        specs: dict[tuple[int, int], p.PumpSpec] = {}
        for action in self.plan.actions:
            now = action.clock
            who = action.patient
            if isinstance(action, p.Register):
                spec = action.spec
                patient_id = self.new_id(db.Patient)
                self.patients[who] = patient_id
                patients[who] = {
                    "id": patient_id,
                    "mrn": spec.mrn,
                    "family_name": spec.family_name,
                    "given_name": spec.given_name,
                    "date_of_birth": spec.date_of_birth,
                    "indication": db.Indication(spec.indication),
                    "indication_other": None,
                    "renal_impairment": spec.renal_impairment,
                    "emergency_contact_name": spec.contact_name or None,
                    "emergency_contact_phone": spec.contact_phone or None,
                    "notes": spec.notes,
                    "status": db.PatientStatus.ACTIVE,
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
            elif isinstance(action, p.Implant | p.Replace):
                number = action.pump if isinstance(action, p.Implant) else action.new
                pumps[who, number] = self.pump_row(action.spec, self.patients[who], now)
                specs[who, number] = action.spec
                if isinstance(action, p.Replace):
                    old = pumps[who, action.pump]
                    old.update(
                        status=db.PumpStatus.EXPLANTED,
                        explant_date=action.spec.implanted_on,
                        explant_reason=f"replaced: {action.reason}",
                        version=2,
                    )
            elif isinstance(action, p.Explant):
                pumps[who, action.pump].update(
                    status=db.PumpStatus.EXPLANTED,
                    explant_date=action.explanted_on,
                    explant_reason=action.reason,
                    version=2,
                )
            elif isinstance(action, p.Status):
                patients[who].update(
                    status=db.PatientStatus(action.status), updated_at=now, version=2
                )
        for key, values in pumps.items():
            self.pumps[key] = _PumpState(
                values["id"],
                values["patient_id"],
                specs[key],
                values["low_reservoir_alarm_ml"],
                values["accuracy_percent"],
                values["status"] is db.PumpStatus.ACTIVE,
            )
        with self.database.write() as session:
            self.insert(session, db.Patient, list(patients.values()))
            self.insert(session, db.Pump, list(pumps.values()))

    def pump_row(self, spec: p.PumpSpec, patient_id: int, now: datetime) -> dict[str, Any]:
        model = self.clinic.catalogs.pump_model(spec.model_key)
        capacity = Q_(spec.capacity) if spec.capacity is not None else model.capacity
        return {
            "id": self.new_id(db.Pump),
            "patient_id": patient_id,
            "model_key": model.key,
            "serial_number": spec.serial,
            "implant_date": spec.implanted_on,
            "implant_site": spec.site,
            "reservoir_capacity_ml": to_canonical(capacity, Kind.VOLUME),
            "low_reservoir_alarm_ml": to_canonical(model.alarm_volume, Kind.VOLUME),
            "accuracy_percent": model.accuracy_percent,
            "nominal_flow_ml_per_day": None
            if spec.nominal_flow is None
            else to_canonical(Q_(spec.nominal_flow), Kind.FLOW),
            "pump_path_volume_ml": None
            if spec.path_volume is None
            else to_canonical(Q_(spec.path_volume, ML), Kind.VOLUME),
            "replace_by_date": spec.replace_by,
            "status": db.PumpStatus.ACTIVE,
            "explant_date": None,
            "explant_reason": None,
            "created_at": now,
            "version": 1,
        }

    # -- the actions (each as the service method of the same name writes it)

    def apply(self, action: p.Action) -> None:
        now, who = action.clock, action.patient
        if isinstance(action, p.Register):
            self.audit(
                now,
                action.user,
                "patient.register",
                "patient",
                self.patients[who],
                {"mrn": action.spec.mrn, "indication": action.spec.indication},
            )
        elif isinstance(action, p.Implant):
            pump = self.pumps[who, action.pump]
            spec = action.spec
            catheter_id = self.catheter(
                now, action.user, pump, action.catheter, spec.implanted_on, None
            )
            event = self.event(
                now,
                action.user,
                pump.id,
                db.PumpEventKind.IMPLANT,
                _midnight(spec.implanted_on),
                f"{spec.model_key} serial {spec.serial} implanted ({spec.site})",
            )
            self.audit(
                now,
                action.user,
                "pump.implant",
                "pump",
                pump.id,
                {
                    "patient_id": self.patients[who],
                    "model": spec.model_key,
                    "serial": spec.serial,
                    "catheters": [self.catheter_part(catheter_id, pump.id, action.catheter)],
                    "events": [event],
                },
            )
            pump.refreshed = now
        elif isinstance(action, p.Replace):
            old, new, spec = self.pumps[who, action.pump], self.pumps[who, action.new], action.spec
            catheter_id = self.catheter(
                now, action.user, new, action.catheter, spec.implanted_on, None
            )
            moment = _midnight(spec.implanted_on)
            old_spec = old.spec
            explant = self.event(
                now,
                action.user,
                old.id,
                db.PumpEventKind.EXPLANT,
                moment,
                f"explanted: replaced by {spec.model_key} {spec.serial}: {action.reason}",
            )
            replacement = self.event(
                now,
                action.user,
                new.id,
                db.PumpEventKind.REPLACEMENT,
                moment,
                f"replaces {old_spec.model_key} {old_spec.serial}: {action.reason}",
            )
            self.audit(
                now,
                action.user,
                "pump.replace",
                "pump",
                new.id,
                {
                    "old_pump_id": old.id,
                    "new_pump_id": new.id,
                    "catheters": [self.catheter_part(catheter_id, new.id, action.catheter)],
                    "events": [explant, replacement],
                },
                action.reason,
            )
            new.refreshed = now
        elif isinstance(action, p.Prescribe):
            pump = self.pumps[who, action.pump]
            rx_id = self.prescription(now, action.user, pump, who, action.rx, action.spec)
            spec = action.spec
            before = pump.rx[-2][1] if len(pump.rx) > 1 else None
            self.audit(
                now,
                action.user,
                "prescription.change",
                "prescription",
                rx_id,
                {
                    "pump_id": pump.id,
                    "revision": spec.revision,
                    "verified_by": action.verifier,
                    "verdict": spec.verdict,
                    **dose_change(
                        self.library,
                        None if before is None else (before.ingredients[0][0], before.schedule()),
                        (spec.ingredients[0][0], spec.schedule()),
                        spec.prescriber,
                    ),
                    "warnings": _warnings(spec),
                    "order": self.order_payload(action.user, spec),
                    "already_programmed": True,
                    **continues_payload(self.library, replay.prescription_input(spec)),
                },
            )
            pump.refreshed = now
        elif isinstance(action, p.Refill):
            self.refill(action)
        elif isinstance(action, p.Correct):
            self.correct(action)
        elif isinstance(action, p.Event):
            pump = self.pumps[who, action.pump]
            event = self.event(
                now,
                action.user,
                pump.id,
                db.PumpEventKind(action.kind),
                action.occurred_at.astimezone(UTC),
                action.note,
                action.post_mri_check_done,
            )
            self.audit(
                now,
                action.user,
                f"event.{event['kind']}",
                "pump_event",
                event["pump_event_id"],
                {"pump_id": pump.id, "note": action.note},
            )
        elif isinstance(action, p.Revise):
            pump = self.pumps[who, action.pump]
            implanted = pump.catheter_implanted or action.revised_on
            catheter_id = self.catheter(
                now, action.user, pump, action.catheter, implanted, action.revised_on
            )
            event = self.event(
                now,
                action.user,
                pump.id,
                db.PumpEventKind.CATHETER_REVISION,
                _midnight(action.revised_on),
                action.note,
            )
            self.audit(
                now,
                action.user,
                "catheter.revise",
                "catheter",
                catheter_id,
                {
                    "pump_id": pump.id,
                    "segments": len(action.catheter.segments),
                    "events": [event],
                },
            )
        elif isinstance(action, p.Explant):
            pump = self.pumps[who, action.pump]
            event = self.event(
                now,
                action.user,
                pump.id,
                db.PumpEventKind.EXPLANT,
                _midnight(action.explanted_on),
                action.reason,
            )
            self.audit(
                now,
                action.user,
                "pump.explant",
                "pump",
                pump.id,
                {"reason": action.reason, "events": [event]},
            )
        elif isinstance(action, p.Status):
            self.audit(
                now,
                action.user,
                "patient.status",
                "patient",
                self.patients[who],
                {"status": {"before": "active", "after": action.status}},
                action.reason,
            )
        else:
            raise AssertionError(f"unknown action {action!r}")

    def catheter(
        self,
        now: datetime,
        user: str,
        pump: _PumpState,
        spec: p.CatheterSpec,
        implanted: date,
        revised: date | None,
    ) -> int:
        catheter_id = self.new_id(db.Catheter)
        self.row(
            db.Catheter,
            {
                "id": catheter_id,
                "patient_id": pump.patient_id,
                "pump_id": pump.id,
                "model_key": spec.model_key,
                "tip_level": spec.tip_level,
                "implant_date": implanted,
                "revision_date": revised,
                "recorded_at": now,
                "recorded_by_id": self.uid(user),
                "corrects_id": None,
                "correction_reason": None,
            },
        )
        for position, segment in enumerate(spec.segments):
            self.row(
                db.CatheterSegment,
                {
                    "id": self.new_id(db.CatheterSegment),
                    "catheter_id": catheter_id,
                    "position": position,
                    "implanted_length_cm": _cm(segment.implanted_cm),
                    "trimmed_length_cm": _cm(segment.trimmed_cm),
                    "volume_ml_per_cm": to_canonical(
                        Q_(segment.ml_per_cm, ML_PER_CM), Kind.VOLUME_PER_LENGTH
                    ),
                },
            )
        pump.catheter_implanted = implanted
        return catheter_id

    def event(
        self,
        now: datetime,
        user: str,
        pump_id: int,
        kind: db.PumpEventKind,
        occurred: datetime,
        note: str,
        post_mri: bool | None = None,
    ) -> dict[str, Any]:
        """The event's row; returns it as the ``events`` part of the call's audit entry
        (:meth:`pumpmgr.services.context.ClinicContext.carry`)."""
        event_id = self.new_id(db.PumpEvent)
        self.row(
            db.PumpEvent,
            {
                "id": event_id,
                "pump_id": pump_id,
                "kind": kind,
                "occurred_at": occurred,
                "post_mri_check_done": post_mri,
                "note": note,
                "recorded_at": now,
                "recorded_by_id": self.uid(user),
                "corrects_id": None,
                "correction_reason": None,
            },
        )
        return {"pump_event_id": event_id, "kind": kind.value, "pump_id": pump_id, "note": note}

    @staticmethod
    def catheter_part(catheter_id: int, pump_id: int, spec: p.CatheterSpec) -> dict[str, Any]:
        """A catheter implanted with its pump, as the call's audit entry lists it."""
        return {
            "catheter_id": catheter_id,
            "pump_id": pump_id,
            "model": spec.model_key,
            "tip_level": spec.tip_level,
            "segments": len(spec.segments),
        }

    def prescription(
        self, now: datetime, user: str, pump: _PumpState, who: int, number: int, spec: p.RxSpec
    ) -> int:
        rx_id = self.new_id(db.Prescription)
        self.rx[who, number] = rx_id
        bolus = spec.bolus
        dose = lockout = per_day = None
        if bolus is not None and bolus[1] != 0:
            dose = to_canonical(Q_(bolus[0], MCG), Kind.MASS)
            per_day = max(bolus[1], 1)
            lockout = to_canonical(Q_(bolus[2], HOUR), Kind.DURATION)
        self.row(
            db.Prescription,
            {
                "id": rx_id,
                "pump_id": pump.id,
                "revision": spec.revision,
                "effective_at": spec.effective_at.astimezone(UTC),
                "prescriber_name": spec.prescriber,
                "prescriber_id": self.uid(p.PRESCRIBER),
                **self.order_columns(user, spec),
                "ptm_bolus_dose_mcg": dose,
                "ptm_max_per_day": per_day,
                "ptm_lockout_days": lockout,
                "note": "",
                "recorded_at": now,
                "recorded_by_id": self.uid(user),
                "corrects_id": None,
                "correction_reason": None,
            },
        )
        for position, (drug, concentration) in enumerate(spec.ingredients):
            self.row(
                db.PrescriptionIngredient,
                {
                    "id": self.new_id(db.PrescriptionIngredient),
                    "prescription_id": rx_id,
                    "position": position,
                    "drug_key": self.library.drug(drug).key,
                    "concentration_mcg_per_ml": _concentration(concentration),
                    "continued_mcg_per_day": dict(spec.continued).get(drug),
                },
            )
        for step in spec.steps:
            self.row(
                db.ScheduleStep,
                {
                    "id": self.new_id(db.ScheduleStep),
                    "prescription_id": rx_id,
                    "start_time": step.start,
                    "rate_mcg_per_day": step.canonical,
                },
            )
        reasons = dict(spec.reasons)
        for position, (code, level, message) in enumerate(spec.findings):
            self.row(
                db.PrescriptionFinding,
                {
                    "id": self.new_id(db.PrescriptionFinding),
                    "prescription_id": rx_id,
                    "position": position,
                    "code": code,
                    "level": level,
                    "message": message,
                    "override_reason": reasons.get(code) or None,
                },
            )
        pump.rx.append((rx_id, spec))
        return rx_id

    def order_columns(self, user: str, spec: p.RxSpec) -> dict[str, Any]:
        """The order's columns as the services write them for a replayed history: a nurse
        enters the written order the pump was programmed with (never held), the prescriber's
        own entry records nothing of how it was given."""
        own = user == p.PRESCRIBER
        return {
            "order_given_as": None if own else "written",
            "order_given_at": None if own else spec.effective_at.astimezone(UTC),
            "read_back_confirmed": None if own else False,
            # the bench's patients continue their doses (RxSpec.continued): never a start
            "high_risk": needs_prescriber(
                spec.verdict, (c for c, _l, _m in spec.findings), starts=()
            ),
            "held_for_signature": False,
        }

    def order_payload(self, user: str, spec: p.RxSpec) -> dict[str, Any]:
        """The ``order`` part of the audit entry that saved ``spec`` (as the services')."""
        columns = self.order_columns(user, spec)
        state = (
            "signed"
            if user == p.PRESCRIBER
            else ("unsigned_high_risk" if columns["high_risk"] else "awaiting_cosignature")
        )
        return {
            "prescriber": p.PRESCRIBER,
            "given_as": columns["order_given_as"],
            "given_at": columns["order_given_at"],
            "read_back_confirmed": columns["read_back_confirmed"],
            "high_risk": columns["high_risk"],
            "state": state,
        }

    def refill(self, action: p.Refill) -> None:
        now, who = action.clock, action.patient
        pump = self.pumps[who, action.pump]
        if action.new_rx is not None:
            self.prescription(now, action.user, pump, who, *action.new_rx)
        refill_id = self.new_id(db.Refill)
        expected = 0.0 if action.expected is None else action.expected
        bolus = (
            None
            if action.bridge_ml is None
            else to_canonical(Q_(action.bridge_ml, ML), Kind.VOLUME)
        )
        row = self.row(
            db.Refill,
            {
                "id": refill_id,
                "pump_id": pump.id,
                "prescription_id": self.rx[who, action.current_rx],
                "performed_at": action.performed_at.astimezone(UTC),
                "expected_residual_ml": max(0.0, expected),
                "expected_residual_unfloored_ml": action.expected,
                "pharmacy_compounded": False,
                "aspirated_ml": action.aspirated,
                "discrepancy_verdict": action.verdict,
                "discrepancy_note": action.note or None,
                "volume_added_ml": action.volume,
                "final_reservoir_ml": action.volume,
                "lot_number": action.lot,
                "expiry_date": action.expiry,
                "solution_source": action.source,
                "bridge_bolus_given": action.bridge_ml is not None,
                "priming_bolus_given": False,
                "bolus_volume_ml": bolus,
                "pump_confirmed_running": True,
                "needle_position_confirmed": True,
                "nurse_id": self.uid(action.user),
                "verifying_nurse_id": self.uid(action.verifier),
                "recorded_at": now,
                "recorded_by_id": self.uid(action.user),
                "corrects_id": None,
                "correction_reason": None,
            },
        )
        self.refills[who, action.refill] = row
        new_spec = None if action.new_rx is None else action.new_rx[1]
        self.audit(
            now,
            action.user,
            "refill.record",
            "refill",
            refill_id,
            {
                "pump_id": pump.id,
                "aspirated_ml": row["aspirated_ml"],
                "expected_ml": row["expected_residual_ml"],
                "verdict": row["discrepancy_verdict"],
                "volume_added_ml": row["volume_added_ml"],
                "lot": row["lot_number"],
                "verified_by": action.verifier,
                "prescription_id": row["prescription_id"],
                "new_prescription": new_spec is not None,
                **(
                    {} if new_spec is None else {"order": self.order_payload(action.user, new_spec)}
                ),
                "warnings": {} if new_spec is None else _warnings(new_spec),
            },
        )
        pump.last_fill = (row["performed_at"], row["final_reservoir_ml"], bolus)
        pump.fills += 1
        pump.refill_rows.append(row)
        pump.refreshed = now

    def correct(self, action: p.Correct) -> None:
        now, who = action.clock, action.patient
        pump = self.pumps[who, action.pump]
        old = self.refills[who, action.refill]
        verifier = self.uid(action.verifier)
        row = self.row(
            db.Refill,
            {
                **old,
                "id": self.new_id(db.Refill),
                "lot_number": action.lot,
                "corrects_id": old["id"],
                "correction_reason": action.reason,
                "recorded_at": now,
                "recorded_by_id": self.uid(action.user),
                "nurse_id": old["nurse_id"],
                "verifying_nurse_id": verifier
                if verifier != old["nurse_id"]
                else old["verifying_nurse_id"],
            },
        )
        self.refills[who, action.new] = row
        pump.refill_rows = [row if r["id"] == old["id"] else r for r in pump.refill_rows]
        self.audit(
            now,
            action.user,
            "refill.correct",
            "refill",
            row["id"],
            {"corrects": old["id"], "verified_by": action.verifier},
            action.reason,
        )
        pump.refreshed = now

    # -- the stored forecasts

    def write_forecasts(self) -> int:
        rows = [
            self.forecast_row(state)
            for state in self.pumps.values()
            if state.active and state.refreshed is not None
        ]
        with self.database.write() as session:
            # the due list's facts from the rows just written, as the services keep them
            facts = forecasting.due_facts(session, [row["pump_id"] for row in rows])
            for row in rows:
                row.update(facts[row["pump_id"]])
            self.insert(session, db.PumpForecast, rows)
        return len(rows)

    def forecast_row(self, state: _PumpState) -> dict[str, Any]:
        assert state.refreshed is not None
        fill = None
        versions = state.rx
        if state.last_fill is not None:
            performed = state.last_fill[0]
            held = {rx_id: frozenset(k for k, _ in spec.ingredients) for rx_id, spec in state.rx}
            fill = forecasting.fill_point(
                [db.Refill(**r) for r in state.refill_rows],
                [held.get(r["prescription_id"], frozenset()) for r in state.refill_rows],
            )
            in_force = [
                i
                for i, (_, s) in enumerate(versions)
                if s.effective_at.astimezone(UTC) <= performed
            ]
            versions = versions[in_force[-1] :] if in_force else versions
        records = [_record(rx_id, state.id, spec) for rx_id, spec in versions]
        pump = db.Pump(id=state.id, low_reservoir_alarm_ml=state.alarm_ml)
        row = forecasting.compute(
            pump=pump,
            fill=fill,
            prescriptions=records,
            settings=self.settings,
            library=self.library,
            accuracy_percent=state.accuracy,
            tz=p.TZ,
            now=state.refreshed,
        )
        return {
            column.key: getattr(row, column.key) for column in db.PumpForecast.__table__.columns
        }


def _record(rx_id: int, pump_id: int, spec: p.RxSpec) -> PrescriptionRecord:
    record = p._record(rx_id, spec).record
    return PrescriptionRecord(
        rx_id,
        pump_id,
        record.ingredients,
        record.schedule,
        record.patient_bolus,
        record.effective_at,
        record.prescriber,
    )


def _warnings(spec: p.RxSpec) -> dict[str, str]:
    reasons = dict(spec.reasons)
    return {code: reasons.get(code, "") for code, level, _ in spec.findings if level == "warning"}


def _cm(value: float) -> float:
    return to_canonical(Q_(value, CM), Kind.LENGTH)


def _concentration(value: float) -> float:
    return to_canonical(Q_(value, MCG_PER_ML), Kind.CONCENTRATION)


def _table(model: type[db.Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def write_clinic(
    database: Database, plan: p.ClinicPlan, progress: Callable[[str, float], None] | None = None
) -> WriteSummary:
    """Write ``plan`` into the empty ``database`` (see the module docstring)."""
    return _Writer(database, plan, progress).run()


def tables_in_order() -> Iterable[str]:
    return (_table(m).name for m in (db.Patient, db.Pump, *_ORDER, db.PumpForecast))
