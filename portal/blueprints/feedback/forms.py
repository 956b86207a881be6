from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    RadioField,
    SelectChoice,
    StringField,
    TextAreaField,
)
from wtforms.validators import Email, Length, Optional

from portal import labels
from portal.blueprints.forms import NumberRadioField, NumberSelectField, PortalForm
from portal.services.feedback import BODY_MAX_LENGTH


class FeedbackForm(PortalForm):
    submission_key = HiddenField()
    kind = RadioField(
        _l("What would you like to tell us?"),
        choices=[SelectChoice(kind.value, label) for kind, label in labels.FEEDBACK_KIND_CHOICES.items()],
        validate_choice=False,
    )
    department_id = NumberSelectField(_l("What is it about?"), validate_choice=False)
    school_id = NumberSelectField(_l("Which school? (optional)"), validate_choice=False)
    rating = NumberRadioField(
        _l("How would you rate it? (optional)"),
        choices=[
            SelectChoice(5, _l("5 – very good")),
            SelectChoice(4, _l("4 – good")),
            SelectChoice(3, _l("3 – fair")),
            SelectChoice(2, _l("2 – poor")),
            SelectChoice(1, _l("1 – very poor")),
        ],
        validate_choice=False,
        validators=[Optional()],
    )
    body = TextAreaField(_l("Your feedback"), validators=[Length(max=BODY_MAX_LENGTH)])
    may_contact = BooleanField(_l("You may contact me about this"))
    anonymous = BooleanField(_l("Send anonymously"))


class PublicFeedbackForm(FeedbackForm):
    contact_email = EmailField(
        _l("Your email, if you would like an answer (optional)"),
        validators=[Optional(), Length(max=254), Email(_l("Enter an email address like name@example.org."))],
    )
    # A field people never see: a robot that fills it in gets a polite answer and nothing saved.
    website = StringField(_l("Leave this empty"), validators=[Optional(), Length(max=200)])
