"""an index of the safety alerts not cleared yet

Revision ID: d4f9a1c6e3b8
Revises: c8e1f4a7b2d9
Create Date: 2026-12-07 11:00:00

Whether any alert is not cleared is read with every signed-in page (the session
statement), so that the queues send no statement for their pinned alerts while none is:
from this partial index, which holds only the alerts not cleared, instead of reading every
alert the district ever had.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d4f9a1c6e3b8"
down_revision: str | None = "c8e1f4a7b2d9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_safety_alert_uncleared",
        "safety_alert",
        ["id"],
        postgresql_where=sa.text("cleared_at IS NULL"),
        sqlite_where=sa.text("cleared_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_safety_alert_uncleared", table_name="safety_alert")
