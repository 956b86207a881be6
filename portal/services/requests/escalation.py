"""Escalation: a first or next reply, or a call-back, that became overdue is told to the
department's supervisors (or the administrators), once per clock."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import ACTIVE_STATUSES, Callback, CallbackStatus, DepartmentMember, Request, Role, User
from portal.services import notifications


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
            _notify_supervisors(db, request, clock, getattr(request, due.key), now=now)
            setattr(request, mark.key, now)
            escalated += 1
    late_calls = (
        select(Callback, Request)
        .join(Request, Request.id == Callback.request_id)
        .where(Callback.status == CallbackStatus.OPEN, Callback.due_at <= now, Callback.escalated_at.is_(None))
        .order_by(Callback.due_at)
        .limit(1000)
        .with_for_update(of=Callback, skip_locked=True)
    )
    for callback, request in db.execute(late_calls):
        _notify_supervisors(db, request, "callback", callback.due_at, now=now)
        callback.escalated_at = now
        escalated += 1
    return escalated


def _notify_supervisors(db: Session, request: Request, clock: str, due: datetime | None, *, now: datetime) -> None:
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
