"""Prescription versions (application layer): the dose checks and forecast a form shows before
saving, the second user's check, and saving a new version, verified and audited. A refill saves
its new program through :meth:`PrescriptionService.save_prescription`; the pump's forecast is
refreshed through :mod:`.forecasts`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pumpmgr.catalogs import DrugLibrary
from pumpmgr.db import schema as db
from pumpmgr.dose_checks import DoseCheck
from pumpmgr.errors import Code, ImpossibleInput, InputError
from pumpmgr.formatting import format_quantity
from pumpmgr.orders import NOT_A_FACT_CODES
from pumpmgr.records import Ingredient, PrescriptionRecord, StoredForecast
from pumpmgr.schedule import Schedule
from pumpmgr.services import bookings, dose_orders, forecasting, mapping, staleness
from pumpmgr.services.context import ClinicContext, _text, actor_of
from pumpmgr.services.forecasts import ForecastService
from pumpmgr.services.inputs import PrescriptionInput, Verification
from pumpmgr.services.orders import OrderService
from pumpmgr.services.permissions import Action
from pumpmgr.services.values import Actor, PrescriptionOutcome
from pumpmgr.units import MCG_PER_ML, Q_, Kind, exceeds, to_canonical


class PrescriptionService:
    """Prescription versions: checks, previews and changes."""

    def __init__(
        self, ctx: ClinicContext, forecasts: ForecastService, orders: OrderService
    ) -> None:
        self.ctx = ctx
        self.forecasts = forecasts
        self.orders = orders

    def check_prescription(
        self,
        pump_id: int,
        data: PrescriptionInput,
        session: Session | None = None,
    ) -> DoseCheck:
        """The dose checks a prescription would get, without saving it (for live forms)."""
        if session is None:
            with self.ctx.database.read() as read:
                return self.check_prescription(pump_id, data, read)
        return dose_orders.prescription_check(self.ctx, session, pump_id, data).check

    def first_prescriptions(self, pump_id: int, data: PrescriptionInput) -> tuple[str, ...]:
        """The drugs of ``data`` (library keys, in its order) that the pump's patient has no
        record of at its effective time: each is a first dose, checked as a start, unless the
        entry gives the dose it continues from before the record (``data.continues``). A form
        asks that question for these drugs."""
        with self.ctx.database.read() as session:
            return dose_orders.first_prescriptions(self.ctx, session, pump_id, data)

    def tenfold_question(
        self,
        pump_id: int,
        data: PrescriptionInput,
    ) -> dose_orders.TenfoldQuestion | None:
        """What the prescriber types again, blind, to save ``data`` when a finding stops it
        as a possible tenfold error (domain-rules §6); None when none does."""
        with self.ctx.database.read() as session:
            found = dose_orders.prescription_check(self.ctx, session, pump_id, data)
            return dose_orders.tenfold_question(found, self.ctx.library(session))

    def preview_forecast(self, pump_id: int, data: PrescriptionInput) -> StoredForecast | None:
        """The forecast the pump would get if ``data`` were saved as its next prescription
        (for live forms: the same calculation a saved change runs; nothing is written). None
        before the pump's first fill."""
        with self.ctx.database.read() as session:
            pump = session.get_one(db.Pump, pump_id)
            refills = forecasting.current_refills(session, pump.id)
            if not refills:
                return None
            library = self.ctx.library(session)
            program = self._program_of(data)
            drugs = [library.drug(i.drug) for i in data.ingredients]
            proposed = PrescriptionRecord(
                id=0,
                pump_id=pump.id,
                ingredients=tuple(
                    Ingredient(d.key, i.concentration, d.display_unit)
                    for d, i in zip(drugs, data.ingredients, strict=True)
                ),
                schedule=program.schedule,
                patient_bolus=program.patient_bolus,
                effective_at=self.ctx.instant_any(data.effective_at),
                prescriber=data.prescriber,
            )
            row = forecasting.compute(
                pump=pump,
                fill=forecasting.fill_point(refills, forecasting.refill_drugs(session, refills)),
                prescriptions=[*self.ctx.prescriptions(session, pump.id), proposed],
                settings=self.ctx.settings(session),
                library=library,
                accuracy_percent=pump.accuracy_percent,
                tz=self.ctx.tz,
                now=self.ctx.now(),
            )
            return mapping.stored_forecast(row)

    def verify_second_user(self, actor: Actor, verification: Verification) -> Actor:
        """The second user of an independent check, when their name and password are right and
        they may verify (the form tells them at once; the saving action checks again). Writes
        nothing, unless the check upgraded the verifier's password hash: then that is the
        call's one audit entry, ``user.password_rehash``."""

        def work(session: Session) -> Actor:
            verifier = actor_of(self.ctx.verify_second(session, actor, verification))
            if self.ctx.carries(session):
                self.ctx.audit(session, verifier, "user.password_rehash", "user", verifier.id)
            return verifier

        return self.ctx.write(work)

    @staticmethod
    def _program_of(data: PrescriptionInput) -> Any:
        return dose_orders.program_of(data)

    def save_prescription(
        self,
        session: Session,
        actor: Actor,
        pump: db.Pump,
        data: PrescriptionInput,
        check: DoseCheck,
    ) -> db.Prescription:
        """Save ``data`` as the pump's next version, as an order of the prescriber's account
        (:meth:`OrderService.entry`). A change already programmed (``data.already_programmed``)
        is a fact: recorded as it is, with an incident where a finding would have stopped it
        (domain-rules §4a). An order is refused when blocked or when a warning lacks its
        reason. A possible tenfold error is saved only by a prescriber who re-entered the dose
        blind and gave a listed reason (:func:`dose_orders.settle_stop`), unless it is a fact."""
        if check.needs_prescriber and not check.blocked and not data.already_programmed:
            found = dose_orders.prescription_check(self.ctx, session, pump.id, data)
            data, check = dose_orders.settle_stop(self.ctx, session, actor, pump.id, data, found)
        entry = self.orders.entry(session, actor, data, check)
        if not entry.fact:
            self._refuse_unsaveable(data, check)
        impossible = [f.message for f in check.findings if str(f.code) in NOT_A_FACT_CODES]
        if impossible:
            raise ImpossibleInput(
                f"dose check: cannot be saved: {'; '.join(impossible)}",
                code=Code.OUT_OF_RANGE,
                field="dose",
            )
        revision = (
            session.scalar(
                select(func.max(db.Prescription.revision)).where(db.Prescription.pump_id == pump.id)
            )
            or 0
        ) + 1
        bolus = data.patient_bolus
        row = db.Prescription(
            pump_id=pump.id,
            revision=revision,
            effective_at=self.ctx.instant(data.effective_at, "effective time"),
            prescriber_name=entry.prescriber.full_name,
            prescriber_id=entry.prescriber.id,
            order_given_as=entry.given_as,
            order_given_at=entry.given_at,
            read_back_confirmed=entry.read_back_confirmed,
            high_risk=entry.high_risk,
            held_for_signature=entry.held,
            ptm_bolus_dose_mcg=None if bolus is None else to_canonical(bolus.dose, Kind.MASS),
            ptm_max_per_day=None if bolus is None else max(bolus.max_per_day, 1),
            ptm_lockout_days=None
            if bolus is None
            else (0.0 if bolus.lockout is None else to_canonical(bolus.lockout, Kind.DURATION)),
            note=_text(data.note, "note", required=False, limit=2000),
            recorded_at=self.ctx.now(),
            recorded_by_id=actor.id,
        )
        self._add_version(session, row, data, check)
        self.orders.after_save(session, actor, pump, row, entry, check)
        return row

    @staticmethod
    def _refuse_unsaveable(data: PrescriptionInput, check: DoseCheck) -> None:
        if check.verdict == "blocked":
            blocked = "; ".join(f.message for f in check.findings if f.level == "blocked")
            raise ImpossibleInput(
                f"dose check: cannot be saved: {blocked}", code=Code.OUT_OF_RANGE, field="dose"
            )
        missing = [
            f.code
            for f in check.findings
            if f.level == "warning" and not data.reasons.get(str(f.code), "").strip()
        ]
        if missing:
            raise InputError(
                "reason: each warning needs a reason before saving: "
                + ", ".join(str(c) for c in missing),
                code=Code.NO_VALUE,
                field="reason",
            )

    def _add_version(
        self, session: Session, row: db.Prescription, data: PrescriptionInput, check: DoseCheck
    ) -> None:
        bolus = data.patient_bolus
        if bolus is not None and bolus.max_per_day == 0:
            row.ptm_bolus_dose_mcg = row.ptm_max_per_day = row.ptm_lockout_days = None
        session.add(row)
        session.flush()
        library = self.ctx.library(session)
        continued = dose_orders.continued_doses(data, library)
        for position, ingredient in enumerate(data.ingredients):
            key = library.drug(ingredient.drug).key
            session.add(
                db.PrescriptionIngredient(
                    prescription_id=row.id,
                    position=position,
                    drug_key=key,
                    concentration_mcg_per_ml=to_canonical(
                        ingredient.concentration, Kind.CONCENTRATION
                    ),
                    continued_mcg_per_day=None
                    if key not in continued
                    else to_canonical(continued[key], Kind.DOSE_RATE),
                )
            )
        for step in data.schedule.steps:
            session.add(
                db.ScheduleStep(
                    prescription_id=row.id,
                    start_time=step.start,
                    rate_mcg_per_day=to_canonical(step.rate, Kind.DOSE_RATE),
                )
            )
        for scheduled in data.schedule.boluses:
            session.add(
                db.ScheduledBolus(
                    prescription_id=row.id,
                    at_time=scheduled.at,
                    amount_mcg=to_canonical(scheduled.amount, Kind.MASS),
                )
            )
        for position, finding in enumerate(check.findings):
            session.add(
                db.PrescriptionFinding(
                    prescription_id=row.id,
                    position=position,
                    code=str(finding.code),
                    level=str(finding.level),
                    message=finding.message,
                    override_reason=data.reasons.get(str(finding.code)) or None,
                )
            )
        session.flush()

    def change_prescription(
        self,
        actor: Actor,
        verification: Verification,
        pump_id: int,
        data: PrescriptionInput,
    ) -> PrescriptionOutcome:
        """A new prescription version, checked against the drug library and verified by a
        second user. Blocked findings cannot be saved; every warning needs a reason."""
        self.ctx.permit(actor, Action.CHANGE_PRESCRIPTION)

        def work(session: Session) -> PrescriptionOutcome:
            pump = self.ctx.active_pump(session, pump_id)
            staleness.refuse_if_stale(self.ctx, session, pump.id, data.seen, "prescription")
            verifier = self.ctx.verify_second(session, actor, verification)
            check = self.check_prescription(pump_id, data, session)
            self._refuse_solution_change(session, pump, data)
            history = self.ctx.prescriptions(session, pump.id)
            row = self.save_prescription(session, actor, pump, data, check)
            self.ctx.audit(
                session,
                actor,
                "prescription.change",
                "prescription",
                row.id,
                {
                    "pump_id": pump.id,
                    "revision": row.revision,
                    "verified_by": verifier.username,
                    **self._dose_change(session, history[-1] if history else None, data),
                    "verdict": check.verdict,
                    "warnings": {
                        str(f.code): data.reasons.get(str(f.code), "")
                        for f in check.findings
                        if f.level == "warning"
                    },
                    "order": self.orders.audit_payload(session, row),
                    "already_programmed": data.already_programmed,
                    **continues_payload(self.ctx.library(session), data),
                },
            )
            forecast = self.forecasts.refresh_forecast(session, pump)
            # the version saved, whether the pump runs it yet or it waits for the signature
            record = next(p for p in self.ctx.prescriptions_all(session, pump.id) if p.id == row.id)
            return PrescriptionOutcome(
                record, check, forecast, bookings.late_notice(self.ctx, session, pump.id)
            )

        return self.ctx.write(work)

    def _dose_change(
        self, session: Session, before: PrescriptionRecord | None, data: PrescriptionInput
    ) -> dict[str, object]:
        return dose_change(
            self.ctx.library(session),
            None if before is None else (before.primary.drug, before.schedule),
            (data.ingredients[0].drug, data.schedule),
            data.prescriber,
        )

    def _refuse_solution_change(
        self,
        session: Session,
        pump: db.Pump,
        data: PrescriptionInput,
    ) -> None:
        """Once the pump holds a solution, its drugs and concentrations change only with a
        refill, where the bridge bolus is shown (domain-rules §5): a prescription change that
        gives another concentration is a slip, for example 500 mcg/mL typed where 2000 was
        dispensed, which would make the pump deliver four times the dose."""
        history = self.ctx.prescriptions(session, pump.id)
        if not history or not forecasting.current_refills(session, pump.id):
            return
        library = self.ctx.library(session)
        held = {
            library.drug(i.drug).key: to_canonical(i.concentration, Kind.CONCENTRATION)
            for i in history[-1].ingredients
        }
        given = {
            library.drug(i.drug).key: to_canonical(i.concentration, Kind.CONCENTRATION)
            for i in data.ingredients
        }
        if held.keys() != given.keys() or any(
            exceeds(held[k], given[k]) or exceeds(given[k], held[k]) for k in held
        ):
            shown = ", ".join(
                f"{key} "
                + format_quantity(
                    Q_(value, MCG_PER_ML), Kind.CONCENTRATION, library.drug(key).display_unit
                )
                for key, value in held.items()
            )
            raise ImpossibleInput(
                f"concentration: the pump holds {shown}; a new drug or concentration is "
                "recorded with the refill that puts it in the pump, where its bridge bolus is "
                "shown",
                code=Code.CONCENTRATION_NEEDS_REFILL,
                field="concentration",
            )


def continues_payload(library: DrugLibrary, data: PrescriptionInput) -> dict[str, object]:
    """The audit entry's record of the doses a first prescription continues from before the
    record (domain-rules §6), each in its drug's display unit; nothing when none does."""
    continued = dose_orders.continued_doses(data, library)
    if not continued:
        return {}
    return {
        "continues": {
            key: format_quantity(dose, Kind.DOSE_RATE, library.drug(key).display_unit)
            for key, dose in continued.items()
        }
    }


def dose_change(
    library: DrugLibrary,
    before: tuple[str, Schedule] | None,
    after: tuple[str, Schedule],
    prescriber: str,
) -> dict[str, object]:
    """What the audit entry of a prescription change says a reader first wants: the drug, the
    daily dose before and after (first drug, schedule), each in its drug's display unit, and
    the prescriber (also written so by the benchmark's bulk writer)."""
    drug = library.drug(after[0])
    old = (
        None
        if before is None
        else format_quantity(
            before[1].daily_dose(), Kind.DOSE_RATE, library.drug(before[0]).display_unit
        )
    )
    return {
        "drug": drug.name,
        "prescriber": prescriber,
        "daily_dose": {
            "before": old,
            "after": format_quantity(after[1].daily_dose(), Kind.DOSE_RATE, drug.display_unit),
        },
    }
