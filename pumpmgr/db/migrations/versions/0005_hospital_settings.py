"""The clinic's texts for the hospital: the visit-note template and the MRN system.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

``clinic_settings`` gains ``visit_note_template`` (the administrator's edited template of the
visit notes; NULL: the template pumpmgr ships) and ``mrn_system`` (the URI of the clinic's
medical record numbers in a FHIR export; NULL: not configured yet). Both nullable, added with
``ALTER TABLE ... ADD COLUMN``, never by rebuilding the table.

Same rules as 0001: alembic and SQLAlchemy only, no ORM models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("clinic_settings", sa.Column("visit_note_template", sa.Text(), nullable=True))
    op.add_column("clinic_settings", sa.Column("mrn_system", sa.String(200), nullable=True))


def downgrade() -> None:
    raise NotImplementedError(
        "pumpmgr does not downgrade: restore the backup taken before the upgrade instead"
    )
