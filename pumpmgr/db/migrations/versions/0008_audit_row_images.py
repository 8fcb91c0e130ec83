"""Audit entries carry the images of the rows they wrote.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

``audit_log`` gains ``written_rows`` (nullable text): from the first entry written after this
revision on, each entry carries the canonical hashes of the rows its write inserted, changed or
deleted, and the first such entry the hash of every row already there
(:mod:`pumpmgr.db.rowchain`). The entries written before it keep NULL and are verified as
before. The column is added with ``ALTER TABLE ... ADD COLUMN``: the append-only triggers stay.

Same rules as 0001: alembic and SQLAlchemy only, no ORM models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("written_rows", sa.Text(), nullable=True))


def downgrade() -> None:
    raise NotImplementedError(
        "pumpmgr does not downgrade: restore the backup taken before the upgrade instead"
    )
