"""Links that leave the portal, and links built from the request: neither can be poisoned.

The portal answers only to its configured host names, builds every public
address from BASE_URL, and follows a `next` value only to a path on itself.
"""

from urllib.parse import quote, urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from portal import public_url
from portal.mail import render_email
from portal.models import Notification
from tests import factories
from tests.conftest import Browser
from tests.web.support import csrf_token, location, stays_on_portal, submit, text

BASE_URL = "http://portal.test"
HOSTILE_HEADERS = {
    "Host": "evil.example",
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Proto": "https",
    "Forwarded": "host=evil.example;proto=https",
}
# For form posts: over (forwarded) HTTPS, Flask-WTF would also demand a same-origin Referer.
HOSTILE_POST_HEADERS = {**HOSTILE_HEADERS, "X-Forwarded-Proto": "http", "Forwarded": "host=evil.example"}
HOSTILE_NEXT = [
    "https://evil.example/",
    "http://evil.example",
    "HTTPS://evil.example",
    "//evil.example",
    "//evil.example/family/",
    "///evil.example",
    "////evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\\/evil.example",
    "%2F%2Fevil.example",
    "%2f%2fevil.example",
    "%5C%5Cevil.example",
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    "data:text/html,<script>alert(1)</script>",
    "http:evil.example",
    "https:/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "\t//evil.example",
    " //evil.example",
    "/\x00/evil.example",
    "/\x7f/evil.example",
    "evil.example",
    "@evil.example",
    "/" + "a" * 600,
]
IDS = [repr(value)[1:-1][:40] for value in HOSTILE_NEXT]


@pytest.fixture
def app_config(request: pytest.FixtureRequest) -> dict[str, object]:
    """Parametrize indirectly to add settings."""
    return {"BASE_URL": BASE_URL, **getattr(request, "param", {})}


def is_local_path(target: str) -> bool:
    """A path on this portal, as a browser would read it: no scheme, no host, no tricks."""
    parts = urlsplit(target)
    return (
        target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not any(ord(ch) < 32 or ord(ch) == 127 for ch in target)
        and not parts.scheme
        and not parts.netloc
        and stays_on_portal(target)
    )


def family_member(db) -> object:  # type: ignore[no-untyped-def]
    return factories.guardians_of(db, factories.make_household(db))[0]


# Host names -------------------------------------------------------------------------------


@pytest.mark.parametrize("app_config", [{"TRUSTED_HOSTS": ["portal.test"]}], indirect=True)
@pytest.mark.parametrize("host", ["evil.example", "portal.test.evil.example", "evilportal.test", "evil.example:80"])
def test_with_trusted_hosts_a_request_for_another_host_gets_400(client, host):
    assert client.get("/sign-in", headers={"Host": host}).status_code == 400
    assert client.get("/forgot-password", headers={"Host": host}).status_code == 400


@pytest.mark.parametrize("app_config", [{"TRUSTED_HOSTS": ["portal.test"]}], indirect=True)
@pytest.mark.parametrize("host", ["portal.test", "portal.test:80"])
def test_with_trusted_hosts_a_request_for_the_portal_works(client, host):
    page = client.get("/sign-in", headers={"Host": host})
    assert page.status_code == 200
    assert 'name="csrf_token"' in text(page)


@pytest.mark.parametrize("app_config", [{"TRUSTED_HOSTS": ["portal.test"], "PROXY_COUNT": 1}], indirect=True)
def test_behind_a_proxy_a_forwarded_host_is_not_believed(client, db):
    user = factories.make_user(db, email="mom@example.org")
    headers = {"Host": "portal.test", "X-Forwarded-Host": "evil.example", "X-Forwarded-For": "203.0.113.7"}
    assert client.get("/sign-in", headers=headers).status_code == 200
    token = csrf_token(client, "/forgot-password", headers=headers)
    asked = client.post("/forgot-password", data={"csrf_token": token, "email": user.email}, headers=headers)
    assert asked.status_code == 302
    assert "evil.example" not in location(asked)


@pytest.mark.parametrize("app_config", [{"TRUSTED_HOSTS": ["portal.test"]}], indirect=True)
def test_a_full_sign_in_works_on_the_trusted_host(app, db):
    user = family_member(db)
    client = app.test_client()
    headers = {"Host": "portal.test"}
    signed = submit(client, "/sign-in", {"email": user.email, "password": factories.PASSWORD}, headers=headers)
    assert location(signed) == "/family/"
    assert client.get("/family/", headers=headers).status_code == 200
    assert client.get("/family/", headers={"Host": "evil.example"}).status_code == 400


# Links built from BASE_URL ---------------------------------------------------------------------


@pytest.mark.parametrize("app_config", [{}, {"PROXY_COUNT": 1}], indirect=True, ids=["direct", "behind-proxy"])
def test_public_addresses_come_from_base_url_whatever_the_request_says(app):
    with app.test_request_context("/forgot-password", base_url="http://evil.example", headers=HOSTILE_HEADERS):
        assert public_url("auth.activate") == f"{BASE_URL}/activate"
        assert public_url("auth.reset_password", token="abc") == f"{BASE_URL}/reset-password/abc"


@pytest.mark.parametrize("app_config", [{}, {"PROXY_COUNT": 1}], indirect=True, ids=["direct", "behind-proxy"])
def test_a_reset_asked_for_through_a_forged_host_is_queued_without_any_host(app, db, client):
    user = factories.make_user(db, email="dad@example.org")
    token = csrf_token(client, "/forgot-password", headers=HOSTILE_POST_HEADERS)
    asked = client.post(
        "/forgot-password", data={"csrf_token": token, "email": user.email}, headers=HOSTILE_POST_HEADERS
    )
    assert asked.status_code == 302

    db.expire_all()
    [notification] = db.scalars(select(Notification))
    assert set(notification.payload) == {"token"}
    assert "evil.example" not in repr(notification.payload)
    # Rendered inside a request for the forged host, the email still links to BASE_URL.
    with app.test_request_context("/", base_url="http://evil.example", headers=HOSTILE_HEADERS):
        message = render_email(app, notification)
    body = message.as_string()
    assert "evil.example" not in body
    assert f"{BASE_URL}/reset-password/" in message.get_body(("plain",)).get_content()


def test_a_printed_invitation_letter_gives_the_base_url_address(app, db):
    household = factories.make_household(db, activated=False)
    [guardian] = factories.guardians_of(db, household)
    staff_client = app.test_client()
    # Every request of this browser names the forged host (the cookies follow it).
    staff_client.environ_base["HTTP_HOST"] = "evil.example"
    Browser(staff_client, app).sign_in(factories.make_staff(db).email)
    page = f"/staff/households/{household.id}"
    token = csrf_token(staff_client, page)
    letter = staff_client.post(f"{page}/guardians/{guardian.id}/invitation", data={"csrf_token": token})
    assert letter.status_code == 200
    assert f"{BASE_URL}/activate" in text(letter)
    assert "evil.example" not in text(letter)


# `next` for sign-in --------------------------------------------------------------------------------


def sign_in_with_next(client: FlaskClient, email: str, target: str, *, channel: str):  # type: ignore[no-untyped-def]
    data = {"email": email, "password": factories.PASSWORD}
    if channel == "form":
        return submit(client, "/sign-in", {**data, "next": target}, page=f"/sign-in?next={quote(target)}")
    token = csrf_token(client, "/sign-in")
    return client.post(f"/sign-in?next={quote(target)}", data={"csrf_token": token, **data})


@pytest.mark.parametrize("channel", ["form", "query"])
@pytest.mark.parametrize("target", HOSTILE_NEXT, ids=IDS)
def test_sign_in_ignores_a_next_that_leaves_the_portal(client, db, target, channel):
    user = family_member(db)
    signed = sign_in_with_next(client, user.email, target, channel=channel)
    assert signed.status_code == 302
    assert is_local_path(location(signed)), location(signed)
    assert location(signed) == "/family/"


@pytest.mark.parametrize("target", HOSTILE_NEXT, ids=IDS)
def test_sign_in_with_a_second_factor_ignores_a_next_that_leaves_the_portal(app, client, db, target):
    staff = factories.make_staff(db)
    after_password = sign_in_with_next(client, staff.email, target, channel="form")
    assert location(after_password) == "/sign-in/code"
    code = Browser(client, app).fresh_totp_code(staff.email)
    signed = submit(client, "/sign-in/code", {"code": code, "next": target})
    assert signed.status_code == 302
    assert location(signed) == "/staff/"


@pytest.mark.parametrize("target", ["/family/history", "/security/?page=2", "/family/students/1"])
def test_sign_in_follows_a_next_on_the_portal(client, db, target):
    user = family_member(db)
    assert location(sign_in_with_next(client, user.email, target, channel="form")) == target


def test_sign_in_returns_to_the_page_that_asked_for_it(client, db):
    user = family_member(db)
    asked = client.get("/family/history")
    assert urlsplit(location(asked)).path == "/sign-in"
    signed = submit(client, location(asked), {"email": user.email, "password": factories.PASSWORD})
    assert location(signed) == "/family/history"


def test_sign_in_with_a_second_factor_follows_a_next_on_the_portal(app, client, db):
    staff = factories.make_staff(db)
    sign_in_with_next(client, staff.email, "/security/", channel="form")
    signed = submit(client, "/sign-in/code", {"code": Browser(client, app).fresh_totp_code(staff.email)})
    assert location(signed) == "/security/"


# `next` for the language switch ------------------------------------------------------------------


def switch_language(client: FlaskClient, target: str, *, channel: str):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/sign-in")
    if channel == "form":
        return client.post("/language", data={"csrf_token": token, "language": "es", "next": target})
    return client.post(f"/language?next={quote(target)}", data={"csrf_token": token, "language": "es"})


@pytest.mark.parametrize("channel", ["form", "query"])
@pytest.mark.parametrize("target", HOSTILE_NEXT, ids=IDS)
def test_the_language_switch_ignores_a_next_that_leaves_the_portal(client, target, channel):
    switched = switch_language(client, target, channel=channel)
    assert switched.status_code == 302
    assert is_local_path(location(switched)), location(switched)
    assert location(switched) == "/"
    with client.session_transaction() as session:
        assert session["language"] == "es"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/\\evil.example"])
def test_a_signed_in_language_switch_ignores_a_next_that_leaves_the_portal(app, db, target):
    user = family_member(db)
    client = app.test_client()
    Browser(client, app).sign_in(user.email)
    token = csrf_token(client, "/family/")
    switched = client.post("/language", data={"csrf_token": token, "language": "es", "next": target})
    assert location(switched) == "/"


def test_the_language_switch_returns_to_the_page_it_was_on(client):
    switched = switch_language(client, "/forgot-password?from=footer", channel="form")
    assert location(switched) == "/forgot-password?from=footer"


def test_the_language_form_carries_the_current_page_as_next(client):
    page = text(client.get("/forgot-password"))
    assert '<input type="hidden" name="next" value="/forgot-password">' in page


def test_the_local_path_check_of_these_tests_is_itself_strict():
    assert is_local_path("/family/")
    assert is_local_path("/forgot-password?from=footer")
    assert [target for target in HOSTILE_NEXT[:-1] if is_local_path(target)] == []  # the last is only too long
