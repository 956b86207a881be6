from datetime import datetime
from enum import StrEnum

from sqlalchemy import Exists, ForeignKey, Index, String, exists, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow
from portal.models.feedback import Feedback
from portal.models.request import Request, RequestMessage


class SafetyCategory(StrEnum):
    SELF_HARM = "self_harm"
    SUICIDE = "suicide"
    VIOLENCE = "violence"
    WEAPONS = "weapons"
    ABUSE = "abuse"
    BULLYING = "bullying"


class SafetyTerm(Base):
    """A word or phrase that flags a message as a possible danger to a child, or (benign)
    an everyday phrase that shares a term's words. Until an administrator edits the list,
    the table is empty and the built-in list (services/safety/terms.py) is in force."""

    __tablename__ = "safety_term"
    id: Mapped[int] = mapped_column(primary_key=True)
    phrase: Mapped[str] = mapped_column(String(120), unique=True)
    category: Mapped[SafetyCategory | None]  # None for a benign phrase
    is_benign: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SafetyTeamMember(Base):
    """A person told at once of a safety alert, in the order they are asked to acknowledge it."""

    __tablename__ = "safety_team_member"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), unique=True)
    position: Mapped[int] = mapped_column(default=0)


class SafetyAlert(Base):
    """A request, a family's message or a feedback whose text matched a safety term.

    The safety team is told at once; until someone acknowledges or clears the alert,
    it is sent to the next person on the team every re-send interval (`next_notify_at`,
    None once acknowledged or cleared)."""

    __tablename__ = "safety_alert"
    __table_args__ = (
        Index("ix_safety_alert_created", "created_at"),
        # The alerts not cleared: whether there is one is read with every signed-in page
        # (UNCLEARED_ALERT), and the queues pin them.
        Index(
            "ix_safety_alert_uncleared",
            "id",
            postgresql_where=text("cleared_at IS NULL"),
            sqlite_where=text("cleared_at IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("request.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("request_message.id", ondelete="CASCADE"), index=True)
    feedback_id: Mapped[int | None] = mapped_column(ForeignKey("feedback.id", ondelete="CASCADE"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id", ondelete="SET NULL"), index=True)
    category: Mapped[SafetyCategory]
    term: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Who was asked last, how many times the team was asked, and when the next person is.
    notified_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    notified_count: Mapped[int] = mapped_column(default=0)
    next_notify_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cleared_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    clear_reason: Mapped[str] = mapped_column(String(300), default="")

    # Set when the alert is made in the same flush as what it flags (no ids yet).
    request: Mapped[Request | None] = relationship(lazy="raise")
    message: Mapped[RequestMessage | None] = relationship(lazy="raise")
    feedback: Mapped[Feedback | None] = relationship(lazy="raise")


# Whether an alert is not cleared yet, as a column of another statement (the session
# statement, services/accounts/sessions.py): while none is, the queues pin nothing and
# send no statement for it (services/safety/alerts.py).
UNCLEARED_ALERT: Exists = exists().where(SafetyAlert.cleared_at.is_(None))
