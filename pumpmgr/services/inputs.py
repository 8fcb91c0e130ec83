"""What a user action brings to a service: frozen inputs, quantities with their units.

Pure layer. Forms and the command line build these; services validate them with the domain
core and write them in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pumpmgr.records import Indication, PatientChart, ProgrammerFigures
from pumpmgr.schedule import PatientBolus, Schedule
from pumpmgr.units import Quantity
from pumpmgr.visit_record import BedsideFindings


@dataclass(frozen=True)
class Verification:
    """The second nurse's independent check: their own user name and password."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class PumpSeen:
    """The newest refill and prescription rows (corrections included) of a pump as a view read
    them; None: the pump had none. A refill or prescription change begun from that view is
    refused at save when another has been recorded since (:mod:`.staleness`)."""

    refill_id: int | None
    prescription_id: int | None

    @classmethod
    def of(cls, chart: PatientChart) -> PumpSeen | None:
        """What ``chart`` read of its active pump (None without one)."""
        if chart.pump is None:
            return None
        pump_id = chart.pump.id
        return cls(
            max((r.id for r in chart.refills if r.pump_id == pump_id), default=None),
            max((p.id for p in chart.prescriptions if p.pump_id == pump_id), default=None),
        )


@dataclass(frozen=True)
class PatientInput:
    mrn: str
    family_name: str
    given_name: str
    date_of_birth: date
    indication: Indication
    renal_impairment: bool = False
    emergency_contact_name: str = ""
    emergency_contact_phone: str = ""
    notes: str = ""
    phone: str = ""  #: the patient's own telephone
    #: None: not recorded, which the dose checks count as naive (domain-rules §6).
    opioid_status: Literal["naive", "tolerant"] | None = None


@dataclass(frozen=True)
class SegmentInput:
    implanted_length: Quantity  #: cm
    trimmed_length: Quantity  #: cm
    volume_per_length: Quantity  #: mL/cm, from the catheter's IFU


@dataclass(frozen=True)
class CatheterInput:
    model_key: str
    segments: tuple[SegmentInput, ...]
    tip_level: str


@dataclass(frozen=True)
class PumpInput:
    """A pump being implanted. Capacity and alarm volume default to the catalog's values only
    when the catalog has them sourced; the clinic confirms the unsourced ones."""

    model_key: str
    serial_number: str
    implanted_on: date
    site: str
    capacity: Quantity | None = None
    alarm_volume: Quantity | None = None
    accuracy_percent: float | None = None
    nominal_flow: Quantity | None = None
    pump_path_volume: Quantity | None = None
    replace_by: date | None = None


@dataclass(frozen=True)
class IngredientInput:
    drug: str
    concentration: Quantity


class TenfoldReason(StrEnum):
    """Why a prescriber saves a change with a possible tenfold error (domain-rules §6)."""

    #: decreases
    OVERDOSE_OR_ADVERSE_EFFECT = "overdose_or_adverse_effect"
    PROCEDURE_OR_MINIMUM_RATE = "procedure_or_minimum_rate"
    #: increases
    RETURN_TO_HELD_DOSE = "return_to_held_dose"  #: then checked against that dose
    RESTART = "restart"  #: then checked as a start
    #: either, with its text
    OTHER = "other"


@dataclass(frozen=True)
class TenfoldConfirmation:
    """The prescriber's blind re-entry of a change flagged as a possible tenfold error."""

    #: The new daily dose of each flagged drug (by drug name or key), typed again without
    #: seeing the first entry.
    reentered: Mapping[str, Quantity]
    reason: TenfoldReason
    other_text: str = ""  #: required with ``OTHER``


@dataclass(frozen=True)
class OrderGiven:
    """How the prescriber gave an order that a nurse enters (domain-rules §7)."""

    #: ``spoken``, ``telephone`` or ``written`` (:class:`pumpmgr.orders.GivenAs`).
    given_as: str
    given_at: datetime
    #: Required for a spoken or telephone order: it was read back and the prescriber confirmed.
    read_back_confirmed: bool = False


@dataclass(frozen=True)
class PrescriptionInput:
    """A new prescription version: the schedule's rates are doses of the first ingredient."""

    ingredients: tuple[IngredientInput, ...]
    schedule: Schedule
    effective_at: datetime
    #: The prescriber's account, by user name or full name: one of the clinic's active
    #: prescribers, never free text (domain-rules §7).
    prescriber: str
    patient_bolus: PatientBolus | None = None
    #: Why each warning is accepted, by finding code; every warning needs one.
    reasons: Mapping[str, str] = field(default_factory=dict)
    note: str = ""
    #: Required when a nurse enters the order (the prescriber's own entry needs none).
    order: OrderGiven | None = None
    #: The pump was already programmed with it (a fact, domain-rules §4a): recorded as it is,
    #: with an incident where a finding would have stopped it; otherwise an order that needs the
    #: prescriber waits for the signature before it is programmed.
    already_programmed: bool = False
    #: Drugs to check as starts besides those found from the record: a drug the patient has no
    #: record of (unless ``continues`` gives its dose), and a restart (the drug absent longer
    #: than its restart window).
    starts: frozenset[str] = frozenset()
    #: The answer for a drug the patient has no record of: the daily dose they already receive
    #: from before this record (a therapy transferred in), by drug name or key. Recorded and
    #: audited; the checks compare the new dose with it. A drug with no record and no answer
    #: here is a start (domain-rules §6).
    continues: Mapping[str, Quantity] = field(default_factory=dict)
    #: Baclofen starts: the effective screening bolus and how long its effect lasted (h).
    screening_bolus: Quantity | None = None
    screening_effect_hours: float | None = None
    #: Needed to save a possible tenfold error: a prescriber only (domain-rules §6).
    tenfold: TenfoldConfirmation | None = None
    #: What the form's view read of the pump (None: not checked, e.g. the command line).
    seen: PumpSeen | None = None


@dataclass(frozen=True)
class RefillInput:
    performed_at: datetime
    aspirated: Quantity
    volume_added: Quantity
    lot_number: str
    expiry: date
    source: str
    needle_position_confirmed: bool
    pump_running_confirmed: bool
    discrepancy_note: str = ""
    #: A new prescription saved with this refill (new concentration, drug or program).
    new_prescription: PrescriptionInput | None = None
    #: The nurse saw the bridge calculation for a concentration change and decided on it.
    bridge_acknowledged: bool = False
    bridge_bolus_given: bool = False
    priming_bolus_given: bool = False
    bolus_volume: Quantity | None = None  #: drawn from the reservoir by a bridge/priming bolus
    #: The programmer's own figures after the update, as it shows them (None for a
    #: constant-flow pump, which has no programmer); compared with pumpmgr's forecast.
    programmer: ProgrammerFigures | None = None
    #: A pharmacy compounded the solution: ``expiry`` is its beyond-use date (domain-rules §3).
    compounded: bool = False
    #: The fill was already made (recorded after the fact, domain-rules §4a): an expired
    #: solution is recorded with an incident instead of refused.
    already_filled: bool = False
    #: What the wizard's view read of the pump (None: not checked, e.g. the command line).
    seen: PumpSeen | None = None
    #: What the nurse found before refilling: the programmer's reading (None for a
    #: constant-flow pump), the site and pocket, the symptoms asked. Its empty-reservoir alarm,
    #: a stopped pump and withdrawal signs make the refill a restart (domain-rules §3).
    bedside: BedsideFindings | None = None
    #: The solution is undiluted as supplied by the manufacturer (ziconotide's stability limit
    #: depends on it, domain-rules §3); None: not recorded, and refused for a solution whose
    #: stability does not depend on it.
    undiluted: bool | None = None


@dataclass(frozen=True)
class EventCorrection:
    """A pump event as it should have been recorded; None keeps the recorded value.

    The time of an implant, replacement, explant or catheter revision is the pump's or the
    catheter's own record and is not corrected here (a :class:`PumpCorrection` moves the
    pump's implant or explant event with the pump's date); ``kind`` moves only between alarm, ERI
    and note; the post-MRI check belongs to MRI events only.
    """

    event_id: int
    occurred_at: datetime | None = None
    note: str | None = None
    post_mri_check_done: bool | None = None
    kind: Literal["alarm", "eri", "note"] | None = None


@dataclass(frozen=True)
class CatheterCorrection:
    """A catheter as it should have been recorded; None keeps the recorded value
    (``catheter``: the model, segments and tip level together)."""

    catheter_id: int
    catheter: CatheterInput | None = None
    implanted_on: date | None = None
    revised_on: date | None = None


@dataclass(frozen=True)
class PumpCorrection:
    """A pump's implant or explant date as it should have been recorded; None keeps the
    recorded date. Only an explanted pump has an explant date to correct."""

    pump_id: int
    implanted_on: date | None = None
    explanted_on: date | None = None


#: What :meth:`pumpmgr.services.corrections.CorrectionService.correct_record` corrects, by
#: record kind.
RecordCorrection = EventCorrection | CatheterCorrection | PumpCorrection
