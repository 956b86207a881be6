"""Every way a password is set refuses a common one, and one built on the person's own
email or name, with the message beside the password field; nothing changes, and the
link, code or session still works for a better password.

The ways: an invitation link (a family's, and a staff account an admin created), an
activation code from a letter, a reset link, the change-password page, and the demo
command. These forms hold only password fields, which are never sent back to the browser
(the other fields' input is kept as everywhere, by the form macro)."""

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import Role, User
from portal.services.accounts import InvitationSettings, passwords, staff_accounts
from tests import factories
from tests.web.support import field_error, location, password_sign_in, submit, text

COMMON = "This password is too common or too easy to guess."
PERSONAL = "Do not build your password on your email address or your name."
GOOD_PASSWORD = "kettle orbit lantern meadow"
EMAIL = "robin.okafor@example.org"
NAME = "Robin Okafor"

# Common, padded, runs and digits only; then the email, its local part, the name.
REFUSED = [
    ("123456789012", COMMON),
    ("Password1234!", COMMON),
    ("!!iloveyou2024", COMMON),
    ("0000000000000", COMMON),
    ("1qaz2wsx3edc4rfv", COMMON),
    ("robin.okafor@example.org", PERSONAL),
    ("ROBIN.OKAFOR rules", PERSONAL),
    ("my name is okafor!", PERSONAL),
]


@dataclass
class Way:
    """A page that sets a password, ready to post to."""

    url: str
    client: FlaskClient
    user_id: int
    extra: dict[str, str] = field(default_factory=dict)


def family_invitation(app: Flask, db: Session) -> Way:
    user = factories.make_user(db, email=EMAIL, name=NAME, activated=False)
    with app.app_context():
        issued = factories.invite(db, user)
    return Way(f"/invitation/{issued.token}", app.test_client(), user.id)


def staff_invitation(app: Flask, db: Session) -> Way:
    admin = factories.make_admin(db)
    with app.app_context():
        settings = InvitationSettings.from_config(app.config)
        issued = staff_accounts.create_staff_account(
            db, admin, display_name=NAME, email=EMAIL, role=Role.STAFF, language="en", settings=settings, now=utcnow()
        )
        db.commit()
    return Way(f"/invitation/{issued.token}", app.test_client(), issued.invitation.user_id)


def activation_code(app: Flask, db: Session) -> Way:
    user = factories.make_user(db, email=EMAIL, name=NAME, activated=False)
    with app.app_context():
        issued = factories.invite(db, user)
    client = app.test_client()
    assert location(submit(client, "/activate", {"code": issued.code})) == "/activate/password"
    return Way("/activate/password", client, user.id)


def reset_link(app: Flask, db: Session) -> Way:
    user = factories.make_user(db, email=EMAIL, name=NAME)
    with app.app_context():
        token = factories.reset_token(db, user)
    return Way(f"/reset-password/{token}", app.test_client(), user.id)


def change_password(app: Flask, db: Session) -> Way:
    user = factories.make_user(db, email=EMAIL, name=NAME)
    client = app.test_client()
    assert password_sign_in(client, EMAIL).status_code == 302
    return Way("/password", client, user.id, {"current_password": factories.PASSWORD})


WAYS: list[Callable[[Flask, Session], Way]] = [
    family_invitation,
    staff_invitation,
    activation_code,
    reset_link,
    change_password,
]


def password_hash_of(db: Session, user_id: int) -> str | None:
    db.expire_all()
    return db.get_one(User, user_id).password_hash


@pytest.mark.parametrize("way", WAYS, ids=[way.__name__ for way in WAYS])
def test_every_way_of_setting_a_password_refuses_common_and_personal_ones(app, db, way):
    opened = way(app, db)
    before = password_hash_of(db, opened.user_id)
    for password, message in REFUSED:
        response = submit(opened.client, opened.url, {**opened.extra, "password": password, "confirm": password})
        assert response.status_code == 200, password
        page = text(response)
        assert message in (field_error(page, "password") or ""), password
        for other in ("confirm", *opened.extra):
            assert field_error(page, other) is None, (password, other)
        assert password_hash_of(db, opened.user_id) == before, password

    accepted = submit(opened.client, opened.url, {**opened.extra, "password": GOOD_PASSWORD, "confirm": GOOD_PASSWORD})
    assert accepted.status_code == 302
    assert passwords.verify_password(password_hash_of(db, opened.user_id), GOOD_PASSWORD)


@pytest.mark.parametrize("password", ["123456789012", "Password1234!", "short"])
def test_the_demo_command_refuses_a_weak_password_and_loads_nothing(db, runner, password):
    result = runner.invoke(args=["seed-demo", "--password", password])
    assert result.exit_code == 2, result.output
    assert "--password" in result.output
    assert db.scalar(select(func.count()).select_from(User)) == 0
