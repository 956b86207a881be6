"""From a new household to a guardian at home on their phone, in a real browser.

A staff member, at a desktop, creates the household through the form; the
guardian joins on a phone, either through the emailed link (delivered by
`flask deliver-notifications` to a real SMTP server) or with the activation
code printed on the letter. Every page on the way is audited with axe.
"""

import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from tests.mailserver import mail_server  # noqa: F401 (a fixture)

pytestmark = pytest.mark.browser

NEW_PASSWORD = "kettle orbit lantern meadow"
SENT = re.compile(r"Sent (\d+), failed (\d+)")


@pytest.fixture
def app_config(mail_server) -> dict[str, object]:  # noqa: F811
    """Email goes to the test SMTP server; BASE_URL is set to the live server's address."""
    return mail_server.config()


@dataclass(frozen=True)
class NewHousehold:
    name: str
    guardian_name: str
    guardian_email: str
    students: tuple[tuple[str, str, str], ...]  # first name, last name, grade

    @property
    def student_names(self) -> list[str]:
        return [f"{first} {last}" for first, last, _grade in self.students]


RIVERA = NewHousehold(
    name="Nguyễn-Rivera family",
    guardian_name="Lan Nguyễn",
    guardian_email="lan.nguyen@example.org",
    students=(("Minh", "Nguyễn-Rivera", "3"), ("Sofía", "Nguyễn-Rivera", "K")),
)
ABARA = NewHousehold(
    name="Abara family",
    guardian_name="Chidi Abara",
    guardian_email="chidi.abara@example.org",
    students=(("Ada", "Abara", "7"),),
)


def create_household_through_the_form(desktop, district, household: NewHousehold) -> str:  # type: ignore[no-untyped-def]
    """Staff sign in and fill /staff/households/new; returns the activation code on the letter."""
    page = desktop.page
    desktop.sign_in(district.staff.email)
    desktop.follow("New household")
    assert desktop.path == "/staff/households/new"
    desktop.fill("Household name", household.name)
    guardian = page.get_by_role("group", name="Guardian 1")
    guardian.get_by_label("Full name", exact=True).fill(household.guardian_name)
    guardian.get_by_label("Email", exact=True).fill(household.guardian_email)
    guardian.get_by_label("Relationship to the students", exact=True).select_option(label="Mother")
    for number, (first, last, grade) in enumerate(household.students, start=1):
        if number > 1:
            desktop.press("Add another student")
            # Asking for another student's fields keeps everything typed so far.
            expect(page.get_by_label("Household name", exact=True)).to_have_value(household.name)
            expect(guardian.get_by_label("Email", exact=True)).to_have_value(household.guardian_email)
        student = page.get_by_role("group", name=f"Student {number}")
        student.get_by_label("First name", exact=True).fill(first)
        student.get_by_label("Last name", exact=True).fill(last)
        student.get_by_label("School", exact=True).select_option(label=district.school.name)
        student.get_by_label("Grade", exact=True).select_option(grade)
    desktop.press("Create household and send invitations")
    expect(page.get_by_role("heading", level=1)).to_have_text("Activation letters")
    expect(page.get_by_role("status")).to_contain_text("Household created.")
    letter = page.get_by_role("region", name="Letter 1")
    expect(letter).to_contain_text(household.name)
    return letter.locator(".activation-code").inner_text().strip()


def choose_first_password(phone, household: NewHousehold) -> None:  # type: ignore[no-untyped-def]
    """On the set-password page: a mismatch is refused and explained, then the password is set."""
    page = phone.page
    expect(page.get_by_role("heading", level=1)).to_have_text("Activate your account")
    expect(page.get_by_role("main")).to_contain_text(household.guardian_email)
    phone.fill("New password", NEW_PASSWORD)
    phone.fill("Repeat the new password", NEW_PASSWORD + " typo")
    phone.press("Activate my account")
    expect(page.get_by_role("alert")).to_contain_text("The two passwords are not the same.")
    phone.fill("New password", NEW_PASSWORD)
    phone.fill("Repeat the new password", NEW_PASSWORD)
    phone.press("Activate my account")


def assert_at_home(phone, household: NewHousehold) -> str:  # type: ignore[no-untyped-def]
    """The family home shows the household and its students; returns the flashed message."""
    page = phone.page
    assert phone.path == "/family/", f"expected the family home, got {page.url}"
    expect(page.get_by_role("heading", level=1)).to_have_text(household.name)
    students = page.get_by_role("region", name="Students")
    for name in household.student_names:
        expect(students.get_by_role("link", name=name, exact=True)).to_be_visible()
    return page.get_by_role("main").get_by_role("status").inner_text().strip()


def assert_welcomed(flashed: str, household: NewHousehold) -> None:
    # Checked at the end of the journey, so that a missing message does not hide the steps after it.
    welcome = f"Welcome, {household.guardian_name}. Your account is ready."
    assert welcome in flashed, f"the family home did not say {welcome!r} after activation; it said {flashed!r}"


def test_guardian_joins_through_the_emailed_link_on_a_phone(
    desktop,
    phone,
    district,
    runner,
    live_server,
    mail_server,  # noqa: F811
):  # type: ignore[no-untyped-def]
    create_household_through_the_form(desktop, district, RIVERA)

    result = runner.invoke(args=["deliver-notifications"])
    assert result.exit_code == 0, result.output
    sent = SENT.search(result.output)
    assert sent and sent.groups() == ("1", "0"), result.output
    [email] = [mail for mail in mail_server.messages if RIVERA.guardian_email in mail.rcpt_tos]
    links = [link for link in email.links if "/invitation/" in link]
    assert links, f"no invitation link in the email:\n{email.text}"
    link = links[0]
    assert link.startswith(live_server.url + "/invitation/"), f"the link {link} does not point at BASE_URL"

    phone.open(link)
    expect(phone.page.get_by_role("main")).to_contain_text(f"Welcome, {RIVERA.guardian_name}.")
    choose_first_password(phone, RIVERA)
    flashed = assert_at_home(phone, RIVERA)

    first, last, grade = RIVERA.students[0]
    phone.follow(f"{first} {last}")
    expect(phone.page.get_by_role("heading", level=1)).to_have_text(f"{first} {last}")
    details = phone.page.locator("dl")
    expect(details).to_contain_text(district.school.name)
    expect(details).to_contain_text(grade)

    # The link is spent: opening it again explains what to do instead.
    phone.open(link, status=410)
    expect(phone.page.get_by_role("heading", level=1)).to_have_text("This link no longer works")
    assert_welcomed(flashed, RIVERA)


def test_guardian_joins_with_the_code_from_the_printed_letter(desktop, phone, district):  # type: ignore[no-untyped-def]
    code = create_household_through_the_form(desktop, district, ABARA)
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", code), code

    phone.open("/sign-in")
    phone.follow("Have an activation code from a school letter? Activate your account")
    assert phone.path == "/activate"
    # Typed as people do from paper: small letters, spaces for dashes.
    phone.fill("Activation code", code.lower().replace("-", " "))
    phone.press("Continue")
    assert phone.path == "/activate/password"
    choose_first_password(phone, ABARA)
    flashed = assert_at_home(phone, ABARA)

    # The new password is the one that works from now on.
    phone.press("Sign out")
    assert phone.path == "/sign-in"
    phone.sign_in(ABARA.guardian_email, NEW_PASSWORD)
    assert phone.path == "/family/"
    expect(phone.page.get_by_role("heading", level=1)).to_have_text(ABARA.name)
    assert_welcomed(flashed, ABARA)


def test_enter_in_a_field_of_the_new_household_form_creates_the_household(desktop, district):  # type: ignore[no-untyped-def]
    # A form submitted with Enter uses its first button; here that must be "create",
    # not "add another guardian", which would silently throw the Enter away.
    page = desktop.page
    desktop.sign_in(district.staff.email)
    desktop.open("/staff/households/new")
    guardian = page.get_by_role("group", name="Guardian 1")
    guardian.get_by_label("Full name", exact=True).fill("Rosa Diaz")
    guardian.get_by_label("Email", exact=True).fill("rosa.diaz@example.org")
    student = page.get_by_role("group", name="Student 1")
    student.get_by_label("First name", exact=True).fill("Tomas")
    student.get_by_label("Last name", exact=True).fill("Diaz")
    desktop.fill("Household name", "Diaz family")
    with page.expect_navigation():
        page.get_by_label("Household name", exact=True).press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Activation letters")
    desktop.audit.check(page)
