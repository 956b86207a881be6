"""Changing the email address of an account: it takes effect only once the new
address confirms it, and the old address is told, so a hijacked session cannot
quietly take the account."""

import hashlib
import secrets
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.catalogs import lazy_gettext as _l
from portal.models import EmailChange, User
from portal.services import audit, notifications, scope
from portal.services.accounts import passwords, sign_in
from portal.services.errors import InvalidInput, InvalidToken

VALID_FOR = timedelta(hours=24)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request_change(db: Session, user: User, new_email: str, password: str, *, now: datetime) -> EmailChange:
    """Email a confirmation link to the new address and a notice to the old one."""
    if not passwords.verify_password(user.password_hash, password):
        raise InvalidInput(_l("Your password is not right."), field="password")
    try:
        email = validate_email(new_email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise InvalidInput(_l("Enter an email address like name@example.org."), field="email") from error
    if email == user.email:
        raise InvalidInput(_l("This is already your email address."), field="email")
    if sign_in.find_user_by_email(db, email) is not None:
        # Said plainly: the person typing may own that account; they are signed in, not probing.
        raise InvalidInput(_l("Another account uses this address."), field="email")
    db.execute(
        update(EmailChange).where(EmailChange.user_id == user.id, EmailChange.used_at.is_(None)).values(expires_at=now)
    )
    token = secrets.token_urlsafe(32)
    change = EmailChange(
        user_id=user.id, new_email=email, token_hash=_hash(token), created_at=now, expires_at=now + VALID_FOR
    )
    db.add(change)
    db.flush()
    notifications.enqueue_email(
        db, user, "email_change_confirm", {"token": token, "new_email": email}, now=now, to_address=email
    )
    notifications.enqueue_email(db, user, "email_change_notice", {"new_email": email}, now=now)
    audit.record(
        db,
        user,
        "user.email_change_requested",
        user,
        now=now,
        household_id=scope.household_id_of(db, user),
        after={"new_email": email},
    )
    return change


def pending_change(db: Session, token: str, *, now: datetime) -> EmailChange:
    change = db.scalar(select(EmailChange).where(EmailChange.token_hash == _hash(token[:200])))
    if change is None or change.used_at is not None or now >= change.expires_at:
        raise InvalidToken()
    return change


def confirm_change(db: Session, token: str, *, now: datetime) -> User:
    """The new address proved it is theirs: the account moves to it."""
    change = pending_change(db, token, now=now)
    user = db.get_one(User, change.user_id)
    if sign_in.find_user_by_email(db, change.new_email) is not None:
        raise InvalidToken(_l("Another account has started using this address. Ask for a new link."))
    before = user.email
    user.email = change.new_email
    change.used_at = now
    # A reset link mailed to the old address must not take the account back.
    sign_in.revoke_password_resets(db, user, now=now)
    audit.record(
        db,
        user,
        "user.email_changed",
        user,
        now=now,
        household_id=scope.household_id_of(db, user),
        before={"email": before},
        after={"email": change.new_email},
    )
    notifications.enqueue_email(
        db, user, "email_change_notice", {"new_email": change.new_email, "done": True}, now=now, to_address=before
    )
    return user
