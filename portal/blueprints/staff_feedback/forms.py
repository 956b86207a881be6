from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from portal.blueprints.forms import DayField, NumberSelectField, PortalForm
from portal.services.feedback import COMMENT_MAX_LENGTH, RESPONSE_MAX_LENGTH

FEEDBACK_STATUS_LABELS = {
    "new": _l("Received"),
    "in_review": _l("Being reviewed"),
    "responded": _l("Answered"),
    "closed": _l("Closed"),
}
KIND_LABELS = {
    "compliment": _l("Compliment"),
    "suggestion": _l("Suggestion"),
    "concern": _l("Concern"),
    "question": _l("Question"),
}
SENTIMENT_LABELS = {
    "positive": _l("Positive"),
    "neutral": _l("Neutral"),
    "negative": _l("Negative"),
    "unscored": _l("Not scored (language not supported)"),
}
SORT_LABELS = {
    "newest": _l("Newest first"),
    "oldest": _l("Oldest first"),
    "rating_low": _l("Lowest rating first"),
    "rating_high": _l("Highest rating first"),
    "sentiment_low": _l("Most negative first"),
    "sentiment_high": _l("Most positive first"),
}


def _choices(labels: dict[str, object], *, first: tuple[str, object] | None = None) -> list[SelectChoice]:
    choices = [SelectChoice(value, label) for value, label in labels.items()]
    return [SelectChoice(*first), *choices] if first else choices


class ReviewFilterForm(PortalForm):
    class Meta:
        csrf = False  # a search: it changes nothing

    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)])
    status = SelectField(
        _l("Status"),
        choices=[
            SelectChoice("open", _l("Still to handle")),
            SelectChoice("all", _l("Any status")),
            *_choices(FEEDBACK_STATUS_LABELS),
        ],
        default="open",
        validators=[Optional()],
    )
    kind = SelectField(_l("Kind"), choices=_choices(KIND_LABELS, first=("", _l("Any kind"))), validators=[Optional()])
    department_id = NumberSelectField(_l("Topic"), default=0, validators=[Optional()])
    school_id = NumberSelectField(_l("School"), default=0, validators=[Optional()])
    rating = NumberSelectField(
        _l("Rating"),
        choices=[SelectChoice(0, _l("Any rating")), *(SelectChoice(n, str(n)) for n in (1, 2, 3, 4, 5))],
        default=0,
        validators=[Optional()],
    )
    sentiment = SelectField(
        _l("Sentiment"), choices=_choices(SENTIMENT_LABELS, first=("", _l("Any"))), validators=[Optional()]
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
    status = SelectField(_l("Status"), choices=_choices(FEEDBACK_STATUS_LABELS))
    assignee_id = NumberSelectField(_l("Assigned to"), validate_choice=False)
    department_id = NumberSelectField(_l("Department"), validate_choice=False)


class TagsForm(PortalForm):
    tags = StringField(_l("Tags, separated by commas"), validators=[Optional(), Length(max=500)])
