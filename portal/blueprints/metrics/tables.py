"""The tables of the metrics page, each with its chart, read from one `Dashboard`.

One definition serves the page and its CSV downloads, so a download holds exactly the
numbers the page shows. Nothing is measured here: the figures are the query layer's
(services/metrics); this only lays them out, puts the previous period beside the
current one with the difference, and words each value for the page."""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from flask_babel import format_date, format_number
from markupsafe import Markup

from portal import charts
from portal.blueprints import dates, numbers
from portal.catalogs import gettext as _
from portal.catalogs import ngettext
from portal.services.metrics import Count, Dashboard, Figures, TimeFigures, WeekPoint

Value = int | float | str | date | datetime | None


class Kind(StrEnum):
    COUNT = "count"
    SECONDS = "seconds"  # business seconds
    PERCENT = "percent"  # 0 to 100
    RATING = "rating"  # a mean rating out of 5
    MEAN = "mean"  # a mean count (attempts per call-back)
    TEXT = "text"
    DAY = "day"
    MOMENT = "moment"


@dataclass(frozen=True)
class Cell:
    value: Value
    kind: Kind = Kind.TEXT
    change: bool = False  # a difference between two periods, shown with its sign


@dataclass(frozen=True)
class Table:
    key: str  # in the page's ids and the download's address
    caption: str
    columns: tuple[str, ...]  # the first one heads the row headers
    rows: tuple[tuple[Cell, ...], ...]  # each row's first cell is its header
    compare: bool = False  # figure, this period, previous period, change
    chart: Markup = field(default_factory=Markup)


# --- words for the page --------------------------------------------------------

NO_FIGURE = "—"


def shown(cell: Cell) -> str:
    """A cell's value as the page words it: counts and decimals in the reader's
    language, business time in words ("3 business hours"), a dash for no figure."""
    value, kind = cell.value, cell.kind
    if value is None:
        return NO_FIGURE
    if isinstance(value, datetime):
        return dates.when(value)
    if isinstance(value, date):
        return str(format_date(value, "medium"))
    if isinstance(value, str):
        return value
    if cell.change:
        points = round(abs(value)) if kind is Kind.PERCENT else abs(value)
        if points == 0:
            return str(_("no change"))
        sign = "+" if value > 0 else "−"
        if kind is Kind.PERCENT:
            return sign + str(ngettext("%(num)s point", "%(num)s points", points))
        return sign + shown(Cell(points, kind))
    if kind is Kind.SECONDS:
        return dates.business_seconds(round(value))
    if kind is Kind.PERCENT:
        return numbers.percent(value)
    if kind in (Kind.RATING, Kind.MEAN):
        return numbers.rating_mean(value)
    return str(format_number(value))


def _count_text(value: float | None) -> str:
    return NO_FIGURE if value is None else str(format_number(round(value)))


# --- the CSV ---------------------------------------------------------------------

UNITS = {
    Kind.COUNT: "count",
    Kind.SECONDS: "business seconds",
    Kind.PERCENT: "percent",
    Kind.RATING: "mean rating (1-5)",
    Kind.MEAN: "mean",
}


def _raw(cell: Cell) -> Value:
    """A cell as a spreadsheet wants it: the number itself, a date in ISO form."""
    if isinstance(cell.value, float):
        return round(cell.value, 1)
    if isinstance(cell.value, datetime | date):
        return cell.value.isoformat()
    return cell.value


def csv_rows(table: Table, board: Dashboard) -> tuple[list[str], list[list[Value]]]:
    """The header and rows of a table's download: the values unworded, and for a
    comparison the unit of each row and the dates of both periods."""
    if not table.compare:
        return list(table.columns), [[_raw(cell) for cell in row] for row in table.rows]
    current, previous = board.period, board.previous_period
    header = [
        table.columns[0],
        _("Unit"),
        _("%(start)s to %(end)s", start=current.start.isoformat(), end=current.end.isoformat()),
        _("%(start)s to %(end)s", start=previous.start.isoformat(), end=previous.end.isoformat()),
        table.columns[3],
    ]
    rows = [[_raw(row[0]), UNITS.get(row[1].kind, ""), *(_raw(cell) for cell in row[1:])] for row in table.rows]
    return header, rows


# --- the tables ---------------------------------------------------------------------


def _compare(label: str, kind: Kind, now: float | None, before: float | None) -> tuple[Cell, ...]:
    change = None if now is None or before is None else now - before
    return Cell(label), Cell(now, kind), Cell(before, kind), Cell(change, kind, change=True)


def _comparison(key: str, caption: str, rows: Iterable[tuple[Cell, ...]]) -> Table:
    columns = (_("Figure"), _("This period"), _("Previous period"), _("Change"))
    return Table(key, caption, columns, tuple(rows), compare=True)


def _clock(key: str, caption: str, stopped: str, now: TimeFigures, before: TimeFigures) -> Table:
    return _comparison(
        key,
        caption,
        [
            _compare(stopped, Kind.COUNT, now.count, before.count),
            _compare(_("Median"), Kind.SECONDS, now.median_seconds, before.median_seconds),
            _compare(_("90th percentile"), Kind.SECONDS, now.p90_seconds, before.p90_seconds),
            _compare(_("Within the promised time"), Kind.PERCENT, now.on_time_percent, before.on_time_percent),
            _compare(_("Broken promises"), Kind.COUNT, now.broken, before.broken),
        ],
    )


def _counts(
    key: str, caption: str, heading: str, now: Sequence[Count], before: Sequence[Count], description: str
) -> Table:
    """Counts by a key (kind, topic, school, sentiment) in both periods: every key of
    either period, in the current period's order."""
    earlier = {count.key: count for count in before}
    keys = [count.key for count in now] + [count.key for count in before if count.key not in {c.key for c in now}]
    labels = {count.key: count.label for count in (*before, *now)}
    current = {count.key: count.count for count in now}
    rows = tuple(
        _compare(labels[k], Kind.COUNT, current.get(k, 0), earlier[k].count if k in earlier else 0)[:3] for k in keys
    )
    chart = charts.bar_chart(
        [(count.label, count.count) for count in now],
        chart_id=f"chart-{key}",
        title=caption,
        description=description,
        value_text=_count_text,
    )
    return Table(key, caption, (heading, _("This period"), _("Previous period")), rows, chart=chart)


@dataclass(frozen=True)
class Trend:
    key: str
    caption: str
    heading: str
    kind: Kind
    value: Callable[[WeekPoint], float | None]
    style: str  # "columns" or "line"
    value_text: Callable[[float | None], str]


def _trends() -> list[Trend]:
    return [
        Trend(
            "trend-received",
            _("Requests received, by week"),
            _("Received"),
            Kind.COUNT,
            lambda week: week.received,
            "columns",
            _count_text,
        ),
        Trend(
            "trend-first-reply",
            _("Median first reply, by week"),
            _("Median first reply"),
            Kind.SECONDS,
            lambda week: week.first_reply_median_seconds,
            "line",
            dates.business_seconds,
        ),
        Trend(
            "trend-on-time",
            _("First replies within the promised time, by week"),
            _("Within the promised time"),
            Kind.PERCENT,
            lambda week: week.first_reply_on_time_percent,
            "line",
            numbers.percent,
        ),
        Trend(
            "trend-satisfaction",
            _("Mean satisfaction rating, by week"),
            _("Mean rating"),
            Kind.RATING,
            lambda week: week.satisfaction_mean,
            "line",
            numbers.rating_mean,
        ),
        Trend(
            "trend-feedback",
            _("Feedback received, by week"),
            _("Feedback received"),
            Kind.COUNT,
            lambda week: week.feedback_received,
            "columns",
            _count_text,
        ),
    ]


def _trend_table(trend: Trend, weeks: Sequence[WeekPoint]) -> Table:
    labels = [format_date(week.week_start, "MMM d") for week in weeks]
    chart = charts.trend_chart(
        [(label, trend.value(week)) for label, week in zip(labels, weeks, strict=True)],
        chart_id=f"chart-{trend.key}",
        title=trend.caption,
        description=_("One mark per week, the last 12 weeks, oldest first; the numbers are in the table below."),
        value_text=trend.value_text,
        style="line" if trend.style == "line" else "columns",
    )
    rows = tuple((Cell(week.week_start, Kind.DAY), Cell(trend.value(week), trend.kind)) for week in weeks)
    return Table(trend.key, trend.caption, (_("Week of"), trend.heading), rows, chart=chart)


@dataclass(frozen=True)
class Tables:
    """Every table of the page, by section."""

    requests: Table
    backlog: Table
    clocks: tuple[Table, ...]
    callbacks: Table
    satisfaction: Table
    comments: Table
    feedback: Table
    feedback_counts: tuple[Table, ...]
    trends: tuple[Table, ...]
    staff: Table | None

    def all(self) -> list[Table]:
        return [
            self.requests,
            self.backlog,
            *self.clocks,
            self.callbacks,
            self.satisfaction,
            self.comments,
            self.feedback,
            *self.feedback_counts,
            *self.trends,
            *([self.staff] if self.staff else []),
        ]

    def find(self, key: str) -> Table | None:
        return next((table for table in self.all() if table.key == key), None)


def build(board: Dashboard) -> Tables:
    now, before = board.current, board.previous
    return Tables(
        requests=_comparison(
            "requests",
            _("Requests"),
            [
                _compare(_("Received"), Kind.COUNT, now.received, before.received),
                _compare(_("Resolved"), Kind.COUNT, now.resolved, before.resolved),
                _compare(_("Reopened"), Kind.COUNT, now.reopened, before.reopened),
            ],
        ),
        backlog=_backlog(board),
        clocks=(
            _clock("first-reply", _("First reply"), _("Answered"), now.first_reply, before.first_reply),
            _clock("next-reply", _("Next reply"), _("Answered"), now.next_reply, before.next_reply),
            _clock("resolution", _("Resolution"), _("Resolved"), now.resolution, before.resolution),
        ),
        callbacks=_callbacks(now, before),
        satisfaction=_satisfaction(now, before),
        comments=Table(
            "comments",
            _("Comments with the ratings, most recent first"),
            (_("Received"), _("Rating"), _("Department"), _("Request"), _("Comment")),
            tuple(
                (
                    Cell(comment.created_at, Kind.MOMENT),
                    Cell(comment.rating, Kind.COUNT),
                    Cell(comment.department_name),
                    Cell(comment.request_id, Kind.COUNT),
                    Cell(comment.comment),
                )
                for comment in now.satisfaction.comments
            ),
        ),
        feedback=_feedback(now, before),
        feedback_counts=_feedback_counts(now, before),
        trends=tuple(_trend_table(trend, board.trend) for trend in _trends()),
        staff=_staff(board) if board.scope.include_staff else None,
    )


def _backlog(board: Dashboard) -> Table:
    rows = [(Cell(bucket.label), Cell(bucket.count, Kind.COUNT)) for bucket in board.backlog.ages]
    rows.append((Cell(_("All open requests")), Cell(board.backlog.open, Kind.COUNT)))
    chart = charts.bar_chart(
        [(bucket.label, bucket.count) for bucket in board.backlog.ages],
        chart_id="chart-backlog",
        title=_("Open requests now, by age"),
        description=_("One bar per age; the numbers are in the table below."),
        value_text=_count_text,
    )
    return Table("backlog", _("Open requests now, by age"), (_("Age"), _("Open requests")), tuple(rows), chart=chart)


def _callbacks(now: Figures, before: Figures) -> Table:
    a, b = now.callbacks, before.callbacks
    return _comparison(
        "callbacks",
        _("Call-backs"),
        [
            _compare(_("Asked for"), Kind.COUNT, a.asked, b.asked),
            _compare(_("Kept on time"), Kind.COUNT, a.kept_on_time, b.kept_on_time),
            _compare(_("Kept late"), Kind.COUNT, a.kept_late, b.kept_late),
            _compare(_("Within the promised time"), Kind.PERCENT, a.on_time_percent, b.on_time_percent),
            _compare(_("Attempts per call-back"), Kind.MEAN, a.attempts_per_call, b.attempts_per_call),
        ],
    )


def _satisfaction(now: Figures, before: Figures) -> Table:
    a, b = now.satisfaction, before.satisfaction
    return _comparison(
        "satisfaction",
        _("Satisfaction"),
        [
            _compare(_("Resolved requests that could be rated"), Kind.COUNT, a.resolved, b.resolved),
            _compare(_("Ratings received"), Kind.COUNT, a.responses, b.responses),
            _compare(_("Response rate"), Kind.PERCENT, a.response_rate_percent, b.response_rate_percent),
            _compare(_("Mean rating (1 to 5)"), Kind.RATING, a.mean, b.mean),
            _compare(_("Rated 4 or 5"), Kind.PERCENT, a.percent_4_or_5, b.percent_4_or_5),
        ],
    )


def _feedback(now: Figures, before: Figures) -> Table:
    a, b = now.feedback, before.feedback
    first_a, first_b = a.first_response, b.first_response
    return _comparison(
        "feedback",
        _("Feedback"),
        [
            _compare(_("Received"), Kind.COUNT, a.received, b.received),
            _compare(_("Still open"), Kind.COUNT, a.open, b.open),
            _compare(_("Closed"), Kind.COUNT, a.closed, b.closed),
            _compare(_("First staff response: answered"), Kind.COUNT, first_a.count, first_b.count),
            _compare(_("First staff response: median"), Kind.SECONDS, first_a.median_seconds, first_b.median_seconds),
            _compare(
                _("First staff response: 90th percentile"), Kind.SECONDS, first_a.p90_seconds, first_b.p90_seconds
            ),
            # Feedback carries no promise: no share within it, no broken promise.
        ],
    )


def _feedback_counts(now: Figures, before: Figures) -> tuple[Table, ...]:
    a, b = now.feedback, before.feedback
    bars = _("One bar for each, this period; both periods are in the table below.")
    return (
        _counts("feedback-kind", _("Feedback by kind"), _("Kind"), a.by_kind, b.by_kind, bars),
        _counts("feedback-topic", _("Feedback by topic"), _("Topic"), a.by_topic, b.by_topic, bars),
        _counts("feedback-school", _("Feedback by school"), _("School"), a.by_school, b.by_school, bars),
        _counts("feedback-sentiment", _("Feedback by sentiment"), _("Sentiment"), a.by_sentiment, b.by_sentiment, bars),
    )


def _staff(board: Dashboard) -> Table:
    return Table(
        "staff",
        _("Workload and first replies by staff member"),
        (_("Staff member"), _("Open, assigned"), _("Replies sent"), _("First replies"), _("Median first reply")),
        tuple(
            (
                Cell(person.name),
                Cell(person.open_assigned, Kind.COUNT),
                Cell(person.replies, Kind.COUNT),
                Cell(person.first_replies, Kind.COUNT),
                Cell(person.first_reply_median_seconds, Kind.SECONDS),
            )
            for person in board.staff
        ),
    )
