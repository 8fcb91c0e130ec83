"""Whether a refill's solution is undiluted, recorded at the refill (domain-rules §3).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06

``refills`` gains ``undiluted``: the solution is undiluted as supplied by the manufacturer,
which sets ziconotide's in-pump stability limit (84 days instead of 40). NULL for the refills on
record: not recorded then, and never inferred from the concentration (the diluted limit applies).
Added with ``ALTER TABLE ... ADD COLUMN`` (never a table rebuild: the append-only triggers of
0001 stay). Same rules as 0001: alembic and SQLAlchemy only, no ORM models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("refills", sa.Column("undiluted", sa.Boolean(), nullable=True))


def downgrade() -> None:
    raise NotImplementedError(
        "pumpmgr does not downgrade: restore the backup taken before the upgrade instead"
    )
