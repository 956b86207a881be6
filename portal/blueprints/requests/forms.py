from typing import Any

from wtforms import BooleanField, Field, HiddenField, SelectChoice, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from portal import labels
from portal.blueprints.forms import NumberRadioField, NumberSelectField, PortalForm, whole_number
from portal.catalogs import lazy_gettext as _l
from portal.services.requests import BODY_MAX_LENGTH, COMMENT_MAX_LENGTH, SUBJECT_MAX_LENGTH, callbacks


class CallbackFields:
    """What a family says when it asks to be called back: on a request's page and on a new request."""

    phone = StringField(_l("Number to call"), validators=[Length(max=40)])
    language = StringField(_l("Language of the call"), validators=[Length(max=callbacks.LANGUAGE_MAX)])
    weekdays = SelectMultipleField(
        _l("Days that suit you"),
        choices=[SelectChoice(day, name) for day, name in labels.WEEKDAY.items()],
        coerce=whole_number,
        default=[0, 1, 2, 3, 4],
        validate_choice=False,
    )
    window_starts = StringField(_l("From"), default="15:00", validators=[Length(max=5)])
    window_ends = StringField(_l("Until"), default="17:00", validators=[Length(max=5)])
    note = TextAreaField(_l("Anything we should know? (optional)"), validators=[Length(max=callbacks.NOTE_MAX)])


CALLBACK_FIELDS = ("phone", "language", "weekdays", "window_starts", "window_ends", "note")


class CallbackForm(CallbackFields, PortalForm):
    pass


class NewRequestForm(CallbackFields, PortalForm):
    # A random key per form: the same form sent twice makes one request.
    submission_key = HiddenField()
    department_id = NumberRadioField(_l("Who should answer?"), validate_choice=False)
    student_id = NumberSelectField(_l("About which student? (optional)"), validate_choice=False)
    subject = StringField(_l("Subject"), validators=[Length(max=SUBJECT_MAX_LENGTH)])
    body = TextAreaField(_l("Your question"), validators=[Length(max=BODY_MAX_LENGTH)])
    call_me = BooleanField(_l("Call me back instead"))

    def validate(self, extra_validators: Any = None) -> bool:
        """The call-back's fields count only when a call is asked for."""
        valid = super().validate(extra_validators)
        if valid or self.call_me.data:
            return valid
        for name in CALLBACK_FIELDS:
            self[name].errors = []
        return not any(field.errors for field in self)

    def callback_fields(self) -> list[Field]:
        return [self[name] for name in CALLBACK_FIELDS]


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
