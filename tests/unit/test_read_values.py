"""Values read without the ORM (portal.db.read_values): the rows, and the names of their
columns, that the ORM gives, what the session has pending flushed first as the ORM
flushes it."""

import pytest
from sqlalchemy import select

from portal.db import read_values, utcnow
from portal.models import Feedback, Request, School
from portal.services import feedback, requests
from portal.services.feedback import review
from portal.services.feedback.intake import NewFeedback
from portal.services.requests import staff_queue
from portal.services.requests.intake import NewRequest
from portal.services.safety import alerts
from tests import factories

SCHOOL_NAMES = select(School.name).order_by(School.name)


def test_what_the_session_has_pending_is_flushed_and_read(db):
    db.add(School(name="Pending School"))

    assert read_values(db, SCHOOL_NAMES).scalars().all() == ["Pending School"]
    assert read_values(db, SCHOOL_NAMES).all() == db.execute(SCHOOL_NAMES).all()


def test_without_autoflush_what_is_pending_waits_as_the_orm_leaves_it(db):
    with db.no_autoflush:
        db.add(School(name="Not flushed"))
        assert read_values(db, SCHOOL_NAMES).all() == db.execute(SCHOOL_NAMES).all() == []
    assert read_values(db, SCHOOL_NAMES).scalars().all() == ["Not flushed"]


@pytest.fixture
def flagged_and_not(db):
    """A request and a feedback each flagged by a safety alert, and one of each not."""
    admin = factories.make_admin(db)
    staff = factories.make_staff(db)
    alerts.add_to_team(db, admin, staff.id, now=utcnow())
    department = factories.make_department(db, "Counseling")
    guardian = factories.guardians_of(db, factories.make_household(db))[0]
    for body in ("My son says he wants to kill himself.", "When does the late bus leave?"):
        requests.submit_request(db, guardian, NewRequest(department.id, "About my son", body), now=utcnow())
        feedback.submit_public(
            db,
            NewFeedback(kind="concern", department_id=None, school_id=None, rating=None, body=body * 2, anonymous=True),
            now=utcnow(),
        )
    db.commit()


@pytest.mark.parametrize(
    ("statement", "model"),
    [(staff_queue._QUEUE_ROWS, Request), (review._QUEUE_ROWS, Feedback)],
    ids=["request queue", "feedback queue"],
)
def test_a_queue_row_read_as_values_is_the_row_the_orm_reads(db, flagged_and_not, statement, model):
    ids = list(db.scalars(select(model.id).order_by(model.id)))
    by_orm = db.execute(statement, {"ids": ids}).all()
    as_values = read_values(db, statement, {"ids": ids}).all()

    # The same names (an expression not labelled is "anon_1" to SQLAlchemy's core) and values.
    assert [row._asdict() for row in as_values] == [row._asdict() for row in by_orm]
    assert sorted(row.flagged for row in as_values) == [False, True]
