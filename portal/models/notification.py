from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, UTCDateTime, utcnow


class NotificationStatus(StrEnum):
    PENDING = "pending"
    # Claimed by a worker, which is sending it; `next_attempt_at` is when the claim
    # lapses, should that worker die before recording the outcome.
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class Notification(Base):
    """The outbox: written with the change that caused it, delivered by a worker."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    channel: Mapped[str] = mapped_column(String(20), default="email")
    to_address: Mapped[str] = mapped_column(String(254))
    template: Mapped[str] = mapped_column(String(60))
    language: Mapped[str] = mapped_column(String(10), default="en")
    # Template values. Links carrying a secret are dropped once delivered.
    payload: Mapped[dict[str, Any]]
    subject: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[NotificationStatus] = mapped_column(default=NotificationStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WeeklySummaryRun(Base):
    """One Monday's weekly metrics summary, queued once: the unique week is the claim
    that keeps two workers (or two hosts) from sending it twice."""

    __tablename__ = "weekly_summary_run"
    id: Mapped[int] = mapped_column(primary_key=True)
    week_start: Mapped[date] = mapped_column(unique=True)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recipients: Mapped[int] = mapped_column(default=0)
