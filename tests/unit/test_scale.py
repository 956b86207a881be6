"""The scale generator: `seed-demo --scale N` makes the sizes asked for, with rows the
portal's own rules would accept."""

import random

from sqlalchemy import func, select

from portal.models import (
    ACTIVE_STATUSES,
    ContactPreference,
    Department,
    DepartmentMember,
    Feedback,
    FeedbackTag,
    Guardianship,
    Household,
    Request,
    RequestMessage,
    Role,
    School,
    Student,
    TopicSubscription,
    User,
)
from portal.sample_data import scale
from tests import factories
from tests.conftest import Browser
from tests.search_text import stale_households, stale_search_texts


def count(db, model, *conditions) -> int:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model).where(*conditions)) or 0


def test_seed_demo_with_scale_makes_the_sizes_asked_for(db, runner):
    before = {model: count(db, model) for model in (Request, Household, Feedback)}
    assert before == {Request: 0, Household: 0, Feedback: 0}
    result = runner.invoke(args=["seed-demo", "--scale", "400"])
    assert result.exit_code == 0, result.output
    demo_requests, demo_households = 5, 3  # what seed-demo itself loads
    assert count(db, Request) == 400 + demo_requests
    assert count(db, Household) == round(400 * scale.HOUSEHOLDS_PER_REQUEST) + demo_households
    generated = Household.name.like("% family %")
    assert count(db, Household, generated) == 200
    assert count(db, Feedback) >= round(400 * scale.FEEDBACK_PER_REQUEST)
    assert "Generated 400 requests" in result.output
    # Every generated household has one or two guardians and one to three students.
    per_household = db.execute(
        select(Guardianship.household_id, func.count()).group_by(Guardianship.household_id)
    ).all()
    assert all(1 <= guardians <= 2 for _household, guardians in per_household)
    students = db.execute(select(Student.household_id, func.count()).group_by(Student.household_id)).all()
    assert all(1 <= number <= 3 for _household, number in students)
    # Every guardian has contact preferences and topics, as guardians the portal creates do.
    family_users = count(db, User, User.role == Role.FAMILY)
    assert count(db, ContactPreference) == family_users
    assert count(db, TopicSubscription) >= family_users * 8
    # Each request has its family's first message, and the replied ones a staff reply.
    assert count(db, RequestMessage) >= count(db, Request)
    assert count(db, Request, Request.first_replied_at.is_not(None)) <= count(
        db, RequestMessage, RequestMessage.from_staff.is_(True)
    )


def test_generated_requests_have_running_clocks_only_while_open(db, runner):
    assert runner.invoke(args=["seed-demo", "--scale", "300"]).exit_code == 0
    active = Request.status.in_(ACTIVE_STATUSES)
    assert count(db, Request, ~active, Request.due_at.is_not(None)) == 0
    assert count(db, Request, active, Request.first_replied_at.is_(None), Request.due_at.is_(None)) == 0
    for request in db.scalars(select(Request).where(active, Request.due_at.is_not(None))):
        assert request.due_at >= request.created_at


def test_a_generated_guardian_signs_in_with_the_demo_password(app, db, runner):
    assert runner.invoke(args=["seed-demo", "--scale", "20"]).exit_code == 0
    guardian = db.scalar(select(User).where(User.email.like(f"%@{scale.EMAIL_DOMAIN}")).order_by(User.id).limit(1))
    assert guardian is not None and guardian.role == Role.FAMILY
    browser = Browser(app.test_client(), app)
    assert browser.sign_in(guardian.email, "demo-password").headers["Location"] == "/family/"
    assert browser.get("/requests/").status_code == 200


def test_generating_twice_adds_to_the_district_without_clashing_ids(db, runner):
    assert runner.invoke(args=["seed-demo", "--scale", "50"]).exit_code == 0
    again = runner.invoke(args=["seed-demo", "--scale", "50"])
    assert again.exit_code == 0, again.output
    assert count(db, Request) == 5 + 100
    assert stale_households(db) == {}, "the demo's and both generations' households are searchable"
    assert stale_search_texts(db) == {}, "and so are their requests, messages and feedback"


def test_a_larger_district_has_more_schools_staff_and_tags_and_growing_again_adds_none(db, runner):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    departments = list(db.scalars(select(Department.id)))
    staff = (User.role != Role.FAMILY,)
    for _ in range(2):
        scale.grow_district(db, random.Random(3), requests=12_000, department_ids=departments, password_hash="x")
        db.commit()
        assert count(db, School) == 12_000 // scale.REQUESTS_PER_SCHOOL
        assert count(db, User, *staff) == 12_000 // scale.REQUESTS_PER_STAFF_MEMBER
        assert set(db.scalars(select(FeedbackTag.name))) >= set(scale.TAGS)
    # Every generated staff member answers for one department or two.
    generated = select(User.id).where(User.email.like(f"staff%@{scale.EMAIL_DOMAIN}"))
    memberships = db.execute(
        select(DepartmentMember.user_id, func.count())
        .where(DepartmentMember.user_id.in_(generated))
        .group_by(DepartmentMember.user_id)
    ).all()
    assert memberships and all(1 <= number <= 2 for _user, number in memberships)
    assert len(memberships) == count(db, User, User.id.in_(generated))


def test_growing_skips_the_names_codes_and_emails_already_taken(db):
    """A district with one department, whose import already used a generated school code
    and a generated staff email: growing it clashes with neither."""
    department = factories.make_department(db, "Transportation")
    db.add(School(name="Imported", code="S001"))
    factories.make_user(db, email=f"staff1@{scale.EMAIL_DOMAIN}")
    db.commit()
    scale.grow_district(db, random.Random(5), requests=6_000, department_ids=[department.id], password_hash="x")
    db.commit()
    assert count(db, School) == 6_000 // scale.REQUESTS_PER_SCHOOL
    assert count(db, User, User.role == Role.STAFF) == 6_000 // scale.REQUESTS_PER_STAFF_MEMBER
    assert count(db, School, School.code == "S001") == 1
    assert count(db, DepartmentMember) == count(db, User, User.role == Role.STAFF)
