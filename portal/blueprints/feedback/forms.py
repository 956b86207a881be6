from wtforms import (
    BooleanField,
    EmailField,
    Field,
    HiddenField,
    RadioField,
    SelectChoice,
    StringField,
    TextAreaField,
)
from wtforms.validators import Email, Length, Optional, ValidationError

from portal import labels
from portal.blueprints.forms import NumberRadioField, NumberSelectField, PortalForm
from portal.catalogs import lazy_gettext as _l
from portal.models import FeedbackKind
from portal.services.feedback import BODY_MAX_LENGTH

KIND_LABEL = _l("What would you like to tell us?")


def _kind_choices(*left_out: FeedbackKind) -> list[SelectChoice]:
    return [
        SelectChoice(kind.value, label) for kind, label in labels.FEEDBACK_KIND_CHOICES.items() if kind not in left_out
    ]


class FeedbackForm(PortalForm):
    """A family's feedback. "A question" is not offered: a family asks on the request form,
    where the answer has a promised time (feedback of that kind, stored before, stays valid)."""

    submission_key = HiddenField()
    kind = RadioField(KIND_LABEL, choices=_kind_choices(FeedbackKind.QUESTION), validate_choice=False)
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

    def validate_kind(self, field: Field) -> None:
        if field.data == FeedbackKind.QUESTION.value:
            raise ValidationError(_l("Ask a question on the question form: there we promise when we will answer."))


class PublicFeedbackForm(FeedbackForm):
    """Feedback from someone without an account, who has no request form: every kind, questions too."""

    kind = RadioField(KIND_LABEL, choices=_kind_choices(), validate_choice=False)

    def validate_kind(self, field: Field) -> None:
        pass

    contact_email = EmailField(
        _l("Your email, if you would like an answer (optional)"),
        validators=[Optional(), Length(max=254), Email(_l("Enter an email address like name@example.org."))],
    )
    # A field people never see: a robot that fills it in gets a polite answer and nothing saved.
    website = StringField(_l("Leave this empty"), validators=[Optional(), Length(max=200)])
