"""A list given at execution (portal.db.one_of_listed): the rows IN gives, on every
database; on PostgreSQL one array, so one statement text for any length of list."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, not_, select
from sqlalchemy.dialects import postgresql, sqlite

from portal.db import one_of_listed
from portal.models import School
from tests.unit.test_pagination import sql_sent

LISTED = select(School.id).where(one_of_listed(School.id, "ids")).order_by(School.id)
NOT_LISTED = select(School.id).where(not_(one_of_listed(School.id, "ids"))).order_by(School.id)


def _ten_schools(db) -> list[int]:  # type: ignore[no-untyped-def]
    db.execute(delete(School))
    schools = [School(name=f"School {n}") for n in range(10)]
    db.add_all(schools)
    db.commit()
    return [school.id for school in schools]


# The same database for every example: each one writes its schools first.
@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.integers(0, 11), max_size=14), missing=st.lists(st.integers(10**6, 2**31 - 1), max_size=3))
def test_the_rows_listed_are_those_in_gives(db, picks, missing):
    ids = _ten_schools(db)
    # Some of the schools, some twice, and ids of no school.
    listed = [ids[pick] for pick in picks if pick < len(ids)] + missing

    found = list(db.scalars(LISTED, {"ids": listed}))
    left = list(db.scalars(NOT_LISTED, {"ids": listed}))

    assert found == list(db.scalars(select(School.id).where(School.id.in_(listed)).order_by(School.id)))
    assert sorted(found + left) == ids


def test_on_postgresql_a_list_is_one_array_and_on_sqlite_a_plain_in():
    assert str(LISTED.compile(dialect=postgresql.dialect())).endswith(
        "WHERE school.id = ANY(%(ids)s::INTEGER[]) ORDER BY school.id"
    )
    on_sqlite = str(LISTED.compile(dialect=sqlite.dialect()))
    # Not "(school.id IN (...)) = 1", which SQLite's indexes cannot serve.
    assert "WHERE school.id IN (__[POSTCOMPILE_ids]) ORDER BY" in on_sqlite


def test_lists_of_any_length_send_one_statement_text_on_postgresql(db):
    ids = _ten_schools(db)

    def read_lists() -> None:
        for length in (1, 2, 10):
            assert list(db.scalars(LISTED, {"ids": ids[:length]})) == ids[:length]

    sent = sql_sent(db, read_lists)
    if db.get_bind().dialect.name == "postgresql":
        assert len(set(sent)) == 1
    else:  # SQLite writes each value of the list as a parameter of its own
        assert len(set(sent)) == 3
