"""The forms of the district calendar: hours, closures, time zone and calendar imports."""

from flask_wtf.file import FileField, FileRequired
from wtforms import (
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, Optional

from portal.blueprints.forms import DayField, PortalForm, whole_number
from portal.blueprints.translated_fields import TranslatableForm
from portal.catalogs import lazy_gettext as _l
from portal.services.calendar import district_calendar

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


class ClosureForm(TranslatableForm):
    TRANSLATED = ("name",)
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
    removals = SelectMultipleField(_l("Open the offices again on these days"), coerce=whole_number)


class CalendarFeedForm(PortalForm):
    """Subscribe the portal to the district's published calendar: its address, and the
    categories whose events close the offices."""

    url = StringField(_l("Address of the published calendar (.ics)"), validators=[Length(max=500)])
    categories = StringField(
        _l("Categories that close the offices"), validators=[Length(max=1000)], default="Holiday, No school"
    )
