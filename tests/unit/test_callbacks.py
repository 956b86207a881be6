"""services.requests.callbacks: a family asks to be called back, is promised a time, and
staff log each attempt; a late call is escalated like a late reply."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, inspect, select

from portal.models import (
    CallbackStatus,
    CallOutcome,
    Notification,
    Priority,
    ReplyTarget,
    RequestMessage,
)
from portal.services import requests
from portal.services.errors import InvalidInput, NotAllowed, NotFound
from portal.services.requests import callbacks
from portal.services.requests.business_time import Calendar
from portal.services.requests.callbacks import CallbackAsk
from portal.services.requests.intake import NewRequest
from tests import factories

LA = ZoneInfo("America/Los_Angeles")
OFFICE = Calendar(LA, {day: ((time(8), time(16, 30)),) for day in range(5)})
MONDAY_9 = datetime(2026, 11, 2, 9, 0, tzinfo=LA).astimezone(UTC)
AFTERNOONS = CallbackAsk("213-555-0143", "Español", frozenset(range(5)), "15:00", "17:00", "Ask for grandma")


@pytest.fixture
def scene(db):
    department = factories.make_department(db, "Enrollment")
    db.add(
        ReplyTarget(
            department_id=department.id,
            priority=Priority.NORMAL,
            first_reply_minutes=120,
            next_reply_minutes=120,
            resolution_minutes=2400,
        )
    )
    household = factories.make_household(db)
    guardian = factories.guardians_of(db, household)[0]
    staff = factories.make_staff(db)
    factories.join(db, staff, department, supervisor=True)
    request, _created = requests.submit_request(
        db, guardian, NewRequest(department.id, "Enrollment", "Please call me"), calendar=OFFICE, now=MONDAY_9
    )
    db.commit()
    return {"guardian": guardian, "staff": staff, "request": request, "department": department}


def ask(db, scene, wanted: CallbackAsk = AFTERNOONS, now: datetime = MONDAY_9):
    callback = callbacks.ask(db, scene["guardian"], scene["request"], wanted, region="US", now=now, calendar=OFFICE)
    db.commit()
    return callback


def test_the_family_is_promised_a_call_inside_its_window_and_the_queue_orders_by_it(db, scene):
    callback = ask(db, scene)

    # Due at 11:00 as a written reply would be; the family's window opens at 15:00.
    assert callback.due_at == datetime(2026, 11, 2, 15, 0, tzinfo=LA).astimezone(UTC)
    assert callback.phone == "+12135550143" and callback.weekdays == "01234" and callback.note == "Ask for grandma"
    request = scene["request"]
    assert request.callback_due_at == callback.due_at
    assert request.due_at == request.first_reply_due_at, "the earliest clock still orders the queue"
    assert requests.running_clocks(request)[-1] == ("callback", callback.due_at)


@pytest.mark.parametrize(
    "change, field",
    [
        ({"phone": "12"}, "phone"),
        ({"weekdays": frozenset()}, "weekdays"),
        ({"window_starts": "25:00"}, "window_starts"),
        ({"window_starts": "17:00", "window_ends": "15:00"}, "window_ends"),
        ({"window_starts": "18:00", "window_ends": "20:00"}, "window_starts"),  # the offices are closed
        ({"weekdays": frozenset({5, 6})}, "window_starts"),
        ({"language": ""}, "language"),
        ({"note": "x" * 301}, "note"),
        ({"note": "bad\x00byte"}, "note"),
    ],
)
def test_a_call_back_that_cannot_be_is_refused_next_to_its_field(db, scene, change, field):
    wanted = CallbackAsk(**{**AFTERNOONS.__dict__, **change})
    with pytest.raises(InvalidInput) as refused:
        ask(db, scene, wanted)
    assert refused.value.field == field


def test_one_open_call_back_at_a_time_and_the_family_may_take_it_back(db, scene):
    ask(db, scene)
    with pytest.raises(InvalidInput):
        ask(db, scene)

    callbacks.cancel(db, scene["guardian"], scene["request"], now=MONDAY_9 + timedelta(minutes=5))
    db.commit()

    assert scene["request"].callback_due_at is None
    assert callbacks.view_of(db, scene["request"]).callback.status == CallbackStatus.CANCELLED
    ask(db, scene, now=MONDAY_9 + timedelta(minutes=10))  # a new one may be asked


def test_a_request_read_as_its_pages_read_it_shows_the_call_backs_asked_since(db, scene):
    """The request pages read the latest call-back's id with the request (no statement for
    a call-back while there is none); one asked for later in the session is shown."""
    request = requests.request_for_family(db, scene["guardian"], scene["request"].id)
    assert "latest_callback_id" not in inspect(request).unloaded
    assert callbacks.view_of(db, request) is None

    first = callbacks.ask(db, scene["guardian"], request, AFTERNOONS, region="US", now=MONDAY_9, calendar=OFFICE)
    assert callbacks.view_of(db, request).callback is first
    callbacks.cancel(db, scene["guardian"], request, now=MONDAY_9 + timedelta(minutes=5))
    later = MONDAY_9 + timedelta(minutes=10)
    second = callbacks.ask(db, scene["guardian"], request, AFTERNOONS, region="US", now=later, calendar=OFFICE)
    assert callbacks.view_of(db, request).callback is second
    db.commit()
    staff_read = requests.request_for_staff(db, scene["staff"], request.id)
    assert callbacks.view_of(db, staff_read).callback.id == second.id


def test_reached_closes_the_call_back_and_puts_the_summary_in_the_conversation(db, scene):
    ask(db, scene)
    with pytest.raises(InvalidInput):
        callbacks.log_attempt(
            db, scene["staff"], scene["request"], CallOutcome.REACHED, " ", now=MONDAY_9, calendar=OFFICE
        )

    callbacks.log_attempt(
        db, scene["staff"], scene["request"], CallOutcome.REACHED, "Enrolled for Monday.", now=MONDAY_9, calendar=OFFICE
    )
    db.commit()

    view = callbacks.view_of(db, scene["request"])
    assert view.callback.status == CallbackStatus.REACHED and [a.outcome for a in view.attempts] == [
        CallOutcome.REACHED
    ]
    bodies = list(db.scalars(select(RequestMessage.body).where(RequestMessage.from_staff.is_(True))))
    assert bodies == ["Summary of our call: Enrolled for Monday."]
    assert scene["request"].first_replied_at is not None and scene["request"].callback_due_at is None


def test_two_failed_calls_ask_the_family_for_a_better_time_in_its_language(app, db, scene):
    scene["guardian"].language = "es"
    db.commit()
    ask(db, scene)

    with app.app_context():  # as in a staff member's request: the text is in the family's language
        callbacks.log_attempt(
            db, scene["staff"], scene["request"], CallOutcome.NO_ANSWER, "", now=MONDAY_9, calendar=OFFICE
        )
        assert callbacks.open_callback(db, scene["request"].id) is not None
        callbacks.log_attempt(
            db, scene["staff"], scene["request"], CallOutcome.VOICEMAIL, "Left a message", now=MONDAY_9, calendar=OFFICE
        )
    db.commit()

    assert callbacks.view_of(db, scene["request"]).callback.status == CallbackStatus.NEEDS_NEW_TIME
    [body] = db.scalars(select(RequestMessage.body).where(RequestMessage.from_staff.is_(True)))
    assert body.startswith("Intentamos llamarle dos veces")
    emails = db.scalars(select(Notification.template).where(Notification.recipient_id == scene["guardian"].id))
    assert "request_reply" in set(emails)


def test_a_wrong_number_asks_the_family_to_correct_it(db, scene):
    ask(db, scene)

    callbacks.log_attempt(
        db, scene["staff"], scene["request"], CallOutcome.WRONG_NUMBER, "", now=MONDAY_9, calendar=OFFICE
    )
    db.commit()

    assert callbacks.view_of(db, scene["request"]).callback.status == CallbackStatus.WRONG_NUMBER
    [body] = db.scalars(select(RequestMessage.body).where(RequestMessage.from_staff.is_(True)))
    assert "213-555-0143" in body and "How we reach you" in body


def test_only_families_ask_and_only_the_departments_staff_log_calls(db, scene):
    with pytest.raises(NotAllowed):
        callbacks.ask(db, scene["staff"], scene["request"], AFTERNOONS, region="US", now=MONDAY_9, calendar=OFFICE)
    ask(db, scene)
    elsewhere = factories.make_staff(db)
    factories.join(db, elsewhere, factories.make_department(db, "Nutrition"))
    with pytest.raises(NotFound):
        callbacks.log_attempt(db, elsewhere, scene["request"], CallOutcome.NO_ANSWER, "", now=MONDAY_9, calendar=OFFICE)


def test_a_late_call_is_told_to_the_supervisors_once(db, scene):
    callback = ask(db, scene)

    assert requests.escalate_overdue(db, now=callback.due_at - timedelta(minutes=1)) <= 1  # the first reply, maybe
    db.commit()
    before = db.scalar(select(func.count()).select_from(Notification).where(Notification.template == "request_overdue"))
    requests.escalate_overdue(db, now=callback.due_at + timedelta(minutes=1))
    requests.escalate_overdue(db, now=callback.due_at + timedelta(minutes=2))
    db.commit()

    payloads = list(db.scalars(select(Notification.payload).where(Notification.template == "request_overdue")))
    assert sum(1 for payload in payloads if payload["clock"] == "callback") == 1
    assert len(payloads) >= before


def test_a_closure_added_moves_an_open_call_backs_promise(db, scene):
    callback = ask(db, scene)  # promised Monday 2 November, 15:00
    closed = Calendar(LA, OFFICE.weekly_hours, closures=((datetime(2026, 11, 2).date(), datetime(2026, 11, 2).date()),))

    moved = requests.recompute_after_calendar_change(
        db, {"kind": "closure_added", "name": "Snow day"}, now=MONDAY_9, calendar=closed
    )
    db.commit()

    assert moved >= 1
    assert callback.due_at == datetime(2026, 11, 3, 15, 0, tzinfo=LA).astimezone(UTC)
    assert scene["request"].callback_due_at == callback.due_at
