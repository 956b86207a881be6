"""The second factor in the browser: required for staff and admins, optional for families.

Codes are computed with pyotp from the account's secret. Where a test is about a
code being used twice, it computes the code itself instead of Browser.fresh_totp_code
(which makes the current step usable again).
"""

import re
from datetime import timedelta

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.db import utcnow
from portal.models import AuditEvent, Notification, Role, SecurityEvent, User, UserSession
from portal.services.accounts import two_factor
from tests import factories
from tests.conftest import Browser
from tests.web.support import csrf_token, field_error, location, redirects_to_sign_in, submit, text

SIGN_IN_LIMIT = 3
SECRET_KEY_TEXT = re.compile(r'<p class="secret-key">([A-Z2-7]+)</p>')
QR_IMAGE = re.compile(r'<img class="qr-code" src="(data:image/svg\+xml[^"]+)" alt="[^"]+"')
RECOVERY_CODES = re.compile(r'<ul class="recovery-codes">(.*?)</ul>', re.S)
RECOVERY_CODE = re.compile(r"<li>([a-z0-9]{5}-[a-z0-9]{5})</li>")
CODE_LABEL = '<label for="code">Authentication code</label>'
PROTECTED_PAGES = [
    "/staff/",
    "/staff/households",
    "/admin/",
    "/admin/security-events",
    "/security/",
    "/security/two-factor",
    "/password",
    "/family/",
    "/family/history",
]


@pytest.fixture
def app_config() -> dict[str, object]:
    # Code attempts are limited like passwords, by the same setting.
    return {"SIGN_IN_LIMIT_PER_ACCOUNT": f"{SIGN_IN_LIMIT} per 15 minutes"}


def family_with_two_factor(db) -> User:  # type: ignore[no-untyped-def]
    """A guardian of a household who chose two-step sign-in, with factories.TOTP_SECRET."""
    [guardian] = factories.guardians_of(db, factories.make_household(db))
    guardian.totp_secret = factories.TOTP_SECRET
    guardian.totp_enabled_at = utcnow()
    db.commit()
    return guardian


def make_account(db, kind: str) -> User:  # type: ignore[no-untyped-def]
    if kind == "staff":
        return factories.make_staff(db)
    if kind == "admin":
        return factories.make_admin(db)
    if kind == "staff without a factor":
        return factories.make_staff(db, two_factor=False)
    return family_with_two_factor(db)


def enter_password(client: FlaskClient, user: User, password: str = factories.PASSWORD):  # type: ignore[no-untyped-def]
    return submit(client, "/sign-in", {"email": user.email, "password": password})


def enter_code(client: FlaskClient, code: str, *, url: str = "/sign-in/code"):  # type: ignore[no-untyped-def]
    return submit(client, url, {"code": code})


def current_code(secret: str = factories.TOTP_SECRET) -> str:
    return pyotp.TOTP(secret).now()


def refreshed(db, user: User) -> User:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.get_one(User, user.id)


def events(db, kind: str) -> list[SecurityEvent]:  # type: ignore[no-untyped-def]
    db.expire_all()
    return list(db.scalars(select(SecurityEvent).where(SecurityEvent.kind == kind)))


def emails_to(db, user: User) -> list[str]:  # type: ignore[no-untyped-def]
    return list(db.scalars(select(Notification.template).where(Notification.recipient_id == user.id)))


def set_up_during_sign_in(client: FlaskClient, user: User) -> list[str]:
    """A staff member's first sign-in: password, then the set-up page; the recovery codes shown."""
    assert location(enter_password(client, user)) == "/sign-in/set-up"
    secret = SECRET_KEY_TEXT.search(text(client.get("/sign-in/set-up"))).group(1)
    done = enter_code(client, current_code(secret), url="/sign-in/set-up")
    assert done.status_code == 200, text(done)
    return recovery_codes_on(text(done))


def recovery_codes_on(page: str) -> list[str]:
    listed = RECOVERY_CODES.search(page)
    assert listed, "the page shows no recovery codes"
    return RECOVERY_CODE.findall(listed.group(1))


def signed_in(app: Flask, user: User) -> Browser:
    browser = Browser(app.test_client(), app)
    browser.sign_in(user.email)
    return browser


# No page without the second factor ---------------------------------------------------


@pytest.mark.parametrize("path", PROTECTED_PAGES)
@pytest.mark.parametrize("kind", ["staff", "admin", "staff without a factor", "family with a factor"])
def test_after_the_right_password_no_page_opens_without_the_second_factor(client, db, kind, path):
    user = make_account(db, kind)
    after_password = enter_password(client, user)
    assert after_password.status_code == 302
    expected = "/sign-in/set-up" if kind == "staff without a factor" else "/sign-in/code"
    assert location(after_password) == expected

    assert redirects_to_sign_in(client.get(path))
    assert refreshed(db, user).last_sign_in_at is not None  # the password step did happen
    assert db.scalar(select(UserSession).where(UserSession.user_id == user.id)) is None


def test_the_code_pages_need_a_right_password_first(client, db):
    factories.make_staff(db)
    for path in ("/sign-in/code", "/sign-in/set-up"):
        assert redirects_to_sign_in(client.get(path))


def test_a_right_password_older_than_five_minutes_must_be_typed_again(client, db):
    staff = factories.make_staff(db)
    enter_password(client, staff)
    token = csrf_token(client, "/sign-in/code")
    with client.session_transaction() as pending:
        pending["pending_since"] -= 301
    late = client.post("/sign-in/code", data={"csrf_token": token, "code": current_code()})
    assert redirects_to_sign_in(late)
    assert redirects_to_sign_in(client.get("/staff/"))
    assert refreshed(db, staff).totp_last_step is None  # the code was not even checked


@pytest.mark.parametrize("page", ["/sign-in/code", "/sign-in/set-up"])
def test_the_code_field_is_labelled_authentication_code(client, db, page):
    staff = factories.make_staff(db, two_factor=page == "/sign-in/code")
    enter_password(client, staff)
    html = text(client.get(page))
    assert CODE_LABEL in html
    assert 'autocomplete="one-time-code"' in html


# Setting up at the first sign-in ------------------------------------------------------


def test_staff_without_a_factor_sets_one_up_before_anything_opens(app, client, db):
    staff = factories.make_staff(db, two_factor=False)
    assert location(enter_password(client, staff)) == "/sign-in/set-up"

    page = client.get("/sign-in/set-up")
    assert page.status_code == 200
    html = text(page)
    [qr_code] = QR_IMAGE.findall(html)
    assert qr_code.startswith("data:image/svg+xml")
    secret = SECRET_KEY_TEXT.search(html).group(1)
    assert two_factor.check_secret(secret) == secret
    assert refreshed(db, staff).totp_secret == secret
    assert CODE_LABEL in html
    # The same secret on a reload, so a half-scanned code still works.
    assert SECRET_KEY_TEXT.search(text(client.get("/sign-in/set-up"))).group(1) == secret

    assert redirects_to_sign_in(client.get("/staff/"))
    wrong = enter_code(client, "000000" if current_code(secret) != "000000" else "111111", url="/sign-in/set-up")
    assert wrong.status_code == 200
    assert field_error(text(wrong), "code")
    assert not refreshed(db, staff).has_two_factor
    assert redirects_to_sign_in(client.get("/security/"))

    done = enter_code(client, current_code(secret), url="/sign-in/set-up")
    assert done.status_code == 200
    codes = recovery_codes_on(text(done))
    assert len(codes) == len(set(codes)) == 10

    assert client.get("/security/").status_code == 200
    assert refreshed(db, staff).has_two_factor
    assert [event.user_id for event in events(db, "two_factor_enabled")] == [staff.id]
    assert "two_factor_enabled" in emails_to(db, staff)


def test_after_set_up_the_next_sign_in_asks_for_a_code(app, db):
    staff = factories.make_staff(db, two_factor=False)
    set_up_during_sign_in(app.test_client(), staff)
    later = app.test_client()
    assert location(enter_password(later, staff)) == "/sign-in/code"


# Wrong, reused and expired codes ------------------------------------------------------------


def test_a_wrong_code_is_refused_and_recorded(client, db):
    staff = factories.make_staff(db)
    enter_password(client, staff)
    wrong = "000000" if current_code() != "000000" else "111111"
    refused = enter_code(client, wrong)
    assert refused.status_code == 200
    assert field_error(text(refused), "code") == str(two_factor.WRONG_CODE)
    assert redirects_to_sign_in(client.get("/staff/"))
    [event] = events(db, "two_factor_failed")
    assert event.user_id == staff.id


def test_a_code_used_for_one_sign_in_is_refused_for_the_next(app, db):
    staff = factories.make_staff(db)
    code = pyotp.TOTP(factories.TOTP_SECRET).now()
    first, second = app.test_client(), app.test_client()

    enter_password(first, staff)
    assert enter_code(first, code).status_code == 302
    assert first.get("/security/").status_code == 200

    enter_password(second, staff)
    replayed = enter_code(second, code)
    assert replayed.status_code == 200
    assert field_error(text(replayed), "code") == str(two_factor.WRONG_CODE)
    assert redirects_to_sign_in(second.get("/security/"))


def test_a_code_from_two_minutes_ago_is_refused(client, db):
    staff = factories.make_staff(db)
    old = pyotp.TOTP(factories.TOTP_SECRET).at(utcnow() - timedelta(minutes=2))
    enter_password(client, staff)
    refused = enter_code(client, old)
    assert refused.status_code == 200
    assert redirects_to_sign_in(client.get("/security/"))


@pytest.mark.parametrize(
    "typed",
    ["", "12 34", "abcdef", "<script>alert(1)</script>", "\u0661\u0662\u0663\u0664\u0665\u0666", "1" * 41],
    ids=["empty", "short", "letters", "markup", "arabic-indic-digits", "too-long"],
)
def test_a_malformed_code_gets_a_form_error_not_a_crash(client, db, typed):
    staff = factories.make_staff(db)
    enter_password(client, staff)
    refused = enter_code(client, typed)
    assert refused.status_code == 200
    assert field_error(text(refused), "code")
    assert "<script>alert(1)</script>" not in text(refused)
    assert redirects_to_sign_in(client.get("/security/"))


# Recovery codes -------------------------------------------------------------------------------


def test_a_recovery_code_signs_in_once(app, db):
    staff = factories.make_staff(db, two_factor=False)
    first_code, *_ = set_up_during_sign_in(app.test_client(), staff)

    laptop = app.test_client()
    enter_password(laptop, staff)
    used = enter_code(laptop, first_code)
    assert used.status_code == 302
    assert laptop.get("/security/").status_code == 200
    assert "Recovery codes left: 9" in text(laptop.get("/security/"))
    assert [event.user_id for event in events(db, "recovery_code_used")] == [staff.id]

    again = app.test_client()
    enter_password(again, staff)
    refused = enter_code(again, first_code)
    assert refused.status_code == 200
    assert field_error(text(refused), "code") == str(two_factor.WRONG_CODE)
    assert redirects_to_sign_in(again.get("/security/"))


def test_new_recovery_codes_replace_the_old_ones(app, db):
    staff = factories.make_staff(db, two_factor=False)
    old_codes = set_up_during_sign_in(client := app.test_client(), staff)
    replaced = submit(client, "/security/two-factor/recovery-codes", {}, page="/security/")
    new_codes = recovery_codes_on(text(replaced))
    assert len(new_codes) == 10
    assert not set(old_codes) & set(new_codes)

    other = app.test_client()
    enter_password(other, staff)
    assert enter_code(other, old_codes[0]).status_code == 200
    assert enter_code(other, new_codes[0]).status_code == 302


# Rate limits -----------------------------------------------------------------------------------


def test_code_attempts_are_rate_limited_per_account_like_passwords(app, db):
    staff = factories.make_staff(db)
    wrong = "000000" if current_code() != "000000" else "111111"
    client = app.test_client()
    enter_password(client, staff)
    for _ in range(SIGN_IN_LIMIT):
        assert enter_code(client, wrong).status_code == 200

    limited = enter_code(client, current_code())
    assert limited.status_code == 429
    assert redirects_to_sign_in(client.get("/security/"))
    assert events(db, "rate_limited")

    # A new password step, even from another browser, does not reset the count.
    fresh = app.test_client()
    assert location(enter_password(fresh, staff)) == "/sign-in/code"
    assert enter_code(fresh, current_code()).status_code == 429
    assert redirects_to_sign_in(fresh.get("/security/"))


def test_set_up_code_attempts_are_rate_limited_too(app, db):
    staff = factories.make_staff(db, two_factor=False)
    client = app.test_client()
    enter_password(client, staff)
    secret = SECRET_KEY_TEXT.search(text(client.get("/sign-in/set-up"))).group(1)
    wrong = "000000" if current_code(secret) != "000000" else "111111"
    for _ in range(SIGN_IN_LIMIT):
        assert enter_code(client, wrong, url="/sign-in/set-up").status_code == 200
    assert enter_code(client, current_code(secret), url="/sign-in/set-up").status_code == 429
    assert not refreshed(db, staff).has_two_factor


def test_a_right_code_does_not_count_toward_the_limit(app, db):
    staff = factories.make_staff(db)
    for _ in range(SIGN_IN_LIMIT + 1):
        browser = signed_in(app, staff)
        assert browser.get("/security/").status_code == 200


# Families: optional -------------------------------------------------------------------------------


def test_a_family_can_turn_on_two_factor_and_then_sign_in_asks_for_a_code(app, db):
    household = factories.make_household(db)
    [guardian] = factories.guardians_of(db, household)
    browser = signed_in(app, guardian)
    client = browser.client
    assert "Set up two-step sign-in" in text(client.get("/security/"))

    page = text(client.get("/security/two-factor"))
    assert QR_IMAGE.search(page)
    assert CODE_LABEL in page
    secret = SECRET_KEY_TEXT.search(page).group(1)
    done = enter_code(client, current_code(secret), url="/security/two-factor")
    assert done.status_code == 200
    assert len(recovery_codes_on(text(done))) == 10

    assert refreshed(db, guardian).has_two_factor
    assert "two_factor_enabled" in emails_to(db, guardian)
    audit = db.scalar(select(AuditEvent).where(AuditEvent.action == "user.two_factor_enabled"))
    assert (audit.actor_id, audit.household_id) == (guardian.id, household.id)
    assert [event.user_id for event in events(db, "two_factor_enabled")] == [guardian.id]

    later = app.test_client()
    assert location(enter_password(later, guardian)) == "/sign-in/code"
    assert redirects_to_sign_in(later.get("/family/"))
    signed = enter_code(later, Browser(later, app).fresh_totp_code(guardian.email))
    assert location(signed) == "/family/"
    assert later.get("/family/").status_code == 200


def test_a_family_without_two_factor_signs_in_with_the_password_alone(client, db):
    [guardian] = factories.guardians_of(db, factories.make_household(db))
    assert location(enter_password(client, guardian)) == "/family/"


def test_a_family_turns_two_factor_off_with_its_password(app, db):
    guardian = family_with_two_factor(db)
    client = signed_in(app, guardian).client
    assert "Turn off two-step sign-in" in text(client.get("/security/"))

    wrong = submit(client, "/security/two-factor/off", {"password": "not my password at all"})
    assert wrong.status_code == 200
    assert field_error(text(wrong), "password") == "Your password is not right."
    assert refreshed(db, guardian).has_two_factor

    turned_off = submit(client, "/security/two-factor/off", {"password": factories.PASSWORD})
    assert location(turned_off) == "/security/"
    user = refreshed(db, guardian)
    assert not user.has_two_factor
    assert user.totp_secret is None
    assert "two_factor_disabled" in emails_to(db, guardian)
    assert [event.user_id for event in events(db, "two_factor_disabled")] == [guardian.id]

    later = app.test_client()
    assert location(enter_password(later, guardian)) == "/family/"


@pytest.mark.parametrize("role", [Role.STAFF, Role.ADMIN])
def test_staff_cannot_turn_their_own_second_factor_off(app, db, role):
    staff = factories.make_staff(db, role=role)
    client = signed_in(app, staff).client
    assert "Turn off two-step sign-in" not in text(client.get("/security/"))

    refused = submit(client, "/security/two-factor/off", {"password": factories.PASSWORD})
    assert refused.status_code == 403
    assert refreshed(db, staff).has_two_factor
    assert events(db, "two_factor_disabled") == []
    assert "two_factor_disabled" not in emails_to(db, staff)


def test_turning_off_a_factor_that_is_not_on_changes_nothing_and_sends_nothing(app, db):
    [guardian] = factories.guardians_of(db, factories.make_household(db))
    client = signed_in(app, guardian).client
    submit(client, "/security/two-factor/off", {"password": factories.PASSWORD}, page="/security/")
    assert "two_factor_disabled" not in emails_to(db, guardian)
    assert events(db, "two_factor_disabled") == []
    audit = db.scalar(select(AuditEvent).where(AuditEvent.action == "user.two_factor_disabled"))
    assert audit is None


# Admin reset ----------------------------------------------------------------------------------------


def test_an_admin_resets_a_staff_members_factor(app, db):
    admin = factories.make_admin(db, name="Ada Admin")
    staff = factories.make_staff(db, name="Sam Staff")
    staff_browser = signed_in(app, staff)
    admin_client = signed_in(app, admin).client
    assert "Reset the second factor of Sam Staff" in text(admin_client.get("/admin/"))

    reset = submit(admin_client, f"/admin/staff/{staff.id}/two-factor/reset", {}, page="/admin/")
    assert location(reset) == "/admin/"

    user = refreshed(db, staff)
    assert not user.has_two_factor
    assert user.totp_secret is None
    audit = db.scalar(select(AuditEvent).where(AuditEvent.action == "user.two_factor_reset"))
    assert (audit.actor_id, audit.object_type, audit.object_id) == (admin.id, "user", staff.id)
    [event] = events(db, "two_factor_reset")
    assert event.user_id == staff.id
    assert "two_factor_disabled" in emails_to(db, staff)
    # Every session of the staff member ended; the next sign-in sets up a new factor.
    assert redirects_to_sign_in(staff_browser.get("/security/"))
    assert db.scalar(select(UserSession).where(UserSession.user_id == staff.id)) is None
    again = app.test_client()
    assert location(enter_password(again, staff)) == "/sign-in/set-up"
    new_secret = SECRET_KEY_TEXT.search(text(again.get("/sign-in/set-up"))).group(1)
    assert new_secret != factories.TOTP_SECRET
    # The admin is still signed in.
    assert admin_client.get("/admin/").status_code == 200


def test_an_admin_cannot_reset_their_own_factor(app, db):
    admin = factories.make_admin(db)
    client = signed_in(app, admin).client
    refused = submit(client, f"/admin/staff/{admin.id}/two-factor/reset", {}, page="/admin/")
    assert refused.status_code == 403
    assert refreshed(db, admin).has_two_factor
    assert client.get("/admin/").status_code == 200


def test_staff_who_are_not_admins_cannot_reset_a_factor(app, db):
    staff, colleague = factories.make_staff(db), factories.make_staff(db)
    client = signed_in(app, staff).client
    refused = submit(client, f"/admin/staff/{colleague.id}/two-factor/reset", {}, page="/security/")
    assert refused.status_code == 403
    assert refreshed(db, colleague).has_two_factor


def test_a_family_cannot_reset_a_factor(app, db):
    guardian, staff = family_with_two_factor(db), factories.make_staff(db)
    client = signed_in(app, guardian).client
    refused = submit(client, f"/admin/staff/{staff.id}/two-factor/reset", {}, page="/security/")
    assert refused.status_code == 403
    assert refreshed(db, staff).has_two_factor


def test_an_admins_reset_does_not_reach_family_accounts(app, db):
    admin, guardian = factories.make_admin(db), family_with_two_factor(db)
    client = signed_in(app, admin).client
    refused = submit(client, f"/admin/staff/{guardian.id}/two-factor/reset", {}, page="/admin/")
    assert refused.status_code == 404
    assert refreshed(db, guardian).has_two_factor


def test_a_reset_without_the_csrf_token_is_refused(app, db):
    admin, staff = factories.make_admin(db), factories.make_staff(db)
    client = signed_in(app, admin).client
    assert client.post(f"/admin/staff/{staff.id}/two-factor/reset").status_code == 400
    assert refreshed(db, staff).has_two_factor
