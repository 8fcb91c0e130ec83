"""``pumpmgr calc``: every clinical calculation, scriptable, with an exact contract.

Quantities are text with units (``"400 mcg/day"``), dates ISO 8601 (``2026-03-01`` is midnight).
Bad input exits with status 2 and one line on stderr naming the option; never a traceback.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime, time, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pumpmgr import (
    catalogs,
    compounding,
    deadspace,
    dose_checks,
    dosing,
    forecast,
    refill,
    restart,
    wording,
)
from pumpmgr.cli.output import to_json, to_text
from pumpmgr.errors import CatalogError, Code, InputError
from pumpmgr.formatting import MassUnit, format_quantity, typed_mass_unit
from pumpmgr.patient_boluses import bolus_volume
from pumpmgr.schedule import (
    PatientBolus,
    Program,
    Schedule,
    Step,
    parse_scheduled_bolus,
    parse_step,
)
from pumpmgr.stability import depends_on_dilution, stability_limit
from pumpmgr.stop_orders import STOP_ORDER_FROM_COMMAND_LINE
from pumpmgr.units import DAY, ML, Kind, Quantity, parse, parse_any, parse_unit

Result = dict[str, Any]


def _q(text: str | None, kind: Kind, option: str) -> Quantity:
    if text is None:
        raise InputError(f"{option}: is required", code=Code.NO_VALUE, field=option)
    return parse(text, kind, option)


def _when(text: str, option: str) -> datetime:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"{option}: '{text}' is not a date; write ISO 8601, for example 2026-03-01 or "
            "2026-03-01T09:30",
            code=Code.BAD_DATE,
            field=option,
        ) from None


def _number(text: str | None, option: str, example: str, *, whole: bool = False) -> float:
    if text is None:
        raise InputError(f"{option}: is required", code=Code.NO_VALUE, field=option)
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        kind = "a whole number" if whole else "a number"
        raise InputError(
            f"{option}: '{text}' is not {kind}; for example {example}",
            code=Code.BAD_NUMBER,
            field=option,
        ) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise InputError(
            f"{option}: '{text}' is not a finite number; for example {example}",
            code=Code.NOT_FINITE,
            field=option,
        )
    return value


def _dose(text: str, option: str) -> Quantity:
    """A daily dose more than zero (stopping a drug is a Stop order, never a dose of zero)."""
    dose = _q(text, Kind.DOSE_RATE, option)
    if not dose.m > 0:
        raise InputError(
            f"{option}: must be more than zero, not '{text}' ({STOP_ORDER_FROM_COMMAND_LINE})",
            code=Code.NOT_POSITIVE,
            field=option,
        )
    return dose


def _mass_unit(args: argparse.Namespace) -> MassUnit:
    """The unit doses are shown in: the drug's display unit when the drug is named (whatever
    unit was typed, domain-rules §1); without a drug, mg only when every mass the clinician
    typed is in mg, else mcg (so ``2 mg/mL`` with ``400 mcg/day`` answers in mcg)."""
    drug = getattr(args, "drug", None)
    if drug is not None:
        return _drug(drug).display_unit
    texts = [
        getattr(args, name, None)
        for name in (
            "dose",
            "concentration",
            "stock",
            "old_concentration",
            "new_concentration",
            "bolus_dose",
        )
    ]
    texts += [step.split(maxsplit=1)[-1] for step in getattr(args, "step", None) or []]
    typed = []
    for text in texts:
        if text is None:
            continue
        try:
            typed.append(parse_any(text, "unit")[0])
        except InputError:
            continue
    return typed_mass_unit(*typed)


def _schedule(args: argparse.Namespace) -> Schedule:
    if args.dose is not None and args.step:
        raise InputError(
            "--dose: give either --dose or --step, not both", code=Code.SCHEDULE, field="--dose"
        )
    if args.dose is not None:
        steps = [Step(time(0, 0), _dose(args.dose, "--dose"))]
    elif args.step:
        steps = [parse_step(text, "--step") for text in args.step]
    else:
        raise InputError(
            "--dose: give the daily dose (--dose '400 mcg/day') or the steps "
            "(--step '06:00 30 mcg/h')",
            code=Code.NO_VALUE,
            field="--dose",
        )
    boluses = [parse_scheduled_bolus(t, "--scheduled-bolus") for t in args.scheduled_bolus]
    return Schedule.flex(steps, boluses)


def _program(args: argparse.Namespace) -> Program:
    concentration = _q(args.concentration, Kind.CONCENTRATION, "--concentration")
    return Program(concentration, _schedule(args), _patient_bolus(args))


def _zone(text: str | None) -> tzinfo | None:
    if text is None:
        return None
    try:
        return ZoneInfo(text.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            f"--tz: '{text}' is not a time zone; give the clinic's zone, for example "
            "Europe/Berlin or America/New_York",
            code=Code.BAD_DATE,
            field="--tz",
        ) from None


def run_forecast(args: argparse.Namespace) -> Result:
    program = _program(args)
    drug = None if args.drug is None else catalogs.default_catalogs().drug(args.drug)
    stability = (
        None
        if args.stability_days is None
        else _number(args.stability_days, "--stability-days", "90")
    )
    interval = (
        None
        if args.max_interval_days is None
        else _number(args.max_interval_days, "--max-interval-days", "90")
    )
    source = "--stability-days" if stability is not None else "none set"
    if args.undiluted and (drug is None or not depends_on_dilution(drug)):
        raise InputError(
            "--undiluted: give it with --drug ziconotide, whose in-pump stability depends on it",
            code=Code.OUT_OF_RANGE,
            field="--undiluted",
        )
    if drug is not None:
        # undiluted only as given, never inferred from the concentration (domain-rules §3)
        limit = stability_limit([drug], first_fill=False, undiluted=args.undiluted or None)
        if stability is None and limit is not None:
            stability, source = limit.days, f"drug library: {drug.name}"
            if limit.not_recorded:
                source += "; a diluted solution (--undiluted for one as supplied)"
        if interval is None and drug.max_refill_interval is not None:
            interval = float(drug.max_refill_interval.value.to(DAY).m)
    if interval is None:
        interval = float(forecast.DEFAULT_MAX_REFILL_INTERVAL_DAYS)
    accuracy = forecast.worst_case_accuracy(
        None if args.accuracy is None else _number(args.accuracy, "--accuracy", "14.5"),
        None
        if args.measured_error is None
        else _number(args.measured_error, "--measured-error", "12"),
        recorded=False,
    )
    result = forecast.forecast_in_zone(
        _zone(args.tz),
        fill_volume=_q(args.fill_volume, Kind.VOLUME, "--fill-volume"),
        filled_at=_when(args.filled_at, "--filled-at"),
        program=program,
        alarm_volume=_q(args.alarm_volume, Kind.VOLUME, "--alarm-volume"),
        accuracy_percent=accuracy.percent,
        buffer_days=int(_number(args.buffer_days, "--buffer-days", "7", whole=True)),
        stability_days=stability,
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


def _admixture(texts: list[str], daily_volume: Quantity) -> Result:
    """Each other drug of an admixture at the one volume rate: ``Vd × C_drug`` (domain-rules
    §2), each in its drug's display unit."""
    if not texts:
        return {}
    shown = []
    for text in texts:
        name, _, concentration = text.strip().partition(" ")
        try:
            drug = catalogs.default_catalogs().drug(name)
        except CatalogError as exc:
            raise InputError(
                f"--admixture: {exc.message}", code=exc.code, field="--admixture"
            ) from None
        dose = dosing.dose_for_volume(
            daily_volume, _q(concentration, Kind.CONCENTRATION, "--admixture")
        )
        shown.append(f"{drug.name} {format_quantity(dose, Kind.DOSE_RATE, drug.display_unit)}")
    return {"admixture_doses": shown}


def _state_at(text: str | None, result: forecast.Forecast) -> Result:
    """The pump's state before a refill at ``--at`` (domain-rules §3): computed empty, may be
    empty, alarm passed, or none."""
    if text is None:
        return {}
    at = _when(text, "--at")
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
        fill_volume=_q(args.fill_volume, Kind.VOLUME, "--fill-volume"),
        filled_at=_when(args.filled_at, "--filled-at"),
        at=_when(args.at, "--at"),
        programs=_program(args),
        extra_volume=None if extra is None else _q(extra, Kind.VOLUME, "--extra-volume"),
    )
    return {
        "elapsed_days": result.elapsed_days,
        "infused": result.infused,
        "extra_volume": result.extra_volume,
        "expected_residual": result.expected_residual,
        "expected_residual_unfloored": result.unfloored_residual,
    }


def _patient_boluses(args: argparse.Namespace) -> tuple[int, Quantity] | None:
    """The patient boluses the programmer counts and each one's volume (domain-rules §4)."""
    needed = {"--bolus-dose": args.bolus_dose, "--concentration": args.concentration}
    if args.patient_boluses is None:
        for option, value in needed.items():
            if value is not None:
                raise InputError(
                    f"{option}: is used with --patient-boluses", code=Code.NO_VALUE, field=option
                )
        return None
    for option, value in needed.items():
        if value is None:
            raise InputError(
                f"{option}: needed with --patient-boluses, to know each bolus's volume",
                code=Code.NO_VALUE,
                field=option,
            )
    count = int(_number(args.patient_boluses, "--patient-boluses", "12", whole=True))
    if count < 0:
        raise InputError(
            "--patient-boluses: give the number the programmer shows, 0 or more",
            code=Code.OUT_OF_RANGE,
            field="--patient-boluses",
        )
    return count, bolus_volume(
        _q(args.bolus_dose, Kind.MASS, "--bolus-dose"),
        _q(args.concentration, Kind.CONCENTRATION, "--concentration"),
    )


def run_discrepancy(args: argparse.Namespace) -> Result:
    accuracy = args.accuracy
    expected = _q(args.expected, Kind.VOLUME, "--expected")
    boluses = _patient_boluses(args)
    drawn: Result = {}
    if boluses is not None:
        count, each = boluses
        drawn = {
            "patient_boluses": count,
            "patient_bolus_volume": each,
            "drawn_by_patient_boluses": (each * count).to(ML),
        }
        expected = expected - each * count
        drawn["expected_with_patient_boluses"] = expected
    result = refill.discrepancy(
        fill_volume=_q(args.fill_volume, Kind.VOLUME, "--fill-volume"),
        expected=expected,
        actual=_q(args.actual, Kind.VOLUME, "--actual"),
        reservoir_capacity=_q(args.reservoir_capacity, Kind.VOLUME, "--reservoir-capacity"),
        accuracy_percent=None if accuracy is None else _number(accuracy, "--accuracy", "14.5"),
        empty_threshold=_q(args.empty_threshold, Kind.VOLUME, "--empty-threshold"),
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
        fill_volume=_q(args.fill_volume, Kind.VOLUME, "--fill-volume"),
        aspirated=_q(args.aspirated, Kind.VOLUME, "--aspirated"),
        filled_at=_when(args.filled_at, "--filled-at"),
        at=_when(args.at, "--at"),
        nominal_flow=None if nominal is None else _q(nominal, Kind.FLOW, "--nominal-flow"),
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
    if (worst is None) != (args.at is None):
        option = "--at" if args.at is None else "--worst-case-empty"
        raise InputError(
            f"{option}: give --worst-case-empty and --at together, for example "
            "--worst-case-empty 2025-05-08T14:00 --at 2025-05-10T09:00",
            code=Code.NO_VALUE,
            field=option,
        )
    at = None if args.at is None else _when(args.at, "--at")
    found = restart.restart_from(
        verdict,
        empty_alarm="empty-alarm" in args.pump_log,
        stopped="stopped" in args.pump_log,
        withdrawal=args.withdrawal,
        first_fill=False,
        empty_at_worst_case=None if worst is None else _when(worst, "--worst-case-empty"),
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
        flow=_q(args.flow, Kind.FLOW, "--flow"),
        dose=_q(args.dose, Kind.DOSE_RATE, "--dose"),
        stock=_q(args.stock, Kind.CONCENTRATION, "--stock"),
        fill_volume=_q(args.fill_volume, Kind.VOLUME, "--fill-volume"),
        extra_volume=None if extra is None else _q(extra, Kind.VOLUME, "--extra-volume"),
        mass_unit=_mass_unit(args),
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
        dose=_q(args.dose, Kind.DOSE_RATE, "--dose"),
        old_concentration=_q(args.old_concentration, Kind.CONCENTRATION, "--old-concentration"),
        new_concentration=_q(args.new_concentration, Kind.CONCENTRATION, "--new-concentration"),
        dead_space=_q(args.dead_space, Kind.VOLUME, "--dead-space"),
    )
    return {
        "bridge_volume": result.bridge_volume,
        "bridge_rate": result.bridge_rate,
        "bridge_duration": result.bridge_duration,
        "new_rate": result.new_rate,
        "unbridged_dose": result.unbridged_dose,
        "unbridged_duration": result.unbridged_duration,
        "explanation": wording.bridge_text(result, _mass_unit(args)),
    }


def run_prime(args: argparse.Namespace) -> Result:
    segments = [
        deadspace.CatheterSegment(
            _q(length, Kind.LENGTH, "--segment"),
            _q(per_length, Kind.VOLUME_PER_LENGTH, "--segment"),
        )
        for length, per_length in args.segment
    ]
    path = args.pump_path_volume
    catheter = deadspace.catheter_volume(segments)
    return {
        "catheter_volume": catheter,
        "priming_volume": deadspace.priming_volume(
            catheter, None if path is None else _q(path, Kind.VOLUME, "--pump-path-volume")
        ),
    }


def _patient_bolus(args: argparse.Namespace) -> PatientBolus | None:
    """The patient-activated bolus, when both of its options were given."""
    bolus_dose = getattr(args, "bolus_dose", None)
    per_day = getattr(args, "boluses_per_day", None)
    if (bolus_dose is None) != (per_day is None):
        missing = "--boluses-per-day" if per_day is None else "--bolus-dose"
        raise InputError(
            f"{missing}: patient boluses need both --bolus-dose and --boluses-per-day",
            code=Code.NO_VALUE,
            field=missing,
        )
    if bolus_dose is None:
        return None
    return PatientBolus(
        _q(bolus_dose, Kind.MASS, "--bolus-dose"),
        int(_number(per_day, "--boluses-per-day", "4", whole=True)),
    )


def _start_context(args: argparse.Namespace) -> dose_checks.StartContext | None:
    given = {
        "--opioid-status": args.opioid_status,
        "--screening-bolus": args.screening_bolus,
        "--screening-effect-hours": args.screening_effect_hours,
    }
    if not args.start:
        for option, value in given.items():
            if value is not None:
                raise InputError(
                    f"{option}: is used with --start (a first dose or a restart)",
                    code=Code.NO_VALUE,
                    field=option,
                )
        return None
    for option in ("--previous-dose", "--previous-step"):
        if getattr(args, option[2:].replace("-", "_")):
            raise InputError(
                f"{option}: a start has no current dose; leave it out with --start",
                code=Code.SCHEDULE,
                field=option,
            )
    bolus, hours = args.screening_bolus, args.screening_effect_hours
    effect = None if hours is None else _number(hours, "--screening-effect-hours", "6")
    if effect is not None and effect <= 0:
        raise InputError(
            "--screening-effect-hours: must be more than zero, for example 6",
            code=Code.NOT_POSITIVE,
            field="--screening-effect-hours",
        )
    screening = None if bolus is None else _q(bolus, Kind.MASS, "--screening-bolus")
    if screening is not None and not screening.m > 0:
        raise InputError(
            "--screening-bolus: must be more than zero, for example '75 mcg'",
            code=Code.NOT_POSITIVE,
            field="--screening-bolus",
        )
    status = None if args.opioid_status is None else catalogs.OpioidStatus(args.opioid_status)
    return dose_checks.StartContext(status, screening, effect)


def _pump(key: str | None) -> catalogs.PumpModel | None:
    if key is None:
        return None
    try:
        return catalogs.default_catalogs().pump_model(key)
    except CatalogError as exc:
        raise InputError(
            f"--pump: {exc.message.removeprefix('unknown pump model ')}",
            code=exc.code,
            field="--pump",
        ) from None


def _drug(name: str) -> catalogs.Drug:
    try:
        return catalogs.default_catalogs().drug(name)
    except CatalogError as exc:
        raise InputError(f"--drug: {exc.message}", code=exc.code, field="--drug") from None


def run_check_dose(args: argparse.Namespace) -> Result:
    drug = _drug(args.drug)
    schedule = _schedule(args)
    patient_bolus = _patient_bolus(args)
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
        _dose(previous, "--previous-dose")
        if previous is not None
        else None
        if previous_schedule is None
        else previous_schedule.daily_dose()
    )
    hours = args.hours_since_change
    concentration = (
        None
        if args.concentration is None
        else _q(args.concentration, Kind.CONCENTRATION, "--concentration")
    )
    pump = _pump(args.pump)
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
        hours_since_change=None if hours is None else _number(hours, "--hours-since-change", "48"),
        concentration=concentration,
        origin=args.origin,
        pain=args.pain,
        child=args.child,
        increases_past_7_days=None
        if args.increases_past_7_days is None
        else int(_number(args.increases_past_7_days, "--increases-past-7-days", "2", whole=True)),
        start=_start_context(args),
        individual_max=None if maximum is None else _dose(maximum, "--individual-max"),
        pump=pump,
        naive_pump=args.naive_pump,
        schedule=schedule,
        previous_schedule=previous_schedule,
        patient_bolus=patient_bolus,
    )
    return {
        "drug": drug.name,
        "daily_dose": dose,
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


Handler = Callable[[argparse.Namespace], Result]


def _schedule_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--concentration", required=True, metavar="Q", help="e.g. '2000 mcg/mL'")
    parser.add_argument("--dose", metavar="Q", help="simple continuous daily dose, '400 mcg/day'")
    parser.add_argument(
        "--step",
        action="append",
        default=[],
        metavar='"HH:MM RATE"',
        help="a flex step, repeatable: '06:00 30 mcg/h'",
    )
    parser.add_argument(
        "--scheduled-bolus",
        action="append",
        default=[],
        metavar='"HH:MM AMOUNT"',
        help="a daily scheduled bolus: '07:00 50 mcg'",
    )


def add_parser(subparsers: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """Register ``calc`` and its subcommands on the top-level parser."""
    calc = subparsers.add_parser("calc", help="clinical calculations", description=__doc__)
    commands = calc.add_subparsers(
        dest="calc_command", metavar="CALCULATION", parser_class=parser_class, required=True
    )

    def command(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = commands.add_parser(
            name, help=help_text, description=help_text
        )
        sub.add_argument("--json", action="store_true", help="print one JSON object")
        sub.set_defaults(handler=handler)
        return sub

    p = command("forecast", run_forecast, "days to the low-reservoir alarm and the refill-due date")
    p.add_argument("--fill-volume", required=True, metavar="Q")
    p.add_argument("--filled-at", required=True, metavar="WHEN")
    _schedule_options(p)
    p.add_argument("--alarm-volume", default="2 mL", metavar="Q", help="default 2 mL")
    p.add_argument("--bolus-dose", metavar="Q", help="patient-activated bolus, '50 mcg'")
    p.add_argument("--boluses-per-day", metavar="N")
    p.add_argument(
        "--accuracy",
        metavar="PERCENT",
        help="labelled, e.g. 14.5; unknown: 15 assumed for the worst case",
    )
    p.add_argument(
        "--measured-error",
        metavar="PERCENT",
        help="the delivery error e measured at the last refill, e.g. 18",
    )
    p.add_argument("--buffer-days", default="7", metavar="N", help="default 7")
    p.add_argument(
        "--drug",
        metavar="NAME",
        help="its display unit, in-pump stability and longest refill interval",
    )
    p.add_argument("--stability-days", metavar="N", help="in-pump stability limit")
    p.add_argument(
        "--undiluted",
        action="store_true",
        help="with --drug ziconotide: the solution is undiluted as supplied "
        "(84 days); without it the diluted limit (40 days)",
    )
    p.add_argument(
        "--max-interval-days",
        metavar="N",
        help="longest refill interval; default the drug's, else 90",
    )
    p.add_argument(
        "--expires",
        metavar="DATE",
        help="the solution's expiry or beyond-use date; YYYY-MM is the month's end",
    )
    p.add_argument("--open-days", default="mon-fri", metavar="DAYS", help="default mon-fri")
    p.add_argument(
        "--closed",
        action="append",
        default=[],
        metavar="DATE",
        help="a date the clinic is closed, repeatable",
    )
    p.add_argument(
        "--admixture",
        action="append",
        default=[],
        metavar='"DRUG Q"',
        help="another drug of the solution, 'clonidine 100 mcg/mL': its daily "
        "dose at the one volume rate (repeatable)",
    )
    p.add_argument(
        "--at",
        metavar="WHEN",
        help="a visit's time: the state before the refill then (computed empty, "
        "may be empty, alarm passed)",
    )
    p.add_argument(
        "--tz",
        metavar="ZONE",
        help="the clinic's time zone, e.g. Europe/Berlin (dates as the services)",
    )

    p = command("residual", run_residual, "expected residual volume at a time after a fill")
    p.add_argument("--fill-volume", required=True, metavar="Q")
    p.add_argument("--filled-at", required=True, metavar="WHEN")
    p.add_argument("--at", required=True, metavar="WHEN")
    _schedule_options(p)
    p.add_argument("--extra-volume", metavar="Q", help="boluses, bridge, priming drawn besides")

    p = command("flow", run_flow, "a constant-flow pump's measured flow since its fill")
    p.add_argument("--fill-volume", required=True, metavar="Q")
    p.add_argument("--filled-at", required=True, metavar="WHEN")
    p.add_argument("--aspirated", required=True, metavar="Q", help="the volume aspirated")
    p.add_argument("--at", required=True, metavar="WHEN", help="when it was aspirated")
    p.add_argument("--nominal-flow", metavar="Q", help="the pump's nominal flow, '1 mL/day'")

    p = command("discrepancy", run_discrepancy, "verdict on the aspirated residual at a refill")
    p.add_argument("--fill-volume", required=True, metavar="Q")
    p.add_argument("--expected", required=True, metavar="Q")
    p.add_argument("--actual", required=True, metavar="Q")
    p.add_argument("--reservoir-capacity", required=True, metavar="Q")
    p.add_argument("--accuracy", metavar="PERCENT", help="the pump's labelled accuracy, 14.5")
    p.add_argument(
        "--empty-threshold",
        default="0.5 mL",
        metavar="Q",
        help="aspirated at or below it: found empty (default 0.5 mL)",
    )
    p.add_argument(
        "--pump-log",
        action="append",
        default=[],
        choices=["empty-alarm", "stopped"],
        help="what the programmer showed before the refill (repeatable)",
    )
    p.add_argument("--withdrawal", action="store_true", help="the patient shows withdrawal")
    p.add_argument(
        "--worst-case-empty",
        metavar="WHEN",
        help="the forecast's worst-case empty time, with --at: the time without drug at a restart",
    )
    p.add_argument("--at", metavar="WHEN", help="the refill's time")
    p.add_argument(
        "--note",
        default="",
        metavar="TEXT",
        help="required for an aspirate above the capacity or the previous fill",
    )
    p.add_argument(
        "--patient-boluses",
        metavar="N",
        help="patient boluses given since the last fill, as the programmer counts "
        "them: subtracted from --expected (with --bolus-dose, --concentration)",
    )
    p.add_argument("--bolus-dose", metavar="Q", help="the patient bolus's dose, '0.1 mg'")
    p.add_argument("--concentration", metavar="Q", help="the solution in the pump, '10 mg/mL'")

    p = command("compound", run_compound, "compounding for a constant-flow pump")
    p.add_argument("--flow", required=True, metavar="Q", help="nominal flow, '1 mL/day'")
    p.add_argument("--dose", required=True, metavar="Q")
    p.add_argument("--stock", required=True, metavar="Q", help="stock concentration")
    p.add_argument("--fill-volume", required=True, metavar="Q")
    p.add_argument("--extra-volume", metavar="Q")

    p = command("bridge", run_bridge, "bridge bolus for a concentration change")
    p.add_argument("--dose", required=True, metavar="Q")
    p.add_argument("--old-concentration", required=True, metavar="Q")
    p.add_argument("--new-concentration", required=True, metavar="Q")
    p.add_argument("--dead-space", required=True, metavar="Q", help="pump path plus catheter")

    p = command("prime", run_prime, "catheter volume and priming bolus")
    p.add_argument(
        "--segment",
        action="append",
        nargs=2,
        required=True,
        metavar=("LENGTH", "VOLUME_PER_LENGTH"),
    )
    p.add_argument("--pump-path-volume", metavar="Q", help="for a new pump")

    p = command("check-dose", run_check_dose, "check a dose against the drug library")
    p.add_argument("--drug", required=True, metavar="NAME")
    p.add_argument("--dose", metavar="Q", help="the daily dose, or give --step")
    p.add_argument("--previous-dose", metavar="Q")
    p.add_argument("--hours-since-change", metavar="H")
    p.add_argument("--concentration", metavar="Q")
    p.add_argument("--origin", choices=["spinal", "cerebral"])
    p.add_argument("--pain", choices=["cancer", "non-cancer"])
    p.add_argument("--child", action="store_true", help="a patient under 18 (titration)")
    p.add_argument(
        "--increases-past-7-days",
        metavar="N",
        help="increases already made in the 7 days before (ziconotide: 3 a week)",
    )
    p.add_argument(
        "--step",
        action="append",
        default=[],
        metavar='"HH:MM RATE"',
        help="a flex step, repeatable, instead of --dose: '06:00 30 mcg/h'",
    )
    p.add_argument(
        "--scheduled-bolus",
        action="append",
        default=[],
        metavar='"HH:MM MASS"',
        help="a scheduled bolus, repeatable: '07:00 50 mcg'",
    )
    p.add_argument(
        "--bolus-dose",
        metavar="Q",
        help="patient-activated bolus, '50 mcg' (the dose checked is then D_max)",
    )
    p.add_argument("--boluses-per-day", metavar="N")
    p.add_argument(
        "--previous-step",
        action="append",
        default=[],
        metavar='"HH:MM RATE"',
        help="a step programmed before, repeatable (the per-step slip check)",
    )
    p.add_argument(
        "--previous-scheduled-bolus",
        action="append",
        default=[],
        metavar='"HH:MM MASS"',
        help="a scheduled bolus programmed before, repeatable",
    )
    p.add_argument("--pump", metavar="MODEL", help="pump model key, e.g. synchromed2-20")
    p.add_argument("--start", action="store_true", help="a first dose of the drug or a restart")
    p.add_argument(
        "--opioid-status",
        choices=["naive", "tolerant"],
        help="with --start; not given counts as naive",
    )
    p.add_argument("--screening-bolus", metavar="Q", help="with --start: baclofen, '75 mcg'")
    p.add_argument("--screening-effect-hours", metavar="H", help="how long its effect lasted")
    p.add_argument("--individual-max", metavar="Q", help="this patient's raised maximum")
    p.add_argument("--naive-pump", action="store_true", help="the pump's first fill with this drug")

    p = command("convert", run_convert, "convert a quantity to another unit")
    p.add_argument("quantity", metavar="QUANTITY")
    p.add_argument("--to", required=True, metavar="UNIT")


def run(args: argparse.Namespace) -> str:
    """Run the chosen calculation; return what to print."""
    result = args.handler(args)
    mass_unit = _mass_unit(args)
    return to_json(result, mass_unit) if args.json else to_text(result, mass_unit)
