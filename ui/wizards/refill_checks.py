"""The refill wizard's two cross-checks, free of Qt so they are tested without a window.

UI layer, but imports only pure pumpmgr modules (units, formatting, refill, visit). These are
comparisons, not dose arithmetic: every figure compared was computed by the domain (the
:class:`~pumpmgr.visit.VisitPlan`) or typed by a nurse.

- **The programmer's own figures** (reservoir volume, low-reservoir alarm date, daily volume as
  the pump's programmer shows them after the update) against pumpmgr's forecast for the same
  fill, judged by :func:`pumpmgr.refill.compare_programmer` with its tolerances (the
  ``PROGRAMMER_*`` constants there): the function whose verdict the service stores with the
  refill, so the wizard shows the verdict that is saved. A guard against programming slips and
  programmer defects.
- **The second nurse's entries** (each concentration, the volume added, the lot) against the
  first nurse's: any difference stops the save. Only the names of the fields that differ are
  given, never the first nurse's values, so the check stays independent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from pumpmgr.formatting import format_date, format_quantity
from pumpmgr.records import Ingredient
from pumpmgr.refill import (
    compare_programmer,
)
from pumpmgr.units import Kind, Quantity, to_canonical
from pumpmgr.visit import VisitPlan

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
    """The three figures the programmer shows after the update, each against the plan's.

    Raises :class:`~pumpmgr.errors.PumpMgrError` for a negative volume, as the save would."""
    final = plan.refill.final_volume
    alarm_ours = plan.forecast.alarm_at.date()
    ours_daily = plan.program.daily_volume()
    # pumpmgr judges: the flags are the verdict the service stores with the refill
    compared = compare_programmer(
        reservoir=reservoir,
        alarm_date=alarm,
        daily_volume=daily_volume,
        our_reservoir=final,
        our_alarm_date=alarm_ours,
        our_daily_volume=ours_daily,
    )
    return [
        FigureCheck(
            "Reservoir volume",
            format_quantity(reservoir, Kind.VOLUME),
            format_quantity(final, Kind.VOLUME),
            compared.reservoir_differs,
        ),
        FigureCheck(
            "Low-reservoir alarm date",
            format_date(alarm),
            format_date(alarm_ours),
            compared.alarm_date_differs,
        ),
        FigureCheck(
            "Daily volume",
            format_quantity(daily_volume, Kind.FLOW),
            format_quantity(ours_daily, Kind.FLOW),
            compared.daily_volume_differs,
        ),
    ]


def same_quantity(first: Quantity, second: Quantity, kind: Kind) -> bool:
    """Whether two typed quantities are the same value (units may differ: 2 mg/mL is
    2000 mcg/mL)."""
    return math.isclose(
        to_canonical(first, kind), to_canonical(second, kind), rel_tol=SAME_RELATIVE
    )


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
    for name, a, b in zip(drug_names, first.concentrations, second.concentrations, strict=True):
        if not same_quantity(a, b, Kind.CONCENTRATION):
            found.append(f"{name} concentration")
    if not same_quantity(first.volume_added, second.volume_added, Kind.VOLUME):
        found.append("volume added")
    if not same_lot(first.lot_number, second.lot_number):
        found.append("lot number")
    return found
