"""Staff: find a household, open it, create one and invite its guardians, and help a family
with its contact details and notes."""

import json

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from portal.blueprints.access import staff_required
from portal.blueprints.account import views as account_views
from portal.blueprints.account.forms import InternalNoteForm, StaffContactPreferencesForm, StaffNoteForm
from portal.blueprints.downloads import attachment, csv_attachment
from portal.blueprints.forms import language_choices, save, save_or_flash, save_or_show_error, whole_number
from portal.blueprints.staff.forms import (
    GuardianFields,
    GuardianForm,
    HouseholdForm,
    HouseholdSearchForm,
    StudentFields,
    StudentForm,
)
from portal.catalogs import gettext as _
from portal.db import get_session, utcnow
from portal.extensions import client_address
from portal.i18n import translated_field
from portal.models import GuardianRelationship
from portal.services import accounts, csv_export, households
from portal.services.errors import InvalidInput
from portal.services.households import access_log, contacts, data_download, notes, phones

bp = Blueprint("staff", __name__, url_prefix="/staff")


def _set_choices(form: HouseholdForm | GuardianForm | StudentForm) -> None:
    """Fill the choices that come from the configuration and the database."""
    schools = [SelectChoice(0, _("Not known yet"))]
    schools += [
        SelectChoice(school.id, translated_field(school)) for school in households.school_choices(get_session())
    ]
    if isinstance(form, HouseholdForm):
        guardians, students = [e.form for e in form.guardians], [e.form for e in form.students]
    else:
        guardians = [form] if isinstance(form, GuardianForm) else []
        students = [form] if isinstance(form, StudentForm) else []
    for guardian in guardians:
        guardian.language.choices = language_choices()
    for student in students:
        student.school_id.choices = schools


def _guardian_details(fields: GuardianFields, field_prefix: str) -> households.GuardianDetails:
    phone = fields.phone.data.strip() if fields.phone.data else ""
    return households.GuardianDetails(
        display_name=fields.display_name.data,
        email=fields.email.data,
        relationship=GuardianRelationship(fields.relationship.data),
        phone=phones.normalize_phone(phone, region=current_app.config["DISTRICT_COUNTRY"], field=f"{field_prefix}phone")
        if phone
        else None,
        language=fields.language.data,
    )


def _student_details(fields: StudentFields) -> households.StudentDetails:
    return households.StudentDetails(
        first_name=fields.first_name.data,
        last_name=fields.last_name.data,
        school_id=fields.school_id.data or None,
        grade=fields.grade.data,
        sis_id=(fields.sis_id.data or "").strip() or None,
    )


@bp.get("/")
@staff_required
def home() -> str:
    return households_list()


@bp.get("/households")
@staff_required
def households_list() -> str:
    form = HouseholdSearchForm(request.args)
    query = form.q.data or "" if form.validate() else ""
    page = households.search_households(
        get_session(),
        current_user,
        query,
        page=request.args.get("page", 1, type=whole_number),
        page_size=current_app.config["PAGE_SIZE"],
    )
    return render_template("staff/households.html", form=form, page=page, query=query)


@bp.route("/households/new", methods=["GET", "POST"])
@staff_required
def new_household() -> Response | str:
    form = HouseholdForm()
    action = request.form.get("action")
    if action == "add_guardian" and len(form.guardians) < form.guardians.max_entries:
        form.guardians.append_entry()
    elif action == "add_student" and len(form.students) < form.students.max_entries:
        form.students.append_entry()
    _set_choices(form)
    if action == "create" and form.validate_on_submit():
        created = save_or_show_error(
            form,
            lambda db: households.create_household(
                db,
                current_user,
                form.name.data,
                [_guardian_details(e.form, f"{e.name}-") for e in form.guardians],
                [_student_details(e.form) for e in form.students],
                accounts.InvitationSettings.from_config(current_app.config),
                now=utcnow(),
                sis_id=(form.sis_id.data or "").strip() or None,
            ),
        )
        if created:
            flash(_("Household created. Each guardian was emailed an invitation."))
            return render_template("staff/letters.html", household=created.household, invitations=created.invitations)
    return render_template("staff/new_household.html", form=form)


@bp.get("/households/<int:household_id>")
@staff_required
def household(household_id: int) -> str:
    db = get_session()
    now = utcnow()
    found = households.household_to_show(db, current_user, household_id, now=now)
    access_log.record_view(db, current_user, found, "household", now=now, ip_address=client_address())
    contact_details = {details.user.id: details for details in contacts.household_details(db, current_user, found.id)}
    page = render_template(
        "staff/household.html",
        household=found,
        contact_details=contact_details,
        family_notes=notes.notes_for_staff(db, current_user, found.id),
        internal_notes=notes.staff_notes(db, current_user, found.id),
        internal_form=InternalNoteForm(),
    )
    # Once the page is read, so that it is read on one connection and its unit of work ends once:
    db.commit()  # commit: the access log (who looked at a family, and when) is kept whatever the page does
    return page


@bp.route("/households/<int:household_id>/guardians/new", methods=["GET", "POST"])
@staff_required
def add_guardian(household_id: int) -> Response | str:
    db = get_session()
    found = households.household_for_staff(db, current_user, household_id)
    form = GuardianForm()
    _set_choices(form)
    issued = form.validate_on_submit() and save_or_show_error(
        form,
        lambda db: households.add_guardian(
            db,
            current_user,
            household_id,
            _guardian_details(form, ""),
            accounts.InvitationSettings.from_config(current_app.config),
            now=utcnow(),
        ),
    )
    if issued:
        flash(_("Guardian added and emailed an invitation."))
        return render_template("staff/letters.html", household=found, invitations=[issued])
    return render_template("staff/add_guardian.html", form=form, household=found)


@bp.route("/households/<int:household_id>/students/new", methods=["GET", "POST"])
@staff_required
def add_student(household_id: int) -> Response | str:
    db = get_session()
    found = households.household_for_staff(db, current_user, household_id)
    form = StudentForm()
    _set_choices(form)
    if form.validate_on_submit() and save_or_show_error(
        form, lambda db: households.add_student(db, current_user, household_id, _student_details(form), now=utcnow())
    ):
        flash(_("Student added."))
        return redirect(url_for("staff.household", household_id=household_id))
    return render_template("staff/add_student.html", form=form, household=found)


@bp.post("/households/<int:household_id>/guardians/<int:user_id>/invitation")
@staff_required
def reinvite(household_id: int, user_id: int) -> Response | str:
    issued = save_or_flash(
        lambda db: households.reinvite_guardian(
            db,
            current_user,
            household_id,
            user_id,
            accounts.InvitationSettings.from_config(current_app.config),
            now=utcnow(),
        ),
        refusals=InvalidInput,
    )
    if issued is None:
        return redirect(url_for("staff.household", household_id=household_id))
    found = households.household_for_staff(get_session(), current_user, household_id)
    flash(_("A new invitation was emailed. Earlier links and codes no longer work."))
    return render_template("staff/letters.html", household=found, invitations=[issued])


@bp.route("/households/<int:household_id>/guardians/<int:user_id>/contact", methods=["GET", "POST"])
@staff_required
def edit_contact(household_id: int, user_id: int) -> Response | str:
    """Staff change a family's preferences on their behalf (say, on the phone), with a reason."""
    db = get_session()
    found = households.household_for_staff(db, current_user, household_id)
    guardian = contacts.guardian_for_staff(db, current_user, household_id, user_id)
    details = contacts.details_for_staff(db, current_user, household_id, user_id)
    access_log.record_view(db, current_user, found, "contacts", now=utcnow(), ip_address=client_address())
    db.commit()  # commit: the access log (who looked at a family, and when) is kept whatever the page does
    form = StaffContactPreferencesForm()
    saved, details, changed = account_views.edit_contact(
        current_user, guardian, details, form, reason=form.reason.data or ""
    )
    if saved:
        flash(
            _("Saved. %(name)s is emailed what changed and why.", name=guardian.display_name)
            if changed
            else _("Nothing was changed.")
        )
        return redirect(url_for("staff.household", household_id=household_id))
    return render_template(
        "staff/edit_contact.html",
        form=form,
        details=details,
        household=found,
        guardian=guardian,
    )


@bp.route("/households/<int:household_id>/notes/new", methods=["GET", "POST"])
@staff_required
def new_note(household_id: int) -> Response | str:
    found = households.household_for_staff(get_session(), current_user, household_id)
    form = StaffNoteForm()
    if account_views.edit_note(current_user, None, form, household_id=found.id, reason=form.reason.data or ""):
        flash(_("The note is saved, and the family is emailed about it."))
        return redirect(url_for("staff.household", household_id=household_id))
    return render_template("staff/edit_note.html", form=form, household=found, note=None)


@bp.route("/households/<int:household_id>/notes/<int:note_id>", methods=["GET", "POST"])
@staff_required
def edit_note(household_id: int, note_id: int) -> Response | str:
    db = get_session()
    found = households.household_for_staff(db, current_user, household_id)
    note = notes.note_for_staff(db, current_user, household_id, note_id)
    access_log.record_view(db, current_user, found, "notes", now=utcnow(), ip_address=client_address())
    db.commit()  # commit: the access log (who looked at a family, and when) is kept whatever the page does
    form = StaffNoteForm()
    if account_views.edit_note(current_user, note, form, household_id=found.id, reason=form.reason.data or ""):
        flash(_("The note is saved, and the family is emailed about it."))
        return redirect(url_for("staff.household", household_id=household_id))
    return render_template("staff/edit_note.html", form=form, household=found, note=note)


@bp.post("/households/<int:household_id>/internal-notes")
@staff_required
def add_internal_note(household_id: int) -> Response:
    db = get_session()
    households.household_for_staff(db, current_user, household_id)
    form = InternalNoteForm()
    if form.validate_on_submit():
        save(lambda db: notes.add_staff_note(db, current_user, household_id, form.text.data or "", now=utcnow()))
        flash(_("Internal note added."))
    else:
        flash(" ".join(str(error) for error in form.text.errors) or _("Write the note."), "error")
    return redirect(url_for("staff.household", household_id=household_id))


@bp.get("/households/<int:household_id>/data.json")
@staff_required
def download_household(household_id: int) -> Response:
    """All the portal holds on a household, e.g. for a records request; recorded as an export."""
    db = get_session()
    found, data = data_download.household_data_for_staff(db, current_user, household_id)
    access_log.record_view(db, current_user, found, "export", now=utcnow(), ip_address=client_address())
    db.commit()  # commit: the access log (who looked at a family, and when) is kept whatever the page does
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return attachment(body, stem=f"household-{household_id}-data", extension="json", mimetype="application/json")


@bp.get("/households/<int:household_id>/data.csv")
@staff_required
def download_household_csv(household_id: int) -> Response:
    """The same download as rows for a spreadsheet, through the same scope; recorded as an export."""
    db = get_session()
    found, data = data_download.household_data_for_staff(db, current_user, household_id)
    access_log.record_view(db, current_user, found, "export", now=utcnow(), ip_address=client_address())
    db.commit()  # commit: the access log (who looked at a family, and when) is kept whatever the page does
    body = csv_export.write_csv(data_download.COLUMNS, data_download.as_rows(data))
    return csv_attachment(body, stem=f"household-{household_id}-data")
