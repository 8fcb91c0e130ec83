"""The dose a drug's first prescription continues from before the record (domain-rules §6).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07

``prescription_ingredients`` gains ``continued_mcg_per_day``: a drug the patient has no record of
is a start unless the entry says the patient already receives it, with the daily dose it
continues (a therapy transferred in from paper or another clinic); the checks compare the new
dose with that one. NULL for the rows on record: nothing was asked then. Added with ``ALTER
TABLE ... ADD COLUMN`` (never a table rebuild: the append-only triggers of 0001 stay). Same
rules as 0001: alembic and SQLAlchemy only, no ORM models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "prescription_ingredients",
        sa.Column("continued_mcg_per_day", sa.Double(), nullable=True),
    )


def downgrade() -> None:
    raise NotImplementedError(
        "pumpmgr does not downgrade: restore the backup taken before the upgrade instead"
    )
