"""Call-backs and safety alerts in a real browser: a guardian on a phone asks to be called
back and sees the promise and the attempts; staff at a desktop log the call; a message
that matches a safety term reaches the safety team's page. axe audits every page."""

import re

import pytest
from playwright.sync_api import expect

from portal.db import utcnow
from portal.models import Department, DepartmentMember
from portal.services import requests
from portal.services.requests.intake import NewRequest
from portal.services.safety import alerts

pytestmark = pytest.mark.browser

PHONE_WIDTH = 360


def enrollment(db, district) -> Department:  # type: ignore[no-untyped-def]
    department = Department(name="Enrollment", description="Registering and changing schools.", is_public=True)
    db.add(department)
    db.flush()
    db.add(DepartmentMember(department_id=department.id, user_id=district.staff.id, is_supervisor=True))
    db.commit()
    return department


def test_a_guardian_asks_for_a_call_on_a_phone_and_staff_log_it(phone, desktop, district, db):  # type: ignore[no-untyped-def]
    department = enrollment(db, district)
    request, _created = requests.submit_request(
        db, district.guardian, NewRequest(department.id, "New school", "Which papers do I bring?"), now=utcnow()
    )
    db.commit()

    page = phone.page
    phone.sign_in(district.guardian.email)
    phone.open(f"/requests/{request.id}")
    form = page.get_by_role("region", name="Rather talk? We call you back")
    expect(form).to_be_visible()
    phone.audit.check(page)
    phone.fill("Number to call", "213-555-0143")
    phone.fill("Language of the call", "Español")
    page.get_by_label("Saturday", exact=True).uncheck()
    phone.fill("From", "08:00")
    phone.fill("Until", "16:00")
    phone.fill("Anything we should know? (optional)", "Ask for grandma")
    phone.press("Call me back")
    expect(page.get_by_role("status").first).to_contain_text("We will call you.")
    expect(page.get_by_role("main")).to_contain_text(re.compile(r"We will call you at .*555-0143 by"))
    phone.audit.check(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH

    staff = desktop.page
    desktop.sign_in(district.staff.email)
    desktop.open("/staff/requests/?callbacks=y")
    expect(staff.get_by_role("row").filter(has_text="New school")).to_contain_text("Call back")
    desktop.open(f"/staff/requests/{request.id}")
    expect(staff.get_by_role("link", name=re.compile("555-0143"))).to_have_attribute("href", "tel:+12135550143")
    desktop.audit.check(staff)
    staff.get_by_label("What happened?", exact=True).select_option(label="no answer")
    desktop.press("Log the call")
    expect(staff.get_by_role("status").first).to_contain_text("Call logged.")

    page.reload()
    expect(page.get_by_role("main")).to_contain_text("We tried to call at")
    phone.audit.check(page)


def test_a_safety_alert_reaches_the_team_page(desktop, district, db):  # type: ignore[no-untyped-def]
    department = enrollment(db, district)
    alerts.add_to_team(db, district.admin, district.staff.id, now=utcnow())
    requests.submit_request(
        db, district.guardian, NewRequest(department.id, "Worried", "My son says he wants to die."), now=utcnow()
    )
    db.commit()

    page = desktop.page
    desktop.sign_in(district.staff.email)
    desktop.open("/staff/requests/")
    pinned = page.get_by_role("region", name="Safety alerts: read these first")
    expect(pinned).to_contain_text("Worried")
    desktop.audit.check(page)
    desktop.click(pinned.get_by_role("link", name="The safety team's alerts"))
    desktop.click(page.get_by_role("link", name=re.compile("Alert \\d+: suicide")))
    expect(page.get_by_role("main")).to_contain_text("My son says he wants to die.")
    desktop.audit.check(page)
    desktop.press("I have it: acknowledge")
    expect(page.get_by_role("status").first).to_contain_text("Acknowledged.")
