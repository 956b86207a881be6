"""The records a OneRoster export is read into: its schools, students, guardians and
the households derived from them, with the rows that could not be used."""

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True, frozen=True)
class RefusedRow:
    """A row not used (in `refused`), or used with a caveat (in `warnings`). Line 1 is the header."""

    file: str
    line: int
    reason: str


@dataclass(slots=True)
class RosterSchool:
    sourced_id: str
    name: str
    identifier: str  # the school's code in the SIS, "" when none
    type: str
    modified: datetime | None = None


@dataclass(slots=True)
class RosterStudent:
    sourced_id: str
    given_name: str  # the preferred name when the export gives one (1.2)
    family_name: str
    grade: str  # a code of oneroster_grades.GRADE_CODES, "" when none could be read
    school_sourced_id: str | None
    identifier: str
    modified: datetime | None = None
    line: int = 0  # in users.csv


@dataclass(slots=True)
class RosterGuardian:
    sourced_id: str
    display_name: str
    family_name: str
    email: str  # lowercased
    phone: str  # as the SIS wrote it, "" when none
    relationship: str  # a GuardianRelationship value
    modified: datetime | None = None
    line: int = 0
    household_keys: list[str] = field(default_factory=list)  # several: shared custody


@dataclass(slots=True)
class RosterHousehold:
    key: str  # stable across imports, for Household.sis_id
    name: str
    student_ids: list[str]
    guardian_ids: list[str]


@dataclass
class Roster:
    """What an export holds for the portal, and what of it could not be used."""

    version: str = ""
    mode: dict[str, str] = field(default_factory=dict)  # file name -> "bulk" or "delta"
    school_year: str | None = None
    schools: list[RosterSchool] = field(default_factory=list)
    households: list[RosterHousehold] = field(default_factory=list)
    students: dict[str, RosterStudent] = field(default_factory=dict)
    guardians: dict[str, RosterGuardian] = field(default_factory=dict)
    deactivated_students: list[str] = field(default_factory=list)
    deactivated_guardians: list[str] = field(default_factory=list)  # a deleted user of no known role is in both
    deactivated_schools: list[str] = field(default_factory=list)
    refused: list[RefusedRow] = field(default_factory=list)
    # Every sourcedId on a row of orgs.csv or users.csv, used or not: a record absent
    # from a bulk file (and only then) was removed in the SIS.
    listed: set[str] = field(default_factory=set)
    warnings: list[RefusedRow] = field(default_factory=list)
    unchanged: int = 0
    not_families: int = 0  # teachers, administrators and other staff

    def shared_custody(self) -> list[str]:
        """The guardians in more than one household."""
        return sorted(guardian.sourced_id for guardian in self.guardians.values() if len(guardian.household_keys) > 1)
