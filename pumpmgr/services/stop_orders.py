"""Stop orders (domain-rules §6): a prescriber stops one drug of a pump with their own password,
and a nurse records that the stop was carried out. Each step is a row of an append-only table
and one audit entry; an open Stop order stands at the top of the patient's page and worksheet
and makes the pump urgent on the due list.

Application layer over :class:`~pumpmgr.services.context.ClinicContext`; the words are the pure
:mod:`pumpmgr.stop_orders`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from pumpmgr.db import schema as db
from pumpmgr.errors import Code, ImpossibleInput, InputError
from pumpmgr.formatting import format_datetime
from pumpmgr.records import StopOrderRecord
from pumpmgr.services.context import ClinicContext, _text
from pumpmgr.services.forecasts import ForecastService
from pumpmgr.services.permissions import Action
from pumpmgr.services.values import Actor
from pumpmgr.stop_orders import CarriedOut, withdrawal_warning

#: The longest reason or note kept (a paragraph).
TEXT_LIMIT = 2000


class StopOrderService:
    """Giving a Stop order and recording that it was carried out."""

    def __init__(self, ctx: ClinicContext, forecasts: ForecastService) -> None:
        self.ctx = ctx
        self.forecasts = forecasts

    def give(
        self,
        actor: Actor,
        password: str,
        pump_id: int,
        drug: str,
        effective_at: datetime,
        reason: str,
        *,
        long_stop: bool,
    ) -> StopOrderRecord:
        """The signed-in prescriber stops ``drug`` (one of the pump's solution's drugs, by key
        or name) from ``effective_at``, with their own password, as for signing an order."""
        self.ctx.permit(actor, Action.SIGN_ORDER)
        why = _text(reason, "reason", limit=TEXT_LIMIT)
        effective = self.ctx.instant_any(effective_at)

        def work(session: Session) -> StopOrderRecord:
            self.ctx.authenticate(session, actor.username, password)
            pump = self.ctx.active_pump(session, pump_id)
            key = self._drug_in_pump(session, pump.id, drug)
            row = db.StopOrder(
                pump_id=pump.id,
                drug_key=key,
                prescriber_id=actor.id,
                effective_at=effective,
                reason=why,
                long_stop=long_stop,
                recorded_at=self.ctx.now(),
            )
            session.add(row)
            session.flush()
            self.ctx.audit(
                session,
                actor,
                "stop_order.give",
                "stop_order",
                row.id,
                {
                    "pump_id": pump.id,
                    "drug": key,
                    "effective_at": format_datetime(effective.astimezone(self.ctx.tz)),
                    "long_stop": long_stop,
                },
                reason=why,
            )
            self.forecasts.refresh_forecast(session, pump)
            return _records(self.ctx, session, [row])[0]

        return self.ctx.write(work)

    def record_carried_out(
        self, actor: Actor, stop_order_id: int, done: CarriedOut | str, note: str = ""
    ) -> StopOrderRecord:
        """A clinician records that an open Stop order was carried out, and how."""
        self.ctx.permit(actor, Action.RECORD_EVENT)
        try:
            how = CarriedOut(str(done))
        except ValueError:
            raise InputError(
                f"what was done: '{done}' is not one of {', '.join(c.value for c in CarriedOut)}",
                code=Code.OUT_OF_RANGE,
                field="what was done",
            ) from None
        text = note.strip()[:TEXT_LIMIT]

        def work(session: Session) -> StopOrderRecord:
            row = session.get(db.StopOrder, stop_order_id)
            if row is None:
                raise InputError(
                    f"stop order: no Stop order {stop_order_id}",
                    code=Code.NO_VALUE,
                    field="stop order",
                )
            if (
                session.scalar(
                    select(db.StopOrderCarriedOut.id).where(
                        db.StopOrderCarriedOut.stop_order_id == row.id
                    )
                )
                is not None
            ):
                raise ImpossibleInput(
                    "stop order: already recorded as carried out",
                    code=Code.OUT_OF_RANGE,
                    field="stop order",
                )
            session.add(
                db.StopOrderCarriedOut(
                    stop_order_id=row.id,
                    done=how.value,
                    note=text,
                    at=self.ctx.now(),
                    by_id=actor.id,
                )
            )
            session.flush()
            self.ctx.audit(
                session,
                actor,
                "stop_order.carried_out",
                "stop_order",
                row.id,
                {"pump_id": row.pump_id, "done": how.value},
                reason=text or None,
            )
            self.forecasts.refresh_forecast(session, session.get_one(db.Pump, row.pump_id))
            return _records(self.ctx, session, [row])[0]

        return self.ctx.write(work)

    def _drug_in_pump(self, session: Session, pump_id: int, drug: str) -> str:
        wanted = _text(drug, "drug").lower()
        current = self.ctx.prescriptions(session, pump_id)
        keys = [i.drug for i in current[-1].ingredients] if current else []
        library = self.ctx.library(session)
        for key in keys:
            if wanted in (key.lower(), library.drug(key).name.lower()):
                return key
        names = ", ".join(library.drug(k).name.lower() for k in keys) or "no drug"
        raise InputError(
            f"drug: {drug} is not in the pump (its solution holds {names})",
            code=Code.OUT_OF_RANGE,
            field="drug",
        )


def open_stop_orders(
    ctx: ClinicContext,
    session: Session,
    pump_ids: Iterable[int],
) -> list[StopOrderRecord]:
    """The Stop orders of these pumps not yet carried out, oldest first."""
    ids = list(pump_ids)
    if not ids:
        return []
    done = select(db.StopOrderCarriedOut.stop_order_id)
    rows = session.scalars(
        select(db.StopOrder)
        .where(db.StopOrder.pump_id.in_(ids), db.StopOrder.id.not_in(done))
        .order_by(db.StopOrder.id)
    )
    return _records(ctx, session, list(rows))


def _records(
    ctx: ClinicContext,
    session: Session,
    rows: list[db.StopOrder],
) -> list[StopOrderRecord]:
    users = ctx.user_names(session)
    library = ctx.library(session)
    done = {
        c.stop_order_id: c
        for c in session.scalars(
            select(db.StopOrderCarriedOut).where(
                db.StopOrderCarriedOut.stop_order_id.in_([r.id for r in rows])
            )
        )
    }
    found = []
    for row in rows:
        entry = library.drug(row.drug_key)
        carried = done.get(row.id)
        found.append(
            StopOrderRecord(
                id=row.id,
                pump_id=row.pump_id,
                drug_key=row.drug_key,
                drug=entry.name,
                prescriber=users.get(row.prescriber_id, "?"),
                effective_at=row.effective_at,
                reason=row.reason,
                long_stop=row.long_stop,
                withdrawal_warning=withdrawal_warning(
                    drug=entry.name,
                    withdrawal_on_cut=entry.withdrawal_on_cut,
                    withdrawal_signs=entry.withdrawal_signs,
                ),
                carried_out="" if carried is None else carried.done,
                carried_out_by="" if carried is None else users.get(carried.by_id, "?"),
                carried_out_at=None if carried is None else carried.at,
            )
        )
    return found
