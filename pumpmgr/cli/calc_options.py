"""What ``pumpmgr calc``'s options mean: each reader turns one option's text into a domain value
or refuses it with one line naming the option (presentation layer)."""

from __future__ import annotations

import argparse
from datetime import datetime, time, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pumpmgr import (
    catalogs,
    dose_checks,
)
from pumpmgr.errors import CatalogError, Code, InputError
from pumpmgr.formatting import MassUnit, typed_mass_unit
from pumpmgr.patient_boluses import BolusesTaken, BolusPeriod, boluses_taken
from pumpmgr.schedule import (
    PatientBolus,
    Program,
    Schedule,
    Step,
    parse_scheduled_bolus,
    parse_step,
)
from pumpmgr.stop_orders import STOP_ORDER_FROM_COMMAND_LINE
from pumpmgr.units import Kind, Quantity, parse, parse_any


def quantity(text: str | None, kind: Kind, option: str) -> Quantity:
    if text is None:
        raise InputError(f"{option}: is required", code=Code.NO_VALUE, field=option)
    return parse(text, kind, option)


def moment(text: str, option: str) -> datetime:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"{option}: '{text}' is not a date; write ISO 8601, for example 2026-03-01 or "
            "2026-03-01T09:30",
            code=Code.BAD_DATE,
            field=option,
        ) from None


def number(text: str | None, option: str, example: str, *, whole: bool = False) -> float:
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


def dose(text: str, option: str) -> Quantity:
    """A daily dose more than zero (stopping a drug is a Stop order, never a dose of zero)."""
    typed = quantity(text, Kind.DOSE_RATE, option)
    if not typed.m > 0:
        raise InputError(
            f"{option}: must be more than zero, not '{text}' ({STOP_ORDER_FROM_COMMAND_LINE})",
            code=Code.NOT_POSITIVE,
            field=option,
        )
    return typed


def mass_unit(args: argparse.Namespace) -> MassUnit:
    """The unit doses are shown in: the drug's display unit when the drug is named (whatever
    unit was typed, domain-rules §1); without a drug, mg only when every mass the clinician
    typed is in mg, else mcg (so ``2 mg/mL`` with ``400 mcg/day`` answers in mcg)."""
    named = getattr(args, "drug", None)
    if named is not None:
        return drug(named).display_unit
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


def schedule(args: argparse.Namespace) -> Schedule:
    if args.dose is not None and args.step:
        raise InputError(
            "--dose: give either --dose or --step, not both", code=Code.SCHEDULE, field="--dose"
        )
    if args.dose is not None:
        steps = [Step(time(0, 0), dose(args.dose, "--dose"))]
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


def program(args: argparse.Namespace) -> Program:
    concentration = quantity(args.concentration, Kind.CONCENTRATION, "--concentration")
    return Program(concentration, schedule(args), patient_bolus(args))


def zone(text: str | None) -> tzinfo | None:
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


def patient_boluses(args: argparse.Namespace) -> BolusesTaken | None:
    """The patient boluses the programmer counts since ``--filled-at``, refused above what
    the bolus's maximum per day and lockout allow until ``--at``, as the visit refuses them
    (domain-rules §4)."""
    needed = {
        "--bolus-dose": args.bolus_dose,
        "--boluses-per-day": args.boluses_per_day,
        "--concentration": args.concentration,
        "--filled-at": args.filled_at,
    }
    if args.patient_boluses is None:
        for option, value in {**needed, "--bolus-lockout": args.bolus_lockout}.items():
            if value is not None:
                raise InputError(
                    f"{option}: is used with --patient-boluses", code=Code.NO_VALUE, field=option
                )
        return None
    count = int(number(args.patient_boluses, "--patient-boluses", "12", whole=True))
    if count < 0:
        raise InputError(
            "--patient-boluses: give the number the programmer shows, 0 or more",
            code=Code.OUT_OF_RANGE,
            field="--patient-boluses",
        )
    for option, value in {**needed, "--at": args.at}.items():
        if value is None:
            raise InputError(
                f"{option}: needed with --patient-boluses, to know each bolus's volume and "
                "how many the pump allows since the last fill",
                code=Code.NO_VALUE,
                field=option,
            )
    filled_at, at = moment(args.filled_at, "--filled-at"), moment(args.at, "--at")
    if (filled_at.tzinfo is None) != (at.tzinfo is None):
        raise InputError(
            "--at: give both --filled-at and --at with a time zone offset, or both without",
            code=Code.BAD_DATE,
            field="--at",
        )
    if at < filled_at:
        raise InputError(
            f"--at: {at:%Y-%m-%d %H:%M} is before --filled-at ({filled_at:%Y-%m-%d %H:%M})",
            code=Code.TIME_ORDER,
            field="--at",
        )
    bolus = patient_bolus(args)
    concentration = quantity(args.concentration, Kind.CONCENTRATION, "--concentration")
    return boluses_taken(count, [BolusPeriod(filled_at, bolus, concentration)], filled_at, at)


def patient_bolus(args: argparse.Namespace) -> PatientBolus | None:
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
    lockout = getattr(args, "bolus_lockout", None)
    return PatientBolus(
        quantity(bolus_dose, Kind.MASS, "--bolus-dose"),
        int(number(per_day, "--boluses-per-day", "4", whole=True)),
        None if lockout is None else quantity(lockout, Kind.DURATION, "--bolus-lockout"),
    )


def start_context(args: argparse.Namespace) -> dose_checks.StartContext | None:
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
    effect = None if hours is None else number(hours, "--screening-effect-hours", "6")
    if effect is not None and effect <= 0:
        raise InputError(
            "--screening-effect-hours: must be more than zero, for example 6",
            code=Code.NOT_POSITIVE,
            field="--screening-effect-hours",
        )
    screening = None if bolus is None else quantity(bolus, Kind.MASS, "--screening-bolus")
    if screening is not None and not screening.m > 0:
        raise InputError(
            "--screening-bolus: must be more than zero, for example '75 mcg'",
            code=Code.NOT_POSITIVE,
            field="--screening-bolus",
        )
    status = None if args.opioid_status is None else catalogs.OpioidStatus(args.opioid_status)
    return dose_checks.StartContext(status, screening, effect)


def pump_model(key: str | None) -> catalogs.PumpModel | None:
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


def drug(name: str) -> catalogs.Drug:
    try:
        return catalogs.default_catalogs().drug(name)
    except CatalogError as exc:
        raise InputError(f"--drug: {exc.message}", code=exc.code, field="--drug") from None
