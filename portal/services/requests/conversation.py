"""The conversation: what a family and staff read and write on a request, and the status
it moves through. Only a public staff reply stops a reply clock; resolving stops the
clocks and asks the family how we did; a family message reopens or resumes."""

from dataclasses import replace
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload, undefer

from portal.models import ACTIVE_STATUSES, Guardianship, Request, RequestMessage, RequestStatus, User
from portal.services import audit, notifications, scope
from portal.services.calendar import district_calendar
from portal.services.pagination import Page, paginate_search
from portal.services.requests import facts, overview
from portal.services.requests.business_time import Calendar
from portal.services.requests.intake import clean_body
from portal.services.requests.promises import (
    business_seconds,
    pause_resolution,
    refresh_due_at,
    resume_resolution,
    start_clocks,
    start_next_reply,
)
from portal.services.requests.satisfaction import rating_token

# The family's requests, the newest first, as values. Built once (portal.db, "Statements
# built once").
_FAMILY_REQUESTS = (
    scope.family_statement(Request)
    .with_only_columns(*overview.LISTED_COLUMNS)
    .order_by(Request.created_at.desc(), Request.id.desc())
)


def requests_for_family(db: Session, actor: User, *, page: int, page_size: int) -> Page[overview.ListedRequest]:
    """A page of the household's requests, the newest first, with their total: one
    statement (a family has a few pages at most), where counting, choosing the page and
    reading its rows took three round trips and 1.5 ms of the app's time."""
    found = paginate_search(
        db,
        _FAMILY_REQUESTS,
        number=page,
        size=page_size,
        rows=True,
        parameters=scope.family_parameters(actor),
        values=True,
    )
    return replace(found, items=overview.listed(db, found.items))


# Built once (portal.db, "Statements built once"): the family's request page sends both.
_FAMILY_REQUEST = (
    scope.family_statement(Request)
    .where(Request.id == bindparam("object_id"))
    .options(
        joinedload(Request.department, innerjoin=True),
        joinedload(Request.student),
        joinedload(Request.author),
        undefer(Request.latest_callback_id),
    )
)
_PUBLIC_MESSAGES = (
    select(RequestMessage)
    .where(RequestMessage.request_id == bindparam("request_id"), RequestMessage.is_internal.is_(False))
    .order_by(RequestMessage.id)
    .options(joinedload(RequestMessage.author))
)


def request_for_family(db: Session, actor: User, request_id: int) -> Request:
    """One of the household's requests with its public conversation, or NotFound."""
    return scope.family_get_built(db, actor, _FAMILY_REQUEST, Request, request_id)


def public_messages(db: Session, request: Request) -> list[RequestMessage]:
    """The conversation a family sees: never an internal note."""
    return list(db.scalars(_PUBLIC_MESSAGES, {"request_id": request.id}))


# Built once (portal.db, "Statements built once").
_ALL_MESSAGES = (
    select(RequestMessage)
    .where(RequestMessage.request_id == bindparam("request_id"))
    .order_by(RequestMessage.id)
    .options(joinedload(RequestMessage.author))
)


def all_messages(db: Session, request: Request) -> list[RequestMessage]:
    """The whole conversation, internal notes included: for staff only."""
    return list(db.scalars(_ALL_MESSAGES, {"request_id": request.id}))


def reply_as_family(
    db: Session, actor: User, request: Request, body: str, *, calendar: Calendar | None = None, now: datetime
) -> RequestMessage:
    """A guardian writes again: a request that was waiting on them resumes, one that
    was resolved or closed reopens, and a next reply becomes due."""
    calendar = calendar or district_calendar.current(db)
    body = clean_body(body)
    if not request.is_active:
        _reopen(db, actor, request, calendar=calendar, now=now)
    elif request.status is RequestStatus.WAITING_ON_FAMILY:
        resume_resolution(request, now, calendar)
        request.status = RequestStatus.OPEN if request.first_replied_at is None else RequestStatus.IN_PROGRESS
    start_next_reply(request, now, calendar)
    refresh_due_at(request)
    message = RequestMessage(request_id=request.id, author_id=actor.id, from_staff=False, body=body, created_at=now)
    db.add(message)
    request.updated_at = now
    audit.record(db, actor, "request.family_replied", request, now=now, household_id=request.household_id)
    return message


def close_by_family(db: Session, actor: User, request: Request, *, now: datetime) -> None:
    """The family says it is sorted: the clocks stop."""
    if not request.is_active:
        return
    before = request.status
    _stop(request, RequestStatus.CLOSED, now)
    audit.record(
        db,
        actor,
        "request.status_changed",
        request,
        now=now,
        household_id=request.household_id,
        before={"status": before.value},
        after={"status": RequestStatus.CLOSED.value},
    )


def reopen(db: Session, actor: User, request: Request, *, calendar: Calendar | None = None, now: datetime) -> None:
    calendar = calendar or district_calendar.current(db)
    if request.is_active:
        return
    _reopen(db, actor, request, calendar=calendar, now=now)


def _reopen(db: Session, actor: User, request: Request, *, calendar: Calendar, now: datetime) -> None:
    before = request.status
    request.status = RequestStatus.OPEN if request.first_replied_at is None else RequestStatus.IN_PROGRESS
    request.resolved_at = None
    facts.reopened(db, request, actor.id if actor.is_staff else None, now=now)
    start_clocks(request, now, calendar)
    request.updated_at = now
    audit.record(
        db,
        actor,
        "request.reopened",
        request,
        now=now,
        household_id=request.household_id,
        before={"status": before.value},
        after={"status": request.status.value},
    )


def _stop(request: Request, status: RequestStatus, now: datetime) -> None:
    request.status = status
    request.next_reply_due_at = None
    request.next_reply_started_at = None
    request.resolution_due_at = None
    request.resolution_paused_at = None
    request.due_at = None
    request.updated_at = now


def _family_recipient(db: Session, request: Request) -> User | None:
    """The guardian who asked, if still in the household and active."""
    if request.author_id is None:
        return None
    return db.scalar(
        select(User)
        .join(Guardianship, Guardianship.user_id == User.id)
        .where(User.id == request.author_id, Guardianship.household_id == request.household_id, User.is_active)
    )


def reply_as_staff(
    db: Session,
    actor: User,
    request: Request,
    body: str,
    *,
    internal: bool,
    calendar: Calendar | None = None,
    now: datetime,
) -> RequestMessage:
    """A public reply stops the reply clocks and is emailed to the family; an internal
    note stops nothing and never leaves the staff pages."""
    calendar = calendar or district_calendar.current(db)
    scope.require_staff(actor)
    body = clean_body(body)
    message = RequestMessage(
        request_id=request.id, author_id=actor.id, from_staff=True, is_internal=internal, body=body, created_at=now
    )
    db.add(message)
    request.updated_at = now
    if internal:
        # No household on the event: the family's history must not reveal internal notes.
        audit.record(db, actor, "request.internal_note", request, now=now)
        return message
    facts.staff_replied(db, request, actor.id, now=now, calendar=calendar)
    if request.first_replied_at is None:
        request.first_replied_at = now
        request.first_reply_business_seconds = business_seconds(request.resolution_started_at, now, calendar)
    request.next_reply_due_at = None
    request.next_reply_started_at = None
    if request.status is RequestStatus.OPEN:
        request.status = RequestStatus.IN_PROGRESS
    refresh_due_at(request)
    db.flush()
    audit.record(db, actor, "request.replied", request, now=now, household_id=request.household_id)
    recipient = _family_recipient(db, request)
    if recipient is not None:
        notifications.enqueue_email(
            db,
            recipient,
            "request_reply",
            {
                "request_id": request.id,
                "reference": request.reference,
                "subject_line": request.subject,
                "staff_name": actor.display_name,
                "body": body,
            },
            now=now,
        )
    return message


def change_status(
    db: Session,
    actor: User,
    request: Request,
    status: RequestStatus,
    *,
    calendar: Calendar | None = None,
    now: datetime,
    secret_key: str,
) -> None:
    """Staff move a request along. Waiting on the family pauses the resolution clock;
    resolving it stops the clocks and asks the family how we did."""
    calendar = calendar or district_calendar.current(db)
    scope.require_staff(actor)
    before = request.status
    if status is before:
        return
    if status in ACTIVE_STATUSES and before not in ACTIVE_STATUSES:
        _reopen(db, actor, request, calendar=calendar, now=now)
        before = request.status
    if status is RequestStatus.WAITING_ON_FAMILY:
        # The family has the next move: no staff reply is due until they write.
        request.next_reply_started_at = request.next_reply_due_at = None
        pause_resolution(request, now)
    elif status in (RequestStatus.OPEN, RequestStatus.IN_PROGRESS) and before is RequestStatus.WAITING_ON_FAMILY:
        resume_resolution(request, now, calendar)
    if status is RequestStatus.RESOLVED:
        if before in ACTIVE_STATUSES:
            facts.resolved(db, request, actor.id, now=now, calendar=calendar)
        _stop(request, status, now)
        request.resolved_at = now
        request.resolution_count += 1
        _ask_for_rating(db, request, now=now, secret_key=secret_key)
    elif status is RequestStatus.CLOSED:
        _stop(request, status, now)
    else:
        request.status = status
        refresh_due_at(request)
    request.updated_at = now
    audit.record(
        db,
        actor,
        "request.status_changed",
        request,
        now=now,
        household_id=request.household_id,
        before={"status": before.value},
        after={"status": status.value},
    )


def _ask_for_rating(db: Session, request: Request, *, now: datetime, secret_key: str) -> None:
    recipient = _family_recipient(db, request)
    if recipient is None:
        return
    notifications.enqueue_email(
        db,
        recipient,
        "request_resolved",
        {
            "request_id": request.id,
            "reference": request.reference,
            "subject_line": request.subject,
            "token": rating_token(request, secret_key),
        },
        now=now,
    )
