from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow


class CallbackStatus(StrEnum):
    OPEN = "open"  # the family waits for the call
    REACHED = "reached"  # the call took place: the request goes on in writing
    NEEDS_NEW_TIME = "needs_new_time"  # two calls failed: the family was asked for a better time or number
    WRONG_NUMBER = "wrong_number"  # the family was asked to correct its number
    CANCELLED = "cancelled"  # the family would rather be written to


class CallOutcome(StrEnum):
    REACHED = "reached"
    VOICEMAIL = "voicemail"
    NO_ANSWER = "no_answer"
    WRONG_NUMBER = "wrong_number"


class Callback(Base):
    """A family's wish to be called back about a request, at a number, in a language and
    within a weekly window on the district's clock; promised like a written reply."""

    __tablename__ = "callback"
    __table_args__ = (Index("ix_callback_status_due", "status", "due_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("request.id", ondelete="CASCADE"), index=True)
    asked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    phone: Mapped[str] = mapped_column(String(20))  # E.164
    language: Mapped[str] = mapped_column(String(60))
    weekdays: Mapped[str] = mapped_column(String(7))  # the window's weekdays, Monday is "0": "01234"
    window_starts: Mapped[str] = mapped_column(String(5))  # "HH:MM"
    window_ends: Mapped[str] = mapped_column(String(5))
    note: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[CallbackStatus] = mapped_column(default=CallbackStatus.OPEN)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the department's supervisors were told the call is late (once).
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    attempts: Mapped[list["CallAttempt"]] = relationship(lazy="raise", order_by="CallAttempt.id")


class CallAttempt(Base):
    """One try at calling a family: what happened, and staff's note."""

    __tablename__ = "call_attempt"
    id: Mapped[int] = mapped_column(primary_key=True)
    callback_id: Mapped[int] = mapped_column(ForeignKey("callback.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    outcome: Mapped[CallOutcome]
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
