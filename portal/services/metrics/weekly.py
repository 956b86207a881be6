"""The weekly metrics summary: every Monday morning, district time, each department
lead and administrator who asked for it is emailed last week's headline figures, in
their language, beside the week before.

The summary for the week ending on a Sunday is due from the next Monday at
`SEND_AT` on the district's clock. A worker that was stopped over Monday sends it
when it comes back, that same week; a summary is never sent twice: the week's
`WeeklySummaryRun` row, unique on the week, is the claim (the second of two workers
racing for it fails on the unique key and sends nothing)."""

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Department, Role, User, WeeklySummaryRun
from portal.services import notifications
from portal.services.calendar import district_calendar
from portal.services.metrics import Dashboard, Period, dashboard, metrics_scope_for
from portal.services.translated import translated

SEND_AT = time(7, 0)
TEMPLATE = "weekly_summary"


def latest_due_monday(now: datetime, zone: ZoneInfo) -> date:
    """The Monday whose summary is the latest one due at `now`: this week's once its
    Monday morning has come on the district's clock, else the week before's."""
    local = now.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    if local.replace(tzinfo=None) < datetime.combine(monday, SEND_AT):
        monday -= timedelta(days=7)
    return monday


def week_reported(monday: date) -> Period:
    """The Monday-to-Sunday week a summary sent on `monday` reports."""
    return Period(monday - timedelta(days=7), monday - timedelta(days=1))


def payload_of(figures: Dashboard, *, department_names: list[str]) -> dict[str, Any]:
    """The figures an email shows, as JSON values: the outbox renders the email later,
    in the recipient's language."""
    current, previous = figures.current, figures.previous
    return {
        "period_start": figures.period.start.isoformat(),
        "period_end": figures.period.end.isoformat(),
        "departments": department_names,
        "received": current.received,
        "received_before": previous.received,
        "resolved": current.resolved,
        "resolved_before": previous.resolved,
        "backlog": figures.backlog.open,
        "first_reply_median_seconds": current.first_reply.median_seconds,
        "first_reply_median_seconds_before": previous.first_reply.median_seconds,
        "first_reply_on_time_percent": current.first_reply.on_time_percent,
        "first_reply_on_time_percent_before": previous.first_reply.on_time_percent,
        "broken": current.first_reply.broken + current.next_reply.broken + current.resolution.broken,
        "satisfaction_mean": current.satisfaction.mean,
        "satisfaction_responses": current.satisfaction.responses,
        "feedback_received": current.feedback.received,
    }


def recipients(db: Session) -> list[User]:
    """Active staff and administrators who asked for the summary (a lead who no longer
    leads a department is skipped when their figures are gathered)."""
    return list(
        db.scalars(
            select(User)
            .where(
                User.weekly_summary_email.is_(True),
                User.is_active.is_(True),
                User.role.in_((Role.STAFF, Role.ADMIN)),
            )
            .order_by(User.id)
        )
    )


def queue_weekly_summaries(db: Session, *, now: datetime) -> int:
    """Queue this week's summaries if they are due and nobody queued them; the number
    queued. Flushes the week's claim first: a unique-key error means another worker
    has it (the caller rolls back)."""
    monday = latest_due_monday(now, ZoneInfo(district_calendar.current_time_zone(db)))
    if db.scalar(select(WeeklySummaryRun.id).where(WeeklySummaryRun.week_start == monday)) is not None:
        return 0
    run = WeeklySummaryRun(week_start=monday, queued_at=now)
    db.add(run)
    db.flush()
    period = week_reported(monday)
    # Leads of the same departments get the same figures: gathered once per scope.
    figures: dict[tuple[tuple[int, ...] | None, bool], Dashboard] = {}
    for user in recipients(db):
        scope = metrics_scope_for(db, user)
        if scope is None:
            continue
        key = (scope.department_ids, scope.include_staff)
        if key not in figures:
            figures[key] = dashboard(db, scope, period, now=now)
        names = _department_names(db, scope.department_ids, user.language)
        notifications.enqueue_email(db, user, TEMPLATE, payload_of(figures[key], department_names=names), now=now)
        run.recipients += 1
    return run.recipients


def _department_names(db: Session, department_ids: tuple[int, ...] | None, language: str) -> list[str]:
    """The departments' names in the reader's language (none: every department)."""
    if department_ids is None:
        return []
    shown = db.scalars(select(Department).where(Department.id.in_(department_ids)))
    return sorted(translated(department, "name", language) for department in shown)


def set_subscription(db: Session, user: User, wanted: bool) -> bool:
    """Turn the Monday summary on or off for `user`; whether it changed. Only someone
    who may see metrics can ask for it."""
    if wanted and metrics_scope_for(db, user) is None:
        return False
    changed = user.weekly_summary_email != wanted
    user.weekly_summary_email = wanted
    return changed
