"""A roster plan (roster_import.plan) written into the portal in batches, yielding after
each so that the caller commits and shows progress: a district's export is written in
many short transactions. An interrupted write is finished by importing the same export
again, since every record is found by its key. New guardians are invited (their emails
queued); every change is in the audit trail, against its household. Names written with
UPDATE statements are followed by the households' search text here (what is written
through the ORM, by search_text's flush listener).
"""

from collections.abc import Iterator
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from portal.catalogs import lazy_gettext as _l
from portal.models import GuardianRelationship, Guardianship, Household, Role, School, Student, User
from portal.services import accounts, audit
from portal.services.households import contacts, search_text
from portal.services.households.oneroster import RosterGuardian
from portal.services.households.roster_import import Progress, RosterPlan

BATCH_SIZE = 1000
ItemT = TypeVar("ItemT")


def apply(
    db: Session,
    actor: User | None,
    result: RosterPlan,
    *,
    now: datetime,
    invitations: accounts.InvitationSettings | None,
    import_job_id: int | None = None,
) -> Iterator[Progress]:
    """Write a plan, yielding after each batch: the caller commits there, so a district's
    export is written in many short transactions. New guardians are invited when
    `invitations` is given (the emails are queued, the worker sends them). `actor` None is
    the command line."""
    writer = _Writer(db, actor, result, now, invitations, import_job_id)
    yield from writer.schools()
    yield from writer.households()
    yield from writer.guardians()
    yield from writer.students()
    yield from writer.links()
    if import_job_id is not None:
        audit.record_row(db, actor, "roster.imported", "import_job", import_job_id, now=now, after=result.counts())
    yield writer.progress(str(_l("Done")), 0)


def _batches(items: list[ItemT]) -> Iterator[list[ItemT]]:
    for start in range(0, len(items), BATCH_SIZE):
        yield items[start : start + BATCH_SIZE]


class _Writer:
    def __init__(
        self,
        db: Session,
        actor: User | None,
        result: RosterPlan,
        now: datetime,
        invitations: accounts.InvitationSettings | None,
        import_job_id: int | None,
    ) -> None:
        self.db, self.actor, self.result, self.now = db, actor, result, now
        self.invitations, self.import_job_id = invitations, import_job_id
        self.done, self.total = 0, result.size
        self.household_ids: dict[str, int] = {}
        self.user_ids: dict[str, int] = {}

    def progress(self, phase: str, count: int) -> Progress:
        self.done += count
        return Progress(phase, self.done, self.total)

    def record(self, action: str, model: type[Any], row_id: int, household_id: int | None, **after: object) -> None:
        table = str(model.__tablename__)
        audit.record_row(
            self.db, self.actor, action, table, row_id, now=self.now, household_id=household_id, after=dict(after)
        )

    def schools(self) -> Iterator[Progress]:
        db, phase = self.db, str(_l("Schools"))
        for known_id, school, name, code in self.result.schools:
            values = {"name": name, "code": code, "sis_id": school.sourced_id, "is_active": True}
            if known_id is None:
                db.add(School(**values))
            else:
                db.execute(update(School).where(School.id == known_id).values(**values))
        if self.result.schools_deactivated:
            db.execute(update(School).where(School.id.in_(self.result.schools_deactivated)).values(is_active=False))
        db.flush()
        yield self.progress(phase, len(self.result.schools) + len(self.result.schools_deactivated))

    def households(self) -> Iterator[Progress]:
        db, result, phase = self.db, self.result, str(_l("Households"))
        if result.rekeyed:  # in two steps: a key may move from one kept household to another
            db.execute(update(Household).where(Household.id.in_(list(result.rekeyed))).values(sis_id=None))
            for household_id, key in result.rekeyed.items():
                db.execute(update(Household).where(Household.id == household_id).values(sis_id=key))
        records = {household.key: household for household in result.roster.households}
        self.household_ids = {key: kept for key, kept in result.households.items() if kept is not None}
        for batch in _batches([key for key, kept in result.households.items() if kept is None]):
            created = [Household(name=records[key].name, sis_id=key, created_at=self.now) for key in batch]
            db.add_all(created)
            db.flush()
            for household in created:
                self.household_ids[household.sis_id or ""] = household.id
                self.record("household.created", Household, household.id, household.id, name=household.name)
            yield self.progress(phase, len(batch))
        yield self.progress(phase, len(result.rekeyed))

    def guardians(self) -> Iterator[Progress]:
        db, result, phase = self.db, self.result, str(_l("Guardians"))
        self.user_ids = dict(
            db.execute(select(User.sis_id, User.id).where(User.sis_id.is_not(None))).all()  # type: ignore[arg-type]
        )
        for batch in _batches(result.guardians):
            created: list[tuple[User, RosterGuardian]] = []
            updated: list[int] = []
            for planned in batch:
                record = planned.record
                if planned.user_id is None:
                    user = User(
                        email=record.email,
                        display_name=record.display_name,
                        phone=planned.phone,
                        role=Role.FAMILY,
                        sis_id=record.sourced_id,
                        created_at=self.now,
                    )
                    db.add(user)
                    created.append((user, record))
                    continue
                values: dict[str, object] = {
                    "display_name": record.display_name,
                    "phone": planned.phone,
                    "sis_id": record.sourced_id,
                    "is_active": True,
                }
                if planned.set_email:
                    values["email"] = record.email
                db.execute(update(User).where(User.id == planned.user_id).values(**values))
                updated.append(planned.user_id)
                self.user_ids[record.sourced_id] = planned.user_id
                self.record("guardian.updated", User, planned.user_id, None, **{k: str(v) for k, v in values.items()})
            db.flush()
            if updated:
                search_text.refresh_for_guardians(db.connection(), updated)
            for user, record in created:
                self.user_ids[record.sourced_id] = user.id
                contacts.start_preferences(db, user, mobile_phone=user.phone)
            if self.invitations is not None and created:
                invited = [(user, self.household_ids.get(record.household_keys[0])) for user, record in created]
                accounts.invite_new_accounts(
                    db, self.actor, invited, self.invitations, now=self.now, import_job_id=self.import_job_id
                )
            db.flush()
            yield self.progress(phase, len(batch))
        for ids in _batches(result.guardians_deactivated):
            db.execute(update(User).where(User.id.in_(ids)).values(is_active=False))
            for user_id in ids:
                self.record("guardian.deactivated", User, user_id, None)
            yield self.progress(phase, len(ids))

    def students(self) -> Iterator[Progress]:
        db, result, phase = self.db, self.result, str(_l("Students"))
        schools = dict(db.execute(select(School.sis_id, School.id).where(School.sis_id.is_not(None))).all())
        household_of = {student: h.key for h in result.roster.households for student in h.student_ids}
        for batch in _batches(result.students):
            known_ids = [known_id for known_id, _student in batch if known_id is not None]
            # The households the batch's students leave, and those they join.
            touched = set(db.scalars(select(Student.household_id).where(Student.id.in_(known_ids))))
            for known_id, student in batch:
                household_id = self.household_ids[household_of[student.sourced_id]]
                touched.add(household_id)
                values = {
                    "first_name": student.given_name,
                    "last_name": student.family_name,
                    "grade": student.grade,
                    "school_id": schools.get(student.school_sourced_id or ""),
                    "household_id": household_id,
                    "is_active": True,
                    "deactivated_at": None,
                }
                if known_id is None:
                    db.add(Student(sis_id=student.sourced_id, **values))
                    continue
                db.execute(update(Student).where(Student.id == known_id).values(**values))
                name = f"{student.given_name} {student.family_name}"
                self.record("student.updated", Student, known_id, household_id, name=name, grade=student.grade)
            db.flush()
            search_text.refresh(db.connection(), touched)
            yield self.progress(phase, len(batch))
        for ids in _batches(result.students_deactivated):
            rows = db.execute(
                update(Student)
                .where(Student.id.in_(ids))
                .values(is_active=False, deactivated_at=self.now)
                .returning(Student.id, Student.household_id)
            )
            for student_id, household_id in rows:
                self.record("student.deactivated", Student, student_id, household_id)
            yield self.progress(phase, len(ids))

    def links(self) -> Iterator[Progress]:
        db, result, phase = self.db, self.result, str(_l("Guardians in households"))
        guardians = result.roster.guardians
        for batch in _batches(result.links_added):
            for key, sourced_id in batch:
                household_id, user_id = self.household_ids[key], self.user_ids[sourced_id]
                relationship = GuardianRelationship(guardians[sourced_id].relationship)
                db.add(
                    Guardianship(
                        household_id=household_id,
                        user_id=user_id,
                        relationship_to_students=relationship,
                        created_at=self.now,
                    )
                )
                self.record("guardian.joined", User, user_id, household_id)
            db.flush()
            yield self.progress(phase, len(batch))
        for removed in _batches(result.links_removed):
            for household_id, user_id in removed:
                db.execute(
                    delete(Guardianship).where(
                        Guardianship.household_id == household_id, Guardianship.user_id == user_id
                    )
                )
                self.record("guardian.left", User, user_id, household_id)
            search_text.refresh(db.connection(), {household_id for household_id, _user_id in removed})
            yield self.progress(phase, len(removed))
