"""services.households.roster_import: a OneRoster export compared with the portal and written.

On the real database of each test; the exports are built from small CSV texts.
"""

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import (
    AuditEvent,
    GuardianRelationship,
    Guardianship,
    Household,
    ImportChange,
    Invitation,
    Notification,
    Role,
    School,
    Student,
    User,
)
from portal.services import accounts, households
from portal.services.households import oneroster, roster_import, roster_write
from tests import factories
from tests.oneroster_exports import USER_HEADER, files, guardian, manifest, student, table
from tests.search_text import stale_households

SETTINGS = accounts.InvitationSettings(secret_key="k" * 40, valid_days=14)

FAMILIES = [
    student("stu-1", "par-1,par-2", grades="KG", identifier="1001"),
    student("stu-2", "par-1,par-2", givenName="Luis", grades="03", orgSourcedIds="sch-2"),
    student("stu-3", "par-3", givenName="Eva", familyName="Smith"),
    guardian("par-1", givenName="Maria", phone="213-555-0143"),
    guardian("par-2", givenName="Jose", role="guardian"),
    guardian("par-3", "stu-4", givenName="Ann", familyName="Smith"),  # shared custody: stu-3 and stu-4
    student("stu-4", "par-4", givenName="Tom", familyName="Smith"),
    guardian("par-4", givenName="Bob", familyName="Jones"),
]


def plan_of(db: Session, users: list[dict[str, str]], **extra: str) -> roster_import.RosterPlan:
    return roster_import.plan(db, oneroster.read_export(files(users, **extra)), region="US")


def write(db: Session, result: roster_import.RosterPlan, *, invite: bool = True, actor: User | None = None) -> list:
    steps = list(roster_write.apply(db, actor, result, now=utcnow(), invitations=SETTINGS if invite else None))
    db.commit()
    return steps


def import_export(db: Session, users: list[dict[str, str]], **extra: str) -> roster_import.RosterPlan:
    result = plan_of(db, users, **extra)
    write(db, result)
    return result


def lines(result: roster_import.RosterPlan, change: ImportChange, record: str) -> list[roster_import.Change]:
    return [line for line in result.changes if line.change == change and line.record == record]


def households_of(db: Session, email: str) -> list[str]:
    statement = (
        select(Household.sis_id)
        .join(Guardianship, Guardianship.household_id == Household.id)
        .join(User, User.id == Guardianship.user_id)
        .where(User.email == email)
        .order_by(Household.sis_id)
    )
    return [key or "" for key in db.scalars(statement)]


def test_a_first_import_creates_schools_households_students_and_invited_guardians(db):
    result = plan_of(db, FAMILIES)
    assert result.counts() == {
        "guardian_new": 4,
        "household_new": 3,
        "school_new": 2,
        "student_new": 4,
    }
    assert db.scalar(select(func.count()).select_from(Student)) == 0, "a plan writes nothing"

    steps = write(db, result)

    assert steps[-1].done == steps[-1].total == result.size
    assert sorted(db.scalars(select(School.name))) == ["Lincoln Elementary", "Roosevelt Middle"]
    ana = db.scalar(select(Student).where(Student.sis_id == "stu-1"))
    luis = db.scalar(select(Student).where(Student.sis_id == "stu-2"))
    assert ana is not None and luis is not None
    assert ana.household_id == luis.household_id and ana.grade == "KG"
    assert db.scalar(select(School.code).where(School.id == luis.school_id)) == "ROO"
    maria = db.scalar(select(User).where(User.email == "par-1@example.org"))
    assert maria is not None
    assert (maria.sis_id, maria.role, maria.phone, maria.password_hash) == ("par-1", Role.FAMILY, "+12135550143", None)
    relationships = dict(
        db.execute(select(User.sis_id, Guardianship.relationship_to_students).join(Guardianship)).all()
    )
    assert relationships["par-2"] == GuardianRelationship.LEGAL_GUARDIAN
    assert db.scalar(select(func.count()).select_from(Invitation)) == 4
    templates = Counter(db.scalars(select(Notification.template)))
    assert templates == {"invitation": 4}
    audited = Counter(db.scalars(select(AuditEvent.action)))
    assert audited["household.created"] == 3 and audited["invitation.issued"] == 4


def test_a_guardian_in_two_families_belongs_to_both_households(db):
    import_export(db, FAMILIES)

    keys = households_of(db, "par-3@example.org")
    assert len(keys) == 2
    smiths = {
        key: set(db.scalars(select(Student.sis_id).join(Household).where(Household.sis_id == key))) for key in keys
    }
    assert sorted(map(sorted, smiths.values())) == [["stu-3"], ["stu-4"]]


def test_importing_the_same_export_again_changes_nothing(db):
    import_export(db, FAMILIES)
    before = db.scalar(select(func.count()).select_from(AuditEvent))

    again = plan_of(db, FAMILIES)

    assert again.counts() == {}
    assert again.size == 0
    write(db, again)
    assert db.scalar(select(func.count()).select_from(Invitation)) == 4, "no one is invited twice"
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_changed_names_grades_and_schools_are_updated_in_place(db):
    import_export(db, FAMILIES)
    ana_id = db.scalar(select(Student.id).where(Student.sis_id == "stu-1"))
    changed = [
        {**row, "grades": "01", "orgSourcedIds": "sch-2"} if row["sourcedId"] == "stu-1" else row for row in FAMILIES
    ]
    changed = [{**row, "givenName": "María"} if row["sourcedId"] == "par-1" else row for row in changed]

    result = plan_of(db, changed)

    assert result.counts() == {"guardian_changed": 1, "student_changed": 1}
    [line] = lines(result, ImportChange.CHANGED, "student")
    assert "grades: KG → 01" in line.detail and "school changed" in line.detail and line.line == 2
    write(db, result)
    ana = db.get(Student, ana_id)
    assert ana is not None
    db.refresh(ana)
    assert ana.grade == "01" and db.get(School, ana.school_id).code == "ROO"
    assert db.scalar(select(User.display_name).where(User.sis_id == "par-1")) == "María Garcia"


def test_a_student_marked_tobedeleted_or_gone_from_a_bulk_file_is_deactivated_not_deleted(db):
    import_export(db, FAMILIES)
    household = db.scalar(select(Student.household_id).where(Student.sis_id == "stu-2"))
    factories.make_department(db, "Transport")
    rows = [{**row, "status": "tobedeleted"} if row["sourcedId"] == "stu-1" else row for row in FAMILIES]
    rows = [row for row in rows if row["sourcedId"] != "stu-2"]  # gone from the bulk file

    result = plan_of(db, rows)

    assert sorted(line.sourced_id for line in lines(result, ImportChange.DEACTIVATED, "student")) == ["stu-1", "stu-2"]
    write(db, result)
    kept = db.execute(select(Student.sis_id, Student.is_active, Student.household_id).order_by(Student.sis_id)).all()
    assert [(sis_id, active) for sis_id, active, _household in kept] == [
        ("stu-1", False),
        ("stu-2", False),
        ("stu-3", True),
        ("stu-4", True),
    ]
    assert kept[1].household_id == household
    assert db.scalar(select(Student.deactivated_at).where(Student.sis_id == "stu-2")) is not None


def test_a_refused_row_of_a_known_student_neither_changes_nor_deactivates_it(db):
    import_export(db, FAMILIES)
    rows = [{**row, "givenName": ""} if row["sourcedId"] == "stu-3" else row for row in FAMILIES]

    result = plan_of(db, rows)

    assert [line.line for line in lines(result, ImportChange.REFUSED, "")] == [4]
    assert not lines(result, ImportChange.DEACTIVATED, "student")


def test_a_delta_file_deactivates_only_what_it_marks(db):
    import_export(db, FAMILIES)
    delta = {
        "manifest.csv": manifest(users="delta", orgs="absent", enrollments="absent"),
        "users.csv": table(USER_HEADER, [{**student("stu-1"), "status": "tobedeleted"}]),
    }
    result = roster_import.plan(db, oneroster.read_export({k: v.encode() for k, v in delta.items()}), region="US")

    assert result.counts() == {"student_deactivated": 1}


def test_a_student_enrolled_again_is_active_again(db):
    import_export(db, FAMILIES)
    import_export(db, [row for row in FAMILIES if row["sourcedId"] != "stu-3"])
    assert db.scalar(select(Student.is_active).where(Student.sis_id == "stu-3")) is False

    result = import_export(db, FAMILIES)

    assert "active again" in lines(result, ImportChange.CHANGED, "student")[0].detail
    assert db.scalar(select(Student.is_active).where(Student.sis_id == "stu-3")) is True


def test_a_family_whose_guardians_change_keeps_its_household_and_history(db):
    import_export(db, FAMILIES)
    household_id = db.scalar(select(Student.household_id).where(Student.sis_id == "stu-1"))
    rows = [
        {**row, "agentSourcedIds": "par-1,par-2,par-5"} if row["sourcedId"] in ("stu-1", "stu-2") else row
        for row in FAMILIES
    ] + [guardian("par-5", givenName="Rosa", role="relative")]

    result = plan_of(db, rows)

    assert result.counts() == {"guardian_new": 1, "household_changed": 1}
    write(db, result)
    assert db.scalar(select(Student.household_id).where(Student.sis_id == "stu-1")) == household_id
    assert households_of(db, "par-5@example.org") == [db.get(Household, household_id).sis_id]


def test_a_guardian_no_longer_linked_in_a_bulk_file_leaves_the_household(db):
    import_export(db, FAMILIES)
    household_id = db.scalar(select(Student.household_id).where(Student.sis_id == "stu-1"))
    rows = [{**row, "agentSourcedIds": "par-1"} if row["sourcedId"] in ("stu-1", "stu-2") else row for row in FAMILIES]
    rows = [row for row in rows if row["sourcedId"] != "par-2"] + [
        {**guardian("par-2", givenName="Jose"), "agentSourcedIds": ""}
    ]

    result = plan_of(db, rows)
    write(db, result)

    assert households_of(db, "par-2@example.org") == []
    assert db.scalar(select(User.is_active).where(User.sis_id == "par-2")) is True, "left, not deactivated"
    assert db.scalar(select(Student.household_id).where(Student.sis_id == "stu-1")) == household_id
    assert "guardian.left" in set(db.scalars(select(AuditEvent.action)))


def test_a_guardian_deleted_in_the_sis_can_no_longer_sign_in(db):
    import_export(db, FAMILIES)
    rows = [{**row, "status": "tobedeleted"} if row["sourcedId"] == "par-4" else row for row in FAMILIES]

    result = import_export(db, rows)

    assert [line.sourced_id for line in lines(result, ImportChange.DEACTIVATED, "guardian")] == ["par-4"]
    assert db.scalar(select(User.is_active).where(User.sis_id == "par-4")) is False


def test_a_guardian_already_in_the_portal_is_matched_by_email(db):
    existing = factories.make_user(db, email="par-4@example.org", name="Bob J.")

    result = import_export(db, FAMILIES)

    assert [line.sourced_id for line in lines(result, ImportChange.CHANGED, "guardian")] == ["par-4"]
    db.refresh(existing)
    assert existing.sis_id == "par-4" and existing.display_name == "Bob Jones"
    assert db.scalar(select(func.count()).select_from(Invitation).where(Invitation.user_id == existing.id)) == 0


def test_a_staff_address_is_never_taken_for_a_guardian(db):
    staff = factories.make_staff(db, email="par-4@example.org")

    result = import_export(db, FAMILIES)

    [refused] = lines(result, ImportChange.REFUSED, "guardian")
    assert refused.sourced_id == "par-4" and refused.line == 9 and "staff" in refused.detail
    db.refresh(staff)
    assert staff.sis_id is None and staff.role == Role.STAFF


def test_an_activated_guardians_address_is_not_changed_by_the_sis(db):
    import_export(db, FAMILIES)
    maria = db.scalar(select(User).where(User.sis_id == "par-1"))
    maria.password_hash = "activated"
    db.commit()
    rows = [{**row, "email": "new@example.org"} if row["sourcedId"] == "par-1" else row for row in FAMILIES]

    result = import_export(db, rows)

    [warning] = lines(result, ImportChange.WARNING, "guardian")
    assert "new@example.org" in warning.detail
    db.refresh(maria)
    assert maria.email == "par-1@example.org"


def test_a_school_gone_from_orgs_is_deactivated(db):
    import_export(db, FAMILIES)
    rows = [{**row, "orgSourcedIds": "sch-1"} for row in FAMILIES]
    org_rows = "sourcedId,status,dateLastModified,name,type,identifier\nsch-1,active,,Lincoln Elementary,school,LIN\n"

    result = import_export(db, rows, orgs_csv=org_rows)

    assert [line.label for line in lines(result, ImportChange.DEACTIVATED, "school")] == ["Roosevelt Middle"]
    assert db.scalar(select(School.is_active).where(School.code == "ROO")) is False


def test_a_school_in_the_portal_is_matched_by_code_and_a_name_taken_by_another_is_told_apart(db):
    lincoln = School(name="Lincoln Elementary School", code="LIN")
    other = School(name="Roosevelt Middle", code="OTHER", sis_id="sch-9")  # another district's, say
    db.add_all([lincoln, other])
    db.commit()

    result = import_export(db, FAMILIES)

    assert [line.label for line in lines(result, ImportChange.CHANGED, "school")] == ["Lincoln Elementary"]
    [new] = lines(result, ImportChange.NEW, "school")
    assert new.label == "Roosevelt Middle (ROO)"
    assert db.scalar(select(func.count()).select_from(School)) == 3


def test_progress_is_reported_in_batches(db, monkeypatch):
    monkeypatch.setattr(roster_write, "BATCH_SIZE", 2)
    result = plan_of(db, FAMILIES)

    steps = write(db, result, invite=False)

    done = [step.done for step in steps]
    assert done == sorted(done) and len(steps) > 6
    assert db.scalar(select(func.count()).select_from(Invitation)) == 0


def test_invitations_expire_as_configured(db):
    now = utcnow()
    import_export(db, FAMILIES)
    expiry = db.scalar(select(func.min(Invitation.expires_at)))
    assert expiry - now >= timedelta(days=SETTINGS.valid_days) - timedelta(minutes=5)


@pytest.mark.parametrize("email", ["PAR-1@EXAMPLE.ORG", " par-1@example.org "])
def test_addresses_are_matched_whatever_their_case_or_spaces(db, email):
    existing = factories.make_user(db, email="par-1@example.org")
    rows = [{**row, "email": email} if row["sourcedId"] == "par-1" else row for row in FAMILIES]

    import_export(db, rows)

    assert db.scalar(select(User.sis_id).where(User.id == existing.id)) == "par-1"


def delta_plan(db: Session, users: list[dict[str, str]]) -> roster_import.RosterPlan:
    export = {
        "manifest.csv": manifest(users="delta", orgs="absent", enrollments="absent"),
        "users.csv": table(USER_HEADER, users),
    }
    return roster_import.plan(db, oneroster.read_export({k: v.encode() for k, v in export.items()}), region="US")


def test_a_delta_with_a_changed_student_keeps_it_in_its_household(db):
    import_export(db, FAMILIES)
    household_id = db.scalar(select(Student.household_id).where(Student.sis_id == "stu-1"))

    result = delta_plan(db, [{**FAMILIES[0], "grades": "01"}])  # its guardians are not in the delta

    assert result.counts() == {"student_changed": 1}
    write(db, result)
    assert db.execute(select(Student.household_id, Student.grade).where(Student.sis_id == "stu-1")).one() == (
        household_id,
        "01",
    )
    assert db.scalar(select(func.count()).select_from(Household)) == 3


def test_a_delta_adding_a_child_to_one_known_guardian_joins_that_guardians_household(db):
    import_export(db, FAMILIES)
    household_id = db.scalar(select(Student.household_id).where(Student.sis_id == "stu-1"))

    result = delta_plan(
        db,
        [
            student("stu-6", givenName="Sofia"),
            guardian("par-1", "stu-1,stu-2,stu-6", givenName="Maria", phone="213-555-0143"),
        ],
    )

    assert result.counts() == {"student_new": 1}
    write(db, result)
    assert db.scalar(select(Student.household_id).where(Student.sis_id == "stu-6")) == household_id
    assert db.scalar(select(func.count()).select_from(Household)) == 3


# --- the households' search text follows names written with UPDATE statements ----------


def staff_finds(db: Session, query: str) -> list[int]:
    staff = db.scalar(select(User).where(User.role == Role.STAFF)) or factories.make_staff(db)
    page = households.search_households(db, staff, query, page=1, page_size=25)
    return [household.id for household in page.items]


def test_the_search_text_follows_renamed_moved_and_departed_people(db):
    import_export(db, FAMILIES)
    assert stale_households(db) == {}
    first = staff_finds(db, "maria garcia")
    rows = [{**row, "givenName": "Mariela"} if row["sourcedId"] == "par-1" else row for row in FAMILIES]
    rows = [{**row, "givenName": "Évangeline"} if row["sourcedId"] == "stu-3" else row for row in rows]
    # Jose leaves the family; Luis, a student, moves to Bob Jones's.
    rows = [{**row, "agentSourcedIds": "par-1"} if row["sourcedId"] == "stu-1" else row for row in rows]
    rows = [{**row, "agentSourcedIds": "par-4"} if row["sourcedId"] == "stu-2" else row for row in rows]
    rows = [row for row in rows if row["sourcedId"] != "par-2"] + [
        {**guardian("par-2", givenName="Jose"), "agentSourcedIds": ""}
    ]
    write(db, plan_of(db, rows))
    assert stale_households(db) == {}
    assert staff_finds(db, "maria garcia") == []
    assert staff_finds(db, "mariela garcia") == first
    assert staff_finds(db, "eva smith") == []  # renamed: the old name is gone
    assert len(staff_finds(db, "evangeline smith")) == 1
    assert staff_finds(db, "jose garcia") == []
    [luis_household] = staff_finds(db, "luis")
    assert luis_household not in first and luis_household in staff_finds(db, "bob jones")
