"""The stored forecasts follow the first fill of each drug (refill-due rules 2, domain-rules §3).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07

Ziconotide's 14-day in-pump stability holds after the pump's first *ziconotide* fill; the
forecasts on record keyed it to the pump's first fill of anything (a pump switched to ziconotide
got 40 or 84 days). No column changes: the first start after the upgrade computes every active
pump's forecast again, once (:meth:`pumpmgr.services.forecasts.ForecastService.refresh_stale`,
``clinic_settings.forecast_rules`` below 2). A clinic with no forecast stored (every new database)
is marked current here. Same rules as 0001: alembic and SQLAlchemy only, no ORM models.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "UPDATE clinic_settings SET forecast_rules = 2 "
        "WHERE NOT EXISTS (SELECT 1 FROM pump_forecasts)"
    )


def downgrade() -> None:
    raise NotImplementedError(
        "pumpmgr does not downgrade: restore the backup taken before the upgrade instead"
    )
