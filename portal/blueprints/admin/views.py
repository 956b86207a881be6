"""Administrators: staff accounts and schools."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.blueprints.access import admin_required
from portal.blueprints.admin.forms import SchoolForm, StaffAccountForm
from portal.blueprints.forms import attach_error
from portal.db import get_session, utcnow
from portal.models import Role
from portal.services import households, staff_accounts
from portal.services.errors import DomainError, InvalidInput

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@admin_required
def home() -> str:
    db = get_session()
    staff = staff_accounts.list_staff(
        db, current_user, page=request.args.get("page", 1, type=int), page_size=current_app.config["PAGE_SIZE"]
    )
    return render_template("admin/home.html", staff=staff, schools=households.list_schools(db))


@bp.route("/staff/new", methods=["GET", "POST"])
@admin_required
def new_staff() -> Response | str:
    form = StaffAccountForm()
    form.language.choices = list(current_app.config["LANGUAGES"].items())
    if form.validate_on_submit():
        db = get_session()
        try:
            staff_accounts.create_staff_account(
                db,
                current_user,
                display_name=form.display_name.data,
                email=form.email.data,
                role=Role(form.role.data),
                language=form.language.data,
                settings=households.InvitationSettings(
                    valid_days=current_app.config["INVITATION_VALID_DAYS"], secret_key=current_app.config["SECRET_KEY"]
                ),
                now=utcnow(),
            )
        except DomainError as error:
            db.rollback()
            attach_error(form, error)
        else:
            db.commit()
            flash(_("Account created. %(name)s was emailed an invitation.", name=form.display_name.data))
            return redirect(url_for("admin.home"))
    return render_template("admin/new_staff.html", form=form)


@bp.post("/staff/<int:user_id>/active")
@admin_required
def set_staff_active(user_id: int) -> Response:
    db = get_session()
    active = request.form.get("active") == "1"
    try:
        user = staff_accounts.set_active(db, current_user, user_id, active=active, now=utcnow())
    except InvalidInput as error:
        flash(str(error.message), "error")
    else:
        db.commit()
        flash(
            _("%(name)s can sign in again.", name=user.display_name)
            if active
            else _("%(name)s can no longer sign in.", name=user.display_name)
        )
    return redirect(url_for("admin.home"))


@bp.route("/schools/new", methods=["GET", "POST"])
@admin_required
def new_school() -> Response | str:
    form = SchoolForm()
    if form.validate_on_submit():
        db = get_session()
        try:
            staff_accounts.add_school(
                db, current_user, name=form.name.data, code=(form.code.data or "").strip() or None, now=utcnow()
            )
        except DomainError as error:
            db.rollback()
            attach_error(form, error)
        else:
            db.commit()
            flash(_("School added."))
            return redirect(url_for("admin.home"))
    return render_template("admin/new_school.html", form=form)
