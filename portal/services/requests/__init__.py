"""Requests: a family asks a department, staff answer, and the portal keeps its promise.

- `intake`: a request arrives, sent by a family or logged by staff from a call.
- `conversation`: what families and staff read and write on it; status, close, reopen.
- `staff_queue`: the staff queue, and assignee, priority and department changes.
- `promises`: the reply and resolution clocks, on `business_time`'s arithmetic.
- `escalation`: overdue replies told to the supervisors.
- `satisfaction`: "How did we do?": ratings and rating links.
- `callbacks`: a family asks to be called back; staff log each attempt; on `callback_time`'s
  arithmetic (the family's window within the office hours).

Departments (their staff and promised reply times) stay in `portal.services.departments`:
`scope` decides staff visibility from membership, and feedback routes to departments too.

Every change that moves a promise reads the district's calendar itself
(`calendar.district_calendar.current(db)`); the optional `calendar=` is for tests.

Blueprints call the names below as `requests.submit_request(...)`.
"""

from portal.services.requests import business_time, callbacks
from portal.services.requests.conversation import (
    all_messages,
    change_status,
    close_by_family,
    public_messages,
    reopen,
    reply_as_family,
    reply_as_staff,
    request_for_family,
    requests_for_family,
)
from portal.services.requests.escalation import (
    escalate_overdue,
)
from portal.services.requests.intake import (
    BODY_MAX_LENGTH,
    SUBJECT_MAX_LENGTH,
    SUBMISSION_KEY,
    NewRequest,
    SendingLimit,
    log_phone_request,
    public_departments,
    submit_request,
)
from portal.services.requests.promises import (
    MEASURED_SPEED_MIN_REQUESTS,
    Promise,
    first_replies_if_sent,
    promise_of,
    recompute_after_calendar_change,
    running_clocks,
    typical_first_reply,
)
from portal.services.requests.satisfaction import (
    COMMENT_MAX_LENGTH,
    RATING_LINK_MAX_AGE,
    can_rate,
    rate,
    rating_of,
    rating_token,
    request_for_rating_token,
)
from portal.services.requests.staff_queue import (
    QueueFilter,
    QueueRequest,
    UpdateChoices,
    assign,
    change_department,
    change_priority,
    other_open_requests,
    queue,
    request_for_staff,
    request_to_show,
    searchable,
    update_choices,
)

__all__ = [
    "BODY_MAX_LENGTH",
    "COMMENT_MAX_LENGTH",
    "MEASURED_SPEED_MIN_REQUESTS",
    "RATING_LINK_MAX_AGE",
    "SUBJECT_MAX_LENGTH",
    "SUBMISSION_KEY",
    "NewRequest",
    "Promise",
    "QueueFilter",
    "QueueRequest",
    "SendingLimit",
    "UpdateChoices",
    "all_messages",
    "assign",
    "business_time",
    "callbacks",
    "can_rate",
    "change_department",
    "change_priority",
    "change_status",
    "close_by_family",
    "escalate_overdue",
    "first_replies_if_sent",
    "log_phone_request",
    "other_open_requests",
    "promise_of",
    "public_departments",
    "public_messages",
    "queue",
    "rate",
    "rating_of",
    "rating_token",
    "recompute_after_calendar_change",
    "reopen",
    "reply_as_family",
    "reply_as_staff",
    "request_for_family",
    "request_for_rating_token",
    "request_for_staff",
    "request_to_show",
    "requests_for_family",
    "running_clocks",
    "searchable",
    "submit_request",
    "typical_first_reply",
    "update_choices",
]
