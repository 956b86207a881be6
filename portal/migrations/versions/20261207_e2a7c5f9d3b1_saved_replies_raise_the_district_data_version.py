"""saved replies raise the district data version

Revision ID: e2a7c5f9d3b1
Revises: d4f9a1c6e3b8
Create Date: 2026-12-07 13:00:00

A request's page offers its department's saved replies; pages now keep them between
requests (portal/services/district_cache.py), so a change to one raises the version as a
change to a department does (portal/models/district_data.py).
"""

from collections.abc import Sequence

from alembic import op

from portal.models.district_data import add_triggers, drop_triggers

revision: str = "e2a7c5f9d3b1"
down_revision: str | None = "d4f9a1c6e3b8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("saved_reply",)


def upgrade() -> None:
    add_triggers(op.get_bind(), TABLES)


def downgrade() -> None:
    drop_triggers(op.get_bind(), TABLES)
