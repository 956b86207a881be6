from collections.abc import Mapping
from enum import StrEnum

from wtforms import BooleanField, SelectChoice, StringField, TextAreaField
from wtforms.validators import Length, Optional

from portal import labels
from portal.blueprints.forms import NumberSelectField, PortalForm, SelectField, queue_search_field
from portal.catalogs import lazy_gettext as _l
from portal.services.requests import BODY_MAX_LENGTH, SUBJECT_MAX_LENGTH, searchable
from portal.services.requests.callbacks import ATTEMPT_NOTE_MAX


def _choices(names: Mapping[StrEnum, object]) -> list[SelectChoice]:
    return [SelectChoice(value.value, name) for value, name in names.items()]


class QueueFilterForm(PortalForm):
    class Meta:
        csrf = False  # a search: it changes nothing

    status = SelectField(
        _l("Status"),
        choices=[
            SelectChoice("active", _l("Not yet resolved")),
            SelectChoice("all", _l("Any status")),
            *_choices(labels.REQUEST_STATUS),
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
    callbacks = BooleanField(_l("Call-backs only"))
    q = queue_search_field(searchable)


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
    status = SelectField(_l("Status"), choices=_choices(labels.REQUEST_STATUS))
    priority = SelectField(_l("Priority"), choices=_choices(labels.PRIORITY))
    department_id = NumberSelectField(_l("Department"), validate_choice=False)
    assignee_id = NumberSelectField(_l("Assigned to"), validate_choice=False)


class PhoneRequestForm(PortalForm):
    guardian_id = NumberSelectField(_l("Who called?"), validate_choice=False)
    department_id = NumberSelectField(_l("Department"), validate_choice=False)
    student_id = NumberSelectField(_l("About which student? (optional)"), validate_choice=False)
    priority = SelectField(_l("Priority"), choices=_choices(labels.PRIORITY), default="normal")
    subject = StringField(_l("Subject"), validators=[Length(max=SUBJECT_MAX_LENGTH)])
    body = TextAreaField(_l("What the family asked, in their words"), validators=[Length(max=BODY_MAX_LENGTH)])


class CallAttemptForm(PortalForm):
    outcome = SelectField(_l("What happened?"), choices=_choices(labels.CALL_OUTCOME))
    note = TextAreaField(_l("Note"), validators=[Length(max=ATTEMPT_NOTE_MAX)])
