from collections.abc import Mapping

from wtforms import SelectChoice, StringField, TextAreaField
from wtforms.validators import Length, Optional

from portal import labels
from portal.blueprints.forms import DayField, NumberSelectField, PortalForm, SelectField, queue_search_field
from portal.catalogs import lazy_gettext as _l
from portal.services.feedback import COMMENT_MAX_LENGTH, RESPONSE_MAX_LENGTH, searchable

SORT_LABELS = {
    "newest": _l("Newest first"),
    "oldest": _l("Oldest first"),
    "rating_low": _l("Lowest rating first"),
    "rating_high": _l("Highest rating first"),
    "sentiment_low": _l("Most negative first"),
    "sentiment_high": _l("Most positive first"),
}


def _choices(names: Mapping[str, object], *, first: tuple[str, object] | None = None) -> list[SelectChoice]:
    choices = [SelectChoice(str(value), name) for value, name in names.items()]
    return [SelectChoice(*first), *choices] if first else choices


class ReviewFilterForm(PortalForm):
    class Meta:
        csrf = False  # a search: it changes nothing

    q = queue_search_field(searchable)
    status = SelectField(
        _l("Status"),
        choices=[
            SelectChoice("open", _l("Still to handle")),
            SelectChoice("all", _l("Any status")),
            *_choices(labels.FEEDBACK_STATUS),
        ],
        default="open",
        validators=[Optional()],
    )
    kind = SelectField(
        _l("Kind"), choices=_choices(labels.FEEDBACK_KIND, first=("", _l("Any kind"))), validators=[Optional()]
    )
    department_id = NumberSelectField(_l("Topic"), default=0, validators=[Optional()])
    school_id = NumberSelectField(_l("School"), default=0, validators=[Optional()])
    rating = NumberSelectField(
        _l("Rating"),
        choices=[SelectChoice(0, _l("Any rating")), *(SelectChoice(n, str(n)) for n in (1, 2, 3, 4, 5))],
        default=0,
        validators=[Optional()],
    )
    sentiment = SelectField(
        _l("Sentiment"), choices=_choices(labels.SENTIMENT, first=("", _l("Any"))), validators=[Optional()]
    )
    tag = SelectField(_l("Tag"), validators=[Optional()])
    assignee = SelectField(_l("Assigned to"), validators=[Optional()])
    received_from = DayField(_l("Received from"), validators=[Optional()])
    received_to = DayField(_l("Received until"), validators=[Optional()])
    sort = SelectField(_l("Sort"), choices=_choices(SORT_LABELS), default="newest", validators=[Optional()])


class BulkForm(PortalForm):
    action = SelectField(
        _l("With the selected feedback"),
        choices=[
            SelectChoice("assign", _l("Assign to")),
            SelectChoice("tag", _l("Add the tag")),
            SelectChoice("close", _l("Close")),
        ],
    )
    assignee_id = SelectField(_l("Staff member (to assign)"), validate_choice=False)
    tag = StringField(_l("Tag (to add)"), validators=[Optional(), Length(max=40)])


class CommentForm(PortalForm):
    body = TextAreaField(_l("Internal comment (staff only)"), validators=[Length(max=COMMENT_MAX_LENGTH)])


class ResponseForm(PortalForm):
    response = TextAreaField(_l("Answer to the sender"), validators=[Length(max=RESPONSE_MAX_LENGTH)])


class FeedbackUpdateForm(PortalForm):
    status = SelectField(_l("Status"), choices=_choices(labels.FEEDBACK_STATUS))
    assignee_id = NumberSelectField(_l("Assigned to"), validate_choice=False)
    department_id = NumberSelectField(_l("Department"), validate_choice=False)


class TagsForm(PortalForm):
    tags = StringField(_l("Tags, separated by commas"), validators=[Optional(), Length(max=500)])
