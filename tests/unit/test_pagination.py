"""One page of a list, and the count behind it."""

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import bindparam, delete, event, or_, select, text
from sqlalchemy.orm import joinedload, load_only

from portal.models import School, Student
from portal.services.pagination import MAX_PAGE, Page, paginate, paginate_search
from tests import factories


@pytest.fixture
def seven_schools(db):
    return [factories.make_school(db, name=f"School {letter}").name for letter in "ABCDEFG"]


def schools(db, number, size=3):
    return paginate(db, select(School).order_by(School.name), number=number, size=size)


def test_a_page_holds_its_slice_of_the_list_in_order(db, seven_schools):
    pages = [schools(db, n) for n in (1, 2, 3)]
    assert [[s.name for s in page.items] for page in pages] == [
        seven_schools[0:3],
        seven_schools[3:6],
        seven_schools[6:],
    ]
    assert {(page.total, page.pages, page.size) for page in pages} == {(7, 3, 3)}


def test_previous_and_next_exist_only_inside_the_list(db, seven_schools):
    first, middle, last = (schools(db, n) for n in (1, 2, 3))
    assert (first.has_previous, first.has_next) == (False, True)
    assert (middle.has_previous, middle.has_next) == (True, True)
    assert (last.has_previous, last.has_next) == (True, False)


def test_page_numbers_below_one_give_the_first_page(db, seven_schools):
    for number in [0, -1, -10_000]:
        page = schools(db, number)
        assert page.number == 1
        assert [s.name for s in page.items] == seven_schools[:3]


def test_a_page_past_the_end_is_clamped_to_the_last_page(db, seven_schools):
    page = schools(db, 99)
    assert page.number == 3
    assert [s.name for s in page.items] == seven_schools[6:]


def test_an_enormous_page_number_does_not_fail(db, seven_schools):
    page = schools(db, 10**18)
    assert page.number <= MAX_PAGE
    assert page.total == 7


def test_an_empty_list_has_one_empty_page(db):
    page = schools(db, 1)
    assert (page.items, page.total, page.pages, page.has_previous, page.has_next) == ([], 0, 1, False, False)


@pytest.mark.parametrize(("total", "pages"), [(0, 1), (1, 1), (25, 1), (26, 2), (50, 2), (51, 3)])
def test_the_number_of_pages_rounds_up(total, pages):
    assert Page(items=[], number=1, size=25, total=total).pages == pages


# then_load: the page's ids first, then those rows with what they show -------------

SORTED_ON_OWN_COLUMNS = select(Student).order_by(Student.first_name.desc(), Student.id)
# Sorted on a joined table's column: the page's rows cannot be sorted again without the join.
SORTED_ACROSS_A_JOIN = (
    select(Student)
    .join(School, School.id == Student.school_id)
    .order_by(School.name, Student.first_name.desc(), Student.id)
)


def load_page(db, statement, number, *, deleted_between=None):  # type: ignore[no-untyped-def]
    if deleted_between is None:
        return paginate(db, statement, number=number, size=3, then_load=(joinedload(Student.school),))

    def delete_after_the_ids(_conn, _cursor, sql, *_args):  # type: ignore[no-untyped-def]
        if sql.lstrip().startswith("SELECT student.id, (SELECT count(*)") and "LIMIT" in sql:
            db.execute(delete(Student).where(Student.id == deleted_between))

    connection = db.connection()
    event.listen(connection, "after_cursor_execute", delete_after_the_ids)
    try:
        return paginate(db, statement, number=number, size=3, then_load=(joinedload(Student.school),))
    finally:
        event.remove(connection, "after_cursor_execute", delete_after_the_ids)


def sql_sent(db, run) -> list[str]:  # type: ignore[no-untyped-def]
    """The SQL of every statement sent while `run` runs."""
    sent: list[str] = []

    def keep(_conn, _cursor, sql, *_args):  # type: ignore[no-untyped-def]
        sent.append(sql)

    connection = db.connection()
    event.listen(connection, "before_cursor_execute", keep)
    try:
        run()
    finally:
        event.remove(connection, "before_cursor_execute", keep)
    return sent


@pytest.fixture
def five_students(db):  # type: ignore[no-untyped-def]
    school = factories.make_school(db, name="Lincoln Elementary")
    household = factories.make_household(db, students=0)
    for name in ("Ana", "Ben", "Cleo", "Dev", "Eli"):
        db.add(Student(household_id=household.id, first_name=name, last_name="Rivera", school_id=school.id, grade="2"))
    db.commit()
    db.expunge_all()


@pytest.mark.parametrize("statement", [SORTED_ON_OWN_COLUMNS, SORTED_ACROSS_A_JOIN], ids=["own columns", "join"])
def test_then_load_keeps_the_sort_and_loads_the_relations_with_the_rows(db, five_students, statement):
    page = load_page(db, statement, 1)
    assert [student.first_name for student in page.items] == ["Eli", "Dev", "Cleo"]
    assert (page.total, page.pages) == (5, 2)
    # Loaded with the rows: reading it sends nothing (the relation raises if it is not loaded).
    assert {student.school.name for student in page.items} == {"Lincoln Elementary"}
    assert [student.first_name for student in load_page(db, statement, 2).items] == ["Ben", "Ana"]


@pytest.mark.parametrize("statement", [SORTED_ON_OWN_COLUMNS, SORTED_ACROSS_A_JOIN], ids=["own columns", "join"])
def test_then_load_gives_the_pages_of_the_plain_list(db, statement):
    """Every page, for names with ties and two schools: what a page without joins shows."""
    schools = [factories.make_school(db, name=name) for name in ("Oak", "Elm")]
    household = factories.make_household(db, students=0)
    for number, name in enumerate(["Ana", "Ben", "Ana", "Cleo", "Ben", "Dev", "Ana", "Eli"]):
        db.add(Student(household_id=household.id, first_name=name, last_name="R", school_id=schools[number % 2].id))
    db.commit()
    for number in (1, 2, 3):
        plain = paginate(db, statement, number=number, size=3)
        assert [student.id for student in load_page(db, statement, number).items] == [s.id for s in plain.items]


@pytest.mark.parametrize("statement", [SORTED_ON_OWN_COLUMNS, SORTED_ACROSS_A_JOIN], ids=["own columns", "join"])
def test_a_page_is_its_ids_with_their_total_and_its_rows_by_id(db, five_students, statement):
    sent = sql_sent(db, lambda: load_page(db, statement, 1))
    assert len(sent) == 2
    ids, rows = (" ".join(sql.split()) for sql in sent)
    assert ids.startswith("SELECT student.id, (SELECT count(*)") and "LIMIT" in ids
    # The rows by their ids alone: no sort, no limit, nothing that depends on the page.
    assert "WHERE student.id IN (" in rows and "LIMIT" not in rows and "ORDER BY" not in rows


def test_postgresql_plans_the_rows_of_a_page_once_a_connection(db, five_students):
    """A statement with the page size as a parameter gets a plan made for its values at
    every execution (PostgreSQL's generic plan, for an unknown limit, reads the whole
    table). The rows by their ids have one plan for any ids: after a few executions the
    connection keeps a generic plan and stops planning them."""
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plan cache")
    # Prepared by the driver from its 6th run; PostgreSQL then makes 5 custom plans before
    # it weighs the generic one.
    for _ in range(14):
        load_page(db, SORTED_ON_OWN_COLUMNS, 1)
    plans = db.execute(
        text(
            "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE '%WHERE student.id IN (%'"
        )
    ).all()
    assert plans, "the rows statement was not prepared"
    assert all(generic > 0 for _statement, generic, _custom in plans), plans


def test_then_load_leaves_out_a_row_deleted_between_its_two_statements(db, five_students):
    dev = db.scalar(select(Student.id).where(Student.first_name == "Dev"))
    page = load_page(db, SORTED_ACROSS_A_JOIN, 1, deleted_between=dev)
    assert [student.first_name for student in page.items] == ["Eli", "Cleo"]


def test_then_load_on_an_empty_list_gives_an_empty_page(db):
    for statement in (SORTED_ON_OWN_COLUMNS, SORTED_ACROSS_A_JOIN):
        page = paginate(db, statement, number=1, size=3, then_load=(joinedload(Student.school),))
        assert (page.items, page.total) == ([], 0)


@pytest.mark.parametrize("join", [False, True], ids=["own columns", "join"])
def test_rows_that_tie_on_every_sort_key_are_each_on_exactly_one_page(db, join):
    """A sort without the id: then_load ends it with the id, so that every statement, and
    every page, puts tied rows in the same order."""
    school = factories.make_school(db, name="Oak")
    household = factories.make_household(db, students=0)
    for _ in range(8):
        db.add(Student(household_id=household.id, first_name="Ana", last_name="R", school_id=school.id))
    db.commit()
    statement = select(Student).order_by(Student.first_name)
    if join:
        statement = select(Student).join(School, School.id == Student.school_id).order_by(School.name)
    seen = [student.id for number in (1, 2, 3) for student in load_page(db, statement, number).items]
    assert seen == sorted(db.scalars(select(Student.id)))
    # The database may return ties in any order (PostgreSQL does, from parallel or
    # incremental sorts): the order it is sent is what makes the pages hold.
    sent = sorts_sent(db, lambda: load_page(db, statement, 1))
    assert len(sent) == 1  # the ids' statement; the rows follow the ids' order
    assert sent[0].endswith("student.id"), sent


def sorts_sent(db, run) -> list[str]:  # type: ignore[no-untyped-def]
    """The ORDER BY clauses of the statements sent while `run` runs."""
    return [sort for sql in sql_sent(db, run) for sort in re.findall(r"ORDER BY ([\w., ]+?)\s*(?:LIMIT|\)|$)", sql)]


@pytest.mark.parametrize("grade", [None, "2", "9"], ids=["every grade", "grade 2", "no one"])
def test_a_total_counted_apart_is_the_total_of_the_whole_list(db, grade):
    """The two sides of "at these schools, or at none" counted one by one add up to the
    rows of the list, whatever else the list asks for, in the same one statement."""
    oak, elm, ash = (factories.make_school(db, name=name) for name in ("Oak", "Elm", "Ash"))
    household = factories.make_household(db, students=0)
    for number, school in enumerate([oak, elm, ash, None, oak, None, ash, elm, None, oak]):
        db.add(
            Student(
                household_id=household.id,
                first_name=f"Student {number}",
                last_name="R",
                school_id=school.id if school else None,
                grade=str(number % 3),
            )
        )
    db.commit()
    mine, unplaced = Student.school_id.in_([oak.id, elm.id]), Student.school_id.is_(None)
    statement = select(Student).where(or_(mine, unplaced)).order_by(Student.id)
    if grade is not None:
        statement = statement.where(Student.grade == grade)
    plain = paginate(db, statement, number=1, size=3)
    apart = paginate(db, statement, number=1, size=3, counted_apart=[mine, unplaced])
    assert apart.total == plain.total == len(db.scalars(statement).all())
    assert [s.id for s in apart.items] == [s.id for s in plain.items]
    # One statement: the page, with its total counted side by side.
    [page] = sql_sent(db, lambda: paginate(db, statement, number=1, size=3, counted_apart=[mine, unplaced]))
    assert page.count("count(*)") == 2


# The page and its total in one statement -------------------------------------------------


def _schools_named(db, count: int) -> None:  # type: ignore[no-untyped-def]
    db.execute(delete(School))
    db.add_all(School(name=f"{'Oak' if n % 3 else 'Elm'} school {n:03d}") for n in range(count))
    db.commit()


OAK_SCHOOLS = select(School).where(School.name.ilike("%oak%")).order_by(School.name, School.id)
OAK_SCHOOLS_BUILT = select(School).where(School.name.ilike(bindparam("pattern"))).order_by(School.name, School.id)


# The same database for every example: each one writes its own schools first.
@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(count=st.integers(0, 40), size=st.integers(1, 12), number=st.integers(-3, 12) | st.just(10**18))
def test_a_page_is_its_slice_of_the_whole_list(db, count, size, number):
    _schools_named(db, count)
    every_oak = [school.id for school in db.scalars(OAK_SCHOOLS)]
    last = max(1, -(-len(every_oak) // size))
    shown = min(max(1, number), last)
    expected = (every_oak[(shown - 1) * size : shown * size], shown, len(every_oak))
    searched = paginate_search(db, OAK_SCHOOLS, number=number, size=size)
    counted = paginate(db, OAK_SCHOOLS, number=number, size=size)
    assert ([s.id for s in counted.items], counted.number, counted.total) == expected
    assert ([s.id for s in searched.items], searched.number, searched.total) == expected
    ids_first = paginate(db, OAK_SCHOOLS, number=number, size=size, then_load=(load_only(School.name),))
    assert ([s.id for s in ids_first.items], ids_first.number, ids_first.total) == expected
    # The same page as rows, less the count each row carried.
    rows = OAK_SCHOOLS.with_only_columns(School.id, School.name)
    searched_rows = paginate_search(db, rows, number=number, size=size, rows=True)
    counted_rows = paginate(db, rows, number=number, size=size, rows=True)
    assert [tuple(row) for row in searched_rows.items] == [tuple(row) for row in counted_rows.items]
    assert (searched_rows.number, searched_rows.total) == (counted_rows.number, counted_rows.total)
    # Read as values, without the ORM (portal.db.read_values): the same pages.
    for paginator in PAGINATORS:
        as_values = paginator(db, rows, number=number, size=size, rows=True, values=True)
        assert [tuple(row) for row in as_values.items] == [tuple(row) for row in counted_rows.items]
        assert (as_values.number, as_values.total) == (counted_rows.number, counted_rows.total)
    # A statement built once, its values given as parameters (the count past the end too).
    built = paginate_search(db, OAK_SCHOOLS_BUILT, number=number, size=size, parameters={"pattern": "%oak%"})
    assert ([s.id for s in built.items], built.number, built.total) == (
        [s.id for s in counted.items],
        counted.number,
        counted.total,
    )


PAGINATORS = [paginate, paginate_search]


@pytest.mark.parametrize("paginator", PAGINATORS, ids=["paginate", "paginate_search"])
def test_a_page_inside_the_list_is_one_statement(db, paginator):
    _schools_named(db, 30)
    assert len(sql_sent(db, lambda: paginator(db, OAK_SCHOOLS, number=2, size=5))) == 1
    # Nothing found: the first page says so without a count.
    nothing = select(School).where(School.name.ilike("%pine%")).order_by(School.name, School.id)
    assert len(sql_sent(db, lambda: paginator(db, nothing, number=1, size=5))) == 1


@pytest.mark.parametrize("paginator", PAGINATORS, ids=["paginate", "paginate_search"])
def test_a_page_past_the_end_counts_and_reads_the_last_page(db, paginator):
    _schools_named(db, 30)  # 20 oaks
    sent = sql_sent(db, lambda: paginator(db, OAK_SCHOOLS, number=9, size=6))
    assert len(sent) == 3  # the empty page, the count, the last page
    page = paginator(db, OAK_SCHOOLS, number=9, size=6)
    assert (page.number, page.total, len(page.items)) == (4, 20, 2)
