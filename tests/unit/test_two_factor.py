"""The second factor without HTTP: TOTP steps, replay, expiry, recovery codes, set-up and reset.

Every check gets an explicit `now`, so codes "from two minutes ago" need no clock.
"""

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import func, select

from portal.models import AuditEvent, Notification, RecoveryCode, Role
from portal.services.accounts import two_factor
from portal.services.errors import InvalidInput, NotAllowed
from tests import factories

NOW = datetime(2026, 11, 27, 15, 30, 10, tzinfo=UTC)
STEP = timedelta(seconds=30)
TOTP = pyotp.TOTP(factories.TOTP_SECRET)
RECOVERY_CODE = re.compile(r"^[23456789abcdefghjkmnpqrstuvwxyz]{5}-[23456789abcdefghjkmnpqrstuvwxyz]{5}$")


def code_at(moment: datetime, secret: str = factories.TOTP_SECRET) -> str:
    return pyotp.TOTP(secret).at(moment)


def verify(db, user, code, *, now=NOW):
    matched = two_factor.verify(db, user, code, now=now)
    db.commit()
    return matched


def set_up(db, user, *, now=NOW) -> list[str]:
    """Set up a second factor as the set-up page does: a secret, then a code from the app."""
    secret = two_factor.begin_setup(user)
    codes = two_factor.confirm_setup(db, user, code_at(now, secret), now=now, household_id=None)
    db.commit()
    return codes


def count(db, model, *conditions) -> int:
    return db.scalar(select(func.count()).select_from(model).where(*conditions))


# TOTP codes ------------------------------------------------------------------------


def test_the_current_code_is_accepted(db):
    staff = factories.make_staff(db)
    assert verify(db, staff, code_at(NOW)) == "totp"


def test_spaces_inside_a_typed_code_are_ignored(db):
    staff = factories.make_staff(db)
    code = code_at(NOW)
    assert verify(db, staff, f" {code[:3]} {code[3:]} ") == "totp"


@pytest.mark.parametrize("offset", [-STEP, STEP], ids=["previous-step", "next-step"])
def test_a_code_one_step_away_is_accepted_for_clock_drift(db, offset):
    staff = factories.make_staff(db)
    assert verify(db, staff, code_at(NOW + offset)) == "totp"


@pytest.mark.parametrize(
    "age", [timedelta(minutes=2), timedelta(seconds=61), timedelta(minutes=10)], ids=["2-minutes", "61-s", "10-min"]
)
def test_an_expired_code_is_refused(db, age):
    staff = factories.make_staff(db)
    old = code_at(NOW - age)
    assert old not in {code_at(NOW - STEP), code_at(NOW), code_at(NOW + STEP)}, "pick another NOW"
    with pytest.raises(InvalidInput) as refused:
        verify(db, staff, old)
    assert refused.value.field == "code"
    assert staff.totp_last_step is None


def test_a_code_from_further_in_the_future_is_refused(db):
    staff = factories.make_staff(db)
    with pytest.raises(InvalidInput):
        verify(db, staff, code_at(NOW + 3 * STEP))


def test_a_code_is_accepted_only_once(db):
    staff = factories.make_staff(db)
    code = code_at(NOW)
    assert verify(db, staff, code) == "totp"
    with pytest.raises(InvalidInput):
        verify(db, staff, code)
    # Still refused a few seconds later, within the same step and the next.
    with pytest.raises(InvalidInput):
        verify(db, staff, code, now=NOW + timedelta(seconds=5))
    with pytest.raises(InvalidInput):
        verify(db, staff, code, now=NOW + STEP)


def test_after_a_code_is_used_an_older_step_is_refused_and_a_newer_one_accepted(db):
    staff = factories.make_staff(db)
    assert verify(db, staff, code_at(NOW)) == "totp"
    with pytest.raises(InvalidInput):
        verify(db, staff, code_at(NOW - STEP))
    assert verify(db, staff, code_at(NOW + STEP)) == "totp"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "12345",
        "1234567",
        "abcdef",
        "12345a",
        "0" * 40,
        "\u0661\u0662\u0663\u0664\u0665\u0666",  # ARABIC-INDIC digits: str.isdigit() says yes
        "\u00b9\u00b2\u00b3\u00b9\u00b2\u00b3",  # superscript digits
    ],
)
def test_malformed_codes_are_refused(db, typed):
    staff = factories.make_staff(db)
    with pytest.raises(InvalidInput):
        verify(db, staff, typed)


def test_a_code_of_another_secret_is_refused(db):
    staff = factories.make_staff(db)
    with pytest.raises(InvalidInput):
        verify(db, staff, code_at(NOW, pyotp.random_base32()))


def test_without_a_secret_no_code_is_accepted(db):
    family = factories.make_user(db)
    with pytest.raises(InvalidInput):
        verify(db, family, code_at(NOW))


# Recovery codes --------------------------------------------------------------------


def test_set_up_gives_ten_different_recovery_codes_stored_only_as_hashes(db):
    family = factories.make_user(db)
    codes = set_up(db, family)
    assert len(codes) == len(set(codes)) == two_factor.RECOVERY_CODE_COUNT == 10
    assert all(RECOVERY_CODE.match(code) for code in codes), codes
    stored = set(db.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == family.id)))
    assert len(stored) == 10
    assert not stored & ({code.replace("-", "") for code in codes} | set(codes))
    assert two_factor.unused_recovery_codes(db, family) == 10


def test_a_recovery_code_works_once(db):
    family = factories.make_user(db)
    first, second, *_ = set_up(db, family)
    assert verify(db, family, first, now=NOW + timedelta(minutes=5)) == "recovery"
    assert two_factor.unused_recovery_codes(db, family) == 9
    with pytest.raises(InvalidInput):
        verify(db, family, first, now=NOW + timedelta(minutes=6))
    assert verify(db, family, second, now=NOW + timedelta(minutes=7)) == "recovery"
    assert two_factor.unused_recovery_codes(db, family) == 8


@pytest.mark.parametrize("typing", [str.upper, lambda code: code.replace("-", ""), lambda code: f" {code} "])
def test_a_recovery_code_may_be_typed_in_capitals_or_without_its_dash(db, typing):
    family = factories.make_user(db)
    [code, *_] = set_up(db, family)
    assert verify(db, family, typing(code), now=NOW + timedelta(minutes=5)) == "recovery"


def test_a_recovery_code_of_another_account_is_refused(db):
    family, other = factories.make_user(db), factories.make_user(db)
    set_up(db, family)
    [others_code, *_] = set_up(db, other)
    with pytest.raises(InvalidInput):
        verify(db, family, others_code, now=NOW + timedelta(minutes=5))
    assert two_factor.unused_recovery_codes(db, other) == 10


def test_new_recovery_codes_replace_the_old_ones(db):
    family = factories.make_user(db)
    old = set_up(db, family)
    new = two_factor.regenerate_recovery_codes(db, family, now=NOW)
    db.commit()
    assert not set(old) & set(new)
    with pytest.raises(InvalidInput):
        verify(db, family, old[0], now=NOW + timedelta(minutes=5))
    assert verify(db, family, new[0], now=NOW + timedelta(minutes=5)) == "recovery"
    assert count(db, AuditEvent, AuditEvent.action == "user.recovery_codes_replaced") == 1


def test_no_recovery_codes_can_be_made_without_a_second_factor(db):
    with pytest.raises(NotAllowed):
        two_factor.regenerate_recovery_codes(db, factories.make_user(db), now=NOW)


# Setting up ------------------------------------------------------------------------


def test_the_secret_being_set_up_stays_the_same_until_confirmed(db):
    family = factories.make_user(db)
    secret = two_factor.begin_setup(family)
    assert two_factor.check_secret(secret) == secret
    assert two_factor.begin_setup(family) == secret
    assert not family.has_two_factor


def test_set_up_needs_a_right_code_from_the_app(db):
    family = factories.make_user(db)
    secret = two_factor.begin_setup(family)
    with pytest.raises(InvalidInput) as refused:
        two_factor.confirm_setup(db, family, code_at(NOW - timedelta(minutes=2), secret), now=NOW, household_id=None)
    assert refused.value.field == "code"
    assert not family.has_two_factor
    assert count(db, RecoveryCode) == 0


def test_confirming_set_up_turns_it_on_audits_and_emails(db):
    household = factories.make_household(db)
    [guardian] = factories.guardians_of(db, household)
    secret = two_factor.begin_setup(guardian)
    two_factor.confirm_setup(db, guardian, code_at(NOW, secret), now=NOW, household_id=household.id)
    db.commit()
    assert guardian.has_two_factor
    assert guardian.totp_enabled_at == NOW
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "user.two_factor_enabled"))
    assert (event.actor_id, event.object_id, event.household_id) == (guardian.id, guardian.id, household.id)
    [email] = db.scalars(select(Notification).where(Notification.recipient_id == guardian.id))
    assert email.template == "two_factor_enabled"


def test_a_second_factor_already_on_cannot_be_set_up_again(db):
    staff = factories.make_staff(db)
    with pytest.raises(NotAllowed):
        two_factor.begin_setup(staff)
    with pytest.raises(NotAllowed):
        two_factor.confirm_setup(db, staff, code_at(NOW), now=NOW, household_id=None)


def test_the_qr_code_is_an_inline_svg_of_the_provisioning_uri(db):
    staff = factories.make_staff(db, email="dana@example.org")
    uri = two_factor.provisioning_uri(staff, "Demo District")
    assert uri.startswith("otpauth://totp/")
    assert f"secret={factories.TOTP_SECRET}" in uri
    assert "issuer=Demo%20District" in uri
    assert "dana%40example.org" in uri
    assert two_factor.qr_code_data_uri(uri).startswith("data:image/svg+xml")


@pytest.mark.parametrize("secret", ["", "SHORT", "JBSWY3DPEHPK3PX1", "JBSWY3DPEHPK3PX!"])
def test_a_secret_that_is_not_base32_is_refused(secret):
    with pytest.raises(ValueError):
        two_factor.check_secret(secret)


def test_a_secret_is_put_in_canonical_form():
    assert two_factor.check_secret("jbsw y3dp ehpk 3pxp") == "JBSWY3DPEHPK3PXP"


# Turning off and resetting -----------------------------------------------------------


def test_a_family_can_turn_its_own_second_factor_off(db):
    family = factories.make_user(db)
    set_up(db, family)
    two_factor.turn_off(db, family, family, now=NOW)
    db.commit()
    assert not family.has_two_factor
    assert family.totp_secret is None
    assert count(db, RecoveryCode) == 0
    assert count(db, AuditEvent, AuditEvent.action == "user.two_factor_disabled") == 1
    templates = db.scalars(select(Notification.template).where(Notification.recipient_id == family.id))
    assert "two_factor_disabled" in set(templates)


@pytest.mark.parametrize("role", [Role.STAFF, Role.ADMIN])
def test_staff_and_admins_cannot_turn_their_own_second_factor_off(db, role):
    staff = factories.make_staff(db, role=role)
    with pytest.raises(NotAllowed):
        two_factor.turn_off(db, staff, staff, now=NOW)
    assert staff.has_two_factor


def test_only_an_admin_can_reset_someone_elses_second_factor(db):
    staff, colleague, admin = factories.make_staff(db), factories.make_staff(db), factories.make_admin(db)
    with pytest.raises(NotAllowed):
        two_factor.turn_off(db, colleague, staff, now=NOW)
    assert staff.has_two_factor
    two_factor.turn_off(db, admin, staff, now=NOW)
    db.commit()
    assert not staff.has_two_factor
    assert staff.totp_secret is None
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "user.two_factor_reset"))
    assert (event.actor_id, event.object_id) == (admin.id, staff.id)
    [email] = db.scalars(select(Notification).where(Notification.recipient_id == staff.id))
    assert email.template == "two_factor_disabled"
    # At the next sign-in the staff member must set up a new factor.
    assert staff.needs_two_factor
