"""The refills index carries the discrepancy verdict.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

The due list asks, per pump, whether the latest refill's verdict says investigate; with the
verdict in the (pump, time) index that is answered from the index alone. Same rules as 0001:
alembic and SQLAlchemy only, no ORM models.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_refills_pump_id_performed_at", table_name="refills")
    op.create_index(
        "ix_refills_pump_id_performed_at_discrepancy_verdict",
        "refills",
        ["pump_id", "performed_at", "discrepancy_verdict"],
    )


def downgrade() -> None:
    raise NotImplementedError(
        "pumpmgr does not downgrade: restore the backup taken before the upgrade instead"
    )
