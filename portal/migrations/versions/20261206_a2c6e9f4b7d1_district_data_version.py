"""district data version: raised by triggers, read by the pages' cache

Revision ID: a2c6e9f4b7d1
Revises: f1c7d3a5b8e2
Create Date: 2026-12-06 18:00:00

Pages keep the district data they show on every request (departments, schools, feedback
tags, staff, reply targets, the calendar) between requests
(portal/services/district_cache.py), under a version number that triggers raise in the
transaction of every change to them, whoever writes it (portal/models/district_data.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from portal.models.district_data import create_triggers, drop_function, drop_triggers

revision: str = "a2c6e9f4b7d1"
down_revision: str | None = "f1c7d3a5b8e2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The tables watched when this migration was written; tables watched later have migrations
# of their own (saved_reply: 20261207_e2a7c5f9d3b1).
TABLES = (
    "department",
    "department_member",
    "reply_target",
    "school",
    "feedback_tag",
    "business_hours",
    "closure",
    "district_setting",
    "user",
)


def upgrade() -> None:
    op.create_table(
        "district_data_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_district_data_version")),
    )
    create_triggers(op.get_bind(), TABLES)


def downgrade() -> None:
    drop_triggers(op.get_bind(), TABLES)
    drop_function(op.get_bind())
    op.drop_table("district_data_version")
