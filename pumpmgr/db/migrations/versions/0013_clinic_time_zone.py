"""The clinic's time zone (issue 15: the first run asks for it).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06

``clinic_settings`` gains ``time_zone``: the IANA name of the clinic's zone (for example
``Europe/Paris``), which decides the clinic's "today" and how typed times are read. NULL: not
set, the workstation's own zone, as every clinic before this revision ran. Added with
``ALTER TABLE ... ADD COLUMN``, never by rebuilding a table.

Same rules as 0001: alembic and SQLAlchemy only, no ORM models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("clinic_settings", sa.Column("time_zone", sa.String(64), nullable=True))


def downgrade() -> None:
    raise NotImplementedError(
        "pumpmgr does not downgrade: restore the backup taken before the upgrade instead"
    )
