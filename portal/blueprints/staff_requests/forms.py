from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from portal.blueprints.forms import NumberSelectField, PortalForm
from portal.services.requests import BODY_MAX_LENGTH, SUBJECT_MAX_LENGTH

STATUS_LABELS = {
    "open": _l("Sent"),
    "in_progress": _l("Being answered"),
    "waiting_on_family": _l("Waiting for the family"),
    "resolved": _l("Resolved"),
    "closed": _l("Closed"),
}
PRIORITY_LABELS = {"low": _l("Low"), "normal": _l("Normal"), "high": _l("High"), "urgent": _l("Urgent")}


def _choices(labels: dict[str, object]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in labels.items()]


class QueueFilterForm(PortalForm):
    class Meta:
        csrf = False  # a search: it changes nothing

    status = SelectField(
        _l("Status"),
        choices=[
            SelectChoice("active", _l("Not yet resolved")),
            SelectChoice("all", _l("Any status")),
            *_choices(STATUS_LABELS),
        ],
        default="active",
        validators=[Optional()],
    )
    department_id = NumberSelectField(_l("Department"), default=0, validators=[Optional()])
    assignee = SelectField(
        _l("Assigned to"),
        choices=[SelectChoice("", _l("Anyone")), SelectChoice("me", _l("Me")), SelectChoice("none", _l("Nobody yet"))],
        default="",
        validators=[Optional()],
    )
    school_id = NumberSelectField(_l("School"), default=0, validators=[Optional()])
    overdue = BooleanField(_l("Overdue only"))
    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)])


class StaffReplyForm(PortalForm):
    body = TextAreaField(_l("Message"), validators=[Length(max=BODY_MAX_LENGTH)])
    then_status = SelectField(
        _l("Then"),
        choices=[
            SelectChoice("", _l("Keep the status")),
            SelectChoice("waiting_on_family", _l("Wait for the family (pauses the resolution clock)")),
            SelectChoice("resolved", _l("Mark as resolved (asks the family how we did)")),
        ],
        default="",
        validators=[Optional()],
    )


class RequestUpdateForm(PortalForm):
    status = SelectField(_l("Status"), choices=_choices(STATUS_LABELS))
    priority = SelectField(_l("Priority"), choices=_choices(PRIORITY_LABELS))
    department_id = NumberSelectField(_l("Department"), validate_choice=False)
    assignee_id = NumberSelectField(_l("Assigned to"), validate_choice=False)


class PhoneRequestForm(PortalForm):
    guardian_id = NumberSelectField(_l("Who called?"), validate_choice=False)
    department_id = NumberSelectField(_l("Department"), validate_choice=False)
    student_id = NumberSelectField(_l("About which student? (optional)"), validate_choice=False)
    priority = SelectField(_l("Priority"), choices=_choices(PRIORITY_LABELS), default="normal")
    subject = StringField(_l("Subject"), validators=[Length(max=SUBJECT_MAX_LENGTH)])
    body = TextAreaField(_l("What the family asked, in their words"), validators=[Length(max=BODY_MAX_LENGTH)])
