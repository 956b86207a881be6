"""The outbox. A notification is written in the same transaction as the change
that caused it, and a worker delivers it, retrying with backoff; none is lost."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.db import rows_matched
from portal.models import Notification, NotificationStatus, User

# Payload keys that carry a secret (a link with a token); cleared once delivered.
SECRET_KEYS = frozenset({"token", "code"})
MAX_BACKOFF = timedelta(hours=6)
# How long a worker's claim on a notification lasts: far longer than one SMTP send can
# take (each step times out after SMTP_TIMEOUT_SECONDS), so only a dead worker's lapses.
CLAIM_LAPSES_AFTER = timedelta(minutes=10)


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
    """Claim the next due notification for this worker: it becomes SENDING until
    `now + CLAIM_LAPSES_AFTER`. The caller commits the claim before sending, so no other
    worker takes the row while it is out, even if this worker's database connection
    drops meanwhile. A claim that lapsed (its worker died) is due again."""
    while True:
        candidate = db.scalars(
            select(Notification)
            .where(
                Notification.status.in_([NotificationStatus.PENDING, NotificationStatus.SENDING]),
                Notification.next_attempt_at <= now,
            )
            .order_by(Notification.next_attempt_at, Notification.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if candidate is None:
            return None
        # Guarded, for databases without row locks (SQLite): the row must still be as read.
        claimed = db.execute(
            update(Notification)
            .where(
                Notification.id == candidate.id,
                Notification.status == candidate.status,
                Notification.next_attempt_at == candidate.next_attempt_at,
            )
            .values(status=NotificationStatus.SENDING, next_attempt_at=now + CLAIM_LAPSES_AFTER)
            .execution_options(synchronize_session=False)
        )
        db.refresh(candidate)
        if rows_matched(claimed) == 1:
            return candidate


def release(notification: Notification, *, now: datetime) -> None:
    """Give a claimed notification back untouched (the mail server was unavailable)."""
    notification.status = NotificationStatus.PENDING
    notification.next_attempt_at = now


def record_sent(db: Session, notification_id: int, *, subject: str, sent_at: datetime) -> None:
    """Record a send the worker could not record at the time (its database connection
    dropped right after the server accepted the message)."""
    notification = db.get(Notification, notification_id, with_for_update=True)
    if notification is not None and notification.status == NotificationStatus.SENDING:
        mark_sent(notification, subject=subject, now=sent_at)


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
    notification.status = NotificationStatus.PENDING
    if notification.attempts >= max_attempts:
        notification.status = NotificationStatus.FAILED
        return
    delay = timedelta(seconds=retry_base_seconds * 2 ** (notification.attempts - 1))
    notification.next_attempt_at = now + min(delay, MAX_BACKOFF)
