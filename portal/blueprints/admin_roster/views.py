"""Administrators: a OneRoster export imported as a background job (services/households/
import_jobs.py, run by portal/roster_jobs.py): uploaded here, read by the worker into a dry
run, reviewed line by line, approved or discarded, then written by the worker."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal, format_number
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from portal import labels
from portal.blueprints.access import admin_required
from portal.blueprints.admin_roster.forms import RosterUploadForm
from portal.blueprints.forms import attach_error, save_or_flash, save_or_show_error, whole_number
from portal.catalogs import gettext as _
from portal.db import get_session, utcnow
from portal.extensions import csrf
from portal.models import ImportChange, ImportJob, ImportStatus
from portal.services.errors import InvalidInput
from portal.services.households import import_jobs, oneroster

bp = Blueprint("admin_roster", __name__, url_prefix="/admin/roster")

RECORD_KINDS = ("school", "household", "student", "guardian")
TABLE_CHANGES = (ImportChange.NEW, ImportChange.CHANGED, ImportChange.DEACTIVATED)
# Statuses the page follows with a progress bar, reloading itself.
IN_PROGRESS = (*import_jobs.WAITING, *import_jobs.WORKING)
REFRESH_SECONDS = 5
# The multipart form around the file (its boundaries, the token, the checkbox): the request
# may be this much larger than the file, so that the service judges the file itself.
FORM_OVERHEAD_BYTES = 64 * 1024
# About how many students (each with their guardians) fit in users.csv's MAX_USERS rows,
# as measured for ROSTER_UPLOAD_MAX_BYTES in portal/config.py.
STUDENTS_WITHIN_MAX_USERS = 230_000


@dataclass(frozen=True)
class Counts:
    """A summary's counts ("student_new", "guardian_refused", "warning") as a page reads
    them: one kind of record's new, changed or deactivated, and each kind of change in all."""

    counts: Mapping[str, int]

    def of(self, record: str, change: ImportChange) -> int:
        return self.counts.get(f"{record}_{change}", 0)

    @property
    def by_change(self) -> dict[ImportChange, int]:
        totals = dict.fromkeys(ImportChange, 0)
        for key, count in self.counts.items():
            change = key.rpartition("_")[2]  # "refused" alone is a row that was not used
            if change in totals:
                totals[ImportChange(change)] += count
        return totals


def _max_bytes() -> int:
    return int(current_app.config["ROSTER_UPLOAD_MAX_BYTES"])


def _too_large() -> InvalidInput:
    # The service's own words for a file over the limit (import_jobs.queue).
    return InvalidInput(_("The file is too large: at most %(size)d MB.", size=_max_bytes() // 2**20), field="file")


def _large_upload(view: Callable[..., Any]) -> Callable[..., Any]:
    """The export may be far larger than any other request (MAX_CONTENT_LENGTH), so this
    view raises the limit before the form is read. The app's CSRF check reads the form
    before any view, so it is made here instead, once the limit is raised and before the
    role check, as for every other POST. A request over even this limit reaches the view
    with `too_large`, to be told so next to the field rather than by a bare 413 page."""

    @wraps(view)
    def wrapped(**kwargs: Any) -> Any:
        too_large = False
        if request.method == "POST":
            request.max_content_length = _max_bytes() + FORM_OVERHEAD_BYTES
            try:
                csrf.protect()
            except RequestEntityTooLarge:
                too_large = True
        return view(too_large=too_large, **kwargs)

    return csrf.exempt(wrapped)  # type: ignore[no-any-return]


def _upload_page(form: RosterUploadForm) -> str:
    jobs = import_jobs.recent(get_session(), current_user, page=request.args.get("page", 1, type=whole_number))
    return render_template(
        "admin_roster/upload.html",
        form=form,
        jobs=jobs,
        max_size=format_decimal(_max_bytes() / 2**20, format="#,##0.#"),
        max_people=format_number(oneroster.MAX_USERS),
        about_students=format_number(STUDENTS_WITHIN_MAX_USERS),
    )


@bp.route("", methods=["GET", "POST"])
@_large_upload
@admin_required
def upload(too_large: bool = False) -> Response | str:
    if too_large:
        form = RosterUploadForm(formdata=None)
        attach_error(form, _too_large())
        return _upload_page(form)
    form = RosterUploadForm()
    if form.validate_on_submit():
        export = form.file.data
        job = save_or_show_error(
            form,
            lambda db: import_jobs.queue(
                db,
                current_user,
                export.filename or "",
                export.read(_max_bytes() + 1),
                max_bytes=_max_bytes(),
                invite_guardians=bool(form.invite_guardians.data),
                now=utcnow(),
            ),
        )
        if job is not None:
            flash(_("Uploaded. The worker reads it into a dry run for you to review; nothing is written yet."))
            return redirect(url_for("admin_roster.job", job_id=job.id))
    return _upload_page(form)


def _deactivates_too_many(db: Session, job: ImportJob, planned: Counts) -> bool:
    """A dry run that would deactivate more than a third of the known students: most likely
    the export of one school, not of the district."""
    if job.status != ImportStatus.PLANNED:
        return False
    deactivated = planned.of("student", ImportChange.DEACTIVATED)
    return import_jobs.deactivates_too_many(db, deactivated)


@bp.get("/<int:job_id>")
@admin_required
def job(job_id: int) -> str:
    db = get_session()
    found = import_jobs.job_for_admin(db, current_user, job_id)
    planned = Counts(found.summary.get("planned", {}))
    return render_template(
        "admin_roster/job.html",
        job=found,
        in_progress=found.status in IN_PROGRESS,
        refresh_seconds=REFRESH_SECONDS,
        planned=planned,
        applied=Counts(found.summary["applied"]) if "applied" in found.summary else None,
        too_many_deactivated=_deactivates_too_many(db, found, planned),
        invitations=import_jobs.invitations_sent(db, found.id) if found.status == ImportStatus.DONE else None,
        can_discard=found.status in (ImportStatus.QUEUED, ImportStatus.PLANNED),
        record_kinds=RECORD_KINDS,
        table_changes=TABLE_CHANGES,
        record_names=labels.ROSTER_RECORD,
    )


@bp.get("/<int:job_id>/changes")
@admin_required
def changes(job_id: int) -> str:
    db = get_session()
    found = import_jobs.job_for_admin(db, current_user, job_id)
    try:
        change: ImportChange | None = ImportChange(request.args.get("change", ""))
    except ValueError:
        change = None  # a filter with a bad value is left out, as validate_filters does
    page = import_jobs.changes(db, current_user, found.id, change, page=request.args.get("page", 1, type=whole_number))
    return render_template(
        "admin_roster/changes.html",
        job=found,
        change=change,
        page=page,
        counts=Counts(found.summary.get("planned", {})).by_change,
        record_names=labels.ROSTER_RECORD,
    )


@bp.post("/<int:job_id>/approve")
@admin_required
def approve(job_id: int) -> Response:
    if save_or_flash(lambda db: import_jobs.approve(db, current_user, job_id, now=utcnow()), refusals=InvalidInput):
        flash(_("Approved. The worker writes the changes now; this page shows how far it got."))
    return redirect(url_for("admin_roster.job", job_id=job_id))


@bp.post("/<int:job_id>/discard")
@admin_required
def discard(job_id: int) -> Response:
    if save_or_flash(lambda db: import_jobs.discard(db, current_user, job_id, now=utcnow()), refusals=InvalidInput):
        flash(_("Discarded. Nothing from this file was written."))
    return redirect(url_for("admin_roster.job", job_id=job_id))
