"""Individual maxima (domain-rules §6).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

A new append-only ``individual_maxima`` table: a clinic-policy hard maximum raised for one
patient and drug by a prescriber with a second prescriber's signature and a reason, then
reviewed (at least every 6 months, policy) or ended. Each step is a row; the patient's maximum
of a drug is the newest row's. Existing clinics start with none.

Same rules as 0001: alembic and SQLAlchemy only, no ORM models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_T = "individual_maxima"


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    # on SQLite, text in a magnitude column is refused (PostgreSQL's type already refuses it)
    number = (
        [
            sa.CheckConstraint(
                "typeof(max_mcg_per_day) IN ('real', 'integer', 'null')",
                name=f"ck_{_T}_max_mcg_per_day_is_number",
            )
        ]
        if sqlite
        else []
    )
    op.create_table(
        _T,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{_T}"),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=f"fk_{_T}_patient_id_patients"
        ),
        sa.Column("drug_key", sa.String(32), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("max_mcg_per_day", sa.Double(), nullable=True),
        *number,
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["by_id"], ["users.id"], name=f"fk_{_T}_by_id_users"),
        sa.Column("signed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["signed_by_id"], ["users.id"], name=f"fk_{_T}_signed_by_id_users"),
        sa.Column("review_by", sa.Date(), nullable=True),
        sa.CheckConstraint("action IN ('set', 'reviewed', 'ended')", name=f"ck_{_T}_action_known"),
        sa.CheckConstraint(
            "(action = 'ended') = (max_mcg_per_day IS NULL)", name=f"ck_{_T}_ended_has_no_maximum"
        ),
        sa.CheckConstraint(
            "max_mcg_per_day IS NULL OR max_mcg_per_day > 0", name=f"ck_{_T}_maximum_positive"
        ),
        sa.CheckConstraint(
            "action <> 'set' OR signed_by_id IS NOT NULL", name=f"ck_{_T}_set_is_signed"
        ),
        sa.CheckConstraint(
            "signed_by_id IS NULL OR signed_by_id <> by_id",
            name=f"ck_{_T}_two_different_signatures",
        ),
    )
    op.create_index(f"ix_{_T}_patient_id_drug_key", _T, ["patient_id", "drug_key"])
    op.create_index(f"ix_{_T}_by_id", _T, ["by_id"])
    if sqlite:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER trg_{_T}_no_{event.lower()} BEFORE {event} ON {_T} "
                f"BEGIN SELECT RAISE(ABORT, 'pumpmgr: {_T} is append-only; "
                f"{event} is refused (record a correction instead)'); END"
            )
        return
    op.execute(
        f"CREATE TRIGGER trg_{_T}_no_change BEFORE UPDATE OR DELETE ON {_T} "
        "FOR EACH ROW EXECUTE FUNCTION pumpmgr_refuse_change()"
    )
    op.execute(
        f"CREATE TRIGGER trg_{_T}_no_truncate BEFORE TRUNCATE ON {_T} "
        "FOR EACH STATEMENT EXECUTE FUNCTION pumpmgr_refuse_change()"
    )


def downgrade() -> None:
    raise NotImplementedError(
        "pumpmgr does not downgrade: restore the backup taken before the upgrade instead"
    )
