"""The refill-due date's new limits and the states before a refill (issue 11).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

- ``clinic_settings`` gains the longest refill interval for a drug the library gives none
  (90 days, clinic policy), the dates the clinic is closed (a JSON list of ISO dates, empty) and
  the aspirate at or below which the reservoir was found empty (0.5 mL, clinic policy).
- ``refills`` gains whether a pharmacy compounded the solution (false for the refills on record:
  unknown then) and the expected residual not floored at 0 (NULL for the refills on record).
- ``pump_forecasts`` gains the worst-case alarm and empty instants (NULL until the forecast is
  next written) and the over-infusion-risk flag (false).

Every column is added with ``ALTER TABLE ... ADD COLUMN`` (never a table rebuild: the append-only
triggers of 0001 stay), with its default, so no stored row changes. Same rules as 0001: alembic
and SQLAlchemy only, no ORM models.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: table, column, SQLAlchemy type, server default (None: nullable, no default)
_COLUMNS: tuple[tuple[str, str, sa.types.TypeEngine[Any], str | None], ...] = (
    ("clinic_settings", "max_refill_interval_days", sa.Integer(), "90"),
    ("clinic_settings", "closed_dates", sa.JSON(), "'[]'"),
    ("clinic_settings", "empty_threshold_ml", sa.Double(), "0.5"),
    ("refills", "pharmacy_compounded", sa.Boolean(), "false"),
    ("refills", "expected_residual_unfloored_ml", sa.Double(), None),
    ("pump_forecasts", "alarm_at_worst_case", sa.DateTime(timezone=True), None),
    ("pump_forecasts", "empty_at_worst_case", sa.DateTime(timezone=True), None),
    ("pump_forecasts", "over_infusion_risk", sa.Boolean(), "false"),
)


def upgrade() -> None:
    bind = op.get_bind()
    for table, name, kind, default in _COLUMNS:
        if bind.dialect.name != "sqlite":
            op.add_column(
                table,
                sa.Column(
                    name,
                    kind,
                    nullable=default is None,
                    server_default=None if default is None else sa.text(default),
                ),
            )
            continue
        tail = "" if default is None else f" DEFAULT {default} NOT NULL"
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN {name} {kind.compile(dialect=bind.dialect)}{tail}"
        )


def downgrade() -> None:
    raise NotImplementedError(
        "pumpmgr does not downgrade: restore the backup taken before the upgrade instead"
    )
