"""Saved replies: a department lead keeps their department's, an administrator every
department's and the district-wide ones. The request page offers them (staff_requests)."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from portal.blueprints.access import staff_required
from portal.blueprints.forms import save, save_or_show_error
from portal.blueprints.saved_replies.forms import EVERY_DEPARTMENT, ArchiveForm, SavedReplyForm
from portal.blueprints.translated_fields import with_translations
from portal.catalogs import gettext as _
from portal.db import get_session, utcnow
from portal.models import SavedReply
from portal.services.errors import NotAllowed
from portal.services.requests import saved_replies

bp = Blueprint("saved_replies", __name__, url_prefix="/staff/saved-replies")


def _languages() -> tuple[str, ...]:
    return tuple(current_app.config["LANGUAGES"])


def _form(reply: SavedReply | None = None) -> SavedReplyForm:
    """The form, filled from what was sent or, on a first visit, from the saved reply."""
    form_class = with_translations(SavedReplyForm)
    if request.method == "POST":
        form = form_class()
    else:
        form = form_class(formdata=None, obj=reply)
        if reply is not None:
            form.department_id.data = reply.department_id or EVERY_DEPARTMENT
            form.fill_translations(reply.translations)
    choices = [SelectChoice(d.id, d.name) for d in saved_replies.departments_kept_by(get_session(), current_user)]
    if current_user.is_admin:
        choices.insert(0, SelectChoice(EVERY_DEPARTMENT, _("Every department")))
    form.department_id.choices = choices
    return form


def _text(form: SavedReplyForm) -> saved_replies.SavedReplyText:
    department_id = form.department_id.data
    return saved_replies.SavedReplyText(
        department_id=None if department_id == EVERY_DEPARTMENT else department_id,
        title=form.title.data or "",
        body=form.body.data or "",
        translations=form.translations_data(),
    )


@bp.get("/")
@staff_required
def reply_list() -> str:
    return render_template("saved_replies/list.html", replies=saved_replies.kept_by(get_session(), current_user))


@bp.route("/new", methods=["GET", "POST"])
@staff_required
def new_reply() -> Response | str:
    if not saved_replies.may_keep(get_session(), current_user):
        raise NotAllowed()
    form = _form()

    def create(db: Session) -> SavedReply:
        return saved_replies.create(db, current_user, _text(form), languages=_languages(), now=utcnow())

    if form.validate_on_submit() and (created := save_or_show_error(form, create)):
        flash(_("Saved reply “%(title)s” is ready to use.", title=created.title))
        return redirect(url_for("saved_replies.reply_list"))
    return render_template("saved_replies/edit.html", form=form, reply=None)


@bp.route("/<int:reply_id>", methods=["GET", "POST"])
@staff_required
def edit_reply(reply_id: int) -> Response | str:
    reply = saved_replies.get_kept(get_session(), current_user, reply_id)
    form = _form(reply)

    def change(db: Session) -> SavedReply:
        saved_replies.update(db, current_user, reply, _text(form), languages=_languages(), now=utcnow())
        return reply

    if form.validate_on_submit() and save_or_show_error(form, change):
        flash(_("Saved reply “%(title)s” is saved.", title=reply.title))
        return redirect(url_for("saved_replies.reply_list"))
    return render_template("saved_replies/edit.html", form=form, reply=reply, archive_form=ArchiveForm())


@bp.post("/<int:reply_id>/archive")
@staff_required
def archive_reply(reply_id: int) -> Response:
    reply = saved_replies.get_kept(get_session(), current_user, reply_id)
    save(lambda db: saved_replies.archive(db, current_user, reply, now=utcnow()))
    flash(_("Saved reply “%(title)s” is archived: no longer offered.", title=reply.title))
    return redirect(url_for("saved_replies.reply_list"))
