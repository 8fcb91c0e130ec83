"""What the nurse found before refilling, kept with the refill (issue 13).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06

``refills`` gains the programmer's reading before the refill (pump status, the alarms it
reports as comma-separated codes, the reservoir volume it reports: all three or none, none for a
constant-flow pump), the site and pocket findings with a note, and the symptoms asked (signs of
withdrawal, of overdose) with a note. Every column is NULL for the refills on record (not
recorded then). Added with ``ALTER TABLE ... ADD COLUMN`` (never a table rebuild: the append-only
triggers of 0001 stay). Same rules as 0001: alembic and SQLAlchemy only, no ORM models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COMPLETE = (
    "(interrogated_status IS NULL AND interrogated_alarms IS NULL "
    "AND interrogated_reservoir_ml IS NULL) OR "
    "(interrogated_status IN ('running', 'stopped') AND interrogated_alarms IS NOT NULL "
    "AND interrogated_reservoir_ml >= 0)"
)


def upgrade() -> None:
    bind = op.get_bind()
    columns = [
        sa.Column("interrogated_status", sa.String(16), nullable=True),
        sa.Column("interrogated_alarms", sa.String(200), nullable=True),
        sa.Column("interrogated_reservoir_ml", sa.Double(), nullable=True),
        sa.Column("site_findings", sa.String(200), nullable=True),
        sa.Column("site_note", sa.Text(), nullable=True),
        sa.Column("withdrawal_signs", sa.Boolean(), nullable=True),
        sa.Column("overdose_signs", sa.Boolean(), nullable=True),
        sa.Column("symptoms_note", sa.Text(), nullable=True),
    ]
    if bind.dialect.name != "sqlite":
        for column in columns:
            op.add_column("refills", column)
        op.create_check_constraint("ck_refills_interrogation_complete", "refills", _COMPLETE)
        return
    extra = {
        "interrogated_reservoir_ml": "CONSTRAINT ck_refills_interrogated_reservoir_ml_is_number "
        "CHECK (typeof(interrogated_reservoir_ml) IN ('real', 'integer', 'null')) "
        # a column CHECK may name only columns that already exist: this is the last of
        # the three
        f"CONSTRAINT ck_refills_interrogation_complete CHECK ({_COMPLETE})",
    }
    for column in columns:
        kind = column.type.compile(dialect=bind.dialect)
        op.execute(
            f"ALTER TABLE refills ADD COLUMN {column.name} {kind} "
            f"{extra.get(column.name, '')}".rstrip()
        )


def downgrade() -> None:
    raise NotImplementedError(
        "pumpmgr does not downgrade: restore the backup taken before the upgrade instead"
    )
