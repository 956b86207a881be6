"""The family's own pages, and nothing of anyone else's."""

import pytest
from sqlalchemy import select

from portal.models import GuardianRelationship, Guardianship, Student
from tests import factories
from tests.web.support import password_sign_in, redirects_to_sign_in, submit, text, without_tokens


@pytest.fixture
def households(db):
    school = factories.make_school(db, name="Lincoln Elementary")
    ours = factories.make_household(db, name="Rivera family", guardians=2, students=2, school=school)
    theirs = factories.make_household(db, name="Nguyen family", guardians=1, students=1)
    return {
        "ours": ours,
        "theirs": theirs,
        "guardian": factories.guardians_of(db, ours)[0],
        "other_guardian": factories.guardians_of(db, ours)[1],
        "our_students": list(db.scalars(select(Student).where(Student.household_id == ours.id).order_by(Student.id))),
        "their_student": db.scalar(select(Student).where(Student.household_id == theirs.id)),
    }


@pytest.fixture
def signed_in(client, households):
    password_sign_in(client, households["guardian"].email)
    return client


def test_a_family_sees_its_household_students_and_guardians(signed_in, households):
    page = text(signed_in.get("/family/"))
    assert "Rivera family" in page
    for student in households["our_students"]:
        assert student.full_name in page
        assert f'href="/family/students/{student.id}"' in page
    assert households["other_guardian"].display_name in page
    assert f'{households["guardian"].display_name} <span class="tag">You</span>' in page
    assert f'{households["other_guardian"].display_name} <span class="tag">You</span>' not in page
    assert "Lincoln Elementary" in page
    assert "Nguyen family" not in page
    assert households["their_student"].full_name not in page


def test_a_family_opens_its_students_page(signed_in, households):
    student = households["our_students"][1]
    response = signed_in.get(f"/family/students/{student.id}")
    assert response.status_code == 200
    page = text(response)
    assert student.full_name in page
    assert "Lincoln Elementary" in page
    assert f"Grade {student.grade}" in page  # in words: "Grade 2", never a bare code


def test_family_gets_404_for_other_households_student(signed_in, households):
    response = signed_in.get(f"/family/students/{households['their_student'].id}")
    assert response.status_code == 404
    assert households["their_student"].full_name not in text(response)


def test_another_households_student_and_a_missing_one_look_the_same(signed_in, households):
    their_id = households["their_student"].id
    theirs = signed_in.get(f"/family/students/{their_id}")
    missing = signed_in.get("/family/students/999999")
    assert theirs.status_code == missing.status_code == 404
    # The pages differ only in the address the language switch returns to, and in the CSRF
    # tokens (signed with the second they were made in).
    assert without_tokens(text(theirs)).replace(f"/students/{their_id}", "/students/N") == without_tokens(
        text(missing)
    ).replace("/students/999999", "/students/N")


@pytest.mark.parametrize("path", ["/family/", "/family/students/1"])
def test_family_pages_need_sign_in(client, path):
    assert redirects_to_sign_in(client.get(path))


def test_family_pages_are_not_cached(signed_in):
    assert "no-store" in signed_in.get("/family/").headers["Cache-Control"]


def test_a_guardian_with_no_students_yet_is_told_so(client, db):
    household = factories.make_household(db, students=0)
    password_sign_in(client, factories.guardians_of(db, household)[0].email)
    assert "No students are listed for your household yet" in text(client.get("/family/"))


def test_a_guardian_not_yet_activated_is_shown_as_invited(client, db):
    household = factories.make_household(db, guardians=1)
    pending = factories.make_user(db, activated=False, name="Pending Person")
    db.add(
        Guardianship(household_id=household.id, user_id=pending.id, relationship_to_students=GuardianRelationship.AUNT)
    )
    db.commit()
    password_sign_in(client, factories.guardians_of(db, household)[0].email)
    page = text(client.get("/family/"))
    assert "Pending Person" in page
    assert "Invited, not yet activated" in page
    assert "Aunt" in page


GRADES_IN_WORDS = [
    ("K", "Kindergarten", "Kínder"),
    ("PK", "Prekindergarten", "Prekínder"),
    ("03", "Grade 3", "Grado 3"),
    ("TK", "Transitional kindergarten", "Kínder de transición"),
]


@pytest.mark.parametrize(("stored", "words", "spanish"), GRADES_IN_WORDS)
def test_a_students_grade_reads_in_words_in_the_familys_language(db, signed_in, households, stored, words, spanish):
    student = households["our_students"][0]
    student.grade = stored
    db.commit()
    assert f"· {words}" in text(signed_in.get("/family/"))
    assert words in text(signed_in.get(f"/family/students/{student.id}"))
    submit(signed_in, "/language", {"language": "es", "next": "/family/"}, page="/family/")
    assert spanish in text(signed_in.get(f"/family/students/{student.id}"))
