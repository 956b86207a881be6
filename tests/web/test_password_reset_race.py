"""A password-reset link works once: under concurrency, after a newer link, after a sign-in;
and it tells whoever holds it nothing about the account.

The race runs on PostgreSQL only, where two app workers really write side by side; on
SQLite one write waits for the other, and the single use is tested without threads
(tests/unit/test_accounts.py)."""

import base64
import binascii
import json
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import AuditEvent, Notification, PasswordReset, SecurityEvent, User
from portal.services.accounts import passwords
from tests import factories
from tests.conftest import EXTERNAL_DATABASE_URL, csrf_token_from
from tests.web.support import in_parallel, location, password_sign_in, submit, text

NEW_PASSWORDS = ["purple elephants juggle quietly", "seven lanterns over the harbour"]
LINK_USED = "This link no longer works"

on_postgresql_only = pytest.mark.skipif(
    not EXTERNAL_DATABASE_URL.startswith("postgresql"),
    reason="two requests writing at once need PostgreSQL (set PORTAL_TEST_DATABASE_URL); SQLite runs one write at a "
    "time, and single use without threads is tested in tests/unit/test_accounts.py",
)


def reset_token(app: Flask, db: Session, user: User) -> str:
    with app.app_context():
        return factories.reset_token(db, user)


def count(db: Session, model: type, *where: Any) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model).where(*where)) or 0


# --- two people use one link at the same moment -------------------------------------------------


@on_postgresql_only
@pytest.mark.parametrize("round_number", range(3))
def test_two_parallel_resets_with_one_link_change_the_password_once(app, db, round_number):
    user = factories.make_user(db)
    token = reset_token(app, db, user)
    path = f"/reset-password/{token}"
    browsers = [app.test_client() for _ in NEW_PASSWORDS]  # two browsers, each with its own session
    forms = [
        {"csrf_token": csrf_token_from(browser.get(path).get_data(as_text=True)), "password": typed, "confirm": typed}
        for browser, typed in zip(browsers, NEW_PASSWORDS, strict=True)
    ]

    answers = in_parallel(
        [lambda b=browser, f=form: b.post(path, data=f) for browser, form in zip(browsers, forms, strict=True)]
    )

    assert sorted(answer.status_code for answer in answers) == [302, 410], [a.status_code for a in answers]
    winner = next(number for number, answer in enumerate(answers) if answer.status_code == 302)
    assert location(answers[winner]) == "/sign-in"
    assert LINK_USED in text(answers[1 - winner])
    db.expire_all()
    password_hash = db.get_one(User, user.id).password_hash
    assert passwords.verify_password(password_hash, NEW_PASSWORDS[winner])
    assert not passwords.verify_password(password_hash, NEW_PASSWORDS[1 - winner])
    assert count(db, AuditEvent, AuditEvent.action == "user.password_reset") == 1
    assert count(db, Notification, Notification.template == "password_changed") == 1
    assert count(db, SecurityEvent, SecurityEvent.kind == "password_reset") == 1
    assert count(db, PasswordReset, PasswordReset.used_at.is_not(None)) == 1


@on_postgresql_only
@pytest.mark.parametrize("round_number", range(3))
def test_parallel_forgot_password_posts_leave_one_live_link(app, db, round_number):
    user = factories.make_user(db)
    browsers = [app.test_client() for _ in range(4)]
    forms = [
        {"csrf_token": csrf_token_from(browser.get("/forgot-password").get_data(as_text=True)), "email": user.email}
        for browser in browsers
    ]

    answers = in_parallel(
        [
            lambda b=browser, f=form: b.post("/forgot-password", data=f)
            for browser, form in zip(browsers, forms, strict=True)
        ]
    )

    assert all(answer.status_code < 500 for answer in answers), [a.status_code for a in answers]
    live = PasswordReset.used_at.is_(None), PasswordReset.revoked_at.is_(None)
    assert count(db, PasswordReset, PasswordReset.user_id == user.id) == 4
    assert count(db, PasswordReset, PasswordReset.user_id == user.id, *live) == 1


# --- a newer link, a sign-in ---------------------------------------------------------------------


def test_a_newer_reset_link_kills_the_older_one_even_with_its_form_open(app, client, db):
    user = factories.make_user(db)
    older = reset_token(app, db, user)
    form_token = csrf_token_from(client.get(f"/reset-password/{older}").get_data(as_text=True))
    newer = reset_token(app, db, user)  # asked again, from another tab

    typed = {"csrf_token": form_token, "password": NEW_PASSWORDS[0], "confirm": NEW_PASSWORDS[0]}
    refused = client.post(f"/reset-password/{older}", data=typed)
    assert refused.status_code == 410
    assert LINK_USED in text(refused)
    assert client.get(f"/reset-password/{older}").status_code == 410
    db.expire_all()
    assert passwords.verify_password(db.get_one(User, user.id).password_hash, factories.PASSWORD)
    changed = submit(client, f"/reset-password/{newer}", {"password": NEW_PASSWORDS[1], "confirm": NEW_PASSWORDS[1]})
    assert location(changed) == "/sign-in"


def test_the_forgot_password_form_ends_the_link_it_sent_before(app, client, db):
    user = factories.make_user(db)
    older = reset_token(app, db, user)
    submit(client, "/forgot-password", {"email": user.email})
    assert client.get(f"/reset-password/{older}").status_code == 410
    assert count(db, PasswordReset, PasswordReset.revoked_at.is_(None)) == 1


def test_a_sign_in_kills_the_outstanding_reset_links(app, client, db):
    user = factories.make_user(db)
    token = reset_token(app, db, user)
    assert location(password_sign_in(client, user.email, factories.PASSWORD)) == "/family/"
    assert app.test_client().get(f"/reset-password/{token}").status_code == 410


def test_a_failed_sign_in_leaves_the_reset_link_working(app, client, db):
    user = factories.make_user(db)
    token = reset_token(app, db, user)
    assert password_sign_in(client, user.email, "not the password at all").status_code == 200
    assert client.get(f"/reset-password/{token}").status_code == 200


def test_a_sign_in_kills_only_that_accounts_links(app, client, db):
    user, other = factories.make_user(db), factories.make_user(db)
    others = reset_token(app, db, other)
    reset_token(app, db, user)
    password_sign_in(client, user.email, factories.PASSWORD)
    assert app.test_client().get(f"/reset-password/{others}").status_code == 200


# --- the token names nothing ----------------------------------------------------------------------


def _shared_start(one: str, other: str) -> int:
    return next(
        (place for place, (a, b) in enumerate(zip(one, other, strict=False)) if a != b), min(len(one), len(other))
    )


def _decoded(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def test_a_reset_token_is_random_and_shows_no_user_id(app, db):
    # Many accounts, so that the user id is a number of some digits.
    for _ in range(11):
        factories.make_user(db)
    user = factories.make_user(db)
    first, second = reset_token(app, db, user), reset_token(app, db, user)

    for token in (first, second):
        assert "." not in token  # no signed payload with a readable part
        raw = _decoded(token)
        assert len(raw) == 32  # 256 random bits, nothing else
        with pytest.raises((UnicodeDecodeError, json.JSONDecodeError)):
            json.loads(raw)
        assert f'"u":{user.id}' not in raw.decode("latin-1") and user.email not in token
    # Two links of one account share no structure beyond what chance gives.
    assert _shared_start(first, second) < 4 and _shared_start(first[::-1], second[::-1]) < 4
    assert sum(a == b for a, b in zip(first, second, strict=True)) < 10  # 43 places: about 0.7 alike by chance
    # The database keeps hashes only: the token is nowhere in it.
    stored = [row.token_hash for row in db.scalars(select(PasswordReset))]
    assert first not in stored and second not in stored


def test_the_reset_email_carries_the_link_and_nothing_else_about_the_token(app, client, db):
    user = factories.make_user(db)
    token = reset_token(app, db, user)
    notification = db.scalars(select(Notification).where(Notification.template == "password_reset")).one()
    assert notification.payload == {"token": token}
    with pytest.raises((binascii.Error, ValueError, UnicodeDecodeError)):
        _decoded(token).decode("ascii")
