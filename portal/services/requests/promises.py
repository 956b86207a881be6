"""Promises: when a request's replies and its resolution are due, by the rules of
DESIGN.md ("Reply-time rules").

Three clocks run in business time on the district calendar:
- first reply: from submission (or a reopening before any reply) to the first
  public staff reply;
- next reply: from a family message after a staff reply to the next public staff reply;
- resolution: from submission (or reopening) to resolution, paused while the
  request waits on the family; the pauses are added to its target.
Only a public staff reply stops a reply clock. `due_at` is the earliest running
due time: the promise the family sees and the order of the staff queue.
The arithmetic in business time is `business_time`'s.
"""

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import ACTIVE_STATUSES, Request
from portal.services import departments
from portal.services.calendar import district_calendar
from portal.services.requests.business_time import Calendar, add_business_time, business_time_between

# "Typically answered in" rests on the last 30 days, once there are enough requests.
MEASURED_SPEED_DAYS = 30
MEASURED_SPEED_MIN_REQUESTS = 20


@dataclass(frozen=True)
class Promise:
    """What the family is told: a reply by `due_at`, a call by then, or the resolution by then."""

    kind: str  # "reply", "callback" or "resolution"
    due_at: datetime

    def is_overdue(self, now: datetime) -> bool:
        return self.due_at <= now


def _add(start: datetime, minutes: int, calendar: Calendar, extra_seconds: int = 0) -> datetime:
    return add_business_time(start, timedelta(minutes=minutes, seconds=extra_seconds), calendar)


def business_seconds(start: datetime, end: datetime, calendar: Calendar) -> int:
    return int(business_time_between(start, end, calendar).total_seconds()) if end > start else 0


class Clocks(Protocol):
    """What a request's running clocks are read from: the request, or a list's row of it
    (staff_queue.QueueRequest)."""

    @property
    def is_active(self) -> bool: ...
    @property
    def first_replied_at(self) -> datetime | None: ...
    @property
    def first_reply_due_at(self) -> datetime | None: ...
    @property
    def next_reply_due_at(self) -> datetime | None: ...
    @property
    def resolution_paused_at(self) -> datetime | None: ...
    @property
    def resolution_due_at(self) -> datetime | None: ...
    @property
    def callback_due_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class ClockValues:
    """A request's clocks read as values (CLOCK_COLUMNS), first in a list's row of a
    request (staff_queue.QueueRequest, overview.ListedRequest): what promise_of reads."""

    first_replied_at: datetime | None
    first_reply_due_at: datetime | None
    next_reply_due_at: datetime | None
    resolution_paused_at: datetime | None
    resolution_due_at: datetime | None
    callback_due_at: datetime | None


# ClockValues' columns, in the order of its fields.
CLOCK_COLUMNS = (
    Request.first_replied_at,
    Request.first_reply_due_at,
    Request.next_reply_due_at,
    Request.resolution_paused_at,
    Request.resolution_due_at,
    Request.callback_due_at,
)


def refresh_due_at(request: Request) -> None:
    request.due_at = min(
        (due for kind, due in running_clocks(request) if due is not None),
        default=None,
    )


def running_clocks(request: Clocks) -> list[tuple[str, datetime]]:
    """The clocks running now, as (kind, due time): "first_reply", "next_reply", "resolution",
    and "callback" while a call-back is awaited."""
    if not request.is_active:
        return []
    clocks = []
    if request.first_replied_at is None and request.first_reply_due_at is not None:
        clocks.append(("first_reply", request.first_reply_due_at))
    if request.next_reply_due_at is not None:
        clocks.append(("next_reply", request.next_reply_due_at))
    if request.resolution_paused_at is None and request.resolution_due_at is not None:
        clocks.append(("resolution", request.resolution_due_at))
    if request.callback_due_at is not None:
        clocks.append(("callback", request.callback_due_at))
    return clocks


def promise_of(request: Clocks) -> Promise | None:
    """The one promise the family sees: the earliest running due time."""
    clocks = running_clocks(request)
    if not clocks:
        return None
    kind, due_at = min(clocks, key=lambda clock: clock[1])
    return Promise(kind if kind in ("resolution", "callback") else "reply", due_at)


def start_clocks(request: Request, start: datetime, calendar: Calendar) -> None:
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
        start_next_reply(request, start, calendar)
    refresh_due_at(request)


def start_next_reply(request: Request, start: datetime, calendar: Calendar) -> None:
    if request.first_replied_at is None or request.next_reply_due_at is not None:
        return  # the first-reply clock still runs, or a next reply is already due
    request.next_reply_started_at = start
    request.next_reply_due_at = _add(start, request.next_reply_target_minutes, calendar)
    request.next_reply_escalated_at = None


def pause_resolution(request: Request, now: datetime) -> None:
    if request.resolution_paused_at is None:
        request.resolution_paused_at = now
        request.resolution_due_at = None


def resume_resolution(request: Request, now: datetime, calendar: Calendar) -> None:
    if request.resolution_paused_at is not None:
        request.resolution_paused_seconds += business_seconds(request.resolution_paused_at, now, calendar)
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
    refresh_due_at(request)


def set_targets(db: Session, request: Request) -> None:
    target = departments.targets_of(db, request.department_id)[request.priority]
    request.first_reply_target_minutes = target.first_reply_minutes
    request.next_reply_target_minutes = target.next_reply_minutes
    request.resolution_target_minutes = target.resolution_minutes


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
        medians = cast(list[tuple[int, float]], measured.all())
        return {department_id: timedelta(seconds=float(value)) for department_id, value in medians}
    rows = db.execute(select(Request.department_id, Request.first_reply_business_seconds).where(*recent))
    seconds: dict[int, list[int]] = {}
    for department_id, business_seconds in rows:
        if business_seconds is not None:  # left out by the query already; said again for the type
            seconds.setdefault(department_id, []).append(business_seconds)
    return {
        department_id: timedelta(seconds=statistics.median(values))
        for department_id, values in seconds.items()
        if len(values) >= MEASURED_SPEED_MIN_REQUESTS
    }


def first_replies_if_sent(
    db: Session, targets: dict[int, timedelta], *, now: datetime, calendar: Calendar | None = None
) -> dict[int, datetime]:
    """When each department (id: its first-reply target) would reply to a request sent
    `now`: the promise the new-request form shows before it is sent, counted as the
    request's own first-reply clock will be (from `now`, in business time)."""
    calendar = calendar or district_calendar.current(db)
    return {department_id: add_business_time(now, target, calendar) for department_id, target in targets.items()}


# How many closure names a family reads when one change moved its promise.
NAMES_IN_REASON = 3

# --- the calendar changed ---------------------------------------------------


def recompute_after_calendar_change(
    db: Session,
    reason: "dict[str, str] | Sequence[district_calendar.ClosureChange]",
    *,
    now: datetime,
    calendar: Calendar | None = None,
) -> int:
    """Compute the due times of every active request again, on the district's calendar
    as this session reads it now (or `calendar`, in tests). Returns how many requests
    had a clock move (a reply's or the resolution's).

    Where the family's promise moved, keep why, for its request page: `reason` for a
    change of the whole week (office hours, time zone), or, for closures added and
    removed, the ones that lie between the clock's start and the later of its old and
    new due days: the closure that moved this request, not the first of an import."""
    calendar = calendar or district_calendar.current(db)
    moved = 0
    active = select(Request).where(Request.status.in_(ACTIVE_STATUSES)).order_by(Request.id)
    for request in db.scalars(active.execution_options(yield_per=500)):
        before, clocks_before = request.due_at, _clocks(request)
        recompute_due_times(request, calendar)
        if _clocks(request) == clocks_before:
            continue
        moved += 1
        if request.due_at != before:
            why = reason if isinstance(reason, dict) else _closures_between(request, before, reason, calendar)
            request.due_moved = {
                **why,
                "from": before.isoformat() if before else None,
                "to": request.due_at.isoformat() if request.due_at else None,
                "at": now.isoformat(),
            }
        # A new promise is a new chance: a supervisor hears about it once more if it is broken.
        if request.first_reply_due_at and request.first_reply_due_at > now:
            request.first_reply_escalated_at = None
        if request.next_reply_due_at and request.next_reply_due_at > now:
            request.next_reply_escalated_at = None
    from portal.services.requests import callbacks  # it builds on this module's clocks

    return moved + callbacks.recompute_open(db, calendar)


def _clocks(request: Request) -> tuple[datetime | None, ...]:
    return (request.first_reply_due_at, request.next_reply_due_at, request.resolution_due_at)


def _closures_between(
    request: Request, before: datetime | None, changes: "Sequence[district_calendar.ClosureChange]", calendar: Calendar
) -> dict[str, str]:
    """The change to tell the family of: the closures added or removed between the start
    of the request's running clock and the later of its old and new promise."""
    moments = [moment for moment in (before, request.due_at) if moment is not None]
    starts = [request.next_reply_started_at or request.resolution_started_at]
    first = min(moment.astimezone(calendar.time_zone).date() for moment in (*starts, *moments) if moment)
    last = max(moment.astimezone(calendar.time_zone).date() for moment in moments) if moments else first
    between = [change for change in changes if change.first_day <= last and change.last_day >= first]
    # A later promise is explained by a closure added, an earlier one by a closure removed.
    later = before is None or (request.due_at is not None and request.due_at > before)
    kind = "closure_added" if later else "closure_removed"
    told = [change for change in between if change.kind == kind] or between or list(changes[:1])
    if not told:
        return {"kind": "hours_changed"}
    told = [change for change in told if change.kind == told[0].kind]
    more = "…" if len(told) > NAMES_IN_REASON else ""
    reason = {"kind": told[0].kind, "name": ", ".join(change.name for change in told[:NAMES_IN_REASON]) + more}
    # The names in another language ("name_es") only when every one of them has it:
    # a reader sees the list wholly in their language or wholly in English.
    for code in set.intersection(*(set(change.names) for change in told[:NAMES_IN_REASON])):
        reason[f"name_{code}"] = ", ".join(change.names[code] for change in told[:NAMES_IN_REASON]) + more
    return reason
