"""The due list's facts are kept with each stored forecast.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26

``pump_forecasts`` gains the pump's newest prescription version (``prescription_id``), whether
its program has more than one step (``flex_schedule``) and whether the pump's latest current
refill (one no later row corrects) asks for a review (``open_discrepancy``). The services write
them with the forecast, from the same inputs, so the due list is one query without a subquery
for each pump. Existing rows are filled here from the records. The columns are added with
``ALTER TABLE ... ADD COLUMN``, never by rebuilding the table.

Same rules as 0001: alembic and SQLAlchemy only, no ORM models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_T = "pump_forecasts"
_FK = f"fk_{_T}_prescription_id_prescriptions"

_FILL = (
    f"UPDATE {_T} SET prescription_id = (SELECT max(x.id) FROM prescriptions x "
    f"WHERE x.pump_id = {_T}.pump_id)",
    f"UPDATE {_T} SET flex_schedule = ((SELECT count(*) FROM schedule_steps s "
    f"WHERE s.prescription_id = {_T}.prescription_id) > 1)",
    f"UPDATE {_T} SET open_discrepancy = coalesce((SELECT r.discrepancy_verdict = 'investigate' "
    f"FROM refills r WHERE r.pump_id = {_T}.pump_id AND r.id NOT IN "
    f"(SELECT c.corrects_id FROM refills c WHERE c.corrects_id IS NOT NULL) "
    f"ORDER BY r.performed_at DESC, r.id DESC LIMIT 1), false)",
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute(
            f"ALTER TABLE {_T} ADD COLUMN prescription_id INTEGER "
            f"CONSTRAINT {_FK} REFERENCES prescriptions (id)"
        )
        for name in ("flex_schedule", "open_discrepancy"):
            op.execute(f"ALTER TABLE {_T} ADD COLUMN {name} BOOLEAN DEFAULT false NOT NULL")
    else:
        op.add_column(_T, sa.Column("prescription_id", sa.Integer(), nullable=True))
        op.create_foreign_key(_FK, _T, "prescriptions", ["prescription_id"], ["id"])
        for name in ("flex_schedule", "open_discrepancy"):
            op.add_column(
                _T, sa.Column(name, sa.Boolean(), server_default=sa.false(), nullable=False)
            )
    for statement in _FILL:
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError(
        "pumpmgr does not downgrade: restore the backup taken before the upgrade instead"
    )
