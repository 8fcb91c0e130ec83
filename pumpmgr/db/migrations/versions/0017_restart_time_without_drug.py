"""A restart's time without drug and the over-infusion-risk flag, kept with the refill
(issue 11, domain-rules §3).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06

``refills`` gains, at a restart, the forecast's worst-case empty instant when it was at or
before the visit (NULL: not a restart, the worst case not yet empty, or a refill recorded before
this revision), from which the time without drug is counted, and the over-infusion-risk flag
the visit set (the pump ran empty, or was without drug over 48 hours; false for the refills on
record, whose found-empty verdict still sets the pump's flag). Added with ``ALTER TABLE ...
ADD COLUMN`` (never a table rebuild: the append-only triggers of 0001 stay). Same rules as
0001: alembic and SQLAlchemy only, no ORM models.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: column, SQLAlchemy type, server default (None: nullable, no default)
_COLUMNS: tuple[tuple[str, sa.types.TypeEngine[Any], str | None], ...] = (
    ("empty_at_worst_case", sa.DateTime(timezone=True), None),
    ("over_infusion_risk", sa.Boolean(), "false"),
)


def upgrade() -> None:
    bind = op.get_bind()
    for name, kind, default in _COLUMNS:
        if bind.dialect.name != "sqlite":
            op.add_column(
                "refills",
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
            f"ALTER TABLE refills ADD COLUMN {name} {kind.compile(dialect=bind.dialect)}{tail}"
        )


def downgrade() -> None:
    raise NotImplementedError(
        "pumpmgr does not downgrade: restore the backup taken before the upgrade instead"
    )
