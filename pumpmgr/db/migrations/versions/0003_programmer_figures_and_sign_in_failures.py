"""The programmer's own figures with each refill, and failed sign-ins kept in the database.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

- ``refills`` gains the figures the pump's programmer shows after the update (reservoir volume,
  low-reservoir alarm date, daily volume) and whether they differ from pumpmgr's forecast: all
  four NULL (a constant-flow pump has no programmer; refills recorded before this revision) or
  all four set. The columns are added with ``ALTER TABLE ... ADD COLUMN``, never by rebuilding
  the table, so the append-only triggers of 0001 stay as they are; on SQLite the CHECKs travel
  with the columns (SQLite cannot add a table constraint to an existing table), on PostgreSQL
  the completeness CHECK is added as a table constraint.
- ``sign_in_failures``: failed sign-ins and second-user checks per user-name key, so the
  throttle holds across processes and workstations (the command line starts afresh on every
  call). Not append-only: rows are rewritten and deleted.

Same rules as 0001: alembic and SQLAlchemy only, no ORM models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COMPLETE = (
    "(programmer_reservoir_ml IS NULL AND programmer_alarm_date IS NULL "
    "AND programmer_daily_volume_ml_per_day IS NULL AND programmer_differs IS NULL) OR "
    "(programmer_reservoir_ml >= 0 AND programmer_alarm_date IS NOT NULL "
    "AND programmer_daily_volume_ml_per_day >= 0 AND programmer_differs IS NOT NULL)"
)


def _is_number(column: str) -> str:
    return (
        f"CONSTRAINT ck_refills_{column}_is_number "
        f"CHECK (typeof({column}) IN ('real', 'integer', 'null'))"
    )


def _add_programmer_columns() -> None:
    bind = op.get_bind()
    columns = [
        sa.Column("programmer_reservoir_ml", sa.Double(), nullable=True),
        sa.Column("programmer_alarm_date", sa.Date(), nullable=True),
        sa.Column("programmer_daily_volume_ml_per_day", sa.Double(), nullable=True),
        sa.Column("programmer_differs", sa.Boolean(), nullable=True),
    ]
    if bind.dialect.name != "sqlite":
        for column in columns:
            op.add_column("refills", column)
        op.create_check_constraint("ck_refills_programmer_figures_complete", "refills", _COMPLETE)
        return
    extra = {
        "programmer_reservoir_ml": _is_number("programmer_reservoir_ml"),
        "programmer_daily_volume_ml_per_day": _is_number("programmer_daily_volume_ml_per_day"),
        # the last column added: a column CHECK may name only columns that already exist
        "programmer_differs": f"CONSTRAINT ck_refills_programmer_figures_complete "
        f"CHECK ({_COMPLETE})",
    }
    for column in columns:
        kind = column.type.compile(dialect=bind.dialect)
        op.execute(
            f"ALTER TABLE refills ADD COLUMN {column.name} {kind} "
            f"{extra.get(column.name, '')}".rstrip()
        )


def upgrade() -> None:
    _add_programmer_columns()
    t = "sign_in_failures"
    op.create_table(
        t,
        sa.Column("name_key", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("name_key", name=f"pk_{t}"),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("failures >= 1", name=f"ck_{t}_failures_positive"),
    )


def downgrade() -> None:
    raise NotImplementedError(
        "pumpmgr does not downgrade: restore the backup taken before the upgrade instead"
    )
