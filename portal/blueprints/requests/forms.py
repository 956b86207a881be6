from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectChoice, StringField, TextAreaField
from wtforms.validators import Length, Optional

from portal.blueprints.forms import NumberRadioField, NumberSelectField, PortalForm
from portal.services.requests import BODY_MAX_LENGTH, COMMENT_MAX_LENGTH, SUBJECT_MAX_LENGTH


class NewRequestForm(PortalForm):
    # A random key per form: the same form sent twice makes one request.
    submission_key = HiddenField()
    department_id = NumberRadioField(_l("Who should answer?"), validate_choice=False)
    student_id = NumberSelectField(_l("About which student? (optional)"), validate_choice=False)
    subject = StringField(_l("Subject"), validators=[Length(max=SUBJECT_MAX_LENGTH)])
    body = TextAreaField(_l("Your question"), validators=[Length(max=BODY_MAX_LENGTH)])


class ReplyForm(PortalForm):
    body = TextAreaField(_l("Your message"), validators=[Length(max=BODY_MAX_LENGTH)])


class RatingForm(PortalForm):
    rating = NumberRadioField(
        _l("How did we do?"),
        choices=[
            SelectChoice(5, _l("5 – Very well")),
            SelectChoice(4, _l("4 – Well")),
            SelectChoice(3, _l("3 – OK")),
            SelectChoice(2, _l("2 – Not well")),
            SelectChoice(1, _l("1 – Badly")),
        ],
        validate_choice=False,
        validators=[Optional()],
    )
    comment = TextAreaField(_l("Anything you want to add? (optional)"), validators=[Length(max=COMMENT_MAX_LENGTH)])
