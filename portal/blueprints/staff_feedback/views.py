"""Staff triage feedback: a review queue with filters and bulk actions, and the
feedback page with its history, internal comments, the answer and follow-up."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from babel import Locale
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user
from jinja2.filters import do_truncate
from werkzeug.wrappers import Response
from wtforms import Form, SelectChoice

from portal.blueprints import dates
from portal.blueprints.access import is_safe_path, staff_required
from portal.blueprints.forms import (
    save_or_flash,
    save_or_refuse,
    save_or_show_error,
    validate_filters,
    whole_number,
    whole_numbers,
)
from portal.blueprints.links import numbered_links
from portal.blueprints.staff_feedback.forms import (
    BulkForm,
    CommentForm,
    FeedbackUpdateForm,
    ResponseForm,
    ReviewFilterForm,
    TagsForm,
)
from portal.catalogs import gettext as _
from portal.catalogs import ngettext
from portal.db import get_session, utcnow
from portal.i18n import display_name, translator
from portal.labels import SentimentLabel, label
from portal.models import Feedback, FeedbackStatus
from portal.services import departments, feedback, households, scope
from portal.services.errors import DomainError, NotFound
from portal.services.feedback import sentiment
from portal.services.safety import alerts

bp = Blueprint("staff_feedback", __name__, url_prefix="/staff/feedback")


@dataclass(frozen=True)
class SentimentShown:
    """How a piece of feedback reads, as its badge shows it: the reading, which styles
    the badge, and its words, or why the text was not scored."""

    reading: SentimentLabel
    text: str


def _sentiment(score: float | None, language: str | None, locale: Locale) -> SentimentShown:
    reading = SentimentLabel(sentiment.label_of(score))
    if reading != SentimentLabel.UNSCORED:
        text = str(label(reading))
    elif language:
        text = _("Not scored: language (%(language)s) not supported", language=display_name(language, locale))
    else:
        text = _("Not scored: too short to tell the language")
    return SentimentShown(reading, text)


def _departments(shown: Sequence[departments.DepartmentChoice] | None = None) -> list[SelectChoice]:
    """Departments as choices: `shown`, or every one."""
    if shown is None:
        shown = departments.department_choices(get_session())
    name_of = translator()
    return [SelectChoice(department.id, name_of(department)) for department in shown]


@dataclass(frozen=True)
class ReviewRow:
    """One piece of feedback as its queue row reads, worked out here (25 rows a page, and
    a call from a template costs more: a translation with a value put in, a macro's
    call)."""

    id: int
    url: str
    kind: str
    reference: str
    select_label: str  # the row's checkbox, to a screen reader
    excerpt: str
    received: str  # the day only when nothing says who sent it
    tags: list[str]
    flagged: bool
    department: str | None
    school: str | None
    rating: int | None
    sentiment: SentimentShown
    status: str
    assignee: str | None


def _review_row(
    item: feedback.QueueItem, name_of: Callable[[Any], str], clock: dates.Clock, url_of: Callable[[int], str]
) -> ReviewRow:
    return ReviewRow(
        id=item.id,
        url=url_of(item.id),
        kind=str(label(item.kind)),
        reference=item.reference,
        select_label=_("Select %(reference)s", reference=item.reference),
        excerpt=do_truncate(current_app.jinja_env, item.body, 90),
        received=clock.day(item.created_at) if item.sender_unknown else clock.when(item.created_at),
        tags=[name_of(tag) for tag in item.tags],
        flagged=item.flagged,
        department=name_of(item.department) if item.department else None,
        school=name_of(item.school) if item.school else None,
        rating=item.rating,
        sentiment=_sentiment(item.sentiment, item.sentiment_language, clock.locale),
        status=str(label(item.status)),
        assignee=item.assignee_name,
    )


def _staff(staff_scope: scope.StaffScope) -> list[SelectChoice]:
    offered = feedback.staff_choices(get_session(), staff_scope)
    return [SelectChoice(str(user.id), user.display_name) for user in offered]


@bp.get("/")
@staff_required
def queue() -> str:
    db = get_session()
    form = ReviewFilterForm(request.args)
    # The topics offered are those whose feedback this staff member sees (read once, with
    # the queue's scope).
    staff_scope = scope.for_staff(db, current_user)
    form.department_id.choices = [SelectChoice(0, _("Any topic"))]
    if staff_scope.sees_unrouted_feedback:
        form.department_id.choices.append(SelectChoice(-1, _("Not routed yet")))
    form.department_id.choices += _departments(staff_scope.departments)
    name_of = translator()
    form.school_id.choices = [SelectChoice(0, _("Any school"))] + [
        SelectChoice(school.id, name_of(school)) for school in households.school_choices(db, include_inactive=True)
    ]
    form.tag.choices = [SelectChoice("", _("Any tag"))] + [SelectChoice(name, name) for name in feedback.all_tags(db)]
    staff = _staff(staff_scope)
    form.assignee.choices = [
        SelectChoice("", _("Anyone")),
        SelectChoice("me", _("Me")),
        SelectChoice("none", _("Nobody yet")),
        *staff,
    ]
    validate_filters(form)
    wanted = feedback.ReviewFilter(
        kind=form.kind.data or "",
        department_id=form.department_id.data or None,
        school_id=form.school_id.data or None,
        rating=form.rating.data or None,
        status=form.status.data or "open",
        tag=form.tag.data or "",
        assignee=form.assignee.data or "",
        sentiment=form.sentiment.data or "",
        received_from=form.received_from.data,
        received_to=form.received_to.data,
        text=form.q.data or "",
        sort=form.sort.data or "newest",
    )
    clock = dates.clock()
    page = feedback.review_queue(
        db,
        current_user,
        wanted,
        time_zone=clock.zone.key,
        page=request.args.get("page", 1, type=whole_number),
        page_size=current_app.config["PAGE_SIZE"],
    )
    filters = {key: value for key, value in request.args.items() if key != "page" and key in form.data}
    bulk_form = BulkForm(formdata=None)
    bulk_form.assignee_id.choices = [SelectChoice("", _("Nobody")), *staff]
    # Flagged feedback first, above any filter: a child may be in danger.
    pinned = alerts.flagged_feedback(db, staff_scope)
    url_of = numbered_links("staff_feedback.detail", "feedback_id")
    return render_template(
        "staff_feedback/queue.html",
        form=form,
        page=page,
        rows=[_review_row(item, name_of, clock, url_of) for item in page.items],
        filters=filters,
        bulk_form=bulk_form,
        pinned=pinned,
        on_safety_team=bool(pinned) and alerts.is_on_team(db, current_user),
    )


@bp.post("/bulk")
@staff_required
def bulk() -> Response:
    form = BulkForm()
    form.assignee_id.choices = [SelectChoice("", _("Nobody")), *_staff(scope.for_staff(get_session(), current_user))]
    back = request.form.get("back", "")
    target = back if is_safe_path(back) and back.startswith("/staff/feedback/") else url_for("staff_feedback.queue")
    if not form.validate_on_submit():
        flash(_("Choose what to do with the selected feedback."), "error")
        return redirect(target)
    ids = whole_numbers(request.form.getlist("ids"))
    changed = save_or_flash(
        lambda db: feedback.bulk_change(
            db,
            current_user,
            ids,
            form.action.data,
            (form.assignee_id.data or "") if form.action.data == "assign" else (form.tag.data or ""),
            now=utcnow(),
        )
    )
    if changed is None:
        return redirect(target)
    flash(ngettext("%(num)d piece of feedback changed.", "%(num)d pieces of feedback changed.", changed))
    return redirect(target)


def _page(found: Feedback, **forms: Form) -> str:
    db = get_session()
    if forms:
        # A refused change was rolled back: show the feedback as it is saved.
        found = feedback.feedback_for_staff(db, current_user, found.id)
    update_form = forms.get("update_form") or FeedbackUpdateForm(
        formdata=None,
        data={
            "status": found.status.value,
            "assignee_id": found.assignee_id or 0,
            "department_id": found.department_id or 0,
        },
    )
    update_form.assignee_id.choices = [SelectChoice(0, _("Nobody yet"))] + [
        SelectChoice(user.id, user.display_name) for user in feedback.assignee_choices(db, found.department_id)
    ]
    update_form.department_id.choices = [SelectChoice(0, _("Not routed yet (triage)")), *_departments()]
    return render_template(
        "staff_feedback/feedback.html",
        item=found,
        sentiment=_sentiment(found.sentiment, found.sentiment_language, get_locale()),
        history=feedback.history_of(db, found),
        comments=feedback.comments_of(db, found),
        comment_form=forms.get("comment_form") or CommentForm(formdata=None),
        response_form=forms.get("response_form") or ResponseForm(formdata=None, response=found.response or ""),
        update_form=update_form,
        tags_form=forms.get("tags_form") or TagsForm(formdata=None, tags=", ".join(t.name for t in found.tags)),
        request_error=forms.get("request_error"),
    )


def _found(feedback_id: int) -> Feedback:
    return feedback.feedback_for_staff(get_session(), current_user, feedback_id)


@bp.get("/<int:feedback_id>")
@staff_required
def detail(feedback_id: int) -> str:
    return _page(_found(feedback_id))


@bp.post("/<int:feedback_id>/comment")
@staff_required
def comment(feedback_id: int) -> Response | str:
    found, form = _found(feedback_id), CommentForm()
    if form.validate_on_submit() and save_or_show_error(
        form, lambda db: feedback.add_comment(db, current_user, found, form.body.data or "", now=utcnow())
    ):
        flash(_("Comment saved. The sender does not see it."))
        return redirect(url_for("staff_feedback.detail", feedback_id=found.id))
    return _page(found, comment_form=form)


@bp.post("/<int:feedback_id>/respond")
@staff_required
def respond(feedback_id: int) -> Response | str:
    found, form = _found(feedback_id), ResponseForm()
    if form.validate_on_submit() and save_or_show_error(
        form, lambda db: feedback.respond(db, current_user, found, form.response.data or "", now=utcnow())
    ):
        flash(_("Answer saved and emailed to the sender.") if found.may_contact else _("Answer saved."))
        return redirect(url_for("staff_feedback.detail", feedback_id=found.id))
    return _page(found, response_form=form)


@bp.post("/<int:feedback_id>/update")
@staff_required
def update(feedback_id: int) -> Response | str:
    found, form = _found(feedback_id), FeedbackUpdateForm()
    form.assignee_id.choices, form.department_id.choices = [], []
    if form.validate_on_submit() and save_or_show_error(
        form,
        lambda db: feedback.update(
            db,
            current_user,
            found,
            status=FeedbackStatus(form.status.data),
            assignee_id=form.assignee_id.data or None,
            department_id=form.department_id.data or None,
            now=utcnow(),
        ),
    ):
        flash(_("Feedback updated."))
        try:
            _found(found.id)
        except NotFound:
            flash(_("It is now with a department you do not work in, so it left your queue."))
            return redirect(url_for("staff_feedback.queue"))
        return redirect(url_for("staff_feedback.detail", feedback_id=found.id))
    return _page(found, update_form=form)


@bp.post("/<int:feedback_id>/tags")
@staff_required
def tags(feedback_id: int) -> Response | str:
    found, form = _found(feedback_id), TagsForm()
    if form.validate_on_submit() and save_or_show_error(
        form,
        lambda db: feedback.set_tags(db, current_user, found, feedback.parse_tags(form.tags.data or ""), now=utcnow()),
    ):
        flash(_("Tags saved."))
        return redirect(url_for("staff_feedback.detail", feedback_id=found.id))
    return _page(found, tags_form=form)


@bp.post("/<int:feedback_id>/request")
@staff_required
def open_request(feedback_id: int) -> Response | str:
    """Turn the feedback into a request in its department, linked to it."""
    found, form = _found(feedback_id), CommentForm()
    if not form.validate_on_submit():
        return redirect(url_for("staff_feedback.detail", feedback_id=found.id))
    opened = save_or_refuse(lambda db: feedback.turn_into_request(db, current_user, found, now=utcnow()))
    if isinstance(opened, DomainError):  # no form field to show it in: the page has its own place
        return _page(found, request_error=str(opened.message))
    flash(_("Request %(reference)s opened for the family.", reference=opened.reference))
    return redirect(url_for("staff_feedback.detail", feedback_id=found.id))
