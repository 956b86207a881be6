"""The district calendar page, at a desktop and on a phone, with axe on every page."""

import pytest
from playwright.sync_api import expect

from portal.models import Department

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_an_admin_adds_a_closure_and_fixes_a_mistake(screen, request, district):  # type: ignore[no-untyped-def]
    visitor = request.getfixturevalue(screen)
    page = visitor.page
    visitor.sign_in(district.admin.email)
    visitor.follow("District calendar: business hours and closures")
    visitor.fill("First day closed", "2026-12-21")
    visitor.fill("Last day closed", "2026-12-18")
    visitor.fill("Name", "Winter break")
    visitor.press("Add closure")
    expect(page.get_by_role("alert")).to_contain_text("The last day cannot be before the first day.")
    visitor.fill("Last day closed", "2027-01-01")
    visitor.press("Add closure")
    expect(page.get_by_role("status")).to_contain_text("Closure added.")
    expect(page.get_by_role("region", name="Closures", exact=True)).to_contain_text("Winter break")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the page scrolls sideways: {width}px"


def test_an_admin_sets_a_departments_targets(desktop, district, db):  # type: ignore[no-untyped-def]
    db.add(Department(name="Transportation", description="Bus routes and stops."))
    db.commit()
    page = desktop.page
    desktop.sign_in(district.admin.email)
    desktop.follow("Departments and reply-time targets")
    desktop.follow("Transportation")
    desktop.fill("Urgent priority, First reply (business hours)", "zero")
    desktop.press("Save department")
    expect(page.get_by_role("alert")).to_contain_text("Enter a number of hours, like 8 or 0.5.")
    desktop.fill("Urgent priority, First reply (business hours)", "0.5")
    desktop.press("Save department")
    expect(page.get_by_role("status")).to_contain_text("Transportation is saved.")
