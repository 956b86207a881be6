"""Administrators: who is told of a safety alert and in which order, the terms that raise
one, and the log of every alert with how quickly someone acknowledged it."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from portal.blueprints.access import admin_required
from portal.blueprints.admin_safety.forms import RemoveTeamMemberForm, RemoveTermForm, SafetyTermForm, TeamMemberForm
from portal.blueprints.downloads import csv_attachment
from portal.blueprints.forms import save_or_refuse, save_or_show_error, whole_number
from portal.catalogs import gettext as _
from portal.db import get_session, utcnow
from portal.models import SafetyCategory
from portal.services import csv_export
from portal.services.errors import NotFound
from portal.services.safety import alerts

bp = Blueprint("admin_safety", __name__, url_prefix="/admin/safety")

LOG_HEADER = [
    "alert_id",
    "flagged_at",
    "category",
    "term",
    "acknowledged_at",
    "acknowledged_by",
    "seconds_to_acknowledge",
    "cleared_at",
    "cleared_by",
    "clear_reason",
]


def _team_form(form: TeamMemberForm | None = None) -> TeamMemberForm:
    form = form or TeamMemberForm(formdata=None)
    staff = alerts.staff_choices(get_session(), current_user)
    form.user_id.choices = [SelectChoice(user.id, f"{user.display_name} ({user.email})") for user in staff]
    return form


def _page(team_form: TeamMemberForm | None = None, term_form: SafetyTermForm | None = None) -> str:
    db = get_session()
    terms = alerts.list_terms(db, current_user)
    return render_template(
        "admin_safety/index.html",
        team=alerts.team_members(db, current_user),
        team_form=_team_form(team_form),
        term_form=term_form or SafetyTermForm(formdata=None),
        groups=[(category, [t for t in terms if t.category == category]) for category in SafetyCategory],
        benign=[t for t in terms if t.is_benign],
        edited=any(t.id is not None for t in terms),
        resend_minutes=current_app.config["SAFETY_RESEND_MINUTES"],
    )


@bp.get("/")
@admin_required
def index() -> str:
    return _page()


@bp.post("/team")
@admin_required
def add_team_member() -> Response | str:
    form = TeamMemberForm()

    def add(db: Session) -> bool:
        alerts.add_to_team(db, current_user, form.user_id.data, now=utcnow())
        return True

    if form.validate_on_submit() and save_or_show_error(form, add):
        flash(_("Added to the safety team."))
        return redirect(url_for("admin_safety.index"))
    return _page(team_form=form)


@bp.post("/team/<int:user_id>/remove")
@admin_required
def remove_team_member(user_id: int) -> Response:
    def remove(db: Session) -> bool:
        alerts.remove_from_team(db, current_user, user_id, now=utcnow())
        return True

    if RemoveTeamMemberForm().validate_on_submit():
        if save_or_refuse(remove, refusals=NotFound) is True:
            flash(_("Removed from the safety team."))
        else:
            flash(_("That person is not on the safety team."), "error")
    return redirect(url_for("admin_safety.index"))


@bp.post("/terms")
@admin_required
def add_term() -> Response | str:
    form = SafetyTermForm()
    if form.validate_on_submit() and save_or_show_error(
        form,
        lambda db: alerts.add_term(db, current_user, form.phrase.data or "", form.category.data or "", now=utcnow()),
    ):
        flash(_("“%(phrase)s” is on the list.", phrase=form.phrase.data))
        return redirect(url_for("admin_safety.index"))
    return _page(term_form=form)


@bp.post("/terms/remove")
@admin_required
def remove_term() -> Response:
    form = RemoveTermForm()
    phrase = form.phrase.data or ""

    def remove(db: Session) -> bool:
        alerts.remove_term(db, current_user, phrase, now=utcnow())
        return True

    if form.validate_on_submit() and save_or_refuse(remove, refusals=NotFound) is True:
        flash(_("“%(phrase)s” is no longer on the list.", phrase=phrase))
    else:
        flash(_("That phrase is not on the list."), "error")
    return redirect(url_for("admin_safety.index"))


@bp.get("/log")
@admin_required
def log() -> str:
    page = alerts.alert_log(
        get_session(),
        current_user,
        page=request.args.get("page", 1, type=whole_number),
        page_size=current_app.config["PAGE_SIZE"],
    )
    return render_template("admin_safety/log.html", page=page, minutes_of=_whole_minutes)


def _whole_minutes(seconds: int) -> int:
    return seconds // 60


@bp.get("/log.csv")
@admin_required
def log_csv() -> Response:
    rows = (
        [
            logged.alert.id,
            logged.alert.created_at,
            logged.alert.category.value,
            logged.alert.term,
            logged.alert.acknowledged_at,
            logged.acknowledged_by,
            logged.seconds_to_acknowledge,
            logged.alert.cleared_at,
            logged.cleared_by,
            logged.alert.clear_reason,
        ]
        for logged in alerts.alert_log_rows(get_session(), current_user)
    )
    return csv_attachment(csv_export.write_csv(LOG_HEADER, rows), stem="safety-alerts")
