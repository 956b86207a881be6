"""What a family comes back for (requests.overview): the open requests of every household
of the guardian, the overdue first and then by due time, and the answers not yet replied to."""

from datetime import timedelta

import pytest

from portal.db import utcnow
from portal.models import GuardianRelationship, Guardianship, RequestStatus
from portal.services import requests
from portal.services.calendar import district_calendar
from portal.services.errors import NotAllowed
from portal.services.requests import overview, promises
from tests import factories

SECRET = "test-secret"


@pytest.fixture
def calendar(db):  # type: ignore[no-untyped-def]
    return district_calendar.load_calendar(db, "America/Los_Angeles")


@pytest.fixture
def guardian(db):  # type: ignore[no-untyped-def]
    return factories.guardians_of(db, factories.make_household(db, name="Rivera household"))[0]


@pytest.fixture
def department(db):  # type: ignore[no-untyped-def]
    return factories.make_department(db, "Transportation")


@pytest.fixture
def staff(db, department):  # type: ignore[no-untyped-def]
    user = factories.make_staff(db)
    factories.join(db, user, department)
    return user


def ask(db, guardian, department, subject, calendar, *, student_id=None):  # type: ignore[no-untyped-def]
    created, _is_new = requests.submit_request(
        db,
        guardian,
        requests.NewRequest(department.id, subject, "Please tell us.", student_id=student_id),
        calendar=calendar,
        now=utcnow(),
    )
    db.commit()
    return created


def due_in(db, request, delta: timedelta) -> None:  # type: ignore[no-untyped-def]
    """Move the request's first-reply due time to now + `delta` (negative: overdue)."""
    request.first_reply_due_at = utcnow() + delta
    promises.refresh_due_at(request)
    db.commit()


def subjects(shown: list[overview.FamilyRequest]) -> list[str]:
    return [item.request.subject for item in shown]


def test_open_requests_come_overdue_first_then_by_due_time_then_those_waiting_for_the_family(  # type: ignore[no-untyped-def]
    db, guardian, department, staff, calendar
):
    later = ask(db, guardian, department, "Later", calendar)
    sooner = ask(db, guardian, department, "Sooner", calendar)
    late = ask(db, guardian, department, "Late", calendar)
    later_still = ask(db, guardian, department, "Very late", calendar)
    waiting = ask(db, guardian, department, "Waiting for us", calendar)
    due_in(db, later, timedelta(hours=30))
    due_in(db, sooner, timedelta(hours=2))
    due_in(db, late, timedelta(hours=-1))
    due_in(db, later_still, timedelta(hours=-5))
    requests.reply_as_staff(db, staff, waiting, "Which stop?", internal=False, calendar=calendar, now=utcnow())
    requests.change_status(
        db, staff, waiting, RequestStatus.WAITING_ON_FAMILY, calendar=calendar, now=utcnow(), secret_key=SECRET
    )
    db.commit()

    shown = overview.family_overview(db, guardian, now=utcnow())

    assert subjects(shown.open) == ["Very late", "Late", "Sooner", "Later", "Waiting for us"]
    assert [item.promise is not None and item.promise.is_overdue(utcnow()) for item in shown.open] == [
        True,
        True,
        False,
        False,
        False,
    ]
    assert shown.open[-1].promise is None
    assert shown.answered == []


def test_a_public_staff_reply_newer_than_the_familys_last_message_is_a_new_reply(  # type: ignore[no-untyped-def]
    db, guardian, department, staff, calendar
):
    answered = ask(db, guardian, department, "Answered", calendar)
    noted = ask(db, guardian, department, "Only a staff note", calendar)
    replied_to = ask(db, guardian, department, "We wrote back", calendar)
    requests.reply_as_staff(db, staff, answered, "Stop 12.", internal=False, calendar=calendar, now=utcnow())
    requests.reply_as_staff(db, staff, noted, "Call the driver", internal=True, calendar=calendar, now=utcnow())
    requests.reply_as_staff(db, staff, replied_to, "Stop 12.", internal=False, calendar=calendar, now=utcnow())
    requests.reply_as_family(db, guardian, replied_to, "Thank you!", calendar=calendar, now=utcnow())
    db.commit()

    shown = {
        item.request.subject: item.has_new_reply for item in overview.family_overview(db, guardian, now=utcnow()).open
    }

    assert shown == {"Answered": True, "Only a staff note": False, "We wrote back": False}


def test_a_resolved_answer_shows_until_the_family_replies_or_a_month_passes(  # type: ignore[no-untyped-def]
    db, guardian, department, staff, calendar
):
    resolved = ask(db, guardian, department, "Resolved with an answer", calendar)
    closed = ask(db, guardian, department, "Closed by us", calendar)
    old = ask(db, guardian, department, "Answered long ago", calendar)
    for request in (resolved, old):
        requests.reply_as_staff(db, staff, request, "Done.", internal=False, calendar=calendar, now=utcnow())
        requests.change_status(
            db, staff, request, RequestStatus.RESOLVED, calendar=calendar, now=utcnow(), secret_key=SECRET
        )
    requests.close_by_family(db, guardian, closed, now=utcnow())
    db.commit()
    old.updated_at = utcnow() - timedelta(days=overview.NEW_ANSWER_DAYS + 1)
    db.commit()

    shown = overview.family_overview(db, guardian, now=utcnow())

    assert shown.open == []
    assert subjects(shown.answered) == ["Resolved with an answer"]
    assert shown.answered[0].has_new_reply and shown.answered[0].promise is None


def test_every_household_of_the_guardian_and_none_other(db, guardian, department, calendar):  # type: ignore[no-untyped-def]
    second = factories.make_household(db, name="Moreno household")
    db.add(
        Guardianship(household_id=second.id, user_id=guardian.id, relationship_to_students=GuardianRelationship.MOTHER)
    )
    db.commit()
    other_parent = factories.guardians_of(db, second)[0]
    stranger = factories.guardians_of(db, factories.make_household(db, name="Chen household"))[0]
    ask(db, guardian, department, "Asked in Rivera", calendar)
    ask(db, other_parent, department, "Asked in Moreno by the other parent", calendar)
    ask(db, stranger, department, "Asked in Chen", calendar)

    shown = overview.family_overview(db, guardian, now=utcnow())

    assert sorted(subjects(shown.open)) == ["Asked in Moreno by the other parent", "Asked in Rivera"]
    assert subjects(overview.family_overview(db, stranger, now=utcnow()).open) == ["Asked in Chen"]


def test_the_home_page_lists_a_bounded_number(db, guardian, department, calendar):  # type: ignore[no-untyped-def]
    for number in range(overview.SHOWN_AT_MOST + 2):
        ask(db, guardian, department, f"Question {number}", calendar)
    assert len(overview.family_overview(db, guardian, now=utcnow()).open) == overview.SHOWN_AT_MOST


def test_staff_have_no_family_overview(db, staff):  # type: ignore[no-untyped-def]
    with pytest.raises(NotAllowed):
        overview.family_overview(db, staff, now=utcnow())
