"""The outbox. A notification is written in the same transaction as the change
that caused it, and a worker delivers it, retrying with backoff; none is lost."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Notification, NotificationStatus, User

# Payload keys that carry a secret (a link with a token); cleared once delivered.
SECRET_KEYS = frozenset({"token", "code"})
MAX_BACKOFF = timedelta(hours=6)


def enqueue_email(
    db: Session,
    recipient: User,
    template: str,
    payload: dict[str, Any],
    *,
    now: datetime,
    to_address: str | None = None,
) -> Notification:
    """Queue an email to `recipient` (at `to_address` when given), in their language."""
    notification = Notification(
        recipient_id=recipient.id,
        channel="email",
        to_address=to_address or recipient.email,
        template=template,
        language=recipient.language,
        payload=payload,
        status=NotificationStatus.PENDING,
        next_attempt_at=now,
        created_at=now,
    )
    db.add(notification)
    return notification


def enqueue_email_to_address(
    db: Session, address: str, template: str, payload: dict[str, Any], *, language: str, now: datetime
) -> Notification:
    """Queue an email to someone without an account (a contact address from a public form)."""
    notification = Notification(
        recipient_id=None,
        channel="email",
        to_address=address,
        template=template,
        language=language,
        payload=payload,
        status=NotificationStatus.PENDING,
        next_attempt_at=now,
        created_at=now,
    )
    db.add(notification)
    return notification


def claim_next_due(db: Session, *, now: datetime) -> Notification | None:
    """Lock the next due notification. Workers skip rows that another worker holds."""
    return db.scalars(
        select(Notification)
        .where(
            Notification.status == NotificationStatus.PENDING,
            Notification.next_attempt_at <= now,
        )
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()


def mark_sent(notification: Notification, *, subject: str, now: datetime) -> None:
    notification.status = NotificationStatus.SENT
    notification.subject = subject[:200]
    notification.attempts += 1
    notification.sent_at = now
    notification.last_error = ""
    notification.payload = {key: value for key, value in notification.payload.items() if key not in SECRET_KEYS}


def mark_attempt_failed(
    notification: Notification,
    error: str,
    *,
    now: datetime,
    max_attempts: int,
    retry_base_seconds: int,
) -> None:
    """Retry later with exponential backoff, or give up after `max_attempts`."""
    notification.attempts += 1
    notification.last_error = error[:500]
    if notification.attempts >= max_attempts:
        notification.status = NotificationStatus.FAILED
        return
    delay = timedelta(seconds=retry_base_seconds * 2 ** (notification.attempts - 1))
    notification.next_attempt_at = now + min(delay, MAX_BACKOFF)
