"""Constant-flow pumps: the concentration a dose needs, how to compound it, the dose it gives.

Pure layer: stdlib and pint (through :mod:`pumpmgr.units`) only. Formulas of domain-rules
section 5 (worked example 8 in domain.md). The flow of a constant-flow pump is fixed, so the
only dose control is the concentration; the diluent is preservative-free 0.9 % NaCl [S41][S42].
"""

from __future__ import annotations

from dataclasses import dataclass

from pumpmgr.errors import Code, ImpossibleInput
from pumpmgr.formatting import MassUnit, format_quantity
from pumpmgr.units import (
    MCG_PER_ML,
    ML,
    Q_,
    Kind,
    Quantity,
    exceeds,
    require_not_negative,
    require_positive,
)

DILUENT = "preservative-free 0.9 % sodium chloride"


@dataclass(frozen=True)
class Compounding:
    concentration: Quantity  #: C = D / Q
    stock_concentration: Quantity
    stock_volume: Quantity  #: V_stock = C × V_tot / C_stock (mL)
    diluent_volume: Quantity  #: V_tot − V_stock (mL)
    total_volume: Quantity  #: the fill plus any extra volume prepared (mL)
    diluent: str = DILUENT


def required_concentration(dose: Quantity, flow: Quantity) -> Quantity:
    """``C = D / Q`` in mcg/mL."""
    require_positive(dose, Kind.DOSE_RATE, "dose")
    require_positive(flow, Kind.FLOW, "flow")
    return (dose / flow).to(MCG_PER_ML)


def compound(
    *,
    flow: Quantity,
    dose: Quantity,
    stock: Quantity,
    fill_volume: Quantity,
    extra_volume: Quantity | None = None,
    mass_unit: MassUnit = "mcg",
) -> Compounding:
    """How much stock and diluent make ``fill_volume + extra_volume`` of the concentration the
    dose needs at this flow. Refuses a concentration above the stock's, saying both in
    ``mass_unit`` (the drug's display unit)."""
    concentration = required_concentration(dose, flow)
    require_positive(stock, Kind.CONCENTRATION, "stock")
    require_positive(fill_volume, Kind.VOLUME, "fill volume")
    extra_volume = Q_(0, ML) if extra_volume is None else extra_volume
    require_not_negative(extra_volume, Kind.VOLUME, "extra volume")
    c, c_stock = float(concentration.m), float(stock.to(MCG_PER_ML).m)
    if exceeds(c, c_stock):
        needed = format_quantity(concentration, Kind.CONCENTRATION, mass_unit)
        held = format_quantity(stock, Kind.CONCENTRATION, mass_unit)
        raise ImpossibleInput(
            f"stock: the dose needs {needed} at this flow, stronger than the stock "
            f"({held}); choose a stronger stock or check the dose",
            code=Code.CONCENTRATION_ABOVE_STOCK,
            field="stock",
        )
    total = float((fill_volume + extra_volume).to(ML).m)
    stock_ml = min(total, c * total / c_stock)
    return Compounding(
        concentration=concentration,
        stock_concentration=stock,
        stock_volume=Q_(stock_ml, ML),
        diluent_volume=Q_(total - stock_ml, ML),
        total_volume=Q_(total, ML),
    )
