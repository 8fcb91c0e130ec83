"""The words of a prescription, one wording for the screens, the sheets and the command line:
the solution, the patient's bolus and the schedule.

Pure layer: the standard library, pint through :mod:`pumpmgr.formatting` and
:mod:`pumpmgr.units`, and the catalogs for the drugs' display names. No Qt, no reportlab: the
window, the printed sheets and the notes call these instead of writing a second text for the
same fact.
"""

from __future__ import annotations

from collections.abc import Sequence

from pumpmgr import catalogs
from pumpmgr.errors import CatalogError
from pumpmgr.formatting import MassUnit, format_duration, format_quantity
from pumpmgr.records import Ingredient
from pumpmgr.schedule import PatientBolus, Schedule
from pumpmgr.units import Q_, Kind


def drug_name(key: str, catalog: catalogs.Catalogs) -> str:
    """The library's display name of a drug, or the key itself when the library lacks it."""
    try:
        return catalog.drug(key).name
    except CatalogError:
        return key


def ingredient_text(ingredient: Ingredient, catalog: catalogs.Catalogs) -> str:
    """``Baclofen 2000 mcg/mL``."""
    strength = format_quantity(ingredient.concentration, Kind.CONCENTRATION,
                               ingredient.display_unit)
    return f"{drug_name(ingredient.drug, catalog)} {strength}"


def solution_text(ingredients: Sequence[Ingredient], catalog: catalogs.Catalogs) -> str:
    """``Baclofen 2000 mcg/mL`` or ``Morphine 10 mg/mL + Clonidine 100 mcg/mL``."""
    if not ingredients:
        return "not recorded"
    return " + ".join(ingredient_text(i, catalog) for i in ingredients)


def bolus_text(bolus: PatientBolus | None, unit: MassUnit) -> str:
    """The patient-activated bolus: dose, most a day, lockout; or that there is none."""
    if bolus is None:
        return "none"
    text = (f"{format_quantity(bolus.dose, Kind.MASS, unit)} a bolus, at most "
            f"{bolus.max_per_day} a day")
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
        delivered = Q_(rate * length / (24 * 60), "mcg")
        lines.append(
            f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}  "
            f"{format_quantity(Q_(rate, 'mcg/day'), Kind.DOSE_RATE, unit)} "
            f"({format_quantity(delivered, Kind.MASS, unit)} in "
            f"{format_duration(Q_(length, 'minute'))})"
        )
    lines += [f"Bolus at {b.at:%H:%M}: {format_quantity(b.amount, Kind.MASS, unit)}"
              for b in schedule.boluses]
    return lines
