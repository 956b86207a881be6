"""Signing in and out, forgotten passwords, invitations and activation codes, through the test client."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.db import utcnow
from portal.models import Invitation, Notification, Student, User
from portal.services.accounts import passwords
from tests import factories
from tests.web.support import (
    CSRF_PATTERN,
    field_error,
    input_value,
    location,
    password_sign_in,
    redirects_to_sign_in,
    session_cookie,
    sign_out,
    submit,
    text,
    without_tokens,
)

NEW_PASSWORD = "purple elephants juggle quietly"


def reload(db, model, object_id):
    db.expire_all()
    return db.get(model, object_id)


def notifications(db, template: str) -> list[Notification]:
    db.expire_all()
    return list(db.scalars(select(Notification).where(Notification.template == template).order_by(Notification.id)))


def invite(app, db, user, **kwargs):
    with app.app_context():
        return factories.invite(db, user, **kwargs)


def reset_token(app, db, user, **kwargs) -> str:
    with app.app_context():
        return factories.reset_token(db, user, **kwargs)


def family_guardian(db, **kwargs) -> User:
    """A family account in a household of its own."""
    return factories.guardians_of(db, factories.make_household(db, **kwargs))[0]


def token_in(html: str) -> str:
    return CSRF_PATTERN.search(html).group(1)


def new_password(password: str = NEW_PASSWORD) -> dict[str, str]:
    return {"password": password, "confirm": password}


# /sign-in and /sign-out --------------------------------------------------------------------


def test_the_sign_in_page_has_labelled_fields_and_links_to_help(client):
    page = text(client.get("/sign-in"))
    assert '<label for="email">Email</label>' in page
    assert '<label for="password">Password</label>' in page
    assert 'href="/forgot-password"' in page
    assert 'href="/activate"' in page


def test_a_family_signs_in_and_lands_on_its_household(client, db):
    household = factories.make_household(db, name="Rivera family")
    guardian = factories.guardians_of(db, household)[0]
    response = password_sign_in(client, guardian.email)
    assert response.status_code == 302
    assert location(response) == "/family/"
    assert "Rivera family" in text(client.get("/family/"))
    assert reload(db, User, guardian.id).last_sign_in_at is not None


def test_the_email_is_not_case_sensitive_at_sign_in(client, db):
    guardian = factories.make_user(db, email="ana@example.org")
    response = password_sign_in(client, "  ANA@Example.org ")
    assert location(response) == "/family/", guardian.email


def test_wrong_password_and_unknown_email_get_the_same_page(client, db):
    factories.make_user(db, email="ana@example.org")
    wrong_password = password_sign_in(client, "ana@example.org", "not the right password")
    unknown_email = password_sign_in(client, "bob@example.org", "not the right password")
    assert wrong_password.status_code == unknown_email.status_code == 200
    same_email_typed = {
        "wrong": without_tokens(text(wrong_password)).replace("ana@example.org", "EMAIL"),
        "unknown": without_tokens(text(unknown_email)).replace("bob@example.org", "EMAIL"),
    }
    assert same_email_typed["wrong"] == same_email_typed["unknown"]
    assert "do not match an account" in field_error(text(wrong_password), "password")


@pytest.mark.parametrize("state", ["deactivated", "not yet activated"])
def test_an_account_that_may_not_sign_in_gets_the_same_answer_as_a_wrong_password(client, db, state):
    user = factories.make_user(db, activated=state != "not yet activated")
    user.is_active = state != "deactivated"
    db.commit()
    response = password_sign_in(client, user.email)
    assert response.status_code == 200
    assert "do not match an account" in field_error(text(response), "password")
    assert redirects_to_sign_in(client.get("/family/"))


@pytest.mark.parametrize(("email", "password"), [("", factories.PASSWORD), ("ana@example.org", "")])
def test_an_empty_field_is_reported_next_to_it_and_the_other_value_is_kept(client, db, email, password):
    response = password_sign_in(client, email, password)
    html = text(response)
    assert response.status_code == 200
    if not email:
        assert field_error(html, "email") == "Enter your email address."
    else:
        assert field_error(html, "password") == "Enter your password."
        assert input_value(html, "email") == "ana@example.org"


def test_the_password_is_never_sent_back_in_the_page(client, db):
    factories.make_user(db, email="ana@example.org")
    response = password_sign_in(client, "ana@example.org", "my secret attempt 123")
    assert "my secret attempt 123" not in text(response)


def test_a_signed_in_user_opening_sign_in_goes_home(client, db):
    guardian = family_guardian(db)
    password_sign_in(client, guardian.email)
    response = client.get("/sign-in")
    assert response.status_code == 302
    assert location(response) == "/family/"


def test_sign_in_returns_to_the_page_asked_for(client, db):
    household = factories.make_household(db)
    student_id = db.scalar(select(Student.id).where(Student.household_id == household.id))
    guardian = factories.guardians_of(db, household)[0]
    asked = client.get(f"/family/students/{student_id}")
    assert redirects_to_sign_in(asked)
    sign_in_page = location(asked)
    # The sign-in form's own `next` (the header's language switch carries one too: back here).
    main = text(client.get(sign_in_page)).split("<main", 1)[1]
    next_path = input_value(main, "next")
    assert next_path == f"/family/students/{student_id}"
    response = submit(
        client,
        "/sign-in",
        {"email": guardian.email, "password": factories.PASSWORD, "next": next_path},
        page=sign_in_page,
    )
    assert location(response) == f"/family/students/{student_id}"
    assert client.get(location(response)).status_code == 200


def test_sign_out_ends_the_session(client, db):
    guardian = family_guardian(db)
    password_sign_in(client, guardian.email)
    assert client.get("/family/").status_code == 200
    response = sign_out(client)
    assert redirects_to_sign_in(response)
    assert "You are signed out." in text(client.get(location(response)))
    assert redirects_to_sign_in(client.get("/family/"))


def test_sign_out_only_accepts_post(client, db):
    guardian = family_guardian(db)
    password_sign_in(client, guardian.email)
    assert client.get("/sign-out").status_code == 405
    assert client.get("/family/").status_code == 200


def test_sign_out_when_not_signed_in_goes_to_sign_in(client):
    response = submit(client, "/sign-out", {}, page="/sign-in")
    assert redirects_to_sign_in(response)


# /forgot-password and /reset-password/<token> -----------------------------------------------------


def test_forgot_password_answers_the_same_for_known_and_unknown_addresses(client, db):
    user = factories.make_user(db, email="ana@example.org")
    known = submit(client, "/forgot-password", {"email": "ana@example.org"})
    known_page = text(client.get(location(known)))
    unknown = submit(client, "/forgot-password", {"email": "nobody@example.org"})
    unknown_page = text(client.get(location(unknown)))
    assert known.status_code == unknown.status_code == 302
    assert location(known) == location(unknown) == "/sign-in"
    assert without_tokens(known_page) == without_tokens(unknown_page)
    assert "If an account uses that address" in known_page
    queued = notifications(db, "password_reset")
    assert [(n.recipient_id, n.to_address) for n in queued] == [(user.id, "ana@example.org")]


def test_forgot_password_queues_nothing_for_a_deactivated_account(client, db):
    user = factories.make_user(db)
    user.is_active = False
    db.commit()
    submit(client, "/forgot-password", {"email": user.email})
    assert notifications(db, "password_reset") == []


def test_forgot_password_asks_for_an_address(client):
    response = submit(client, "/forgot-password", {"email": ""})
    assert response.status_code == 200
    assert field_error(text(response), "email") == "Enter your email address."


def test_a_reset_link_sets_a_new_password_once(app, client, db):
    user = factories.make_user(db)
    token = reset_token(app, db, user)
    form = client.get(f"/reset-password/{token}")
    assert form.status_code == 200
    assert '<label for="password">New password</label>' in text(form)
    response = submit(client, f"/reset-password/{token}", new_password())
    assert redirects_to_sign_in(response)
    assert "Your password is changed" in text(client.get("/sign-in"))
    assert location(password_sign_in(client, user.email, NEW_PASSWORD)) == "/family/"
    assert len(notifications(db, "password_changed")) == 1
    used_again = client.get(f"/reset-password/{token}")
    assert used_again.status_code == 410
    assert "This link no longer works" in text(used_again)


def test_the_old_password_stops_working_after_a_reset(app, client, db):
    user = factories.make_user(db)
    token = reset_token(app, db, user)
    submit(client, f"/reset-password/{token}", new_password())
    assert password_sign_in(client, user.email, factories.PASSWORD).status_code == 200


def test_a_reset_link_expires_after_an_hour(app, client, db):
    user = factories.make_user(db)
    stale = reset_token(app, db, user, issued_at=utcnow() - timedelta(seconds=3600 + 5))
    fresh = reset_token(app, db, user, issued_at=utcnow() - timedelta(seconds=3600 - 60))
    assert client.get(f"/reset-password/{stale}").status_code == 410
    assert client.get(f"/reset-password/{fresh}").status_code == 200


def test_a_reset_link_that_expired_while_the_form_was_open_is_refused(app, client, db):
    user = factories.make_user(db)
    token = reset_token(app, db, user, issued_at=utcnow() - timedelta(seconds=3600 + 5))
    token_page = submit(client, f"/reset-password/{token}", new_password(), page="/forgot-password")
    assert token_page.status_code == 410
    assert passwords.verify_password(reload(db, User, user.id).password_hash, factories.PASSWORD)


def test_a_forged_reset_link_gets_the_link_expired_page(client):
    for token in ["nonsense", "x" * 3000, "eyJ1IjoxfQ.abc.def", "%00", "..%2F..%2Fetc"]:
        response = client.get(f"/reset-password/{token}")
        assert response.status_code in (404, 410), token
        if response.status_code == 410:
            assert 'href="/forgot-password"' in text(response)


def test_a_refused_new_password_is_explained_and_the_link_still_works(app, client, db):
    user = factories.make_user(db)
    token = reset_token(app, db, user)
    refusals = [
        ("short", "short", "at least 12 characters"),
        ("password1234", "password1234", "too common"),
        (NEW_PASSWORD, NEW_PASSWORD + "!", "not the same"),
        ("", "", "Choose a password."),
    ]
    for password, confirm, message in refusals:
        response = submit(client, f"/reset-password/{token}", {"password": password, "confirm": confirm})
        assert response.status_code == 200, password
        assert message in text(response), password
    assert client.get(f"/reset-password/{token}").status_code == 200


# /invitation/<token> ------------------------------------------------------------------------------


def test_an_invitation_link_activates_the_account_and_signs_in(app, client, db):
    household = factories.make_household(db, activated=False, name="Lee family")
    guardian = factories.guardians_of(db, household)[0]
    issued = invite(app, db, guardian)
    page = client.get(f"/invitation/{issued.token}")
    assert page.status_code == 200
    assert guardian.email in text(page)
    response = submit(client, f"/invitation/{issued.token}", new_password())
    assert response.status_code == 302
    assert location(response) == "/family/"
    assert "Lee family" in text(client.get("/family/"))
    activated = reload(db, User, guardian.id)
    assert activated.activated_at is not None
    assert passwords.verify_password(activated.password_hash, NEW_PASSWORD)


def test_an_invitation_link_works_once(app, client, db):
    guardian = factories.make_user(db, activated=False)
    issued = invite(app, db, guardian)
    submit(client, f"/invitation/{issued.token}", new_password())
    other_browser = app.test_client()
    again = other_browser.get(f"/invitation/{issued.token}")
    assert again.status_code == 410
    assert "This link no longer works" in text(again)


def test_an_invitation_link_expires(app, client, db):
    guardian = factories.make_user(db, activated=False)
    issued = invite(app, db, guardian, now=utcnow() - timedelta(days=22), valid_days=21)
    assert client.get(f"/invitation/{issued.token}").status_code == 410


def test_a_reissued_invitation_revokes_the_older_link_and_code(app, client, db):
    guardian = factories.make_user(db, activated=False)
    first = invite(app, db, guardian)
    second = invite(app, db, guardian)
    assert client.get(f"/invitation/{first.token}").status_code == 410
    refused = submit(client, "/activate", {"code": first.code})
    assert refused.status_code == 200
    assert "not valid" in field_error(text(refused), "code")
    assert client.get(f"/invitation/{second.token}").status_code == 200


def test_an_invitation_opened_in_two_tabs_activates_only_once(app, db):
    guardian = factories.make_user(db, activated=False)
    issued = invite(app, db, guardian)
    first_tab, second_tab = app.test_client(), app.test_client()
    first_form = text(first_tab.get(f"/invitation/{issued.token}"))
    second_form = text(second_tab.get(f"/invitation/{issued.token}"))
    first = first_tab.post(f"/invitation/{issued.token}", data={"csrf_token": token_in(first_form), **new_password()})
    second = second_tab.post(
        f"/invitation/{issued.token}",
        data={"csrf_token": token_in(second_form), **new_password("another passphrase entirely")},
    )
    assert first.status_code == 302
    assert second.status_code == 410
    assert passwords.verify_password(reload(db, User, guardian.id).password_hash, NEW_PASSWORD)


def test_a_weak_first_password_is_explained_and_the_invitation_still_works(app, client, db):
    guardian = factories.make_user(db, activated=False, name="Ana Lopez", email="ana.lopez@example.org")
    issued = invite(app, db, guardian)
    response = submit(client, f"/invitation/{issued.token}", new_password("ana.lopez is great"))
    assert response.status_code == 200
    assert "Do not build your password on your email address or your name" in field_error(text(response), "password")
    assert client.get(f"/invitation/{issued.token}").status_code == 200


# /activate and /activate/password --------------------------------------------------------------------


def test_an_activation_code_from_a_letter_activates_the_account(app, client, db):
    household = factories.make_household(db, activated=False)
    guardian = factories.guardians_of(db, household)[0]
    issued = invite(app, db, guardian)
    response = submit(client, "/activate", {"code": issued.code})
    assert response.status_code == 302
    assert location(response) == "/activate/password"
    page = client.get("/activate/password")
    assert guardian.email in text(page)
    done = submit(client, "/activate/password", new_password())
    assert location(done) == "/family/"
    assert client.get("/family/").status_code == 200
    assert reload(db, Invitation, issued.invitation.id).used_at is not None


def test_an_activation_code_typed_in_lower_case_with_spaces_works(app, db):
    guardians = factories.guardians_of(db, factories.make_household(db, guardians=2, activated=False))
    typings = [lambda code: code.lower().replace("-", " "), lambda code: f"  {code.lower().replace('-', '')}  "]
    for guardian, typing in zip(guardians, typings, strict=True):
        code = invite(app, db, guardian).code
        response = submit(app.test_client(), "/activate", {"code": typing(code)})
        assert location(response) == "/activate/password", typing(code)


def test_an_activation_code_works_once(app, client, db):
    guardian = factories.make_user(db, activated=False)
    issued = invite(app, db, guardian)
    submit(client, "/activate", {"code": issued.code})
    submit(client, "/activate/password", new_password())
    other_browser = app.test_client()
    again = submit(other_browser, "/activate", {"code": issued.code})
    assert again.status_code == 200
    assert "not valid" in field_error(text(again), "code")


def test_an_expired_activation_code_is_refused(app, client, db):
    guardian = factories.make_user(db, activated=False)
    issued = invite(app, db, guardian, now=utcnow() - timedelta(days=22), valid_days=21)
    response = submit(client, "/activate", {"code": issued.code})
    assert response.status_code == 200
    assert "not valid" in field_error(text(response), "code")


def test_a_wrong_activation_code_is_explained_next_to_the_field_and_kept(client):
    mistakes = [
        ("ABCD", "12 letters and digits"),
        ("ABCD-EFGH-JKMN-PQRS", "12 letters and digits"),
        ("2345-6789-ABCD", "not valid"),
        ("", "Enter the code from your letter."),
    ]
    for code, message in mistakes:
        response = submit(client, "/activate", {"code": code})
        assert response.status_code == 200, code
        html = text(response)
        assert message in (field_error(html, "code") or ""), code
        assert input_value(html, "code") == code


def test_choosing_a_password_without_a_code_goes_back_to_the_code(client):
    response = client.get("/activate/password")
    assert response.status_code == 302
    assert location(response) == "/activate"


def test_the_code_step_does_not_survive_a_revoked_invitation(app, client, db):
    guardian = factories.make_user(db, activated=False)
    issued = invite(app, db, guardian)
    submit(client, "/activate", {"code": issued.code})
    invite(app, db, guardian)
    response = client.get("/activate/password")
    assert location(response) == "/activate"


# /password ----------------------------------------------------------------------------------------------


def change_password(client, current=factories.PASSWORD, password=NEW_PASSWORD, confirm=None):
    return submit(
        client,
        "/password",
        {"current_password": current, "password": password, "confirm": confirm if confirm is not None else password},
    )


def test_changing_the_password_keeps_this_browser_signed_in_with_a_new_session(client, db):
    guardian = family_guardian(db)
    password_sign_in(client, guardian.email)
    before = session_cookie(client)
    response = change_password(client)
    assert response.status_code == 302
    assert location(response) == "/family/"
    assert session_cookie(client) != before
    assert client.get("/family/").status_code == 200
    assert passwords.verify_password(reload(db, User, guardian.id).password_hash, NEW_PASSWORD)
    assert len(notifications(db, "password_changed")) == 1


def test_a_refused_password_change_is_explained_next_to_its_field(client, db):
    guardian = family_guardian(db)
    password_sign_in(client, guardian.email)
    refusals = [
        ({"current": "not my password"}, "current_password", "current password is not right"),
        ({"password": "short"}, "password", "at least 12 characters"),
        ({"password": "qwertyuiopas"}, "password", "too common"),
        ({"confirm": "something else entirely"}, "confirm", "not the same"),
    ]
    for fields, field, message in refusals:
        response = change_password(client, **fields)
        assert response.status_code == 200, fields
        assert message in (field_error(text(response), field) or ""), fields
    assert passwords.verify_password(reload(db, User, guardian.id).password_hash, factories.PASSWORD)


def test_changing_the_password_needs_a_signed_in_user(client):
    assert redirects_to_sign_in(client.get("/password"))
