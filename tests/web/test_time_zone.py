"""Administrators choose the district's time zone; open requests' promises follow it."""

import html
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import flask_babel
import pytest
from flask import g
from sqlalchemy import func, select

from portal.blueprints import dates
from portal.models import AuditEvent, Department, DistrictSetting, Request
from portal.services import requests
from portal.services.calendar import district_calendar
from portal.services.requests.business_time import Calendar, add_business_time
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


NOT_PLACES = ["Factory", "localtime", "posixrules"]


def test_every_offered_time_zone_works_in_the_arithmetic_and_on_the_pages(app):
    offered = district_calendar.usable_time_zones()
    assert "America/Los_Angeles" in offered and "UTC" in offered and len(offered) > 400
    broken = []
    with app.test_request_context("/"):
        for name in offered:
            g.district_time_zone = name
            flask_babel.refresh()  # Flask-Babel keeps the request's zone once read
            try:
                dates.when(SUBMITTED)
                flask_babel.format_datetime(SUBMITTED, "short")
                calendar = Calendar(ZoneInfo(name), {0: ((time(8), time(16)),)})
                add_business_time(SUBMITTED, timedelta(hours=8), calendar)
            except Exception as error:  # every kind of failure, reported by zone
                broken.append((name, repr(error)[:80]))
    assert broken == []


@pytest.mark.parametrize("name", NOT_PLACES)
def test_a_name_that_is_no_place_is_neither_offered_nor_accepted(db, as_admin, name):
    assert f'value="{name}"' not in text(as_admin.get("/admin/calendar"))
    response = choose_zone(as_admin, name)
    assert response.status_code == 200
    assert field_error(text(response), "time_zone") == "Choose a time zone from the list, like America/Chicago."
    assert saved_zone(db) is None


@pytest.mark.parametrize("name", [*NOT_PLACES, "Mars/Olympus_Mons", ""])
def test_a_saved_time_zone_the_portal_cannot_use_falls_back_to_the_configured_one(app, db, sign_in, caplog, name):
    household = factories.make_household(db)
    guardian = factories.guardians_of(db, household)[0]
    department = Department(name="Transportation", is_public=True)
    db.add_all([department, DistrictSetting(time_zone=name)])
    db.commit()
    requests.submit_request(
        db,
        guardian,
        requests.NewRequest(department.id, "Bus stop", "Which stop?"),
        calendar=district_calendar.load_calendar(db, "America/Los_Angeles"),
        now=SUBMITTED,
    )
    db.commit()
    family = sign_in(guardian)
    pages = ["/requests/", "/family/", "/account/notes"]
    assert {page: family.get(page).status_code for page in pages} == dict.fromkeys(pages, 200)
    admin = Browser(app.test_client(), app)
    admin.submit("/sign-in", {"email": "nobody@example.org", "password": "wrong"})  # a dated row on a page
    admin.sign_in(factories.make_admin(db).email)
    assert "nobody@example.org" in text(admin.get("/admin/security-events"))
    pages = ["/admin/calendar", "/admin/access-log", "/admin/security-events", "/staff/requests/"]
    assert {page: admin.get(page).status_code for page in pages} == dict.fromkeys(pages, 200)
    assert "in the time zone America/Los_Angeles" in html.unescape(text(admin.get("/admin/calendar")))
    if name:
        assert any(name in record.getMessage() for record in caplog.records if record.levelname == "WARNING")


def test_a_configured_time_zone_the_portal_cannot_use_falls_back_to_utc(app, db, sign_in, caplog):
    app.config["DISTRICT_TIMEZONE"] = "localtime"
    admin = sign_in(factories.make_admin(db))
    page = admin.get("/admin/calendar")
    assert page.status_code == 200
    assert "in the time zone UTC" in html.unescape(text(page))
    assert any("'localtime'" in record.getMessage() for record in caplog.records if record.levelname == "WARNING")
