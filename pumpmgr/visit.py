"""The refill visit, planned: the state before a refill and what it will be if all goes to plan.

Pure layer: the standard library and pint, through the other pure pumpmgr modules (records,
schedule, refill, forecast, deadspace, dosing, compounding, catalogs). No reportlab, no
SQLAlchemy, no Qt. The printed worksheet's "before" state and the desktop refill wizard both
show a :class:`VisitPlan`, so the two can never disagree.

All times are the clinic's wall-clock times (naive datetimes): :func:`local_chart` turns the
services' UTC instants into them, for the calculation and for the printed sheets alike. Given the
clinic's zone, :func:`plan_visit` counts elapsed time as the pump does, on its own clock
(:class:`pumpmgr.clock.PumpClock`: real time since the fill, no jump at a daylight-saving
change), exactly as the stored forecast of the due list does; its dates are then shown again as
the clinic's wall-clock times.

A plan never hides what it does not know. When the concentration changes and the dead space is
unknown the plan carries the change, the dose the patient gets without a bridge, and
``bridge_status == "dead_space_unknown"`` (domain-rules section 5: a concentration change never
passes without showing the bridge). Every setting the forecast used is echoed, and every default
taken is listed in :attr:`VisitPlan.notes` (domain-rules section 7).

Over 600 lines on purpose: :func:`plan_visit` and :func:`plan_for_refill` build one
:class:`VisitPlan` from the same chart helpers (residual, changes, dead space, bridge, forecast
inputs), and the plan is read as one record by the wizard and the worksheet.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, tzinfo
from typing import Literal, TypeVar

from pumpmgr import catalogs
from pumpmgr.clock import PumpClock
from pumpmgr.compounding import Compounding, compound
from pumpmgr.deadspace import Bridge, bridge, priming_volume
from pumpmgr.dosing import admixture_doses, dose_for_volume
from pumpmgr.errors import CatalogError, Code, ImpossibleInput
from pumpmgr.forecast import (
    Accuracy,
    Forecast,
    RefillState,
    check_solution_date,
    forecast,
    on_clinic_clock,
    state_from_volumes,
    worst_case_accuracy,
)
from pumpmgr.formatting import MassUnit, format_quantity
from pumpmgr.patient_boluses import NOT_COUNTED as BOLUSES_NOT_COUNTED
from pumpmgr.patient_boluses import BolusesTaken, expected_with_boluses
from pumpmgr.records import (
    ClinicSettings,
    DueRow,
    Ingredient,
    PatientChart,
    PrescriptionRecord,
    PumpRecord,
    RefillRecord,
)
from pumpmgr.refill import (
    ProgramPeriod,
    RefillPlan,
    Residual,
    discrepancy_threshold,
    plan_refill,
    since_fill,
    worst_case_error_percent,
)
from pumpmgr.schedule import Program, Schedule, constant_flow_program
from pumpmgr.since_fill import SinceFill
from pumpmgr.stability import (
    first_fills,
    recorded_undiluted,
    refuse_undiluted,
    solution_limit,
)
from pumpmgr.units import (
    DAY,
    HOUR,
    MCG_PER_ML,
    ML,
    Q_,
    Kind,
    Quantity,
    exceeds,
    require,
    require_positive,
)

CONSTANT_FLOW = "constant_flow"

BridgeStatus = Literal[
    "not_needed",  #: the dosed drug keeps its concentration
    "computed",  #: dead space known: run the old rate for the bridge time
    "dead_space_unknown",  #: the change is real but the bridge cannot be worked out
    #: a constant-flow pump, a new dosed drug or only a secondary drug changed: no old rate to
    #: run, the old solution flushes at the new rate for ``flush_duration``
    "not_possible",
]

_Record = TypeVar("_Record", RefillRecord, PrescriptionRecord)


# --------------------------------------------------------------------------------------------
# Reading a chart


def live(records: Sequence[_Record]) -> tuple[_Record, ...]:
    """The records no later record corrects (corrections replace, never edit, what they fix)."""
    corrected = {r.corrects_id for r in records if r.corrects_id is not None}
    return tuple(r for r in records if r.id not in corrected)


def pump_refills(chart: PatientChart, pump_id: int) -> tuple[RefillRecord, ...]:
    """The pump's refills in force, oldest first."""
    own = [r for r in live(chart.refills) if r.pump_id == pump_id]
    return tuple(sorted(own, key=lambda r: r.performed_at))


def pump_prescriptions(chart: PatientChart, pump_id: int) -> tuple[PrescriptionRecord, ...]:
    """The pump's prescriptions in force, oldest first."""
    own = [p for p in live(chart.prescriptions) if p.pump_id == pump_id]
    return tuple(sorted(own, key=lambda p: p.effective_at))


def is_constant_flow(pump: PumpRecord) -> bool:
    return pump.pump_type == CONSTANT_FLOW


def program_of(prescription: PrescriptionRecord, pump: PumpRecord) -> Program:
    """What the pump really runs for a prescription.

    A constant-flow pump delivers its own flow whatever a schedule says, so its program is that
    flow of the prescribed solution (domain-rules section 5) when the flow is known.
    """
    if is_constant_flow(pump) and pump.nominal_flow is not None:
        return constant_flow_program(pump.nominal_flow, prescription.primary.concentration)
    return prescription.program


def program_periods(
    prescriptions: Sequence[PrescriptionRecord], pump: PumpRecord, since: datetime, until: datetime
) -> list[ProgramPeriod]:
    """The programs that ran from ``since`` to ``until``, each from its start.

    The prescription in force at ``since`` is moved to start there; a fill before any
    prescription is refused rather than guessed.
    """
    ordered = sorted(prescriptions, key=lambda p: p.effective_at)
    before = [p for p in ordered if p.effective_at <= since]
    if not before:
        raise ImpossibleInput(
            f"prescription: no prescription was in force at the fill of {since:%Y-%m-%d %H:%M}; "
            "record the prescription that was filled",
            code=Code.TIME_ORDER,
            field="prescription",
        )
    periods = [ProgramPeriod(since, program_of(before[-1], pump))]
    periods += [
        ProgramPeriod(p.effective_at, program_of(p, pump))
        for p in ordered
        if since < p.effective_at <= until
    ]
    return periods


def catheter_volume_of(chart: PatientChart, pump: PumpRecord) -> Quantity | None:
    """The implanted catheter's volume, when the chart's catheter belongs to this pump."""
    catheter = chart.catheter
    if catheter is None or catheter.pump_id != pump.id:
        return None
    return catheter.volume


def wall_clock(moment: datetime, tz: tzinfo) -> datetime:
    """An instant as the clinic's wall-clock time, without a zone; naive times are taken to be
    wall-clock times already."""
    return moment if moment.tzinfo is None else moment.astimezone(tz).replace(tzinfo=None)


def local_chart(chart: PatientChart, tz: tzinfo) -> PatientChart:
    """The chart with every instant as the clinic's wall-clock time (naive), which is what
    :func:`plan_visit` computes on and what the sheets print (domain-rules section 3).

    The services store instants in UTC; on paper a refill at 09:00 must read 09:00. Across a
    daylight-saving change, wall-clock differences are one hour off real time: pass the zone to
    :func:`plan_visit` so that it counts real time, as the stored forecast does. A time in the
    repeated hour of a fall-back keeps which of the two it was (``fold``).
    """

    def refill(r: RefillRecord) -> RefillRecord:
        return replace(
            r,
            performed_at=wall_clock(r.performed_at, tz),
            empty_at_worst_case=None
            if r.empty_at_worst_case is None
            else wall_clock(r.empty_at_worst_case, tz),
        )

    def prescription(p: PrescriptionRecord) -> PrescriptionRecord:
        return replace(p, effective_at=wall_clock(p.effective_at, tz))

    stored = chart.forecast
    if stored is not None:
        stored = replace(
            stored,
            filled_at=wall_clock(stored.filled_at, tz),
            alarm_at=wall_clock(stored.alarm_at, tz),
            alarm_at_with_boluses=wall_clock(stored.alarm_at_with_boluses, tz),
            empty_at=wall_clock(stored.empty_at, tz),
        )
    return replace(
        chart,
        prescription=None if chart.prescription is None else prescription(chart.prescription),
        forecast=stored,
        prescriptions=tuple(prescription(p) for p in chart.prescriptions),
        refills=tuple(refill(r) for r in chart.refills),
        events=tuple(replace(e, occurred_at=wall_clock(e.occurred_at, tz)) for e in chart.events),
    )


def instant(moment: datetime, tz: tzinfo) -> datetime:
    """The instant (UTC) of a wall-clock time in ``tz``; its ``fold`` picks the repeated hour
    of a fall-back. An aware time is taken as the instant it is."""
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)).astimezone(UTC)


def _on_pump_clock(
    periods: Sequence[ProgramPeriod], clock: PumpClock, tz: tzinfo
) -> list[ProgramPeriod]:
    return [replace(p, starts_at=clock.to_pump(instant(p.starts_at, tz))) for p in periods]


def local_due_rows(rows: Sequence[DueRow], tz: tzinfo) -> list[DueRow]:
    """Due-list rows with their alarm instants as the clinic's wall-clock time."""
    return [replace(r, alarm_at=wall_clock(r.alarm_at, tz)) for r in rows]


# --------------------------------------------------------------------------------------------
# The plan


@dataclass(frozen=True)
class IngredientDose:
    """One drug of the planned solution and the dose it gives at the new volume rate."""

    ingredient: Ingredient
    daily_dose: Quantity  #: Vd × C, mass/day
    max_daily_dose: Quantity  #: with every allowed patient bolus taken, mass/day


@dataclass(frozen=True)
class ConcentrationChange:
    """A drug whose concentration differs between the solution in the pump and the new one."""

    drug: str
    display_unit: MassUnit
    old: Quantity | None  #: None: the drug was not in the old solution
    new: Quantity | None  #: None: the drug is not in the new solution
    #: Vd_new × C_old: this drug's dose while the old solution leaves the dead space, unbridged
    flushing_dose: Quantity | None
    new_dose: Quantity | None  #: Vd_new × C_new


@dataclass(frozen=True)
class VisitPlan:
    """The refill visit at ``at``: the state before it and the one planned after it."""

    at: datetime
    pump: PumpRecord
    prescription: PrescriptionRecord  #: in force before the visit
    current_program: Program
    last_refill: RefillRecord | None  #: None: this is the pump's first fill
    residual: Residual | None  #: expected residual now; None at a first fill
    current_solution: tuple[Ingredient, ...]  #: what the pump holds now
    ingredients: tuple[Ingredient, ...]  #: the planned solution
    program: Program  #: the program after the visit
    refill: RefillPlan
    doses: tuple[IngredientDose, ...]
    changes: tuple[ConcentrationChange, ...]
    dead_space: Quantity | None
    dead_space_missing: tuple[str, ...]  #: what would be needed to know it
    bridge_status: BridgeStatus
    bridge: Bridge | None  #: when ``bridge_status == "computed"``
    #: how long the old solution takes to leave the dead space at the new rate (V_ds / Vd_new)
    flush_duration: Quantity | None
    priming: Quantity | None  #: first fill: catheter (+ pump path) volume to prime
    forecast: Forecast  #: if all goes to plan
    threshold: Quantity  #: the discrepancy threshold of this reservoir
    accuracy_percent: float | None  #: the pump's labelled accuracy; None when not known
    stability_source: str  #: where the in-pump stability limit came from
    notes: tuple[str, ...]  #: defaults taken and things not counted, for the clinician to see
    #: the ``a`` of the worst case (labelled, assumed 15 % or measured at the last refill)
    accuracy: Accuracy | None = None
    #: the worst-case residual now (every bolus taken, the pump running fast), not floored
    worst_case_residual: Quantity | None = None
    #: the pump's state before this refill (computed empty, may be empty, alarm passed)
    state: RefillState | None = None
    #: the earliest time the pump may have run dry, when the worst case says it may have
    may_have_run_dry_at: datetime | None = None
    interval_source: str = ""  #: where the longest refill interval came from
    #: the new solution's expiry set the refill-due date (the visit says so before saving)
    expiry_moved_due: bool = False
    #: a ziconotide-naive pump not filled with the recorded undiluted stock strength
    #: (domain-rules §6): what the Solution step warns of (also among ``notes``)
    naive_pump: tuple[str, ...] = ()
    #: the patient boluses the programmer reports, counted in the expected residual
    patient_boluses: BolusesTaken | None = None
    #: a program since the last fill had a patient bolus: the visit asks how many were given
    asks_patient_boluses: bool = False
    #: mL the last fill's bridge or priming bolus drew: ``residual.extra_volume`` less the
    #: patient boluses (None at a first fill)
    bridge_or_priming: Quantity | None = None

    @property
    def expected_residual(self) -> Quantity | None:
        return None if self.residual is None else self.residual.expected_residual

    @property
    def concentration_changed(self) -> bool:
        return bool(self.changes)

    @property
    def first_fill(self) -> bool:
        return self.last_refill is None

    @property
    def constant_flow(self) -> bool:
        return is_constant_flow(self.pump)


def _same(a: Quantity, b: Quantity) -> bool:
    return math.isclose(float(a.to(MCG_PER_ML).m), float(b.to(MCG_PER_ML).m), rel_tol=1e-9)


def _changes(
    old: Sequence[Ingredient], new: Sequence[Ingredient], new_flow: Quantity
) -> tuple[ConcentrationChange, ...]:
    old_by_drug = {i.drug: i for i in old}
    new_by_drug = {i.drug: i for i in new}
    result = []
    for drug in [*new_by_drug, *(d for d in old_by_drug if d not in new_by_drug)]:
        before, after = old_by_drug.get(drug), new_by_drug.get(drug)
        if (
            before is not None
            and after is not None
            and _same(before.concentration, after.concentration)
        ):
            continue
        shown = after or before
        assert shown is not None
        result.append(
            ConcentrationChange(
                drug=drug,
                display_unit=shown.display_unit,
                old=None if before is None else before.concentration,
                new=None if after is None else after.concentration,
                flushing_dose=None
                if before is None
                else dose_for_volume(new_flow, before.concentration),
                new_dose=None if after is None else dose_for_volume(new_flow, after.concentration),
            )
        )
    return tuple(result)


def _dead_space(
    chart: PatientChart, pump: PumpRecord, given: Quantity | None
) -> tuple[Quantity | None, tuple[str, ...]]:
    if given is not None:
        return require_positive(given, Kind.VOLUME, "dead space").to(ML), ()
    catheter = catheter_volume_of(chart, pump)
    missing = []
    if pump.pump_path_volume is None:
        missing.append("pump fluid-path volume")
    if catheter is None:
        missing.append("catheter volume")
    if missing:
        return None, tuple(missing)
    assert pump.pump_path_volume is not None and catheter is not None
    return (pump.pump_path_volume + catheter).to(ML), ()


def _first_fill_of(
    refills: Sequence[RefillRecord], ingredients: Sequence[Ingredient]
) -> frozenset[str]:
    """The drugs this fill is the pump's first fill of (:func:`pumpmgr.stability.first_fills`):
    none of the pump's earlier refills held them."""
    held = [frozenset(i.drug for i in r.ingredients) for r in refills]
    return first_fills([*held, frozenset(i.drug for i in ingredients)], len(held))


def _stability(
    ingredients: Sequence[Ingredient],
    library: catalogs.DrugLibrary,
    first_fill_of: frozenset[str],
    undiluted: bool | None,
    notes: list[str],
) -> tuple[float | None, str]:
    best, unknown = solution_limit(
        (i.drug for i in ingredients), library, first_fill_of=first_fill_of, undiluted=undiluted
    )
    notes.extend(
        f"{drug} is not in the drug library: no in-pump stability limit applied for it"
        for drug in unknown
    )
    if best is None:
        return None, "none set in the drug library"
    return best.days, best.source


def _naive_pump_notes(
    first_fill_of: frozenset[str],
    ingredients: Sequence[Ingredient],
    library: catalogs.DrugLibrary,
    undiluted: bool | None,
) -> list[str]:
    """A ziconotide-naive pump (its first fill of the drug) is filled with the label's undiluted
    stock strength only, as recorded at the refill, never inferred (domain-rules §6)."""
    notes = []
    for ingredient in ingredients:
        try:
            drug = library.drug(ingredient.drug)
        except CatalogError:
            continue
        wanted = drug.naive_pump_concentration
        if wanted is None or ingredient.drug not in first_fill_of:
            continue
        strength = format_quantity(wanted.value, Kind.CONCENTRATION, ingredient.display_unit)
        if undiluted is not True:
            found = "not recorded as undiluted"
        elif not _same(ingredient.concentration, wanted.value):
            found = format_quantity(
                ingredient.concentration, Kind.CONCENTRATION, ingredient.display_unit
            )
        else:
            continue
        notes.append(
            f"this is the pump's first {drug.name.lower()} fill: the label asks for "
            f"the undiluted {strength} solution only, and this one is {found}"
        )
    return notes


def plan_visit(
    chart: PatientChart,
    at: datetime,
    *,
    new_ingredients: Sequence[Ingredient] | None = None,
    fill_volume: Quantity | None = None,
    new_schedule: Schedule | None = None,
    settings: ClinicSettings,
    stability_days: float | None = None,
    dead_space: Quantity | None = None,
    drugs: catalogs.DrugLibrary,
    tz: tzinfo | None = None,
    bolus_given: Quantity | None = None,
    expires_on: date | None = None,
    compounded: bool = False,
    undiluted: bool | None = None,
    patient_boluses: int | None = None,
) -> VisitPlan:
    """Plan the refill of the chart's current pump at ``at``.

    ``tz``: the clinic's zone, in which the chart's and ``at``'s wall-clock times are
    (:func:`local_chart`). Given, time runs on the pump's clock
    (:class:`pumpmgr.clock.PumpClock`): the expected residual counts the real time since the
    last fill, and the alarm and refill-due dates are the real instants after this fill shown
    as wall-clock times, the same figures as the pump's stored forecast across a daylight-saving
    change. Without it, plain wall-clock arithmetic (an hour off across a change).

    - expected residual now: :func:`pumpmgr.patient_boluses.expected_with_boluses` from the
      last refill's final volume and time, piecewise over the prescriptions in force since, less
      the bridge or priming volume the last refill recorded and the patient boluses counted;
    - the planned solution (the prescription in force by default), volume to add (the capacity
      by default) and waste: :func:`pumpmgr.refill.plan_refill`;
    - every concentration change against the solution in the pump, with the bridge
      (:func:`pumpmgr.deadspace.bridge`) when the dead space (pump path + catheter, or
      ``dead_space``) is known;
    - each drug's new daily dose (:func:`pumpmgr.dosing.admixture_doses`);
    - the forecast if all goes to plan (:func:`pumpmgr.forecast.forecast`) with the pump's alarm
      volume and accuracy and the clinic's buffer and open days. ``stability_days`` None takes
      the shortest limit of the solution's drugs from ``drugs``, the clinic's library (required:
      a forgotten argument must not check against the shipped limits).

    ``bolus_given``: the bridge or priming bolus given from the reservoir at this fill, which
    leaves less to run before the alarm (counted as the stored forecast counts it).

    ``patient_boluses``: the patient boluses the programmer reports given since the last fill
    (:mod:`pumpmgr.patient_boluses`), subtracted from the expected residual; refused above
    what the lockout and the maximum per day allow. None: not entered, and a note says the
    expected residual may be too high when a program since the fill had a patient bolus.

    ``expires_on`` / ``compounded``: the new solution's expiry or beyond-use date, and whether a
    pharmacy compounded it. Refused: a compounded solution without the date, one that expires
    before the visit's day. One that expires before the refill-due date moves it
    (``expiry_moved_due``, and a note says so).

    ``undiluted``: the solution is undiluted as supplied, as recorded at the refill (None: not
    recorded). It sets ziconotide's stability limit (:mod:`pumpmgr.stability`), and a
    ziconotide-naive pump filled with anything but the recorded undiluted stock strength gets a
    note (domain-rules §6).

    The state before the refill (:class:`pumpmgr.forecast.RefillState`) comes from the
    unfloored expected residual and the worst-case one (every bolus taken, the pump running
    ``a`` fast, :func:`pumpmgr.forecast.worst_case_accuracy` with the over-delivery measured at
    the last refill).
    """
    pump, prescription = chart.pump, chart.prescription
    if pump is None:
        raise ImpossibleInput(
            f"pump: {chart.patient.display_name} has no active pump to refill",
            code=Code.OUT_OF_RANGE,
            field="pump",
        )
    if prescription is None:
        raise ImpossibleInput(
            f"prescription: the pump {pump.serial_number} has no prescription in force",
            code=Code.OUT_OF_RANGE,
            field="prescription",
        )
    library = drugs
    notes: list[str] = []
    constant = is_constant_flow(pump)

    refills = [r for r in pump_refills(chart, pump.id) if r.performed_at <= at]
    last = refills[-1] if refills else None
    prescriptions = pump_prescriptions(chart, pump.id) or (prescription,)
    current_program = program_of(prescription, pump)
    if constant and pump.nominal_flow is None:
        notes.append(
            "constant-flow pump without a nominal flow: the prescription's schedule "
            "was used as its flow; enter the pump's flow"
        )

    check_solution_date(expires_on, compounded=compounded, refill_day=at.date())
    measured = None
    if last is not None and None not in (
        last.previous_fill_volume,
        last.expected_residual,
        last.aspirated,
    ):
        assert last.previous_fill_volume is not None and last.expected_residual is not None
        assert last.aspirated is not None
        measured = worst_case_error_percent(
            float(last.previous_fill_volume.to(ML).m),
            float(last.expected_residual.to(ML).m),
            float(last.aspirated.to(ML).m),
        )
    accuracy = worst_case_accuracy(pump.accuracy_percent, measured, constant_flow=constant)
    fast = accuracy.factor
    residual = None
    worst_now: Quantity | None = None
    taken: BolusesTaken | None = None
    bridge_or_priming: Quantity | None = None
    asks_boluses = False
    pump_clock: PumpClock | None = None
    since: SinceFill | None = None  # the programs since the fill, for the worst case
    if last is not None:
        periods = program_periods(prescriptions, pump, last.performed_at, at)
        filled_at, until = last.performed_at, at
        if tz is not None:
            pump_clock = PumpClock(instant(last.performed_at, tz), tz)
            filled_at = pump_clock.to_pump(instant(last.performed_at, tz))
            until = pump_clock.to_pump(instant(at, tz))
            periods = _on_pump_clock(periods, pump_clock, tz)
        expected = expected_with_boluses(
            fill_volume=last.final_volume,
            filled_at=filled_at,
            at=until,
            periods=periods,
            bridge_or_priming=last.bridge_bolus,
            count=patient_boluses,
        )
        residual, taken, asks_boluses = expected.residual, expected.taken, expected.asked
        bridge_or_priming = expected.bridge_or_priming
        if asks_boluses and taken is None:
            notes.append(BOLUSES_NOT_COUNTED)
        # the worst case already takes every allowed bolus: the count is not subtracted again
        since = since_fill(
            fill_volume=last.final_volume,
            filled_at=filled_at,
            at=until,
            programs=periods,
            extra_volume=last.bridge_bolus,
        )
        worst_now = Q_(since.worst_ml(until, fast), ML)
    current_solution = last.ingredients if last is not None else prescription.ingredients

    ingredients = tuple(new_ingredients) if new_ingredients else prescription.ingredients
    primary = ingredients[0]
    if constant:
        if new_schedule is not None:
            raise ImpossibleInput(
                "schedule: a constant-flow pump's dose is set by the concentration of the "
                "solution, not by a schedule; change the concentration instead",
                code=Code.SCHEDULE,
                field="schedule",
            )
        flow = pump.nominal_flow
        program = (
            constant_flow_program(flow, primary.concentration)
            if flow is not None
            else Program(primary.concentration, prescription.schedule, None)
        )
    else:
        if new_schedule is None and primary.drug != prescription.primary.drug:
            raise ImpossibleInput(
                f"schedule: the dosed drug changes from {prescription.primary.drug} to "
                f"{primary.drug}; give the new schedule",
                code=Code.SCHEDULE,
                field="schedule",
            )
        # The schedule is written in mass: carrying it over keeps the dose, never the mL/day.
        program = Program(
            primary.concentration,
            prescription.schedule if new_schedule is None else new_schedule,
            prescription.patient_bolus,
        )

    aspirate = Q_(0.0, ML) if residual is None else residual.expected_residual
    refill_plan = plan_refill(
        reservoir_capacity=pump.capacity,
        aspirated=aspirate,
        alarm_volume=pump.alarm_volume,
        fill_volume=fill_volume,
    )

    flow = program.daily_volume()
    doses_by_drug = admixture_doses(flow, [(i.drug, i.concentration) for i in ingredients])
    max_by_drug = admixture_doses(
        program.max_daily_volume(), [(i.drug, i.concentration) for i in ingredients]
    )
    doses = tuple(
        IngredientDose(i, doses_by_drug[i.drug], max_by_drug[i.drug]) for i in ingredients
    )

    changes = _changes(current_solution, ingredients, flow)
    space, missing = _dead_space(chart, pump, dead_space)
    flush = None if space is None else (space / flow).to(HOUR)
    status: BridgeStatus = "not_needed"
    bridge_plan = None
    primary_change = next((c for c in changes if c.drug == primary.drug), None)
    runnable = (
        primary_change is not None
        and primary_change.old is not None
        and current_solution[0].drug == primary.drug
        and not constant
    )
    if changes and not runnable:
        # Only a secondary drug changed, the dosed drug itself is new, or the flow is fixed:
        # there is no old rate to run, so the old solution simply flushes at the new rate.
        status = "not_possible"
    elif changes and space is None:
        status = "dead_space_unknown"
    elif changes:
        assert primary_change is not None and primary_change.old is not None and space is not None
        status = "computed"
        bridge_plan = bridge(
            dose=program.daily_dose(),
            old_concentration=primary_change.old,
            new_concentration=primary.concentration,
            dead_space=space,
        )

    priming = None
    if last is None:
        catheter = catheter_volume_of(chart, pump)
        if catheter is None:
            notes.append(
                "first fill: the catheter volume is not known, so the priming volume "
                "cannot be worked out"
            )
        else:
            priming = priming_volume(catheter, pump.pump_path_volume)
            if pump.pump_path_volume is None:
                notes.append(
                    "first fill: the pump fluid-path volume is not known; the priming "
                    "volume shown is the catheter only"
                )

    refuse_undiluted(ingredients, library, undiluted)
    first_fill_of = _first_fill_of(refills, ingredients)
    naive_pump = _naive_pump_notes(first_fill_of, ingredients, library, undiluted)
    notes.extend(naive_pump)
    if stability_days is None:
        stability_days, source = _stability(ingredients, library, first_fill_of, undiluted, notes)
    else:
        source = "given for this visit"
    if accuracy.assumed:
        notes.append(
            f"the pump's labelled accuracy is not known: the worst case assumes "
            f"{accuracy.words}, and the delivery error is not judged"
        )
    interval, interval_source = max_interval_days(
        ingredients, library, settings.max_refill_interval_days
    )
    # The pump's clock is set at this fill: its time then is the wall-clock time ``at``.
    running = refill_plan.final_volume
    if bolus_given is not None:
        running = running - require(bolus_given, Kind.VOLUME, "bolus volume")
        if running.m < 0:
            raise ImpossibleInput(
                f"bolus volume: {format_quantity(bolus_given, Kind.VOLUME)} is more than the "
                f"{format_quantity(refill_plan.final_volume, Kind.VOLUME)} in the reservoir "
                "after the fill",
                code=Code.OUT_OF_RANGE,
                field="bolus volume",
            )
    outlook = forecast(
        fill_volume=running,
        filled_at=at if tz is None else wall_clock(instant(at, tz), tz),
        program=program,
        alarm_volume=pump.alarm_volume,
        accuracy_percent=accuracy.percent,
        buffer_days=settings.buffer_days,
        stability_days=stability_days,
        open_days=settings.open_days,
        reservoir_capacity=pump.capacity,
        max_interval_days=interval,
        expires_on=expires_on,
        compounded=compounded,
        closed_dates=settings.closed_dates,
    )
    if tz is not None:
        outlook = on_clinic_clock(outlook, PumpClock(instant(at, tz), tz), tz)
    moved = outlook.refill_due_reason == "expiry"
    if moved:
        assert expires_on is not None
        notes.append(
            f"the solution expires on {expires_on.isoformat()}: the refill-due date "
            f"moves to {outlook.refill_due.isoformat()}"
        )
    state, dry_at = None, None
    if residual is not None and worst_now is not None:
        state = state_from_volumes(
            nominal_ml=float(residual.unfloored_residual.to(ML).m),
            worst_ml=float(worst_now.to(ML).m),
            alarm_ml=float(pump.alarm_volume.to(ML).m),
        )
        stored = chart.forecast
        if (
            float(worst_now.m) <= 0
            and tz is not None
            and stored is not None
            and stored.empty_at_worst_case is not None
            # the stored forecast is this fill's (a past visit replayed has a later one)
            and stored.pump_id == pump.id
            and last is not None
            and stored.filled_at == last.performed_at
        ):
            # the one forecast's worst-case empty time, as the restart's time without drug
            # counts it (an extrapolation at today's rate said a different time beside it)
            dry_at = wall_clock(stored.empty_at_worst_case, tz)
        elif float(worst_now.m) <= 0 and since is not None:
            # through every program since the fill, not at the rate of the last one
            dry_at = since.worst_reached(0.0, fast, until)
            if pump_clock is not None and tz is not None:
                dry_at = wall_clock(pump_clock.to_instant(dry_at), tz)
    return VisitPlan(
        at=at,
        pump=pump,
        prescription=prescription,
        current_program=current_program,
        last_refill=last,
        residual=residual,
        current_solution=current_solution,
        ingredients=ingredients,
        program=program,
        refill=refill_plan,
        doses=doses,
        changes=changes,
        dead_space=space,
        dead_space_missing=missing,
        bridge_status=status,
        bridge=bridge_plan,
        flush_duration=flush,
        priming=priming,
        forecast=outlook,
        threshold=discrepancy_threshold(pump.capacity),
        accuracy_percent=pump.accuracy_percent,
        stability_source=source,
        notes=tuple(notes),
        accuracy=accuracy,
        worst_case_residual=worst_now,
        state=state,
        may_have_run_dry_at=dry_at,
        interval_source=interval_source,
        expiry_moved_due=moved,
        naive_pump=tuple(naive_pump),
        patient_boluses=taken,
        asks_patient_boluses=asks_boluses,
        bridge_or_priming=bridge_or_priming,
    )


def max_interval_days(
    ingredients: Sequence[Ingredient], library: catalogs.DrugLibrary, clinic_days: float
) -> tuple[float, str]:
    """The longest refill interval of a solution and where it came from: the shortest of its
    drugs' intervals, a drug the library gives none counting the clinic's setting (domain-rules
    §3: baclofen 180 days [S72], else the clinic's 90 days by default)."""
    best: tuple[float, str] | None = None
    for ingredient in ingredients:
        try:
            limit = library.drug(ingredient.drug).max_refill_interval
        except CatalogError:
            limit = None
        own = (
            (float(clinic_days), "clinic setting")
            if limit is None
            else (float(limit.value.to(DAY).m), f"drug library: {ingredient.drug}")
        )
        if best is None or own[0] < best[0]:
            best = own
    if best is None:
        return float(clinic_days), "clinic setting"
    return best


def plan_for_refill(
    chart: PatientChart,
    refill: RefillRecord,
    *,
    settings: ClinicSettings,
    stability_days: float | None = None,
    dead_space: Quantity | None = None,
    drugs: catalogs.DrugLibrary,
    tz: tzinfo | None = None,
) -> VisitPlan:
    """The plan as it stood just before a recorded refill, with the solution, fill volume and
    program the refill used: the "before" half of a completed worksheet (``tz`` as for
    :func:`plan_visit`)."""
    pump = next(
        (p for p in (chart.pump, *chart.pumps) if p is not None and p.id == refill.pump_id), None
    )
    if pump is None:
        raise ImpossibleInput(
            f"refill: the pump of refill {refill.id} is not in the chart",
            code=Code.OUT_OF_RANGE,
            field="refill",
        )
    prescriptions = pump_prescriptions(chart, pump.id)
    before = [p for p in prescriptions if p.effective_at < refill.performed_at]
    filled = next((p for p in prescriptions if p.id == refill.prescription_id), None)
    in_force = before[-1] if before else filled
    earlier = tuple(r for r in chart.refills if r.performed_at < refill.performed_at)
    past = replace(
        chart,
        pump=pump,
        prescription=in_force,
        refills=earlier,
        prescriptions=tuple(
            p for p in chart.prescriptions if p.effective_at <= refill.performed_at
        ),
    )
    schedule = None
    if (
        filled is not None
        and in_force is not None
        and filled.id != in_force.id
        and not (is_constant_flow(pump))
    ):
        schedule = filled.schedule
    return plan_visit(
        past,
        refill.performed_at,
        new_ingredients=refill.ingredients,
        fill_volume=refill.final_volume,
        new_schedule=schedule,
        settings=settings,
        stability_days=stability_days,
        dead_space=dead_space,
        drugs=drugs,
        tz=tz,
        bolus_given=refill.bridge_bolus,
        expires_on=refill.expiry,
        compounded=refill.compounded,
        # a record made before a contradiction was refused is read as not recorded
        undiluted=recorded_undiluted(refill.ingredients, drugs, refill.undiluted),
        patient_boluses=_patient_boluses_of(refill),
    )


def _patient_boluses_of(refill: RefillRecord) -> int | None:
    """The patient boluses the programmer reported at a recorded refill (None: not entered)."""
    found = refill.bedside
    reading = None if found is None else found.interrogation
    return None if reading is None else reading.patient_boluses


# --------------------------------------------------------------------------------------------
# Compounding the planned solution


@dataclass(frozen=True)
class CompoundingLine:
    """One drug of the solution: its target, the stock it is drawn from, the volume to draw."""

    ingredient: Ingredient
    target_dose: Quantity  #: mass/day at the pump's volume rate
    stock_from_library: bool  #: the stock was chosen from the library, not given
    result: Compounding


@dataclass(frozen=True)
class CompoundingPlan:
    """How to make the planned solution: every stock volume, then the diluent to the total."""

    flow: Quantity  #: the volume rate the concentrations are worked out for, mL/day
    total_volume: Quantity  #: the fill plus any extra volume prepared, mL
    lines: tuple[CompoundingLine, ...]
    diluent_volume: Quantity  #: total − Σ stock volumes, mL
    diluent: str


def _library_stock(ingredient: Ingredient, library: catalogs.DrugLibrary) -> Quantity:
    """The weakest shipped stock at least as strong as the target: the largest volume to draw."""
    try:
        drug = library.drug(ingredient.drug)
    except CatalogError:
        drug = None
    target = float(ingredient.concentration.to(MCG_PER_ML).m)
    strong_enough = [
        s
        for s in (drug.stock_concentrations if drug is not None else ())
        if not exceeds(target, float(s.to(MCG_PER_ML).m))
    ]
    if not strong_enough:
        shown = format_quantity(
            ingredient.concentration, Kind.CONCENTRATION, ingredient.display_unit
        )
        raise ImpossibleInput(
            f"stock: give the stock concentration of {ingredient.drug}; the drug library has "
            f"none of at least {shown}",
            code=Code.CONCENTRATION_ABOVE_STOCK,
            field="stock",
        )
    return min(strong_enough, key=lambda s: float(s.to(MCG_PER_ML).m))


def plan_compounding(
    plan: VisitPlan,
    stocks: Mapping[str, Quantity] | None = None,
    *,
    extra_volume: Quantity | None = None,
    drugs: catalogs.DrugLibrary,
) -> CompoundingPlan:
    """Volumes of stock and diluent for the plan's solution (:func:`pumpmgr.compounding.compound`
    per drug, at the pump's volume rate; the diluent makes up the rest).

    ``stocks`` maps a drug to the stock concentration drawn from; a drug without one takes the
    library's weakest stock that is strong enough (marked so on the sheet). Refuses stocks
    weaker than the target and stock volumes that do not fit in the total.
    """
    library = drugs
    given = {} if stocks is None else dict(stocks)
    flow = plan.program.daily_volume()
    lines = []
    for dose in plan.doses:
        ingredient = dose.ingredient
        stock = given.get(ingredient.drug)
        result = compound(
            flow=flow,
            dose=dose.daily_dose,
            stock=stock if stock is not None else _library_stock(ingredient, library),
            fill_volume=plan.refill.volume_to_add,
            extra_volume=extra_volume,
            mass_unit=ingredient.display_unit,
        )
        lines.append(CompoundingLine(ingredient, dose.daily_dose, stock is None, result))
    total = lines[0].result.total_volume
    stock_ml = sum(float(line.result.stock_volume.to(ML).m) for line in lines)
    total_ml = float(total.to(ML).m)
    if exceeds(stock_ml, total_ml):
        raise ImpossibleInput(
            f"stock: the stock volumes add up to more than the {total_ml:g} mL to prepare; "
            "choose stronger stocks",
            code=Code.CONCENTRATION_ABOVE_STOCK,
            field="stock",
        )
    return CompoundingPlan(
        flow=flow,
        total_volume=total,
        lines=tuple(lines),
        diluent_volume=Q_(max(0.0, total_ml - stock_ml), ML),
        diluent=lines[0].result.diluent,
    )
