"""``pumpmgr calc``: every clinical calculation, scriptable, with an exact contract.

Quantities are text with units (``"400 mcg/day"``), dates ISO 8601 (``2026-03-01`` is midnight).
Bad input exits with status 2 and one line on stderr naming the option; never a traceback.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from pumpmgr.cli import calc_options as read
from pumpmgr.cli.calc_runs import (
    Result,
    run_bridge,
    run_check_dose,
    run_compound,
    run_convert,
    run_discrepancy,
    run_flow,
    run_forecast,
    run_prime,
    run_residual,
)
from pumpmgr.cli.output import to_json, to_text

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
        help="with --drug ziconotide: the solution is undiluted as supplied, one drug at a "
        "stock strength (84 days); without it the diluted limit (40 days)",
    )
    p.add_argument(
        "--first-fill-of-drug",
        action="store_true",
        help="this is the pump's first fill of --drug: the pump's first ziconotide fill is "
        "stable 14 days",
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
        "them: subtracted from --expected (with --bolus-dose, --boluses-per-day, "
        "--concentration, --filled-at and --at); refused above what the maximum per day "
        "and --bolus-lockout allow since --filled-at",
    )
    p.add_argument("--bolus-dose", metavar="Q", help="the patient bolus's dose, '0.1 mg'")
    p.add_argument("--boluses-per-day", metavar="N", help="the patient bolus's maximum per day")
    p.add_argument("--bolus-lockout", metavar="Q", help="the time between boluses, '3 h'")
    p.add_argument("--concentration", metavar="Q", help="the solution in the pump, '10 mg/mL'")
    p.add_argument("--filled-at", metavar="WHEN", help="the last fill's time")

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
    mass_unit = read.mass_unit(args)
    return to_json(result, mass_unit) if args.json else to_text(result, mass_unit)
