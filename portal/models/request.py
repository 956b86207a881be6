from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow
from portal.models.callback import Callback
from portal.models.district import Department, Priority, School
from portal.models.household import Household, Student
from portal.models.safety_flag import flagged_by_an_alert
from portal.models.user import User
from portal.text_search import folded_copy_of


class RequestStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    WAITING_ON_FAMILY = "waiting_on_family"
    RESOLVED = "resolved"
    CLOSED = "closed"


ACTIVE_STATUSES = (RequestStatus.OPEN, RequestStatus.IN_PROGRESS, RequestStatus.WAITING_ON_FAMILY)


class RequestChannel(StrEnum):
    PORTAL = "portal"
    PHONE = "phone"
    FEEDBACK = "feedback"  # opened by staff to follow up a family's feedback


class RequestBasics:
    """What a request and a list's row of it (services/requests/staff_queue.QueueRequest)
    both say: its reference and whether it is still open."""

    if TYPE_CHECKING:

        @property
        def id(self) -> int: ...
        @property
        def status(self) -> RequestStatus: ...

    @property
    def reference(self) -> str:
        return reference_of(self.id)

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class Request(RequestBasics, Base):
    """A family's question to a department, with the clocks of the promised reply times.

    Each clock keeps its start and its target (business minutes, fixed when the
    clock starts or the priority changes), so its due time can be recomputed when
    the district calendar changes. `due_at` is the earliest running due time: the
    one promise the family sees and the order of the staff queue."""

    __tablename__ = "request"
    __table_args__ = (
        UniqueConstraint("household_id", "submission_key"),
        # The staff queue: its page of ids is read from this index alone (no table rows).
        Index("ix_request_queue", "department_id", "status", "due_at", "id"),
        # An administrator's queue (every department): the active requests, by due time.
        Index("ix_request_status_due", "status", "due_at"),
        # An administrator's queue of every status: a page in queue order without a sort.
        Index("ix_request_due", "due_at", "id"),
        Index("ix_request_household", "household_id", "created_at"),
        Index("ix_request_assignee", "assignee_id", "status"),
        Index("ix_request_first_reply", "department_id", "first_replied_at"),
        # The measured speed reads the last 30 days' first replies.
        Index("ix_request_created", "created_at"),
        # The metrics: a department's requests received in a period.
        Index("ix_request_department_created", "department_id", "created_at"),
        CheckConstraint("resolution_count >= 0", name="resolution_count_positive"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id", ondelete="CASCADE"))
    # The guardian who asked (or for whom staff logged a phone call).
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    # Staff who logged a request taken by phone; None when the family wrote it.
    logged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    channel: Mapped[RequestChannel] = mapped_column(default=RequestChannel.PORTAL)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    student_id: Mapped[int | None] = mapped_column(ForeignKey("student.id", ondelete="SET NULL"))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id", ondelete="SET NULL"), index=True)
    subject: Mapped[str] = mapped_column(String(150))
    # The subject folded, as searches read it (portal/text_search.py), written with the row; never shown.
    search_text: Mapped[str] = mapped_column(
        Text, default=folded_copy_of("subject"), server_default="", deferred=True, deferred_raiseload=True
    )
    priority: Mapped[Priority] = mapped_column(default=Priority.NORMAL)
    status: Mapped[RequestStatus] = mapped_column(default=RequestStatus.OPEN)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # A random value from the form: a retried or double-tapped submission finds its request.
    submission_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # First reply: submission to the first public staff reply.
    first_reply_target_minutes: Mapped[int]
    first_reply_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Business time the first reply took, for the department's measured speed.
    first_reply_business_seconds: Mapped[int | None]
    first_reply_escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Next reply: a family message after a staff reply, to the next public staff reply.
    next_reply_target_minutes: Mapped[int]
    next_reply_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_reply_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_reply_escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Resolution: paused while waiting on the family; the pauses are added to its target.
    resolution_target_minutes: Mapped[int]
    resolution_started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolution_paused_seconds: Mapped[int] = mapped_column(default=0)
    resolution_paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How many times it was resolved: each resolution offers one satisfaction rating.
    resolution_count: Mapped[int] = mapped_column(default=0)
    # An open call-back's promised time (models.callback): a clock like the replies'.
    callback_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why the promise last moved when the calendar changed: shown to the family.
    due_moved: Mapped[dict[str, Any] | None]
    # Flagged by a safety alert not cleared yet: read only by a statement that asks for it
    # (undefer: the queue's page), never behind a caller's back (raiseload).
    flagged: Mapped[bool] = column_property(flagged_by_an_alert("request_id", id), deferred=True, raiseload=True)
    # The latest call-back's id, None while the family never asked for one: read by the
    # request pages with the request (undefer), so that they send no statement for a
    # call-back that is not there (services/requests/callbacks.view_of). Asking for one
    # changes the request, and a flush expires such a property of the rows it updates.
    latest_callback_id: Mapped[int | None] = column_property(
        select(func.max(Callback.id)).where(Callback.request_id == id).scalar_subquery(), deferred=True, raiseload=True
    )

    household: Mapped[Household] = relationship(lazy="raise")
    author: Mapped[User | None] = relationship(foreign_keys=[author_id], lazy="raise")
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id], lazy="raise")
    department: Mapped[Department] = relationship(lazy="raise")
    student: Mapped[Student | None] = relationship(lazy="raise")
    school: Mapped[School | None] = relationship(lazy="raise")
    messages: Mapped[list["RequestMessage"]] = relationship(
        back_populates="request", lazy="raise", order_by="RequestMessage.id"
    )


REFERENCE_PREFIX = "R-"


def reference_of(request_id: int) -> str:
    return f"{REFERENCE_PREFIX}{request_id:06d}"


class RequestMessage(Base):
    """One message of a request's conversation. Internal notes are for staff only."""

    __tablename__ = "request_message"
    __table_args__ = (Index("ix_request_message_request", "request_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("request.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    from_staff: Mapped[bool]
    is_internal: Mapped[bool] = mapped_column(default=False)
    body: Mapped[str] = mapped_column(Text)
    # The body folded, as searches read it (portal/text_search.py), written with the row; never shown.
    search_text: Mapped[str] = mapped_column(
        Text, default=folded_copy_of("body"), server_default="", deferred=True, deferred_raiseload=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    request: Mapped[Request] = relationship(back_populates="messages", lazy="raise")
    author: Mapped[User | None] = relationship(lazy="raise")


class SatisfactionRating(Base):
    """ "How did we do?": one answer per resolution of a request."""

    __tablename__ = "satisfaction_rating"
    __table_args__ = (
        UniqueConstraint("request_id", "resolution_number"),
        # The metrics: the ratings given in a period.
        Index("ix_satisfaction_rating_created", "created_at"),
        CheckConstraint("rating >= 1 AND rating <= 5", name="rating_range"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("request.id", ondelete="CASCADE"))
    resolution_number: Mapped[int]
    rating: Mapped[int]
    comment: Mapped[str] = mapped_column(Text, default="")
    # The guardian who rated on the request page; None through the emailed link.
    rated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DistrictSetting(Base):
    """District-wide settings that administrators change (one row, created on first change)."""

    __tablename__ = "district_setting"
    id: Mapped[int] = mapped_column(primary_key=True)
    # None: the configured DISTRICT_TIMEZONE.
    time_zone: Mapped[str | None] = mapped_column(String(64))
    # The department whose members sort feedback that no rule routes; None: administrators.
    triage_department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))


class CalendarImport(Base):
    """An uploaded iCalendar file's events, kept between the preview and the save."""

    __tablename__ = "calendar_import"
    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(200))
    events: Mapped[dict[str, Any]]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
