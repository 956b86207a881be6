"""Administrators keep the district calendar that reply times are counted on."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from portal.models import AuditEvent, BusinessHours, Closure, Department, Request
from portal.services import requests
from portal.services.calendar import district_calendar
from portal.services.errors import InvalidInput, NotAllowed
from portal.services.requests.business_time import add_business_time
from tests import factories
from tests.conftest import csrf_token_from

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


def test_the_saved_calendar_drives_the_arithmetic(db, admin):
    district_calendar.seed_default_hours(db)
    district_calendar.add_closure(db, admin, date(2026, 11, 30), date(2026, 11, 30), "Snow day", now=NOW)
    db.commit()
    calendar = district_calendar.load_calendar(db, "America/Los_Angeles")
    assert calendar.weekly_hours[0] == ((time(8), time(16, 30)),)
    assert calendar.weekly_hours[6] == ()
    friday_3pm = datetime(2026, 11, 27, 23, tzinfo=UTC)  # 15:00 in Los Angeles
    # 1.5 hours left on Friday, Monday is a snow day: Tuesday 08:30.
    assert add_business_time(friday_3pm, timedelta(hours=2), calendar) == datetime(2026, 12, 1, 16, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("first", "last", "name", "field"),
    [
        (date(2026, 12, 2), date(2026, 12, 1), "Backwards", "last_day"),
        (date(2026, 1, 1), date(2027, 6, 1), "Too long", "last_day"),
        (date(2026, 12, 1), date(2026, 12, 1), "   ", "name"),
    ],
)
def test_a_closure_that_makes_no_sense_is_refused(db, admin, first, last, name, field):
    with pytest.raises(InvalidInput) as refused:
        district_calendar.add_closure(db, admin, first, last, name, now=NOW)
    assert refused.value.field == field


def test_staff_cannot_change_the_calendar(db):
    staff = factories.make_staff(db)
    with pytest.raises(NotAllowed):
        district_calendar.set_day_hours(db, staff, 0, ("09:00", "17:00"), now=NOW)


def test_admins_set_hours_and_closures_through_the_page(db, admin, sign_in):
    browser = sign_in(admin)
    assert browser.get("/admin/calendar").status_code == 200
    hours = {f"day{d}_opens": "08:00" for d in range(5)} | {f"day{d}_closes": "16:30" for d in range(5)}
    hours |= {"day2_opens": "09:00", "day2_closes": "12:00"}
    response = browser.submit("/admin/calendar/hours", hours, page="/admin/calendar")
    assert response.status_code == 302
    assert db.scalar(select(BusinessHours).where(BusinessHours.weekday == 2)).closes == "12:00"
    assert db.scalar(select(func.count()).select_from(BusinessHours).where(BusinessHours.weekday == 5)) == 0
    added = browser.submit(
        "/admin/calendar/closures",
        {"name": "Thanksgiving break", "first_day": "2026-11-25", "last_day": "2026-11-27"},
        page="/admin/calendar",
    )
    assert added.status_code == 302
    closure = db.scalar(select(Closure))
    assert (closure.first_day, closure.last_day) == (date(2026, 11, 25), date(2026, 11, 27))
    assert db.scalar(select(func.count()).where(AuditEvent.action == "calendar.closure_added")) == 1
    removed = browser.submit(f"/admin/calendar/closures/{closure.id}/remove", {}, page="/admin/calendar")
    assert removed.status_code == 302
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Closure)) == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"day0_opens": "17:00", "day0_closes": "08:00"}, "The office must open before it closes."),
        ({"day0_opens": "eight", "day0_closes": "16:30"}, "Enter times like 08:00 and 16:30."),
        ({"day0_opens": "08:00", "day0_closes": ""}, "Enter times like 08:00 and 16:30."),
    ],
)
def test_bad_hours_get_a_message_and_keep_the_other_days(db, admin, sign_in, fields, message):
    browser = sign_in(admin)
    response = browser.submit(
        "/admin/calendar/hours", {"day3_opens": "07:45", "day3_closes": "15:00", **fields}, page="/admin/calendar"
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message in page
    assert 'value="07:45"' in page
    assert db.scalar(select(func.count()).select_from(BusinessHours)) == 0


def test_a_bad_closure_form_keeps_what_was_typed(db, admin, sign_in):
    browser = sign_in(admin)
    response = browser.submit(
        "/admin/calendar/closures",
        {"name": "<script>x</script>", "first_day": "2026-12-10", "last_day": "not a date"},
        page="/admin/calendar",
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "&lt;script&gt;x&lt;/script&gt;" in page
    assert 'value="2026-12-10"' in page


def test_only_admins_reach_the_calendar(db, sign_in, client):
    sign_in(factories.make_staff(db))
    assert client.get("/admin/calendar").status_code == 403
    assert client.post("/admin/calendar/closures/1/remove").status_code == 400  # no CSRF token
    token_page = client.get("/security/").get_data(as_text=True)
    response = client.post("/admin/calendar/closures/1/remove", data={"csrf_token": csrf_token_from(token_page)})
    assert response.status_code == 403


# --- every calendar change recomputes the promises of open requests ----------------

# Monday 4 March 2030, 09:00 in Los Angeles: 8 business hours later is Tuesday 08:30.
SUBMITTED = datetime(2030, 3, 4, 17, tzinfo=UTC)
TUESDAY_0830 = datetime(2030, 3, 5, 16, 30, tzinfo=UTC)
WEDNESDAY_0830 = datetime(2030, 3, 6, 16, 30, tzinfo=UTC)


@pytest.fixture
def open_request(db):  # type: ignore[no-untyped-def]
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
    assert request.due_at == TUESDAY_0830
    return request


def reloaded(db, request):  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.get(Request, request.id)


def test_a_closure_on_the_day_a_reply_is_due_moves_the_promise_and_says_why(db, admin, sign_in, open_request):
    browser = sign_in(admin)
    closure = {"name": "Snow day", "first_day": "2030-03-05", "last_day": "2030-03-05"}
    response = browser.submit("/admin/calendar/closures", closure, page="/admin/calendar", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Closure added." in page
    assert "The promised reply time of 1 open request moved." in page
    moved = reloaded(db, open_request)
    assert moved.due_at == WEDNESDAY_0830
    assert moved.due_moved["kind"] == "closure_added"
    assert moved.due_moved["name"] == "Snow day"
    assert moved.due_moved["from"] == TUESDAY_0830.isoformat()

    snow_day = db.scalar(select(Closure))
    response = browser.submit(f"/admin/calendar/closures/{snow_day.id}/remove", {}, page="/admin/calendar")
    assert response.status_code == 302
    back = reloaded(db, open_request)
    assert back.due_at == TUESDAY_0830
    assert back.due_moved["kind"] == "closure_removed"
    assert back.due_moved["name"] == "Snow day"


def test_a_closure_that_moves_no_promise_says_so(db, admin, sign_in, open_request):
    browser = sign_in(admin)
    closure = {"name": "Summer", "first_day": "2030-07-01", "last_day": "2030-07-03"}
    response = browser.submit("/admin/calendar/closures", closure, page="/admin/calendar", follow_redirects=True)
    assert "No open request&#39;s promised reply time moved." in response.get_data(as_text=True)
    assert reloaded(db, open_request).due_moved is None


def test_new_business_hours_move_the_promise(db, admin, sign_in, open_request):
    browser = sign_in(admin)
    hours = {f"day{d}_opens": "08:00" for d in range(5)} | {f"day{d}_closes": "12:00" for d in range(5)}
    response = browser.submit("/admin/calendar/hours", hours, page="/admin/calendar", follow_redirects=True)
    assert "The promised reply time of 1 open request moved." in response.get_data(as_text=True)
    moved = reloaded(db, open_request)
    # Monday 09:00 to 12:00, Tuesday and Wednesday 08:00 to 12:00: 8 hours end Wednesday 09:00.
    assert moved.due_at == datetime(2030, 3, 6, 17, tzinfo=UTC)
    assert moved.due_moved["kind"] == "hours_changed"


def test_a_refused_closure_moves_no_promise(db, admin, sign_in, open_request):
    browser = sign_in(admin)
    closure = {"name": "Backwards", "first_day": "2030-03-06", "last_day": "2030-03-05"}
    response = browser.submit("/admin/calendar/closures", closure, page="/admin/calendar")
    assert response.status_code == 200
    assert reloaded(db, open_request).due_at == TUESDAY_0830
    assert db.scalar(select(func.count()).select_from(Closure)) == 0
