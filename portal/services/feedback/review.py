"""The review queue: the feedback a staff member may see (scope.for_staff decides),
filtered and sorted; one piece of feedback with its history and comments; tags; who may
be given it."""

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, bindparam, false, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from portal.catalogs import lazy_gettext as _l
from portal.db import MAX_ROW_ID, one_of_listed, read_values
from portal.models import (
    AuditEvent,
    DepartmentMember,
    Feedback,
    FeedbackComment,
    FeedbackKind,
    FeedbackStatus,
    FeedbackTag,
    Role,
    User,
)
from portal.models.feedback import REFERENCE_PREFIX, feedback_reference, feedback_tagging, sender_unknown
from portal.services import audit, district_cache, scope
from portal.services.departments import StaffChoice
from portal.services.district_names import district_names
from portal.services.errors import InvalidInput
from portal.services.feedback import sentiment
from portal.services.feedback.routing import triage_department_id
from portal.services.pagination import Page, paginate
from portal.services.text import CONTROL_CHARACTERS_MESSAGE, has_control_characters
from portal.services.translated import DistrictName
from portal.text_search import folded_text_contains, has_run_of, reference_digits

TAG_MAX_LENGTH = 40
MAX_TAGS = 10


def staff_select(db: Session, actor: User) -> Select[Feedback]:
    """The feedback a staff member may see (scope.for_staff decides)."""
    return scope.for_staff(db, actor).feedback()


_STILL_TO_HANDLE = Feedback.status.in_((FeedbackStatus.NEW, FeedbackStatus.IN_REVIEW))


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


def review_queue(
    db: Session, actor: User, wanted: ReviewFilter, *, time_zone: str, page: int, page_size: int
) -> Page[Any]:
    """The feedback the staff member may see, filtered and sorted; dates are the district's
    days (in `time_zone`), as staff read them on the page."""
    staff_scope = scope.for_staff(db, actor)
    statement = staff_scope.feedback()
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
        statement = statement.where(_STILL_TO_HANDLE)
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
    if not searchable(text):
        text = ""  # the search box says why (the form's validator calls searchable too)
    if text:
        statement = statement.where(_matches(text))
    # Without departments, only the unrouted feedback can be theirs (an administrator's,
    # before the district has set up any department); without that either, there is none
    # to read (the page's filters have read the departments already).
    if not staff_scope.departments and not staff_scope.sees_unrouted_feedback:
        return Page(items=[], number=1, size=page_size, total=0)
    ids = paginate(
        db,
        statement.with_only_columns(Feedback.id).order_by(*_ORDERS.get(wanted.sort, _ORDERS["newest"])),
        number=page,
        size=page_size,
        counted_apart=staff_scope.feedback_parts(),
        values=True,
    )
    return replace(ids, items=_queue_items(db, ids.items))


@dataclass(frozen=True)
class QueueItem:
    """A piece of feedback as the review queue lists it."""

    id: int
    kind: FeedbackKind
    body: str
    created_at: datetime
    sender_unknown: bool
    flagged: bool
    department: DistrictName | None
    school: DistrictName | None
    rating: int | None
    sentiment: float | None
    sentiment_language: str
    status: FeedbackStatus
    assignee_name: str | None
    tags: list[DistrictName]

    @property
    def reference(self) -> str:
        return feedback_reference(self.id)


# The page's feedback by its ids, a row per tag, read as values (portal.db, read_values: the
# expression is named as the ORM names it). Built once (portal.db, "Statements built once").
_QUEUE_ROWS = (
    select(
        Feedback.id,
        Feedback.kind,
        Feedback.body,
        Feedback.created_at,
        Feedback.author_id,
        Feedback.contact_email,
        Feedback.flagged.label("flagged"),
        Feedback.department_id,
        Feedback.school_id,
        Feedback.rating,
        Feedback.sentiment,
        Feedback.sentiment_language,
        Feedback.status,
        User.display_name.label("assignee_name"),
        feedback_tagging.c.tag_id,
    )
    .outerjoin(User, User.id == Feedback.assignee_id)
    .outerjoin(feedback_tagging, feedback_tagging.c.feedback_id == Feedback.id)
    .where(one_of_listed(Feedback.id, "ids"))
)


def _queue_items(db: Session, ids: list[int]) -> list[QueueItem]:
    """The page's feedback by its ids (chosen and sorted on the queue's indexes), read as
    values with its assignee's name and its tags (a row per tag), and its department's,
    school's and tags' names from those kept (district_names): whole objects with their
    assignee, school and department cost the queue 0.9-2.0 ms more of the app's time a
    page (bench/RESULTS.md, ninth round)."""
    if not ids:
        return []
    rows = read_values(db, _QUEUE_ROWS, {"ids": ids}).all()
    names = district_names(
        db,
        departments={row.department_id for row in rows},
        schools={row.school_id for row in rows},
        tags={row.tag_id for row in rows},
    )
    items: dict[int, QueueItem] = {}
    for row in rows:
        # The columns are the item's fields, but for the names read by their ids and who sent it.
        values = row._asdict()
        tag_id = values.pop("tag_id")
        item = items.get(row.id)
        if item is None:
            item = items[row.id] = QueueItem(
                sender_unknown=sender_unknown(values.pop("author_id"), values.pop("contact_email")),
                department=names.department(values.pop("department_id")),
                school=names.school(values.pop("school_id")),
                tags=[],
                **values,
            )
        if tag_id is not None:
            item.tags.append(names.tags[tag_id])
    for item in items.values():
        item.tags.sort(key=lambda tag: tag.name)
    # A piece deleted between the two statements is left out, not an error.
    return [items[feedback_id] for feedback_id in ids if feedback_id in items]


def _start_of(day: date, zone: ZoneInfo) -> datetime:
    """The district's midnight starting `day`, as the UTC instant the index holds."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def _sentiment_filter(statement: Select[Feedback], wanted: str) -> Select[Feedback]:
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


# The queue's sorts, each built once (portal.db, "Statements built once": the clauses too).
_ORDERS: dict[str, tuple[Any, ...]] = {
    "newest": (Feedback.created_at.desc(), Feedback.id.desc()),
    "oldest": (Feedback.created_at, Feedback.id),
    # Unrated last: the order of the rating index, which hands a page over with the id
    # sorted only within runs of equal keys (an incremental sort, not a full one).
    "rating_low": (Feedback.rating.asc().nulls_last(), Feedback.created_at.desc(), Feedback.id.desc()),
    "rating_high": (Feedback.rating.desc().nulls_last(), Feedback.created_at.desc(), Feedback.id.desc()),
    "sentiment_low": (Feedback.sentiment.is_(None), Feedback.sentiment, Feedback.created_at.desc(), Feedback.id.desc()),
    "sentiment_high": (
        Feedback.sentiment.is_(None),
        Feedback.sentiment.desc(),
        Feedback.created_at.desc(),
        Feedback.id.desc(),
    ),
}


def searchable(text: str) -> bool:
    """Whether the queue searches `text`: a reference number, or words with three letters
    or digits in a row (text_search.has_run_of: shorter ones are tested against every
    piece of feedback)."""
    return reference_digits(text, REFERENCE_PREFIX) is not None or has_run_of(text, 3)


def _matches(text: str) -> Any:
    reference = reference_digits(text, REFERENCE_PREFIX)
    if reference is not None:
        return Feedback.id == int(reference) if len(reference) <= 9 else false()
    return folded_text_contains(Feedback.search_text, text)


# Built once in each form of a staff scope (portal.db, "Statements built once").
_FEEDBACK_FOR_STAFF = scope.feedback_forms(
    select(Feedback)
    .where(Feedback.id == bindparam("object_id"))
    .options(
        joinedload(Feedback.department),
        joinedload(Feedback.school),
        joinedload(Feedback.author),
        joinedload(Feedback.assignee),
        selectinload(Feedback.tags),
    )
)


def feedback_for_staff(db: Session, actor: User, feedback_id: int) -> Feedback:
    """Feedback this staff member may see, or NotFound."""
    return scope.for_staff(db, actor).get_built(_FEEDBACK_FOR_STAFF, feedback_id)


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
            .options(joinedload(FeedbackComment.author))
        )
    )


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
    """Every tag's name, kept between requests (district_cache): the queue's filter offers them."""
    statement = select(FeedbackTag.name).order_by(FeedbackTag.name)
    return list(district_cache.kept(db, "feedback tags", lambda: tuple(db.scalars(statement))))


def assignee_choices(db: Session, department_id: int | None) -> tuple[StaffChoice, ...]:
    """Who may be given feedback of this department (None: unrouted): its members, or the
    triage group's, and the administrators. Kept between requests (district_cache)."""
    return district_cache.kept(db, ("feedback assignees", department_id), lambda: _assignees(db, department_id))


def _assignees(db: Session, department_id: int | None) -> tuple[StaffChoice, ...]:
    department_id = department_id if department_id is not None else triage_department_id(db)
    members = select(DepartmentMember.user_id).where(DepartmentMember.department_id == department_id)
    statement = select(User.id, User.display_name).where(
        User.is_active.is_(True),
        or_(User.role == Role.ADMIN, User.id.in_(members.scalar_subquery()) if department_id else false()),
    )
    return tuple(StaffChoice(*row) for row in db.execute(statement.order_by(User.display_name)))


def staff_choices(db: Session, staff_scope: scope.StaffScope) -> tuple[StaffChoice, ...]:
    """Whom the queue offers to filter by and to assign to, as StaffChoice values:
    the administrators and the members of the departments whose feedback this staff
    member sees (the triage group among them), who alone can be given that feedback;
    every active staff member for an administrator. A district's whole staff would be
    hundreds of options, twice a page. Kept between requests (district_cache); the
    statement is built only when they are read (0.17 ms, at every page when it was built
    before the look-up)."""
    department_ids = None if staff_scope.department_ids is None else tuple(staff_scope.department_ids)
    return district_cache.kept(db, ("feedback staff", department_ids), lambda: _staff_choices(db, department_ids))


def _staff_choices(db: Session, department_ids: tuple[int, ...] | None) -> tuple[StaffChoice, ...]:
    statement = select(User.id, User.display_name).where(
        User.role.in_([Role.STAFF, Role.ADMIN]), User.is_active.is_(True)
    )
    if department_ids is not None:
        members = select(DepartmentMember.user_id).where(DepartmentMember.department_id.in_(department_ids))
        statement = statement.where(or_(User.role == Role.ADMIN, User.id.in_(members.scalar_subquery())))
    return tuple(StaffChoice(*row) for row in db.execute(statement.order_by(User.display_name)))
