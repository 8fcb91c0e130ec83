"""Registering patients, their status and their edits (application layer). An edit is saved
only over the version it was loaded from (:meth:`PatientService.patient_for_edit`); every change
is audited with its before and after."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pumpmgr.db import schema as db
from pumpmgr.db.errors import ChangedMeanwhile, RecordConflict
from pumpmgr.errors import Code, ImpossibleInput, InputError
from pumpmgr.identity import normalize_mrn
from pumpmgr.records import PatientRecord
from pumpmgr.services import mapping
from pumpmgr.services.context import ClinicContext, _text
from pumpmgr.services.inputs import PatientInput
from pumpmgr.services.permissions import Action
from pumpmgr.services.values import Actor


class PatientService:
    """Registering patients, their status and their edits."""

    def __init__(self, ctx: ClinicContext) -> None:
        self.ctx = ctx

    def register_patient(self, actor: Actor, data: PatientInput) -> PatientRecord:
        self.ctx.permit(actor, Action.REGISTER_PATIENT)
        mrn = normalize_mrn(data.mrn)
        if data.date_of_birth > self.ctx.today():
            raise ImpossibleInput(
                "date of birth: is in the future", code=Code.TIME_ORDER, field="date of birth"
            )

        def work(session: Session) -> PatientRecord:
            _refuse_taken_mrn(session, mrn)
            now = self.ctx.now()
            row = db.Patient(
                mrn=mrn,
                family_name=_text(data.family_name, "family name"),
                given_name=_text(data.given_name, "given name"),
                date_of_birth=data.date_of_birth,
                indication=db.Indication(data.indication),
                renal_impairment=data.renal_impairment,
                opioid_status=_opioid_status(data.opioid_status),
                emergency_contact_name=_text(
                    data.emergency_contact_name, "emergency contact", required=False
                )
                or None,
                emergency_contact_phone=_text(
                    data.emergency_contact_phone, "emergency phone", required=False, limit=64
                )
                or None,
                notes=_text(data.notes, "notes", required=False, limit=10_000),
                phone=_text(data.phone, "phone", required=False, limit=64) or None,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            self.ctx.audit(
                session,
                actor,
                "patient.register",
                "patient",
                row.id,
                {"mrn": mrn, "indication": data.indication},
            )
            return mapping.patient_record(row)

        return self.ctx.write(work)

    def set_patient_status(
        self,
        actor: Actor,
        patient_id: int,
        status: Literal["active", "inactive", "deceased"],
        reason: str,
    ) -> PatientRecord:
        self.ctx.permit(actor, Action.SET_PATIENT_STATUS)

        def work(session: Session) -> PatientRecord:
            row = session.get_one(db.Patient, patient_id)
            before = row.status.value
            row.status = db.PatientStatus(status)
            row.updated_at = self.ctx.now()
            session.flush()
            self.ctx.audit(
                session,
                actor,
                "patient.status",
                "patient",
                row.id,
                {"status": {"before": before, "after": status}},
                _text(reason, "reason", limit=2000),
            )
            return mapping.patient_record(row)

        return self.ctx.write(work)

    def set_opioid_status(
        self,
        actor: Actor,
        patient_id: int,
        status: Literal["naive", "tolerant"] | None,
        reason: str = "",
    ) -> PatientRecord:
        """Record the patient's opioid status alone (None: not recorded, which the dose checks
        count as naive; domain-rules §6), audited as an edit of the patient."""
        self.ctx.permit(actor, Action.EDIT_PATIENT)
        wanted = _opioid_status(status)

        def work(session: Session) -> PatientRecord:
            row = session.get_one(db.Patient, patient_id)
            before = row.opioid_status
            row.opioid_status = wanted
            row.updated_at = self.ctx.now()
            session.flush()
            self.ctx.audit(
                session,
                actor,
                "patient.edit",
                "patient",
                row.id,
                {"opioid_status": {"before": before, "after": wanted}},
                _text(reason, "reason", required=False, limit=2000) or None,
            )
            return mapping.patient_record(row)

        return self.ctx.write(work)

    def patient_for_edit(self, patient_id: int) -> tuple[PatientRecord, int]:
        """The patient as an edit form loads it, with the row's version: hand the version back
        to :meth:`edit_patient`, which refuses the save if someone changed the patient since."""
        with self.ctx.database.read() as session:
            row = session.get_one(db.Patient, patient_id)
            return mapping.patient_record(row), row.version

    def edit_patient(
        self,
        actor: Actor,
        patient_id: int,
        data: PatientInput,
        version: int,
        reason: str = "",
    ) -> PatientRecord:
        """Save a patient edited from the version :meth:`patient_for_edit` gave. A save over a
        change someone else saved meanwhile is refused with :class:`ChangedMeanwhile`, never
        silently overwritten (the row's version is checked here and again by the UPDATE)."""
        self.ctx.permit(actor, Action.EDIT_PATIENT)
        mrn = normalize_mrn(data.mrn)
        if data.date_of_birth > self.ctx.today():
            raise ImpossibleInput(
                "date of birth: is in the future", code=Code.TIME_ORDER, field="date of birth"
            )

        def work(session: Session) -> PatientRecord:
            row = session.get_one(db.Patient, patient_id)
            if row.version != version:
                raise ChangedMeanwhile(
                    "patient: this record was changed by someone else (another workstation or "
                    "window) after you opened it, so your change was not saved. Reload the "
                    "record to see the other change, then make yours again.",
                    code=Code.DB_CHANGED_MEANWHILE,
                    field="patient",
                )
            fields = (
                "mrn",
                "family_name",
                "given_name",
                "date_of_birth",
                "indication",
                "renal_impairment",
                "emergency_contact_name",
                "emergency_contact_phone",
                "notes",
                "opioid_status",
                "phone",
            )
            before = {name: getattr(row, name) for name in fields}
            _refuse_taken_mrn(session, mrn, row.id)
            row.mrn = mrn
            row.family_name = _text(data.family_name, "family name")
            row.given_name = _text(data.given_name, "given name")
            row.date_of_birth = data.date_of_birth
            row.indication = db.Indication(data.indication)
            row.renal_impairment = data.renal_impairment
            row.opioid_status = _opioid_status(data.opioid_status)
            row.emergency_contact_name = (
                _text(data.emergency_contact_name, "emergency contact", required=False) or None
            )
            row.emergency_contact_phone = (
                _text(data.emergency_contact_phone, "emergency phone", required=False, limit=64)
                or None
            )
            row.notes = _text(data.notes, "notes", required=False, limit=10_000)
            row.phone = _text(data.phone, "phone", required=False, limit=64) or None
            row.updated_at = self.ctx.now()
            session.flush()
            changes = {
                name: {"before": before[name], "after": getattr(row, name)}
                for name in fields
                if before[name] != getattr(row, name)
            }
            self.ctx.audit(
                session,
                actor,
                "patient.edit",
                "patient",
                row.id,
                changes,
                _text(reason, "reason", required=False, limit=2000) or None,
            )
            return mapping.patient_record(row)

        return self.ctx.write(work)


def _opioid_status(status: str | None) -> db.OpioidStatus | None:
    """The patient's opioid status; None (not recorded) counts as naive in the dose checks."""
    if status is None:
        return None
    try:
        return db.OpioidStatus(status)
    except ValueError:
        raise InputError(
            f"opioid status: '{status}' must be naive or tolerant (or not recorded)",
            code=Code.OUT_OF_RANGE,
            field="opioid status",
        ) from None


def _refuse_taken_mrn(session: Session, mrn: str, patient_id: int | None = None) -> None:
    """The unique index holds the stored form; a number stored before MRNs were normalised
    (``d000001``) is the same patient as ``D000001`` too."""
    taken = session.scalars(
        select(db.Patient.id).where(
            func.upper(db.Patient.mrn) == mrn, db.Patient.id != (patient_id or 0)
        )
    ).first()
    if taken is not None:
        raise RecordConflict(
            "another patient already has this medical record number (MRN)",
            code=Code.DB_CONFLICT,
            field="medical record number",
        )
