"""Households derived from the links of a OneRoster export (the rule is in the
oneroster module's docstring): students with the same set of guardians are one
household, a guardian in several sets belongs to each, and the key is a hash of the
set, stable across imports and row orders."""

import hashlib
from collections.abc import Callable

from portal.catalogs import lazy_gettext as _l
from portal.services.households.oneroster_files import clean
from portal.services.households.oneroster_records import RefusedRow, Roster, RosterHousehold

HOUSEHOLD_NAME_MAX = 120  # Household.name
Warn = Callable[[str, int, object], None]  # (user, its users.csv line, reason)


def derive_households(roster: Roster, agents: dict[str, tuple[str, ...]], user_ids: set[str], quiet: set[str]) -> None:
    """Fill `roster.households` and each guardian's household keys from the links
    (`agents`: user -> the sourcedIds it names). Warnings name the users.csv line of a
    user not `quiet` (unchanged since a delta's date)."""
    students, guardians = roster.students, roster.guardians

    def warn(user: str, line: int, reason: object) -> None:
        if user not in quiet:
            roster.warnings.append(RefusedRow("users.csv", line, str(reason)))

    families: dict[str, set[str]] = {student: set() for student in students}
    check_links = roster.mode.get("users.csv") == "bulk"
    for user, targets in agents.items():
        for target in targets:
            if user in students and target in guardians:
                families[user].add(target)
            elif user in guardians and target in students:
                families[target].add(user)
            elif check_links and target not in user_ids:
                line = (students.get(user) or guardians[user]).line
                warn(user, line, _l("%(id)s is linked to %(other)s, who is not in the file.", id=user, other=target))
    groups: dict[tuple[str, ...], list[str]] = {}
    for student, family in families.items():
        groups.setdefault(tuple(sorted(family)) or ("", student), []).append(student)
    named = str(_l("%(name)s family"))
    for members, student_ids in sorted(groups.items()):
        # In a delta a student's guardians may be in an earlier import: no warning then.
        _household(roster, members, sorted(student_ids), named, warn if check_links else _no_warning)
    for guardian in guardians.values():
        if not guardian.household_keys:
            reason = _l("The guardian is linked to no student: there is no household to invite them to.")
            warn(guardian.sourced_id, guardian.line, reason)


def _no_warning(_user: str, _line: int, _reason: object) -> None:
    pass


def _household(roster: Roster, members: tuple[str, ...], student_ids: list[str], named: str, warn: Warn) -> None:
    """One household: its guardians (`members`, or "" and its student) and its students."""
    guardian_ids = list(members) if members[0] else []
    key = "or-" + hashlib.sha256("\n".join(members).encode()).hexdigest()[:32]
    if guardian_ids:
        first = roster.guardians[guardian_ids[0]]
        family = first.family_name or first.display_name
    else:
        student = roster.students[student_ids[0]]
        family = student.family_name
        warn(
            student.sourced_id, student.line, _l("The student has no guardian in the file: there is no one to invite.")
        )
    name = clean(named % {"name": family})[:HOUSEHOLD_NAME_MAX]
    roster.households.append(RosterHousehold(key, name, student_ids, guardian_ids))
    for guardian in guardian_ids:
        roster.guardians[guardian].household_keys.append(key)
