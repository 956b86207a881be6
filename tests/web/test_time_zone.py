"""Administrators choose the district's time zone; open requests' promises follow it."""

import html
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from portal.models import AuditEvent, Department, DistrictSetting, Request
from portal.services import district_calendar, requests
from tests import factories
from tests.conftest import Browser, csrf_token_from
from tests.web.support import field_error, text

# Monday 4 March 2030, 09:00 in Los Angeles.
SUBMITTED = datetime(2030, 3, 4, 17, tzinfo=UTC)


@pytest.fixture
def as_admin(db, sign_in) -> Browser:  # type: ignore[no-untyped-def]
    return sign_in(factories.make_admin(db))


def choose_zone(browser: Browser, name: str):  # type: ignore[no-untyped-def]
    return browser.submit("/admin/calendar/time-zone", {"time_zone": name}, page="/admin/calendar")


def saved_zone(db) -> str | None:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.scalar(select(DistrictSetting.time_zone))


def test_the_calendar_page_offers_every_time_zone_with_the_districts_chosen(as_admin):
    page = text(as_admin.get("/admin/calendar"))
    assert 'id="time_zone" name="time_zone"' in page
    assert '<option selected value="America/Los_Angeles">America/Los Angeles</option>' in page
    assert page.count("<option ") > 400


def test_an_admin_changes_the_time_zone_and_it_is_audited(db, as_admin):
    response = choose_zone(as_admin, "America/Chicago")
    assert response.status_code == 302
    assert saved_zone(db) == "America/Chicago"
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "calendar.time_zone_changed"))
    assert (event.before, event.after) == ({"time_zone": "America/Los_Angeles"}, {"time_zone": "America/Chicago"})
    page = html.unescape(text(as_admin.get("/admin/calendar")))
    assert "The district's time zone is now America/Chicago." in page
    assert "No open request's promised reply time moved." in page
    assert "in the time zone America/Chicago" in page
    assert '<option selected value="America/Chicago">' in page


def test_choosing_the_same_time_zone_changes_nothing(db, as_admin):
    response = choose_zone(as_admin, "America/Los_Angeles")
    assert response.status_code == 302
    assert saved_zone(db) is None
    assert db.scalar(select(func.count()).where(AuditEvent.action == "calendar.time_zone_changed")) == 0
    assert "was already America/Los_Angeles" in html.unescape(text(as_admin.get("/admin/calendar")))


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "", "America/Chicago<script>", "x" * 300])
def test_a_name_that_is_no_time_zone_gets_a_message_next_to_the_field(db, as_admin, name):
    response = choose_zone(as_admin, name)
    assert response.status_code == 200
    assert field_error(text(response), "time_zone")
    assert "Chicago<script>" not in text(response)
    assert saved_zone(db) is None


def test_a_new_time_zone_moves_open_promises_and_says_why(db, as_admin):
    department = Department(name="Transportation")
    db.add(department)
    db.commit()
    guardian = factories.guardians_of(db, factories.make_household(db))[0]
    request, _new = requests.submit_request(
        db,
        guardian,
        requests.NewRequest(department.id, "Bus stop", "Which stop?"),
        calendar=district_calendar.load_calendar(db, "America/Los_Angeles"),
        now=SUBMITTED,
    )
    db.commit()
    # 8 business hours from Monday 09:00: Tuesday 08:30 in Los Angeles.
    assert request.due_at == datetime(2030, 3, 5, 16, 30, tzinfo=UTC)

    response = choose_zone(as_admin, "Europe/London")

    assert "The promised reply time of 1 open request moved." in text(as_admin.get(response.headers["Location"]))
    db.expire_all()
    moved = db.get(Request, request.id)
    # Monday 17:00 in London is after closing: the clock starts Tuesday 08:00 there.
    assert moved.due_at == datetime(2030, 3, 5, 16, tzinfo=UTC)
    assert moved.due_moved["kind"] == "time_zone_changed"
    assert moved.due_moved["from"] == "2030-03-05T16:30:00+00:00"


def test_staff_cannot_change_the_time_zone(db, sign_in, client):
    sign_in(factories.make_staff(db))
    token = csrf_token_from(text(client.get("/password")))
    assert client.post("/admin/calendar/time-zone", data={"csrf_token": token, "time_zone": "UTC"}).status_code == 403
    assert saved_zone(db) is None
