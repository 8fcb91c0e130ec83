"""The refills that found the pump empty or at risk of over-infusion, indexed by pump.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08

Every forecast asks whether its pump ever ran empty (a current refill with the verdict
``found_empty`` or the over-infusion flag of 0017). Without an index that holds only those
refills, the question reads every refill of every pump (the forecast recompute of the
5,000-patient bench clinic: some 300,000 rows for 21 matches). A partial index
``ix_refills_ran_empty`` on ``refills (pump_id)``, its condition the same on both backends but
for how each writes true (``pumpmgr.db.schema.ran_empty``). No table is rebuilt. Same rules as
0001: alembic and SQLAlchemy only, no ORM models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    true = "1" if op.get_bind().dialect.name == "sqlite" else "true"
    where = sa.text(f"discrepancy_verdict = 'found_empty' OR over_infusion_risk = {true}")
    op.create_index(
        "ix_refills_ran_empty",
        "refills",
        ["pump_id"],
        sqlite_where=where,
        postgresql_where=where,
    )


def downgrade() -> None:
    raise NotImplementedError(
        "pumpmgr does not downgrade: restore the backup taken before the upgrade instead"
    )
