"""The clinic's edits of the pump catalog's flow limits and labelling (domain-rules §6).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

A new append-only ``pump_catalog_edits`` table, like ``drug_library_edits``: a model key, the
changed values (flows in mL/day, labelling as drug key to concentrations in mcg/mL), the reason,
when and by whom. Existing clinics start with none: the shipped catalog applies unchanged.

Same rules as 0001: alembic and SQLAlchemy only, no ORM models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_T = "pump_catalog_edits"


def upgrade() -> None:
    op.create_table(
        _T,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{_T}"),
        sa.Column("model_key", sa.String(64), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("edited_by_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["edited_by_id"], ["users.id"], name=f"fk_{_T}_edited_by_id_users"),
    )
    op.create_index(f"ix_{_T}_model_key", _T, ["model_key"])
    op.create_index(f"ix_{_T}_edited_by_id", _T, ["edited_by_id"])
    if op.get_bind().dialect.name == "sqlite":
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
