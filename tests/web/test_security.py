"""Permission boundaries, CSRF, security headers, safe redirects and session cookies."""

import html
import re
from datetime import timedelta
from urllib.parse import quote

import pytest
from flask import Flask
from sqlalchemy import select, update

from portal import SECURITY_HEADERS
from portal.db import utcnow
from portal.models import School, Student, User, UserSession
from tests import factories
from tests.conftest import Browser
from tests.web.support import (
    COOKIE,
    csrf_token,
    location,
    password_sign_in,
    redirects_to_sign_in,
    session_cookie,
    set_session_cookie,
    sign_out,
    stays_on_portal,
    submit,
    text,
)

NEW_PASSWORD = "purple elephants juggle quietly"


@pytest.fixture
def district(app, db):
    """Two households, a staff member and an admin, with every id the URLs need."""
    ours = factories.make_household(db, name="Rivera family", guardians=1, students=2)
    theirs = factories.make_household(db, name="Nguyen family", guardians=1, students=1, activated=False)
    staff = factories.make_staff(db)
    admin = factories.make_admin(db)
    guardian = factories.guardians_of(db, ours)[0]
    their_guardian = factories.guardians_of(db, theirs)[0]
    with app.app_context():
        invitation = factories.invite(db, their_guardian)
        reset = factories.reset_token(db, guardian)
    return {
        "household": theirs.id,
        "own_student": db.scalar(select(Student.id).where(Student.household_id == ours.id)),
        "their_student": db.scalar(select(Student.id).where(Student.household_id == theirs.id)),
        "guardian": guardian,
        "their_guardian": their_guardian.id,
        "staff": staff,
        "admin": admin,
        "invitation": invitation,
        "reset": reset,
    }


def fill(path: str, district: dict) -> str:
    return path.format(
        household=district["household"],
        their_guardian=district["their_guardian"],
        staff=district["staff"].id,
        own_student=district["own_student"],
        their_student=district["their_student"],
        invitation=district["invitation"].token,
        reset=district["reset"],
    )


STAFF_PAGES = [
    "/staff/",
    "/staff/households",
    "/staff/households/new",
    "/staff/households/{household}",
    "/staff/households/{household}/guardians/new",
    "/staff/households/{household}/students/new",
]
ADMIN_PAGES = ["/admin/", "/admin/staff/new", "/admin/schools/new"]
FAMILY_PAGES = ["/family/", "/family/students/{own_student}"]
STAFF_POSTS = ["/staff/households/{household}/guardians/{their_guardian}/invitation"]
ADMIN_POSTS = ["/admin/staff/{staff}/active"]


def signed_in(app: Flask, user: User):  # type: ignore[no-untyped-def]
    """A browser of its own, signed in as `user` (with the second factor for staff)."""
    browser = Browser(app.test_client(), app)
    browser.sign_in(user.email)
    return browser.client


# Who may open what ------------------------------------------------------------------------------


def answers(client, paths: list[str], district: dict) -> dict[str, int]:
    return {path: client.get(fill(path, district)).status_code for path in paths}


def test_anonymous_visitors_are_sent_to_sign_in_from_every_private_page(client, district):
    for path in [*FAMILY_PAGES, *STAFF_PAGES, *ADMIN_PAGES, "/password"]:
        response = client.get(fill(path, district))
        assert redirects_to_sign_in(response), path
        assert "next=" in location(response), path


@pytest.mark.parametrize("path", STAFF_POSTS + ADMIN_POSTS + ["/sign-out"])
def test_anonymous_posts_are_sent_to_sign_in(client, district, path):
    response = submit(client, fill(path, district), {"active": "0"}, page="/sign-in")
    assert redirects_to_sign_in(response)


def test_family_cannot_reach_staff_or_admin_pages(app, district):
    client = signed_in(app, district["guardian"])
    assert set(answers(client, STAFF_PAGES + ADMIN_PAGES, district).values()) == {403}
    assert "Nguyen family" not in text(client.get(fill("/staff/households/{household}", district)))


@pytest.mark.parametrize("path", STAFF_POSTS + ADMIN_POSTS)
def test_family_cannot_post_to_staff_or_admin_actions(app, db, district, path):
    client = signed_in(app, district["guardian"])
    response = submit(client, fill(path, district), {"active": "0"}, page="/family/")
    assert response.status_code == 403
    db.expire_all()
    assert db.get(User, district["staff"].id).is_active


def test_staff_cannot_reach_admin_pages_or_deactivate_anyone(app, db, district):
    client = signed_in(app, district["staff"])
    assert set(answers(client, ADMIN_PAGES, district).values()) == {403}
    response = submit(client, fill(ADMIN_POSTS[0], district), {"active": "0"}, page="/staff/households/new")
    assert response.status_code == 403
    db.expire_all()
    assert db.get(User, district["staff"].id).is_active


@pytest.mark.parametrize("role", ["staff", "admin"])
def test_staff_and_admins_have_no_family_pages(app, district, role):
    assert set(answers(signed_in(app, district[role]), FAMILY_PAGES, district).values()) == {403}


def test_admins_reach_staff_and_admin_pages(app, district):
    reached = answers(signed_in(app, district["admin"]), STAFF_PAGES[2:] + ADMIN_PAGES, district)
    assert set(reached.values()) == {200}, reached


@pytest.mark.parametrize("path", ["/family/students/{their_student}", "/family/students/999999"])
def test_family_gets_404_for_other_households_ids(app, district, path):
    client = signed_in(app, district["guardian"])
    response = client.get(fill(path, district))
    assert response.status_code == 404
    assert "Nguyen" not in text(response)


# CSRF -------------------------------------------------------------------------------------------------

# (path, who posts it, the page whose form it is, form data)
POST_ROUTES = [
    ("/sign-in", None, "/sign-in", {"email": "{email}", "password": factories.PASSWORD}),
    ("/forgot-password", None, "/forgot-password", {"email": "{email}"}),
    ("/reset-password/{reset}", None, "/reset-password/{reset}", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
    ("/invitation/{invitation}", None, "/invitation/{invitation}", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
    ("/activate", None, "/activate", {"code": "{code}"}),
    ("/activate/password", None, "/activate", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
    ("/language", None, "/sign-in", {"language": "es", "next": "/sign-in"}),
    ("/sign-out", "guardian", "/family/", {}),
    (
        "/password",
        "guardian",
        "/password",
        {"current_password": factories.PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    ),
    ("/staff/households/new", "staff", "/staff/households/new", {"name": "Lee family", "action": "create"}),
    (
        "/staff/households/{household}/guardians/new",
        "staff",
        "/staff/households/{household}/guardians/new",
        {"display_name": "May", "email": "may@example.org", "relationship": "aunt", "language": "en"},
    ),
    (
        "/staff/households/{household}/students/new",
        "staff",
        "/staff/households/{household}/students/new",
        {"first_name": "Bo", "last_name": "Lee", "school_id": "0", "grade": "3"},
    ),
    ("/staff/households/{household}/guardians/{their_guardian}/invitation", "staff", "/staff/households/new", {}),
    ("/admin/staff/new", "admin", "/admin/staff/new", {"display_name": "Jo", "email": "jo@e.org", "role": "staff"}),
    ("/admin/staff/{staff}/active", "admin", "/admin/", {"active": "0"}),
    ("/admin/schools/new", "admin", "/admin/schools/new", {"name": "Lincoln", "code": "LES"}),
]


def form_data(data: dict, district: dict) -> dict:
    values = {"email": district["guardian"].email, "code": district["invitation"].code}
    return {key: value.format(**values) for key, value in data.items()}


def database_state(db) -> tuple:
    db.expire_all()
    return (
        [(u.id, u.email, u.password_hash, u.is_active, u.language) for u in db.scalars(select(User).order_by(User.id))],
        db.scalars(select(Student.id)).all(),
        db.scalars(select(School.id)).all(),
    )


@pytest.mark.parametrize(("path", "who", "page", "data"), POST_ROUTES, ids=[route[0] for route in POST_ROUTES])
def test_a_post_without_a_csrf_token_is_refused(app, db, district, path, who, page, data):
    client = signed_in(app, district[who]) if who else app.test_client()
    client.get(fill(page, district))  # the browser has a session, and the form in front of it
    before = database_state(db)
    response = client.post(fill(path, district), data=form_data(data, district))
    assert response.status_code == 400
    assert "Please send the form again" in text(response)
    assert database_state(db) == before
    if who:
        assert client.get("/password").status_code == 200, "the refused POST must not sign anyone out"


def test_a_post_with_another_browsers_csrf_token_is_refused(app, db, district):
    attacker_token = csrf_token(app.test_client(), "/sign-in")
    browsers = {who: signed_in(app, district[who]) for who in ("guardian", "staff", "admin")}
    for path, who, page, data in POST_ROUTES:
        client = browsers[who] if who else app.test_client()
        client.get(fill(page, district))
        before = database_state(db)
        response = client.post(fill(path, district), data={"csrf_token": attacker_token, **form_data(data, district)})
        assert response.status_code == 400, path
        assert database_state(db) == before, path


def test_every_post_route_of_the_app_demands_a_csrf_token(app, client):
    refused = {}
    for rule in app.url_map.iter_rules():
        if "POST" not in (rule.methods or ()):
            continue
        path = re.sub(r"<int:[^>]+>", "1", rule.rule)
        path = re.sub(r"<[^>]+>", "token", path)
        refused[rule.rule] = client.post(path, data={"x": "1"}).status_code
    assert refused, "no POST routes found"
    assert {rule: code for rule, code in refused.items() if code != 400} == {}


# Security headers ---------------------------------------------------------------------------------------

PUBLIC_PAGES = ["/sign-in", "/forgot-password", "/activate", "/no-such-page", "/invitation/{invitation}"]
PAGES_BY_ROLE = [(None, page) for page in PUBLIC_PAGES] + [
    ("guardian", "/family/"),
    ("guardian", "/family/students/{own_student}"),
    ("guardian", "/password"),
    ("staff", "/staff/"),
    ("staff", "/staff/households/new"),
    ("staff", "/staff/households/{household}"),
    ("admin", "/admin/"),
    ("admin", "/admin/staff/new"),
    ("admin", "/admin/schools/new"),
]


def check_headers(response, *, signed_in: bool) -> None:
    headers = response.headers
    policy = dict([*d.split(" ", 1), ""][:2] for d in headers["Content-Security-Policy"].split("; "))
    script_src = policy.get("script-src", policy.get("default-src", ""))
    assert script_src == "'self'"
    assert "'unsafe-inline'" not in script_src
    assert policy.get("object-src") == "'none'"
    assert policy.get("frame-ancestors") == "'none'"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] in ("no-referrer", "same-origin", "strict-origin-when-cross-origin")
    for name, _value in SECURITY_HEADERS:
        assert len(headers.getlist(name)) == 1, name
    if signed_in:
        assert "no-store" in headers["Cache-Control"]
        assert headers.getlist("Vary") == ["Cookie"]


@pytest.mark.own_app  # it adds a route
def test_a_header_a_view_sets_itself_is_kept_and_not_repeated(app: Flask, client) -> None:
    @app.get("/own-headers")
    def own_headers():  # type: ignore[no-untyped-def]
        return "framed", {"X-Frame-Options": "SAMEORIGIN", "Vary": "Accept-Language"}

    headers = client.get("/own-headers").headers
    assert headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert headers.getlist("Vary") == ["Accept-Language, Cookie"]
    assert headers["Cache-Control"] == "no-store"
    for name, value in SECURITY_HEADERS:
        if name != "X-Frame-Options":
            assert headers.getlist(name) == [value]


def check_markup(page: str) -> None:
    for script in re.findall(r"<script\b[^>]*>", page):
        assert 'src="/assets/' in script, script
    assert not re.search(r"\sstyle=", page), "inline style"
    assert not re.search(r"\son[a-z]+=", page), "inline event handler"
    assert not re.search(r'(src|href)="(https?:)?//', page), "an asset or link off the portal"


@pytest.mark.parametrize("who", [None, "guardian", "staff", "admin"])
def test_every_page_has_the_security_headers_and_no_inline_script(app, district, who):
    client = signed_in(app, district[who]) if who else app.test_client()
    for path in [path for role, path in PAGES_BY_ROLE if role == who]:
        response = client.get(fill(path, district))
        assert response.status_code in (200, 404), path
        check_headers(response, signed_in=who is not None)
        check_markup(text(response))


def test_static_files_are_served_with_the_security_headers(client):
    for path in (
        "/static/portal.css",
        re.search(r'href="(/assets/portal\.[0-9a-f]+\.css)"', text(client.get("/sign-in")))[1],
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["X-Content-Type-Options"] == "nosniff"


# Safe redirects -----------------------------------------------------------------------------------------

LEAVING = [
    "https://evil.example/",
    "http://evil.example",
    "//evil.example",
    "//evil.example/family/",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "\\/evil.example",
    "%2F%2Fevil.example",
    "/%2F/evil.example",
    "%5C%5Cevil.example",
    "/%09/evil.example",
    "/\t/evil.example",
    "https:evil.example",
    "javascript:alert(1)",
    "JAVASCRIPT:alert(document.cookie)",
    " javascript:alert(1)",
    "data:text/html,hi",
]


def assert_stays_on_portal(response, asked: str) -> None:
    assert response.status_code == 302, asked
    assert stays_on_portal(location(response)), f"next={asked!r} sent the browser to {location(response)!r}"


def test_sign_in_ignores_a_next_that_leaves_the_portal(app, db):
    guardian = factories.guardians_of(db, factories.make_household(db))[0]
    for target in LEAVING:
        client = app.test_client()
        response = submit(
            client,
            "/sign-in",
            {"email": guardian.email, "password": factories.PASSWORD, "next": target},
            page=f"/sign-in?next={quote(target, safe='')}",
        )
        assert_stays_on_portal(response, target)


def test_the_sign_in_page_does_not_carry_a_next_that_leaves_the_portal(app, db):
    guardian = factories.guardians_of(db, factories.make_household(db))[0]
    for target in LEAVING:
        client = app.test_client()
        page = f"/sign-in?next={quote(target, safe='')}"
        served = re.search(r'name="next"[^>]*value="([^"]*)"', text(client.get(page)))
        carried = html.unescape(served.group(1)) if served else ""
        response = submit(
            client, "/sign-in", {"email": guardian.email, "password": factories.PASSWORD, "next": carried}, page=page
        )
        assert_stays_on_portal(response, target)


def test_the_language_switch_ignores_a_next_that_leaves_the_portal(client):
    for target in LEAVING:
        response = submit(client, "/language", {"language": "es", "next": target}, page="/sign-in")
        assert_stays_on_portal(response, target)


def test_a_next_with_markup_is_escaped_on_the_sign_in_page(client):
    html = text(client.get("/sign-in", query_string={"next": '/"><script>alert(1)</script>'}))
    assert "<script>alert(1)</script>" not in html


# Session cookies ------------------------------------------------------------------------------------------


def test_signing_in_rotates_the_session_and_drops_planted_values(db, client):
    guardian = factories.guardians_of(db, factories.make_household(db))[0]
    client.get("/sign-in")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        session["_user_id"] = "a token the attacker knows"
    before = session_cookie(client)
    submit(client, "/language", {"language": "es", "next": "/sign-in"}, page="/sign-in")
    response = password_sign_in(client, guardian.email)
    assert location(response) == "/family/"
    assert session_cookie(client) != before
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] != "a token the attacker knows"
        assert session.get("language") == "es"


def test_each_sign_in_gets_a_new_session_token(db, client):
    guardian = factories.guardians_of(db, factories.make_household(db))[0]
    tokens = []
    for _ in range(2):
        password_sign_in(client, guardian.email)
        with client.session_transaction() as session:
            tokens.append(session["_user_id"])
        sign_out(client)
    assert tokens[0] != tokens[1]


def change_password(app, db, client, guardian):  # type: ignore[no-untyped-def]
    return submit(
        client,
        "/password",
        {"current_password": factories.PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )


def reset_password(app, db, client, guardian):  # type: ignore[no-untyped-def]
    with app.app_context():
        token = factories.reset_token(db, guardian)
    return submit(app.test_client(), f"/reset-password/{token}", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})


def sign_out_step(app, db, client, guardian):  # type: ignore[no-untyped-def]
    return sign_out(client)


@pytest.mark.parametrize(
    "ending", [sign_out_step, change_password, reset_password], ids=["sign-out", "change", "reset"]
)
def test_a_cookie_copied_before_the_session_ended_is_refused(app, db, client, ending):
    guardian = factories.guardians_of(db, factories.make_household(db))[0]
    password_sign_in(client, guardian.email)
    copied = session_cookie(client)
    assert client.get("/family/").status_code == 200
    ending(app, db, client, guardian)
    thief = app.test_client()
    set_session_cookie(thief, copied)
    assert redirects_to_sign_in(thief.get("/family/"))


def test_the_session_cookie_is_http_only_and_same_site_lax(db, client):
    guardian = factories.guardians_of(db, factories.make_household(db))[0]
    response = password_sign_in(client, guardian.email)
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{COOKIE}="))
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert "httponly" in attributes
    assert "samesite=lax" in cookie.lower()
    assert "domain" not in attributes


@pytest.mark.parametrize("app_config", [{"BASE_URL": "https://portal.district.example"}])
def test_under_https_the_cookie_is_secure_and_host_prefixed(client, app_config):
    response = client.get("/sign-in", base_url="https://localhost")
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies
    cookie = next(c for c in cookies if c.startswith("__Host-portal_session="))
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly"} <= attributes
    assert "path=/" in cookie.lower().replace(" ", "")
    assert "domain" not in attributes
    assert not any(c.startswith(f"{COOKIE}=") for c in cookies)
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_a_session_past_its_idle_time_is_refused(app, db, client):
    guardian = factories.guardians_of(db, factories.make_household(db))[0]
    password_sign_in(client, guardian.email)
    db.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(hours=24)))
    db.commit()
    assert redirects_to_sign_in(client.get("/family/"))
