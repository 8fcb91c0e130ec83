"""The patient's opioid status (domain-rules §6).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

``patients`` gains ``opioid_status``: ``naive``, ``tolerant`` or NULL (not recorded, which the
dose checks count as naive). Existing patients get NULL: their status was never recorded, and
guessing "tolerant" could let a start dose through that is too high for a naive patient. The
column is added with ``ALTER TABLE ... ADD COLUMN`` (a named CHECK on both backends), never by
rebuilding the table.

Same rules as 0001: alembic and SQLAlchemy only, no ORM models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_T = "patients"
_CHECK = "opioid_status IN ('naive', 'tolerant')"
_NAME = f"ck_{_T}_opioid_status"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute(
            f"ALTER TABLE {_T} ADD COLUMN opioid_status VARCHAR(32) "
            f"CONSTRAINT {_NAME} CHECK ({_CHECK})"
        )
    else:
        op.add_column(_T, sa.Column("opioid_status", sa.String(32), nullable=True))
        op.create_check_constraint(_NAME, _T, _CHECK)


def downgrade() -> None:
    raise NotImplementedError(
        "pumpmgr does not downgrade: restore the backup taken before the upgrade instead"
    )
