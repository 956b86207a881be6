"""Every page has a short plain-text title: what a screen reader announces and a tab shows."""

import re

from tests import factories

TITLE = re.compile(r"<title>(.*?)</title>", re.DOTALL)


def title_of(response) -> str:  # type: ignore[no-untyped-def]
    match = TITLE.search(response.get_data(as_text=True))
    assert match, "the page has no title"
    return match.group(1)


def assert_plain_title(response) -> None:  # type: ignore[no-untyped-def]
    title = title_of(response)
    assert "<" not in title and len(title) < 120, f"not a plain short title: {title[:200]!r}"
    assert title.endswith("· Family Portal"), title


def test_family_pages_have_plain_titles(db, sign_in):
    household = factories.make_household(db)
    browser = sign_in(factories.guardians_of(db, household)[0])
    for path in ("/family/", "/family/history", "/account/contact", "/account/notes", "/account/email", "/security/"):
        assert_plain_title(browser.get(path))


def test_staff_and_admin_pages_have_plain_titles(db, sign_in):
    household = factories.make_household(db)
    browser = sign_in(factories.make_admin(db))
    for path in (
        "/staff/",
        f"/staff/households/{household.id}",
        "/staff/households/new",
        "/admin/",
        "/admin/import",
        "/admin/access-log",
        "/admin/security-events",
        "/admin/contact-lists",
    ):
        assert_plain_title(browser.get(path))


def test_public_pages_have_plain_titles(client):
    for path in ("/sign-in", "/forgot-password", "/activate", "/no-such-page"):
        assert_plain_title(client.get(path))
