"""Feedback: compliments, suggestions, concerns and questions, in a shape staff can sort
and count.

- `intake`: feedback sent by guardians or the public form; anonymous feedback keeps
  nothing that identifies its sender.
- `routing`: administrators' keyword rules and the triage group, for the "not sure".
- `review`: the staff review queue, one feedback with its history, tags.
- `handling`: comments, responses, status and assignee changes, bulk changes, requests.
- `sentiment`: how positive a text reads.

Blueprints call the names below as `feedback.submit_public(...)`.
"""

from portal.services.feedback import sentiment
from portal.services.feedback.handling import (
    COMMENT_MAX_LENGTH,
    RESPONSE_MAX_LENGTH,
    add_comment,
    bulk_change,
    respond,
    turn_into_request,
    update,
)
from portal.services.feedback.intake import (
    BODY_MAX_LENGTH,
    NewFeedback,
    feedback_for_family,
    feedback_of_family,
    submit_from_family,
    submit_public,
)
from portal.services.feedback.review import (
    MAX_TAGS,
    QueueItem,
    ReviewFilter,
    all_tags,
    assignee_choices,
    comments_of,
    feedback_for_staff,
    history_of,
    parse_tags,
    review_queue,
    searchable,
    set_tags,
    staff_choices,
)
from portal.services.feedback.routing import (
    add_rule,
    keywords_of,
    propose_department,
    remove_rule,
    routing_rules,
    set_triage_department,
    triage_department_id,
)

__all__ = [
    "BODY_MAX_LENGTH",
    "COMMENT_MAX_LENGTH",
    "MAX_TAGS",
    "RESPONSE_MAX_LENGTH",
    "NewFeedback",
    "QueueItem",
    "ReviewFilter",
    "add_comment",
    "add_rule",
    "all_tags",
    "assignee_choices",
    "bulk_change",
    "comments_of",
    "feedback_for_family",
    "feedback_for_staff",
    "feedback_of_family",
    "history_of",
    "keywords_of",
    "parse_tags",
    "propose_department",
    "remove_rule",
    "respond",
    "review_queue",
    "routing_rules",
    "searchable",
    "sentiment",
    "set_tags",
    "set_triage_department",
    "staff_choices",
    "submit_from_family",
    "submit_public",
    "triage_department_id",
    "turn_into_request",
    "update",
]
