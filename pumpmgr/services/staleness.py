"""The stale-view refusal: a refill or prescription change begun from a view of the pump that
another workstation has since made out of date (the pump was refilled or reprogrammed
meanwhile) is refused at save, saying who changed what and when; nothing is saved, so nothing
is saved twice (application layer).

A view carries what it read (:class:`~pumpmgr.services.inputs.PumpSeen`: the pump's newest
refill and prescription rows); the check runs inside the saving unit of work, after the write
lock (SQLite ``BEGIN IMMEDIATE``, PostgreSQL's audit advisory lock), so two saves from the same
view cannot both pass it. Clinical rows are append-only, so a newer row, correction or not, is
exactly a change since the view was read.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pumpmgr.db import schema as db
from pumpmgr.db.errors import ChangedMeanwhile
from pumpmgr.errors import Code
from pumpmgr.formatting import format_datetime
from pumpmgr.services.context import ClinicContext
from pumpmgr.services.inputs import PumpSeen


def refuse_if_stale(
    ctx: ClinicContext, session: Session, pump_id: int, seen: PumpSeen | None, field: str
) -> None:
    """Raise :class:`ChangedMeanwhile` when a refill or prescription of ``pump_id`` was recorded
    after the view that read ``seen`` (None: nothing to check). ``field`` names the form."""
    if seen is None:
        return
    refill = session.scalars(
        select(db.Refill).where(db.Refill.pump_id == pump_id).order_by(db.Refill.id.desc()).limit(1)
    ).first()
    prescription = session.scalars(
        select(db.Prescription)
        .where(db.Prescription.pump_id == pump_id)
        .order_by(db.Prescription.id.desc())
        .limit(1)
    ).first()
    changes = []
    if refill is not None and refill.id != seen.refill_id:
        what = "corrected a refill" if refill.corrects_id is not None else "recorded a refill"
        changes.append(
            _change_text(ctx, session, what, "refill", refill.id, refill.recorded_by_id, refill)
        )
    if prescription is not None and prescription.id != seen.prescription_id:
        what = (
            "corrected the prescription"
            if prescription.corrects_id is not None
            else f"changed the prescription (revision {prescription.revision})"
        )
        changes.append(
            _change_text(
                ctx,
                session,
                what,
                "prescription",
                prescription.id,
                prescription.recorded_by_id,
                prescription,
            )
        )
    if changes:
        raise ChangedMeanwhile(
            f"{field}: not saved. After this pump's record was read, "
            + "; and ".join(changes)
            + ". Read the patient's record again to see it, then start again if still needed.",
            code=Code.DB_CHANGED_MEANWHILE,
            field=field,
        )


def _change_text(
    ctx: ClinicContext,
    session: Session,
    what: str,
    entity: str,
    entity_id: int,
    user_id: int,
    row: db.Refill | db.Prescription,
) -> str:
    """ "Otto Second recorded a refill on Mon 3 Mar 2025 09:30 at workstation ward-2"."""
    who = ctx.user_names(session).get(user_id, "another user")
    workstation = session.scalar(
        select(db.AuditEntry.workstation)
        .where(db.AuditEntry.entity_type == entity, db.AuditEntry.entity_id == str(entity_id))
        .order_by(db.AuditEntry.seq)
        .limit(1)
    )
    at = format_datetime(row.recorded_at.astimezone(ctx.tz))
    where = f" at workstation {workstation}" if workstation else ""
    return f"{who} {what} on {at}{where}"
