"""Notes for staff, the email change and the household's data, on a phone, with axe on every page."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.models import Notification
from tests import factories

pytestmark = pytest.mark.browser


def test_guardian_writes_and_revises_a_note_and_sees_its_history(phone, desktop, district):  # type: ignore[no-untyped-def]
    page = phone.page
    phone.sign_in(district.guardian.email)
    phone.follow("Notes for staff: what they should know when they help you")
    phone.page.get_by_label("What is it about?", exact=True).select_option(label="Pickup and custody")
    phone.fill("Note for staff", "Grandma Rosa picks up on Fridays.")
    phone.press("Save note")
    # The confirmation is in the saved note's card, where the page opens.
    saved = page.get_by_role("listitem").filter(has_text="Grandma Rosa picks up on Fridays.").get_by_role("status")
    expect(saved).to_have_text("Your note is saved. Staff see it whenever they help your family.")
    expect(saved).to_be_in_viewport()

    phone.follow("Change this note")
    phone.fill("Note for staff", "Grandma Rosa picks up on Fridays and Mondays.")
    phone.press("Save note")
    page.get_by_text("History: 2 versions").click()
    expect(page.get_by_role("main")).to_contain_text("Before:")
    phone.audit.check(page)  # with the history open

    # An empty note is refused next to the box, with the category kept.
    phone.follow("Change this note")
    phone.fill("Note for staff", "")
    phone.press("Save note")
    expect(page.get_by_role("alert")).to_contain_text("Write the note.")
    expect(page.get_by_label("What is it about?", exact=True)).to_have_value("pickup")

    phone.follow("My household")
    phone.follow("Account history: every change, and every time staff opened it")
    expect(page.get_by_role("main")).to_contain_text("changed a note for staff")

    # Staff see the note and its history on the household page, at a desktop.
    desktop.sign_in(district.staff.email)
    desktop.open(f"/staff/households/{district.household.id}")
    expect(desktop.page.get_by_role("region", name="The family's notes")).to_contain_text("Fridays and Mondays")


def test_the_email_change_and_home_pages_pass_axe_on_a_phone(phone, district):  # type: ignore[no-untyped-def]
    page = phone.page
    phone.sign_in(district.guardian.email)
    expect(page.get_by_role("region", name="Your account")).to_be_visible()
    phone.follow("Change your email address")
    phone.fill("New email address", "not an address")
    phone.fill("Your password", "wrong")
    phone.press("Send the link")
    expect(page.get_by_role("alert")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways: {width}px"


def test_a_new_email_address_is_confirmed_on_a_phone(phone, district, db):  # type: ignore[no-untyped-def]
    page = phone.page
    phone.sign_in(district.guardian.email)
    phone.open("/account/email")
    phone.fill("New email address", "okafor.new@example.org")
    phone.fill("Your password", factories.PASSWORD)
    phone.press("Send the link")
    expect(page.get_by_role("status")).to_contain_text("okafor.new@example.org")
    db.expire_all()
    token = db.scalar(select(Notification).where(Notification.template == "email_change_confirm")).payload["token"]
    phone.open(f"/account/email/confirm/{token}")
    phone.press("Use this address")
    expect(page.get_by_role("status")).to_contain_text("Your email address is now okafor.new@example.org.")
