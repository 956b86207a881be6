from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional

from portal.blueprints.forms import DayField, NumberSelectField, PortalForm
from portal.models import Priority
from portal.services import district_calendar


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
        _l("Role"), choices=[SelectChoice("staff", _l("Staff")), SelectChoice("admin", _l("Administrator"))]
    )
    language = SelectField(_l("Preferred language"))


class SchoolForm(PortalForm):
    name = StringField(_l("School name"), validators=[DataRequired(_l("Enter the school's name.")), Length(max=120)])
    code = StringField(_l("School code (optional)"), validators=[Optional(), Length(max=20)])


class HouseholdImportForm(PortalForm):
    file = FileField(
        _l("CSV file from the student information system"),
        validators=[FileRequired(_l("Choose the exported CSV file."))],
    )
    check_only = BooleanField(_l("Only check the file; import nothing yet"), default=True)


WEEKDAY_NAMES = (
    _l("Monday"),
    _l("Tuesday"),
    _l("Wednesday"),
    _l("Thursday"),
    _l("Friday"),
    _l("Saturday"),
    _l("Sunday"),
)


class BusinessHoursForm(PortalForm):
    """Opening and closing time for each weekday; both empty means closed that day."""

    def day_fields(self, weekday: int) -> tuple[StringField, StringField]:
        return self[f"day{weekday}_opens"], self[f"day{weekday}_closes"]


for _weekday, _name in enumerate(WEEKDAY_NAMES):
    setattr(
        BusinessHoursForm,
        f"day{_weekday}_opens",
        StringField(_l("%(day)s: opens", day=_name), validators=[Optional(), Length(max=5)]),
    )
    setattr(
        BusinessHoursForm,
        f"day{_weekday}_closes",
        StringField(_l("%(day)s: closes", day=_name), validators=[Optional(), Length(max=5)]),
    )


class ClosureForm(PortalForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Name the closure.")), Length(max=120)])
    first_day = DayField(_l("First day closed"), validators=[DataRequired(_l("Enter a date."))])
    last_day = DayField(_l("Last day closed"), validators=[DataRequired(_l("Enter a date."))])


class TimeZoneForm(PortalForm):
    # The service refuses a name that is not a time zone, with a message that says how.
    time_zone = SelectField(
        _l("Time zone"),
        # Only the zones the portal can compute and show times in (not "Factory", "localtime").
        choices=lambda: [SelectChoice(name, name.replace("_", " ")) for name in district_calendar.usable_time_zones()],
        validate_choice=False,
        validators=[DataRequired(_l("Choose a time zone.")), Length(max=64)],
    )


class CalendarImportForm(PortalForm):
    file = FileField(
        _l("Calendar file (.ics)"),
        validators=[FileRequired(_l("Choose the calendar file the district publishes, ending in .ics."))],
    )


class CalendarImportChoiceForm(PortalForm):
    """Which events of an uploaded calendar close the offices: whole categories, and
    events one by one. The view sets the choices from the upload."""

    categories = SelectMultipleField(_l("Close the offices on every event in these categories"))
    events = SelectMultipleField(_l("Or choose events one by one"))


PRIORITY_NAMES = {
    Priority.LOW: _l("Low"),
    Priority.NORMAL: _l("Normal"),
    Priority.HIGH: _l("High"),
    Priority.URGENT: _l("Urgent"),
}
TARGET_KINDS = {"first": _l("First reply"), "next": _l("Next reply"), "resolution": _l("Resolution")}


class DepartmentForm(PortalForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter the department's name.")), Length(max=120)])
    description = TextAreaField(_l("Description shown to families"), validators=[Optional(), Length(max=1000)])
    is_public = BooleanField(_l("Families can send requests to this department"))

    def target_field(self, priority: Priority, kind: str) -> StringField:
        return self[f"{priority.value}_{kind}"]


for _priority, _priority_name in PRIORITY_NAMES.items():
    for _kind, _kind_name in TARGET_KINDS.items():
        setattr(
            DepartmentForm,
            f"{_priority.value}_{_kind}",
            StringField(
                _l("%(priority)s priority, %(target)s (business hours)", priority=_priority_name, target=_kind_name),
                validators=[DataRequired(_l("Enter a number of hours.")), Length(max=8)],
            ),
        )


class DepartmentMemberForm(PortalForm):
    user_id = NumberSelectField(_l("Staff member"))
    is_supervisor = BooleanField(_l("Supervisor: told when a reply is overdue"))


class RoutingRuleForm(PortalForm):
    department_id = NumberSelectField(_l("Department"), validate_choice=False)
    keywords = StringField(_l("Words or phrases, separated by commas"), validators=[Optional(), Length(max=1000)])


class TriageGroupForm(PortalForm):
    department_id = NumberSelectField(_l("Department whose members sort unrouted feedback"), validate_choice=False)
