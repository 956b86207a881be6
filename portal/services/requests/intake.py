"""A request arrives: a family sends it from the portal, or staff write down a call (or
follow up feedback) for the same queue with the same promise. Both check what was typed
and start the clocks."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from portal.catalogs import lazy_gettext as _l
from portal.db import get_row
from portal.models import (
    Department,
    Guardianship,
    Household,
    Priority,
    Request,
    RequestChannel,
    RequestMessage,
    RequestStatus,
    Student,
    User,
)
from portal.models.district import Translations
from portal.services import audit, district_cache, scope
from portal.services.calendar import district_calendar
from portal.services.departments import DEPARTMENT_CHOICE_COLUMNS
from portal.services.errors import InvalidInput, NotAllowed, NotFound
from portal.services.requests.business_time import Calendar
from portal.services.requests.promises import set_targets, start_clocks
from portal.services.text import clean_text

SUBJECT_MAX_LENGTH = 150
BODY_MAX_LENGTH = 5000
# A submission key comes from the form: random, URL-safe, of a sane length.
SUBMISSION_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


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


def _clean_subject(subject: str) -> str:
    missing = _l("Write a short subject, like “Bus stop change”.")
    return clean_text(subject, field="subject", limit=SUBJECT_MAX_LENGTH, missing=missing, one_line=True)


def clean_body(body: str, *, field: str = "body") -> str:
    return clean_text(body, field=field, limit=BODY_MAX_LENGTH, missing=_l("Write your message."))


class PublicDepartment(NamedTuple):
    """A department families may ask, as the forms offer it, read as values: kept between
    requests (district_cache) and shared by them, never changed in place. A
    departments.DepartmentChoice, and whether its reply times are published."""

    id: int
    name: str
    translations: Translations
    metrics_public: bool


def public_departments(db: Session) -> tuple[PublicDepartment, ...]:
    """The departments families may ask, by name."""
    statement = (
        select(*DEPARTMENT_CHOICE_COLUMNS, Department.metrics_public)
        .where(Department.is_public.is_(True))
        .order_by(Department.name)
    )
    return district_cache.kept(
        db, "public departments", lambda: tuple(PublicDepartment(*row) for row in db.execute(statement))
    )


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
    set_targets(db, request)
    start_clocks(request, now, calendar)
    request.messages = [
        RequestMessage(author_id=author.id, from_staff=False, body=clean_body(new.body), created_at=now)
    ]
    return request


def submit_request(
    db: Session,
    actor: User,
    new: NewRequest,
    *,
    calendar: Calendar | None = None,
    now: datetime,
    limit: SendingLimit | None = None,
) -> tuple[Request, bool]:
    """A guardian asks a department. Returns the request and whether it is new: the
    same form sent twice (a retried POST, a double tap) finds the first request, and
    costs nothing against the household's sending `limit` (the portal's; None for the
    demo data), which counts the requests the household actually sent in its period."""
    calendar = calendar or district_calendar.current(db)
    household_ids = scope.household_ids_of(db, actor)
    if not household_ids or not actor.is_family:
        raise NotAllowed()
    household_id = _household_asked_for(db, household_ids, new.student_id)
    key = new.submission_key if new.submission_key and SUBMISSION_KEY.match(new.submission_key) else None
    _one_submission_at_a_time(db, household_id)
    if key is not None:
        earlier = _submitted_with(db, household_ids, key)
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
    # Should a writer skip the household lock, the unique key still makes one request:
    # this flush fails, and the request's boundary runs the submission again, which
    # answers with the first one.
    db.flush()
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


def _household_asked_for(db: Session, household_ids: list[int], student_id: int | None) -> int:
    """A request about a student belongs to that student's household, so that the family
    it concerns (and staff looking at it) find it there; one about no student in particular
    belongs to the guardian's first household. Only a student enrolled now, of one of
    the guardian's households, may be chosen."""
    if not student_id:
        return household_ids[0]
    student = get_row(db, Student, student_id)
    if student is None or student.household_id not in household_ids or not student.is_active:
        raise InvalidInput(_l("Choose a student from the list."), field="student_id")
    return student.household_id


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


def _submitted_with(db: Session, household_ids: list[int], key: str) -> Request | None:
    """The request an earlier copy of this form made, in whichever of the guardian's households."""
    statement = select(Request).where(Request.household_id.in_(household_ids), Request.submission_key == key)
    return db.scalar(statement.order_by(Request.id).limit(1))


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
    calendar: Calendar | None = None,
    now: datetime,
    channel: RequestChannel = RequestChannel.PHONE,
) -> Request:
    """Staff write down a call (or follow up feedback), so the phone line feeds the same
    queue, with the same promise."""
    calendar = calendar or district_calendar.current(db)
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
