"""The clinic's services: one method per user action, each one transaction (application layer).

The only place that opens database sessions. Each action validates with the domain core, writes
everything in one unit of work, appends to the audit log, and recomputes the stored forecast of
the pump it touched. Reads return frozen records (:mod:`pumpmgr.records`), never ORM rows.
Nothing clinical is updated in place: a correction is a new row pointing at what it corrects.
"""

from __future__ import annotations

import functools
import logging
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Literal, TypeVar, overload

from argon2 import PasswordHasher
from sqlalchemy import Date, DateTime, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from pumpmgr import auth
from pumpmgr.catalogs import Catalogs, Drug, DrugLibrary, Limit, PumpType
from pumpmgr.clock import Clock, SystemClock
from pumpmgr.db import schema as db
from pumpmgr.db.audit import ChainReport, append_audit, verify_chain
from pumpmgr.db.backup import BackupManifest, backup_database, check_backup, restore_database
from pumpmgr.db.engine import Database, open_database
from pumpmgr.db.errors import ChangedMeanwhile
from pumpmgr.deadspace import Bridge, bridge
from pumpmgr.dose_checks import DoseCheck, change_context, check_admixture, patient_context
from pumpmgr.dosing import admixture_doses
from pumpmgr.errors import Code, ImpossibleInput, InputError, PumpMgrError
from pumpmgr.formatting import format_quantity
from pumpmgr.records import (
    CatheterRecord,
    ClinicSettings,
    DueRow,
    DueState,
    EventRecord,
    Ingredient,
    PatientChart,
    PatientRecord,
    PrescriptionRecord,
    ProgrammerFigures,
    PumpRecord,
    RefillRecord,
    StoredForecast,
)
from pumpmgr.refill import (
    Discrepancy,
    ProgrammerComparison,
    ProgramPeriod,
    compare_programmer,
    discrepancy,
    expected_residual,
    plan_refill,
)
from pumpmgr.services import forecasting, mapping
from pumpmgr.services.collector import collector_paused
from pumpmgr.services.inputs import (
    CatheterCorrection,
    CatheterInput,
    EventCorrection,
    PatientInput,
    PrescriptionInput,
    PumpCorrection,
    PumpInput,
    RecordCorrection,
    RefillInput,
    SegmentInput,
    Verification,
)
from pumpmgr.services.permissions import (
    Action,
    PermissionDenied,
    allowed,
    require_permission,
)
from pumpmgr.services.throttle import SignInThrottle
from pumpmgr.units import (
    Q_,
    Kind,
    Quantity,
    exceeds,
    from_canonical,
    require_not_negative,
    require_positive,
    to_canonical,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
#: Where a unit of work collects the user names whose password check failed in it
#: (``Session.info``), to be counted once it has been rolled back (:meth:`ClinicService._write`).
_FAILED_CHECKS = "pumpmgr.failed_password_checks"

#: The due list's state words (so colour is never the only signal).
DUE_SOON_DAYS = 7
DUE_LATER_DAYS = 14
#: Replace-by dates are warned from 6 months before [S8].
REPLACE_BY_WARNING_DAYS = 183


@dataclass(frozen=True)
class Actor:
    """The signed-in user on whose behalf a service acts."""

    id: int
    username: str
    full_name: str
    role: Literal["nurse", "prescriber", "administrator"]


@dataclass(frozen=True)
class RefillOutcome:
    refill: RefillRecord
    discrepancy: Discrepancy | None
    bridge: Bridge | None
    forecast: StoredForecast | None
    prescription: PrescriptionRecord | None  #: the version saved with the refill, if any


@dataclass(frozen=True)
class PrescriptionOutcome:
    prescription: PrescriptionRecord
    check: DoseCheck
    forecast: StoredForecast | None


@dataclass(frozen=True)
class UserRecord:
    """One account as the users screen lists it (never its password hash)."""

    id: int
    username: str
    full_name: str
    role: Literal["nurse", "prescriber", "administrator"]
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class AuditRecord:
    """One audit entry as stored: ``payload`` is the canonical JSON text that was hashed."""

    seq: int
    recorded_at: datetime
    username: str
    workstation: str
    action: str
    entity_type: str
    entity_id: str | None
    payload: str
    reason: str | None
    prev_hash: str
    row_hash: str


@dataclass(frozen=True)
class ExportSummary:
    """What :meth:`ClinicService.export_to` wrote."""

    path: Path
    rows: int
    patients: int
    audit_entries: int



def _text(value: str, field: str, *, required: bool = True, limit: int = 200) -> str:
    cleaned = value.strip() if isinstance(value, str) else ""
    if required and not cleaned:
        raise InputError(f"{field}: is required", code=Code.NO_VALUE, field=field)
    if len(cleaned) > limit:
        raise InputError(
            f"{field}: at most {limit} characters", code=Code.OUT_OF_RANGE, field=field
        )
    return cleaned


class ClinicService:
    """The clinic's actions and queries over one database."""

    def __init__(
        self,
        database: Database,
        *,
        catalogs: Catalogs | None = None,
        clock: Clock | None = None,
        tz: tzinfo | None = None,
        workstation: str | None = None,
        hasher: PasswordHasher = auth.DEFAULT_HASHER,
        throttle: SignInThrottle | None = None,
    ) -> None:
        self.database = database
        self.catalogs = catalogs or mapping.default_catalogs()
        self.clock = clock or SystemClock()
        if tz is None:
            import tzlocal

            tz = tzlocal.get_localzone()
        self.tz = tz
        self.workstation = workstation or socket.gethostname()
        self.hasher = hasher
        #: Failed sign-ins and second-user checks per user name, kept in the database (so
        #: shared by every program on it), on this service's clock.
        self.throttle = throttle or SignInThrottle(self.clock)

    # ----------------------------------------------------------------- helpers

    def _now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        return self._now().astimezone(self.tz).date()

    def _audit(
        self, session: Session, actor: Actor, action: str, entity: str, entity_id: object,
        changes: dict[str, Any] | None = None, reason: str | None = None,
    ) -> None:
        append_audit(
            session, username=actor.username, action=action, entity_type=entity,
            entity_id=str(entity_id), changes=changes, reason=reason,
            workstation=self.workstation, at=self._now(),
        )

    def _instant(self, moment: datetime, field: str) -> datetime:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.tz)  # typed in the clinic's local time
        if moment > self._now() + timedelta(minutes=5):
            raise ImpossibleInput(
                f"{field}: {moment.astimezone(self.tz):%Y-%m-%d %H:%M} is in the future",
                code=Code.TIME_ORDER, field=field,
            )
        return mapping.utc(moment)

    def _permit(self, actor: Actor, action: Action) -> None:
        """Refuse with :class:`PermissionDenied` unless the role table allows ``action`` to
        ``actor``'s role and the stored account is still active with that role (deny by
        default: :mod:`pumpmgr.services.permissions`)."""
        with self.database.read() as session:
            require_permission(session, actor, action)

    def _write(self, work: Callable[[Session], T]) -> T:
        """``work(session)`` in one write unit of work through :meth:`Database.run_write`: run
        again from the start after a PostgreSQL serialization failure or deadlock, so a nurse
        never sees a retryable error. ``work`` must change nothing outside the session, since
        an attempt may be thrown away.

        Password checks that failed in it are counted afterwards, in a unit of work of their
        own: the one that checked them was rolled back with the refusal."""
        failed: list[str] = []

        def attempt(session: Session) -> T:
            failed.clear()  # a retried attempt checks (and may fail) again
            session.info[_FAILED_CHECKS] = failed
            return work(session)

        try:
            return self.database.run_write(attempt)
        finally:
            if failed:
                self._count_failures(list(failed))

    def _count_failures(self, usernames: list[str]) -> None:
        try:
            self.database.run_write(lambda session: self.throttle.failed(session, usernames))
        except Exception:  # the refusal itself must still reach the user
            log.exception("a failed password check could not be counted")

    def _authenticate(self, session: Session, username: str, password: str,
                      field: str = "password") -> db.User:
        """:func:`pumpmgr.auth.authenticate`, throttled after repeated failures (the count is
        shared through the database: :mod:`pumpmgr.services.throttle`)."""
        failed: list[str] | None = session.info.get(_FAILED_CHECKS)
        if failed is None:
            raise RuntimeError("a password is checked only in a unit of work of _write()")
        self.throttle.check(session, username, field)
        try:
            user = auth.authenticate(session, username, password, self.hasher)
        except auth.AuthError as exc:
            if exc.code is Code.AUTH_BAD_CREDENTIALS:
                failed.append(username)
            raise
        self.throttle.succeeded(session, username)
        return user

    def _verify_second(self, session: Session, actor: Actor, verification: Verification) -> db.User:
        verifier = self._authenticate(session, verification.username, verification.password,
                                      "verification")
        if verifier.id == actor.id:
            raise auth.AuthError(
                "verification: the second check must be done by another user",
                code=Code.AUTH_BAD_CREDENTIALS, field="verification",
            )
        if not allowed(verifier.role.value, Action.VERIFY):
            raise PermissionDenied(
                f"verification: {verifier.username} ({verifier.role.value}) may not verify "
                "clinical records; the second check needs a nurse or a prescriber",
                code=Code.AUTH_NOT_PERMITTED, field="verification",
            )
        return verifier

    def library(self, session: Session | None = None) -> DrugLibrary:
        """The drug library: the shipped catalog with the clinic's audited edits applied."""
        if session is None:
            with self.database.read() as read:
                return self.library(read)
        cache = forecasting.session_cache(session, "library")
        key = id(self.catalogs)
        if key not in cache:
            cache[key] = self._read_library(session)
        library: DrugLibrary = cache[key]
        return library

    def _read_library(self, session: Session) -> DrugLibrary:
        drugs = dict(self.catalogs.drugs.drugs)
        edits = session.scalars(select(db.DrugLibraryEdit).order_by(db.DrugLibraryEdit.id))
        for edit in edits:
            drug = drugs[edit.drug_key]
            changes: dict[str, Any] = {}
            for field, value in edit.changes.items():
                unit = "mcg/day" if field != "max_concentration" else "mcg/mL"
                changes[field] = None if value is None else Limit(
                    Q_(float(value), unit).to(
                        f"{drug.display_unit}/day" if unit == "mcg/day"
                        else f"{drug.display_unit}/mL"
                    ),
                    (f"clinic edit #{edit.id}",),
                )
            drugs[edit.drug_key] = replace(drug, **changes)
        return DrugLibrary(drugs)

    def settings(self, session: Session | None = None) -> ClinicSettings:
        if session is None:
            with self.database.read() as read:
                return self.settings(read)
        row = session.get_one(db.ClinicSettings, 1)
        return ClinicSettings(
            clinic_name=row.clinic_name,
            clinic_phone=row.clinic_phone,
            buffer_days=row.refill_buffer_days,
            open_days=frozenset(d for d in range(7) if row.open_weekdays_mask & (1 << d)),
            page_size=row.page_size.value,
            auto_lock_minutes=row.auto_lock_minutes,
        )

    # ----------------------------------------------------------------- users

    def has_users(self) -> bool:
        with self.database.read() as session:
            return bool(session.scalar(select(func.count()).select_from(db.User)))

    def create_first_administrator(self, username: str, password: str, full_name: str) -> Actor:
        """The first account of a new clinic; refused once any account exists."""

        def work(session: Session) -> Actor:
            if session.scalar(select(func.count()).select_from(db.User)):
                raise PermissionDenied(
                    "the clinic already has accounts; an administrator adds new ones",
                    code=Code.AUTH_NOT_PERMITTED, field="user",
                )
            user = auth.create_user(session, username=username, password=password,
                                    full_name=full_name, role=db.Role.ADMINISTRATOR,
                                    now=self._now(), hasher=self.hasher)
            actor = self._actor(user)
            self._audit(session, actor, "user.create", "user", user.id,
                        {"username": user.username, "role": user.role.value})
            return actor

        return self._write(work)

    def add_user(
        self, actor: Actor, username: str, password: str, full_name: str,
        role: Literal["nurse", "prescriber", "administrator"],
    ) -> Actor:
        self._permit(actor, Action.ADD_USER)

        def work(session: Session) -> Actor:
            user = auth.create_user(session, username=username, password=password,
                                    full_name=full_name, role=db.Role(role), now=self._now(),
                                    hasher=self.hasher)
            self._audit(session, actor, "user.create", "user", user.id,
                        {"username": user.username, "role": user.role.value})
            return self._actor(user)

        return self._write(work)

    def list_users(self) -> list[UserRecord]:
        """Every account, active ones first, by user name."""
        with self.database.read() as session:
            rows = session.scalars(select(db.User).order_by(db.User.active.desc(),
                                                            db.User.username)).all()
            return [UserRecord(u.id, u.username, u.full_name, u.role.value, u.active,
                               u.created_at) for u in rows]

    def deactivate_user(self, actor: Actor, user_id: int, reason: str) -> UserRecord:
        """Close an account: it can no longer sign in or verify; its records and audit
        entries stay. Refused for one's own account and for the last active administrator."""
        self._permit(actor, Action.DEACTIVATE_USER)
        reason = _text(reason, "reason", limit=2000)

        def work(session: Session) -> UserRecord:
            user = session.get(db.User, user_id)
            if user is None:
                raise InputError("user: no such account", code=Code.NO_VALUE, field="user")
            if user.id == actor.id:
                raise ImpossibleInput("user: you cannot deactivate your own account; ask "
                                      "another administrator", code=Code.OUT_OF_RANGE,
                                      field="user")
            if not user.active:
                raise ImpossibleInput(f"user: {user.username} is already deactivated",
                                      code=Code.OUT_OF_RANGE, field="user")
            if user.role is db.Role.ADMINISTRATOR and not session.scalar(
                    select(func.count()).select_from(db.User).where(
                        db.User.role == db.Role.ADMINISTRATOR, db.User.active.is_(True),
                        db.User.id != user.id)):
                raise ImpossibleInput("user: the clinic's last active administrator cannot be "
                                      "deactivated; add another administrator first",
                                      code=Code.OUT_OF_RANGE, field="user")
            user.active = False
            session.flush()
            self._audit(session, actor, "user.deactivate", "user", user.id,
                        {"username": user.username, "active": {"before": True,
                                                               "after": False}}, reason)
            return UserRecord(user.id, user.username, user.full_name, user.role.value,
                              user.active, user.created_at)

        return self._write(work)

    def sign_in(self, username: str, password: str) -> Actor:
        """The account with this name and password; refused for a while after repeated
        failures (:mod:`pumpmgr.services.throttle`)."""

        def work(session: Session) -> Actor:
            user = self._authenticate(session, username, password)
            return self._actor(user)

        return self._write(work)

    @staticmethod
    def _actor(user: db.User) -> Actor:
        return Actor(user.id, user.username, user.full_name, user.role.value)

    # ----------------------------------------------------------------- patients

    def register_patient(self, actor: Actor, data: PatientInput) -> PatientRecord:
        self._permit(actor, Action.REGISTER_PATIENT)
        mrn = _text(data.mrn, "medical record number", limit=64)
        if data.date_of_birth > self.today():
            raise ImpossibleInput("date of birth: is in the future", code=Code.TIME_ORDER,
                                  field="date of birth")

        def work(session: Session) -> PatientRecord:
            now = self._now()
            row = db.Patient(
                mrn=mrn,
                family_name=_text(data.family_name, "family name"),
                given_name=_text(data.given_name, "given name"),
                date_of_birth=data.date_of_birth,
                indication=db.Indication(data.indication),
                renal_impairment=data.renal_impairment,
                emergency_contact_name=_text(data.emergency_contact_name, "emergency contact",
                                             required=False) or None,
                emergency_contact_phone=_text(data.emergency_contact_phone, "emergency phone",
                                              required=False, limit=64) or None,
                notes=_text(data.notes, "notes", required=False, limit=10_000),
                created_at=now, updated_at=now,
            )
            session.add(row)
            session.flush()
            self._audit(session, actor, "patient.register", "patient", row.id,
                        {"mrn": mrn, "indication": data.indication})
            return mapping.patient_record(row)

        return self._write(work)

    def set_patient_status(
        self, actor: Actor, patient_id: int, status: Literal["active", "inactive", "deceased"],
        reason: str,
    ) -> PatientRecord:
        self._permit(actor, Action.SET_PATIENT_STATUS)

        def work(session: Session) -> PatientRecord:
            row = session.get_one(db.Patient, patient_id)
            before = row.status.value
            row.status = db.PatientStatus(status)
            row.updated_at = self._now()
            session.flush()
            self._audit(session, actor, "patient.status", "patient", row.id,
                        {"status": {"before": before, "after": status}},
                        _text(reason, "reason", limit=2000))
            return mapping.patient_record(row)

        return self._write(work)

    def patient_for_edit(self, patient_id: int) -> tuple[PatientRecord, int]:
        """The patient as an edit form loads it, with the row's version: hand the version back
        to :meth:`edit_patient`, which refuses the save if someone changed the patient since."""
        with self.database.read() as session:
            row = session.get_one(db.Patient, patient_id)
            return mapping.patient_record(row), row.version

    def edit_patient(
        self, actor: Actor, patient_id: int, data: PatientInput, version: int, reason: str = "",
    ) -> PatientRecord:
        """Save a patient edited from the version :meth:`patient_for_edit` gave. A save over a
        change someone else saved meanwhile is refused with :class:`ChangedMeanwhile`, never
        silently overwritten (the row's version is checked here and again by the UPDATE)."""
        self._permit(actor, Action.EDIT_PATIENT)
        mrn = _text(data.mrn, "medical record number", limit=64)
        if data.date_of_birth > self.today():
            raise ImpossibleInput("date of birth: is in the future", code=Code.TIME_ORDER,
                                  field="date of birth")

        def work(session: Session) -> PatientRecord:
            row = session.get_one(db.Patient, patient_id)
            if row.version != version:
                raise ChangedMeanwhile(
                    "patient: this record was changed by someone else (another workstation or "
                    "window) after you opened it, so your change was not saved. Reload the "
                    "record to see the other change, then make yours again.",
                    code=Code.DB_CHANGED_MEANWHILE, field="patient")
            fields = ("mrn", "family_name", "given_name", "date_of_birth", "indication",
                      "renal_impairment", "emergency_contact_name", "emergency_contact_phone",
                      "notes")
            before = {name: getattr(row, name) for name in fields}
            row.mrn = mrn
            row.family_name = _text(data.family_name, "family name")
            row.given_name = _text(data.given_name, "given name")
            row.date_of_birth = data.date_of_birth
            row.indication = db.Indication(data.indication)
            row.renal_impairment = data.renal_impairment
            row.emergency_contact_name = _text(data.emergency_contact_name, "emergency contact",
                                               required=False) or None
            row.emergency_contact_phone = _text(data.emergency_contact_phone, "emergency phone",
                                                required=False, limit=64) or None
            row.notes = _text(data.notes, "notes", required=False, limit=10_000)
            row.updated_at = self._now()
            session.flush()
            changes = {name: {"before": before[name], "after": getattr(row, name)}
                       for name in fields if before[name] != getattr(row, name)}
            self._audit(session, actor, "patient.edit", "patient", row.id, changes,
                        _text(reason, "reason", required=False, limit=2000) or None)
            return mapping.patient_record(row)

        return self._write(work)

    def settings_for_edit(self) -> tuple[ClinicSettings, int]:
        """The clinic settings with the row's version, for :meth:`update_settings`."""
        with self.database.read() as session:
            return self.settings(session), session.get_one(db.ClinicSettings, 1).version

    # ----------------------------------------------------------------- pumps and catheters

    def _new_pump(
        self, session: Session, patient_id: int, data: PumpInput, catheter: CatheterInput | None,
        actor: Actor,
    ) -> db.Pump:
        model = self.catalogs.pump_model(data.model_key)
        capacity = data.capacity if data.capacity is not None else (
            model.capacity if "capacity" not in model.to_confirm else None
        )
        if capacity is None:
            raise InputError(
                f"capacity: the catalog's capacity for {model.name} is not sourced; enter the "
                "reservoir capacity from the pump's label, for example '20 mL'",
                code=Code.NO_VALUE, field="capacity",
            )
        require_positive(capacity, Kind.VOLUME, "capacity")
        alarm = data.alarm_volume if data.alarm_volume is not None else model.alarm_volume
        if alarm is None:
            raise InputError("alarm volume: enter the low-reservoir alarm volume, for example "
                             "'2 mL'", code=Code.NO_VALUE, field="alarm volume")
        require_not_negative(alarm, Kind.VOLUME, "alarm volume")
        if to_canonical(alarm, Kind.VOLUME) >= to_canonical(capacity, Kind.VOLUME):
            raise ImpossibleInput("alarm volume: must be below the reservoir capacity",
                                  code=Code.OUT_OF_RANGE, field="alarm volume")
        nominal = data.nominal_flow
        if model.type is PumpType.CONSTANT_FLOW and nominal is None:
            raise InputError(
                "nominal flow: a constant-flow pump needs its nominal flow from its label, "
                "for example '1 mL/day'", code=Code.NO_VALUE, field="nominal flow",
            )
        if nominal is not None:
            require_positive(nominal, Kind.FLOW, "nominal flow")
        if data.pump_path_volume is not None:
            require_not_negative(data.pump_path_volume, Kind.VOLUME, "pump path volume")
        accuracy = data.accuracy_percent if data.accuracy_percent is not None else (
            model.accuracy_percent
        )
        if accuracy is not None and not 0 <= accuracy < 100:
            raise ImpossibleInput("accuracy: give a percentage from 0 to below 100",
                                  code=Code.OUT_OF_RANGE, field="accuracy")
        if data.implanted_on > self.today():
            raise ImpossibleInput("implant date: is in the future", code=Code.TIME_ORDER,
                                  field="implant date")
        pump = db.Pump(
            patient_id=patient_id, model_key=model.key,
            serial_number=_text(data.serial_number, "serial number", limit=64),
            implant_date=data.implanted_on, implant_site=_text(data.site, "implant site"),
            reservoir_capacity_ml=to_canonical(capacity, Kind.VOLUME),
            low_reservoir_alarm_ml=to_canonical(alarm, Kind.VOLUME),
            accuracy_percent=accuracy,
            nominal_flow_ml_per_day=None if nominal is None else to_canonical(nominal, Kind.FLOW),
            pump_path_volume_ml=None if data.pump_path_volume is None
            else to_canonical(data.pump_path_volume, Kind.VOLUME),
            replace_by_date=data.replace_by, status=db.PumpStatus.ACTIVE,
            created_at=self._now(),
        )
        session.add(pump)
        session.flush()
        if catheter is not None:
            self._add_catheter(session, actor, pump, catheter, data.implanted_on, None, None)
        return pump

    def _add_catheter(
        self, session: Session, actor: Actor, pump: db.Pump, data: CatheterInput,
        implanted_on: date, revised_on: date | None, corrects: db.Catheter | None,
        reason: str | None = None,
    ) -> db.Catheter:
        self.catalogs.catheter_model(data.model_key)
        if not data.segments:
            raise InputError("segments: a catheter needs at least one segment",
                             code=Code.NO_VALUE, field="segments")
        row = db.Catheter(
            patient_id=pump.patient_id, pump_id=pump.id, model_key=data.model_key,
            tip_level=_text(data.tip_level, "tip level", limit=16), implant_date=implanted_on,
            revision_date=revised_on, recorded_at=self._now(), recorded_by_id=actor.id,
            corrects_id=None if corrects is None else corrects.id,
            correction_reason=None if corrects is None else reason,
        )
        session.add(row)
        session.flush()
        for position, segment in enumerate(data.segments):
            require_positive(segment.implanted_length, Kind.LENGTH, "implanted length")
            require_not_negative(segment.trimmed_length, Kind.LENGTH, "trimmed length")
            require_positive(segment.volume_per_length, Kind.VOLUME_PER_LENGTH,
                             "volume per length")
            session.add(db.CatheterSegment(
                catheter_id=row.id, position=position,
                implanted_length_cm=to_canonical(segment.implanted_length, Kind.LENGTH),
                trimmed_length_cm=to_canonical(segment.trimmed_length, Kind.LENGTH),
                volume_ml_per_cm=to_canonical(segment.volume_per_length,
                                              Kind.VOLUME_PER_LENGTH),
            ))
        session.flush()
        return row

    def _event(
        self, session: Session, actor: Actor, pump_id: int, kind: db.PumpEventKind,
        occurred_at: datetime, note: str, post_mri_check_done: bool | None = None,
    ) -> db.PumpEvent:
        row = db.PumpEvent(
            pump_id=pump_id, kind=kind, occurred_at=occurred_at, note=note,
            post_mri_check_done=post_mri_check_done, recorded_at=self._now(),
            recorded_by_id=actor.id,
        )
        session.add(row)
        session.flush()
        self._audit(session, actor, f"event.{kind.value}", "pump_event", row.id,
                    {"pump_id": pump_id, "note": note})
        return row

    def implant_pump(
        self, actor: Actor, patient_id: int, data: PumpInput, catheter: CatheterInput | None,
    ) -> PumpRecord:
        self._permit(actor, Action.IMPLANT_PUMP)

        def work(session: Session) -> PumpRecord:
            session.get_one(db.Patient, patient_id)
            pump = self._new_pump(session, patient_id, data, catheter, actor)
            at = mapping.utc(datetime.combine(data.implanted_on, datetime.min.time(), self.tz))
            self._event(session, actor, pump.id, db.PumpEventKind.IMPLANT, at,
                        f"{pump.model_key} serial {pump.serial_number} implanted "
                        f"({pump.implant_site})")
            self._audit(session, actor, "pump.implant", "pump", pump.id,
                        {"patient_id": patient_id, "model": pump.model_key,
                         "serial": pump.serial_number})
            self._refresh_forecast(session, pump)
            return mapping.pump_record(pump, self.catalogs)

        return self._write(work)

    def replace_pump(
        self, actor: Actor, old_pump_id: int, data: PumpInput, reason: str,
        catheter: CatheterInput | None = None,
    ) -> PumpRecord:
        """Close the old pump (explanted, history kept) and open the new one, in one step."""
        self._permit(actor, Action.REPLACE_PUMP)
        reason = _text(reason, "reason", limit=2000)

        def work(session: Session) -> PumpRecord:
            old = session.get_one(db.Pump, old_pump_id)
            if old.status is not db.PumpStatus.ACTIVE:
                raise ImpossibleInput("pump: only the active pump can be replaced",
                                      code=Code.OUT_OF_RANGE, field="pump")
            old.status = db.PumpStatus.EXPLANTED
            old.explant_date = data.implanted_on
            old.explant_reason = f"replaced: {reason}"
            session.flush()
            new = self._new_pump(session, old.patient_id, data, catheter, actor)
            at = mapping.utc(datetime.combine(data.implanted_on, datetime.min.time(), self.tz))
            self._event(session, actor, old.id, db.PumpEventKind.EXPLANT, at,
                        f"explanted: replaced by {new.model_key} {new.serial_number}: {reason}")
            self._event(session, actor, new.id, db.PumpEventKind.REPLACEMENT, at,
                        f"replaces {old.model_key} {old.serial_number}: {reason}")
            self._audit(session, actor, "pump.replace", "pump", new.id,
                        {"old_pump_id": old.id, "new_pump_id": new.id}, reason)
            session.execute(delete(db.PumpForecast).where(db.PumpForecast.pump_id == old.id))
            self._refresh_forecast(session, new)
            return mapping.pump_record(new, self.catalogs)

        return self._write(work)

    def explant_pump(
        self, actor: Actor, pump_id: int, explanted_on: date, reason: str
    ) -> PumpRecord:
        self._permit(actor, Action.EXPLANT_PUMP)
        reason = _text(reason, "reason", limit=2000)

        def work(session: Session) -> PumpRecord:
            pump = session.get_one(db.Pump, pump_id)
            if pump.status is db.PumpStatus.EXPLANTED:
                raise ImpossibleInput("pump: is already explanted", code=Code.OUT_OF_RANGE,
                                      field="pump")
            pump.status = db.PumpStatus.EXPLANTED
            pump.explant_date = explanted_on
            pump.explant_reason = reason
            session.flush()
            at = mapping.utc(datetime.combine(explanted_on, datetime.min.time(), self.tz))
            self._event(session, actor, pump.id, db.PumpEventKind.EXPLANT, at, reason)
            session.execute(delete(db.PumpForecast).where(db.PumpForecast.pump_id == pump.id))
            self._audit(session, actor, "pump.explant", "pump", pump.id, {"reason": reason})
            return mapping.pump_record(pump, self.catalogs)

        return self._write(work)

    def revise_catheter(
        self, actor: Actor, pump_id: int, data: CatheterInput, revised_on: date, note: str,
    ) -> None:
        self._permit(actor, Action.REVISE_CATHETER)

        def work(session: Session) -> None:
            pump = session.get_one(db.Pump, pump_id)
            previous = self._current_catheter(session, pump.id)
            implanted = previous.implant_date if previous is not None else revised_on
            row = self._add_catheter(session, actor, pump, data, implanted, revised_on, None)
            at = mapping.utc(datetime.combine(revised_on, datetime.min.time(), self.tz))
            self._event(session, actor, pump.id, db.PumpEventKind.CATHETER_REVISION, at,
                        _text(note, "note", required=False, limit=2000) or "catheter revised")
            self._audit(session, actor, "catheter.revise", "catheter", row.id,
                        {"pump_id": pump.id, "segments": len(data.segments)})

        self._write(work)

    def record_mri(
        self, actor: Actor, pump_id: int, occurred_at: datetime, post_mri_check_done: bool,
        note: str = "",
    ) -> None:
        self._permit(actor, Action.RECORD_MRI)

        def work(session: Session) -> None:
            session.get_one(db.Pump, pump_id)
            self._event(session, actor, pump_id, db.PumpEventKind.MRI,
                        self._instant(occurred_at, "MRI time"),
                        _text(note, "note", required=False, limit=2000), post_mri_check_done)

        self._write(work)

    def record_event(
        self, actor: Actor, pump_id: int, kind: Literal["alarm", "eri", "note"],
        occurred_at: datetime, note: str,
    ) -> None:
        self._permit(actor, Action.RECORD_EVENT)

        def work(session: Session) -> None:
            session.get_one(db.Pump, pump_id)
            self._event(session, actor, pump_id, db.PumpEventKind(kind),
                        self._instant(occurred_at, "time"), _text(note, "note", limit=2000))

        self._write(work)

    # ----------------------------------------------------------------- corrections

    @overload
    def correct_record(self, actor: Actor, correction: EventCorrection, reason: str,
                       ) -> EventRecord: ...

    @overload
    def correct_record(self, actor: Actor, correction: CatheterCorrection, reason: str,
                       ) -> CatheterRecord: ...

    @overload
    def correct_record(self, actor: Actor, correction: PumpCorrection, reason: str,
                       ) -> PumpRecord: ...

    def correct_record(self, actor: Actor, correction: RecordCorrection, reason: str,
                       ) -> EventRecord | CatheterRecord | PumpRecord:
        """Correct a pump event or a catheter record, by the kind of ``correction``: a new
        row pointing at the one it corrects (``corrects_id``), with the reason and the user,
        and an audit entry; the original stays as it was, and reads from then on take the
        correction in its place (the patient's timeline shows both, the correction beneath).

        A :class:`PumpCorrection` changes the pump row's implant or explant date in place (the
        pump is a record edited in place, like its status on explant) and writes a correcting
        event for the pump's implant (or replacement) or explant event, at the new date and
        the original's time of day, so the timeline and the pump agree; one ``pump.correct``
        audit entry holds both dates before and after and the events.

        Only the newest version of a record is corrected: a record that another row already
        corrects is refused, naming that row (a correction may itself be corrected, so a
        mistaken correction can be put right). Refused too: a record that does not exist, a
        correction without a reason, and one that changes nothing.

        The stored forecast does not read pump events, catheters or the pump's implant and
        explant dates (it runs from the last fill and the programs since), so none is
        recomputed; a corrected catheter counts from now on wherever the dead space does (the
        bridge bolus at the next concentration change). Refills are corrected with
        :meth:`correct_refill` (a second user verifies, and the verdict and forecast are
        recomputed); prescriptions by a new version.
        """
        self._permit(actor, Action.CORRECT_RECORD)
        reason = _text(reason, "reason", limit=2000)
        if isinstance(correction, EventCorrection):
            return self._write(lambda s: self._correct_event(s, actor, correction, reason))
        if isinstance(correction, CatheterCorrection):
            return self._write(lambda s: self._correct_catheter(s, actor, correction, reason))
        if isinstance(correction, PumpCorrection):
            return self._write(lambda s: self._correct_pump(s, actor, correction, reason))
        raise InputError(
            "correction: correct_record corrects pump events, catheters and pump dates; a "
            "refill is corrected with its own correction, a prescription by a new version",
            code=Code.OUT_OF_RANGE, field="correction")

    @staticmethod
    def _to_correct(session: Session, model: type[Any], record_id: int, what: str) -> Any:
        """The row ``record_id`` of ``model`` when it is the newest version of its record."""
        row = session.get(model, record_id)
        if row is None:
            raise InputError(f"{what}: there is no {what} #{record_id} to correct",
                             code=Code.NO_VALUE, field=what)
        newer = session.scalar(select(model.id).where(model.corrects_id == row.id)
                               .order_by(model.id).limit(1))
        if newer is not None:
            raise ImpossibleInput(
                f"{what}: #{row.id} was already corrected by #{newer}; correct the newest "
                "version instead", code=Code.OUT_OF_RANGE, field=what)
        return row

    def _correct_event(self, session: Session, actor: Actor, correction: EventCorrection,
                       reason: str, pump_date: bool = False) -> EventRecord:
        """``pump_date``: the correction moves the pump's own implant or explant event with
        the pump's date (:meth:`_correct_pump`, which writes the one audit entry); only then
        may such an event's time change."""
        old: db.PumpEvent = self._to_correct(session, db.PumpEvent, correction.event_id,
                                             "pump event")
        kinds = db.PumpEventKind
        free = {kinds.ALARM, kinds.ERI, kinds.NOTE}
        if correction.kind is not None and correction.kind not in {k.value for k in free}:
            raise InputError("kind: an event is corrected to an alarm, an ERI or a note",
                             code=Code.OUT_OF_RANGE, field="kind")
        kind = old.kind if correction.kind is None else kinds(correction.kind)
        if kind is not old.kind and old.kind not in free:
            raise ImpossibleInput(
                f"kind: a {old.kind.value.replace('_', ' ')} event stays one; only alarm, ERI "
                "and note events change kind", code=Code.OUT_OF_RANGE, field="kind")
        occurred_at = old.occurred_at
        if correction.occurred_at is not None:
            occurred_at = self._instant(correction.occurred_at, "time")
            movable = free | {kinds.MRI}
            if pump_date:
                movable = {kinds.IMPLANT, kinds.REPLACEMENT, kinds.EXPLANT}
            if occurred_at != old.occurred_at and old.kind not in movable:
                raise ImpossibleInput(
                    f"time: the date of a {old.kind.value.replace('_', ' ')} is the pump's or "
                    "the catheter's own record and is not corrected with the event; correct "
                    "its note", code=Code.OUT_OF_RANGE, field="time")
        checked = old.post_mri_check_done
        if correction.post_mri_check_done is not None:
            if kind is not kinds.MRI:
                raise ImpossibleInput("post-MRI check: is recorded for MRI events only",
                                      code=Code.OUT_OF_RANGE, field="post-MRI check")
            checked = correction.post_mri_check_done
        note = old.note if correction.note is None else _text(
            correction.note, "note", required=kind in free, limit=2000)
        before = {"kind": old.kind.value, "occurred_at": old.occurred_at, "note": old.note,
                  "post_mri_check_done": old.post_mri_check_done}
        after = {"kind": kind.value, "occurred_at": occurred_at, "note": note,
                 "post_mri_check_done": checked}
        changes = {name: {"before": before[name], "after": after[name]}
                   for name in before if before[name] != after[name]}
        if not changes:
            raise InputError("correction: changes nothing; give the corrected value",
                             code=Code.NO_VALUE, field="correction")
        row = db.PumpEvent(
            pump_id=old.pump_id, kind=kind, occurred_at=occurred_at, note=note,
            post_mri_check_done=checked, corrects_id=old.id, correction_reason=reason,
            recorded_at=self._now(), recorded_by_id=actor.id)
        session.add(row)
        session.flush()
        if not pump_date:
            self._audit(session, actor, "event.correct", "pump_event", row.id,
                        {"corrects": old.id, "pump_id": old.pump_id, **changes}, reason)
        pump = session.get_one(db.Pump, old.pump_id)
        return mapping.event_record(row, pump.patient_id, actor.full_name)

    def _correct_pump(self, session: Session, actor: Actor, correction: PumpCorrection,
                      reason: str) -> PumpRecord:
        pump = session.get(db.Pump, correction.pump_id)
        if pump is None:
            raise InputError(f"pump: there is no pump #{correction.pump_id} to correct",
                             code=Code.NO_VALUE, field="pump")
        if correction.explanted_on is not None and pump.explant_date is None:
            raise ImpossibleInput(
                "explant date: the pump is not explanted, so it has no explant date to correct",
                code=Code.OUT_OF_RANGE, field="explant date")
        implanted = correction.implanted_on or pump.implant_date
        explanted = correction.explanted_on or pump.explant_date
        today = self.today()
        for name, day in (("implant date", implanted), ("explant date", explanted)):
            if day is not None and day > today:
                raise ImpossibleInput(f"{name}: {day:%Y-%m-%d} is in the future",
                                      code=Code.TIME_ORDER, field=name)
        if explanted is not None and explanted < implanted:
            # name the date the user gave; the explant when both were given
            field = "explant date" if correction.explanted_on is not None else "implant date"
            raise ImpossibleInput(
                f"{field}: the explant ({explanted:%Y-%m-%d}) would be before the implant "
                f"({implanted:%Y-%m-%d})", code=Code.TIME_ORDER, field=field)
        if implanted != pump.implant_date:
            # a refill or prescription before the implant would make the history impossible
            refills = forecasting.current_refills(session, pump.id)
            prescriptions = self._prescriptions(session, pump.id)
            firsts = [("refill", refills[0].performed_at)] if refills else []
            firsts += [("prescription", prescriptions[0].effective_at)] if prescriptions else []
            for what, at in sorted(firsts, key=lambda first: first[1]):
                day = at.astimezone(self.tz).date()
                if implanted > day:
                    raise ImpossibleInput(
                        f"implant date: is after the pump's first {what} ({day:%Y-%m-%d})",
                        code=Code.TIME_ORDER, field="implant date")
        changes: dict[str, Any] = {
            name: {"before": before, "after": after}
            for name, before, after in (("implanted_on", pump.implant_date, implanted),
                                        ("explanted_on", pump.explant_date, explanted))
            if before != after}
        if not changes:
            raise InputError("correction: changes nothing; give the corrected date",
                             code=Code.NO_VALUE, field="correction")
        corrected: list[int] = []
        correcting: list[int] = []
        kinds = db.PumpEventKind
        for name, event_kinds in (("implanted_on", {kinds.IMPLANT, kinds.REPLACEMENT}),
                                  ("explanted_on", {kinds.EXPLANT})):
            if name not in changes:
                continue
            event = self._pump_date_event(session, pump.id, event_kinds)
            if event is None:  # records imported without the event: the pump row alone
                continue
            local = event.occurred_at.astimezone(self.tz)
            if local.date() == changes[name]["after"]:  # the timeline already has it right
                continue
            at = datetime.combine(changes[name]["after"], local.time(), self.tz)
            # the original time of day may still be to come today; the event is not future
            at = min(at, self._now())
            row = self._correct_event(session, actor, EventCorrection(event.id, occurred_at=at),
                                      reason, pump_date=True)
            corrected.append(event.id)
            correcting.append(row.id)
        pump.implant_date = implanted
        pump.explant_date = explanted
        session.flush()
        self._audit(session, actor, "pump.correct", "pump", pump.id,
                    {**changes, "corrects_events": corrected, "correcting_events": correcting},
                    reason)
        return mapping.pump_record(pump, self.catalogs)

    @staticmethod
    def _pump_date_event(session: Session, pump_id: int, kinds: set[db.PumpEventKind],
                         ) -> db.PumpEvent | None:
        """The newest version of the pump's implant (or replacement) or explant event."""
        corrected = select(db.PumpEvent.corrects_id).where(db.PumpEvent.corrects_id.is_not(None))
        return session.scalars(
            select(db.PumpEvent)
            .where(db.PumpEvent.pump_id == pump_id, db.PumpEvent.kind.in_(kinds),
                   db.PumpEvent.id.not_in(corrected))
            .order_by(db.PumpEvent.occurred_at, db.PumpEvent.id)).first()

    def _correct_catheter(self, session: Session, actor: Actor,
                          correction: CatheterCorrection, reason: str) -> CatheterRecord:
        old: db.Catheter = self._to_correct(session, db.Catheter, correction.catheter_id,
                                            "catheter")
        if old.pump_id is None:
            raise ImpossibleInput("catheter: is not recorded with a pump, so it cannot be "
                                  "corrected here", code=Code.OUT_OF_RANGE, field="catheter")
        pump = session.get_one(db.Pump, old.pump_id)

        def segments_of(catheter: db.Catheter) -> list[db.CatheterSegment]:
            return list(session.scalars(select(db.CatheterSegment).where(
                db.CatheterSegment.catheter_id == catheter.id)
                .order_by(db.CatheterSegment.position)))

        old_segments = segments_of(old)
        data = correction.catheter or CatheterInput(
            old.model_key, tuple(SegmentInput(
                from_canonical(s.implanted_length_cm, Kind.LENGTH),
                from_canonical(s.trimmed_length_cm, Kind.LENGTH),
                from_canonical(s.volume_ml_per_cm, Kind.VOLUME_PER_LENGTH))
                for s in old_segments), old.tip_level)
        implanted = correction.implanted_on or old.implant_date
        revised = old.revision_date if correction.revised_on is None else correction.revised_on
        today = self.today()
        if implanted > today or (revised is not None and revised > today):
            raise ImpossibleInput("date: is in the future", code=Code.TIME_ORDER,
                                  field="implant date" if implanted > today else "revision date")
        if revised is not None and revised < implanted:
            raise ImpossibleInput("revision date: is before the implant date",
                                  code=Code.TIME_ORDER, field="revision date")
        row = self._add_catheter(session, actor, pump, data, implanted, revised, old, reason)
        new_segments = segments_of(row)
        before, after = (
            {"model": c.model_key, "tip_level": c.tip_level, "implanted_on": c.implant_date,
             "revised_on": c.revision_date,
             "segments_cm_cm_ml_per_cm": [[s.implanted_length_cm, s.trimmed_length_cm,
                                           s.volume_ml_per_cm] for s in segments]}
            for c, segments in ((old, old_segments), (row, new_segments)))
        changes = {name: {"before": before[name], "after": after[name]}
                   for name in before if before[name] != after[name]}
        if not changes:  # rolled back with the unit of work
            raise InputError("correction: changes nothing; give the corrected value",
                             code=Code.NO_VALUE, field="correction")
        self._audit(session, actor, "catheter.correct", "catheter", row.id,
                    {"corrects": old.id, "pump_id": pump.id, **changes}, reason)
        return mapping.catheter_record(row, new_segments, actor.full_name)

    # ----------------------------------------------------------------- prescriptions

    def _prescriptions(self, session: Session, pump_id: int) -> list[PrescriptionRecord]:
        """The pump's current prescription versions (not corrected), oldest first."""
        cache = forecasting.session_cache(session, "prescriptions")
        found: list[PrescriptionRecord] | None = cache.get(("current", pump_id))
        if found is None:
            found = cache[("current", pump_id)] = self._read_prescriptions(session, pump_id)
        return list(found)

    def _read_prescriptions(self, session: Session, pump_id: int) -> list[PrescriptionRecord]:
        corrected = select(db.Prescription.corrects_id).where(
            db.Prescription.corrects_id.is_not(None))
        rows = list(session.scalars(
            select(db.Prescription)
            .where(db.Prescription.pump_id == pump_id, db.Prescription.id.not_in(corrected))
            .order_by(db.Prescription.effective_at, db.Prescription.id)
        ))
        if not rows:
            return []
        ids = [r.id for r in rows]

        def children(model: Any) -> dict[int, list[Any]]:
            grouped: dict[int, list[Any]] = {i: [] for i in ids}
            for child in session.scalars(select(model).where(model.prescription_id.in_(ids))):
                grouped[child.prescription_id].append(child)
            return grouped

        ingredients = children(db.PrescriptionIngredient)
        steps = children(db.ScheduleStep)
        boluses = children(db.ScheduledBolus)
        findings = children(db.PrescriptionFinding)
        library = self.library(session)
        return [
            mapping.prescription_record(r, ingredients[r.id], steps[r.id], boluses[r.id],
                                        findings[r.id], library)
            for r in rows
        ]

    def check_prescription(
        self, pump_id: int, data: PrescriptionInput, session: Session | None = None,
    ) -> DoseCheck:
        """The dose checks a prescription would get, without saving it (for live forms)."""
        if session is None:
            with self.database.read() as read:
                return self.check_prescription(pump_id, data, read)
        pump = session.get_one(db.Pump, pump_id)
        patient = session.get_one(db.Patient, pump.patient_id)
        library = self.library(session)
        history = self._prescriptions(session, pump_id)
        program = self._program_of(data)
        self._check_constant_flow(pump, program)
        volume = program.max_daily_volume()
        drugs = [library.drug(i.drug) for i in data.ingredients]
        doses = admixture_doses(volume, [(d.key, i.concentration)
                                         for d, i in zip(drugs, data.ingredients, strict=True)])
        change = change_context(history, self._instant_any(data.effective_at), library)
        person = patient_context(patient.indication.value, patient.date_of_birth, self.today())
        return check_admixture(
            [(d, doses[d.key], i.concentration) for d, i in zip(drugs, data.ingredients,
                                                                   strict=True)],
            previous_doses=change.previous_doses, hours_since_change=change.hours_since_change,
            increases_past_7_days=change.increases_past_7_days,
            origin=person.origin, pain=person.pain, child=person.child,
        )

    def preview_forecast(self, pump_id: int, data: PrescriptionInput) -> StoredForecast | None:
        """The forecast the pump would get if ``data`` were saved as its next prescription
        (for live forms: the same calculation a saved change runs; nothing is written). None
        before the pump's first fill."""
        with self.database.read() as session:
            pump = session.get_one(db.Pump, pump_id)
            refills = forecasting.current_refills(session, pump.id)
            if not refills:
                return None
            last = refills[-1]
            library = self.library(session)
            program = self._program_of(data)
            drugs = [library.drug(i.drug) for i in data.ingredients]
            proposed = PrescriptionRecord(
                id=0, pump_id=pump.id,
                ingredients=tuple(Ingredient(d.key, i.concentration, d.display_unit)
                                  for d, i in zip(drugs, data.ingredients, strict=True)),
                schedule=program.schedule, patient_bolus=program.patient_bolus,
                effective_at=self._instant_any(data.effective_at), prescriber=data.prescriber)
            row = forecasting.compute(
                pump=pump,
                fill=forecasting.FillPoint(last.performed_at, last.final_reservoir_ml,
                                           last.bolus_volume_ml or 0.0, len(refills) == 1),
                prescriptions=[*self._prescriptions(session, pump.id), proposed],
                settings=self.settings(session), library=library,
                accuracy_percent=pump.accuracy_percent, tz=self.tz, now=self._now())
            return mapping.stored_forecast(row)

    def verify_second_user(self, actor: Actor, verification: Verification) -> Actor:
        """The second user of an independent check, when their name and password are right and
        they may verify (the form tells them at once; the saving action checks again)."""

        def work(session: Session) -> Actor:
            return self._actor(self._verify_second(session, actor, verification))

        return self._write(work)

    def _instant_any(self, moment: datetime) -> datetime:
        return mapping.utc(moment if moment.tzinfo else moment.replace(tzinfo=self.tz))

    @staticmethod
    def _program_of(data: PrescriptionInput) -> Any:
        from pumpmgr.schedule import Program

        if not data.ingredients:
            raise InputError("ingredients: a prescription needs at least one drug",
                             code=Code.NO_VALUE, field="ingredients")
        for ingredient in data.ingredients:
            require_positive(ingredient.concentration, Kind.CONCENTRATION, "concentration")
        return Program(data.ingredients[0].concentration, data.schedule, data.patient_bolus)

    @staticmethod
    def _check_constant_flow(pump: db.Pump, program: Any) -> None:
        if pump.nominal_flow_ml_per_day is None:
            return
        flow = pump.nominal_flow_ml_per_day
        daily = float(program.daily_volume().to("mL/day").m)
        if abs(daily - flow) > 1e-6 * flow or program.patient_bolus is not None:
            needed = float(program.daily_dose().to("mcg/day").m) / flow
            raise ImpossibleInput(
                f"concentration: this constant-flow pump delivers {flow:g} mL/day, so the "
                f"dose needs {needed:g} mcg/mL (the program asks {daily:g} mL/day)",
                code=Code.OUT_OF_RANGE, field="concentration",
            )

    def _save_prescription(
        self, session: Session, actor: Actor, pump: db.Pump, data: PrescriptionInput,
        check: DoseCheck, prescriber_override: str | None = None,
    ) -> db.Prescription:
        if check.verdict == "blocked":
            blocked = "; ".join(f.message for f in check.findings if f.level == "blocked")
            raise ImpossibleInput(f"dose check: cannot be saved: {blocked}",
                                  code=Code.OUT_OF_RANGE, field="dose")
        missing = [f.code for f in check.findings
                   if f.level == "warning" and not data.reasons.get(str(f.code), "").strip()]
        if missing:
            raise InputError(
                "reason: each warning needs a reason before saving: "
                + ", ".join(str(c) for c in missing),
                code=Code.NO_VALUE, field="reason",
            )
        revision = (session.scalar(select(func.max(db.Prescription.revision)).where(
            db.Prescription.pump_id == pump.id)) or 0) + 1
        bolus = data.patient_bolus
        row = db.Prescription(
            pump_id=pump.id, revision=revision,
            effective_at=self._instant(data.effective_at, "effective time"),
            prescriber_name=prescriber_override or _text(data.prescriber, "prescriber"),
            ptm_bolus_dose_mcg=None if bolus is None else to_canonical(bolus.dose, Kind.MASS),
            ptm_max_per_day=None if bolus is None else max(bolus.max_per_day, 1),
            ptm_lockout_days=None if bolus is None else (
                0.0 if bolus.lockout is None else to_canonical(bolus.lockout, Kind.DURATION)),
            note=_text(data.note, "note", required=False, limit=2000),
            recorded_at=self._now(), recorded_by_id=actor.id,
        )
        if bolus is not None and bolus.max_per_day == 0:
            row.ptm_bolus_dose_mcg = row.ptm_max_per_day = row.ptm_lockout_days = None
        session.add(row)
        session.flush()
        library = self.library(session)
        for position, ingredient in enumerate(data.ingredients):
            session.add(db.PrescriptionIngredient(
                prescription_id=row.id, position=position,
                drug_key=library.drug(ingredient.drug).key,
                concentration_mcg_per_ml=to_canonical(ingredient.concentration,
                                                      Kind.CONCENTRATION)))
        for step in data.schedule.steps:
            session.add(db.ScheduleStep(prescription_id=row.id, start_time=step.start,
                                        rate_mcg_per_day=to_canonical(step.rate, Kind.DOSE_RATE)))
        for scheduled in data.schedule.boluses:
            session.add(db.ScheduledBolus(prescription_id=row.id, at_time=scheduled.at,
                                          amount_mcg=to_canonical(scheduled.amount, Kind.MASS)))
        for position, finding in enumerate(check.findings):
            session.add(db.PrescriptionFinding(
                prescription_id=row.id, position=position, code=str(finding.code),
                level=str(finding.level), message=finding.message,
                override_reason=data.reasons.get(str(finding.code)) or None))
        session.flush()
        return row

    def change_prescription(
        self, actor: Actor, verification: Verification, pump_id: int, data: PrescriptionInput,
    ) -> PrescriptionOutcome:
        """A new prescription version, checked against the drug library and verified by a
        second user. Blocked findings cannot be saved; every warning needs a reason."""
        self._permit(actor, Action.CHANGE_PRESCRIPTION)

        def work(session: Session) -> PrescriptionOutcome:
            pump = self._active_pump(session, pump_id)
            verifier = self._verify_second(session, actor, verification)
            check = self.check_prescription(pump_id, data, session)
            self._refuse_solution_change(session, pump, data)
            row = self._save_prescription(session, actor, pump, data, check)
            self._audit(session, actor, "prescription.change", "prescription", row.id, {
                "pump_id": pump.id, "revision": row.revision, "verified_by": verifier.username,
                "verdict": check.verdict,
                "warnings": {str(f.code): data.reasons.get(str(f.code), "")
                             for f in check.findings if f.level == "warning"},
            })
            forecast = self._refresh_forecast(session, pump)
            record = self._prescriptions(session, pump.id)[-1]
            return PrescriptionOutcome(record, check, forecast)

        return self._write(work)

    def _refuse_solution_change(
        self, session: Session, pump: db.Pump, data: PrescriptionInput,
    ) -> None:
        """Once the pump holds a solution, its drugs and concentrations change only with a
        refill, where the bridge bolus is shown (domain-rules §5): a prescription change that
        gives another concentration is a slip, for example 500 mcg/mL typed where 2000 was
        dispensed, which would make the pump deliver four times the dose."""
        history = self._prescriptions(session, pump.id)
        if not history or not forecasting.current_refills(session, pump.id):
            return
        library = self.library(session)
        held = {library.drug(i.drug).key: to_canonical(i.concentration, Kind.CONCENTRATION)
                for i in history[-1].ingredients}
        given = {library.drug(i.drug).key: to_canonical(i.concentration, Kind.CONCENTRATION)
                 for i in data.ingredients}
        if held.keys() != given.keys() or any(
                exceeds(held[k], given[k]) or exceeds(given[k], held[k]) for k in held):
            shown = ", ".join(
                f"{key} " + format_quantity(Q_(value, "mcg/mL"), Kind.CONCENTRATION,
                                            library.drug(key).display_unit)
                for key, value in held.items())
            raise ImpossibleInput(
                f"concentration: the pump holds {shown}; a new drug or concentration is "
                "recorded with the refill that puts it in the pump, where its bridge bolus is "
                "shown", code=Code.CONCENTRATION_NEEDS_REFILL, field="concentration")

    # ----------------------------------------------------------------- refills

    def _active_pump(self, session: Session, pump_id: int) -> db.Pump:
        pump = session.get_one(db.Pump, pump_id)
        if pump.status is not db.PumpStatus.ACTIVE:
            raise ImpossibleInput("pump: is not the patient's active pump",
                                  code=Code.OUT_OF_RANGE, field="pump")
        return pump

    def expected_now(self, pump_id: int, at: datetime | None = None) -> Quantity | None:
        """The expected residual of a pump at ``at`` (default now), or None before a fill."""
        with self.database.read() as session:
            pump = session.get_one(db.Pump, pump_id)
            return self._expected_at(session, pump, mapping.utc(at or self._now()))

    def _expected_at(self, session: Session, pump: db.Pump, at: datetime) -> Quantity | None:
        # the last current refill: from the refills this unit of work read already, else
        # read alone (a pump may have hundreds)
        loaded = forecasting.session_cache(session, "refills").get(pump.id)
        if loaded is None:
            fill = forecasting.last_fills(session, [pump.id]).get(pump.id)
        else:
            fill = None if not loaded else forecasting.FillPoint(
                loaded[-1].performed_at, loaded[-1].final_reservoir_ml,
                loaded[-1].bolus_volume_ml or 0.0, len(loaded) == 1)
        if fill is None:
            return None
        prescriptions = self._prescriptions(session, pump.id)
        in_force = [p for p in prescriptions if p.effective_at <= fill.performed_at]
        if not in_force:
            return None
        running = [in_force[-1], *[p for p in prescriptions
                                   if fill.performed_at < p.effective_at <= at]]
        clock = forecasting.PumpClock(fill.performed_at, self.tz)
        result = expected_residual(
            fill_volume=Q_(fill.final_ml, "mL"),
            filled_at=clock.to_pump(fill.performed_at),
            at=clock.to_pump(at),
            programs=[ProgramPeriod(clock.to_pump(p.effective_at), p.program) for p in running],
            extra_volume=Q_(fill.bolus_ml, "mL"),
        )
        return result.expected_residual

    def record_refill(
        self, actor: Actor, verification: Verification, pump_id: int, data: RefillInput,
    ) -> RefillOutcome:
        """One refill visit: residual check, new fill, optional new program, second check."""
        self._permit(actor, Action.RECORD_REFILL)

        def work(session: Session) -> RefillOutcome:
            pump = self._active_pump(session, pump_id)
            verifier = self._verify_second(session, actor, verification)
            performed = self._instant(data.performed_at, "refill time")
            previous = forecasting.current_refills(session, pump.id)
            if previous and performed <= previous[-1].performed_at:
                raise ImpossibleInput("refill time: is before the last refill on record",
                                      code=Code.TIME_ORDER, field="refill time")
            if not data.needle_position_confirmed:
                raise InputError(
                    "needle position: confirm the needle reached the reservoir's needle stop "
                    "before saving (a pocket fill risks overdose)",
                    code=Code.NO_VALUE, field="needle position")
            if not data.pump_running_confirmed:
                raise InputError("pump running: confirm the pump runs after the refill",
                                 code=Code.NO_VALUE, field="pump running")
            if data.expiry < performed.astimezone(self.tz).date():
                raise ImpossibleInput("expiry: the solution expired before this refill",
                                      code=Code.TIME_ORDER, field="expiry")
            capacity = Q_(pump.reservoir_capacity_ml, "mL")
            plan = plan_refill(reservoir_capacity=capacity, aspirated=data.aspirated,
                               alarm_volume=Q_(pump.low_reservoir_alarm_ml, "mL"),
                               fill_volume=data.volume_added)
            history = self._prescriptions(session, pump.id)
            old = history[-1] if history else None
            new_row = None
            check = None
            if data.new_prescription is not None:
                check = self.check_prescription(pump.id, data.new_prescription, session)
                new_row = self._save_prescription(session, actor, pump, data.new_prescription,
                                                  check)
                history = self._prescriptions(session, pump.id)
            if not history:
                raise InputError("prescription: the pump has no prescription; record one "
                                 "with this fill", code=Code.NO_VALUE, field="prescription")
            current = history[-1]
            found = None
            expected = self._expected_at(session, pump, performed) if previous else None
            if expected is not None:
                found = discrepancy(
                    fill_volume=Q_(previous[-1].final_reservoir_ml, "mL"),
                    expected=expected, actual=data.aspirated, reservoir_capacity=capacity,
                    accuracy_percent=pump.accuracy_percent,
                )
                if found.verdict == "investigate" and not data.discrepancy_note.strip():
                    raise InputError(
                        "discrepancy note: the residual says investigate "
                        f"({found.meaning}); write what was found before saving",
                        code=Code.NO_VALUE, field="discrepancy note")
            bridged = None
            if old is not None and self._concentration_changed(old, current):
                bridged = self._bridge(session, pump, old, current)
                if not data.bridge_acknowledged:
                    raise InputError(
                        "bridge: the concentration changes; review the bridge bolus "
                        "(or why none is given) and acknowledge it before saving",
                        code=Code.NO_VALUE, field="bridge")
            if data.bolus_volume is not None:
                require_not_negative(data.bolus_volume, Kind.VOLUME, "bolus volume")
            figures = data.programmer
            compared = None if figures is None else self._programmer_check(
                session, pump, figures, history, forecasting.FillPoint(
                    performed, float(plan.final_volume.m), 0.0 if data.bolus_volume is None
                    else to_canonical(data.bolus_volume, Kind.VOLUME), not previous))
            row = db.Refill(
                pump_id=pump.id, prescription_id=current.id, performed_at=performed,
                expected_residual_ml=0.0 if expected is None else float(expected.m),
                aspirated_ml=float(plan.aspirated.m),
                discrepancy_verdict="first_fill" if found is None else found.verdict,
                discrepancy_note=_text(data.discrepancy_note, "discrepancy note",
                                       required=False, limit=4000) or None,
                volume_added_ml=float(plan.volume_to_add.m),
                final_reservoir_ml=float(plan.final_volume.m),
                lot_number=_text(data.lot_number, "lot number", limit=64),
                expiry_date=data.expiry, solution_source=_text(data.source, "source"),
                bridge_bolus_given=data.bridge_bolus_given,
                priming_bolus_given=data.priming_bolus_given,
                bolus_volume_ml=None if data.bolus_volume is None
                else to_canonical(data.bolus_volume, Kind.VOLUME),
                pump_confirmed_running=True, needle_position_confirmed=True,
                nurse_id=actor.id, verifying_nurse_id=verifier.id,
                recorded_at=self._now(), recorded_by_id=actor.id,
                programmer_reservoir_ml=None if figures is None
                else to_canonical(figures.reservoir, Kind.VOLUME),
                programmer_alarm_date=None if figures is None else figures.alarm_date,
                programmer_daily_volume_ml_per_day=None if figures is None
                else to_canonical(figures.daily_volume, Kind.FLOW),
                programmer_differs=None if compared is None else compared.differs,
            )
            session.add(row)
            session.flush()
            # the programmer's figures when there are any (a payload without them is the one
            # refills had before revision 0003)
            programmer = {} if compared is None else {"programmer": {
                "reservoir_ml": row.programmer_reservoir_ml,
                "alarm_date": row.programmer_alarm_date,
                "daily_volume_ml_per_day": row.programmer_daily_volume_ml_per_day,
                "differs": list(compared.differing)}}
            self._audit(session, actor, "refill.record", "refill", row.id, {
                "pump_id": pump.id, "aspirated_ml": row.aspirated_ml,
                "expected_ml": row.expected_residual_ml, "verdict": row.discrepancy_verdict,
                "volume_added_ml": row.volume_added_ml, "lot": row.lot_number,
                "verified_by": verifier.username,
                "prescription_id": current.id,
                "new_prescription": new_row is not None,
                "warnings": {} if check is None or data.new_prescription is None else {
                    str(f.code): data.new_prescription.reasons.get(str(f.code), "")
                    for f in check.findings if f.level == "warning"},
                **programmer,
            })
            forecast = self._refresh_forecast(session, pump)
            # Only the new row is mapped (the whole history was mapped on every refill before:
            # quadratic in a pump's refills). It is the newest current refill, so its previous
            # fill is the last current refill before it, as in _refill_records.
            record = mapping.refill_record(
                row, previous[-1].final_reservoir_ml if previous else None,
                current.ingredients, session.get_one(db.User, actor.id).full_name,
                verifier.full_name)
            return RefillOutcome(record, found, bridged, forecast,
                                 current if new_row is not None else None)

        return self._write(work)

    def _programmer_check(
        self, session: Session, pump: db.Pump, figures: ProgrammerFigures,
        prescriptions: list[PrescriptionRecord], fill: forecasting.FillPoint,
    ) -> ProgrammerComparison:
        """The programmer's figures against pumpmgr's for this fill: the final volume, the
        program's daily volume, and the alarm date of the forecast the refill is about to get
        (computed here as :meth:`_refresh_forecast` will store it; the clinic's calendar date).
        A constant-flow pump has no programmer, so figures for one are refused."""
        if self._model_type(pump.model_key) == str(PumpType.CONSTANT_FLOW):
            raise ImpossibleInput(
                "programmer: a constant-flow pump has no programmer; leave its figures empty",
                code=Code.OUT_OF_RANGE, field="programmer")
        forecast = forecasting.compute(
            pump=pump, fill=fill, prescriptions=prescriptions, settings=self.settings(session),
            library=self.library(session), accuracy_percent=pump.accuracy_percent, tz=self.tz,
            now=self._now())
        ours = prescriptions[-1].program
        comparison = compare_programmer(
            reservoir=figures.reservoir, alarm_date=figures.alarm_date,
            daily_volume=figures.daily_volume, our_reservoir=Q_(fill.final_ml, "mL"),
            our_alarm_date=figures.alarm_date if forecast.alarm_at is None
            else forecast.alarm_at.astimezone(self.tz).date(),
            our_daily_volume=ours.daily_volume())
        if forecast.alarm_at is None:  # no date of pumpmgr's to hold it against: flag it
            comparison = replace(comparison, alarm_date_differs=True)
        return comparison

    @staticmethod
    def _concentration_changed(old: PrescriptionRecord, new: PrescriptionRecord) -> bool:
        before = {i.drug: float(i.concentration.to("mcg/mL").m) for i in old.ingredients}
        after = {i.drug: float(i.concentration.to("mcg/mL").m) for i in new.ingredients}
        return before != after

    def _bridge(
        self, session: Session, pump: db.Pump, old: PrescriptionRecord, new: PrescriptionRecord,
    ) -> Bridge | None:
        """The bridge for the primary drug, when the dead space is known (else None: the screen
        then says the dead space must be entered, never that no bridge is needed)."""
        catheter = self._current_catheter(session, pump.id)
        if catheter is None or pump.pump_path_volume_ml is None:
            return None
        segments = session.scalars(select(db.CatheterSegment).where(
            db.CatheterSegment.catheter_id == catheter.id)).all()
        dead_space = pump.pump_path_volume_ml + sum(
            s.implanted_length_cm * s.volume_ml_per_cm for s in segments)
        if old.primary.drug != new.primary.drug or dead_space <= 0:
            return None
        return bridge(dose=new.program.daily_dose(), old_concentration=old.primary.concentration,
                      new_concentration=new.primary.concentration,
                      dead_space=Q_(dead_space, "mL"))

    def correct_refill(
        self, actor: Actor, verification: Verification, refill_id: int, reason: str,
        *, aspirated: Quantity | None = None, volume_added: Quantity | None = None,
        lot_number: str | None = None, expiry: date | None = None,
        discrepancy_note: str | None = None,
    ) -> RefillRecord:
        """A corrected copy of a refill, pointing at it; the original stays as it was."""
        self._permit(actor, Action.CORRECT_REFILL)
        reason = _text(reason, "reason", limit=2000)

        def work(session: Session) -> RefillRecord:
            old = session.get_one(db.Refill, refill_id)
            if session.scalar(select(db.Refill.id).where(db.Refill.corrects_id == old.id)):
                raise ImpossibleInput("refill: already corrected; correct the newest version",
                                      code=Code.OUT_OF_RANGE, field="refill")
            verifier = self._verify_second(session, actor, verification)
            pump = session.get_one(db.Pump, old.pump_id)
            columns = {c.key: getattr(old, c.key) for c in db.Refill.__table__.columns
                       if c.key not in {"id"}}
            row = db.Refill(**columns)
            if aspirated is not None:
                row.aspirated_ml = to_canonical(
                    require_not_negative(aspirated, Kind.VOLUME, "aspirated"), Kind.VOLUME)
            if volume_added is not None:
                plan = plan_refill(reservoir_capacity=Q_(pump.reservoir_capacity_ml, "mL"),
                                   aspirated=Q_(row.aspirated_ml, "mL"),
                                   alarm_volume=Q_(pump.low_reservoir_alarm_ml, "mL"),
                                   fill_volume=volume_added)
                row.volume_added_ml = row.final_reservoir_ml = float(plan.volume_to_add.m)
            if lot_number is not None:
                row.lot_number = _text(lot_number, "lot number", limit=64)
            if expiry is not None:
                row.expiry_date = expiry
            if discrepancy_note is not None:
                row.discrepancy_note = discrepancy_note.strip() or None
            previous_final = self._previous_final(session, old)
            if row.discrepancy_verdict != "first_fill" and previous_final is not None:
                row.discrepancy_verdict = discrepancy(
                    fill_volume=Q_(previous_final, "mL"),
                    expected=Q_(row.expected_residual_ml, "mL"),
                    actual=Q_(row.aspirated_ml, "mL"),
                    reservoir_capacity=Q_(pump.reservoir_capacity_ml, "mL"),
                    accuracy_percent=pump.accuracy_percent,
                ).verdict
            # The stored programmer verdict was judged against the old final volume: judge the
            # figures again as record_refill does, against the corrected fill.
            figures = mapping.programmer_figures(old)
            compared = None if figures is None else self._programmer_check(
                session, pump, figures, self._prescriptions_at(session, old),
                forecasting.FillPoint(row.performed_at, row.final_reservoir_ml,
                                      row.bolus_volume_ml or 0.0, previous_final is None))
            if compared is not None:
                row.programmer_differs = compared.differs
            row.corrects_id = old.id
            row.correction_reason = reason
            row.recorded_at = self._now()
            row.recorded_by_id = actor.id
            row.nurse_id = old.nurse_id
            row.verifying_nurse_id = verifier.id if verifier.id != old.nurse_id else (
                old.verifying_nurse_id)
            session.add(row)
            session.flush()
            # the new verdict, as refill.record words it, only when it changed
            programmer = ({} if compared is None or compared.differs == old.programmer_differs
                          else {"programmer": {"differs": list(compared.differing)}})
            self._audit(session, actor, "refill.correct", "refill", row.id,
                        {"corrects": old.id, "verified_by": verifier.username, **programmer},
                        reason)
            self._refresh_forecast(session, pump)
            return next(r for r in self._refill_records(session, pump.id) if r.id == row.id)

        return self._write(work)

    def _prescriptions_at(self, session: Session, refill: db.Refill,
                          ) -> list[PrescriptionRecord]:
        """The prescriptions ``record_refill`` judged ``refill`` with: the current versions up
        to the one it used, that one last (later ones were programmed at later visits, after
        the programmer showed its figures)."""
        used = next(p for p in self._prescriptions_all(session, refill.pump_id)
                    if p.id == refill.prescription_id)
        return [*[p for p in self._prescriptions(session, refill.pump_id)
                  if (p.effective_at, p.id) < (used.effective_at, used.id)], used]

    @staticmethod
    def _previous_final(session: Session, refill: db.Refill) -> float | None:
        earlier = [r for r in forecasting.current_refills(session, refill.pump_id)
                   if r.performed_at < refill.performed_at]
        return earlier[-1].final_reservoir_ml if earlier else None

    # ----------------------------------------------------------------- forecasts

    def _refresh_forecast(self, session: Session, pump: db.Pump) -> StoredForecast | None:
        refills = forecasting.current_refills(session, pump.id)
        fill = None
        if refills:
            last = refills[-1]
            fill = forecasting.FillPoint(last.performed_at, last.final_reservoir_ml,
                                         last.bolus_volume_ml or 0.0, len(refills) == 1)
        row = forecasting.compute(
            pump=pump, fill=fill, prescriptions=self._prescriptions(session, pump.id),
            settings=self.settings(session), library=self.library(session),
            accuracy_percent=pump.accuracy_percent, tz=self.tz, now=self._now(),
        )
        for key, value in forecasting.due_facts(session, [pump.id])[pump.id].items():
            setattr(row, key, value)
        existing = session.get(db.PumpForecast, pump.id)
        if existing is not None:
            for column in db.PumpForecast.__table__.columns:
                setattr(existing, column.key, getattr(row, column.key))
            row = existing
        else:
            session.add(row)
        session.flush()
        return mapping.stored_forecast(row)

    def _refresh_forecasts(self, session: Session, pumps: Sequence[db.Pump]) -> None:
        """:meth:`_refresh_forecast` for many pumps at once: their last fills and the programs
        that ran since in a few queries, each forecast on canonical floats
        (:func:`forecasting.compute_floats`; the reference :func:`forecasting.compute` where
        it declines), and one bulk UPDATE. The rows are the ones the pump-by-pump refresh
        writes (``tests/test_bench.py`` compares them)."""
        if not pumps:
            return
        settings, library, now = self.settings(session), self.library(session), self._now()
        ids = [pump.id for pump in pumps]
        fills = forecasting.last_fills(session, ids)
        programs = forecasting.running_programs(session, fills, ids)
        limits: dict[tuple[tuple[tuple[str, float], ...], bool], float | None] = {}

        def stability(ingredients: tuple[tuple[str, float], ...], first_fill: bool,
                      ) -> float | None:
            """:func:`forecasting.stability_days` (it reads only the ingredients)."""
            key = (ingredients, first_fill)
            if key not in limits:
                from pumpmgr.schedule import Schedule

                probe = PrescriptionRecord(
                    id=0, pump_id=0, ingredients=tuple(
                        Ingredient(drug, Q_(strength, "mcg/mL")) for drug, strength in ingredients),
                    schedule=Schedule.simple(Q_(1.0, "mcg/day")), patient_bolus=None,
                    effective_at=now, prescriber="")
                limits[key] = forecasting.stability_days(probe, library, first_fill=first_fill)
            return limits[key]

        stored = set(session.scalars(select(db.PumpForecast.pump_id)))
        facts = forecasting.due_facts(session, ids)
        updates: list[dict[str, Any]] = []
        inserts: list[dict[str, Any]] = []
        for pump in pumps:
            fill = fills.get(pump.id)
            running = [] if fill is None else programs.get(pump.id)
            values = None if running is None else forecasting.compute_floats(
                pump=pump, fill=fill, running=running, settings=settings, stability=stability,
                tz=self.tz, now=now)
            if values is None:
                row = forecasting.compute(
                    pump=pump, fill=fill, prescriptions=self._prescriptions(session, pump.id),
                    settings=settings, library=library, accuracy_percent=pump.accuracy_percent,
                    tz=self.tz, now=now)
                values = {c.key: getattr(row, c.key) for c in db.PumpForecast.__table__.columns}
            values.update(facts[pump.id])
            (updates if pump.id in stored else inserts).append(values)
        if updates:
            session.execute(update(db.PumpForecast), updates)
        if inserts:
            session.execute(insert(db.PumpForecast), inserts)
        for loaded in list(session.identity_map.values()):
            if isinstance(loaded, db.PumpForecast):
                session.expire(loaded)

    def recompute_all_forecasts(self, actor: Actor, reason: str) -> int:
        """Every active pump's forecast again (after a settings or drug-library change)."""
        self._permit(actor, Action.RECOMPUTE_FORECASTS)

        def work(session: Session) -> int:
            pumps = session.scalars(select(db.Pump).where(
                db.Pump.status == db.PumpStatus.ACTIVE)).all()
            self._refresh_forecasts(session, pumps)
            self._audit(session, actor, "forecast.recompute", "clinic", "all",
                        {"pumps": len(pumps)}, reason)
            return len(pumps)

        return self._write(work)

    def update_settings(self, actor: Actor, settings: ClinicSettings, version: int | None = None,
                        ) -> ClinicSettings:
        self._permit(actor, Action.UPDATE_SETTINGS)
        if not settings.open_days or not 0 <= settings.buffer_days <= 60:
            raise ImpossibleInput("settings: need an open day and a buffer of 0 to 60 days",
                                  code=Code.OUT_OF_RANGE, field="settings")

        def work(session: Session) -> ClinicSettings:
            row = session.get_one(db.ClinicSettings, 1)
            if version is not None and row.version != version:
                raise ChangedMeanwhile("settings: changed by someone else meanwhile; reload",
                                       code=Code.DB_CHANGED_MEANWHILE, field="settings")
            before = self.settings(session)
            row.clinic_name = _text(settings.clinic_name, "clinic name")
            row.clinic_phone = _text(settings.clinic_phone, "clinic phone", required=False,
                                     limit=64)
            row.refill_buffer_days = settings.buffer_days
            row.open_weekdays_mask = sum(1 << d for d in settings.open_days)
            row.page_size = db.PageSize(settings.page_size)
            row.auto_lock_minutes = settings.auto_lock_minutes
            row.updated_at = self._now()
            session.flush()
            self._audit(session, actor, "settings.update", "clinic_settings", 1, {
                "before": _settings_dict(before), "after": _settings_dict(settings)})
            if (before.buffer_days, before.open_days) != (settings.buffer_days,
                                                          settings.open_days):
                self._refresh_forecasts(session, session.scalars(select(db.Pump).where(
                    db.Pump.status == db.PumpStatus.ACTIVE)).all())
            return self.settings(session)

        return self._write(work)

    def edit_drug_library(
        self, actor: Actor, drug: str, changes: dict[str, Quantity | None], reason: str,
    ) -> None:
        """A clinic edit of one drug's limits (soft_max, hard_max, typical_min, typical_max,
        max_concentration), audited, then every forecast and later check uses it."""
        self._permit(actor, Action.EDIT_DRUG_LIBRARY)
        reason = _text(reason, "reason", limit=2000)
        allowed = {"soft_max": Kind.DOSE_RATE, "hard_max": Kind.DOSE_RATE,
                   "typical_min": Kind.DOSE_RATE, "typical_max": Kind.DOSE_RATE,
                   "max_concentration": Kind.CONCENTRATION}
        stored: dict[str, float | None] = {}
        for field, value in changes.items():
            if field not in allowed:
                raise InputError(f"{field}: not an editable limit; one of {', '.join(allowed)}",
                                 code=Code.OUT_OF_RANGE, field=field)
            stored[field] = None if value is None else to_canonical(
                require_positive(value, allowed[field], field), allowed[field])

        def work(session: Session) -> None:
            current = self.library(session).drug(drug)
            key = current.key
            _check_library_limits(current, stored)
            row = db.DrugLibraryEdit(drug_key=key, changes=stored, reason=reason,
                                     edited_at=self._now(), edited_by_id=actor.id)
            session.add(row)
            session.flush()
            self._audit(session, actor, "drug_library.edit", "drug", key, stored, reason)

        self._write(work)

    # ----------------------------------------------------------------- reads

    def _current_catheter(self, session: Session, pump_id: int) -> db.Catheter | None:
        return _current_catheter_of(session.scalars(
            select(db.Catheter).where(db.Catheter.pump_id == pump_id)))

    @staticmethod
    def _user_names(session: Session) -> dict[int, str]:
        """Every account's full name by id (read once per unit of work)."""
        cache = forecasting.session_cache(session, "users")
        if "names" not in cache:
            cache["names"] = {u.id: u.full_name for u in session.scalars(select(db.User))}
        names: dict[int, str] = cache["names"]
        return names

    def _refill_records(self, session: Session, pump_id: int) -> list[RefillRecord]:
        rows = list(session.scalars(select(db.Refill).where(db.Refill.pump_id == pump_id)
                                    .order_by(db.Refill.performed_at, db.Refill.id)))
        users = self._user_names(session)
        prescriptions = {p.id: p for p in self._prescriptions_all(session, pump_id)}
        records = []
        previous_final: float | None = None
        current_ids = {r.id for r in forecasting.current_refills(session, pump_id)}
        for row in rows:
            rx = prescriptions.get(row.prescription_id or -1)
            records.append(mapping.refill_record(
                row, previous_final, rx.ingredients if rx else (),
                users.get(row.nurse_id, "?"), users.get(row.verifying_nurse_id, "?")))
            if row.id in current_ids:
                previous_final = row.final_reservoir_ml
        return records

    def _prescriptions_all(self, session: Session, pump_id: int) -> list[PrescriptionRecord]:
        """Every version including corrected ones (refills point at the version they used)."""
        cache = forecasting.session_cache(session, "prescriptions")
        found: list[PrescriptionRecord] | None = cache.get(("all", pump_id))
        if found is None:
            found = cache[("all", pump_id)] = self._read_prescriptions_all(session, pump_id)
        return list(found)

    def _read_prescriptions_all(self, session: Session, pump_id: int,
                                ) -> list[PrescriptionRecord]:
        current = {p.id: p for p in self._prescriptions(session, pump_id)}
        rows = session.scalars(select(db.Prescription).where(
            db.Prescription.pump_id == pump_id)).all()
        missing = [r for r in rows if r.id not in current]
        library = self.library(session)
        for row in missing:
            current[row.id] = mapping.prescription_record(
                row,
                list(session.scalars(select(db.PrescriptionIngredient).where(
                    db.PrescriptionIngredient.prescription_id == row.id))),
                list(session.scalars(select(db.ScheduleStep).where(
                    db.ScheduleStep.prescription_id == row.id))),
                list(session.scalars(select(db.ScheduledBolus).where(
                    db.ScheduledBolus.prescription_id == row.id))),
                list(session.scalars(select(db.PrescriptionFinding).where(
                    db.PrescriptionFinding.prescription_id == row.id))),
                library,
            )
        return list(current.values())

    def find_patient(self, mrn: str) -> PatientRecord:
        with self.database.read() as session:
            row = session.scalars(select(db.Patient).where(db.Patient.mrn == mrn.strip())).first()
            if row is None:
                raise InputError(f"MRN: no patient with medical record number '{mrn}'",
                                 code=Code.NO_VALUE, field="MRN")
            return mapping.patient_record(row)

    def search_patients(self, text: str, limit: int = 50) -> list[PatientRecord]:
        pattern = f"%{text.strip().lower()}%"
        with self.database.read() as session:
            rows = session.scalars(select(db.Patient).where(
                func.lower(db.Patient.family_name).like(pattern)
                | func.lower(db.Patient.given_name).like(pattern)
                | func.lower(db.Patient.mrn).like(pattern)
            ).order_by(db.Patient.family_name, db.Patient.given_name).limit(limit)).all()
            return [mapping.patient_record(r) for r in rows]

    def patient_chart(self, patient_id: int) -> PatientChart:
        with self.database.read() as session:
            patient = session.get_one(db.Patient, patient_id)
            pumps = list(session.scalars(select(db.Pump).where(
                db.Pump.patient_id == patient_id).order_by(db.Pump.implant_date, db.Pump.id)))
            active = next((p for p in pumps if p.status is db.PumpStatus.ACTIVE), None)
            catheter = None
            prescriptions: list[PrescriptionRecord] = []
            refills: list[RefillRecord] = []
            events = []
            users = self._user_names(session)
            for pump in pumps:
                prescriptions += self._prescriptions_all(session, pump.id)
                refills += self._refill_records(session, pump.id)
                for event in session.scalars(select(db.PumpEvent).where(
                        db.PumpEvent.pump_id == pump.id)):
                    events.append(mapping.event_record(event, patient_id,
                                                       users.get(event.recorded_by_id, "?")))
            # every catheter version (corrections beside what they correct), in two queries
            catheter_rows = list(session.scalars(select(db.Catheter).where(
                db.Catheter.patient_id == patient_id).order_by(db.Catheter.id)))
            segments: dict[int, list[db.CatheterSegment]] = {r.id: [] for r in catheter_rows}
            if segments:
                for segment in session.scalars(select(db.CatheterSegment).where(
                        db.CatheterSegment.catheter_id.in_(list(segments)))):
                    segments[segment.catheter_id].append(segment)
            catheters = {r.id: mapping.catheter_record(r, segments[r.id],
                                                       users.get(r.recorded_by_id, "?"))
                         for r in catheter_rows}
            current_rx = None
            forecast = None
            if active is not None:
                catheter_row = _current_catheter_of(
                    r for r in catheter_rows if r.pump_id == active.id)
                if catheter_row is not None:
                    catheter = catheters[catheter_row.id]
                current = self._prescriptions(session, active.id)
                current_rx = current[-1] if current else None
                stored = session.get(db.PumpForecast, active.id)
                forecast = None if stored is None else mapping.stored_forecast(stored)
            return PatientChart(
                patient=mapping.patient_record(patient),
                pump=None if active is None else mapping.pump_record(active, self.catalogs),
                catheter=catheter,
                prescription=current_rx,
                forecast=forecast,
                pumps=tuple(mapping.pump_record(p, self.catalogs) for p in pumps),
                prescriptions=tuple(sorted(prescriptions, key=lambda p: (p.effective_at, p.id))),
                refills=tuple(sorted(refills, key=lambda r: (r.performed_at, r.id))),
                events=tuple(sorted(events, key=lambda e: (e.occurred_at, e.id))),
                catheters=tuple(catheters.values()),
            )

    @collector_paused  # 5,000 rows the window keeps: nothing to collect while they are made
    def due_list(self, *, within_days: int | None = None, today: date | None = None,
                 ) -> list[DueRow]:
        """Active pumps by refill-due date, earliest first: one indexed query on the stored
        forecasts plus one for the current solutions' ingredients."""
        today = today or self.today()
        pumps, ingredients_of = _due_list_statements(within_days is not None)
        limit = {} if within_days is None else {"due_by": today + timedelta(days=within_days)}
        with self.database.read() as session:
            # Plain rows through the connection: no ORM objects are wanted here.
            connection = session.connection()
            rows = connection.execute(pumps, limit).all()
            ingredients = connection.execute(ingredients_of, limit).all()
        solutions = self._solution_texts(ingredients)
        keys_of: dict[int, tuple[str, ...]] = {}
        for rx_id, key, _concentration in ingredients:
            keys_of[rx_id] = (*keys_of.get(rx_id, ()), key)
        models: dict[str, tuple[str, str]] = {}
        # in UTC, as the alarms: a difference of two instants in one zone asks no zone
        now = self._now().astimezone(UTC)
        # due_state's limits, once for every row
        soon, later = (today + timedelta(days=DUE_SOON_DAYS),
                       today + timedelta(days=DUE_LATER_DAYS))
        result: list[DueRow] = []
        add, row_of = result.append, DueRow  # 5,000 rows: the lookups once
        for (refill_due, reason, alarm_at, pump_id, model_key, replace_by, patient_id, mrn,
             family_name, given_name, rx_id, flex, open_review, nominal, empty, filled, fill_ml,
             daily_ml) in rows:
            due = refill_due or today
            # an instant as UTCDateTime gives it (read as a plain DateTime: 5,000 calls less)
            alarm = now if alarm_at is None else (
                alarm_at.replace(tzinfo=UTC) if alarm_at.tzinfo is None
                else alarm_at.astimezone(UTC))
            model = models.get(model_key)
            if model is None:
                model = models[model_key] = (self._model_name(model_key),
                                             self._model_type(model_key))
            text = solutions.get(rx_id)
            add(row_of(
                patient_id=patient_id, mrn=mrn,
                patient=f"{family_name.upper()}, {given_name}",
                pump_id=pump_id, pump_model=model[0], pump_type=model[1],
                drug="no prescription" if text is None else text,
                days_left=(alarm - now).total_seconds() / 86400,
                alarm_at=alarm, refill_due=due,
                refill_due_reason=reason,
                replace_by=replace_by,
                state="overdue" if due < today else "due_this_week" if due <= soon
                else "due_in_14_days" if due <= later else "fine",
                open_discrepancy=bool(open_review),
                flex_schedule=text is not None and bool(flex),
                nominal_alarm_at=nominal and mapping.utc(nominal),
                empty_at=empty and mapping.utc(empty),
                volume_left_ml=None if filled is None or fill_ml is None or daily_ml is None
                else max(0.0, fill_ml - daily_ml * (now - mapping.utc(filled)).total_seconds()
                         / 86400),
                drug_keys=keys_of.get(rx_id, ()),
            ))
        return result

    def _model_name(self, key: str) -> str:
        try:
            return self.catalogs.pump_model(key).name
        except PumpMgrError:
            return key

    def _model_type(self, key: str) -> str:
        try:
            return str(self.catalogs.pump_model(key).type)
        except PumpMgrError:
            return "unknown"

    def _solution_texts(self, ingredients: Iterable[Any]) -> dict[int, str]:
        """Each prescription's solution as text, from (prescription id, drug key, mcg/mL) rows
        in ingredient order."""
        drugs: dict[str, tuple[str, str]] = {}
        parts: dict[int, list[str]] = {}
        for rx_id, key, concentration in ingredients:
            drug = drugs.get(key)
            if drug is None:
                try:
                    found = self.catalogs.drugs.drug(key)
                    drug = drugs[key] = (found.name.lower(), found.display_unit)
                except PumpMgrError:
                    drug = drugs[key] = (key, "mcg")
            parts.setdefault(rx_id, []).append(f"{drug[0]} {_strength(concentration, drug[1])}")
        return {rx_id: " + ".join(texts) for rx_id, texts in parts.items()}

    def verify_audit(self) -> ChainReport:
        with self.database.read() as session:
            return verify_chain(session)

    # ----------------------------------------------------------------- records

    def audit_count(self, *, newer_than: int | None = None) -> int:
        """How many audit entries there are (with ``newer_than``: with a higher sequence
        number, which is the offset of that entry in :meth:`audit_entries`)."""
        with self.database.read() as session:
            query = select(func.count()).select_from(db.AuditEntry)
            if newer_than is not None:
                query = query.where(db.AuditEntry.seq > newer_than)
            return int(session.scalar(query) or 0)

    def audit_entries(self, offset: int, limit: int) -> list[AuditRecord]:
        """One page of the audit log, newest first."""
        with self.database.read() as session:
            rows = session.scalars(select(db.AuditEntry).order_by(db.AuditEntry.seq.desc())
                                   .offset(max(0, offset)).limit(max(0, limit))).all()
            return [AuditRecord(r.seq, r.recorded_at, r.username, r.workstation, r.action,
                                r.entity_type, r.entity_id, r.payload, r.reason, r.prev_hash,
                                r.row_hash) for r in rows]

    def _sqlite_path(self, doing: str) -> Path:
        path = self.database.path
        if path is None:
            raise InputError(
                f"{doing}: pumpmgr {doing}s SQLite databases only; for PostgreSQL use the "
                "server's tools (pg_dump -Fc, pg_restore)", code=Code.BACKUP_FAILED,
                field=doing)
        return path

    def backup_to(self, destination: Path) -> BackupManifest:
        """An online, consistent copy of the SQLite database at ``destination`` (a new file),
        with its manifest beside it (:func:`pumpmgr.db.backup.backup_database`)."""
        self._sqlite_path("backup")
        if destination.exists():
            raise InputError(f"backup: {destination} already exists; choose a new file name",
                             code=Code.BACKUP_FAILED, field="backup")
        return backup_database(self.database.engine, destination)

    def restore_from(self, backup: Path, *, require_manifest: bool = True) -> Path | None:
        """Replace the clinic's SQLite database with the checked backup ``backup`` and go on
        with the restored records; returns the safety copy of the replaced database.
        ``require_manifest=False`` restores a backup that has no manifest after every other
        check (:func:`pumpmgr.db.backup.restore_database`).

        The backup is checked before anything is closed. The database is then closed, restored
        (refused while another pumpmgr has it open) and opened again; if the restore is refused
        the database is opened again as it was. Every signed-in user must sign in again: the
        restored records have their own accounts.
        """
        target = self._sqlite_path("restore")
        check_backup(backup)
        old = self.database
        old.dispose()
        try:
            safety = restore_database(backup, target, safety_dir=old.backup_dir,
                                      require_manifest=require_manifest)
        finally:
            self.database = open_database(target, backup_dir=old.backup_dir,
                                          daily_backup_keep=None)
        return safety

    def export_to(self, destination: Path) -> ExportSummary:
        """Every record, the audit log included, as one JSON document at ``destination``
        (:func:`pumpmgr.services.exchange.export_clinic`), written whole or not at all."""
        from pumpmgr.services.exchange import export_clinic, write_export

        document = export_clinic(self.database)
        try:
            write_export(document, destination)
        except OSError as exc:
            raise InputError(f"export: {destination} cannot be written ({exc.strerror})",
                             code=Code.NO_VALUE, field="export") from exc
        tables = document["tables"]
        return ExportSummary(destination, sum(len(rows) for rows in tables.values()),
                             len(tables.get("patients", ())), len(tables.get("audit_log", ())))


def _current_catheter_of(versions: Iterable[db.Catheter]) -> db.Catheter | None:
    """A pump's catheter as last recorded, of all its ``versions``: of those no row corrects,
    the one whose first version was recorded last. A correction takes the place of what it
    corrects, so correcting an earlier configuration never makes it the current one."""
    rows = {r.id: r for r in versions}
    corrected = {r.corrects_id for r in rows.values() if r.corrects_id is not None}

    def first_version(row: db.Catheter) -> int:
        while row.corrects_id is not None and row.corrects_id in rows:
            row = rows[row.corrects_id]
        return row.id

    return max((r for r in rows.values() if r.id not in corrected), key=first_version,
               default=None)


@functools.cache
def _due_list_statements(within: bool) -> tuple[Any, Any]:
    """The due list's two statements, made once (``within``: with a ``due_by`` limit). The
    prescription, its step count and the last verdict are kept with each forecast (revision
    0004), so neither statement has a subquery for each pump."""
    f = db.PumpForecast
    due_by = [f.refill_due <= bindparam("due_by", type_=Date())] if within else []
    filters = [db.Pump.status == db.PumpStatus.ACTIVE,
               db.Patient.status == db.PatientStatus.ACTIVE, *due_by]
    # the alarm with every bolus taken, else the nominal one (one instant to read); read as
    # a plain DateTime, made UTC by due_list as UTCDateTime would
    alarm = func.coalesce(f.alarm_at_with_boluses, f.alarm_at, type_=DateTime())
    pumps = (select(f.refill_due, f.refill_due_reason, alarm, db.Pump.id, db.Pump.model_key,
                    db.Pump.replace_by_date, db.Patient.id, db.Patient.mrn,
                    db.Patient.family_name, db.Patient.given_name, f.prescription_id,
                    f.flex_schedule, f.open_discrepancy, f.alarm_at, f.empty_at, f.filled_at,
                    f.fill_volume_ml, f.daily_volume_ml_per_day)
             .join(db.Pump, db.Pump.id == f.pump_id)
             .join(db.Patient, db.Patient.id == db.Pump.patient_id).where(*filters)
             .order_by(f.refill_due, db.Patient.family_name, db.Patient.id))
    # every stored forecast's solution (a few of patients not active: not looked up); an IN
    # list, so SQLite reads them in the (prescription, position) key's order, without a sort
    ingredient = db.PrescriptionIngredient
    ingredients = (select(ingredient.prescription_id, ingredient.drug_key,
                          ingredient.concentration_mcg_per_ml)
                   .where(ingredient.prescription_id.in_(
                       select(f.prescription_id).where(*due_by)))
                   .order_by(ingredient.prescription_id, ingredient.position))
    return pumps, ingredients


@functools.lru_cache(maxsize=4096)
def _strength(mcg_per_ml: float, unit: str) -> str:
    """A concentration as the due list writes it (the same few strengths come back on every
    row, so each is formatted once)."""
    return format_quantity(Q_(mcg_per_ml, "mcg/mL"), Kind.CONCENTRATION, unit)  # type: ignore[arg-type]


def due_state(due: date, today: date) -> DueState:
    if due < today:
        return "overdue"
    if due <= today + timedelta(days=DUE_SOON_DAYS):
        return "due_this_week"
    if due <= today + timedelta(days=DUE_LATER_DAYS):
        return "due_in_14_days"
    return "fine"


def _check_library_limits(drug: Drug, stored: dict[str, float | None]) -> None:
    """Refuse a library edit that leaves the drug without its typical range, or with limits
    in the wrong order (typical minimum above the maximum, soft maximum above the hard one)."""
    def value(field: str) -> float | None:
        if field in stored:
            return stored[field]
        limit = getattr(drug, field)
        return None if limit is None else to_canonical(limit.value, Kind.DOSE_RATE)

    for field in ("typical_min", "typical_max"):
        if field in stored and stored[field] is None:
            raise InputError(f"{field.replace('_', ' ')}: the typical range cannot be removed; "
                             "give a daily dose", code=Code.NO_VALUE, field=field)
    low, high = value("typical_min"), value("typical_max")
    if low is not None and high is not None and exceeds(low, high):
        raise ImpossibleInput("typical min: is above the typical maximum",
                              code=Code.OUT_OF_RANGE, field="typical min")
    soft, hard = value("soft_max"), value("hard_max")
    if soft is not None and hard is not None and exceeds(soft, hard):
        raise ImpossibleInput("soft max: is above the hard maximum; the hard maximum blocks, "
                              "the soft one warns before it", code=Code.OUT_OF_RANGE,
                              field="soft max")


def _settings_dict(settings: ClinicSettings) -> dict[str, Any]:
    return {
        "clinic_name": settings.clinic_name, "clinic_phone": settings.clinic_phone,
        "buffer_days": settings.buffer_days, "open_days": sorted(settings.open_days),
        "page_size": settings.page_size, "auto_lock_minutes": settings.auto_lock_minutes,
    }
