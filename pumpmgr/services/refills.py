"""Refill visits and their corrections: the residual check, the programmer's figures and the
bridge (application layer; a new program is saved through :mod:`.prescriptions`, the forecast
refreshed through :mod:`.forecasts`).

Over 600 lines: a refill and its correction share the residual, restart, programmer and bridge
checks below, each a method of its own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from pumpmgr.catalogs import PumpType
from pumpmgr.db import schema as db
from pumpmgr.deadspace import Bridge, bridge
from pumpmgr.dose_checks import DoseCheck
from pumpmgr.errors import Code, ImpossibleInput, InputError
from pumpmgr.forecast import check_solution_date
from pumpmgr.orders import PRESCRIBER_CODES, IncidentKind
from pumpmgr.patient_boluses import expected_with_boluses
from pumpmgr.records import PrescriptionRecord, ProgrammerFigures, RefillRecord
from pumpmgr.refill import (
    Discrepancy,
    ProgrammerComparison,
    ProgramPeriod,
    compare_programmer,
    discrepancy,
    plan_refill,
)
from pumpmgr.restart import Restart, restart_at_visit
from pumpmgr.services import bookings, dose_orders, forecasting, mapping, staleness
from pumpmgr.services.context import ClinicContext, _text
from pumpmgr.services.corrections import row_to_correct
from pumpmgr.services.forecasts import ForecastService
from pumpmgr.services.inputs import (
    IngredientInput,
    PrescriptionInput,
    RefillInput,
    Verification,
)
from pumpmgr.services.permissions import Action
from pumpmgr.services.prescriptions import PrescriptionService, continues_payload
from pumpmgr.services.values import Actor, RefillOutcome
from pumpmgr.stability import refuse_undiluted
from pumpmgr.units import MCG_PER_ML, ML, Q_, Kind, Quantity, require_not_negative, to_canonical
from pumpmgr.wording import start_held_text


class RefillService:
    """Refill visits, their corrections and the expected residual."""

    def __init__(
        self, ctx: ClinicContext, prescriptions: PrescriptionService, forecasts: ForecastService
    ) -> None:
        self.ctx = ctx
        self.prescriptions = prescriptions
        self.forecasts = forecasts

    def expected_now(self, pump_id: int, at: datetime | None = None) -> Quantity | None:
        """The expected residual of a pump at ``at`` (default now), or None before a fill."""
        return self.expected_at(pump_id, [at or self.ctx.now()])[0]

    def expected_at(self, pump_id: int, moments: Sequence[datetime]) -> list[Quantity | None]:
        """:meth:`expected_now` at each of ``moments``, in one unit of work (the pump, its
        last fill and its prescriptions read once)."""
        with self.ctx.database.read() as session:
            pump = session.get_one(db.Pump, pump_id)
            return [self._expected_at(session, pump, mapping.utc(at)) for at in moments]

    def _expected_at(
        self,
        session: Session,
        pump: db.Pump,
        at: datetime,
        *,
        unfloored: bool = False,
        patient_boluses: int | None = None,
    ) -> Quantity | None:
        # the last current refill: from the refills this unit of work read already, else
        # read alone (a pump may have hundreds)
        loaded = forecasting.session_cache(session, "refills").get(pump.id)
        if loaded is None:
            fill = forecasting.last_fills(session, [pump.id], ()).get(pump.id)
        else:
            fill = (
                None
                if not loaded
                else forecasting.FillPoint(
                    loaded[-1].performed_at,
                    loaded[-1].final_reservoir_ml,
                    loaded[-1].bolus_volume_ml or 0.0,
                    frozenset(),  # the expected residual does not read the stability limit
                )
            )
        if fill is None:
            return None
        prescriptions = self.ctx.prescriptions(session, pump.id)
        in_force = [p for p in prescriptions if p.effective_at <= fill.performed_at]
        if not in_force:
            return None
        running = [
            in_force[-1],
            *[p for p in prescriptions if fill.performed_at < p.effective_at <= at],
        ]
        clock = forecasting.PumpClock(fill.performed_at, self.ctx.tz)
        filled_at, until = clock.to_pump(fill.performed_at), clock.to_pump(at)
        periods = [ProgramPeriod(clock.to_pump(p.effective_at), p.program) for p in running]
        result = expected_with_boluses(
            fill_volume=Q_(fill.final_ml, ML),
            filled_at=filled_at,
            at=until,
            periods=periods,
            bridge_or_priming=Q_(fill.bolus_ml, ML),
            count=patient_boluses,
        ).residual
        return result.unfloored_residual if unfloored else result.expected_residual

    def record_refill(
        self,
        actor: Actor,
        verification: Verification,
        pump_id: int,
        data: RefillInput,
    ) -> RefillOutcome:
        """One refill visit: residual check, new fill, optional new program, second check.
        Its checks are made in the order a refusal is said (the visit's confirmations first,
        then the solution's date, the residual, a new program, the discrepancy's note, the
        bridge); nothing is written unless every one passes."""
        self.ctx.permit(actor, Action.RECORD_REFILL)

        def work(session: Session) -> RefillOutcome:
            pump = self.ctx.active_pump(session, pump_id)
            staleness.refuse_if_stale(self.ctx, session, pump.id, data.seen, "refill")
            verifier = self.ctx.verify_second(session, actor, verification)
            performed = self.ctx.instant(data.performed_at, "refill time")
            previous = forecasting.current_refills(session, pump.id)
            _check_visit(data, previous, performed)
            refill_day = performed.astimezone(self.ctx.tz).date()
            # a fill already made is recorded as it is, with an incident (domain-rules §4a);
            # a fill about to be made with an expired solution cannot be planned (§4)
            expired = data.already_filled and data.expiry < refill_day
            if not expired:
                check_solution_date(data.expiry, compounded=data.compounded, refill_day=refill_day)
            plan = plan_refill(
                reservoir_capacity=Q_(pump.reservoir_capacity_ml, ML),
                aspirated=data.aspirated,
                alarm_volume=Q_(pump.low_reservoir_alarm_ml, ML),
                fill_volume=data.volume_added,
            )
            history = self.ctx.prescriptions(session, pump.id)
            old = history[-1] if history else None
            expected, found = self._residual_check(session, pump, previous, performed, data)
            restart, empty_worst = self._restart(
                session, pump, previous, history, found, data, performed
            )
            new_row, check = self._new_program(session, actor, pump, data, restart)
            if new_row is not None:
                history = self.ctx.prescriptions(session, pump.id)
            if found is not None:  # after the program's checks: a tenfold stop is said first
                forecasting.require_verdict_note(found, data.discrepancy_note)
            if not history:
                raise InputError(
                    "prescription: the pump has no prescription; record one with this fill",
                    code=Code.NO_VALUE,
                    field="prescription",
                )
            current = history[-1]
            refuse_undiluted(current.ingredients, self.ctx.library(session), data.undiluted)
            bridged = None
            if old is not None and self._concentration_changed(old, current):
                bridged = self._bridge(session, pump, old, current)
                if not data.bridge_acknowledged:
                    raise InputError(
                        "bridge: the concentration changes; review the bridge bolus "
                        "(or why none is given) and acknowledge it before saving",
                        code=Code.NO_VALUE,
                        field="bridge",
                    )
            if data.bolus_volume is not None:
                require_not_negative(data.bolus_volume, Kind.VOLUME, "bolus volume")
            figures = data.programmer
            bedside = self._bedside(pump, data)
            compared = (
                None
                if figures is None
                else self._programmer_check(
                    session,
                    pump,
                    figures,
                    history,
                    forecasting.FillPoint(
                        performed,
                        float(plan.final_volume.m),
                        0.0
                        if data.bolus_volume is None
                        else to_canonical(data.bolus_volume, Kind.VOLUME),
                        frozenset(),  # the programmer's alarm date does not read stability
                    ),
                )
            )
            row = db.Refill(
                pump_id=pump.id,
                prescription_id=current.id,
                performed_at=performed,
                expected_residual_ml=0.0 if expected is None else max(0.0, float(expected.m)),
                expected_residual_unfloored_ml=None if expected is None else float(expected.m),
                pharmacy_compounded=data.compounded,
                aspirated_ml=float(plan.aspirated.m),
                discrepancy_verdict="first_fill" if found is None else found.verdict,
                discrepancy_note=_text(
                    data.discrepancy_note, "discrepancy note", required=False, limit=4000
                )
                or None,
                volume_added_ml=float(plan.volume_to_add.m),
                final_reservoir_ml=float(plan.final_volume.m),
                lot_number=_text(data.lot_number, "lot number", limit=64),
                expiry_date=data.expiry,
                solution_source=_text(data.source, "source"),
                bridge_bolus_given=data.bridge_bolus_given,
                priming_bolus_given=data.priming_bolus_given,
                bolus_volume_ml=None
                if data.bolus_volume is None
                else to_canonical(data.bolus_volume, Kind.VOLUME),
                pump_confirmed_running=True,
                needle_position_confirmed=True,
                nurse_id=actor.id,
                verifying_nurse_id=verifier.id,
                recorded_at=self.ctx.now(),
                recorded_by_id=actor.id,
                programmer_reservoir_ml=None
                if figures is None
                else to_canonical(figures.reservoir, Kind.VOLUME),
                programmer_alarm_date=None if figures is None else figures.alarm_date,
                programmer_daily_volume_ml_per_day=None
                if figures is None
                else to_canonical(figures.daily_volume, Kind.FLOW),
                programmer_differs=None if compared is None else compared.differs,
                empty_at_worst_case=empty_worst,
                over_infusion_risk=restart is not None and restart.over_infusion_risk,
                undiluted=data.undiluted,
                **bedside,
            )
            session.add(row)
            session.flush()
            entry = {
                "pump_id": pump.id,
                "aspirated_ml": row.aspirated_ml,
                "expected_ml": row.expected_residual_ml,
                "verdict": row.discrepancy_verdict,
                **({} if restart is None else _restart_payload(restart)),
                "volume_added_ml": row.volume_added_ml,
                "lot": row.lot_number,
                **({} if row.undiluted is None else {"undiluted": row.undiluted}),
                "verified_by": verifier.username,
                "prescription_id": current.id,
                "new_prescription": new_row is not None,
                **(
                    {}
                    if new_row is None
                    else {
                        "order": self.prescriptions.orders.audit_payload(session, new_row),
                        **(
                            {}
                            if restart is not None or data.new_prescription is None
                            else continues_payload(self.ctx.library(session), data.new_prescription)
                        ),
                    }
                ),
                "warnings": {}
                if check is None or data.new_prescription is None
                else {
                    str(f.code): data.new_prescription.reasons.get(str(f.code), "")
                    for f in check.findings
                    if f.level == "warning"
                },
                **_programmer_payload(row, compared),
                **_bedside_payload(bedside),
            }
            if expired:
                self.prescriptions.orders.record_incident(
                    session,
                    actor,
                    pump,
                    IncidentKind.FILLED_EXPIRED_SOLUTION,
                    f"expiry {data.expiry:%Y-%m-%d}, filled "
                    f"{performed.astimezone(self.ctx.tz):%Y-%m-%d %H:%M}, lot {row.lot_number}",
                    performed,
                    refill_id=row.id,
                )
            if restart is not None and new_row is None:
                self._resumed_restart(
                    session, actor, pump, current, performed, row.id, restart.reasons
                )
            forecast = self.forecasts.refresh_forecast(session, pump)
            bookings.close_on_refill(self.ctx, session, actor, pump.id)
            # the one entry, after every row the refill wrote (its incident, the booking)
            self.ctx.audit(session, actor, "refill.record", "refill", row.id, entry)
            # Only the new row is mapped (the whole history was mapped on every refill before:
            # quadratic in a pump's refills). It is the newest current refill, so its previous
            # fill is the last current refill before it, as in ClinicContext.refill_records.
            record = mapping.refill_record(
                row,
                previous[-1].final_reservoir_ml if previous else None,
                current.ingredients,
                session.get_one(db.User, actor.id).full_name,
                verifier.full_name,
            )
            return RefillOutcome(
                record, found, bridged, forecast, current if new_row is not None else None
            )

        return self.ctx.write(work)

    def _residual_check(
        self,
        session: Session,
        pump: db.Pump,
        previous: list[db.Refill],
        performed: datetime,
        data: RefillInput,
    ) -> tuple[Quantity | None, Discrepancy | None]:
        """The expected residual (unfloored, less the patient boluses the programmer reports)
        and the discrepancy the aspirated volume makes with it; both None at a first fill."""
        if not previous:
            return None, None
        reading = None if data.bedside is None else data.bedside.interrogation
        expected = self._expected_at(
            session,
            pump,
            performed,
            unfloored=True,
            patient_boluses=None if reading is None else reading.patient_boluses,
        )
        if expected is None:
            return None, None
        found = discrepancy(
            fill_volume=Q_(previous[-1].final_reservoir_ml, ML),
            expected=expected,
            actual=data.aspirated,
            reservoir_capacity=Q_(pump.reservoir_capacity_ml, ML),
            accuracy_percent=pump.accuracy_percent,
            empty_threshold=Q_(self.ctx.settings(session).empty_threshold_ml, ML),
            note=data.discrepancy_note,
        )
        return expected, found

    def _restart(
        self,
        session: Session,
        pump: db.Pump,
        previous: list[db.Refill],
        history: list[PrescriptionRecord],
        found: Discrepancy | None,
        data: RefillInput,
        performed: datetime,
    ) -> tuple[Restart | None, datetime | None]:
        """A restart (domain-rules §3), and the worst-case empty time of the fill before, from
        which its time without drug is counted (kept only for a restart: the forecast is
        computed again only then)."""
        verdict = None if found is None else found.verdict
        restart = restart_at_visit(
            verdict, data.bedside, first_fill=not previous, empty_at_worst_case=None, at=performed
        )
        if restart is None:
            return None, None
        empty_worst = self._empty_at_worst_case(session, pump, previous, history, performed)
        if empty_worst is not None:
            restart = restart_at_visit(
                verdict,
                data.bedside,
                first_fill=not previous,
                empty_at_worst_case=empty_worst,
                at=performed,
            )
        return restart, empty_worst

    def _new_program(
        self,
        session: Session,
        actor: Actor,
        pump: db.Pump,
        data: RefillInput,
        restart: Restart | None,
    ) -> tuple[db.Prescription | None, DoseCheck | None]:
        """The new program recorded with this fill, checked and saved (after a restart each
        of its drugs is checked as a start, domain-rules §6); refused while it waits for the
        prescriber's signature."""
        prescribed = data.new_prescription
        if prescribed is None:
            return None, None
        if restart is not None:  # a restart is a start, whatever dose it follows
            library = self.ctx.library(session)
            prescribed = replace(
                prescribed,
                starts=frozenset(library.drug(i.drug).key for i in prescribed.ingredients),
                continues={},
            )
        check = self.prescriptions.check_prescription(pump.id, prescribed, session)
        row = self.prescriptions.save_prescription(session, actor, pump, prescribed, check)
        if row.held_for_signature:
            raise ImpossibleInput(
                "prescription: the new program needs the prescriber's signature before "
                "it is programmed; the prescriber enters or signs it first, or record "
                "that the pump was programmed all the same",
                code=Code.OUT_OF_RANGE,
                field="prescription",
            )
        return row, check

    def _empty_at_worst_case(
        self,
        session: Session,
        pump: db.Pump,
        previous: list[db.Refill],
        history: list[PrescriptionRecord],
        at: datetime,
    ) -> datetime | None:
        """The worst-case empty instant of the fill before this visit when it is at or before
        ``at`` (None: no fill before, or the worst case not yet empty): the forecast the due
        list holds, computed afresh from the record."""
        fill = forecasting.fill_point(previous, forecasting.refill_drugs(session, previous))
        if fill is None or not history:
            return None
        before = forecasting.compute(
            pump=pump,
            fill=fill,
            prescriptions=history,
            settings=self.ctx.settings(session),
            library=self.ctx.library(session),
            accuracy_percent=pump.accuracy_percent,
            tz=self.ctx.tz,
            now=at,
        )
        empty = before.empty_at_worst_case
        return None if empty is None or mapping.utc(empty) > at else mapping.utc(empty)

    def _resumed_restart(
        self,
        session: Session,
        actor: Actor,
        pump: db.Pump,
        current: PrescriptionRecord,
        performed: datetime,
        refill_id: int,
        reasons: tuple[str, ...],
    ) -> None:
        """A restart that resumed the program in force: it is checked as a start, and a start
        always needs the prescriber (domain-rules §7), so the fill (already made) gets an
        incident for the prescriber's review, with the findings that would have stopped an
        order (domain-rules §3, §4a, §6)."""
        library = self.ctx.library(session)
        resumed = PrescriptionInput(
            ingredients=tuple(
                IngredientInput(i.drug, i.concentration) for i in current.ingredients
            ),
            schedule=current.schedule,
            effective_at=performed,
            prescriber=current.prescriber,
            patient_bolus=current.patient_bolus,
            starts=frozenset(library.drug(i.drug).key for i in current.ingredients),
        )
        check = dose_orders.prescription_check(self.ctx, session, pump.id, resumed).check
        findings = [
            f.message
            for f in check.findings
            if str(f.code) in PRESCRIBER_CODES or f.level == "blocked"
        ]
        self.prescriptions.orders.record_incident(
            session,
            actor,
            pump,
            IncidentKind.RESUMED_WITHOUT_RESTART_ORDER,
            f"a restart ({', '.join(reasons)}) on the program in force: "
            + "; ".join([start_held_text(check.starts, library), *findings]),
            performed,
            refill_id=refill_id,
        )

    def _programmer_check(
        self,
        session: Session,
        pump: db.Pump,
        figures: ProgrammerFigures,
        prescriptions: list[PrescriptionRecord],
        fill: forecasting.FillPoint,
    ) -> ProgrammerComparison:
        """The programmer's figures against pumpmgr's for this fill: the final volume, the
        program's daily volume, and the alarm date of the forecast the refill is about to get
        (computed here as :meth:`ForecastService.refresh_forecast` will store it; the clinic's
        calendar date).
        A constant-flow pump has no programmer, so figures for one are refused."""
        if self.ctx.model_type(pump.model_key) == str(PumpType.CONSTANT_FLOW):
            raise ImpossibleInput(
                "programmer: a constant-flow pump has no programmer; leave its figures empty",
                code=Code.OUT_OF_RANGE,
                field="programmer",
            )
        forecast = forecasting.compute(
            pump=pump,
            fill=fill,
            prescriptions=prescriptions,
            settings=self.ctx.settings(session),
            library=self.ctx.library(session),
            accuracy_percent=pump.accuracy_percent,
            tz=self.ctx.tz,
            now=self.ctx.now(),
        )
        ours = prescriptions[-1].program
        comparison = compare_programmer(
            reservoir=figures.reservoir,
            alarm_date=figures.alarm_date,
            daily_volume=figures.daily_volume,
            our_reservoir=Q_(fill.final_ml, ML),
            our_alarm_date=figures.alarm_date
            if forecast.alarm_at is None
            else forecast.alarm_at.astimezone(self.ctx.tz).date(),
            our_daily_volume=ours.daily_volume(),
        )
        if forecast.alarm_at is None:  # no date of pumpmgr's to hold it against: flag it
            comparison = replace(comparison, alarm_date_differs=True)
        return comparison

    def _bedside(self, pump: db.Pump, data: RefillInput) -> dict[str, object]:
        """The row's columns for what the nurse found; a programmer's reading of a
        constant-flow pump is refused, and the notes are limited like the others."""
        found = data.bedside
        if found is None:
            return {}
        if found.interrogation is not None and (
            self.ctx.model_type(pump.model_key) == str(PumpType.CONSTANT_FLOW)
        ):
            raise ImpossibleInput(
                "interrogation: a constant-flow pump has no programmer; leave its reading empty",
                code=Code.OUT_OF_RANGE,
                field="interrogation",
            )
        reading = found.interrogation
        if reading is not None and to_canonical(reading.reservoir, Kind.VOLUME) > (
            pump.reservoir_capacity_ml
        ):
            raise ImpossibleInput(
                f"interrogated reservoir volume: more than the pump holds "
                f"({pump.reservoir_capacity_ml:g} mL)",
                code=Code.OUT_OF_RANGE,
                field="interrogated reservoir volume",
            )
        columns = mapping.bedside_columns(found)
        for key, field in (("site_note", "site note"), ("symptoms_note", "symptoms note")):
            text = columns[key]
            if isinstance(text, str):
                columns[key] = _text(text, field, required=False, limit=4000)
        return columns

    @staticmethod
    def _concentration_changed(old: PrescriptionRecord, new: PrescriptionRecord) -> bool:
        before = {i.drug: float(i.concentration.to(MCG_PER_ML).m) for i in old.ingredients}
        after = {i.drug: float(i.concentration.to(MCG_PER_ML).m) for i in new.ingredients}
        return before != after

    def _bridge(
        self,
        session: Session,
        pump: db.Pump,
        old: PrescriptionRecord,
        new: PrescriptionRecord,
    ) -> Bridge | None:
        """The bridge for the primary drug, when the dead space is known (else None: the screen
        then says the dead space must be entered, never that no bridge is needed)."""
        catheter = self.ctx.current_catheter(session, pump.id)
        if catheter is None or pump.pump_path_volume_ml is None:
            return None
        segments = session.scalars(
            select(db.CatheterSegment).where(db.CatheterSegment.catheter_id == catheter.id)
        ).all()
        dead_space = pump.pump_path_volume_ml + sum(
            s.implanted_length_cm * s.volume_ml_per_cm for s in segments
        )
        if old.primary.drug != new.primary.drug or dead_space <= 0:
            return None
        return bridge(
            dose=new.program.daily_dose(),
            old_concentration=old.primary.concentration,
            new_concentration=new.primary.concentration,
            dead_space=Q_(dead_space, ML),
        )

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
        """A corrected copy of a refill, pointing at it; the original stays as it was.
        ``undiluted`` (None: as recorded) is checked as at the refill
        (:func:`pumpmgr.stability.undiluted_problem`) and moves the stability limit."""
        self.ctx.permit(actor, Action.CORRECT_REFILL)
        reason = _text(reason, "reason", limit=2000)

        def work(session: Session) -> RefillRecord:
            old: db.Refill = row_to_correct(session, db.Refill, refill_id, "refill")
            verifier = self.ctx.verify_second(session, actor, verification)
            pump = session.get_one(db.Pump, old.pump_id)
            columns = {
                c.key: getattr(old, c.key)
                for c in db.Refill.__table__.columns
                if c.key not in {"id"}
            }
            row = db.Refill(**columns)
            if aspirated is not None:
                row.aspirated_ml = to_canonical(
                    require_not_negative(aspirated, Kind.VOLUME, "aspirated"), Kind.VOLUME
                )
            if volume_added is not None:
                plan = plan_refill(
                    reservoir_capacity=Q_(pump.reservoir_capacity_ml, ML),
                    aspirated=Q_(row.aspirated_ml, ML),
                    alarm_volume=Q_(pump.low_reservoir_alarm_ml, ML),
                    fill_volume=volume_added,
                )
                row.volume_added_ml = row.final_reservoir_ml = float(plan.volume_to_add.m)
            if lot_number is not None:
                row.lot_number = _text(lot_number, "lot number", limit=64)
            if expiry is not None:
                row.expiry_date = expiry
            if discrepancy_note is not None:
                row.discrepancy_note = (
                    _text(discrepancy_note, "discrepancy note", required=False, limit=4000) or None
                )
            if undiluted is not None:
                filled = next(
                    r for r in self.ctx.refill_records(session, pump.id) if r.id == old.id
                )
                refuse_undiluted(filled.ingredients, self.ctx.library(session), undiluted)
                row.undiluted = undiluted
            previous_final = self._previous_final(session, old)
            if row.discrepancy_verdict != "first_fill" and previous_final is not None:
                row.discrepancy_verdict = discrepancy(
                    fill_volume=Q_(previous_final, ML),
                    expected=Q_(forecasting.unfloored_expected(row), ML),
                    actual=Q_(row.aspirated_ml, ML),
                    reservoir_capacity=Q_(pump.reservoir_capacity_ml, ML),
                    accuracy_percent=pump.accuracy_percent,
                    empty_threshold=Q_(self.ctx.settings(session).empty_threshold_ml, ML),
                    note=row.discrepancy_note or "",
                ).verdict
            # a changed verdict may change the restart and so the over-infusion-risk flag
            restarted = restart_at_visit(
                row.discrepancy_verdict,
                mapping.bedside_findings(row),
                first_fill=row.discrepancy_verdict == "first_fill",
                empty_at_worst_case=row.empty_at_worst_case,
                at=row.performed_at,
            )
            row.over_infusion_risk = restarted is not None and restarted.over_infusion_risk
            # The stored programmer verdict was judged against the old final volume: judge the
            # figures again as record_refill does, against the corrected fill.
            figures = mapping.programmer_figures(old)
            compared = (
                None
                if figures is None
                else self._programmer_check(
                    session,
                    pump,
                    figures,
                    self._prescriptions_at(session, old),
                    forecasting.FillPoint(
                        row.performed_at,
                        row.final_reservoir_ml,
                        row.bolus_volume_ml or 0.0,
                        frozenset(),  # the programmer's alarm date does not read stability
                    ),
                )
            )
            if compared is not None:
                row.programmer_differs = compared.differs
            row.corrects_id = old.id
            row.correction_reason = reason
            row.recorded_at = self.ctx.now()
            row.recorded_by_id = actor.id
            row.nurse_id = old.nurse_id
            row.verifying_nurse_id = (
                verifier.id if verifier.id != old.nurse_id else (old.verifying_nurse_id)
            )
            session.add(row)
            session.flush()
            # the new verdict, as refill.record words it, only when it changed
            programmer = (
                {}
                if compared is None or compared.differs == old.programmer_differs
                else {"programmer": {"differs": list(compared.differing)}}
            )
            self.ctx.audit(
                session,
                actor,
                "refill.correct",
                "refill",
                row.id,
                {
                    "corrects": old.id,
                    "verified_by": verifier.username,
                    **programmer,
                    **({} if undiluted is None else {"undiluted": undiluted}),
                },
                reason,
            )
            self.forecasts.refresh_forecast(session, pump)
            return next(r for r in self.ctx.refill_records(session, pump.id) if r.id == row.id)

        return self.ctx.write(work)

    def _prescriptions_at(
        self,
        session: Session,
        refill: db.Refill,
    ) -> list[PrescriptionRecord]:
        """The prescriptions ``record_refill`` judged ``refill`` with: the current versions up
        to the one it used, that one last (later ones were programmed at later visits, after
        the programmer showed its figures)."""
        used = next(
            p
            for p in self.ctx.prescriptions_all(session, refill.pump_id)
            if p.id == refill.prescription_id
        )
        return [
            *[
                p
                for p in self.ctx.prescriptions(session, refill.pump_id)
                if (p.effective_at, p.id) < (used.effective_at, used.id)
            ],
            used,
        ]

    @staticmethod
    def _previous_final(session: Session, refill: db.Refill) -> float | None:
        earlier = [
            r
            for r in forecasting.current_refills(session, refill.pump_id)
            if r.performed_at < refill.performed_at
        ]
        return earlier[-1].final_reservoir_ml if earlier else None


def _restart_payload(restart: Restart) -> dict[str, object]:
    """The refill's audit entry on a restart: its reasons, the hours without drug (None: the
    worst case was not yet empty) and the over-infusion-risk flag."""
    hours = restart.without_drug_hours
    return {
        "restart": list(restart.reasons),
        "without_drug_hours": None if hours is None else round(hours, 2),
        "over_infusion_risk": restart.over_infusion_risk,
    }


def _check_visit(data: RefillInput, previous: list[db.Refill], performed: datetime) -> None:
    """A refill after the last on record, with the needle's position and the running pump
    confirmed."""
    if previous and performed <= previous[-1].performed_at:
        raise ImpossibleInput(
            "refill time: is before the last refill on record",
            code=Code.TIME_ORDER,
            field="refill time",
        )
    if not data.needle_position_confirmed:
        raise InputError(
            "needle position: confirm the needle reached the reservoir's needle stop "
            "before saving (a pocket fill risks overdose)",
            code=Code.NO_VALUE,
            field="needle position",
        )
    if not data.pump_running_confirmed:
        raise InputError(
            "pump running: confirm the pump runs after the refill",
            code=Code.NO_VALUE,
            field="pump running",
        )


def _programmer_payload(row: db.Refill, compared: ProgrammerComparison | None) -> dict[str, object]:
    """The programmer's figures for the audit entry when there are any (a payload without
    them is the one refills had before revision 0003)."""
    if compared is None:
        return {}
    return {
        "programmer": {
            "reservoir_ml": row.programmer_reservoir_ml,
            "alarm_date": row.programmer_alarm_date,
            "daily_volume_ml_per_day": row.programmer_daily_volume_ml_per_day,
            "differs": list(compared.differing),
        }
    }


def _bedside_payload(bedside: dict[str, object]) -> dict[str, object]:
    """What the nurse found at the bedside, for the audit entry (only what was entered)."""
    if not bedside:
        return {}
    return {"bedside": {key: value for key, value in bedside.items() if value is not None}}
