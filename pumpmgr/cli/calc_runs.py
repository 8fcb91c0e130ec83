"""The calculations of ``pumpmgr calc``, one ``run_*`` function a command: each reads its options
(:mod:`.calc_options`), calls the pure core and returns the result as plain values for
:mod:`.output` (presentation layer)."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from pumpmgr import (
    catalogs,
    compounding,
    deadspace,
    dose_checks,
    dosing,
    forecast,
    refill,
    restart,
    stability,
    wording,
)
from pumpmgr.cli import calc_options as read
from pumpmgr.errors import CatalogError, Code, InputError
from pumpmgr.formatting import format_quantity
from pumpmgr.records import Ingredient
from pumpmgr.schedule import (
    Schedule,
    parse_scheduled_bolus,
    parse_step,
)
from pumpmgr.units import Kind, Quantity, parse_any, parse_unit
from pumpmgr.visit import max_interval_days

Result = dict[str, Any]


def run_forecast(args: argparse.Namespace) -> Result:
    program = read.program(args)
    drug = None if args.drug is None else catalogs.default_catalogs().drug(args.drug)
    days = (
        None
        if args.stability_days is None
        else read.number(args.stability_days, "--stability-days", "90")
    )
    interval = (
        None
        if args.max_interval_days is None
        else read.number(args.max_interval_days, "--max-interval-days", "90")
    )
    source = "--stability-days" if days is not None else "none set"
    for option in ("--undiluted", "--first-fill-of-drug"):
        if drug is None and getattr(args, option[2:].replace("-", "_")):
            raise InputError(
                f"{option}: give it with --drug, for example --drug ziconotide",
                code=Code.NO_VALUE,
                field=option,
            )
    if drug is not None:
        library = catalogs.default_catalogs().drugs
        solution = [Ingredient(drug.key, program.concentration)]
        solution += _admixture_ingredients(args.admixture)
        # undiluted only as given, never inferred from the concentration (domain-rules §3)
        undiluted = args.undiluted or None
        problem = stability.undiluted_problem(solution, library, undiluted)
        if problem is not None:
            raise InputError(f"--undiluted: {problem}", code=Code.OUT_OF_RANGE, field="--undiluted")
        # every drug of the solution, as the visit counts them (the shortest limit)
        limit, _ = stability.solution_limit(
            [i.drug for i in solution],
            library,
            first_fill_of={drug.key} if args.first_fill_of_drug else set(),
            undiluted=undiluted,
        )
        if days is None and limit is not None:
            days, source = limit.days, limit.source
            if limit.not_recorded:
                source += " (--undiluted for one as supplied)"
        if interval is None:
            interval = max_interval_days(
                solution, library, forecast.DEFAULT_MAX_REFILL_INTERVAL_DAYS
            )[0]
    if interval is None:
        interval = float(forecast.DEFAULT_MAX_REFILL_INTERVAL_DAYS)
    accuracy = forecast.worst_case_accuracy(
        None if args.accuracy is None else read.number(args.accuracy, "--accuracy", "14.5"),
        None
        if args.measured_error is None
        else read.number(args.measured_error, "--measured-error", "12"),
        recorded=False,
    )
    result = forecast.forecast_in_zone(
        read.zone(args.tz),
        fill_volume=read.quantity(args.fill_volume, Kind.VOLUME, "--fill-volume"),
        filled_at=read.moment(args.filled_at, "--filled-at"),
        program=program,
        alarm_volume=read.quantity(args.alarm_volume, Kind.VOLUME, "--alarm-volume"),
        accuracy_percent=accuracy.percent,
        buffer_days=int(read.number(args.buffer_days, "--buffer-days", "7", whole=True)),
        stability_days=days,
        open_days=forecast.parse_open_days(args.open_days),
        max_interval_days=interval,
        expires_on=None
        if args.expires is None
        else forecast.parse_expiry(args.expires, "--expires"),
        closed_dates=[forecast.parse_expiry(d, "--closed") for d in args.closed],
    )
    return {
        "daily_dose": result.daily_dose,
        "daily_volume": result.daily_volume,
        "max_daily_dose": result.max_daily_dose,
        "days_to_alarm": result.days_to_alarm,
        "alarm_at": result.alarm_at,
        "days_to_alarm_with_boluses": result.days_to_alarm_with_boluses,
        "alarm_at_with_boluses": result.alarm_at_with_boluses,
        "days_to_alarm_worst_case": result.days_to_alarm_worst_case,
        "alarm_at_worst_case": result.alarm_at_worst_case,
        "days_to_empty": result.days_to_empty,
        "empty_at_worst_case": result.empty_at_worst_case,
        "refill_due": result.refill_due,
        "refill_due_reason": result.refill_due_reason,
        "refill_due_because": forecast.due_reason_words(
            result.refill_due_reason, buffer_days=result.buffer_days
        ),
        "limits": {reason: day for reason, day in result.limits},
        "alarm_volume": result.alarm_volume,
        "accuracy_percent": result.accuracy_percent,
        "accuracy": accuracy.words,
        "buffer_days": result.buffer_days,
        "stability_days": result.stability_days,
        "stability_source": source,
        "max_interval_days": result.max_interval_days,
        "expires": result.expires_on,
        "open_days": [forecast.DAY_NAMES[d] for d in sorted(result.open_days)],
        "closed": sorted(result.closed_dates),
        **_state_at(args.at, result),
        **_admixture(args.admixture, result.daily_volume),
    }


def _admixture_ingredients(texts: list[str]) -> list[Ingredient]:
    """The other drugs of an admixture as ``--admixture`` gives them ("clonidine 50 mcg/mL")."""
    found = []
    for text in texts:
        name, _, concentration = text.strip().partition(" ")
        try:
            drug = catalogs.default_catalogs().drug(name)
        except CatalogError as exc:
            raise InputError(
                f"--admixture: {exc.message}", code=exc.code, field="--admixture"
            ) from None
        found.append(
            Ingredient(
                drug.key,
                read.quantity(concentration, Kind.CONCENTRATION, "--admixture"),
                drug.display_unit,
            )
        )
    return found


def _admixture(texts: list[str], daily_volume: Quantity) -> Result:
    """Each other drug of an admixture at the one volume rate: ``Vd × C_drug`` (domain-rules
    §2), each in its drug's display unit."""
    if not texts:
        return {}
    shown = []
    for ingredient in _admixture_ingredients(texts):
        drug = catalogs.default_catalogs().drug(ingredient.drug)
        dose = dosing.dose_for_volume(daily_volume, ingredient.concentration)
        shown.append(f"{drug.name} {format_quantity(dose, Kind.DOSE_RATE, drug.display_unit)}")
    return {"admixture_doses": shown}


def _state_at(text: str | None, result: forecast.Forecast) -> Result:
    """The pump's state before a refill at ``--at`` (domain-rules §3): computed empty, may be
    empty, alarm passed, or none."""
    if text is None:
        return {}
    at = read.moment(text, "--at")
    try:
        state = forecast.state_before_refill(
            now=at,
            alarm_at=result.alarm_at,
            empty_at=result.empty_at,
            empty_at_worst_case=result.empty_at_worst_case,
        )
    except TypeError:
        raise InputError(
            "--at: give both --filled-at and --at with a time zone offset, or both without",
            code=Code.BAD_DATE,
            field="--at",
        ) from None
    return {
        "state_at": at,
        "state": "none" if state is None else state.words,
        "state_advice": "" if state is None else state.advice,
    }


def run_residual(args: argparse.Namespace) -> Result:
    extra = args.extra_volume
    result = refill.expected_residual(
        fill_volume=read.quantity(args.fill_volume, Kind.VOLUME, "--fill-volume"),
        filled_at=read.moment(args.filled_at, "--filled-at"),
        at=read.moment(args.at, "--at"),
        programs=read.program(args),
        extra_volume=None if extra is None else read.quantity(extra, Kind.VOLUME, "--extra-volume"),
    )
    return {
        "elapsed_days": result.elapsed_days,
        "infused": result.infused,
        "extra_volume": result.extra_volume,
        "expected_residual": result.expected_residual,
        "expected_residual_unfloored": result.unfloored_residual,
    }


def run_discrepancy(args: argparse.Namespace) -> Result:
    accuracy = args.accuracy
    expected = read.quantity(args.expected, Kind.VOLUME, "--expected")
    taken = read.patient_boluses(args)
    drawn: Result = {}
    if taken is not None:
        expected = expected - taken.volume
        drawn = {
            "patient_boluses": taken.count,
            "patient_boluses_allowed": taken.allowed,
            "patient_bolus_volume": taken.volume_each,
            "drawn_by_patient_boluses": taken.volume,
            "expected_with_patient_boluses": expected,
        }
    result = refill.discrepancy(
        fill_volume=read.quantity(args.fill_volume, Kind.VOLUME, "--fill-volume"),
        expected=expected,
        actual=read.quantity(args.actual, Kind.VOLUME, "--actual"),
        reservoir_capacity=read.quantity(
            args.reservoir_capacity, Kind.VOLUME, "--reservoir-capacity"
        ),
        accuracy_percent=None if accuracy is None else read.number(accuracy, "--accuracy", "14.5"),
        empty_threshold=read.quantity(args.empty_threshold, Kind.VOLUME, "--empty-threshold"),
        note=args.note,
    )
    return {
        "difference": result.difference,
        "delivery_error_percent": result.delivery_error_percent,
        "threshold": result.threshold,
        "verdict": result.verdict,
        "direction": result.direction,
        "meaning": result.meaning,
        "warnings": list(result.warnings),
        **drawn,
        **_restart(args, result.verdict),
    }


def run_flow(args: argparse.Namespace) -> Result:
    """A constant-flow pump's measured flow since its last fill (domain-rules §5)."""
    nominal = args.nominal_flow
    result = refill.measured_flow(
        fill_volume=read.quantity(args.fill_volume, Kind.VOLUME, "--fill-volume"),
        aspirated=read.quantity(args.aspirated, Kind.VOLUME, "--aspirated"),
        filled_at=read.moment(args.filled_at, "--filled-at"),
        at=read.moment(args.at, "--at"),
        nominal_flow=None
        if nominal is None
        else read.quantity(nominal, Kind.FLOW, "--nominal-flow"),
    )
    return {
        "measured_flow": result.flow,
        "nominal_flow": result.nominal,
        "deviation_percent": None if result.deviation is None else result.deviation * 100,
    }


def _restart(args: argparse.Namespace, verdict: str) -> Result:
    """Whether the refill is a restart, the time without drug from ``--worst-case-empty``
    to ``--at`` and the over-infusion risk (domain-rules §3)."""
    worst = args.worst_case_empty
    # --at alone is the refill's time --patient-boluses counts to, not a restart
    lone_at = args.at is not None and worst is None and args.patient_boluses is None
    if lone_at or (worst is not None and args.at is None):
        option = "--worst-case-empty" if lone_at else "--at"
        raise InputError(
            f"{option}: give --worst-case-empty and --at together, for example "
            "--worst-case-empty 2025-05-08T14:00 --at 2025-05-10T09:00",
            code=Code.NO_VALUE,
            field=option,
        )
    at = None if worst is None else read.moment(args.at, "--at")
    found = restart.restart_from(
        verdict,
        empty_alarm="empty-alarm" in args.pump_log,
        stopped="stopped" in args.pump_log,
        withdrawal=args.withdrawal,
        first_fill=False,
        empty_at_worst_case=None if worst is None else read.moment(worst, "--worst-case-empty"),
        at=at or datetime.min,
    )
    return {
        "restart": restart.restart_text(found),
        "without_drug_hours": None if found is None else found.without_drug_hours,
        "over_infusion_risk": found is not None and found.over_infusion_risk,
    }


def run_compound(args: argparse.Namespace) -> Result:
    extra = args.extra_volume
    result = compounding.compound(
        flow=read.quantity(args.flow, Kind.FLOW, "--flow"),
        dose=read.quantity(args.dose, Kind.DOSE_RATE, "--dose"),
        stock=read.quantity(args.stock, Kind.CONCENTRATION, "--stock"),
        fill_volume=read.quantity(args.fill_volume, Kind.VOLUME, "--fill-volume"),
        extra_volume=None if extra is None else read.quantity(extra, Kind.VOLUME, "--extra-volume"),
        mass_unit=read.mass_unit(args),
    )
    return {
        "concentration": result.concentration,
        "stock_volume": result.stock_volume,
        "diluent_volume": result.diluent_volume,
        "total_volume": result.total_volume,
        "diluent": result.diluent,
    }


def run_bridge(args: argparse.Namespace) -> Result:
    result = deadspace.bridge(
        dose=read.quantity(args.dose, Kind.DOSE_RATE, "--dose"),
        old_concentration=read.quantity(
            args.old_concentration, Kind.CONCENTRATION, "--old-concentration"
        ),
        new_concentration=read.quantity(
            args.new_concentration, Kind.CONCENTRATION, "--new-concentration"
        ),
        dead_space=read.quantity(args.dead_space, Kind.VOLUME, "--dead-space"),
    )
    return {
        "bridge_volume": result.bridge_volume,
        "bridge_rate": result.bridge_rate,
        "bridge_duration": result.bridge_duration,
        "new_rate": result.new_rate,
        "unbridged_dose": result.unbridged_dose,
        "unbridged_duration": result.unbridged_duration,
        "explanation": wording.bridge_text(result, read.mass_unit(args)),
    }


def run_prime(args: argparse.Namespace) -> Result:
    segments = [
        deadspace.CatheterSegment(
            read.quantity(length, Kind.LENGTH, "--segment"),
            read.quantity(per_length, Kind.VOLUME_PER_LENGTH, "--segment"),
        )
        for length, per_length in args.segment
    ]
    path = args.pump_path_volume
    catheter = deadspace.catheter_volume(segments)
    return {
        "catheter_volume": catheter,
        "priming_volume": deadspace.priming_volume(
            catheter,
            None if path is None else read.quantity(path, Kind.VOLUME, "--pump-path-volume"),
        ),
    }


def run_check_dose(args: argparse.Namespace) -> Result:
    drug = read.drug(args.drug)
    schedule = read.schedule(args)
    patient_bolus = read.patient_bolus(args)
    # D_max with the patient's boluses, as the services compare (domain-rules §6)
    dose = schedule.steps[0].rate if schedule.is_simple else schedule.daily_dose()
    if patient_bolus is not None:
        dose = dose + patient_bolus.daily_maximum
    previous_schedule = None
    if args.previous_step:
        previous_schedule = Schedule.flex(
            (parse_step(t, "--previous-step") for t in args.previous_step),
            [
                parse_scheduled_bolus(t, "--previous-scheduled-bolus")
                for t in args.previous_scheduled_bolus
            ],
        )
    elif args.previous_scheduled_bolus:
        raise InputError(
            "--previous-scheduled-bolus: give the steps it ran with as well "
            "(--previous-step '00:00 100 mcg/day')",
            code=Code.NO_VALUE,
            field="--previous-scheduled-bolus",
        )
    previous = args.previous_dose
    previous_dose = (
        read.dose(previous, "--previous-dose")
        if previous is not None
        else None
        if previous_schedule is None
        else previous_schedule.daily_dose()
    )
    hours = args.hours_since_change
    concentration = (
        None
        if args.concentration is None
        else read.quantity(args.concentration, Kind.CONCENTRATION, "--concentration")
    )
    pump = read.pump_model(args.pump)
    if pump is not None and concentration is None:
        raise InputError(
            "--concentration: needed with --pump, to know the volume the pump "
            "delivers; for example '2000 mcg/mL'",
            code=Code.NO_VALUE,
            field="--concentration",
        )
    maximum = args.individual_max
    result = dose_checks.check_dose(
        drug,
        dose,
        previous_dose=previous_dose,
        hours_since_change=None
        if hours is None
        else read.number(hours, "--hours-since-change", "48"),
        concentration=concentration,
        origin=args.origin,
        pain=args.pain,
        child=args.child,
        increases_past_7_days=None
        if args.increases_past_7_days is None
        else int(
            read.number(args.increases_past_7_days, "--increases-past-7-days", "2", whole=True)
        ),
        start=read.start_context(args),
        individual_max=None if maximum is None else read.dose(maximum, "--individual-max"),
        pump=pump,
        naive_pump=args.naive_pump,
        schedule=schedule,
        previous_schedule=previous_schedule,
        patient_bolus=patient_bolus,
    )
    return {
        "drug": drug.name,
        "daily_dose": dose,
        "checked_as": checked_as(args.start, previous_dose),
        "verdict": result.verdict,
        "findings": [
            {
                "level": f.level,
                "code": str(f.code),
                "message": f.message,
                "sources": list(f.sources),
                "unconfirmed": f.unconfirmed,
            }
            for f in result.findings
        ],
    }


def checked_as(start: bool, previous: Quantity | None) -> str:
    """What ``check-dose`` compared the dose with, in words: a start, a change from the dose
    given, or neither, which says how to give one (domain-rules §6: a patient's first dose of
    a drug is a start unless it continues a dose from before the record)."""
    if start:
        return "a start (the patient's first dose of the drug, or a restart)"
    if previous is not None:
        return "a change from --previous-dose"
    return (
        "the library's limits only: for the patient's first dose of the drug give --start; "
        f"for a dose the patient receives now (one that {wording.CONTINUES_ANSWER} too) give "
        "--previous-dose"
    )


def run_convert(args: argparse.Namespace) -> Result:
    quantity, kind = parse_any(args.quantity, "QUANTITY")
    unit = parse_unit(args.to, kind, "--to")
    if not quantity.is_compatible_with(unit):
        raise InputError(
            f"--to: '{args.to}' cannot hold {kind.spec.name}; for example '{kind.spec.canonical}'",
            code=Code.WRONG_KIND,
            field="--to",
        )
    return {"value": float(quantity.to(unit).m), "unit": unit_text(unit)}


_SPELLING = {
    "microgram": "mcg",
    "milligram": "mg",
    "milliliter": "mL",
    "microliter": "microliter",
    "day": "day",
    "hour": "h",
    "minute": "min",
    "centimeter": "cm",
    "millimeter": "mm",
}


def unit_text(unit: Any) -> str:
    """A pint unit in the clinic's spelling (mcg, mL), which pint parses back."""
    return " / ".join(_SPELLING[str(part).strip()] for part in str(unit).split("/"))
