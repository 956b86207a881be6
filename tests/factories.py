"""Builders of saved objects with sane defaults: make_household(db, guardians=2)."""

import itertools
from datetime import datetime
from functools import cache

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import (
    Department,
    DepartmentMember,
    GuardianRelationship,
    Guardianship,
    Household,
    Notification,
    Role,
    School,
    Student,
    User,
)
from portal.services import accounts
from portal.services.accounts import passwords

PASSWORD = "correct horse battery staple"
# Every staff and admin account made here has this second factor.
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
_sequence = itertools.count(1)


@cache
def _password_hash() -> str:
    return passwords.hash_password(PASSWORD)


def make_school(db: Session, name: str | None = None) -> School:
    number = next(_sequence)
    school = School(name=name or f"School {number}", code=f"S{number}")
    db.add(school)
    db.commit()
    return school


def make_user(
    db: Session,
    *,
    role: Role = Role.FAMILY,
    email: str | None = None,
    name: str | None = None,
    activated: bool = True,
    language: str = "en",
    phone: str | None = None,
    now: datetime | None = None,
) -> User:
    number = next(_sequence)
    now = now or utcnow()
    user = User(
        email=email or f"{role.value}{number}@example.org",
        display_name=name or f"{role.value.title()} Person {number}",
        role=role,
        password_hash=_password_hash() if activated else None,
        activated_at=now if activated else None,
        language=language,
        phone=phone,
        created_at=now,
    )
    db.add(user)
    db.commit()
    return user


def make_staff(db: Session, *, role: Role = Role.STAFF, two_factor: bool = True, **kwargs: object) -> User:
    """A staff member (or admin) with the second factor TOTP_SECRET already set up."""
    user = make_user(db, role=role, **kwargs)  # type: ignore[arg-type]
    if two_factor:
        user.totp_secret = TOTP_SECRET
        user.totp_enabled_at = user.created_at
        db.commit()
    return user


def make_admin(db: Session, **kwargs: object) -> User:
    return make_staff(db, role=Role.ADMIN, **kwargs)


def make_department(db: Session, name: str | None = None, *, description: str | None = None) -> Department:
    """A public department with no reply targets; its description defaults to "<name> questions."."""
    name = name or f"Department {next(_sequence)}"
    department = Department(name=name, description=f"{name} questions." if description is None else description)
    db.add(department)
    db.commit()
    return department


def join(db: Session, user: User, department: Department, *, supervisor: bool = False) -> None:
    """Make user a member (or supervisor) of department."""
    db.add(DepartmentMember(department_id=department.id, user_id=user.id, is_supervisor=supervisor))
    db.commit()


def make_household(
    db: Session,
    *,
    guardians: int = 1,
    students: int = 1,
    name: str | None = None,
    school: School | None = None,
    activated: bool = True,
) -> Household:
    number = next(_sequence)
    household = Household(name=name or f"Family {number}", created_at=utcnow())
    db.add(household)
    db.flush()
    for index in range(guardians):
        user = make_user(db, activated=activated, name=f"Guardian {number}-{index + 1}")
        db.add(
            Guardianship(
                household_id=household.id, user_id=user.id, relationship_to_students=GuardianRelationship.PARENT
            )
        )
    for index in range(students):
        db.add(
            Student(
                household_id=household.id,
                first_name=f"Kid{index + 1}",
                last_name=f"Family{number}",
                school_id=school.id if school else None,
                grade=str(index + 1),
            )
        )
    db.commit()
    return household


def guardians_of(db: Session, household: Household) -> list[User]:
    from sqlalchemy import select

    return list(
        db.scalars(
            select(User).join(Guardianship).where(Guardianship.household_id == household.id).order_by(Guardianship.id)
        )
    )


def invite(
    db: Session,
    user: User,
    *,
    actor: User | None = None,
    now: datetime | None = None,
    valid_days: int = 21,
) -> accounts.IssuedInvitation:
    """Issue `user` an invitation, as staff would; the link token and code are on the result.
    Needs an app context, for the secret key."""
    settings = accounts.InvitationSettings(valid_days=valid_days, secret_key=current_app.config["SECRET_KEY"])
    issued = accounts.issue_invitation(db, actor, user, settings, now=now or utcnow())
    db.commit()
    return issued


def reset_token(db: Session, user: User, *, issued_at: datetime | None = None) -> str:
    """The token a password-reset email carries, issued now or at `issued_at` (to test expiry).
    Needs an app context, for the link's lifetime."""
    accounts.request_password_reset(
        db, user.email, now=issued_at or utcnow(), valid_seconds=current_app.config["PASSWORD_RESET_VALID_SECONDS"]
    )
    db.commit()
    notification = db.scalars(
        select(Notification)
        .where(Notification.recipient_id == user.id, Notification.template == "password_reset")
        .order_by(Notification.id.desc())
    ).first()
    assert notification is not None, f"no reset link was queued for {user.email}"
    return notification.payload["token"]
