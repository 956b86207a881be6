"""The typed results of the metrics query layer (issue #18).

The pages read only these types; `portal.services.metrics` re-exports them with the query
functions. Fields are only ever added, never renamed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta


@dataclass(frozen=True)
class Period:
    """Whole district-local days, both ends included. `compared_with` says what the
    previous period is: the equal span just before ("span", for chosen dates and the last
    30 days), or the same days a week ("week") or a year ("year") earlier, so that this
    week so far (Monday to Wednesday) is set beside last Monday to Wednesday, not beside
    a weekend, and this school year so far beside the last one's same months."""

    start: date
    end: date
    compared_with: str = "span"

    def previous(self) -> Period:
        if self.compared_with == "week":
            week = timedelta(days=7)
            return Period(self.start - week, self.end - week, self.compared_with)
        if self.compared_with == "year":
            return Period(_a_year_before(self.start), _a_year_before(self.end), self.compared_with)
        end = self.start - timedelta(days=1)
        return Period(start=end - timedelta(days=self.days - 1), end=end)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def _a_year_before(day: date) -> date:
    """The same day a year earlier; 29 February's is the 28th."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


@dataclass(frozen=True)
class MetricsScope:
    """What one viewer may see."""

    department_ids: tuple[int, ...] | None  # None = every department (admins)
    school_id: int | None = None  # admins may narrow to one school
    include_staff: bool = False  # per-staff figures (leads of the dept, admins)


@dataclass(frozen=True)
class TimeFigures:
    """One clock kind: first reply, next reply, resolution, call-back, feedback response."""

    count: int  # clocks stopped in the period
    median_seconds: int | None  # business seconds, same arithmetic as the promise
    p90_seconds: int | None
    on_time: int  # stopped by their promised time
    on_time_percent: float | None  # None when count == 0
    broken: int  # stopped late + still running and already past due at period end


@dataclass(frozen=True)
class AgeBucket:
    label: str  # already translated ("under 1 day", "1-3 days", ...)
    count: int


@dataclass(frozen=True)
class CallbackFigures:
    asked: int
    kept_on_time: int
    kept_late: int
    on_time_percent: float | None
    attempts_per_call: float | None  # mean attempts per call-back that ended


@dataclass(frozen=True)
class Comment:
    created_at: datetime
    rating: int
    comment: str
    request_id: int
    department_name: str


@dataclass(frozen=True)
class SatisfactionFigures:
    resolved: int  # resolutions in the period that could be rated
    responses: int
    response_rate_percent: float | None
    mean: float | None
    percent_4_or_5: float | None
    comments: tuple[Comment, ...]  # most recent first, at most 20


@dataclass(frozen=True)
class Count:
    key: str  # a stable key (enum value, id as text, "none")
    label: str  # shown text
    count: int


@dataclass(frozen=True)
class FeedbackFigures:
    received: int
    by_kind: tuple[Count, ...]
    by_topic: tuple[Count, ...]
    by_school: tuple[Count, ...]
    by_sentiment: tuple[Count, ...]
    first_response: TimeFigures
    open: int
    closed: int


@dataclass(frozen=True)
class Figures:
    """Every headline figure of one period."""

    received: int
    resolved: int
    reopened: int
    first_reply: TimeFigures
    next_reply: TimeFigures
    resolution: TimeFigures
    callbacks: CallbackFigures
    satisfaction: SatisfactionFigures
    feedback: FeedbackFigures


@dataclass(frozen=True)
class Backlog:
    """Now, not per period."""

    open: int
    ages: tuple[AgeBucket, ...]


@dataclass(frozen=True)
class WeekPoint:
    """One of the last 12 weeks (Monday start, district time)."""

    week_start: date
    received: int
    first_reply_median_seconds: int | None
    first_reply_on_time_percent: float | None
    satisfaction_mean: float | None
    feedback_received: int


@dataclass(frozen=True)
class StaffFigures:
    user_id: int
    name: str
    open_assigned: int
    replies: int  # staff replies sent in the period
    first_replies: int
    first_reply_median_seconds: int | None


@dataclass(frozen=True)
class Dashboard:
    scope: MetricsScope
    period: Period
    previous_period: Period
    current: Figures
    previous: Figures
    backlog: Backlog
    trend: tuple[WeekPoint, ...]  # 12 points, oldest first
    staff: tuple[StaffFigures, ...]  # empty unless scope.include_staff
    figures_as_of: datetime  # how fresh (now, or the roll-up's time)


@dataclass(frozen=True)
class PublicSummary:
    """The public "how we are doing" page, last 30 days."""

    department_id: int
    department_name: str
    first_reply_median_seconds: int | None
    first_reply_on_time_percent: float | None
    answered: int
