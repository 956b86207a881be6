"""services.households.search_text: the names a household is searched by follow every change
made through the ORM (the roster import's UPDATE statements: tests/unit/test_roster_import.py)."""

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Guardianship, Household, Student, User
from portal.services import households
from tests import factories
from tests.search_text import stale_households


def found(db: Session, query: str) -> list[int]:
    staff = db.scalar(select(User).where(User.email == "searcher@example.org")) or factories.make_staff(
        db, email="searcher@example.org"
    )
    return [household.id for household in households.search_households(db, staff, query, page=1, page_size=25).items]


@pytest.fixture
def families(db):
    rivera = factories.make_household(db, name="Rivera family", students=0)
    factories.guardians_of(db, rivera)[0].display_name = "Alex Rivera"
    db.add(Student(household_id=rivera.id, first_name="Sofía", last_name="Rivera", grade="2"))
    other = factories.make_household(db, name="Other family", students=0)
    db.commit()
    return rivera, other


def rename_guardian(db, rivera, other):
    factories.guardians_of(db, rivera)[0].display_name = "Zoë Quintana"
    return "zoe quintana", [rivera.id]


def rename_household(db, rivera, other):
    db.get(Household, rivera.id).name = "Quintana-Rivera family"
    return "quintana", [rivera.id]


def add_student(db, rivera, other):
    db.add(Student(household_id=other.id, first_name="Íñigo", last_name="Quintana", grade="5"))
    return "inigo", [other.id]


def rename_student(db, rivera, other):
    db.scalar(select(Student).where(Student.household_id == rivera.id)).first_name = "Quintín"
    return "quintin rivera", [rivera.id]


def move_student(db, rivera, other):
    db.scalar(select(Student).where(Student.household_id == rivera.id)).household_id = other.id
    return "sofia", [other.id]


def add_guardian(db, rivera, other):
    quintana = factories.make_user(db, name="Dana Quintana")
    db.add(Guardianship(household_id=other.id, user_id=quintana.id))
    return "dana", [other.id]


def remove_guardian(db, rivera, other):
    db.delete(db.scalar(select(Guardianship).where(Guardianship.household_id == rivera.id)))
    return "alex", []


CHANGES: list[Callable[..., tuple[str, list[int]]]] = [
    rename_guardian,
    rename_household,
    add_student,
    rename_student,
    move_student,
    add_guardian,
    remove_guardian,
]


@pytest.mark.parametrize("change", CHANGES, ids=lambda change: change.__name__)
def test_a_household_is_found_by_its_names_as_they_change(db, families, change):
    query, expected = change(db, *families)
    db.commit()
    assert stale_households(db) == {}
    assert found(db, query) == expected


def test_a_new_household_is_found_by_every_name_in_it(db):
    household = factories.make_household(db, name="Nguyễn family", guardians=2, students=2)
    db.commit()
    assert stale_households(db) == {}
    names = [user.display_name for user in factories.guardians_of(db, household)]
    assert {name: found(db, name) for name in [*names, "nguyen"]} == {
        name: [household.id] for name in [*names, "nguyen"]
    }


def test_a_change_rolled_back_leaves_the_search_text_as_it_was(db, families):
    rivera, _other = families
    factories.guardians_of(db, rivera)[0].display_name = "Zoë Quintana"
    db.flush()
    db.rollback()
    assert stale_households(db) == {}
    assert found(db, "quintana") == [] and found(db, "alex rivera") == [rivera.id]


def test_a_row_moved_before_it_was_loaded_again_rewrites_the_household_it_left(db, families):
    rivera, other = families
    student = db.scalar(select(Student).where(Student.household_id == rivera.id))
    membership = db.scalar(select(Guardianship).where(Guardianship.household_id == rivera.id))
    db.expire(student)
    db.expire(membership)
    student.household_id = membership.household_id = other.id
    db.commit()
    assert stale_households(db) == {}
    assert found(db, "sofia") == found(db, "alex") == [other.id]
