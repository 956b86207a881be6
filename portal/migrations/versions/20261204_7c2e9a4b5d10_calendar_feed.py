"""the district's published calendar, read on a schedule

Revision ID: 7c2e9a4b5d10
Revises: 3a7d5e9c1b24
Create Date: 2026-12-04 15:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portal.db

revision: str = "7c2e9a4b5d10"
down_revision: str | None = "3a7d5e9c1b24"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_feed",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("closure_uids", sa.JSON(), nullable=False),
        sa.Column("next_check_at", portal.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_checked_at", portal.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_outcome", sa.String(length=20), nullable=True),
        sa.Column("last_message", sa.String(length=300), nullable=True),
        sa.Column("last_summary", sa.JSON(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", portal.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_calendar_feed_created_by_id_user"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feed")),
    )
    with op.batch_alter_table("calendar_feed", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calendar_feed_created_by_id"), ["created_by_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_calendar_feed_next_check_at"), ["next_check_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("calendar_feed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_feed_next_check_at"))
        batch_op.drop_index(batch_op.f("ix_calendar_feed_created_by_id"))
    op.drop_table("calendar_feed")
