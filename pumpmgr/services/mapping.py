"""Database rows to the frozen records services hand out (application layer).

May import the pure modules and ``pumpmgr.db.schema``. Canonical magnitudes become quantities
here and nowhere else; no function here opens a session or commits.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, tzinfo

from pumpmgr import catalogs as catalog_module
from pumpmgr.catalogs import Catalogs, DrugLibrary
from pumpmgr.db import schema as db
from pumpmgr.errors import CatalogError
from pumpmgr.orders import OrderState, order_state
from pumpmgr.records import (
    CatheterRecord,
    CatheterSegmentRecord,
    EventRecord,
    FindingRecord,
    Ingredient,
    PatientRecord,
    PrescriptionRecord,
    ProgrammerFigures,
    PumpRecord,
    RefillRecord,
    StoredForecast,
)
from pumpmgr.schedule import PatientBolus, Schedule, ScheduledBolus, Step
from pumpmgr.units import ML, ML_PER_DAY, Q_, Kind, Quantity, from_canonical, to_canonical
from pumpmgr.visit_record import (
    BedsideFindings,
    Interrogation,
    PumpStatus,
    SiteAssessment,
    SymptomCheck,
    alarms_from,
    codes,
    findings_from,
)


def local(moment: datetime, tz: tzinfo) -> datetime:
    """An instant as the clinic's wall-clock time (aware, in the clinic's zone)."""
    return moment.astimezone(tz)


@functools.lru_cache(maxsize=4096, typed=True)
def volume(ml: float) -> Quantity:
    """The quantity of ``ml`` mL, one object for each distinct value (never changed by its
    users, like every record's quantities): a refill's volumes repeat across a long history,
    and each quantity pint makes costs time (docs/performance.md)."""
    return Q_(ml, ML)


def optional(magnitude: float | None, kind: Kind) -> Quantity | None:
    return None if magnitude is None else from_canonical(magnitude, kind)


def patient_record(row: db.Patient) -> PatientRecord:
    contact = " ".join(p for p in (row.emergency_contact_name, row.emergency_contact_phone) if p)
    return PatientRecord(
        id=row.id,
        mrn=row.mrn,
        family_name=row.family_name,
        given_name=row.given_name,
        date_of_birth=row.date_of_birth,
        indication=row.indication.value,
        renal_impairment=row.renal_impairment,
        emergency_contact=contact,
        notes=row.notes,
        status=row.status.value,
        opioid_status=None if row.opioid_status is None else row.opioid_status.value,
        phone=row.phone or "",
    )


def pump_record(row: db.Pump, catalogs: Catalogs) -> PumpRecord:
    try:
        model = catalogs.pump_model(row.model_key)
        name, pump_type, mri = model.name, str(model.type), model.mri or ""
    except CatalogError:  # a model the catalog no longer lists: keep the record readable
        name, pump_type, mri = row.model_key, "unknown", ""
    return PumpRecord(
        id=row.id,
        patient_id=row.patient_id,
        model_key=row.model_key,
        model_name=name,
        pump_type=pump_type,
        serial_number=row.serial_number,
        implanted_on=row.implant_date,
        site=row.implant_site,
        capacity=from_canonical(row.reservoir_capacity_ml, Kind.VOLUME),
        alarm_volume=from_canonical(row.low_reservoir_alarm_ml, Kind.VOLUME),
        accuracy_percent=row.accuracy_percent,
        nominal_flow=optional(row.nominal_flow_ml_per_day, Kind.FLOW),
        pump_path_volume=optional(row.pump_path_volume_ml, Kind.VOLUME),
        replace_by=row.replace_by_date,
        status=row.status.value,
        explanted_on=row.explant_date,
        explant_reason=row.explant_reason or "",
        mri_note=mri,
    )


def catheter_record(
    row: db.Catheter,
    segments: list[db.CatheterSegment],
    user: str = "",
) -> CatheterRecord:
    ordered = sorted(segments, key=lambda s: s.position)
    volume = sum(s.implanted_length_cm * s.volume_ml_per_cm for s in ordered)
    return CatheterRecord(
        id=row.id,
        pump_id=row.pump_id or 0,
        model_key=row.model_key,
        segments=tuple(
            CatheterSegmentRecord(
                length=from_canonical(s.implanted_length_cm, Kind.LENGTH),
                trimmed=from_canonical(s.trimmed_length_cm, Kind.LENGTH),
                volume_per_length=from_canonical(s.volume_ml_per_cm, Kind.VOLUME_PER_LENGTH),
            )
            for s in ordered
        ),
        tip_level=row.tip_level,
        implanted_on=row.implant_date,
        revised_on=row.revision_date,
        volume=Q_(volume, ML) if ordered else None,
        corrects_id=row.corrects_id,
        user=user,
        correction_reason=row.correction_reason or "",
    )


def ingredients(
    rows: list[db.PrescriptionIngredient], library: DrugLibrary
) -> tuple[Ingredient, ...]:
    result = []
    for row in sorted(rows, key=lambda r: r.position):
        try:
            unit = library.drug(row.drug_key).display_unit
        except CatalogError:
            unit = "mcg"
        result.append(
            Ingredient(
                row.drug_key, from_canonical(row.concentration_mcg_per_ml, Kind.CONCENTRATION), unit
            )
        )
    return tuple(result)


def prescription_record(
    row: db.Prescription,
    ingredient_rows: list[db.PrescriptionIngredient],
    steps: list[db.ScheduleStep],
    boluses: list[db.ScheduledBolus],
    findings: list[db.PrescriptionFinding],
    library: DrugLibrary,
    actions: Sequence[db.OrderAction] = (),
) -> PrescriptionRecord:
    schedule = Schedule.flex(
        [Step(s.start_time, from_canonical(s.rate_mcg_per_day, Kind.DOSE_RATE)) for s in steps],
        [ScheduledBolus(b.at_time, from_canonical(b.amount_mcg, Kind.MASS)) for b in boluses],
    )
    patient_bolus = None
    if row.ptm_bolus_dose_mcg is not None and row.ptm_max_per_day is not None:
        lockout = row.ptm_lockout_days
        patient_bolus = PatientBolus(
            from_canonical(row.ptm_bolus_dose_mcg, Kind.MASS),
            row.ptm_max_per_day,
            None if not lockout else from_canonical(lockout, Kind.DURATION),
        )
    return PrescriptionRecord(
        id=row.id,
        pump_id=row.pump_id,
        ingredients=ingredients(ingredient_rows, library),
        schedule=schedule,
        patient_bolus=patient_bolus,
        effective_at=row.effective_at,
        prescriber=row.prescriber_name,
        findings=tuple(
            FindingRecord(f.level, f.code, f.message, f.override_reason or "")  # type: ignore[arg-type]
            for f in sorted(findings, key=lambda f: f.position)
        ),
        corrects_id=row.corrects_id,
        correction_reason=row.correction_reason or "",
        prescriber_id=row.prescriber_id,
        order_state=None if row.prescriber_id is None else str(order_state_of(row, actions)),
        continued=tuple(
            (i.drug_key, from_canonical(i.continued_mcg_per_day, Kind.DOSE_RATE))
            for i in sorted(ingredient_rows, key=lambda r: r.position)
            if i.continued_mcg_per_day is not None
        ),
    )


def order_state_of(row: db.Prescription, actions: Iterable[db.OrderAction]) -> OrderState:
    """The state of the order ``row`` after ``actions`` (its signature, refusal, programming)."""
    done = {a.action for a in actions}
    return order_state(
        high_risk=row.high_risk,
        by_prescriber=row.recorded_by_id == row.prescriber_id,
        programmed=not row.held_for_signature or "programmed" in done,
        signed="signed" in done,
        declined="declined" in done,
    )


def refill_record(
    row: db.Refill,
    previous_final_ml: float | None,
    ingredient_rows: tuple[Ingredient, ...],
    nurse: str,
    verifier: str,
) -> RefillRecord:
    first_fill = row.discrepancy_verdict == "first_fill"
    return RefillRecord(
        id=row.id,
        pump_id=row.pump_id,
        performed_at=row.performed_at,
        previous_fill_volume=None if previous_final_ml is None else volume(previous_final_ml),
        expected_residual=None if first_fill else Q_(row.expected_residual_ml, ML),
        aspirated=volume(row.aspirated_ml),
        discrepancy_verdict=None if first_fill else row.discrepancy_verdict,  # type: ignore[arg-type]
        discrepancy_difference=None
        if first_fill
        else Q_(
            (
                row.expected_residual_ml
                if row.expected_residual_unfloored_ml is None
                else row.expected_residual_unfloored_ml
            )
            - row.aspirated_ml,
            ML,
        ),
        discrepancy_note=row.discrepancy_note or "",
        volume_added=volume(row.volume_added_ml),
        final_volume=volume(row.final_reservoir_ml),
        ingredients=ingredient_rows,
        lot_number=row.lot_number,
        expiry=row.expiry_date,
        source=row.solution_source,
        bridge_bolus=optional(row.bolus_volume_ml, Kind.VOLUME),
        needle_position_confirmed=row.needle_position_confirmed,
        pump_running_confirmed=row.pump_confirmed_running,
        nurse=nurse,
        verifier=verifier,
        prescription_id=row.prescription_id,
        corrects_id=row.corrects_id,
        programmer=programmer_figures(row),
        programmer_differs=row.programmer_differs,
        correction_reason=row.correction_reason or "",
        bridge_bolus_given=bool(row.bridge_bolus_given),
        priming_bolus_given=bool(row.priming_bolus_given),
        compounded=row.pharmacy_compounded,
        bedside=bedside_findings(row),
        empty_at_worst_case=row.empty_at_worst_case,
        undiluted=row.undiluted,
    )


def bedside_findings(row: db.Refill) -> BedsideFindings | None:
    """What the nurse found before the refill, or None for a refill recorded before 0016."""
    if row.site_findings is None or row.withdrawal_signs is None or row.overdose_signs is None:
        return None
    reading = None
    if (
        row.interrogated_status is not None
        and row.interrogated_alarms is not None
        and row.interrogated_reservoir_ml is not None
    ):
        reading = Interrogation(
            PumpStatus(row.interrogated_status),
            alarms_from(row.interrogated_alarms),
            from_canonical(row.interrogated_reservoir_ml, Kind.VOLUME),
            row.interrogated_patient_boluses,
        )
    return BedsideFindings(
        interrogation=reading,
        site=SiteAssessment(findings_from(row.site_findings), row.site_note or ""),
        symptoms=SymptomCheck(row.withdrawal_signs, row.overdose_signs, row.symptoms_note or ""),
    )


def bedside_columns(found: BedsideFindings | None) -> dict[str, object]:
    """The refill row's 0016 columns (and 0019's patient boluses) for what the nurse found
    (all NULL: not recorded)."""
    if found is None:
        return {}
    reading = found.interrogation
    return {
        "interrogated_status": None if reading is None else str(reading.status),
        "interrogated_alarms": None if reading is None else codes(reading.alarms),
        "interrogated_reservoir_ml": None
        if reading is None
        else to_canonical(reading.reservoir, Kind.VOLUME),
        "interrogated_patient_boluses": None if reading is None else reading.patient_boluses,
        "site_findings": codes(found.site.findings),
        "site_note": found.site.note.strip() or None,
        "withdrawal_signs": found.symptoms.withdrawal,
        "overdose_signs": found.symptoms.overdose,
        "symptoms_note": found.symptoms.note.strip() or None,
    }


def programmer_figures(row: db.Refill) -> ProgrammerFigures | None:
    """The programmer's figures stored with a refill, or None when there are none."""
    if (
        row.programmer_reservoir_ml is None
        or row.programmer_alarm_date is None
        or row.programmer_daily_volume_ml_per_day is None
    ):
        return None
    return ProgrammerFigures(
        reservoir=from_canonical(row.programmer_reservoir_ml, Kind.VOLUME),
        alarm_date=row.programmer_alarm_date,
        daily_volume=from_canonical(row.programmer_daily_volume_ml_per_day, Kind.FLOW),
    )


def event_record(row: db.PumpEvent, patient_id: int, user: str) -> EventRecord:
    details = {}
    if row.post_mri_check_done is not None:
        details["post-MRI check"] = "done" if row.post_mri_check_done else "NOT done"
    return EventRecord(
        id=row.id,
        pump_id=row.pump_id,
        patient_id=patient_id,
        kind=row.kind.value,
        occurred_at=row.occurred_at,
        summary=row.note,
        user=user,
        details=details,
        corrects_id=row.corrects_id,
        correction_reason=row.correction_reason or "",
    )


def stored_forecast(row: db.PumpForecast) -> StoredForecast | None:
    if (
        row.filled_at is None
        or row.fill_volume_ml is None
        or row.daily_volume_ml_per_day is None
        or row.alarm_at is None
        or row.alarm_at_with_boluses is None
        or row.refill_due is None
        or row.empty_at is None
    ):
        return None
    return StoredForecast(
        pump_id=row.pump_id,
        filled_at=row.filled_at,
        fill_volume=Q_(row.fill_volume_ml, ML),
        daily_volume=Q_(row.daily_volume_ml_per_day, ML_PER_DAY),
        alarm_at=row.alarm_at,
        alarm_at_with_boluses=row.alarm_at_with_boluses,
        refill_due=row.refill_due,
        refill_due_reason=row.refill_due_reason,  # type: ignore[arg-type]
        empty_at=row.empty_at,
        alarm_at_worst_case=row.alarm_at_worst_case,
        empty_at_worst_case=row.empty_at_worst_case,
        over_infusion_risk=row.over_infusion_risk,
    )


def utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("an instant needs its time zone")
    return moment.astimezone(UTC)


default_catalogs = catalog_module.default_catalogs
