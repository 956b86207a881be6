"""The feedback loop in a real browser: a guardian sends a concern on a phone, staff
triage and answer it at a desktop, the guardian reads the answer; a community member
uses the public form signed out; axe audits every page."""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from portal.models import Department, DepartmentMember, Feedback, FeedbackComment, FeedbackSource, FeedbackStatus

pytestmark = pytest.mark.browser

PHONE_WIDTH = 360
REFERENCE = re.compile(r"F-\d{6}")
CONCERN = "A concern: something that went wrong"
SUGGESTION = "A suggestion: an idea to do better"
ANONYMOUS_EXPLANATION = re.compile("Sent anonymously, we keep nothing that says who you are")


def transportation(db, district) -> Department:  # type: ignore[no-untyped-def]
    """A public department with the district's staff member in it."""
    department = Department(name="Transportation", description="Bus routes, stops and times.", is_public=True)
    db.add(department)
    db.flush()
    db.add(DepartmentMember(department_id=department.id, user_id=district.staff.id, is_supervisor=False))
    db.commit()
    return department


def assert_no_sideways_scroll(visitor) -> None:  # type: ignore[no-untyped-def]
    width = visitor.page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"{visitor.path} scrolls sideways on a phone: {width}px"


def saved_feedback(db) -> list[Feedback]:  # type: ignore[no-untyped-def]
    db.expire_all()
    return list(db.scalars(select(Feedback).order_by(Feedback.id)))


def reference_on(page) -> str:  # type: ignore[no-untyped-def]
    found = REFERENCE.search(page.get_by_role("main").inner_text())
    assert found, f"{page.url} shows no feedback reference"
    return found.group(0)


def test_a_guardian_sends_a_concern_staff_triage_and_answer_it_and_the_guardian_reads_the_answer(  # type: ignore[no-untyped-def]
    phone, desktop, district, db
):
    transportation(db, district)
    concern = "The afternoon bus skipped our stop twice this week and nobody told us."
    comment = "Internal: driver was a substitute on route 12"
    answer = "We are sorry. Route 12 had a substitute driver; the stop is back on the route from Monday."

    # The guardian sends a concern, on a phone, from the household page.
    page = phone.page
    main = page.get_by_role("main")
    phone.sign_in(district.guardian.email)
    phone.follow("My household")
    phone.follow("Tell us what you think: a compliment, a suggestion, a concern")
    expect(page.get_by_role("heading", level=1)).to_have_text("Tell us what you think")
    assert_no_sideways_scroll(phone)
    page.get_by_role("radio", name=CONCERN, exact=True).check()
    page.get_by_label("What is it about?", exact=True).select_option(label="Transportation")
    school_choice = page.get_by_label("Which school? (optional)", exact=True)
    if school_choice.count():
        school_choice.select_option(label=district.school.name)
    page.get_by_role("radio", name="2 – poor", exact=True).check()
    phone.fill("Your feedback", concern)
    page.get_by_role("checkbox", name="You may contact me about this", exact=True).check()
    phone.press("Send feedback")

    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for your feedback")
    expect(main).to_contain_text(REFERENCE)
    expect(main).to_contain_text("We may contact you about it.")
    reference = reference_on(page)
    link_name = f"Concern {reference}"

    phone.follow("My feedback")
    list_path = phone.path
    card = page.get_by_role("listitem").filter(has=page.get_by_role("link", name=link_name, exact=True))
    expect(card).to_contain_text("Received")
    expect(card).to_contain_text("Transportation")

    [sent] = saved_feedback(db)
    assert (sent.reference, sent.author_id, sent.household_id) == (
        reference,
        district.guardian.id,
        district.household.id,
    )
    assert (sent.rating, sent.may_contact, sent.is_anonymous, sent.body) == (2, True, False, concern)

    # Staff find it in the queue, at a desktop, and triage it.
    staff = desktop.page
    desktop.sign_in(district.staff.email)
    desktop.click(staff.get_by_role("navigation", name="Main menu").get_by_role("link", name="Feedback", exact=True))
    expect(staff.get_by_role("heading", level=1)).to_have_text("Feedback")
    row = staff.get_by_role("row").filter(has_text=reference)
    expect(row).to_contain_text("Transportation")
    expect(row).to_contain_text("Received")
    desktop.click(row.get_by_role("link", name=link_name, exact=True))
    expect(staff.get_by_role("heading", level=1)).to_have_text(link_name)
    expect(staff.get_by_role("main")).to_contain_text(district.guardian.display_name)

    desktop.fill("Internal comment (staff only)", comment)
    desktop.press("Add the comment")
    expect(staff.get_by_role("status").first).to_contain_text("Comment saved. The sender does not see it.")
    expect(staff.get_by_role("region", name="Internal comments")).to_contain_text(comment)

    desktop.fill("Tags, separated by commas", "bus, late")
    desktop.press("Save the tags")
    expect(staff.get_by_role("status").first).to_contain_text("Tags saved.")
    expect(staff.get_by_label("Tags, separated by commas", exact=True)).to_have_value("bus, late")

    staff.get_by_label("Status", exact=True).select_option(label="Being reviewed")
    staff.get_by_label("Assigned to", exact=True).select_option(label=district.staff.display_name)
    desktop.press("Save")
    expect(staff.get_by_role("status").first).to_contain_text("Feedback updated.")
    expect(staff.get_by_label("Status", exact=True)).to_have_value(FeedbackStatus.IN_REVIEW.value)
    expect(staff.get_by_label("Assigned to", exact=True)).to_have_value(str(district.staff.id))

    # The answer's section is named like its text box: ask for the box.
    staff.get_by_role("textbox", name="Answer to the sender", exact=True).fill(answer)
    desktop.press("Save the answer")
    expect(staff.get_by_role("status").first).to_contain_text("Answer saved and emailed to the sender.")
    expect(staff.get_by_label("Status", exact=True)).to_have_value(FeedbackStatus.RESPONDED.value)

    db.expire_all()
    saved = db.scalars(select(Feedback).options(selectinload(Feedback.tags)).where(Feedback.id == sent.id)).one()
    assert (saved.status, saved.assignee_id, saved.response) == (FeedbackStatus.RESPONDED, district.staff.id, answer)
    assert [tag.name for tag in saved.tags] == ["bus", "late"]
    assert db.scalar(select(func.count(FeedbackComment.id))) == 1

    # The guardian reads the answer, on the phone, and never the internal comment.
    page.reload()
    phone.audit.check(page)
    assert phone.path == list_path
    expect(card).to_contain_text("Answered")
    expect(card).to_contain_text("The district answered")
    phone.click(card.get_by_role("link", name=link_name, exact=True))
    expect(page.get_by_role("heading", level=1)).to_have_text(link_name)
    expect(page.get_by_role("region", name="The district's answer")).to_contain_text(answer)
    expect(page.get_by_role("region", name="What you wrote")).to_contain_text(concern)
    expect(page.locator("body")).not_to_contain_text("substitute on route 12")
    assert "substitute on route 12" not in page.content()
    assert_no_sideways_scroll(phone)


def test_the_public_form_signed_out_keeps_what_was_typed_on_an_error_and_thanks_the_sender(  # type: ignore[no-untyped-def]
    phone, district, db
):
    transportation(db, district)
    suggestion = "A covered bench at the bus stop on Elm Street would help on rainy mornings."
    email = "neighbour@example.org"
    page = phone.page
    main = page.get_by_role("main")

    phone.open("/sign-in")
    phone.click(page.get_by_role("contentinfo").get_by_role("link", name="Send the district feedback", exact=True))
    assert phone.path == "/feedback/public"
    expect(page.get_by_role("heading", level=1)).to_have_text("Tell the district what you think")
    assert_no_sideways_scroll(phone)

    page.get_by_role("radio", name=SUGGESTION, exact=True).check()
    page.get_by_label("What is it about?", exact=True).select_option(label="Transportation")
    page.get_by_label("Which school? (optional)", exact=True).select_option(label=district.school.name)
    page.get_by_role("radio", name="4 – good", exact=True).check()
    phone.fill("Your email, if you would like an answer (optional)", email)
    phone.press("Send feedback")  # no text: axe audits the error state

    text_box = page.get_by_label("Your feedback", exact=True)
    expect(page.get_by_role("alert")).to_contain_text("Write your feedback.")
    expect(text_box).to_have_accessible_description(re.compile("Write your feedback."))
    expect(text_box).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("radio", name=SUGGESTION, exact=True)).to_be_checked()
    expect(page.get_by_role("radio", name="4 – good", exact=True)).to_be_checked()
    expect(page.get_by_label("What is it about?", exact=True)).to_have_value(
        str(db.scalar(select(Department.id).where(Department.name == "Transportation")))
    )
    expect(page.get_by_label("Which school? (optional)", exact=True)).to_have_value(str(district.school.id))
    expect(page.get_by_label("Your email, if you would like an answer (optional)", exact=True)).to_have_value(email)
    assert_no_sideways_scroll(phone)
    assert saved_feedback(db) == []

    text_box.fill(suggestion)
    phone.press("Send feedback")
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for your feedback")
    expect(main).to_contain_text(REFERENCE)
    expect(main).to_contain_text("We may contact you about it.")
    reference = reference_on(page)

    [sent] = saved_feedback(db)
    assert sent.reference == reference
    assert (sent.source, sent.contact_email, sent.may_contact) == (FeedbackSource.PUBLIC, email, True)
    assert (sent.author_id, sent.household_id, sent.is_anonymous, sent.rating) == (None, None, False, 4)


def test_anonymous_feedback_is_explained_before_sending_and_stays_out_of_my_feedback(phone, district, db):  # type: ignore[no-untyped-def]
    transportation(db, district)
    page = phone.page
    main = page.get_by_role("main")
    phone.sign_in(district.guardian.email)
    phone.open("/feedback/new")

    anonymous = page.get_by_role("checkbox", name="Send anonymously", exact=True)
    explanation = page.locator("#anonymous-hint")
    expect(explanation).to_be_visible()
    expect(explanation).to_contain_text("it will not appear in “My feedback”")
    expect(anonymous).to_have_accessible_description(ANONYMOUS_EXPLANATION)

    page.get_by_role("radio", name=CONCERN, exact=True).check()
    page.get_by_label("What is it about?", exact=True).select_option(label="Transportation")
    phone.fill("Your feedback", "A driver on route 12 shouted at the children this morning.")
    anonymous.check()
    phone.press("Send feedback")
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for your feedback")
    expect(main).to_contain_text("You sent it anonymously")
    reference = reference_on(page)

    phone.follow("My feedback")
    expect(main).to_contain_text("You have not sent feedback with your name yet.")
    expect(main).not_to_contain_text(reference)

    [sent] = saved_feedback(db)
    assert sent.reference == reference
    assert (sent.is_anonymous, sent.author_id, sent.household_id, sent.contact_email) == (True, None, None, None)
