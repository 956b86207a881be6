"""What a family comes back for, on its home page: the open requests of every household
the guardian belongs to, the overdue first and then by when the next answer is due, and
the answers the family has not replied to yet.

The portal keeps no record of what a family has read. An answer counts as new while a
request's latest public staff message is newer than the family's latest message on it;
on a resolved or closed request, for `NEW_ANSWER_DAYS` after its last change.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, Select, and_, bindparam, case, func, or_, select
from sqlalchemy.orm import Session

from portal.models import ACTIVE_STATUSES, Request, RequestMessage, RequestStatus, User
from portal.models.request import RequestBasics
from portal.services import scope
from portal.services.district_names import DistrictNames, district_names
from portal.services.requests.promises import CLOCK_COLUMNS, ClockValues, Promise, promise_of
from portal.services.translated import DistrictName

# A resolved or closed request's answer stays on the home page this long.
NEW_ANSWER_DAYS = 30
# The home page lists at most this many requests; "My requests" lists them all.
SHOWN_AT_MOST = 25


@dataclass(frozen=True)
class ListedRequest(ClockValues, RequestBasics):
    """A request as the family's lists show it (the home page, My requests), read as values
    with its department's name, after the clocks its promise is read from
    (promises.promise_of): whole requests with their departments cost the home page
    0.2 ms more of the app's time (bench/RESULTS.md, seventeenth round)."""

    id: int
    subject: str
    status: RequestStatus
    household_id: int
    department: DistrictName


_CLOCK_FIELDS = tuple(column.key for column in CLOCK_COLUMNS)
# A ListedRequest's columns: its own, its department's id (named by district_names), then its clocks.
LISTED_COLUMNS = (
    Request.id,
    Request.subject,
    Request.status,
    Request.household_id,
    Request.department_id,
    *CLOCK_COLUMNS,
)
_DEPARTMENT_ID = LISTED_COLUMNS.index(Request.department_id)


def listed(db: Session, rows: Sequence[Sequence[Any]]) -> list[ListedRequest]:
    """The ListedRequests of rows that start with LISTED_COLUMNS, their departments named
    from those kept (district_names)."""
    names = district_names(db, departments={row[_DEPARTMENT_ID] for row in rows})
    return [_listed(row, names) for row in rows]


def _listed(row: Sequence[Any], names: DistrictNames) -> ListedRequest:
    request_id, subject, status, household_id, department_id, *clocks = row[: len(LISTED_COLUMNS)]
    return ListedRequest(
        id=request_id,
        subject=subject,
        status=status,
        household_id=household_id,
        department=names.departments[department_id],
        **dict(zip(_CLOCK_FIELDS, clocks, strict=True)),
    )


@dataclass(frozen=True)
class FamilyRequest:
    request: ListedRequest
    promise: Promise | None
    has_new_reply: bool


@dataclass(frozen=True)
class Overview:
    # Active requests: the overdue first, then by when the next answer is due, then those
    # with no running clock (waiting for the family).
    open: list[FamilyRequest]
    # Resolved or closed requests with an answer newer than the family's last message, the latest first.
    answered: list[FamilyRequest]


def _latest_message_id(*conditions: ColumnElement[bool]) -> ScalarSelect[Any]:
    return (
        select(func.max(RequestMessage.id))
        .where(RequestMessage.request_id == Request.id, *conditions)
        .correlate(Request)
        .scalar_subquery()
    )


def _overview_statement() -> Select[*tuple[Any, ...]]:
    """The guardian's active requests and those answered since the parameter
    "answered_since", as ListedRequest's columns, each with its last staff reply's id and
    its family's last message's."""
    last_staff_reply = _latest_message_id(RequestMessage.from_staff.is_(True), RequestMessage.is_internal.is_(False))
    last_family_message = _latest_message_id(RequestMessage.from_staff.is_(False))
    new_reply = and_(last_staff_reply.is_not(None), last_staff_reply > func.coalesce(last_family_message, 0))
    active = Request.status.in_(ACTIVE_STATUSES)
    return (
        scope.family_statement(Request)
        .with_only_columns(*LISTED_COLUMNS, last_staff_reply, last_family_message)
        .where(or_(active, and_(Request.updated_at >= bindparam("answered_since"), new_reply)))
        .order_by(case((active, 0), else_=1), Request.due_at.is_(None), Request.due_at, Request.id)
        .limit(SHOWN_AT_MOST)
    )


# Built once (portal.db, "Statements built once"): the family home sends it.
_OVERVIEW = _overview_statement()


def family_overview(db: Session, actor: User, *, now: datetime) -> Overview:
    """The home page's requests, in one statement, for every household of the guardian."""
    parameters = scope.family_parameters(actor, answered_since=now - timedelta(days=NEW_ANSWER_DAYS))
    open_requests: list[FamilyRequest] = []
    answered: list[tuple[int, FamilyRequest]] = []
    rows = db.execute(_OVERVIEW, parameters).all()
    for row, request in zip(rows, listed(db, rows), strict=True):
        staff_id, family_id = row[len(LISTED_COLUMNS) :]
        has_new_reply = staff_id is not None and staff_id > (family_id or 0)
        shown = FamilyRequest(request, promise_of(request), has_new_reply)
        if request.is_active:
            open_requests.append(shown)
        else:
            answered.append((staff_id or 0, shown))
    open_requests.sort(key=_by_promise(now))
    return Overview(
        open=open_requests,
        answered=[shown for _staff_id, shown in sorted(answered, key=lambda pair: pair[0], reverse=True)],
    )


def _by_promise(now: datetime) -> Callable[[FamilyRequest], tuple[int, datetime, int]]:
    def key(shown: FamilyRequest) -> tuple[int, datetime, int]:
        promise = shown.promise
        if promise is None:
            return (2, datetime.max.replace(tzinfo=now.tzinfo), shown.request.id)
        return (0 if promise.is_overdue(now) else 1, promise.due_at, shown.request.id)

    return key
