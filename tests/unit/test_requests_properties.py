"""Requests, property-based: whatever a family types, and whenever things happen, the
service answers with a clean request or an InvalidInput, and the clocks add up.

Each example runs in the test's database and is rolled back, so examples do not see
one another's requests.
"""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from portal.models import (
    Department,
    DepartmentMember,
    Notification,
    Priority,
    ReplyTarget,
    RequestMessage,
    RequestStatus,
)
from portal.services import requests
from portal.services.errors import InvalidInput
from portal.services.requests import NewRequest
from portal.services.requests.business_time import Calendar, add_business_time, business_time_between, is_open_at
from portal.services.text import has_control_characters
from tests import factories

DISTRICT = Calendar(ZoneInfo("America/Los_Angeles"), {day: ((time(8), time(16, 30)),) for day in range(5)})
SECRET = "unit-test-secret"
FIRST_REPLY, NEXT_REPLY, RESOLUTION = timedelta(minutes=120), timedelta(minutes=60), timedelta(minutes=1020)
# One database for all the examples of a test: each example rolls back what it did.
EXAMPLES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

instants = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)).map(
    lambda moment: moment.replace(tzinfo=UTC)
)
business_minutes = st.integers(min_value=0, max_value=3 * 7 * 24 * 60).map(lambda minutes: timedelta(minutes=minutes))


@pytest.fixture
def world(db):
    department = Department(name="Transportation", description="", is_public=True)
    db.add(department)
    db.flush()
    for priority in Priority:
        db.add(
            ReplyTarget(
                department_id=department.id,
                priority=priority,
                first_reply_minutes=120,
                next_reply_minutes=60,
                resolution_minutes=1020,
            )
        )
    staff = factories.make_staff(db)
    supervisor = factories.make_staff(db)
    db.add(DepartmentMember(department_id=department.id, user_id=staff.id))
    db.add(DepartmentMember(department_id=department.id, user_id=supervisor.id, is_supervisor=True))
    db.commit()
    household = factories.make_household(db)
    return department, factories.guardians_of(db, household)[0], staff


def submit(db, world, *, at: datetime, subject: str = "Bus stop change", body: str = "Elm Street?"):
    department, guardian, _staff = world
    request, _created = requests.submit_request(
        db, guardian, NewRequest(department.id, subject, body), calendar=DISTRICT, now=at
    )
    return request


# NUL has its own test below too (PostgreSQL refuses it in text columns).
typed = st.characters(exclude_characters="\x00")
long_text = st.tuples(st.text(typed, max_size=10), st.integers(min_value=4990, max_value=5010)).map(
    lambda parts: parts[0] + "é" * parts[1]
)


@EXAMPLES
@given(
    subject=st.one_of(st.text(typed, max_size=200), st.text(typed, max_size=3).map(lambda text: text * 60)),
    body=st.one_of(st.text(typed, max_size=300), long_text),
)
@example(subject="0", body="\ud800")  # half of a UTF-16 pair: no database can store it
@example(subject="\udfff bus", body="Elm Street?")
def test_any_subject_and_body_are_saved_cleaned_or_refused_as_invalid_input(db, world, subject, body):
    cleaned_subject, cleaned_body = " ".join(subject.split()), body.strip()
    subject_ok = 0 < len(cleaned_subject) <= requests.SUBJECT_MAX_LENGTH and not has_control_characters(
        subject, multiline=True
    )
    body_ok = 0 < len(cleaned_body) <= requests.BODY_MAX_LENGTH and not has_control_characters(body, multiline=True)
    try:
        if subject_ok and body_ok:
            request = submit(db, world, at=datetime(2026, 11, 16, 18, tzinfo=UTC), subject=subject, body=body)
            db.expire(request)
            assert request.subject == cleaned_subject
            assert db.scalar(select(RequestMessage.body).where(RequestMessage.request_id == request.id)) == cleaned_body
        else:
            with pytest.raises(InvalidInput) as refused:
                submit(db, world, at=datetime(2026, 11, 16, 18, tzinfo=UTC), subject=subject, body=body)
            assert refused.value.field == ("subject" if not subject_ok else "body")
    finally:
        db.rollback()


@pytest.mark.parametrize(
    ("subject", "body"), [("Bus\x00stop", "Elm Street?"), ("Bus stop", "Elm\x00Street?"), ("Bus stop", "\x00")]
)
def test_a_nul_character_is_refused_or_removed_never_sent_to_the_database(db, world, subject, body):
    try:
        request = submit(db, world, at=datetime(2026, 11, 16, 18, tzinfo=UTC), subject=subject, body=body)
    except InvalidInput as refused:
        assert refused.field in ("subject", "body")
        return
    stored = db.scalar(select(RequestMessage.body).where(RequestMessage.request_id == request.id))
    assert "\x00" not in request.subject + stored


@EXAMPLES
@given(sent=instants)
def test_submission_due_times_are_the_targets_added_in_business_time(db, world, sent):
    try:
        request = submit(db, world, at=sent)
        assert request.first_reply_due_at == add_business_time(sent, FIRST_REPLY, DISTRICT)
        assert request.resolution_due_at == add_business_time(sent, RESOLUTION, DISTRICT)
        assert business_time_between(sent, request.first_reply_due_at, DISTRICT) == FIRST_REPLY
        assert is_open_at(request.first_reply_due_at, DISTRICT)
        assert request.due_at == min(request.first_reply_due_at, request.resolution_due_at)
        assert requests.promise_of(request).due_at == request.due_at
    finally:
        db.rollback()


@EXAMPLES
@given(sent=instants, waited_after=business_minutes, pause=business_minutes)
def test_a_pause_moves_the_resolution_due_time_by_the_paused_business_time(db, world, sent, waited_after, pause):
    _department, guardian, staff = world
    paused_at, answered_at = sent + waited_after, sent + waited_after + pause
    try:
        request = submit(db, world, at=sent)
        requests.reply_as_staff(db, staff, request, "Which stop?", internal=False, calendar=DISTRICT, now=sent)
        unpaused_due = request.resolution_due_at
        requests.change_status(
            db, staff, request, RequestStatus.WAITING_ON_FAMILY, calendar=DISTRICT, now=paused_at, secret_key=SECRET
        )
        requests.reply_as_family(db, guardian, request, "Elm Street.", calendar=DISTRICT, now=answered_at)
        paused = business_time_between(paused_at, answered_at, DISTRICT)
        assert request.resolution_paused_seconds == int(paused.total_seconds())
        assert request.resolution_due_at == add_business_time(
            unpaused_due, timedelta(seconds=request.resolution_paused_seconds), DISTRICT
        )
        assert request.next_reply_due_at == add_business_time(answered_at, NEXT_REPLY, DISTRICT)
        assert request.due_at == min(request.next_reply_due_at, request.resolution_due_at)
    finally:
        db.rollback()


@EXAMPLES
@given(sent=instants, runs=st.lists(business_minutes, max_size=6))
def test_an_overdue_first_reply_is_escalated_at_most_once_however_often_the_check_runs(db, world, sent, runs):
    try:
        request = submit(db, world, at=sent)
        due = request.first_reply_due_at
        for after in sorted(runs):
            requests.escalate_overdue(db, now=sent + after)
        sent_emails = list(db.scalars(select(Notification).where(Notification.template == "request_overdue")))
        assert len(sent_emails) == (1 if any(sent + after >= due for after in runs) else 0)
    finally:
        db.rollback()
