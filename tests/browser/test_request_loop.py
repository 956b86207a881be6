"""The request loop in a real browser: a guardian asks on a phone, staff answer at a
desktop, the guardian reads the answer and rates it; axe audits every page."""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from portal.db import utcnow
from portal.models import Department, DepartmentMember, Notification, Request, RequestStatus, SatisfactionRating
from portal.services import requests
from portal.services.calendar import district_calendar

pytestmark = pytest.mark.browser

PHONE_WIDTH = 360
# "We will reply by Tuesday, November 24 at 10:30 AM": a business day, in full, and the time.
WEEKDAY = "(Monday|Tuesday|Wednesday|Thursday|Friday)"
PROMISE = re.compile(rf"We will reply by {WEEKDAY}, [A-Z][a-z]+ \d{{1,2}} at \d{{1,2}}:\d{{2}}")
REFERENCE = re.compile(r"R-\d{6}")


def transportation(db, district) -> Department:  # type: ignore[no-untyped-def]
    """A public department with the district's staff member as its supervisor."""
    department = Department(name="Transportation", description="Bus routes, stops and times.", is_public=True)
    db.add(department)
    db.flush()
    db.add(DepartmentMember(department_id=department.id, user_id=district.staff.id, is_supervisor=True))
    db.commit()
    return department


def assert_no_sideways_scroll(visitor) -> None:  # type: ignore[no-untyped-def]
    width = visitor.page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"{visitor.path} scrolls sideways on a phone: {width}px"


def count_requests(db) -> int:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.scalar(select(func.count(Request.id)))


def test_a_guardian_asks_staff_answer_and_the_guardian_rates_the_answer(phone, desktop, district, db):  # type: ignore[no-untyped-def]
    transportation(db, district)
    subject = "When does the bus come?"

    # The guardian asks, on a phone.
    page = phone.page
    phone.sign_in(district.guardian.email)
    phone.follow("My requests")
    phone.follow("Ask a question")
    transportation_choice = page.get_by_role("radio", name="Transportation", exact=True)
    expect(transportation_choice).to_have_accessible_description(re.compile(r"First reply within 8 business hours"))
    assert_no_sideways_scroll(phone)
    transportation_choice.check()
    student_choice = page.get_by_label("About which student? (optional)", exact=True)
    if student_choice.count():
        student_choice.select_option(label=district.students[0].full_name)
    phone.fill("Subject", subject)
    phone.fill("Your question", "Our stop moved. When does the afternoon bus come now?")
    phone.press("Send")
    main = page.get_by_role("main")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your question was sent")
    expect(main).to_contain_text(REFERENCE)
    expect(main).to_contain_text(PROMISE)
    reference = REFERENCE.search(main.inner_text()).group(0)  # type: ignore[union-attr]
    phone.follow("See your request")
    request_path = phone.path
    expect(page.get_by_role("heading", level=1)).to_have_text(subject)
    expect(main).to_contain_text(reference)
    assert_no_sideways_scroll(phone)

    # Staff find it in the queue, at a desktop, and answer.
    staff = desktop.page
    desktop.sign_in(district.staff.email)
    desktop.follow("Requests")
    row = staff.get_by_role("row").filter(has_text=reference)
    expect(row).to_contain_text("Reply due in")
    desktop.click(row.get_by_role("link", name=f"{reference}: {subject}", exact=True))
    about_family = staff.get_by_role("complementary", name="About this family")
    expect(about_family).to_contain_text(district.guardian.display_name)
    expect(about_family).to_contain_text("Other open requests")

    desktop.fill("Message", "Internal: check route 12")
    desktop.press("Save as internal note (staff only)")
    expect(staff.get_by_role("status").first).to_contain_text("Internal note saved. The family does not see it.")
    desktop.fill("Message", "The bus comes at 3:10.")
    staff.get_by_label("Then", exact=True).select_option(label="Mark as resolved (asks the family how we did)")
    desktop.press("Send to the family")
    expect(staff.get_by_role("status").first).to_contain_text("Reply sent to the family.")

    # The guardian reads the answer, never the note, and rates it.
    page.reload()
    phone.audit.check(page)
    assert phone.path == request_path
    expect(main).to_contain_text("The bus comes at 3:10.")
    expect(page.locator("body")).not_to_contain_text("check route 12")
    assert "check route 12" not in page.content()
    rating = page.get_by_role("region", name="How did we do?")
    expect(rating).to_be_visible()
    phone.audit.check(page)  # with the rating form showing
    assert_no_sideways_scroll(phone)
    rating.get_by_label("5 – Very well", exact=True).check()
    phone.press("Send my rating")
    expect(page.get_by_role("status").first).to_contain_text("Thank you for telling us how we did.")
    expect(main).to_contain_text("You rated our answer 5 out of 5.")


def test_the_new_request_form_keeps_what_was_typed_and_a_double_tap_sends_one_request(phone, district, db):  # type: ignore[no-untyped-def]
    transportation(db, district)
    question = "Our stop moved. When does the afternoon bus come now?"
    page = phone.page
    phone.sign_in(district.guardian.email)
    phone.open("/requests/new")
    page.get_by_role("radio", name="Transportation", exact=True).check()
    student = district.students[1]
    page.get_by_label("About which student? (optional)", exact=True).select_option(label=student.full_name)
    phone.fill("Your question", question)
    phone.press("Send")  # no subject: axe audits the error state

    subject_box = page.get_by_label("Subject", exact=True)
    expect(page.get_by_role("alert")).to_contain_text("Write a short subject")
    expect(subject_box).to_have_accessible_description(re.compile("Write a short subject"))
    expect(subject_box).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Your question", exact=True)).to_have_value(question)
    expect(page.get_by_role("radio", name="Transportation", exact=True)).to_be_checked()
    expect(page.get_by_label("About which student? (optional)", exact=True)).to_have_value(str(student.id))
    assert count_requests(db) == 0

    subject_box.fill("Bus stop change")
    form = {
        name: page.locator(f"form.form input[name='{name}']").input_value() for name in ("csrf_token", "submission_key")
    }
    with page.expect_navigation():
        page.get_by_role("button", name="Send", exact=True).dblclick()
    phone.audit.check(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your question was sent")
    sent_path = phone.path

    # The same form sent again (a retried POST that got past the script) finds the first request.
    department_id = db.scalar(select(Department.id).where(Department.name == "Transportation"))
    again = page.context.request.post(
        "/requests/new",
        form={
            **form,
            "department_id": str(department_id),
            "student_id": str(student.id),
            "subject": "Bus stop change",
            "body": question,
        },
        max_redirects=0,
    )
    assert again.status == 302, f"the form sent again answered {again.status}"
    assert again.headers["location"].endswith(sent_path)
    assert count_requests(db) == 1


def test_the_emailed_rating_link_works_signed_out_on_a_phone(open_visitor, live_server, district, db):  # type: ignore[no-untyped-def]
    department = transportation(db, district)
    calendar = district_calendar.load_calendar(db, "America/Los_Angeles")
    asked, _is_new = requests.submit_request(
        db,
        district.guardian,
        requests.NewRequest(department_id=department.id, subject="Bus stop change", body="When does the bus come?"),
        calendar=calendar,
        now=utcnow(),
    )
    requests.reply_as_staff(
        db, district.staff, asked, "The bus comes at 3:10.", internal=False, calendar=calendar, now=utcnow()
    )
    requests.change_status(
        db,
        district.staff,
        asked,
        RequestStatus.RESOLVED,
        calendar=calendar,
        now=utcnow(),
        secret_key=live_server.app.config["SECRET_KEY"],
    )
    db.commit()
    token = db.scalar(select(Notification).where(Notification.template == "request_resolved")).payload["token"]

    visitor = open_visitor("phone")  # a fresh context: nobody is signed in
    page = visitor.page
    visitor.open(f"/requests/rate/{token}")
    expect(page.get_by_role("navigation", name="Main menu")).to_have_count(0)
    expect(page.get_by_role("main")).to_contain_text(asked.reference)
    assert_no_sideways_scroll(visitor)
    page.get_by_label("4 – Well", exact=True).check()
    visitor.fill("Anything you want to add? (optional)", "Clear answer, thank you.")
    visitor.press("Send my rating")
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you")

    db.expire_all()
    saved = db.scalar(select(SatisfactionRating).where(SatisfactionRating.request_id == asked.id))
    assert saved is not None
    assert (saved.rating, saved.comment, saved.rated_by_id) == (4, "Clear answer, thank you.", None)
