"""Invitations: a new account's emailed link and printed activation code. Accepting
one sets the first password and activates the account."""

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.catalogs import lazy_gettext as _l
from portal.db import rows_matched
from portal.models import Invitation, User
from portal.services import audit, notifications, scope
from portal.services.accounts import passwords
from portal.services.accounts.sign_in import hash_token, password_context
from portal.services.errors import InvalidToken

# Activation codes are typed by hand from a printed letter: no 0/O, 1/I/L.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12  # 31**12 is about 2**59 codes
CODE_GROUP = 4


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
    [issued] = invite_new_accounts(db, actor, [(user, household_id)], settings, now=now)
    return issued


def invite_new_accounts(
    db: Session,
    actor: User | None,
    users: list[tuple[User, int | None]],
    settings: InvitationSettings,
    *,
    now: datetime,
    import_job_id: int | None = None,
) -> list[IssuedInvitation]:
    """Invitations for accounts that have none yet (an import's new guardians), with the
    household each event is recorded against: one flush for them all."""
    issued = []
    for user, _household_id in users:
        token = secrets.token_urlsafe(32)
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        invitation = Invitation(
            user_id=user.id,
            token_hash=hash_token(token),
            code_hash=_hash_code(code, settings.secret_key),
            created_by_id=actor.id if actor is not None else None,
            created_at=now,
            expires_at=now + timedelta(days=settings.valid_days),
            import_job_id=import_job_id,
        )
        db.add(invitation)
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
        issued.append(IssuedInvitation(invitation, token, format_code(code)))
    db.flush()
    for (user, household_id), done in zip(users, issued, strict=True):
        audit.record(
            db,
            actor,
            "invitation.issued",
            done.invitation,
            now=now,
            household_id=household_id,
            after={"email": user.email},
        )
    return issued


def invitation_by_token(db: Session, token: str, *, now: datetime) -> Invitation:
    invitation = db.scalar(select(Invitation).where(Invitation.token_hash == hash_token(token[:200])))
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
    if rows_matched(spent) != 1:
        raise InvalidToken()
    user.password_hash = passwords.hash_password(new_password)
    user.activated_at = user.activated_at or now
    audit.record(db, user, "invitation.accepted", invitation, now=now, household_id=scope.household_id_of(db, user))
    return user
