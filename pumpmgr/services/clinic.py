"""The clinic's services as one object: a façade over the area services, kept while screens move.

The actions and queries live in one module per area over one shared
:class:`~pumpmgr.services.context.ClinicContext` (database, clock, unit of work, permissions,
auditing): :mod:`~pumpmgr.services.users`, :mod:`~pumpmgr.services.patients`,
:mod:`~pumpmgr.services.devices`, :mod:`~pumpmgr.services.corrections`,
:mod:`~pumpmgr.services.prescriptions`, :mod:`~pumpmgr.services.orders`,
:mod:`~pumpmgr.services.refills`,
:mod:`~pumpmgr.services.forecasts`, :mod:`~pumpmgr.services.configuration`,
:mod:`~pumpmgr.services.bookings` (refill visits checked against the forecast),
:mod:`~pumpmgr.services.queries` and :mod:`~pumpmgr.services.records`. Each action validates
with the domain core, writes everything in one unit of work, appends to the audit log, and
recomputes the stored forecast of the pump it touched. Reads return frozen records
(:mod:`pumpmgr.records`), never ORM rows. Nothing clinical is updated in place: a correction is
a new row pointing at what it corrects.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Literal, overload

from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from pumpmgr import auth
from pumpmgr.catalogs import Catalogs, DrugLibrary
from pumpmgr.clock import Clock
from pumpmgr.db.audit import ChainAnchor, ChainReport
from pumpmgr.db.backup import BackupManifest
from pumpmgr.db.engine import Database
from pumpmgr.dose_checks import DoseCheck
from pumpmgr.records import (
    CatheterRecord,
    ClinicSettings,
    DueRow,
    EventRecord,
    PatientChart,
    PatientRecord,
    PumpRecord,
    RefillRecord,
    StoredForecast,
)
from pumpmgr.services.bookings import BookingsService
from pumpmgr.services.configuration import ConfigurationService
from pumpmgr.services.context import ClinicContext
from pumpmgr.services.corrections import CorrectionService
from pumpmgr.services.devices import DeviceService
from pumpmgr.services.forecasts import ForecastService
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
    Verification,
)
from pumpmgr.services.maxima import IndividualMaximumService
from pumpmgr.services.orders import OrderService
from pumpmgr.services.patients import PatientService
from pumpmgr.services.prescriptions import PrescriptionService
from pumpmgr.services.queries import (
    DUE_LATER_DAYS,
    DUE_SOON_DAYS,
    REPLACE_BY_WARNING_DAYS,
    QueryService,
    due_state,
)
from pumpmgr.services.records import IntegrityReport, RecordService
from pumpmgr.services.refills import RefillService
from pumpmgr.services.stop_orders import StopOrderService
from pumpmgr.services.throttle import SignInThrottle
from pumpmgr.services.users import UserService
from pumpmgr.services.values import (
    Actor,
    AuditRecord,
    ExportSummary,
    PrescriptionOutcome,
    RefillOutcome,
    UserRecord,
)
from pumpmgr.units import (
    Quantity,
)

__all__ = [
    "DUE_LATER_DAYS",
    "DUE_SOON_DAYS",
    "REPLACE_BY_WARNING_DAYS",
    "Actor",
    "AuditRecord",
    "ClinicService",
    "ExportSummary",
    "PrescriptionOutcome",
    "RefillOutcome",
    "UserRecord",
    "due_state",
]

if TYPE_CHECKING:
    from pumpmgr.services.restoring import BrokenChainOverride


class ClinicService:
    """The clinic's actions and queries over one database: a façade while screens move.

    Each method hands over to the area service that holds it, available as an attribute
    (``service.refills``, ``service.queries``, ...; all over ``service.context``). New code
    calls the areas directly; the methods here stay only until the screens, the command line
    and the tests have moved, and hold no logic of their own.
    """

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
        self.context = context = ClinicContext(
            database,
            catalogs=catalogs,
            clock=clock,
            tz=tz,
            workstation=workstation,
            hasher=hasher,
            throttle=throttle,
        )
        self.users = UserService(context)
        self.patients = PatientService(context)
        self.forecasts = forecasts = ForecastService(context)
        self.devices = devices = DeviceService(context, forecasts)
        self.corrections = CorrectionService(context, devices)
        self.orders = orders = OrderService(context, forecasts)
        self.prescriptions = prescriptions = PrescriptionService(context, forecasts, orders)
        self.refills = RefillService(context, prescriptions, forecasts)
        self.configuration = ConfigurationService(context, forecasts)
        self.queries = QueryService(context, orders)
        self.bookings = BookingsService(context)
        self.maxima = IndividualMaximumService(context)
        self.stop_orders = StopOrderService(context, forecasts)
        self.records = RecordService(context)
        forecasts.refresh_stale()  # once, after the upgrade that revised the refill-due rules

    # the context's parts, read through it (a restore replaces the database)

    @property
    def database(self) -> Database:
        return self.context.database

    @property
    def catalogs(self) -> Catalogs:
        return self.context.catalogs

    @property
    def clock(self) -> Clock:
        return self.context.clock

    @property
    def tz(self) -> tzinfo:
        return self.context.tz

    @property
    def workstation(self) -> str:
        return self.context.workstation

    @property
    def hasher(self) -> PasswordHasher:
        return self.context.hasher

    @property
    def throttle(self) -> SignInThrottle:
        return self.context.throttle

    # the actions and queries, each handed to its area

    def today(self) -> date:
        return self.context.today()

    def library(self, session: Session | None = None) -> DrugLibrary:
        return self.context.library(session)

    def settings(self, session: Session | None = None) -> ClinicSettings:
        return self.context.settings(session)

    def has_users(self) -> bool:
        return self.users.has_users()

    def create_first_administrator(self, username: str, password: str, full_name: str) -> Actor:
        return self.users.create_first_administrator(username, password, full_name)

    def add_user(
        self,
        actor: Actor,
        username: str,
        password: str,
        full_name: str,
        role: Literal["nurse", "prescriber", "administrator"],
    ) -> Actor:
        return self.users.add_user(actor, username, password, full_name, role)

    def list_users(self) -> list[UserRecord]:
        return self.users.list_users()

    def deactivate_user(self, actor: Actor, user_id: int, reason: str) -> UserRecord:
        return self.users.deactivate_user(actor, user_id, reason)

    def sign_in(self, username: str, password: str) -> Actor:
        return self.users.sign_in(username, password)

    def register_patient(self, actor: Actor, data: PatientInput) -> PatientRecord:
        return self.patients.register_patient(actor, data)

    def set_patient_status(
        self,
        actor: Actor,
        patient_id: int,
        status: Literal["active", "inactive", "deceased"],
        reason: str,
    ) -> PatientRecord:
        return self.patients.set_patient_status(actor, patient_id, status, reason)

    def set_opioid_status(
        self,
        actor: Actor,
        patient_id: int,
        status: Literal["naive", "tolerant"] | None,
        reason: str = "",
    ) -> PatientRecord:
        return self.patients.set_opioid_status(actor, patient_id, status, reason)

    def patient_for_edit(self, patient_id: int) -> tuple[PatientRecord, int]:
        return self.patients.patient_for_edit(patient_id)

    def edit_patient(
        self,
        actor: Actor,
        patient_id: int,
        data: PatientInput,
        version: int,
        reason: str = "",
    ) -> PatientRecord:
        return self.patients.edit_patient(actor, patient_id, data, version, reason)

    def settings_for_edit(self) -> tuple[ClinicSettings, int]:
        return self.configuration.settings_for_edit()

    def implant_pump(
        self,
        actor: Actor,
        patient_id: int,
        data: PumpInput,
        catheter: CatheterInput | None,
    ) -> PumpRecord:
        return self.devices.implant_pump(actor, patient_id, data, catheter)

    def replace_pump(
        self,
        actor: Actor,
        old_pump_id: int,
        data: PumpInput,
        reason: str,
        catheter: CatheterInput | None = None,
    ) -> PumpRecord:
        return self.devices.replace_pump(actor, old_pump_id, data, reason, catheter)

    def explant_pump(
        self, actor: Actor, pump_id: int, explanted_on: date, reason: str
    ) -> PumpRecord:
        return self.devices.explant_pump(actor, pump_id, explanted_on, reason)

    def revise_catheter(
        self,
        actor: Actor,
        pump_id: int,
        data: CatheterInput,
        revised_on: date,
        note: str,
    ) -> None:
        return self.devices.revise_catheter(actor, pump_id, data, revised_on, note)

    def record_mri(
        self,
        actor: Actor,
        pump_id: int,
        occurred_at: datetime,
        post_mri_check_done: bool,
        note: str = "",
    ) -> None:
        return self.devices.record_mri(actor, pump_id, occurred_at, post_mri_check_done, note)

    def record_event(
        self,
        actor: Actor,
        pump_id: int,
        kind: Literal["alarm", "eri", "note"],
        occurred_at: datetime,
        note: str,
    ) -> None:
        return self.devices.record_event(actor, pump_id, kind, occurred_at, note)

    @overload
    def correct_record(
        self,
        actor: Actor,
        correction: EventCorrection,
        reason: str,
    ) -> EventRecord: ...

    @overload
    def correct_record(
        self,
        actor: Actor,
        correction: CatheterCorrection,
        reason: str,
    ) -> CatheterRecord: ...

    @overload
    def correct_record(
        self,
        actor: Actor,
        correction: PumpCorrection,
        reason: str,
    ) -> PumpRecord: ...

    def correct_record(
        self,
        actor: Actor,
        correction: RecordCorrection,
        reason: str,
    ) -> EventRecord | CatheterRecord | PumpRecord:
        return self.corrections.correct_record(actor, correction, reason)

    def check_prescription(
        self,
        pump_id: int,
        data: PrescriptionInput,
        session: Session | None = None,
    ) -> DoseCheck:
        return self.prescriptions.check_prescription(pump_id, data, session)

    def preview_forecast(self, pump_id: int, data: PrescriptionInput) -> StoredForecast | None:
        return self.prescriptions.preview_forecast(pump_id, data)

    def verify_second_user(self, actor: Actor, verification: Verification) -> Actor:
        return self.prescriptions.verify_second_user(actor, verification)

    def change_prescription(
        self,
        actor: Actor,
        verification: Verification,
        pump_id: int,
        data: PrescriptionInput,
    ) -> PrescriptionOutcome:
        return self.prescriptions.change_prescription(actor, verification, pump_id, data)

    def expected_now(self, pump_id: int, at: datetime | None = None) -> Quantity | None:
        return self.refills.expected_now(pump_id, at)

    def expected_at(self, pump_id: int, moments: Sequence[datetime]) -> list[Quantity | None]:
        return self.refills.expected_at(pump_id, moments)

    def record_refill(
        self,
        actor: Actor,
        verification: Verification,
        pump_id: int,
        data: RefillInput,
    ) -> RefillOutcome:
        return self.refills.record_refill(actor, verification, pump_id, data)

    def correct_refill(
        self,
        actor: Actor,
        verification: Verification,
        refill_id: int,
        reason: str,
        *,
        aspirated: Quantity | None = None,
        volume_added: Quantity | None = None,
        lot_number: str | None = None,
        expiry: date | None = None,
        discrepancy_note: str | None = None,
        undiluted: bool | None = None,
    ) -> RefillRecord:
        return self.refills.correct_refill(
            actor,
            verification,
            refill_id,
            reason,
            aspirated=aspirated,
            volume_added=volume_added,
            lot_number=lot_number,
            expiry=expiry,
            discrepancy_note=discrepancy_note,
            undiluted=undiluted,
        )

    def recompute_all_forecasts(self, actor: Actor, reason: str) -> int:
        return self.forecasts.recompute_all_forecasts(actor, reason)

    def update_settings(
        self,
        actor: Actor,
        settings: ClinicSettings,
        version: int | None = None,
    ) -> ClinicSettings:
        return self.configuration.update_settings(actor, settings, version)

    def edit_drug_library(
        self,
        actor: Actor,
        drug: str,
        changes: dict[str, Quantity | bool | None],
        reason: str,
    ) -> None:
        return self.configuration.edit_drug_library(actor, drug, changes, reason)

    def find_patient(self, mrn: str) -> PatientRecord:
        return self.queries.find_patient(mrn)

    def search_patients(self, text: str, limit: int = 50) -> list[PatientRecord]:
        return self.queries.search_patients(text, limit)

    def patient_chart(self, patient_id: int, *, current_pump_only: bool = False) -> PatientChart:
        return self.queries.patient_chart(patient_id, current_pump_only=current_pump_only)

    def due_list(
        self,
        *,
        within_days: int | None = None,
        today: date | None = None,
    ) -> list[DueRow]:
        return self.queries.due_list(within_days=within_days, today=today)

    def verify_audit(self) -> ChainReport:
        return self.records.verify_audit()

    def verify_integrity(self, anchor: ChainAnchor | None = None) -> IntegrityReport:
        return self.records.verify_integrity(anchor)

    def record_integrity_break(self) -> IntegrityReport:
        return self.records.record_integrity_break()

    def audit_count(self, *, newer_than: int | None = None) -> int:
        return self.records.audit_count(newer_than=newer_than)

    def audit_entries(self, offset: int, limit: int) -> list[AuditRecord]:
        return self.records.audit_entries(offset, limit)

    def backup_to(self, destination: Path) -> BackupManifest:
        return self.records.backup_to(destination)

    def restore_from(
        self,
        actor: Actor,
        backup: Path,
        *,
        require_manifest: bool = True,
        override: BrokenChainOverride | None = None,
    ) -> Path | None:
        return self.records.restore_from(
            actor, backup, require_manifest=require_manifest, override=override
        )

    def export_to(self, actor: Actor, destination: Path) -> ExportSummary:
        return self.records.export_to(actor, destination)
