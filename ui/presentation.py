"""Words and colours the screens share: due states, reasons, days left, clinic-local dates.

UI layer, but free of Qt: imports the pure pumpmgr modules (formatting, records, units,
wording, and dosing for each drug's dose in an admixture) only, so it is tested without a
window. The solution, schedule and bolus are :mod:`pumpmgr.wording`'s, the words of the sheets
and the command line. Every number goes through :mod:`pumpmgr.formatting` with its unit;
colours always come with a word.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from pumpmgr.dosing import dose_for_volume
from pumpmgr.formatting import (
    MassUnit,
    format_date,
    format_datetime,
    format_quantity,
)
from pumpmgr.records import DueState, Ingredient, PrescriptionRecord
from pumpmgr.units import ML, Kind, Quantity
from pumpmgr.urgency import alarm_text as alarm_text
from pumpmgr.urgency import is_constant_flow as is_constant_flow
from pumpmgr.urgency import reason_text as reason_text
from pumpmgr.urgency import replace_by_text as replace_by_text
from pumpmgr.wording import DrugNames, bolus_text, findings_texts, solution_text

CONSTANT_FLOW = "constant_flow"
# alarm_text, is_constant_flow, reason_text and replace_by_text (imported above) are the due
# row's words of the core: the calendar file writes them too.


@dataclass(frozen=True)
class StateLook:
    word: str  #: what the state column says
    severity: int  #: 0 is the most urgent; sorts the state column
    background: str  #: row tint ("" for none)
    foreground: str  #: text colour on that tint


STATES: Mapping[DueState, StateLook] = {
    # an unreviewed incident or a declined order (domain-rules §4a, §7), above overdue
    "urgent": StateLook("Urgent", -1, "#f2b8b0", "#5a0d05"),
    "overdue": StateLook("Overdue", 0, "#f6d5d1", "#6e1a10"),
    "due_this_week": StateLook("Due this week", 1, "#fbe3bf", "#5c3a00"),
    "due_in_14_days": StateLook("Due in 14 days", 2, "#fdf3cf", "#4d3d00"),
    "fine": StateLook("Fine", 3, "", ""),
}


def count_text(count: int, word: str) -> str:
    """``count`` and ``word``, plural unless it is one: "1 minute", "30 seconds"."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def local_datetime(moment: datetime, tz: tzinfo) -> datetime:
    """An instant as the clinic's wall-clock time."""
    return moment.astimezone(tz)


def local_date(moment: datetime, tz: tzinfo) -> date:
    return moment.astimezone(tz).date()


def date_text(
    day: date | datetime | None,
    tz: tzinfo | None = None,
    missing: str = "none",
) -> str:
    """A date as :func:`pumpmgr.formatting.format_date` writes it; an aware datetime is first
    moved to the clinic's zone ``tz``."""
    if day is None:
        return missing
    if isinstance(day, datetime) and tz is not None and day.tzinfo is not None:
        day = day.astimezone(tz)
    return format_date(day)


def datetime_text(moment: datetime | None, tz: tzinfo, missing: str = "none") -> str:
    """Date and 24-hour time in the clinic's zone."""
    if moment is None:
        return missing
    return format_datetime(moment.astimezone(tz))


# ------------------------------------------------------------------ programs (their words:
# pumpmgr.wording)


def dose_text(quantity: Quantity, unit: MassUnit) -> str:
    return format_quantity(quantity, Kind.DOSE_RATE, unit)


def volume_text(quantity: Quantity | None, missing: str = "not recorded") -> str:
    return missing if quantity is None else format_quantity(quantity, Kind.VOLUME)


def signed_volume_text(quantity: Quantity) -> str:
    """A volume difference with its sign: ``+1.6 mL`` or ``-0.4 mL``."""
    shown = format_quantity(quantity, Kind.VOLUME)
    return "+" + shown if float(quantity.to(ML).m) > 0 and shown != "0 mL" else shown


def drug_doses(rx: PrescriptionRecord) -> list[tuple[Ingredient, Quantity]]:
    """Each drug of the solution with its daily dose at the program's daily volume."""
    volume = rx.program.daily_volume()
    return [(i, dose_for_volume(volume, i.concentration)) for i in rx.ingredients]


def prescription_summary(rx: PrescriptionRecord, names: DrugNames) -> str:
    """One line for the history: solution, each drug's daily dose, daily volume, schedule."""
    unit = rx.primary.display_unit
    doses = " + ".join(dose_text(d, i.display_unit) for i, d in drug_doses(rx))
    kind = (
        "simple continuous" if rx.schedule.is_simple else (f"flex, {len(rx.schedule.steps)} steps")
    )
    text = (
        f"{solution_text(rx.ingredients, names)}: {doses} "
        f"({format_quantity(rx.program.daily_volume(), Kind.FLOW)}), {kind}"
    )
    if rx.patient_bolus is not None:
        text += f"; patient bolus {bolus_text(rx.patient_bolus, unit)}"
    return text


def findings_text(rx: PrescriptionRecord) -> str:
    """The dose-check findings saved with a prescription, each warning with its reason."""
    return "; ".join(findings_texts(rx.findings))
