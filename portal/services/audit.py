"""The audit trail: every change to a family's data and every staff action on it."""

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from portal.models import AuditEvent, User


def record(
    db: Session,
    actor: User | None,
    action: str,
    obj: Any,
    *,
    now: datetime,
    household_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    ip_address: str = "",
) -> AuditEvent:
    """Add an audit event for `obj` to the unit of work; the caller commits both together."""
    # The signed-in user arrives as a proxy; its table is that of the object behind it.
    obj = getattr(obj, "_get_current_object", lambda: obj)()
    return record_row(
        db,
        actor,
        action,
        type(obj).__tablename__,
        obj.id,
        now=now,
        household_id=household_id,
        before=before,
        after=after,
        ip_address=ip_address,
    )


def record_row(
    db: Session,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: int,
    *,
    now: datetime,
    household_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    ip_address: str = "",
) -> AuditEvent:
    """An audit event for the row `object_id` of the table `object_type`, not loaded."""
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        household_id=household_id,
        before=before,
        after=after,
        ip_address=ip_address[:45],
        created_at=now,
    )
    db.add(event)
    return event
