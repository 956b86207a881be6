"""Security events for administrators to review."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import SecurityEvent, User
from portal.services import scope
from portal.services.pagination import Page, paginate

KINDS = (
    "sign_in_failed",
    "rate_limited",
    "password_changed",
    "password_reset",
    "reset_requested",
    "invitation_accepted",
    "token_refused",
    "email_changed",
    "two_factor_enabled",
    "two_factor_disabled",
    "two_factor_reset",
    "two_factor_failed",
    "recovery_code_used",
    "access_refused",
    "session_ended",
)


@dataclass(frozen=True)
class Client:
    """Where a request came from, as the web layer saw it."""

    ip_address: str = ""
    user_agent: str = ""


def printable(text: str) -> str:
    """What an attacker typed, without the control characters (NUL breaks PostgreSQL)."""
    return "".join(ch for ch in text if ch.isprintable())


def record(
    db: Session,
    kind: str,
    client: Client,
    *,
    now: datetime,
    user: User | None = None,
    email: str = "",
    detail: dict[str, Any] | None = None,
) -> SecurityEvent:
    assert kind in KINDS, kind
    event = SecurityEvent(
        kind=kind,
        user_id=user.id if user is not None else None,
        email=printable(email or (user.email if user is not None else ""))[:254],
        ip_address=printable(client.ip_address)[:45],
        user_agent=printable(client.user_agent)[:300],
        detail=detail,
        created_at=now,
    )
    db.add(event)
    return event


def list_events(db: Session, actor: User, *, kind: str | None, page: int, page_size: int) -> Page[SecurityEvent]:
    scope.require_admin(actor)
    statement = select(SecurityEvent).order_by(SecurityEvent.created_at.desc(), SecurityEvent.id.desc())
    if kind in KINDS:
        statement = statement.where(SecurityEvent.kind == kind)
    return paginate(db, statement, number=page, size=page_size)
