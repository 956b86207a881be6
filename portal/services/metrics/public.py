"""The public "how we are doing" page: for each public department an administrator
opted in, the typical first reply and the share answered within the promised time over
the last 30 days, beside the promise itself (a normal-priority question's first-reply
target).

Anyone may read it, signed in or not, so the figures are kept for CACHE_FOR in a
`Kept` the caller holds (the app keeps one per process): a crowd (or a crawler)
reloading the page costs the database one read of each department's facts every few
minutes, not one per visit."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Department, Priority
from portal.services import departments
from portal.services.metrics.queries import public_summary
from portal.services.metrics.types import PublicSummary

CACHE_FOR = timedelta(minutes=5)
# Fewer answers than this in 30 days say little about the next one: the page says so
# instead of showing a median of three.
FEWEST_ANSWERS_SHOWN = 5

# Each department's figures, with when they were read.
Kept = dict[int, tuple[datetime, PublicSummary | None]]


@dataclass(frozen=True)
class PublicFigures:
    department: Department
    summary: PublicSummary
    promised: timedelta  # the first-reply target of a normal-priority question

    @property
    def enough_answers(self) -> bool:
        return self.summary.answered >= FEWEST_ANSWERS_SHOWN


def published_departments(db: Session) -> list[Department]:
    return list(
        db.scalars(
            select(Department)
            .where(Department.is_public.is_(True), Department.metrics_public.is_(True))
            .order_by(Department.name)
        )
    )


def _summary(db: Session, department_id: int, kept: Kept, *, now: datetime) -> PublicSummary | None:
    found = kept.get(department_id)
    if found is not None and timedelta(0) <= now - found[0] < CACHE_FOR:
        return found[1]
    summary = public_summary(db, department_id, now=now)
    kept[department_id] = (now, summary)
    return summary


def public_figures(db: Session, kept: Kept, *, now: datetime, department_id: int | None = None) -> list[PublicFigures]:
    """Every published department's figures (or one department's: empty unless
    published), from `kept` when they were read less than CACHE_FOR ago."""
    shown = [d for d in published_departments(db) if department_id is None or d.id == department_id]
    targets = departments.first_reply_targets(db, [d.id for d in shown], Priority.NORMAL)
    figures = []
    for department in shown:
        summary = _summary(db, department.id, kept, now=now)
        if summary is not None:
            figures.append(PublicFigures(department, summary, targets[department.id]))
    return figures
