"""Feedback arrives: from a guardian (with their name, or anonymously) or from the public
form (anonymous, or with an email to answer), and families read back what they sent.

Anonymous feedback keeps nothing that identifies its sender: no user, household,
email or address, neither on the feedback nor in the audit trail, and only the day
it was sent (an exact time could be matched with a session's last activity). Feedback whose
sender was "not sure" of the department is routed by `routing`."""

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, joinedload

from portal.catalogs import lazy_gettext as _l
from portal.db import get_row
from portal.models import (
    Department,
    Feedback,
    FeedbackKind,
    FeedbackSource,
    FeedbackStatus,
    Guardianship,
    Routing,
    School,
    Student,
    User,
)
from portal.models.feedback import feedback_reference
from portal.services import accounts, audit, scope
from portal.services.district_names import district_names
from portal.services.errors import InvalidInput, NotFound
from portal.services.feedback import sentiment
from portal.services.feedback.routing import propose_department
from portal.services.pagination import Page, paginate_search
from portal.services.requests import SUBMISSION_KEY
from portal.services.text import clean_text, has_control_characters
from portal.services.translated import DistrictName

BODY_MAX_LENGTH = 4000


@dataclass(frozen=True)
class NewFeedback:
    kind: str
    department_id: int | None  # None: "not sure"
    school_id: int | None
    rating: int | None
    body: str
    may_contact: bool = False
    anonymous: bool = False
    contact_email: str | None = None  # the public form only
    submission_key: str | None = None
    language: str = "en"


# --- sending ----------------------------------------------------------------


def _new_feedback(db: Session, new: NewFeedback, *, now: datetime) -> Feedback:
    try:
        kind = FeedbackKind(new.kind)
    except ValueError as error:
        raise InvalidInput(_l("Choose what kind of feedback this is."), field="kind") from error
    department = None
    if new.department_id:
        department = get_row(db, Department, new.department_id)
        if department is None or not department.is_public:
            raise InvalidInput(_l("Choose a topic from the list."), field="department_id")
    school = None
    if new.school_id:
        school = get_row(db, School, new.school_id)
        if school is None or not school.is_active:
            raise InvalidInput(_l("Choose a school from the list."), field="school_id")
    if new.rating is not None and not 1 <= new.rating <= 5:
        raise InvalidInput(_l("Choose from 1 to 5, or leave the rating out."), field="rating")
    body = clean_text(new.body, field="body", limit=BODY_MAX_LENGTH, missing=_l("Write your feedback."))
    routing = Routing.CHOSEN
    if department is None:
        department = propose_department(db, body)
        routing = Routing.RULE if department is not None else Routing.TRIAGE
    mood = sentiment.analyse(body)
    return Feedback(
        kind=kind,
        department_id=department.id if department else None,
        routing=routing,
        school_id=school.id if school else None,
        rating=new.rating,
        body=body,
        language=new.language[:10],
        is_anonymous=new.anonymous,
        may_contact=new.may_contact and not new.anonymous,
        status=FeedbackStatus.NEW,
        sentiment=mood.score,
        sentiment_language=mood.language,
        created_at=now,
        updated_at=now,
    )


def _with_key(db: Session, feedback: Feedback, key: str | None) -> Feedback | None:
    """Store `feedback` once per submission key; a repeat returns the first one."""
    key = key if key and SUBMISSION_KEY.match(key) else None
    if key is not None:
        earlier = db.scalar(select(Feedback).where(Feedback.submission_key == key))
        if earlier is not None:
            return earlier
    feedback.submission_key = key
    db.add(feedback)
    # A twin sent at the same moment and committed first makes this flush fail on the
    # unique key; the request's boundary runs the submission again, which finds it.
    db.flush()
    return None


def _anonymous_time(now: datetime) -> datetime:
    """Only the day (its UTC noon, the same calendar day across the Americas): an exact
    time could be matched with a session's last activity."""
    return now.replace(hour=12, minute=0, second=0, microsecond=0)


def submit_from_family(db: Session, actor: User, new: NewFeedback, *, now: datetime) -> Feedback:
    """A guardian's feedback; sent anonymously, it keeps nothing of who sent it."""
    household_ids = scope.household_ids_of(db, actor)
    if not household_ids or not actor.is_family:
        raise NotFound()
    if new.anonymous:
        now = _anonymous_time(now)
    feedback = _new_feedback(db, new, now=now)
    if not new.anonymous:
        feedback.author_id = actor.id
        feedback.household_id = _household_of_school(db, actor, feedback.school_id) or household_ids[0]
    earlier = _with_key(db, feedback, new.submission_key)
    if earlier is not None:
        return earlier
    _record_sent(db, feedback, None if new.anonymous else actor, now=now)
    return feedback


def _household_of_school(db: Session, actor: User, school_id: int | None) -> int | None:
    """Of a guardian's households (several: shared custody), the first with a student
    enrolled at the school the feedback is about: the family it concerns. None when no
    school was chosen or none of their students goes there; then it is their first."""
    if school_id is None:
        return None
    statement = (
        scope.family_select(actor, Student)
        .join(Guardianship, and_(Guardianship.household_id == Student.household_id, Guardianship.user_id == actor.id))
        .where(Student.school_id == school_id, Student.is_active)
        .order_by(Guardianship.id)
        .with_only_columns(Student.household_id)
        .limit(1)
    )
    return db.scalar(statement)


def submit_public(db: Session, new: NewFeedback, *, now: datetime) -> Feedback:
    """Feedback from the public form: anonymous, or with an email to answer."""
    if new.anonymous or not (new.contact_email or "").strip():
        now = _anonymous_time(now)
    feedback = _new_feedback(db, new, now=now)
    email = (new.contact_email or "").strip()
    if email and not new.anonymous:
        if has_control_characters(email, multiline=False) or len(email) > 254:
            raise InvalidInput(_l("Enter an email address like name@example.org."), field="contact_email")
        feedback.contact_email = accounts.normalize_email(email)
        feedback.may_contact = True
    else:
        feedback.may_contact = False
    feedback.source = FeedbackSource.PUBLIC
    earlier = _with_key(db, feedback, new.submission_key)
    if earlier is not None:
        return earlier
    _record_sent(db, feedback, None, now=now)
    return feedback


def _record_sent(db: Session, feedback: Feedback, sender: User | None, *, now: datetime) -> None:
    # Anonymous or public: no actor, no household, no address on the event either.
    audit.record(
        db,
        sender,
        "feedback.sent",
        feedback,
        now=now,
        household_id=feedback.household_id,
        after={
            "reference": feedback.reference,
            "kind": feedback.kind.value,
            "department_id": feedback.department_id,
            "routing": feedback.routing.value,
        },
    )


# --- families ---------------------------------------------------------------


@dataclass(frozen=True)
class SentFeedback:
    """A piece of the household's feedback as My feedback lists it, read as values."""

    id: int
    kind: FeedbackKind
    status: FeedbackStatus
    created_at: datetime
    department: DistrictName | None
    school: DistrictName | None
    answered: bool

    @property
    def reference(self) -> str:
        return feedback_reference(self.id)


# The household's feedback, the newest first, as values. Built once (portal.db,
# "Statements built once").
_FAMILY_FEEDBACK = (
    scope.family_statement(Feedback)
    .with_only_columns(
        Feedback.id,
        Feedback.kind,
        Feedback.status,
        Feedback.created_at,
        Feedback.department_id,
        Feedback.school_id,
        and_(Feedback.response.is_not(None), Feedback.response != ""),
    )
    .order_by(Feedback.created_at.desc(), Feedback.id.desc())
)


def feedback_for_family(db: Session, actor: User, *, page: int, page_size: int) -> Page[SentFeedback]:
    """What the household sent with its name on it (never the anonymous ones): a page and
    its total in one statement, as My requests reads its page."""
    found = paginate_search(
        db,
        _FAMILY_FEEDBACK,
        number=page,
        size=page_size,
        rows=True,
        parameters=scope.family_parameters(actor),
        values=True,
    )
    # (id, kind, status, created_at, department_id, school_id, answered)
    names = district_names(db, departments={row[4] for row in found.items}, schools={row[5] for row in found.items})
    items = [
        SentFeedback(
            feedback_id,
            kind,
            status,
            created_at,
            names.department(department_id),
            names.school(school_id),
            bool(answered),
        )
        for feedback_id, kind, status, created_at, department_id, school_id, answered in found.items
    ]
    return replace(found, items=items)


def feedback_of_family(db: Session, actor: User, feedback_id: int) -> Feedback:
    return scope.family_get(
        db, actor, Feedback, feedback_id, joinedload(Feedback.department), joinedload(Feedback.school)
    )
