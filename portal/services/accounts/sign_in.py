"""Accounts: sign-in, passwords, invitations and activation codes."""

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.models import Invitation, PasswordReset, User
from portal.services import audit, notifications, scope
from portal.services.accounts import passwords
from portal.services.errors import InvalidInput, InvalidToken

# Activation codes are typed by hand from a printed letter: no 0/O, 1/I/L.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12  # 31**12 is about 2**59 codes
CODE_GROUP = 4

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
    if passwords.needs_rehash(password_hash):
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


def _hash_token(token: str) -> str:
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
            token_hash=_hash_token(token),
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
    reset = db.scalar(select(PasswordReset).where(PasswordReset.token_hash == _hash_token(token[:200])))
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
    if spent.rowcount != 1:
        raise InvalidToken()
    set_password(db, user, new_password, now=now, action="user.password_reset")
    notifications.enqueue_email(db, user, "password_changed", {}, now=now)
    return user


# Invitations -------------------------------------------------------------------


@dataclass(frozen=True)
class InvitationSettings:
    valid_days: int
    secret_key: str

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "InvitationSettings":
        return cls(valid_days=config["INVITATION_VALID_DAYS"], secret_key=config["SECRET_KEY"])


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    token: str
    code: str


def format_code(raw: str) -> str:
    return "-".join(raw[i : i + CODE_GROUP] for i in range(0, len(raw), CODE_GROUP))


def normalize_code(typed: str) -> str:
    """What a person typed, in the canonical form: upper case, no spaces or dashes."""
    return "".join(ch for ch in typed.upper() if ch.isascii() and ch.isalnum())[: CODE_LENGTH * 2]


def _hash_code(code: str, secret_key: str) -> str:
    # Keyed, so that a copy of the database alone cannot be searched for codes.
    return hmac.new(secret_key.encode(), normalize_code(code).encode(), hashlib.sha256).hexdigest()


def issue_invitation(
    db: Session,
    actor: User | None,
    user: User,
    settings: InvitationSettings,
    *,
    now: datetime,
    household_id: int | None = None,
) -> IssuedInvitation:
    """A new link and code for `user`; earlier invitations stop working. The link is emailed."""
    db.execute(
        update(Invitation)
        .where(Invitation.user_id == user.id, Invitation.used_at.is_(None), Invitation.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    token = secrets.token_urlsafe(32)
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    invitation = Invitation(
        user_id=user.id,
        token_hash=_hash_token(token),
        code_hash=_hash_code(code, settings.secret_key),
        created_by_id=actor.id if actor is not None else None,
        created_at=now,
        expires_at=now + timedelta(days=settings.valid_days),
    )
    db.add(invitation)
    db.flush()
    notifications.enqueue_email(
        db,
        user,
        "invitation",
        {
            "token": token,
            "expires_at": invitation.expires_at.isoformat(),
            "inviter": actor.display_name if actor else "",
        },
        now=now,
    )
    audit.record(
        db, actor, "invitation.issued", invitation, now=now, household_id=household_id, after={"email": user.email}
    )
    return IssuedInvitation(invitation, token, format_code(code))


def invitation_by_token(db: Session, token: str, *, now: datetime) -> Invitation:
    invitation = db.scalar(select(Invitation).where(Invitation.token_hash == _hash_token(token[:200])))
    if invitation is None or not invitation.is_usable(now):
        raise InvalidToken()
    return invitation


def invitation_by_code(db: Session, code: str, *, now: datetime, secret_key: str) -> Invitation:
    if len(normalize_code(code)) != CODE_LENGTH:
        raise InvalidToken(_l("An activation code has 12 letters and digits, like ABCD-EFGH-JKMN."), field="code")
    invitation = db.scalar(select(Invitation).where(Invitation.code_hash == _hash_code(code, secret_key)))
    if invitation is None or not invitation.is_usable(now):
        raise InvalidToken(
            _l("That activation code is not valid. Check it, or ask your school for a new one."), field="code"
        )
    return invitation


def accept_invitation(db: Session, invitation: Invitation, new_password: str, *, now: datetime) -> User:
    """Set the first password and activate the account; the invitation is spent."""
    user = db.get_one(User, invitation.user_id)
    # An invitation opens a new account only: it must never take over one in use
    # (a forgotten password is what the reset link is for).
    if not user.is_active or user.password_hash is not None:
        raise InvalidToken()
    passwords.check_new_password(new_password, context=password_context(user))
    # Spend the invitation with a guarded UPDATE, so two tabs racing to use one
    # link cannot both succeed.
    spent = db.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.used_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:
        raise InvalidToken()
    user.password_hash = passwords.hash_password(new_password)
    user.activated_at = user.activated_at or now
    audit.record(db, user, "invitation.accepted", invitation, now=now, household_id=scope.household_id_of(db, user))
    return user
