"""How the district reaches a family, in a real browser.

A guardian chooses topics, channels and quiet hours on a phone and sees the
saved summary and their history; a refused save keeps everything typed. Staff
change a guardian's channels on their behalf, with a reason, at a desktop; an
admin downloads the contact list a mass-messaging tool imports. Every page on
the way is audited with axe by `Visitor`.
"""

import csv
import io
import re
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from portal.services.households import contacts

pytestmark = pytest.mark.browser

PHONE_WIDTH = 360
# The least a finger can hit reliably, in CSS pixels (WCAG 2.5.5, Apple and Android guidance).
TARGET = 44

MOBILE_TYPED = "213-555-0143"
MOBILE_SHOWN = "+1 213-555-0143"  # as the summary and the form show a saved number
MOBILE_E164 = "+12135550143"
CHANNELS = ("Email", "Text message", "Voice call")
EMERGENCY = "Emergency and safety"
EMERGENCY_ERROR = "Emergency and safety messages must reach you one way or another. Keep at least one channel."
REASON = "Asked on the phone for texts about absences."


# --- Finding things on the contact form -------------------------------------------


def topic(page: Page, name: str) -> Locator:
    """A topic's fieldset, found by its legend."""
    return page.get_by_role("group", name=name, exact=True)


def choice(page: Page, topic_name: str, channel: str) -> Locator:
    return topic(page, topic_name).get_by_role("checkbox", name=channel, exact=True)


def saved_line(page: Page, topic_name: str, *, within: Locator | None = None) -> Locator:
    """The line of a "What is saved now" summary (or of `within`) about one topic."""
    area = within if within is not None else page.get_by_role("region", name="What is saved now")
    return area.get_by_role("listitem").filter(has=page.locator("strong", has_text=f"{topic_name}:"))


# --- Measuring a phone layout -----------------------------------------------------

# Each tick box with its labels, measured together where they are drawn: a finger hits either.
MEASURE_CHECKBOXES = """
() => {
  const boxes = [...document.querySelectorAll("main input[type=checkbox]")];
  return {
    scrollWidth: document.documentElement.scrollWidth,
    boxes: boxes.map((box) => {
      const rects = [box, ...(box.labels || [])].map((el) => el.getBoundingClientRect());
      const top = Math.min(...rects.map((r) => r.top));
      const bottom = Math.max(...rects.map((r) => r.bottom));
      const legend = box.closest("fieldset")?.querySelector("legend")?.innerText.trim() || "";
      const label = [...(box.labels || [])].map((l) => l.innerText.trim()).join(" ");
      return {name: `${legend} / ${label} (#${box.id})`, height: bottom - top, labelled: (box.labels || []).length > 0};
    }),
  };
}
"""


def layout_problems(page: Page) -> list[str]:
    measured: dict[str, Any] = page.evaluate(MEASURE_CHECKBOXES)
    problems = []
    if measured["scrollWidth"] > PHONE_WIDTH:
        problems.append(f"the page scrolls sideways: {measured['scrollWidth']}px wide on a {PHONE_WIDTH}px screen")
    boxes = measured["boxes"]
    if not boxes:
        problems.append("no tick boxes found in <main>")
    problems += [f"tick box {box['name']} has no <label>" for box in boxes if not box["labelled"]]
    small = [box for box in boxes if box["labelled"] and box["height"] < TARGET]
    # One line for the lot: a single CSS rule sizes them all.
    heights = sorted({f"{box['height']:.1f}px" for box in small})
    if small:
        problems.append(
            f"{len(small)} of {len(boxes)} tick boxes with their labels are under {TARGET}px tall "
            f"({', '.join(heights)}): {', '.join(box['name'] for box in small)}"
        )
    return problems


# --- The guardian, on a phone ---------------------------------------------------------


def test_guardian_chooses_how_they_are_reached_on_a_phone(phone, district):  # type: ignore[no-untyped-def]
    page = phone.page
    guardian = district.guardian
    phone.sign_in(guardian.email)
    phone.follow("How we reach you")
    assert phone.path == "/account/contact"
    expect(page.get_by_role("heading", level=1)).to_have_text("How we reach you")
    # Before any choice: the defaults, by email.
    expect(saved_line(page, "Events")).to_have_text(f"Events: email to {guardian.email}")

    # Each section is saved on its own, and says so inside itself.
    phone.fill("Mobile phone", MOBILE_TYPED)
    phone.press("Save my numbers")
    assert phone.path == "/account/contact", f"saving should come back to the page, not {page.url}"
    numbers = page.get_by_role("region", name="Phone numbers and email")
    expect(numbers.get_by_role("status")).to_have_text("Your phone numbers are saved.")
    choice(page, "Events", "Text message").check()
    phone.press("Save what reaches me")
    expect(page.get_by_role("region", name="What reaches you, and how").get_by_role("status")).to_have_text(
        "What reaches you, and how, is saved."
    )
    phone.fill("Quiet hours start", "21:00")
    phone.fill("Quiet hours end", "07:00")
    phone.press("Save my quiet hours")
    expect(page.get_by_role("region", name="Quiet hours").get_by_role("status")).to_have_text(
        "Your quiet hours are saved."
    )
    expect(page.get_by_role("status").filter(has_text=re.compile(r"\S"))).to_have_count(1)
    expect(saved_line(page, "Events")).to_have_text(
        f"Events: email to {guardian.email} and text message to {MOBILE_SHOWN} (not between 21:00 and 07:00)"
    )
    # Emergencies ignore quiet hours, and say nothing about them.
    expect(saved_line(page, EMERGENCY)).to_have_text(f"{EMERGENCY}: email to {guardian.email}")
    # The form shows what is saved now.
    expect(page.get_by_label("Mobile phone", exact=True)).to_have_value(MOBILE_SHOWN)
    expect(choice(page, "Events", "Text message")).to_be_checked()
    expect(page.get_by_label("Quiet hours start", exact=True)).to_have_value("21:00")
    expect(page.get_by_label("Quiet hours end", exact=True)).to_have_value("07:00")

    phone.follow("My household")
    phone.follow("Account history: every change, and every time staff opened it")
    expect(page.get_by_role("heading", level=1)).to_have_text("Account history")
    expect(page.get_by_role("main").get_by_role("listitem").first).to_contain_text(
        f"{guardian.display_name} changed their contact preferences"
    )

    # A second edit, refused: no channel left for emergencies.
    phone.follow("How we reach you")
    choice(page, "School news", "Voice call").check()
    choice(page, "Surveys", "Email").uncheck()
    for channel in CHANNELS:
        choice(page, EMERGENCY, channel).uncheck()
    phone.press("Save what reaches me")

    assert phone.path == "/account/contact"
    emergency = topic(page, EMERGENCY)
    # The error is inside the Emergency fieldset, and the fieldset is described by it.
    # (Screen readers hear "Error:" first, as for every other field.)
    expect(emergency.locator(".field-error")).to_have_text(f"Error: {EMERGENCY_ERROR}")
    expect(emergency).to_have_accessible_description(f"Error: {EMERGENCY_ERROR}")
    # The other fieldsets are not marked as wrong.
    expect(page.locator("main .field-error")).to_have_count(1)
    # The error summary names it too, in the section, and its link leads into the Emergency fieldset.
    summary = page.get_by_role("region", name="What reaches you, and how").get_by_role("alert")
    expect(summary).to_contain_text("Please check the form")
    link = summary.get_by_role("link").filter(has_text=EMERGENCY_ERROR)
    expect(link).to_have_count(1)
    target = link.get_attribute("href")
    assert target and target.startswith("#"), f"the summary link points at {target!r}"
    expect(emergency.locator(target)).to_have_count(1)
    expect(page.get_by_role("status").filter(has_text=re.compile(r"\S"))).to_have_count(0)

    # The section's ticks are still there, nothing of it saved; the other sections show what is saved.
    expect(choice(page, "School news", "Voice call")).to_be_checked()
    expect(choice(page, "Surveys", "Email")).not_to_be_checked()
    expect(choice(page, "Events", "Email")).to_be_checked()
    expect(choice(page, "Events", "Text message")).to_be_checked()
    for channel in CHANNELS:
        expect(choice(page, EMERGENCY, channel)).not_to_be_checked()
    expect(page.get_by_label("Mobile phone", exact=True)).to_have_value(MOBILE_SHOWN)
    expect(page.get_by_label("Quiet hours start", exact=True)).to_have_value("21:00")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(saved_line(page, EMERGENCY)).to_have_text(f"{EMERGENCY}: email to {guardian.email}")
    expect(saved_line(page, "School news")).to_have_text(
        f"School news: email to {guardian.email} (not between 21:00 and 07:00)"
    )


def test_contact_page_on_a_phone_passes_axe_and_fits_with_and_without_errors(phone, audit, district):  # type: ignore[no-untyped-def]
    """axe finds nothing, nothing scrolls sideways at 360px, and every tick box with its label is a
    44px-tall target: on the page as it opens and as it comes back with an error."""
    page = phone.page
    phone.sign_in_quietly(district.guardian.email)
    report = []

    phone.open("/account/contact")
    expect(page.get_by_role("heading", level=1)).to_have_text("How we reach you")
    report += [f"  as it opens: {problem}" for problem in layout_problems(page)]

    for channel in CHANNELS:
        choice(page, EMERGENCY, channel).uncheck()
    phone.press("Save what reaches me")
    expect(page.get_by_role("alert")).to_contain_text(EMERGENCY_ERROR)
    report += [f"  with the error shown: {problem}" for problem in layout_problems(page)]

    if report:
        report.insert(0, f"/account/contact on a {PHONE_WIDTH}px phone ({TARGET}px targets, no sideways scrolling):")
    report += audit.deferred
    audit.deferred.clear()  # reported here, not again at teardown
    if report:
        pytest.fail("\n".join(report), pytrace=False)


# --- Staff and admins, at a desktop ---------------------------------------------------


def test_staff_change_a_guardians_channels_with_a_reason(desktop, phone, district):  # type: ignore[no-untyped-def]
    page = desktop.page
    guardian = district.guardian
    name = guardian.display_name
    desktop.sign_in(district.staff.email)
    desktop.follow("Households")
    desktop.follow(district.household.name)
    assert desktop.path == f"/staff/households/{district.household.id}"
    desktop.follow(f"Change contact details for {name}")
    assert desktop.path == f"/staff/households/{district.household.id}/guardians/{guardian.id}/contact"
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Contact details of {name}")

    desktop.fill("Mobile phone", MOBILE_TYPED)
    choice(page, "Attendance", "Text message").check()
    # Without a reason, the change is refused next to the reason field and kept in the form.
    desktop.press("Save for the family")
    reason = page.get_by_label("Why are you changing this? (the family is told)", exact=True)
    expect(reason).to_have_accessible_description("Error: Say why you are changing this family's details.")
    expect(page.get_by_role("alert")).to_contain_text("Say why you are changing this family's details.")
    expect(page.get_by_label("Mobile phone", exact=True)).to_have_value(MOBILE_TYPED)
    expect(choice(page, "Attendance", "Text message")).to_be_checked()

    reason.fill(REASON)
    desktop.press("Save for the family")

    assert desktop.path == f"/staff/households/{district.household.id}", f"expected the household, got {page.url}"
    expect(page.get_by_role("status")).to_contain_text(f"Saved. {name} is emailed what changed and why.")
    disclosure = page.locator("details").filter(has=page.locator("summary", has_text=f"How to reach {name}"))
    expect(disclosure).to_have_count(1)
    disclosure.locator("summary").click()
    expect(disclosure).to_have_attribute("open", "")
    expect(saved_line(page, "Attendance", within=disclosure)).to_be_visible()
    expect(saved_line(page, "Attendance", within=disclosure)).to_have_text(
        f"Attendance: email to {guardian.email} and text message to {MOBILE_SHOWN}"
    )
    expect(saved_line(page, "Events", within=disclosure)).to_have_text(f"Events: email to {guardian.email}")
    desktop.audit.check(page)  # the household page again, with its summary open

    # The family sees who changed what, and why.
    phone.sign_in_quietly(guardian.email)
    phone.open("/family/history")
    expect(phone.page.get_by_role("main")).to_contain_text(
        f"{district.staff.display_name} (staff) changed contact preferences on your behalf. Their reason: {REASON}"
    )


def test_admin_downloads_a_contact_list_for_the_messaging_system(desktop, district, db):  # type: ignore[no-untyped-def]
    guardian = district.guardian
    db.add(guardian)
    preference = contacts.start_preferences(db, guardian, mobile_phone=MOBILE_E164)
    preference.quiet_start, preference.quiet_end = "21:00", "07:00"
    db.commit()

    page = desktop.page
    desktop.sign_in(district.admin.email)
    desktop.follow("Administration")
    desktop.follow("Contact lists for the messaging system")
    assert desktop.path == "/admin/contact-lists"
    expect(page.get_by_role("heading", level=1)).to_have_text("Contact lists for the messaging system")
    page.get_by_label("Topic", exact=True).select_option(label="Attendance")
    page.get_by_label("Channel", exact=True).select_option(label="Text message")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download the CSV file", exact=True).click()
    download = download_info.value
    assert download.suggested_filename.startswith("contacts-attendance-sms-"), download.suggested_filename
    assert download.suggested_filename.endswith(".csv"), download.suggested_filename
    assert desktop.path == "/admin/contact-lists", "the download should leave the page where it is"

    def fetch(topic_value: str, channel: str) -> list[list[str]]:
        response = page.context.request.get(f"/admin/contact-lists.csv?topic={topic_value}&channel={channel}")
        assert response.status == 200, f"{response.url} answered {response.status}"
        assert response.headers["content-type"].startswith("text/csv"), response.headers["content-type"]
        disposition = response.headers.get("content-disposition", "")
        assert disposition.startswith("attachment;"), disposition
        assert f'filename="contacts-{topic_value}-{channel}-' in disposition, disposition
        text = response.body().decode("utf-8")
        assert text.startswith("\ufeff"), "no byte-order mark for spreadsheet programs"
        rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
        assert rows[0] == list(contacts.CONTACT_LIST_HEADER), rows[0]
        return rows[1:]

    attendance = fetch("attendance", "sms")
    assert [row for row in attendance if row[1] == str(guardian.id)] == [
        [
            str(district.household.id),
            str(guardian.id),
            guardian.display_name,
            "en",
            "",
            MOBILE_E164,
            "21:00",
            "07:00",
            "America/Los_Angeles",
        ]
    ], attendance
    # Emergencies reach people in their quiet hours too: the list carries none.
    emergency = fetch("emergency", "sms")
    assert [row[5:] for row in emergency if row[1] == str(guardian.id)] == [[MOBILE_E164, "", "", ""]], emergency
