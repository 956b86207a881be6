"""Metrics (issue #18): one query layer for reply times, satisfaction and feedback.

- `types`: the typed results the pages read (`Dashboard`, `Figures`, `Period`, ...).
- `queries`: who sees what, and every figure, from the facts the request services write
  where a clock stops (`models.ClockStop`, `services.requests.facts`).
- `stats`: median, 90th percentile (nearest rank) and percentages, defined once.
- `backfill`: the facts of requests stored before there were facts.

Blueprints call the names below as `metrics.dashboard(...)`.
"""

from portal.services.metrics.queries import (
    dashboard,
    departments_for_metrics,
    metrics_scope_for,
    named_period,
    public_summary,
)
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

__all__ = [
    "AgeBucket",
    "Backlog",
    "CallbackFigures",
    "Comment",
    "Count",
    "Dashboard",
    "FeedbackFigures",
    "Figures",
    "MetricsScope",
    "Period",
    "PublicSummary",
    "SatisfactionFigures",
    "StaffFigures",
    "TimeFigures",
    "WeekPoint",
    "dashboard",
    "departments_for_metrics",
    "metrics_scope_for",
    "named_period",
    "public_summary",
]
