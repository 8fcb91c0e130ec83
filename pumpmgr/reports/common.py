"""Words and numbers the sheets share: solutions, schedules, boluses, warning signs, MRI notes.

Reports layer, but free of reportlab: imports the pure pumpmgr modules only (records, schedule,
formatting, catalogs). Every number goes through :mod:`pumpmgr.formatting`, each drug's mass in
its own display unit, so a printed sheet reads exactly like the screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from pumpmgr import catalogs
from pumpmgr.errors import CatalogError
from pumpmgr.formatting import (
    MassUnit,
    format_date,
    format_datetime,
    format_duration,
    format_percent,
    format_quantity,
)
from pumpmgr.records import (
    ClinicSettings,
    Ingredient,
    PatientRecord,
    PrescriptionRecord,
    PumpRecord,
)
from pumpmgr.schedule import Program, Schedule
from pumpmgr.units import MCG_PER_DAY, PLAUSIBLE_MAGNITUDES, Kind, Quantity

# the one wording of a prescription (pumpmgr.wording), re-exported for the sheets
from pumpmgr.wording import bolus_text as bolus_text
from pumpmgr.wording import drug_name as drug_name
from pumpmgr.wording import ingredient_text as ingredient_text
from pumpmgr.wording import schedule_lines as schedule_lines
from pumpmgr.wording import solution_text as solution_text

#: When the catalog has no MRI note for a pump model, the sheets say so rather than stay silent.
NO_MRI_NOTE = "No MRI information is recorded for this pump model: ask the clinic before any MRI."


def settled(quantity: Quantity, kind: Kind) -> Quantity:
    """``quantity``, or zero of its unit when it is too small to be any clinical value.

    Values computed from the time since a fill can be: a worksheet printed a moment after the
    fill expects 2e-7 mL to have been delivered. The formatter refuses such a value, as it
    must when someone types it, so the sheets show it as the 0 it is.
    """
    if abs(float(quantity.to(kind.spec.canonical_unit).m)) < PLAUSIBLE_MAGNITUDES[0]:
        return quantity * 0
    return quantity


def volume(quantity: Quantity) -> str:
    return format_quantity(settled(quantity, Kind.VOLUME), Kind.VOLUME)


def flow(quantity: Quantity) -> str:
    return format_quantity(settled(quantity, Kind.FLOW), Kind.FLOW)


def signed_volume(quantity: Quantity) -> str:
    """A volume difference with its sign, ``+1.4 mL`` or ``-1.1 mL``."""
    shown = volume(quantity)
    return "+" + shown if float(quantity.m) > 0 and shown != "0 mL" else shown


def length(quantity: Quantity) -> str:
    return format_quantity(quantity, Kind.LENGTH)


def per_length(quantity: Quantity) -> str:
    return format_quantity(quantity, Kind.VOLUME_PER_LENGTH)


def days(quantity: Quantity) -> str:
    """A duration: hours below two days, days above (``28 h``, ``66.06 days``)."""
    return format_duration(settled(quantity, Kind.DURATION))


def concentration(quantity: Quantity, unit: MassUnit) -> str:
    return format_quantity(quantity, Kind.CONCENTRATION, unit)


def dose(quantity: Quantity, unit: MassUnit) -> str:
    return format_quantity(quantity, Kind.DOSE_RATE, unit)


def mass(quantity: Quantity, unit: MassUnit) -> str:
    return format_quantity(quantity, Kind.MASS, unit)


def day(value: date | datetime | None, missing: str = "not recorded") -> str:
    return missing if value is None else format_date(value)


def moment(value: datetime | None, missing: str = "not recorded") -> str:
    return missing if value is None else format_datetime(value)


def schedule_summary(schedule: Schedule, unit: MassUnit) -> str:
    """One line for tables: ``Simple continuous`` or ``Flex, 4 steps, 1 bolus``."""
    if schedule.is_simple:
        return "Simple continuous"
    steps, boluses = len(schedule.steps), len(schedule.boluses)
    text = f"Flex, {steps} step{'s' if steps != 1 else ''}"
    if boluses:
        text += f", {boluses} scheduled bolus{'es' if boluses != 1 else ''}"
    return text


def program_dose_lines(program: Program, unit: MassUnit) -> tuple[str, str]:
    """Daily dose and daily volume of a program; with the maximum when boluses are allowed."""
    daily = dose(program.daily_dose(), unit)
    daily_volume = flow(program.daily_volume())
    if program.patient_bolus is not None:
        daily += f" (with every patient bolus: {dose(program.max_daily_dose(), unit)})"
        daily_volume += f" (with every patient bolus: {flow(program.max_daily_volume())})"
    return daily, daily_volume


def prescription_dose_text(rx: PrescriptionRecord, program: Program) -> str:
    """Each drug's daily dose under a prescription: ``300 mcg/day`` or ``3 mg/day + 30 mcg/day``."""
    volume_rate = program.daily_volume()
    return " + ".join(
        dose((volume_rate * i.concentration).to(MCG_PER_DAY), i.display_unit)
        for i in rx.ingredients
    )


@dataclass(frozen=True)
class Signs:
    drug: str
    withdrawal: tuple[str, ...]
    overdose: tuple[str, ...]


def warning_signs(ingredients: Sequence[Ingredient], catalog: catalogs.Catalogs) -> list[Signs]:
    """The library's withdrawal and overdose signs of each drug in the solution.

    A drug the library lacks, or one without a listed sign, says so: an empty box on a safety
    sheet would read as "nothing to watch for".
    """
    result = []
    for ingredient in ingredients:
        try:
            drug = catalog.drug(ingredient.drug)
        except CatalogError:
            result.append(
                Signs(
                    ingredient.drug,
                    ("not in the drug library: ask the prescriber",),
                    ("not in the drug library: ask the prescriber",),
                )
            )
            continue
        result.append(
            Signs(
                drug.name,
                drug.withdrawal_signs or ("none listed in the drug library",),
                drug.overdose_signs or ("none listed in the drug library",),
            )
        )
    return result


def mri_note(pump: PumpRecord, catalog: catalogs.Catalogs) -> str:
    """The pump record's own MRI note, else the catalog's note for its model."""
    if pump.mri_note.strip():
        return pump.mri_note.strip()
    try:
        note = catalog.pump_model(pump.model_key).mri
    except CatalogError:
        note = None
    return note or NO_MRI_NOTE


def clinic_line(settings: ClinicSettings) -> str:
    """The clinic under a sheet's title: its name, and its phone when set."""
    return settings.clinic_name + (
        f"   Phone {settings.clinic_phone}" if settings.clinic_phone else ""
    )


def patient_line(patient: PatientRecord) -> str:
    """``DOE, Jane; MRN 12345; born Thu 1 Jan 1970``."""
    return f"{patient.display_name}; MRN {patient.mrn}; born {format_date(patient.date_of_birth)}"


def accuracy_text(accuracy_percent: float | None) -> str:
    """The labelled accuracy as ``±14.5 %``, or that it is not known."""
    if accuracy_percent is None:
        return "not known"
    return "±" + format_percent(accuracy_percent / 100, signed=False)
