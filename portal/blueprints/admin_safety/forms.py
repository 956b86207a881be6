"""The forms of the safety team and the safety terms."""

from wtforms import Field, Form, HiddenField, SelectChoice, StringField, ValidationError
from wtforms.validators import DataRequired, Length

from portal import labels
from portal.blueprints.forms import NumberSelectField, PortalForm, SelectField
from portal.catalogs import lazy_gettext as _l
from portal.models import SafetyCategory
from portal.services.safety.alerts import PHRASE_MAX
from portal.services.text import CONTROL_CHARACTERS_MESSAGE, has_control_characters

BENIGN = "benign"


class TeamMemberForm(PortalForm):
    # The service says who may join (an active staff member not on the team yet).
    user_id = NumberSelectField(_l("Staff member"), validate_choice=False)


class RemoveTeamMemberForm(PortalForm):
    pass


class SafetyTermForm(PortalForm):
    phrase = StringField(_l("Word or phrase"), validators=[Length(max=PHRASE_MAX)])
    # The service refuses a category that is not one of these.
    category = SelectField(
        _l("What it is about"),
        choices=[
            *(SelectChoice(category.value, labels.SAFETY_CATEGORY[category]) for category in SafetyCategory),
            SelectChoice(BENIGN, _l("Never alert: an everyday phrase")),
        ],
        validate_choice=False,
    )


def _one_line_text(_form: Form, field: Field) -> None:
    # A hidden field is not checked by PortalForm; a NUL would reach the database's query.
    if has_control_characters(field.data or "", multiline=False):
        raise ValidationError(str(CONTROL_CHARACTERS_MESSAGE))


class RemoveTermForm(PortalForm):
    # The phrase in the form, not the URL: it may have spaces and letters of any script.
    phrase = HiddenField(validators=[DataRequired(), Length(max=PHRASE_MAX), _one_line_text])
