"""services.safety.alerts: what families write is read for safety terms as it is saved; the
safety team is told at once, and again, person after person, until someone acknowledges."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import InvalidRequestError

from portal.db import utcnow
from portal.models import AuditEvent, Notification, Request, SafetyAlert, SafetyCategory
from portal.services import feedback, requests
from portal.services.errors import InvalidInput, NotAllowed
from portal.services.feedback.intake import NewFeedback
from portal.services.requests.intake import NewRequest
from portal.services.safety import alerts
from tests import factories


@pytest.fixture
def scene(db):
    department = factories.make_department(db, "Counseling")
    household = factories.make_household(db)
    guardian = factories.guardians_of(db, household)[0]
    first, second = factories.make_staff(db, name="Ana First"), factories.make_staff(db, name="Ben Second")
    admin = factories.make_admin(db)
    now = utcnow()
    alerts.add_to_team(db, admin, first.id, now=now)
    alerts.add_to_team(db, admin, second.id, now=now)
    db.commit()
    return {"department": department, "guardian": guardian, "first": first, "second": second, "admin": admin}


def ask(db, scene, subject: str, body: str):
    new = NewRequest(scene["department"].id, subject, body)
    request, _created = requests.submit_request(db, scene["guardian"], new, now=utcnow())
    db.commit()
    return request


def safety_emails(db) -> list[Notification]:
    return list(
        db.scalars(select(Notification).where(Notification.template == "safety_alert").order_by(Notification.id))
    )


def test_a_request_that_matches_is_flagged_and_the_first_person_on_the_team_is_told_at_once(db, scene):
    before = utcnow()
    request = ask(db, scene, "Worried", "My son says he wants to kill himself.")

    [alert] = db.scalars(select(SafetyAlert))
    assert (alert.request_id, alert.message_id, alert.category) == (request.id, None, SafetyCategory.SUICIDE)
    assert alert.household_id == request.household_id and alert.term == "kill himself"
    [email] = safety_emails(db)
    assert email.recipient_id == scene["first"].id
    assert email.next_attempt_at <= utcnow(), "due now: no quiet hours hold it"
    assert email.payload == {"alert_id": alert.id, "category": "suicide"}, "a link and the kind of match, no text"
    assert alert.next_notify_at >= before + timedelta(minutes=15)
    actions = list(db.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "safety_alert")))
    assert actions == ["safety.flagged", "safety.notified"]


def test_ordinary_requests_are_not_flagged(db, scene):
    ask(db, scene, "Bus stop", "Our shooting guard needs the late bus after practice.")

    assert db.scalar(select(func.count()).select_from(SafetyAlert)) == 0
    assert safety_emails(db) == []


def test_a_family_message_is_flagged_and_a_staff_reply_never_is(db, scene):
    request = ask(db, scene, "Lunch", "What is for lunch?")
    requests.reply_as_staff(
        db, scene["first"], request, "Our anti bullying week: bullying is never ok.", internal=False, now=utcnow()
    )
    db.commit()
    assert db.scalar(select(func.count()).select_from(SafetyAlert)) == 0

    requests.reply_as_family(db, scene["guardian"], request, "Also, a boy brought a knife to class.", now=utcnow())
    db.commit()

    [alert] = db.scalars(select(SafetyAlert))
    assert alert.request_id == request.id and alert.message_id is not None
    assert alert.category == SafetyCategory.WEAPONS


def test_anonymous_feedback_is_flagged_without_anyone_to_tell_it_to(db, scene):
    sent = feedback.submit_public(
        db,
        NewFeedback(
            kind="concern",
            department_id=None,
            school_id=None,
            rating=None,
            body="Hay acoso en el recreo",
            anonymous=True,
        ),
        now=utcnow(),
    )
    db.commit()

    [alert] = db.scalars(select(SafetyAlert))
    assert (alert.feedback_id, alert.household_id, alert.category) == (sent.id, None, SafetyCategory.BULLYING)
    assert len(safety_emails(db)) == 1


def test_without_a_team_the_administrators_are_told(db):
    admin = factories.make_admin(db)
    department = factories.make_department(db)
    guardian = factories.guardians_of(db, factories.make_household(db))[0]

    requests.submit_request(db, guardian, NewRequest(department.id, "Help", "She is being bullied"), now=utcnow())
    db.commit()

    assert [email.recipient_id for email in safety_emails(db)] == [admin.id]


def test_an_alert_nobody_acknowledges_goes_to_the_next_person_then_round_the_team(db, scene):
    ask(db, scene, "Help", "there was a bomb threat")
    alert = db.scalar(select(SafetyAlert))
    start = alert.created_at

    assert alerts.resend_due(db, now=start + timedelta(minutes=14)) == 0
    assert alerts.resend_due(db, now=start + timedelta(minutes=15, seconds=1)) == 1
    db.commit()
    assert alerts.resend_due(db, now=start + timedelta(minutes=31)) == 1
    db.commit()

    assert [email.recipient_id for email in safety_emails(db)] == [
        scene["first"].id,
        scene["second"].id,
        scene["first"].id,
    ]
    assert alert.notified_count == 3


def test_an_acknowledged_alert_is_not_sent_again(db, scene):
    ask(db, scene, "Help", "my daughter is cutting herself")
    alert = db.scalar(select(SafetyAlert))

    alerts.acknowledge(db, scene["second"], alert.id, now=utcnow())
    alerts.acknowledge(db, scene["first"], alert.id, now=utcnow())  # a second acknowledgement changes nothing
    db.commit()

    assert alert.acknowledged_by_id == scene["second"].id and alert.next_notify_at is None
    assert alerts.resend_due(db, now=utcnow() + timedelta(hours=2)) == 0
    assert list(db.scalars(select(AuditEvent.action).where(AuditEvent.action == "safety.acknowledged"))) == [
        "safety.acknowledged"
    ]


def test_only_the_team_and_administrators_deal_with_alerts(db, scene):
    ask(db, scene, "Help", "a kid had a gun")
    alert = db.scalar(select(SafetyAlert))
    outsider = factories.make_staff(db)

    for person in (outsider, scene["guardian"]):
        with pytest.raises(NotAllowed):
            alerts.acknowledge(db, person, alert.id, now=utcnow())
        with pytest.raises(NotAllowed):
            alerts.alert_for_team(db, person, alert.id)
    view = alerts.alert_for_team(db, scene["admin"], alert.id)
    assert "a kid had a gun" in view.text and view.kind == "request"


def test_a_false_positive_is_cleared_with_a_reason(db, scene):
    ask(db, scene, "Science", "Can he bring his rifle collection photos? (history project)")
    alert = db.scalar(select(SafetyAlert))
    assert db.scalar(select(Request.flagged).where(Request.id == alert.request_id)) is True

    with pytest.raises(InvalidInput):
        alerts.clear(db, scene["first"], alert.id, "   ", now=utcnow())
    alerts.clear(db, scene["first"], alert.id, "A history project about old rifles.", now=utcnow())
    db.commit()

    assert alert.cleared_at is not None and alert.next_notify_at is None
    assert db.scalar(select(Request.flagged).where(Request.id == alert.request_id)) is False
    # Only a statement that asks for it reads the flag: no statement per row behind a page's back.
    with pytest.raises(InvalidRequestError):
        _ = db.scalar(
            select(Request).where(Request.id == alert.request_id).execution_options(populate_existing=True)
        ).flagged
    with pytest.raises(InvalidInput):
        alerts.clear(db, scene["first"], alert.id, "again", now=utcnow())


def test_administrators_edit_the_terms_starting_from_the_built_in_list(db, scene):
    admin = scene["admin"]
    assert len(alerts.list_terms(db, admin)) > 100

    alerts.add_term(db, admin, "run away", "self_harm", now=utcnow())
    alerts.remove_term(db, admin, "gun", now=utcnow())
    db.commit()

    ask(db, scene, "Worry", "she said she will run away. Also a gun.")
    [alert] = db.scalars(select(SafetyAlert))
    assert alert.term == "run away"
    assert "suicid*" in {term.phrase for term in alerts.list_terms(db, admin)}, "the rest of the built-in list stays"


@pytest.mark.parametrize(
    "phrase, category", [("", "abuse"), ("su*", "suicide"), ("fine", "nonsense"), ("gun", "weapons")]
)
def test_a_term_that_cannot_be_one_is_refused(db, scene, phrase, category):
    with pytest.raises(InvalidInput):
        alerts.add_term(db, scene["admin"], phrase, category, now=utcnow())


def test_the_alert_log_says_how_long_each_took_to_acknowledge(db, scene):
    ask(db, scene, "Help", "he wants to die")
    alert = db.scalar(select(SafetyAlert))
    alerts.acknowledge(db, scene["first"], alert.id, now=alert.created_at + timedelta(minutes=4))
    db.commit()

    [logged] = alerts.alert_log(db, scene["admin"], page=1).items
    assert logged.seconds_to_acknowledge == 240 and logged.acknowledged_by == "Ana First"
    with pytest.raises(NotAllowed):
        alerts.alert_log(db, scene["first"], page=1)


def test_a_rolled_back_request_leaves_no_alert(db, scene):
    requests.submit_request(db, scene["guardian"], NewRequest(scene["department"].id, "x", "a gun"), now=utcnow())
    db.rollback()
    db.commit()

    assert db.scalar(select(func.count()).select_from(SafetyAlert)) == 0
    assert safety_emails(db) == []
