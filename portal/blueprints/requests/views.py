"""Families ask a department and follow the conversation; anyone with the emailed
link rates the answer."""

import secrets
from datetime import datetime, timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from limits import parse as parse_limit
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from portal.blueprints.access import family_required
from portal.blueprints.forms import save, save_or_flash, save_or_refuse, save_or_show_error, whole_number
from portal.blueprints.requests.forms import CallbackForm, NewRequestForm, RatingForm, ReplyForm
from portal.catalogs import gettext as _
from portal.db import get_session, utcnow
from portal.i18n import translated_field
from portal.models import CallbackStatus, Priority, Request, RequestStatus
from portal.services import departments, households, requests
from portal.services.errors import DomainError, InvalidToken
from portal.services.households import contacts
from portal.services.requests import callbacks

bp = Blueprint("requests", __name__, url_prefix="/requests")
MEASURED_SPEED_REFRESH = timedelta(minutes=5)


def _sending_limit() -> requests.SendingLimit:
    """NEW_REQUEST_LIMIT_PER_ACCOUNT ("30 per day"), counted by the service on the household's
    requests: a replayed submission, which makes no request, costs nothing."""
    item = parse_limit(current_app.config["NEW_REQUEST_LIMIT_PER_ACCOUNT"])
    return requests.SendingLimit(item.amount, timedelta(seconds=item.get_expiry()))


@bp.get("/")
@family_required
def request_list() -> str:
    page = requests.requests_for_family(
        get_session(),
        current_user,
        page=request.args.get("page", 1, type=whole_number),
        page_size=current_app.config["PAGE_SIZE"],
    )
    promises = {item.id: requests.promise_of(item) for item in page.items}
    return render_template("requests/list.html", page=page, promises=promises, now=utcnow())


@bp.route("/new", methods=["GET", "POST"])
@family_required
def new() -> Response | str:
    db = get_session()
    form = NewRequestForm()
    public = requests.public_departments(db)
    form.department_id.choices = [SelectChoice(department.id, translated_field(department)) for department in public]
    form.student_id.choices = [SelectChoice(0, _("No student in particular"))] + [
        SelectChoice(student.id, student.full_name) for student in households.students_to_ask_about(db, current_user)
    ]
    if not form.is_submitted():
        form.submission_key.data = secrets.token_urlsafe(24)
        form.phone.data, form.language.data = _call_details()
    if form.validate_on_submit():
        submitted = save_or_show_error(form, lambda db: _send_request(db, form))
        if submitted:
            return redirect(url_for("requests.sent", request_id=submitted.id))
    now = utcnow()
    targets = departments.first_reply_targets(db, (d.id for d in public), Priority.NORMAL)
    return render_template(
        "requests/new.html",
        form=form,
        departments=public,
        first_reply_targets=targets,
        replies_by=requests.first_replies_if_sent(db, targets, now=now),
        measured=_measured_speed(now),
    )


def _send_request(db: Session, form: NewRequestForm) -> Request:
    """The request, and the call-back when one is asked for, in one unit of work: a
    call-back refused (a wrong number, a window when the offices are closed) sends nothing."""
    created, is_new = requests.submit_request(
        db,
        current_user,
        requests.NewRequest(
            department_id=form.department_id.data,
            subject=form.subject.data or "",
            body=form.body.data or "",
            student_id=form.student_id.data or None,
            submission_key=form.submission_key.data,
        ),
        now=utcnow(),
        limit=_sending_limit(),
    )
    if is_new and form.call_me.data:  # a replayed form asked for its call the first time
        region = current_app.config["DISTRICT_COUNTRY"]
        callbacks.ask(db, current_user, created, _call_wanted(form), region=region, now=utcnow())
    return created


def _call_wanted(form: CallbackForm | NewRequestForm) -> callbacks.CallbackAsk:
    return callbacks.CallbackAsk(
        phone=form.phone.data or "",
        language=form.language.data or "",
        weekdays=frozenset(form.weekdays.data or ()),
        window_starts=form.window_starts.data or "",
        window_ends=form.window_ends.data or "",
        note=form.note.data or "",
    )


def _call_details() -> tuple[str, str]:
    """The number and language a call-back form starts with: the family's own."""
    number, interpreter = contacts.call_details(get_session(), current_user)
    return number, interpreter or current_app.config["LANGUAGES"].get(current_user.language, "")


def _measured_speed(now: datetime) -> dict[int, timedelta]:
    """Each department's measured first-reply time, read at most every few minutes per
    worker: a median over 30 days moves slowly, and every new-request form shows it."""
    cached = current_app.extensions.get("portal.measured_speed")
    if cached is None or cached[0] <= now:
        cached = (now + MEASURED_SPEED_REFRESH, requests.typical_first_reply(get_session(), now=now))
        current_app.extensions["portal.measured_speed"] = cached
    return cached[1]


@bp.get("/<int:request_id>/sent")
@family_required
def sent(request_id: int) -> str:
    """The answer to a new request: its reference and the promise."""
    found = requests.request_for_family(get_session(), current_user, request_id)
    return render_template("requests/sent.html", family_request=found, promise=requests.promise_of(found))


def _request_page(
    found: Request,
    reply_form: ReplyForm | None = None,
    rating_form: RatingForm | None = None,
    callback_form: CallbackForm | None = None,
) -> str:
    db = get_session()
    if reply_form or rating_form or callback_form:
        # A refused change was rolled back: read the request as it is saved.
        found = requests.request_for_family(db, current_user, found.id)
    can_rate = requests.can_rate(db, found)
    callback = callbacks.view_of(db, found)
    offers_call = found.is_active and (callback is None or callback.callback.status is not CallbackStatus.OPEN)
    return render_template(
        "requests/request.html",
        family_request=found,
        messages=requests.public_messages(db, found),
        promise=requests.promise_of(found),
        now=utcnow(),
        reply_form=reply_form or ReplyForm(),
        rating_form=(rating_form or RatingForm()) if can_rate else None,
        rating=requests.rating_of(db, found, found.resolution_count) if found.resolution_count else None,
        callback=callback,
        callback_form=callback_form or (_new_callback_form() if offers_call else None),
    )


def _new_callback_form() -> CallbackForm:
    """Filled in with the family's own number and language, the usual afternoons."""
    number, language = _call_details()
    return CallbackForm(formdata=None, data={"phone": number, "language": language})


@bp.get("/<int:request_id>")
@family_required
def detail(request_id: int) -> str:
    return _request_page(requests.request_for_family(get_session(), current_user, request_id))


@bp.post("/<int:request_id>/reply")
@family_required
def reply(request_id: int) -> Response | str:
    found = requests.request_for_family(get_session(), current_user, request_id)
    form = ReplyForm()
    reopening = not found.is_active
    if form.validate_on_submit() and save_or_show_error(
        form,
        lambda db: requests.reply_as_family(db, current_user, found, form.body.data or "", now=utcnow()),
    ):
        flash(_("Your request is open again and your message was sent.") if reopening else _("Your message was sent."))
        return redirect(url_for("requests.detail", request_id=found.id, _anchor="latest"))
    return _request_page(found, reply_form=form)


@bp.post("/<int:request_id>/callback")
@family_required
def ask_callback(request_id: int) -> Response | str:
    found = requests.request_for_family(get_session(), current_user, request_id)
    form = CallbackForm()
    if form.validate_on_submit():
        wanted = _call_wanted(form)
        region = current_app.config["DISTRICT_COUNTRY"]
        if save_or_show_error(
            form, lambda db: callbacks.ask(db, current_user, found, wanted, region=region, now=utcnow())
        ):
            flash(_("We will call you. The time we promise is at the top of this page."))
            return redirect(url_for("requests.detail", request_id=found.id))
    return _request_page(found, callback_form=form)


@bp.post("/<int:request_id>/callback/cancel")
@family_required
def cancel_callback(request_id: int) -> Response:
    found = requests.request_for_family(get_session(), current_user, request_id)
    if ReplyForm().validate_on_submit() and save_or_flash(
        lambda db: callbacks.cancel(db, current_user, found, now=utcnow())
    ):
        flash(_("We will not call. We will write to you here."))
    return redirect(url_for("requests.detail", request_id=found.id))


@bp.post("/<int:request_id>/close")
@family_required
def close(request_id: int) -> Response:
    found = requests.request_for_family(get_session(), current_user, request_id)
    if ReplyForm().validate_on_submit():
        save(lambda db: requests.close_by_family(db, current_user, found, now=utcnow()))
        flash(_("Your request is closed. You can open it again from this page."))
    return redirect(url_for("requests.detail", request_id=found.id))


@bp.post("/<int:request_id>/reopen")
@family_required
def reopen(request_id: int) -> Response:
    found = requests.request_for_family(get_session(), current_user, request_id)
    if ReplyForm().validate_on_submit():
        save(lambda db: requests.reopen(db, current_user, found, now=utcnow()))
        flash(_("Your request is open again."))
    return redirect(url_for("requests.detail", request_id=found.id))


@bp.post("/<int:request_id>/rate")
@family_required
def rate(request_id: int) -> Response | str:
    found = requests.request_for_family(get_session(), current_user, request_id)
    if not requests.can_rate(get_session(), found):
        if found.resolution_count and requests.rating_of(get_session(), found, found.resolution_count):
            flash(_("Thank you: you already told us how we did."))
        else:
            flash(_("There is nothing to rate yet: we ask once the request is resolved."))
        return redirect(url_for("requests.detail", request_id=found.id))
    form = RatingForm()
    if form.validate_on_submit() and save_or_show_error(
        form,
        lambda db: requests.rate(
            db,
            found,
            form.rating.data,
            form.comment.data or "",
            resolution_number=found.resolution_count,
            rated_by=current_user,
            now=utcnow(),
        ),
    ):
        flash(_("Thank you for telling us how we did."))
        return redirect(url_for("requests.detail", request_id=found.id))
    return _request_page(found, rating_form=form)


@bp.route("/rate/<token>", methods=["GET", "POST"])
def rate_by_link(token: str) -> Response | str:
    """The rating link from the resolution email: no sign-in, good for this request's rating only."""
    db = get_session()
    try:
        found, resolution_number = requests.request_for_rating_token(
            db, token, secret_key=current_app.config["SECRET_KEY"]
        )
    except InvalidToken:
        return render_template("requests/rating_link_expired.html"), 404  # type: ignore[return-value]
    if resolution_number != found.resolution_count or found.status is not RequestStatus.RESOLVED:
        # Reopened (or resolved again) since the email: this link asks about an answer that changed.
        return render_template("requests/rating_link_expired.html"), 404  # type: ignore[return-value]
    form = RatingForm()
    already = requests.rating_of(db, found, resolution_number)
    if already is None and form.validate_on_submit():
        rated = save_or_refuse(
            lambda db: requests.rate(
                db,
                found,
                form.rating.data,
                form.comment.data or "",
                resolution_number=resolution_number,
                rated_by=None,
                now=utcnow(),
            )
        )
        if isinstance(rated, InvalidToken):
            return render_template("requests/rating_link_expired.html"), 404  # type: ignore[return-value]
        if isinstance(rated, DomainError):  # every refusal goes next to the stars, the one field a family sees first
            form.rating.errors = [*form.rating.errors, str(rated.message)]
        else:
            return render_template("requests/rating_thanks.html")
    return render_template("requests/rate.html", rating_form=form, reference=found.reference, already=already)
