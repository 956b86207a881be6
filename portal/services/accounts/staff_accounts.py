"""Staff and administrator accounts, managed by administrators."""

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.catalogs import lazy_gettext as _l
from portal.models import Role, School, User
from portal.services import audit, scope, translated
from portal.services.accounts import invitations, sessions, sign_in
from portal.services.accounts.invitations import InvitationSettings
from portal.services.errors import InvalidInput, NotFound
from portal.services.pagination import Page, paginate


def list_staff(db: Session, actor: User, *, page: int, page_size: int) -> Page[User]:
    scope.require_admin(actor)
    statement = select(User).where(User.role.in_([Role.STAFF, Role.ADMIN])).order_by(User.display_name, User.id)
    return paginate(db, statement, number=page, size=page_size)


def create_staff_account(
    db: Session,
    actor: User,
    *,
    display_name: str,
    email: str,
    role: Role,
    language: str,
    settings: InvitationSettings,
    now: datetime,
) -> invitations.IssuedInvitation:
    """A staff or admin account, activated through the same invitation as a family's."""
    scope.require_admin(actor)
    if role not in (Role.STAFF, Role.ADMIN):
        raise InvalidInput(field="role")
    email = sign_in.normalize_email(email)
    if sign_in.find_user_by_email(db, email) is not None:
        raise InvalidInput(_l("An account with this email already exists."), field="email")
    user = User(email=email, display_name=display_name.strip(), role=role, language=language, created_at=now)
    db.add(user)
    db.flush()
    audit.record(db, actor, "staff.created", user, now=now, after={"email": email, "role": role.value})
    return invitations.issue_invitation(db, actor, user, settings, now=now)


def staff_member(db: Session, actor: User, user_id: int) -> User:
    scope.require_admin(actor)
    user = db.get(User, user_id)
    if user is None or user.role == Role.FAMILY:
        raise NotFound()
    return user


def set_active(db: Session, actor: User, user_id: int, *, active: bool, now: datetime) -> User:
    """Deactivating an account also ends all its sessions and reset links at once, so
    that neither works again if the account is reactivated."""
    user = staff_member(db, actor, user_id)
    if user.id == actor.id and not active:
        raise InvalidInput(_l("You cannot deactivate your own account."))
    before = {"is_active": user.is_active}
    user.is_active = active
    if not active:
        sessions.end_all_sessions(db, user)
        sign_in.revoke_password_resets(db, user, now=now)
    audit.record(
        db,
        actor,
        "staff.activated" if active else "staff.deactivated",
        user,
        now=now,
        before=before,
        after={"is_active": active},
    )
    return user


SCHOOL_NAME_MAX_LENGTH = 120


def add_school(
    db: Session,
    actor: User,
    *,
    name: str,
    code: str | None,
    now: datetime,
    translations: Mapping[str, Mapping[str, str]] | None = None,
    languages: tuple[str, ...] = (),
) -> School:
    scope.require_admin(actor)
    cleaned = translated.clean_translations(
        translations or {}, languages=languages, limits={"name": SCHOOL_NAME_MAX_LENGTH}
    )
    name = " ".join(name.split())
    if db.scalar(select(School.id).where(School.name == name)):
        raise InvalidInput(_l("A school with this name already exists."), field="name")
    if code and db.scalar(select(School.id).where(School.code == code)):
        raise InvalidInput(_l("A school with this code already exists."), field="code")
    school = School(name=name, code=code or None, translations=cleaned)
    db.add(school)
    db.flush()
    audit.record(
        db, actor, "school.created", school, now=now, after={"name": name, "code": code, "translations": cleaned}
    )
    return school


def school_for_admin(db: Session, actor: User, school_id: int) -> School:
    scope.require_admin(actor)
    school = db.get(School, school_id)
    if school is None:
        raise NotFound()
    return school


def update_school(
    db: Session,
    actor: User,
    school: School,
    *,
    name: str,
    translations: Mapping[str, Mapping[str, str]],
    languages: tuple[str, ...],
    now: datetime,
) -> School:
    """A school's name, in English and the portal's other languages. Its code and SIS id
    stay as the student information system knows them."""
    scope.require_admin(actor)
    cleaned = translated.clean_translations(translations, languages=languages, limits={"name": SCHOOL_NAME_MAX_LENGTH})
    name = " ".join(name.split())
    if not name:
        raise InvalidInput(_l("Enter the school's name."), field="name")
    if db.scalar(select(School.id).where(School.name == name, School.id != school.id)):
        raise InvalidInput(_l("A school with this name already exists."), field="name")
    before = {"name": school.name, "translations": school.translations or {}}
    school.name = name
    school.translations = translated.merged(school.translations, cleaned, languages=languages)
    audit.record(
        db,
        actor,
        "school.updated",
        school,
        now=now,
        before=before,
        after={"name": name, "translations": school.translations},
    )
    return school
