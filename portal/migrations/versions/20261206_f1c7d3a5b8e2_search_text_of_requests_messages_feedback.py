"""search text of requests, messages and feedback: their text stored folded

Revision ID: f1c7d3a5b8e2
Revises: e8b4c2a9d6f1
Create Date: 2026-12-06 03:30:00

The request queue's and the feedback queue's searches read a request's subject, its
messages and feedback. Each row now carries that text with its accents folded
(portal/text_search.py), written with the row, so that a search no longer folds every
candidate row again. Its trigram index replaces the one on portal_fold(text)
(d7a3f1c9e5b2). On PostgreSQL the tables are rewritten and locked while this runs.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f1c7d3a5b8e2"
down_revision: str | None = "e8b4c2a9d6f1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, searched column, the trigram index on portal_fold(column) it replaces, the new index)
SEARCHED = [
    ("request", "subject", "ix_request_subject_folded_trgm", "ix_request_search_text_trgm"),
    ("request_message", "body", "ix_request_message_body_folded_trgm", "ix_request_message_search_text_trgm"),
    ("feedback", "body", "ix_feedback_body_folded_trgm", "ix_feedback_search_text_trgm"),
]


def upgrade() -> None:
    on_postgresql = op.get_bind().dialect.name == "postgresql"
    for table, column, folded_index, index in SEARCHED:
        op.add_column(table, sa.Column("search_text", sa.Text(), server_default="", nullable=False))
        searched = sa.table(table, sa.column(column, sa.Text), sa.column("search_text", sa.Text))
        op.execute(searched.update().values(search_text=sa.func.portal_fold(searched.c[column])))
        if on_postgresql:
            op.execute(f"DROP INDEX {folded_index}")
            op.execute(f'CREATE INDEX {index} ON "{table}" USING gin (search_text gin_trgm_ops)')


def downgrade() -> None:
    on_postgresql = op.get_bind().dialect.name == "postgresql"
    for table, column, folded_index, index in SEARCHED:
        if on_postgresql:
            op.execute(f"DROP INDEX {index}")
            op.execute(f'CREATE INDEX {folded_index} ON "{table}" USING gin ((portal_fold({column})) gin_trgm_ops)')
        # ALTER TABLE ... DROP COLUMN, on SQLite too: no copy of the table.
        op.drop_column(table, "search_text")
