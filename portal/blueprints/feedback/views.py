"""Families, and community members without an account, tell the district what works
and what does not."""

import secrets

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from portal.blueprints.access import family_required
from portal.blueprints.feedback.forms import FeedbackForm, PublicFeedbackForm
from portal.blueprints.forms import save_or_show_error, whole_number
from portal.catalogs import gettext as _
from portal.db import get_session, utcnow
from portal.extensions import limiter
from portal.i18n import translated_field
from portal.services import feedback, households, requests

bp = Blueprint("feedback", __name__, url_prefix="/feedback")

# Every public submission counts, the refused ones too: a script learns nothing by retrying.
limit_public = limiter.limit(lambda: current_app.config["PUBLIC_FEEDBACK_LIMIT_PER_CLIENT"], methods=["POST"])


def _set_choices(form: FeedbackForm) -> None:
    db = get_session()
    form.department_id.choices = [SelectChoice(0, _("Not sure"))] + [
        SelectChoice(department.id, translated_field(department)) for department in requests.public_departments(db)
    ]
    form.school_id.choices = [SelectChoice(0, _("No school in particular"))] + [
        SelectChoice(school.id, translated_field(school)) for school in households.school_choices(db)
    ]
    if not form.is_submitted():
        form.submission_key.data = secrets.token_urlsafe(24)


def _new_feedback(form: FeedbackForm, *, contact_email: str | None = None) -> feedback.NewFeedback:
    return feedback.NewFeedback(
        kind=form.kind.data or "",
        department_id=form.department_id.data or None,
        school_id=form.school_id.data or None,
        rating=form.rating.data or None,
        body=form.body.data or "",
        may_contact=bool(form.may_contact.data),
        anonymous=bool(form.anonymous.data),
        contact_email=contact_email,
        submission_key=form.submission_key.data,
        language=str(get_locale() or "en"),
    )


@bp.get("/")
@family_required
def feedback_list() -> str:
    page = feedback.feedback_for_family(
        get_session(),
        current_user,
        page=request.args.get("page", 1, type=whole_number),
        page_size=current_app.config["PAGE_SIZE"],
    )
    return render_template("feedback/list.html", page=page)


@bp.route("/new", methods=["GET", "POST"])
@family_required
def new() -> Response | str:
    form = FeedbackForm()
    _set_choices(form)
    if form.validate_on_submit():
        sent = save_or_show_error(
            form, lambda db: feedback.submit_from_family(db, current_user, _new_feedback(form), now=utcnow())
        )
        if sent:
            return render_template("feedback/sent.html", sent=sent)
    return render_template("feedback/new.html", form=form)


@bp.get("/<int:feedback_id>")
@family_required
def detail(feedback_id: int) -> str:
    found = feedback.feedback_of_family(get_session(), current_user, feedback_id)
    return render_template("feedback/detail.html", item=found)


@bp.route("/public", methods=["GET", "POST"])
@limit_public
def public() -> Response | str:
    """For community members without an account: anonymous, or with an email to answer."""
    if current_user.is_authenticated and current_user.is_family:
        return redirect(url_for("feedback.new"))
    form = PublicFeedbackForm()
    _set_choices(form)
    if form.validate_on_submit():
        if form.website.data:
            # Only a robot fills in the hidden field: it is thanked, and nothing is kept.
            return render_template("feedback/sent.html", sent=None)
        sent = save_or_show_error(
            form,
            lambda db: feedback.submit_public(
                db, _new_feedback(form, contact_email=form.contact_email.data), now=utcnow()
            ),
        )
        if sent:
            return render_template("feedback/sent.html", sent=sent)
    return render_template("feedback/public.html", form=form)
