from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, UTCDateTime, utcnow
from portal.models.district import Translations, translations_column


class BusinessHours(Base):
    """One open period of a weekday, on the district's local wall clock ("08:00" to "16:30")."""

    __tablename__ = "business_hours"
    __table_args__ = (CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday_range"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    weekday: Mapped[int] = mapped_column(index=True)  # Monday is 0
    opens: Mapped[str] = mapped_column(String(5))
    closes: Mapped[str] = mapped_column(String(5))


class Closure(Base):
    """Local dates, both included, when the offices are closed: holidays, breaks, snow days."""

    __tablename__ = "closure"
    __table_args__ = (Index("ix_closure_days", "first_day", "last_day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    first_day: Mapped[date]
    last_day: Mapped[date]
    name: Mapped[str] = mapped_column(String(120))
    translations: Mapped[Translations] = translations_column()
    # The event's UID in an imported iCalendar file, so a re-import does not duplicate it.
    source_uid: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)


class CalendarFeed(Base):
    """The district's published calendar (.ics URL) the worker reads on a schedule: events
    of the chosen categories close the offices, and a closure it made whose event leaves
    the feed, or is cancelled there, opens them again. One per district."""

    __tablename__ = "calendar_feed"
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    categories: Mapped[list[str]] = mapped_column(JSON)
    # The closures (by event UID) this feed made and still keeps.
    closure_uids: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The worker's next read: also its claim, so two workers never read at once.
    next_check_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # "updated", "unchanged", "refused" (not a calendar we can read), "unreachable".
    last_outcome: Mapped[str | None] = mapped_column(String(20))
    last_message: Mapped[str | None] = mapped_column(String(300))
    last_summary: Mapped[dict[str, Any] | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
