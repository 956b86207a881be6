"""Administrators: staff accounts, schools, two-factor resets, household import and contact lists."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from portal.blueprints import district
from portal.blueprints.access import admin_required, request_client
from portal.blueprints.admin_people.forms import (
    HouseholdImportForm,
    SchoolForm,
    SchoolNameForm,
    StaffAccountForm,
)
from portal.blueprints.downloads import csv_attachment
from portal.blueprints.forms import language_choices, save, save_or_flash, save_or_show_error
from portal.blueprints.translated_fields import with_translations
from portal.catalogs import gettext as _
from portal.catalogs import ngettext
from portal.db import get_session, utcnow
from portal.models import Channel, Role, Topic, User
from portal.services import accounts, audit, csv_export, uploads
from portal.services.accounts import security_events, sessions, staff_accounts, two_factor
from portal.services.errors import InvalidInput
from portal.services.households import contacts, sis_import

IMPORT_MAX_BYTES = 1024 * 1024

bp = Blueprint("admin_people", __name__, url_prefix="/admin")


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
    return render_template("admin_people/new_staff.html", form=form)


@bp.post("/staff/<int:user_id>/active")
@admin_required
def set_staff_active(user_id: int) -> Response:
    active = request.form.get("active") == "1"
    user = save_or_flash(
        lambda db: staff_accounts.set_active(db, current_user, user_id, active=active, now=utcnow()),
        refusals=InvalidInput,
    )
    if user is not None:
        flash(
            _("%(name)s can sign in again.", name=user.display_name)
            if active
            else _("%(name)s can no longer sign in.", name=user.display_name)
        )
    return redirect(url_for("admin.home"))


@bp.route("/schools/new", methods=["GET", "POST"])
@admin_required
def new_school() -> Response | str:
    form = with_translations(SchoolForm)()
    if form.validate_on_submit() and save_or_show_error(
        form,
        lambda db: staff_accounts.add_school(
            db,
            current_user,
            name=form.name.data,
            code=(form.code.data or "").strip() or None,
            now=utcnow(),
            translations=form.translations_data(),
            languages=tuple(current_app.config["LANGUAGES"]),
        ),
    ):
        flash(_("School added."))
        return redirect(url_for("admin.home"))
    return render_template("admin_people/new_school.html", form=form)


@bp.route("/schools/<int:school_id>", methods=["GET", "POST"])
@admin_required
def edit_school(school_id: int) -> Response | str:
    """A school's name in each of the portal's languages."""
    school = staff_accounts.school_for_admin(get_session(), current_user, school_id)
    form = with_translations(SchoolNameForm)(obj=school if request.method == "GET" else None)
    if request.method == "GET":
        form.fill_translations(school.translations)
    if form.validate_on_submit() and save_or_show_error(
        form,
        lambda db: staff_accounts.update_school(
            db,
            current_user,
            school,
            name=form.name.data,
            translations=form.translations_data(),
            languages=tuple(current_app.config["LANGUAGES"]),
            now=utcnow(),
        ),
    ):
        flash(_("School saved."))
        return redirect(url_for("admin.home"))
    return render_template("admin_people/edit_school.html", form=form, school=school)


@bp.post("/staff/<int:user_id>/two-factor/reset")
@admin_required
def reset_two_factor(user_id: int) -> Response:
    """For a staff member who lost their phone: they set up a new second factor at next sign-in."""

    def reset(db: Session) -> tuple[User, bool]:
        user = staff_accounts.staff_member(db, current_user, user_id)
        if not two_factor.turn_off(db, current_user, user, now=utcnow()):
            return user, False
        sessions.end_all_sessions(db, user)
        security_events.record(
            db, "two_factor_reset", request_client(), now=utcnow(), user=user, detail={"by": current_user.email}
        )
        return user, True

    user, was_reset = save(reset)
    if not was_reset:
        flash(_("%(name)s has no second factor to reset.", name=user.display_name))
        return redirect(url_for("admin.home"))
    flash(
        _(
            "The second factor of %(name)s is reset. They set up a new one at their next sign-in.",
            name=user.display_name,
        )
    )
    return redirect(url_for("admin.home"))


@bp.route("/import", methods=["GET", "POST"])
@admin_required
def import_households() -> str:
    """Check a SIS export, then import it: guardians are invited, nothing is half-done."""
    form = HouseholdImportForm()
    plan = None
    if form.validate_on_submit():
        config = current_app.config
        upload = form.file.data

        def check_and_import(db: Session) -> tuple[sis_import.ImportPlan, int | None]:
            text = uploads.read_text_upload(
                upload.read(IMPORT_MAX_BYTES + 1),
                upload.filename or "",
                extensions=(".csv", ".txt"),
                max_bytes=IMPORT_MAX_BYTES,
            )
            plan = sis_import.plan_import(
                db, current_user, text, languages=tuple(config["LANGUAGES"]), region=config["DISTRICT_COUNTRY"]
            )
            if form.check_only.data or plan.errors:
                return plan, None
            queued = sis_import.apply_import(
                db, current_user, plan, accounts.InvitationSettings.from_config(current_app.config), now=utcnow()
            )
            return plan, queued

        outcome = save_or_show_error(form, check_and_import)
        if outcome is not None:
            plan, queued = outcome
            if queued is not None:
                flash(ngettext("Imported %(num)d household.", "Imported %(num)d households.", len(plan.households)))
                flash(
                    ngettext(
                        "%(num)d invitation is queued: the mail worker sends it within minutes.",
                        "%(num)d invitations are queued: the mail worker sends them within minutes.",
                        queued,
                    )
                )
    return render_template("admin_people/import_households.html", form=form, plan=plan, columns=sis_import.COLUMNS)


@bp.get("/contact-lists")
@admin_required
def contact_lists() -> str:
    return render_template("admin_people/contact_lists.html", topics=list(Topic), channels=list(Channel))


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
    db.commit()  # commit: the export's audit record is kept, though the page (a GET) changes nothing
    body = csv_export.write_csv(contacts.CONTACT_LIST_HEADER, rows)
    return csv_attachment(body, stem=f"contacts-{topic.value}-{channel.value}")
