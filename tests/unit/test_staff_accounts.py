"""Staff accounts and schools, managed by administrators, without HTTP."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.models import AuditEvent, Invitation, Notification, Role, School, User
from portal.services import accounts
from portal.services.accounts import sessions, staff_accounts
from portal.services.errors import InvalidInput, InvalidToken, NotAllowed, NotFound
from portal.services.households import InvitationSettings
from tests import factories

NOW = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)
SETTINGS = InvitationSettings(valid_days=21, secret_key="unit-test-secret")
LIFETIMES = sessions.Lifetimes(*(timedelta(days=1),) * 4)


def create_staff(db, actor, *, email="jo@district.example", role=Role.STAFF):
    return staff_accounts.create_staff_account(
        db, actor, display_name=" Jo Park ", email=email, role=role, language="es", settings=SETTINGS, now=NOW
    )


def test_an_admin_creates_a_staff_account_that_joins_by_invitation(db):
    admin = factories.make_admin(db)
    issued = create_staff(db, admin, email=" Jo@District.Example ")
    db.commit()
    user = accounts.find_user_by_email(db, "jo@district.example")
    assert (user.display_name, user.role, user.language, user.password_hash) == ("Jo Park", Role.STAFF, "es", None)
    assert issued.invitation.user_id == user.id
    assert db.scalar(select(Notification.to_address).where(Notification.template == "invitation")) == user.email
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "staff.created"))
    assert (event.actor_id, event.object_id, event.after["role"]) == (admin.id, user.id, "staff")


@pytest.mark.parametrize(
    "weak", ["123456789012", "Password1234!", "jo@district.example", "district rules ok", "park avenue 2024"]
)
def test_a_new_staff_account_cannot_take_a_common_or_personal_password(db, weak):
    issued = create_staff(db, factories.make_admin(db))
    db.commit()
    with pytest.raises(InvalidInput) as refused:
        accounts.accept_invitation(db, issued.invitation, weak, now=NOW)
    assert refused.value.field == "password"
    assert accounts.find_user_by_email(db, "jo@district.example").password_hash is None
    assert accounts.accept_invitation(db, issued.invitation, "kettle orbit lantern meadow", now=NOW).password_hash


def test_an_admin_can_create_another_admin(db):
    create_staff(db, factories.make_admin(db), role=Role.ADMIN)
    assert accounts.find_user_by_email(db, "jo@district.example").role == Role.ADMIN


def test_a_staff_account_cannot_be_made_a_family_account(db):
    with pytest.raises(InvalidInput) as refused:
        create_staff(db, factories.make_admin(db), role=Role.FAMILY)
    assert refused.value.field == "role"


def test_a_staff_email_already_in_use_is_refused_on_the_email_field(db):
    factories.make_user(db, email="jo@district.example")
    with pytest.raises(InvalidInput) as refused:
        create_staff(db, factories.make_admin(db), email="JO@district.example")
    assert refused.value.field == "email"
    assert db.scalar(select(func.count()).select_from(Invitation)) == 0


@pytest.mark.parametrize("make", [factories.make_staff, factories.make_user])
def test_only_admins_manage_staff_and_schools(db, make):
    actor = make(db)
    staff = factories.make_staff(db)
    with pytest.raises(NotAllowed):
        create_staff(db, actor)
    with pytest.raises(NotAllowed):
        staff_accounts.set_active(db, actor, staff.id, active=False, now=NOW)
    with pytest.raises(NotAllowed):
        staff_accounts.list_staff(db, actor, page=1, page_size=10)
    with pytest.raises(NotAllowed):
        staff_accounts.add_school(db, actor, name="Lincoln", code=None, now=NOW)


def test_the_staff_list_holds_staff_and_admins_but_no_families(db):
    admin = factories.make_admin(db, name="Zoe Admin")
    staff = factories.make_staff(db, name="Ann Staff")
    factories.make_household(db)
    listed = staff_accounts.list_staff(db, admin, page=1, page_size=10)
    assert [u.id for u in listed.items] == [staff.id, admin.id]
    assert listed.total == 2


def test_deactivating_a_staff_account_ends_its_sessions_and_is_audited(db):
    admin, staff = factories.make_admin(db), factories.make_staff(db)
    token = sessions.start_session(db, staff, LIFETIMES, now=NOW, user_agent="", ip_address="")
    db.commit()
    staff_accounts.set_active(db, admin, staff.id, active=False, now=NOW)
    db.commit()
    assert not db.get(User, staff.id).is_active
    assert sessions.load_session_user(db, token, LIFETIMES, now=NOW) is None
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "staff.deactivated"))
    assert (event.before, event.after) == ({"is_active": True}, {"is_active": False})


def test_a_deactivated_staff_account_can_be_reactivated(db):
    admin, staff = factories.make_admin(db), factories.make_staff(db)
    staff_accounts.set_active(db, admin, staff.id, active=False, now=NOW)
    staff_accounts.set_active(db, admin, staff.id, active=True, now=NOW)
    db.commit()
    assert db.get(User, staff.id).is_active
    assert db.scalar(select(AuditEvent.id).where(AuditEvent.action == "staff.activated"))


def test_a_reset_link_sent_before_deactivation_stays_dead_after_reactivation(db):
    admin, staff = factories.make_admin(db), factories.make_staff(db)
    accounts.request_password_reset(db, staff.email, now=NOW, valid_seconds=3600)
    token = db.scalars(select(Notification.payload).where(Notification.template == "password_reset")).one()["token"]
    staff_accounts.set_active(db, admin, staff.id, active=False, now=NOW)
    staff_accounts.set_active(db, admin, staff.id, active=True, now=NOW)
    db.commit()
    with pytest.raises(InvalidToken):
        accounts.user_for_reset_token(db, token, now=NOW + timedelta(minutes=1))


def test_an_admin_cannot_deactivate_their_own_account(db):
    admin = factories.make_admin(db)
    with pytest.raises(InvalidInput):
        staff_accounts.set_active(db, admin, admin.id, active=False, now=NOW)
    assert admin.is_active


@pytest.mark.parametrize("target", ["family", "missing"])
def test_family_accounts_and_missing_ids_are_not_found_among_staff(db, target):
    family = factories.make_user(db)
    with pytest.raises(NotFound):
        staff_accounts.set_active(
            db, factories.make_admin(db), family.id if target == "family" else 999_999, active=False, now=NOW
        )
    assert family.is_active


def test_an_admin_adds_a_school_with_its_name_tidied(db):
    admin = factories.make_admin(db)
    school = staff_accounts.add_school(db, admin, name="  Lincoln   Elementary ", code="LES", now=NOW)
    db.commit()
    assert (school.name, school.code) == ("Lincoln Elementary", "LES")
    assert db.scalar(select(AuditEvent.object_id).where(AuditEvent.action == "school.created")) == school.id


def test_a_school_without_a_code_is_stored_without_one(db):
    school = staff_accounts.add_school(db, factories.make_admin(db), name="Roosevelt", code="", now=NOW)
    assert school.code is None


@pytest.mark.parametrize(
    ("name", "code", "field"), [("Lincoln Elementary", "NEW", "name"), ("Another School", "LES", "code")]
)
def test_school_names_and_codes_are_unique(db, name, code, field):
    admin = factories.make_admin(db)
    staff_accounts.add_school(db, admin, name="Lincoln Elementary", code="LES", now=NOW)
    db.commit()
    with pytest.raises(InvalidInput) as refused:
        staff_accounts.add_school(db, admin, name=name, code=code, now=NOW)
    assert refused.value.field == field
    assert db.scalar(select(func.count()).select_from(School)) == 1
