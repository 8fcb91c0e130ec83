"""Pumps, catheters and pump events: implant, replacement, explant, catheter revision, MRI and
the other events (application layer; a new pump gets its forecast through :mod:`.forecasts`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from sqlalchemy import delete
from sqlalchemy.orm import Session

from pumpmgr.catalogs import PumpType
from pumpmgr.db import schema as db
from pumpmgr.errors import Code, ImpossibleInput, InputError
from pumpmgr.records import PumpRecord
from pumpmgr.services import mapping
from pumpmgr.services.context import ClinicContext, _text
from pumpmgr.services.forecasts import ForecastService
from pumpmgr.services.inputs import CatheterInput, PumpInput
from pumpmgr.services.permissions import Action
from pumpmgr.services.values import Actor
from pumpmgr.units import Kind, require_not_negative, require_positive, to_canonical


class DeviceService:
    """A pump's implant, replacement and explant, its catheter and its events."""

    def __init__(self, ctx: ClinicContext, forecasts: ForecastService) -> None:
        self.ctx = ctx
        self.forecasts = forecasts

    def _new_pump(
        self,
        session: Session,
        patient_id: int,
        data: PumpInput,
        catheter: CatheterInput | None,
        actor: Actor,
    ) -> db.Pump:
        model = self.ctx.catalogs.pump_model(data.model_key)
        capacity = (
            data.capacity
            if data.capacity is not None
            else (model.capacity if "capacity" not in model.to_confirm else None)
        )
        if capacity is None:
            raise InputError(
                f"capacity: the catalog's capacity for {model.name} is not sourced; enter the "
                "reservoir capacity from the pump's label, for example '20 mL'",
                code=Code.NO_VALUE,
                field="capacity",
            )
        require_positive(capacity, Kind.VOLUME, "capacity")
        alarm = data.alarm_volume if data.alarm_volume is not None else model.alarm_volume
        if alarm is None:
            raise InputError(
                "alarm volume: enter the low-reservoir alarm volume, for example '2 mL'",
                code=Code.NO_VALUE,
                field="alarm volume",
            )
        require_not_negative(alarm, Kind.VOLUME, "alarm volume")
        if to_canonical(alarm, Kind.VOLUME) >= to_canonical(capacity, Kind.VOLUME):
            raise ImpossibleInput(
                "alarm volume: must be below the reservoir capacity",
                code=Code.OUT_OF_RANGE,
                field="alarm volume",
            )
        nominal = data.nominal_flow
        if model.type is PumpType.CONSTANT_FLOW and nominal is None:
            raise InputError(
                "nominal flow: a constant-flow pump needs its nominal flow from its label, "
                "for example '1 mL/day'",
                code=Code.NO_VALUE,
                field="nominal flow",
            )
        if nominal is not None:
            require_positive(nominal, Kind.FLOW, "nominal flow")
        if data.pump_path_volume is not None:
            require_not_negative(data.pump_path_volume, Kind.VOLUME, "pump path volume")
        accuracy = (
            data.accuracy_percent if data.accuracy_percent is not None else (model.accuracy_percent)
        )
        if accuracy is not None and not 0 <= accuracy < 100:
            raise ImpossibleInput(
                "accuracy: give a percentage from 0 to below 100",
                code=Code.OUT_OF_RANGE,
                field="accuracy",
            )
        if data.implanted_on > self.ctx.today():
            raise ImpossibleInput(
                "implant date: is in the future", code=Code.TIME_ORDER, field="implant date"
            )
        pump = db.Pump(
            patient_id=patient_id,
            model_key=model.key,
            serial_number=_text(data.serial_number, "serial number", limit=64),
            implant_date=data.implanted_on,
            implant_site=_text(data.site, "implant site"),
            reservoir_capacity_ml=to_canonical(capacity, Kind.VOLUME),
            low_reservoir_alarm_ml=to_canonical(alarm, Kind.VOLUME),
            accuracy_percent=accuracy,
            nominal_flow_ml_per_day=None if nominal is None else to_canonical(nominal, Kind.FLOW),
            pump_path_volume_ml=None
            if data.pump_path_volume is None
            else to_canonical(data.pump_path_volume, Kind.VOLUME),
            replace_by_date=data.replace_by,
            status=db.PumpStatus.ACTIVE,
            created_at=self.ctx.now(),
        )
        session.add(pump)
        session.flush()
        if catheter is not None:
            row = self.add_catheter(session, actor, pump, catheter, data.implanted_on, None, None)
            self.ctx.carry(
                session,
                "catheters",
                {
                    "catheter_id": row.id,
                    "pump_id": pump.id,
                    "model": row.model_key,
                    "tip_level": row.tip_level,
                    "segments": len(catheter.segments),
                },
            )
        return pump

    def add_catheter(
        self,
        session: Session,
        actor: Actor,
        pump: db.Pump,
        data: CatheterInput,
        implanted_on: date,
        revised_on: date | None,
        corrects: db.Catheter | None,
        reason: str | None = None,
    ) -> db.Catheter:
        self.ctx.catalogs.catheter_model(data.model_key)
        if not data.segments:
            raise InputError(
                "segments: a catheter needs at least one segment",
                code=Code.NO_VALUE,
                field="segments",
            )
        row = db.Catheter(
            patient_id=pump.patient_id,
            pump_id=pump.id,
            model_key=data.model_key,
            tip_level=_text(data.tip_level, "tip level", limit=16),
            implant_date=implanted_on,
            revision_date=revised_on,
            recorded_at=self.ctx.now(),
            recorded_by_id=actor.id,
            corrects_id=None if corrects is None else corrects.id,
            correction_reason=None if corrects is None else reason,
        )
        session.add(row)
        session.flush()
        for position, segment in enumerate(data.segments):
            require_positive(segment.implanted_length, Kind.LENGTH, "implanted length")
            require_not_negative(segment.trimmed_length, Kind.LENGTH, "trimmed length")
            require_positive(segment.volume_per_length, Kind.VOLUME_PER_LENGTH, "volume per length")
            session.add(
                db.CatheterSegment(
                    catheter_id=row.id,
                    position=position,
                    implanted_length_cm=to_canonical(segment.implanted_length, Kind.LENGTH),
                    trimmed_length_cm=to_canonical(segment.trimmed_length, Kind.LENGTH),
                    volume_ml_per_cm=to_canonical(
                        segment.volume_per_length, Kind.VOLUME_PER_LENGTH
                    ),
                )
            )
        session.flush()
        return row

    def _event(
        self,
        session: Session,
        actor: Actor,
        pump_id: int,
        kind: db.PumpEventKind,
        occurred_at: datetime,
        note: str,
        post_mri_check_done: bool | None = None,
        *,
        carried: bool = False,
    ) -> db.PumpEvent:
        """The pump event, audited as the call's own act (``event.<kind>``), or, ``carried``,
        as a step of a call whose entry lists it under ``events`` (an implant's, an
        explant's)."""
        row = db.PumpEvent(
            pump_id=pump_id,
            kind=kind,
            occurred_at=occurred_at,
            note=note,
            post_mri_check_done=post_mri_check_done,
            recorded_at=self.ctx.now(),
            recorded_by_id=actor.id,
        )
        session.add(row)
        session.flush()
        if carried:
            self.ctx.carry(
                session,
                "events",
                {"pump_event_id": row.id, "kind": kind.value, "pump_id": pump_id, "note": note},
            )
        else:
            self.ctx.audit(
                session,
                actor,
                f"event.{kind.value}",
                "pump_event",
                row.id,
                {"pump_id": pump_id, "note": note},
            )
        return row

    def implant_pump(
        self,
        actor: Actor,
        patient_id: int,
        data: PumpInput,
        catheter: CatheterInput | None,
    ) -> PumpRecord:
        self.ctx.permit(actor, Action.IMPLANT_PUMP)

        def work(session: Session) -> PumpRecord:
            session.get_one(db.Patient, patient_id)
            pump = self._new_pump(session, patient_id, data, catheter, actor)
            at = mapping.utc(datetime.combine(data.implanted_on, datetime.min.time(), self.ctx.tz))
            self._event(
                session,
                actor,
                pump.id,
                db.PumpEventKind.IMPLANT,
                at,
                f"{pump.model_key} serial {pump.serial_number} implanted ({pump.implant_site})",
                carried=True,
            )
            self.ctx.audit(
                session,
                actor,
                "pump.implant",
                "pump",
                pump.id,
                {"patient_id": patient_id, "model": pump.model_key, "serial": pump.serial_number},
            )
            self.forecasts.refresh_forecast(session, pump)
            return mapping.pump_record(pump, self.ctx.catalogs)

        return self.ctx.write(work)

    def replace_pump(
        self,
        actor: Actor,
        old_pump_id: int,
        data: PumpInput,
        reason: str,
        catheter: CatheterInput | None = None,
    ) -> PumpRecord:
        """Close the old pump (explanted, history kept) and open the new one, in one step."""
        self.ctx.permit(actor, Action.REPLACE_PUMP)
        reason = _text(reason, "reason", limit=2000)

        def work(session: Session) -> PumpRecord:
            old = session.get_one(db.Pump, old_pump_id)
            if old.status is not db.PumpStatus.ACTIVE:
                raise ImpossibleInput(
                    "pump: only the active pump can be replaced",
                    code=Code.OUT_OF_RANGE,
                    field="pump",
                )
            old.status = db.PumpStatus.EXPLANTED
            old.explant_date = data.implanted_on
            old.explant_reason = f"replaced: {reason}"
            session.flush()
            new = self._new_pump(session, old.patient_id, data, catheter, actor)
            at = mapping.utc(datetime.combine(data.implanted_on, datetime.min.time(), self.ctx.tz))
            self._event(
                session,
                actor,
                old.id,
                db.PumpEventKind.EXPLANT,
                at,
                f"explanted: replaced by {new.model_key} {new.serial_number}: {reason}",
                carried=True,
            )
            self._event(
                session,
                actor,
                new.id,
                db.PumpEventKind.REPLACEMENT,
                at,
                f"replaces {old.model_key} {old.serial_number}: {reason}",
                carried=True,
            )
            self.ctx.audit(
                session,
                actor,
                "pump.replace",
                "pump",
                new.id,
                {"old_pump_id": old.id, "new_pump_id": new.id},
                reason,
            )
            session.execute(delete(db.PumpForecast).where(db.PumpForecast.pump_id == old.id))
            self.forecasts.refresh_forecast(session, new)
            return mapping.pump_record(new, self.ctx.catalogs)

        return self.ctx.write(work)

    def explant_pump(
        self, actor: Actor, pump_id: int, explanted_on: date, reason: str
    ) -> PumpRecord:
        self.ctx.permit(actor, Action.EXPLANT_PUMP)
        reason = _text(reason, "reason", limit=2000)

        def work(session: Session) -> PumpRecord:
            pump = session.get_one(db.Pump, pump_id)
            if pump.status is db.PumpStatus.EXPLANTED:
                raise ImpossibleInput(
                    "pump: is already explanted", code=Code.OUT_OF_RANGE, field="pump"
                )
            pump.status = db.PumpStatus.EXPLANTED
            pump.explant_date = explanted_on
            pump.explant_reason = reason
            session.flush()
            at = mapping.utc(datetime.combine(explanted_on, datetime.min.time(), self.ctx.tz))
            self._event(session, actor, pump.id, db.PumpEventKind.EXPLANT, at, reason, carried=True)
            session.execute(delete(db.PumpForecast).where(db.PumpForecast.pump_id == pump.id))
            self.ctx.audit(session, actor, "pump.explant", "pump", pump.id, {"reason": reason})
            return mapping.pump_record(pump, self.ctx.catalogs)

        return self.ctx.write(work)

    def revise_catheter(
        self,
        actor: Actor,
        pump_id: int,
        data: CatheterInput,
        revised_on: date,
        note: str,
    ) -> None:
        self.ctx.permit(actor, Action.REVISE_CATHETER)

        def work(session: Session) -> None:
            pump = session.get_one(db.Pump, pump_id)
            previous = self.ctx.current_catheter(session, pump.id)
            implanted = previous.implant_date if previous is not None else revised_on
            row = self.add_catheter(session, actor, pump, data, implanted, revised_on, None)
            at = mapping.utc(datetime.combine(revised_on, datetime.min.time(), self.ctx.tz))
            self._event(
                session,
                actor,
                pump.id,
                db.PumpEventKind.CATHETER_REVISION,
                at,
                _text(note, "note", required=False, limit=2000) or "catheter revised",
                carried=True,
            )
            self.ctx.audit(
                session,
                actor,
                "catheter.revise",
                "catheter",
                row.id,
                {"pump_id": pump.id, "segments": len(data.segments)},
            )

        self.ctx.write(work)

    def record_mri(
        self,
        actor: Actor,
        pump_id: int,
        occurred_at: datetime,
        post_mri_check_done: bool,
        note: str = "",
    ) -> None:
        self.ctx.permit(actor, Action.RECORD_MRI)

        def work(session: Session) -> None:
            session.get_one(db.Pump, pump_id)
            self._event(
                session,
                actor,
                pump_id,
                db.PumpEventKind.MRI,
                self.ctx.instant(occurred_at, "MRI time"),
                _text(note, "note", required=False, limit=2000),
                post_mri_check_done,
            )

        self.ctx.write(work)

    def record_event(
        self,
        actor: Actor,
        pump_id: int,
        kind: Literal["alarm", "eri", "note"],
        occurred_at: datetime,
        note: str,
    ) -> None:
        self.ctx.permit(actor, Action.RECORD_EVENT)

        def work(session: Session) -> None:
            session.get_one(db.Pump, pump_id)
            self._event(
                session,
                actor,
                pump_id,
                db.PumpEventKind(kind),
                self.ctx.instant(occurred_at, "time"),
                _text(note, "note", limit=2000),
            )

        self.ctx.write(work)
