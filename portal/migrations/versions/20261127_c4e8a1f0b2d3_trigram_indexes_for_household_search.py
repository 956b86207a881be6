"""trigram indexes for household search (PostgreSQL)

Revision ID: c4e8a1f0b2d3
Revises: f5aa46eaecab
Create Date: 2026-11-27 22:55:00

Staff find a family by a guardian's name, email or phone, a student's name (first, last
or both) or the household's name, with "contains" matching. On PostgreSQL, pg_trgm's GIN
indexes serve each of these (the household name's came with 9b1f3c2d7e40).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "c4e8a1f0b2d3"
down_revision: str | None = "f5aa46eaecab"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name: (table, indexed expression), as this revision made them.
TRIGRAM_INDEXES = {
    "ix_user_display_name_trgm": ("user", "display_name"),
    "ix_user_email_trgm": ("user", "email"),
    "ix_user_phone_trgm": ("user", "phone"),
    "ix_student_first_name_trgm": ("student", "first_name"),
    "ix_student_last_name_trgm": ("student", "last_name"),
    "ix_student_full_name_trgm": ("student", "(first_name || ' ' || last_name)"),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, (table, expression) in TRIGRAM_INDEXES.items():
        op.execute(f'CREATE INDEX {name} ON "{table}" USING gin (({expression}) gin_trgm_ops)')


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in TRIGRAM_INDEXES:
        op.execute(f"DROP INDEX {name}")
