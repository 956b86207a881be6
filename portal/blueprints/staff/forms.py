from wtforms import EmailField, FieldList, FormField, SelectChoice, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

from portal import labels
from portal.blueprints.forms import NumberSelectField, PortalForm, PortalSubform, Searchable, SelectField
from portal.catalogs import lazy_gettext as _l
from portal.models import GuardianRelationship
from portal.services import households
from portal.services.households import GRADES


def relationship_choices() -> list[SelectChoice]:
    return [SelectChoice(member.value, labels.GUARDIAN_RELATIONSHIP[member]) for member in GuardianRelationship]


class GuardianFields(PortalSubform):
    display_name = StringField(
        _l("Full name"), validators=[DataRequired(_l("Enter the guardian's name.")), Length(max=120)]
    )
    email = EmailField(
        _l("Email"),
        validators=[
            DataRequired(_l("Enter an email address.")),
            Length(max=254),
            Email(_l("Enter an email address like name@example.org.")),
        ],
    )
    phone = StringField(_l("Mobile phone (optional)"), validators=[Optional(), Length(max=40)])
    relationship = SelectField(_l("Relationship to the students"), choices=relationship_choices)
    language = SelectField(_l("Preferred language"))


class StudentFields(PortalSubform):
    first_name = StringField(
        _l("First name"), validators=[DataRequired(_l("Enter the student's first name.")), Length(max=80)]
    )
    last_name = StringField(
        _l("Last name"), validators=[DataRequired(_l("Enter the student's last name.")), Length(max=80)]
    )
    school_id = NumberSelectField(_l("School"))
    grade = SelectField(_l("Grade"), choices=[SelectChoice(g, g) for g in GRADES])
    sis_id = StringField(_l("Student id in the SIS (optional)"), validators=[Optional(), Length(max=40)])


class HouseholdForm(PortalForm):
    name = StringField(
        _l("Household name"), validators=[DataRequired(_l("Enter a name for the household.")), Length(max=120)]
    )
    sis_id = StringField(_l("Family id in the SIS (optional)"), validators=[Optional(), Length(max=40)])
    guardians = FieldList(FormField(GuardianFields), min_entries=1, max_entries=6)
    students = FieldList(FormField(StudentFields), min_entries=1, max_entries=12)


class GuardianForm(PortalForm, GuardianFields):
    pass


class StudentForm(PortalForm, StudentFields):
    pass


class HouseholdSearchForm(PortalForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    q = StringField(
        _l("Search by guardian name, email, phone or student name"),
        validators=[
            Optional(),
            Length(max=100),
            Searchable(households.searchable, _l("Type at least two letters or digits in a row.")),
        ],
    )
