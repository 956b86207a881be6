"""Every page passes axe on a phone (staff and admin pages on a desktop too) and fits a 360px screen.

Each scene signs in as whoever uses the page, reaches it as a person would (a
form sent empty, a wrong password) and is checked there. Pages reached on the
way are audited too, by `Visitor`. On a phone one visit checks both axe and the
layout, and one failure lists every problem of the page.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import expect

from tests import factories

pytestmark = pytest.mark.browser

# The least a finger can hit reliably, in CSS pixels (WCAG 2.5.5, Apple and Android guidance).
TARGET = 44


@dataclass(frozen=True)
class Scene:
    who: str | None  # "family", "staff", "admin", or None: nobody signed in
    reach: Callable[[Any, Any], None]  # (visitor, district): ends on the page to check


def _sign_in_empty(visitor, district) -> None:  # type: ignore[no-untyped-def]
    visitor.open("/sign-in")
    visitor.press("Sign in")
    expect(visitor.page.get_by_role("alert")).to_be_visible()
    expect(visitor.page.get_by_role("alert")).to_contain_text("Enter your email address.")


def _sign_in_wrong_password(visitor, district) -> None:  # type: ignore[no-untyped-def]
    visitor.open("/sign-in")
    visitor.fill("Email", district.guardian.email)
    visitor.fill("Password", "not the password at all")
    visitor.press("Sign in")
    expect(visitor.page.get_by_role("alert")).to_be_visible()
    expect(visitor.page.get_by_label("Email", exact=True)).to_have_value(district.guardian.email)


def _activate_wrong_code(visitor, district) -> None:  # type: ignore[no-untyped-def]
    visitor.open("/activate")
    visitor.fill("Activation code", "ABCD-EFGH-JKMN")
    visitor.press("Continue")
    expect(visitor.page.get_by_role("alert")).to_be_visible()


def _second_factor_wrong_code(visitor, district) -> None:  # type: ignore[no-untyped-def]
    visitor.open("/sign-in")
    visitor.fill("Email", district.staff.email)
    visitor.fill("Password", factories.PASSWORD)
    visitor.press("Sign in")
    assert visitor.path == "/sign-in/code"
    visitor.fill("Authentication code", "000000")
    visitor.press("Sign in")
    expect(visitor.page.get_by_role("alert")).to_be_visible()


def _new_household_empty(visitor, district) -> None:  # type: ignore[no-untyped-def]
    visitor.open("/staff/households/new")
    visitor.press("Create household and send invitations")
    expect(visitor.page.get_by_role("alert")).to_be_visible()


SCENES: dict[str, Scene] = {
    "sign-in": Scene(None, lambda v, d: v.open("/sign-in")),
    "sign-in-sent-empty": Scene(None, _sign_in_empty),
    "sign-in-wrong-password": Scene(None, _sign_in_wrong_password),
    "activate": Scene(None, lambda v, d: v.open("/activate")),
    "activate-wrong-code": Scene(None, _activate_wrong_code),
    "forgot-password": Scene(None, lambda v, d: v.open("/forgot-password")),
    "invitation-link-expired": Scene(None, lambda v, d: v.open("/invitation/no-such-token", status=410)),
    "not-found": Scene(None, lambda v, d: v.open("/no-such-page", status=404)),
    "second-factor-wrong-code": Scene(None, _second_factor_wrong_code),
    "family-home": Scene("family", lambda v, d: v.open("/family/")),
    "family-student": Scene("family", lambda v, d: v.open(f"/family/students/{d.students[0].id}")),
    "family-history": Scene("family", lambda v, d: v.open("/family/history")),
    "family-security": Scene("family", lambda v, d: v.open("/security/")),
    "family-two-factor-set-up": Scene("family", lambda v, d: v.open("/security/two-factor")),
    "change-password": Scene("family", lambda v, d: v.open("/password")),
    "staff-households": Scene("staff", lambda v, d: v.open("/staff/households")),
    "staff-household": Scene("staff", lambda v, d: v.open(f"/staff/households/{d.household.id}")),
    "staff-new-household-sent-empty": Scene("staff", _new_household_empty),
    "staff-security": Scene("staff", lambda v, d: v.open("/security/")),
    "admin-home": Scene("admin", lambda v, d: v.open("/admin/")),
    "admin-security-events": Scene("admin", lambda v, d: v.open("/admin/security-events")),
    "admin-access-log": Scene("admin", lambda v, d: v.open("/admin/access-log")),
    "admin-import": Scene("admin", lambda v, d: v.open("/admin/import")),
    "admin-school": Scene("admin", lambda v, d: v.open(f"/admin/schools/{d.school.id}")),
    "admin-new-school": Scene("admin", lambda v, d: v.open("/admin/schools/new")),
    "how-we-are-doing": Scene(None, lambda v, d: v.open("/how-we-are-doing/")),
    "saved-replies": Scene("admin", lambda v, d: v.open("/staff/saved-replies/")),
    "saved-reply-new": Scene("admin", lambda v, d: v.open("/staff/saved-replies/new")),
}

PHONE_WIDTH = 360
STAFF_SCENES = [name for name, scene in SCENES.items() if scene.who in ("staff", "admin")]


def _arrive(visitor, district, scene: Scene) -> None:  # type: ignore[no-untyped-def]
    users = {"family": district.guardian, "staff": district.staff, "admin": district.admin}
    if scene.who is not None:
        visitor.sign_in_quietly(users[scene.who].email)
    scene.reach(visitor, district)


# Everything a finger may need to hit, measured where it is drawn.
MEASURE_TARGETS = """
() => {
  const shown = (el) => {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    // A control hidden from sight, touch and screen readers alike (aria-hidden, out of the
    // tab order) is no tap target: the new-household form's Enter-key default button is one.
    if (el.closest("[aria-hidden=true]") && el.tabIndex < 0) return false;
    return box.width > 0 && box.height > 0 && style.visibility !== "hidden";
  };
  const name = (el) => {
    const text = (el.innerText || el.value || el.getAttribute("aria-label") || "").trim().replace(/\\s+/g, " ");
    const id = el.id ? "#" + el.id : "";
    const classes = el.classList.length ? "." + [...el.classList].join(".") : "";
    const type = el.type && el.tagName !== "A" ? `[type=${el.type}]` : "";
    return `${el.tagName.toLowerCase()}${id}${classes}${type} "${text.slice(0, 60)}"`;
  };
  // A link inside running text (WCAG 2.5.5's "inline" exception): displayed inline,
  // with words of the sentence around it in the same block.
  const inSentence = (link) => {
    if (getComputedStyle(link).display !== "inline") return false;
    let block = link.parentElement;
    while (block && getComputedStyle(block).display === "inline") block = block.parentElement;
    if (!block) return false;
    const around = block.textContent.replace(link.textContent, "");
    return /[\\p{L}\\p{N}]/u.test(around);
  };
  const measure = (el, kind) => {
    let box = el.getBoundingClientRect();
    if (el.type === "checkbox" || el.type === "radio") {
      // A tick box is hit through its label too: measure the two together.
      for (const label of el.labels || []) {
        const other = label.getBoundingClientRect();
        const top = Math.min(box.top, other.top), bottom = Math.max(box.bottom, other.bottom);
        const left = Math.min(box.left, other.left), right = Math.max(box.right, other.right);
        box = {width: right - left, height: bottom - top};
      }
    }
    return {kind, name: name(el), width: box.width, height: box.height,
            inSentence: kind === "link" ? inSentence(el) : false};
  };
  const controls = [...document.querySelectorAll("button, input:not([type=hidden]), select, textarea")]
    .filter(shown).map((el) => measure(el, el.tagName === "BUTTON" ? "button" : "input"));
  const links = [...document.querySelectorAll("header a[href], main a[href], footer a[href]")]
    .filter(shown).map((el) => measure(el, "link"));
  return {
    scrollWidth: document.documentElement.scrollWidth,
    viewportWidth: window.innerWidth,
    targets: controls.concat(links),
  };
}
"""


def _too_small(target: dict[str, Any]) -> bool:
    if target["kind"] == "input":  # a field's width follows the screen; its height is what a finger hits
        return target["height"] < TARGET
    if target["kind"] == "link" and target["inSentence"]:
        return False
    return target["height"] < TARGET or target["width"] < TARGET


def _layout_problems(page) -> list[str]:  # type: ignore[no-untyped-def]
    measured = page.evaluate(MEASURE_TARGETS)
    problems = []
    if measured["scrollWidth"] > PHONE_WIDTH:
        problems.append(f"the page scrolls sideways: {measured['scrollWidth']}px wide on a {PHONE_WIDTH}px screen")
    for target in filter(_too_small, measured["targets"]):
        size = f"{target['width']:.0f}x{target['height']:.0f}px"
        problems.append(f"{target['kind']} {target['name']} is {size}, under {TARGET}px")
    return problems


@pytest.mark.parametrize("name", list(SCENES))
def test_phone_page_passes_axe_and_fits_a_small_screen(name, phone, audit, district):  # type: ignore[no-untyped-def]
    """axe on every page reached; on the page named, nothing scrolls sideways at 360px, buttons and
    links are 44x44px at least (links inside a sentence are exempt) and fields 44px tall."""
    _arrive(phone, district, SCENES[name])
    report = [f"{phone.page.url} on a {PHONE_WIDTH}px phone:"]
    layout = _layout_problems(phone.page)
    if layout:
        report.append(f"Layout ({TARGET}x{TARGET}px targets, no sideways scrolling):")
        report += [f"  {problem}" for problem in layout]
    report += audit.deferred
    audit.deferred.clear()  # reported here, not again at teardown
    if len(report) > 1:
        pytest.fail("\n".join(report), pytrace=False)


@pytest.mark.parametrize("name", STAFF_SCENES)
def test_staff_page_on_a_desktop_passes_axe(name, desktop, audit, district):  # type: ignore[no-untyped-def]
    audit.strict = True
    _arrive(desktop, district, SCENES[name])
