"""Sign-in and passwords: checking credentials, changing a password, and reset links."""

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.catalogs import lazy_gettext as _l
from portal.db import rows_matched
from portal.models import PasswordReset, User
from portal.services import audit, notifications, scope
from portal.services.accounts import passwords
from portal.services.errors import InvalidInput, InvalidToken

SIGN_IN_FAILED = _l("That email and password do not match an account. Check both and try again.")


def normalize_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(db: Session, email: str) -> User | None:
    return db.scalar(select(User).where(User.email == normalize_email(email)))


def authenticate(db: Session, email: str, password: str, *, now: datetime) -> User:
    """The account for these credentials. Unknown email and wrong password fail alike."""
    user = find_user_by_email(db, email)
    password_hash = user.password_hash if user is not None else None
    if not passwords.verify_password(password_hash, password) or user is None or not user.is_active:
        raise InvalidInput(SIGN_IN_FAILED, field="password")
    if user.password_hash is not None and passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.last_sign_in_at = now
    return user


def password_context(user: User) -> tuple[str, ...]:
    """What a password must not be built on: the account's own email and name."""
    return passwords.personal_context(user.email, user.display_name)


def set_password(db: Session, user: User, new_password: str, *, now: datetime, action: str) -> None:
    """A new password; every reset link still outstanding stops working."""
    passwords.check_new_password(new_password, context=password_context(user))
    user.password_hash = passwords.hash_password(new_password)
    revoke_password_resets(db, user, now=now)
    audit.record(db, user, action, user, now=now, household_id=scope.household_id_of(db, user))


def change_password(db: Session, user: User, current: str, new_password: str, *, now: datetime) -> None:
    if not passwords.verify_password(user.password_hash, current):
        raise InvalidInput(_l("Your current password is not right."), field="current_password")
    set_password(db, user, new_password, now=now, action="user.password_changed")
    notifications.enqueue_email(db, user, "password_changed", {}, now=now)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# Password reset ------------------------------------------------------------
#
# The emailed token is random and only its hash is stored (as for invitations), so
# the link names no account. It is spent by a guarded UPDATE in the transaction that
# writes the new password: of two requests racing with one link, one spends it and
# the other finds it spent.


def request_password_reset(db: Session, email: str, *, now: datetime, valid_seconds: int) -> None:
    """Email a reset link if an active account has this address; say nothing either way.
    The new link ends every earlier one."""
    user = find_user_by_email(db, email)
    if user is None or not user.is_active or user.password_hash is None:
        return
    # Two requests at once would each end the older links and each add their own: the
    # account's row lock (PostgreSQL; SQLite writes one at a time) makes the second
    # wait for the first and end its link too.
    db.execute(
        update(User)
        .where(User.id == user.id)
        .values(display_name=User.display_name)
        .execution_options(synchronize_session=False)
    )
    revoke_password_resets(db, user, now=now)
    token = secrets.token_urlsafe(32)
    db.add(
        PasswordReset(
            user_id=user.id,
            token_hash=hash_token(token),
            created_at=now,
            expires_at=now + timedelta(seconds=valid_seconds),
        )
    )
    db.flush()
    notifications.enqueue_email(db, user, "password_reset", {"token": token}, now=now)


def revoke_password_resets(db: Session, user: User, *, now: datetime) -> None:
    """End the reset links still outstanding: the account's owner has shown they need none,
    or the account may no longer be reached through them (deactivated, new email)."""
    db.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None), PasswordReset.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


def _usable_reset(db: Session, token: str, *, now: datetime) -> PasswordReset:
    reset = db.scalar(select(PasswordReset).where(PasswordReset.token_hash == hash_token(token[:200])))
    if reset is None or not reset.is_usable(now):
        raise InvalidToken()
    return reset


def user_for_reset_token(db: Session, token: str, *, now: datetime) -> User:
    reset = _usable_reset(db, token, now=now)
    user = db.get_one(User, reset.user_id)
    if not user.is_active:
        raise InvalidToken()
    return user


def reset_password(db: Session, token: str, new_password: str, *, now: datetime) -> User:
    """Set a new password through a reset link, which is spent in the same transaction."""
    reset = _usable_reset(db, token, now=now)
    user = db.get_one(User, reset.user_id)
    if not user.is_active:
        raise InvalidToken()
    # A refused password leaves the link usable, so the person can try another.
    passwords.check_new_password(new_password, context=password_context(user))
    spent = db.execute(
        update(PasswordReset)
        .where(
            PasswordReset.id == reset.id,
            PasswordReset.used_at.is_(None),
            PasswordReset.revoked_at.is_(None),
            PasswordReset.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if rows_matched(spent) != 1:
        raise InvalidToken()
    set_password(db, user, new_password, now=now, action="user.password_reset")
    notifications.enqueue_email(db, user, "password_changed", {}, now=now)
    return user
