"""What the clinic's services hand out: frozen records of patients, pumps, programs and refills.

Pure layer: stdlib and pint (through the other pure modules) only. Services turn database rows
into these values and back; screens and printed sheets read only these, so no ORM object (and no
database session) ever reaches a widget or a page. Every physical value is a pint quantity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Literal

from pumpmgr.forecast import (
    DEFAULT_MAX_REFILL_INTERVAL_DAYS,
    DueReason,
    RefillState,
    state_before_refill,
)
from pumpmgr.formatting import MassUnit
from pumpmgr.refill import DEFAULT_EMPTY_THRESHOLD_ML, Verdict
from pumpmgr.schedule import PatientBolus, Program, Schedule
from pumpmgr.units import Quantity
from pumpmgr.visit_record import BedsideFindings

Indication = Literal[
    "spasticity_spinal", "spasticity_cerebral", "cancer_pain", "non_cancer_pain", "other"
]
PatientStatus = Literal["active", "inactive", "deceased"]
PumpStatus = Literal["active", "inactive", "explanted"]
FindingLevel = Literal["ok", "warning", "stop", "blocked"]
#: ``urgent``: an incident no prescriber has reviewed, or an order the prescriber declined and
#: no new order programmed since (domain-rules §4a, §7).
DueState = Literal["urgent", "overdue", "due_this_week", "due_in_14_days", "fine"]
BookingPlace = Literal["clinic", "home"]
BookingState = Literal["booked", "cancelled", "did_not_attend", "attended"]
BookingStatus = Literal["", "not_booked", "booked_too_late", "did_not_attend"]
EventKind = Literal[
    "implant", "replacement", "explant", "catheter_revision", "mri", "alarm", "eri", "note"
]

INDICATION_TEXT: dict[str, str] = {
    "spasticity_spinal": "spasticity of spinal origin",
    "spasticity_cerebral": "spasticity of cerebral origin",
    "cancer_pain": "cancer pain",
    "non_cancer_pain": "non-cancer pain",
    "other": "other",
}


@dataclass(frozen=True)
class PatientRecord:
    id: int
    mrn: str
    family_name: str
    given_name: str
    date_of_birth: date
    indication: Indication
    renal_impairment: bool = False
    emergency_contact: str = ""
    notes: str = ""
    status: PatientStatus = "active"
    #: None: not recorded, which the dose checks count as naive (domain-rules §6).
    opioid_status: Literal["naive", "tolerant"] | None = None
    phone: str = ""  #: the patient's own telephone, for the call list of missed visits

    @property
    def display_name(self) -> str:
        """Family name first, as clinic lists sort and read it."""
        return f"{self.family_name.upper()}, {self.given_name}"

    @property
    def name_and_mrn(self) -> str:
        """The patient as lists name them: ``BERG, Nina (MRN 1001)``."""
        return f"{self.display_name} (MRN {self.mrn})"


@dataclass(frozen=True)
class PumpRecord:
    id: int
    patient_id: int
    model_key: str
    model_name: str
    pump_type: str  #: programmable_peristaltic, valve_gated or constant_flow
    serial_number: str
    implanted_on: date
    site: str
    capacity: Quantity  #: mL
    alarm_volume: Quantity  #: the patient's low-reservoir alarm volume, mL
    accuracy_percent: float | None  #: labelled accuracy, when sourced or entered
    nominal_flow: Quantity | None = None  #: constant-flow pumps, mL/day
    pump_path_volume: Quantity | None = None  #: clinician-confirmed fluid path, mL
    replace_by: date | None = None  #: battery pumps: expected end of service
    status: PumpStatus = "active"
    explanted_on: date | None = None
    explant_reason: str = ""
    mri_note: str = ""


@dataclass(frozen=True)
class CatheterSegmentRecord:
    length: Quantity  #: implanted length, cm
    trimmed: Quantity  #: cut off at implant or revision, cm
    volume_per_length: Quantity | None  #: mL/cm; None when the IFU value is not entered


@dataclass(frozen=True)
class CatheterRecord:
    id: int
    pump_id: int
    model_key: str
    segments: tuple[CatheterSegmentRecord, ...]
    tip_level: str
    implanted_on: date
    revised_on: date | None = None
    volume: Quantity | None = None  #: Σ length × volume per length, mL; None when unknown
    corrects_id: int | None = None
    user: str = ""  #: who recorded this version
    correction_reason: str = ""


@dataclass(frozen=True)
class Ingredient:
    drug: str  #: the drug library's name, e.g. "baclofen"
    concentration: Quantity  #: mass per volume
    display_unit: Literal["mcg", "mg"] = "mcg"


@dataclass(frozen=True)
class FindingRecord:
    level: FindingLevel
    code: str
    message: str
    reason: str = ""  #: why a warning was accepted; required for warnings


@dataclass(frozen=True)
class PrescriptionRecord:
    """One version of a pump's prescription; the first ingredient is the one dosed."""

    id: int
    pump_id: int
    ingredients: tuple[Ingredient, ...]
    schedule: Schedule
    patient_bolus: PatientBolus | None
    effective_at: datetime
    prescriber: str
    findings: tuple[FindingRecord, ...] = ()
    corrects_id: int | None = None
    correction_reason: str = ""  #: why this version supersedes the one it corrects
    #: The prescriber's account; None on a version recorded before orders named an account,
    #: whose ``prescriber`` is the text typed then.
    prescriber_id: int | None = None
    #: :class:`pumpmgr.orders.OrderState` value; None on a version recorded before orders
    #: were signed (history).
    order_state: str | None = None
    #: The daily dose of each drug (key) this version continues from before the record, as
    #: its entry said (a drug's first prescription here that is not a start, domain-rules §6).
    continued: tuple[tuple[str, Quantity], ...] = ()

    @property
    def continued_doses(self) -> dict[str, Quantity]:
        return dict(self.continued)

    @property
    def prescriber_text(self) -> str:
        """The prescriber as every screen and sheet names them: an account's name, or the
        text typed before prescribers were accounts, said as such."""
        if self.prescriber_id is None and self.prescriber:
            return f"{self.prescriber} (as typed)"
        return self.prescriber

    @property
    def primary(self) -> Ingredient:
        return self.ingredients[0]

    @property
    def program(self) -> Program:
        return Program(self.primary.concentration, self.schedule, self.patient_bolus)

    @property
    def is_admixture(self) -> bool:
        return len(self.ingredients) > 1


@dataclass(frozen=True)
class ProgrammerFigures:
    """What the pump's programmer shows after the update, as the nurse copied it."""

    reservoir: Quantity  #: the reservoir volume it was told, mL
    alarm_date: date  #: the low-reservoir alarm date it computed
    daily_volume: Quantity  #: the volume it delivers a day, mL/day


@dataclass(frozen=True)
class RefillRecord:
    id: int
    pump_id: int
    performed_at: datetime
    previous_fill_volume: Quantity | None  #: what the last fill left in the reservoir, mL
    expected_residual: Quantity | None  #: computed, mL (None for the first fill of a pump)
    aspirated: Quantity | None  #: measured, mL
    discrepancy_verdict: Verdict | None
    discrepancy_difference: Quantity | None  #: expected − aspirated, mL
    discrepancy_note: str
    volume_added: Quantity  #: mL
    final_volume: Quantity  #: mL
    ingredients: tuple[Ingredient, ...]
    lot_number: str
    expiry: date
    source: str  #: pharmacy, manufacturer...
    bridge_bolus: Quantity | None  #: mL given as bridge or priming bolus
    needle_position_confirmed: bool
    pump_running_confirmed: bool
    nurse: str
    verifier: str
    prescription_id: int | None = None
    corrects_id: int | None = None
    #: The programmer's own figures (None: a constant-flow pump, or not entered) and whether
    #: they differed from pumpmgr's forecast when the refill was saved.
    programmer: ProgrammerFigures | None = None
    programmer_differs: bool | None = None
    correction_reason: str = ""  #: why this version supersedes the one it corrects
    bridge_bolus_given: bool = False  #: the bolus volume was a bridge bolus
    priming_bolus_given: bool = False  #: the bolus volume was a priming bolus
    compounded: bool = False  #: a pharmacy compounded the solution (``expiry`` is its BUD)
    #: What the nurse found before refilling (None: recorded before revision 0016).
    bedside: BedsideFindings | None = None
    #: At a restart, the worst-case empty instant of the fill before when it was at or before
    #: this visit (revision 0017): the time without drug counts from it.
    empty_at_worst_case: datetime | None = None
    #: The solution is undiluted as supplied by the manufacturer, recorded at the refill
    #: (revision 0018; None: not recorded, a refill made before it or a solution whose
    #: stability does not depend on it). Never inferred from the concentration.
    undiluted: bool | None = None


@dataclass(frozen=True)
class EventRecord:
    id: int
    pump_id: int | None
    patient_id: int
    kind: EventKind
    occurred_at: datetime
    summary: str
    user: str
    details: dict[str, str] = field(default_factory=dict)
    corrects_id: int | None = None
    correction_reason: str = ""


@dataclass(frozen=True)
class StoredForecast:
    """The forecast kept with a pump so the due list is one indexed query."""

    pump_id: int
    filled_at: datetime
    fill_volume: Quantity
    daily_volume: Quantity
    alarm_at: datetime
    alarm_at_with_boluses: datetime
    refill_due: date
    refill_due_reason: DueReason
    empty_at: datetime
    #: when the worst-case residual (every bolus taken, the pump running fast) reaches the
    #: alarm volume and 0 (None: stored before revision 0007)
    alarm_at_worst_case: datetime | None = None
    empty_at_worst_case: datetime | None = None
    over_infusion_risk: bool = False  #: the pump ran empty (HSA notice, 8 Nov 2016)

    def state(
        self, now: datetime, *, stopped: bool = False, past_end_of_service: bool = False
    ) -> RefillState | None:
        """The pump's state before its refill at ``now`` (domain-rules §3)."""
        return state_before_refill(
            now=now,
            alarm_at=self.alarm_at,
            empty_at=self.empty_at,
            empty_at_worst_case=self.empty_at_worst_case,
            stopped=stopped,
            past_end_of_service=past_end_of_service,
        )


@dataclass(slots=True)
class DueRow:
    """One line of the clinic's due list.

    Not frozen, unlike the other records: a frozen dataclass sets each field through
    ``object.__setattr__``, and the due list makes one for every active pump. Nothing changes
    a row after the service made it. ``QueryService.due_list`` passes the fields by position:
    a field added or moved here is added or moved there too.
    """

    patient_id: int
    mrn: str
    patient: str
    pump_id: int
    pump_model: str
    pump_type: str
    drug: str  #: e.g. "baclofen 2000 mcg/mL" or "morphine 10 mg/mL + clonidine 100 mcg/mL"
    days_left: float  #: days of drug left before the alarm (with boluses), from today
    alarm_at: datetime
    refill_due: date
    refill_due_reason: DueReason
    replace_by: date | None
    state: DueState
    open_discrepancy: bool = False
    flex_schedule: bool = False
    #: The pump's most pressing order state (:class:`pumpmgr.orders.OrderState` value), None
    #: when every order is signed; whether an incident awaits a prescriber's review.
    order_alert: str | None = None
    open_incident: bool = False
    #: A Stop order of the pump awaits being carried out (domain-rules §6).
    open_stop_order: bool = False
    #: The nominal forecast's alarm (``alarm_at`` counts every bolus), when one is stored.
    nominal_alarm_at: datetime | None = None
    #: When the nominal residual reaches 0, when one is stored.
    empty_at: datetime | None = None
    #: When the reservoir may reach its alarm volume, and 0 mL, if the pump runs fast
    #: (domain-rules §3), when stored.
    alarm_at_worst_case: datetime | None = None
    empty_at_worst_case: datetime | None = None
    #: The nominal residual now, never below 0 (mL), when a fill is recorded.
    volume_left_ml: float | None = None
    #: The catalog keys of the solution's drugs (empty: no prescription).
    drug_keys: tuple[str, ...] = ()
    #: The state before the refill at the time the list was read (domain-rules §3): computed
    #: empty, may be empty, alarm passed; None: none of them.
    refill_state: RefillState | None = None
    #: The day of the pump's open refill booking, None when it has none (issue 16).
    booked_on: date | None = None
    #: How the pump stands against the booking rules: "" (booked in time, or not due within
    #: the clinic's horizon), "not_booked", "booked_too_late" or "did_not_attend".
    booking: BookingStatus = ""
    #: For the call list of missed visits: the patient's phone and emergency contact.
    phone: str = ""
    emergency_contact: str = ""


@dataclass(frozen=True)
class OrderRecord:
    """One order as the co-signature list and the patient's banner show it."""

    prescription_id: int
    pump_id: int
    patient_id: int
    mrn: str
    patient: str  #: "FAMILY, Given"
    state: str  #: :class:`pumpmgr.orders.OrderState` value
    state_text: str  #: its words (:data:`pumpmgr.orders.STATE_TEXT`)
    high_risk: bool
    prescriber_id: int
    prescriber: str
    entered_by: str
    entered_at: datetime
    effective_at: datetime
    given_as: str | None  #: spoken, telephone, written; None for a prescriber's own entry
    read_back_confirmed: bool | None
    programmed: bool  #: the pump runs it (so every forecast uses it)
    overdue: bool
    solution: str  #: :func:`pumpmgr.wording.solution_text`: "Baclofen 2,000 mcg/mL"
    dose: str = ""  #: each drug's daily dose, "Baclofen 2,500 mcg/day" (what is signed)
    findings: tuple[str, ...] = ()  #: the dose-check messages shown at entry
    decided_by: str = ""  #: who signed or declined it
    decided_at: datetime | None = None
    decline_reason: str = ""


@dataclass(frozen=True)
class IncidentRecord:
    """Something that already happened in a pump and broke a limit (domain-rules §4a)."""

    id: int
    pump_id: int
    kind: str  #: :class:`pumpmgr.orders.IncidentKind` value
    text: str  #: "programmed outside limits"
    summary: str  #: the findings that would have stopped an order
    occurred_at: datetime
    recorded_by: str
    prescription_id: int | None = None
    refill_id: int | None = None
    reviewed_by: str = ""  #: empty until a prescriber reviews it
    reviewed_at: datetime | None = None
    review_note: str = ""


@dataclass(frozen=True)
class BookingRecord:
    """A refill visit booked for a pump, judged against the pump's forecast as it is now."""

    id: int
    pump_id: int
    patient_id: int
    mrn: str
    patient: str  #: "FAMILY, Given"
    day: date
    at: time | None  #: clinic local time; None: the day only
    place: BookingPlace
    nurse: str  #: the nurse's full name, "" when not known
    note: str
    state: BookingState
    late_reason: str  #: why it was booked after the refill-due date ("" when not)
    refill_due: date | None  #: the pump's refill-due date now (None: no forecast)
    too_late: bool  #: an open booking after the refill-due date as it is now
    booked_by: str
    booked_at: datetime
    changed_by: str
    changed_at: datetime
    version: int


@dataclass(frozen=True)
class PumpToBook:
    """A pump with no open booking, for the week view's "must be booked by" lists."""

    pump_id: int
    patient_id: int
    mrn: str
    patient: str
    refill_due: date


@dataclass(frozen=True)
class DayPlan:
    """One day of the week view."""

    day: date
    open: bool
    bookings: tuple[BookingRecord, ...]  #: open, attended and missed visits, by time
    #: visits still free per place ("clinic", "home"); 0 when closed or full, never negative
    free: dict[str, int]
    #: pumps with no booking whose last safe open day (on or before the refill-due date) is
    #: this day; on the week's first day also those whose last safe day has already passed
    must_book: tuple[PumpToBook, ...]


@dataclass(frozen=True)
class WeekView:
    start: date
    days: tuple[DayPlan, ...]


@dataclass(frozen=True)
class StopOrderRecord:
    """A prescriber's Stop order of one drug of a pump (domain-rules §6)."""

    id: int
    pump_id: int
    drug_key: str
    drug: str  #: "Baclofen"
    prescriber: str  #: the prescriber's full name
    effective_at: datetime
    reason: str
    long_stop: bool  #: the pump is to be emptied and filled with preservative-free saline
    #: The drug's withdrawal warning (:func:`pumpmgr.stop_orders.withdrawal_warning`), "" if none.
    withdrawal_warning: str
    carried_out: str = ""  #: :class:`pumpmgr.stop_orders.CarriedOut` value; "" while open
    carried_out_by: str = ""
    carried_out_at: datetime | None = None


@dataclass(frozen=True)
class IndividualMaximumRecord:
    """A patient's raised hard maximum of one drug as it stands (domain-rules §6)."""

    id: int  #: the newest row of its history (set or reviewed)
    patient_id: int
    drug_key: str
    drug: str  #: "Baclofen"
    unit: MassUnit  #: the drug's display unit
    maximum: Quantity  #: in the drug's display unit per day
    reason: str  #: why it was raised
    set_by: str  #: the prescriber who raised it
    signed_by: str  #: the second prescriber who signed it
    set_at: datetime
    reviewed_by: str  #: "" until reviewed
    reviewed_at: datetime | None
    review_by: date  #: reviewed by this day at the latest (clinic policy: 6 months)
    review_overdue: bool


@dataclass(frozen=True)
class PatientChart:
    """Everything the patient view and the patient sheets show about one patient."""

    patient: PatientRecord
    pump: PumpRecord | None
    catheter: CatheterRecord | None
    prescription: PrescriptionRecord | None
    forecast: StoredForecast | None
    pumps: tuple[PumpRecord, ...] = ()  #: every pump, oldest first, the current one included
    prescriptions: tuple[PrescriptionRecord, ...] = ()  #: oldest first
    refills: tuple[RefillRecord, ...] = ()  #: oldest first
    events: tuple[EventRecord, ...] = ()  #: oldest first
    #: Every catheter version of the patient's pumps, corrected ones included, oldest first.
    catheters: tuple[CatheterRecord, ...] = ()
    #: Orders not yet signed or declined and not superseded (unsigned high-risk first), and
    #: incidents no prescriber has reviewed: the patient's banner.
    open_orders: tuple[OrderRecord, ...] = ()
    open_incidents: tuple[IncidentRecord, ...] = ()
    #: The patient's individual maxima in force (domain-rules §6: shown on every screen).
    individual_maxima: tuple[IndividualMaximumRecord, ...] = ()
    #: Stop orders of the patient's pumps not yet carried out (domain-rules §6).
    stop_orders: tuple[StopOrderRecord, ...] = ()


@dataclass(frozen=True)
class ClinicSettings:
    clinic_name: str = "Intrathecal Pump Clinic"
    clinic_phone: str = ""
    buffer_days: int = 7
    open_days: frozenset[int] = frozenset(range(5))
    page_size: Literal["A4", "Letter"] = "A4"
    auto_lock_minutes: int = 10
    #: Clinic policy (domain-rules §7): hours before an order awaiting co-signature, and an
    #: unsigned high-risk order, is overdue.
    cosign_overdue_hours: int = 48
    high_risk_overdue_hours: int = 24
    #: The longest refill interval for a drug the library gives none (clinic policy, 90 days;
    #: domain-rules §3).
    max_refill_interval_days: int = DEFAULT_MAX_REFILL_INTERVAL_DAYS
    #: Dates the clinic is closed besides the weekdays it never opens (domain-rules §3).
    closed_dates: frozenset[date] = frozenset()
    #: Aspirated at or below this, the reservoir was found empty (clinic policy, 0.5 mL;
    #: domain-rules section 4).
    empty_threshold_ml: float = DEFAULT_EMPTY_THRESHOLD_ML
    #: Refill visits a day in a clinic room and on home visits (clinic policy, issue 16).
    clinic_visits_per_day: int = 8
    home_visits_per_day: int = 2
    #: Days ahead within which a due pump without a booking is listed as not booked.
    booking_horizon_days: int = 21
    #: The clinic's IANA time zone (e.g. "Europe/Paris"); empty: the workstation's own.
    time_zone: str = ""
