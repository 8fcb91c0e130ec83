"""The refill wizard's two cross-checks, free of Qt so they are tested without a window.

UI layer, but imports only pure pumpmgr modules (units, formatting, visit). These are
comparisons, not dose arithmetic: every figure compared was computed by the domain (the
:class:`~pumpmgr.visit.VisitPlan`) or typed by a nurse.

- **The programmer's own figures** (reservoir volume, low-reservoir alarm date, daily volume as
  the pump's programmer shows them after the update) against pumpmgr's forecast for the same
  fill: flagged when the volume differs by more than 0.1 mL, the alarm date by more than a day,
  or the daily volume by more than 2 % (display rounding of a 0.048 mL/day rate stays well
  inside that). A guard against programming slips and programmer defects.
- **The second nurse's entries** (each concentration, the volume added, the lot) against the
  first nurse's: any difference stops the save. Only the names of the fields that differ are
  given, never the first nurse's values, so the check stays independent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from pumpmgr.formatting import format_date, format_percent, format_quantity
from pumpmgr.records import Ingredient
from pumpmgr.units import Q_, Kind, Quantity, exceeds, to_canonical
from pumpmgr.visit import VisitPlan

#: The programmer's reservoir volume may differ from pumpmgr's by this much (mL).
RESERVOIR_TOLERANCE_ML = 0.1
#: The programmer's alarm date may differ from pumpmgr's by this many days.
ALARM_TOLERANCE_DAYS = 1
#: The programmer's daily volume may differ from pumpmgr's by this fraction.
DAILY_VOLUME_TOLERANCE = 0.02
#: Two typed quantities are the same when they agree to this relative distance.
SAME_RELATIVE = 1e-6


@dataclass(frozen=True)
class FigureCheck:
    """One figure of the programmer against pumpmgr's."""

    name: str
    programmer: str
    pumpmgr: str
    differs: bool

    @property
    def word(self) -> str:
        return "DIFFERS" if self.differs else "agrees"


def programmer_checks(
    plan: VisitPlan, reservoir: Quantity, alarm: date, daily_volume: Quantity
) -> list[FigureCheck]:
    """The three figures the programmer shows after the update, each against the plan's."""
    final = plan.refill.final_volume
    volume_gap = abs(to_canonical(reservoir, Kind.VOLUME) - to_canonical(final, Kind.VOLUME))
    alarm_ours = plan.forecast.alarm_at.date()
    ours_daily = plan.program.daily_volume()
    ours_ml = to_canonical(ours_daily, Kind.FLOW)
    theirs_ml = to_canonical(daily_volume, Kind.FLOW)
    return [
        FigureCheck("Reservoir volume", format_quantity(reservoir, Kind.VOLUME),
                    format_quantity(final, Kind.VOLUME),
                    exceeds(volume_gap, RESERVOIR_TOLERANCE_ML)),
        FigureCheck("Low-reservoir alarm date", format_date(alarm), format_date(alarm_ours),
                    abs((alarm - alarm_ours).days) > ALARM_TOLERANCE_DAYS),
        FigureCheck("Daily volume", format_quantity(daily_volume, Kind.FLOW),
                    format_quantity(ours_daily, Kind.FLOW),
                    exceeds(abs(theirs_ml - ours_ml), DAILY_VOLUME_TOLERANCE * ours_ml)),
    ]


def tolerance_text() -> str:
    return (f"flagged when the reservoir volume differs by more than "
            f"{format_quantity(Q_(RESERVOIR_TOLERANCE_ML, 'mL'), Kind.VOLUME)}, the alarm date "
            f"by more than {ALARM_TOLERANCE_DAYS} day, or the daily volume by more than "
            f"{format_percent(DAILY_VOLUME_TOLERANCE, signed=False)}")


def same_quantity(first: Quantity, second: Quantity, kind: Kind) -> bool:
    """Whether two typed quantities are the same value (units may differ: 2 mg/mL is
    2000 mcg/mL)."""
    return math.isclose(to_canonical(first, kind), to_canonical(second, kind),
                        rel_tol=SAME_RELATIVE)


def same_lot(first: str, second: str) -> bool:
    """Lot numbers compared without case and surrounding or repeated spaces."""
    return " ".join(first.split()).casefold() == " ".join(second.split()).casefold()


@dataclass(frozen=True)
class Entry:
    """What one nurse entered about the solution put in the pump."""

    concentrations: tuple[Quantity, ...]  #: one per drug, in the solution's order
    volume_added: Quantity
    lot_number: str


def entry_of(ingredients: Sequence[Ingredient], volume_added: Quantity, lot: str) -> Entry:
    return Entry(tuple(i.concentration for i in ingredients), volume_added, lot)


def mismatches(first: Entry, second: Entry, drug_names: Sequence[str]) -> list[str]:
    """The names of the fields where the second entry differs from the first (values not
    shown)."""
    found = []
    for name, a, b in zip(drug_names, first.concentrations, second.concentrations,
                          strict=True):
        if not same_quantity(a, b, Kind.CONCENTRATION):
            found.append(f"{name} concentration")
    if not same_quantity(first.volume_added, second.volume_added, Kind.VOLUME):
        found.append("volume added")
    if not same_lot(first.lot_number, second.lot_number):
        found.append("lot number")
    return found
