"""What the forecasts read less of: the ran-empty refills indexed, the solution kept.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07

Every forecast asks whether its pump ever ran empty (a current refill with the verdict
``found_empty`` or the over-infusion flag of 0017). Without an index that holds only those
refills, the question reads every refill of every pump (the forecast recompute of the
5,000-patient bench clinic: some 300,000 rows for 21 matches). A partial index
``ix_refills_ran_empty`` on ``refills (pump_id)``, its condition the same on both backends but
for how each writes true (``pumpmgr.db.schema.ran_empty``).

``pump_forecasts`` gains ``solution``: the newest prescription's ingredients (the forecast's
``prescription_id``) as one text, each ingredient as drug key and mcg/mL, in ingredient order,
so that the due list reads one column instead of every listed prescription's ingredients. It
is filled here from the records as the services write it
(``pumpmgr.services.forecasting.solution_texts``, its text copied below: a revision is frozen).
Added with ``ALTER TABLE ... ADD COLUMN``; no table is rebuilt. Same rules as 0001: alembic and
SQLAlchemy only, no ORM models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INGREDIENT, _FIELD = "\x1e", "\x1f"


def upgrade() -> None:
    bind = op.get_bind()
    true = "1" if bind.dialect.name == "sqlite" else "true"
    where = sa.text(f"discrepancy_verdict = 'found_empty' OR over_infusion_risk = {true}")
    op.create_index(
        "ix_refills_ran_empty",
        "refills",
        ["pump_id"],
        sqlite_where=where,
        postgresql_where=where,
    )
    op.add_column("pump_forecasts", sa.Column("solution", sa.Text(), nullable=True))
    _fill_solutions(bind)


def _fill_solutions(bind: sa.Connection) -> None:
    """Each stored forecast's solution, from its prescription's ingredients in order."""
    parts: dict[int, list[str]] = {}
    for rx_id, key, concentration in bind.execute(
        sa.text(
            "SELECT i.prescription_id, i.drug_key, i.concentration_mcg_per_ml "
            "FROM prescription_ingredients i WHERE i.prescription_id IN "
            "(SELECT f.prescription_id FROM pump_forecasts f) "
            "ORDER BY i.prescription_id, i.position"
        )
    ):
        parts.setdefault(rx_id, []).append(f"{key}{_FIELD}{float(concentration)!r}")
    if parts:
        bind.execute(
            sa.text("UPDATE pump_forecasts SET solution = :solution WHERE prescription_id = :rx"),
            [{"rx": rx, "solution": _INGREDIENT.join(texts)} for rx, texts in parts.items()],
        )


def downgrade() -> None:
    raise NotImplementedError(
        "pumpmgr does not downgrade: restore the backup taken before the upgrade instead"
    )
