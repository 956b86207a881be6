"""The one place that scopes family data: nothing of another household is reachable."""

import json
from types import SimpleNamespace

import pytest
from sqlalchemy import bindparam, delete, select
from sqlalchemy.exc import StatementError

from portal.db import utcnow
from portal.models import (
    AccountNote,
    AuditEvent,
    Department,
    DepartmentMember,
    Feedback,
    Guardianship,
    Household,
    NoteCategory,
    Request,
    Student,
)
from portal.services import feedback, requests, scope
from portal.services.calendar import district_calendar
from portal.services.errors import NotAllowed, NotFound
from portal.services.households import data_download
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


# A statement built once names the guardian as a parameter (portal.db, "Statements built once").
OWN_STUDENTS = scope.family_statement(Student).order_by(Student.id)
ONE_STUDENT = scope.family_statement(Student).where(Student.id == bindparam("object_id"))


def test_a_family_statement_built_once_returns_only_the_guardians_own_rows(db, two_households):
    ours, theirs = two_households
    for household in (ours, theirs):
        guardian = factories.guardians_of(db, household)[0]
        found = db.scalars(OWN_STUDENTS, scope.family_parameters(guardian)).all()
        assert [student.id for student in found] == student_ids(db, household)


def test_a_family_statements_parameters_name_only_the_signed_in_guardian(db, two_households):
    ours, theirs = two_households
    guardian = factories.guardians_of(db, ours)[0]
    other = factories.guardians_of(db, theirs)[0]
    # A value given beside them cannot name another guardian.
    smuggled = scope.family_parameters(guardian, **{scope.FAMILY_USER_ID: other.id})
    assert [student.id for student in db.scalars(OWN_STUDENTS, smuggled)] == student_ids(db, ours)
    with pytest.raises(NotAllowed):
        scope.family_parameters(factories.make_staff(db))


def test_a_family_statement_run_without_its_guardian_fails_rather_than_reading_every_row(db, two_households):
    with pytest.raises(StatementError):
        db.scalars(OWN_STUDENTS).all()


def test_family_get_built_answers_like_family_get(db, two_households):
    ours, theirs = two_households
    guardian = factories.guardians_of(db, ours)[0]
    own = student_ids(db, ours)[0]
    assert scope.family_get_built(db, guardian, ONE_STUDENT, Student, own).id == own
    with pytest.raises(NotFound) as missing:
        scope.family_get_built(db, guardian, ONE_STUDENT, Student, 999_999)
    with pytest.raises(NotFound) as other:
        scope.family_get_built(db, guardian, ONE_STUDENT, Student, student_ids(db, theirs)[0])
    assert str(missing.value.message) == str(other.value.message)
    assert other.value.refused and not missing.value.refused


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


def test_household_ids_of_lists_every_household_the_first_joined_first(db, two_households):
    ours, theirs = two_households
    # Shared custody: a guardian of `theirs` joins `ours`, the household made first, later on.
    guardian = factories.guardians_of(db, theirs)[0]
    db.add(Guardianship(household_id=ours.id, user_id=guardian.id))
    db.commit()
    assert ours.id < theirs.id
    assert scope.household_ids_of(db, guardian) == [theirs.id, ours.id]
    assert scope.household_id_of(db, guardian) == theirs.id
    assert {h.id for h in db.scalars(scope.family_select(guardian, Household))} == {ours.id, theirs.id}
    assert scope.family_get(db, guardian, Student, student_ids(db, ours)[0]).household_id == ours.id


def test_household_ids_of_a_guardian_of_one_household_or_none(db, two_households):
    ours, _theirs = two_households
    assert scope.household_ids_of(db, factories.guardians_of(db, ours)[1]) == [ours.id]
    assert scope.household_ids_of(db, factories.make_user(db)) == []


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


# --- what a staff member may see of a family ----------------------------------


@pytest.fixture
def departments_scene(db):
    """Transportation (A) and Counselling (B); a household that asked both and sent
    feedback to both and to nobody in particular; Robin works in A only."""
    now, calendar = utcnow(), district_calendar.load_calendar(db, "America/Los_Angeles")
    a, b = Department(name="Transportation"), Department(name="Counselling")
    db.add_all([a, b])
    db.flush()
    robin = factories.make_staff(db)
    db.add(DepartmentMember(department_id=a.id, user_id=robin.id))
    household = factories.make_household(db)
    guardian = factories.guardians_of(db, household)[0]

    def ask(department):  # type: ignore[no-untyped-def]
        new = requests.NewRequest(department_id=department.id, subject=f"To {department.name}", body="Please.")
        return requests.submit_request(db, guardian, new, calendar=calendar, now=now)[0]

    def send(department):  # type: ignore[no-untyped-def]
        department_id = department.id if department else None
        new = feedback.NewFeedback("question", department_id, school_id=None, rating=None, body="Why?")
        return feedback.submit_from_family(db, guardian, new, now=now)

    scene = SimpleNamespace(
        a=a, b=b, robin=robin, household=household, request_a=ask(a), request_b=ask(b),
        feedback_a=send(a), feedback_b=send(b), unrouted=send(None), now=now,
    )  # fmt: skip
    db.add(AccountNote(household_id=household.id, category=NoteCategory.PICKUP, text="Grandma picks up."))
    db.commit()
    return scene


def test_staff_see_the_requests_and_feedback_of_their_departments_only(db, departments_scene):
    scene = departments_scene
    robin = scope.for_staff(db, scene.robin)
    assert [r.id for r in db.scalars(robin.requests())] == [scene.request_a.id]
    assert [f.id for f in db.scalars(robin.feedback())] == [scene.feedback_a.id]
    assert robin.sees_request_of(scene.a.id) and not robin.sees_request_of(scene.b.id)
    assert not robin.sees_feedback_of(None)


def test_the_triage_group_also_sees_unrouted_feedback(db, departments_scene):
    scene = departments_scene
    feedback.set_triage_department(db, factories.make_admin(db), scene.a.id, now=scene.now)
    robin = scope.for_staff(db, scene.robin)
    assert sorted(f.id for f in db.scalars(robin.feedback())) == sorted([scene.feedback_a.id, scene.unrouted.id])
    assert robin.sees_feedback_of(None)
    # The queue counts the two sides apart; together they are what the scope sees.
    for wanted, total in (
        (feedback.ReviewFilter(status="all"), 2),
        (feedback.ReviewFilter(status="all", department_id=-1), 1),
        (feedback.ReviewFilter(status="all", department_id=scene.a.id), 1),
        (feedback.ReviewFilter(status="closed"), 0),
    ):
        page = feedback.review_queue(db, scene.robin, wanted, time_zone="America/Los_Angeles", page=1, page_size=25)
        assert page.total == len(page.items) == total
    assert len(robin.feedback_parts()) == 2 and scope.for_staff(db, factories.make_staff(db)).feedback_parts() == ()


def test_the_triage_group_is_read_with_the_departments_and_again_when_it_moves(db, departments_scene):
    scene = departments_scene
    admin = factories.make_admin(db)
    sam = factories.make_staff(db)
    db.add(DepartmentMember(department_id=scene.b.id, user_id=sam.id))
    feedback.set_triage_department(db, admin, scene.b.id, now=scene.now)
    db.commit()
    robin = scope.for_staff(db, scene.robin)
    assert not robin.sees_unrouted_feedback and not robin.sees_feedback_of(None)
    assert scene.unrouted.id not in {f.id for f in db.scalars(robin.feedback())}
    assert scope.for_staff(db, sam).sees_unrouted_feedback

    feedback.set_triage_department(db, admin, scene.a.id, now=scene.now)
    assert scope.for_staff(db, scene.robin).sees_unrouted_feedback
    assert not scope.for_staff(db, sam).sees_unrouted_feedback


def test_one_scope_serves_a_session_until_a_membership_changes(db, departments_scene):
    """A page asks for the scope several times (its queue, the pinned safety items, the
    family's other requests): the departments are read once, and read again after any
    change to a membership, a staff member or the triage setting, and after a commit."""
    scene = departments_scene
    first = scope.for_staff(db, scene.robin)
    assert first.department_ids == (scene.a.id,)
    assert scope.for_staff(db, scene.robin) is first
    db.add(AccountNote(household_id=scene.household.id, category=NoteCategory.OTHER, text="Call after 3."))
    db.flush()
    assert scope.for_staff(db, scene.robin) is first

    db.add(DepartmentMember(department_id=scene.b.id, user_id=scene.robin.id))  # pending, not flushed
    again = scope.for_staff(db, scene.robin)
    assert again is not first and sorted(again.department_ids or []) == sorted([scene.a.id, scene.b.id])
    assert scope.for_staff(db, scene.robin) is scope.for_staff(db, scene.robin)

    db.execute(delete(DepartmentMember).where(DepartmentMember.department_id == scene.b.id))
    assert scope.for_staff(db, scene.robin).department_ids == (scene.a.id,)

    shared = scope.for_staff(db, scene.robin)
    db.commit()
    assert scope.for_staff(db, scene.robin) is not shared
    assert scope.for_staff(db, factories.make_admin(db)).department_ids is None


def test_an_administrator_sees_every_department(db, departments_scene):
    scene = departments_scene
    admin = scope.for_staff(db, factories.make_admin(db))
    assert admin.requests_where() is None and admin.feedback_where() is None
    assert len(db.scalars(admin.requests()).all()) == 2
    assert len(db.scalars(admin.feedback()).all()) == 3
    everything = select(AuditEvent).where(AuditEvent.household_id == scene.household.id)
    assert len(db.scalars(admin.household_events(scene.household.id)).all()) == len(db.scalars(everything).all())


def test_a_statement_built_once_reads_what_the_scope_reads_for_every_kind_of_staff(db, departments_scene):
    """StaffScope.built gives each staff member the form of a statement built once that
    reads exactly what their scope's own clauses read: an administrator everything, a
    member their departments', the triage group theirs and the unrouted, a staff member
    in no department nothing."""
    scene = departments_scene
    admin = factories.make_admin(db)
    requests_forms = scope.requests_forms(select(Request).order_by(Request.id))
    feedback_forms = scope.feedback_forms(select(Feedback).order_by(Feedback.id))

    def read_alike(actor: object, requests_seen: int, feedback_seen: int) -> None:
        staff_scope = scope.for_staff(db, actor)  # type: ignore[arg-type]
        built_requests = db.scalars(*staff_scope.built(requests_forms)).all()
        built_feedback = db.scalars(*staff_scope.built(feedback_forms)).all()
        assert built_requests == db.scalars(staff_scope.requests().order_by(Request.id)).all()
        assert built_feedback == db.scalars(staff_scope.feedback().order_by(Feedback.id)).all()
        assert (len(built_requests), len(built_feedback)) == (requests_seen, feedback_seen)

    read_alike(admin, 2, 3)
    read_alike(scene.robin, 1, 1)
    read_alike(factories.make_staff(db), 0, 0)
    feedback.set_triage_department(db, admin, scene.a.id, now=scene.now)
    db.commit()
    read_alike(scene.robin, 1, 2)
    with pytest.raises(StatementError):  # run without the scope's parameter, it fails: it does not read every row
        db.scalars(requests_forms.of_departments).all()
    db.rollback()


def test_a_staff_members_household_history_leaves_out_other_departments_events(db, departments_scene):
    scene = departments_scene
    events = db.scalars(scope.for_staff(db, scene.robin).household_events(scene.household.id)).all()
    about = {(event.object_type, event.object_id) for event in events}
    assert ("request", scene.request_a.id) in about and ("feedback", scene.feedback_a.id) in about
    assert ("request", scene.request_b.id) not in about
    assert ("feedback", scene.feedback_b.id) not in about
    assert "To Counselling" not in repr([(event.before, event.after) for event in events])


def test_a_request_sent_on_to_another_department_takes_its_history_with_it(db, departments_scene):
    scene = departments_scene
    calendar = district_calendar.load_calendar(db, "America/Los_Angeles")
    requests.change_department(db, scene.robin, scene.request_a, scene.b.id, calendar=calendar, now=scene.now)
    db.commit()
    events = db.scalars(scope.for_staff(db, scene.robin).household_events(scene.household.id)).all()
    assert all(event.object_type != "request" for event in events)


def test_staff_scoping_refuses_a_family(db, departments_scene):
    with pytest.raises(NotAllowed):
        scope.for_staff(db, factories.guardians_of(db, departments_scene.household)[0])


def test_a_staff_download_holds_the_same_as_the_staff_scope(db, departments_scene):
    scene = departments_scene
    _household, data = data_download.household_data_for_staff(db, scene.robin, scene.household.id)
    assert [r["subject"] for r in data["requests"]] == ["To Transportation"]
    assert [f["reference"] for f in data["feedback"]] == [scene.feedback_a.reference]
    assert "Counselling" not in json.dumps(data)
    assert [n["text"] for n in data["notes"]] == ["Grandma picks up."]
    (family,) = data_download.household_data(db, factories.guardians_of(db, scene.household)[0])["households"]
    assert len(family["requests"]) == 2 and len(family["feedback"]) == 3
