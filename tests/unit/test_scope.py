"""The one place that scopes family data: nothing of another household is reachable."""

import pytest
from sqlalchemy import select

from portal.models import Guardianship, Household, Student
from portal.services import scope
from portal.services.errors import NotAllowed, NotFound
from tests import factories


@pytest.fixture
def two_households(db):
    ours = factories.make_household(db, guardians=2, students=2)
    theirs = factories.make_household(db, guardians=1, students=3)
    return ours, theirs


def student_ids(db, household):
    return list(db.scalars(select(Student.id).where(Student.household_id == household.id).order_by(Student.id)))


def test_family_select_returns_only_the_actors_own_rows(db, two_households):
    ours, _theirs = two_households
    guardian = factories.guardians_of(db, ours)[1]
    found = db.scalars(scope.family_select(guardian, Student).order_by(Student.id)).all()
    assert [s.id for s in found] == student_ids(db, ours)
    assert [h.id for h in db.scalars(scope.family_select(guardian, Household))] == [ours.id]
    memberships = db.scalars(scope.family_select(guardian, Guardianship)).all()
    assert {m.household_id for m in memberships} == {ours.id}


def test_family_get_returns_the_actors_own_row(db, two_households):
    ours, _theirs = two_households
    guardian = factories.guardians_of(db, ours)[0]
    student_id = student_ids(db, ours)[0]
    assert scope.family_get(db, guardian, Student, student_id).id == student_id
    assert scope.family_get(db, guardian, Household, ours.id).id == ours.id


def test_family_get_answers_not_found_for_another_households_row(db, two_households):
    ours, theirs = two_households
    guardian = factories.guardians_of(db, ours)[0]
    for student_id in student_ids(db, theirs):
        with pytest.raises(NotFound):
            scope.family_get(db, guardian, Student, student_id)
    with pytest.raises(NotFound):
        scope.family_get(db, guardian, Household, theirs.id)


def test_family_get_answers_the_same_for_a_missing_row_and_another_households(db, two_households):
    ours, theirs = two_households
    guardian = factories.guardians_of(db, ours)[0]
    with pytest.raises(NotFound) as missing:
        scope.family_get(db, guardian, Student, 999_999)
    with pytest.raises(NotFound) as other:
        scope.family_get(db, guardian, Student, student_ids(db, theirs)[0])
    assert str(missing.value.message) == str(other.value.message)


def test_a_family_account_without_a_household_sees_nothing(db, two_households):
    loner = factories.make_user(db)
    assert db.scalars(scope.family_select(loner, Student)).all() == []
    assert scope.household_id_of(db, loner) is None


@pytest.mark.parametrize("make", [factories.make_staff, factories.make_admin])
def test_family_scoping_refuses_staff_and_admins(db, two_households, make):
    # Staff have their own services; a family query run as staff is a programming error.
    ours, _theirs = two_households
    with pytest.raises(NotAllowed):
        scope.family_select(make(db), Student)
    with pytest.raises(NotAllowed):
        scope.family_get(db, make(db), Household, ours.id)


def test_household_id_of_a_guardian(db, two_households):
    ours, _theirs = two_households
    assert scope.household_id_of(db, factories.guardians_of(db, ours)[0]) == ours.id


def test_require_staff_lets_staff_and_admins_through(db):
    scope.require_staff(factories.make_staff(db))
    scope.require_staff(factories.make_admin(db))
    with pytest.raises(NotAllowed):
        scope.require_staff(factories.make_user(db))


def test_require_admin_lets_only_admins_through(db):
    scope.require_admin(factories.make_admin(db))
    for user in (factories.make_staff(db), factories.make_user(db)):
        with pytest.raises(NotAllowed):
            scope.require_admin(user)
