"""Households imported from the student information system's CSV export.

All or nothing: every row is checked first, and one bad row imports nothing, so
a half-imported file never has to be untangled. Importing the same file again
adds only what is new (guardians by email, students by their SIS id).
"""

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.catalogs import lazy_gettext as _l
from portal.models import GuardianRelationship, Household, School, Student, User
from portal.services import accounts, audit, scope
from portal.services.errors import InvalidInput
from portal.services.households import directory, phones

COLUMNS = (
    "household_id",
    "household_name",
    "guardian_name",
    "guardian_email",
    "guardian_phone",
    "guardian_relationship",
    "guardian_language",
    "student_id",
    "student_first_name",
    "student_last_name",
    "school_code",
    "grade",
)
REQUIRED_COLUMNS = ("household_id", "household_name")
MAX_ROWS = 20_000
LIMITS = {
    "household_id": 40,
    "household_name": 120,
    "guardian_name": 120,
    "guardian_email": 254,
    "guardian_phone": 40,
    "student_id": 40,
    "student_first_name": 80,
    "student_last_name": 80,
}


@dataclass
class HouseholdPlan:
    sis_id: str
    name: str
    existing_id: int | None = None
    guardians: list[directory.GuardianDetails] = field(default_factory=list)
    students: list[directory.StudentDetails] = field(default_factory=list)


@dataclass
class ImportPlan:
    households: list[HouseholdPlan] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def new_households(self) -> int:
        return sum(1 for plan in self.households if plan.existing_id is None)

    @property
    def new_guardians(self) -> int:
        return sum(len(plan.guardians) for plan in self.households)

    @property
    def new_students(self) -> int:
        return sum(len(plan.students) for plan in self.households)


def _rows(text: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise InvalidInput(
            _l("The file has no column %(columns)s. The first line must name the columns.", columns=", ".join(missing)),
            field="file",
        )
    reader.fieldnames = header
    rows: list[dict[str, str]] = []
    for row in reader:
        if len(rows) >= MAX_ROWS:
            raise InvalidInput(_l("The file has more than %(count)d rows. Split it.", count=MAX_ROWS), field="file")
        # Columns the importer does not know are ignored, whatever they hold.
        rows.append({name: value.strip() if isinstance(value := row.get(name), str) else "" for name in COLUMNS})
    return header, rows


def plan_import(db: Session, actor: User, text: str, *, languages: tuple[str, ...], region: str) -> ImportPlan:
    """Check every row against the rules and the database; nothing is written."""
    scope.require_admin(actor)
    try:
        _header, rows = _rows(text)
    except csv.Error as error:
        raise InvalidInput(_l("The file is not a readable CSV file."), field="file") from error
    schools = {school.code.upper(): school.id for school in db.scalars(select(School)) if school.code}
    plan = ImportPlan()
    by_sis: dict[str, HouseholdPlan] = {}
    seen_emails: dict[str, str] = {}  # email -> the household_id it was first listed under
    seen_students: set[str] = set()
    for line, row in enumerate(rows, start=2):
        problem = _check_row(row, languages, schools)
        if problem:
            plan.errors.append((line, problem))
            continue
        household = by_sis.get(row["household_id"])
        if household is None:
            existing = db.scalar(select(Household.id).where(Household.sis_id == row["household_id"]))
            household = HouseholdPlan(sis_id=row["household_id"], name=row["household_name"], existing_id=existing)
            by_sis[household.sis_id] = household
            plan.households.append(household)
        try:
            _add_guardian(db, household, row, seen_emails, region)
            _add_student(db, household, row, seen_students, schools)
        except InvalidInput as error:
            plan.errors.append((line, str(error.message)))
    plan.households = [p for p in plan.households if p.existing_id is None or p.guardians or p.students]
    if not rows:
        plan.errors.append((1, str(_l("The file has no rows below its header."))))
    return plan


def _check_row(row: dict[str, str], languages: tuple[str, ...], schools: dict[str, int]) -> str | None:
    for name, value in row.items():
        if len(value) > LIMITS.get(name, 40):
            return str(_l("%(column)s is longer than %(count)d characters.", column=name, count=LIMITS.get(name, 40)))
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            return str(_l("%(column)s contains control characters.", column=name))
    if not row.get("household_id") or not row.get("household_name"):
        return str(_l("household_id and household_name are required on every row."))
    relationship = row.get("guardian_relationship", "").lower()
    if relationship and relationship not in {member.value for member in GuardianRelationship}:
        return str(_l("Unknown guardian_relationship “%(value)s”.", value=relationship))
    language = row.get("guardian_language", "").lower()
    if language and language not in languages:
        return str(_l("Unknown guardian_language “%(value)s”.", value=language))
    code = row.get("school_code", "").upper()
    if code and code not in schools:
        return str(_l("No school has the code “%(value)s”.", value=code))
    grade = row.get("grade", "").upper()
    if grade and grade not in directory.GRADES:
        return str(_l("Unknown grade “%(value)s”.", value=grade))
    return None


def _add_guardian(
    db: Session, household: HouseholdPlan, row: dict[str, str], seen: dict[str, str], region: str
) -> None:
    if not row.get("guardian_email"):
        return
    try:
        email = validate_email(row["guardian_email"], check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise InvalidInput(_l("“%(value)s” is not an email address.", value=row["guardian_email"])) from error
    first_household = seen.setdefault(email, household.sis_id)
    if first_household != household.sis_id:
        # Shared custody: a guardian account belongs to one household here, so the
        # second one is refused with its line, never dropped in silence.
        raise InvalidInput(
            _l(
                "%(email)s is a guardian in household %(first)s too. An account belongs to one household: "
                "give this household's guardian another email address, or list them in one household.",
                email=email,
                first=first_household,
            )
        )
    if any(guardian.email == email for guardian in household.guardians):
        return  # the same guardian on another row of their household (one row per student)
    existing = accounts.find_user_by_email(db, email)
    if existing is not None:
        if household.existing_id is not None and household.existing_id in scope.household_ids_of(db, existing):
            return  # already a guardian of this household: nothing new
        raise InvalidInput(_l("%(email)s already has an account in another household.", email=email))
    phone = row.get("guardian_phone", "")
    household.guardians.append(
        directory.GuardianDetails(
            display_name=row.get("guardian_name") or email,
            email=email,
            relationship=GuardianRelationship(row.get("guardian_relationship", "").lower() or "parent"),
            phone=phones.normalize_phone(phone, region=region) if phone else None,
            language=row.get("guardian_language", "").lower() or "en",
        )
    )


def _add_student(
    db: Session, household: HouseholdPlan, row: dict[str, str], seen: set[str], schools: dict[str, int]
) -> None:
    sis_id = row.get("student_id", "")
    if not sis_id and not row.get("student_first_name"):
        return
    if not sis_id or not row.get("student_first_name") or not row.get("student_last_name"):
        raise InvalidInput(_l("A student needs student_id, student_first_name and student_last_name."))
    if sis_id in seen:
        return
    seen.add(sis_id)
    existing = db.scalar(select(Student.household_id).where(Student.sis_id == sis_id))
    if existing is not None:
        if existing == household.existing_id:
            return
        raise InvalidInput(_l("Student %(id)s belongs to another household.", id=sis_id))
    household.students.append(
        directory.StudentDetails(
            first_name=row["student_first_name"],
            last_name=row["student_last_name"],
            school_id=schools.get(row.get("school_code", "").upper()),
            grade=row.get("grade", "").upper(),
            sis_id=sis_id,
        )
    )


def apply_import(
    db: Session, actor: User, plan: ImportPlan, settings: accounts.InvitationSettings, *, now: datetime
) -> int:
    """Write a checked plan; every new guardian is invited. Returns the invitations queued."""
    scope.require_admin(actor)
    if plan.errors:
        raise InvalidInput(_l("Fix the errors in the file first."), field="file")
    invitations = 0
    for household_plan in plan.households:
        if household_plan.existing_id is None:
            created = directory.create_household(
                db,
                actor,
                household_plan.name,
                household_plan.guardians,
                household_plan.students,
                settings,
                now=now,
                sis_id=household_plan.sis_id,
                allow_no_guardian=True,
            )
            invitations += len(created.invitations)
            continue
        for guardian in household_plan.guardians:
            directory.add_guardian(db, actor, household_plan.existing_id, guardian, settings, now=now)
            invitations += 1
        for student in household_plan.students:
            directory.add_student(db, actor, household_plan.existing_id, student, now=now)
    audit.record(
        db,
        actor,
        "household.imported",
        actor,
        now=now,
        after={"households": len(plan.households), "guardians": plan.new_guardians, "students": plan.new_students},
    )
    return invitations
