"""Accounts without HTTP: sign-in, password changes and resets, invitations and activation codes."""

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select

from portal.models import AuditEvent, Invitation, Notification, NotificationStatus, PasswordReset, User
from portal.services import accounts
from portal.services.accounts import passwords
from portal.services.errors import DomainError, InvalidInput, InvalidToken
from tests import factories

NOW = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)
SECRET = "unit-test-secret"
RESET_SECONDS = 3600
LOOK_ALIKES = set("01OIL")
CODE_CHARACTER = "[23456789ABCDEFGHJKMNPQRSTUVWXYZ]"
CODE_PATTERN = re.compile(rf"^{CODE_CHARACTER}{{4}}-{CODE_CHARACTER}{{4}}-{CODE_CHARACTER}{{4}}$")


def notifications_for(db, user, template):
    return list(
        db.scalars(select(Notification).where(Notification.recipient_id == user.id, Notification.template == template))
    )


def issue(db, user, *, now=NOW, valid_days=21, actor=None):
    settings = accounts.InvitationSettings(valid_days=valid_days, secret_key=SECRET)
    issued = accounts.issue_invitation(db, actor, user, settings, now=now)
    db.commit()
    return issued


def reset_token_at(db, user, issued_at: datetime) -> str:
    """The token of the reset email request_password_reset queues at `issued_at`."""
    accounts.request_password_reset(db, user.email, now=issued_at, valid_seconds=RESET_SECONDS)
    return notifications_for(db, user, "password_reset")[-1].payload["token"]


# Sign-in -----------------------------------------------------------------------


def test_authenticate_returns_the_account_and_records_the_time(db):
    user = factories.make_user(db, email="ana@example.org")
    signed_in = accounts.authenticate(db, "ana@example.org", factories.PASSWORD, now=NOW)
    assert signed_in.id == user.id
    assert signed_in.last_sign_in_at == NOW


def test_authenticate_ignores_case_and_spaces_around_the_email(db):
    user = factories.make_user(db, email="ana@example.org")
    assert accounts.authenticate(db, "  Ana@Example.ORG ", factories.PASSWORD, now=NOW).id == user.id


def test_wrong_password_and_unknown_email_fail_with_the_same_message(db):
    factories.make_user(db, email="ana@example.org")
    with pytest.raises(InvalidInput) as wrong_password:
        accounts.authenticate(db, "ana@example.org", "not the password at all", now=NOW)
    with pytest.raises(InvalidInput) as unknown_email:
        accounts.authenticate(db, "nobody@example.org", factories.PASSWORD, now=NOW)
    assert str(wrong_password.value.message) == str(unknown_email.value.message)
    assert wrong_password.value.field == unknown_email.value.field == "password"


def test_a_deactivated_account_cannot_sign_in(db):
    user = factories.make_user(db)
    user.is_active = False
    db.commit()
    with pytest.raises(InvalidInput) as refused:
        accounts.authenticate(db, user.email, factories.PASSWORD, now=NOW)
    assert str(refused.value.message) == str(accounts.SIGN_IN_FAILED)


def test_an_account_not_yet_activated_cannot_sign_in(db):
    user = factories.make_user(db, activated=False)
    with pytest.raises(InvalidInput):
        accounts.authenticate(db, user.email, "", now=NOW)
    with pytest.raises(InvalidInput):
        accounts.authenticate(db, user.email, factories.PASSWORD, now=NOW)


def test_a_hash_of_an_older_cost_is_upgraded_at_sign_in(db, app):
    user = factories.make_user(db)
    old_hash = user.password_hash
    passwords.configure(time_cost=2, memory_kib=16, parallelism=1)
    try:
        accounts.authenticate(db, user.email, factories.PASSWORD, now=NOW)
        assert user.password_hash != old_hash
        assert not passwords.needs_rehash(user.password_hash)
    finally:
        passwords.configure(
            time_cost=app.config["PASSWORD_HASH_TIME_COST"],
            memory_kib=app.config["PASSWORD_HASH_MEMORY_KIB"],
            parallelism=app.config["PASSWORD_HASH_PARALLELISM"],
        )


# Changing a password -------------------------------------------------------------


def test_change_password_needs_the_current_password(db):
    user = factories.make_user(db)
    with pytest.raises(InvalidInput) as refused:
        accounts.change_password(db, user, "not my password!", "a brand new passphrase", now=NOW)
    assert refused.value.field == "current_password"
    assert passwords.verify_password(user.password_hash, factories.PASSWORD)


def test_change_password_sets_the_new_password_audits_and_tells_the_user(db):
    user = factories.make_user(db)
    accounts.change_password(db, user, factories.PASSWORD, "a brand new passphrase", now=NOW)
    db.commit()
    assert passwords.verify_password(user.password_hash, "a brand new passphrase")
    assert not passwords.verify_password(user.password_hash, factories.PASSWORD)
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "user.password_changed")).actor_id == user.id
    assert len(notifications_for(db, user, "password_changed")) == 1


def test_change_password_refuses_a_weak_new_password(db):
    user = factories.make_user(db)
    with pytest.raises(InvalidInput) as refused:
        accounts.change_password(db, user, factories.PASSWORD, "password1234", now=NOW)
    assert refused.value.field == "password"
    assert passwords.verify_password(user.password_hash, factories.PASSWORD)


# Password reset --------------------------------------------------------------------


def test_a_reset_is_queued_for_a_known_address_only(db):
    user = factories.make_user(db, email="ana@example.org")
    accounts.request_password_reset(db, "ANA@example.org", now=NOW, valid_seconds=RESET_SECONDS)
    accounts.request_password_reset(db, "nobody@example.org", now=NOW, valid_seconds=RESET_SECONDS)
    db.commit()
    queued = list(db.scalars(select(Notification)))
    assert [(n.recipient_id, n.template, n.to_address) for n in queued] == [
        (user.id, "password_reset", "ana@example.org")
    ]
    assert queued[0].status == NotificationStatus.PENDING
    assert queued[0].payload["token"]


@pytest.mark.parametrize("state", ["deactivated", "not activated"])
def test_no_reset_is_queued_for_an_account_that_cannot_sign_in(db, state):
    user = factories.make_user(db, activated=state != "not activated")
    user.is_active = state != "deactivated"
    db.commit()
    accounts.request_password_reset(db, user.email, now=NOW, valid_seconds=RESET_SECONDS)
    assert db.scalar(select(func.count()).select_from(Notification)) == 0


def test_a_reset_token_sets_a_new_password_once(db):
    user = factories.make_user(db)
    token = reset_token_at(db, user, NOW)
    assert accounts.user_for_reset_token(db, token, now=NOW).id == user.id
    accounts.reset_password(db, token, "a brand new passphrase", now=NOW)
    db.commit()
    assert passwords.verify_password(user.password_hash, "a brand new passphrase")
    assert len(notifications_for(db, user, "password_changed")) == 1
    assert db.scalar(select(AuditEvent.action).where(AuditEvent.action == "user.password_reset"))
    with pytest.raises(InvalidToken):
        accounts.user_for_reset_token(db, token, now=NOW)
    with pytest.raises(InvalidToken):
        accounts.reset_password(db, token, "another new passphrase", now=NOW)


def test_a_reset_token_is_random_and_only_its_hash_is_stored(db):
    user = factories.make_user(db)
    first, second = reset_token_at(db, user, NOW), reset_token_at(db, user, NOW)
    rows = list(db.scalars(select(PasswordReset).order_by(PasswordReset.id)))
    assert len(first) >= 40 and first != second
    assert [row.token_hash for row in rows] == [hashlib.sha256(t.encode()).hexdigest() for t in (first, second)]
    assert "." not in first + second  # no signed, readable payload
    assert rows[0].expires_at == NOW + timedelta(seconds=RESET_SECONDS)


def test_a_reset_token_expires(db):
    user, other = factories.make_user(db), factories.make_user(db)
    fresh = reset_token_at(db, user, NOW - timedelta(seconds=RESET_SECONDS - 60))
    stale = reset_token_at(db, other, NOW - timedelta(seconds=RESET_SECONDS + 60))
    assert accounts.user_for_reset_token(db, fresh, now=NOW).id == user.id
    with pytest.raises(InvalidToken):
        accounts.user_for_reset_token(db, stale, now=NOW)
    with pytest.raises(InvalidToken):
        accounts.reset_password(db, stale, "a brand new passphrase", now=NOW)


def test_a_newer_reset_link_ends_the_older_ones(db):
    user = factories.make_user(db)
    older = reset_token_at(db, user, NOW)
    newer = reset_token_at(db, user, NOW + timedelta(minutes=1))
    with pytest.raises(InvalidToken):
        accounts.reset_password(db, older, "a brand new passphrase", now=NOW + timedelta(minutes=2))
    assert accounts.reset_password(db, newer, "a brand new passphrase", now=NOW + timedelta(minutes=2)) is user


def test_revoking_ends_every_outstanding_reset_link_of_that_account_only(db):
    user, other = factories.make_user(db), factories.make_user(db)
    token, others = reset_token_at(db, user, NOW), reset_token_at(db, other, NOW)
    accounts.revoke_password_resets(db, user, now=NOW)
    with pytest.raises(InvalidToken):
        accounts.user_for_reset_token(db, token, now=NOW)
    assert accounts.user_for_reset_token(db, others, now=NOW).id == other.id


def test_a_refused_new_password_leaves_the_reset_link_usable(db):
    user = factories.make_user(db, email="robin.okafor@example.org")
    token = reset_token_at(db, user, NOW)
    for refused in ("123456789012", "robin.okafor rules", "password1234"):
        with pytest.raises(InvalidInput):
            accounts.reset_password(db, token, refused, now=NOW)
    assert accounts.reset_password(db, token, "a brand new passphrase", now=NOW) is user


def test_a_reset_token_dies_when_the_password_changes_another_way(db):
    user = factories.make_user(db)
    token = reset_token_at(db, user, NOW)
    accounts.change_password(db, user, factories.PASSWORD, "a brand new passphrase", now=NOW)
    with pytest.raises(InvalidToken):
        accounts.user_for_reset_token(db, token, now=NOW)


def test_a_reset_token_of_a_deactivated_account_is_refused(db):
    user = factories.make_user(db)
    token = reset_token_at(db, user, NOW)
    user.is_active = False
    with pytest.raises(InvalidToken):
        accounts.user_for_reset_token(db, token, now=NOW)
    with pytest.raises(InvalidToken):
        accounts.reset_password(db, token, "a brand new passphrase", now=NOW)


FORGED_RESET_TOKENS = [
    "",
    "not-a-token",
    "x" * 5000,
    # The old signed format, readable and naming a user number: no longer a way in.
    URLSafeTimedSerializer(SECRET, salt="password-reset").dumps({"u": 1, "p": ""}),
    hashlib.sha256(b"").hexdigest(),
]


def test_a_forged_or_damaged_reset_token_is_refused(db):
    factories.make_user(db)
    for forged in FORGED_RESET_TOKENS:
        with pytest.raises(InvalidToken):
            accounts.user_for_reset_token(db, forged, now=NOW)


def test_a_reset_tokens_hash_is_not_a_token(db):
    user = factories.make_user(db)
    reset_token_at(db, user, NOW)
    stored = db.scalar(select(PasswordReset.token_hash))
    with pytest.raises(InvalidToken):
        accounts.user_for_reset_token(db, stored, now=NOW)


# Invitations and activation codes -----------------------------------------------------


def test_an_invitation_has_a_link_token_and_a_grouped_code_and_stores_only_hashes(db):
    user = factories.make_user(db, activated=False)
    issued = issue(db, user)
    assert CODE_PATTERN.match(issued.code), issued.code
    assert len(issued.token) >= 40
    row = db.get(Invitation, issued.invitation.id)
    assert issued.token not in (row.token_hash, row.code_hash)
    assert issued.code.replace("-", "") not in (row.token_hash, row.code_hash)
    assert row.expires_at == NOW + timedelta(days=21)


def test_activation_codes_avoid_look_alike_characters(db):
    user = factories.make_user(db, activated=False)
    codes = [issue(db, user).code for _ in range(40)]
    characters = set("".join(codes).replace("-", ""))
    assert not characters & LOOK_ALIKES
    assert characters <= set(accounts.CODE_ALPHABET)
    assert len(set(codes)) == len(codes)


def test_issuing_an_invitation_queues_its_email_and_audits_it(db):
    staff = factories.make_staff(db)
    user = factories.make_user(db, activated=False)
    issued = issue(db, user, actor=staff)
    [email] = notifications_for(db, user, "invitation")
    assert email.payload["token"] == issued.token
    assert email.to_address == user.email
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "invitation.issued"))
    assert (event.actor_id, event.object_id) == (staff.id, issued.invitation.id)


def test_an_invitation_link_finds_its_invitation_until_it_expires(db):
    user = factories.make_user(db, activated=False)
    issued = issue(db, user, valid_days=21)
    assert accounts.invitation_by_token(db, issued.token, now=NOW + timedelta(days=20)).id == issued.invitation.id
    with pytest.raises(InvalidToken):
        accounts.invitation_by_token(db, issued.token, now=NOW + timedelta(days=21))


def test_a_reissued_invitation_revokes_the_older_link_and_code(db):
    user = factories.make_user(db, activated=False)
    first = issue(db, user)
    second = issue(db, user, now=NOW + timedelta(minutes=5))
    later = NOW + timedelta(minutes=6)
    with pytest.raises(InvalidToken):
        accounts.invitation_by_token(db, first.token, now=later)
    with pytest.raises(InvalidToken):
        accounts.invitation_by_code(db, first.code, now=later, secret_key=SECRET)
    assert accounts.invitation_by_token(db, second.token, now=later).id == second.invitation.id
    assert accounts.invitation_by_code(db, second.code, now=later, secret_key=SECRET).id == second.invitation.id


def test_reissuing_does_not_touch_another_users_invitation(db):
    ana, ben = factories.make_user(db, activated=False), factories.make_user(db, activated=False)
    ana_invitation = issue(db, ana)
    issue(db, ben)
    assert accounts.invitation_by_token(db, ana_invitation.token, now=NOW).id == ana_invitation.invitation.id


TYPINGS = {
    "as printed": lambda code: code,
    "lower case": lambda code: code.lower(),
    "lower case with spaces": lambda code: code.replace("-", " ").lower(),
    "no dashes": lambda code: code.replace("-", ""),
    "spaced out": lambda code: "  " + " ".join(code.replace("-", "")) + "  ",
}


def test_an_activation_code_is_found_however_it_is_typed(db):
    user = factories.make_user(db, activated=False)
    issued = issue(db, user)
    found = {
        name: accounts.invitation_by_code(db, typing(issued.code), now=NOW, secret_key=SECRET).id
        for name, typing in TYPINGS.items()
    }
    assert found == dict.fromkeys(TYPINGS, issued.invitation.id)


def test_a_code_of_the_wrong_length_is_explained(db):
    for typed in ["", "ABCD", "ABCD-EFGH-JKMN-P", "ABCD-EFGH-JKM"]:
        with pytest.raises(InvalidToken) as refused:
            accounts.invitation_by_code(db, typed, now=NOW, secret_key=SECRET)
        assert refused.value.field == "code"
        assert "12" in str(refused.value.message)


def test_a_wrong_code_is_refused_next_to_the_code_field(db):
    user = factories.make_user(db, activated=False)
    issued = issue(db, user)
    wrong = "2222-2222-2222" if issued.code != "2222-2222-2222" else "3333-3333-3333"
    with pytest.raises(InvalidToken) as refused:
        accounts.invitation_by_code(db, wrong, now=NOW, secret_key=SECRET)
    assert refused.value.field == "code"


def test_a_code_is_useless_with_another_secret_key(db):
    user = factories.make_user(db, activated=False)
    issued = issue(db, user)
    with pytest.raises(InvalidToken):
        accounts.invitation_by_code(db, issued.code, now=NOW, secret_key="a different secret")


def test_an_activation_code_expires(db):
    user = factories.make_user(db, activated=False)
    issued = issue(db, user, valid_days=21)
    with pytest.raises(InvalidToken):
        accounts.invitation_by_code(db, issued.code, now=NOW + timedelta(days=22), secret_key=SECRET)


def test_accepting_an_invitation_sets_the_password_and_spends_it(db):
    household = factories.make_household(db, activated=False)
    user = factories.guardians_of(db, household)[0]
    issued = issue(db, user)
    accounts.accept_invitation(db, issued.invitation, "a brand new passphrase", now=NOW)
    db.commit()
    db.refresh(issued.invitation)
    assert passwords.verify_password(user.password_hash, "a brand new passphrase")
    assert user.activated_at == NOW
    assert issued.invitation.used_at == NOW
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "invitation.accepted"))
    assert event.household_id == household.id
    with pytest.raises(InvalidToken):
        accounts.invitation_by_token(db, issued.token, now=NOW)
    with pytest.raises(InvalidToken):
        accounts.invitation_by_code(db, issued.code, now=NOW, secret_key=SECRET)


def test_an_invitation_cannot_be_accepted_twice(db):
    user = factories.make_user(db, activated=False)
    issued = issue(db, user)
    accounts.accept_invitation(db, issued.invitation, "a brand new passphrase", now=NOW)
    db.commit()
    with pytest.raises(InvalidToken):
        accounts.accept_invitation(db, issued.invitation, "a second passphrase", now=NOW + timedelta(seconds=1))
    assert passwords.verify_password(user.password_hash, "a brand new passphrase")


def test_an_expired_invitation_cannot_be_accepted(db):
    user = factories.make_user(db, activated=False)
    issued = issue(db, user, valid_days=1)
    with pytest.raises(InvalidToken):
        accounts.accept_invitation(db, issued.invitation, "a brand new passphrase", now=NOW + timedelta(days=2))
    assert user.password_hash is None


def test_a_weak_first_password_leaves_the_invitation_usable(db):
    user = factories.make_user(db, activated=False)
    issued = issue(db, user)
    with pytest.raises(InvalidInput):
        accounts.accept_invitation(db, issued.invitation, "password1234", now=NOW)
    db.rollback()
    assert accounts.invitation_by_token(db, issued.token, now=NOW).used_at is None


def test_a_deactivated_account_cannot_accept_its_invitation(db):
    user = factories.make_user(db, activated=False)
    issued = issue(db, user)
    user.is_active = False
    db.commit()
    with pytest.raises(InvalidToken):
        accounts.accept_invitation(db, issued.invitation, "a brand new passphrase", now=NOW)


def test_an_invitation_cannot_replace_the_password_of_an_account_already_in_use(db):
    # Whoever holds a letter for an active account must not be able to take it over;
    # a forgotten password is what the reset link is for.
    user = factories.make_user(db, activated=True)
    issued = issue(db, user)
    with pytest.raises(DomainError):
        accounts.accept_invitation(db, issued.invitation, "a brand new passphrase", now=NOW)
    db.rollback()
    assert passwords.verify_password(db.get(User, user.id).password_hash, factories.PASSWORD)


def test_format_code_groups_by_four():
    assert accounts.format_code("ABCDEFGHJKMN") == "ABCD-EFGH-JKMN"


@given(
    st.text(alphabet=accounts.CODE_ALPHABET, min_size=12, max_size=12),
    st.lists(st.sampled_from(["", " ", "-", "  ", " - "]), min_size=13, max_size=13),
    st.booleans(),
)
def test_normalize_code_undoes_any_spacing_dashes_and_case(raw, separators, lower):
    typed = "".join(sep + ch for sep, ch in zip(separators, raw + " ", strict=True)).strip()
    typed = typed.lower() if lower else typed
    assert accounts.normalize_code(typed) == raw


@given(st.text(max_size=200))
def test_normalize_code_never_raises_and_stays_short(typed):
    assert len(accounts.normalize_code(typed)) <= 2 * accounts.CODE_LENGTH
