"""What staff do with feedback: comment, respond (emailed when the sender allowed it),
change status, assignee and department, act on many at once, or open a request from it."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from portal.catalogs import lazy_gettext as _l
from portal.db import MAX_ROW_ID, get_row
from portal.models import (
    Department,
    Feedback,
    FeedbackComment,
    FeedbackKind,
    FeedbackStatus,
    Guardianship,
    Priority,
    Request,
    RequestChannel,
    Routing,
    User,
)
from portal.services import audit, notifications, requests, scope
from portal.services.calendar import district_calendar
from portal.services.errors import InvalidInput
from portal.services.feedback.review import parse_tags, set_tags, staff_select
from portal.services.requests.business_time import Calendar
from portal.services.requests.promises import business_seconds
from portal.services.text import clean_text

RESPONSE_MAX_LENGTH = 4000
COMMENT_MAX_LENGTH = 2000
MAX_BULK = 100


def add_comment(db: Session, actor: User, feedback: Feedback, body: str, *, now: datetime) -> FeedbackComment:
    """An internal comment: staff only, never shown or sent to the sender."""
    scope.require_staff(actor)
    body = clean_text(body, field="body", limit=COMMENT_MAX_LENGTH, missing=_l("Write the comment."))
    comment = FeedbackComment(feedback_id=feedback.id, author_id=actor.id, body=body, created_at=now)
    db.add(comment)
    feedback.updated_at = now
    audit.record(db, actor, "feedback.commented", feedback, now=now)
    return comment


def respond(
    db: Session, actor: User, feedback: Feedback, text: str, *, calendar: Calendar | None = None, now: datetime
) -> Feedback:
    """The district's answer: shown on the family's "My feedback" and emailed when the
    sender allowed contact. The first one is the metrics' time to a first response, in
    business time on the district calendar (the promises' arithmetic)."""
    scope.require_staff(actor)
    text = clean_text(text, field="response", limit=RESPONSE_MAX_LENGTH, missing=_l("Write the response."))
    before = {"status": feedback.status.value, "response": feedback.response}
    feedback.response, feedback.responded_at, feedback.responded_by_id = text, now, actor.id
    if feedback.first_response_at is None:
        calendar = calendar or district_calendar.current(db)
        feedback.first_response_at = now
        feedback.first_response_business_seconds = business_seconds(feedback.created_at, now, calendar)
    feedback.status = FeedbackStatus.RESPONDED
    feedback.updated_at = now
    audit.record(
        db,
        actor,
        "feedback.responded",
        feedback,
        now=now,
        household_id=feedback.household_id,
        before=before,
        after={"status": feedback.status.value, "response": text},
    )
    if not feedback.may_contact:
        return feedback
    payload = {"feedback_id": feedback.id, "reference": feedback.reference, "response": text}
    if feedback.author_id is not None:
        payload["recipient_has_account"] = True
        author = db.scalar(
            select(User)
            .join(Guardianship, Guardianship.user_id == User.id)
            .where(User.id == feedback.author_id, Guardianship.household_id == feedback.household_id, User.is_active)
        )
        if author is not None:
            notifications.enqueue_email(db, author, "feedback_response", payload, now=now)
    elif feedback.contact_email:
        notifications.enqueue_email_to_address(
            db, feedback.contact_email, "feedback_response", payload, language=feedback.language, now=now
        )
    return feedback


def _can_see(db: Session, user: User, department_id: int | None) -> bool:
    """Whether a staff member would find feedback of this department (None: unrouted) in their queue."""
    return user.is_staff and scope.for_staff(db, user).sees_feedback_of(department_id)


def _assignee(db: Session, department_id: int | None, assignee_id: int | None) -> User | None:
    """The assignee must be able to open the feedback: an administrator, or a member of
    its department (of the triage group while it is unrouted)."""
    if assignee_id is None:
        return None
    user = get_row(db, User, assignee_id)
    if user is None or not user.is_staff or not user.is_active:
        raise InvalidInput(_l("Choose a staff member from the list."), field="assignee_id")
    if not _can_see(db, user, department_id):
        raise InvalidInput(_l("Choose someone who works on this feedback's department."), field="assignee_id")
    return user


def update(
    db: Session,
    actor: User,
    feedback: Feedback,
    *,
    status: FeedbackStatus,
    assignee_id: int | None,
    department_id: int | None,
    now: datetime,
) -> Feedback:
    """Status, assignee and department (re-routing) in one change, audited together."""
    scope.require_staff(actor)
    if department_id is not None and get_row(db, Department, department_id) is None:
        raise InvalidInput(_l("Choose a department from the list."), field="department_id")
    if department_id != feedback.department_id and assignee_id == feedback.assignee_id and assignee_id is not None:
        # Re-routed: an assignee who cannot see the new department's feedback is taken off.
        assignee = get_row(db, User, assignee_id)
        if assignee is None or not _can_see(db, assignee, department_id):
            assignee_id = None
    _assignee(db, department_id, assignee_id)
    before = {
        "status": feedback.status.value,
        "assignee_id": feedback.assignee_id,
        "department_id": feedback.department_id,
    }
    if department_id != feedback.department_id:
        feedback.department_id, feedback.routing = department_id, Routing.STAFF if department_id else Routing.TRIAGE
    feedback.status, feedback.assignee_id = status, assignee_id
    after = {"status": status.value, "assignee_id": assignee_id, "department_id": department_id}
    if after == before:
        return feedback
    feedback.updated_at = now
    audit.record(db, actor, "feedback.updated", feedback, now=now, before=before, after=after)
    return feedback


BULK_ACTIONS = ("assign", "tag", "close")


def bulk_change(db: Session, actor: User, feedback_ids: list[int], action: str, value: str, *, now: datetime) -> int:
    """Assign, tag or close many at once: only those the staff member may see. Returns how many changed."""
    scope.require_staff(actor)
    if action not in BULK_ACTIONS:
        raise InvalidInput(_l("Choose what to do with the selected feedback."), field="action")
    ids = [i for i in dict.fromkeys(feedback_ids) if 0 < i <= MAX_ROW_ID][:MAX_BULK]
    if not ids:
        raise InvalidInput(_l("Select at least one piece of feedback."), field="action")
    chosen = list(db.scalars(staff_select(db, actor).where(Feedback.id.in_(ids)).options(selectinload(Feedback.tags))))
    if action == "assign":
        assignee_id = int(value) if value.isascii() and value.isdigit() else None
        if value and assignee_id is None:
            raise InvalidInput(_l("Choose a staff member from the list."), field="assignee_id")
        for feedback in chosen:
            update(
                db,
                actor,
                feedback,
                status=FeedbackStatus.IN_REVIEW if feedback.status is FeedbackStatus.NEW else feedback.status,
                assignee_id=assignee_id,
                department_id=feedback.department_id,
                now=now,
            )
    elif action == "tag":
        names = parse_tags(value)
        if not names:
            raise InvalidInput(_l("Write the tag to add."), field="tag")
        for feedback in chosen:
            set_tags(db, actor, feedback, [tag.name for tag in feedback.tags] + names, now=now)
    else:
        for feedback in chosen:
            update(
                db,
                actor,
                feedback,
                status=FeedbackStatus.CLOSED,
                assignee_id=feedback.assignee_id,
                department_id=feedback.department_id,
                now=now,
            )
    return len(chosen)


def turn_into_request(
    db: Session, actor: User, feedback: Feedback, *, calendar: Calendar | None = None, now: datetime
) -> Request:
    """Open a request in the feedback's department, for the family who sent it, linked both ways."""
    calendar = calendar or district_calendar.current(db)
    scope.require_staff(actor)
    if feedback.request_id is not None:
        raise InvalidInput(_l("This feedback already has a request."), field="request")
    if feedback.household_id is None or feedback.author_id is None:
        raise InvalidInput(
            _l("Only feedback a family sent with its name can become a request. Respond to it instead."),
            field="request",
        )
    if feedback.department_id is None:
        raise InvalidInput(_l("Route the feedback to a department first."), field="request")
    subject = {
        FeedbackKind.COMPLIMENT: _l("Compliment %(reference)s", reference=feedback.reference),
        FeedbackKind.SUGGESTION: _l("Suggestion %(reference)s", reference=feedback.reference),
        FeedbackKind.CONCERN: _l("Concern %(reference)s", reference=feedback.reference),
        FeedbackKind.QUESTION: _l("Question %(reference)s", reference=feedback.reference),
    }[feedback.kind]
    request = requests.log_phone_request(
        db,
        actor,
        feedback.household_id,
        feedback.author_id,
        requests.NewRequest(department_id=feedback.department_id, subject=str(subject), body=feedback.body),
        priority=Priority.NORMAL,
        calendar=calendar,
        now=now,
        channel=RequestChannel.FEEDBACK,
    )
    feedback.request_id = request.id
    if feedback.status is FeedbackStatus.NEW:
        feedback.status = FeedbackStatus.IN_REVIEW
    feedback.updated_at = now
    audit.record(
        db,
        actor,
        "feedback.request_opened",
        feedback,
        now=now,
        household_id=feedback.household_id,
        after={"request": request.reference},
    )
    return request
