"""A guardian's own account: how the district reaches them, notes for staff, their email
address, and all the portal holds about their household."""

import json

from flask import Blueprint, current_app, flash, redirect, render_template, session, url_for
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from portal.blueprints.access import family_required, request_client
from portal.blueprints.account.forms import (
    CONTACT_SECTIONS,
    ConfirmForm,
    ContactPreferencesForm,
    EmailChangeForm,
    FamilyNoteForm,
    NoteForm,
    choice_field_name,
)
from portal.blueprints.downloads import attachment, csv_attachment
from portal.blueprints.forms import language_choices, save_or_flash, save_or_show_error
from portal.catalogs import gettext as _
from portal.db import get_session, utcnow
from portal.models import AccountNote, Channel, NoteCategory, Topic, User
from portal.services import csv_export, households
from portal.services.accounts import email_change, security_events
from portal.services.errors import Conflict, DomainError, InvalidToken
from portal.services.households import contacts, data_download, notes, phones

bp = Blueprint("account", __name__, url_prefix="/account")
# The session key of a contact section's confirmation, shown once, where it was saved.
CONTACT_SAVED = "contact_saved"
# Likewise for a note: shown in the saved note's card.
NOTE_SAVED = "note_saved"


def fill_form(form: ContactPreferencesForm, details: contacts.ContactDetails, *, keep: tuple[str, ...] = ()) -> None:
    """Put the saved preferences in a form that has not been sent; or, with `keep` (the
    fields of the section sent), in every other field, so that a section's save changes
    that section only."""
    preference = details.preference
    saved: dict[str, object] = {
        "mobile_phone": phones.display_phone(preference.mobile_phone) if preference.mobile_phone else "",
        "voice_phone": phones.display_phone(preference.voice_phone) if preference.voice_phone else "",
        "language": details.user.language,
        "interpreter_language": preference.interpreter_language,
        "quiet_start": preference.quiet_start or "",
        "quiet_end": preference.quiet_end or "",
    }
    for topic in Topic:
        for channel in Channel:
            saved[choice_field_name(topic, channel)] = (topic, channel) in details.channels
    if not keep:
        form.version.data = str(preference.version)
    for name, value in saved.items():
        if name not in keep:
            form[name].data, form[name].errors = value, []


def choices_from(form: ContactPreferencesForm) -> contacts.ContactChoices:
    region = current_app.config["DISTRICT_COUNTRY"]

    def phone(field_name: str) -> str | None:
        typed = (form[field_name].data or "").strip()
        return phones.normalize_phone(typed, region=region, field=field_name) if typed else None

    return contacts.ContactChoices(
        mobile_phone=phone("mobile_phone"),
        voice_phone=phone("voice_phone"),
        language=form.language.data,
        interpreter_language=(form.interpreter_language.data or "").strip(),
        quiet_start=(form.quiet_start.data or "").strip() or None,
        quiet_end=(form.quiet_end.data or "").strip() or None,
        channels=frozenset(
            (topic, channel) for topic in Topic for channel in Channel if form.choice(topic, channel).data
        ),
    )


def _version(typed: str | None) -> int:
    """The version the form was filled from; anything odd counts as stale, never as an error."""
    return int(typed) if typed and typed.isascii() and typed.isdigit() and len(typed) < 10 else 0


def edit_contact(
    actor: User, guardian: User, details: contacts.ContactDetails, form: ContactPreferencesForm, *, reason: str = ""
) -> tuple[bool, contacts.ContactDetails, list[str]]:
    """Validate and save the form, or the one section it sends (the other fields keep their
    saved values); on a conflict the saved version is shown and the form keeps what was
    typed. Returns whether it was saved, the details to show, and the names of what changed."""
    form.language.choices = language_choices()
    if not form.is_submitted():
        fill_form(form, details)
        return False, details, []
    section = form.saved_section()
    valid = form.validate()
    if section is not None:
        fill_form(form, details, keep=CONTACT_SECTIONS[section])
        valid = not any(field.errors for field in form)
    if not valid:
        return False, details, []

    def on_refused(_db: Session, error: DomainError) -> None:
        if isinstance(error, Conflict):
            form.version.data = str(details.preference.version)
        if section is not None:
            error.field = _field_in_section(form, section, error.field)

    outcome = save_or_show_error(
        form,
        lambda db: contacts.save_choices(
            db,
            actor,
            guardian,
            choices_from(form),
            based_on_version=_version(form.version.data),
            languages=tuple(current_app.config["LANGUAGES"]),
            now=utcnow(),
            reason=reason,
        ),
        on_refused=on_refused,
    )
    if outcome is None:
        return False, details, []
    saved, changed = outcome
    return True, saved, changed


def _field_in_section(form: ContactPreferencesForm, section: str, field: str | None) -> str:
    """Where a refusal is shown when the section sent is not the field's own: texts chosen
    without a mobile number, say, by the first text message ticked, in the section in view."""
    fields = CONTACT_SECTIONS[section]
    if field in fields:
        return field
    channel = {"mobile_phone": "__sms", "voice_phone": "__voice"}.get(field or "")
    ticked = [name for name in fields if channel and name.endswith(channel) and form[name].data]
    return (ticked or list(fields))[0]


@bp.route("/contact", methods=["GET", "POST"])
@family_required
def contact() -> Response | str:
    db = get_session()
    details = contacts.details_for_family(db, current_user)
    db.commit()  # commit: the defaults made on a first visit (a GET) are kept
    form = ContactPreferencesForm()
    saved, details, changed = edit_contact(current_user, current_user, details, form)
    section = form.saved_section()
    if saved:
        # Shown in the section saved, in the words of the page that shows it: after a change
        # of language, in the new one (a flash would keep the old language's words).
        session[CONTACT_SAVED] = {"section": section or "all", "changed": bool(changed)}
        return redirect(url_for("account.contact", _anchor=f"contact-{section}" if section else None))
    errors_in = section or next((name for name, fields in CONTACT_SECTIONS.items() if _has_errors(form, fields)), None)
    return render_template(
        "account/contact.html",
        form=form,
        details=details,
        errors_in=errors_in,
        saved=session.pop(CONTACT_SAVED, None) if not form.is_submitted() else None,
    )


def _has_errors(form: ContactPreferencesForm, fields: tuple[str, ...]) -> bool:
    return any(form[name].errors for name in fields)


def edit_note(
    actor: User, note: AccountNote | None, form: NoteForm, *, household_id: int | None, reason: str = ""
) -> AccountNote | None:
    """Add a note, or revise one; on a conflict the form keeps what was typed. None until saved."""
    if note is not None and not form.is_submitted():
        form.version.data, form.category.data, form.text.data = str(note.version), note.category.value, note.text
    if not form.validate_on_submit():
        return None
    edit = notes.NoteEdit(category=NoteCategory(form.category.data), text=form.text.data or "", reason=reason)
    note_id = note.id if note is not None else 0

    def change(db: Session) -> AccountNote:
        if note is None:
            return notes.add_note(db, actor, household_id, edit, now=utcnow())
        return notes.revise_note(db, actor, note, edit, based_on_version=_version(form.version.data), now=utcnow())

    def on_refused(db: Session, _error: DomainError) -> None:
        if note is not None:
            # The page shows what is saved now (another person's save may have won), read afresh.
            form.version.data = str(notes.saved_note(db, note_id).version)

    return save_or_show_error(form, change, on_refused=on_refused)


@bp.route("/notes", methods=["GET", "POST"])
@family_required
def note_list() -> Response | str:
    db = get_session()
    names = households.household_names_for_family(db, current_user)
    form = FamilyNoteForm()
    form.household_id.choices = [SelectChoice(household_id, name) for household_id, name in names.items()]
    # The household chosen, when there is a choice (several households); else the one the service knows.
    added = edit_note(current_user, None, form, household_id=form.household_id.data)
    if added is not None:
        return _show_saved_note(added, new=True)
    return render_template(
        "account/notes.html",
        form=form,
        notes=notes.notes_for_family(db, current_user),
        household_names=names,
        saved=session.pop(NOTE_SAVED, None) if not form.is_submitted() else None,
    )


def _show_saved_note(note: AccountNote, *, new: bool) -> Response:
    """Back to the list, at the note saved, which says so (role=status) in the page's language."""
    session[NOTE_SAVED] = {"note": note.id, "new": new}
    return redirect(url_for("account.note_list", _anchor=f"note-{note.id}"))


@bp.route("/notes/<int:note_id>", methods=["GET", "POST"])
@family_required
def note(note_id: int) -> Response | str:
    found = notes.note_for_family(get_session(), current_user, note_id)
    form = NoteForm()
    if edit_note(current_user, found, form, household_id=found.household_id) is not None:
        return _show_saved_note(found, new=False)
    return render_template("account/note.html", form=form, note=found)


@bp.route("/email", methods=["GET", "POST"])
@family_required
def change_email() -> Response | str:
    form = EmailChangeForm()
    if form.validate_on_submit():

        def request_change(db: Session) -> bool:
            email_change.request_change(db, current_user, form.email.data, form.password.data, now=utcnow())
            security_events.record(
                db, "email_changed", request_client(), now=utcnow(), user=current_user, detail={"step": "requested"}
            )
            return True

        if save_or_show_error(form, request_change):
            flash(
                _(
                    "We emailed a link to %(email)s. Your address changes when you open it; until then, "
                    "keep using the old one.",
                    email=form.email.data.strip(),
                )
            )
            return redirect(url_for("account.contact"))
    return render_template("account/change_email.html", form=form)


@bp.route("/email/confirm/<token>", methods=["GET", "POST"])
def confirm_email(token: str) -> Response | str | tuple[str, int]:
    """Opened from the new address's mailbox, signed in or not: the token is the proof."""
    db = get_session()
    try:
        change = email_change.pending_change(db, token, now=utcnow())
    except InvalidToken:
        return render_template("account/email_link_expired.html"), 410
    form = ConfirmForm()
    if form.validate_on_submit():

        def confirm(db: Session) -> User:
            user = email_change.confirm_change(db, token, now=utcnow())
            security_events.record(
                db, "email_changed", request_client(), now=utcnow(), user=user, detail={"step": "confirmed"}
            )
            return user

        user = save_or_flash(confirm, refusals=InvalidToken)
        if user is None:
            return render_template("account/email_link_expired.html"), 410
        flash(_("Your email address is now %(email)s.", email=user.email))
        return redirect(url_for("main.index"))
    return render_template("account/confirm_email.html", form=form, new_email=change.new_email)


@bp.get("/data.json")
@family_required
def download_json() -> Response:
    data = data_download.household_data(get_session(), current_user)
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return attachment(body, stem="household-data", extension="json", mimetype="application/json")


@bp.get("/data.csv")
@family_required
def download_csv() -> Response:
    data = data_download.household_data(get_session(), current_user)
    body = csv_export.write_csv(data_download.FAMILY_COLUMNS, data_download.family_rows(data))
    return csv_attachment(body, stem="household-data")
