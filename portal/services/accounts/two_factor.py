"""Two-factor sign-in: TOTP codes from an authenticator app, and recovery codes.

A code is accepted for the 30-second step before, at or after now, and never for
a step at or before the last accepted one, so an overheard code cannot be replayed.
"""

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
import segno
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from portal.catalogs import lazy_gettext as _l
from portal.models import RecoveryCode, User
from portal.services import audit, notifications
from portal.services.errors import InvalidInput, NotAllowed

RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
STEP_SECONDS = 30

WRONG_CODE = _l("That code is not right. Use the newest code from your app, or a recovery code.")


def _hash_recovery(code: str) -> str:
    return hashlib.sha256(normalize_recovery(code).encode()).hexdigest()


def normalize_recovery(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isascii() and ch.isalnum())[:40]


def check_secret(secret: str) -> str:
    """A base32 TOTP secret in canonical form, or ValueError."""
    canonical = "".join(secret.split()).upper()
    if len(canonical) < 16 or any(ch not in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" for ch in canonical.rstrip("=")):
        raise ValueError("a TOTP secret is at least 16 characters of base32 (A-Z, 2-7)")
    return canonical


def current_code(secret: str) -> str:
    return pyotp.TOTP(secret).now()


def begin_setup(user: User) -> str:
    """The secret being set up: kept across reloads until confirmed, so the QR code stays the same."""
    if user.has_two_factor:
        raise NotAllowed()
    if not user.totp_secret:
        user.totp_secret = pyotp.random_base32()
    return user.totp_secret


def provisioning_uri(user: User, issuer: str) -> str:
    return pyotp.TOTP(user.totp_secret or "").provisioning_uri(name=user.email, issuer_name=issuer)


def qr_code_data_uri(uri: str) -> str:
    """The set-up QR code, drawn on the server as SVG (no third-party image service)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def _accept_totp(user: User, code: str, now: datetime) -> bool:
    if not user.totp_secret or len(code) != 6 or not (code.isascii() and code.isdigit()):
        return False
    totp = pyotp.TOTP(user.totp_secret)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in (current - 1, current, current + 1):
        if user.totp_last_step is not None and step <= user.totp_last_step:
            continue
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            user.totp_last_step = step
            return True
    return False


def _use_recovery_code(db: Session, user: User, code: str, now: datetime) -> bool:
    if len(normalize_recovery(code)) != 10:
        return False
    row = db.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash_recovery(code),
            RecoveryCode.used_at.is_(None),
        )
    )
    if row is None:
        return False
    row.used_at = now
    return True


def verify(db: Session, user: User, code: str, *, now: datetime) -> str:
    """Check a sign-in code: "totp" or "recovery" for what matched; InvalidInput if nothing did."""
    typed = "".join(code.split())[:40]
    if _accept_totp(user, typed, now):
        return "totp"
    if user.has_two_factor and _use_recovery_code(db, user, typed, now):
        return "recovery"
    raise InvalidInput(WRONG_CODE, field="code")


def _new_recovery_codes(db: Session, user: User) -> list[str]:
    db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.add(RecoveryCode(user_id=user.id, code_hash=_hash_recovery(raw)))
    return codes


def confirm_setup(db: Session, user: User, code: str, *, now: datetime, household_id: int | None) -> list[str]:
    """Turn two-factor sign-in on once a code from the app proves it is set up; return recovery codes."""
    if user.has_two_factor or not user.totp_secret:
        raise NotAllowed()
    if not _accept_totp(user, "".join(code.split())[:40], now):
        raise InvalidInput(
            _l("That code is not right. Check that your app shows this account, and type its newest code."),
            field="code",
        )
    user.totp_enabled_at = now
    codes = _new_recovery_codes(db, user)
    audit.record(db, user, "user.two_factor_enabled", user, now=now, household_id=household_id)
    notifications.enqueue_email(db, user, "two_factor_enabled", {}, now=now)
    return codes


def regenerate_recovery_codes(db: Session, user: User, *, now: datetime) -> list[str]:
    if not user.has_two_factor:
        raise NotAllowed()
    codes = _new_recovery_codes(db, user)
    audit.record(db, user, "user.recovery_codes_replaced", user, now=now)
    return codes


def unused_recovery_codes(db: Session, user: User) -> int:
    unused = select(func.count()).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    return db.scalar(unused) or 0


def turn_off(db: Session, actor: User, user: User, *, now: datetime, household_id: int | None = None) -> bool:
    """Remove the second factor; False when there was none. Families may turn theirs off;
    a staff member's is only reset by an administrator, and set up again at the next sign-in."""
    if actor.id == user.id and user.is_staff:
        raise NotAllowed()
    if actor.id != user.id and not actor.is_admin:
        raise NotAllowed()
    if not user.has_two_factor and not user.totp_secret:
        return False
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    action = "user.two_factor_disabled" if actor.id == user.id else "user.two_factor_reset"
    audit.record(db, actor, action, user, now=now, household_id=household_id)
    notifications.enqueue_email(db, user, "two_factor_disabled", {}, now=now)
    return True
