from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, UTCDateTime, utcnow


class ImportStatus(StrEnum):
    QUEUED = "queued"  # uploaded; the worker reads it and works out the changes
    PLANNING = "planning"
    PLANNED = "planned"  # the dry run is ready for an administrator to read
    APPLY_QUEUED = "apply_queued"  # approved; the worker writes it
    APPLYING = "applying"
    DONE = "done"
    FAILED = "failed"
    DISCARDED = "discarded"


class ImportJob(Base):
    """A roster export being imported in the background: read, shown as a dry run, written.

    The file is kept in the database (not on one host's disk), so whichever host runs the
    worker can read it; it is dropped once the import is done, failed or discarded.
    """

    __tablename__ = "import_job"
    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[ImportStatus] = mapped_column(default=ImportStatus.QUEUED, index=True)
    file_name: Mapped[str] = mapped_column(String(255))
    file_size: Mapped[int]
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    invite_guardians: Mapped[bool] = mapped_column(default=True)
    # What the worker is doing and how far it got, for the progress on the admin page.
    phase: Mapped[str] = mapped_column(String(40), default="")
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int] = mapped_column(default=0)
    # Counts of the dry run ("planned") and of the write ("applied").
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str] = mapped_column(String(500), default="")
    # A worker's claim on the job; it lapses should that worker die.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    applied_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    planned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ImportChange(StrEnum):
    NEW = "new"
    CHANGED = "changed"
    DEACTIVATED = "deactivated"
    REFUSED = "refused"
    WARNING = "warning"


class ImportJobRow(Base):
    """One line of a dry run's diff: a record new, changed or deactivated, or a row refused."""

    __tablename__ = "import_job_row"
    __table_args__ = (Index("ix_import_job_row_job_change", "job_id", "change", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("import_job.id", ondelete="CASCADE"))
    change: Mapped[ImportChange]
    record: Mapped[str] = mapped_column(String(20))  # school, household, student, guardian; "" for a row
    sourced_id: Mapped[str] = mapped_column(String(40), default="")
    label: Mapped[str] = mapped_column(String(200), default="")
    file: Mapped[str] = mapped_column(String(40), default="")
    line: Mapped[int] = mapped_column(default=0)
    detail: Mapped[str] = mapped_column(String(500), default="")
