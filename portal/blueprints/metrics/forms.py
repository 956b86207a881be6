from datetime import date, timedelta

from wtforms import BooleanField, SelectChoice
from wtforms.validators import Optional

from portal.blueprints.forms import DayField, NumberSelectField, PortalForm, SelectField
from portal.catalogs import lazy_gettext as _l
from portal.services.metrics import Period

PERIODS = {
    "week": _l("This week"),
    "30days": _l("Last 30 days"),
    "year": _l("This school year"),
    "custom": _l("Dates I choose"),
}
DEFAULT_PERIOD = "30days"
# A longer range is refused: two school years compared with the two before already
# reads four years of requests.
LONGEST_RANGE = timedelta(days=2 * 366)


class MetricsFilterForm(PortalForm):
    """Which figures to show: a GET form, so that a view can be bookmarked and shared."""

    class Meta:
        csrf = False  # a choice of figures: it changes nothing

    department = NumberSelectField(_l("Department"), default=0, validate_choice=False, validators=[Optional()])
    school = NumberSelectField(_l("School"), default=0, validators=[Optional()])
    period = SelectField(
        _l("Period"),
        choices=[SelectChoice(value, name) for value, name in PERIODS.items()],
        default=DEFAULT_PERIOD,
        validators=[Optional()],
    )
    start = DayField(_l("From"), validators=[Optional()])
    end = DayField(_l("Until"), validators=[Optional()])

    def custom_period(self) -> Period | None:
        """The range typed, when "Dates I choose" is chosen and the range is sound; else
        None, with the reason next to its field."""
        if self.period.data != "custom" or self.start.errors or self.end.errors:
            return None
        start, end = self.start.data, self.end.data
        if not isinstance(start, date):
            self.start.errors = [*self.start.errors, str(_l("Enter the first day, or choose another period."))]
        if not isinstance(end, date):
            self.end.errors = [*self.end.errors, str(_l("Enter the last day, or choose another period."))]
        if not isinstance(start, date) or not isinstance(end, date):
            return None
        if end < start:
            self.end.errors = [*self.end.errors, str(_l("The last day cannot be before the first day."))]
            return None
        if end - start >= LONGEST_RANGE:
            self.end.errors = [*self.end.errors, str(_l("Choose a range of two years at most."))]
            return None
        return Period(start=start, end=end)


class WeeklySummaryForm(PortalForm):
    """Ask for (or stop) the Monday email of last week's figures."""

    wanted = BooleanField(_l("Email me last week's figures every Monday morning"))
