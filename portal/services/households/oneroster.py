"""OneRoster 1.1 and 1.2 CSV exports, read into schools, students, guardians and households.

A pure reader: no database, nothing is written. The student information system (SIS)
exports a zip (manifest.csv, orgs.csv, users.csv, enrollments.csv, in 1.2 roles.csv), or
the files are given one by one. What cannot be used is reported row by row (file,
physical line, reason) for the district to fix in its SIS; only an export that cannot be
read at all is refused, with InvalidInput on the "file" field. Files are streamed row by
row, and only the few fields the portal uses are kept.

Households. OneRoster has none: they are derived from the links between students and
guardians (agentSourcedIds, on the student's row, the guardian's row or both; the two are
joined). A student's family is the set of its guardians, and students with the same set
are one household. A guardian in the sets of several households (separated parents, each
with a new partner) belongs to each of them: shared custody never merges two families. A
student with no guardian is a household of its own, with no one to invite (a warning in a
bulk file; in a delta its guardians may be in an earlier import).
The key is "or-" and a hash of the sorted guardian sourcedIds (of the student's sourcedId
when it has no guardian): the same families read again, in any row order, have the same
keys, and a new sibling joins its household; a guardian added to or removed from a family
makes it a new household. It is named after the family name of its first guardian.

Rows. A second row with a sourcedId already read is refused (the first counts). Status
tobedeleted (inactive in 1.0) is a deactivation, listed by sourcedId. With `since`, rows
last modified at or before it are unchanged: counted, neither returned nor reported, but
their links still count, so households and keys are those of a full read; only households
with a changed member are returned. A guardian needs an email address (it is how they are
invited). Names, emails and phones longer than our columns are refused, not cut; control
characters are removed. An unreadable grade keeps the student without a grade (a
warning). A link to someone not in a bulk users.csv is a warning (in a delta they may be
known from an earlier import). A student's school is its primary active student
enrollment, else any (the smallest school sourcedId), else the first school among its
orgs (primaryOrgSourcedId, roles.csv, orgSourcedIds). The school year is the latest
schoolYear in academicSessions.csv. demographics.csv is only checked to be readable.
"""

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from portal.catalogs import lazy_gettext as _l
from portal.services.households.oneroster_files import (
    MAX_MEMBERS as MAX_MEMBERS,  # re-exported
)
from portal.services.households.oneroster_files import (
    MAX_UNCOMPRESSED_BYTES as MAX_UNCOMPRESSED_BYTES,  # re-exported
)
from portal.services.households.oneroster_files import (
    Opener,
    Table,
    clean,
    email_address,
    export_files,
    moment,
    refusal,
    split_ids,
    too_long,
)
from portal.services.households.oneroster_grades import grade_label as grade_label  # re-exported
from portal.services.households.oneroster_grades import normalize_grade as normalize_grade  # re-exported
from portal.services.households.oneroster_households import derive_households
from portal.services.households.oneroster_records import (
    RefusedRow,
    Roster,
    RosterGuardian,
    RosterHousehold,
    RosterSchool,
    RosterStudent,
)

__all__ = [
    "MAX_ENROLLMENTS",
    "MAX_MEMBERS",
    "MAX_ORGS",
    "MAX_ROLES",
    "MAX_UNCOMPRESSED_BYTES",
    "MAX_USERS",
    "RefusedRow",
    "Roster",
    "RosterGuardian",
    "RosterHousehold",
    "RosterSchool",
    "RosterStudent",
    "grade_label",
    "normalize_grade",
    "read_export",
]

MAX_MANIFEST_ROWS = 100
MAX_ORGS = 20_000
MAX_USERS = 500_000
MAX_ROLES = 2_000_000
MAX_ENROLLMENTS = 3_000_000
MAX_OTHER_ROWS = 500_000  # demographics.csv, academicSessions.csv
# The columns the portal saves these into.
ID_MAX, NAME_MAX, DISPLAY_NAME_MAX, EMAIL_MAX, PHONE_MAX = 40, 80, 120, 254, 40
SCHOOL_NAME_MAX, SCHOOL_CODE_MAX = 120, 20

GUARDIAN_ROLES = {"parent": "parent", "guardian": "legal_guardian", "relative": "other"}  # -> GuardianRelationship
STAFF_ROLES = frozenset(
    {"administrator", "aide", "proctor", "teacher"}
    | {"districtadministrator", "principal", "siteadministrator", "systemadministrator"}  # 1.2
)
# Of a 1.2 user's several roles, the one that counts: a family role first, then the primary one.
_ROLE_RANK = {"student": 0, "parent": 1, "guardian": 2, "relative": 3}
DELETED = frozenset({"tobedeleted", "inactive"})


def read_export(source: bytes | Mapping[str, bytes], *, since: datetime | None = None) -> Roster:
    """An export (the zip's bytes, or file name -> contents) read, or InvalidInput when it cannot be."""
    reader = _Reader(export_files(source), since)
    reader.manifest()
    for name, step in reader.steps():
        if name in reader.roster.mode:
            step(Table(name, reader.files[name], *_FILES[name]))
    return reader.finish()


class _UserRow(NamedTuple):
    """The columns of users.csv that are used; the field names are the lowercased column names."""

    sourcedid: str
    status: str
    datelastmodified: str
    role: str
    givenname: str
    familyname: str
    preferredgivenname: str
    preferredfamilyname: str
    email: str
    phone: str
    sms: str
    grades: str
    orgsourcedids: str
    primaryorgsourcedid: str
    agentsourcedids: str
    identifier: str


_ORG_COLUMNS = ("sourcedid", "status", "datelastmodified", "name", "type", "identifier")
_ROLE_COLUMNS = ("usersourcedid", "status", "role", "roletype", "orgsourcedid")
_ENROLLMENT_COLUMNS = ("usersourcedid", "schoolsourcedid", "status", "role", "primary")
_SESSION_COLUMNS = ("type", "status", "schoolyear")
_FILES = {  # file: (required columns, row limit)
    "orgs.csv": (("sourcedid", "name", "type"), MAX_ORGS),
    "roles.csv": (("usersourcedid", "role"), MAX_ROLES),
    "users.csv": (("sourcedid", "givenname", "familyname", "email", "agentsourcedids"), MAX_USERS),
    "enrollments.csv": (("sourcedid", "usersourcedid", "schoolsourcedid", "role"), MAX_ENROLLMENTS),
    "demographics.csv": (("sourcedid",), MAX_OTHER_ROWS),
    "academicsessions.csv": (("sourcedid", "type", "schoolyear"), MAX_OTHER_ROWS),
}


@dataclass(slots=True)
class _Row:
    """Where a row is, and whether it is reported."""

    file: str
    line: int
    quiet: bool = False  # unchanged since `since`: used, not reported
    deleted: bool = False
    modified: datetime | None = None


class _Reader:
    """One export being read: what has been kept so far, and what was refused."""

    def __init__(self, files: dict[str, Opener], since: datetime | None) -> None:
        self.files = files
        self.since = since.replace(tzinfo=UTC) if since and since.tzinfo is None else since
        self.roster = Roster()
        self.school_ids: set[str] = set()
        self.user_ids: set[str] = set()
        self.roles: dict[str, tuple[int, str, str]] = {}  # user -> (rank, role, org)
        self.agents: dict[str, tuple[str, ...]] = {}
        self.emails: dict[str, str] = {}
        self.enrolled: dict[str, bool] = {}  # student -> its school is from a primary enrollment
        self.quiet: set[str] = set()

    def steps(self) -> tuple[tuple[str, Callable[[Table], None]], ...]:
        return (
            ("orgs.csv", self.orgs),
            ("roles.csv", self.read_roles),
            ("users.csv", self.users),
            ("enrollments.csv", self.enrollments),
            ("demographics.csv", self.demographics),
            ("academicsessions.csv", self.sessions),
        )

    def refuse(self, row: _Row, reason: object, *, warning: bool = False) -> None:
        if not row.quiet:
            (self.roster.warnings if warning else self.roster.refused).append(
                RefusedRow(row.file, row.line, str(reason))
            )

    def warn(self, row: _Row, reason: object) -> None:
        self.refuse(row, reason, warning=True)

    def manifest(self) -> None:
        roster, files = self.roster, self.files
        roster.version = "1.2" if "roles.csv" in files else "1.1"
        listed: set[str] = set()
        if "manifest.csv" in files:
            table = Table("manifest.csv", files["manifest.csv"], ("propertyname", "value"), MAX_MANIFEST_ROWS)
            pick = table.fields(("propertyname", "value"))
            for _line, row in table.rows():
                name, value = (text.strip().lower() for text in pick(row))
                if name == "oneroster.version" and value:
                    roster.version = clean(value)[:10]
                elif name.startswith("file."):
                    listed.add(file := name.removeprefix("file.") + ".csv")
                    if value not in ("bulk", "delta", "absent"):
                        raise refusal(
                            _l("manifest.csv: %(name)s must be bulk, delta or absent.", name=clean(name)[:60])
                        )
                    if value != "absent" and file not in files:
                        raise refusal(
                            _l("manifest.csv lists %(file)s, but the export has no such file.", file=clean(file)[:60])
                        )
                    if value != "absent":
                        roster.mode[file] = value
        elif "users.csv" not in files:
            raise refusal(_l("The export has no users.csv. Choose the OneRoster .zip file the SIS exported."))
        for name, _step in self.steps():
            if name in files and name not in listed:
                roster.mode[name] = "bulk"

    def start(self, row: _Row, sourced_id: str, status: str, stamp: str, seen: set[str]) -> bool:
        """Whether the row goes on to be read: its id, status and date are fine; sets its date and status."""
        try:
            row.modified = moment(stamp)
        except ValueError:
            self.refuse(row, _l("dateLastModified “%(value)s” is not a date.", value=clean(stamp)[:40]))
            return False
        if sourced_id:
            self.roster.listed.add(sourced_id[:ID_MAX])
        row.quiet = bool(self.since and row.modified and row.modified <= self.since)
        self.roster.unchanged += row.quiet
        status = status.lower()
        if not sourced_id:
            self.refuse(row, _l("The row has no sourcedId."))
        elif len(sourced_id) > ID_MAX:
            self.refuse(row, too_long("sourcedId", sourced_id, ID_MAX))
        elif sourced_id in seen:
            self.refuse(row, _l("sourcedId %(id)s is on an earlier row too.", id=sourced_id))
        elif status not in ("", "active", *DELETED):
            self.refuse(row, _l("Unknown status “%(value)s”.", value=clean(status)[:40]))
        else:
            seen.add(sourced_id)
            if row.quiet:
                self.quiet.add(sourced_id)
            row.deleted = status in DELETED
            return True
        return False

    def orgs(self, table: Table) -> None:
        seen: set[str] = set()
        pick = table.fields(_ORG_COLUMNS)
        for line, raw in table.rows():
            sourced_id, status, stamp, name, kind, code = map(str.strip, pick(raw))
            if not self.start(row := _Row(table.name, line), sourced_id, status, stamp, seen):
                continue
            if row.deleted:
                if not row.quiet:
                    self.roster.deactivated_schools.append(sourced_id)
                continue
            name, code, kind = clean(name), clean(code), kind.lower()
            if not name:
                self.refuse(row, _l("The org has no name."))
            elif problem := too_long("name", name, SCHOOL_NAME_MAX) or too_long("identifier", code, SCHOOL_CODE_MAX):
                self.refuse(row, problem)
            elif kind == "school":
                self.school_ids.add(sourced_id)
                if not row.quiet:
                    self.roster.schools.append(RosterSchool(sourced_id, name, code, kind, row.modified))

    def read_roles(self, table: Table) -> None:
        pick = table.fields(_ROLE_COLUMNS)
        for line, raw in table.rows():
            user, status, role, kind, org = map(str.strip, pick(raw))
            if status.lower() in DELETED:
                continue
            if not user or not role:
                self.refuse(_Row(table.name, line), _l("A role needs a userSourcedId and a role."))
                continue
            role = sys.intern(role.lower())
            rank = _ROLE_RANK.get(role, len(_ROLE_RANK)) * 2 + (kind.lower() != "primary")
            if user not in self.roles or rank < self.roles[user][0]:
                self.roles[user] = (rank, role, org)

    def users(self, table: Table) -> None:
        if "roles.csv" not in self.roster.mode and "role" not in table.columns:
            raise refusal(_l("%(file)s has no column %(columns)s.", file=table.name, columns="role"))
        pick = table.fields(_UserRow._fields)
        for line, raw in table.rows():
            user = _UserRow._make(map(str.strip, pick(raw)))
            if not self.start(
                row := _Row(table.name, line), user.sourcedid, user.status, user.datelastmodified, self.user_ids
            ):
                continue
            _rank, role, org = self.roles.get(user.sourcedid) or (0, user.role.lower(), "")  # 1.2, else 1.1
            if row.deleted:
                if not row.quiet:
                    self.deactivate(user.sourcedid, role)
            elif role in STAFF_ROLES:
                self.roster.not_families += not row.quiet
            elif role == "student":
                self.student(user, row, org)
            elif role in GUARDIAN_ROLES:
                self.guardian(user, row, GUARDIAN_ROLES[role])
            else:
                self.refuse(row, _l("Unknown role “%(value)s”.", value=clean(role)[:40]) if role else _l("No role."))

    def deactivate(self, sourced_id: str, role: str) -> None:
        if role not in GUARDIAN_ROLES and role not in STAFF_ROLES:
            self.roster.deactivated_students.append(sourced_id)
        if role != "student" and role not in STAFF_ROLES:
            self.roster.deactivated_guardians.append(sourced_id)

    def student(self, user: _UserRow, row: _Row, role_org: str) -> None:
        given, family = (
            clean(user.preferredgivenname or user.givenname),
            clean(user.preferredfamilyname or user.familyname),
        )
        if not given or not family:
            return self.refuse(row, _l("A student needs a given name and a family name."))
        if problem := too_long("givenName", given, NAME_MAX) or too_long("familyName", family, NAME_MAX):
            return self.refuse(row, problem)
        grades = split_ids(user.grades)
        grade = next((code for raw in grades if (code := normalize_grade(raw))), "")
        if grades and not grade:
            self.warn(
                row,
                _l(
                    "Grade “%(value)s” is not a OneRoster grade: the student is kept without one.",
                    value=clean(grades[0])[:20],
                ),
            )
        orgs = (user.primaryorgsourcedid, role_org, *split_ids(user.orgsourcedids))
        school = next((org for org in orgs if org in self.school_ids), None)
        self.roster.students[user.sourcedid] = RosterStudent(
            user.sourcedid, given, family, grade, school, clean(user.identifier), row.modified, row.line
        )
        self.link(user)

    def guardian(self, user: _UserRow, row: _Row, relationship: str) -> None:
        typed = clean(user.email)
        if problem := too_long("email", typed, EMAIL_MAX):
            return self.refuse(row, problem)
        if not (email := email_address(typed)):
            reason = _l("A guardian needs an email address to be invited; “%(value)s” is not one.", value=typed)
            return self.refuse(row, reason if typed else _l("A guardian needs an email address to be invited."))
        given, family, phone = clean(user.givenname), clean(user.familyname), clean(user.phone or user.sms)
        name = f"{given} {family}".strip() or email
        if problem := too_long("name", name, DISPLAY_NAME_MAX) or too_long("phone", phone, PHONE_MAX):
            return self.refuse(row, problem)
        if (other := self.emails.setdefault(email, user.sourcedid)) != user.sourcedid:
            self.warn(row, _l("Guardian %(id)s has the same email address.", id=other))
        self.roster.guardians[user.sourcedid] = RosterGuardian(
            user.sourcedid, name, family, email, phone, relationship, row.modified, row.line
        )
        self.link(user)

    def link(self, user: _UserRow) -> None:
        if ids := split_ids(user.agentsourcedids):
            self.agents[user.sourcedid] = ids

    def enrollments(self, table: Table) -> None:
        check_school = self.roster.mode.get("orgs.csv") == "bulk"
        pick = table.fields(_ENROLLMENT_COLUMNS)
        for line, raw in table.rows():
            user, school, status, role, primary_text = map(str.strip, pick(raw))
            if role.lower() != "student" or status.lower() in DELETED:
                continue
            if (student := self.roster.students.get(user)) is None:
                continue  # not a student read from users.csv: refused there, deleted, or not in this export
            row = _Row(table.name, line, user in self.quiet)
            if not school or (check_school and school not in self.school_ids):
                self.warn(row, _l("The enrollment's school “%(id)s” is not in orgs.csv.", id=school[:ID_MAX]))
                continue
            primary, current = primary_text.lower() == "true", self.enrolled.get(user)
            better = current is None or primary > current
            if better or (primary == current and school < (student.school_sourced_id or "")):
                student.school_sourced_id, self.enrolled[user] = school, primary

    def demographics(self, table: Table) -> None:
        for _row in table.rows():
            pass  # nothing personal is kept: the file is only checked to be readable

    def sessions(self, table: Table) -> None:
        pick = table.fields(_SESSION_COLUMNS)
        for line, raw in table.rows():
            kind, status, year = map(str.strip, pick(raw))
            if kind.lower() != "schoolyear" or status.lower() in DELETED:
                continue
            if len(year) == 4 and year.isascii() and year.isdigit():
                self.roster.school_year = max(self.roster.school_year or year, year)
            else:
                self.refuse(_Row(table.name, line), _l("schoolYear is not a year."))

    def finish(self) -> Roster:
        roster = self.roster
        derive_households(roster, self.agents, self.user_ids, self.quiet)
        if self.quiet:
            roster.households = [
                h for h in roster.households if not self.quiet.issuperset(h.student_ids + h.guardian_ids)
            ]
            roster.students = {key: record for key, record in roster.students.items() if key not in self.quiet}
            roster.guardians = {key: record for key, record in roster.guardians.items() if key not in self.quiet}
        return roster
