"""Department leads read their departments' figures, administrators every department's,
one department's or one school's, for a period beside the equal period before it; every
table downloads as CSV with the same choices. Who sees what is metrics_scope_for's rule."""

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from portal.blueprints import district
from portal.blueprints.access import staff_required
from portal.blueprints.downloads import csv_attachment
from portal.blueprints.forms import save, validate_filters
from portal.blueprints.metrics import tables
from portal.blueprints.metrics.forms import DEFAULT_PERIOD, MetricsFilterForm, WeeklySummaryForm
from portal.catalogs import gettext as _
from portal.db import get_session, utcnow
from portal.services import csv_export, households, metrics
from portal.services.errors import NotAllowed, NotFound
from portal.services.metrics import weekly

bp = Blueprint("metrics", __name__, url_prefix="/staff/metrics")


@dataclass(frozen=True)
class Shown:
    form: MetricsFilterForm
    board: metrics.Dashboard
    tables: tables.Tables
    choices: dict[str, Any]  # the valid choices, for the download links
    scope_name: str


def _shown() -> Shown:
    """The figures the query string asks for, within what the viewer may see: a bad
    choice is shown next to its field and left out; a department the viewer does not
    lead is a 404, and a viewer who leads nothing gets a 403."""
    db, now = get_session(), utcnow()
    widest = metrics.metrics_scope_for(db, current_user)
    if widest is None:
        raise NotAllowed()
    departments = metrics.departments_for_metrics(db, current_user)
    every_department = widest.department_ids is None
    form = MetricsFilterForm(request.args)
    all_departments = _("All departments") if every_department else _("All my departments")
    form.department.choices = [SelectChoice(0, all_departments), *(SelectChoice(*d) for d in departments)]
    schools = {}
    if every_department:
        schools = {school.id: school.name for school in households.list_schools(db, include_inactive=True)}
        form.school.choices = [SelectChoice(0, _("Every school")), *(SelectChoice(*s) for s in schools.items())]
    else:
        del form.school  # a lead's figures are their departments', whatever the school
    validate_filters(form)
    today = now.astimezone(ZoneInfo(district.time_zone())).date()
    period = form.custom_period() or metrics.named_period(
        form.period.data if form.period.data in ("week", "30days", "year") else DEFAULT_PERIOD, today=today
    )
    department_id = form.department.data or None
    if department_id is not None and department_id not in dict(departments):
        raise NotFound(refused=True)
    school_id = (form.school.data or None) if every_department else None
    scope: metrics.MetricsScope | None = widest
    if department_id is not None or school_id is not None:
        scope = metrics.metrics_scope_for(db, current_user, department_id=department_id, school_id=school_id)
    if scope is None:
        raise NotFound(refused=True)
    board = metrics.dashboard(db, scope, period, now=now)
    choices = {name: value for name, value in request.args.items() if name in form.data and not form[name].errors}
    name = dict(departments).get(department_id or 0, all_departments)
    if school_id is not None:
        name = _("%(department)s, %(school)s", department=name, school=schools[school_id])
    return Shown(form, board, tables.build(board), choices, name)


@bp.get("/")
@staff_required
def index() -> str:
    shown = _shown()
    return render_template(
        "metrics/index.html",
        form=shown.form,
        board=shown.board,
        tables=shown.tables,
        choices=shown.choices,
        cell_text=tables.shown,
        scope_name=shown.scope_name,
        summary_form=WeeklySummaryForm(formdata=None, wanted=current_user.weekly_summary_email),
    )


@bp.post("/weekly-email")
@staff_required
def weekly_email() -> Response:
    """Turn the Monday summary on or off; only someone who sees metrics may ask for it."""
    if metrics.metrics_scope_for(get_session(), current_user) is None:
        raise NotAllowed()
    wanted = bool(WeeklySummaryForm().wanted.data)
    save(lambda db: weekly.set_subscription(db, current_user, wanted))
    if wanted:
        flash(_("Every Monday morning you will get last week's figures by email."))
    else:
        flash(_("You will no longer get the Monday email."))
    return redirect(url_for("metrics.index", _anchor="weekly-email"))


@bp.get("/<key>.csv")
@staff_required
def download(key: str) -> Response:
    shown = _shown()
    table = shown.tables.find(key)
    if table is None:
        raise NotFound()
    header, rows = tables.csv_rows(table, shown.board)
    return csv_attachment(csv_export.write_csv(header, rows), stem=f"metrics-{table.key}")
