"""The family's own pages: their household, and nothing of anyone else's."""

from flask import Blueprint, render_template
from flask_login import current_user

from portal.blueprints.access import family_required
from portal.db import get_session
from portal.services import households

bp = Blueprint("family", __name__, url_prefix="/family")


@bp.get("/")
@family_required
def home() -> str:
    household = households.household_for_family(get_session(), current_user)
    return render_template("family/home.html", household=household)


@bp.get("/students/<int:student_id>")
@family_required
def student(student_id: int) -> str:
    found = households.student_for_family(get_session(), current_user, student_id)
    return render_template("family/student.html", student=found)
