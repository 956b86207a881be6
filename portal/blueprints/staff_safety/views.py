"""The safety team reads an alert, acknowledges it (nobody else is asked), or clears a
false positive with a reason. Only the team and administrators see these pages."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.blueprints.access import staff_required
from portal.blueprints.forms import save_or_flash, save_or_show_error, whole_number
from portal.blueprints.staff_safety.forms import AcknowledgeForm, ClearForm
from portal.catalogs import gettext as _
from portal.db import get_session, utcnow
from portal.services import scope
from portal.services.safety import alerts

bp = Blueprint("staff_safety", __name__, url_prefix="/staff/safety")


@bp.get("/")
@staff_required
def index() -> str:
    page = alerts.open_alerts(
        get_session(),
        current_user,
        page=request.args.get("page", 1, type=whole_number),
        page_size=current_app.config["PAGE_SIZE"],
    )
    return render_template("staff_safety/index.html", page=page)


def _page(alert_id: int, clear_form: ClearForm | None = None) -> str:
    db = get_session()
    view = alerts.alert_for_team(db, current_user, alert_id)
    staff_scope = scope.for_staff(db, current_user)
    link = None
    if view.alert.request_id is not None:
        department = db.scalar(alerts.department_of_request(view.alert.request_id))
        if department is not None and staff_scope.sees_request_of(department):
            link = url_for("staff_requests.detail", request_id=view.alert.request_id)
    elif view.alert.feedback_id is not None:
        department = db.scalar(alerts.department_of_feedback(view.alert.feedback_id))
        if staff_scope.sees_feedback_of(department):
            link = url_for("staff_feedback.detail", feedback_id=view.alert.feedback_id)
    return render_template(
        "staff_safety/alert.html",
        view=view,
        link=link,
        acknowledge_form=AcknowledgeForm(),
        clear_form=clear_form or ClearForm(),
    )


@bp.get("/<int:alert_id>")
@staff_required
def alert(alert_id: int) -> str:
    return _page(alert_id)


@bp.post("/<int:alert_id>/acknowledge")
@staff_required
def acknowledge(alert_id: int) -> Response | str:
    if AcknowledgeForm().validate_on_submit() and save_or_flash(
        lambda db: alerts.acknowledge(db, current_user, alert_id, now=utcnow())
    ):
        flash(_("Acknowledged. Nobody else on the team is asked about this alert."))
    return redirect(url_for("staff_safety.alert", alert_id=alert_id))


@bp.post("/<int:alert_id>/clear")
@staff_required
def clear(alert_id: int) -> Response | str:
    form = ClearForm()
    if form.validate_on_submit() and save_or_show_error(
        form, lambda db: alerts.clear(db, current_user, alert_id, form.reason.data or "", now=utcnow())
    ):
        flash(_("Cleared: the message is no longer flagged."))
        return redirect(url_for("staff_safety.alert", alert_id=alert_id))
    return _page(alert_id, clear_form=form)
