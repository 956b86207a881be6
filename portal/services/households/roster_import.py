"""A OneRoster export written into the portal: what it changes (the dry run), then the write.

`plan()` compares a read export (oneroster.read_export) with the database and lists
every change: schools, households, students and guardians new, changed or deactivated,
and the rows refused, each with its file and line. roster_write.apply() writes a plan.

Keys. A school, student or guardian is its sourcedId (`sis_id`); a guardian already in
the portal without one is matched by email address. A household is the key the reader
derives from its guardians; when a family's guardians change, its key changes, and the
household that holds most of its students is kept under the new key, with its history.

Removal. A record with status tobedeleted, or absent from a bulk file (not listed on any
row of it, used or not), is deactivated, never deleted: a student stops being offered,
a school too, a guardian can no longer sign in, and requests and history stay. In a bulk
users.csv a guardian no longer linked to a household's students leaves that household.

Accounts. An activated guardian's sign-in address is never changed by an import (the
guardian changes it, with a confirmation, in the portal): a new address in the SIS is a
warning. A staff account's address is never taken for a guardian.
"""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.catalogs import lazy_gettext as _l
from portal.models import (
    Guardianship,
    Household,
    ImportChange,
    Role,
    School,
    Student,
    User,
)
from portal.services.errors import InvalidInput
from portal.services.households import phones
from portal.services.households.oneroster import Roster, RosterGuardian, RosterSchool, RosterStudent

SCHOOL_NAME_MAX, SCHOOL_CODE_MAX = 120, 20


@dataclass(slots=True, frozen=True)
class Change:
    """One line of the dry run."""

    change: ImportChange
    record: str  # school, household, student, guardian; "" for a row that was not used
    sourced_id: str = ""
    label: str = ""
    file: str = ""
    line: int = 0
    detail: str = ""


class Progress(NamedTuple):
    phase: str
    done: int
    total: int


class _Known(NamedTuple):
    """A record already in the portal, as far as the comparison needs it."""

    id: int
    values: tuple[object, ...]
    is_active: bool


@dataclass
class _Guardian:
    record: RosterGuardian
    user_id: int | None = None  # None: a new account
    phone: str | None = None
    set_email: bool = False


@dataclass
class RosterPlan:
    """What an export changes; `apply()` writes it."""

    roster: Roster
    changes: list[Change] = field(default_factory=list)
    schools: list[tuple[int | None, RosterSchool, str, str | None]] = field(default_factory=list)  # id, name, code
    schools_deactivated: list[int] = field(default_factory=list)
    households: dict[str, int | None] = field(default_factory=dict)  # key -> kept household (None: new)
    rekeyed: dict[int, str] = field(default_factory=dict)  # household -> its new key
    students: list[tuple[int | None, RosterStudent]] = field(default_factory=list)  # changed or new
    students_deactivated: list[int] = field(default_factory=list)
    guardians: list[_Guardian] = field(default_factory=list)  # changed or new
    guardians_deactivated: list[int] = field(default_factory=list)
    links_added: list[tuple[str, str]] = field(default_factory=list)  # household key, guardian sourcedId
    links_removed: list[tuple[int, int]] = field(default_factory=list)  # household, user

    def counts(self) -> dict[str, int]:
        counted = Counter(f"{c.record}_{c.change}" if c.record else str(c.change) for c in self.changes)
        return dict(sorted(counted.items()))

    @property
    def new_households(self) -> int:
        return sum(1 for kept in self.households.values() if kept is None)

    @property
    def size(self) -> int:
        """How many records the write touches, for its progress."""
        return (
            len(self.schools)
            + len(self.schools_deactivated)
            + self.new_households
            + len(self.rekeyed)
            + len(self.students)
            + len(self.students_deactivated)
            + len(self.guardians)
            + len(self.guardians_deactivated)
            + len(self.links_added)
            + len(self.links_removed)
        )


def plan(db: Session, roster: Roster, *, region: str) -> RosterPlan:
    """Compare a read export with the portal: every change it makes, nothing written."""
    result = RosterPlan(roster)
    for refused in roster.refused:
        result.changes.append(
            Change(ImportChange.REFUSED, "", file=refused.file, line=refused.line, detail=refused.reason)
        )
    for warning in roster.warnings:
        result.changes.append(
            Change(ImportChange.WARNING, "", file=warning.file, line=warning.line, detail=warning.reason)
        )
    _plan_schools(db, result)
    _plan_households(db, result)
    _plan_students(db, result)
    _plan_guardians(db, result, region)
    return result


def _bulk(roster: Roster, file: str) -> bool:
    return roster.mode.get(file) == "bulk"


def _plan_schools(db: Session, result: RosterPlan) -> None:
    roster = result.roster
    rows = db.execute(select(School.id, School.sis_id, School.name, School.code, School.is_active)).all()
    by_sis = {row.sis_id: row for row in rows if row.sis_id}
    by_code = {row.code.upper(): row for row in rows if row.code and not row.sis_id}
    by_name = {row.name.casefold(): row for row in rows if not row.sis_id}
    names = {row.name.casefold(): row.id for row in rows}
    codes = {row.code.upper(): row.id for row in rows if row.code}
    for school in roster.schools:
        known = (
            by_sis.get(school.sourced_id)
            or (school.identifier and by_code.get(school.identifier.upper()))
            or by_name.get(school.name.casefold())
        )
        known_id = known.id if known else None
        name = school.name
        if names.get(name.casefold(), known_id) != known_id:  # another school has the name
            name = f"{school.name} ({school.identifier or school.sourced_id})"[:SCHOOL_NAME_MAX]
        code: str | None = school.identifier.upper() or None
        if code and codes.get(code, known_id) != known_id:
            result.changes.append(
                Change(
                    ImportChange.WARNING,
                    "school",
                    school.sourced_id,
                    name,
                    "orgs.csv",
                    detail=str(_l("Another school has the code %(code)s: this one is saved without it.", code=code)),
                )
            )
            code = None
        names[name.casefold()] = known_id or -1  # -1: a school new in this export
        if code:
            codes[code] = known_id or -1
        if known is None:
            result.schools.append((None, school, name, code))
            result.changes.append(Change(ImportChange.NEW, "school", school.sourced_id, name, "orgs.csv"))
        elif (known.sis_id, known.name, known.code, known.is_active) != (school.sourced_id, name, code, True):
            result.schools.append((known.id, school, name, code))
            detail = _differences({"name": (known.name, name), "code": (known.code or "", code or "")}, known.is_active)
            result.changes.append(
                Change(ImportChange.CHANGED, "school", school.sourced_id, name, "orgs.csv", 0, detail)
            )
    gone = set(roster.deactivated_schools)
    for sis_id, row in by_sis.items():
        if row.is_active and (sis_id in gone or (_bulk(roster, "orgs.csv") and sis_id not in roster.listed)):
            result.schools_deactivated.append(row.id)
            result.changes.append(Change(ImportChange.DEACTIVATED, "school", sis_id, row.name, "orgs.csv"))


def _differences(pairs: dict[str, tuple[str, str]], was_active: bool = True) -> str:
    parts = [f"{name}: {before or '—'} → {after or '—'}" for name, (before, after) in pairs.items() if before != after]
    if not was_active:
        parts.append(str(_l("active again")))
    return "; ".join(parts)[:500]


def _plan_households(db: Session, result: RosterPlan) -> None:
    """Each household of the export kept (by its key, else as the household of most of its
    students) or new. A delta users.csv holds only the changed people, so the guardian set,
    and the key, of a family read from it may be partial: a family is then found by its
    students, else by its guardians, and keeps its key."""
    roster = result.roster
    delta = not _bulk(roster, "users.csv")
    by_key = dict(db.execute(select(Household.sis_id, Household.id).where(Household.sis_id.is_not(None))).all())
    wanted = {student for household in roster.households for student in household.student_ids}
    current = _student_households(db, wanted)
    joined = _guardian_households(db, roster) if delta else {}
    claimed = {by_key[h.key] for h in roster.households if h.key in by_key}
    for household in roster.households:
        kept = by_key.get(household.key)
        if kept is None:
            homes = Counter(current[s] for s in household.student_ids if s in current)
            if delta:
                homes = homes or Counter(home for g in household.guardian_ids for home in joined.get(g, ()))
                kept = next((home for home, _count in homes.most_common()), None)
            else:
                kept = next((home for home, _count in homes.most_common() if home not in claimed), None)
                if kept is not None:
                    claimed.add(kept)
                    result.rekeyed[kept] = household.key
        result.households[household.key] = kept
        if kept is None:
            result.changes.append(
                Change(
                    ImportChange.NEW,
                    "household",
                    household.key,
                    household.name,
                    "users.csv",
                    detail=_members(household.student_ids, household.guardian_ids),
                )
            )
        elif result.rekeyed.get(kept) == household.key:
            detail = str(_l("Its guardians changed in the SIS; the household is kept, with its history."))
            result.changes.append(
                Change(ImportChange.CHANGED, "household", household.key, household.name, "users.csv", detail=detail)
            )


def _guardian_households(db: Session, roster: Roster) -> dict[str, list[int]]:
    """The households of the export's guardians already in the portal."""
    statement = select(User.sis_id, Guardianship.household_id).join(Guardianship, Guardianship.user_id == User.id)
    found: dict[str, list[int]] = {}
    for sis_id, household_id in db.execute(statement.where(User.sis_id.is_not(None))):
        if sis_id in roster.guardians:
            found.setdefault(sis_id, []).append(household_id)
    return found


def _members(student_ids: list[str], guardian_ids: list[str]) -> str:
    return str(
        _l("%(students)d students, %(guardians)d guardians", students=len(student_ids), guardians=len(guardian_ids))
    )


def _student_households(db: Session, sourced_ids: set[str]) -> dict[str, int]:
    rows = db.execute(select(Student.sis_id, Student.household_id).where(Student.sis_id.is_not(None)))
    return {sis_id: household for sis_id, household in rows if sis_id in sourced_ids}


def _plan_students(db: Session, result: RosterPlan) -> None:
    roster = result.roster
    schools = dict(db.execute(select(School.sis_id, School.id).where(School.sis_id.is_not(None))).all())
    household_of = {student: h.key for h in roster.households for student in h.student_ids}
    rows = db.execute(
        select(
            Student.id,
            Student.sis_id,
            Student.first_name,
            Student.last_name,
            Student.grade,
            Student.school_id,
            Student.household_id,
            Student.is_active,
        ).where(Student.sis_id.is_not(None))
    )
    known = {row.sis_id: row for row in rows}
    new_schools = {school.sourced_id for known_id, school, _name, _code in result.schools if known_id is None}
    for sourced_id, student in roster.students.items():
        row = known.get(sourced_id)
        label = f"{student.given_name} {student.family_name}"
        if row is None:
            result.students.append((None, student))
            result.changes.append(Change(ImportChange.NEW, "student", sourced_id, label, "users.csv", student.line))
            continue
        school_id = schools.get(student.school_sourced_id or "")
        school_changed = school_id != row.school_id or (student.school_sourced_id in new_schools)
        kept = result.households[household_of[sourced_id]]
        pairs = {
            "givenName": (row.first_name, student.given_name),
            "familyName": (row.last_name, student.family_name),
            "grades": (row.grade, student.grade),
        }
        moved = kept != row.household_id
        if any(before != after for before, after in pairs.values()) or school_changed or moved or not row.is_active:
            result.students.append((row.id, student))
            detail = _differences(pairs, row.is_active)
            if school_changed:
                detail = "; ".join(filter(None, (detail, str(_l("school changed")))))
            if moved:
                detail = "; ".join(filter(None, (detail, str(_l("moves to another household")))))
            result.changes.append(
                Change(ImportChange.CHANGED, "student", sourced_id, label, "users.csv", student.line, detail)
            )
    gone = set(roster.deactivated_students)
    for sourced_id, row in known.items():
        if (
            row.is_active
            and sourced_id not in roster.students
            and (sourced_id in gone or (_bulk(roster, "users.csv") and sourced_id not in roster.listed))
        ):
            result.students_deactivated.append(row.id)
            label = f"{row.first_name} {row.last_name}"
            result.changes.append(Change(ImportChange.DEACTIVATED, "student", sourced_id, label, "users.csv"))


def _plan_guardians(db: Session, result: RosterPlan, region: str) -> None:
    roster = result.roster
    # Every account, a few columns each: one read, where a lookup per guardian would be 100 000.
    rows = db.execute(
        select(
            User.id,
            User.sis_id,
            User.email,
            User.display_name,
            User.phone,
            User.role,
            User.is_active,
            User.password_hash.is_not(None).label("activated"),
        )
    ).all()
    by_sis = {row.sis_id: row for row in rows if row.sis_id}
    by_email = {row.email: row for row in rows}
    links = _links(db)
    for sourced_id, guardian in roster.guardians.items():
        if not guardian.household_keys:
            continue  # linked to no student: a warning already says so
        row = by_sis.get(sourced_id)
        if row is None and (other := by_email.get(guardian.email)) is not None:
            if other.role != Role.FAMILY:
                result.changes.append(
                    _refused_guardian(guardian, _l("%(email)s is a staff account's address.", email=guardian.email))
                )
                continue
            if other.sis_id:
                reason = _l("%(email)s belongs to guardian %(id)s already.", email=guardian.email, id=other.sis_id)
                result.changes.append(_refused_guardian(guardian, reason))
                continue
            row = other
        phone = _phone(guardian, region, result)
        planned = _Guardian(guardian, row.id if row else None, phone)
        if row is None:
            result.guardians.append(planned)
            result.changes.append(
                Change(
                    ImportChange.NEW,
                    "guardian",
                    sourced_id,
                    guardian.display_name,
                    "users.csv",
                    guardian.line,
                    guardian.email,
                )
            )
        else:
            email_differs = row.email != guardian.email
            if email_differs and row.activated:
                reason = _l(
                    "The SIS has %(email)s; the guardian signs in with another address and changes it in the portal.",
                    email=guardian.email,
                )
                result.changes.append(
                    Change(
                        ImportChange.WARNING,
                        "guardian",
                        sourced_id,
                        guardian.display_name,
                        "users.csv",
                        guardian.line,
                        str(reason),
                    )
                )
            elif email_differs and by_email.get(guardian.email) is not None:
                result.changes.append(
                    _refused_guardian(guardian, _l("%(email)s belongs to another account.", email=guardian.email))
                )
                continue
            planned.set_email = email_differs and not row.activated
            pairs = {"name": (row.display_name, guardian.display_name), "phone": (row.phone or "", phone or "")}
            if planned.set_email:
                pairs["email"] = (row.email, guardian.email)
            if row.sis_id != sourced_id or any(b != a for b, a in pairs.values()) or not row.is_active:
                result.guardians.append(planned)
                detail = _differences(pairs, row.is_active) or str(_l("matched by email address"))
                result.changes.append(
                    Change(
                        ImportChange.CHANGED,
                        "guardian",
                        sourced_id,
                        guardian.display_name,
                        "users.csv",
                        guardian.line,
                        detail,
                    )
                )
        _plan_links(result, guardian, row.id if row else None, links)
    _plan_leavers(result, by_sis, links)


def _refused_guardian(guardian: RosterGuardian, reason: object) -> Change:
    return Change(
        ImportChange.REFUSED,
        "guardian",
        guardian.sourced_id,
        guardian.display_name,
        "users.csv",
        guardian.line,
        str(reason),
    )


def _phone(guardian: RosterGuardian, region: str, result: RosterPlan) -> str | None:
    if not guardian.phone:
        return None
    try:
        return phones.normalize_phone(guardian.phone, region=region)
    except InvalidInput:
        reason = _l("“%(phone)s” is not a phone number: the guardian is saved without it.", phone=guardian.phone)
        result.changes.append(
            Change(
                ImportChange.WARNING,
                "guardian",
                guardian.sourced_id,
                guardian.display_name,
                "users.csv",
                guardian.line,
                str(reason),
            )
        )
        return None


def _links(db: Session) -> dict[int, set[int]]:
    """Each imported household's guardians."""
    rows = db.execute(
        select(Guardianship.household_id, Guardianship.user_id)
        .join(Household, Household.id == Guardianship.household_id)
        .where(Household.sis_id.is_not(None))
    )
    links: dict[int, set[int]] = {}
    for household_id, user_id in rows:
        links.setdefault(household_id, set()).add(user_id)
    return links


def _plan_links(result: RosterPlan, guardian: RosterGuardian, user_id: int | None, links: dict[int, set[int]]) -> None:
    for key in guardian.household_keys:
        kept = result.households[key]
        if user_id is None or kept is None or user_id not in links.get(kept, ()):
            result.links_added.append((key, guardian.sourced_id))


def _plan_leavers(result: RosterPlan, by_sis: dict[str, Any], links: dict[int, set[int]]) -> None:
    """Guardians deactivated, and (in a bulk users.csv) those no longer in a household."""
    roster = result.roster
    gone = set(roster.deactivated_guardians)
    bulk = _bulk(roster, "users.csv")
    for sis_id, row in by_sis.items():
        if (
            row.role == Role.FAMILY
            and row.is_active
            and sis_id not in roster.guardians
            and (sis_id in gone or (bulk and sis_id not in roster.listed))
        ):
            result.guardians_deactivated.append(row.id)
            result.changes.append(Change(ImportChange.DEACTIVATED, "guardian", sis_id, row.display_name, "users.csv"))
    if not bulk:
        return
    user_ids = {planned.record.sourced_id: planned.user_id for planned in result.guardians}
    for sis_id, row in by_sis.items():
        user_ids.setdefault(sis_id, row.id)
    for household in roster.households:
        kept = result.households[household.key]
        if kept is None:
            continue
        staying = {user_ids.get(guardian) for guardian in household.guardian_ids}
        for user_id in sorted(links.get(kept, set()) - staying):
            result.links_removed.append((kept, user_id))
            detail = str(_l("A guardian is no longer linked to this household's students."))
            result.changes.append(
                Change(ImportChange.CHANGED, "household", household.key, household.name, "users.csv", detail=detail)
            )
