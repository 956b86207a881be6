"""The worker's side of roster imports (the rules are in services/households/import_jobs.py
and roster_import.py): claim the next job, read the export, save the dry run; or write an
approved one in batches, committing each and reporting progress on the job.

An export that cannot be read fails the job with the reader's message. Any other error
fails the job too (logged with its traceback, so that one bad file never stops the
delivery of notifications), except an unavailable database, which is the worker's to wait
out: the job's claim lapses and it is taken up again.
"""

import logging
from collections.abc import Callable

from flask import Flask
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.catalogs import lazy_gettext as _l
from portal.db import get_session, utcnow
from portal.faults import unavailable_dependency
from portal.models import ImportJob, ImportStatus, User
from portal.services import accounts
from portal.services.errors import DomainError
from portal.services.households import import_jobs, oneroster, roster_import, roster_write

log = logging.getLogger("portal.roster_jobs")

Report = Callable[[ImportJob], None]


def run_next(app: Flask, *, on_progress: Report | None = None) -> ImportJob | None:
    """Do the next step of the next roster import, if any: its dry run, or its write."""
    db = get_session()
    job = import_jobs.claim_next(db, now=utcnow())
    db.commit()
    if job is None:
        return None
    job_id = job.id
    try:
        with force_locale(_language_of(db, job)):
            if job.status == ImportStatus.PLANNING:
                _plan(app, db, job, on_progress)
            else:
                _write(app, db, job, on_progress)
    except Exception as error:
        if unavailable_dependency(error) is not None:
            raise
        db.rollback()
        if isinstance(error, DomainError):
            message = str(error.message)
        else:
            log.exception("roster import %s failed", job_id)
            message = "The import stopped on an error in the portal; it is in the worker's log."
        import_jobs.fail(db, job_id, message, now=utcnow())
        db.commit()
        db.expire_all()
    return db.get(ImportJob, job_id)


def _language_of(db: Session, job: ImportJob) -> str:
    """The dry run's messages are in the language of whoever uploaded the file."""
    user_id = job.applied_by_id or job.created_by_id
    return (db.scalar(select(User.language).where(User.id == user_id)) if user_id else None) or "en"


def _read_plan(app: Flask, db: Session, job: ImportJob, on_progress: Report | None) -> roster_import.RosterPlan:
    _report(db, job, str(_l("Reading the export")), 0, 0, on_progress)
    roster = oneroster.read_export(import_jobs.content_of(db, job.id))
    _report(db, job, str(_l("Comparing with the portal")), 0, 0, on_progress)
    return roster_import.plan(db, roster, region=app.config["DISTRICT_COUNTRY"])


def _plan(app: Flask, db: Session, job: ImportJob, on_progress: Report | None) -> None:
    plan = _read_plan(app, db, job, on_progress)
    import_jobs.save_plan(db, job, plan, now=utcnow())
    db.commit()


def _write(app: Flask, db: Session, job: ImportJob, on_progress: Report | None) -> None:
    # Compared again: the portal may have changed since the dry run.
    plan = _read_plan(app, db, job, on_progress)
    actor = db.get(User, job.applied_by_id) if job.applied_by_id else None
    invitations = accounts.InvitationSettings.from_config(app.config) if job.invite_guardians else None
    for step in roster_write.apply(db, actor, plan, now=utcnow(), invitations=invitations, import_job_id=job.id):
        _report(db, job, step.phase, step.done, step.total, on_progress)
    import_jobs.finish(job, plan, now=utcnow())
    db.commit()


def _report(db: Session, job: ImportJob, phase: str, done: int, total: int, on_progress: Report | None) -> None:
    import_jobs.report(job, phase, done, total, now=utcnow())
    db.commit()
    if on_progress is not None:
        on_progress(job)
