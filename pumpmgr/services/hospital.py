"""What the clinic hands the hospital: visit notes for its record and the FHIR export.

Application layer: composes the clinic's services (:class:`ClinicService`, read through its
public methods and its database) with the pure note writer (:mod:`pumpmgr.visit_note`) and the
FHIR builder (:mod:`pumpmgr.fhir`). The window and the command line both go through here, so a
note copied in the window and one printed by ``pumpmgr note`` are the same text.

The note template and the MRN system are kept with the clinic's settings (revision 0005); an
administrator changes them, each change audited with what it was before.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pumpmgr import fhir
from pumpmgr.db import schema as db
from pumpmgr.db.audit import append_audit
from pumpmgr.errors import Code, InputError
from pumpmgr.note_template import NoteTemplate, default_template_text, parse_template
from pumpmgr.records import PatientChart
from pumpmgr.services.audit_trail import require_active
from pumpmgr.services.clinic import Actor, ClinicService
from pumpmgr.services.permissions import Action, require_permission
from pumpmgr.visit import local_chart
from pumpmgr.visit_note import RecordRef, parse_record_ref, visit_note

#: An MRN system is a URI: ``urn:oid:...``, ``urn:uuid:...``, ``http(s)://...``.
_URI_SCHEMES = ("urn:", "http://", "https://")


class HospitalService:
    """Visit notes and the FHIR export of one clinic."""

    def __init__(self, clinic: ClinicService) -> None:
        self.clinic = clinic

    # ------------------------------------------------------------------ settings

    def _settings_row(self, session: Session) -> db.ClinicSettings:
        return session.get_one(db.ClinicSettings, 1)

    def note_template_text(self) -> tuple[str, bool]:
        """The template's text and whether it is the clinic's own (False: the shipped one)."""
        with self.clinic.database.read() as session:
            stored = self._settings_row(session).visit_note_template
        return (default_template_text(), False) if stored is None else (stored, True)

    def note_template(self) -> NoteTemplate:
        return parse_template(self.note_template_text()[0])

    def set_note_template(self, actor: Actor, text: str | None, reason: str) -> None:
        """Keep ``text`` as the clinic's template (None: go back to the shipped one), checked
        first; an administrator's action, audited with the template before and after."""
        if text is not None:
            parse_template(text)
        self._set(
            actor, "visit_note_template", "note template", text, "settings.note_template", reason
        )

    def mrn_system(self) -> str | None:
        """The URI of the clinic's medical record numbers, or None when not set."""
        with self.clinic.database.read() as session:
            return self._settings_row(session).mrn_system

    def set_mrn_system(self, actor: Actor, uri: str, reason: str) -> None:
        """Keep ``uri`` as the system of the clinic's MRNs (an administrator's action,
        audited)."""
        self._set(
            actor, "mrn_system", "MRN system", check_mrn_system(uri), "settings.mrn_system", reason
        )

    def _set(
        self, actor: Actor, column: str, field: str, value: str | None, action: str, reason: str
    ) -> None:
        """Keep ``value`` in the settings row's ``column``, audited with the value before;
        refused, naming ``field``, when nothing changes."""
        reason = reason.strip()
        if not reason:
            raise InputError("reason: is required", code=Code.NO_VALUE, field="reason")

        def work(session: Session) -> None:
            require_permission(session, actor, Action.UPDATE_SETTINGS)
            row = self._settings_row(session)
            before = getattr(row, column)
            if before == value:
                raise InputError(f"{field}: nothing changed", code=Code.OUT_OF_RANGE, field=field)
            setattr(row, column, value)
            row.updated_at = self.clinic.clock.now()
            session.flush()
            append_audit(
                session,
                username=actor.username,
                action=action,
                entity_type="clinic_settings",
                entity_id="1",
                changes={column: {"before": before, "after": value}},
                reason=reason,
                workstation=self.clinic.workstation,
                at=self.clinic.clock.now(),
            )

        self.clinic.database.run_write(work)

    # ------------------------------------------------------------------ notes

    def patient_of(self, ref: RecordRef) -> int:
        """The id of the patient whose record ``ref`` is; refused, naming it, when there is no
        such record."""
        model: Any = {"refill": db.Refill, "prescription": db.Prescription, "event": db.PumpEvent}[
            ref.kind
        ]
        with self.clinic.database.read() as session:
            patient_id = session.scalar(
                select(db.Pump.patient_id)
                .join(model, model.pump_id == db.Pump.id)
                .where(model.id == ref.id)
            )
        if patient_id is None:
            raise InputError(
                f"record: there is no {ref.kind} with id {ref.id}",
                code=Code.NO_VALUE,
                field="record",
            )
        return int(patient_id)

    def local_chart(self, patient_id: int) -> PatientChart:
        return local_chart(self.clinic.patient_chart(patient_id), self.clinic.tz)

    def note(self, record: RecordRef | str, chart: PatientChart | None = None) -> str:
        """The visit note of ``record`` (``refill:12``...) in the clinic's template; ``chart``
        (in the clinic's wall-clock time) when the caller has it already."""
        ref = parse_record_ref(record) if isinstance(record, str) else record
        if chart is None:
            chart = self.local_chart(self.patient_of(ref))
        return visit_note(
            chart,
            ref,
            template=self.note_template(),
            settings=self.clinic.settings(),
            catalog=replace(self.clinic.catalogs, drugs=self.clinic.library()),
            tz=self.clinic.tz,
        )

    # ------------------------------------------------------------------ FHIR

    def _changed_since(self, session: Session, since: datetime) -> tuple[set[int], set[str]]:
        """The patients with a clinical record written since ``since``, and those records."""
        patients: set[int] = set()
        records: set[str] = set()
        for kind, model in (
            ("refill", db.Refill),
            ("prescription", db.Prescription),
            ("event", db.PumpEvent),
            ("catheter", db.Catheter),
        ):
            rows = session.execute(
                select(model.id, db.Pump.patient_id)
                .join(db.Pump, model.pump_id == db.Pump.id)
                .where(model.recorded_at >= since)
            )
            for record_id, patient_id in rows:
                patients.add(int(patient_id))
                records.add(f"{kind}:{record_id}")
        # a patient registered or edited since (their identity may have changed)
        patients.update(
            session.scalars(select(db.Patient.id).where(db.Patient.updated_at >= since))
        )
        return patients, records

    def fhir_bundle(
        self, *, mrn: str | None = None, since: date | None = None, mrn_system: str | None = None
    ) -> dict[str, Any]:
        """One patient's pump record (``mrn``), or every record written since the start of
        ``since`` (the clinic's day), as a FHIR R4 ``Bundle`` of type collection. The MRN
        system is the clinic's setting unless ``mrn_system`` is given."""
        if (mrn is None) == (since is None):
            raise InputError(
                "export: give either a patient's MRN or a date to export from",
                code=Code.NO_VALUE,
                field="export",
            )
        system = check_mrn_system(mrn_system) if mrn_system is not None else self.mrn_system()
        if system is None:
            raise InputError(
                "MRN system: the clinic's MRN system is not set; an administrator sets the "
                "URI the hospital gives its medical record numbers (e.g. urn:oid:1.2.3.4)",
                code=Code.NO_VALUE,
                field="MRN system",
            )
        changed: set[str] | None = None
        if mrn is not None:
            charts = [self.clinic.patient_chart(self.clinic.find_patient(mrn).id)]
        else:
            assert since is not None
            start = datetime.combine(since, time(), self.clinic.tz)
            with self.clinic.database.read() as session:
                patient_ids, changed = self._changed_since(session, start)
            charts = [self.clinic.patient_chart(p) for p in sorted(patient_ids)]
        return fhir.bundle(
            charts,
            mrn_system=system,
            catalog=self.clinic.catalogs,
            generated_at=self.clinic.clock.now(),
            only=changed,
        )

    def export_fhir(
        self,
        who: Actor | str,
        *,
        mrn: str | None = None,
        since: date | None = None,
        mrn_system: str | None = None,
    ) -> dict[str, Any]:
        """:meth:`fhir_bundle`, with an audit entry saying who exported which patients: a
        signed-in user (still active), or the name of a command-line account that did not
        sign in (the entry says which)."""
        document = self.fhir_bundle(mrn=mrn, since=since, mrn_system=mrn_system)
        patients = fhir.patient_mrns(document)
        signed_in = not isinstance(who, str)
        username = who if isinstance(who, str) else who.username

        def work(session: Session) -> None:
            if not isinstance(who, str):
                require_active(session, who)
            append_audit(
                session,
                username=username,
                action="export.fhir",
                entity_type="clinic",
                entity_id="fhir",
                changes={
                    "mrn": mrn,
                    "since": None if since is None else since,
                    "patients": patients,
                    "signed_in": signed_in,
                    "resources": len(document.get("entry", [])),
                },
                workstation=self.clinic.workstation,
                at=self.clinic.clock.now(),
            )

        self.clinic.database.run_write(work)
        return document


def check_mrn_system(uri: str, field: str = "MRN system") -> str:
    """``uri`` stripped, when it is an absolute URI a FHIR identifier system can be."""
    cleaned = uri.strip()
    if (
        not cleaned.startswith(_URI_SCHEMES)
        or any(c.isspace() for c in cleaned)
        or len(cleaned) > 200
    ):
        raise InputError(
            f"{field}: '{cleaned}' is not a URI; write the system the hospital gives its "
            "medical record numbers, for example urn:oid:1.2.36.146.595.217.0.1 or "
            "https://hospital.example/mrn",
            code=Code.OUT_OF_RANGE,
            field=field,
        )
    return cleaned
