"""search text stored in lower case (PostgreSQL)

Revision ID: b5d2e8a4c6f3
Revises: a2c6e9f4b7d1
Create Date: 2026-12-07 03:15:00

The search text of households, requests, messages and feedback is kept in lower case on
PostgreSQL, by a trigger that lowers whatever a writer puts there (the ORM, the roster
import's UPDATE statements, SQL an operator types), so that a search compares it with
LIKE instead of ILIKE, which lowered every candidate row at every search
(portal/text_search.py, stored_text_contains). The trigram indexes are unchanged: they
ignore case. SQLite keeps searching with ILIKE; nothing changes there. Every row with a
capital letter in its search text is rewritten while this runs: 15 s for the benchmark's
50,000 households, 100,000 requests, their messages and feedback. Until VACUUM has been
through these tables again (autovacuum, soon after so many changed rows, or `VACUUM
ANALYZE` by hand), PostgreSQL counts their rows by reading them whole.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "b5d2e8a4c6f3"
down_revision: str | None = "a2c6e9f4b7d1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ["household", "request", "request_message", "feedback"]
FUNCTION = "portal_lower_search_text"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN NEW.search_text := lower(NEW.search_text); RETURN NEW; END $$"
    )
    for table in TABLES:
        op.execute(
            f'CREATE TRIGGER {table}_lower_search_text BEFORE INSERT OR UPDATE OF search_text ON "{table}" '
            f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()"
        )
        # Only the rows with a capital letter are rewritten (the trigger lowers them).
        op.execute(f'UPDATE "{table}" SET search_text = search_text WHERE search_text <> lower(search_text)')


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # The text stays in lower case: ILIKE finds it all the same.
    for table in TABLES:
        op.execute(f'DROP TRIGGER {table}_lower_search_text ON "{table}"')
    op.execute(f"DROP FUNCTION {FUNCTION}()")
