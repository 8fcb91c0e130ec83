"""The audit log as a clinic reads it (application layer): filtered by patient, user, action
and date, a page at a time, each entry naming its patient; and the entries that record who saw
what (a chart opened, a sheet printed, the records or the due list's calendar exported).

An entry is about a patient when its record is: the patient, or one of the patient's pumps,
catheters, prescriptions, refills, pump events or bookings (``entity_type`` and ``entity_id``,
both covered by the entry's hash; the records' owners are covered by the row images,
:mod:`pumpmgr.db.rowchain`). The patient is looked up when the log is read, so an entry shows
the MRN and name as the chart shows them today.

Who sees which entries (:func:`visible`): the administrator every entry; any other user the
entries they wrote themselves and every entry about "their own patients", the patients of any
record they recorded, changed, printed or viewed (any entry of theirs about the patient). A
nurse who opened a chart therefore sees that chart's whole history of changes and views.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, String, cast, literal, or_, select, tuple_, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import CompoundSelect

from pumpmgr.db import schema as db
from pumpmgr.errors import Code, InputError
from pumpmgr.records import PatientRecord
from pumpmgr.services import mapping
from pumpmgr.services.permissions import PermissionDenied
from pumpmgr.services.values import Actor, AuditRecord

#: Actions that record access, not a change (issue 13): who saw what, when.
VIEW_ACTION = "patient.view"
PRINT_ACTION = "sheet.print"
EXPORT_ACTION = "export.clinic"
CALENDAR_ACTION = "export.calendar"
SIGN_IN_ACTION = "user.sign_in"
UNLOCK_ACTION = "user.unlock"
SIGN_IN_FAILED_ACTION = "user.sign_in_failed"
VERIFY_FAILED_ACTION = "user.verify_failed"
#: The user name of a failed sign-in whose user name is not an account's: what was typed is
#: not kept, since it may be a password typed into the wrong box.
UNKNOWN_USER = "(unknown)"
#: Ids per IN list, below every backend's limit on bound parameters.
_CHUNK = 500


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to show; None (or empty) matches every entry."""

    patient_id: int | None = None
    username: str | None = None
    #: An action (``refill.record``) or its family (``refill`` matches every ``refill.*``).
    action: str | None = None
    since: date | None = None  #: the first clinic day shown
    until: date | None = None  #: the last clinic day shown (inclusive)
    #: Only entries newer than this one (their count is that entry's offset in the page order).
    newer_than: int | None = None


@dataclass(frozen=True)
class AuditPage:
    """One page of the entries a filter matches, newest first, and how many it matches."""

    entries: tuple[AuditRecord, ...]
    total: int


def _owned(kind: str, ident: Any, patient: Any, *joins: Any) -> Any:
    query = select(
        literal(kind, String).label("kind"), cast(ident, String).label("eid"), patient.label("pid")
    )
    for target in joins:
        query = query.join(target)
    return query


def subjects() -> CompoundSelect[Any]:
    """(entity type ``kind``, entity id ``eid``, patient id ``pid``) of every record that
    belongs to a patient."""
    pump_patient = db.Pump.patient_id
    return union_all(
        _owned("patient", db.Patient.id, db.Patient.id),
        _owned("pump", db.Pump.id, pump_patient),
        _owned("catheter", db.Catheter.id, db.Catheter.patient_id),
        _owned("prescription", db.Prescription.id, pump_patient, db.Pump),
        _owned("refill", db.Refill.id, pump_patient, db.Pump),
        _owned("pump_event", db.PumpEvent.id, pump_patient, db.Pump),
        _owned("booking", db.Booking.id, pump_patient, db.Pump),
    )


#: How each kind of record names its patient, for looking up a page's entries.
_OWNER: dict[str, tuple[Any, Any, tuple[Any, ...]]] = {
    "patient": (db.Patient.id, db.Patient.id, ()),
    "pump": (db.Pump.id, db.Pump.patient_id, ()),
    "catheter": (db.Catheter.id, db.Catheter.patient_id, ()),
    "prescription": (db.Prescription.id, db.Pump.patient_id, (db.Pump,)),
    "refill": (db.Refill.id, db.Pump.patient_id, (db.Pump,)),
    "pump_event": (db.PumpEvent.id, db.Pump.patient_id, (db.Pump,)),
    "booking": (db.Booking.id, db.Pump.patient_id, (db.Pump,)),
}


def patient_ids_of(
    session: Session,
    records: Iterable[tuple[str, str | None]],
) -> dict[tuple[str, str], int]:
    """The patient of each (entity type, entity id) that belongs to one."""
    wanted: dict[str, set[int]] = {}
    for kind, ident in records:
        if kind in _OWNER and ident is not None and ident.isdigit():
            wanted.setdefault(kind, set()).add(int(ident))
    found: dict[tuple[str, str], int] = {}
    for kind, ids in wanted.items():
        key, owner, joins = _OWNER[kind]
        ordered = sorted(ids)
        for start in range(0, len(ordered), _CHUNK):
            query = select(key, owner)
            for target in joins:
                query = query.join(target)
            for record_id, patient_id in session.execute(
                query.where(key.in_(ordered[start : start + _CHUNK]))
            ):
                found[(kind, str(record_id))] = patient_id
    return found


def own_patients(session: Session, username: str) -> set[int]:
    """The patients of every record ``username`` has an audit entry about (one query)."""
    owned, entry = subjects().subquery(), db.AuditEntry
    touched = select(entry.entity_type, entry.entity_id).where(
        entry.username == username, entry.entity_type.in_(list(_OWNER))
    )
    return set(
        session.scalars(
            select(owned.c.pid).distinct().where(tuple_(owned.c.kind, owned.c.eid).in_(touched))
        )
    )


def _about(patient_ids: Sequence[int]) -> ColumnElement[bool]:
    """Entries about a record of one of ``patient_ids`` (one list of bound ids, however many
    kinds of record: within every backend's limit for a clinic's patients)."""
    entry, owned = db.AuditEntry, subjects().subquery()
    return tuple_(entry.entity_type, entry.entity_id).in_(
        select(owned.c.kind, owned.c.eid).where(owned.c.pid.in_(list(patient_ids)))
    )


def visible(session: Session, actor: Actor) -> ColumnElement[bool] | None:
    """The condition on audit entries ``actor`` may read (None: every entry), as the module
    docstring says."""
    if actor.role == "administrator":
        return None
    own = db.AuditEntry.username == actor.username
    patients = sorted(own_patients(session, actor.username))
    return or_(own, _about(patients)) if patients else own


def require_active(session: Session, actor: Actor) -> None:
    """Refuse an account that no longer exists, is deactivated or has another role now."""
    user = session.get(db.User, actor.id)
    if (
        user is None
        or user.username != actor.username
        or not user.active
        or (user.role.value != actor.role)
    ):
        raise PermissionDenied(
            f"{actor.username}: the account is no longer active with this role; sign in again",
            code=Code.AUTH_NOT_PERMITTED,
            field="user",
        )


def _day_start(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(), tz)


def conditions(
    session: Session,
    actor: Actor,
    wanted: AuditFilter,
    tz: tzinfo,
) -> list[ColumnElement[bool]]:
    """The WHERE conditions of ``wanted`` within what ``actor`` may read."""
    if wanted.since and wanted.until and wanted.until < wanted.since:
        raise InputError(
            "until: the last day is before the first day", code=Code.TIME_ORDER, field="until"
        )
    entry = db.AuditEntry
    found: list[ColumnElement[bool]] = []
    scope = visible(session, actor)
    if scope is not None:
        found.append(scope)
    if wanted.patient_id is not None:
        found.append(_about([wanted.patient_id]))
    if wanted.username:
        found.append(entry.username == wanted.username.strip().lower())
    if wanted.action:
        family = wanted.action.strip()
        found.append(or_(entry.action == family, entry.action.startswith(family + ".")))
    if wanted.newer_than is not None:
        found.append(entry.seq > wanted.newer_than)
    if wanted.since is not None:
        found.append(entry.recorded_at >= _day_start(wanted.since, tz))
    if wanted.until is not None:
        found.append(entry.recorded_at < _day_start(wanted.until + timedelta(days=1), tz))
    return found


def records_of(session: Session, rows: Sequence[db.AuditEntry]) -> tuple[AuditRecord, ...]:
    """The rows as :class:`AuditRecord` values, each naming its patient."""
    owners = patient_ids_of(session, [(r.entity_type, r.entity_id) for r in rows])
    patients: dict[int, PatientRecord] = {
        p.id: mapping.patient_record(p)
        for p in session.scalars(
            select(db.Patient).where(db.Patient.id.in_(sorted(set(owners.values()))))
        )
    }
    return tuple(
        AuditRecord(
            r.seq,
            r.recorded_at,
            r.username,
            r.workstation,
            r.action,
            r.entity_type,
            r.entity_id,
            r.payload,
            r.reason,
            r.prev_hash,
            r.row_hash,
            patients.get(owners.get((r.entity_type, r.entity_id or ""), -1)),
        )
        for r in rows
    )
