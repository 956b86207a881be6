"""Departments: the staff who work in them and the reply times they promise."""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import ScalarSelect, delete, select, update
from sqlalchemy.orm import Session

from portal.catalogs import lazy_gettext as _l
from portal.db import rows_matched
from portal.models import Department, DepartmentMember, DistrictSetting, Priority, ReplyTarget, Role, User
from portal.models.district import Translations
from portal.services import audit, district_cache, scope, translated
from portal.services.errors import InvalidInput, NotFound


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


# Business hours before a first reply, a next reply and a resolution, per priority,
# until an administrator sets the department's own.
DEFAULT_TARGET_HOURS = {
    Priority.LOW: (16, 16, 80),
    Priority.NORMAL: (8, 8, 40),
    Priority.HIGH: (4, 4, 16),
    Priority.URGENT: (1, 1, 8),
}
NAME_MAX_LENGTH = 120
DESCRIPTION_MAX_LENGTH = 1000
# A target longer than a month of eight-hour business days is no promise.
MAX_TARGET_MINUTES = 30 * 8 * 60


@dataclass(frozen=True)
class Targets:
    first_reply_minutes: int
    next_reply_minutes: int
    resolution_minutes: int


# The district's triage department, as a column of another statement.
_TRIAGE_DEPARTMENT_ID: ScalarSelect[int | None] = (
    select(DistrictSetting.triage_department_id).limit(1).scalar_subquery()
)


class DepartmentChoice(NamedTuple):
    """A department as a filter or a form offers it, read as values: kept between
    requests (district_cache) and shared by them, never changed in place."""

    id: int
    name: str
    translations: Translations


class StaffChoice(NamedTuple):
    """A staff member as a filter or a form offers them (to filter by, to give work to)."""

    id: int
    display_name: str


# A DepartmentChoice's columns, in its fields' order.
DEPARTMENT_CHOICE_COLUMNS = (Department.id, Department.name, Department.translations)


def memberships_of(db: Session, actor: User) -> list[tuple[DepartmentChoice, bool, bool]] | None:
    """The departments whose requests and feedback a staff member works, by name, each
    with whether they supervise it and whether it is the triage department (which routes
    the feedback sent as "not sure", read in the same statement); None for an
    administrator: all of them. Kept between requests (district_cache): a staff page
    reads them on every request."""
    scope.require_staff(actor)
    if actor.is_admin:
        return None
    return list(district_cache.kept(db, ("memberships", actor.id), lambda: _memberships(db, actor.id)))


def _memberships(db: Session, user_id: int) -> tuple[tuple[DepartmentChoice, bool, bool], ...]:
    rows = db.execute(
        select(*DEPARTMENT_CHOICE_COLUMNS, DepartmentMember.is_supervisor, _TRIAGE_DEPARTMENT_ID)
        .join(DepartmentMember, DepartmentMember.department_id == Department.id)
        .where(DepartmentMember.user_id == user_id)
        .order_by(Department.name)
    )
    return tuple(
        (DepartmentChoice(department_id, name, translations), lead, department_id == triage)
        for department_id, name, translations, lead, triage in rows
    )


def department_choices(db: Session) -> tuple[DepartmentChoice, ...]:
    """Every department, by name, as filters and forms offer them: kept between requests."""
    statement = select(*DEPARTMENT_CHOICE_COLUMNS).order_by(Department.name)
    return district_cache.kept(
        db, "departments", lambda: tuple(DepartmentChoice(*row) for row in db.execute(statement))
    )


def triage_department_id(db: Session) -> int | None:
    """The department whose members route the feedback sent as "not sure"; None until set."""
    return db.scalar(select(DistrictSetting.triage_department_id).limit(1))


def list_departments(db: Session) -> list[Department]:
    return list(db.scalars(select(Department).order_by(Department.name)))


def department_for_admin(db: Session, actor: User, department_id: int) -> Department:
    scope.require_admin(actor)
    department = db.get(Department, department_id)
    if department is None:
        raise NotFound()
    return department


def targets_of(db: Session, department_id: int) -> dict[Priority, Targets]:
    """The department's targets per priority, the defaults where it set none."""
    targets = {priority: Targets(*(hours * 60 for hours in DEFAULT_TARGET_HOURS[priority])) for priority in Priority}
    for row in db.scalars(select(ReplyTarget).where(ReplyTarget.department_id == department_id)):
        targets[row.priority] = Targets(row.first_reply_minutes, row.next_reply_minutes, row.resolution_minutes)
    return targets


def first_reply_targets(db: Session, department_ids: Iterable[int], priority: Priority) -> dict[int, timedelta]:
    """Each department's first-reply target for one priority, in one query, kept between
    requests (district_cache): the new-request form shows them."""
    ids = frozenset(department_ids)
    kept = district_cache.kept(
        db, ("first reply targets", ids, priority), lambda: _first_reply_targets(db, ids, priority)
    )
    return dict(kept)


def _first_reply_targets(db: Session, ids: frozenset[int], priority: Priority) -> dict[int, timedelta]:
    default = timedelta(hours=DEFAULT_TARGET_HOURS[priority][0])
    targets = dict.fromkeys(ids, default)
    rows = db.execute(
        select(ReplyTarget.department_id, ReplyTarget.first_reply_minutes).where(
            ReplyTarget.department_id.in_(ids), ReplyTarget.priority == priority
        )
    )
    for department_id, minutes in rows:
        targets[department_id] = timedelta(minutes=minutes)
    return targets


def update_department(
    db: Session,
    actor: User,
    department: Department,
    *,
    name: str,
    description: str,
    is_public: bool,
    targets: dict[Priority, Targets],
    now: datetime,
    translations: Mapping[str, Mapping[str, str]] | None = None,
    languages: tuple[str, ...] = (),
    metrics_public: bool | None = None,
) -> Department:
    """Name, description (in English and the portal's other `languages`), visibility to
    families, whether its reply times are on the public "how we are doing" page (unchanged
    when None) and reply-time targets, checked and audited together."""
    scope.require_admin(actor)
    cleaned = translated.clean_translations(
        translations or {}, languages=languages, limits={"name": NAME_MAX_LENGTH, "description": DESCRIPTION_MAX_LENGTH}
    )
    name = " ".join(name.split())
    if not name:
        raise InvalidInput(_l("Enter the department's name."), field="name")
    clash = db.scalar(select(Department.id).where(Department.name == name, Department.id != department.id))
    if clash is not None:
        raise InvalidInput(_l("Another department has this name."), field="name")
    for priority, target in targets.items():
        for kind, minutes in (
            ("first", target.first_reply_minutes),
            ("next", target.next_reply_minutes),
            ("resolution", target.resolution_minutes),
        ):
            if not 0 < minutes <= MAX_TARGET_MINUTES:
                raise InvalidInput(
                    _l("Give a time between a minute and 240 business hours."), field=f"{priority.value}_{kind}"
                )
        if target.first_reply_minutes > target.resolution_minutes:
            raise InvalidInput(
                _l("The first reply cannot be due after the resolution."), field=f"{priority.value}_first"
            )
    before = {
        "name": department.name,
        "description": department.description,
        "is_public": department.is_public,
        "metrics_public": department.metrics_public,
        "targets": {p.value: vars(t) for p, t in targets_of(db, department.id).items()},
        "translations": department.translations or {},
    }
    department.name, department.description, department.is_public = name, description.strip(), is_public
    if metrics_public is not None:
        department.metrics_public = metrics_public
    department.translations = translated.merged(department.translations, cleaned, languages=languages)
    db.execute(delete(ReplyTarget).where(ReplyTarget.department_id == department.id))
    db.add_all(
        ReplyTarget(
            department_id=department.id,
            priority=priority,
            first_reply_minutes=t.first_reply_minutes,
            next_reply_minutes=t.next_reply_minutes,
            resolution_minutes=t.resolution_minutes,
        )
        for priority, t in targets.items()
    )
    audit.record(
        db,
        actor,
        "department.updated",
        department,
        now=now,
        before=before,
        after={
            "name": name,
            "description": department.description,
            "is_public": is_public,
            "metrics_public": department.metrics_public,
            "targets": {p.value: vars(t) for p, t in targets.items()},
            "translations": department.translations,
        },
    )
    return department


def members_of(db: Session, department_id: int) -> list[tuple[DepartmentMember, User]]:
    statement = (
        select(DepartmentMember, User)
        .join(User, User.id == DepartmentMember.user_id)
        .where(DepartmentMember.department_id == department_id)
        .order_by(DepartmentMember.is_supervisor.desc(), User.display_name)
    )
    return [(member, user) for member, user in db.execute(statement)]


def staff_choices(db: Session) -> list[User]:
    """Active staff and admins, who may join a department."""
    statement = select(User).where(User.role.in_([Role.STAFF, Role.ADMIN]), User.is_active.is_(True))
    return list(db.scalars(statement.order_by(User.display_name)))


def add_member(
    db: Session, actor: User, department: Department, user_id: int, *, is_supervisor: bool, now: datetime
) -> DepartmentMember:
    """Put a staff member in a department; a department has one supervisor, who is told of overdue replies."""
    scope.require_admin(actor)
    user = db.get(User, user_id)
    if user is None or not user.is_staff or not user.is_active:
        raise InvalidInput(_l("Choose a staff member from the list."), field="user_id")
    member = db.scalar(
        select(DepartmentMember).where(
            DepartmentMember.department_id == department.id, DepartmentMember.user_id == user_id
        )
    )
    if member is None:
        member = DepartmentMember(department_id=department.id, user_id=user_id)
        db.add(member)
    if is_supervisor:
        db.execute(
            update(DepartmentMember).where(DepartmentMember.department_id == department.id).values(is_supervisor=False)
        )
    member.is_supervisor = is_supervisor
    audit.record(
        db,
        actor,
        "department.member_added",
        department,
        now=now,
        after={"user_id": user_id, "is_supervisor": is_supervisor},
    )
    return member


def remove_member(db: Session, actor: User, department: Department, user_id: int, *, now: datetime) -> None:
    scope.require_admin(actor)
    removed = db.execute(
        delete(DepartmentMember).where(
            DepartmentMember.department_id == department.id, DepartmentMember.user_id == user_id
        )
    )
    if rows_matched(removed) != 1:
        raise NotFound()
    audit.record(db, actor, "department.member_removed", department, now=now, before={"user_id": user_id})
