"""What the nurse found at the bedside before refilling: the pre-refill interrogation, the
site and pocket assessment and the symptoms asked (issue 13, "The record of a visit").

Pure layer: stdlib and pint (through :mod:`pumpmgr.units`) only. The wording functions here are
the one text of each fact: the wizard, both worksheets and the visit note say it this way.
What paper refill sheets carry: field.md section 1.6; the alarms a SynchroMed programmer
reports: field.md section 1.1 [S..: Medtronic A810 programming guide].
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from pumpmgr.errors import Code, ImpossibleInput
from pumpmgr.formatting import format_date, format_percent, format_quantity
from pumpmgr.refill import (
    PROGRAMMER_ALARM_TOLERANCE_DAYS,
    PROGRAMMER_DAILY_VOLUME_TOLERANCE,
    PROGRAMMER_RESERVOIR_TOLERANCE_ML,
)
from pumpmgr.units import ML, Q_, Kind, Quantity, require_not_negative

_E = TypeVar("_E", bound=enum.StrEnum)


class PumpStatus(enum.StrEnum):
    """The pump's state as the programmer reads it before the refill."""

    RUNNING = "running"
    STOPPED = "stopped"


class PumpAlarm(enum.StrEnum):
    """The alarms a programmable pump reports (field.md 1.1: non-critical and critical)."""

    LOW_RESERVOIR = "low_reservoir"
    EMPTY_RESERVOIR = "empty_reservoir"
    ERI = "eri"
    END_OF_SERVICE = "end_of_service"
    MOTOR_STALL = "motor_stall"
    MEMORY_ERROR = "memory_error"


class SiteFinding(enum.StrEnum):
    """What the nurse may find at the pump site and pocket (an empty set: site normal)."""

    REDNESS = "redness"
    SWELLING = "swelling"
    TENDERNESS = "tenderness"
    FLUID = "fluid"  # fluid in the pocket: a seroma, a leak or a pocket fill
    WOUND = "wound"  # broken skin, drainage or erosion over the pump


ALARM_TEXT: dict[PumpAlarm, str] = {
    PumpAlarm.LOW_RESERVOIR: "low reservoir",
    PumpAlarm.EMPTY_RESERVOIR: "empty reservoir",
    PumpAlarm.ERI: "elective replacement (ERI)",
    PumpAlarm.END_OF_SERVICE: "end of service",
    PumpAlarm.MOTOR_STALL: "motor stall",
    PumpAlarm.MEMORY_ERROR: "memory error",
}

FINDING_TEXT: dict[SiteFinding, str] = {
    SiteFinding.REDNESS: "redness",
    SiteFinding.SWELLING: "swelling",
    SiteFinding.TENDERNESS: "tenderness",
    SiteFinding.FLUID: "fluid in the pocket",
    SiteFinding.WOUND: "wound or drainage",
}


@dataclass(frozen=True)
class Interrogation:
    """The programmer's reading before the refill (a programmable pump only)."""

    status: PumpStatus
    alarms: frozenset[PumpAlarm]
    reservoir: Quantity  #: the reservoir volume the programmer reports, mL
    #: the patient boluses it reports given since the last fill (None: not entered, or the
    #: program has no patient bolus)
    patient_boluses: int | None = None

    def __post_init__(self) -> None:
        require_not_negative(self.reservoir, Kind.VOLUME, "interrogated reservoir volume")
        count = self.patient_boluses
        if count is not None and (
            isinstance(count, bool) or not isinstance(count, int) or count < 0
        ):
            raise ImpossibleInput(
                "patient boluses: give the number the programmer shows, 0 or more",
                code=Code.BAD_NUMBER,
                field="patient boluses",
            )


@dataclass(frozen=True)
class SiteAssessment:
    findings: frozenset[SiteFinding]
    note: str = ""


@dataclass(frozen=True)
class SymptomCheck:
    """The symptoms asked: signs of withdrawal or of overdose found (False: asked, none)."""

    withdrawal: bool
    overdose: bool
    note: str = ""


@dataclass(frozen=True)
class BedsideFindings:
    """Everything found before the refill. ``interrogation`` is None for a constant-flow
    pump, which has no programmer."""

    interrogation: Interrogation | None
    site: SiteAssessment
    symptoms: SymptomCheck

    @property
    def pump_log_empty_or_stopped(self) -> bool:
        """The programmer shows an empty-reservoir alarm or a stopped pump: with withdrawal
        signs, what makes a refill a restart besides a reservoir found empty (domain-rules
        §3)."""
        reading = self.interrogation
        return reading is not None and (
            reading.status is PumpStatus.STOPPED or PumpAlarm.EMPTY_RESERVOIR in reading.alarms
        )

    @property
    def needs_attention(self) -> bool:
        """A finding a clinician must look at before the patient leaves."""
        reading = self.interrogation
        return bool(
            self.site.findings
            or self.symptoms.withdrawal
            or self.symptoms.overdose
            or (reading is not None and (reading.alarms or reading.status is PumpStatus.STOPPED))
        )


# ------------------------------------------------------------------ the one wording


def _ordered(items: Iterable[enum.StrEnum], order: Iterable[enum.StrEnum]) -> list[enum.StrEnum]:
    chosen = set(items)
    return [item for item in order if item in chosen]


def alarms_text(alarms: Iterable[PumpAlarm]) -> str:
    words = [ALARM_TEXT[PumpAlarm(a)] for a in _ordered(alarms, PumpAlarm)]
    return ", ".join(words) if words else "no alarm"


def interrogation_text(reading: Interrogation | None) -> str:
    """ "running, no alarm, reservoir 3.2 mL" (None: a constant-flow pump), and the patient
    boluses it reports when they were entered."""
    if reading is None:
        return "no programmer (constant-flow pump)"
    text = (
        f"{reading.status.value}, {alarms_text(reading.alarms)}, reservoir "
        f"{format_quantity(reading.reservoir, Kind.VOLUME)}"
    )
    count = reading.patient_boluses
    if count is not None:
        text += f", {count} patient bolus{'' if count == 1 else 'es'} since the last fill"
    return text


def site_text(site: SiteAssessment) -> str:
    words = [FINDING_TEXT[SiteFinding(f)] for f in _ordered(site.findings, SiteFinding)]
    text = ", ".join(words) if words else "site and pocket normal"
    return f"{text}: {site.note.strip()}" if site.note.strip() else text


def symptoms_text(symptoms: SymptomCheck) -> str:
    found = [
        name
        for name, present in (
            ("signs of withdrawal", symptoms.withdrawal),
            ("signs of overdose", symptoms.overdose),
        )
        if present
    ]
    text = " and ".join(found) if found else "no signs of withdrawal or overdose"
    return f"{text}: {symptoms.note.strip()}" if symptoms.note.strip() else text


def programmer_check_text(differs: bool | None, differing: Iterable[str] = ()) -> str:
    """The programmer cross-check's result as the review, the sheets and the note say it."""
    if differs is None:
        return "not made (no programmer figures)"
    if not differs:
        return "the programmer's figures agree with pumpmgr's forecast"
    names = ", ".join(differing)
    return "the programmer and pumpmgr DIFFER" + (f" ({names})" if names else "")


def investigate_text(day: date, difference: Quantity | None, note: str = "") -> str:
    """The last refill's residual said investigate: the patient's overview and the next
    refill's first step say it in these words."""
    shown = "" if difference is None else format_quantity(difference, Kind.VOLUME)
    if difference is not None and float(difference.to(ML).m) > 0 and shown != "0 mL":
        shown = "+" + shown
    text = f"the last residual said investigate ({format_date(day)}"
    text += f": {shown} expected minus aspirated)" if shown else ")"
    return text + (f"; note: {note.strip()}" if note.strip() else "")


def tolerance_text() -> str:
    """When the programmer's figures are flagged (:func:`pumpmgr.refill.compare_programmer`)."""
    return (
        f"flagged when the reservoir volume differs by more than "
        f"{format_quantity(Q_(PROGRAMMER_RESERVOIR_TOLERANCE_ML, ML), Kind.VOLUME)}, "
        f"the alarm date by more than {PROGRAMMER_ALARM_TOLERANCE_DAYS} day, or the daily "
        f"volume by more than "
        f"{format_percent(PROGRAMMER_DAILY_VOLUME_TOLERANCE, signed=False)}"
    )


# ------------------------------------------------------------------ stored form


def codes(items: Iterable[enum.StrEnum]) -> str:
    """Stored form of a set of findings or alarms: their codes, comma-separated, in order
    ('': none found)."""
    chosen = list(items)
    if not chosen:
        return ""
    return ",".join(str(item) for item in _ordered(chosen, list(type(chosen[0]))))


def alarms_from(stored: str) -> frozenset[PumpAlarm]:
    return frozenset(_parse(stored, PumpAlarm, "interrogated alarms"))


def findings_from(stored: str) -> frozenset[SiteFinding]:
    return frozenset(_parse(stored, SiteFinding, "site findings"))


def _parse(stored: str, kind: type[_E], field: str) -> list[_E]:
    found = []
    for code in filter(None, (c.strip() for c in stored.split(","))):
        try:
            found.append(kind(code))
        except ValueError:
            raise ImpossibleInput(
                f"{field}: '{code}' is not one of {', '.join(k.value for k in kind)}",
                code=Code.OUT_OF_RANGE,
                field=field,
            ) from None
    return found
