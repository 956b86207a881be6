"""Browser fixtures: real Chromium (Playwright) against the app served on a live port.

One Chromium runs for the whole session; every test gets the app of `app` (a
fresh database) served by werkzeug in a thread, and new browser contexts: a
phone (360x740) and a desktop (1280x800). Every document a test lands on is
audited with axe through `Visitor`; a test that reaches a page without auditing
it fails at teardown.
"""

import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyotp
import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Locator, Page, Playwright, sync_playwright
from playwright.sync_api import Response as PageResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.serving import BaseWSGIServer, make_server

from portal.models import GuardianRelationship, Guardianship, Household, School, Student, User
from tests import factories

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
IN_CI = os.environ.get("CI", "").lower() == "true"

PHONE: dict[str, Any] = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}
SCREENS = {"phone": PHONE, "desktop": DESKTOP}
# Slow enough for a loaded CI runner, fast enough that a hang is reported.
TIMEOUT_MS = 15_000

CSRF_PATTERN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    # Kept on the item so fixtures know at teardown whether the test body passed.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


# --- Chromium -------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        reason = f"Chromium is not installed at {CHROMIUM} (Debian: apt-get install chromium)"
        if IN_CI:
            pytest.fail(f"{reason}; with CI=true the browser tests must run.", pytrace=False)
        pytest.skip(reason)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def chromium(playwright: Playwright) -> Iterator[Browser]:
    """The system Chromium, once per session: never a browser downloaded by `playwright install`."""
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


# --- The live server ----------------------------------------------------------


@dataclass
class LiveServer:
    app: Flask
    url: str


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    """`app` answering real HTTP on a free port; emailed links point at it."""
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = url
    # A short poll interval: shutdown() waits for the loop to notice, once per test.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield LiveServer(app, url)
    server.shutdown()  # serve_forever() closes the socket as it returns
    thread.join(timeout=10)


# --- Accessibility audit --------------------------------------------------------


def describe_violations(where: str, violations: list[dict[str, Any]]) -> str:
    lines = [f"axe found {len(violations)} accessibility violation(s) on {where}:"]
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']} <{violation['helpUrl']}>")
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            lines.append(f"    target {target}: {node['html'][:240]}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            if summary:
                lines.append(f"      {summary[:400]}")
    return "\n".join(lines)


@dataclass
class AccessibilityAudit:
    """Runs axe on a page and remembers which documents were never audited."""

    chromium: Browser
    axe: Axe = field(default_factory=Axe)
    # Options of contexts whose pages cannot run axe (JavaScript disabled).
    scriptless: dict[BrowserContext, dict[str, Any]] = field(default_factory=dict)
    unaudited: dict[Page, str] = field(default_factory=dict)
    # Off by default: violations fail the test when it ends (at teardown) instead
    # of stopping it, so a journey still gets to its own checks and both are
    # reported. Tests about accessibility itself turn it on.
    strict: bool = False
    deferred: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        def navigated(frame) -> None:  # type: ignore[no-untyped-def]
            if frame == page.main_frame:
                self.unaudited[page] = frame.url

        page.on("framenavigated", navigated)

    def check(self, page: Page) -> None:
        """Assert that axe finds no violation in the document `page` shows."""
        viewport = page.viewport_size or {"width": 0, "height": 0}
        where = f"{page.url} at {viewport['width']}x{viewport['height']}"
        if page.context in self.scriptless:
            where += " (JavaScript off; audited as served)"
            violations = self._run_on_copy(page, self.scriptless[page.context])
        else:
            violations = self.axe.run(page).response["violations"]
        self.unaudited.pop(page, None)
        if violations and not self.strict:
            self.deferred.append(describe_violations(where, violations))
            return
        assert not violations, describe_violations(where, violations)

    def _run_on_copy(self, page: Page, options: dict[str, Any]) -> list[dict[str, Any]]:
        # axe needs timers, which never fire with JavaScript disabled: audit the
        # same markup, served at the same address, in a context that runs scripts.
        html, url = page.content(), page.url
        options = {key: value for key, value in options.items() if key != "java_script_enabled"}
        context = self.chromium.new_context(**options)
        try:
            copy = context.new_page()
            copy.route(
                lambda address: address == url,
                lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html),
            )
            copy.goto(url)
            return self.axe.run(copy).response["violations"]
        finally:
            context.close()


@pytest.fixture
def audit(chromium: Browser, request: pytest.FixtureRequest) -> Iterator[AccessibilityAudit]:
    audit = AccessibilityAudit(chromium)
    yield audit
    if audit.deferred:
        pytest.fail("\n\n".join(audit.deferred), pytrace=False)
    report = getattr(request.node, "report_call", None)
    if report is not None and report.passed and audit.unaudited:
        pages = "\n".join(f"  {url}" for url in audit.unaudited.values())
        pytest.fail(f"pages reached without an axe audit (use Visitor, or audit.check(page)):\n{pages}", pytrace=False)


# --- Contexts and pages -----------------------------------------------------


@pytest.fixture
def open_context(chromium: Browser, live_server: LiveServer, audit: AccessibilityAudit):
    """open_context(**options): a new browser context on the live server, closed after the test."""
    contexts: list[BrowserContext] = []

    def open_(**options: Any) -> BrowserContext:
        options = {"locale": "en-US", "timezone_id": "America/Los_Angeles", **options}
        context = chromium.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        context.on("page", audit.watch)
        if options.get("java_script_enabled") is False:
            audit.scriptless[context] = options
        contexts.append(context)
        return context

    yield open_
    for context in contexts:
        context.close()


def fresh_totp_code(app: Flask, email: str) -> str:
    """The second factor's current code, made usable again: sign-ins in one test may share a 30 s step."""
    db: Session = app.extensions["portal.sessionmaker"]()
    try:
        user = db.scalar(select(User).where(User.email == email.lower()))
        assert user is not None and user.totp_secret, f"{email} has no second factor"
        user.totp_last_step = None
        db.commit()
        return pyotp.TOTP(user.totp_secret).now()
    finally:
        db.close()


class Visitor:
    """One person at one browser page: opens pages, clicks and submits, auditing each page reached."""

    def __init__(self, page: Page, audit: AccessibilityAudit, app: Flask) -> None:
        self.page = page
        self.audit = audit
        self.app = app

    @property
    def path(self) -> str:
        return urlsplit(self.page.url).path

    def open(self, path: str, *, status: int = 200) -> PageResponse:
        """GET `path` (relative to the live server, or absolute); it must answer `status`, unredirected."""
        response = self.page.goto(path)
        assert response is not None
        assert response.status == status, f"GET {path} answered {response.status}, expected {status}"
        expected = urlsplit(path).path
        assert self.path == expected, f"GET {path} was redirected to {self.page.url}"
        self.audit.check(self.page)
        return response

    def press(self, button: str, *, status: int = 200) -> PageResponse:
        """Click the button named `button`; the page it leads to must answer `status`."""
        return self.click(self.reach("button", button), status=status)

    def follow(self, link: str, *, status: int = 200) -> PageResponse:
        return self.click(self.reach("link", link), status=status)

    def reach(self, role: str, name: str) -> Locator:
        """The link or button named `name`, as a person reaches it: the page's own when the header
        has one of the same name too ("Ask a question"); on a phone, one the header keeps in its
        menu after opening the menu."""
        found = self.page.get_by_role(role, name=name, exact=True)  # type: ignore[arg-type]
        if found.count() > 1:
            in_main = self.page.get_by_role("main").get_by_role(role, name=name, exact=True)  # type: ignore[arg-type]
            return in_main if in_main.count() else found
        menu = self.page.locator("header details.nav-menu:not([open]) > summary")
        if found.count() == 0 and menu.count() and menu.is_visible():
            menu.click()
        return found

    def click(self, target: Locator, *, status: int = 200) -> PageResponse:
        """Click `target` (a link or button) and wait for the page it leads to."""
        with self.page.expect_navigation() as navigation:
            target.click()
        response = navigation.value
        assert response is not None
        assert response.status == status, f"{self.page.url} answered {response.status}, expected {status}"
        self.audit.check(self.page)
        return response

    def fill(self, label: str, value: str) -> None:
        self.page.get_by_label(label, exact=True).fill(value)

    def sign_in(self, email: str, password: str = factories.PASSWORD) -> None:
        """Sign in through the form, as a person does, with the second factor when asked for it."""
        self.open("/sign-in")
        self.fill("Email", email)
        self.fill("Password", password)
        self.press("Sign in")
        if self.path == "/sign-in/code":
            self.fill("Authentication code", fresh_totp_code(self.app, email))
            self.press("Sign in")
        assert not self.path.startswith("/sign-in"), f"sign-in of {email} failed: still on {self.page.url}"

    def sign_in_quietly(self, email: str, password: str = factories.PASSWORD) -> None:
        """Sign in with the context's HTTP client (same cookies), when the form is not what is tested."""
        request = self.page.context.request

        def send(path: str, values: dict[str, str]) -> str:
            token = CSRF_PATTERN.search(request.get(path).text())
            assert token, f"{path} has no CSRF token"
            response = request.post(path, form={"csrf_token": token.group(1), **values}, max_redirects=0)
            assert response.status == 302, f"sign-in of {email}: POST {path} answered {response.status}"
            return urlsplit(response.headers["location"]).path

        if send("/sign-in", {"email": email, "password": password}) == "/sign-in/code":
            send("/sign-in/code", {"code": fresh_totp_code(self.app, email)})


@pytest.fixture
def open_visitor(
    open_context: Callable[..., BrowserContext], audit: AccessibilityAudit, live_server: LiveServer
) -> Callable[..., Visitor]:
    """open_visitor("phone" or "desktop", **context_options): a Visitor in a new context."""

    def open_(screen: str, **options: Any) -> Visitor:
        return Visitor(open_context(**SCREENS[screen], **options).new_page(), audit, live_server.app)

    return open_


@pytest.fixture
def phone(open_visitor: Callable[..., Visitor]) -> Visitor:
    return open_visitor("phone")


@pytest.fixture
def desktop(open_visitor: Callable[..., Visitor]) -> Visitor:
    return open_visitor("desktop")


# --- A small district -----------------------------------------------------------


@dataclass
class District:
    school: School
    household: Household
    guardian: User
    invited_guardian: User
    students: list[Student]
    other_household: Household
    staff: User
    admin: User


@pytest.fixture
def district(db: Session) -> District:
    """Two households (one with a guardian still to activate), a staff member and an admin."""
    school = factories.make_school(db, name="Roosevelt Elementary")
    household = factories.make_household(db, name="Okafor family", guardians=1, students=2, school=school)
    invited = factories.make_user(db, activated=False, name="Ngozi Okafor")
    db.add(
        Guardianship(
            household_id=household.id, user_id=invited.id, relationship_to_students=GuardianRelationship.GRANDMOTHER
        )
    )
    db.commit()
    other = factories.make_household(db, name="Lindqvist family", guardians=1, students=1, school=school)
    students = list(db.scalars(select(Student).where(Student.household_id == household.id).order_by(Student.id)))
    return District(
        school=school,
        household=household,
        guardian=factories.guardians_of(db, household)[0],
        invited_guardian=invited,
        students=students,
        other_household=other,
        staff=factories.make_staff(db, name="Sam Staff"),
        admin=factories.make_admin(db, name="Ada Admin"),
    )
