"""District data kept between requests (services/district_cache.py): a kept value is of
the version its session read, every writer raises the version (the triggers of
models/district_data.py), and a session that wrote reads the database."""

import itertools
import threading
import time
from collections.abc import Callable
from datetime import date

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event, select, text, update
from sqlalchemy.orm import Session

from portal import session_lifetimes
from portal.db import utcnow
from portal.models import Closure, Department, DistrictDataVersion, FeedbackTag, Role, School, User
from portal.models.district_data import triggers
from portal.services import departments, district_cache, scope
from portal.services.accounts import sessions
from portal.services.calendar import district_calendar
from portal.services.district_names import district_names
from portal.services.feedback import review
from portal.services.households import directory
from portal.services.translated import DistrictName
from tests import factories
from tests.conftest import new_app

# --- the store ----------------------------------------------------------------------


@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from("abc")), max_size=40))
def test_a_kept_value_is_always_of_the_version_asked_for(reads: list[tuple[int, str]]) -> None:
    """In any order of versions, as requests that began before and after changes read
    them: never a value loaded under another version or key."""
    store = district_cache.DistrictCache()

    def loader(version: int, key: str) -> Callable[[], tuple[int, str]]:
        return lambda: (version, key)

    for version, key in reads:
        assert store.value(version, key, loader(version, key)) == (version, key)


def test_versions_that_only_rise_load_each_value_once_a_version() -> None:
    store = district_cache.DistrictCache()
    counter = itertools.count()
    for version in (1, 1, 1, 2, 2, 3):
        store.value(version, "schools", lambda: next(counter))
    assert next(counter) == 3


def test_a_request_of_an_older_version_loads_for_itself() -> None:
    """A request that began before a change, or one on a database restored from a backup."""
    store = district_cache.DistrictCache()
    assert store.value(7, "tags", lambda: "seven") == "seven"
    assert store.value(6, "tags", lambda: "six") == "six"
    assert store.value(7, "tags", lambda: "seven, loaded again") == "seven, loaded again"


def test_threads_reading_different_versions_at_once_each_get_their_own() -> None:
    """Requests of a threaded server, some begun before a change and some after, each
    reading every key: no value of one version is ever handed to another."""
    store = district_cache.DistrictCache()
    wrong: list[tuple[int, str, object]] = []

    def load(version: int, key: str) -> tuple[int, str]:
        time.sleep(0)  # another thread runs while this one loads
        return (version, key)

    def requests_of(version: int) -> None:
        for round_ in range(300):
            key = "abcd"[round_ % 4]
            found = store.value(version, key, lambda key=key: load(version, key))
            if found != (version, key):
                wrong.append((version, key, found))

    threads = [threading.Thread(target=requests_of, args=(version,)) for version in (1, 2, 3, 2, 3, 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []


# --- the triggers -------------------------------------------------------------------


def version(db: Session) -> int:
    db.commit()
    number = db.scalar(select(DistrictDataVersion.version))
    assert number is not None
    return number


def raised(db: Session, *statements: str, **parameters: object) -> bool:
    """Whether the statements, run as SQL from outside the app, raised the version."""
    before = version(db)
    for statement in statements:
        db.execute(text(statement), parameters)
    return version(db) > before


def test_every_change_to_a_department_or_a_membership_raises_the_version(db: Session) -> None:
    staff = factories.make_staff(db)
    assert raised(
        db,
        "INSERT INTO department (name, description, is_public, metrics_public, translations) "
        "VALUES ('Buses', '', true, false, '{}')",
    )
    department_id = db.scalar(text("SELECT id FROM department WHERE name = 'Buses'"))
    assert raised(db, "UPDATE department SET name = 'Transport' WHERE id = :id", id=department_id)
    assert raised(
        db,
        "INSERT INTO department_member (department_id, user_id, is_supervisor) VALUES (:department, :user, false)",
        department=department_id,
        user=staff.id,
    )
    assert raised(db, "UPDATE department_member SET is_supervisor = true")
    assert raised(
        db,
        "INSERT INTO district_setting (triage_department_id, updated_at) VALUES (:id, :now)",
        id=department_id,
        now=utcnow(),
    )
    assert raised(db, "UPDATE district_setting SET triage_department_id = NULL")
    assert not raised(db, "UPDATE district_setting SET time_zone = 'America/Chicago'")
    assert raised(db, "DELETE FROM district_setting")
    assert raised(db, "DELETE FROM department_member")
    assert raised(db, "DELETE FROM department WHERE id = :id", id=department_id)


def test_every_change_to_a_school_or_a_tag_raises_the_version(db: Session) -> None:
    assert raised(db, "INSERT INTO school (name, is_active, translations) VALUES ('Lincoln', true, '{}')")
    assert raised(db, "UPDATE school SET is_active = false")
    assert raised(db, "DELETE FROM school")
    assert raised(db, "INSERT INTO feedback_tag (name) VALUES ('bikes')")
    assert raised(db, "UPDATE feedback_tag SET name = 'bicycles'")
    assert raised(db, "DELETE FROM feedback_tag")


def test_every_change_to_the_calendar_or_a_reply_target_raises_the_version(db: Session) -> None:
    department = factories.make_department(db)
    assert raised(db, "INSERT INTO business_hours (weekday, opens, closes) VALUES (0, '08:00', '12:00')")
    assert raised(db, "UPDATE business_hours SET closes = '13:00'")
    assert raised(db, "DELETE FROM business_hours")
    assert raised(
        db,
        "INSERT INTO closure (first_day, last_day, name, translations, created_at) "
        "VALUES ('2027-01-04', '2027-01-04', 'Snow day', '{}', :now)",
        now=utcnow(),
    )
    assert raised(db, "UPDATE closure SET name = 'Snow'")
    assert raised(db, "DELETE FROM closure")
    assert raised(
        db,
        "INSERT INTO reply_target (department_id, priority, first_reply_minutes, next_reply_minutes, "
        "resolution_minutes) VALUES (:id, 'normal', 60, 60, 600)",
        id=department.id,
    )
    assert raised(db, "UPDATE reply_target SET first_reply_minutes = 30")
    assert raised(db, "DELETE FROM reply_target")


def test_every_change_to_a_saved_reply_raises_the_version(db: Session) -> None:
    department = factories.make_department(db)
    assert raised(
        db,
        "INSERT INTO saved_reply (department_id, title, body, translations, is_active, updated_at) "
        "VALUES (:id, 'Bus stop', 'Two days.', '{}', true, :now)",
        id=department.id,
        now=utcnow(),
    )
    assert raised(db, "UPDATE saved_reply SET body = 'Three days.'")
    assert raised(db, "UPDATE saved_reply SET is_active = false")
    assert raised(db, "DELETE FROM saved_reply")


@pytest.mark.parametrize("role", [Role.STAFF, Role.ADMIN])
def test_a_staff_members_name_role_and_standing_raise_the_version(db: Session, role: Role) -> None:
    before = version(db)
    member = factories.make_staff(db, role=role)
    assert version(db) > before
    assert raised(db, "UPDATE \"user\" SET display_name = 'Ms Moreno' WHERE id = :id", id=member.id)
    assert raised(db, 'UPDATE "user" SET is_active = false WHERE id = :id', id=member.id)
    assert not raised(db, "UPDATE \"user\" SET language = 'es' WHERE id = :id", id=member.id)
    assert raised(db, "UPDATE \"user\" SET role = 'family' WHERE id = :id", id=member.id)
    assert raised(db, 'UPDATE "user" SET role = :role WHERE id = :id', role=role.value, id=member.id)
    assert raised(db, 'DELETE FROM "user" WHERE id = :id', id=member.id)


def test_families_joining_and_changing_their_names_leave_the_version(db: Session) -> None:
    """A roster import adds thousands of guardians: none of them holds the version's row."""
    before = version(db)
    household = factories.make_household(db, guardians=3)
    guardian = factories.guardians_of(db, household)[0]
    guardian.display_name = "Ana Rivera"
    db.commit()
    assert version(db) == before


def test_a_database_restored_from_a_backup_goes_on_from_a_version_never_kept(db: Session) -> None:
    backed_up = version(db)
    factories.make_school(db)
    kept = version(db)  # what an app process may have kept its values under
    db.execute(update(DistrictDataVersion).values(version=backed_up))  # the backup restored
    db.commit()
    time.sleep(0.002)  # SQLite's clock counts milliseconds
    factories.make_school(db)
    assert version(db) > kept


def test_the_migrations_make_the_same_triggers_as_the_models(app: Flask, db: Session) -> None:
    """The SQLite tests build from the models, PostgreSQL's from the migrations: on either,
    every trigger is there (a migration that copies a watched table on SQLite drops its
    triggers, and must make them again)."""
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE '%district_data'"
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    assert set(db.scalars(text(query))) == set(triggers(dialect))


# --- sessions -----------------------------------------------------------------------


class statements_counted:
    """The statements the app's engine sends from now on, by a word they contain."""

    def __init__(self, app: Flask) -> None:
        self.sent: list[str] = []
        event.listen(app.extensions["portal.engine"], "before_cursor_execute", self._record)

    def _record(self, _connection, _cursor, statement, *_rest) -> None:  # type: ignore[no-untyped-def]
        self.sent.append(statement)

    def count(self, word: str) -> int:
        return sum(word in statement for statement in self.sent)


def request_session(app: Flask) -> Session:
    """A session as a request opens it: the session statement read the version along."""
    db: Session = app.extensions["portal.sessionmaker"]()
    district_cache.read_along(db, db.scalar(select(DistrictDataVersion.version)))
    return db


def test_a_page_after_a_change_by_another_app_host_shows_the_change(app: Flask, db: Session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two app processes on one database: what one changes, the other shows next time,
    though it kept the old value."""
    factories.make_school(db, "Lincoln Elementary")
    other_host = new_app(app.config["DATABASE_URL"], tmp_path / "other", {})
    try:
        for expected in ("Lincoln Elementary", "Lincoln Elementary"):
            with request_session(app) as page:
                assert [row.name for row in directory.school_choices(page)] == [expected]
        with other_host.extensions["portal.sessionmaker"]() as elsewhere:
            school = elsewhere.scalars(select(School)).one()
            school.name = "Lincoln Academy"
            elsewhere.commit()
        with request_session(app) as page:
            assert [row.name for row in directory.school_choices(page)] == ["Lincoln Academy"]
    finally:
        other_host.extensions["portal.engine"].dispose()


def test_a_session_that_wrote_reads_the_database(app: Flask, db: Session) -> None:
    factories.make_school(db, "Lincoln Elementary")
    with request_session(app) as page:
        assert len(directory.school_choices(page)) == 1
        page.add(School(name="Washington Middle"))
        assert [row.name for row in directory.school_choices(page)] == ["Lincoln Elementary", "Washington Middle"]
        page.rollback()
    with request_session(app) as page:
        assert len(review.all_tags(page)) == 0
        page.execute(text("INSERT INTO feedback_tag (name) VALUES ('bikes')"))
        assert review.all_tags(page) == ["bikes"]
        page.rollback()
    with request_session(app) as page:
        assert [row.name for row in directory.school_choices(page)] == ["Lincoln Elementary"]
        assert review.all_tags(page) == []


def test_a_staff_members_departments_are_read_once_for_every_page_until_one_changes(app: Flask, db: Session) -> None:
    staff = factories.make_staff(db)
    department = factories.make_department(db, "Transportation")
    factories.join(db, staff, department, supervisor=True)
    counter = statements_counted(app)
    for _page in range(3):
        with request_session(app) as page:
            actor = page.get(User, staff.id)
            assert departments.memberships_of(page, actor) == [
                (departments.DepartmentChoice(department.id, "Transportation", {}), True, False)
            ]
            assert scope.for_staff(page, actor).department_ids == (department.id,)
    assert counter.count("department_member") == 1
    department.name = "Buses"
    db.commit()
    with request_session(app) as page:
        [(renamed, _lead, _triage)] = departments.memberships_of(page, page.get(User, staff.id)) or []
    assert renamed.name == "Buses" and counter.count("department_member") == 2


def test_a_closure_added_by_the_calendar_feed_moves_the_next_pages_promise(app: Flask, db: Session) -> None:
    """The calendar is kept between requests, in each time zone, until it changes."""
    with request_session(app) as page:
        kept = district_calendar.current(page)
        assert kept.closures == ()
    with request_session(app) as page:
        assert district_calendar.current(page) is kept
    db.add(Closure(first_day=date(2027, 1, 4), last_day=date(2027, 1, 5), name="Snow days"))
    db.commit()
    with request_session(app) as page:
        assert district_calendar.current(page).closures == ((date(2027, 1, 4), date(2027, 1, 5)),)


def test_the_session_statement_reads_the_version(app: Flask, db: Session) -> None:
    staff = factories.make_staff(db)
    lifetimes = session_lifetimes(app)
    token = sessions.start_session(db, staff, lifetimes, now=utcnow(), user_agent="", ip_address="")
    db.commit()
    with app.extensions["portal.sessionmaker"]() as page:
        user = sessions.load_session_user(page, token, lifetimes, now=utcnow())
        assert user is not None
        directory.school_choices(page)
        factories.make_school(db, "Lincoln Elementary")
        assert directory.school_choices(page) == [], "kept under the version read with the session"


# --- the district's names (services/district_names.py) ----------------------------------


def test_lists_name_departments_schools_and_tags_from_names_kept_until_one_changes(app: Flask, db: Session) -> None:
    department = factories.make_department(db, "Transportation")
    department.translations = {"es": {"name": "Transporte"}}
    school = factories.make_school(db, "Lincoln Elementary")
    tag = FeedbackTag(name="bikes")
    db.add(tag)
    db.commit()
    counter = statements_counted(app)
    with request_session(app) as page:
        names = district_names(page, departments={department.id}, schools={school.id, None}, tags={tag.id})
        assert names.departments[department.id] == DistrictName("Transportation", {"es": {"name": "Transporte"}})
        assert names.school(school.id) == DistrictName("Lincoln Elementary", {})
        assert names.school(None) is None and names.department(None) is None
        assert names.tags[tag.id] == DistrictName("bikes", {})
    with request_session(app) as page:
        assert district_names(page, departments={department.id}) is names
    assert counter.count("feedback_tag") == 1
    school.name = "Lincoln Academy"
    db.commit()
    with request_session(app) as page:
        assert district_names(page, schools={school.id}).schools[school.id].name == "Lincoln Academy"
    assert counter.count("feedback_tag") == 2


@pytest.mark.parametrize("kind", ["department", "school", "tag"])
def test_a_row_added_after_the_version_its_page_read_is_named_all_the_same(app: Flask, db: Session, kind: str) -> None:
    """PostgreSQL shows each statement what committed before it: a page's rows may name a
    department, school or tag added after the version its session statement read, which
    the names kept under that version lack. The page reads the names afresh, never fails."""
    with request_session(app) as page:
        kept = district_names(page)
        page.commit()  # the next statement sees what committed since, as on PostgreSQL
        added: Department | School | FeedbackTag = {
            "department": lambda: factories.make_department(db, "Enrollment"),
            "school": lambda: factories.make_school(db, "Washington Middle"),
            "tag": lambda: FeedbackTag(name="lunch"),
        }[kind]()
        db.add(added)
        db.commit()
        names = district_names(page, **{f"{kind}s": {added.id}})
        assert names is not kept
        assert getattr(names, f"{kind}s")[added.id].name == added.name
        assert district_names(page) is kept, "the names read afresh are not kept under the older version"
