"""Query budgets: every main page issues a fixed number of SQL statements, the same for
one row as for twenty ("speed at district scale"). Counts, not times, so they are
deterministic: a page that starts loading per row (an N+1) or gains a query fails here.

Each page is built twice in one database, first with one row of everything it lists,
then with MANY of each, and opened by a user signed in for that scene alone. Only the
page's GET is counted, not the sign-in: every statement the app's engine sends through a
cursor (`before_cursor_execute`), SAVEPOINTs included. The drivers' implicit BEGIN and
the DBAPI's commit()/rollback() are calls, not statements, and are not counted.

A budget is the count measured when it was set: a page that needs one more statement
fails until its budget is raised, in the same change and on purpose.
"""

import difflib
import itertools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from portal.db import get_engine, utcnow
from portal.models import (
    CallAttempt,
    Callback,
    CallOutcome,
    Channel,
    Department,
    DepartmentMember,
    DistrictDataVersion,
    FeedbackStatus,
    Household,
    NoteCategory,
    Priority,
    ReplyTarget,
    Request,
    SavedReply,
    School,
    Student,
    Topic,
    TopicSubscription,
    User,
)
from portal.services import feedback, requests
from portal.services.calendar import district_calendar
from portal.services.households import contacts, notes
from tests import factories
from tests.conftest import Browser
from tests.web.support import text

FEW = 1
# Well under PAGE_SIZE (25): every row is on the one page that is counted.
MANY = 20

# Statements per page, measured on SQLite and on PostgreSQL (they agree) with FEW and with
# MANY rows (they agree too). Every page pays one for the signed-in session
# (user_session JOIN user), which brings the district's time zone along.
# Lists name their rows' departments, schools and tags from the district's names, read in one
# statement at a first look and kept after it (services/district_names.py; KEPT below).
# households with their students and guardianships (and users), one statement; the open
# requests and new answers (one statement); the names
FAMILY_HOME = 4
ACCOUNT_CONTACT = 3  # the guardian's preference and its topics
ACCOUNT_NOTES = 3  # household id, notes with their revisions and the revisions' authors (one statement)
MY_REQUESTS = 3  # the page of rows and the total (one statement), the names
# request joined to department/student/author (and its latest call-back's id: none), messages
# with their authors (the number and language the call-back form offers come with the session)
REQUEST_PAGE = 3
# the same with a call-back asked for: the call-back with its attempts (one statement), and no
# call-back form while it is open
REQUEST_PAGE_WITH_CALL_BACK = 4
# departments, the students to ask about, reply targets, measured speed (once per worker every
# few minutes), and the district calendar (its business hours and closures): the chosen
# department's promise by the button is a time (the call-back's number and language come with
# the session)
NEW_REQUEST = 7
MY_FEEDBACK = 3  # the page of rows and the total (one statement), the names
# The queues: and the safety-flagged items pinned above them, read only while an alert is not
# cleared (whether one is comes with the session statement; none is in these scenes; which of
# the page's rows are flagged comes with the page). A page reads the staff member's departments once: one scope per
# session.
# own departments (with the memberships: choices and ids), schools, the page's ids with their
# total (one statement), its rows, the names of the district's departments, schools and tags
# (one statement, kept: services/district_names.py). The ids apart from the rows: PostgreSQL
# plans a statement that reads rows by their ids once (pagination.py).
STAFF_QUEUE = 6
# The first look at a household in 10 minutes is written to the access log (an INSERT; whether
# the staff member looked lately comes with the household); these two budgets are for that
# first look.
# request joined (its household too, and the access log's look), conversation, contacts with their subscriptions (one
# statement), notes with their revisions and authors (one statement), the update form's
# departments and assignees (one statement), the saved replies offered (kept); the other open
# requests with their departments (one statement). The request comes with its latest call-back's
# id: none here; with one, the call-back and its attempts are one statement more.
STAFF_REQUEST_PAGE = 10
STAFF_REQUEST_PAGE_WITH_CALL_BACK = STAFF_REQUEST_PAGE + 1
# own departments with the triage department (the topic filter's choices too), the other
# filters' choices, the page's ids with their total (one statement), its rows with their tags
# and safety marks (one statement), the names of the district's departments, schools and tags
# (one statement, kept)
FEEDBACK_QUEUE = 8
# own departments with the triage department, feedback joined + tags, history, comments with
# their authors (one statement), form choices
FEEDBACK_PAGE = 8
# household with its members and the access log's look (one statement), contacts with their
# subscriptions (one statement), family notes with their history (one), internal notes with
# their authors (one); the staff member's departments (does the menu offer metrics and saved
# replies?)
HOUSEHOLD_PAGE = 7
# the staff member's departments (the menu), the search's page with its total (one statement:
# pagination.paginate_search), the names of the households' guardians, and of their students
HOUSEHOLD_SEARCH = 5

_sequence = itertools.count(1)


# --- counting -----------------------------------------------------------------


@contextmanager
def statements_sent(app: Flask) -> Iterator[list[str]]:
    """The SQL the app's engine sends while the block runs, one entry per cursor execute."""
    with app.app_context():
        engine = get_engine()
    sent: list[str] = []

    def record(_connection, _cursor, statement, _parameters, _context, _executemany) -> None:  # type: ignore[no-untyped-def]
        sent.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


@dataclass(frozen=True)
class Scene:
    """Who opens which page, and a text the page shows only when it lists every row."""

    user: User
    url: str
    shown: str


def statements_of_page(app: Flask, scene: Scene) -> list[str]:
    browser = Browser(app.test_client(), app)
    browser.sign_in(scene.user.email)
    # Each measurement is a worker's first view: forget what a worker keeps between requests,
    # the district data among it, as a change to it does.
    app.extensions.pop("portal.measured_speed", None)
    with app.app_context(), get_engine().begin() as connection:
        connection.execute(update(DistrictDataVersion).values(version=DistrictDataVersion.version + 1))
    with statements_sent(app) as sent:
        response = browser.get(scene.url)
    assert response.status_code == 200, f"{scene.url} answered {response.status_code}"
    assert scene.shown in text(response), f"{scene.url} does not show {scene.shown!r}"
    return sent


# A list of bound parameters, "IN (?, ?)" or "IN (%(id_1)s::INTEGER, ...)": its length follows the rows.
PARAMETER_LIST = re.compile(r"IN \((?:\?|%\(\w+\)s(?:::\w+)?)(?:, (?:\?|%\(\w+\)s(?:::\w+)?))*\)")


def growth(few: list[str], many: list[str]) -> str:
    """What the page sent with MANY rows that it did not send with FEW."""
    few, many = [PARAMETER_LIST.sub("IN (...)", s) for s in few], [PARAMETER_LIST.sub("IN (...)", s) for s in many]
    diff = difflib.unified_diff(few, many, f"{FEW} row(s)", f"{MANY} rows", lineterm="", n=0)
    return f"{len(few)} statements with {FEW} row(s), {len(many)} with {MANY}:\n" + "\n".join(diff)


# --- setting the scene ------------------------------------------------------


def calendar(db: Session):  # type: ignore[no-untyped-def]
    return district_calendar.load_calendar(db, "America/Los_Angeles")


def make_department(db: Session, *members: User) -> Department:
    department = Department(name=f"Department {next(_sequence)}", description="Questions.")
    db.add(department)
    db.flush()
    db.add_all(DepartmentMember(department_id=department.id, user_id=member.id) for member in members)
    db.commit()
    return department


def make_schools(db: Session, count: int) -> list[School]:
    return [factories.make_school(db) for _ in range(count)]


def make_family(
    db: Session, *, guardians: int = 1, students: int = 1, schools: int = 1
) -> tuple[Household, list[User]]:
    """A household whose guardians have contact preferences, as households made by staff
    or by an import do, and whose students go to `schools` different schools."""
    household = factories.make_household(db, guardians=guardians, students=students)
    members = factories.guardians_of(db, household)
    for guardian in members:
        contacts.start_preferences(db, guardian)
    for student, school in zip(students_of(db, household), itertools.cycle(make_schools(db, schools)), strict=False):
        student.school_id = school.id
    db.commit()
    return household, members


def students_of(db: Session, household: Household) -> list[Student]:
    return list(db.scalars(select(Student).where(Student.household_id == household.id).order_by(Student.id)))


def ask(db: Session, guardian: User, department: Department, student: Student | None = None) -> Request:
    created, _is_new = requests.submit_request(
        db,
        guardian,
        requests.NewRequest(
            department_id=department.id,
            subject=f"Question {next(_sequence)}",
            body="Which bus stop is ours now?",
            student_id=student.id if student else None,
        ),
        calendar=calendar(db),
        now=utcnow(),
    )
    db.commit()
    return created


def staff_reply(db: Session, staff: User, request: Request, body: str, *, internal: bool = False) -> None:
    requests.reply_as_staff(db, staff, request, body, internal=internal, calendar=calendar(db), now=utcnow())
    db.commit()


def add_family_note(db: Session, guardian: User, staff: User, household: Household, body: str) -> None:
    """A note the family wrote and staff revised on its behalf: two revisions, two authors."""
    note = notes.add_note(db, guardian, household.id, notes.NoteEdit(NoteCategory.PICKUP, body), now=utcnow())
    notes.revise_note(
        db,
        staff,
        note,
        notes.NoteEdit(NoteCategory.PICKUP, f"{body} (confirmed)", reason="Called the family"),
        based_on_version=note.version,
        now=utcnow(),
    )
    db.commit()


def send_feedback(db: Session, guardian: User, department: Department | None, school: School | None, body: str):  # type: ignore[no-untyped-def]
    sent = feedback.submit_from_family(
        db,
        guardian,
        feedback.NewFeedback(
            kind="suggestion",
            department_id=department.id if department else None,
            school_id=school.id if school else None,
            rating=4,
            body=body,
        ),
        now=utcnow(),
    )
    db.commit()
    return sent


# --- the pages, each with `size` rows of everything it lists -----------------


def family_home(db: Session, size: int) -> Scene:
    _household, guardians = make_family(db, guardians=size, students=size, schools=size)
    staff = factories.make_staff(db)
    for index in range(size):
        asked = ask(db, guardians[index], make_department(db, staff))
        if index % 2 == 0:
            staff_reply(db, staff, asked, f"Staff reply {index + 1}")
    return Scene(guardians[0], "/family/", asked.subject)


def account_contact(db: Session, size: int) -> Scene:
    _household, guardians = make_family(db, guardians=size, students=size, schools=size)
    guardian = guardians[0]
    if size == FEW:
        return Scene(guardian, "/account/contact", "email to")
    # Every topic on every channel: the longest summary the page can show.
    details = contacts.load_details(db, guardian)
    details.preference.mobile_phone = "+15035550100"
    db.add_all(
        TopicSubscription(user_id=guardian.id, topic=topic, channel=channel)
        for topic in Topic
        for channel in Channel
        if (topic, channel) not in details.channels
    )
    db.commit()
    return Scene(guardian, "/account/contact", "voice call to")


def account_notes(db: Session, size: int) -> Scene:
    household, guardians = make_family(db, guardians=2)
    staff = [factories.make_staff(db) for _ in range(min(size, 3))]
    for index in range(size):
        add_family_note(db, guardians[index % 2], staff[index % len(staff)], household, f"Pickup note {index + 1}")
    return Scene(guardians[0], "/account/notes", f"Pickup note {size} (confirmed)")


def my_requests(db: Session, size: int) -> Scene:
    household, guardians = make_family(db)
    student = students_of(db, household)[0]
    for index in range(size):
        asked = ask(db, guardians[0], make_department(db), student if index % 2 == 0 else None)
    return Scene(guardians[0], "/requests/", asked.subject)


def request_page(db: Session, size: int) -> Scene:
    household, guardians = make_family(db, guardians=2)
    staff = [factories.make_staff(db) for _ in range(min(size, 3))]
    department = make_department(db, *staff)
    asked = ask(db, guardians[0], department, students_of(db, household)[0])
    for index in range(size):
        staff_reply(db, staff[index % len(staff)], asked, f"Staff reply {index + 1}")
        staff_reply(db, staff[index % len(staff)], asked, f"Internal {index + 1}", internal=True)
        requests.reply_as_family(
            db, guardians[index % 2], asked, f"Family reply {index + 1}", calendar=calendar(db), now=utcnow()
        )
        db.commit()
    return Scene(guardians[0], f"/requests/{asked.id}", f"Family reply {size}")


def with_call_back(build: Callable[[Session, int], Scene]) -> Callable[[Session, int], Scene]:
    """The scene of a request page, the request's family having asked for a call-back that
    staff tried to make `size` times."""

    def built(db: Session, size: int) -> Scene:
        scene = build(db, size)
        request_id = int(scene.url.rsplit("/", 1)[1])
        callback = Callback(
            request_id=request_id,
            phone="+13235550188",
            language="Spanish",
            weekdays="01234",
            window_starts="15:00",
            window_ends="17:00",
            due_at=utcnow() + timedelta(days=1),
        )
        db.add(callback)
        db.flush()
        db.add_all(
            CallAttempt(callback_id=callback.id, outcome=CallOutcome.NO_ANSWER, note=f"Tried at {index + 1}")
            for index in range(size)
        )
        db.commit()
        return scene

    return built


def new_request(db: Session, size: int) -> Scene:
    _household, guardians = make_family(db, students=size, schools=size)
    for _ in range(size):
        department = make_department(db)
        db.add(
            ReplyTarget(
                department_id=department.id,
                priority=Priority.NORMAL,
                first_reply_minutes=120,
                next_reply_minutes=120,
                resolution_minutes=960,
            )
        )
    db.commit()
    return Scene(guardians[0], "/requests/new", department.name)


def my_feedback(db: Session, size: int) -> Scene:
    _household, guardians = make_family(db, guardians=2)
    schools = make_schools(db, size)
    for index in range(size):
        sent = send_feedback(
            db,
            guardians[index % 2],
            make_department(db),
            schools[index],
            f"Idea number {index + 1}: more bike racks at the school, please.",
        )
    return Scene(guardians[0], "/feedback/", sent.reference)


def staff_queue(db: Session, size: int) -> Scene:
    viewer = factories.make_staff(db)
    colleagues = [factories.make_staff(db) for _ in range(min(size, 3))]
    departments = [make_department(db, viewer, *colleagues) for _ in range(2)]
    for index in range(size):
        household, guardians = make_family(db, schools=1)
        asked = ask(db, guardians[0], departments[index % 2], students_of(db, household)[0])
        requests.assign(db, viewer, asked, colleagues[index % len(colleagues)].id, now=utcnow())
        db.commit()
    return Scene(viewer, "/staff/requests/", asked.subject)


def staff_request_page(db: Session, size: int) -> Scene:
    viewer = factories.make_staff(db)
    colleagues = [factories.make_staff(db) for _ in range(min(size, 3))]
    mine = make_department(db, viewer, *colleagues)
    elsewhere = make_department(db)
    household, guardians = make_family(db, guardians=size, students=size, schools=size)
    asked = ask(db, guardians[0], mine, students_of(db, household)[0])
    requests.assign(db, viewer, asked, colleagues[0].id, now=utcnow())
    db.commit()
    for index in range(size):
        staff_reply(db, colleagues[index % len(colleagues)], asked, f"Staff reply {index + 1}")
        staff_reply(db, colleagues[index % len(colleagues)], asked, f"Internal {index + 1}", internal=True)
        add_family_note(
            db, guardians[index % size], colleagues[index % len(colleagues)], household, f"Pickup note {index + 1}"
        )
        ask(db, guardians[index % size], mine)
        ask(db, guardians[index % size], elsewhere)
        db.add(SavedReply(department_id=mine.id, title=f"Saved reply {index + 1}", body="Yes.", updated_at=utcnow()))
        db.commit()
    return Scene(viewer, f"/staff/requests/{asked.id}", f"Saved reply {size}")


def feedback_queue(db: Session, size: int) -> Scene:
    viewer = factories.make_staff(db)
    colleagues = [factories.make_staff(db) for _ in range(min(size, 3))]
    department = make_department(db, viewer, *colleagues)
    schools = make_schools(db, size)
    for index in range(size):
        _household, guardians = make_family(db)
        sent = send_feedback(
            db,
            guardians[0],
            department,
            schools[index],
            f"Idea number {index + 1}: more bike racks at the school, please.",
        )
        found = feedback.feedback_for_staff(db, viewer, sent.id)
        feedback.update(
            db,
            viewer,
            found,
            status=FeedbackStatus.IN_REVIEW,
            assignee_id=colleagues[index % len(colleagues)].id,
            department_id=department.id,
            now=utcnow(),
        )
        feedback.set_tags(db, viewer, found, [f"tag {index}", f"tag {index + 1}", "bikes"], now=utcnow())
        db.commit()
    return Scene(viewer, "/staff/feedback/", f"Idea number {size}:")


def feedback_page(db: Session, size: int) -> Scene:
    viewer = factories.make_staff(db)
    colleagues = [factories.make_staff(db) for _ in range(min(size, 3))]
    department = make_department(db, viewer, *colleagues)
    _household, guardians = make_family(db)
    sent = send_feedback(
        db,
        guardians[0],
        department,
        make_schools(db, 1)[0],
        "More bike racks at the school, please: the old ones are full by eight.",
    )
    for index in range(size):
        found = feedback.feedback_for_staff(db, viewer, sent.id)
        colleague = colleagues[index % len(colleagues)]
        feedback.add_comment(db, colleague, found, f"Comment {index + 1}", now=utcnow())
        status = FeedbackStatus.IN_REVIEW if index % 2 == 0 else FeedbackStatus.NEW
        feedback.update(
            db, colleague, found, status=status, assignee_id=colleague.id, department_id=department.id, now=utcnow()
        )
        feedback.set_tags(
            db, colleague, found, [f"tag {n}" for n in range(min(index + 1, feedback.MAX_TAGS))], now=utcnow()
        )
        db.commit()
    return Scene(viewer, f"/staff/feedback/{sent.id}", f"Comment {size}")


def household_page(db: Session, size: int) -> Scene:
    viewer = factories.make_staff(db)
    colleagues = [factories.make_staff(db) for _ in range(min(size, 3))]
    household, guardians = make_family(db, guardians=size, students=size, schools=size)
    for index in range(size):
        colleague = colleagues[index % len(colleagues)]
        add_family_note(db, guardians[index], colleague, household, f"Pickup note {index + 1}")
        notes.add_staff_note(db, colleague, household.id, f"Staff note {index + 1}", now=utcnow())
        db.commit()
    return Scene(viewer, f"/staff/households/{household.id}", f"Staff note {size}")


def household_search(db: Session, size: int) -> Scene:
    viewer = factories.make_staff(db)
    for index in range(size):
        household = factories.make_household(db, name=f"Okafor family {size}-{index + 1}", guardians=2, students=2)
        for student, school in zip(students_of(db, household), make_schools(db, 2), strict=True):
            student.school_id = school.id
    db.commit()
    return Scene(viewer, "/staff/households?q=okafor", f"Okafor family {size}-{size}")


PAGES = [
    pytest.param(family_home, FAMILY_HOME, id="family-home"),
    pytest.param(account_contact, ACCOUNT_CONTACT, id="account-contact"),
    pytest.param(account_notes, ACCOUNT_NOTES, id="account-notes"),
    pytest.param(my_requests, MY_REQUESTS, id="my-requests"),
    pytest.param(request_page, REQUEST_PAGE, id="request-page"),
    pytest.param(with_call_back(request_page), REQUEST_PAGE_WITH_CALL_BACK, id="request-page-with-call-back"),
    pytest.param(new_request, NEW_REQUEST, id="new-request"),
    pytest.param(my_feedback, MY_FEEDBACK, id="my-feedback"),
    pytest.param(staff_queue, STAFF_QUEUE, id="staff-queue"),
    pytest.param(staff_request_page, STAFF_REQUEST_PAGE, id="staff-request-page"),
    pytest.param(
        with_call_back(staff_request_page), STAFF_REQUEST_PAGE_WITH_CALL_BACK, id="staff-request-page-with-call-back"
    ),
    pytest.param(feedback_queue, FEEDBACK_QUEUE, id="feedback-queue"),
    pytest.param(feedback_page, FEEDBACK_PAGE, id="feedback-page"),
    pytest.param(household_page, HOUSEHOLD_PAGE, id="household-page"),
    pytest.param(household_search, HOUSEHOLD_SEARCH, id="household-search"),
]


@pytest.mark.parametrize(("build", "budget"), PAGES)
def test_page_sends_a_fixed_number_of_statements_however_many_rows(
    app: Flask, db: Session, build: Callable[[Session, int], Scene], budget: int
) -> None:
    few = statements_of_page(app, build(db, FEW))
    many = statements_of_page(app, build(db, MANY))
    assert len(many) == len(few), growth(few, many)
    assert len(many) <= budget, f"{len(many)} statements, over the budget of {budget}:\n" + "\n".join(many)


@contextmanager
def transactions_run(app: Flask) -> Iterator[list[str]]:
    """The pool's check-outs and the transactions' ends while the block runs, in order."""
    with app.app_context():
        engine = get_engine()
    seen: list[str] = []

    def checkout(*_arguments) -> None:  # type: ignore[no-untyped-def]
        seen.append("checkout")

    def commit(_connection) -> None:  # type: ignore[no-untyped-def]
        seen.append("commit")

    def rollback(_connection) -> None:  # type: ignore[no-untyped-def]
        seen.append("rollback")

    listeners = [(engine, "checkout", checkout), (engine, "commit", commit), (engine, "rollback", rollback)]
    for listener in listeners:
        event.listen(*listener)
    try:
        yield seen
    finally:
        for listener in listeners:
            event.remove(*listener)


@pytest.mark.parametrize(("build", "budget"), PAGES)
def test_a_page_is_read_in_one_transaction_on_one_connection(
    app: Flask, db: Session, build: Callable[[Session, int], Scene], budget: int
) -> None:
    """A page that commits before it has read all it shows (say, the access log's first look)
    pays a second check-out. A page's unit of work ends once: with COMMIT when it wrote (the
    first look at a household's pages), else with a rollback that has nothing to send (on
    PostgreSQL it began no transaction: portal.db._begin_before_writing)."""
    scene = build(db, FEW)
    browser = Browser(app.test_client(), app)
    browser.sign_in(scene.user.email)
    for look in ("first", "again"):  # the first look writes the access log on a household's pages
        with transactions_run(app) as seen:
            response = browser.get(scene.url)
        assert scene.shown in text(response)
        assert seen in (["checkout", "commit"], ["checkout", "rollback"]), f"{look} look at {scene.url}: {seen}"


# Pages opened again, the district data they show kept from the pages before
# (services/district_cache.py): the family's lists without the names of their rows'
# departments and schools; the queues without the staff member's departments, the schools
# and the names (and the feedback queue without the tags and the staff it offers); a request and
# a feedback page without the departments and staff their update forms offer; a household
# without the departments of the menu; the new-request form without the departments, their
# reply targets, the calendar and the speed measured. A page that wrote (the access log, at a first look)
# reads them from the database: what it keeps is kept by the next one. The staff request page
# keeps the saved replies it offers as well.
FIRST_LOOK = "INSERT INTO audit_event"  # the access log, written once in 10 minutes
MEASURED_SPEED = "first_reply_business_seconds"  # kept by a worker for minutes
NAMES = "FROM feedback_tag"  # the district's names (services/district_names.py)
KEPT = [
    pytest.param(family_home, 3, (NAMES,), id="family-home"),
    pytest.param(my_requests, 2, (NAMES,), id="my-requests"),
    pytest.param(my_feedback, 2, (NAMES,), id="my-feedback"),
    pytest.param(
        new_request,
        2,
        ("FROM department", "reply_target", "business_hours", "closure", MEASURED_SPEED),
        id="new-request",
    ),
    pytest.param(staff_queue, 3, ("department_member", "school"), id="staff-queue"),
    pytest.param(feedback_queue, 3, ("department_member", "school", "feedback_tag"), id="feedback-queue"),
    pytest.param(staff_request_page, 6, ("department_member", FIRST_LOOK, "FROM saved_reply"), id="staff-request-page"),
    pytest.param(
        feedback_page, 5, ("department_member", "ORDER BY department.name", "user.display_name"), id="feedback-page"
    ),
    pytest.param(household_page, 5, ("department_member", FIRST_LOOK), id="household-page"),
    pytest.param(household_search, 4, ("department_member",), id="household-search"),
]


@pytest.mark.parametrize(("build", "budget", "kept"), KEPT)
def test_a_staff_page_opened_again_reads_none_of_the_district_data_it_keeps(
    app: Flask, db: Session, build: Callable[[Session, int], Scene], budget: int, kept: tuple[str, ...]
) -> None:
    scene = build(db, MANY)
    first = statements_of_page(app, scene)
    browser = Browser(app.test_client(), app)
    browser.sign_in(scene.user.email)
    browser.get(scene.url)
    with statements_sent(app) as again:
        response = browser.get(scene.url)
    assert scene.shown in text(response)
    assert len(again) == budget, "\n".join(again)
    assert set(again) <= set(first), "\n".join(set(again) - set(first))
    for left_out in set(first) - set(again):
        assert any(part in left_out for part in kept), left_out
