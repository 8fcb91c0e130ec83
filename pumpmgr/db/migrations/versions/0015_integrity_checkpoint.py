"""The integrity checkpoint: where the last start-up or backup check found the chain sound.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06

A new one-row table ``integrity_checkpoints`` (issue 12): the sequence number and hash of the
audit entry the last incremental check verified up to, and the highest id of every covered table
then, so that start-up and each backup check only what was written since
(:mod:`pumpmgr.db.checkpoint`). Derived data, rewritten in place, not covered by the chain (like
``sign_in_failures``), no triggers.

Same rules as 0001: alembic and SQLAlchemy only, no ORM models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    t = "integrity_checkpoints"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{t}"),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("row_hash", sa.String(64), nullable=False),
        sa.Column("max_ids", sa.Text(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=f"ck_{t}_one_row"),
        sa.CheckConstraint("seq >= 1", name=f"ck_{t}_seq_positive"),
    )


def downgrade() -> None:
    raise NotImplementedError(
        "pumpmgr does not downgrade: restore the backup taken before the upgrade instead"
    )
