"""Feedback: compliments, suggestions, concerns and questions, in a shape staff can
sort and count, triaged in a review queue.

Anonymous feedback keeps nothing that identifies its sender: no user, household,
email or address, neither on the feedback nor in the audit trail, and only the day
it was sent (an exact time could be matched with a session's last activity). Feedback whose
sender was "not sure" of the department is routed by administrators' keyword rules,
and what no rule matches waits for the triage group (the department that
administrators name for it)."""

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, delete, false, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from portal.db import MAX_ROW_ID, contains_pattern, get_row
from portal.models import (
    AuditEvent,
    Department,
    DepartmentMember,
    DistrictSetting,
    Feedback,
    FeedbackComment,
    FeedbackKind,
    FeedbackSource,
    FeedbackStatus,
    FeedbackTag,
    Guardianship,
    Priority,
    Request,
    RequestChannel,
    Role,
    Routing,
    RoutingRule,
    School,
    User,
)
from portal.services import accounts, audit, departments, notifications, requests, scope
from portal.services.errors import InvalidInput, NotFound
from portal.services.feedback import sentiment
from portal.services.pagination import Page, paginate
from portal.services.requests.business_time import Calendar
from portal.services.text import has_control_characters

BODY_MAX_LENGTH = 4000
RESPONSE_MAX_LENGTH = 4000
COMMENT_MAX_LENGTH = 2000
TAG_MAX_LENGTH = 40
MAX_TAGS = 10
KEYWORDS_MAX_LENGTH = 1000
MAX_BULK = 100
SUBMISSION_KEY = requests.SUBMISSION_KEY
CONTROL_CHARACTERS_MESSAGE = requests.CONTROL_CHARACTERS_MESSAGE


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


def _clean_text(text: str, *, field: str, limit: int, missing: Any) -> str:
    if has_control_characters(text, multiline=True):
        raise InvalidInput(CONTROL_CHARACTERS_MESSAGE, field=field)
    text = text.strip()
    if not text:
        raise InvalidInput(missing, field=field)
    if len(text) > limit:
        raise InvalidInput(_l("Use at most %(count)d characters.", count=limit), field=field)
    return text


# --- routing ----------------------------------------------------------------


def _folded(text: str) -> str:
    """Lower case without accents, so "Autobús" matches "autobus"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def keywords_of(rule: RoutingRule) -> list[str]:
    return [word for word in (" ".join(part.split()) for part in rule.keywords.split(",")) if word]


def propose_department(db: Session, text: str) -> Department | None:
    """The department whose rule matches the most keywords of `text` (whole words or
    phrases, ignoring case and accents); the older rule wins a tie; None when none match."""
    folded = " ".join(_folded(text).split())
    best: tuple[int, int, RoutingRule] | None = None
    for rule in db.scalars(select(RoutingRule).order_by(RoutingRule.id).options(selectinload(RoutingRule.department))):
        hits = sum(1 for word in keywords_of(rule) if re.search(rf"(?<!\w){re.escape(_folded(word))}(?!\w)", folded))
        if hits and (best is None or hits > best[0]):
            best = (hits, rule.id, rule)
    return best[2].department if best else None


def triage_department_id(db: Session) -> int | None:
    return departments.triage_department_id(db)


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
        if school is None:
            raise InvalidInput(_l("Choose a school from the list."), field="school_id")
    if new.rating is not None and not 1 <= new.rating <= 5:
        raise InvalidInput(_l("Choose from 1 to 5, or leave the rating out."), field="rating")
    body = _clean_text(new.body, field="body", limit=BODY_MAX_LENGTH, missing=_l("Write your feedback."))
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
    try:
        db.flush()
    except IntegrityError:
        db.rollback()
        earlier = db.scalar(select(Feedback).where(Feedback.submission_key == key)) if key else None
        if earlier is None:
            raise
        return earlier
    return None


def _anonymous_time(now: datetime) -> datetime:
    """Only the day (its UTC noon, the same calendar day across the Americas): an exact
    time could be matched with a session's last activity."""
    return now.replace(hour=12, minute=0, second=0, microsecond=0)


def submit_from_family(db: Session, actor: User, new: NewFeedback, *, now: datetime) -> Feedback:
    """A guardian's feedback; sent anonymously, it keeps nothing of who sent it."""
    household_id = scope.household_id_of(db, actor)
    if household_id is None or not actor.is_family:
        raise NotFound()
    if new.anonymous:
        now = _anonymous_time(now)
    feedback = _new_feedback(db, new, now=now)
    if not new.anonymous:
        feedback.author_id, feedback.household_id = actor.id, household_id
    earlier = _with_key(db, feedback, new.submission_key)
    if earlier is not None:
        return earlier
    _record_sent(db, feedback, None if new.anonymous else actor, now=now)
    return feedback


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


def feedback_for_family(db: Session, actor: User, *, page: int, page_size: int) -> Page:
    """What the household sent with its name on it (never the anonymous ones)."""
    statement = (
        scope.family_select(actor, Feedback)
        .options(selectinload(Feedback.department), selectinload(Feedback.school))
        .order_by(Feedback.created_at.desc(), Feedback.id.desc())
    )
    return paginate(db, statement, number=page, size=page_size)


def feedback_of_family(db: Session, actor: User, feedback_id: int) -> Feedback:
    return scope.family_get(
        db, actor, Feedback, feedback_id, selectinload(Feedback.department), selectinload(Feedback.school)
    )


# --- staff ------------------------------------------------------------------


def _staff_select(db: Session, actor: User) -> Select[tuple[Feedback]]:
    """The feedback a staff member may see (scope.for_staff decides)."""
    return scope.for_staff(db, actor).feedback()


@dataclass(frozen=True)
class ReviewFilter:
    kind: str = ""
    department_id: int | None = None  # 0 or None: any; -1: unrouted
    school_id: int | None = None
    rating: int | None = None
    status: str = "open"  # "open" (new or in review), "all", or a status
    tag: str = ""
    assignee: str = ""  # "", "me", "none" or a user id
    sentiment: str = ""
    received_from: date | None = None
    received_to: date | None = None
    text: str = ""
    sort: str = "newest"


def review_queue(db: Session, actor: User, wanted: ReviewFilter, *, time_zone: str, page: int, page_size: int) -> Page:
    """The feedback the staff member may see, filtered and sorted; dates are the district's
    days (in `time_zone`), as staff read them on the page."""
    statement = _staff_select(db, actor)
    if wanted.kind in {kind.value for kind in FeedbackKind}:
        statement = statement.where(Feedback.kind == FeedbackKind(wanted.kind))
    if wanted.department_id == -1:
        statement = statement.where(Feedback.department_id.is_(None))
    elif wanted.department_id:
        statement = statement.where(Feedback.department_id == wanted.department_id)
    if wanted.school_id:
        statement = statement.where(Feedback.school_id == wanted.school_id)
    if wanted.rating:
        statement = statement.where(Feedback.rating == wanted.rating)
    if wanted.status == "open":
        statement = statement.where(Feedback.status.in_((FeedbackStatus.NEW, FeedbackStatus.IN_REVIEW)))
    elif wanted.status in {status.value for status in FeedbackStatus}:
        statement = statement.where(Feedback.status == FeedbackStatus(wanted.status))
    if wanted.tag:
        tagged = select(FeedbackTag.id).where(FeedbackTag.name == wanted.tag[:TAG_MAX_LENGTH])
        statement = statement.where(Feedback.tags.any(FeedbackTag.id.in_(tagged.scalar_subquery())))
    if wanted.assignee == "me":
        statement = statement.where(Feedback.assignee_id == actor.id)
    elif wanted.assignee == "none":
        statement = statement.where(Feedback.assignee_id.is_(None))
    elif wanted.assignee.isascii() and wanted.assignee.isdigit():
        user_id = int(wanted.assignee)
        statement = statement.where(Feedback.assignee_id == user_id if user_id <= MAX_ROW_ID else false())
    statement = _sentiment_filter(statement, wanted.sentiment)
    zone = ZoneInfo(time_zone)
    if wanted.received_from:
        statement = statement.where(Feedback.created_at >= _start_of(wanted.received_from, zone))
    if wanted.received_to:
        statement = statement.where(Feedback.created_at < _start_of(wanted.received_to + timedelta(days=1), zone))
    text = " ".join(wanted.text.split())[:100]
    if text:
        statement = statement.where(_matches(text))
    return paginate(
        db,
        statement.order_by(*_order(wanted.sort)),
        number=page,
        size=page_size,
        then_load=(
            joinedload(Feedback.department),
            joinedload(Feedback.school),
            joinedload(Feedback.assignee),
            selectinload(Feedback.tags),
        ),
    )


def _start_of(day: date, zone: ZoneInfo) -> datetime:
    """The district's midnight starting `day`, as the UTC instant the index holds."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def _sentiment_filter(statement: Select[tuple[Feedback]], wanted: str) -> Select[tuple[Feedback]]:
    if wanted == "positive":
        return statement.where(Feedback.sentiment >= sentiment.POSITIVE_FROM)
    if wanted == "negative":
        return statement.where(Feedback.sentiment <= sentiment.NEGATIVE_BELOW)
    if wanted == "neutral":
        return statement.where(
            Feedback.sentiment > sentiment.NEGATIVE_BELOW, Feedback.sentiment < sentiment.POSITIVE_FROM
        )
    if wanted == "unscored":
        return statement.where(Feedback.sentiment.is_(None))
    return statement


def _order(sort: str) -> tuple[Any, ...]:
    if sort == "oldest":
        return (Feedback.created_at, Feedback.id)
    if sort == "rating_low":
        return (Feedback.rating.is_(None), Feedback.rating, Feedback.created_at.desc())
    if sort == "rating_high":
        return (Feedback.rating.is_(None), Feedback.rating.desc(), Feedback.created_at.desc())
    if sort == "sentiment_low":
        return (Feedback.sentiment.is_(None), Feedback.sentiment, Feedback.created_at.desc())
    if sort == "sentiment_high":
        return (Feedback.sentiment.is_(None), Feedback.sentiment.desc(), Feedback.created_at.desc())
    return (Feedback.created_at.desc(), Feedback.id.desc())


def _matches(text: str) -> Any:
    reference = text.upper().removeprefix("F-")
    if reference.isascii() and reference.isdigit():
        return Feedback.id == int(reference) if len(reference) <= 9 else false()
    pattern = contains_pattern(text)
    return Feedback.body.ilike(pattern, escape="\\")


def feedback_for_staff(db: Session, actor: User, feedback_id: int) -> Feedback:
    found = db.scalar(
        _staff_select(db, actor)
        .where(Feedback.id == feedback_id)
        .options(
            joinedload(Feedback.department),
            joinedload(Feedback.school),
            joinedload(Feedback.author),
            joinedload(Feedback.assignee),
            selectinload(Feedback.tags),
        )
    )
    if found is None:
        raise NotFound()
    return found


def history_of(db: Session, feedback: Feedback) -> list[tuple[AuditEvent, User | None]]:
    rows = db.execute(
        select(AuditEvent, User)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(AuditEvent.object_type == Feedback.__tablename__, AuditEvent.object_id == feedback.id)
        .order_by(AuditEvent.created_at, AuditEvent.id)
    )
    return [(event, user) for event, user in rows]


def comments_of(db: Session, feedback: Feedback) -> list[FeedbackComment]:
    return list(
        db.scalars(
            select(FeedbackComment)
            .where(FeedbackComment.feedback_id == feedback.id)
            .order_by(FeedbackComment.id)
            .options(selectinload(FeedbackComment.author))
        )
    )


def add_comment(db: Session, actor: User, feedback: Feedback, body: str, *, now: datetime) -> FeedbackComment:
    """An internal comment: staff only, never shown or sent to the sender."""
    scope.require_staff(actor)
    body = _clean_text(body, field="body", limit=COMMENT_MAX_LENGTH, missing=_l("Write the comment."))
    comment = FeedbackComment(feedback_id=feedback.id, author_id=actor.id, body=body, created_at=now)
    db.add(comment)
    feedback.updated_at = now
    audit.record(db, actor, "feedback.commented", feedback, now=now)
    return comment


def respond(db: Session, actor: User, feedback: Feedback, text: str, *, now: datetime) -> Feedback:
    """The district's answer: shown on the family's "My feedback" and emailed when the
    sender allowed contact."""
    scope.require_staff(actor)
    text = _clean_text(text, field="response", limit=RESPONSE_MAX_LENGTH, missing=_l("Write the response."))
    before = {"status": feedback.status.value, "response": feedback.response}
    feedback.response, feedback.responded_at, feedback.responded_by_id = text, now, actor.id
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


def _tags_named(db: Session, names: list[str]) -> list[FeedbackTag]:
    cleaned: list[str] = []
    for name in names:
        if has_control_characters(name, multiline=False):
            raise InvalidInput(CONTROL_CHARACTERS_MESSAGE, field="tags")
        name = " ".join(name.split()).lower()
        if len(name) > TAG_MAX_LENGTH:
            raise InvalidInput(_l("A tag has at most %(count)d characters.", count=TAG_MAX_LENGTH), field="tags")
        if name and name not in cleaned:
            cleaned.append(name)
    if len(cleaned) > MAX_TAGS:
        raise InvalidInput(_l("Use at most %(count)d tags.", count=MAX_TAGS), field="tags")
    existing = {tag.name: tag for tag in db.scalars(select(FeedbackTag).where(FeedbackTag.name.in_(cleaned)))}
    tags = []
    for name in cleaned:
        tag = existing.get(name)
        if tag is None:
            tag = FeedbackTag(name=name)
            db.add(tag)
        tags.append(tag)
    db.flush()
    return tags


def parse_tags(text: str) -> list[str]:
    return [part for part in text.split(",") if part.strip()]


def set_tags(db: Session, actor: User, feedback: Feedback, names: list[str], *, now: datetime) -> Feedback:
    scope.require_staff(actor)
    tags = _tags_named(db, names)
    before = [tag.name for tag in feedback.tags]
    after = [tag.name for tag in tags]
    if sorted(before) == sorted(after):
        return feedback
    feedback.tags = tags
    feedback.updated_at = now
    audit.record(db, actor, "feedback.tagged", feedback, now=now, before={"tags": before}, after={"tags": after})
    return feedback


def all_tags(db: Session) -> list[str]:
    return list(db.scalars(select(FeedbackTag.name).order_by(FeedbackTag.name)))


BULK_ACTIONS = ("assign", "tag", "close")


def bulk_change(db: Session, actor: User, feedback_ids: list[int], action: str, value: str, *, now: datetime) -> int:
    """Assign, tag or close many at once: only those the staff member may see. Returns how many changed."""
    scope.require_staff(actor)
    if action not in BULK_ACTIONS:
        raise InvalidInput(_l("Choose what to do with the selected feedback."), field="action")
    ids = [i for i in dict.fromkeys(feedback_ids) if 0 < i <= MAX_ROW_ID][:MAX_BULK]
    if not ids:
        raise InvalidInput(_l("Select at least one piece of feedback."), field="action")
    chosen = list(db.scalars(_staff_select(db, actor).where(Feedback.id.in_(ids)).options(selectinload(Feedback.tags))))
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


def turn_into_request(db: Session, actor: User, feedback: Feedback, *, calendar: Calendar, now: datetime) -> Request:
    """Open a request in the feedback's department, for the family who sent it, linked both ways."""
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


def assignee_choices(db: Session, department_id: int | None) -> list[User]:
    """Who may be given feedback of this department (None: unrouted): its members, or the
    triage group's, and the administrators."""
    department_id = department_id if department_id is not None else triage_department_id(db)
    members = select(DepartmentMember.user_id).where(DepartmentMember.department_id == department_id)
    statement = select(User).where(
        User.is_active.is_(True),
        or_(User.role == Role.ADMIN, User.id.in_(members.scalar_subquery()) if department_id else false()),
    )
    return list(db.scalars(statement.order_by(User.display_name)))


def staff_choices(db: Session) -> list[User]:
    return list(
        db.scalars(
            select(User)
            .where(User.role.in_([Role.STAFF, Role.ADMIN]), User.is_active.is_(True))
            .order_by(User.display_name)
        )
    )


# --- administrators ----------------------------------------------------------


def routing_rules(db: Session) -> list[RoutingRule]:
    return list(db.scalars(select(RoutingRule).order_by(RoutingRule.id).options(selectinload(RoutingRule.department))))


def add_rule(db: Session, actor: User, department_id: int | None, keywords: str, *, now: datetime) -> RoutingRule:
    scope.require_admin(actor)
    department = get_row(db, Department, department_id)
    if department is None:
        raise InvalidInput(_l("Choose a department from the list."), field="department_id")
    if has_control_characters(keywords, multiline=False):
        raise InvalidInput(CONTROL_CHARACTERS_MESSAGE, field="keywords")
    words = [" ".join(part.split()) for part in keywords.split(",")]
    words = [word for word in words if word]
    if not words:
        raise InvalidInput(_l("Write at least one word, like “bus, stop, driver”."), field="keywords")
    joined = ", ".join(words)
    if len(joined) > KEYWORDS_MAX_LENGTH:
        raise InvalidInput(_l("Use at most %(count)d characters.", count=KEYWORDS_MAX_LENGTH), field="keywords")
    rule = RoutingRule(department_id=department.id, keywords=joined, created_at=now)
    db.add(rule)
    db.flush()
    audit.record(
        db, actor, "routing_rule.added", rule, now=now, after={"department_id": department.id, "keywords": joined}
    )
    return rule


def remove_rule(db: Session, actor: User, rule_id: int, *, now: datetime) -> None:
    scope.require_admin(actor)
    rule = get_row(db, RoutingRule, rule_id)
    if rule is None:
        raise NotFound()
    audit.record(
        db,
        actor,
        "routing_rule.removed",
        rule,
        now=now,
        before={"department_id": rule.department_id, "keywords": rule.keywords},
    )
    db.execute(delete(RoutingRule).where(RoutingRule.id == rule.id))


def set_triage_department(db: Session, actor: User, department_id: int | None, *, now: datetime) -> DistrictSetting:
    """Name the department whose members sort the feedback no rule routes (None: administrators only)."""
    scope.require_admin(actor)
    if department_id is not None and get_row(db, Department, department_id) is None:
        raise InvalidInput(_l("Choose a department from the list."), field="department_id")
    setting = db.scalar(select(DistrictSetting).limit(1))
    if setting is None:
        setting = DistrictSetting(time_zone=None)
        db.add(setting)
    before = setting.triage_department_id
    if before == department_id:
        return setting
    setting.triage_department_id, setting.updated_at, setting.updated_by_id = department_id, now, actor.id
    db.flush()
    audit.record(
        db,
        actor,
        "feedback.triage_group_changed",
        setting,
        now=now,
        before={"department_id": before},
        after={"department_id": department_id},
    )
    return setting
