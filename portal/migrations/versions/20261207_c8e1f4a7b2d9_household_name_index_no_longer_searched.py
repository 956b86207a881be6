"""the household name's folded trigram index: no longer searched (PostgreSQL)

Revision ID: c8e1f4a7b2d9
Revises: b5d2e8a4c6f3
Create Date: 2026-12-07 04:00:00

The staff queue's search finds requests by their household's search text (its name, its
guardians' and its students', stored folded and in lower case) instead of folding every
household's name at each search; nothing reads the trigram index on portal_fold(name)
any more, and every change of a household's name paid for it.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "c8e1f4a7b2d9"
down_revision: str | None = "b5d2e8a4c6f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_household_name_folded_trgm")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute('CREATE INDEX ix_household_name_folded_trgm ON "household" USING gin ((portal_fold(name)) gin_trgm_ops)')
