"""searches ignore accents: portal_fold() and trigram indexes on it (PostgreSQL)

Revision ID: d7a3f1c9e5b2
Revises: c4a8e2f6b913
Create Date: 2026-12-05 00:20:00

Staff searching "garcia" must find "García" (portal/text_search.py, which says the rule).
portal_fold(text) keeps ASCII text as it is; otherwise it decomposes the text (NFKD), drops
the combining marks and replaces the letters whose mark Unicode does not decompose. It
is SQL and IMMUTABLE, so PostgreSQL inlines it, and an index on portal_fold(column) serves
a search written the same way. The trigram indexes on request subjects and messages,
household names and feedback are rebuilt on the folded text (the household search's
names move to a column of their own in the next revision). SQLite connections are given
the function by the app. normalize() needs a UTF8 database, PostgreSQL's default.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "d7a3f1c9e5b2"
down_revision: str | None = "c4a8e2f6b913"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNDECOMPOSED_LETTERS = "ĐđØøŁłĦħŦŧıƀƗƚ"
THEIR_PLAIN_LETTERS = "DdOoLlHhTtibIl"
COMBINING_MARKS = "[\u0300-\u036f]"


def _folding_body() -> str:
    """The function's expression of $1: each step a C function of PostgreSQL's own; a chain
    of replace() beats translate(), whose time grows with its table."""
    folded = f"regexp_replace(normalize($1, NFKD), '{COMBINING_MARKS}', '', 'g')"
    for letter, plain in zip(UNDECOMPOSED_LETTERS, THEIR_PLAIN_LETTERS, strict=True):
        folded = f"replace({folded}, '{letter}', '{plain}')"
    return f"CASE WHEN $1 ~ '[^\\x01-\\x7f]' THEN {folded} ELSE $1 END"


# The searched text: (table, expression), and the name of its trigram index before and after.
SEARCHED = [
    ("request", "subject", "ix_request_subject_trgm", "ix_request_subject_folded_trgm"),
    ("request_message", "body", "ix_request_message_body_trgm", "ix_request_message_body_folded_trgm"),
    ("household", "name", "ix_household_name_trgm", "ix_household_name_folded_trgm"),
    ("feedback", "body", "ix_feedback_body_trgm", "ix_feedback_body_folded_trgm"),
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE OR REPLACE FUNCTION portal_fold(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE "
        f"AS $$ SELECT {_folding_body()} $$"
    )
    for table, expression, before, after in SEARCHED:
        op.execute(f"DROP INDEX {before}")
        op.execute(f'CREATE INDEX {after} ON "{table}" USING gin ((portal_fold({expression})) gin_trgm_ops)')


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, expression, before, after in SEARCHED:
        op.execute(f"DROP INDEX {after}")
        op.execute(f'CREATE INDEX {before} ON "{table}" USING gin (({expression}) gin_trgm_ops)')
    op.execute("DROP FUNCTION portal_fold(text)")
