"""Metrics (issue #18): one query layer for reply times, satisfaction and feedback.

- `types`: the typed results the pages read (`Dashboard`, `Figures`, `Period`, ...).

Blueprints call the names below as `metrics.dashboard(...)`.
"""

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
]
