"""Daily dose and daily volume, admixtures, and the baclofen starting dose.

Pure layer: stdlib and pint (through :mod:`pumpmgr.units`) only. Quantities in and out.
"""

from __future__ import annotations

from collections.abc import Sequence

from pumpmgr.units import (
    DAY,
    HOUR,
    MCG_PER_DAY,
    ML_PER_DAY,
    Q_,
    Kind,
    Quantity,
    require,
    require_positive,
)

#: Baclofen start after screening: 2 × the effective bolus per day, or 1 × when the bolus
#: effect lasted more than 8 h [S54][S35] (domain-rules section 6).
BACLOFEN_LONG_EFFECT_HOURS = 8.0


def daily_volume(dose: Quantity, concentration: Quantity) -> Quantity:
    """``Vd = D / C`` (domain-rules section 2): mL/day from a dose rate and a concentration."""
    require_positive(dose, Kind.DOSE_RATE, "dose")
    require_positive(concentration, Kind.CONCENTRATION, "concentration")
    return (dose / concentration).to(ML_PER_DAY)


def dose_for_volume(flow: Quantity, concentration: Quantity) -> Quantity:
    """``D = Vd × C``: the dose rate a volume rate of a solution delivers, in mcg/day."""
    require_positive(flow, Kind.FLOW, "daily volume")
    require_positive(concentration, Kind.CONCENTRATION, "concentration")
    return (flow * concentration).to(MCG_PER_DAY)


def admixture_doses(
    flow: Quantity, ingredients: Sequence[tuple[str, Quantity]]
) -> dict[str, Quantity]:
    """Each drug's daily dose ``Vd × C_drug`` from the one volume rate of an admixture."""
    require_positive(flow, Kind.FLOW, "daily volume")
    doses: dict[str, Quantity] = {}
    for name, concentration in ingredients:
        doses[name] = dose_for_volume(flow, require(concentration, Kind.CONCENTRATION, name))
    return doses


def baclofen_start_dose(screening_bolus: Quantity, effect_hours: float) -> Quantity:
    """The first daily dose after a positive baclofen screening bolus, in mcg/day."""
    require_positive(screening_bolus, Kind.MASS, "screening bolus")
    hours = require_positive(Q_(effect_hours, HOUR), Kind.DURATION, "effect hours")
    factor = 1 if hours.m > BACLOFEN_LONG_EFFECT_HOURS else 2
    return (factor * screening_bolus / Q_(1, DAY)).to(MCG_PER_DAY)
