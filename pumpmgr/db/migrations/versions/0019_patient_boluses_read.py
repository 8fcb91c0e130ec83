"""The patient boluses the programmer reports given since the last fill, kept with the refill
(domain-rules §4: they are subtracted from the expected residual).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06

``refills`` gains ``interrogated_patient_boluses``, a count with the programmer's reading of
0016 (NULL: not entered, no patient bolus in the program, a constant-flow pump, or a refill
recorded before this revision). Added with ``ALTER TABLE ... ADD COLUMN`` (never a table
rebuild: the append-only triggers of 0001 stay). Same rules as 0001: alembic and SQLAlchemy
only, no ORM models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_READ = (
    "interrogated_patient_boluses IS NULL OR "
    "(interrogated_patient_boluses >= 0 AND interrogated_status IS NOT NULL)"
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.add_column(
            "refills", sa.Column("interrogated_patient_boluses", sa.Integer(), nullable=True)
        )
        op.create_check_constraint("ck_refills_patient_boluses_read", "refills", _READ)
        return
    op.execute(
        "ALTER TABLE refills ADD COLUMN interrogated_patient_boluses INTEGER "
        f"CONSTRAINT ck_refills_patient_boluses_read CHECK ({_READ})"
    )


def downgrade() -> None:
    raise NotImplementedError(
        "pumpmgr does not downgrade: restore the backup taken before the upgrade instead"
    )
