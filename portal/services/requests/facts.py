"""The metrics' facts (issue #18): one `ClockStop` row written where a clock stops.

Every stop keeps the department the request is in at that moment (the department that
answered it), its school, who stopped it, and the business seconds it ran on the
promise's own arithmetic (`promises.business_seconds`), so the figures match what
families were told. `reply` and `reopen` are events (no due time) the figures count.
"""

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from portal.models import Callback, ClockKind, ClockStop, Request
from portal.services.requests.business_time import Calendar, add_business_time
from portal.services.requests.promises import business_seconds


def record(
    db: Session,
    request: Request,
    kind: ClockKind,
    *,
    started_at: datetime,
    due_at: datetime | None,
    now: datetime,
    seconds: int,
    user_id: int | None,
    attempts: int | None = None,
) -> ClockStop:
    fact = ClockStop(
        request_id=request.id,
        kind=kind,
        department_id=request.department_id,
        school_id=request.school_id,
        user_id=user_id,
        started_at=started_at,
        due_at=due_at,
        stopped_at=now,
        business_seconds=seconds,
        on_time=due_at is None or now <= due_at,
        attempts=attempts,
    )
    db.add(fact)
    return fact


def staff_replied(db: Session, request: Request, user_id: int | None, *, now: datetime, calendar: Calendar) -> None:
    """A public staff reply: call before the reply clocks are cleared. It stops the first
    reply (or the next reply, when one is due) and counts as a reply."""
    stopped: tuple[ClockKind, datetime, datetime] | None = None
    if request.first_replied_at is None and request.first_reply_due_at is not None:
        stopped = (ClockKind.FIRST_REPLY, request.resolution_started_at, request.first_reply_due_at)
    elif request.next_reply_started_at is not None and request.next_reply_due_at is not None:
        stopped = (ClockKind.NEXT_REPLY, request.next_reply_started_at, request.next_reply_due_at)
    if stopped is not None:
        kind, started_at, due_at = stopped
        seconds = business_seconds(started_at, now, calendar)
        record(db, request, kind, started_at=started_at, due_at=due_at, now=now, seconds=seconds, user_id=user_id)
    record(db, request, ClockKind.REPLY, started_at=now, due_at=None, now=now, seconds=0, user_id=user_id)


def resolution_seconds(request: Request, now: datetime, calendar: Calendar) -> tuple[int, datetime]:
    """The resolution clock's business seconds without its pauses (a pause still running
    included), and its due time: the target plus the pauses, as the promise adds them."""
    paused = request.resolution_paused_seconds
    if request.resolution_paused_at is not None:
        paused += business_seconds(request.resolution_paused_at, now, calendar)
    ran = business_seconds(request.resolution_started_at, now, calendar) - paused
    due = add_business_time(
        request.resolution_started_at,
        timedelta(minutes=request.resolution_target_minutes, seconds=paused),
        calendar,
    )
    return max(ran, 0), due


def resolved(db: Session, request: Request, user_id: int | None, *, now: datetime, calendar: Calendar) -> None:
    """The request is resolved: call before the clocks are cleared."""
    seconds, due = resolution_seconds(request, now, calendar)
    record(
        db,
        request,
        ClockKind.RESOLUTION,
        started_at=request.resolution_started_at,
        due_at=due,
        now=now,
        seconds=seconds,
        user_id=user_id,
    )


def reopened(db: Session, request: Request, user_id: int | None, *, now: datetime) -> None:
    record(db, request, ClockKind.REOPEN, started_at=now, due_at=None, now=now, seconds=0, user_id=user_id)


def callback_ended(
    db: Session,
    request: Request,
    callback: Callback,
    user_id: int | None,
    *,
    kept: bool,
    attempts: int,
    now: datetime,
    calendar: Calendar,
) -> None:
    """A call-back ended with a call: kept (the family was reached) or not (a wrong number,
    failed tries). One cancelled by the family is no fact."""
    record(
        db,
        request,
        ClockKind.CALLBACK if kept else ClockKind.CALLBACK_FAILED,
        started_at=callback.created_at,
        due_at=callback.due_at,
        now=now,
        seconds=business_seconds(callback.created_at, now, calendar),
        user_id=user_id,
        attempts=attempts,
    )
