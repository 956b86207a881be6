from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, UTCDateTime


class ClockKind(StrEnum):
    FIRST_REPLY = "first_reply"
    NEXT_REPLY = "next_reply"
    RESOLUTION = "resolution"
    CALLBACK = "callback"  # a call-back kept: the family was reached
    CALLBACK_FAILED = "callback_failed"  # a call-back ended unkept (wrong number, two failed tries)
    # Events, not clocks (started = stopped, no due time): what the figures count.
    REPLY = "reply"  # any public staff reply
    REOPEN = "reopen"  # a resolved or closed request opened again


class ClockStop(Base):
    """One fact of the metrics (issue #18): a request's clock stopped, written where it stops.

    It keeps the department the request was in at that moment (the one that answered it:
    a later transfer does not move it), the school, who stopped it, and the business
    seconds it ran on the same arithmetic as the promise (`promises.business_seconds`)."""

    __tablename__ = "clock_stop"
    __table_args__ = (
        # Every figure reads a range of stop times of one kind; the seconds and whether on
        # time are in the index too, so the figures are read from it alone.
        Index("ix_clock_stop_kind_stopped", "kind", "stopped_at", "business_seconds", "on_time"),
        Index(
            "ix_clock_stop_department_kind_stopped",
            "department_id",
            "kind",
            "stopped_at",
            "business_seconds",
            "on_time",
        ),
        # Promises that came due within a period and stopped after it.
        Index("ix_clock_stop_kind_due", "kind", "due_at", "stopped_at"),
        Index("ix_clock_stop_department_kind_due", "department_id", "kind", "due_at", "stopped_at"),
        # The staff figures: each member's replies and first replies in a period.
        Index("ix_clock_stop_user_kind_stopped", "user_id", "kind", "stopped_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("request.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ClockKind]
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id", ondelete="CASCADE"))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id", ondelete="SET NULL"))
    # The staff member who stopped it; None when no one did (a family closed, a backfill).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The promised time; None for events (reply, reopen).
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime] = mapped_column(UTCDateTime)
    business_seconds: Mapped[int]
    on_time: Mapped[bool]
    # Call-backs only: how many calls were tried.
    attempts: Mapped[int | None]
