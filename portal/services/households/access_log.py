"""Who looked: staff and admin views of a household's data, recorded and shown.

Families see in their history when staff opened their household; administrators
review who opened which household and when.
"""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Exists, bindparam, exists, null, select
from sqlalchemy.orm import QueryableAttribute, Session, aliased

from portal.models import AuditEvent, Household, User
from portal.services import scope
from portal.services.pagination import Page, paginate
from portal.services.read_along import forgotten_after_a_write, recalled, remember

VIEW_ACTION = "household.viewed"
# Reloading a page or moving between its tabs is one look, not many.
REPEAT_WINDOW = timedelta(minutes=10)


def record_view(db: Session, actor: User, household: Household, what: str, *, now: datetime, ip_address: str) -> None:
    """Record that staff opened `what` ("household", "notes", "contacts", "export") of a household."""
    scope.require_staff(actor)
    if what == "household" and _viewed_recently(db, actor, household, now):
        return
    db.add(
        AuditEvent(
            actor_id=actor.id,
            action=VIEW_ACTION,
            object_type="household",
            object_id=household.id,
            household_id=household.id,
            after={"what": what},
            ip_address=ip_address[:45],
            created_at=now,
        )
    )


def viewed_recently(household_id: ColumnElement[int] | QueryableAttribute[int]) -> Exists:
    """Whether the staff member of `viewing_parameters` opened the household of
    `household_id` within REPEAT_WINDOW: a column that the statement reading a page's
    household reads along (`read_along`), so that record_view sends none of its own."""
    return exists().where(
        AuditEvent.actor_id == bindparam("viewer_id"),
        AuditEvent.household_id == household_id,
        AuditEvent.action == VIEW_ACTION,
        AuditEvent.created_at > bindparam("viewed_since"),
    )


def viewing_parameters(actor: User, now: datetime) -> dict[str, Any]:
    return {"viewer_id": actor.id, "viewed_since": now - REPEAT_WINDOW}


# Viewed recently, about (staff member's id, household's id); forgotten at the session's
# first write: the look record_view writes among them.
_VIEWED_READ = forgotten_after_a_write("portal.household_viewed_read")


def read_along(db: Session, actor: User, household_id: int, viewed: bool) -> None:
    remember(db, _VIEWED_READ, bool(viewed), about=(actor.id, household_id))


# Built once (portal.db, "Statements built once").
_RECENT_VIEW = select(viewed_recently(bindparam("household_id")))


def _viewed_recently(db: Session, actor: User, household: Household, now: datetime) -> bool:
    viewed = recalled(db, _VIEWED_READ, about=(actor.id, household.id))
    if viewed is not None:
        return bool(viewed)
    return bool(db.scalar(_RECENT_VIEW, {"household_id": household.id, **viewing_parameters(actor, now)}))


def household_views(
    db: Session, actor: User, *, household_id: int | None, staff_id: int | None, page: int, page_size: int
) -> Page[Any]:
    """For administrators: rows of (event, staff member, household), newest first."""
    scope.require_admin(actor)
    staff = aliased(User)
    statement = (
        select(AuditEvent, staff, Household)
        .join(staff, staff.id == AuditEvent.actor_id)
        .join(Household, Household.id == AuditEvent.household_id)
        .where(AuditEvent.action == VIEW_ACTION)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    )
    if household_id:
        statement = statement.where(AuditEvent.household_id == household_id)
    if staff_id:
        statement = statement.where(AuditEvent.actor_id == staff_id)
    return paginate(db, statement, number=page, size=page_size, rows=True)


def family_history(db: Session, actor: User, *, page: int, page_size: int) -> Page[Any]:
    """For a family: every recorded event about its households, newest first, as rows of
    (event, who did it, the household's name). The name is given only to a guardian of
    several households (shared custody), who needs to know which one; else it is None."""
    household_ids = scope.household_ids_of(db, actor)
    if not household_ids or not actor.is_family:
        return Page(items=[], number=1, size=page_size, total=0)
    person = aliased(User)
    named = len(household_ids) > 1
    statement = (
        select(AuditEvent, person, Household.name if named else null())
        .outerjoin(person, person.id == AuditEvent.actor_id)
        .where(AuditEvent.household_id.in_(household_ids))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    )
    if named:
        statement = statement.join(Household, Household.id == AuditEvent.household_id)
    return paginate(db, statement, number=page, size=page_size, rows=True)
