"""Stop orders (domain-rules §6).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06

Stopping a drug is its own order, by a prescriber, never a dose of zero:

- ``stop_orders`` (append-only): the pump, the drug, the prescriber who gave it with their own
  password, when it takes effect, the reason, and whether the stop will be long (the pump then
  to be emptied and filled with preservative-free saline).
- ``stop_orders_carried_out`` (append-only): a nurse's record that a Stop order was carried
  out and how; the order leaves the banner and the due list then.
- ``pump_forecasts`` gains whether a Stop order of the pump awaits being carried out (the due
  list lists the pump as urgent), false for the forecasts on record.

Same rules as 0001: alembic and SQLAlchemy only, no ORM models.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_APPEND_ONLY_TABLES = ("stop_orders", "stop_orders_carried_out")
#: Revision 0020's CHECK on what was done (the schema repeats it).
CARRIED_OUT_KNOWN = "done IN ('emptied_saline', 'minimum_rate', 'pump_stopped')"


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _append_only(table: str) -> None:
    if _sqlite():
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER trg_{table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'pumpmgr: {table} is append-only; "
                f"{event} is refused (record a correction instead)'); END"
            )
        return
    op.execute(
        f"CREATE TRIGGER trg_{table}_no_change BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION pumpmgr_refuse_change()"
    )
    op.execute(
        f"CREATE TRIGGER trg_{table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION pumpmgr_refuse_change()"
    )


def _instant(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    if _sqlite():
        op.execute(
            "ALTER TABLE pump_forecasts ADD COLUMN open_stop_order BOOLEAN DEFAULT 0 NOT NULL"
        )
    else:
        op.add_column(
            "pump_forecasts",
            sa.Column(
                "open_stop_order", sa.Boolean(), server_default=sa.text("false"), nullable=False
            ),
        )

    t = "stop_orders"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{t}"),
        sa.Column("pump_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["pump_id"], ["pumps.id"], name=f"fk_{t}_pump_id_pumps"),
        sa.Column("drug_key", sa.String(32), nullable=False),
        sa.Column("prescriber_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["prescriber_id"], ["users.id"], name=f"fk_{t}_prescriber_id_users"
        ),
        _instant("effective_at"),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("long_stop", sa.Boolean(), nullable=False),
        _instant("recorded_at"),
    )
    op.create_index(f"ix_{t}_pump_id", t, ["pump_id"])
    op.create_index(f"ix_{t}_prescriber_id", t, ["prescriber_id"])

    t = "stop_orders_carried_out"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{t}"),
        sa.Column("stop_order_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["stop_order_id"], ["stop_orders.id"], name=f"fk_{t}_stop_order_id_stop_orders"
        ),
        sa.UniqueConstraint("stop_order_id", name=f"uq_{t}_stop_order_id"),
        sa.Column("done", sa.String(32), nullable=False),
        sa.CheckConstraint(CARRIED_OUT_KNOWN, name=f"ck_{t}_done_known"),
        sa.Column("note", sa.Text(), nullable=False),
        _instant("at"),
        sa.Column("by_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["by_id"], ["users.id"], name=f"fk_{t}_by_id_users"),
    )
    op.create_index(f"ix_{t}_by_id", t, ["by_id"])
    for table in NEW_APPEND_ONLY_TABLES:
        _append_only(table)


def downgrade() -> None:
    raise NotImplementedError(
        "pumpmgr does not downgrade: restore the backup taken before the upgrade instead"
    )
