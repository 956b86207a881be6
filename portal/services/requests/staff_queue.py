"""The staff queue: the requests of a staff member's departments (scope.for_staff decides),
what is due next first, and how staff sort one out: assignee, priority, department."""

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, and_, bindparam, false, select, union
from sqlalchemy.orm import Session, joinedload, undefer

from portal.catalogs import lazy_gettext as _l
from portal.db import MAX_ROW_ID, get_row, one_of_listed, read_values
from portal.models import (
    ACTIVE_STATUSES,
    Department,
    DepartmentMember,
    Household,
    Priority,
    Request,
    RequestMessage,
    RequestStatus,
    User,
)
from portal.models.request import REFERENCE_PREFIX, RequestBasics
from portal.services import audit, district_cache, notifications, scope
from portal.services.calendar import district_calendar
from portal.services.departments import DEPARTMENT_CHOICE_COLUMNS, DepartmentChoice, StaffChoice
from portal.services.district_names import DistrictNames, district_names
from portal.services.errors import InvalidInput
from portal.services.households import access_log
from portal.services.pagination import Page, paginate, paginate_search
from portal.services.requests.business_time import Calendar
from portal.services.requests.promises import CLOCK_COLUMNS, ClockValues, recompute_due_times, set_targets
from portal.services.translated import DistrictName
from portal.text_search import folded_text_contains, has_run_of, one_of_found, reference_digits

MAX_REFERENCE_DIGITS = 9


# Clauses of the queue built once (portal.db, "Statements built once").
_ACTIVE = Request.status.in_(ACTIVE_STATUSES)
_DUE_NEXT_FIRST = (Request.due_at.asc().nulls_last(), Request.id)


@dataclass(frozen=True)
class QueueFilter:
    status: str = "active"  # "active", "all" or a RequestStatus value
    department_id: int | None = None
    assignee: str = ""  # "", "me", "none" or a user id
    school_id: int | None = None
    overdue_only: bool = False
    callbacks_only: bool = False
    text: str = ""


def queue(db: Session, actor: User, wanted: QueueFilter, *, now: datetime, page: int, page_size: int) -> Page[Any]:
    """The requests of the staff member's departments, what is due next first."""
    staff_scope = scope.for_staff(db, actor)
    statement = staff_scope.requests()
    if wanted.status == "active":
        statement = statement.where(_ACTIVE)
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
    if wanted.callbacks_only:
        statement = statement.where(Request.callback_due_at.is_not(None))
    text = " ".join(wanted.text.split())[:100]
    if not searchable(text):
        text = ""  # the search box says why (the form's validator calls searchable too)
    # No department of theirs (or none in the district, for an administrator): no request
    # to read (the page's filters have read the departments already).
    if not staff_scope.departments:
        return Page(items=[], number=1, size=page_size, total=0)
    if text:
        # A search costs more than its rows: searched once for the page and its total.
        ids = paginate_search(db, _matching_ids(statement, text), number=page, size=page_size, values=True)
    else:
        # What is due next first, those without a due time last: the order of the indexes
        # on due_at (ascending, nulls last), which then hand over one page without a sort.
        in_order = statement.order_by(*_DUE_NEXT_FIRST)
        ids = paginate(db, in_order.with_only_columns(Request.id), number=page, size=page_size, values=True)
    return replace(ids, items=_queue_requests(db, ids.items))


@dataclass(frozen=True)
class QueueRequest(ClockValues, RequestBasics):
    """A request as the staff queue lists it, after the clocks its promise is read from
    (promises.promise_of)."""

    id: int
    subject: str
    priority: Priority
    status: RequestStatus
    flagged: bool
    family: str
    department: DistrictName
    school: DistrictName | None
    assignee_name: str | None


# The page's rows by their ids, read as values (portal.db, read_values: the expression is
# named as the ORM names it). Built once (portal.db, "Statements built once").
_QUEUE_ROWS = (
    select(
        Request.id,
        Request.subject,
        Request.priority,
        Request.status,
        Request.flagged.label("flagged"),
        Household.name.label("family"),
        Request.department_id,
        Request.school_id,
        User.display_name.label("assignee_name"),
        *CLOCK_COLUMNS,
    )
    .join(Household, Household.id == Request.household_id)
    .outerjoin(User, User.id == Request.assignee_id)
    .where(one_of_listed(Request.id, "ids"))
)


def _queue_requests(db: Session, ids: list[int]) -> list[QueueRequest]:
    """The page's requests by their ids (chosen and sorted on the queue's indexes), read as
    values with their family's and assignee's names, and their department's and school's
    from those kept (district_names): whole objects with theirs cost the queue 1.3-2.0 ms
    more of the app's time a page (bench/RESULTS.md, ninth round)."""
    if not ids:
        return []
    rows = read_values(db, _QUEUE_ROWS, {"ids": ids}).all()
    names = district_names(db, departments={row.department_id for row in rows}, schools={row.school_id for row in rows})
    found = {row.id: _queue_request(row._asdict(), names) for row in rows}
    # A request deleted between the two statements is left out, not an error.
    return [found[request_id] for request_id in ids if request_id in found]


def _queue_request(values: dict[str, Any], names: DistrictNames) -> QueueRequest:
    """The columns are the request's fields, but for its department and school, named."""
    department = names.departments[values.pop("department_id")]
    school = names.school(values.pop("school_id"))
    return QueueRequest(department=department, school=school, **values)


def searchable(text: str) -> bool:
    """Whether the queue searches `text`: a reference number, or words with three letters
    or digits in a row (text_search.has_run_of; "R-", "a" or "le" would be tested against
    every request and message of the district)."""
    return reference_digits(text, REFERENCE_PREFIX) is not None or has_run_of(text, 3)


def _matching_ids(filtered: Select[Request], text: str) -> Select[int]:
    """The ids of the `filtered` requests (the queue's scope and filters) with a reference
    number, or words in the subject, a message, or the names of the household, its
    guardians or its students (whatever their accents), in the queue's order."""
    reference = reference_digits(text, REFERENCE_PREFIX)
    if reference is not None:
        # Longer than any id (and than the database's integers): matches nothing.
        numbered = Request.id == int(reference) if len(reference) <= MAX_REFERENCE_DIGITS else false()
        return filtered.where(numbered).with_only_columns(Request.id).order_by(Request.id)
    # One list from three searches, each of which a trigram index serves on PostgreSQL, and
    # each within the queue's filters: the database then starts each from whichever is
    # narrower, the staff member's requests or the search's matches, or combines both
    # indexes. Searched apart from the filters, every match in the district was joined to
    # the queue ("bus": 14,351 requests for a staff member's 183, 24.7 ms against 1.9 ms;
    # bench/RESULTS.md, tenth round). OR-ed EXISTS would test every request. Each search
    # carries the due time the list is sorted by, so that the matches are not looked up
    # again by their ids (bench/RESULTS.md, fifteenth round).
    among = filtered.with_only_columns(Request.id, Request.due_at)
    in_messages = select(RequestMessage.request_id).where(folded_text_contains(RequestMessage.search_text, text))
    # The household's search text: its name, its guardians' and its students' (stored folded
    # and compared without folding each household again: a common surname's 2,558
    # households were found in 13.3 ms folding each name, 1.8 ms from the stored text).
    households = select(Household.id).where(folded_text_contains(Household.search_text, text)).scalar_subquery()
    found = union(
        among.where(folded_text_contains(Request.search_text, text)),
        among.where(Request.id.in_(in_messages)),
        among.where(one_of_found(Request.household_id, households)),
    ).subquery("found")
    return select(found.c.id).order_by(found.c.due_at.asc().nulls_last(), found.c.id)


# Built once in each form of a staff scope (portal.db, "Statements built once"): with its
# six joined loads, building and keying it took 0.39 ms a request page.
_REQUEST_WITH_ITS_PARTS = (
    select(Request)
    .where(Request.id == bindparam("object_id"))
    .options(
        joinedload(Request.department, innerjoin=True),
        joinedload(Request.household, innerjoin=True),
        joinedload(Request.student),
        joinedload(Request.author),
        joinedload(Request.assignee),
        joinedload(Request.school),
        undefer(Request.latest_callback_id),
    )
)
_REQUEST_FOR_STAFF = scope.requests_forms(_REQUEST_WITH_ITS_PARTS)
_REQUEST_TO_SHOW: scope.ScopeForms[Any] = scope.requests_forms(
    _REQUEST_WITH_ITS_PARTS.add_columns(access_log.viewed_recently(Request.household_id))
)


def request_for_staff(db: Session, actor: User, request_id: int) -> Request:
    """A request in one of the staff member's departments, or NotFound."""
    return scope.for_staff(db, actor).get_built(_REQUEST_FOR_STAFF, request_id)


def request_to_show(db: Session, actor: User, request_id: int, *, now: datetime) -> Request:
    """request_for_staff for the request's page, which records a look at its household:
    whether this staff member opened it lately comes along (access_log.record_view sends
    no statement)."""
    parameters = access_log.viewing_parameters(actor, now)
    row = scope.for_staff(db, actor).get_built_row(_REQUEST_TO_SHOW, request_id, parameters)
    found, viewed = cast(tuple[Request, bool], row)
    access_log.read_along(db, actor, found.household_id, viewed)
    return found


@dataclass(frozen=True)
class OtherRequests:
    visible: list[Request]
    # Requests in departments this staff member does not work in: only counted.
    hidden_count: int


# Built once (portal.db, "Statements built once").
_OTHER_OPEN_REQUESTS = (
    select(Request)
    .where(
        Request.household_id == bindparam("household_id"),
        Request.id != bindparam("request_id"),
        _ACTIVE,
    )
    .order_by(*_DUE_NEXT_FIRST)
    # Joined: a handful of departments, in the same statement rather than a second one.
    .options(joinedload(Request.department, innerjoin=True))
)


def other_open_requests(db: Session, actor: User, request: Request) -> OtherRequests:
    """The household's other open requests: in full where they are in the staff
    member's departments, otherwise only counted, so that staff can tell the family
    another team has it. Not per department: which department a family asked can
    itself be private (special education, counselling)."""
    staff = scope.for_staff(db, actor)
    found = list(db.scalars(_OTHER_OPEN_REQUESTS, {"household_id": request.household_id, "request_id": request.id}))
    visible = [other for other in found if staff.sees_request_of(other.department_id)]
    return OtherRequests(visible, len(found) - len(visible))


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
    db: Session, actor: User, request: Request, priority: Priority, *, calendar: Calendar | None = None, now: datetime
) -> None:
    """A new priority brings its targets: the running due times are computed again."""
    calendar = calendar or district_calendar.current(db)
    scope.require_staff(actor)
    if priority is request.priority:
        return
    before = request.priority
    request.priority = priority
    set_targets(db, request)
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
    db: Session, actor: User, request: Request, department_id: int, *, calendar: Calendar | None = None, now: datetime
) -> None:
    """Send the request where it belongs: its targets are the new department's, and an
    assignee who is not a member of it is taken off."""
    calendar = calendar or district_calendar.current(db)
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
    set_targets(db, request)
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


@dataclass(frozen=True)
class UpdateChoices:
    """What the update form of a request offers, as values: every department to send it
    to, and the active members of its own department to give it to (supervisors first)."""

    departments: tuple[DepartmentChoice, ...]
    assignees: tuple[StaffChoice, ...]


def update_choices(db: Session, department_id: int) -> UpdateChoices:
    """Both lists in one statement, kept between requests (district_cache): every
    department, the request's own one joined to its active members (one row each) and
    the others to nobody."""
    return district_cache.kept(
        db, ("request update choices", department_id), lambda: _update_choices(db, department_id)
    )


def _update_choices(db: Session, department_id: int) -> UpdateChoices:
    statement = (
        select(*DEPARTMENT_CHOICE_COLUMNS, User.id, User.display_name)
        .outerjoin(
            DepartmentMember,
            and_(DepartmentMember.department_id == Department.id, Department.id == department_id),
        )
        .outerjoin(User, and_(User.id == DepartmentMember.user_id, User.is_active.is_(True)))
        .order_by(Department.name, Department.id, DepartmentMember.is_supervisor.desc(), User.display_name)
    )
    departments: dict[int, DepartmentChoice] = {}
    assignees = []
    for choice_id, name, translations, user_id, display_name in db.execute(statement):
        departments.setdefault(choice_id, DepartmentChoice(choice_id, name, translations))
        if user_id is not None:
            assignees.append(StaffChoice(user_id, display_name))
    return UpdateChoices(tuple(departments.values()), tuple(assignees))
