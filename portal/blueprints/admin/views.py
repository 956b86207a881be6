"""Administrators' home: the staff accounts and schools, and the way to every admin page."""

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user

from portal.blueprints.access import admin_required
from portal.blueprints.forms import whole_number
from portal.db import get_session
from portal.services import households
from portal.services.accounts import staff_accounts

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@admin_required
def home() -> str:
    db = get_session()
    staff = staff_accounts.list_staff(
        db, current_user, page=request.args.get("page", 1, type=whole_number), page_size=current_app.config["PAGE_SIZE"]
    )
    return render_template("admin/home.html", staff=staff, schools=households.list_schools(db, include_inactive=True))
