"""Initial schema: every table, index and append-only trigger, and the default clinic settings.

Revision ID: 0001
Revises:
Create Date: 2026-05-09

Persistence layer: a migration may import alembic and SQLAlchemy only. It must not import the
ORM models (``pumpmgr.db.schema``): a revision describes the schema as it was when written.
``tests/db`` compares the result with the models.

Append-only tables get triggers that refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL).
Anyone who can write the database file, or owns the PostgreSQL tables, can drop a trigger: the
triggers stop mistakes and casual edits, and the audit log's hash chain is what proves tampering.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY_TABLES = (
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
)


def _sqlite() -> bool:
    return bool(op.get_bind().dialect.name == "sqlite")


def _instant(name: str, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _id(table: str) -> list[SchemaItem]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
    ]


def _fk(table: str, column: str, target: str, nullable: bool = False) -> list[SchemaItem]:
    return [
        sa.Column(column, sa.Integer(), nullable=nullable),
        sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}"),
    ]


def _magnitude(table: str, column: str, nullable: bool = False) -> list[SchemaItem]:
    items: list[SchemaItem] = [sa.Column(column, sa.Double(), nullable=nullable)]
    if _sqlite():
        items.append(
            sa.CheckConstraint(
                f"typeof({column}) IN ('real', 'integer', 'null')",
                name=f"ck_{table}_{column}_is_number",
            )
        )
    return items


def _check(table: str, name: str, condition: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(condition, name=f"ck_{table}_{name}")


def _enum(table: str, column: str, enum_name: str, values: Sequence[str]) -> list[SchemaItem]:
    quoted = ", ".join(f"'{value}'" for value in values)
    return [
        sa.Column(column, sa.String(32), nullable=False),
        _check(table, enum_name, f"{column} IN ({quoted})"),
    ]


def _clinical(table: str) -> list[SchemaItem]:
    return [
        *_fk(table, "corrects_id", table, nullable=True),
        sa.Column("correction_reason", sa.Text(), nullable=True),
        _instant("recorded_at"),
        *_fk(table, "recorded_by_id", "users"),
        _check(
            table, "correction_has_reason", "corrects_id IS NULL OR correction_reason IS NOT NULL"
        ),
    ]


def _index(table: str, *columns: str, name: str | None = None, unique: bool = False) -> None:
    op.create_index(name or f"ix_{table}_{'_'.join(columns)}", table, list(columns), unique=unique)


def _create_tables() -> None:
    t = "users"
    op.create_table(
        t,
        *_id(t),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("full_name", sa.String(200), nullable=False),
        *_enum(t, "role", "role", ("nurse", "prescriber", "administrator")),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _instant("created_at"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )

    t = "patients"
    op.create_table(
        t,
        *_id(t),
        sa.Column("mrn", sa.String(64), nullable=False),
        sa.Column("family_name", sa.String(200), nullable=False),
        sa.Column("given_name", sa.String(200), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        *_enum(
            t,
            "indication",
            "indication",
            ("spasticity_spinal", "spasticity_cerebral", "cancer_pain", "non_cancer_pain", "other"),
        ),
        sa.Column("indication_other", sa.String(200), nullable=True),
        sa.Column("renal_impairment", sa.Boolean(), nullable=False),
        sa.Column("emergency_contact_name", sa.String(200), nullable=True),
        sa.Column("emergency_contact_phone", sa.String(64), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        *_enum(t, "status", "patient_status", ("active", "inactive", "deceased")),
        _instant("created_at"),
        _instant("updated_at"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.UniqueConstraint("mrn", name="uq_patients_mrn"),
    )
    _index(t, "family_name", "given_name", name="ix_patients_names")

    t = "pumps"
    op.create_table(
        t,
        *_id(t),
        *_fk(t, "patient_id", "patients"),
        sa.Column("model_key", sa.String(64), nullable=False),
        sa.Column("serial_number", sa.String(64), nullable=False),
        sa.Column("implant_date", sa.Date(), nullable=False),
        sa.Column("implant_site", sa.String(200), nullable=False),
        *_magnitude(t, "reservoir_capacity_ml"),
        *_magnitude(t, "low_reservoir_alarm_ml"),
        sa.Column("accuracy_percent", sa.Double(), nullable=True),
        *_magnitude(t, "nominal_flow_ml_per_day", nullable=True),
        *_magnitude(t, "pump_path_volume_ml", nullable=True),
        sa.Column("replace_by_date", sa.Date(), nullable=True),
        *_enum(t, "status", "pump_status", ("active", "inactive", "explanted")),
        sa.Column("explant_date", sa.Date(), nullable=True),
        sa.Column("explant_reason", sa.Text(), nullable=True),
        _instant("created_at"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.UniqueConstraint("model_key", "serial_number", name="uq_pumps_model_key_serial_number"),
        _check(t, "capacity_positive", "reservoir_capacity_ml > 0"),
        _check(
            t,
            "alarm_below_capacity",
            "low_reservoir_alarm_ml >= 0 AND low_reservoir_alarm_ml < reservoir_capacity_ml",
        ),
        _check(
            t,
            "explant_fields_match_status",
            "(status = 'explanted' AND explant_date IS NOT NULL) OR "
            "(status <> 'explanted' AND explant_date IS NULL AND explant_reason IS NULL)",
        ),
    )
    _index(t, "patient_id")
    _index(t, "replace_by_date")
    # At most one active pump per patient: a partial unique index, valid on SQLite and PostgreSQL.
    op.create_index(
        "ux_pumps_one_active_per_patient",
        t,
        ["patient_id"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )

    t = "catheters"
    op.create_table(
        t,
        *_id(t),
        *_fk(t, "patient_id", "patients"),
        *_fk(t, "pump_id", "pumps", nullable=True),
        sa.Column("model_key", sa.String(64), nullable=False),
        sa.Column("tip_level", sa.String(16), nullable=False),
        sa.Column("implant_date", sa.Date(), nullable=False),
        sa.Column("revision_date", sa.Date(), nullable=True),
        *_clinical(t),
    )
    for column in ("patient_id", "pump_id", "corrects_id", "recorded_by_id"):
        _index(t, column)

    t = "catheter_segments"
    op.create_table(
        t,
        *_id(t),
        *_fk(t, "catheter_id", "catheters"),
        sa.Column("position", sa.Integer(), nullable=False),
        *_magnitude(t, "implanted_length_cm"),
        *_magnitude(t, "trimmed_length_cm"),
        *_magnitude(t, "volume_ml_per_cm"),
        sa.UniqueConstraint(
            "catheter_id", "position", name="uq_catheter_segments_catheter_id_position"
        ),
        _check(t, "position_not_negative", "position >= 0"),
        _check(t, "implanted_length_positive", "implanted_length_cm > 0"),
        _check(t, "trimmed_length_not_negative", "trimmed_length_cm >= 0"),
        _check(t, "volume_per_length_positive", "volume_ml_per_cm > 0"),
    )
    _index(t, "catheter_id")

    t = "prescriptions"
    op.create_table(
        t,
        *_id(t),
        *_fk(t, "pump_id", "pumps"),
        sa.Column("revision", sa.Integer(), nullable=False),
        _instant("effective_at"),
        sa.Column("prescriber_name", sa.String(200), nullable=False),
        *_fk(t, "prescriber_id", "users", nullable=True),
        *_magnitude(t, "ptm_bolus_dose_mcg", nullable=True),
        sa.Column("ptm_max_per_day", sa.Integer(), nullable=True),
        *_magnitude(t, "ptm_lockout_days", nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        *_clinical(t),
        sa.UniqueConstraint("pump_id", "revision", name="uq_prescriptions_pump_id_revision"),
        _check(t, "revision_positive", "revision >= 1"),
        _check(
            t,
            "ptm_complete",
            "(ptm_bolus_dose_mcg IS NULL AND ptm_max_per_day IS NULL "
            "AND ptm_lockout_days IS NULL) OR (ptm_bolus_dose_mcg > 0 AND ptm_max_per_day >= 1 "
            "AND ptm_lockout_days >= 0)",
        ),
    )
    for column in ("pump_id", "prescriber_id", "corrects_id", "recorded_by_id"):
        _index(t, column)
    _index(t, "pump_id", "effective_at")

    t = "prescription_ingredients"
    op.create_table(
        t,
        *_id(t),
        *_fk(t, "prescription_id", "prescriptions"),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("drug_key", sa.String(64), nullable=False),
        *_magnitude(t, "concentration_mcg_per_ml"),
        sa.UniqueConstraint("prescription_id", "position", name=f"uq_{t}_prescription_id_position"),
        sa.UniqueConstraint("prescription_id", "drug_key", name=f"uq_{t}_prescription_id_drug_key"),
        _check(t, "position_not_negative", "position >= 0"),
        _check(t, "concentration_positive", "concentration_mcg_per_ml > 0"),
    )
    _index(t, "prescription_id")

    t = "schedule_steps"
    op.create_table(
        t,
        *_id(t),
        *_fk(t, "prescription_id", "prescriptions"),
        sa.Column("start_time", sa.Time(), nullable=False),
        *_magnitude(t, "rate_mcg_per_day"),
        sa.UniqueConstraint(
            "prescription_id", "start_time", name=f"uq_{t}_prescription_id_start_time"
        ),
        _check(t, "rate_not_negative", "rate_mcg_per_day >= 0"),
    )
    _index(t, "prescription_id")

    t = "scheduled_boluses"
    op.create_table(
        t,
        *_id(t),
        *_fk(t, "prescription_id", "prescriptions"),
        sa.Column("at_time", sa.Time(), nullable=False),
        *_magnitude(t, "amount_mcg"),
        _check(t, "amount_positive", "amount_mcg > 0"),
    )
    _index(t, "prescription_id")

    t = "prescription_findings"
    op.create_table(
        t,
        *_id(t),
        *_fk(t, "prescription_id", "prescriptions"),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.UniqueConstraint("prescription_id", "position", name=f"uq_{t}_prescription_id_position"),
    )
    _index(t, "prescription_id")

    t = "refills"
    op.create_table(
        t,
        *_id(t),
        *_fk(t, "pump_id", "pumps"),
        *_fk(t, "prescription_id", "prescriptions", nullable=True),
        _instant("performed_at"),
        *_magnitude(t, "expected_residual_ml"),
        *_magnitude(t, "aspirated_ml"),
        sa.Column("discrepancy_verdict", sa.String(32), nullable=False),
        sa.Column("discrepancy_note", sa.Text(), nullable=True),
        *_magnitude(t, "volume_added_ml"),
        *_magnitude(t, "final_reservoir_ml"),
        sa.Column("lot_number", sa.String(64), nullable=False),
        sa.Column("expiry_date", sa.Date(), nullable=False),
        sa.Column("solution_source", sa.String(200), nullable=False),
        sa.Column("bridge_bolus_given", sa.Boolean(), nullable=False),
        *_magnitude(t, "bolus_volume_ml", nullable=True),
        sa.Column("priming_bolus_given", sa.Boolean(), nullable=False),
        sa.Column("pump_confirmed_running", sa.Boolean(), nullable=False),
        sa.Column("needle_position_confirmed", sa.Boolean(), nullable=False),
        *_fk(t, "nurse_id", "users"),
        *_fk(t, "verifying_nurse_id", "users"),
        *_clinical(t),
        _check(t, "two_different_nurses", "verifying_nurse_id <> nurse_id"),
        _check(t, "expected_residual_not_negative", "expected_residual_ml >= 0"),
        _check(t, "aspirated_not_negative", "aspirated_ml >= 0"),
        _check(t, "volume_added_not_negative", "volume_added_ml >= 0"),
        _check(t, "final_volume_not_negative", "final_reservoir_ml >= 0"),
    )
    for column in (
        "pump_id",
        "prescription_id",
        "nurse_id",
        "verifying_nurse_id",
        "corrects_id",
        "recorded_by_id",
    ):
        _index(t, column)
    _index(t, "pump_id", "performed_at")

    t = "pump_events"
    op.create_table(
        t,
        *_id(t),
        *_fk(t, "pump_id", "pumps"),
        *_enum(
            t,
            "kind",
            "pump_event_kind",
            (
                "implant",
                "replacement",
                "explant",
                "catheter_revision",
                "mri",
                "alarm",
                "eri",
                "note",
            ),
        ),
        _instant("occurred_at"),
        sa.Column("post_mri_check_done", sa.Boolean(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        *_clinical(t),
        _check(
            t,
            "post_mri_check_only_for_mri",
            "(kind = 'mri' AND post_mri_check_done IS NOT NULL) OR "
            "(kind <> 'mri' AND post_mri_check_done IS NULL)",
        ),
    )
    for column in ("pump_id", "corrects_id", "recorded_by_id"):
        _index(t, column)
    _index(t, "pump_id", "occurred_at")

    t = "clinic_settings"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{t}"),
        sa.Column("clinic_name", sa.String(200), nullable=False),
        sa.Column("clinic_phone", sa.String(64), nullable=False),
        sa.Column("refill_buffer_days", sa.Integer(), nullable=False),
        sa.Column("open_weekdays_mask", sa.Integer(), nullable=False),
        *_enum(t, "page_size", "page_size", ("A4", "Letter")),
        sa.Column("auto_lock_minutes", sa.Integer(), nullable=False),
        _instant("updated_at"),
        sa.Column("version", sa.Integer(), nullable=False),
        _check(t, "single_row", "id = 1"),
        _check(t, "buffer_not_negative", "refill_buffer_days >= 0"),
        _check(t, "some_open_day", "open_weekdays_mask >= 1 AND open_weekdays_mask <= 127"),
        _check(t, "auto_lock_positive", "auto_lock_minutes >= 1"),
    )

    t = "drug_library_edits"
    op.create_table(
        t,
        *_id(t),
        sa.Column("drug_key", sa.String(64), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _instant("edited_at"),
        *_fk(t, "edited_by_id", "users"),
    )
    _index(t, "drug_key")
    _index(t, "edited_by_id")

    t = "pump_forecasts"
    op.create_table(
        t,
        sa.Column("pump_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("pump_id", name=f"pk_{t}"),
        sa.ForeignKeyConstraint(["pump_id"], ["pumps.id"], name=f"fk_{t}_pump_id_pumps"),
        _instant("computed_at"),
        _instant("filled_at", nullable=True),
        *_magnitude(t, "fill_volume_ml", nullable=True),
        *_magnitude(t, "daily_volume_ml_per_day", nullable=True),
        _instant("alarm_at", nullable=True),
        _instant("alarm_at_with_boluses", nullable=True),
        _instant("empty_at", nullable=True),
        sa.Column("refill_due", sa.Date(), nullable=True),
        sa.Column("refill_due_reason", sa.Text(), nullable=False),
        sa.Column("days_left_basis", sa.String(32), nullable=False),
    )
    _index(t, "refill_due")

    t = "audit_log"
    op.create_table(
        t,
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("seq", name=f"pk_{t}"),
        _instant("recorded_at"),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("workstation", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("entity_type", sa.String(64), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("row_hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("row_hash", name=f"uq_{t}_row_hash"),
        _check(t, "seq_positive", "seq >= 1"),
        _check(t, "hash_lengths", "length(row_hash) = 64 AND length(prev_hash) = 64"),
    )
    _index(t, "entity_type", "entity_id", name="ix_audit_log_entity")


def _create_append_only_triggers() -> None:
    if _sqlite():
        for table in APPEND_ONLY_TABLES:
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER trg_{table}_no_{event.lower()} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'pumpmgr: {table} is append-only; "
                    f"{event} is refused (record a correction instead)'); END"
                )
        return
    op.execute(
        """
        CREATE FUNCTION pumpmgr_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'pumpmgr: % is append-only; % is refused', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'restrict_violation',
                HINT = 'record a correction instead';
        END
        $$
        """
    )
    for table in APPEND_ONLY_TABLES:
        op.execute(
            f"CREATE TRIGGER trg_{table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION pumpmgr_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER trg_{table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION pumpmgr_refuse_change()"
        )


def _insert_default_settings() -> None:
    settings = sa.table(
        "clinic_settings",
        sa.column("id", sa.Integer()),
        sa.column("clinic_name", sa.String()),
        sa.column("clinic_phone", sa.String()),
        sa.column("refill_buffer_days", sa.Integer()),
        sa.column("open_weekdays_mask", sa.Integer()),
        sa.column("page_size", sa.String()),
        sa.column("auto_lock_minutes", sa.Integer()),
        sa.column("updated_at", sa.DateTime(timezone=True)),
        sa.column("version", sa.Integer()),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        settings,
        [
            {
                "id": 1,
                "clinic_name": "",
                "clinic_phone": "",
                "refill_buffer_days": 7,  # domain rules §3: default buffer 7 days
                "open_weekdays_mask": 31,  # Monday to Friday
                "page_size": "A4",
                "auto_lock_minutes": 10,
                "updated_at": now if not _sqlite() else now.replace(tzinfo=None),
                "version": 1,
            }
        ],
    )


def upgrade() -> None:
    _create_tables()
    _create_append_only_triggers()
    _insert_default_settings()


def downgrade() -> None:
    raise NotImplementedError(
        "pumpmgr does not downgrade: restore the backup taken before the upgrade instead"
    )
