from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, UTCDateTime, utcnow


class Topic(StrEnum):
    EMERGENCY = "emergency"
    ATTENDANCE = "attendance"
    TRANSPORTATION = "transportation"
    SCHOOL_NEWS = "school_news"
    EVENTS = "events"
    MEALS_AND_FEES = "meals_and_fees"
    SURVEYS = "surveys"


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    VOICE = "voice"


class ContactPreference(Base):
    """How a guardian wants to be reached. `version` grows with every save, so a
    save based on an older version is caught instead of overwriting a newer one."""

    __tablename__ = "contact_preference"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), unique=True)
    mobile_phone: Mapped[str | None] = mapped_column(String(20))
    voice_phone: Mapped[str | None] = mapped_column(String(20))
    # Any language, in the family's words ("Vietnamese", "Mam"): not only the portal's.
    interpreter_language: Mapped[str] = mapped_column(String(60), default="")
    # "HH:MM" in the district's time zone; no quiet hours when either is None.
    quiet_start: Mapped[str | None] = mapped_column(String(5))
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Every UPDATE says "WHERE version = <the one loaded>" and bumps it: of two saves
    # racing from the same version, the second finds no row and is refused.
    __mapper_args__ = {"version_id_col": version}
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)


class TopicSubscription(Base):
    """One topic reaching one guardian on one channel; absent means off."""

    __tablename__ = "topic_subscription"
    __table_args__ = (
        UniqueConstraint("user_id", "topic", "channel"),
        Index("ix_topic_subscription_export", "topic", "channel"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    topic: Mapped[Topic]
    channel: Mapped[Channel]
