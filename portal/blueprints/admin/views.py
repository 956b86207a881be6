"""Administrators: staff accounts, schools, imports, the district calendar and reviews."""

import math
from collections.abc import Callable
from datetime import date
from typing import TypeVar
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response
from wtforms import Form, SelectChoice

from portal.blueprints import district
from portal.blueprints.access import admin_required, request_client
from portal.blueprints.admin.forms import (
    PRIORITY_NAMES,
    TARGET_KINDS,
    WEEKDAY_NAMES,
    BusinessHoursForm,
    CalendarImportChoiceForm,
    CalendarImportForm,
    ClosureForm,
    DepartmentForm,
    DepartmentMemberForm,
    HouseholdImportForm,
    RoutingRuleForm,
    SchoolForm,
    StaffAccountForm,
    TimeZoneForm,
    TriageGroupForm,
)
from portal.blueprints.downloads import csv_attachment
from portal.blueprints.forms import attach_error, language_choices, save_or_show_error, whole_number
from portal.db import get_session, utcnow
from portal.models import CalendarImport, Channel, Department, Priority, Role, Topic
from portal.services import (
    access_log,
    accounts,
    audit,
    calendar_import,
    contacts,
    csv_export,
    departments,
    district_calendar,
    feedback,
    household_import,
    households,
    requests,
    security_events,
    sessions,
    staff_accounts,
    two_factor,
    uploads,
)
from portal.services.errors import DomainError, InvalidInput

T = TypeVar("T")

bp = Blueprint("admin", __name__, url_prefix="/admin")

# The most rows one CSV download holds.
EXPORT_LIMIT = 10_000
IMPORT_MAX_BYTES = 1024 * 1024


@bp.get("/")
@admin_required
def home() -> str:
    db = get_session()
    staff = staff_accounts.list_staff(
        db, current_user, page=request.args.get("page", 1, type=whole_number), page_size=current_app.config["PAGE_SIZE"]
    )
    return render_template("admin/home.html", staff=staff, schools=households.list_schools(db))


@bp.route("/staff/new", methods=["GET", "POST"])
@admin_required
def new_staff() -> Response | str:
    form = StaffAccountForm()
    form.language.choices = language_choices()
    if form.validate_on_submit() and save_or_show_error(
        form,
        lambda db: staff_accounts.create_staff_account(
            db,
            current_user,
            display_name=form.display_name.data,
            email=form.email.data,
            role=Role(form.role.data),
            language=form.language.data,
            settings=accounts.InvitationSettings.from_config(current_app.config),
            now=utcnow(),
        ),
    ):
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
    if form.validate_on_submit() and save_or_show_error(
        form,
        lambda db: staff_accounts.add_school(
            db, current_user, name=form.name.data, code=(form.code.data or "").strip() or None, now=utcnow()
        ),
    ):
        flash(_("School added."))
        return redirect(url_for("admin.home"))
    return render_template("admin/new_school.html", form=form)


@bp.post("/staff/<int:user_id>/two-factor/reset")
@admin_required
def reset_two_factor(user_id: int) -> Response:
    """For a staff member who lost their phone: they set up a new second factor at next sign-in."""
    db = get_session()
    user = staff_accounts.staff_member(db, current_user, user_id)
    if not two_factor.turn_off(db, current_user, user, now=utcnow()):
        flash(_("%(name)s has no second factor to reset.", name=user.display_name))
        return redirect(url_for("admin.home"))
    sessions.end_all_sessions(db, user)
    security_events.record(
        db, "two_factor_reset", request_client(), now=utcnow(), user=user, detail={"by": current_user.email}
    )
    db.commit()
    flash(
        _(
            "The second factor of %(name)s is reset. They set up a new one at their next sign-in.",
            name=user.display_name,
        )
    )
    return redirect(url_for("admin.home"))


def _security_event_page(kind: str | None, page: int, page_size: int):  # type: ignore[no-untyped-def]
    return security_events.list_events(get_session(), current_user, kind=kind, page=page, page_size=page_size)


@bp.get("/security-events")
@admin_required
def security_event_list() -> str:
    kind = request.args.get("kind") or None
    events = _security_event_page(kind, request.args.get("page", 1, type=whole_number), current_app.config["PAGE_SIZE"])
    return render_template("admin/security_events.html", events=events, kind=kind, kinds=security_events.KINDS)


@bp.get("/security-events.csv")
@admin_required
def security_events_csv() -> Response:
    events = _security_event_page(request.args.get("kind") or None, 1, EXPORT_LIMIT)
    body = csv_export.write_csv(
        ["time", "kind", "user_id", "email", "ip_address", "user_agent"],
        ([e.created_at, e.kind, e.user_id, e.email, e.ip_address, e.user_agent] for e in events.items),
    )
    return csv_attachment(body, stem="security-events")


def _access_page(page: int, page_size: int):  # type: ignore[no-untyped-def]
    return access_log.household_views(
        get_session(),
        current_user,
        household_id=request.args.get("household", type=whole_number),
        staff_id=request.args.get("staff", type=whole_number),
        page=page,
        page_size=page_size,
    )


@bp.get("/access-log")
@admin_required
def access_log_list() -> str:
    views = _access_page(request.args.get("page", 1, type=whole_number), current_app.config["PAGE_SIZE"])
    return render_template(
        "admin/access_log.html",
        views=views,
        household=request.args.get("household", type=whole_number),
        staff=request.args.get("staff", type=whole_number),
    )


@bp.get("/access-log.csv")
@admin_required
def access_log_csv() -> Response:
    views = _access_page(1, EXPORT_LIMIT)
    body = csv_export.write_csv(
        ["time", "staff_id", "staff_name", "staff_email", "household_id", "household_name", "what", "ip_address"],
        (
            [
                event.created_at,
                staff.id,
                staff.display_name,
                staff.email,
                household.id,
                household.name,
                (event.after or {}).get("what", ""),
                event.ip_address,
            ]
            for event, staff, household in views.items
        ),
    )
    return csv_attachment(body, stem="household-access-log")


@bp.route("/import", methods=["GET", "POST"])
@admin_required
def import_households() -> str:
    """Check a SIS export, then import it: guardians are invited, nothing is half-done."""
    form = HouseholdImportForm()
    plan = None
    if form.validate_on_submit():
        db = get_session()
        config = current_app.config
        upload = form.file.data
        try:
            text = uploads.read_text_upload(
                upload.read(IMPORT_MAX_BYTES + 1),
                upload.filename or "",
                extensions=(".csv", ".txt"),
                max_bytes=IMPORT_MAX_BYTES,
            )
            plan = household_import.plan_import(
                db, current_user, text, languages=tuple(config["LANGUAGES"]), region=config["DISTRICT_COUNTRY"]
            )
            if not form.check_only.data and not plan.errors:
                sent = household_import.apply_import(
                    db, current_user, plan, accounts.InvitationSettings.from_config(current_app.config), now=utcnow()
                )
                db.commit()
                flash(ngettext("Imported %(num)d household.", "Imported %(num)d households.", len(plan.households)))
                flash(ngettext("%(num)d invitation was emailed.", "%(num)d invitations were emailed.", sent))
        except DomainError as error:
            db.rollback()
            attach_error(form, error)
            plan = None
    return render_template("admin/import.html", form=form, plan=plan, columns=household_import.COLUMNS)


@bp.get("/contact-lists")
@admin_required
def contact_lists() -> str:
    return render_template("admin/contact_lists.html", topics=list(Topic), channels=list(Channel))


@bp.get("/contact-lists.csv")
@admin_required
def contact_list_csv() -> Response:
    """What a mass-messaging tool imports: who gets this topic on this channel, and when not to send."""
    try:
        topic, channel = Topic(request.args.get("topic", "")), Channel(request.args.get("channel", ""))
    except ValueError:
        abort(404)
    db = get_session()
    rows = [row.as_csv_row(district.time_zone()) for row in contacts.contact_list(db, topic, channel)]
    # Every family's phone numbers leave the portal here: who took them, and when, is kept.
    audit.record(
        db,
        current_user,
        "contacts.exported",
        current_user,
        now=utcnow(),
        after={"topic": topic.value, "channel": channel.value, "rows": len(rows)},
    )
    db.commit()
    body = csv_export.write_csv(contacts.CONTACT_LIST_HEADER, rows)
    return csv_attachment(body, stem=f"contacts-{topic.value}-{channel.value}")


def _saved_hours_form() -> BusinessHoursForm:
    form = BusinessHoursForm(formdata=None)
    for weekday, periods in district_calendar.weekly_hours(get_session()).items():
        opens, closes = form.day_fields(weekday)
        opens.data, closes.data = periods[0] if periods else ("", "")
    return form


def _district_today() -> date:
    return utcnow().astimezone(ZoneInfo(district.time_zone())).date()


def _calendar_page(
    *,
    hours_form: BusinessHoursForm | None = None,
    closure_form: ClosureForm | None = None,
    time_zone_form: TimeZoneForm | None = None,
    import_form: CalendarImportForm | None = None,
) -> str:
    """The calendar page, with the form that was sent (and its errors) as it was sent."""
    return render_template(
        "admin/calendar.html",
        hours_form=hours_form or _saved_hours_form(),
        closure_form=closure_form or ClosureForm(formdata=None),
        time_zone_form=time_zone_form or TimeZoneForm(formdata=None, time_zone=district.time_zone()),
        import_form=import_form or CalendarImportForm(formdata=None),
        weekdays=WEEKDAY_NAMES,
        closures=district_calendar.closures(get_session(), from_day=_district_today()),
        time_zone=district.time_zone(),
        import_max_kb=calendar_import.MAX_BYTES // 1024,
        import_max_events=calendar_import.MAX_EVENTS,
    )


def _save_calendar_change(
    form: Form | None,
    change: Callable[[Session], T],
    reason: Callable[[T], dict[str, str] | None],
    saved: Callable[[T], str],
) -> bool:
    """One unit of work for a change to the district calendar: the change, then every open
    request's promise computed again on the changed calendar (keeping `reason(result)` to
    tell the family why it moved), then the commit. A refused change is shown on `form`
    (raised, without a form). Flashes `saved(result)` and how many promises moved."""

    def change_and_recompute(db: Session) -> tuple[T, int | None]:
        result = change(db)
        why = reason(result)
        district.forget_calendar()
        if why is None:
            return result, None
        return result, requests.recompute_after_calendar_change(db, district.calendar(), why, now=utcnow())

    if form is None:
        db = get_session()
        outcome: tuple[T, int | None] | None = change_and_recompute(db)
        db.commit()
    else:
        outcome = save_or_show_error(form, change_and_recompute)
        # A refused change was rolled back: the calendar read inside it is not the district's.
        district.forget_calendar()
    if outcome is None:
        return False
    result, moved = outcome
    flash(saved(result))
    if moved:
        flash(
            ngettext(
                "The promised reply time of %(num)d open request moved.",
                "The promised reply times of %(num)d open requests moved.",
                moved,
            )
        )
    elif moved is not None:
        flash(_("No open request's promised reply time moved."))
    return True


@bp.get("/calendar")
@admin_required
def calendar() -> str:
    return _calendar_page()


@bp.post("/calendar/hours")
@admin_required
def set_hours() -> Response | str:
    form = BusinessHoursForm()
    if form.validate_on_submit():
        week: dict[int, tuple[str, str] | None] = {}
        for weekday in range(7):
            opens, closes = ((field.data or "").strip() for field in form.day_fields(weekday))
            week[weekday] = (opens, closes) if opens or closes else None
        if _save_calendar_change(
            form,
            lambda db: district_calendar.set_week_hours(db, current_user, week, now=utcnow()),
            reason=lambda _week: {"kind": "hours_changed"},
            saved=lambda _week: _("Business hours saved."),
        ):
            return redirect(url_for("admin.calendar"))
    return _calendar_page(hours_form=form)


@bp.post("/calendar/time-zone")
@admin_required
def set_time_zone() -> Response | str:
    form = TimeZoneForm()
    if form.validate_on_submit() and _save_calendar_change(
        form,
        lambda db: district_calendar.set_time_zone(
            db,
            current_user,
            form.time_zone.data or "",
            configured=current_app.config["DISTRICT_TIMEZONE"],
            now=utcnow(),
        ),
        reason=lambda changed: {"kind": "time_zone_changed"} if changed else None,
        saved=lambda changed: (
            _("The district's time zone is now %(zone)s.", zone=form.time_zone.data)
            if changed
            else _("The district's time zone was already %(zone)s.", zone=form.time_zone.data)
        ),
    ):
        return redirect(url_for("admin.calendar"))
    return _calendar_page(time_zone_form=form)


@bp.post("/calendar/closures")
@admin_required
def add_closure() -> Response | str:
    form = ClosureForm()
    if form.validate_on_submit() and _save_calendar_change(
        form,
        lambda db: district_calendar.add_closure(
            db, current_user, form.first_day.data, form.last_day.data, form.name.data, now=utcnow()
        ),
        reason=lambda closure: {"kind": "closure_added", "name": closure.name},
        saved=lambda _closure: _("Closure added."),
    ):
        return redirect(url_for("admin.calendar"))
    return _calendar_page(closure_form=form)


@bp.post("/calendar/closures/<int:closure_id>/remove")
@admin_required
def remove_closure(closure_id: int) -> Response:
    # Families are told which closure is gone; the service forgets it once removed.
    name = next((c.name for c in district_calendar.closures(get_session()) if c.id == closure_id), "")
    _save_calendar_change(
        None,
        lambda db: district_calendar.remove_closure(db, current_user, closure_id, now=utcnow()),
        reason=lambda _none: {"kind": "closure_removed", "name": name},
        saved=lambda _none: _("Closure removed."),
    )
    return redirect(url_for("admin.calendar"))


@bp.post("/calendar/import")
@admin_required
def upload_calendar() -> Response | str:
    """Read a published .ics file and keep its events for the preview; nothing closes yet."""
    form = CalendarImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        filename = upload.filename or ""
        imported = save_or_show_error(
            form,
            lambda db: calendar_import.keep_import(
                db,
                current_user,
                filename,
                calendar_import.read_calendar(upload.read(calendar_import.MAX_BYTES + 1), filename),
                now=utcnow(),
            ),
        )
        if imported is not None:
            return redirect(url_for("admin.review_import", import_id=imported.id))
    return _calendar_page(import_form=form)


def _import_choice_form(parsed: calendar_import.ParsedCalendar, today: date) -> CalendarImportChoiceForm:
    form = CalendarImportChoiceForm() if request.method == "POST" else CalendarImportChoiceForm(formdata=None)
    form.categories.choices = [name for name, _count in calendar_import.category_counts(parsed.events, today)]
    form.events.choices = [event.uid for event in parsed.events if event.can_close(today)]
    return form


def _import_page(
    imported: CalendarImport,
    parsed: calendar_import.ParsedCalendar,
    form: CalendarImportChoiceForm,
    plan: list[calendar_import.PlannedClosure] | None = None,
) -> str:
    today = _district_today()
    return render_template(
        "admin/calendar_import.html",
        imported=imported,
        parsed=parsed,
        form=form,
        plan=plan,
        today=today,
        categories=calendar_import.category_counts(parsed.events, today),
        chosen_categories=set(form.categories.data or ()),
        chosen_uids=set(form.events.data or ()),
    )


@bp.route("/calendar/import/<int:import_id>", methods=["GET", "POST"])
@admin_required
def review_import(import_id: int) -> str:
    """The events of an upload; the administrator chooses which close the offices and
    sees the closures that saving would add or update."""
    db = get_session()
    imported = calendar_import.import_of(db, current_user, import_id)
    parsed, today = calendar_import.parsed_of(imported), _district_today()
    form = _import_choice_form(parsed, today)
    plan = None
    if form.validate_on_submit():
        chosen = calendar_import.choose(
            parsed.events, categories=form.categories.data or (), uids=form.events.data or (), today=today
        )
        plan = calendar_import.plan_closures(db, chosen)
        if not plan:
            form.events.errors.append(_("Choose at least one category or event that closes the offices."))
    return _import_page(imported, parsed, form, plan)


@bp.post("/calendar/import/<int:import_id>/save")
@admin_required
def save_import(import_id: int) -> Response | str:
    db = get_session()
    imported = calendar_import.import_of(db, current_user, import_id)
    parsed, today = calendar_import.parsed_of(imported), _district_today()
    form = _import_choice_form(parsed, today)
    if form.validate_on_submit() and _save_calendar_change(
        form,
        lambda db: calendar_import.save_closures(
            db,
            current_user,
            imported,
            calendar_import.choose(
                parsed.events, categories=form.categories.data or (), uids=form.events.data or (), today=today
            ),
            now=utcnow(),
        ),
        reason=lambda result: result.reason(),
        saved=lambda result: _(
            "Closures from the file: %(added)d new, %(updated)d updated, %(unchanged)d unchanged.",
            added=result.added,
            updated=result.updated,
            unchanged=result.unchanged,
        ),
    ):
        return redirect(url_for("admin.calendar"))
    return _import_page(imported, parsed, form)


@bp.post("/calendar/import/<int:import_id>/discard")
@admin_required
def discard_import(import_id: int) -> Response:
    db = get_session()
    calendar_import.discard_import(db, current_user, import_id, now=utcnow())
    db.commit()
    flash(_("The uploaded calendar was discarded; nothing changed."))
    return redirect(url_for("admin.calendar"))


@bp.get("/departments")
@admin_required
def department_list() -> str:
    return render_template("admin/departments.html", departments=departments.list_departments(get_session()))


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
    form = DepartmentForm() if request.method == "POST" else _saved_department_form(department)

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
            targets=targets,
            now=utcnow(),
        )

    if form.validate_on_submit() and save_or_show_error(form, save):
        flash(_("%(name)s is saved.", name=department.name))
        return redirect(url_for("admin.department_list"))
    return _department_page(department, form, _member_form())


def _member_form(*, submitted: bool = False) -> DepartmentMemberForm:
    form = DepartmentMemberForm() if submitted else DepartmentMemberForm(formdata=None)
    staff = departments.staff_choices(get_session())
    form.user_id.choices = [SelectChoice(user.id, f"{user.display_name} ({user.email})") for user in staff]
    return form


def _department_page(department: Department, form: DepartmentForm, member_form: DepartmentMemberForm) -> str:
    return render_template(
        "admin/department.html",
        form=form,
        member_form=member_form,
        department=department,
        members=departments.members_of(get_session(), department.id),
        priorities=list(Priority),
        priority_names=PRIORITY_NAMES,
        kinds=TARGET_KINDS,
    )


def _saved_department_form(department: Department) -> DepartmentForm:
    form = DepartmentForm(formdata=None, obj=department)
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
        flash(_("%(name)s now has this staff member.", name=department.name))
        return redirect(url_for("admin.edit_department", department_id=department.id))
    return _department_page(department, _saved_department_form(department), form)


@bp.post("/departments/<int:department_id>/members/<int:user_id>/remove")
@admin_required
def remove_department_member(department_id: int, user_id: int) -> Response:
    db = get_session()
    department = departments.department_for_admin(db, current_user, department_id)
    departments.remove_member(db, current_user, department, user_id, now=utcnow())
    db.commit()
    flash(_("Removed from %(name)s.", name=department.name))
    return redirect(url_for("admin.edit_department", department_id=department.id))


def _feedback_routing_page(rule_form: RoutingRuleForm | None = None, triage_form: TriageGroupForm | None = None) -> str:
    db = get_session()
    department_choices = [SelectChoice(d.id, d.name) for d in departments.list_departments(db)]
    rule_form = rule_form or RoutingRuleForm(formdata=None)
    rule_form.department_id.choices = department_choices
    triage_form = triage_form or TriageGroupForm(formdata=None, department_id=feedback.triage_department_id(db) or 0)
    triage_form.department_id.choices = [SelectChoice(0, _("None: administrators sort it")), *department_choices]
    return render_template(
        "admin/feedback_routing.html",
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
        return redirect(url_for("admin.feedback_routing"))
    return _feedback_routing_page(rule_form=form)


@bp.post("/feedback-routing/rules/<int:rule_id>/remove")
@admin_required
def remove_routing_rule(rule_id: int) -> Response:
    db = get_session()
    feedback.remove_rule(db, current_user, rule_id, now=utcnow())
    db.commit()
    flash(_("Routing rule removed."))
    return redirect(url_for("admin.feedback_routing"))


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
        return redirect(url_for("admin.feedback_routing"))
    return _feedback_routing_page(triage_form=form)
