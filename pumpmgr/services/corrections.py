"""Corrections of pump events, catheters and a pump's dates: new rows pointing at what they
correct, the originals kept (application layer; catheters are written as :mod:`.devices` does)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, overload

from sqlalchemy import select
from sqlalchemy.orm import Session

from pumpmgr.db import schema as db
from pumpmgr.errors import Code, ImpossibleInput, InputError
from pumpmgr.records import CatheterRecord, EventRecord, PumpRecord
from pumpmgr.services import forecasting, mapping
from pumpmgr.services.context import ClinicContext, _text
from pumpmgr.services.devices import DeviceService
from pumpmgr.services.inputs import (
    CatheterCorrection,
    CatheterInput,
    EventCorrection,
    PumpCorrection,
    RecordCorrection,
    SegmentInput,
)
from pumpmgr.services.permissions import Action
from pumpmgr.services.values import Actor
from pumpmgr.units import Kind, from_canonical


def row_to_correct(session: Session, model: type[Any], record_id: int, what: str) -> Any:
    """The row ``record_id`` of ``model`` when it is the newest version of its record;
    refused, on the field ``what``, when there is none or a correction supersedes it."""
    row = session.get(model, record_id)
    if row is None:
        raise InputError(
            f"{what}: there is no {what} #{record_id} to correct",
            code=Code.NO_VALUE,
            field=what,
        )
    newer = session.scalar(
        select(model.id).where(model.corrects_id == row.id).order_by(model.id).limit(1)
    )
    if newer is not None:
        raise ImpossibleInput(
            f"{what}: #{row.id} was already corrected by #{newer}; correct the newest "
            "version instead",
            code=Code.OUT_OF_RANGE,
            field=what,
        )
    return row


class CorrectionService:
    """Corrections of pump events, catheters and a pump's dates (:meth:`correct_record`)."""

    def __init__(self, ctx: ClinicContext, devices: DeviceService) -> None:
        self.ctx = ctx
        self.devices = devices

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
        self.ctx.permit(actor, Action.CORRECT_RECORD)
        reason = _text(reason, "reason", limit=2000)
        if isinstance(correction, EventCorrection):
            return self.ctx.write(lambda s: self._correct_event(s, actor, correction, reason))
        if isinstance(correction, CatheterCorrection):
            return self.ctx.write(lambda s: self._correct_catheter(s, actor, correction, reason))
        if isinstance(correction, PumpCorrection):
            return self.ctx.write(lambda s: self._correct_pump(s, actor, correction, reason))
        raise InputError(
            "correction: correct_record corrects pump events, catheters and pump dates; a "
            "refill is corrected with its own correction, a prescription by a new version",
            code=Code.OUT_OF_RANGE,
            field="correction",
        )

    def _correct_event(
        self,
        session: Session,
        actor: Actor,
        correction: EventCorrection,
        reason: str,
        pump_date: bool = False,
    ) -> EventRecord:
        """``pump_date``: the correction moves the pump's own implant or explant event with
        the pump's date (:meth:`_correct_pump`, which writes the one audit entry); only then
        may such an event's time change."""
        old: db.PumpEvent = row_to_correct(session, db.PumpEvent, correction.event_id, "pump event")
        kinds = db.PumpEventKind
        free = {kinds.ALARM, kinds.ERI, kinds.NOTE}
        if correction.kind is not None and correction.kind not in {k.value for k in free}:
            raise InputError(
                "kind: an event is corrected to an alarm, an ERI or a note",
                code=Code.OUT_OF_RANGE,
                field="kind",
            )
        kind = old.kind if correction.kind is None else kinds(correction.kind)
        if kind is not old.kind and old.kind not in free:
            raise ImpossibleInput(
                f"kind: a {old.kind.value.replace('_', ' ')} event stays one; only alarm, ERI "
                "and note events change kind",
                code=Code.OUT_OF_RANGE,
                field="kind",
            )
        occurred_at = old.occurred_at
        if correction.occurred_at is not None:
            occurred_at = self.ctx.instant(correction.occurred_at, "time")
            movable = free | {kinds.MRI}
            if pump_date:
                movable = {kinds.IMPLANT, kinds.REPLACEMENT, kinds.EXPLANT}
            if occurred_at != old.occurred_at and old.kind not in movable:
                raise ImpossibleInput(
                    f"time: the date of a {old.kind.value.replace('_', ' ')} is the pump's or "
                    "the catheter's own record and is not corrected with the event; correct "
                    "its note",
                    code=Code.OUT_OF_RANGE,
                    field="time",
                )
        checked = old.post_mri_check_done
        if correction.post_mri_check_done is not None:
            if kind is not kinds.MRI:
                raise ImpossibleInput(
                    "post-MRI check: is recorded for MRI events only",
                    code=Code.OUT_OF_RANGE,
                    field="post-MRI check",
                )
            checked = correction.post_mri_check_done
        note = (
            old.note
            if correction.note is None
            else _text(correction.note, "note", required=kind in free, limit=2000)
        )
        before = {
            "kind": old.kind.value,
            "occurred_at": old.occurred_at,
            "note": old.note,
            "post_mri_check_done": old.post_mri_check_done,
        }
        after = {
            "kind": kind.value,
            "occurred_at": occurred_at,
            "note": note,
            "post_mri_check_done": checked,
        }
        changes = {
            name: {"before": before[name], "after": after[name]}
            for name in before
            if before[name] != after[name]
        }
        if not changes:
            raise InputError(
                "correction: changes nothing; give the corrected value",
                code=Code.NO_VALUE,
                field="correction",
            )
        row = db.PumpEvent(
            pump_id=old.pump_id,
            kind=kind,
            occurred_at=occurred_at,
            note=note,
            post_mri_check_done=checked,
            corrects_id=old.id,
            correction_reason=reason,
            recorded_at=self.ctx.now(),
            recorded_by_id=actor.id,
        )
        session.add(row)
        session.flush()
        if not pump_date:
            self.ctx.audit(
                session,
                actor,
                "event.correct",
                "pump_event",
                row.id,
                {"corrects": old.id, "pump_id": old.pump_id, **changes},
                reason,
            )
        pump = session.get_one(db.Pump, old.pump_id)
        return mapping.event_record(row, pump.patient_id, actor.full_name)

    def _correct_pump(
        self, session: Session, actor: Actor, correction: PumpCorrection, reason: str
    ) -> PumpRecord:
        pump = session.get(db.Pump, correction.pump_id)
        if pump is None:
            raise InputError(
                f"pump: there is no pump #{correction.pump_id} to correct",
                code=Code.NO_VALUE,
                field="pump",
            )
        if correction.explanted_on is not None and pump.explant_date is None:
            raise ImpossibleInput(
                "explant date: the pump is not explanted, so it has no explant date to correct",
                code=Code.OUT_OF_RANGE,
                field="explant date",
            )
        implanted = correction.implanted_on or pump.implant_date
        explanted = correction.explanted_on or pump.explant_date
        today = self.ctx.today()
        for name, day in (("implant date", implanted), ("explant date", explanted)):
            if day is not None and day > today:
                raise ImpossibleInput(
                    f"{name}: {day:%Y-%m-%d} is in the future", code=Code.TIME_ORDER, field=name
                )
        if explanted is not None and explanted < implanted:
            # name the date the user gave; the explant when both were given
            field = "explant date" if correction.explanted_on is not None else "implant date"
            raise ImpossibleInput(
                f"{field}: the explant ({explanted:%Y-%m-%d}) would be before the implant "
                f"({implanted:%Y-%m-%d})",
                code=Code.TIME_ORDER,
                field=field,
            )
        if implanted != pump.implant_date:
            # a refill or prescription before the implant would make the history impossible
            refills = forecasting.current_refills(session, pump.id)
            prescriptions = self.ctx.prescriptions(session, pump.id)
            firsts = [("refill", refills[0].performed_at)] if refills else []
            firsts += [("prescription", prescriptions[0].effective_at)] if prescriptions else []
            for what, at in sorted(firsts, key=lambda first: first[1]):
                day = at.astimezone(self.ctx.tz).date()
                if implanted > day:
                    raise ImpossibleInput(
                        f"implant date: is after the pump's first {what} ({day:%Y-%m-%d})",
                        code=Code.TIME_ORDER,
                        field="implant date",
                    )
        changes: dict[str, Any] = {
            name: {"before": before, "after": after}
            for name, before, after in (
                ("implanted_on", pump.implant_date, implanted),
                ("explanted_on", pump.explant_date, explanted),
            )
            if before != after
        }
        if not changes:
            raise InputError(
                "correction: changes nothing; give the corrected date",
                code=Code.NO_VALUE,
                field="correction",
            )
        corrected: list[int] = []
        correcting: list[int] = []
        kinds = db.PumpEventKind
        for name, event_kinds in (
            ("implanted_on", {kinds.IMPLANT, kinds.REPLACEMENT}),
            ("explanted_on", {kinds.EXPLANT}),
        ):
            if name not in changes:
                continue
            event = self._pump_date_event(session, pump.id, event_kinds)
            if event is None:  # records imported without the event: the pump row alone
                continue
            local = event.occurred_at.astimezone(self.ctx.tz)
            if local.date() == changes[name]["after"]:  # the timeline already has it right
                continue
            at = datetime.combine(changes[name]["after"], local.time(), self.ctx.tz)
            # the original time of day may still be to come today; the event is not future
            at = min(at, self.ctx.now())
            row = self._correct_event(
                session, actor, EventCorrection(event.id, occurred_at=at), reason, pump_date=True
            )
            corrected.append(event.id)
            correcting.append(row.id)
        pump.implant_date = implanted
        pump.explant_date = explanted
        session.flush()
        self.ctx.audit(
            session,
            actor,
            "pump.correct",
            "pump",
            pump.id,
            {**changes, "corrects_events": corrected, "correcting_events": correcting},
            reason,
        )
        return mapping.pump_record(pump, self.ctx.catalogs)

    @staticmethod
    def _pump_date_event(
        session: Session,
        pump_id: int,
        kinds: set[db.PumpEventKind],
    ) -> db.PumpEvent | None:
        """The newest version of the pump's implant (or replacement) or explant event."""
        corrected = select(db.PumpEvent.corrects_id).where(db.PumpEvent.corrects_id.is_not(None))
        return session.scalars(
            select(db.PumpEvent)
            .where(
                db.PumpEvent.pump_id == pump_id,
                db.PumpEvent.kind.in_(kinds),
                db.PumpEvent.id.not_in(corrected),
            )
            .order_by(db.PumpEvent.occurred_at, db.PumpEvent.id)
        ).first()

    def _correct_catheter(
        self, session: Session, actor: Actor, correction: CatheterCorrection, reason: str
    ) -> CatheterRecord:
        old: db.Catheter = row_to_correct(session, db.Catheter, correction.catheter_id, "catheter")
        if old.pump_id is None:
            raise ImpossibleInput(
                "catheter: is not recorded with a pump, so it cannot be corrected here",
                code=Code.OUT_OF_RANGE,
                field="catheter",
            )
        pump = session.get_one(db.Pump, old.pump_id)

        def segments_of(catheter: db.Catheter) -> list[db.CatheterSegment]:
            return list(
                session.scalars(
                    select(db.CatheterSegment)
                    .where(db.CatheterSegment.catheter_id == catheter.id)
                    .order_by(db.CatheterSegment.position)
                )
            )

        old_segments = segments_of(old)
        data = correction.catheter or CatheterInput(
            old.model_key,
            tuple(
                SegmentInput(
                    from_canonical(s.implanted_length_cm, Kind.LENGTH),
                    from_canonical(s.trimmed_length_cm, Kind.LENGTH),
                    from_canonical(s.volume_ml_per_cm, Kind.VOLUME_PER_LENGTH),
                )
                for s in old_segments
            ),
            old.tip_level,
        )
        implanted = correction.implanted_on or old.implant_date
        revised = old.revision_date if correction.revised_on is None else correction.revised_on
        today = self.ctx.today()
        if implanted > today or (revised is not None and revised > today):
            raise ImpossibleInput(
                "date: is in the future",
                code=Code.TIME_ORDER,
                field="implant date" if implanted > today else "revision date",
            )
        if revised is not None and revised < implanted:
            raise ImpossibleInput(
                "revision date: is before the implant date",
                code=Code.TIME_ORDER,
                field="revision date",
            )
        row = self.devices.add_catheter(session, actor, pump, data, implanted, revised, old, reason)
        new_segments = segments_of(row)
        before, after = (
            {
                "model": c.model_key,
                "tip_level": c.tip_level,
                "implanted_on": c.implant_date,
                "revised_on": c.revision_date,
                "segments_cm_cm_ml_per_cm": [
                    [s.implanted_length_cm, s.trimmed_length_cm, s.volume_ml_per_cm]
                    for s in segments
                ],
            }
            for c, segments in ((old, old_segments), (row, new_segments))
        )
        changes = {
            name: {"before": before[name], "after": after[name]}
            for name in before
            if before[name] != after[name]
        }
        if not changes:  # rolled back with the unit of work
            raise InputError(
                "correction: changes nothing; give the corrected value",
                code=Code.NO_VALUE,
                field="correction",
            )
        self.ctx.audit(
            session,
            actor,
            "catheter.correct",
            "catheter",
            row.id,
            {"corrects": old.id, "pump_id": pump.id, **changes},
            reason,
        )
        return mapping.catheter_record(row, new_segments, actor.full_name)
