"""The access log's look read along with a page's household: record_view trusts it only for
the staff member and household it was read for, and only until the session writes."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.db import utcnow
from portal.models import AuditEvent
from portal.services import households, requests
from portal.services.calendar import district_calendar
from portal.services.households import access_log
from tests import factories
from tests.unit.test_sessions import statements_while

IP = "203.0.113.9"


def looks(db) -> int:  # type: ignore[no-untyped-def]
    return db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == access_log.VIEW_ACTION))


def look(db, staff, household, *, minutes_ago: int = 0) -> None:  # type: ignore[no-untyped-def]
    access_log.record_view(
        db, staff, household, "household", now=utcnow() - timedelta(minutes=minutes_ago), ip_address=IP
    )
    db.commit()


def household_read(db, staff, household):  # type: ignore[no-untyped-def]
    return households.household_to_show(db, staff, household.id, now=utcnow())


def request_read(db, staff, household):  # type: ignore[no-untyped-def]
    """The household of a request of it, read as the request's page reads it."""
    department = factories.make_department(db)
    factories.join(db, staff, department)
    new = requests.NewRequest(department_id=department.id, subject="Bus stop", body="Which stop is ours?")
    calendar = district_calendar.load_calendar(db, "America/Los_Angeles")
    guardian = factories.guardians_of(db, household)[0]
    asked, _is_new = requests.submit_request(db, guardian, new, calendar=calendar, now=utcnow())
    db.commit()
    return requests.request_to_show(db, staff, asked.id, now=utcnow()).household


@pytest.fixture(params=[household_read, request_read], ids=["household-page", "request-page"])
def read_as_a_page(request):  # type: ignore[no-untyped-def]
    return request.param


@pytest.mark.parametrize(("minutes_ago", "recorded"), [(1, 1), (9, 1), (11, 2)])
def test_the_look_read_along_decides_without_a_statement(db, read_as_a_page, minutes_ago, recorded):
    staff, household = factories.make_staff(db), factories.make_household(db)
    look(db, staff, household, minutes_ago=minutes_ago)
    shown = read_as_a_page(db, staff, household)
    record = lambda: access_log.record_view(db, staff, shown, "household", now=utcnow(), ip_address=IP)  # noqa: E731
    assert statements_while(db, record) == (None, 0)
    db.commit()
    assert looks(db) == recorded


def test_another_staff_members_look_is_read_from_the_database(db, read_as_a_page):
    dana, sam, household = factories.make_staff(db), factories.make_staff(db), factories.make_household(db)
    look(db, dana, household)
    shown = read_as_a_page(db, dana, household)  # Dana looked lately; Sam never did
    record = lambda: access_log.record_view(db, sam, shown, "household", now=utcnow(), ip_address=IP)  # noqa: E731
    assert statements_while(db, record) == (None, 1)
    db.commit()
    assert looks(db) == 2


def test_a_look_read_along_is_forgotten_once_the_session_writes(db, read_as_a_page):
    staff, household = factories.make_staff(db), factories.make_household(db)
    shown = read_as_a_page(db, staff, household)  # not looked at: the first look is recorded
    access_log.record_view(db, staff, shown, "household", now=utcnow(), ip_address=IP)
    db.flush()
    # The look it wrote is not in what was read: the next one reads the database, and sees it.
    record = lambda: access_log.record_view(db, staff, shown, "household", now=utcnow(), ip_address=IP)  # noqa: E731
    assert statements_while(db, record) == (None, 1)
    db.commit()
    assert looks(db) == 1
