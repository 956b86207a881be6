"""The language switch in the header is a plain form (a button per other language): it works
with JavaScript off, returns to the same page (query string included) and the choice sticks."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


LANGUAGE_NAMES = {"en": "English", "es": "Español"}


def switch_language(visitor, code: str) -> None:  # type: ignore[no-untyped-def]
    header = visitor.page.get_by_role("banner")
    visitor.click(header.get_by_role("button", name=LANGUAGE_NAMES[code], exact=True))


def test_language_switch_works_without_javascript(open_visitor):  # type: ignore[no-untyped-def]
    visitor = open_visitor("phone", java_script_enabled=False)
    visitor.open("/sign-in")
    html = visitor.page.locator("html")
    expect(html).to_have_attribute("lang", "en")

    switch_language(visitor, "es")

    assert visitor.path == "/sign-in", "the switch should return to the page it was used on"
    expect(html).to_have_attribute("lang", "es")
    expect(visitor.page.get_by_role("heading", level=1)).not_to_have_text("Sign in")
    # The header now offers the way back, named in its own language.
    expect(visitor.page.get_by_role("banner").get_by_role("button", name="English", exact=True)).to_have_attribute(
        "lang", "en"
    )
    expect(visitor.page.get_by_role("banner").get_by_role("button", name="Español")).to_have_count(0)

    switch_language(visitor, "en")
    expect(html).to_have_attribute("lang", "en")
    expect(visitor.page.get_by_role("heading", level=1)).to_have_text("Sign in")


def test_family_language_choice_keeps_the_page_and_lasts(phone, district):  # type: ignore[no-untyped-def]
    phone.sign_in_quietly(district.guardian.email)
    phone.open("/family/history?page=1")

    switch_language(phone, "es")

    assert phone.path == "/family/history"
    assert phone.page.url.endswith("?page=1"), f"the query string was lost: {phone.page.url}"
    expect(phone.page.locator("html")).to_have_attribute("lang", "es")
    phone.open("/family/")
    expect(phone.page.locator("html")).to_have_attribute("lang", "es")
