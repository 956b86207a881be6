"""The portal's PostgreSQL cursor describes every result as psycopg's own cursor does."""

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal import postgresql_cursor

# SQL values of the types the portal reads, and some it does not.
VALUES = [
    "1",
    "2::bigint",
    "'text'",
    "'a'::varchar(40)",
    "1.5::numeric(10, 2)",
    "3.25::double precision",
    "true",
    "NULL",
    "now()",
    "now()::timestamp",
    "current_date",
    "'{1,2}'::int[]",
    "'{\"a\": 1}'::jsonb",
    "'00:30'::interval",
]


@pytest.fixture
def connection(db):
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("the cursor is psycopg's, for PostgreSQL")
    return db.connection().connection.driver_connection


def described(cursor):
    return None if cursor.description is None else [tuple(column) for column in cursor.description]


def test_the_portals_connections_use_it(connection):
    assert connection.cursor_factory is postgresql_cursor.Cursor
    assert isinstance(connection.cursor(), postgresql_cursor.Cursor)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    columns=st.lists(
        st.tuples(
            st.sampled_from(VALUES),
            st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1, max_size=70),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_any_result_is_described_as_psycopg_describes_it(connection, columns):
    quoted = ", ".join(f'{value} AS "{name.replace(chr(34), chr(34) * 2)}"' for value, name in columns)
    ours, theirs = connection.cursor(), psycopg.Cursor(connection)
    for cursor in (ours, theirs):
        cursor.execute(f"SELECT {quoted}")
    assert described(ours) == described(theirs)
    assert len(ours.description) == len(columns)
    assert [column.name for column in ours.description] == [column.name for column in theirs.description]
    assert [column.type_display for column in ours.description] == [
        column.type_display for column in theirs.description
    ]


def test_statements_without_rows_are_described_as_psycopg_describes_them(connection):
    ours, theirs = connection.cursor(), psycopg.Cursor(connection)
    for statement in (
        "CREATE TEMPORARY TABLE IF NOT EXISTS described (x int)",
        "INSERT INTO described VALUES (1)",
        "UPDATE described SET x = 2",
        "SELECT",
        "SELECT x FROM described WHERE false",
        "INSERT INTO described VALUES (3) RETURNING x, x AS y",
    ):
        for cursor in (ours, theirs):
            cursor.execute(statement)
        assert described(ours) == described(theirs), statement


def test_a_description_keeps_its_result_when_the_cursor_runs_another_statement(connection):
    cursor = connection.cursor()
    cursor.execute("SELECT 1 AS first, 'a' AS second")
    description = cursor.description
    cursor.execute("SELECT now() AS other")
    assert [(column.name, column.type_code) for column in description] == [("first", 23), ("second", 25)]
    assert description[-1].name == "second" and [column.name for column in description[:1]] == ["first"]
