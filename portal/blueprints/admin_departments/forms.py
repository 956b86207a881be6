"""The forms of departments, their members, and feedback routing."""

from wtforms import (
    BooleanField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from portal import labels
from portal.blueprints.forms import NumberSelectField, PortalForm
from portal.blueprints.translated_fields import TranslatableForm
from portal.catalogs import lazy_gettext as _l
from portal.models import Priority

TARGET_KINDS = {"first": _l("First reply"), "next": _l("Next reply"), "resolution": _l("Resolution")}


class DepartmentForm(TranslatableForm):
    TRANSLATED = ("name", "description")
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter the department's name.")), Length(max=120)])
    description = TextAreaField(_l("Description shown to families"), validators=[Optional(), Length(max=1000)])
    is_public = BooleanField(_l("Families can send requests to this department"))
    metrics_public = BooleanField(
        _l("Show its reply times on the public “How we are doing” page"),
        description=_l("The typical first reply and the share answered within the promise, over the last 30 days."),
    )

    def target_field(self, priority: Priority, kind: str) -> StringField:
        return self[f"{priority.value}_{kind}"]


for _priority, _priority_name in labels.PRIORITY.items():
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
