"""Server-side sessions through the browser: a copied cookie stops working once its session ends.

Sign-out, a password change, a reset and "End this session" on /security/ all end
sessions on the server, so replaying the old cookie value finds nothing. Every
client here is a separate browser; no app context is held open across requests.
"""

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_datetime
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from portal import session_lifetimes
from portal.db import utcnow
from portal.models import SecurityEvent, User, UserSession
from portal.services import accounts
from portal.services.accounts import sessions
from tests import factories
from tests.conftest import Browser
from tests.web.support import (
    COOKIE,
    field_error,
    redirects_to_sign_in,
    session_cookie,
    set_session_cookie,
    submit,
    text,
)

NEW_PASSWORD = "purple elephants juggle quietly"
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
DESKTOP_FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
END_OTHER_SESSION = re.compile(
    r'action="/security/sessions/(\d+)/end">\s*<input[^>]*>\s*<button[^>]*>End this session</button>'
)
END_THIS_SESSION = re.compile(
    r'action="/security/sessions/(\d+)/end">\s*<input[^>]*>\s*<button[^>]*>Sign out this browser</button>'
)


@pytest.fixture
def app_config(request: pytest.FixtureRequest) -> dict[str, object]:
    """Parametrize indirectly to change the configuration."""
    return getattr(request, "param", {})


def make_account(db, role: str) -> User:
    """A guardian of a household (so /family/ opens), or a staff member with a second factor."""
    if role == "family":
        [guardian] = factories.guardians_of(db, factories.make_household(db))
        return guardian
    return factories.make_staff(db)


def home_of(user: User) -> str:
    """A page only a signed-in user opens: the family home, or the staff member's own security page."""
    return "/family/" if user.is_family else "/security/"


def signed_in_client(app: Flask, user: User, *, user_agent: str | None = None) -> FlaskClient:
    """A browser of its own, signed in as `user` (with the second factor for staff)."""
    client = app.test_client()
    if user_agent:
        client.environ_base["HTTP_USER_AGENT"] = user_agent
    Browser(client, app).sign_in(user.email)
    return client


def sign_out(client: FlaskClient):  # type: ignore[no-untyped-def]
    return submit(client, "/sign-out", {}, page="/security/")


def session_rows(db, user: User) -> list[UserSession]:
    db.expire_all()
    return list(db.scalars(select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id)))


def security_events(db, kind: str) -> list[SecurityEvent]:
    return list(db.scalars(select(SecurityEvent).where(SecurityEvent.kind == kind)))


def reset_password(app: Flask, db, user: User, password: str = NEW_PASSWORD):  # type: ignore[no-untyped-def]
    """Follow a reset link in a browser of its own, as someone who forgot the password would."""
    with app.app_context():
        token = factories.reset_token(db, user)
    client = app.test_client()
    return submit(client, f"/reset-password/{token}", {"password": password, "confirm": password})


def change_password(client: FlaskClient):  # type: ignore[no-untyped-def]
    return submit(
        client,
        "/password",
        {"current_password": factories.PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )


# Replayed cookies -----------------------------------------------------------------


@pytest.mark.parametrize("role", ["family", "staff"])
def test_a_cookie_replayed_after_sign_out_is_refused(app, db, role):
    user = make_account(db, role)
    client = signed_in_client(app, user)
    copied = session_cookie(client)
    assert copied
    assert client.get(home_of(user)).status_code == 200

    signed_out = sign_out(client)
    assert redirects_to_sign_in(signed_out)
    assert session_rows(db, user) == []

    set_session_cookie(client, copied)
    assert redirects_to_sign_in(client.get(home_of(user)))
    assert redirects_to_sign_in(client.get("/security/"))
    thief = app.test_client()
    set_session_cookie(thief, copied)
    assert redirects_to_sign_in(thief.get(home_of(user)))


@pytest.mark.parametrize("role", ["family", "staff"])
def test_a_cookie_replayed_after_a_password_change_is_refused(app, db, role):
    user = make_account(db, role)
    client = signed_in_client(app, user)
    copied = session_cookie(client)

    changed = change_password(client)
    assert changed.status_code == 302
    assert session_cookie(client) != copied
    assert client.get(home_of(user)).status_code == 200  # this browser got a fresh session

    thief = app.test_client()
    set_session_cookie(thief, copied)
    assert redirects_to_sign_in(thief.get(home_of(user)))
    set_session_cookie(client, copied)
    assert redirects_to_sign_in(client.get(home_of(user)))


@pytest.mark.parametrize("role", ["family", "staff"])
def test_a_cookie_replayed_after_a_reset_is_refused(app, db, role):
    user = make_account(db, role)
    client = signed_in_client(app, user)
    copied = session_cookie(client)

    assert reset_password(app, db, user).status_code == 302

    assert redirects_to_sign_in(client.get(home_of(user)))
    thief = app.test_client()
    set_session_cookie(thief, copied)
    assert redirects_to_sign_in(thief.get(home_of(user)))
    assert session_rows(db, user) == []


def test_a_password_change_ends_the_users_other_sessions_but_no_one_elses(app, db):
    user, someone_else = make_account(db, "family"), make_account(db, "family")
    laptop = signed_in_client(app, user, user_agent=DESKTOP_FIREFOX)
    phone = signed_in_client(app, user, user_agent=IPHONE_SAFARI)
    other = signed_in_client(app, someone_else)
    assert len(session_rows(db, user)) == 2

    assert change_password(laptop).status_code == 302

    assert laptop.get("/family/").status_code == 200
    assert redirects_to_sign_in(phone.get("/family/"))
    assert other.get("/family/").status_code == 200
    [remaining] = session_rows(db, user)
    assert remaining.user_agent == DESKTOP_FIREFOX
    assert len(security_events(db, "password_changed")) == 1


def test_a_reset_ends_every_session_of_the_user(app, db):
    user = make_account(db, "family")
    laptop = signed_in_client(app, user, user_agent=DESKTOP_FIREFOX)
    phone = signed_in_client(app, user, user_agent=IPHONE_SAFARI)

    assert reset_password(app, db, user).status_code == 302

    assert redirects_to_sign_in(laptop.get("/family/"))
    assert redirects_to_sign_in(phone.get("/family/"))
    assert session_rows(db, user) == []
    again = app.test_client()
    Browser(again, app).sign_in(user.email, NEW_PASSWORD)
    assert again.get("/family/").status_code == 200


def test_every_sign_in_gets_a_new_session_token(app, db):
    user = make_account(db, "family")
    first, second = signed_in_client(app, user), signed_in_client(app, user)
    assert session_cookie(first) != session_cookie(second)
    hashes = [row.token_hash for row in session_rows(db, user)]
    assert len(set(hashes)) == 2


# The sessions page ----------------------------------------------------------------


def test_a_session_ended_from_the_security_page_is_refused(app, db):
    user = make_account(db, "family")
    laptop = signed_in_client(app, user, user_agent=DESKTOP_FIREFOX)
    phone = signed_in_client(app, user, user_agent=IPHONE_SAFARI)
    phones_cookie = session_cookie(phone)

    page = text(laptop.get("/security/"))
    [other_id] = END_OTHER_SESSION.findall(page)
    [own_id] = END_THIS_SESSION.findall(page)
    assert other_id != own_id
    ended = submit(laptop, f"/security/sessions/{other_id}/end", {}, page="/security/")
    assert ended.status_code == 302
    assert ended.headers["Location"] == "/security/"

    assert redirects_to_sign_in(phone.get("/family/"))
    replay = app.test_client()
    set_session_cookie(replay, phones_cookie)
    assert redirects_to_sign_in(replay.get("/family/"))
    assert laptop.get("/family/").status_code == 200
    [remaining] = session_rows(db, user)
    assert remaining.user_agent == DESKTOP_FIREFOX
    [event] = security_events(db, "session_ended")
    assert event.user_id == user.id


def test_signing_out_this_browser_from_the_security_page_ends_its_session(app, db):
    user = make_account(db, "family")
    client = signed_in_client(app, user)
    [own_id] = END_THIS_SESSION.findall(text(client.get("/security/")))
    assert submit(client, f"/security/sessions/{own_id}/end", {}, page="/security/").status_code == 302
    assert redirects_to_sign_in(client.get("/security/"))
    assert session_rows(db, user) == []


def test_nobody_can_end_another_users_session(app, db):
    victim, attacker = make_account(db, "family"), make_account(db, "family")
    victims_browser = signed_in_client(app, victim)
    [victims_session] = session_rows(db, victim)
    attackers_browser = signed_in_client(app, attacker)

    refused = submit(attackers_browser, f"/security/sessions/{victims_session.id}/end", {}, page="/security/")
    assert refused.status_code == 404
    assert victims_browser.get("/family/").status_code == 200
    assert len(session_rows(db, victim)) == 1


def test_ending_a_session_needs_the_csrf_token(app, db):
    user = make_account(db, "family")
    signed_in_client(app, user, user_agent=IPHONE_SAFARI)
    laptop = signed_in_client(app, user, user_agent=DESKTOP_FIREFOX)
    [other_id] = END_OTHER_SESSION.findall(text(laptop.get("/security/")))
    assert laptop.post(f"/security/sessions/{other_id}/end").status_code == 400
    assert len(session_rows(db, user)) == 2


def test_the_sessions_page_names_browser_device_and_last_activity(app, db):
    user = make_account(db, "family")
    signed_in_client(app, user, user_agent=IPHONE_SAFARI)
    laptop = signed_in_client(app, user, user_agent=DESKTOP_FIREFOX)
    last_seen = utcnow().replace(second=0, microsecond=0) - timedelta(minutes=7)
    db.execute(update(UserSession).where(UserSession.user_agent == IPHONE_SAFARI).values(last_seen_at=last_seen))
    db.commit()

    page = text(laptop.get("/security/"))

    assert "Phone · Safari" in page
    assert "Computer · Firefox" in page
    assert "Firefox" not in page.split("Phone · Safari")[1].split("</h3>")[0]
    shown = format_datetime(last_seen, "short", tzinfo=ZoneInfo(app.config["DISTRICT_TIMEZONE"]), locale="en")
    assert f"last active {shown}" in page
    # The browser reading the page is marked as such, and only that one.
    assert page.count("This browser") == 1
    assert re.search(r"Computer · Firefox\s*<span class=\"tag\">This browser</span>", page)


def test_the_sessions_page_does_not_list_sessions_that_have_ended_by_themselves(app, db):
    user = make_account(db, "family")
    signed_in_client(app, user, user_agent=IPHONE_SAFARI)
    laptop = signed_in_client(app, user, user_agent=DESKTOP_FIREFOX)
    idle = app.extensions["portal.session_lifetimes"].family_idle
    db.execute(
        update(UserSession)
        .where(UserSession.user_agent == IPHONE_SAFARI)
        .values(last_seen_at=utcnow() - idle - timedelta(minutes=1))
    )
    db.commit()
    page = text(laptop.get("/security/"))
    assert "Computer · Firefox" in page
    assert "Phone · Safari" not in page  # it can no longer be used: it is not "signed in"


def test_the_sessions_page_lists_only_the_users_own_sessions(app, db):
    user, other = make_account(db, "family"), make_account(db, "family")
    signed_in_client(app, other, user_agent=IPHONE_SAFARI)
    client = signed_in_client(app, user, user_agent=DESKTOP_FIREFOX)
    page = text(client.get("/security/"))
    assert "Computer · Firefox" in page
    assert "Safari" not in page


# How a browser is named (the pure function behind the page; tests/unit/test_sessions.py is
# another author's) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_agent", "browser", "kind"),
    [
        (IPHONE_SAFARI, "Safari", "phone"),
        (DESKTOP_FIREFOX, "Firefox", "computer"),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Mobile Safari/537.36",
            "Chrome",
            "phone",
        ),
        (
            "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36",
            "Chrome",
            "tablet",
        ),
        (
            "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.5 Mobile/15E148 Safari/604.1",
            "Safari",
            "tablet",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1",
            "Chrome",
            "phone",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.68",
            "Edge",
            "computer",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) "
            "SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
            "Samsung Internet",
            "phone",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.5 Safari/605.1.15",
            "Safari",
            "computer",
        ),
        ("", "", "computer"),
        ("<script>alert(1)</script>", "", "computer"),
    ],
)
def test_a_user_agent_is_described_by_browser_and_device_kind(user_agent, browser, kind):
    assert sessions.describe_device(user_agent) == sessions.Device(browser=browser, kind=kind)


def test_a_hostile_user_agent_is_not_shown_on_the_sessions_page(app, db):
    user = make_account(db, "family")
    client = signed_in_client(app, user, user_agent="<script>alert(1)</script>")
    page = text(client.get("/security/"))
    assert "<script>alert(1)</script>" not in page
    assert "Computer" in page


# Lifetimes --------------------------------------------------------------------------


def test_session_lifetimes_come_from_the_configuration(app):
    lifetimes = app.extensions["portal.session_lifetimes"]
    config = app.config
    assert lifetimes == session_lifetimes(app)
    assert lifetimes.family_idle == timedelta(minutes=config["FAMILY_SESSION_IDLE_MINUTES"])
    assert lifetimes.family_max == timedelta(hours=config["FAMILY_SESSION_MAX_HOURS"])
    assert lifetimes.staff_idle == timedelta(minutes=config["STAFF_SESSION_IDLE_MINUTES"])
    assert lifetimes.staff_max == timedelta(hours=config["STAFF_SESSION_MAX_HOURS"])
    # Staff sessions are the shorter ones.
    assert lifetimes.staff_idle < lifetimes.family_idle
    assert lifetimes.staff_max < lifetimes.family_max


SHORT_LIFETIMES = {
    "FAMILY_SESSION_IDLE_MINUTES": 20,
    "FAMILY_SESSION_MAX_HOURS": 2,
    "STAFF_SESSION_IDLE_MINUTES": 5,
    "STAFF_SESSION_MAX_HOURS": 1,
}


@pytest.mark.parametrize("app_config", [SHORT_LIFETIMES], indirect=True)
def test_configured_lifetimes_apply_to_new_sessions(app, db):
    family, staff = make_account(db, "family"), factories.make_staff(db)
    signed_in_client(app, family)
    signed_in_client(app, staff)
    [family_session], [staff_session] = session_rows(db, family), session_rows(db, staff)
    assert family_session.expires_at - family_session.created_at == timedelta(hours=2)
    assert staff_session.expires_at - staff_session.created_at == timedelta(hours=1)


@pytest.mark.parametrize("app_config", [SHORT_LIFETIMES], indirect=True)
def test_a_staff_session_idle_longer_than_configured_is_refused_while_a_family_one_lives(app, db):
    family, staff = make_account(db, "family"), factories.make_staff(db)
    family_client, staff_client = signed_in_client(app, family), signed_in_client(app, staff)
    six_minutes_ago = utcnow() - timedelta(minutes=6)
    db.execute(update(UserSession).values(last_seen_at=six_minutes_ago))
    db.commit()

    assert redirects_to_sign_in(staff_client.get("/security/"))
    assert family_client.get("/family/").status_code == 200
    assert session_rows(db, staff) == []


@pytest.mark.parametrize("role", ["family", "staff"])
def test_a_session_past_its_absolute_lifetime_is_refused_even_when_active(app, db, role):
    user = make_account(db, role)
    client = signed_in_client(app, user)
    assert client.get(home_of(user)).status_code == 200
    db.execute(update(UserSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.commit()
    assert redirects_to_sign_in(client.get(home_of(user)))
    assert db.scalar(select(func.count()).select_from(UserSession)) == 0


def test_a_deactivated_account_is_signed_out_at_its_next_request(app, db):
    user = make_account(db, "family")
    client = signed_in_client(app, user)
    db.execute(update(User).where(User.id == user.id).values(is_active=False))
    db.commit()
    assert redirects_to_sign_in(client.get("/family/"))


# Headers and cookie ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/sign-in", "/forgot-password", "/activate", "/healthz", "/no-such-page"])
def test_public_pages_are_sent_with_no_store(client, path):
    assert client.get(path).headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/family/", "/family/history", "/security/", "/password", "/security/two-factor"])
def test_signed_in_family_pages_are_sent_with_no_store(app, db, path):
    client = signed_in_client(app, make_account(db, "family"))
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "path", ["/staff/households/{household}", "/admin/", "/admin/security-events", "/admin/access-log", "/security/"]
)
def test_staff_and_admin_pages_are_sent_with_no_store(app, db, path):
    household = factories.make_household(db)
    client = signed_in_client(app, factories.make_admin(db))
    response = client.get(path.format(household=household.id))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_the_session_cookie_is_http_only_and_same_site_lax(client):
    cookie = client.get("/sign-in").headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # BASE_URL is http:// in the tests


@pytest.mark.parametrize("app_config", [{"BASE_URL": "https://portal.district.example"}], indirect=True)
def test_under_https_the_session_cookie_is_secure_and_host_only(client):
    cookie = client.get("/sign-in", base_url="https://localhost").headers["Set-Cookie"]
    assert cookie.startswith("__Host-portal_session=")
    assert "Secure" in cookie
    assert "Path=/" in cookie
    assert "Domain=" not in cookie


# Passphrases longer than bcrypt's 72 bytes ----------------------------------------------


@pytest.mark.parametrize(
    "words",
    ["correct horse battery staple ", "niño pequeño come piña "],
    ids=["ascii", "utf-8-two-byte-letters"],
)
def test_a_passphrase_differing_only_after_byte_72_does_not_sign_in(app, db, client, words):
    head = (words * 6).encode()[:72].decode(errors="ignore")
    head += "x" * (72 - len(head.encode()))
    passphrase = head + "apples and pears and plums"
    passphrase += "!" * (100 - len(passphrase))
    other = head + "a wholly different ending"
    other += "?" * (len(passphrase) - len(other))
    assert len(passphrase) == 100
    assert passphrase.encode()[:72] == other.encode()[:72]
    assert passphrase != other
    user = make_account(db, "family")
    accounts.set_password(db, user, passphrase, now=utcnow(), action="user.password_changed")
    db.commit()

    refused = submit(client, "/sign-in", {"email": user.email, "password": other})
    assert refused.status_code == 200
    assert field_error(text(refused), "password") == str(accounts.SIGN_IN_FAILED)
    assert redirects_to_sign_in(client.get("/family/"))

    accepted = submit(client, "/sign-in", {"email": user.email, "password": passphrase})
    assert accepted.status_code == 302
    assert client.get("/family/").status_code == 200


def test_only_a_hash_of_the_session_token_is_stored(app, db):
    user = make_account(db, "family")
    client = signed_in_client(app, user)
    [row] = session_rows(db, user)
    with client.session_transaction() as cookie_session:
        token = cookie_session["_user_id"]
    assert row.token_hash == sessions.hash_token(token)
    assert token not in row.token_hash
