"""Orders and signatures (domain-rules §7) and incidents (§4a): the prescriber's account on every
order, how a nurse was given it, the co-signature list, signing and declining, a held order
recorded as programmed, and incidents with their review.

Application layer over :class:`~pumpmgr.services.context.ClinicContext`. The rules themselves
(which changes need the prescriber, an order's state, when it is overdue) are the pure
:mod:`pumpmgr.orders`; this module reads and writes the records and audits every step.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, func, not_, or_, select
from sqlalchemy.orm import Session, aliased

from pumpmgr.db import schema as db
from pumpmgr.dose_checks import DoseCheck
from pumpmgr.errors import Code, ImpossibleInput, InputError
from pumpmgr.orders import (
    INCIDENT_TEXT,
    STATE_TEXT,
    GivenAs,
    IncidentKind,
    OrderState,
    is_overdue,
    needs_prescriber,
    open_states,
    pressing_rank,
)
from pumpmgr.records import IncidentRecord, OrderRecord
from pumpmgr.services import forecasting, mapping
from pumpmgr.services.context import ClinicContext, _text
from pumpmgr.services.forecasts import ForecastService
from pumpmgr.services.inputs import PrescriptionInput
from pumpmgr.services.permissions import Action
from pumpmgr.services.values import Actor
from pumpmgr.visit_note import dose_text
from pumpmgr.wording import findings_texts, solution_text


@dataclass(frozen=True)
class OrderEntry:
    """What :meth:`OrderService.entry` settled about an order before it is saved."""

    prescriber: db.User
    by_prescriber: bool  #: the prescriber entered it with their own account: signed at once
    given_as: str | None
    given_at: datetime | None
    read_back_confirmed: bool | None
    high_risk: bool
    held: bool  #: waits for the signature before it is programmed
    fact: bool  #: the pump was already programmed with it (domain-rules §4a)


class OrderService:
    """Orders, their signatures and the incidents of what already happened in a pump."""

    def __init__(self, ctx: ClinicContext, forecasts: ForecastService) -> None:
        self.ctx = ctx
        self.forecasts = forecasts

    # -- entering an order (called by the prescription path in its unit of work) ------------

    def entry(
        self, session: Session, actor: Actor, data: PrescriptionInput, check: DoseCheck
    ) -> OrderEntry:
        """The order's prescriber account and how it was given, checked: a nurse's entry names
        how and when the prescriber gave it and, for a spoken or telephone order, that it was
        read back and confirmed. Refuses with a message naming the field. A start or restart,
        or a finding that needs the prescriber, makes it high-risk (domain-rules §7): a nurse's
        entry is then held until signed, unless the pump already runs it."""
        prescriber = self.prescriber_account(session, data.prescriber)
        by_prescriber = prescriber.id == actor.id
        given_as = given_at = read_back = None
        if not by_prescriber:
            order = data.order
            if order is None:
                raise InputError(
                    "order: record how the prescriber gave this order (spoken, telephone or "
                    "written) and when",
                    code=Code.NO_VALUE,
                    field="order",
                )
            try:
                how = GivenAs(str(order.given_as).strip().lower())
            except ValueError:
                raise InputError(
                    f"order given as: '{order.given_as}' is not spoken, telephone or written",
                    code=Code.OUT_OF_RANGE,
                    field="order given as",
                ) from None
            if how.needs_read_back and not order.read_back_confirmed:
                raise InputError(
                    f"read back: read the {how.value} order back to the prescriber and have it "
                    "confirmed before saving",
                    code=Code.NO_VALUE,
                    field="read back",
                )
            given_as, read_back = how.value, order.read_back_confirmed
            given_at = self.ctx.instant(order.given_at, "order given at")
        high_risk = needs_prescriber(
            str(check.verdict), (str(f.code) for f in check.findings), starts=check.starts
        )
        fact = data.already_programmed
        return OrderEntry(
            prescriber,
            by_prescriber,
            given_as,
            given_at,
            read_back,
            high_risk,
            held=high_risk and not by_prescriber and not fact,
            fact=fact,
        )

    def prescriber_account(self, session: Session, named: str) -> db.User:
        """The clinic's active prescriber account ``named`` (its user name or full name,
        either case); never free text."""
        wanted = _text(named, "prescriber").lower()
        prescribers = list(
            session.scalars(
                select(db.User)
                .where(db.User.role == db.Role.PRESCRIBER, db.User.active.is_(True))
                .order_by(db.User.full_name)
            )
        )
        found = [u for u in prescribers if wanted in (u.username.lower(), u.full_name.lower())]
        if len(found) == 1:
            return found[0]
        if found:
            raise InputError(
                f"prescriber: '{named}' names {len(found)} prescribers; give the user name",
                code=Code.OUT_OF_RANGE,
                field="prescriber",
            )
        names = ", ".join(f"{u.full_name} ({u.username})" for u in prescribers) or "none yet"
        raise InputError(
            f"prescriber: '{named}' is not one of the clinic's active prescriber accounts "
            f"({names})",
            code=Code.NO_VALUE,
            field="prescriber",
        )

    def prescribers(self) -> list[tuple[int, str, str]]:
        """The clinic's active prescriber accounts as (id, user name, full name), by name:
        what an order form offers."""
        with self.ctx.database.read() as session:
            return [
                (u.id, u.username, u.full_name)
                for u in session.scalars(
                    select(db.User)
                    .where(db.User.role == db.Role.PRESCRIBER, db.User.active.is_(True))
                    .order_by(db.User.full_name)
                )
            ]

    def after_save(
        self,
        session: Session,
        actor: Actor,
        pump: db.Pump,
        row: db.Prescription,
        entry: OrderEntry,
        check: DoseCheck,
    ) -> None:
        """For a change already programmed that a finding would have stopped, attach the
        incident "programmed outside limits" (in the change's audit entry)."""
        stopping = [f.message for f in check.findings if str(f.level) in ("blocked", "stop")]
        if entry.fact and stopping:
            self.record_incident(
                session,
                actor,
                pump,
                IncidentKind.PROGRAMMED_OUTSIDE_LIMITS,
                "; ".join(stopping),
                row.effective_at,
                prescription_id=row.id,
            )

    @staticmethod
    def audit_payload(session: Session, row: db.Prescription) -> dict[str, object]:
        """The order's part of the audit entry of the action that saved it."""
        prescriber = session.get_one(db.User, row.prescriber_id)
        return {
            "prescriber": prescriber.username,
            "given_as": row.order_given_as,
            "given_at": row.order_given_at,
            "read_back_confirmed": row.read_back_confirmed,
            "high_risk": row.high_risk,
            "state": str(mapping.order_state_of(row, ())),
        }

    def record_incident(
        self,
        session: Session,
        actor: Actor,
        pump: db.Pump,
        kind: IncidentKind,
        summary: str,
        occurred_at: datetime,
        *,
        prescription_id: int | None = None,
        refill_id: int | None = None,
    ) -> db.Incident:
        """Attach an incident to a record of what already happened (domain-rules §4a), in the
        unit of work that records it: listed under ``incidents`` in that call's one audit
        entry (:meth:`ClinicContext.carry`)."""
        incident = db.Incident(
            pump_id=pump.id,
            kind=str(kind),
            summary=summary,
            occurred_at=occurred_at,
            prescription_id=prescription_id,
            refill_id=refill_id,
            recorded_at=self.ctx.now(),
            recorded_by_id=actor.id,
        )
        session.add(incident)
        session.flush()
        self.ctx.carry(
            session,
            "incidents",
            {
                "incident_id": incident.id,
                "pump_id": pump.id,
                "kind": str(kind),
                "summary": summary,
                "prescription_id": prescription_id,
                "refill_id": refill_id,
            },
        )
        return incident

    # -- the prescriber's decision -----------------------------------------------------------

    def sign_order(self, actor: Actor, prescription_id: int, password: str) -> OrderRecord:
        """The named prescriber signs an order with their own password."""
        return self._decide(actor, prescription_id, password, "signed", None)

    def decline_order(
        self, actor: Actor, prescription_id: int, password: str, reason: str
    ) -> OrderRecord:
        """The named prescriber declines an order and records why; nothing is deleted, and
        the patient is urgent until a new order is programmed."""
        return self._decide(
            actor, prescription_id, password, "declined", _text(reason, "reason", limit=2000)
        )

    def _decide(
        self, actor: Actor, prescription_id: int, password: str, action: str, reason: str | None
    ) -> OrderRecord:
        self.ctx.permit(actor, Action.SIGN_ORDER)

        def work(session: Session) -> OrderRecord:
            row = self._order_row(session, prescription_id)
            if row.prescriber_id != actor.id:
                named = session.get_one(db.User, row.prescriber_id).full_name
                raise ImpossibleInput(
                    f"order: it names {named}; only the prescriber it names signs or declines it",
                    code=Code.AUTH_NOT_PERMITTED,
                    field="order",
                )
            self.ctx.authenticate(session, actor.username, password)
            state = self._state(session, row)
            if state in (OrderState.SIGNED, OrderState.DECLINED):
                raise ImpossibleInput(
                    f"order: it is already {STATE_TEXT[state]}",
                    code=Code.OUT_OF_RANGE,
                    field="order",
                )
            session.add(
                db.OrderAction(
                    prescription_id=row.id,
                    action=action,
                    at=self.ctx.now(),
                    by_id=actor.id,
                    reason=reason,
                )
            )
            session.flush()
            self.ctx.audit(
                session,
                actor,
                f"order.{'sign' if action == 'signed' else 'decline'}",
                "prescription",
                row.id,
                {"pump_id": row.pump_id, "state_before": str(state)},
                reason,
            )
            self.forecasts.refresh_forecast(session, session.get_one(db.Pump, row.pump_id))
            return self._record(session, row)

        return self.ctx.write(work)

    def record_programmed(self, actor: Actor, prescription_id: int) -> OrderRecord:
        """A nurse records that the pump was programmed with an order that waits for the
        signature (on a spoken order all the same): it becomes an unsigned high-risk order and
        every forecast uses it from its effective time."""
        self.ctx.permit(actor, Action.CHANGE_PRESCRIPTION)

        def work(session: Session) -> OrderRecord:
            row = self._order_row(session, prescription_id)
            state = self._state(session, row)
            if state is not OrderState.AWAITING_SIGNATURE:
                raise ImpossibleInput(
                    f"order: it is {STATE_TEXT[state]}, not awaiting the prescriber's signature "
                    "before programming",
                    code=Code.OUT_OF_RANGE,
                    field="order",
                )
            session.add(
                db.OrderAction(
                    prescription_id=row.id, action="programmed", at=self.ctx.now(), by_id=actor.id
                )
            )
            session.flush()
            self.ctx.audit(
                session, actor, "order.programmed", "prescription", row.id, {"pump_id": row.pump_id}
            )
            self.forecasts.refresh_forecast(session, session.get_one(db.Pump, row.pump_id))
            return self._record(session, row)

        return self.ctx.write(work)

    # -- incidents ---------------------------------------------------------------------------

    def review_incident(self, actor: Actor, incident_id: int, note: str) -> IncidentRecord:
        """A prescriber reviews an incident (it leaves the patient's banner and the due list)."""
        self.ctx.permit(actor, Action.REVIEW_INCIDENT)
        text = _text(note, "review note", limit=2000)

        def work(session: Session) -> IncidentRecord:
            incident = session.get(db.Incident, incident_id)
            if incident is None:
                raise InputError(
                    f"incident: no incident {incident_id}", code=Code.NO_VALUE, field="incident"
                )
            if (
                session.scalar(
                    select(db.IncidentReview.id).where(db.IncidentReview.incident_id == incident_id)
                )
                is not None
            ):
                raise ImpossibleInput(
                    "incident: already reviewed", code=Code.OUT_OF_RANGE, field="incident"
                )
            session.add(
                db.IncidentReview(
                    incident_id=incident_id,
                    reviewed_at=self.ctx.now(),
                    reviewed_by_id=actor.id,
                    note=text,
                )
            )
            session.flush()
            self.ctx.audit(
                session,
                actor,
                "incident.review",
                "incident",
                incident_id,
                {"pump_id": incident.pump_id},
                text,
            )
            self.forecasts.refresh_forecast(session, session.get_one(db.Pump, incident.pump_id))
            return self._incidents(session, [incident.pump_id], open_only=False)[-1]

        return self.ctx.write(work)

    def incidents(self, patient_id: int, *, open_only: bool = True) -> list[IncidentRecord]:
        """The patient's incidents (only those no prescriber reviewed), oldest first."""
        with self.ctx.database.read() as session:
            return self.patient_incidents(session, patient_id, open_only=open_only)

    def patient_incidents(
        self, session: Session, patient_id: int, *, open_only: bool = True
    ) -> list[IncidentRecord]:
        pumps = list(session.scalars(select(db.Pump.id).where(db.Pump.patient_id == patient_id)))
        return self._incidents(session, pumps, open_only=open_only)

    def _incidents(
        self, session: Session, pump_ids: list[int], *, open_only: bool
    ) -> list[IncidentRecord]:
        if not pump_ids:
            return []
        users = self.ctx.user_names(session)
        found = []
        for incident, review in session.execute(
            select(db.Incident, db.IncidentReview)
            .outerjoin(db.IncidentReview, db.IncidentReview.incident_id == db.Incident.id)
            .where(db.Incident.pump_id.in_(pump_ids))
            .order_by(db.Incident.id)
        ):
            if open_only and review is not None:
                continue
            found.append(
                IncidentRecord(
                    id=incident.id,
                    pump_id=incident.pump_id,
                    kind=incident.kind,
                    text=INCIDENT_TEXT.get(IncidentKind(incident.kind), incident.kind),
                    summary=incident.summary,
                    occurred_at=incident.occurred_at,
                    recorded_by=users.get(incident.recorded_by_id, "?"),
                    prescription_id=incident.prescription_id,
                    refill_id=incident.refill_id,
                    reviewed_by="" if review is None else users.get(review.reviewed_by_id, "?"),
                    reviewed_at=None if review is None else review.reviewed_at,
                    review_note="" if review is None else review.note,
                )
            )
        return found

    # -- the co-signature list ---------------------------------------------------------------

    def awaiting_signature(self, prescriber_id: int | None = None) -> list[OrderRecord]:
        """Every order that needs a prescriber (of ``prescriber_id`` only, when given):
        declined ones until a new order replaces them, unsigned high-risk orders, orders
        waiting for the signature before programming, then those awaiting co-signature,
        overdue first, oldest first within each. Read from the pumps whose stored forecast
        carries an order alert (kept with every change of an order)."""
        with self.ctx.database.read() as session:
            orders = self.open_orders(session, self._alerted_pumps(session))
            if prescriber_id is not None:
                orders = [o for o in orders if o.prescriber_id == prescriber_id]
            return orders

    def count_awaiting(self) -> int:
        """How many orders :meth:`awaiting_signature` lists (the badge everyone sees), counted
        by the database: the badge is read on every due-list show and sign-in, where building
        each order to count it cost as much as the list itself."""
        with self.ctx.database.read() as session:
            return int(
                session.scalar(
                    select(func.count()).select_from(db.Prescription).where(*_open_order())
                )
                or 0
            )

    @staticmethod
    def _alerted_pumps(session: Session) -> list[int]:
        return list(
            session.scalars(
                select(db.PumpForecast.pump_id).where(db.PumpForecast.order_alert.is_not(None))
            )
        )

    def open_orders(self, session: Session, pump_ids: Iterable[int]) -> list[OrderRecord]:
        """The open orders (:func:`pumpmgr.orders.open_states`) of these pumps, most pressing
        first."""
        ids = list(pump_ids)
        if not ids:
            return []
        found = []
        for chunk in [ids[i : i + 500] for i in range(0, len(ids), 500)]:
            for orders in forecasting.pump_orders(session, chunk).values():
                for index in open_states([(s, runs) for _row, s, runs in orders]):
                    found.append(self._record(session, orders[index][0]))
        found.sort(key=lambda o: (pressing_rank(o.state), not o.overdue, o.entered_at))
        return found

    # -- reading one order -------------------------------------------------------------------

    def _order_row(self, session: Session, prescription_id: int) -> db.Prescription:
        row = session.get(db.Prescription, prescription_id)
        if row is None or row.prescriber_id is None:
            raise InputError(
                f"order: no order {prescription_id} names a prescriber's account",
                code=Code.NO_VALUE,
                field="order",
            )
        return row

    @staticmethod
    def _actions(session: Session, row: db.Prescription) -> list[db.OrderAction]:
        return list(
            session.scalars(
                select(db.OrderAction)
                .where(db.OrderAction.prescription_id == row.id)
                .order_by(db.OrderAction.id)
            )
        )

    def _state(self, session: Session, row: db.Prescription) -> OrderState:
        return mapping.order_state_of(row, self._actions(session, row))

    def _record(self, session: Session, row: db.Prescription) -> OrderRecord:
        actions = self._actions(session, row)
        state = mapping.order_state_of(row, actions)
        settings = self.ctx.settings(session)
        pump = session.get_one(db.Pump, row.pump_id)
        patient = session.get_one(db.Patient, pump.patient_id)
        users = self.ctx.user_names(session)
        decision = next((a for a in actions if a.action in ("signed", "declined")), None)
        done = {a.action for a in actions}
        version = next(
            p for p in self.ctx.prescriptions_all(session, row.pump_id) if p.id == row.id
        )
        # each with the reason given for it at entry: what the prescriber signs for
        return OrderRecord(
            prescription_id=row.id,
            pump_id=row.pump_id,
            patient_id=patient.id,
            mrn=patient.mrn,
            patient=f"{patient.family_name.upper()}, {patient.given_name}",
            state=str(state),
            state_text=STATE_TEXT[state],
            high_risk=row.high_risk,
            prescriber_id=row.prescriber_id or 0,
            prescriber=row.prescriber_name,
            entered_by=users.get(row.recorded_by_id, "?"),
            entered_at=row.recorded_at,
            effective_at=row.effective_at,
            given_as=row.order_given_as,
            read_back_confirmed=row.read_back_confirmed,
            programmed=not row.held_for_signature or bool(done & {"programmed", "signed"}),
            overdue=is_overdue(
                state,
                row.recorded_at,
                self.ctx.now(),
                cosign_hours=settings.cosign_overdue_hours,
                high_risk_hours=settings.high_risk_overdue_hours,
            ),
            solution=solution_text(version.ingredients, self.ctx.library(session)),
            findings=findings_texts(version.findings),
            dose=dose_text(version.program, version.ingredients, self.ctx.catalogs),
            decided_by="" if decision is None else users.get(decision.by_id, "?"),
            decided_at=None if decision is None else decision.at,
            decline_reason="" if decision is None else decision.reason or "",
        )


def _open_order() -> list[ColumnElement[bool]]:
    """:func:`pumpmgr.orders.open_states` as conditions on ``prescriptions``: an order (it
    names a prescriber's account, not corrected) of a pump whose stored forecast carries an
    order alert, neither signed nor entered by its prescriber, or declined with no later order
    the pump runs (:func:`pumpmgr.services.forecasting.runs_in_pump`) replacing it."""
    order, later, fix = db.Prescription, aliased(db.Prescription), aliased(db.Prescription)

    def acted(row: Any, *actions: str) -> ColumnElement[bool]:
        return exists().where(
            db.OrderAction.prescription_id == row.id, db.OrderAction.action.in_(actions)
        )

    corrections = select(fix.corrects_id).where(fix.corrects_id.is_not(None)).scalar_subquery()

    def corrected(row: Any) -> ColumnElement[bool]:
        found: ColumnElement[bool] = row.id.in_(corrections)
        return found

    replaced = exists().where(
        later.pump_id == order.pump_id,
        later.id > order.id,
        later.prescriber_id.is_not(None),
        not_(corrected(later)),
        or_(later.held_for_signature == false(), acted(later, "signed", "programmed")),
    )
    return [
        order.prescriber_id.is_not(None),
        not_(corrected(order)),
        order.pump_id.in_(
            select(db.PumpForecast.pump_id).where(db.PumpForecast.order_alert.is_not(None))
        ),
        or_(
            and_(acted(order, "declined"), not_(replaced)),
            and_(
                not_(acted(order, "declined")),
                not_(acted(order, "signed")),
                order.recorded_by_id != order.prescriber_id,
            ),
        ),
    ]
