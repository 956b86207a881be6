"""household search text: the names a household is searched by, folded, in one column

Revision ID: e8b4c2a9d6f1
Revises: d7a3f1c9e5b2
Create Date: 2026-12-06 00:50:00

Staff find a family by its name, a guardian's or a student's (services/households/
search_text.py). The names are kept on the household, a line each, accents folded, so
that a search reads one trigram index and checks its matches without folding them again;
the four trigram indexes on guardians' and students' names that the search read before
are dropped. Emails and phone numbers are still searched on the guardians.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e8b4c2a9d6f1"
down_revision: str | None = "d7a3f1c9e5b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name: (table, indexed expression), as c4e8a1f0b2d3 made them.
NAME_INDEXES = {
    "ix_user_display_name_trgm": ("user", "display_name"),
    "ix_student_first_name_trgm": ("student", "first_name"),
    "ix_student_last_name_trgm": ("student", "last_name"),
    "ix_student_full_name_trgm": ("student", "(first_name || ' ' || last_name)"),
}

LINE = "\n"
household = sa.table("household", sa.column("id"), sa.column("name", sa.Text), sa.column("search_text", sa.Text))
user = sa.table("user", sa.column("id"), sa.column("display_name", sa.Text))
guardianship = sa.table("guardianship", sa.column("household_id"), sa.column("user_id"))
student = sa.table(
    "student", sa.column("household_id"), sa.column("first_name", sa.Text), sa.column("last_name", sa.Text)
)


def _search_text() -> sa.ColumnElement[str]:
    """The text services/households/search_text.py writes, as this revision wrote it: the
    subqueries correlate with the household being updated."""
    guardian_names = (
        sa.select(sa.func.aggregate_strings(user.c.display_name, LINE))
        .join(guardianship, guardianship.c.user_id == user.c.id)
        .where(guardianship.c.household_id == household.c.id)
        .scalar_subquery()
    )
    student_names = (
        sa.select(
            sa.func.aggregate_strings(student.c.first_name + sa.literal_column("' '") + student.c.last_name, LINE)
        )
        .where(student.c.household_id == household.c.id)
        .scalar_subquery()
    )
    return sa.func.portal_fold(
        household.c.name + LINE + sa.func.coalesce(guardian_names, "") + LINE + sa.func.coalesce(student_names, "")
    )


def upgrade() -> None:
    op.add_column("household", sa.Column("search_text", sa.Text(), server_default="", nullable=False))
    op.execute(household.update().values(search_text=_search_text()))
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute('CREATE INDEX ix_household_search_text_trgm ON "household" USING gin (search_text gin_trgm_ops)')
    for name in NAME_INDEXES:
        op.execute(f"DROP INDEX {name}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, (table, expression) in NAME_INDEXES.items():
            op.execute(f'CREATE INDEX {name} ON "{table}" USING gin (({expression}) gin_trgm_ops)')
        op.execute("DROP INDEX ix_household_search_text_trgm")
    # ALTER TABLE ... DROP COLUMN on SQLite too (3.35 and newer): a batch would copy the table
    # and drop the old one, which with foreign keys on deletes every row that cascades from it.
    op.drop_column("household", "search_text")
