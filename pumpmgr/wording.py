"""The words of a prescription, one wording for the screens, the sheets and the command line:
the solution, the patient's bolus, the schedule and the bridge at a concentration change; and
what a refill's correction changed.

Pure layer: the standard library, pint through :mod:`pumpmgr.formatting` and
:mod:`pumpmgr.units`, and the catalogs for the drugs' display names. No Qt, no reportlab: the
window, the printed sheets and the notes call these instead of writing a second text for the
same fact.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Protocol

from pumpmgr import catalogs
from pumpmgr.deadspace import Bridge
from pumpmgr.errors import CatalogError
from pumpmgr.forecast import RefillState
from pumpmgr.formatting import (
    MassUnit,
    format_date,
    format_datetime,
    format_duration,
    format_quantity,
)
from pumpmgr.records import FindingRecord, Ingredient, RefillRecord
from pumpmgr.schedule import PatientBolus, Schedule
from pumpmgr.units import MCG, MCG_PER_DAY, MINUTE, Q_, Kind, Quantity

if TYPE_CHECKING:  # the plan's type only: the command line's calculators stay quick to import
    from pumpmgr.visit import ConcentrationChange, VisitPlan


#: The two volumes the expected residual takes off besides the program (domain-rules §4), as
#: the refill's residual step and the worksheet label them.
BRIDGE_OR_PRIMING_DRAWN = "Drawn by a bridge or priming bolus"
PATIENT_BOLUSES_DRAWN = "Drawn by patient boluses"


class DrugNames(Protocol):
    """Where a drug's display name is looked up: the catalogs or the clinic's drug library."""

    def drug(self, name: str) -> catalogs.Drug: ...


def drug_name(key: str, catalog: DrugNames) -> str:
    """The library's display name of a drug, or the key itself when the library lacks it."""
    try:
        return catalog.drug(key).name
    except CatalogError:
        return key


def ingredient_text(ingredient: Ingredient, catalog: DrugNames) -> str:
    """``Baclofen 2000 mcg/mL``."""
    strength = format_quantity(
        ingredient.concentration, Kind.CONCENTRATION, ingredient.display_unit
    )
    return f"{drug_name(ingredient.drug, catalog)} {strength}"


def solution_text(ingredients: Sequence[Ingredient], catalog: DrugNames) -> str:
    """``Baclofen 2000 mcg/mL`` or ``Morphine 10 mg/mL + Clonidine 100 mcg/mL``."""
    if not ingredients:
        return "not recorded"
    return " + ".join(ingredient_text(i, catalog) for i in ingredients)


def finding_text(finding: FindingRecord) -> str:
    """``warning: above the usual maximum (reason: as ordered on the ward round)``."""
    text = f"{finding.level}: {finding.message.rstrip('.')}"
    return f"{text} (reason: {finding.reason})" if finding.reason else text


def findings_texts(findings: Sequence[FindingRecord]) -> tuple[str, ...]:
    """The dose-check findings saved with a prescription, each with the reason it was
    accepted for; "ok" findings are left out."""
    return tuple(finding_text(f) for f in findings if f.level != "ok")


def dilution_text(undiluted: bool | None) -> str:
    """The solution as the refill recorded it: undiluted (as supplied) or diluted; empty where
    not recorded (a solution with no ziconotide, or a refill made before it was recorded)."""
    if undiluted is None:
        return ""
    return "undiluted (as supplied)" if undiluted else "diluted"


#: The answer that a drug the patient has no record of is not a first dose (domain-rules §6):
#: the form's choice, the record and the audit say it so.
CONTINUES_ANSWER = "continues a dose from before this record"
#: The other answer: the drug's first prescription here is the patient's first dose.
FIRST_DOSE_ANSWER = "a first dose of the drug (checked as a start)"


def start_held_text(starts: Iterable[str], catalog: DrugNames) -> str:
    """Why a change waits for the prescriber's signature although no finding stops it: it
    starts or restarts the drugs ``starts`` (keys), and every start is signed before it is
    programmed (domain-rules §7). ``Morphine is a start (a first dose or a restart): the
    prescriber signs it before the pump is programmed``; empty for no start."""
    names = [drug_name(key, catalog) for key in sorted(starts)]
    if not names:
        return ""
    verb = "is" if len(names) == 1 else "are each"
    return (
        f"{' and '.join(names)} {verb} a start (a first dose or a restart): the prescriber "
        "signs it before the pump is programmed"
    )


def first_on_record_question(drug: str) -> str:
    """What the form asks of a drug the patient has no record of."""
    return f"{drug} is not on this patient's record yet: is this the patient's first dose?"


def continues_text(drug: str, dose: Quantity, unit: MassUnit) -> str:
    """``Baclofen: continues a dose from before this record, 400 mcg/day``."""
    return f"{drug}: {CONTINUES_ANSWER}, {format_quantity(dose, Kind.DOSE_RATE, unit)}"


def bolus_text(bolus: PatientBolus | None, unit: MassUnit) -> str:
    """The patient-activated bolus: dose, most a day, lockout; or that there is none."""
    if bolus is None:
        return "none"
    text = (
        f"{format_quantity(bolus.dose, Kind.MASS, unit)} a bolus, at most {bolus.max_per_day} a day"
    )
    if bolus.lockout is not None:
        text += f", lockout {format_duration(bolus.lockout)}"
    return text


def schedule_lines(schedule: Schedule, unit: MassUnit) -> list[str]:
    """The schedule as the pump programmer shows it: one line for a simple dose; for a flex
    schedule each step with its rate and what it delivers, then each scheduled bolus."""
    if schedule.is_simple:
        daily = format_quantity(schedule.daily_dose(), Kind.DOSE_RATE, unit)
        return [f"Simple continuous, {daily}"]
    lines = []
    for start, length, rate in schedule.step_minutes():
        end = (start + length) % (24 * 60)
        delivered = Q_(rate * length / (24 * 60), MCG)
        lines.append(
            f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}  "
            f"{format_quantity(Q_(rate, MCG_PER_DAY), Kind.DOSE_RATE, unit)} "
            f"({format_quantity(delivered, Kind.MASS, unit)} in "
            f"{format_duration(Q_(length, MINUTE))})"
        )
    lines += [
        f"Bolus at {b.at:%H:%M}: {format_quantity(b.amount, Kind.MASS, unit)}"
        for b in schedule.boluses
    ]
    return lines


# ------------------------------------------------------------------ the bridge (domain-rules §5)


def bridge_text(bridge: Bridge, unit: MassUnit) -> str:
    """The bridge bolus and the dose without it, as the refill screen, the worksheet, the
    bridge calculator and ``pumpmgr calc bridge`` all say it (doses in ``unit``)."""
    unbridged = format_quantity(bridge.unbridged_dose, Kind.DOSE_RATE, unit)
    return (
        f"Bridge: run the old rate of {format_quantity(bridge.bridge_rate, Kind.FLOW)} for "
        f"{format_duration(bridge.bridge_duration)} (dead space "
        f"{format_quantity(bridge.dead_space, Kind.VOLUME)}: pump fluid path and catheter), "
        f"then the new rate of {format_quantity(bridge.new_rate, Kind.FLOW)}. Without a "
        f"bridge the patient gets {unbridged} for "
        f"{format_duration(bridge.unbridged_duration)} instead of "
        f"{format_quantity(bridge.dose, Kind.DOSE_RATE, unit)}."
    )


@dataclass(frozen=True)
class BridgeWording:
    """A concentration change at a refill in words: what changes, then what to do about it."""

    changes: tuple[str, ...]  #: each drug's concentration now and in the new solution
    how: tuple[str, ...]  #: the bridge, or why there is none, and the doses meanwhile

    def lines(self) -> list[str]:
        return [*self.changes, *self.how]


def change_text(change: ConcentrationChange, names: DrugNames) -> str:
    """``Baclofen: 2,000 mcg/mL in the pump now, 1,000 mcg/mL in the new solution.``"""
    old, new = (
        ("none" if q is None else format_quantity(q, Kind.CONCENTRATION, change.display_unit))
        for q in (change.old, change.new)
    )
    return f"{drug_name(change.drug, names)}: {old} in the pump now, {new} in the new solution."


def bridge_wording(plan: VisitPlan, names: DrugNames) -> BridgeWording:
    """What the nurse reads at a concentration change (domain-rules §5): the bridge when the
    dead space is known and the old rate can run, else why not; always the dose meanwhile."""
    changes = tuple(change_text(c, names) for c in plan.changes)
    missing = " and ".join(plan.dead_space_missing) or "the dead space"
    how: list[str] = []
    if plan.bridge_status in ("computed", "dead_space_unknown"):
        bridged = ""  # the drug whose dose the bridge sentence already gives
        if plan.bridge_status == "computed" and plan.bridge is not None:
            primary = plan.ingredients[0]
            bridged = primary.drug
            how.append(bridge_text(plan.bridge, primary.display_unit))
        else:
            how.append(
                f"The dead space is not known ({missing} not recorded), so the bridge "
                "cannot be worked out here. Do not change the concentration without a "
                "bridge worked out with the pump programmer and the responsible "
                "clinician, and enter the missing volume in the pump's or catheter's "
                "record."
            )
        how += [
            f"Without a bridge the patient gets "
            f"{format_quantity(c.flushing_dose, Kind.DOSE_RATE, c.display_unit)} of "
            f"{drug_name(c.drug, names)} instead of "
            f"{format_quantity(c.new_dose, Kind.DOSE_RATE, c.display_unit)} until the old "
            "solution has left the pump and catheter."
            for c in plan.changes
            if c.drug != bridged and c.flushing_dose is not None and c.new_dose is not None
        ]
        return BridgeWording(changes, tuple(how))
    why = (
        "a constant-flow pump runs one fixed flow"
        if plan.constant_flow
        else "there is no old rate of the dosed drug to run (it is new, or only a "
        "secondary drug changes)"
    )
    flush = (
        f"for {format_duration(plan.flush_duration)} (dead space "
        f"{format_quantity(plan.dead_space, Kind.VOLUME)}: pump fluid path and catheter)"
        if plan.flush_duration is not None and plan.dead_space is not None
        else f"for a time not known ({missing} not recorded)"
    )
    how.append(
        f"No bridge can be run: {why}. The old solution flushes at the new rate {flush}: "
        "watch the patient meanwhile."
    )
    for c in plan.changes:
        if c.flushing_dose is not None:
            after = (
                "then stops"
                if c.new_dose is None
                else f"then {format_quantity(c.new_dose, Kind.DOSE_RATE, c.display_unit)}"
            )
            how.append(
                f"Meanwhile {drug_name(c.drug, names)} is delivered at "
                f"{format_quantity(c.flushing_dose, Kind.DOSE_RATE, c.display_unit)}, "
                f"{after}."
            )
    return BridgeWording(changes, tuple(how))


def refill_state_text(state: RefillState) -> str:
    """A state before a refill and what to do, as the due list's patient page, the visit and
    the worksheet all say it (domain-rules §3)."""
    return f"{state.words.upper()}: {state.advice}."


def run_dry_text(dry_at: datetime) -> str:
    """Since when the pump may have run dry, the worst case (a wall-clock time)."""
    return f"The pump may have run dry from {format_datetime(dry_at)} (worst case)."


def before_refill_notice(state: RefillState | None, dry_at: datetime | None) -> str:
    """What the visit of a pump in a state before its refill says first: the state, what to
    ask, and since when it may have run dry; "" when in none."""
    if state is None:
        return ""
    return refill_state_text(state) + ("" if dry_at is None else " " + run_dry_text(dry_at))


def _volume(quantity: Quantity | None) -> str:
    return "not recorded" if quantity is None else format_quantity(quantity, Kind.VOLUME)


def refill_changes(old: RefillRecord, new: RefillRecord) -> tuple[str, ...]:
    """What a correction of a refill changed, ``name before → after`` for each field shown
    that differs (the verdict too, judged again by the service); empty when none does."""
    fields = (
        ("aspirated", _volume(old.aspirated), _volume(new.aspirated)),
        ("volume added", _volume(old.volume_added), _volume(new.volume_added)),
        ("lot", old.lot_number, new.lot_number),
        ("expiry", format_date(old.expiry), format_date(new.expiry)),
        ("note", old.discrepancy_note or "none", new.discrepancy_note or "none"),
        (
            "solution",
            dilution_text(old.undiluted) or "dilution not recorded",
            dilution_text(new.undiluted) or "dilution not recorded",
        ),
        ("verdict", old.discrepancy_verdict or "none", new.discrepancy_verdict or "none"),
    )
    return tuple(f"{name} {before} → {after}" for name, before, after in fields if before != after)


def refill_corrected_text(old: RefillRecord, new: RefillRecord, tz: tzinfo) -> str:
    """What the window's status bar and ``pumpmgr correct-refill`` say after a correction:
    the refill by its local time, then each change."""
    changes = "; ".join(refill_changes(old, new)) or "nothing visible changed"
    return f"Refill of {format_datetime(old.performed_at.astimezone(tz))} corrected: {changes}."
