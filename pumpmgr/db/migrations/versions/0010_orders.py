"""Orders, signatures and incidents (domain-rules §7 and §4a).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

- ``prescriptions`` gains how a nurse was given the order (``order_given_as``, ``order_given_at``,
  ``read_back_confirmed``), whether its findings need the prescriber (``high_risk``) and whether
  it waits for the signature before it is programmed (``held_for_signature``). Existing rows
  keep their typed ``prescriber_name`` as history: NULL, false, false.
- ``order_actions`` (append-only): the prescriber's signature or refusal (with the reason), or
  a nurse's record that a held order was programmed all the same.
- ``incidents`` and ``incident_reviews`` (append-only): what already happened in a pump and
  broke a limit, and the prescriber's review of it.
- ``clinic_settings`` gains the two overdue limits (clinic policy: 48 h and 24 h).
- ``pump_forecasts`` gains the pump's most pressing order state and whether an incident is
  unreviewed, so the due list stays one query; existing rows start with none (no order before
  this revision awaits a signature and there are no incidents yet).

Columns are added with ``ALTER TABLE ... ADD COLUMN``, never by rebuilding a table, so the
append-only triggers of 0001 stay as they are. Same rules as 0001: alembic and SQLAlchemy only,
no ORM models.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_APPEND_ONLY_TABLES = ("order_actions", "incidents", "incident_reviews")


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _add(table: str, column: sa.Column[Any], check: str = "") -> None:
    """One column by ``ALTER TABLE ... ADD COLUMN`` (a column CHECK travels with it on SQLite,
    which cannot add a table constraint; PostgreSQL gets it as a table constraint)."""
    if _sqlite():
        kind = column.type.compile(dialect=op.get_bind().dialect)
        default = "" if column.server_default is None else (f" DEFAULT {column.server_default.arg}")  # type: ignore[attr-defined]
        null = "" if column.nullable else " NOT NULL"
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN {column.name} {kind}{default}{null} {check}".rstrip()
        )
        return
    op.add_column(table, column)


def _check(table: str, name: str, condition: str) -> str:
    if not _sqlite():
        op.create_check_constraint(f"ck_{table}_{name}", table, condition)
        return ""
    return f"CONSTRAINT ck_{table}_{name} CHECK ({condition})"


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


def _instant(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    false = sa.text("false") if not _sqlite() else sa.text("0")
    _add("prescriptions", sa.Column("order_given_as", sa.String(16), nullable=True))
    _add("prescriptions", _instant("order_given_at", nullable=True))
    _add("prescriptions", sa.Column("read_back_confirmed", sa.Boolean(), nullable=True))
    for name in ("high_risk", "held_for_signature"):
        _add("prescriptions", sa.Column(name, sa.Boolean(), server_default=false, nullable=False))
    for name, default in (("cosign_overdue_hours", 48), ("high_risk_overdue_hours", 24)):
        column = sa.Column(name, sa.Integer(), server_default=sa.text(str(default)), nullable=False)
        short = name.removesuffix("_hours")
        if _sqlite():
            _add(
                "clinic_settings",
                column,
                _check("clinic_settings", f"{short}_positive", f"{name} >= 1"),
            )
        else:
            _add("clinic_settings", column)
            _check("clinic_settings", f"{short}_positive", f"{name} >= 1")
    _add("pump_forecasts", sa.Column("order_alert", sa.String(32), nullable=True))
    _add(
        "pump_forecasts",
        sa.Column("open_incident", sa.Boolean(), server_default=false, nullable=False),
    )

    t = "order_actions"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{t}"),
        sa.Column("prescription_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["prescription_id"], ["prescriptions.id"], name=f"fk_{t}_prescription_id_prescriptions"
        ),
        sa.Column("action", sa.String(16), nullable=False),
        _instant("at"),
        sa.Column("by_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["by_id"], ["users.id"], name=f"fk_{t}_by_id_users"),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "action IN ('signed', 'declined', 'programmed')", name=f"ck_{t}_action_known"
        ),
        sa.CheckConstraint(
            "action <> 'declined' OR reason IS NOT NULL", name=f"ck_{t}_decline_has_reason"
        ),
    )
    op.create_index(f"ix_{t}_prescription_id", t, ["prescription_id"])
    op.create_index(f"ix_{t}_by_id", t, ["by_id"])

    t = "incidents"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{t}"),
        sa.Column("pump_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["pump_id"], ["pumps.id"], name=f"fk_{t}_pump_id_pumps"),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        _instant("occurred_at"),
        sa.Column("prescription_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["prescription_id"], ["prescriptions.id"], name=f"fk_{t}_prescription_id_prescriptions"
        ),
        sa.Column("refill_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["refill_id"], ["refills.id"], name=f"fk_{t}_refill_id_refills"),
        _instant("recorded_at"),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=f"fk_{t}_recorded_by_id_users"
        ),
    )
    op.create_index(f"ix_{t}_pump_id", t, ["pump_id"])
    op.create_index(f"ix_{t}_recorded_by_id", t, ["recorded_by_id"])

    t = "incident_reviews"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{t}"),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=f"fk_{t}_incident_id_incidents"
        ),
        sa.UniqueConstraint("incident_id", name=f"uq_{t}_incident_id"),
        _instant("reviewed_at"),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"], ["users.id"], name=f"fk_{t}_reviewed_by_id_users"
        ),
        sa.Column("note", sa.Text(), nullable=False),
    )
    op.create_index(f"ix_{t}_reviewed_by_id", t, ["reviewed_by_id"])
    for table in NEW_APPEND_ONLY_TABLES:
        _append_only(table)


def downgrade() -> None:
    raise NotImplementedError(
        "pumpmgr does not downgrade: restore the backup taken before the upgrade instead"
    )
