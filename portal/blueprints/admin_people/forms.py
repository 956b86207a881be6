"""The forms of staff accounts, schools and the household import."""

from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, EmailField, SelectChoice, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

from portal import labels
from portal.blueprints.forms import PortalForm, SelectField
from portal.blueprints.translated_fields import TranslatableForm
from portal.catalogs import lazy_gettext as _l
from portal.models import Role


class StaffAccountForm(PortalForm):
    display_name = StringField(_l("Full name"), validators=[DataRequired(_l("Enter a name.")), Length(max=120)])
    email = EmailField(
        _l("Email"),
        validators=[
            DataRequired(_l("Enter an email address.")),
            Length(max=254),
            Email(_l("Enter an email address like name@example.org.")),
        ],
    )
    role = SelectField(
        _l("Role"), choices=[SelectChoice(role.value, labels.ROLE[role]) for role in (Role.STAFF, Role.ADMIN)]
    )
    language = SelectField(_l("Preferred language"))


class SchoolForm(TranslatableForm):
    TRANSLATED = ("name",)
    name = StringField(_l("School name"), validators=[DataRequired(_l("Enter the school's name.")), Length(max=120)])
    code = StringField(_l("School code (optional)"), validators=[Optional(), Length(max=20)])


class SchoolNameForm(TranslatableForm):
    TRANSLATED = ("name",)
    name = StringField(_l("School name"), validators=[DataRequired(_l("Enter the school's name.")), Length(max=120)])


class HouseholdImportForm(PortalForm):
    file = FileField(
        _l("CSV file from the student information system"),
        validators=[FileRequired(_l("Choose the exported CSV file."))],
    )
    check_only = BooleanField(_l("Only check the file; import nothing yet"), default=True)
