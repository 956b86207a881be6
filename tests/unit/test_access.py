"""Safe redirects: a `next` value may only name a path on this portal."""

from urllib.parse import urljoin, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.blueprints.access import is_safe_path

LEAVING_THE_PORTAL = [
    "https://evil.example/",
    "http://evil.example",
    "HTTPS://evil.example",
    "//evil.example",
    "//evil.example/family/",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "\\/evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    " //evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\x00/evil.example",
    "%2F%2Fevil.example",
    "https:evil.example",
    "evil.example",
    "",
    None,
    "/" + "a" * 600,
]


@pytest.mark.parametrize("target", LEAVING_THE_PORTAL)
def test_targets_that_leave_the_portal_are_not_safe(target):
    assert not is_safe_path(target)


@pytest.mark.parametrize("target", ["/", "/family/", "/family/students/3", "/staff/households?q=ana&page=2", "/a%2Fb"])
def test_paths_on_the_portal_are_safe(target):
    assert is_safe_path(target)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=60), st.text(alphabet="/\\:.%@?#ajvsxe \t\n", max_size=20)))
def test_a_safe_path_never_leads_a_browser_off_the_portal(target):
    if is_safe_path(target):
        # Browsers read a backslash as a slash and drop tabs and newlines.
        browser_view = target.replace("\\", "/").replace("\t", "").replace("\n", "").replace("\r", "")
        assert urlsplit(urljoin("https://portal.test/sign-in", browser_view)).netloc == "portal.test"
        assert not browser_view.startswith("//")
