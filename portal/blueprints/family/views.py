"""The family's own pages: their household, and nothing of anyone else's."""

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user

from portal.blueprints.access import family_required
from portal.blueprints.forms import whole_number
from portal.db import get_session, utcnow
from portal.services import departments, households
from portal.services.households import access_log
from portal.services.requests import overview

bp = Blueprint("family", __name__, url_prefix="/family")


@bp.get("/")
@family_required
def home() -> str:
    db, now = get_session(), utcnow()
    found = households.home_households(db, current_user)
    requests = overview.family_overview(db, current_user, now=now)
    names = {shown.id: shown.name for shown in found}
    return render_template("family/home.html", households=found, household_names=names, requests=requests, now=now)


@bp.get("/students/<int:student_id>")
@family_required
def student(student_id: int) -> str:
    found = households.student_for_family(get_session(), current_user, student_id)
    return render_template("family/student.html", student=found)


@bp.get("/history")
@family_required
def history() -> str:
    db = get_session()
    events = access_log.family_history(
        db, current_user, page=request.args.get("page", 1, type=whole_number), page_size=current_app.config["PAGE_SIZE"]
    )
    staff_ids = {person.id for _event, person, _household in events.items if person is not None and person.is_staff}
    return render_template("family/history.html", events=events, departments=departments.departments_of(db, staff_ids))
