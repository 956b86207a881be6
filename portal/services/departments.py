"""Departments and the staff who work in them."""

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Department, DepartmentMember


def departments_of(db: Session, user_ids: Iterable[int]) -> dict[int, list[str]]:
    """The department names of each of these staff members, in one query."""
    ids = set(user_ids)
    if not ids:
        return {}
    rows = db.execute(
        select(DepartmentMember.user_id, Department.name)
        .join(Department, Department.id == DepartmentMember.department_id)
        .where(DepartmentMember.user_id.in_(ids))
        .order_by(Department.name)
    )
    names: dict[int, list[str]] = defaultdict(list)
    for user_id, name in rows:
        names[user_id].append(name)
    return dict(names)
