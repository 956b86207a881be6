"""The metrics page in a real browser on a 360 px phone (issue #18): a department lead reads
the figures, the charts are images with names, nothing scrolls sideways, tap targets are
big enough, a bad range is explained next to its field; axe audits every page."""

import re

import pytest
from playwright.sync_api import expect

from portal.db import utcnow
from portal.models import Department, DepartmentMember, RequestStatus
from portal.services import requests
from portal.services.requests.intake import NewRequest
from tests.browser.test_accessibility import PHONE_WIDTH, _layout_problems

pytestmark = pytest.mark.browser


def _transport_led_by(db, app, district) -> Department:  # type: ignore[no-untyped-def]
    """Transportation, led by the district's staff member, with one request answered,
    resolved and rated and one waiting."""
    department = Department(name="Transportation", description="Buses.", is_public=True)
    db.add(department)
    db.flush()
    db.add(DepartmentMember(department_id=department.id, user_id=district.staff.id, is_supervisor=True))
    now = utcnow()
    answered, _created = requests.submit_request(
        db, district.guardian, NewRequest(department.id, "Bus stop", "Which stop?"), now=now
    )
    requests.reply_as_staff(db, district.staff, answered, "Elm Street.", internal=False, now=now)
    requests.change_status(
        db, district.staff, answered, RequestStatus.RESOLVED, now=now, secret_key=app.config["SECRET_KEY"]
    )
    requests.rate(db, answered, 4, "Quick, thank you.", resolution_number=1, rated_by=district.guardian, now=now)
    requests.submit_request(db, district.guardian, NewRequest(department.id, "Late bus", "Again late."), now=now)
    db.commit()
    return department


def test_a_lead_reads_the_metrics_on_a_phone(phone, district, db, app):  # type: ignore[no-untyped-def]
    _transport_led_by(db, app, district)
    page = phone.page
    phone.sign_in_quietly(district.staff.email)
    phone.open("/staff/metrics/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Metrics: All my departments")
    expect(page.get_by_role("table", name="Requests", exact=True)).to_contain_text("Received")
    expect(page.get_by_role("img", name="Open requests now, by age")).to_be_visible()
    expect(page.get_by_role("img", name="Requests received, by week")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("Quick, thank you.")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
    assert _layout_problems(page) == []

    page.get_by_label("Period", exact=True).select_option("custom")
    page.get_by_label("From", exact=True).fill("2026-03-08")
    page.get_by_label("Until", exact=True).fill("2026-03-01")
    phone.press("Show")
    expect(page.get_by_text("The last day cannot be before the first day.").first).to_be_visible()
    expect(page.get_by_label("From", exact=True)).to_have_value("2026-03-08")
    assert _layout_problems(page) == []

    page.get_by_label("Until", exact=True).fill("2026-03-14")
    phone.press("Show")
    expect(page.get_by_role("main")).to_contain_text(re.compile(r"This period: Mar 8, 2026 to Mar 14, 2026"))
    download = page.get_by_role("link", name=re.compile(r"^Download as CSV\W+Requests$"))
    assert "period=custom" in (download.get_attribute("href") or "")


def test_an_administrator_reads_one_school_on_a_phone(phone, district, db, app):  # type: ignore[no-untyped-def]
    _transport_led_by(db, app, district)
    page = phone.page
    phone.sign_in_quietly(district.admin.email)
    phone.open(f"/staff/metrics/?school={district.school.id}&period=year")
    expect(page.get_by_role("heading", level=1)).to_have_text("Metrics: All departments, Roosevelt Elementary")
    expect(page.get_by_role("table", name="Workload and first replies by staff member")).to_contain_text("Sam Staff")
    assert _layout_problems(page) == []
