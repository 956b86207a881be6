from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from portal import labels
from portal.blueprints.forms import NumberSelectField, PortalForm
from portal.catalogs import lazy_gettext as _l
from portal.models import Channel, NoteCategory, Topic
from portal.services.accounts.passwords import MAX_LENGTH as PASSWORD_MAX
from portal.services.households.notes import MAX_LENGTH as NOTE_MAX_LENGTH


def choice_field_name(topic: Topic, channel: Channel) -> str:
    return f"{topic.value}__{channel.value}"


# The contact page's sections, each saved on its own, and the fields each one changes.
CONTACT_SECTIONS: dict[str, tuple[str, ...]] = {
    "numbers": ("mobile_phone", "voice_phone"),
    "language": ("language", "interpreter_language"),
    "channels": tuple(choice_field_name(topic, channel) for topic in Topic for channel in Channel),
    "quiet": ("quiet_start", "quiet_end"),
}


class ContactPreferencesForm(PortalForm):
    # The version the person started from: a save based on an older one is refused.
    version = HiddenField()
    # The section saved (CONTACT_SECTIONS); none saves every field, as the staff page does.
    section = HiddenField()
    mobile_phone = StringField(_l("Mobile phone"), validators=[Optional(), Length(max=40)])
    voice_phone = StringField(_l("Phone for voice calls, if not the mobile"), validators=[Optional(), Length(max=40)])
    language = SelectField(_l("Language for messages and this portal"))
    interpreter_language = StringField(_l("Interpreter needed (any language)"), validators=[Optional(), Length(max=60)])
    quiet_start = StringField(_l("Quiet hours start"), validators=[Optional(), Length(max=5)])
    quiet_end = StringField(_l("Quiet hours end"), validators=[Optional(), Length(max=5)])

    def choice(self, topic: Topic, channel: Channel) -> BooleanField:
        return self[choice_field_name(topic, channel)]

    def channel_grid(self) -> list[tuple[Topic, list[BooleanField], list[str]]]:
        """Each topic with its channels' checkboxes and their errors, as the template's grid
        writes them (worked out here: in the template, 0.4 ms of the contact page)."""
        grid = []
        for topic in Topic:
            fields = [self.choice(topic, channel) for channel in Channel]
            grid.append((topic, fields, [error for field in fields for error in field.errors]))
        return grid

    def saved_section(self) -> str | None:
        """The section this form saves, or None for the whole form (an unknown name too)."""
        return self.section.data if self.section.data in CONTACT_SECTIONS else None


for _topic in Topic:
    for _channel in Channel:
        setattr(ContactPreferencesForm, choice_field_name(_topic, _channel), BooleanField(labels.CHANNEL[_channel]))


class StaffContactPreferencesForm(ContactPreferencesForm):
    reason = TextAreaField(
        _l("Why are you changing this? (the family is told)"),
        validators=[DataRequired(_l("Say why you are changing this family's details.")), Length(max=500)],
    )


def note_category_choices() -> list[SelectChoice]:
    return [SelectChoice(category.value, labels.NOTE_CATEGORY[category]) for category in NoteCategory]


class NoteForm(PortalForm):
    version = HiddenField()
    category = SelectField(_l("What is it about?"), choices=note_category_choices)
    text = TextAreaField(
        _l("Note for staff"), validators=[DataRequired(_l("Write the note.")), Length(max=NOTE_MAX_LENGTH)]
    )


class FamilyNoteForm(NoteForm):
    # Shown only to a guardian of several households (shared custody); the service checks the choice.
    household_id = NumberSelectField(_l("Which household is it for?"), validate_choice=False)


class StaffNoteForm(NoteForm):
    reason = TextAreaField(
        _l("Why are you changing this? (the family is told)"),
        validators=[DataRequired(_l("Say why you are changing this family's notes.")), Length(max=500)],
    )


class InternalNoteForm(PortalForm):
    text = TextAreaField(
        _l("Internal note (staff only)"),
        validators=[DataRequired(_l("Write the note.")), Length(max=NOTE_MAX_LENGTH)],
    )


class EmailChangeForm(PortalForm):
    email = EmailField(
        _l("New email address"), validators=[DataRequired(_l("Enter your new email address.")), Length(max=254)]
    )
    password = PasswordField(
        _l("Your password"), validators=[DataRequired(_l("Enter your password.")), Length(max=PASSWORD_MAX)]
    )


class ConfirmForm(PortalForm):
    """A button only: confirming by POST, so a mail scanner opening the link confirms nothing."""
