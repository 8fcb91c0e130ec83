"""The dose checks of a prescription and the prescriber-only stop (domain-rules §6; application
layer, used by :class:`pumpmgr.services.prescriptions.PrescriptionService`).

- :func:`prescription_check` gathers what a check needs from the record: the current doses and
  schedule, the patient (origin, pain, child, opioid status), which drugs start or restart (the
  patient's first dose of a drug, unless the entry gives the dose it continues from before the
  record; a declared start; a drug absent from the patient's record for longer than its
  restart window), which drugs the pump has never held (the ziconotide-naive pump), and the
  pump model (its lowest and highest flow, flex steps, labelling), then runs
  :func:`pumpmgr.dose_checks.check_admixture`.
- :func:`settle_stop` is the only way a ``stop`` finding (a possible tenfold error) is saved:
  the actor is a signed-in prescriber (checked against the stored account), the new dose was
  typed again blind and agrees with the first entry as shown, and a reason from the list was
  picked for the change's direction. A return to a dose held within the restart window is then
  checked against that dose; a restart is checked as a start.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from pumpmgr.catalogs import DrugLibrary, OpioidStatus
from pumpmgr.db import schema as db
from pumpmgr.dose_checks import (
    DoseCheck,
    FindingCode,
    StartContext,
    Verdict,
    change_context,
    check_admixture,
    merge_findings,
    patient_context,
)
from pumpmgr.dosing import admixture_doses
from pumpmgr.errors import Code, ImpossibleInput, InputError, PumpMgrError
from pumpmgr.formatting import MassUnit, format_quantity
from pumpmgr.records import PrescriptionRecord
from pumpmgr.schedule import Program
from pumpmgr.services import mapping, maxima
from pumpmgr.services.inputs import PrescriptionInput, TenfoldConfirmation, TenfoldReason
from pumpmgr.services.permissions import PermissionDenied
from pumpmgr.units import ML_PER_DAY, Q_, Kind, Quantity, exceeds, require_positive, to_canonical
from pumpmgr.wording import CONTINUES_ANSWER

if TYPE_CHECKING:
    from pumpmgr.services.context import ClinicContext
    from pumpmgr.services.values import Actor

#: The reasons a prescriber may give, by the direction of the change (domain-rules §6).
DECREASE_REASONS = (
    TenfoldReason.OVERDOSE_OR_ADVERSE_EFFECT,
    TenfoldReason.PROCEDURE_OR_MINIMUM_RATE,
    TenfoldReason.OTHER,
)
INCREASE_REASONS = (TenfoldReason.RETURN_TO_HELD_DOSE, TenfoldReason.RESTART, TenfoldReason.OTHER)
REASON_TEXT = {
    TenfoldReason.OVERDOSE_OR_ADVERSE_EFFECT: "overdose or adverse effect",
    TenfoldReason.PROCEDURE_OR_MINIMUM_RATE: "a procedure or the minimum rate",
    TenfoldReason.RETURN_TO_HELD_DOSE: "a return to a dose held within the restart window",
    TenfoldReason.RESTART: "a restart",
    TenfoldReason.OTHER: "other",
}


def program_of(data: PrescriptionInput) -> Program:
    """The pump program a prescription asks for; refuses one without a drug or with a
    concentration that is not a positive concentration."""
    if not data.ingredients:
        raise InputError(
            "ingredients: a prescription needs at least one drug",
            code=Code.NO_VALUE,
            field="ingredients",
        )
    for ingredient in data.ingredients:
        require_positive(ingredient.concentration, Kind.CONCENTRATION, "concentration")
    return Program(data.ingredients[0].concentration, data.schedule, data.patient_bolus)


@dataclass(frozen=True)
class PrescriptionCheck:
    """A prescription's dose check with what it compared: each drug's new daily dose (``D``,
    or ``D_max`` with patient boluses) and current dose, by drug key."""

    check: DoseCheck
    doses: Mapping[str, Quantity]
    current: Mapping[str, Quantity]


@dataclass(frozen=True)
class _Held:
    """A drug's dose in one prescription version, and when that version was in force."""

    dose: Quantity
    start: datetime
    end: datetime | None  #: None while in force


def _doses(version: PrescriptionRecord, library: DrugLibrary) -> dict[str, Quantity]:
    return admixture_doses(
        version.program.max_daily_volume(),
        [(library.drug(i.drug).key, i.concentration) for i in version.ingredients],
    )


def _history_of_patient(
    ctx: ClinicContext, session: Session, patient_id: int, library: DrugLibrary
) -> dict[str, list[_Held]]:
    """Every drug's doses on the patient's record, across their pumps, oldest first. A version
    ends when the pump's next version takes effect, or at the pump's explant."""
    held: dict[str, list[_Held]] = {}
    for pump in session.scalars(select(db.Pump).where(db.Pump.patient_id == patient_id)):
        versions = ctx.prescriptions(session, pump.id)
        explant = (
            None
            if pump.explant_date is None
            else mapping.utc(datetime.combine(pump.explant_date, datetime.min.time(), ctx.tz))
        )
        for index, version in enumerate(versions):
            end = versions[index + 1].effective_at if index + 1 < len(versions) else explant
            for key, dose in _doses(version, library).items():
                held.setdefault(key, []).append(_Held(dose, version.effective_at, end))
    for spans in held.values():
        spans.sort(key=lambda h: h.start)
    return held


def not_on_record(held: Mapping[str, list[_Held]], keys: Sequence[str], at: datetime) -> set[str]:
    """The drugs of ``keys`` the patient has no dose of on record at or before ``at``: a
    prescription of one is their first dose unless it continues one from before the record."""
    return {k for k in keys if not any(h.start <= at for h in held.get(k, []))}


def continued_doses(data: PrescriptionInput, library: DrugLibrary) -> dict[str, Quantity]:
    """``data.continues`` by drug key: each a positive daily dose of one of its drugs."""
    found: dict[str, Quantity] = {}
    keys = {library.drug(i.drug).key for i in data.ingredients}
    for name, dose in data.continues.items():
        try:
            key = library.drug(name).key
        except PumpMgrError:
            key = ""
        if key not in keys:
            raise InputError(
                f"continues: '{name}' is not a drug of this prescription",
                code=Code.UNKNOWN_DRUG,
                field="continues",
            )
        require_positive(dose, Kind.DOSE_RATE, "continues")
        found[key] = dose
    return found


def _refuse_continues(
    continued: Mapping[str, Quantity],
    declared: set[str],
    unrecorded: set[str],
    library: DrugLibrary,
) -> None:
    """A dose from before the record is an answer for a drug with no record here, and never
    beside a declared start of the same drug (two answers that contradict)."""
    for key in continued:
        name = library.drug(key).name
        if key in declared:
            raise InputError(
                f"continues: {name} is given both as a first dose and as {CONTINUES_ANSWER}; "
                "choose one",
                code=Code.OUT_OF_RANGE,
                field="continues",
            )
        if key not in unrecorded:
            raise InputError(
                f"continues: {name} is on this patient's record already; the dose it continues "
                "is asked only with a drug's first prescription here",
                code=Code.OUT_OF_RANGE,
                field="continues",
            )


def _restarts(
    held: Mapping[str, list[_Held]], keys: Sequence[str], library: DrugLibrary, at: datetime
) -> set[str]:
    """The drugs the patient held on record but not for longer than their restart window."""
    found = set()
    for key in keys:
        spans = [h for h in held.get(key, []) if h.start <= at]
        if not spans or any(h.end is None or h.end > at for h in spans):
            continue  # never on record (a first dose: not_on_record), or held now
        window = library.drug(key).restart_window_hours
        last_end = max(h.end for h in spans if h.end is not None)
        if window is not None and (at - last_end) > timedelta(hours=window):
            found.add(key)
    return found


def prescription_check(
    ctx: ClinicContext,
    session: Session,
    pump_id: int,
    data: PrescriptionInput,
    *,
    starts: frozenset[str] = frozenset(),
    current_override: Mapping[str, Quantity] | None = None,
) -> PrescriptionCheck:
    """The dose checks ``data`` gets on this pump (nothing is written). A drug the patient has
    no record of is checked as a start, unless ``data.continues`` gives the dose it continues
    from before the record, which is then its current dose; a declared start or a restart is
    checked as a start. ``starts`` adds drugs to check as starts (over their ``continues``);
    ``current_override`` replaces the current dose of some drugs (a return to a dose held
    within the restart window is checked against that dose). Refuses a ``continues`` for a
    drug on record or declared a start."""
    pump = session.get_one(db.Pump, pump_id)
    patient = session.get_one(db.Patient, pump.patient_id)
    library = ctx.library(session)
    history = ctx.prescriptions(session, pump_id)
    program = program_of(data)
    drugs = [library.drug(i.drug) for i in data.ingredients]
    _check_constant_flow(pump, program, drugs[0].display_unit)
    doses = admixture_doses(
        program.max_daily_volume(),
        [(d.key, i.concentration) for d, i in zip(drugs, data.ingredients, strict=True)],
    )
    effective_at = ctx.instant_any(data.effective_at)
    change = change_context(history, effective_at, library)
    person = patient_context(patient.indication.value, patient.date_of_birth, ctx.today())
    keys = [d.key for d in drugs]
    held = _history_of_patient(ctx, session, patient.id, library)
    declared = {library.drug(name).key for name in data.starts}
    continued = continued_doses(data, library)
    unrecorded = not_on_record(held, keys, effective_at)
    _refuse_continues(continued, declared, unrecorded, library)
    continued = {k: v for k, v in continued.items() if k not in starts}
    first = unrecorded - continued.keys()
    starting = (
        declared | set(starts) | first | _restarts(held, keys, library, effective_at)
    ) & set(keys)
    current = {**change.previous_doses, **continued}
    for key in keys:  # a new pump continues the drug of the patient's previous pump
        if key not in current and key not in starting:
            ongoing = [
                h
                for h in held.get(key, [])
                if h.start <= effective_at
                and (h.end is None or h.end >= effective_at - _window(library, key))
            ]
            if ongoing:
                current[key] = ongoing[-1].dose
    current.update(current_override or {})
    status = None if patient.opioid_status is None else OpioidStatus(patient.opioid_status.value)
    context = StartContext(status, data.screening_bolus, data.screening_effect_hours)
    model = ctx.pump_model(session, pump.model_key)
    pump_held = {key for version in history for key in _doses(version, library)}
    previous_schedule = None
    if history and library.drug(history[-1].primary.drug).key == keys[0]:
        previous_schedule = history[-1].schedule
    check = check_admixture(
        [(d, doses[d.key], i.concentration) for d, i in zip(drugs, data.ingredients, strict=True)],
        previous_doses=current,
        hours_since_change=change.hours_since_change,
        increases_past_7_days=change.increases_past_7_days,
        origin=person.origin,
        pain=person.pain,
        child=person.child,
        starts={key: context for key in starting},
        pump=model,
        naive_pump_drugs=frozenset(set(keys) - pump_held),
        schedule=data.schedule,
        previous_schedule=previous_schedule,
        patient_bolus=data.patient_bolus,
        individual_maxima=maxima.in_force(ctx, session, patient.id),
    )
    return PrescriptionCheck(check, doses, current)


def first_prescriptions(
    ctx: ClinicContext, session: Session, pump_id: int, data: PrescriptionInput
) -> tuple[str, ...]:
    """The drugs of ``data`` (keys, in its order) the pump's patient has no record of at its
    effective time (:func:`not_on_record`)."""
    library = ctx.library(session)
    patient_id = session.get_one(db.Pump, pump_id).patient_id
    keys = [library.drug(i.drug).key for i in data.ingredients]
    held = _history_of_patient(ctx, session, patient_id, library)
    unrecorded = not_on_record(held, keys, ctx.instant_any(data.effective_at))
    return tuple(k for k in keys if k in unrecorded)


def _check_constant_flow(pump: db.Pump, program: Program, unit: MassUnit) -> None:
    """A constant-flow pump's dose is set by the concentration alone (domain-rules §5)."""
    if pump.nominal_flow_ml_per_day is None:
        return
    flow = pump.nominal_flow_ml_per_day
    daily = float(program.daily_volume().to(ML_PER_DAY).m)
    if abs(daily - flow) > 1e-6 * flow or program.patient_bolus is not None:
        needed = program.daily_dose() / Q_(flow, ML_PER_DAY)
        raise ImpossibleInput(
            f"concentration: this constant-flow pump delivers "
            f"{format_quantity(Q_(flow, ML_PER_DAY), Kind.FLOW)}, so the dose needs "
            f"{format_quantity(needed, Kind.CONCENTRATION, unit)} (the program asks "
            f"{format_quantity(Q_(daily, ML_PER_DAY), Kind.FLOW)})",
            code=Code.OUT_OF_RANGE,
            field="concentration",
        )


def _window(library: DrugLibrary, key: str) -> timedelta:
    hours = library.drug(key).restart_window_hours
    return timedelta(hours=24 if hours is None else hours)


@dataclass(frozen=True)
class TenfoldDrug:
    """One drug of a change flagged as a possible tenfold error, as the re-entry asks it."""

    key: str
    name: str  #: "Baclofen"
    unit: MassUnit  #: the drug's display unit: the dose is typed again in it
    current: Quantity  #: the dose the pump runs now (shown; the new one is not)


@dataclass(frozen=True)
class TenfoldQuestion:
    """What the prescriber's blind re-entry asks (domain-rules §6): each flagged drug, and
    the reasons listed for the change's direction, with their words."""

    drugs: tuple[TenfoldDrug, ...]
    increase: bool
    reasons: tuple[tuple[TenfoldReason, str], ...]


def tenfold_question(found: PrescriptionCheck, library: DrugLibrary) -> TenfoldQuestion | None:
    """The re-entry a change needs before it is saved, None when no finding stops it."""
    keys = _stopped_keys(found.check)
    if not keys:
        return None
    increase = _increase(found, keys)
    return TenfoldQuestion(
        drugs=tuple(
            TenfoldDrug(
                key, library.drug(key).name, library.drug(key).display_unit, found.current[key]
            )
            for key in keys
        ),
        increase=increase,
        reasons=tuple(
            (r, REASON_TEXT[r]) for r in (INCREASE_REASONS if increase else DECREASE_REASONS)
        ),
    )


def _increase(found: PrescriptionCheck, keys: Sequence[str]) -> bool:
    return any(
        exceeds(
            to_canonical(found.doses[k], Kind.DOSE_RATE),
            to_canonical(found.current[k], Kind.DOSE_RATE),
        )
        for k in keys
    )


def _stopped_keys(check: DoseCheck) -> list[str]:
    return [f.field.split(".", 1)[0] for f in check.findings if f.level is Verdict.STOP]


def settle_stop(
    ctx: ClinicContext,
    session: Session,
    actor: Actor,
    pump_id: int,
    data: PrescriptionInput,
    found: PrescriptionCheck,
) -> tuple[PrescriptionInput, DoseCheck]:
    """The input and the check to save a change flagged as a possible tenfold error with, once
    a signed-in prescriber re-entered the dose blind and gave a listed reason; the reason is
    recorded on the stop finding. Refuses otherwise, naming the field; nothing is written."""
    user = session.get_one(db.User, actor.id)
    if user.role is not db.Role.PRESCRIBER or not user.active:
        raise PermissionDenied(
            "dose: a possible tenfold error can be saved only by a prescriber signed in with "
            "their own account, who types the new dose again and gives a reason",
            code=Code.AUTH_NOT_PERMITTED,
            field="dose",
        )
    confirmation = data.tenfold
    if confirmation is None:
        raise InputError(
            "dose re-entry: type the new daily dose again (without looking at the first "
            "entry) and choose a reason, to save a possible tenfold error",
            code=Code.NO_VALUE,
            field="dose re-entry",
        )
    library = ctx.library(session)
    keys = _stopped_keys(found.check)
    typed = _reentered(confirmation, library)
    for key in keys:
        unit = library.drug(key).display_unit
        again = typed.get(key)
        if again is None or format_quantity(again, Kind.DOSE_RATE, unit) != format_quantity(
            found.doses[key], Kind.DOSE_RATE, unit
        ):
            raise InputError(
                f"dose re-entry: the {library.drug(key).name.lower()} dose typed again does "
                "not match the first entry: check the order, then enter the dose and the "
                "re-entry again",
                code=Code.OUT_OF_RANGE,
                field="dose re-entry",
            )
    increase = _increase(found, keys)
    allowed = INCREASE_REASONS if increase else DECREASE_REASONS
    reason = confirmation.reason
    if reason not in allowed:
        raise InputError(
            f"reason: for {'an increase' if increase else 'a decrease'} choose one of "
            + ", ".join(REASON_TEXT[r] for r in allowed),
            code=Code.OUT_OF_RANGE,
            field="reason",
        )
    text = confirmation.other_text.strip()
    if reason is TenfoldReason.OTHER and not text:
        raise InputError(
            "reason: say why in the text, with 'other'", code=Code.NO_VALUE, field="reason"
        )
    check = found.check
    if reason is TenfoldReason.RESTART:
        check = prescription_check(ctx, session, pump_id, data, starts=frozenset(keys)).check
    elif reason is TenfoldReason.RETURN_TO_HELD_DOSE:
        held = _held_within_window(
            ctx, session, pump_id, keys, library, ctx.instant_any(data.effective_at)
        )
        for key in keys:
            most = held.get(key)
            if most is None or exceeds(
                to_canonical(found.doses[key], Kind.DOSE_RATE), to_canonical(most, Kind.DOSE_RATE)
            ):
                unit = library.drug(key).display_unit
                shown = (
                    "no dose"
                    if most is None
                    else f"at most {format_quantity(most, Kind.DOSE_RATE, unit)}"
                )
                raise InputError(
                    f"reason: within the {library.drug(key).name.lower()} restart window the "
                    f"patient held {shown}; this is not a return to a held dose",
                    code=Code.OUT_OF_RANGE,
                    field="reason",
                )
        check = prescription_check(
            ctx, session, pump_id, data, current_override={k: held[k] for k in keys}
        ).check
    # The stop the prescriber settled stays on the record with its reason, whatever the
    # re-check against the held dose or as a start found.
    stops = [f for f in found.check.findings if f.level is Verdict.STOP]
    check = merge_findings(
        [*check.findings, *(f for f in stops if f not in check.findings)],
        check.starts | found.check.starts,
    )
    if check.verdict is Verdict.BLOCKED:
        blocked = "; ".join(f.message for f in check.findings if f.level is Verdict.BLOCKED)
        raise ImpossibleInput(
            f"dose check: cannot be saved: {blocked}", code=Code.OUT_OF_RANGE, field="dose"
        )
    recorded = f"{REASON_TEXT[reason]}" + (f": {text}" if text else "")
    recorded += f"; dose re-entered blind by {user.username}"
    ctx.carry(  # in the change's audit entry
        session,
        "tenfold_confirmed",
        {
            "pump_id": pump_id,
            "reason": str(reason),
            "text": text,
            "doses": {
                k: format_quantity(found.doses[k], Kind.DOSE_RATE, library.drug(k).display_unit)
                for k in keys
            },
            "current": {
                k: format_quantity(found.current[k], Kind.DOSE_RATE, library.drug(k).display_unit)
                for k in keys
            },
        },
    )
    reasons = {**data.reasons, str(FindingCode.POSSIBLE_TENFOLD_ERROR): recorded}
    return replace(data, reasons=reasons), check


def _reentered(confirmation: TenfoldConfirmation, library: DrugLibrary) -> dict[str, Quantity]:
    typed: dict[str, Quantity] = {}
    for name, value in confirmation.reentered.items():
        try:
            key = library.drug(name).key
        except PumpMgrError:
            raise InputError(
                f"dose re-entry: '{name}' is not a drug of the library",
                code=Code.UNKNOWN_DRUG,
                field="dose re-entry",
            ) from None
        typed[key] = value
    return typed


def _held_within_window(
    ctx: ClinicContext,
    session: Session,
    pump_id: int,
    keys: Sequence[str],
    library: DrugLibrary,
    at: datetime,
) -> dict[str, Quantity]:
    """The highest dose of each drug the patient held within its restart window before
    ``at``."""
    patient_id = session.get_one(db.Pump, pump_id).patient_id
    held = _history_of_patient(ctx, session, patient_id, library)
    most: dict[str, Quantity] = {}
    for key in keys:
        since = at - _window(library, key)
        for span in held.get(key, []):
            within = span.start <= at and (span.end is None or span.end >= since)
            if within and (
                key not in most
                or exceeds(
                    to_canonical(span.dose, Kind.DOSE_RATE), to_canonical(most[key], Kind.DOSE_RATE)
                )
            ):
                most[key] = span.dose
    return most
