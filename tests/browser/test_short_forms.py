"""The shorter family forms on a phone (360 x 740), audited with axe: the new-request
form in about one and a half screens, with a call-back to choose on it; each contact
section saved on its own, its confirmation shown where the parent is looking."""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.models import Callback, Department, Request
from portal.sample_data.demo import DEPARTMENTS

pytestmark = pytest.mark.browser

SCREEN_HEIGHT = 740
# The form may take about one and a half phone screens.
MOST_SCREENS = 1.6
FORM_HEIGHT = """() => {
  const form = document.querySelector("main form.form");
  const box = form.getBoundingClientRect();
  return [box.height, document.documentElement.scrollHeight];
}"""


@pytest.fixture
def departments(db, district):  # type: ignore[no-untyped-def]
    """The demo district's six departments, with their descriptions."""
    db.add_all(Department(name=name, description=text, is_public=True) for name, text, _es, _text_es in DEPARTMENTS)
    db.commit()
    return list(db.scalars(select(Department).order_by(Department.id)))


def test_the_new_request_form_fits_in_one_and_a_half_phone_screens(phone, district, departments):  # type: ignore[no-untyped-def]
    phone.sign_in(district.guardian.email)
    phone.open("/requests/new")
    height, document_height = phone.page.evaluate(FORM_HEIGHT)
    print(f"new-request form height at 360x740: {height}px (the page: {document_height}px)")
    assert height <= MOST_SCREENS * SCREEN_HEIGHT, f"the form is {height}px high"


def test_choosing_a_department_shows_its_promise_once_by_the_button(phone, district, departments):  # type: ignore[no-untyped-def]
    page = phone.page
    phone.sign_in(district.guardian.email)
    phone.open("/requests/new")
    promise = page.locator("#reply-promise")
    expect(promise).to_have_text("")
    page.get_by_role("radio", name="Enrollment", exact=True).check()
    expect(promise).to_have_text(re.compile(r"^We will reply by .+\.$"))
    expect(page.get_by_text(re.compile("^We will reply by"))).to_have_count(1)
    phone.audit.check(page)


def test_a_guardian_asks_to_be_called_back_with_a_new_question(phone, district, departments, db):  # type: ignore[no-untyped-def]
    page = phone.page
    phone.sign_in(district.guardian.email)
    phone.open("/requests/new")
    page.get_by_role("radio", name="Transportation", exact=True).check()
    phone.fill("Subject", "Bus stop change")
    phone.fill("Your question", "Our stop moved. When does the bus come now?")
    page.get_by_text("Rather talk? We call you back", exact=True).click()
    page.get_by_label("Call me back instead", exact=True).check()
    phone.fill("Number to call", "213-555-01")  # too short
    phone.audit.check(page)  # the call-back's fields open
    height = page.evaluate(FORM_HEIGHT)[0]
    print(f"new-request form height with the call-back open: {height}px")
    phone.press("Send")

    number = page.get_by_label("Number to call", exact=True)
    expect(number).to_have_attribute("aria-invalid", "true")
    expect(number).to_be_visible()
    expect(page.get_by_label("Your question", exact=True)).to_have_value("Our stop moved. When does the bus come now?")
    expect(page.get_by_label("Call me back instead", exact=True)).to_be_checked()
    assert db.scalar(select(Request.id)) is None

    number.fill("213-555-0143")
    phone.fill("From", "09:00")
    phone.fill("Until", "15:00")
    phone.press("Send")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your question was sent")
    expect(page.get_by_role("status").filter(has_text="We will call you by")).to_be_visible()
    db.expire_all()
    assert db.scalar(select(Callback.phone)) == "+12135550143"


IN_VIEW = """(element) => {
  const box = element.getBoundingClientRect();
  return box.top >= 0 && box.bottom <= window.innerHeight;
}"""


def change_numbers(section):  # type: ignore[no-untyped-def]
    section.get_by_label("Mobile phone", exact=True).fill("213-555-0143")


def change_language(section):  # type: ignore[no-untyped-def]
    section.get_by_label("Interpreter needed (any language)", exact=True).fill("Yoruba")


def change_channels(section):  # type: ignore[no-untyped-def]
    section.get_by_role("group", name="Surveys", exact=True).get_by_role("checkbox", name="Email").uncheck()


def change_quiet_hours(section):  # type: ignore[no-untyped-def]
    section.get_by_label("Quiet hours start", exact=True).fill("21:00")
    section.get_by_label("Quiet hours end", exact=True).fill("07:00")


@pytest.mark.parametrize(
    ("heading", "change", "button", "message"),
    [
        ("Phone numbers and email", change_numbers, "Save my numbers", "Your phone numbers are saved."),
        ("Language", change_language, "Save my language", "Your language is saved."),
        ("What reaches you, and how", change_channels, "Save what reaches me", "What reaches you, and how, is saved."),
        ("Quiet hours", change_quiet_hours, "Save my quiet hours", "Your quiet hours are saved."),
    ],
)
def test_a_contact_section_saves_on_its_own_and_its_confirmation_is_in_view(  # type: ignore[no-untyped-def]
    phone, district, heading, change, button, message
):
    page = phone.page
    phone.sign_in_quietly(district.guardian.email)
    phone.open("/account/contact")
    section = page.get_by_role("region", name=heading, exact=True)
    change(section)
    save = section.get_by_role("button", name=button, exact=True)
    save.scroll_into_view_if_needed()
    phone.click(save)
    status = section.get_by_role("status")
    expect(status).to_have_text(message)
    assert status.evaluate(IN_VIEW), f"the confirmation of {heading!r} is out of view"
    assert page.get_by_role("status").filter(has_text=re.compile(r"\S")).count() == 1, "one message"


def test_switching_the_language_in_its_section_answers_in_the_new_language(phone, district):  # type: ignore[no-untyped-def]
    page = phone.page
    phone.sign_in_quietly(district.guardian.email)
    phone.open("/account/contact")
    section = page.get_by_role("region", name="Language", exact=True)
    section.get_by_label("Language for messages and this portal", exact=True).select_option("es")
    phone.click(section.get_by_role("button", name="Save my language", exact=True))
    expect(page.locator("html")).to_have_attribute("lang", "es")
    status = page.locator("#contact-language [role=status]")
    expect(status).to_be_visible()
    assert status.evaluate(IN_VIEW)
