"""Staff work the requests of their departments: a queue sorted by what is due next,
and a request page with everything about the family on one screen."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from portal.blueprints import dates
from portal.blueprints.access import staff_required
from portal.blueprints.forms import save_or_show_error, validate_filters, whole_number
from portal.blueprints.links import numbered_links
from portal.blueprints.staff_requests.forms import (
    CallAttemptForm,
    PhoneRequestForm,
    QueueFilterForm,
    RequestUpdateForm,
    StaffReplyForm,
)
from portal.catalogs import gettext as _
from portal.db import get_session, utcnow
from portal.extensions import client_address
from portal.i18n import translated_field, translator
from portal.labels import label
from portal.models import CallOutcome, Priority, Request, RequestStatus
from portal.services import departments, households, requests, scope
from portal.services.errors import NotFound
from portal.services.households import access_log, contacts, notes
from portal.services.requests import callbacks, saved_replies
from portal.services.requests.promises import Promise
from portal.services.safety import alerts

bp = Blueprint("staff_requests", __name__, url_prefix="/staff/requests")


def _department_choices(*, only_mine: bool) -> list[SelectChoice]:
    db = get_session()
    shown = scope.for_staff(db, current_user).departments if only_mine else departments.department_choices(db)
    return [SelectChoice(department.id, translated_field(department)) for department in shown]


@dataclass(frozen=True)
class QueueRow:
    """One request of the queue as its row reads, worked out here: a page has 25 rows, and
    each call a template makes (a filter, a link, a translation) costs more there."""

    url: str
    reference: str
    subject: str
    priority: str | None  # shown for high and urgent only
    flagged: bool
    calls_back: bool
    family: str
    school: str | None
    department: str
    status: str
    assignee: str | None
    due_badge: Markup
    due_when: str | None  # the due time, unless the badge says it is overdue


def _queue_row(
    item: requests.QueueRequest,
    promise: Promise | None,
    now: datetime,
    name_of: Callable[[Any], str],
    clock: dates.Clock,
    url_of: Callable[[int], str],
) -> QueueRow:
    return QueueRow(
        url=url_of(item.id),
        reference=item.reference,
        subject=item.subject,
        priority=str(label(item.priority)) if item.priority in (Priority.HIGH, Priority.URGENT) else None,
        flagged=item.flagged,
        calls_back=item.callback_due_at is not None,
        family=item.family,
        school=name_of(item.school) if item.school else None,
        department=name_of(item.department),
        status=str(label(item.status)),
        assignee=item.assignee_name,
        due_badge=clock.due_badge(promise, now),
        due_when=clock.when(promise.due_at) if promise and not promise.is_overdue(now) else None,
    )


@bp.get("/")
@staff_required
def queue() -> str:
    db = get_session()
    form = QueueFilterForm(request.args)
    form.department_id.choices = [SelectChoice(0, _("All my departments")), *_department_choices(only_mine=True)]
    name_of = translator()
    form.school_id.choices = [SelectChoice(0, _("Any school"))] + [
        SelectChoice(school.id, name_of(school)) for school in households.school_choices(db, include_inactive=True)
    ]
    validate_filters(form)
    wanted = requests.QueueFilter(
        status=form.status.data or "active",
        department_id=form.department_id.data or None,
        assignee=form.assignee.data or "",
        school_id=form.school_id.data or None,
        overdue_only=bool(form.overdue.data),
        callbacks_only=bool(form.callbacks.data),
        text=form.q.data or "",
    )
    now = utcnow()
    page = requests.queue(
        db,
        current_user,
        wanted,
        now=now,
        page=request.args.get("page", 1, type=whole_number),
        page_size=current_app.config["PAGE_SIZE"],
    )
    filters = {key: value for key, value in request.args.items() if key != "page" and key in form.data}
    # Flagged requests first, above any filter: a child may be in danger.
    pinned = alerts.flagged_requests(db, scope.for_staff(db, current_user))
    clock, url_of = dates.clock(), numbered_links("staff_requests.detail", "request_id")
    rows = [_queue_row(item, requests.promise_of(item), now, name_of, clock, url_of) for item in page.items]
    return render_template(
        "staff_requests/queue.html",
        form=form,
        page=page,
        rows=rows,
        filters=filters,
        pinned=pinned,
        on_safety_team=bool(pinned) and alerts.is_on_team(db, current_user),
    )


def _update_form(found: Request) -> RequestUpdateForm:
    form = RequestUpdateForm(
        data={
            "status": found.status.value,
            "priority": found.priority.value,
            "department_id": found.department_id,
            "assignee_id": found.assignee_id or 0,
        }
        if request.method == "GET"
        else None
    )
    choices = requests.update_choices(get_session(), found.department_id)
    form.department_id.choices = [SelectChoice(d.id, translated_field(d)) for d in choices.departments]
    form.assignee_id.choices = [
        SelectChoice(0, _("Nobody yet")),
        *(SelectChoice(user.id, user.display_name) for user in choices.assignees),
    ]
    return form


def _request_page(
    found: Request,
    reply_form: StaffReplyForm | None = None,
    update_form: RequestUpdateForm | None = None,
    attempt_form: CallAttemptForm | None = None,
    *,
    saved_reply_id: int | None = None,
) -> str:
    db = get_session()
    if reply_form or update_form or attempt_form:
        # A refused change was rolled back: read the request as it is saved.
        found = requests.request_for_staff(db, current_user, found.id)
    family_language = saved_replies.family_language(db, found)
    offered_replies = saved_replies.offered_for(db, found, family_language)
    if reply_form is None:
        reply_form = StaffReplyForm()
        chosen = next((offered for offered in offered_replies if offered.id == saved_reply_id), None)
        if chosen is not None:  # "use a saved reply": its text in the box, to read and change
            reply_form.body.data = chosen.body
    access_log.record_view(db, current_user, found.household, "household", now=utcnow(), ip_address=client_address())
    others = requests.other_open_requests(db, current_user, found)
    page = render_template(
        "staff_requests/request.html",
        family_request=found,
        messages=requests.all_messages(db, found),
        promise=requests.promise_of(found),
        clocks=requests.running_clocks(found),
        now=utcnow(),
        household=found.household,
        contact_details=contacts.household_details(db, current_user, found.household_id),
        family_notes=notes.notes_for_staff(db, current_user, found.household_id),
        others=others,
        other_promises={other.id: requests.promise_of(other) for other in others.visible},
        rating=requests.rating_of(db, found, found.resolution_count) if found.resolution_count else None,
        reply_form=reply_form,
        offered_replies=offered_replies,
        family_language=family_language,
        update_form=update_form or _update_form(found),
        callback=callbacks.view_of(db, found),
        attempt_form=attempt_form or CallAttemptForm(formdata=None),
    )
    db.commit()  # commit: the access log (who looked at a family, and when) is kept whatever the page does
    return page


@bp.get("/<int:request_id>")
@staff_required
def detail(request_id: int) -> str:
    return _request_page(
        requests.request_to_show(get_session(), current_user, request_id, now=utcnow()),
        saved_reply_id=request.args.get("saved_reply", type=int),
    )


@bp.post("/<int:request_id>/call")
@staff_required
def log_call(request_id: int) -> Response | str:
    found = requests.request_for_staff(get_session(), current_user, request_id)
    form = CallAttemptForm()
    if form.validate_on_submit() and save_or_show_error(
        form,
        lambda db: callbacks.log_attempt(
            db, current_user, found, CallOutcome(form.outcome.data), form.note.data or "", now=utcnow()
        ),
    ):
        flash(_("Call logged."))
        return redirect(url_for("staff_requests.detail", request_id=found.id))
    return _request_page(found, attempt_form=form)


@bp.post("/<int:request_id>/reply")
@staff_required
def reply(request_id: int) -> Response | str:
    found = requests.request_for_staff(get_session(), current_user, request_id)
    form = StaffReplyForm()
    internal = request.form.get("action") == "note"

    def send(db):  # type: ignore[no-untyped-def]
        message = requests.reply_as_staff(
            db, current_user, found, form.body.data or "", internal=internal, now=utcnow()
        )
        if form.then_status.data and not internal:
            requests.change_status(
                db,
                current_user,
                found,
                RequestStatus(form.then_status.data),
                now=utcnow(),
                secret_key=current_app.config["SECRET_KEY"],
            )
        return message

    if form.validate_on_submit() and save_or_show_error(form, send):
        flash(_("Internal note saved. The family does not see it.") if internal else _("Reply sent to the family."))
        return redirect(url_for("staff_requests.detail", request_id=found.id, _anchor="latest"))
    return _request_page(found, reply_form=form)


@bp.post("/<int:request_id>/update")
@staff_required
def update(request_id: int) -> Response | str:
    found = requests.request_for_staff(get_session(), current_user, request_id)
    form = _update_form(found)

    def apply(db):  # type: ignore[no-untyped-def]
        now = utcnow()
        # The assignee list belongs to the department the form was opened with.
        moved = form.department_id.data != found.department_id
        requests.change_department(db, current_user, found, form.department_id.data, now=now)
        requests.change_priority(db, current_user, found, Priority(form.priority.data), now=now)
        if not moved:
            requests.assign(db, current_user, found, form.assignee_id.data or None, now=now)
        requests.change_status(
            db,
            current_user,
            found,
            RequestStatus(form.status.data),
            now=now,
            secret_key=current_app.config["SECRET_KEY"],
        )
        return found

    if form.validate_on_submit() and save_or_show_error(form, apply):
        flash(_("Request updated."))
        try:
            requests.request_for_staff(get_session(), current_user, found.id)
        except NotFound:
            flash(_("It is now in a department you do not work in, so it left your queue."))
            return redirect(url_for("staff_requests.queue"))
        return redirect(url_for("staff_requests.detail", request_id=found.id))
    return _request_page(found, update_form=form)


@bp.route("/phone/<int:household_id>", methods=["GET", "POST"])
@staff_required
def log_phone_call(household_id: int) -> Response | str:
    """Write down a request a family made by phone: it joins the same queue."""
    db = get_session()
    household = households.household_for_staff(db, current_user, household_id)
    form = PhoneRequestForm()
    form.guardian_id.choices = [SelectChoice(m.user.id, m.user.display_name) for m in household.guardianships]
    form.department_id.choices = _department_choices(only_mine=False)
    form.student_id.choices = [SelectChoice(0, _("No student in particular"))] + [
        SelectChoice(student.id, student.full_name) for student in household.students
    ]
    if form.validate_on_submit():
        created = save_or_show_error(
            form,
            lambda db: requests.log_phone_request(
                db,
                current_user,
                household.id,
                form.guardian_id.data,
                requests.NewRequest(
                    department_id=form.department_id.data,
                    subject=form.subject.data or "",
                    body=form.body.data or "",
                    student_id=form.student_id.data or None,
                ),
                priority=Priority(form.priority.data),
                now=utcnow(),
            ),
        )
        if created:
            promise = requests.promise_of(created)
            flash(
                _(
                    "Request %(reference)s logged. Tell the family: we will reply by %(when)s.",
                    reference=created.reference,
                    when=dates.when(promise.due_at),
                )
                if promise
                else _("Request %(reference)s logged.", reference=created.reference)
            )
            try:
                requests.request_for_staff(get_session(), current_user, created.id)
            except NotFound:
                return redirect(url_for("staff.household", household_id=household.id))
            return redirect(url_for("staff_requests.detail", request_id=created.id))
    return render_template("staff_requests/phone.html", form=form, household=household)
