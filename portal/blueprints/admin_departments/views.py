"""Administrators: departments, their reply-time targets and members, feedback routing and triage."""

import math

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from portal.blueprints.access import admin_required
from portal.blueprints.admin_departments.forms import (
    TARGET_KINDS,
    DepartmentForm,
    DepartmentMemberForm,
    RoutingRuleForm,
    TriageGroupForm,
)
from portal.blueprints.forms import save, save_or_show_error
from portal.blueprints.translated_fields import with_translations
from portal.catalogs import gettext as _
from portal.db import get_session, utcnow
from portal.i18n import translated_field
from portal.models import Department, Priority
from portal.services import (
    departments,
    feedback,
)
from portal.services.errors import InvalidInput

bp = Blueprint("admin_departments", __name__, url_prefix="/admin")


@bp.get("/departments")
@admin_required
def department_list() -> str:
    return render_template(
        "admin_departments/department_list.html", departments=departments.list_departments(get_session())
    )


def _hours_to_minutes(text: str, field_name: str) -> int:
    try:
        hours = float(text.strip().replace(",", "."))
    except ValueError as error:
        raise InvalidInput(_("Enter a number of hours, like 8 or 0.5."), field=field_name) from error
    if not math.isfinite(hours * 60):  # 1.5e308 hours is finite; in minutes it is not
        raise InvalidInput(_("Enter a number of hours, like 8 or 0.5."), field=field_name)
    return round(hours * 60)


@bp.route("/departments/<int:department_id>", methods=["GET", "POST"])
@admin_required
def edit_department(department_id: int) -> Response | str:
    db = get_session()
    department = departments.department_for_admin(db, current_user, department_id)
    form = with_translations(DepartmentForm)() if request.method == "POST" else _saved_department_form(department)

    def save(db: Session) -> Department:
        targets = {
            priority: departments.Targets(
                *(
                    _hours_to_minutes(form.target_field(priority, kind).data, f"{priority.value}_{kind}")
                    for kind in TARGET_KINDS
                )
            )
            for priority in Priority
        }
        return departments.update_department(
            db,
            current_user,
            department,
            name=form.name.data,
            description=form.description.data or "",
            is_public=form.is_public.data,
            metrics_public=form.metrics_public.data,
            targets=targets,
            now=utcnow(),
            translations=form.translations_data(),
            languages=tuple(current_app.config["LANGUAGES"]),
        )

    if form.validate_on_submit() and save_or_show_error(form, save):
        flash(_("%(name)s is saved.", name=translated_field(department)))
        return redirect(url_for("admin_departments.department_list"))
    return _department_page(department, form, _member_form())


def _member_form(*, submitted: bool = False) -> DepartmentMemberForm:
    form = DepartmentMemberForm() if submitted else DepartmentMemberForm(formdata=None)
    staff = departments.staff_choices(get_session())
    form.user_id.choices = [SelectChoice(user.id, f"{user.display_name} ({user.email})") for user in staff]
    return form


def _department_page(department: Department, form: DepartmentForm, member_form: DepartmentMemberForm) -> str:
    return render_template(
        "admin_departments/edit_department.html",
        form=form,
        member_form=member_form,
        department=department,
        members=departments.members_of(get_session(), department.id),
        priorities=list(Priority),
        kinds=TARGET_KINDS,
    )


def _saved_department_form(department: Department) -> DepartmentForm:
    form = with_translations(DepartmentForm)(formdata=None, obj=department)
    form.fill_translations(department.translations)
    for priority, target in departments.targets_of(get_session(), department.id).items():
        for kind, minutes in zip(TARGET_KINDS, vars(target).values(), strict=True):
            form.target_field(priority, kind).data = f"{minutes / 60:g}"
    return form


@bp.post("/departments/<int:department_id>/members")
@admin_required
def add_department_member(department_id: int) -> Response | str:
    db = get_session()
    department = departments.department_for_admin(db, current_user, department_id)
    form = _member_form(submitted=True)
    if form.validate_on_submit() and save_or_show_error(
        form,
        lambda db: departments.add_member(
            db, current_user, department, form.user_id.data, is_supervisor=form.is_supervisor.data, now=utcnow()
        ),
    ):
        flash(_("%(name)s now has this staff member.", name=translated_field(department)))
        return redirect(url_for("admin_departments.edit_department", department_id=department.id))
    return _department_page(department, _saved_department_form(department), form)


@bp.post("/departments/<int:department_id>/members/<int:user_id>/remove")
@admin_required
def remove_department_member(department_id: int, user_id: int) -> Response:
    department = departments.department_for_admin(get_session(), current_user, department_id)
    save(lambda db: departments.remove_member(db, current_user, department, user_id, now=utcnow()))
    flash(_("Removed from %(name)s.", name=translated_field(department)))
    return redirect(url_for("admin_departments.edit_department", department_id=department.id))


def _feedback_routing_page(rule_form: RoutingRuleForm | None = None, triage_form: TriageGroupForm | None = None) -> str:
    db = get_session()
    department_choices = [SelectChoice(d.id, translated_field(d)) for d in departments.department_choices(db)]
    rule_form = rule_form or RoutingRuleForm(formdata=None)
    rule_form.department_id.choices = department_choices
    triage_form = triage_form or TriageGroupForm(formdata=None, department_id=feedback.triage_department_id(db) or 0)
    triage_form.department_id.choices = [SelectChoice(0, _("None: administrators sort it")), *department_choices]
    return render_template(
        "admin_departments/feedback_routing.html",
        rules=feedback.routing_rules(db),
        rule_form=rule_form,
        triage_form=triage_form,
        keywords_of=feedback.keywords_of,
    )


@bp.get("/feedback-routing")
@admin_required
def feedback_routing() -> str:
    return _feedback_routing_page()


@bp.post("/feedback-routing/rules")
@admin_required
def add_routing_rule() -> Response | str:
    form = RoutingRuleForm()
    form.department_id.choices = []
    if form.validate_on_submit() and save_or_show_error(
        form,
        lambda db: feedback.add_rule(db, current_user, form.department_id.data, form.keywords.data or "", now=utcnow()),
    ):
        flash(_("Routing rule added."))
        return redirect(url_for("admin_departments.feedback_routing"))
    return _feedback_routing_page(rule_form=form)


@bp.post("/feedback-routing/rules/<int:rule_id>/remove")
@admin_required
def remove_routing_rule(rule_id: int) -> Response:
    save(lambda db: feedback.remove_rule(db, current_user, rule_id, now=utcnow()))
    flash(_("Routing rule removed."))
    return redirect(url_for("admin_departments.feedback_routing"))


@bp.post("/feedback-routing/triage")
@admin_required
def set_triage_group() -> Response | str:
    form = TriageGroupForm()
    form.department_id.choices = []
    if form.validate_on_submit() and save_or_show_error(
        form,
        lambda db: feedback.set_triage_department(
            db,
            current_user,
            form.department_id.data or None,
            now=utcnow(),
        ),
    ):
        flash(_("Triage group saved."))
        return redirect(url_for("admin_departments.feedback_routing"))
    return _feedback_routing_page(triage_form=form)
