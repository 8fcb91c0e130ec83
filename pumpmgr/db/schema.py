"""The clinic records as SQLAlchemy 2 ORM rows (persistence layer).

May import the standard library, SQLAlchemy and ``pumpmgr.db.types``; nothing above the
persistence layer. The tables are created and changed only by the Alembic revisions in
``pumpmgr/db/migrations/versions``; ``tests/db`` checks that those revisions build exactly this
metadata.

Conventions:

- Quantities are canonical float magnitudes (:func:`pumpmgr.units.to_canonical`) in columns named
  with their unit: mcg, mL, mcg/day, mcg/mL, mL/day, cm, mL/cm, day. Conversion happens in the
  repositories, never here. On SQLite a CHECK refuses text in those columns (SQLite's flexible
  typing would otherwise store ``'0.5 mg'`` in a REAL column).
- Instants are :class:`~pumpmgr.db.types.UTCDateTime` (aware UTC); calendar dates are ``Date``.
- Clinical records (catheters, prescriptions, refills, pump events, drug-library edits, the
  audit log and their child rows) are append-only: database triggers refuse UPDATE and DELETE. A
  correction is a new row whose ``corrects_id`` points at the row it supersedes, with a
  ``correction_reason``; a row is current when no other row corrects it.
- Records that are edited in place and that two nurses might edit at once (users, patients,
  pumps, clinic settings) carry a ``version`` counter (``version_id_col``): a save over a record
  someone else changed meanwhile fails instead of silently overwriting it.

Over 600 lines on purpose: the tables are one declarative metadata whose relationships cross
every area, and the Alembic revisions are checked against it as one; read together, the
append-only and version conventions above can be seen to hold for every table.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, time
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Double,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    literal_column,
    or_,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from pumpmgr.db.types import UTCDateTime

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Tables whose rows are never updated or deleted (enforced by triggers; see the migrations).
APPEND_ONLY_TABLES: tuple[str, ...] = (
    "audit_log",
    "catheters",
    "catheter_segments",
    "prescriptions",
    "prescription_ingredients",
    "schedule_steps",
    "scheduled_boluses",
    "prescription_findings",
    "refills",
    "pump_events",
    "drug_library_edits",
    "order_actions",
    "incidents",
    "incident_reviews",
    "individual_maxima",
    "pump_catalog_edits",
    "stop_orders",
    "stop_orders_carried_out",
)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


def _enum(enum_class: type[enum.Enum], name: str) -> Enum:
    """A portable enum column: VARCHAR plus a named CHECK on both backends, stored by value."""
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        validate_strings=True,
        values_callable=lambda members: [member.value for member in members],
    )


def _real_check(column: str) -> CheckConstraint:
    """On SQLite, refuse text in a magnitude column (PostgreSQL's types already refuse it)."""
    return CheckConstraint(
        f"typeof({column}) IN ('real', 'integer', 'null')", name=f"{column}_is_number"
    ).ddl_if(dialect="sqlite")


class Role(enum.StrEnum):
    NURSE = "nurse"
    PRESCRIBER = "prescriber"
    ADMINISTRATOR = "administrator"


class OpioidStatus(enum.StrEnum):
    """The patient's opioid status; a NULL column (not recorded) counts as naive."""

    NAIVE = "naive"
    TOLERANT = "tolerant"


class Indication(enum.StrEnum):
    SPASTICITY_SPINAL = "spasticity_spinal"
    SPASTICITY_CEREBRAL = "spasticity_cerebral"
    CANCER_PAIN = "cancer_pain"
    NON_CANCER_PAIN = "non_cancer_pain"
    OTHER = "other"


class PatientStatus(enum.StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    DECEASED = "deceased"


class PumpStatus(enum.StrEnum):
    ACTIVE = "active"  #: implanted and in use; at most one per patient
    INACTIVE = "inactive"  #: implanted but not in use (stopped, awaiting replacement)
    EXPLANTED = "explanted"


class PumpEventKind(enum.StrEnum):
    IMPLANT = "implant"
    REPLACEMENT = "replacement"
    EXPLANT = "explant"
    CATHETER_REVISION = "catheter_revision"
    MRI = "mri"
    ALARM = "alarm"
    ERI = "eri"
    NOTE = "note"


class PageSize(enum.StrEnum):
    A4 = "A4"
    LETTER = "Letter"


class ClinicalRecord:
    """Columns every append-only clinical table has: who recorded it, when, and corrections."""

    @declared_attr
    def corrects_id(cls) -> Mapped[int | None]:
        table: str = cls.__tablename__  # type: ignore[attr-defined]
        return mapped_column(ForeignKey(f"{table}.id"), index=True)

    #: Why this row supersedes the one it corrects; required when ``corrects_id`` is set.
    correction_reason: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime]

    @declared_attr
    def recorded_by_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("users.id"), index=True)


def _versioned(column: Any) -> dict[str, Any]:
    """Mapper arguments for an optimistic version counter on ``column``."""
    return {"version_id_col": column}


def _correction_check() -> CheckConstraint:
    return CheckConstraint(
        "corrects_id IS NULL OR correction_reason IS NOT NULL", name="correction_has_reason"
    )


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored lower-case; unique.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    #: An argon2id PHC string; never the password.
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = _versioned(version)


class Patient(Base):
    __tablename__ = "patients"
    __table_args__ = (Index("ix_patients_names", "family_name", "given_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mrn: Mapped[str] = mapped_column(String(64), unique=True)
    family_name: Mapped[str] = mapped_column(String(200))
    given_name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date]
    indication: Mapped[Indication] = mapped_column(_enum(Indication, "indication"))
    #: Free text naming the indication when ``indication`` is ``other``.
    indication_other: Mapped[str | None] = mapped_column(String(200))
    renal_impairment: Mapped[bool] = mapped_column(default=False)
    #: ``None``: not recorded, which the dose checks count as naive (domain-rules §6).
    opioid_status: Mapped[OpioidStatus | None] = mapped_column(
        _enum(OpioidStatus, "opioid_status"), nullable=True
    )
    emergency_contact_name: Mapped[str | None] = mapped_column(String(200))
    emergency_contact_phone: Mapped[str | None] = mapped_column(String(64))
    #: The patient's own telephone, for the call list of missed visits (revision 0009).
    phone: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[PatientStatus] = mapped_column(
        _enum(PatientStatus, "patient_status"), default=PatientStatus.ACTIVE
    )
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = _versioned(version)


class Pump(Base):
    __tablename__ = "pumps"
    __table_args__ = (
        UniqueConstraint("model_key", "serial_number"),
        # A patient has at most one active pump: a partial unique index, the same on both.
        Index(
            "ux_pumps_one_active_per_patient",
            "patient_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_pumps_replace_by_date", "replace_by_date"),
        CheckConstraint("reservoir_capacity_ml > 0", name="capacity_positive"),
        CheckConstraint(
            "low_reservoir_alarm_ml >= 0 AND low_reservoir_alarm_ml < reservoir_capacity_ml",
            name="alarm_below_capacity",
        ),
        CheckConstraint(
            "(status = 'explanted' AND explant_date IS NOT NULL) OR "
            "(status <> 'explanted' AND explant_date IS NULL AND explant_reason IS NULL)",
            name="explant_fields_match_status",
        ),
        _real_check("reservoir_capacity_ml"),
        _real_check("low_reservoir_alarm_ml"),
        _real_check("nominal_flow_ml_per_day"),
        _real_check("pump_path_volume_ml"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    #: Key of the pump model in the catalog (``resources/catalogs``).
    model_key: Mapped[str] = mapped_column(String(64))
    serial_number: Mapped[str] = mapped_column(String(64))
    implant_date: Mapped[date]
    implant_site: Mapped[str] = mapped_column(String(200))
    reservoir_capacity_ml: Mapped[float]
    #: This patient's low-reservoir alarm volume (a per-pump setting).
    low_reservoir_alarm_ml: Mapped[float]
    #: Labelled flow accuracy (±%), from the catalog or confirmed by the clinic.
    accuracy_percent: Mapped[float | None]
    #: Constant-flow pumps: the unit's nominal flow, from its label.
    nominal_flow_ml_per_day: Mapped[float | None] = mapped_column(Double)
    #: The pump's fluid path (reservoir to catheter port), clinician-confirmed; unsourced.
    pump_path_volume_ml: Mapped[float | None] = mapped_column(Double)
    #: Expected end of service of a battery pump; None for constant-flow pumps.
    replace_by_date: Mapped[date | None]
    status: Mapped[PumpStatus] = mapped_column(
        _enum(PumpStatus, "pump_status"), default=PumpStatus.ACTIVE
    )
    explant_date: Mapped[date | None]
    explant_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = _versioned(version)


class Catheter(ClinicalRecord, Base):
    """A catheter configuration; a revision is a new row with its ``revision_date`` set."""

    __tablename__ = "catheters"
    __table_args__ = (_correction_check(),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    pump_id: Mapped[int | None] = mapped_column(ForeignKey("pumps.id"), index=True)
    model_key: Mapped[str] = mapped_column(String(64))
    #: Vertebral level of the tip, as written in the operation note (``T10``).
    tip_level: Mapped[str] = mapped_column(String(16))
    implant_date: Mapped[date]
    revision_date: Mapped[date | None]


class CatheterSegment(Base):
    """One segment of a catheter, numbered from the pump (position 0) towards the tip."""

    __tablename__ = "catheter_segments"
    __table_args__ = (
        UniqueConstraint("catheter_id", "position"),
        CheckConstraint("position >= 0", name="position_not_negative"),
        CheckConstraint("implanted_length_cm > 0", name="implanted_length_positive"),
        CheckConstraint("trimmed_length_cm >= 0", name="trimmed_length_not_negative"),
        CheckConstraint("volume_ml_per_cm > 0", name="volume_per_length_positive"),
        _real_check("implanted_length_cm"),
        _real_check("trimmed_length_cm"),
        _real_check("volume_ml_per_cm"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    catheter_id: Mapped[int] = mapped_column(ForeignKey("catheters.id"), index=True)
    position: Mapped[int]
    #: Length left in the patient.
    implanted_length_cm: Mapped[float]
    #: Length cut off at implant or revision.
    trimmed_length_cm: Mapped[float]
    volume_ml_per_cm: Mapped[float]


class Prescription(ClinicalRecord, Base):
    """One version of a pump's prescription; ``revision`` counts the versions per pump.

    Rates and bolus amounts are doses of the primary ingredient (``position`` 0); every other
    ingredient's dose follows from the flow and its concentration.
    """

    __tablename__ = "prescriptions"
    __table_args__ = (
        UniqueConstraint("pump_id", "revision"),
        Index("ix_prescriptions_pump_id_effective_at", "pump_id", "effective_at"),
        _correction_check(),
        CheckConstraint("revision >= 1", name="revision_positive"),
        CheckConstraint(
            "(ptm_bolus_dose_mcg IS NULL AND ptm_max_per_day IS NULL "
            "AND ptm_lockout_days IS NULL) OR (ptm_bolus_dose_mcg > 0 AND ptm_max_per_day >= 1 "
            "AND ptm_lockout_days >= 0)",
            name="ptm_complete",
        ),
        _real_check("ptm_bolus_dose_mcg"),
        _real_check("ptm_lockout_days"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pump_id: Mapped[int] = mapped_column(ForeignKey("pumps.id"), index=True)
    revision: Mapped[int]
    effective_at: Mapped[datetime]
    prescriber_name: Mapped[str] = mapped_column(String(200))
    #: The prescriber's account (revision 0010: every new order names one; older rows
    #: keep ``prescriber_name`` as it was typed, shown as such).
    prescriber_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: How a nurse was given the order (spoken, telephone, written), when, and whether a
    #: spoken or telephone order was read back and confirmed; None for a prescriber's own
    #: entry and for rows before revision 0010.
    order_given_as: Mapped[str | None] = mapped_column(String(16))
    order_given_at: Mapped[datetime | None]
    read_back_confirmed: Mapped[bool | None]
    #: Its findings need the prescriber (:func:`pumpmgr.orders.needs_prescriber`).
    high_risk: Mapped[bool] = mapped_column(server_default=false())
    #: A nurse's high-risk entry not yet programmed: it waits for the signature (or a later
    #: ``programmed`` action) before any forecast uses it or any sheet prints its settings.
    held_for_signature: Mapped[bool] = mapped_column(server_default=false())
    #: Patient-activated bolus: dose, most per day, lockout (all three or none).
    ptm_bolus_dose_mcg: Mapped[float | None]
    ptm_max_per_day: Mapped[int | None]
    ptm_lockout_days: Mapped[float | None]
    note: Mapped[str] = mapped_column(Text, default="")


class PrescriptionIngredient(Base):
    __tablename__ = "prescription_ingredients"
    __table_args__ = (
        UniqueConstraint("prescription_id", "position"),
        UniqueConstraint("prescription_id", "drug_key"),
        CheckConstraint("position >= 0", name="position_not_negative"),
        CheckConstraint("concentration_mcg_per_ml > 0", name="concentration_positive"),
        _real_check("concentration_mcg_per_ml"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id"), index=True)
    #: 0 is the primary drug, whose dose the schedule's rates express.
    position: Mapped[int]
    #: Key of the drug in the catalog.
    drug_key: Mapped[str] = mapped_column(String(64))
    concentration_mcg_per_ml: Mapped[float]
    #: Revision 0023: the daily dose the patient already received from before this record,
    #: given with the drug's first prescription here (a therapy transferred in); NULL otherwise,
    #: when a first prescription is a start (domain-rules §6).
    continued_mcg_per_day: Mapped[float | None] = mapped_column(Double)


class ScheduleStep(Base):
    """From ``start_time`` (clinic local time of day) until the next step, this rate runs."""

    __tablename__ = "schedule_steps"
    __table_args__ = (
        UniqueConstraint("prescription_id", "start_time"),
        CheckConstraint("rate_mcg_per_day >= 0", name="rate_not_negative"),
        _real_check("rate_mcg_per_day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id"), index=True)
    start_time: Mapped[time]
    rate_mcg_per_day: Mapped[float]


class ScheduledBolus(Base):
    __tablename__ = "scheduled_boluses"
    __table_args__ = (
        CheckConstraint("amount_mcg > 0", name="amount_positive"),
        _real_check("amount_mcg"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id"), index=True)
    at_time: Mapped[time]
    amount_mcg: Mapped[float]


class PrescriptionFinding(Base):
    """A dose-check finding shown when the prescription was saved, and the reason given."""

    __tablename__ = "prescription_findings"
    __table_args__ = (UniqueConstraint("prescription_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id"), index=True)
    position: Mapped[int]
    code: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    #: Why the prescriber went ahead despite a warning.
    override_reason: Mapped[str | None] = mapped_column(Text)


class OrderAction(Base):
    """What happened to an order after it was entered: the prescriber signed or declined it
    (with the reason), or a nurse recorded that a held order was programmed all the same."""

    __tablename__ = "order_actions"
    __table_args__ = (
        CheckConstraint("action IN ('signed', 'declined', 'programmed')", name="action_known"),
        CheckConstraint("action <> 'declined' OR reason IS NOT NULL", name="decline_has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
    by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    reason: Mapped[str | None] = mapped_column(Text)


class Incident(Base):
    """Something that already happened in a pump and broke a limit (domain-rules §4a): recorded
    as it is, shown until a prescriber reviews it (:class:`IncidentReview`)."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    pump_id: Mapped[int] = mapped_column(ForeignKey("pumps.id"), index=True)
    #: :class:`pumpmgr.orders.IncidentKind`.
    kind: Mapped[str] = mapped_column(String(32))
    #: The findings that would have stopped an order, as they were shown.
    summary: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime]
    prescription_id: Mapped[int | None] = mapped_column(ForeignKey("prescriptions.id"))
    refill_id: Mapped[int | None] = mapped_column(ForeignKey("refills.id"))
    recorded_at: Mapped[datetime]
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)


class IncidentReview(Base):
    __tablename__ = "incident_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), unique=True)
    reviewed_at: Mapped[datetime]
    reviewed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    note: Mapped[str] = mapped_column(Text)


class IndividualMaximum(Base):
    """One step in the life of a patient's individual maximum of a drug (domain-rules §6): set
    by a prescriber with a second prescriber's signature, reviewed, or ended. Append-only; the
    patient's maximum of a drug is the newest row's (none after ``ended``). Revision 0011."""

    __tablename__ = "individual_maxima"
    __table_args__ = (
        Index("ix_individual_maxima_patient_id_drug_key", "patient_id", "drug_key"),
        CheckConstraint("action IN ('set', 'reviewed', 'ended')", name="action_known"),
        CheckConstraint(
            "(action = 'ended') = (max_mcg_per_day IS NULL)", name="ended_has_no_maximum"
        ),
        CheckConstraint("max_mcg_per_day IS NULL OR max_mcg_per_day > 0", name="maximum_positive"),
        CheckConstraint("action <> 'set' OR signed_by_id IS NOT NULL", name="set_is_signed"),
        CheckConstraint(
            "signed_by_id IS NULL OR signed_by_id <> by_id", name="two_different_signatures"
        ),
        _real_check("max_mcg_per_day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    drug_key: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(16))
    #: The raised hard maximum, canonical (mcg/day); None once ended.
    max_mcg_per_day: Mapped[float | None] = mapped_column(Double)
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]
    by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: The second prescriber who signed a raise.
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Reviewed by this day at the latest (policy: every 6 months); None once ended.
    review_by: Mapped[date | None]


class StopOrder(Base):
    """A prescriber's order to stop one drug of a pump (domain-rules §6), given with their own
    password; never a dose of zero. Open until a nurse records it carried out
    (:class:`StopOrderCarriedOut`). Append-only; revision 0020."""

    __tablename__ = "stop_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    pump_id: Mapped[int] = mapped_column(ForeignKey("pumps.id"), index=True)
    drug_key: Mapped[str] = mapped_column(String(32))
    prescriber_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    effective_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    #: A long stop: the pump is emptied and filled with preservative-free saline.
    long_stop: Mapped[bool]
    recorded_at: Mapped[datetime]


#: Revision 0020's CHECK (the migration repeats it: migrations never import the schema).
CARRIED_OUT_KNOWN = "done IN ('emptied_saline', 'minimum_rate', 'pump_stopped')"


class StopOrderCarriedOut(Base):
    """A nurse's record that a Stop order was carried out, and how
    (:class:`pumpmgr.stop_orders.CarriedOut`). Append-only; revision 0020."""

    __tablename__ = "stop_orders_carried_out"
    __table_args__ = (CheckConstraint(CARRIED_OUT_KNOWN, name="done_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stop_order_id: Mapped[int] = mapped_column(ForeignKey("stop_orders.id"), unique=True)
    done: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]
    by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)


#: Revision 0016's CHECK (the migration repeats it: migrations never import the schema).
INTERROGATION_COMPLETE = (
    "(interrogated_status IS NULL AND interrogated_alarms IS NULL "
    "AND interrogated_reservoir_ml IS NULL) OR "
    "(interrogated_status IN ('running', 'stopped') AND interrogated_alarms IS NOT NULL "
    "AND interrogated_reservoir_ml >= 0)"
)


#: Revision 0019's CHECK (repeated by the migration).
PATIENT_BOLUSES_READ = (
    "interrogated_patient_boluses IS NULL OR "
    "(interrogated_patient_boluses >= 0 AND interrogated_status IS NOT NULL)"
)


class Refill(ClinicalRecord, Base):
    __tablename__ = "refills"
    __table_args__ = (
        # The pump's refills in time order; with the verdict, the due list's "latest
        # refill says investigate" is answered from the index alone.
        Index(
            "ix_refills_pump_id_performed_at_discrepancy_verdict",
            "pump_id",
            "performed_at",
            "discrepancy_verdict",
        ),
        _correction_check(),
        CheckConstraint("verifying_nurse_id <> nurse_id", name="two_different_nurses"),
        CheckConstraint("expected_residual_ml >= 0", name="expected_residual_not_negative"),
        CheckConstraint("aspirated_ml >= 0", name="aspirated_not_negative"),
        CheckConstraint("volume_added_ml >= 0", name="volume_added_not_negative"),
        CheckConstraint("final_reservoir_ml >= 0", name="final_volume_not_negative"),
        _real_check("expected_residual_ml"),
        _real_check("aspirated_ml"),
        _real_check("volume_added_ml"),
        _real_check("final_reservoir_ml"),
        _real_check("bolus_volume_ml"),
        # Revision 0003: the programmer's own figures, all three or none, and its verdict
        # with them (the CHECKs are added with the columns: ALTER TABLE cannot add a table
        # constraint on SQLite without rebuilding the table and its append-only triggers).
        CheckConstraint(
            "(programmer_reservoir_ml IS NULL AND programmer_alarm_date IS NULL "
            "AND programmer_daily_volume_ml_per_day IS NULL AND programmer_differs IS NULL) OR "
            "(programmer_reservoir_ml >= 0 AND programmer_alarm_date IS NOT NULL "
            "AND programmer_daily_volume_ml_per_day >= 0 AND programmer_differs IS NOT NULL)",
            name="programmer_figures_complete",
        ),
        _real_check("programmer_reservoir_ml"),
        _real_check("programmer_daily_volume_ml_per_day"),
        # Revision 0016: the programmer's reading before the refill, all three or none.
        CheckConstraint(INTERROGATION_COMPLETE, name="interrogation_complete"),
        _real_check("interrogated_reservoir_ml"),
        # Revision 0019: the patient boluses the programmer reports, with its reading only.
        CheckConstraint(PATIENT_BOLUSES_READ, name="patient_boluses_read"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pump_id: Mapped[int] = mapped_column(ForeignKey("pumps.id"), index=True)
    #: The prescription whose solution was filled.
    prescription_id: Mapped[int | None] = mapped_column(ForeignKey("prescriptions.id"), index=True)
    performed_at: Mapped[datetime]
    expected_residual_ml: Mapped[float]
    aspirated_ml: Mapped[float]
    #: The discrepancy verdict of :mod:`pumpmgr.refill` (``ok`` or ``investigate``).
    discrepancy_verdict: Mapped[str] = mapped_column(String(32))
    discrepancy_note: Mapped[str | None] = mapped_column(Text)
    volume_added_ml: Mapped[float]
    final_reservoir_ml: Mapped[float]
    lot_number: Mapped[str] = mapped_column(String(64))
    #: Expiry or beyond-use date of the solution, whichever is earlier.
    expiry_date: Mapped[date]
    #: Where the solution came from (manufacturer, compounding pharmacy...).
    solution_source: Mapped[str] = mapped_column(String(200))
    bridge_bolus_given: Mapped[bool]
    #: Volume drawn from the reservoir by a bridge or priming bolus, when one was given.
    bolus_volume_ml: Mapped[float | None] = mapped_column(Double)
    priming_bolus_given: Mapped[bool]
    pump_confirmed_running: Mapped[bool]
    needle_position_confirmed: Mapped[bool]
    nurse_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    verifying_nurse_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: The pump programmer's own figures after the update, as the nurse copied them (None for
    #: a constant-flow pump, which has no programmer, and when they were not entered).
    programmer_reservoir_ml: Mapped[float | None] = mapped_column(Double)
    programmer_alarm_date: Mapped[date | None]
    programmer_daily_volume_ml_per_day: Mapped[float | None] = mapped_column(Double)
    #: Whether those figures differ from pumpmgr's forecast of this fill beyond the tolerances
    #: of :func:`pumpmgr.refill.compare_programmer` (None when there are no figures).
    programmer_differs: Mapped[bool | None]
    #: Revision 0007: whether a pharmacy compounded the solution (its ``expiry_date`` is then
    #: the beyond-use date), and the expected residual not floored at 0, kept for Δ and e
    #: (None: a refill recorded before the revision, or a first fill).
    pharmacy_compounded: Mapped[bool] = mapped_column(server_default=false())
    expected_residual_unfloored_ml: Mapped[float | None] = mapped_column(Double)
    #: Revision 0010, what the nurse found before refilling (:mod:`pumpmgr.visit_record`),
    #: NULL for the refills recorded before it. The programmer's reading (status, alarm
    #: codes comma-separated, '' for none, the reservoir volume it reports), NULL for a
    #: constant-flow pump: all three or none.
    interrogated_status: Mapped[str | None] = mapped_column(String(16))
    interrogated_alarms: Mapped[str | None] = mapped_column(String(200))
    interrogated_reservoir_ml: Mapped[float | None] = mapped_column(Double)
    #: Site and pocket findings (codes, '' for normal) with a note.
    site_findings: Mapped[str | None] = mapped_column(String(200))
    site_note: Mapped[str | None] = mapped_column(Text)
    #: The symptoms asked: signs of withdrawal or overdose found, with a note.
    withdrawal_signs: Mapped[bool | None]
    overdose_signs: Mapped[bool | None]
    symptoms_note: Mapped[str | None] = mapped_column(Text)
    #: Revision 0017: at a restart, the forecast's worst-case empty instant when it was at or
    #: before the visit (the time without drug is counted from it; NULL otherwise), and the
    #: over-infusion-risk flag the visit set (:func:`pumpmgr.restart.restart_at_visit`).
    empty_at_worst_case: Mapped[datetime | None]
    over_infusion_risk: Mapped[bool] = mapped_column(server_default=false())
    #: Revision 0018: the solution is undiluted as supplied (ziconotide's stability limit,
    #: domain-rules §3), recorded at the refill; NULL: not recorded (a refill made before the
    #: revision, or a solution with no ziconotide).
    undiluted: Mapped[bool | None]
    #: Revision 0019: the patient boluses the programmer reports given since the last fill,
    #: subtracted from the expected residual (NULL: not entered, or no patient bolus).
    interrogated_patient_boluses: Mapped[int | None]


def ran_empty(refill: Any) -> ColumnElement[bool]:
    """A refill (``Refill`` or an alias of it) that found the pump empty or at risk of
    over-infusion. Written so that the partial index below serves it: the verdict a literal,
    the flag compared (as the index's condition renders)."""
    return or_(
        refill.discrepancy_verdict == literal_column("'found_empty'"),
        refill.over_infusion_risk == true(),
    )


# Revision 0022: the few refills that found the pump empty or at risk, by pump; a forecast's
# "ran empty" looks them up instead of reading every refill of the pump.
Index(
    "ix_refills_ran_empty",
    Refill.pump_id,
    sqlite_where=ran_empty(Refill),
    postgresql_where=ran_empty(Refill),
)


class PumpEvent(ClinicalRecord, Base):
    __tablename__ = "pump_events"
    __table_args__ = (
        Index("ix_pump_events_pump_id_occurred_at", "pump_id", "occurred_at"),
        _correction_check(),
        CheckConstraint(
            "(kind = 'mri' AND post_mri_check_done IS NOT NULL) OR "
            "(kind <> 'mri' AND post_mri_check_done IS NULL)",
            name="post_mri_check_only_for_mri",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pump_id: Mapped[int] = mapped_column(ForeignKey("pumps.id"), index=True)
    kind: Mapped[PumpEventKind] = mapped_column(_enum(PumpEventKind, "pump_event_kind"))
    occurred_at: Mapped[datetime]
    #: For an MRI: whether the pump was checked (and restarted if needed) afterwards.
    post_mri_check_done: Mapped[bool | None]
    note: Mapped[str] = mapped_column(Text, default="")


class ClinicSettings(Base):
    """The clinic's settings: exactly one row (``id`` = 1), created by the first migration."""

    __tablename__ = "clinic_settings"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("refill_buffer_days >= 0", name="buffer_not_negative"),
        CheckConstraint(
            "open_weekdays_mask >= 1 AND open_weekdays_mask <= 127", name="some_open_day"
        ),
        CheckConstraint("auto_lock_minutes >= 1", name="auto_lock_positive"),
        CheckConstraint("cosign_overdue_hours >= 1", name="cosign_overdue_positive"),
        CheckConstraint("high_risk_overdue_hours >= 1", name="high_risk_overdue_positive"),
        CheckConstraint("clinic_visits_per_day >= 0", name="clinic_visits_not_negative"),
        CheckConstraint("home_visits_per_day >= 0", name="home_visits_not_negative"),
        CheckConstraint(
            "booking_horizon_days >= 1 AND booking_horizon_days <= 366", name="horizon_in_range"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    clinic_name: Mapped[str] = mapped_column(String(200))
    clinic_phone: Mapped[str] = mapped_column(String(64))
    refill_buffer_days: Mapped[int]
    #: Open days as bits, Monday = 1, Tuesday = 2, ... Sunday = 64 (Monday to Friday = 31).
    open_weekdays_mask: Mapped[int]
    page_size: Mapped[PageSize] = mapped_column(_enum(PageSize, "page_size"))
    auto_lock_minutes: Mapped[int]
    #: Clinic policy (domain-rules §7): when an order awaiting co-signature, and an unsigned
    #: high-risk order, are overdue.
    cosign_overdue_hours: Mapped[int] = mapped_column(server_default=text("48"))
    high_risk_overdue_hours: Mapped[int] = mapped_column(server_default=text("24"))
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    #: The administrator's visit-note template; NULL: the one pumpmgr ships (revision 0005).
    visit_note_template: Mapped[str | None] = mapped_column(Text)
    #: The URI of the clinic's medical record numbers in a FHIR export; NULL: not set (0005).
    mrn_system: Mapped[str | None] = mapped_column(String(200))
    #: Revision 0007 (domain-rules §3, §4): the longest refill interval for a drug the library
    #: gives none (clinic policy, 90 days), the dates the clinic is closed (ISO dates), and the
    #: aspirate at or below which a reservoir was found empty (clinic policy, 0.5 mL).
    max_refill_interval_days: Mapped[int] = mapped_column(server_default=text("90"))
    closed_dates: Mapped[list[str]] = mapped_column(JSON, server_default=text("'[]'"))
    empty_threshold_ml: Mapped[float] = mapped_column(Double, server_default=text("0.5"))
    #: Refill visits a day in a clinic room and on home visits, and how many days ahead a due
    #: pump without a booking is listed as not booked (clinic policy; revision 0009).
    clinic_visits_per_day: Mapped[int] = mapped_column(server_default=text("8"))
    #: The revision of the refill-due rules every stored forecast follows (revision 0014;
    #: :data:`pumpmgr.services.forecasts.FORECAST_RULES`): a start compares, not searches.
    forecast_rules: Mapped[int] = mapped_column(server_default=text("0"))
    home_visits_per_day: Mapped[int] = mapped_column(server_default=text("2"))
    booking_horizon_days: Mapped[int] = mapped_column(server_default=text("21"))
    #: The clinic's IANA time zone; NULL: the workstation's own (revision 0013).
    time_zone: Mapped[str | None] = mapped_column(String(64))

    __mapper_args__ = _versioned(version)


class BookingPlace(enum.StrEnum):
    CLINIC = "clinic"  #: a clinic room
    HOME = "home"  #: a home visit


class BookingState(enum.StrEnum):
    BOOKED = "booked"  #: open: the visit is still to come
    CANCELLED = "cancelled"
    DID_NOT_ATTEND = "did_not_attend"
    ATTENDED = "attended"


class Booking(Base):
    """A refill visit booked for a pump (issue 16). Edited in place (moved, cancelled, marked),
    each change audited by the service; at most one open (``booked``) booking per pump."""

    __tablename__ = "bookings"
    __table_args__ = (
        Index(
            "ux_bookings_one_open_per_pump",
            "pump_id",
            unique=True,
            sqlite_where=text("state = 'booked'"),
            postgresql_where=text("state = 'booked'"),
        ),
        Index("ix_bookings_day", "day"),
        Index("ix_bookings_state_day", "state", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pump_id: Mapped[int] = mapped_column(ForeignKey("pumps.id"), index=True)
    day: Mapped[date]
    #: The time of day in the clinic's local time; None: the day only.
    at_time: Mapped[time | None]
    place: Mapped[BookingPlace] = mapped_column(_enum(BookingPlace, "booking_place"))
    #: The nurse who will see the patient, when known.
    nurse_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[BookingState] = mapped_column(_enum(BookingState, "booking_state"))
    #: Why the visit is booked after the refill-due date or on a full day (required then).
    late_reason: Mapped[str | None] = mapped_column(Text)
    booked_at: Mapped[datetime]
    booked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    changed_at: Mapped[datetime]
    changed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = _versioned(version)


class DrugLibraryEdit(Base):
    """A clinic change to the drug library; the clinic's library is the catalog plus these edits,
    applied in ``id`` order. Append-only, and each one is audited by the service that makes it."""

    __tablename__ = "drug_library_edits"
    __table_args__ = (Index("ix_drug_library_edits_drug_key", "drug_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    drug_key: Mapped[str] = mapped_column(String(64))
    #: Field name to new value, in canonical units named by the field (None clears an override).
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    edited_at: Mapped[datetime]
    edited_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)


class PumpCatalogEdit(Base):
    """A clinic change to a pump model's flow limits or labelling (:mod:`pumpmgr.pump_edits`),
    applied in ``id`` order over the shipped catalog. Append-only, audited. Revision 0012."""

    __tablename__ = "pump_catalog_edits"
    __table_args__ = (Index("ix_pump_catalog_edits_model_key", "model_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_key: Mapped[str] = mapped_column(String(64))
    #: Field name to new value: flows in mL/day, labelling as {drug key: [mcg/mL, ...]}.
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    edited_at: Mapped[datetime]
    edited_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)


class PumpForecast(Base):
    """The stored forecast of one pump, rewritten whenever its inputs change.

    Derived data, not a clinical record: it is replaced in place, and the due list is one
    indexed query on ``refill_due``.
    """

    __tablename__ = "pump_forecasts"
    __table_args__ = (
        Index("ix_pump_forecasts_refill_due", "refill_due"),
        _real_check("fill_volume_ml"),
        _real_check("daily_volume_ml_per_day"),
    )

    pump_id: Mapped[int] = mapped_column(ForeignKey("pumps.id"), primary_key=True)
    computed_at: Mapped[datetime]
    #: The point the forecast runs from (the fill, or the last program change since) and the
    #: reservoir volume then.
    filled_at: Mapped[datetime | None]
    fill_volume_ml: Mapped[float | None] = mapped_column(Double)
    daily_volume_ml_per_day: Mapped[float | None] = mapped_column(Double)
    #: When the low-reservoir alarm is expected; None when no forecast is possible.
    alarm_at: Mapped[datetime | None]
    alarm_at_with_boluses: Mapped[datetime | None]
    empty_at: Mapped[datetime | None]
    refill_due: Mapped[date | None]
    #: Which limit set the due date (alarm minus buffer, drug stability, ...), or why none.
    refill_due_reason: Mapped[str] = mapped_column(Text)
    #: Which forecast the days left count from (nominal, with boluses, worst case).
    days_left_basis: Mapped[str] = mapped_column(String(32))
    #: Kept with the forecast (same inputs, rewritten with it) so that the due list is one
    #: query without a subquery a pump: the pump's newest prescription version, whether its
    #: program has more than one step, whether its latest current refill asks for a review.
    prescription_id: Mapped[int | None] = mapped_column(ForeignKey("prescriptions.id"))
    flex_schedule: Mapped[bool] = mapped_column(server_default=false())
    open_discrepancy: Mapped[bool] = mapped_column(server_default=false())
    #: Revision 0010: the pump's most pressing order state
    #: (:class:`pumpmgr.orders.OrderState`, None when every order is signed) and whether it has
    #: an incident no prescriber has reviewed.
    order_alert: Mapped[str | None] = mapped_column(String(32))
    open_incident: Mapped[bool] = mapped_column(server_default=false())
    #: Revision 0020: a Stop order of the pump awaits being carried out (the due list's urgent).
    open_stop_order: Mapped[bool] = mapped_column(server_default=false())
    #: Revision 0022: the newest prescription's ingredients as one text, for the due list
    #: (:func:`pumpmgr.services.forecasting.solution_texts`); None: no prescription.
    solution: Mapped[str | None] = mapped_column(Text)
    #: Revision 0007 (domain-rules §3): when the worst-case residual (every bolus taken, the
    #: pump running fast) reaches the alarm volume and 0, and whether the pump carries the
    #: over-infusion-risk flag (it ran empty). With ``alarm_at`` and ``empty_at`` they give the
    #: state before the refill at any moment (:func:`pumpmgr.forecast.state_before_refill`).
    alarm_at_worst_case: Mapped[datetime | None]
    empty_at_worst_case: Mapped[datetime | None]
    over_infusion_risk: Mapped[bool] = mapped_column(server_default=false())


class SignInFailure(Base):
    """Failed sign-ins and second-user checks in a row, per user-name key, shared by every
    program and workstation on the database (see :mod:`pumpmgr.services.throttle`).

    Not a clinical record: rewritten in place and deleted after a successful sign-in. The key
    is a short digest of the typed name, never the name (a name box sometimes receives a
    password), so the table holds at most 65,536 rows whatever is typed.
    """

    __tablename__ = "sign_in_failures"
    __table_args__ = (CheckConstraint("failures >= 1", name="failures_positive"),)

    name_key: Mapped[str] = mapped_column(String(16), primary_key=True)
    failures: Mapped[int]
    last_failed_at: Mapped[datetime]
    #: Attempts are refused until then; None while the free attempts are not used up.
    locked_until: Mapped[datetime | None]


class IntegrityCheckpoint(Base):
    """The head of the audit chain the last check found sound, and the highest id of every
    covered table then (:mod:`pumpmgr.db.checkpoint`): the next check starts from it.

    One row (id 1), rewritten in place: derived data like the stored forecasts, not a record,
    so not covered by the chain. Moving it forward hides nothing from ``audit verify``, which
    checks everything from the first entry."""

    __tablename__ = "integrity_checkpoints"
    __table_args__ = (
        CheckConstraint("id = 1", name="one_row"),
        CheckConstraint("seq >= 1", name="seq_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int]
    row_hash: Mapped[str] = mapped_column(String(64))
    #: ``{"table": highest id}`` of every covered table when the check ran (canonical JSON).
    max_ids: Mapped[str] = mapped_column(Text)
    verified_at: Mapped[datetime]


class AuditEntry(Base):
    """One entry of the append-only, hash-chained audit log (see :mod:`pumpmgr.db.audit`)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_entity", "entity_type", "entity_id"),
        CheckConstraint("seq >= 1", name="seq_positive"),
        CheckConstraint("length(row_hash) = 64 AND length(prev_hash) = 64", name="hash_lengths"),
    )

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    recorded_at: Mapped[datetime]
    username: Mapped[str] = mapped_column(String(64))
    workstation: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    #: Canonical JSON of what changed (before and after), exactly the text that was hashed.
    payload: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: Revision 0008: canonical JSON of the images of the rows this entry's write inserted,
    #: changed or deleted (:mod:`pumpmgr.db.rowchain`), hashed with the entry; None in the
    #: entries written before it.
    written_rows: Mapped[str | None] = mapped_column(Text)
