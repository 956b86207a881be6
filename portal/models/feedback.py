from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow
from portal.models.district import Department, School, Translations, translations_column
from portal.models.safety_flag import flagged_by_an_alert
from portal.models.user import User
from portal.text_search import folded_copy_of


class FeedbackKind(StrEnum):
    COMPLIMENT = "compliment"
    SUGGESTION = "suggestion"
    CONCERN = "concern"
    QUESTION = "question"


class FeedbackStatus(StrEnum):
    NEW = "new"
    IN_REVIEW = "in_review"
    RESPONDED = "responded"
    CLOSED = "closed"


class FeedbackSource(StrEnum):
    PORTAL = "portal"  # a signed-in family
    PUBLIC = "public"  # the public form, no account


class Routing(StrEnum):
    CHOSEN = "chosen"  # the sender chose the department
    RULE = "rule"  # "not sure": a keyword rule proposed it
    TRIAGE = "triage"  # "not sure" and no rule matched: the triage group sorts it
    STAFF = "staff"  # staff re-routed it


feedback_tagging = Table(
    "feedback_tagging",
    Base.metadata,
    Column("feedback_id", ForeignKey("feedback.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("feedback_tag.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class FeedbackTag(Base):
    __tablename__ = "feedback_tag"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    translations: Mapped[Translations] = translations_column()


class Feedback(Base):
    """A compliment, suggestion, concern or question, in a shape staff can sort and count.

    Anonymous feedback keeps nothing that identifies its sender: no user, household,
    email or address, here or in the audit trail."""

    __tablename__ = "feedback"
    __table_args__ = (
        Index("ix_feedback_queue", "department_id", "status", "created_at"),
        Index("ix_feedback_household", "household_id", "created_at"),
        Index("ix_feedback_created", "created_at"),
        # The review queue's default view: what is still to handle, newest first.
        Index("ix_feedback_status_created", "status", "created_at"),
        # The metrics: the first responses in a period.
        Index("ix_feedback_first_response", "first_response_at"),
        UniqueConstraint("submission_key"),
        CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating_range"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[FeedbackKind]
    source: Mapped[FeedbackSource] = mapped_column(default=FeedbackSource.PORTAL)
    # None until routed: the triage group sees it.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="SET NULL"))
    routing: Mapped[Routing] = mapped_column(default=Routing.CHOSEN)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id", ondelete="SET NULL"), index=True)
    rating: Mapped[int | None]
    body: Mapped[str] = mapped_column(Text)
    # The body folded, as searches read it (portal/text_search.py), written with the row; never shown.
    search_text: Mapped[str] = mapped_column(
        Text, default=folded_copy_of("body"), server_default="", deferred=True, deferred_raiseload=True
    )
    language: Mapped[str] = mapped_column(String(10), default="en")
    is_anonymous: Mapped[bool] = mapped_column(default=False)
    may_contact: Mapped[bool] = mapped_column(default=False)
    # The sender, unless anonymous: a family account, or an email from the public form.
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id", ondelete="SET NULL"))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    status: Mapped[FeedbackStatus] = mapped_column(default=FeedbackStatus.NEW)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    # From -1 (negative) to 1 (positive); None where the text's language is not scored.
    sentiment: Mapped[float | None] = mapped_column(index=True)
    # The language the text was detected in ("en", "es"...), or "" when it could not be told.
    sentiment_language: Mapped[str] = mapped_column(String(10), default="")
    response: Mapped[str | None] = mapped_column(Text)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    responded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # The first staff response to the sender (later ones replace `response`, not this),
    # and the business time it took since the feedback arrived: for the metrics.
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response_business_seconds: Mapped[int | None]
    # The request opened to follow it up, if any.
    request_id: Mapped[int | None] = mapped_column(ForeignKey("request.id", ondelete="SET NULL"))
    submission_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Flagged by a safety alert not cleared yet: read only by a statement that asks for it
    # (undefer: the review queue's page), never behind a caller's back (raiseload).
    flagged: Mapped[bool] = column_property(flagged_by_an_alert("feedback_id", id), deferred=True, raiseload=True)

    department: Mapped[Department | None] = relationship(lazy="raise")
    school: Mapped[School | None] = relationship(lazy="raise")
    author: Mapped[User | None] = relationship(foreign_keys=[author_id], lazy="raise")
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id], lazy="raise")
    tags: Mapped[list[FeedbackTag]] = relationship(secondary=feedback_tagging, lazy="raise", order_by=FeedbackTag.name)

    @property
    def reference(self) -> str:
        return feedback_reference(self.id)

    @property
    def sender_unknown(self) -> bool:
        return sender_unknown(self.author_id, self.contact_email)


REFERENCE_PREFIX = "F-"


def feedback_reference(feedback_id: int) -> str:
    """The number a family and staff quote: F-000042."""
    return f"{REFERENCE_PREFIX}{feedback_id:06d}"


def sender_unknown(author_id: int | None, contact_email: str | None) -> bool:
    """Nothing says who sent it: only the day it was sent is kept."""
    return author_id is None and not contact_email


# The review queue sorted by rating, lowest first and unrated last (then newest first): a
# page in this index's order, without reading and sorting every piece of feedback.
Index("ix_feedback_rating", Feedback.rating, Feedback.created_at.desc())


class FeedbackComment(Base):
    """Staff's internal comment on feedback: never shown to the sender."""

    __tablename__ = "feedback_comment"
    __table_args__ = (Index("ix_feedback_comment_feedback", "feedback_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(ForeignKey("feedback.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User | None] = relationship(lazy="raise")


class RoutingRule(Base):
    """Administrators' keywords that propose a department for "not sure" feedback."""

    __tablename__ = "routing_rule"
    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id", ondelete="CASCADE"), index=True)
    # Words or phrases, comma-separated, matched case- and accent-insensitively as whole words.
    keywords: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    department: Mapped[Department] = relationship(lazy="raise")
