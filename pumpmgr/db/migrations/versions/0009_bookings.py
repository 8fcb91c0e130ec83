"""Refill bookings checked against the forecast (issue 16).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

A new ``bookings`` table: a refill visit booked for a pump (day, time, place, the nurse when
known, a note), its state (booked, cancelled, did not attend, attended), the reason given when
it was booked after the refill-due date, and who booked and last changed it and when. A pump has
at most one open booking (state ``booked``): a partial unique index, the same on both backends.

``clinic_settings`` gains the clinic's capacity (visits a day in a clinic room and on home
visits; clinic policy, 8 and 2 by default) and its booking horizon (21 days). ``patients``
gains the patient's own ``phone`` for the call list of missed visits (NULL: not recorded).
Columns are added with ``ALTER TABLE ... ADD COLUMN``, never by rebuilding a table.

Same rules as 0001: alembic and SQLAlchemy only, no ORM models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_T = "bookings"
_SETTINGS = "clinic_settings"
#: column, default, CHECK name, CHECK condition
_SETTINGS_COLUMNS = (
    ("clinic_visits_per_day", 8, "clinic_visits_not_negative", "clinic_visits_per_day >= 0"),
    ("home_visits_per_day", 2, "home_visits_not_negative", "home_visits_per_day >= 0"),
    (
        "booking_horizon_days",
        21,
        "horizon_in_range",
        "booking_horizon_days >= 1 AND booking_horizon_days <= 366",
    ),
)


def _fk(column: str, target: str, nullable: bool = False) -> list[SchemaItem]:
    return [
        sa.Column(column, sa.Integer(), nullable=nullable),
        sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{_T}_{column}_{target}"),
    ]


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.create_table(
        _T,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{_T}"),
        *_fk("pump_id", "pumps"),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("at_time", sa.Time(), nullable=True),
        sa.Column("place", sa.String(32), nullable=False),
        sa.CheckConstraint("place IN ('clinic', 'home')", name=f"ck_{_T}_booking_place"),
        *_fk("nurse_id", "users", nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.CheckConstraint(
            "state IN ('booked', 'cancelled', 'did_not_attend', 'attended')",
            name=f"ck_{_T}_booking_state",
        ),
        sa.Column("late_reason", sa.Text(), nullable=True),
        sa.Column("booked_at", sa.DateTime(timezone=True), nullable=False),
        *_fk("booked_by_id", "users"),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        *_fk("changed_by_id", "users"),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    for column in ("pump_id", "nurse_id", "booked_by_id", "changed_by_id", "day"):
        op.create_index(f"ix_{_T}_{column}", _T, [column])
    op.create_index(f"ix_{_T}_state_day", _T, ["state", "day"])
    op.create_index(
        "ux_bookings_one_open_per_pump",
        _T,
        ["pump_id"],
        unique=True,
        sqlite_where=sa.text("state = 'booked'"),
        postgresql_where=sa.text("state = 'booked'"),
    )
    for column, default, name, condition in _SETTINGS_COLUMNS:
        if sqlite:
            op.execute(
                f"ALTER TABLE {_SETTINGS} ADD COLUMN {column} INTEGER DEFAULT {default} "
                f"NOT NULL CONSTRAINT ck_{_SETTINGS}_{name} CHECK ({condition})"
            )
        else:
            op.add_column(
                _SETTINGS,
                sa.Column(
                    column, sa.Integer(), nullable=False, server_default=sa.text(str(default))
                ),
            )
            op.create_check_constraint(f"ck_{_SETTINGS}_{name}", _SETTINGS, condition)
    op.add_column("patients", sa.Column("phone", sa.String(64), nullable=True))


def downgrade() -> None:
    raise NotImplementedError(
        "pumpmgr does not downgrade: restore the backup taken before the upgrade instead"
    )
