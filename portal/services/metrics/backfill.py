"""The facts of requests stored before there were facts (`flask metrics-backfill`).

The request services write a `ClockStop` where each clock stops; a database that was in
use before them has requests without. From what each request keeps, this builds:
- its first reply: `first_replied_at`, its promise `first_reply_due_at` and the business
  seconds the portal measured (`first_reply_business_seconds`), by the author of the
  first public staff message;
- each public staff reply (the `reply` events), from the messages;
- its next replies, from the messages: a family message after a staff reply starts the
  clock (due after the request's next-reply target), the next public staff reply stops it.
  Pauses while waiting on the family do not show in the messages: this is the nearest
  the stored history allows;
- its last resolution (`resolved_at`, its start and pauses), with the promise's arithmetic;
- its reopenings, from the audit trail (not who reopened it);
- its call-backs that ended with a call, with their attempts;
and, for feedback, the first response from `responded_at`.

The department of each fact is the one the request was in when the clock stopped, from
the audit trail's department changes (the current one when it has none).

Idempotent: for each request only the facts that stopped before its earliest
fact are built (all of them when it has none), so a second run adds nothing, and a
request that was answered before the facts and resolved after gets its first reply.
In batches of request ids; `after_batch` (the command's commit) runs after each.
"""

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from portal.models import (
    AuditEvent,
    CallAttempt,
    Callback,
    CallbackStatus,
    ClockKind,
    ClockStop,
    Feedback,
    Request,
    RequestMessage,
    RequestStatus,
)
from portal.services.calendar import district_calendar
from portal.services.requests.business_time import Calendar, add_business_time
from portal.services.requests.promises import business_seconds

BATCH_SIZE = 500
REOPENED, DEPARTMENT_CHANGED = "request.reopened", "request.department_changed"
_ENDED = (CallbackStatus.REACHED, CallbackStatus.WRONG_NUMBER, CallbackStatus.NEEDS_NEW_TIME)
_REQUEST_COLUMNS = (
    Request.id,
    Request.department_id,
    Request.school_id,
    Request.created_at,
    Request.status,
    Request.first_reply_due_at,
    Request.first_replied_at,
    Request.first_reply_business_seconds,
    Request.next_reply_target_minutes,
    Request.resolution_target_minutes,
    Request.resolution_started_at,
    Request.resolution_paused_seconds,
    Request.resolved_at,
)


def backfill(
    db: Session,
    *,
    calendar: Calendar | None = None,
    batch_size: int = BATCH_SIZE,
    after_batch: Callable[[], None] | None = None,
) -> int:
    """Build the missing facts of every request, then the feedback's first responses.
    Returns how many facts were written."""
    calendar = calendar or district_calendar.current(db)
    written, last_id = 0, 0
    while True:
        rows = db.execute(
            select(*_REQUEST_COLUMNS).where(Request.id > last_id).order_by(Request.id).limit(batch_size)
        ).all()
        if not rows:
            break
        last_id = rows[-1].id
        written += _backfill_batch(db, rows, calendar)
        if after_batch is not None:
            after_batch()
    _backfill_feedback(db, calendar)
    if after_batch is not None:
        after_batch()
    return written


def _backfill_batch(db: Session, rows: Sequence[Any], calendar: Calendar) -> int:
    ids = [row.id for row in rows]
    earliest: dict[int, datetime] = {
        request_id: stopped_at
        for request_id, stopped_at in db.execute(
            select(ClockStop.request_id, func.min(ClockStop.stopped_at))
            .where(ClockStop.request_id.in_(ids))
            .group_by(ClockStop.request_id)
        )
    }
    messages: dict[int, list[Any]] = defaultdict(list)
    for message in db.execute(
        select(
            RequestMessage.request_id, RequestMessage.author_id, RequestMessage.from_staff, RequestMessage.created_at
        )
        .where(RequestMessage.request_id.in_(ids), RequestMessage.is_internal.is_(False))
        .order_by(RequestMessage.request_id, RequestMessage.created_at, RequestMessage.id)
    ):
        messages[message.request_id].append(message)
    reopenings: dict[int, list[Any]] = defaultdict(list)
    transfers: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for event in db.execute(
        select(AuditEvent.object_id, AuditEvent.action, AuditEvent.before, AuditEvent.created_at)
        .where(
            AuditEvent.object_type == Request.__tablename__,
            AuditEvent.object_id.in_(ids),
            AuditEvent.action.in_((REOPENED, DEPARTMENT_CHANGED)),
        )
        .order_by(AuditEvent.created_at, AuditEvent.id)
    ):
        if event.action == REOPENED:
            reopenings[event.object_id].append(event)
        elif isinstance(event.before, dict) and isinstance(event.before.get("department_id"), int):
            transfers[event.object_id].append((event.created_at, event.before["department_id"]))
    attempts = (
        select(CallAttempt.callback_id, func.count().label("tried"), func.max(CallAttempt.staff_id).label("staff_id"))
        .group_by(CallAttempt.callback_id)
        .subquery()
    )
    calls: dict[int, list[Any]] = defaultdict(list)
    for call in db.execute(
        select(
            Callback.request_id,
            Callback.status,
            Callback.created_at,
            Callback.due_at,
            Callback.closed_at,
            attempts.c.tried,
            attempts.c.staff_id,
        )
        .outerjoin(attempts, attempts.c.callback_id == Callback.id)
        .where(Callback.request_id.in_(ids), Callback.status.in_(_ENDED), Callback.closed_at.is_not(None))
    ):
        calls[call.request_id].append(call)
    facts: list[dict[str, Any]] = []
    for row in rows:
        built = _facts_of(row, messages[row.id], reopenings[row.id], calls[row.id], calendar)
        for fact in built:
            # The department that answered: the one it was in when the clock stopped.
            fact["department_id"] = next(
                (department for moved_at, department in transfers[row.id] if moved_at > fact["stopped_at"]),
                row.department_id,
            )
        before = earliest.get(row.id)
        facts.extend(fact for fact in built if before is None or fact["stopped_at"] < before)
    if facts:
        db.execute(insert(ClockStop), facts)
    return len(facts)


def _fact(
    row: Any,
    kind: ClockKind,
    *,
    started_at: datetime,
    due_at: datetime | None,
    stopped_at: datetime,
    seconds: int,
    user_id: int | None,
    attempts: int | None = None,
) -> dict[str, Any]:
    return {
        "request_id": row.id,
        "kind": kind,
        "department_id": row.department_id,
        "school_id": row.school_id,
        "user_id": user_id,
        "started_at": started_at,
        "due_at": due_at,
        "stopped_at": stopped_at,
        "business_seconds": seconds,
        "on_time": due_at is None or stopped_at <= due_at,
        "attempts": attempts,
    }


def _facts_of(
    row: Any, messages: list[Any], reopenings: list[Any], calls: list[Any], calendar: Calendar
) -> list[dict[str, Any]]:
    facts = []
    staff = [message for message in messages if message.from_staff]
    if row.first_replied_at is not None:
        first_author = next((m.author_id for m in staff if m.created_at >= row.first_replied_at), None)
        seconds = row.first_reply_business_seconds
        if seconds is None:
            seconds = business_seconds(row.created_at, row.first_replied_at, calendar)
        facts.append(
            _fact(
                row,
                ClockKind.FIRST_REPLY,
                started_at=row.created_at,
                due_at=row.first_reply_due_at,
                stopped_at=row.first_replied_at,
                seconds=seconds,
                user_id=first_author,
            )
        )
    replied, next_started = False, None
    for message in messages:
        if not message.from_staff:
            if replied and next_started is None:
                next_started = message.created_at
            continue
        facts.append(
            _fact(
                row,
                ClockKind.REPLY,
                started_at=message.created_at,
                due_at=None,
                stopped_at=message.created_at,
                seconds=0,
                user_id=message.author_id,
            )
        )
        if replied and next_started is not None:
            facts.append(
                _fact(
                    row,
                    ClockKind.NEXT_REPLY,
                    started_at=next_started,
                    due_at=add_business_time(next_started, timedelta(minutes=row.next_reply_target_minutes), calendar),
                    stopped_at=message.created_at,
                    seconds=business_seconds(next_started, message.created_at, calendar),
                    user_id=message.author_id,
                )
            )
        replied, next_started = True, None
    if row.status == RequestStatus.RESOLVED and row.resolved_at is not None:
        paused = row.resolution_paused_seconds
        facts.append(
            _fact(
                row,
                ClockKind.RESOLUTION,
                started_at=row.resolution_started_at,
                due_at=add_business_time(
                    row.resolution_started_at,
                    timedelta(minutes=row.resolution_target_minutes, seconds=paused),
                    calendar,
                ),
                stopped_at=row.resolved_at,
                seconds=max(0, business_seconds(row.resolution_started_at, row.resolved_at, calendar) - paused),
                user_id=None,
            )
        )
    for event in reopenings:
        facts.append(
            _fact(
                row,
                ClockKind.REOPEN,
                started_at=event.created_at,
                due_at=None,
                stopped_at=event.created_at,
                seconds=0,
                user_id=None,
            )
        )
    for call in calls:
        facts.append(
            _fact(
                row,
                ClockKind.CALLBACK if call.status == CallbackStatus.REACHED else ClockKind.CALLBACK_FAILED,
                started_at=call.created_at,
                due_at=call.due_at,
                stopped_at=call.closed_at,
                seconds=business_seconds(call.created_at, call.closed_at, calendar),
                user_id=call.staff_id,
                attempts=call.tried or 0,
            )
        )
    return facts


def _backfill_feedback(db: Session, calendar: Calendar) -> None:
    """Feedback answered before the first response was kept: its (latest) response."""
    answered = db.execute(
        select(Feedback.id, Feedback.created_at, Feedback.responded_at).where(
            Feedback.first_response_at.is_(None), Feedback.responded_at.is_not(None)
        )
    ).all()
    changes = [
        {
            "id": feedback_id,
            "first_response_at": responded_at,
            "first_response_business_seconds": business_seconds(created_at, responded_at, calendar),
        }
        for feedback_id, created_at, responded_at in answered
        if responded_at is not None
    ]
    for start in range(0, len(changes), BATCH_SIZE):
        db.execute(update(Feedback), changes[start : start + BATCH_SIZE])
