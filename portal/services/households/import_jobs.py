"""Roster imports as background jobs: queued by an administrator (or the command line),
read and compared by the worker into a dry run, approved, then written by the worker.

One job at a time works on the roster: a job is claimed only while no other is being
read or written, so two imports never interleave their writes. A claim lapses after
CLAIM_LAPSES_AFTER without progress (its worker died) and the job is taken up again:
reading starts over, and writing finishes what the first worker left (see
roster_import). The uploaded file is kept in the job until it is done, failed or
discarded, so any host's worker can read it.
"""

from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from portal.catalogs import lazy_gettext as _l
from portal.db import rows_matched
from portal.models import (
    ImportChange,
    ImportJob,
    ImportJobRow,
    ImportStatus,
    Invitation,
    Notification,
    NotificationStatus,
    Student,
    User,
)
from portal.services import audit, scope
from portal.services.calendar.ics import readable_line
from portal.services.errors import InvalidInput, NotFound
from portal.services.households.roster_import import RosterPlan
from portal.services.pagination import Page, paginate

CLAIM_LAPSES_AFTER = timedelta(minutes=10)
ZIP_SIGNATURE = b"PK\x03\x04"
WORKING = (ImportStatus.PLANNING, ImportStatus.APPLYING)
WAITING = (ImportStatus.QUEUED, ImportStatus.APPLY_QUEUED)
ROW_BATCH = 5000


def queue(
    db: Session,
    actor: User | None,
    file_name: str,
    content: bytes,
    *,
    max_bytes: int,
    invite_guardians: bool,
    now: datetime,
) -> ImportJob:
    """A new import of a OneRoster .zip, to be read by the worker. `actor` None: the command line."""
    if actor is not None:
        scope.require_admin(actor)
    if not content:
        raise InvalidInput(_l("The file is empty. Choose the .zip file the SIS exported."), field="file")
    if len(content) > max_bytes:
        raise InvalidInput(_l("The file is too large: at most %(size)d MB.", size=max_bytes // 2**20), field="file")
    if not content.startswith(ZIP_SIGNATURE):
        message = _l("This is not a .zip file. Choose the OneRoster .zip file the SIS exported.")
        raise InvalidInput(message, field="file")
    if db.scalar(select(ImportJob.id).where(ImportJob.status.in_(WORKING + WAITING)).limit(1)) is not None:
        raise InvalidInput(
            _l("Another import is waiting or running. Let it finish, or discard it, first."), field="file"
        )
    job = ImportJob(
        # The name as the browser sent it, shown on pages: control characters (a NUL breaks
        # PostgreSQL) are taken out.
        file_name=readable_line(file_name, 255) or "export.zip",
        file_size=len(content),
        content=content,
        invite_guardians=invite_guardians,
        phase=str(_l("Waiting for the worker")),
        created_by_id=actor.id if actor is not None else None,
        created_at=now,
    )
    db.add(job)
    db.flush()
    audit.record(db, actor, "roster.queued", job, now=now, after={"file": job.file_name, "bytes": job.file_size})
    return job


def job_for_admin(db: Session, actor: User, job_id: int) -> ImportJob:
    scope.require_admin(actor)
    job = db.get(ImportJob, job_id)
    if job is None:
        raise NotFound()
    return job


def recent(db: Session, actor: User, *, page: int, page_size: int = 10) -> Page[ImportJob]:
    scope.require_admin(actor)
    return paginate(db, select(ImportJob).order_by(ImportJob.id.desc()), number=page, size=page_size)


def changes(
    db: Session, actor: User, job_id: int, change: ImportChange | None, *, page: int, page_size: int = 50
) -> Page[ImportJobRow]:
    """One page of a dry run's lines, of one kind of change or all."""
    job = job_for_admin(db, actor, job_id)
    statement = select(ImportJobRow).where(ImportJobRow.job_id == job.id)
    if change is not None:
        statement = statement.where(ImportJobRow.change == change)
    return paginate(db, statement.order_by(ImportJobRow.id), number=page, size=page_size)


def approve(db: Session, actor: User, job_id: int, *, now: datetime) -> ImportJob:
    """The dry run is what the district wants: the worker writes it."""
    job = job_for_admin(db, actor, job_id)
    _approve(db, job, actor.id)
    audit.record(db, actor, "roster.approved", job, now=now)
    return job


def approve_from_command_line(db: Session, job_id: int) -> None:
    """The command line writes its dry run at once (its user chose so, without --dry-run)."""
    _approve(db, db.get_one(ImportJob, job_id), None)


def _approve(db: Session, job: ImportJob, actor_id: int | None) -> None:
    approved = db.execute(
        update(ImportJob)
        .where(ImportJob.id == job.id, ImportJob.status == ImportStatus.PLANNED)
        .values(
            status=ImportStatus.APPLY_QUEUED,
            applied_by_id=actor_id,
            phase=str(_l("Waiting for the worker")),
            progress_done=0,
            progress_total=0,
        )
        .execution_options(synchronize_session=False)
    )
    if rows_matched(approved) != 1:
        raise InvalidInput(_l("This import is no longer waiting to be approved."))
    db.refresh(job)


def discard(db: Session, actor: User, job_id: int, *, now: datetime) -> ImportJob:
    """Drop an import not yet written (queued, or a dry run nobody wants)."""
    job = job_for_admin(db, actor, job_id)
    _discard(db, job, now)
    audit.record(db, actor, "roster.discarded", job, now=now)
    return job


def discard_unreviewed(db: Session, job_id: int, *, now: datetime) -> None:
    """The command line's dry run, once shown."""
    _discard(db, db.get_one(ImportJob, job_id), now)


def _discard(db: Session, job: ImportJob, now: datetime) -> None:
    discarded = db.execute(
        update(ImportJob)
        .where(ImportJob.id == job.id, ImportJob.status.in_([ImportStatus.QUEUED, ImportStatus.PLANNED]))
        .values(status=ImportStatus.DISCARDED, content=None, finished_at=now, phase="")
        .execution_options(synchronize_session=False)
    )
    if rows_matched(discarded) != 1:
        raise InvalidInput(_l("This import can no longer be discarded."))
    db.refresh(job)


def first_problems(db: Session, job_id: int, *, limit: int) -> list[ImportJobRow]:
    """The first refused rows and warnings of a dry run, for the command line."""
    return list(
        db.scalars(
            select(ImportJobRow)
            .where(
                ImportJobRow.job_id == job_id,
                ImportJobRow.change.in_([ImportChange.REFUSED, ImportChange.WARNING]),
            )
            .order_by(ImportJobRow.id)
            .limit(limit)
        )
    )


def claim_next(db: Session, *, now: datetime) -> ImportJob | None:
    """The next job for this worker, claimed until `now + CLAIM_LAPSES_AFTER` (the caller
    commits the claim before working): a waiting job, or one whose worker stopped
    reporting. None while another worker is working on one."""
    working = select(ImportJob.id).where(ImportJob.status.in_(WORKING), ImportJob.claimed_until > now)
    if db.scalar(working.limit(1)) is not None:
        return None
    candidate = db.scalars(
        select(ImportJob)
        .where(ImportJob.status.in_(WORKING + WAITING))
        .order_by(ImportJob.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    if candidate is None:
        return None
    reading = candidate.status in (ImportStatus.QUEUED, ImportStatus.PLANNING)
    status = ImportStatus.PLANNING if reading else ImportStatus.APPLYING
    claimed = db.execute(
        update(ImportJob)
        .where(
            ImportJob.id == candidate.id,
            ImportJob.status == candidate.status,
            (ImportJob.claimed_until.is_(None)) | (ImportJob.claimed_until <= now),
        )
        .values(status=status, claimed_until=now + CLAIM_LAPSES_AFTER)
        .execution_options(synchronize_session=False)
    )
    db.refresh(candidate)
    return candidate if rows_matched(claimed) == 1 else None


def content_of(db: Session, job_id: int) -> bytes:
    content = db.scalar(select(ImportJob.content).where(ImportJob.id == job_id))
    if content is None:
        raise InvalidInput(_l("The uploaded file is no longer kept. Upload it again."))
    return content


def report(job: ImportJob, phase: str, done: int, total: int, *, now: datetime) -> None:
    """Progress, and the claim renewed: the worker is alive."""
    job.phase, job.progress_done, job.progress_total = phase[:40], done, total
    job.claimed_until = now + CLAIM_LAPSES_AFTER


def save_plan(db: Session, job: ImportJob, plan: RosterPlan, *, now: datetime) -> None:
    """Keep the dry run's lines and counts; the job waits for an administrator."""
    db.execute(delete(ImportJobRow).where(ImportJobRow.job_id == job.id))
    for start in range(0, len(plan.changes), ROW_BATCH):
        rows = [
            {
                "job_id": job.id,
                "change": line.change,
                "record": line.record,
                "sourced_id": line.sourced_id[:40],
                "label": line.label[:200],
                "file": line.file[:40],
                "line": line.line,
                "detail": line.detail[:500],
            }
            for line in plan.changes[start : start + ROW_BATCH]
        ]
        db.execute(insert(ImportJobRow), rows)
    roster = plan.roster
    job.summary = {
        "planned": plan.counts(),
        "version": roster.version,
        "school_year": roster.school_year,
        "unchanged": roster.unchanged,
        "not_families": roster.not_families,
        "shared_custody": len(roster.shared_custody()),
    }
    job.status, job.planned_at, job.claimed_until = ImportStatus.PLANNED, now, None
    job.phase, job.progress_done, job.progress_total = "", 0, 0


def finish(job: ImportJob, plan: RosterPlan, *, now: datetime) -> None:
    job.summary = {**job.summary, "applied": plan.counts()}
    job.status, job.finished_at, job.claimed_until, job.content = ImportStatus.DONE, now, None, None
    job.phase = ""


def fail(db: Session, job_id: int, message: str, *, now: datetime) -> None:
    db.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id)
        .values(status=ImportStatus.FAILED, error=message[:500], finished_at=now, claimed_until=None, content=None)
        .execution_options(synchronize_session=False)
    )


def deactivates_too_many(db: Session, students_deactivated: int) -> bool:
    """Whether a dry run deactivates more than a third of the students the portal has from
    the SIS and still offers: most likely the export of one school, not of the district."""
    known = db.scalar(select(func.count()).where(Student.sis_id.is_not(None), Student.is_active)) or 0
    return students_deactivated > 0 and 3 * students_deactivated > known


def invitations_sent(db: Session, job_id: int) -> tuple[int, int]:
    """(queued, sent) invitation emails of an import's new guardians."""
    queued = db.scalar(select(func.count()).select_from(Invitation).where(Invitation.import_job_id == job_id)) or 0
    sent = db.scalar(
        select(func.count(func.distinct(Invitation.user_id)))
        .join(Notification, Notification.recipient_id == Invitation.user_id)
        .where(
            Invitation.import_job_id == job_id,
            Notification.template == "invitation",
            Notification.status == NotificationStatus.SENT,
        )
    )
    return queued, sent or 0
