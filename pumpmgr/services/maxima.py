"""Individual maxima (domain-rules §6): raised, reviewed and ended by prescribers, audited.

Application layer over :class:`~pumpmgr.services.context.ClinicContext`; the rules are the pure
:mod:`pumpmgr.individual_maxima`. A raise needs a prescriber, a second prescriber's password and
a reason; a review (at least every 6 months, clinic policy) and an end need a prescriber and a
reason. Every step is a new row of the append-only ``individual_maxima`` table and one audit
entry; the dose checks read the patient's maxima in force (:meth:`in_force`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from pumpmgr.db import schema as db
from pumpmgr.errors import Code, ImpossibleInput
from pumpmgr.formatting import format_quantity
from pumpmgr.individual_maxima import check_raise, review_by, review_overdue
from pumpmgr.records import IndividualMaximumRecord
from pumpmgr.services.context import ClinicContext, _text
from pumpmgr.services.inputs import Verification
from pumpmgr.services.permissions import Action, PermissionDenied
from pumpmgr.services.values import Actor
from pumpmgr.units import Kind, Quantity, as_unit, from_canonical

#: The longest reason kept (a paragraph).
REASON_LIMIT = 2000


class IndividualMaximumService:
    """A patient's individual maxima, one drug at a time."""

    def __init__(self, ctx: ClinicContext) -> None:
        self.ctx = ctx

    # -- writing

    def raise_maximum(
        self,
        actor: Actor,
        second: Verification,
        patient_id: int,
        drug: str,
        maximum: Quantity,
        reason: str,
    ) -> IndividualMaximumRecord:
        """Raise ``drug``'s clinic-policy hard maximum to ``maximum`` for the patient, signed by
        a second prescriber (``second``); replaces a maximum already in force."""
        self.ctx.permit(actor, Action.INDIVIDUAL_MAXIMUM)

        def work(session: Session) -> IndividualMaximumRecord:
            patient = session.get_one(db.Patient, patient_id)
            entry = self.ctx.library(session).drug(drug)
            value = check_raise(entry, maximum)
            why = _text(reason, "reason", limit=REASON_LIMIT)
            signer = self.ctx.verify_second(session, actor, second)
            if signer.role is not db.Role.PRESCRIBER:
                raise PermissionDenied(
                    f"second signature: {signer.username} is not a prescriber; an individual "
                    "maximum is signed by a second prescriber",
                    code=Code.AUTH_NOT_PERMITTED,
                    field="second signature",
                )
            day = self.ctx.today()
            row = db.IndividualMaximum(
                patient_id=patient.id,
                drug_key=entry.key,
                action="set",
                max_mcg_per_day=value,
                reason=why,
                at=self.ctx.now(),
                by_id=actor.id,
                signed_by_id=signer.id,
                review_by=review_by(day),
            )
            session.add(row)
            session.flush()
            self.ctx.audit(
                session,
                actor,
                "individual_maximum.set",
                "patient",
                patient.id,
                {
                    "drug": entry.key,
                    "maximum": format_quantity(maximum, Kind.DOSE_RATE, entry.display_unit),
                    "signed_by": signer.username,
                    "review_by": row.review_by,
                },
                reason=why,
            )
            return current_maxima(self.ctx, session, patient.id)[entry.key]

        return self.ctx.write(work)

    def review_maximum(
        self,
        actor: Actor,
        patient_id: int,
        drug: str,
        note: str,
    ) -> IndividualMaximumRecord:
        """Record a prescriber's review of the maximum in force: the next review is due 6
        months from today (clinic policy)."""
        self.ctx.permit(actor, Action.INDIVIDUAL_MAXIMUM)

        def work(session: Session) -> IndividualMaximumRecord:
            key, current = self._in_force_row(session, patient_id, drug)
            why = _text(note, "review note", limit=REASON_LIMIT)
            row = db.IndividualMaximum(
                patient_id=patient_id,
                drug_key=key,
                action="reviewed",
                max_mcg_per_day=current.max_mcg_per_day,
                reason=why,
                at=self.ctx.now(),
                by_id=actor.id,
                review_by=review_by(self.ctx.today()),
            )
            session.add(row)
            session.flush()
            self.ctx.audit(
                session,
                actor,
                "individual_maximum.review",
                "patient",
                patient_id,
                {"drug": key, "review_by": row.review_by},
                reason=why,
            )
            return current_maxima(self.ctx, session, patient_id)[key]

        return self.ctx.write(work)

    def end_maximum(self, actor: Actor, patient_id: int, drug: str, reason: str) -> None:
        """End the maximum in force: the library's hard maximum applies again."""
        self.ctx.permit(actor, Action.INDIVIDUAL_MAXIMUM)

        def work(session: Session) -> None:
            key, _ = self._in_force_row(session, patient_id, drug)
            why = _text(reason, "reason", limit=REASON_LIMIT)
            session.add(
                db.IndividualMaximum(
                    patient_id=patient_id,
                    drug_key=key,
                    action="ended",
                    max_mcg_per_day=None,
                    reason=why,
                    at=self.ctx.now(),
                    by_id=actor.id,
                )
            )
            session.flush()
            self.ctx.audit(
                session,
                actor,
                "individual_maximum.end",
                "patient",
                patient_id,
                {"drug": key},
                reason=why,
            )

        self.ctx.write(work)

    # -- reading

    def maxima(self, patient_id: int) -> list[IndividualMaximumRecord]:
        """The patient's individual maxima in force, by drug."""
        with self.ctx.database.read() as session:
            return list(current_maxima(self.ctx, session, patient_id).values())

    def _in_force_row(
        self,
        session: Session,
        patient_id: int,
        drug: str,
    ) -> tuple[str, db.IndividualMaximum]:
        session.get_one(db.Patient, patient_id)
        key = self.ctx.library(session).drug(drug).key
        history = _history(session, patient_id).get(key, [])
        if not history or history[-1].action == "ended":
            raise ImpossibleInput(
                f"drug: the patient has no individual maximum of {drug}",
                code=Code.OUT_OF_RANGE,
                field="drug",
            )
        return key, history[-1]


def _history(session: Session, patient_id: int) -> dict[str, list[db.IndividualMaximum]]:
    rows = session.scalars(
        select(db.IndividualMaximum)
        .where(db.IndividualMaximum.patient_id == patient_id)
        .order_by(db.IndividualMaximum.id)
    )
    found: dict[str, list[db.IndividualMaximum]] = {}
    for row in rows:
        found.setdefault(row.drug_key, []).append(row)
    return found


def current_maxima(
    ctx: ClinicContext,
    session: Session,
    patient_id: int,
) -> dict[str, IndividualMaximumRecord]:
    """The patient's individual maxima in force, by drug key."""
    library = ctx.library(session)
    today = ctx.today()
    names: dict[int, str] = {}

    def name(user_id: int | None) -> str:
        if user_id is None:
            return ""
        if user_id not in names:
            names[user_id] = session.get_one(db.User, user_id).full_name
        return names[user_id]

    found: dict[str, IndividualMaximumRecord] = {}
    for key, history in _history(session, patient_id).items():
        newest = history[-1]
        if newest.action == "ended" or newest.max_mcg_per_day is None:
            continue
        raised = next(r for r in reversed(history) if r.action == "set")
        entry = library.drug(key)
        due: date = newest.review_by or review_by(today)
        found[key] = IndividualMaximumRecord(
            id=newest.id,
            patient_id=patient_id,
            drug_key=key,
            drug=entry.name,
            unit=entry.display_unit,
            maximum=from_canonical(newest.max_mcg_per_day, Kind.DOSE_RATE).to(
                as_unit(f"{entry.display_unit}/day")
            ),
            reason=raised.reason,
            set_by=name(raised.by_id),
            signed_by=name(raised.signed_by_id),
            set_at=raised.at,
            reviewed_by="" if newest is raised else name(newest.by_id),
            reviewed_at=None if newest is raised else newest.at,
            review_by=due,
            review_overdue=review_overdue(due, today),
        )
    return found


def in_force(ctx: ClinicContext, session: Session, patient_id: int) -> Mapping[str, Quantity]:
    """Each drug's raised maximum for the patient, for the dose checks."""
    return {key: record.maximum for key, record in current_maxima(ctx, session, patient_id).items()}
