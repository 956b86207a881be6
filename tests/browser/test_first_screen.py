"""A phone's first screen (360x740): a header that leaves the screen to the page, a menu that
works without JavaScript, the language switch in the header, and a family home that shows
the open requests with when the next answer is due, the overdue first, and the two actions.
axe audits every page reached (and the header with its menu open)."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from portal.db import utcnow
from portal.models import Department, DepartmentMember, Request, RequestStatus
from portal.services import requests
from portal.services.calendar import district_calendar
from portal.services.requests import promises
from tests import factories

pytestmark = pytest.mark.browser

SCREEN_HEIGHT = 740
# The most of a phone's first screen the header may take: 15 % of 740 px is 111 px.
HEADER_SHARE = 0.15
HEADER_HEIGHT = "document.querySelector('header').getBoundingClientRect().height"
PROMISE = re.compile(r"We will reply by (Monday|Tuesday|Wednesday|Thursday|Friday), [A-Z][a-z]+ \d{1,2} at ")


def transportation(db, district) -> Department:  # type: ignore[no-untyped-def]
    department = Department(name="Transportation", description="Bus routes, stops and times.", is_public=True)
    db.add(department)
    db.flush()
    db.add(DepartmentMember(department_id=department.id, user_id=district.staff.id, is_supervisor=True))
    db.commit()
    return department


def ask(db, guardian, department, subject: str) -> Request:  # type: ignore[no-untyped-def]
    calendar = district_calendar.load_calendar(db, "America/Los_Angeles")
    created, _is_new = requests.submit_request(
        db, guardian, requests.NewRequest(department.id, subject, "Please tell us."), calendar=calendar, now=utcnow()
    )
    db.commit()
    return created


def make_overdue(db, request: Request) -> None:  # type: ignore[no-untyped-def]
    request.first_reply_due_at = utcnow() - timedelta(hours=3)
    promises.refresh_due_at(request)
    db.commit()


def header_height(visitor) -> float:  # type: ignore[no-untyped-def]
    return float(visitor.page.evaluate(HEADER_HEIGHT))


def assert_short_header(visitor, heights: dict[str, float]) -> None:  # type: ignore[no-untyped-def]
    height = header_height(visitor)
    heights[f"{visitor.path} ({visitor.page.locator('html').get_attribute('lang')}, {len(heights)})"] = height
    assert height <= HEADER_SHARE * SCREEN_HEIGHT, (
        f"the header of {visitor.path} is {height:.0f}px tall: over {HEADER_SHARE:.0%} of a {SCREEN_HEIGHT}px screen"
    )


def test_no_header_takes_more_than_its_share_of_a_phones_first_screen(open_visitor, district, db):  # type: ignore[no-untyped-def]
    transportation(db, district)
    heights: dict[str, float] = {}
    family = open_visitor("phone")
    family.sign_in_quietly(district.guardian.email)
    for path in ("/family/", "/requests/", "/account/contact"):
        family.open(path)
        assert_short_header(family, heights)
    # In Spanish too: its words are longer, and the header must not wrap to a third row.
    family.press("Español")
    for path in ("/family/", "/requests/", "/account/contact"):
        family.open(path)
        assert_short_header(family, heights)

    for who in (district.staff, district.admin):
        staff = open_visitor("phone")
        staff.sign_in_quietly(who.email)
        staff.open("/staff/requests/")
        assert_short_header(staff, heights)

    nobody = open_visitor("phone")
    nobody.open("/sign-in")
    assert_short_header(nobody, heights)
    print("header heights at 360x740:", {path: round(height) for path, height in heights.items()})


def test_the_menu_and_the_language_switch_work_without_javascript(open_visitor, audit, district):  # type: ignore[no-untyped-def]
    visitor = open_visitor("phone", java_script_enabled=False)
    page = visitor.page
    visitor.sign_in_quietly(district.guardian.email)
    visitor.open("/family/")
    header = page.get_by_role("banner")
    nav = header.get_by_role("navigation", name="Main menu")

    # On a phone: the two primary destinations, the language, and the menu, closed.
    expect(nav.get_by_role("link", name="My requests", exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="Ask a question", exact=True)).to_be_visible()
    expect(header.get_by_role("button", name="Español", exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="How we reach you", exact=True)).to_have_count(0)

    # The menu opens without a script, is audited open, and its links lead where they say.
    nav.get_by_text("Menu", exact=True).click()
    audit.check(page)
    for name in ("My household", "How we reach you", "Tell us what you think", "Security"):
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(nav.get_by_role("button", name="Sign out", exact=True)).to_be_visible()
    visitor.click(nav.get_by_role("link", name="How we reach you", exact=True))
    assert visitor.path == "/account/contact"
    nav.get_by_text("Menu", exact=True).click()  # a new page: the menu is closed again
    expect(nav.get_by_role("link", name="How we reach you", exact=True)).to_have_attribute("aria-current", "page")

    visitor.click(nav.get_by_role("link", name="Ask a question", exact=True))
    assert visitor.path == "/requests/new"
    expect(nav.get_by_role("link", name="Ask a question", exact=True)).to_have_attribute("aria-current", "page")

    # The language switch in the header: a form, back to the same page, in the other language.
    visitor.click(header.get_by_role("button", name="Español", exact=True))
    assert visitor.path == "/requests/new"
    expect(page.locator("html")).to_have_attribute("lang", "es")
    visitor.click(header.get_by_role("button", name="English", exact=True))
    expect(page.locator("html")).to_have_attribute("lang", "en")

    nav.get_by_text("Menu", exact=True).click()
    visitor.click(nav.get_by_role("button", name="Sign out", exact=True))
    assert visitor.path == "/sign-in"


def test_the_home_page_shows_open_requests_by_due_time_the_overdue_first_and_the_two_actions(  # type: ignore[no-untyped-def]
    phone, district, db
):
    transportation_department = transportation(db, district)
    on_time = ask(db, district.guardian, transportation_department, "Which stop is ours?")
    late = ask(db, district.guardian, transportation_department, "Where is the lunch form?")
    make_overdue(db, late)
    closed = ask(db, district.guardian, transportation_department, "Already settled")
    closed.status = RequestStatus.CLOSED
    promises.refresh_due_at(closed)
    db.commit()
    stranger = factories.guardians_of(db, district.other_household)[0]
    theirs = ask(db, stranger, transportation_department, "Not ours to see")

    phone.sign_in_quietly(district.guardian.email)
    phone.open("/family/")
    page = phone.page
    main = page.get_by_role("main")

    # The two actions, on the first screen.
    for name in ("Ask a question", "Update how we reach you"):
        action = main.get_by_role("link", name=name, exact=True)
        expect(action).to_be_visible()
        box = action.bounding_box()
        assert box is not None and box["y"] + box["height"] <= SCREEN_HEIGHT, f"{name!r} is below the first screen"

    section = main.get_by_role("region", name="Your open requests")
    cards = section.get_by_role("listitem")
    expect(cards).to_have_count(2)
    expect(cards.nth(0)).to_contain_text(late.subject)
    expect(cards.nth(0)).to_contain_text("We are late: our answer was due")
    expect(cards.nth(1)).to_contain_text(on_time.subject)
    expect(cards.nth(1)).to_contain_text(PROMISE)
    first = cards.nth(0).bounding_box()
    assert first is not None and first["y"] < SCREEN_HEIGHT, "the first open request is below the first screen"
    expect(main).not_to_contain_text(closed.subject)
    expect(main).not_to_contain_text(theirs.subject)

    phone.click(cards.nth(0).get_by_role("link", name=late.subject, exact=True))
    assert phone.path == f"/requests/{late.id}"
