"""Which refill-due rules the stored forecasts follow (issue 14: a start that needs no query).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

``clinic_settings`` gains ``forecast_rules``: the revision of the refill-due rules every stored
forecast was computed with (1: the worst case and the limits of revision 0007). The first start
after an upgrade computes the forecasts stored under older rules again, once, and sets it; later
starts read it with the settings row instead of searching the forecasts. A clinic with no
forecast stored under the old rules (every new database) is marked current here.

Added with ``ALTER TABLE ... ADD COLUMN``, never a table rebuild. Same rules as 0001: alembic
and SQLAlchemy only, no ORM models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SETTINGS = "clinic_settings"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {_SETTINGS} ADD COLUMN forecast_rules INTEGER DEFAULT 0 NOT NULL")
    else:
        op.add_column(
            _SETTINGS,
            sa.Column("forecast_rules", sa.Integer(), nullable=False, server_default=sa.text("0")),
        )
    # a forecast with an alarm date but no worst-case date was written before revision 0007
    op.execute(
        f"UPDATE {_SETTINGS} SET forecast_rules = 1 WHERE NOT EXISTS (SELECT 1 FROM "
        "pump_forecasts WHERE alarm_at IS NOT NULL AND alarm_at_worst_case IS NULL)"
    )


def downgrade() -> None:
    raise NotImplementedError(
        "pumpmgr does not downgrade: restore the backup taken before the upgrade instead"
    )
