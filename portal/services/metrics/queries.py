"""The metrics' queries (issue #18): every figure of the pages, the email and the public
page, read from the facts (`ClockStop`, written where a clock stops) and the rows.

How the figures are counted (the pages say the first rule):
- A clock counts toward the department the request was in when it stopped: the one that
  answered it. Requests not answered yet (received, backlog, promises still running)
  count toward their current department; ratings toward the rated request's department.
- Times are business seconds on the promise's arithmetic; median and p90 are `stats`'s.
- Broken promises of a period: the clocks that stopped late in it, and those that came
  due in it and still ran at its end (stopped later, or running still).
- Feedback carries no promise: its first-response figures have no on-time share.
- The backlog's ages are calendar time since the request arrived.

Every function reads a bounded number of statements, whatever the number of requests:
the figures of several periods (the current and previous one, the 12 weeks of the trend)
come from the same statements over the periods' span, split here by period.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, literal, select
from sqlalchemy.orm import Session

from portal import labels
from portal.catalogs import gettext as _
from portal.models import (
    ACTIVE_STATUSES,
    Callback,
    ClockKind,
    ClockStop,
    Department,
    DepartmentMember,
    Feedback,
    FeedbackKind,
    FeedbackStatus,
    FeedbackTag,
    Request,
    Role,
    SatisfactionRating,
    School,
    User,
)
from portal.models.feedback import feedback_tagging
from portal.services.calendar import district_calendar
from portal.services.feedback import sentiment
from portal.services.metrics import stats
from portal.services.metrics.types import (
    AgeBucket,
    Backlog,
    CallbackFigures,
    Comment,
    Count,
    Dashboard,
    FeedbackFigures,
    Figures,
    MetricsScope,
    Period,
    PublicSummary,
    SatisfactionFigures,
    StaffFigures,
    TimeFigures,
    WeekPoint,
)

Window = tuple[datetime, datetime]  # UTC instants, start included, end excluded
TREND_WEEKS = 12
MAX_COMMENTS = 20
PUBLIC_DAYS = 30
SCHOOL_YEAR_STARTS = (7, 1)  # 1 July
SENTIMENTS = ("positive", "neutral", "negative", "unscored")
# The backlog's age buckets: (upper bound, label); the last has none.
AGE_LIMITS = (timedelta(days=1), timedelta(days=3), timedelta(days=7), timedelta(days=28))


# --- who sees what ------------------------------------------------------------


def _led_departments(db: Session, user: User) -> list[int]:
    statement = select(DepartmentMember.department_id).where(
        DepartmentMember.user_id == user.id, DepartmentMember.is_supervisor.is_(True)
    )
    return sorted(db.scalars(statement))


def metrics_scope_for(
    db: Session, user: User, *, department_id: int | None = None, school_id: int | None = None
) -> MetricsScope | None:
    """What `user` may see: None for families and for staff who lead no department (and
    for a lead asking for another department); every department for administrators."""
    if not user.is_active or not user.is_staff:
        return None
    if user.role is Role.ADMIN:
        if department_id is not None and db.get(Department, department_id) is None:
            return None
        ids = None if department_id is None else (department_id,)
        return MetricsScope(department_ids=ids, school_id=school_id, include_staff=True)
    led = _led_departments(db, user)
    if not led:
        return None
    if department_id is not None:
        return MetricsScope((department_id,), include_staff=True) if department_id in led else None
    return MetricsScope(tuple(led), include_staff=True)


def departments_for_metrics(db: Session, user: User) -> list[tuple[int, str]]:
    """The departments a viewer may choose: all for administrators, their own for leads."""
    if not user.is_active or not user.is_staff:
        return []
    statement = select(Department.id, Department.name).order_by(Department.name)
    if user.role is not Role.ADMIN:
        led = select(DepartmentMember.department_id).where(
            DepartmentMember.user_id == user.id, DepartmentMember.is_supervisor.is_(True)
        )
        statement = statement.where(Department.id.in_(led))
    return [(department_id, name) for department_id, name in db.execute(statement)]


def named_period(name: str, *, today: date) -> Period:
    """ "week": Monday to today, beside the same days a week earlier; "30days": the last 30
    days, beside the 30 before; "year": the school year so far (from the latest 1 July),
    beside the same days of the school year before."""
    if name == "week":
        return Period(today - timedelta(days=today.weekday()), today, compared_with="week")
    if name == "30days":
        return Period(today - timedelta(days=29), today)
    if name == "year":
        month, day = SCHOOL_YEAR_STARTS
        start = date(today.year, month, day)
        if start > today:
            start = date(today.year - 1, month, day)
        return Period(start, today, compared_with="year")
    raise ValueError(f"unknown period {name!r}")


# --- periods as instants ------------------------------------------------------


def district_zone(db: Session) -> ZoneInfo:
    return ZoneInfo(district_calendar.current_time_zone(db))


def window_of(period: Period, zone: ZoneInfo) -> Window:
    """A period's district-local days as UTC instants: its first midnight to the one after it."""
    start = datetime.combine(period.start, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(period.end + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


class _Windows:
    """Periods' windows (not overlapping), each the index of its figures."""

    def __init__(self, windows: Sequence[Window]) -> None:
        self.windows = list(windows)
        self.low = min(start for start, _end in windows)
        self.high = max(end for _start, end in windows)

    def __len__(self) -> int:
        return len(self.windows)

    def within(self, column: Any) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
        return column >= self.low, column < self.high

    def index_of(self, column: Any) -> Any:
        """SQL: the index of the window `column` falls in, NULL for none."""
        return case(
            *((and_(column >= start, column < end), index) for index, (start, end) in enumerate(self.windows)),
            else_=None,
        )


def _scoped(scope: MetricsScope, department: Any, school: Any) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if scope.department_ids is not None:
        conditions.append(department.in_(scope.department_ids))
    if scope.school_id is not None:
        conditions.append(school == scope.school_id)
    return conditions


def _fact_scope(scope: MetricsScope) -> list[ColumnElement[bool]]:
    return _scoped(scope, ClockStop.department_id, ClockStop.school_id)


def _request_scope(scope: MetricsScope) -> list[ColumnElement[bool]]:
    return _scoped(scope, Request.department_id, Request.school_id)


def _feedback_scope(scope: MetricsScope) -> list[ColumnElement[bool]]:
    return _scoped(scope, Feedback.department_id, Feedback.school_id)


def _rows(db: Session, statement: Any) -> list[Any]:
    """The rows of a statement over SQL expressions (CASE, window functions): typed Any."""
    return list(db.execute(statement))


def _one(condition: ColumnElement[bool]) -> Any:
    """SQL: 1 where `condition` holds, else 0 (to sum; PostgreSQL does not sum booleans)."""
    return case((condition, 1), else_=0)


def _counts(
    db: Session,
    column: Any,
    conditions: Sequence[ColumnElement[bool]],
    windows: _Windows,
    *joins: Any,
    after_window: Any = None,
) -> list[int]:
    """How many rows have `column` in each window (and, with `after_window`, that column
    at or after the window's end too): one statement, the rows counted by the database."""
    sums = []
    for start, end in windows.windows:
        inside = and_(column >= start, column < end)
        if after_window is not None:
            inside = and_(inside, after_window >= end)
        sums.append(func.coalesce(func.sum(_one(inside)), 0))
    statement = select(*sums)
    for target, on in joins:
        statement = statement.join(target, on)
    row = db.execute(statement.where(*windows.within(column), *conditions)).one()
    return [int(value) for value in row]


@dataclass(frozen=True)
class _Ranked:
    count: int
    on_time: int
    median: int | None
    p90: int | None


def _rank_of(count: Any, numerator: int, denominator: int) -> Any:
    """SQL: the nearest rank ceil(numerator / denominator * count), in integers."""
    return (count * numerator + denominator - 1) // denominator


def _ranked(
    db: Session, key: Any, seconds: Any, on_time: Any, conditions: Sequence[ColumnElement[bool]]
) -> dict[Any, _Ranked]:
    """Per value of `key`: how many rows, how many on time, and the median and 90th
    percentile of `seconds` by `stats`'s nearest rank. The database ranks the values (window
    functions, the same SQL on SQLite and PostgreSQL): one statement, a row per key."""
    facts = select(key.label("key"), seconds.label("seconds"), on_time.label("on_time")).where(*conditions).subquery()
    ranked = (
        select(
            facts.c.key,
            facts.c.seconds,
            facts.c.on_time,
            func.row_number().over(partition_by=facts.c.key, order_by=facts.c.seconds).label("rank"),
            func.count().over(partition_by=facts.c.key).label("count"),
        )
        .where(facts.c.key.is_not(None))
        .subquery()
    )
    summary = select(
        ranked.c.key,
        ranked.c.count,
        func.sum(ranked.c.on_time),
        func.max(case((ranked.c.rank == _rank_of(ranked.c.count, *stats.MEDIAN), ranked.c.seconds))),
        func.max(case((ranked.c.rank == _rank_of(ranked.c.count, *stats.P90), ranked.c.seconds))),
    ).group_by(ranked.c.key, ranked.c.count)
    return {
        found: _Ranked(
            int(count), int(ok or 0), None if median is None else int(median), None if p90 is None else int(p90)
        )
        for found, count, ok, median, p90 in _rows(db, summary)
    }


# --- the clocks ---------------------------------------------------------------

# Where a clock still running keeps its due time on the request.
_RUNNING: dict[ClockKind, tuple[Any, tuple[ColumnElement[bool], ...]]] = {
    ClockKind.FIRST_REPLY: (Request.first_reply_due_at, (Request.first_replied_at.is_(None),)),
    ClockKind.NEXT_REPLY: (Request.next_reply_due_at, ()),
    ClockKind.RESOLUTION: (Request.resolution_due_at, (Request.resolution_paused_at.is_(None),)),
    ClockKind.CALLBACK: (Request.callback_due_at, ()),
}
_NOTHING = _Ranked(0, 0, None, None)


def _time_figures(ranked: _Ranked, broken: int, *, promised: bool = True) -> TimeFigures:
    return TimeFigures(
        count=ranked.count,
        median_seconds=ranked.median,
        p90_seconds=ranked.p90,
        on_time=ranked.on_time if promised else 0,
        on_time_percent=stats.percent(ranked.on_time, ranked.count) if promised else None,
        broken=broken,
    )


def clock_figures(
    db: Session, scope: MetricsScope, kind: ClockKind, windows: _Windows, *, now: datetime
) -> list[TimeFigures]:
    """One clock's figures in each window: three statements."""
    ranked = _ranked(
        db,
        windows.index_of(ClockStop.stopped_at),
        ClockStop.business_seconds,
        _one(ClockStop.on_time.is_(True)),
        [ClockStop.kind == kind, *windows.within(ClockStop.stopped_at), *_fact_scope(scope)],
    )
    # Came due in a window, stopped after its end.
    late = _counts(
        db,
        ClockStop.due_at,
        [ClockStop.kind == kind, ClockStop.stopped_at > ClockStop.due_at, *_fact_scope(scope)],
        windows,
        after_window=ClockStop.stopped_at,
    )
    # Came due in a window, and still running.
    due, running = _RUNNING[kind]
    still = _counts(
        db, due, [Request.status.in_(ACTIVE_STATUSES), due < now, *running, *_request_scope(scope)], windows
    )
    figures = []
    for index in range(len(windows)):
        stopped = ranked.get(index, _NOTHING)
        figures.append(_time_figures(stopped, stopped.count - stopped.on_time + late[index] + still[index]))
    return figures


def callback_figures(db: Session, scope: MetricsScope, windows: _Windows) -> list[CallbackFigures]:
    """Call-backs asked, kept on time or late, attempts per ended call: two statements."""
    asked = _counts(
        db,
        Callback.created_at,
        _request_scope(scope),
        windows,
        (Request, Request.id == Callback.request_id),
    )
    calls = (
        select(
            windows.index_of(ClockStop.stopped_at).label("window"),
            ClockStop.kind,
            ClockStop.on_time,
            ClockStop.attempts,
        )
        .where(
            ClockStop.kind.in_((ClockKind.CALLBACK, ClockKind.CALLBACK_FAILED)),
            *windows.within(ClockStop.stopped_at),
            *_fact_scope(scope),
        )
        .subquery()
    )
    kept = calls.c.kind == ClockKind.CALLBACK
    statement = select(
        calls.c.window,
        func.sum(_one(and_(kept, calls.c.on_time.is_(True)))),
        func.sum(_one(and_(kept, calls.c.on_time.is_(False)))),
        func.count(),
        func.sum(func.coalesce(calls.c.attempts, 0)),
    ).group_by(calls.c.window)
    ended: dict[Any, tuple[int, int, int, int]] = {
        index: (int(on_time), int(late), int(count), int(attempts))
        for index, on_time, late, count, attempts in _rows(db, statement)
    }
    figures = []
    for index in range(len(windows)):
        on_time, late, count, attempts = ended.get(index, (0, 0, 0, 0))
        figures.append(
            CallbackFigures(
                asked=asked[index],
                kept_on_time=on_time,
                kept_late=late,
                on_time_percent=stats.percent(on_time, on_time + late),
                attempts_per_call=stats.mean(attempts, count),
            )
        )
    return figures


# --- satisfaction ---------------------------------------------------------------


@dataclass(frozen=True)
class _Ratings:
    count: int = 0
    total: int = 0
    four_or_five: int = 0

    @property
    def mean(self) -> float | None:
        return stats.mean(self.total, self.count)


def _ratings(db: Session, scope: MetricsScope, windows: _Windows) -> list[_Ratings]:
    """The ratings given in each window, summed by the database: one statement."""
    given = (
        select(windows.index_of(SatisfactionRating.created_at).label("window"), SatisfactionRating.rating)
        .join(Request, Request.id == SatisfactionRating.request_id)
        .where(*windows.within(SatisfactionRating.created_at), *_request_scope(scope))
        .subquery()
    )
    statement = select(
        given.c.window, func.count(), func.sum(given.c.rating), func.sum(_one(given.c.rating >= 4))
    ).group_by(given.c.window)
    found = {index: _Ratings(int(count), int(total), int(high)) for index, count, total, high in _rows(db, statement)}
    return [found.get(index, _Ratings()) for index in range(len(windows))]


def _comments(db: Session, scope: MetricsScope, window: Window) -> tuple[Comment, ...]:
    start, end = window
    statement = (
        select(
            SatisfactionRating.created_at,
            SatisfactionRating.rating,
            SatisfactionRating.comment,
            SatisfactionRating.request_id,
            Department.name,
        )
        .join(Request, Request.id == SatisfactionRating.request_id)
        .join(Department, Department.id == Request.department_id)
        .where(
            SatisfactionRating.created_at >= start,
            SatisfactionRating.created_at < end,
            SatisfactionRating.comment != "",
            *_request_scope(scope),
        )
        .order_by(SatisfactionRating.created_at.desc(), SatisfactionRating.id.desc())
        .limit(MAX_COMMENTS)
    )
    return tuple(Comment(*row) for row in db.execute(statement))


def satisfaction_figures(
    db: Session, scope: MetricsScope, windows: _Windows, resolved: Sequence[int]
) -> list[SatisfactionFigures]:
    figures = []
    for index, ratings in enumerate(_ratings(db, scope, windows)):
        figures.append(
            SatisfactionFigures(
                resolved=resolved[index],
                responses=ratings.count,
                # Ratings given in the period against resolutions in it (a rating may come
                # a period later): at most 100.
                response_rate_percent=stats.percent(ratings.count, resolved[index]),
                mean=ratings.mean,
                percent_4_or_5=stats.percent(ratings.four_or_five, ratings.count),
                comments=_comments(db, scope, windows.windows[index]),
            )
        )
    return figures


# --- feedback -----------------------------------------------------------------


def _counts_of(counter: Counter[str], keys_and_labels: Sequence[tuple[str, str]]) -> tuple[Count, ...]:
    return tuple(Count(key, label, counter[key]) for key, label in keys_and_labels)


def _by_count(counter: Counter[str], label_of_key: dict[str, str]) -> tuple[Count, ...]:
    found = [Count(key, label_of_key.get(key, key), count) for key, count in counter.items() if count]
    return tuple(sorted(found, key=lambda item: (-item.count, item.label.casefold())))


def _sentiment_label() -> Any:
    """SQL: `sentiment.Sentiment.label` of the stored score, on the same thresholds."""
    return case(
        (Feedback.sentiment.is_(None), "unscored"),
        (Feedback.sentiment >= sentiment.POSITIVE_FROM, "positive"),
        (Feedback.sentiment <= sentiment.NEGATIVE_BELOW, "negative"),
        else_="neutral",
    )


def feedback_figures(db: Session, scope: MetricsScope, windows: _Windows) -> list[FeedbackFigures]:
    """Feedback received by kind, topic (tag), school and sentiment; first response;
    open and closed: at most five statements, each grouped by the database."""
    size = len(windows)
    kinds: list[Counter[str]] = [Counter() for _ in range(size)]
    schools: list[Counter[str]] = [Counter() for _ in range(size)]
    sentiments: list[Counter[str]] = [Counter() for _ in range(size)]
    topics: list[Counter[str]] = [Counter() for _ in range(size)]
    received, closed = [0] * size, [0] * size
    # Grouped over a subquery's columns: PostgreSQL groups by columns, not by expressions
    # with parameters.
    window = windows.index_of(Feedback.created_at).label("window")
    sent = (
        select(window, Feedback.kind, Feedback.school_id, Feedback.status, _sentiment_label().label("mood"))
        .where(*windows.within(Feedback.created_at), *_feedback_scope(scope))
        .subquery()
    )
    columns = (sent.c.window, sent.c.kind, sent.c.school_id, sent.c.status, sent.c.mood)
    groups = select(*columns, func.count()).group_by(*columns)
    for index, kind, school_id, status, label, count in _rows(db, groups):
        if index is None:
            continue
        received[index] += count
        closed[index] += count if status == FeedbackStatus.CLOSED else 0
        kinds[index][FeedbackKind(kind).value] += count
        schools[index][str(school_id) if school_id is not None else "none"] += count
        sentiments[index][label] += count
    tagged_rows = (
        select(window, Feedback.id, FeedbackTag.name)
        .join(feedback_tagging, feedback_tagging.c.feedback_id == Feedback.id)
        .join(FeedbackTag, FeedbackTag.id == feedback_tagging.c.tag_id)
        .where(*windows.within(Feedback.created_at), *_feedback_scope(scope))
        .subquery()
    )
    tags = select(tagged_rows.c.window, tagged_rows.c.name, func.count()).group_by(
        tagged_rows.c.window, tagged_rows.c.name
    )
    for index, name, count in _rows(db, tags):
        if index is not None:
            topics[index][name] += count
    tagged = select(tagged_rows.c.window, func.count(func.distinct(tagged_rows.c.id))).group_by(tagged_rows.c.window)
    with_topic = dict.fromkeys(range(size), 0)
    for index, count in _rows(db, tagged):
        if index is not None:
            with_topic[index] = count
    school_ids = {int(key) for counter in schools for key in counter if key != "none"}
    school_names = {"none": _("No school")}
    if school_ids:
        found = db.execute(select(School.id, School.name).where(School.id.in_(school_ids)))
        school_names.update((str(school_id), name) for school_id, name in found)
    kind_labels = [(kind.value, str(labels.label(kind))) for kind in FeedbackKind]
    sentiment_labels = [(name, str(labels.label(labels.SentimentLabel(name)))) for name in SENTIMENTS]
    # Feedback carries no promise: no on-time share for its first response.
    responses = _ranked(
        db,
        windows.index_of(Feedback.first_response_at),
        Feedback.first_response_business_seconds,
        literal(0),
        [
            *windows.within(Feedback.first_response_at),
            Feedback.first_response_business_seconds.is_not(None),
            *_feedback_scope(scope),
        ],
    )
    figures = []
    for i in range(size):
        # A topic is a tag: feedback with several counts under each, with none under "none".
        topics[i]["none"] = received[i] - with_topic[i]
        figures.append(
            FeedbackFigures(
                received=received[i],
                by_kind=_counts_of(kinds[i], kind_labels),
                by_topic=_by_count(topics[i], {"none": _("No topic")}),
                by_school=_by_count(schools[i], school_names),
                by_sentiment=_counts_of(sentiments[i], sentiment_labels),
                first_response=_time_figures(responses.get(i, _NOTHING), 0, promised=False),
                open=received[i] - closed[i],
                closed=closed[i],
            )
        )
    return figures


# --- the headline figures of several periods ---------------------------------------


def figures_of(db: Session, scope: MetricsScope, windows: _Windows, *, now: datetime) -> list[Figures]:
    """Every headline figure of each window: the same statements for all of them."""
    received = _counts(db, Request.created_at, _request_scope(scope), windows)
    reopened = _counts(db, ClockStop.stopped_at, [ClockStop.kind == ClockKind.REOPEN, *_fact_scope(scope)], windows)
    first_reply = clock_figures(db, scope, ClockKind.FIRST_REPLY, windows, now=now)
    next_reply = clock_figures(db, scope, ClockKind.NEXT_REPLY, windows, now=now)
    resolution = clock_figures(db, scope, ClockKind.RESOLUTION, windows, now=now)
    resolved = [figures.count for figures in resolution]
    callbacks = callback_figures(db, scope, windows)
    satisfaction = satisfaction_figures(db, scope, windows, resolved)
    feedback = feedback_figures(db, scope, windows)
    return [
        Figures(
            received=received[i],
            resolved=resolved[i],
            reopened=reopened[i],
            first_reply=first_reply[i],
            next_reply=next_reply[i],
            resolution=resolution[i],
            callbacks=callbacks[i],
            satisfaction=satisfaction[i],
            feedback=feedback[i],
        )
        for i in range(len(windows))
    ]


def _age_labels() -> tuple[str, ...]:
    return (
        _("under 1 day"),
        _("1–3 days"),
        _("3–7 days"),
        _("1–4 weeks"),
        _("over 4 weeks"),
    )


def backlog_of(db: Session, scope: MetricsScope, *, now: datetime) -> Backlog:
    """The requests open now by how long ago they arrived: one statement."""
    bounds = [now - limit for limit in AGE_LIMITS]  # newest first
    edges: list[tuple[datetime | None, datetime | None]] = [(bounds[0], None)]
    edges += [(bounds[i + 1], bounds[i]) for i in range(len(bounds) - 1)]
    edges.append((None, bounds[-1]))
    sums = []
    for after, before in edges:
        conditions = []
        if after is not None:
            conditions.append(Request.created_at > after)
        if before is not None:
            conditions.append(Request.created_at <= before)
        sums.append(func.coalesce(func.sum(case((and_(*conditions), 1), else_=0)), 0))
    row = db.execute(select(*sums).where(Request.status.in_(ACTIVE_STATUSES), *_request_scope(scope))).one()
    counts = [int(value) for value in row]
    ages = tuple(AgeBucket(label, count) for label, count in zip(_age_labels(), counts, strict=True))
    return Backlog(open=sum(counts), ages=ages)


def staff_figures(db: Session, scope: MetricsScope, window: Window) -> tuple[StaffFigures, ...]:
    """Per staff member of the scope's departments: open requests assigned, replies and
    first replies in the window, first-reply median: four statements."""
    members = select(User.id, User.display_name).join(DepartmentMember, DepartmentMember.user_id == User.id)
    if scope.department_ids is not None:
        members = members.where(DepartmentMember.department_id.in_(scope.department_ids))
    people: dict[int, str] = {user_id: name for user_id, name in db.execute(members.distinct())}
    if not people:
        return ()
    assigned: dict[int | None, int] = {
        user_id: count
        for user_id, count in db.execute(
            select(Request.assignee_id, func.count())
            .where(Request.status.in_(ACTIVE_STATUSES), Request.assignee_id.in_(people), *_request_scope(scope))
            .group_by(Request.assignee_id)
        )
    }
    start, end = window
    in_window = (ClockStop.stopped_at >= start, ClockStop.stopped_at < end, *_fact_scope(scope))
    replies: dict[int | None, int] = {
        user_id: count
        for user_id, count in db.execute(
            select(ClockStop.user_id, func.count())
            .where(ClockStop.kind == ClockKind.REPLY, ClockStop.user_id.in_(people), *in_window)
            .group_by(ClockStop.user_id)
        )
    }
    firsts = _ranked(
        db,
        ClockStop.user_id,
        ClockStop.business_seconds,
        literal(0),
        [ClockStop.kind == ClockKind.FIRST_REPLY, ClockStop.user_id.in_(people), *in_window],
    )
    figures = []
    for user_id, name in people.items():
        first = firsts.get(user_id, _NOTHING)
        figures.append(
            StaffFigures(
                user_id=user_id,
                name=name,
                open_assigned=int(assigned.get(user_id, 0)),
                replies=int(replies.get(user_id, 0)),
                first_replies=first.count,
                first_reply_median_seconds=first.median,
            )
        )
    return tuple(sorted(figures, key=lambda item: (item.name.casefold(), item.user_id)))


def trend_of(
    db: Session, scope: MetricsScope, last_day: date, zone: ZoneInfo, *, now: datetime
) -> tuple[WeekPoint, ...]:
    """The 12 weeks (Monday to Sunday) up to the one holding `last_day`, oldest first,
    with the same query functions as the periods' figures."""
    last_monday = last_day - timedelta(days=last_day.weekday())
    mondays = [last_monday - timedelta(weeks=TREND_WEEKS - 1 - i) for i in range(TREND_WEEKS)]
    windows = _Windows([window_of(Period(monday, monday + timedelta(days=6)), zone) for monday in mondays])
    received = _counts(db, Request.created_at, _request_scope(scope), windows)
    first_reply = clock_figures(db, scope, ClockKind.FIRST_REPLY, windows, now=now)
    ratings = _ratings(db, scope, windows)
    feedback = _counts(db, Feedback.created_at, _feedback_scope(scope), windows)
    return tuple(
        WeekPoint(
            week_start=mondays[i],
            received=received[i],
            first_reply_median_seconds=first_reply[i].median_seconds,
            first_reply_on_time_percent=first_reply[i].on_time_percent,
            satisfaction_mean=ratings[i].mean,
            feedback_received=feedback[i],
        )
        for i in range(TREND_WEEKS)
    )


def dashboard(db: Session, scope: MetricsScope, period: Period, *, now: datetime) -> Dashboard:
    """The metrics page: the period and the equal one before it, the backlog now, the
    12-week trend and (for leads and administrators) the staff's figures."""
    zone = district_zone(db)
    previous = period.previous()
    windows = _Windows([window_of(period, zone), window_of(previous, zone)])
    current_figures, previous_figures = figures_of(db, scope, windows, now=now)
    return Dashboard(
        scope=scope,
        period=period,
        previous_period=previous,
        current=current_figures,
        previous=previous_figures,
        backlog=backlog_of(db, scope, now=now),
        trend=trend_of(db, scope, period.end, zone, now=now),
        staff=staff_figures(db, scope, windows.windows[0]) if scope.include_staff else (),
        figures_as_of=now,
    )


def public_summary(db: Session, department_id: int, *, now: datetime) -> PublicSummary | None:
    """The public "how we are doing" figures of the last 30 days, for a public department
    whose figures an administrator made public; None otherwise."""
    department = db.get(Department, department_id)
    if department is None or not department.is_public or not department.metrics_public:
        return None
    zone = district_zone(db)
    period = named_period("30days", today=now.astimezone(zone).date())
    scope = MetricsScope((department_id,))
    (first_reply,) = clock_figures(db, scope, ClockKind.FIRST_REPLY, _Windows([window_of(period, zone)]), now=now)
    return PublicSummary(
        department_id=department.id,
        department_name=department.name,
        first_reply_median_seconds=first_reply.median_seconds,
        first_reply_on_time_percent=first_reply.on_time_percent,
        answered=first_reply.count,
    )
