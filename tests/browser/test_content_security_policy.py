"""The Content-Security-Policy refuses nothing the portal itself serves, and no script fails.

Chromium reports a refused script, style or image as a console error and fires a
`securitypolicyviolation` event in the page; both are collected on a tour of the
portal as a family (phone) and as staff and an administrator (desktop), along
with every uncaught JavaScript error.
"""

from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import ConsoleMessage, Error, Page, expect

pytestmark = pytest.mark.browser

# Runs before the page's own scripts in every document of the context.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.effectiveDirective} refused ${event.blockedURI || "inline"} (${event.sourceFile}:${event.lineNumber})`
  );
});
"""


@dataclass
class Console:
    """What the browser said while the pages were open."""

    # Pages answered with an error status on purpose: their "failed to load" line is expected.
    expected_errors: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("console", self._message)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught {self._describe(error)} on {page.url}"))

    def _message(self, message: ConsoleMessage) -> None:
        text, where = message.text, message.location.get("url", "")
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.problems.append(f"CSP violation on {where}: {text}")
        elif message.type == "error":
            if text.startswith("Failed to load resource") and urlsplit(where).path in self.expected_errors:
                return
            self.problems.append(f"console error on {where}: {text}")

    @staticmethod
    def _describe(error: Error) -> str:
        return f"{error.name}: {error.message}"

    def collect_violations(self, page: Page) -> None:
        """The page's own record of refused resources, read before it is left."""
        for violation in page.evaluate("window.__cspViolations || []"):
            self.problems.append(f"securitypolicyviolation on {page.url}: {violation}")


def test_no_csp_violations_or_script_errors_anywhere(open_visitor, district):  # type: ignore[no-untyped-def]
    console = Console(expected_errors={"/no-such-page", "/invitation/no-such-token"})
    phone = open_visitor("phone")
    desktop = open_visitor("desktop")
    for visitor in (phone, desktop):
        visitor.page.context.add_init_script(script=RECORD_VIOLATIONS)
        console.watch(visitor.page)

    def visit(visitor, path: str, status: int = 200) -> None:  # type: ignore[no-untyped-def]
        visitor.open(path, status=status)
        console.collect_violations(visitor.page)

    # Nobody signed in; a form sent empty runs the script that focuses its error summary.
    visit(phone, "/sign-in")
    phone.press("Sign in")
    expect(phone.page.get_by_role("alert")).to_be_focused()
    console.collect_violations(phone.page)
    for path in ("/activate", "/forgot-password"):
        visit(phone, path)
    visit(phone, "/no-such-page", status=404)
    visit(phone, "/invitation/no-such-token", status=410)

    # A family on a phone; the two-step set-up page shows its QR code as an image.
    phone.sign_in(district.guardian.email)
    console.collect_violations(phone.page)
    for path in ("/family/", f"/family/students/{district.students[0].id}", "/family/history", "/security/"):
        visit(phone, path)
    visit(phone, "/security/two-factor")
    expect(phone.page.get_by_role("img").first).to_be_visible()

    # Staff and an administrator at a desktop.
    desktop.sign_in(district.staff.email)
    console.collect_violations(desktop.page)
    for path in ("/staff/households", f"/staff/households/{district.household.id}", "/staff/households/new"):
        visit(desktop, path)
    desktop.press("Create household and send invitations")
    console.collect_violations(desktop.page)
    desktop.press("Sign out")
    desktop.sign_in(district.admin.email)
    for path in ("/admin/", "/admin/security-events", "/admin/access-log", "/admin/import"):
        visit(desktop, path)

    problems = list(dict.fromkeys(console.problems))  # a page seen twice says the same twice
    assert not problems, "\n".join(problems)
