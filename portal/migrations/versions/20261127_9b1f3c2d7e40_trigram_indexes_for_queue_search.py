"""trigram indexes for the queues' text search (PostgreSQL)

Revision ID: 9b1f3c2d7e40
Revises: 653c48adc594
Create Date: 2026-11-27 23:15:00

Staff search requests by subject, message and family name, and feedback by its text,
with "contains" (ILIKE '%words%'), which no B-tree serves. On PostgreSQL, pg_trgm's GIN
indexes do. pg_trgm is a trusted extension (PostgreSQL 13 and newer): the database's
owner may create it. SQLite has no such index and scans, as it did before.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "9b1f3c2d7e40"
down_revision: str | None = "653c48adc594"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name: (table, column), as this revision made them (portal.db.POSTGRESQL_TRIGRAM_INDEXES
# names them for schema comparison).
TRIGRAM_INDEXES = {
    "ix_request_subject_trgm": ("request", "subject"),
    "ix_request_message_body_trgm": ("request_message", "body"),
    "ix_household_name_trgm": ("household", "name"),
    "ix_feedback_body_trgm": ("feedback", "body"),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, (table, column) in TRIGRAM_INDEXES.items():
        op.create_index(name, table, [column], postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"})


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, (table, _column) in TRIGRAM_INDEXES.items():
        op.drop_index(name, table_name=table)
