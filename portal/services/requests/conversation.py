"""Requests: a family asks a department, staff answer, and the promised reply times
follow the rules of DESIGN.md ("Reply-time rules").

Three clocks run in business time on the district calendar:
- first reply: from submission (or a reopening before any reply) to the first
  public staff reply;
- next reply: from a family message after a staff reply to the next public staff reply;
- resolution: from submission (or reopening) to resolution, paused while the
  request waits on the family; the pauses are added to its target.
Only a public staff reply stops a reply clock. `due_at` is the earliest running
due time: the promise the family sees and the order of the staff queue.
"""

import re
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import Select, false, func, select, union, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, joinedload, selectinload

from portal.db import MAX_ROW_ID, contains_pattern, get_row
from portal.models import (
    ACTIVE_STATUSES,
    Department,
    DepartmentMember,
    Guardianship,
    Household,
    Priority,
    Request,
    RequestChannel,
    RequestMessage,
    RequestStatus,
    Role,
    SatisfactionRating,
    Student,
    User,
)
from portal.models.request import REFERENCE_PREFIX
from portal.services import audit, departments, notifications, scope
from portal.services.errors import InvalidInput, InvalidToken, NotAllowed, NotFound
from portal.services.pagination import Page, paginate
from portal.services.requests.business_time import Calendar, add_business_time, business_time_between
from portal.services.text import has_control_characters

SUBJECT_MAX_LENGTH = 150
BODY_MAX_LENGTH = 5000
COMMENT_MAX_LENGTH = 2000
# A submission key comes from the form: random, URL-safe, of a sane length.
SUBMISSION_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
# "Typically answered in" rests on the last 30 days, once there are enough requests.
MEASURED_SPEED_DAYS = 30
MEASURED_SPEED_MIN_REQUESTS = 20
RATING_LINK_MAX_AGE = timedelta(days=60)
MAX_REFERENCE_DIGITS = 9


@dataclass(frozen=True)
class NewRequest:
    department_id: int | None
    subject: str
    body: str
    student_id: int | None = None
    submission_key: str | None = None


@dataclass(frozen=True)
class SendingLimit:
    """How many requests a household may send from the portal in a rolling period."""

    count: int
    period: timedelta


@dataclass(frozen=True)
class Promise:
    """What the family is told: a reply by `due_at`, or the resolution by then."""

    kind: str  # "reply" or "resolution"
    due_at: datetime

    def is_overdue(self, now: datetime) -> bool:
        return self.due_at <= now


# --- the clocks -------------------------------------------------------------


def _add(start: datetime, minutes: int, calendar: Calendar, extra_seconds: int = 0) -> datetime:
    return add_business_time(start, timedelta(minutes=minutes, seconds=extra_seconds), calendar)


def _business_seconds(start: datetime, end: datetime, calendar: Calendar) -> int:
    return int(business_time_between(start, end, calendar).total_seconds()) if end > start else 0


def _refresh_due_at(request: Request) -> None:
    request.due_at = min(
        (due for kind, due in running_clocks(request) if due is not None),
        default=None,
    )


def running_clocks(request: Request) -> list[tuple[str, datetime]]:
    """The clocks running now, as (kind, due time): "first_reply", "next_reply", "resolution"."""
    if not request.is_active:
        return []
    clocks = []
    if request.first_replied_at is None and request.first_reply_due_at is not None:
        clocks.append(("first_reply", request.first_reply_due_at))
    if request.next_reply_due_at is not None:
        clocks.append(("next_reply", request.next_reply_due_at))
    if request.resolution_paused_at is None and request.resolution_due_at is not None:
        clocks.append(("resolution", request.resolution_due_at))
    return clocks


def promise_of(request: Request) -> Promise | None:
    """The one promise the family sees: the earliest running due time."""
    clocks = running_clocks(request)
    if not clocks:
        return None
    kind, due_at = min(clocks, key=lambda clock: clock[1])
    return Promise("resolution" if kind == "resolution" else "reply", due_at)


def _start_clocks(request: Request, start: datetime, calendar: Calendar) -> None:
    """Start (or restart, on reopening) the first-reply or next-reply clock and the resolution clock."""
    request.resolution_started_at = start
    request.resolution_paused_seconds = 0
    request.resolution_paused_at = None
    request.resolution_due_at = _add(start, request.resolution_target_minutes, calendar)
    if request.first_replied_at is None:
        # Until a first reply, the first-reply clock starts with the resolution clock.
        request.first_reply_due_at = _add(start, request.first_reply_target_minutes, calendar)
        request.first_reply_escalated_at = None
    else:
        _start_next_reply(request, start, calendar)
    _refresh_due_at(request)


def _start_next_reply(request: Request, start: datetime, calendar: Calendar) -> None:
    if request.first_replied_at is None or request.next_reply_due_at is not None:
        return  # the first-reply clock still runs, or a next reply is already due
    request.next_reply_started_at = start
    request.next_reply_due_at = _add(start, request.next_reply_target_minutes, calendar)
    request.next_reply_escalated_at = None


def _pause_resolution(request: Request, now: datetime) -> None:
    if request.resolution_paused_at is None:
        request.resolution_paused_at = now
        request.resolution_due_at = None


def _resume_resolution(request: Request, now: datetime, calendar: Calendar) -> None:
    if request.resolution_paused_at is not None:
        request.resolution_paused_seconds += _business_seconds(request.resolution_paused_at, now, calendar)
        request.resolution_paused_at = None
    request.resolution_due_at = _add(
        request.resolution_started_at, request.resolution_target_minutes, calendar, request.resolution_paused_seconds
    )


def recompute_due_times(request: Request, calendar: Calendar) -> None:
    """Every running due time again from its clock's start and target: after the
    calendar, the priority or the department changed."""
    if request.first_replied_at is None and request.first_reply_due_at is not None:
        request.first_reply_due_at = _add(request.resolution_started_at, request.first_reply_target_minutes, calendar)
    if request.next_reply_started_at is not None and request.next_reply_due_at is not None:
        request.next_reply_due_at = _add(request.next_reply_started_at, request.next_reply_target_minutes, calendar)
    if request.resolution_paused_at is None and request.resolution_due_at is not None:
        request.resolution_due_at = _add(
            request.resolution_started_at,
            request.resolution_target_minutes,
            calendar,
            request.resolution_paused_seconds,
        )
    _refresh_due_at(request)


def _set_targets(db: Session, request: Request) -> None:
    target = departments.targets_of(db, request.department_id)[request.priority]
    request.first_reply_target_minutes = target.first_reply_minutes
    request.next_reply_target_minutes = target.next_reply_minutes
    request.resolution_target_minutes = target.resolution_minutes


# --- families ---------------------------------------------------------------


CONTROL_CHARACTERS_MESSAGE = _l("Remove the invisible control characters from this field.")


def _clean_subject(subject: str) -> str:
    # Line breaks and tabs become single spaces below; other control characters are refused.
    if has_control_characters(subject, multiline=True):
        raise InvalidInput(CONTROL_CHARACTERS_MESSAGE, field="subject")
    subject = " ".join(subject.split())
    if not subject:
        raise InvalidInput(_l("Write a short subject, like “Bus stop change”."), field="subject")
    if len(subject) > SUBJECT_MAX_LENGTH:
        raise InvalidInput(_l("Use at most %(count)d characters.", count=SUBJECT_MAX_LENGTH), field="subject")
    return subject


def clean_body(body: str, *, field: str = "body") -> str:
    if has_control_characters(body, multiline=True):
        raise InvalidInput(CONTROL_CHARACTERS_MESSAGE, field=field)
    body = body.strip()
    if not body:
        raise InvalidInput(_l("Write your message."), field=field)
    if len(body) > BODY_MAX_LENGTH:
        raise InvalidInput(_l("Use at most %(count)d characters.", count=BODY_MAX_LENGTH), field=field)
    return body


def public_departments(db: Session) -> list[Department]:
    return list(db.scalars(select(Department).where(Department.is_public.is_(True)).order_by(Department.name)))


def _open_request(
    db: Session,
    household_id: int,
    author: User,
    new: NewRequest,
    *,
    calendar: Calendar,
    now: datetime,
    public_only: bool,
    priority: Priority = Priority.NORMAL,
) -> Request:
    department = get_row(db, Department, new.department_id)
    if department is None or (public_only and not department.is_public):
        raise InvalidInput(_l("Choose a department from the list."), field="department_id")
    student = None
    if new.student_id:
        student = get_row(db, Student, new.student_id)
        if student is None or student.household_id != household_id:
            raise InvalidInput(_l("Choose a student from the list."), field="student_id")
    request = Request(
        household_id=household_id,
        author_id=author.id,
        department_id=department.id,
        student_id=student.id if student else None,
        school_id=student.school_id if student else None,
        subject=_clean_subject(new.subject),
        priority=priority,
        status=RequestStatus.OPEN,
        created_at=now,
        updated_at=now,
    )
    _set_targets(db, request)
    _start_clocks(request, now, calendar)
    request.messages = [
        RequestMessage(author_id=author.id, from_staff=False, body=clean_body(new.body), created_at=now)
    ]
    return request


def submit_request(
    db: Session,
    actor: User,
    new: NewRequest,
    *,
    calendar: Calendar,
    now: datetime,
    limit: SendingLimit | None = None,
) -> tuple[Request, bool]:
    """A guardian asks a department. Returns the request and whether it is new: the
    same form sent twice (a retried POST, a double tap) finds the first request, and
    costs nothing against the household's sending `limit` (the portal's; None for the
    demo data), which counts the requests the household actually sent in its period."""
    household_id = scope.household_id_of(db, actor)
    if household_id is None or not actor.is_family:
        raise NotAllowed()
    key = new.submission_key if new.submission_key and SUBMISSION_KEY.match(new.submission_key) else None
    _one_submission_at_a_time(db, household_id)
    if key is not None:
        earlier = _submitted_with(db, household_id, key)
        if earlier is not None:
            return earlier, False
    if limit is not None and _sent_since(db, household_id, now - limit.period) >= limit.count:
        raise InvalidInput(
            _l(
                "Your family has sent %(count)d new requests recently, the most we accept at a time. "
                "Please try again later, or add a message to one of your open requests.",
                count=limit.count,
            )
        )
    request = _open_request(db, household_id, actor, new, calendar=calendar, now=now, public_only=True)
    request.submission_key = key
    db.add(request)
    try:
        db.flush()
    except IntegrityError:
        # The same submission won a race that the household lock did not stop (a writer
        # that skipped it): the unique key still makes one request; answer with it.
        db.rollback()
        earlier = _submitted_with(db, household_id, key) if key else None
        if earlier is None:
            raise
        return earlier, False
    audit.record(
        db,
        actor,
        "request.created",
        request,
        now=now,
        household_id=household_id,
        after={"reference": request.reference, "department_id": request.department_id, "subject": request.subject},
    )
    return request, True


def _one_submission_at_a_time(db: Session, household_id: int) -> None:
    """Serialise a household's submissions until the unit of work ends, so that the
    replay check, the count against the limit and the insert see every earlier one.

    A no-op UPDATE of the household row does it on both databases: on PostgreSQL it
    takes the row's lock (FOR NO KEY UPDATE: rows referencing the household are not
    held up), on SQLite it opens the write transaction, which SQLite runs one at a time.
    A SELECT ... FOR UPDATE would lock on PostgreSQL only: on SQLite it is a plain read,
    run outside any transaction, and parallel posts would overshoot the limit."""
    db.execute(
        update(Household).where(Household.id == household_id).values(name=Household.name),
        execution_options={"synchronize_session": False},
    )


def _sent_since(db: Session, household_id: int, since: datetime) -> int:
    """Requests the household sent from the portal since then; staff's phone logs do not count."""
    statement = select(func.count()).where(
        Request.household_id == household_id,
        Request.channel == RequestChannel.PORTAL,
        Request.created_at > since,
    )
    return db.scalar(statement) or 0


def _submitted_with(db: Session, household_id: int, key: str) -> Request | None:
    return db.scalar(select(Request).where(Request.household_id == household_id, Request.submission_key == key))


def requests_for_family(db: Session, actor: User, *, page: int, page_size: int) -> Page:
    statement = (
        scope.family_select(actor, Request)
        .options(selectinload(Request.department))
        .order_by(Request.created_at.desc(), Request.id.desc())
    )
    return paginate(db, statement, number=page, size=page_size)


def request_for_family(db: Session, actor: User, request_id: int) -> Request:
    """One of the household's requests with its public conversation, or NotFound."""
    request = scope.family_get(
        db,
        actor,
        Request,
        request_id,
        joinedload(Request.department, innerjoin=True),
        joinedload(Request.student),
        joinedload(Request.author),
    )
    return request


def public_messages(db: Session, request: Request) -> list[RequestMessage]:
    """The conversation a family sees: never an internal note."""
    statement = (
        select(RequestMessage)
        .where(RequestMessage.request_id == request.id, RequestMessage.is_internal.is_(False))
        .order_by(RequestMessage.id)
        .options(joinedload(RequestMessage.author))
    )
    return list(db.scalars(statement))


def reply_as_family(
    db: Session, actor: User, request: Request, body: str, *, calendar: Calendar, now: datetime
) -> RequestMessage:
    """A guardian writes again: a request that was waiting on them resumes, one that
    was resolved or closed reopens, and a next reply becomes due."""
    body = clean_body(body)
    if not request.is_active:
        _reopen(db, actor, request, calendar=calendar, now=now)
    elif request.status is RequestStatus.WAITING_ON_FAMILY:
        _resume_resolution(request, now, calendar)
        request.status = RequestStatus.OPEN if request.first_replied_at is None else RequestStatus.IN_PROGRESS
    _start_next_reply(request, now, calendar)
    _refresh_due_at(request)
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


def reopen(db: Session, actor: User, request: Request, *, calendar: Calendar, now: datetime) -> None:
    if request.is_active:
        return
    _reopen(db, actor, request, calendar=calendar, now=now)


def _reopen(db: Session, actor: User, request: Request, *, calendar: Calendar, now: datetime) -> None:
    before = request.status
    request.status = RequestStatus.OPEN if request.first_replied_at is None else RequestStatus.IN_PROGRESS
    request.resolved_at = None
    _start_clocks(request, now, calendar)
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


# --- measured speed ---------------------------------------------------------


def typical_first_reply(db: Session, *, now: datetime) -> dict[int, timedelta]:
    """Per department, the median business time to a first reply over the last 30
    days, for departments with enough replied requests to say so."""
    recent = (
        Request.created_at >= now - timedelta(days=MEASURED_SPEED_DAYS),
        Request.first_reply_business_seconds.is_not(None),
    )
    if db.get_bind().dialect.name == "postgresql":
        # The database takes the medians: six rows cross the wire instead of a month of requests.
        median = func.percentile_cont(0.5).within_group(Request.first_reply_business_seconds)
        measured = db.execute(
            select(Request.department_id, median)
            .where(*recent)
            .group_by(Request.department_id)
            .having(func.count() >= MEASURED_SPEED_MIN_REQUESTS)
        )
        return {department_id: timedelta(seconds=float(value)) for department_id, value in measured}
    rows = db.execute(select(Request.department_id, Request.first_reply_business_seconds).where(*recent))
    seconds: dict[int, list[int]] = {}
    for department_id, business_seconds in rows:
        seconds.setdefault(department_id, []).append(business_seconds)
    return {
        department_id: timedelta(seconds=statistics.median(values))
        for department_id, values in seconds.items()
        if len(values) >= MEASURED_SPEED_MIN_REQUESTS
    }


# --- staff ------------------------------------------------------------------


def _staff_select(db: Session, actor: User) -> Select[tuple[Request]]:
    """Requests in the staff member's departments (scope.for_staff decides)."""
    return scope.for_staff(db, actor).requests()


@dataclass(frozen=True)
class QueueFilter:
    status: str = "active"  # "active", "all" or a RequestStatus value
    department_id: int | None = None
    assignee: str = ""  # "", "me", "none" or a user id
    school_id: int | None = None
    overdue_only: bool = False
    text: str = ""


def queue(db: Session, actor: User, wanted: QueueFilter, *, now: datetime, page: int, page_size: int) -> Page:
    """The requests of the staff member's departments, what is due next first."""
    statement = _staff_select(db, actor)
    if wanted.status == "active":
        statement = statement.where(Request.status.in_(ACTIVE_STATUSES))
    elif wanted.status != "all":
        statement = statement.where(Request.status == RequestStatus(wanted.status))
    if wanted.department_id:
        statement = statement.where(Request.department_id == wanted.department_id)
    if wanted.assignee == "me":
        statement = statement.where(Request.assignee_id == actor.id)
    elif wanted.assignee == "none":
        statement = statement.where(Request.assignee_id.is_(None))
    elif wanted.assignee.isascii() and wanted.assignee.isdigit() and int(wanted.assignee) <= MAX_ROW_ID:
        statement = statement.where(Request.assignee_id == int(wanted.assignee))
    if wanted.school_id:
        statement = statement.where(Request.school_id == wanted.school_id)
    if wanted.overdue_only:
        statement = statement.where(Request.due_at <= now)
    text = " ".join(wanted.text.split())[:100]
    if text:
        statement = statement.where(_matches(text))
    statement = statement.order_by(Request.due_at.is_(None), Request.due_at, Request.id)
    return paginate(
        db,
        statement,
        number=page,
        size=page_size,
        then_load=(
            joinedload(Request.department, innerjoin=True),
            joinedload(Request.household, innerjoin=True),
            joinedload(Request.assignee),
            joinedload(Request.school),
        ),
    )


def _matches(text: str) -> Any:
    """A reference number, or words in the subject, a message, or the household's name."""
    reference = text.upper().removeprefix(REFERENCE_PREFIX)
    if reference.isascii() and reference.isdigit():
        # Longer than any id (and than the database's integers): matches nothing.
        return Request.id == int(reference) if len(reference) <= MAX_REFERENCE_DIGITS else false()
    pattern = contains_pattern(text)
    # One id list from three searches, each of which a trigram index serves on PostgreSQL;
    # the database then joins it to the requests. (OR-ed EXISTS would test every request.)
    by_subject = aliased(Request)
    in_household = aliased(Request)
    matching_ids = union(
        select(by_subject.id).where(by_subject.subject.ilike(pattern, escape="\\")),
        select(RequestMessage.request_id).where(RequestMessage.body.ilike(pattern, escape="\\")),
        select(in_household.id)
        .join(Household, Household.id == in_household.household_id)
        .where(Household.name.ilike(pattern, escape="\\")),
    )
    return Request.id.in_(matching_ids)


def request_for_staff(db: Session, actor: User, request_id: int) -> Request:
    """A request in one of the staff member's departments, or NotFound."""
    request = db.scalar(
        _staff_select(db, actor)
        .where(Request.id == request_id)
        .options(
            joinedload(Request.department, innerjoin=True),
            joinedload(Request.household, innerjoin=True),
            joinedload(Request.student),
            joinedload(Request.author),
            joinedload(Request.assignee),
            joinedload(Request.school),
        )
    )
    if request is None:
        raise NotFound()
    return request


def all_messages(db: Session, request: Request) -> list[RequestMessage]:
    """The whole conversation, internal notes included: for staff only."""
    statement = (
        select(RequestMessage)
        .where(RequestMessage.request_id == request.id)
        .order_by(RequestMessage.id)
        .options(joinedload(RequestMessage.author))
    )
    return list(db.scalars(statement))


@dataclass(frozen=True)
class OtherRequests:
    visible: list[Request]
    # Requests in departments this staff member does not work in: only counted.
    hidden_count: int


def other_open_requests(db: Session, actor: User, request: Request) -> OtherRequests:
    """The household's other open requests: in full where they are in the staff
    member's departments, otherwise only counted, so that staff can tell the family
    another team has it. Not per department: which department a family asked can
    itself be private (special education, counselling)."""
    staff = scope.for_staff(db, actor)
    rows = db.scalars(
        select(Request)
        .where(
            Request.household_id == request.household_id,
            Request.id != request.id,
            Request.status.in_(ACTIVE_STATUSES),
        )
        .order_by(Request.due_at.is_(None), Request.due_at)
        .options(selectinload(Request.department))
    )
    found = list(rows)
    visible = [other for other in found if staff.sees_request_of(other.department_id)]
    return OtherRequests(visible, len(found) - len(visible))


def _guardian_of(db: Session, household_id: int, guardian_id: int | None) -> User:
    guardian = get_row(db, User, guardian_id) and db.scalar(
        select(User)
        .join(Guardianship, Guardianship.user_id == User.id)
        .where(Guardianship.household_id == household_id, User.id == guardian_id)
    )
    if guardian is None:
        raise InvalidInput(_l("Choose the guardian who called."), field="guardian_id")
    return guardian


def log_phone_request(
    db: Session,
    actor: User,
    household_id: int,
    guardian_id: int | None,
    new: NewRequest,
    *,
    priority: Priority,
    calendar: Calendar,
    now: datetime,
    channel: RequestChannel = RequestChannel.PHONE,
) -> Request:
    """Staff write down a call (or follow up feedback), so the phone line feeds the same
    queue, with the same promise."""
    scope.require_staff(actor)
    if get_row(db, Household, household_id) is None:
        raise NotFound()
    guardian = _guardian_of(db, household_id, guardian_id)
    request = _open_request(
        db, household_id, guardian, new, calendar=calendar, now=now, public_only=False, priority=priority
    )
    request.channel = channel
    request.logged_by_id = actor.id
    db.add(request)
    db.flush()
    audit.record(
        db,
        actor,
        "request.created",
        request,
        now=now,
        household_id=household_id,
        after={
            "reference": request.reference,
            "department_id": request.department_id,
            "subject_line": request.subject,
            "channel": channel.value,
        },
    )
    return request


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
    db: Session, actor: User, request: Request, body: str, *, internal: bool, calendar: Calendar, now: datetime
) -> RequestMessage:
    """A public reply stops the reply clocks and is emailed to the family; an internal
    note stops nothing and never leaves the staff pages."""
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
    if request.first_replied_at is None:
        request.first_replied_at = now
        request.first_reply_business_seconds = _business_seconds(request.resolution_started_at, now, calendar)
    request.next_reply_due_at = None
    request.next_reply_started_at = None
    if request.status is RequestStatus.OPEN:
        request.status = RequestStatus.IN_PROGRESS
    _refresh_due_at(request)
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
    calendar: Calendar,
    now: datetime,
    secret_key: str,
) -> None:
    """Staff move a request along. Waiting on the family pauses the resolution clock;
    resolving it stops the clocks and asks the family how we did."""
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
        _pause_resolution(request, now)
    elif status in (RequestStatus.OPEN, RequestStatus.IN_PROGRESS) and before is RequestStatus.WAITING_ON_FAMILY:
        _resume_resolution(request, now, calendar)
    if status is RequestStatus.RESOLVED:
        _stop(request, status, now)
        request.resolved_at = now
        request.resolution_count += 1
        _ask_for_rating(db, request, now=now, secret_key=secret_key)
    elif status is RequestStatus.CLOSED:
        _stop(request, status, now)
    else:
        request.status = status
        _refresh_due_at(request)
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


def assign(db: Session, actor: User, request: Request, assignee_id: int | None, *, now: datetime) -> None:
    """Give the request to a member of its department (or to nobody); they are emailed."""
    scope.require_staff(actor)
    if assignee_id == request.assignee_id:
        return
    assignee = None
    if assignee_id is not None:
        assignee = get_row(db, User, assignee_id) and db.scalar(
            select(User)
            .join(DepartmentMember, DepartmentMember.user_id == User.id)
            .where(User.id == assignee_id, DepartmentMember.department_id == request.department_id, User.is_active)
        )
        if assignee is None:
            raise InvalidInput(_l("Choose a member of the request's department."), field="assignee_id")
    before = request.assignee_id
    request.assignee_id = assignee_id
    request.updated_at = now
    audit.record(
        db,
        actor,
        "request.assigned",
        request,
        now=now,
        before={"assignee_id": before},
        after={"assignee_id": assignee_id},
    )
    if assignee is not None and assignee.id != actor.id:
        notifications.enqueue_email(
            db,
            assignee,
            "request_assigned",
            {
                "request_id": request.id,
                "reference": request.reference,
                "subject_line": request.subject,
                "assigned_by": actor.display_name,
            },
            now=now,
        )


def change_priority(
    db: Session, actor: User, request: Request, priority: Priority, *, calendar: Calendar, now: datetime
) -> None:
    """A new priority brings its targets: the running due times are computed again."""
    scope.require_staff(actor)
    if priority is request.priority:
        return
    before = request.priority
    request.priority = priority
    _set_targets(db, request)
    recompute_due_times(request, calendar)
    request.updated_at = now
    audit.record(
        db,
        actor,
        "request.priority_changed",
        request,
        now=now,
        household_id=request.household_id,
        before={"priority": before.value},
        after={"priority": priority.value},
    )


def change_department(
    db: Session, actor: User, request: Request, department_id: int, *, calendar: Calendar, now: datetime
) -> None:
    """Send the request where it belongs: its targets are the new department's, and an
    assignee who is not a member of it is taken off."""
    scope.require_staff(actor)
    if department_id == request.department_id:
        return
    if get_row(db, Department, department_id) is None:
        raise InvalidInput(_l("Choose a department from the list."), field="department_id")
    before = request.department_id
    request.department_id = department_id
    if request.assignee_id is not None:
        is_member = db.scalar(
            select(DepartmentMember.id).where(
                DepartmentMember.department_id == department_id, DepartmentMember.user_id == request.assignee_id
            )
        )
        if is_member is None:
            request.assignee_id = None
    _set_targets(db, request)
    recompute_due_times(request, calendar)
    request.updated_at = now
    audit.record(
        db,
        actor,
        "request.department_changed",
        request,
        now=now,
        household_id=request.household_id,
        before={"department_id": before},
        after={"department_id": department_id},
    )


def assignee_choices(db: Session, department_id: int) -> list[User]:
    return [user for _member, user in departments.members_of(db, department_id) if user.is_active]


# --- the calendar changed ---------------------------------------------------


def recompute_after_calendar_change(db: Session, calendar: Calendar, reason: dict[str, str], *, now: datetime) -> int:
    """Compute the due times of every active request again. Where the promise moved,
    keep why, for the family's request page. Returns how many promises moved."""
    moved = 0
    active = select(Request).where(Request.status.in_(ACTIVE_STATUSES)).order_by(Request.id)
    for request in db.scalars(active.execution_options(yield_per=500)):
        before = request.due_at
        recompute_due_times(request, calendar)
        if request.due_at != before:
            moved += 1
            request.due_moved = {
                **reason,
                "from": before.isoformat() if before else None,
                "to": request.due_at.isoformat() if request.due_at else None,
                "at": now.isoformat(),
            }
            # A new promise is a new chance: a supervisor hears about it once more if it is broken.
            if request.first_reply_due_at and request.first_reply_due_at > now:
                request.first_reply_escalated_at = None
            if request.next_reply_due_at and request.next_reply_due_at > now:
                request.next_reply_escalated_at = None
    return moved


# --- escalation -------------------------------------------------------------


def escalate_overdue(db: Session, *, now: datetime) -> int:
    """Tell each department's supervisor, once per clock, about first and next replies
    that became overdue. Returns how many requests were escalated."""
    escalated = 0
    for clock, due, mark in (
        ("first_reply", Request.first_reply_due_at, Request.first_reply_escalated_at),
        ("next_reply", Request.next_reply_due_at, Request.next_reply_escalated_at),
    ):
        statement = select(Request).where(Request.status.in_(ACTIVE_STATUSES), due <= now, mark.is_(None))
        if clock == "first_reply":
            statement = statement.where(Request.first_replied_at.is_(None))
        # FOR NO KEY UPDATE: a staff reply inserting a message that references the row
        # is not held up until the escalation commits.
        locked = statement.order_by(due).limit(1000).with_for_update(skip_locked=True, key_share=True)
        for request in db.scalars(locked):
            _notify_supervisors(db, request, clock, now=now)
            setattr(request, mark.key, now)
            escalated += 1
    return escalated


def _notify_supervisors(db: Session, request: Request, clock: str, *, now: datetime) -> None:
    supervisors = list(
        db.scalars(
            select(User)
            .join(DepartmentMember, DepartmentMember.user_id == User.id)
            .where(
                DepartmentMember.department_id == request.department_id,
                DepartmentMember.is_supervisor.is_(True),
                User.is_active,
            )
        )
    )
    if not supervisors:
        # No supervisor named: the district's administrators hear about it instead.
        supervisors = list(db.scalars(select(User).where(User.role == Role.ADMIN, User.is_active)))
    due = request.first_reply_due_at if clock == "first_reply" else request.next_reply_due_at
    for supervisor in supervisors:
        notifications.enqueue_email(
            db,
            supervisor,
            "request_overdue",
            {
                "request_id": request.id,
                "reference": request.reference,
                "subject_line": request.subject,
                "clock": clock,
                "due_at": due.isoformat() if due else None,
            },
            now=now,
        )


# --- satisfaction -----------------------------------------------------------


def _rating_serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="request-satisfaction")


def rating_token(request: Request, secret_key: str) -> str:
    """Good for rating this request's current resolution, and nothing else."""
    return _rating_serializer(secret_key).dumps({"r": request.id, "n": request.resolution_count})


def request_for_rating_token(db: Session, token: str, *, secret_key: str) -> tuple[Request, int]:
    try:
        data = _rating_serializer(secret_key).loads(token[:300], max_age=RATING_LINK_MAX_AGE.total_seconds())
    except (SignatureExpired, BadSignature) as error:
        raise InvalidToken() from error
    if not isinstance(data, dict) or not isinstance(data.get("r"), int) or not isinstance(data.get("n"), int):
        raise InvalidToken()
    request = get_row(db, Request, data["r"])
    if request is None:
        raise InvalidToken()
    return request, data["n"]


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


def rating_of(db: Session, request: Request, resolution_number: int) -> SatisfactionRating | None:
    return db.scalar(
        select(SatisfactionRating).where(
            SatisfactionRating.request_id == request.id, SatisfactionRating.resolution_number == resolution_number
        )
    )


def can_rate(db: Session, request: Request) -> bool:
    """Offered once per resolution, while the request stays resolved."""
    return (
        request.status is RequestStatus.RESOLVED
        and request.resolution_count > 0
        and rating_of(db, request, request.resolution_count) is None
    )


def rate(
    db: Session,
    request: Request,
    rating: int | None,
    comment: str,
    *,
    resolution_number: int,
    rated_by: User | None,
    now: datetime,
) -> SatisfactionRating:
    """Save "How did we do?". The caller has checked who may rate: the household
    on the request page, or the holder of the emailed link."""
    if resolution_number != request.resolution_count or request.status is not RequestStatus.RESOLVED:
        raise InvalidToken(_l("This request was changed since we asked; there is nothing to rate now."))
    if rating_of(db, request, resolution_number) is not None:
        raise InvalidInput(_l("Thank you: you already told us how we did."), field="rating")
    if rating is None or not 1 <= rating <= 5:
        raise InvalidInput(_l("Choose from 1 to 5."), field="rating")
    if has_control_characters(comment, multiline=True):
        raise InvalidInput(CONTROL_CHARACTERS_MESSAGE, field="comment")
    comment = comment.strip()
    if len(comment) > COMMENT_MAX_LENGTH:
        raise InvalidInput(_l("Use at most %(count)d characters.", count=COMMENT_MAX_LENGTH), field="comment")
    saved = SatisfactionRating(
        request_id=request.id,
        resolution_number=resolution_number,
        rating=rating,
        comment=comment,
        rated_by_id=rated_by.id if rated_by else None,
        created_at=now,
    )
    db.add(saved)
    try:
        db.flush()
    except IntegrityError as error:
        # The same rating, sent twice at once: the first one counts.
        db.rollback()
        raise InvalidInput(_l("Thank you: you already told us how we did."), field="rating") from error
    audit.record(
        db,
        rated_by,
        "request.rated",
        request,
        now=now,
        household_id=request.household_id,
        after={"rating": rating, "resolution_number": resolution_number},
    )
    return saved
