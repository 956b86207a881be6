"""Administrators import closures from the calendar file the district publishes (.ics):
upload, preview, choose by category or one by one, see the closures, save; a re-import
updates what an earlier one made instead of duplicating it."""

import html
import io
import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from portal.db import utcnow
from portal.models import AuditEvent, CalendarImport, Closure, Department, Request
from portal.services import requests
from portal.services.calendar import calendar_import, district_calendar
from tests import factories
from tests.conftest import Browser, csrf_token_from
from tests.web.support import field_error, location, text

ZONE = "America/Los_Angeles"
NEXT_YEAR = utcnow().year + 1


def day(month: int, day_of_month: int, year: int = NEXT_YEAR) -> date:
    return date(year, month, day_of_month)


def vevent(uid: str, summary: str, first: date, end: date | None = None, *, categories: str = "") -> str:
    lines = [f"UID:{uid}", f"SUMMARY:{summary}", "DTSTAMP:20260801T000000Z", f"DTSTART;VALUE=DATE:{first:%Y%m%d}"]
    if end is not None:
        lines.append(f"DTEND;VALUE=DATE:{end:%Y%m%d}")
    if categories:
        lines.append(f"CATEGORIES:{categories}")
    return "BEGIN:VEVENT\r\n" + "\r\n".join(lines) + "\r\nEND:VEVENT\r\n"


def ics(*events: str) -> bytes:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//District//EN\r\n" + "".join(events) + "END:VCALENDAR\r\n"
    ).encode()


DISTRICT_FILE = ics(
    vevent("mlk@district", "Martin Luther King Jr. Day", day(1, 18), day(1, 19), categories="Holiday,No school"),
    vevent("pd@district", "Professional development", day(2, 12), categories="No school"),
    vevent("spring@district", "Spring break", day(3, 29), day(4, 3), categories="Holiday"),
    "BEGIN:VEVENT\r\nUID:board@district\r\nSUMMARY:Board meeting\r\n"
    f"DTSTART:{NEXT_YEAR}0210T030000Z\r\nCATEGORIES:Holiday\r\nEND:VEVENT\r\n",
)


def count(db, model, *where) -> int:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model).where(*where))


def upload(browser: Browser, data: bytes, filename: str = "district.ics"):  # type: ignore[no-untyped-def]
    return browser.submit(
        "/admin/calendar/import",
        {"file": (io.BytesIO(data), filename)},
        page="/admin/calendar",
        content_type="multipart/form-data",
    )


def uploaded(browser: Browser, data: bytes) -> str:
    """Upload `data`; the preview page's URL."""
    response = upload(browser, data)
    assert response.status_code == 302, text(response)
    assert re.fullmatch(r"/admin/calendar/import/\d+", location(response))
    return location(response)


def choose(browser: Browser, preview: str, **chosen: list[str]):  # type: ignore[no-untyped-def]
    """Press "Show closures" with these categories and events ticked."""
    return browser.submit(preview, chosen, page=preview)


def save(browser: Browser, preview: str, **chosen: list[str]):  # type: ignore[no-untyped-def]
    return browser.submit(f"{preview}/save", chosen, page=preview, follow_redirects=True)


def closures(db) -> dict[str, tuple[date, date, str]]:  # type: ignore[no-untyped-def]
    db.expire_all()
    return {c.source_uid: (c.first_day, c.last_day, c.name) for c in db.scalars(select(Closure))}


# --- the flow --------------------------------------------------------------------


def test_the_preview_lists_events_with_dates_and_categories(as_admin):
    preview = uploaded(as_admin, DISTRICT_FILE)
    page = html.unescape(text(as_admin.get(preview)))
    assert "district.ics has 4 events." in page
    for name in ("Martin Luther King Jr. Day", "Professional development", "Spring break", "Board meeting"):
        assert name in page
    assert 'name="categories" value="Holiday"' in page
    assert "Holiday (2 events)" in page  # the timed board meeting does not count
    assert "No school (2 events)" in page
    # Spring break is 29 March to 3 April: DTEND is exclusive. One line per event, by month.
    assert f"Spring break · {day(3, 29):%a} 29 Mar to {day(4, 2):%a} 2 Apr" in page
    months = re.findall(r'<h2 class="month">([^<]+)</h2>', page)
    assert months == [f"January {NEXT_YEAR}", f"February {NEXT_YEAR}", f"March {NEXT_YEAR}"]
    assert "Not all-day" in page
    assert 'value="board@district"' not in page
    assert 'value="mlk@district"' in page


def test_choosing_a_category_shows_its_closures_before_anything_is_saved(db, as_admin):
    preview = uploaded(as_admin, DISTRICT_FILE)
    response = choose(as_admin, preview, categories=["No school"])
    assert response.status_code == 200
    page = html.unescape(text(response))
    plan = page.split("Closures to save", 1)[1]
    assert "Martin Luther King Jr. Day" in plan
    assert "Professional development" in plan
    assert "Spring break" not in plan
    assert plan.count("New closure.") == 2
    assert re.search(r'<input type="checkbox" id="category-\d+" name="categories" value="No school" checked>', page)
    assert count(db, Closure) == 0


def test_choosing_nothing_says_so_next_to_the_events(as_admin):
    preview = uploaded(as_admin, DISTRICT_FILE)
    response = choose(as_admin, preview)
    assert response.status_code == 200
    assert field_error(text(response), "events") == "Choose at least one category or event that closes the offices."
    saved = as_admin.submit(f"{preview}/save", {}, page=preview)
    assert saved.status_code == 200
    assert field_error(text(saved), "events") == "Choose at least one category or event that closes the offices."


def test_saving_creates_the_closures_audits_them_and_forgets_the_upload(db, as_admin):
    preview = uploaded(as_admin, DISTRICT_FILE)
    response = save(as_admin, preview, categories=["Holiday"], events=["pd@district"])
    page = html.unescape(text(response))
    assert "Closures from the file: 3 new, 0 updated, 0 unchanged, 0 removed." in page
    assert closures(db) == {
        "mlk@district": (day(1, 18), day(1, 18), "Martin Luther King Jr. Day"),
        "pd@district": (day(2, 12), day(2, 12), "Professional development"),
        "spring@district": (day(3, 29), day(4, 2), "Spring break"),
    }
    assert count(db, CalendarImport) == 0
    assert count(db, AuditEvent, AuditEvent.action == "calendar.closure_added") == 3
    assert count(db, AuditEvent, AuditEvent.action == "calendar.import_uploaded") == 1
    assert count(db, AuditEvent, AuditEvent.action == "calendar.imported") == 1
    assert as_admin.get(preview).status_code == 404


def test_a_timed_event_cannot_be_slipped_into_the_save(db, as_admin):
    preview = uploaded(as_admin, DISTRICT_FILE)
    response = as_admin.submit(f"{preview}/save", {"events": ["board@district"]}, page=preview)
    assert response.status_code == 200
    assert field_error(text(response), "events")
    assert count(db, Closure) == 0


def test_reimporting_an_updated_file_updates_instead_of_duplicating(db, as_admin):
    save(as_admin, uploaded(as_admin, DISTRICT_FILE), categories=["Holiday", "No school"])
    assert len(closures(db)) == 3
    updated_file = ics(
        vevent("mlk@district", "Martin Luther King Jr. Day", day(1, 18), day(1, 19), categories="Holiday"),
        vevent("pd@district", "Professional development", day(2, 13), categories="No school"),
        vevent("spring@district", "Spring recess", day(3, 29), day(4, 6), categories="Holiday"),
        vevent("snow@district", "Snow makeup day", day(5, 1), categories="No school"),
    )
    preview = uploaded(as_admin, updated_file)
    plan = html.unescape(text(choose(as_admin, preview, categories=["Holiday", "No school"])))
    assert "Updates the closure imported before: Spring break" in plan
    assert "Already a closure; unchanged." in plan
    response = save(as_admin, preview, categories=["Holiday", "No school"])
    assert "Closures from the file: 1 new, 2 updated, 1 unchanged, 0 removed." in html.unescape(text(response))
    assert closures(db) == {
        "mlk@district": (day(1, 18), day(1, 18), "Martin Luther King Jr. Day"),
        "pd@district": (day(2, 13), day(2, 13), "Professional development"),
        "spring@district": (day(3, 29), day(4, 5), "Spring recess"),
        "snow@district": (day(5, 1), day(5, 1), "Snow makeup day"),
    }
    assert count(db, AuditEvent, AuditEvent.action == "calendar.closure_updated") == 2

    # The same file once more changes nothing.
    again = save(as_admin, uploaded(as_admin, updated_file), categories=["Holiday", "No school"])
    assert "Closures from the file: 0 new, 0 updated, 4 unchanged, 0 removed." in html.unescape(text(again))
    assert count(db, Closure) == 4


def test_discarding_an_upload_changes_nothing(db, as_admin):
    preview = uploaded(as_admin, DISTRICT_FILE)
    response = as_admin.submit(f"{preview}/discard", {}, page=preview)
    assert response.status_code == 302
    assert count(db, CalendarImport) == 0
    assert count(db, Closure) == 0


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"this is not a calendar", "district.ics", "This file is not a calendar we can read."),
        (b"%PDF-1.7\n", "district.ics", "This file is not plain text."),
        (DISTRICT_FILE, "district.xlsx", "Choose a file ending in .ics / .ical."),
        (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", "district.ics", "The file has no events."),
        (b"B" * (1024 * 1024 + 10), "district.ics", "The file is too large: at most 1024 KB."),
        (b"\xff\xfe\x00\x00garbage", "district.ics", "This file is not plain text."),
    ],
)
def test_a_bad_file_gets_a_clear_message_next_to_the_file_field(db, as_admin, data, filename, message):
    response = upload(as_admin, data, filename)
    assert response.status_code == 200
    error = field_error(text(response), "file")
    assert error is not None
    assert message in html.unescape(error)
    assert count(db, CalendarImport) == 0


def test_no_file_chosen_says_so(as_admin):
    response = as_admin.submit("/admin/calendar/import", {}, page="/admin/calendar", content_type="multipart/form-data")
    assert response.status_code == 200
    assert field_error(text(response), "file") == "Choose the calendar file the district publishes, ending in .ics."


# --- who may ----------------------------------------------------------------------


@pytest.fixture
def kept_import(db, admin) -> int:  # type: ignore[no-untyped-def]
    parsed = calendar_import.parse_calendar(DISTRICT_FILE.decode())
    kept = calendar_import.keep_import(db, admin, "district.ics", parsed, now=utcnow())
    db.commit()
    return kept.id


def _someone(db, who: str):  # type: ignore[no-untyped-def]
    if who == "family":
        return factories.guardians_of(db, factories.make_household(db))[0]
    return factories.make_staff(db)


@pytest.mark.parametrize("who", ["family", "staff"])
def test_families_and_staff_are_refused_every_import_page(db, sign_in, client, kept_import, who):
    browser = sign_in(_someone(db, who))
    preview = f"/admin/calendar/import/{kept_import}"
    assert browser.get(preview).status_code == 403
    token = csrf_token_from(text(browser.get("/password")))
    for url in (
        "/admin/calendar/import",
        preview,
        f"{preview}/save",
        f"{preview}/discard",
        "/admin/calendar/time-zone",
    ):
        assert client.post(url, data={"csrf_token": token}).status_code == 403, url
    assert count(db, CalendarImport) == 1


def test_another_admin_finds_no_import_that_is_not_theirs(db, sign_in, client, kept_import):
    browser = sign_in(factories.make_admin(db))
    preview = f"/admin/calendar/import/{kept_import}"
    assert browser.get(preview).status_code == 404
    token = csrf_token_from(text(browser.get("/admin/calendar")))
    for url in (preview, f"{preview}/save", f"{preview}/discard"):
        response = client.post(url, data={"csrf_token": token, "categories": ["Holiday"]})
        assert response.status_code == 404, url
    assert count(db, CalendarImport) == 1
    assert count(db, Closure) == 0


def test_every_import_post_needs_the_csrf_token(db, as_admin, client, kept_import):
    preview = f"/admin/calendar/import/{kept_import}"
    for url in ("/admin/calendar/import", preview, f"{preview}/save", f"{preview}/discard"):
        assert client.post(url, data={"categories": ["Holiday"]}).status_code == 400, url
    assert count(db, CalendarImport) == 1


# --- promises move --------------------------------------------------------------------


def test_an_imported_closure_on_the_day_a_reply_is_due_moves_the_promise(db, as_admin):
    department = Department(name="Transportation")
    db.add(department)
    db.commit()
    guardian = factories.guardians_of(db, factories.make_household(db))[0]
    calendar = district_calendar.load_calendar(db, ZONE)
    request, _new = requests.submit_request(
        db, guardian, requests.NewRequest(department.id, "Bus stop", "Which stop?"), calendar=calendar, now=utcnow()
    )
    db.commit()
    due_day = request.due_at.astimezone(ZoneInfo(ZONE)).date()
    closure_file = ics(vevent("closed@district", "Facilities closure", due_day, due_day + timedelta(days=1)))

    response = save(as_admin, uploaded(as_admin, closure_file), events=["closed@district"])

    assert "The promised reply time of 1 open request moved." in text(response)
    db.expire_all()
    moved = db.get(Request, request.id)
    assert moved.due_at.astimezone(ZoneInfo(ZONE)).date() > due_day
    assert moved.due_moved["kind"] == "closure_added"
    assert moved.due_moved["name"] == "Facilities closure"


def ask(db, transport, subject: str = "Bus stop") -> Request:  # type: ignore[no-untyped-def]
    guardian = factories.guardians_of(db, factories.make_household(db))[0]
    request, _new = requests.submit_request(
        db, guardian, requests.NewRequest(transport.id, subject, "Which stop?"), now=utcnow()
    )
    db.commit()
    return request


def test_each_family_is_told_of_the_closure_that_moved_its_own_promise(db, as_admin, transport):
    request = ask(db, transport)
    due_day = request.due_at.astimezone(ZoneInfo(ZONE)).date()
    # Two closures far before this promise's day in the file: neither moves it; then the one that does.
    closure_file = ics(
        vevent("far@district", "Spring break", day(3, 29), day(4, 3)),
        vevent("near@district", "Facilities closure", due_day, due_day + timedelta(days=1)),
        vevent("later@district", "Memorial Day", day(5, 31)),
    )
    save(as_admin, uploaded(as_admin, closure_file), events=["far@district", "near@district", "later@district"])

    db.expire_all()
    moved = db.get(Request, request.id)
    assert moved.due_moved["kind"] == "closure_added"
    assert moved.due_moved["name"] == "Facilities closure"


def test_a_closure_gone_from_the_new_file_is_offered_for_removal_and_removed_when_saved(db, as_admin, transport):
    request = ask(db, transport)
    due_day = request.due_at.astimezone(ZoneInfo(ZONE)).date()
    facilities = vevent("closed@district", "Facilities closure", due_day, due_day + timedelta(days=1))
    spring = vevent("spring@district", "Spring break", day(3, 29), day(4, 3))
    save(as_admin, uploaded(as_admin, ics(facilities, spring)), events=["closed@district", "spring@district"])
    db.expire_all()
    moved_to = db.get(Request, request.id).due_at

    # The district's next file: the facilities closure is gone, spring break cancelled.
    cancelled = spring.replace("END:VEVENT", "STATUS:CANCELLED\r\nEND:VEVENT")
    preview = uploaded(as_admin, ics(cancelled, vevent("pd@district", "PD day", day(2, 12))))
    page = html.unescape(text(as_admin.get(preview)))
    assert "2 closures from earlier files are not in this one, or are cancelled in it" in page
    shown = html.unescape(text(choose(as_admin, preview)))
    removals = re.findall(r'name="removals" value="(\d+)" checked', shown)
    assert len(removals) == 2  # ticked until the administrator unticks one
    assert "Open the offices again on these days" in shown

    response = save(as_admin, preview, removals=removals)

    assert "Closures from the file: 0 new, 0 updated, 0 unchanged, 2 removed." in html.unescape(text(response))
    assert closures(db) == {}
    db.expire_all()
    freed = db.get(Request, request.id)
    assert freed.due_at < moved_to
    assert freed.due_moved["kind"] == "closure_removed"
    assert freed.due_moved["name"] == "Facilities closure"
    assert count(db, AuditEvent, AuditEvent.action == "calendar.closure_removed") == 2


def test_an_unticked_closure_gone_from_the_file_is_kept(db, as_admin):
    save(as_admin, uploaded(as_admin, DISTRICT_FILE), categories=["Holiday", "No school"])
    preview = uploaded(as_admin, ics(vevent("new@district", "Snow day", day(1, 5))))
    response = save(as_admin, preview, events=["new@district"])  # nothing ticked for removal
    assert "Closures from the file: 1 new, 0 updated, 0 unchanged, 0 removed." in html.unescape(text(response))
    assert set(closures(db)) == {"mlk@district", "pd@district", "spring@district", "new@district"}


def test_a_removal_that_is_not_offered_is_refused(db, as_admin):
    manual = Closure(first_day=day(1, 5), last_day=day(1, 5), name="By hand")
    db.add(manual)
    db.commit()
    preview = uploaded(as_admin, DISTRICT_FILE)
    response = save(as_admin, preview, events=["mlk@district"], removals=[str(manual.id)])
    assert response.status_code == 200
    assert f"'{manual.id}' is not a valid choice for this field." in html.unescape(text(response))
    assert db.get(Closure, manual.id) is not None


def test_the_preview_lists_the_events_it_skipped_with_their_lines(as_admin):
    broken = "BEGIN:VEVENT\r\nUID:x@district\r\nSUMMARY:Broken\r\nDTSTART;VALUE=DATE:2027-01-05\r\nEND:VEVENT\r\n"
    preview = uploaded(as_admin, ics(vevent("mlk@district", "Martin Luther King Jr. Day", day(1, 18)), broken))
    page = html.unescape(text(as_admin.get(preview)))
    assert "1 event is skipped: show why" in page
    assert "Line 10: an event whose dates cannot be read is skipped." in page
    assert "Martin Luther King Jr. Day" in page
