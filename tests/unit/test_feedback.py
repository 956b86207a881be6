"""Feedback without HTTP: anonymity, idempotent sending, validation, keyword routing,
sentiment, who sees what, the review queue's filters and sorts, and staff's actions.

Transportation (Dana), Enrollment (Erin) and Family Engagement (Tess, the triage group
once an administrator names it) are public departments; Legal is not. The Garcia
family has two guardians, the Nguyen family one. Every time is passed as `now`.
"""

import dataclasses
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal.models import (
    AuditEvent,
    Department,
    DepartmentMember,
    DistrictSetting,
    Feedback,
    FeedbackComment,
    FeedbackKind,
    FeedbackSource,
    FeedbackStatus,
    FeedbackTag,
    Household,
    Notification,
    Priority,
    ReplyTarget,
    Request,
    RequestChannel,
    RequestMessage,
    Routing,
    RoutingRule,
    School,
    User,
)
from portal.services import feedback
from portal.services.errors import InvalidInput, NotAllowed, NotFound
from portal.services.feedback import NewFeedback, ReviewFilter
from portal.services.requests.business_time import Calendar
from tests import factories
from tests.search_text import stale_search_texts

NOW = datetime(2026, 11, 16, 18, 0, tzinfo=UTC)
DISTRICT = Calendar(ZoneInfo("America/Los_Angeles"), {day: ((time(8), time(16, 30)),) for day in range(5)})
KEY = "form-key-0123456789abcdef"
OTHER_KEY = "form-key-fedcba9876543210"

POSITIVE = "The new bus driver is wonderful and always kind to the children."
NEGATIVE = "The bus was late again and the driver was rude. This is terrible."
NEUTRAL = "The bus leaves the school at three in the afternoon."
SPANISH = "El autobús llegó tarde otra vez y el conductor fue muy grosero con los niños."
CONCERN = "The afternoon bus skipped our stop on Elm Street twice this week."


def minutes_later(minutes: int) -> datetime:
    return NOW + timedelta(minutes=minutes)


# --- the district -------------------------------------------------------------


def make_department(db, name: str, *, public: bool = True) -> Department:
    department = Department(name=name, description="", is_public=public)
    db.add(department)
    db.flush()
    db.add(
        ReplyTarget(
            department_id=department.id,
            priority=Priority.NORMAL,
            first_reply_minutes=120,
            next_reply_minutes=60,
            resolution_minutes=1020,
        )
    )
    return department


def join(db, department: Department, user: User) -> None:
    db.add(DepartmentMember(department_id=department.id, user_id=user.id))


@dataclass
class World:
    transport: Department
    enrollment: Department
    engagement: Department
    legal: Department
    school: School
    other_school: School
    household: Household
    guardian: User
    second_guardian: User
    neighbours: Household
    neighbour: User
    driver: User
    enroller: User
    triager: User
    admin: User


@pytest.fixture
def world(db) -> World:
    transport = make_department(db, "Transportation")
    enrollment = make_department(db, "Enrollment")
    engagement = make_department(db, "Family Engagement")
    legal = make_department(db, "Legal", public=False)
    school = factories.make_school(db, "Lincoln Elementary")
    other_school = factories.make_school(db, "Roosevelt Middle")
    household = factories.make_household(db, guardians=2, name="Garcia family")
    guardian, second_guardian = factories.guardians_of(db, household)
    neighbours = factories.make_household(db, name="Nguyen family")
    (neighbour,) = factories.guardians_of(db, neighbours)
    driver = factories.make_staff(db, name="Dana Driver")
    enroller = factories.make_staff(db, name="Erin Enroller")
    triager = factories.make_staff(db, name="Tess Triage")
    admin = factories.make_admin(db, name="Ada Admin")
    join(db, transport, driver)
    join(db, enrollment, enroller)
    join(db, engagement, triager)
    db.commit()
    return World(
        transport,
        enrollment,
        engagement,
        legal,
        school,
        other_school,
        household,
        guardian,
        second_guardian,
        neighbours,
        neighbour,
        driver,
        enroller,
        triager,
        admin,
    )


@pytest.fixture
def triage(db, world) -> Department:
    """Family Engagement sorts the feedback that no rule routes."""
    feedback.set_triage_department(db, world.admin, world.engagement.id, now=NOW)
    db.commit()
    return world.engagement


def add_rule(db, world: World, department: Department, keywords: str, *, at: datetime = NOW) -> RoutingRule:
    rule = feedback.add_rule(db, world.admin, department.id, keywords, now=at)
    db.commit()
    return rule


# --- sending ------------------------------------------------------------------------

_CHOSEN = object()


def new(
    world: World,
    body: str = CONCERN,
    *,
    kind: str = "concern",
    department=_CHOSEN,
    school: School | None = None,
    rating: int | None = None,
    anonymous: bool = False,
    may_contact: bool = False,
    contact_email: str | None = None,
    key: str | None = None,
) -> NewFeedback:
    """What the form sends; the topic is Transportation unless `department` says (None: not sure)."""
    department = world.transport if department is _CHOSEN else department
    return NewFeedback(
        kind=kind,
        department_id=department.id if department is not None else None,
        school_id=school.id if school is not None else None,
        rating=rating,
        body=body,
        may_contact=may_contact,
        anonymous=anonymous,
        contact_email=contact_email,
        submission_key=key,
    )


def send(db, world: World, body: str = CONCERN, *, guardian: User | None = None, at: datetime = NOW, **fields):
    item = feedback.submit_from_family(db, guardian or world.guardian, new(world, body, **fields), now=at)
    db.commit()
    return item


def send_public(db, world: World, body: str = CONCERN, *, at: datetime = NOW, **fields) -> Feedback:
    item = feedback.submit_public(db, new(world, body, **fields), now=at)
    db.commit()
    return item


def events_of(db, item: Feedback, action: str | None = None) -> list[AuditEvent]:
    statement = select(AuditEvent).where(AuditEvent.object_type == "feedback", AuditEvent.object_id == item.id)
    if action is not None:
        statement = statement.where(AuditEvent.action == action)
    return list(db.scalars(statement.order_by(AuditEvent.id)))


def emails(db) -> list[Notification]:
    return list(db.scalars(select(Notification).where(Notification.template == "feedback_response")))


def count(db, model, *where) -> int:
    return db.scalar(select(func.count()).select_from(model).where(*where))


def queue(db, actor: User, **wanted) -> list[int]:
    page = feedback.review_queue(
        db, actor, ReviewFilter(**wanted), time_zone="America/Los_Angeles", page=1, page_size=200
    )
    return [item.id for item in page.items]


def fresh(db, item: Feedback) -> Feedback:
    """The stored row, loaded again as staff would."""
    db.expire_all()
    return db.get(Feedback, item.id)


# --- anonymity ------------------------------------------------------------------------


def test_anonymous_family_feedback_keeps_no_author_household_or_email(db, world):
    item = fresh(db, send(db, world, anonymous=True, may_contact=True))
    assert item.is_anonymous
    assert (item.author_id, item.household_id, item.contact_email) == (None, None, None)
    assert item.may_contact is False
    assert item.source is FeedbackSource.PORTAL


def test_anonymous_family_feedback_is_audited_without_actor_household_or_address(db, world):
    item = send(db, world, anonymous=True, may_contact=True)
    events = events_of(db, item)
    assert [event.action for event in events] == ["feedback.sent"]
    for event in events:
        assert (event.actor_id, event.household_id, event.ip_address) == (None, None, "")
        trail = json.dumps([event.before, event.after])
        assert world.guardian.email not in trail
        assert str(world.guardian.display_name) not in trail
    assert count(db, AuditEvent, AuditEvent.actor_id == world.guardian.id) == 0
    assert count(db, AuditEvent, AuditEvent.household_id == world.household.id) == 0


def test_anonymous_public_feedback_keeps_no_email_even_when_one_is_given(db, world):
    item = fresh(db, send_public(db, world, anonymous=True, may_contact=True, contact_email="maria@example.org"))
    assert item.is_anonymous
    assert item.source is FeedbackSource.PUBLIC
    assert (item.author_id, item.household_id, item.contact_email) == (None, None, None)
    assert item.may_contact is False
    (event,) = events_of(db, item)
    assert (event.actor_id, event.household_id, event.ip_address) == (None, None, "")
    assert "maria@example.org" not in json.dumps([event.before, event.after])


def test_public_feedback_without_an_email_cannot_be_contacted(db, world):
    item = fresh(db, send_public(db, world, may_contact=True))
    assert (item.author_id, item.household_id, item.contact_email) == (None, None, None)
    assert item.may_contact is False
    (event,) = events_of(db, item)
    assert (event.actor_id, event.household_id, event.ip_address) == (None, None, "")


def test_public_feedback_with_an_email_keeps_it_normalized_and_may_be_contacted(db, world):
    item = fresh(db, send_public(db, world, contact_email="  Maria.Lopez@Example.ORG "))
    assert item.contact_email == "maria.lopez@example.org"
    assert item.may_contact is True
    assert (item.author_id, item.household_id) == (None, None)
    assert item.source is FeedbackSource.PUBLIC


@pytest.mark.parametrize("email", ["maria@example.org\x00", "maria\r\n@example.org", "m" * 250 + "@example.org"])
def test_public_feedback_refuses_a_broken_contact_email(db, world, email):
    with pytest.raises(InvalidInput) as error:
        feedback.submit_public(db, new(world, contact_email=email), now=NOW)
    assert error.value.field == "contact_email"
    db.rollback()
    assert count(db, Feedback) == 0


def test_named_family_feedback_keeps_author_and_household_and_audits_with_the_household(db, world):
    item = fresh(db, send(db, world, may_contact=True))
    assert not item.is_anonymous
    assert (item.author_id, item.household_id) == (world.guardian.id, world.household.id)
    assert item.may_contact is True
    assert item.contact_email is None
    assert item.source is FeedbackSource.PORTAL
    (event,) = events_of(db, item)
    assert event.action == "feedback.sent"
    assert (event.actor_id, event.household_id) == (world.guardian.id, world.household.id)
    assert event.after["reference"] == item.reference


def test_only_a_guardian_can_send_family_feedback(db, world):
    for actor in (world.driver, world.admin, factories.make_user(db)):  # the last one has no household
        with pytest.raises(NotFound):
            feedback.submit_from_family(db, actor, new(world), now=NOW)
    assert count(db, Feedback) == 0


# --- idempotent sending -------------------------------------------------------------------


def test_the_same_family_form_sent_twice_is_stored_once(db, world):
    first = send(db, world, key=KEY)
    again = send(db, world, key=KEY)
    assert again.id == first.id
    assert count(db, Feedback) == 1
    assert len(events_of(db, first)) == 1


def test_the_same_public_form_sent_twice_is_stored_once(db, world):
    first = send_public(db, world, key=KEY, contact_email="maria@example.org")
    again = send_public(db, world, key=KEY, contact_email="maria@example.org")
    assert again.id == first.id
    assert count(db, Feedback) == 1
    assert len(events_of(db, first)) == 1


def test_an_anonymous_form_sent_twice_is_stored_once(db, world):
    first = send(db, world, key=KEY, anonymous=True)
    assert send(db, world, key=KEY, anonymous=True).id == first.id
    assert count(db, Feedback) == 1


def test_different_submission_keys_store_two_feedbacks(db, world):
    send(db, world, key=KEY)
    send(db, world, key=OTHER_KEY)
    assert count(db, Feedback) == 2


def test_a_duplicate_that_races_the_first_submission_fails_and_run_again_returns_the_first(db, world):
    first = send_public(db, world, key=KEY)
    real_scalar, looked_up = db.scalar, []

    def miss_the_first_lookup(statement, *args, **kwargs):
        # The second request checked for the key before the first one was committed.
        if not looked_up:
            looked_up.append(str(statement))
            return None
        return real_scalar(statement, *args, **kwargs)

    # The unique key refuses the twin; the request's boundary rolls back and runs it again.
    with mock.patch.object(db, "scalar", side_effect=miss_the_first_lookup), pytest.raises(IntegrityError):
        feedback.submit_public(db, new(world, key=KEY), now=NOW)
    db.rollback()
    again = feedback.submit_public(db, new(world, key=KEY), now=NOW)
    db.commit()
    assert "submission_key" in looked_up[0]
    assert again.id == first.id
    assert count(db, Feedback) == 1
    assert len(events_of(db, first)) == 1


@pytest.mark.parametrize("key", ["short", "has spaces in it 0123456789", "ü" * 20, "k" * 65])
def test_a_malformed_submission_key_is_ignored(db, world, key):
    first = send(db, world, key=key)
    second = send(db, world, key=key)
    assert first.id != second.id
    assert first.submission_key is None and second.submission_key is None


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "praise"}, "kind"),
        ({"kind": ""}, "kind"),
        ({"kind": "COMPLIMENT"}, "kind"),
        ({"department_id": "legal"}, "department_id"),
        ({"department_id": 999_999}, "department_id"),
        ({"department_id": -1}, "department_id"),
        ({"department_id": 2**70}, "department_id"),
        ({"school_id": 999_999}, "school_id"),
        ({"school_id": -1}, "school_id"),
        ({"rating": 0}, "rating"),
        ({"rating": 6}, "rating"),
        ({"rating": -3}, "rating"),
        ({"body": ""}, "body"),
        ({"body": "  \n\t  "}, "body"),
        ({"body": "x" * 4001}, "body"),
        ({"body": "  " + "x" * 4001 + "  "}, "body"),
        ({"body": "Bus late.\x00"}, "body"),
        ({"body": "Bus\x07 late"}, "body"),
        ({"body": "Bus \x1b[31mlate"}, "body"),
        ({"body": "Bus late\x85"}, "body"),
    ],
)
def test_invalid_feedback_is_refused_on_the_right_field_and_nothing_is_stored(db, world, changes, field):
    changes = {name: world.legal.id if value == "legal" else value for name, value in changes.items()}
    sent = dataclasses.replace(new(world, may_contact=True, contact_email="maria@example.org", key=KEY), **changes)
    with pytest.raises(InvalidInput) as error:
        feedback.submit_from_family(db, world.guardian, sent, now=NOW)
    assert error.value.field == field
    with pytest.raises(InvalidInput) as error:
        feedback.submit_public(db, sent, now=NOW)
    assert error.value.field == field
    db.rollback()
    assert count(db, Feedback) == 0
    assert count(db, AuditEvent, AuditEvent.action == "feedback.sent") == 0


@pytest.mark.parametrize("body", ["x" * 4000, "  Line one\n\tline two\r\n  ", "é" * 4000])
def test_feedback_up_to_the_limit_with_line_breaks_and_tabs_is_accepted_and_trimmed(db, world, body):
    item = send(db, world, body)
    assert fresh(db, item).body == body.strip()


@pytest.mark.parametrize("rating", [None, 1, 5])
def test_a_rating_from_one_to_five_or_none_is_accepted(db, world, rating):
    assert fresh(db, send(db, world, rating=rating)).rating == rating


@pytest.mark.parametrize("kind", list(FeedbackKind))
def test_every_kind_is_accepted(db, world, kind):
    assert fresh(db, send(db, world, kind=kind.value)).kind is kind


@pytest.fixture
def bus_rule(db, world) -> RoutingRule:
    return add_rule(db, world, world.transport, "bus, autobús, bus stop")


# One database for all the examples of a test: each example rolls back what it did.
EXAMPLES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
bodies = st.one_of(
    st.text(max_size=300),
    st.text(st.characters(codec="utf-8", categories=["L", "M", "N", "P", "Z", "S", "Cc"]), max_size=60),
    st.tuples(st.text(max_size=5), st.integers(min_value=3990, max_value=4010)).map(lambda p: p[0] + "ú" * p[1]),
)


@EXAMPLES
@given(body=bodies)
def test_any_body_is_stored_trimmed_or_refused_with_invalid_input(db, world, bus_rule, body):
    try:
        for submit in (
            lambda: feedback.submit_from_family(db, world.guardian, new(world, body, department=None), now=NOW),
            lambda: feedback.submit_public(db, new(world, body, department=None), now=NOW),
        ):
            try:
                item = submit()
            except InvalidInput as error:
                assert error.field == "body"
            else:
                assert item.body == body.strip()
                assert 0 < len(item.body) <= feedback.BODY_MAX_LENGTH
                assert item.sentiment is None or -1 <= item.sentiment <= 1
                assert item.routing in (Routing.RULE, Routing.TRIAGE)
    finally:
        db.rollback()


@EXAMPLES
@given(
    kind=st.one_of(st.sampled_from([kind.value for kind in FeedbackKind]), st.text(max_size=12)),
    department_id=st.one_of(st.none(), st.integers(min_value=-(2**64), max_value=2**64)),
    school_id=st.one_of(st.none(), st.integers(min_value=-(2**64), max_value=2**64)),
    rating=st.one_of(st.none(), st.integers(min_value=-(2**64), max_value=2**64)),
    body=st.text(max_size=80),
)
def test_any_form_is_stored_or_refused_with_invalid_input(db, world, kind, department_id, school_id, rating, body):
    sent = NewFeedback(kind=kind, department_id=department_id, school_id=school_id, rating=rating, body=body)
    try:
        try:
            item = feedback.submit_public(db, sent, now=NOW)
        except InvalidInput as error:
            assert error.field in {"kind", "department_id", "school_id", "rating", "body"}
        else:
            assert item.kind.value == kind
            assert item.rating is None or 1 <= item.rating <= 5
    finally:
        db.rollback()


# --- routing ---------------------------------------------------------------------------------


def test_a_chosen_department_is_kept_and_marked_chosen(db, world):
    add_rule(db, world, world.enrollment, "bus")
    item = send(db, world, "The bus is late.", department=world.transport)
    assert (item.department_id, item.routing) == (world.transport.id, Routing.CHOSEN)


def test_not_sure_feedback_that_no_rule_matches_waits_for_triage(db, world):
    add_rule(db, world, world.transport, "bus, driver")
    item = send(db, world, "The cafeteria food is cold.", department=None)
    assert (item.department_id, item.routing) == (None, Routing.TRIAGE)


def test_not_sure_feedback_without_any_rule_waits_for_triage(db, world):
    item = send(db, world, department=None)
    assert (item.department_id, item.routing) == (None, Routing.TRIAGE)


def test_a_matching_keyword_routes_not_sure_feedback_by_rule(db, world):
    add_rule(db, world, world.transport, "bus, driver")
    item = send(db, world, "Our driver was very kind today.", department=None)
    assert (item.department_id, item.routing) == (world.transport.id, Routing.RULE)


@pytest.mark.parametrize(
    "text",
    [
        "My business hours changed.",
        "The buses are new.",
        "Omnibus bill news.",
        "rebus puzzles at school",
        "bus_stop",
        "bus2 is late",
    ],
)
def test_keywords_match_whole_words_only(db, world, text):
    add_rule(db, world, world.transport, "bus")
    assert feedback.propose_department(db, text) is None


@pytest.mark.parametrize(
    "text",
    ["The bus was late.", "BUS!", "bus", "(bus)", "the kids' bus-driver", "Bus's door", "late\nbus\n"],
)
def test_a_keyword_matches_as_a_word_between_punctuation_or_spaces(db, world, text):
    add_rule(db, world, world.transport, "bus")
    assert feedback.propose_department(db, text).id == world.transport.id


@pytest.mark.parametrize(
    ("keywords", "text"),
    [
        ("autobús", "EL AUTOBUS LLEGÓ TARDE"),
        ("autobús", "el autobús llegó tarde"),
        ("Autobus", "el autobús llegó tarde"),
        ("inscripción", "Pregunta sobre la INSCRIPCION"),
        ("ÉCOLE", "mon école"),
        ("straße", "STRASSE closed"),
    ],
)
def test_keywords_ignore_case_and_accents(db, world, keywords, text):
    add_rule(db, world, world.transport, keywords)
    assert feedback.propose_department(db, text).id == world.transport.id


def test_a_phrase_matches_only_as_the_whole_phrase(db, world):
    add_rule(db, world, world.transport, "bus stop")
    assert feedback.propose_department(db, "Please move the Bus Stop to Elm.").id == world.transport.id
    assert feedback.propose_department(db, "The bus did not stop.") is None
    assert feedback.propose_department(db, "Stop the bus!") is None
    assert feedback.propose_department(db, "The bus stopped early.") is None


@pytest.mark.parametrize("text", ["Move the bus\nstop please.", "Move the bus  stop please."])
def test_a_phrase_matches_across_a_line_break_or_double_space(db, world, text):
    add_rule(db, world, world.transport, "bus stop")
    assert feedback.propose_department(db, text).id == world.transport.id


def test_the_rule_with_the_most_matching_keywords_wins(db, world):
    add_rule(db, world, world.transport, "bus, driver")
    add_rule(db, world, world.enrollment, "enroll, register, transfer")
    item = send(db, world, "Can I register and enroll my son? The bus stops nearby.", department=None)
    assert (item.department_id, item.routing) == (world.enrollment.id, Routing.RULE)


def test_a_tie_goes_to_the_older_rule(db, world):
    # Enrollment's rule is the older one although Transportation's department is older.
    add_rule(db, world, world.enrollment, "enroll", at=NOW)
    add_rule(db, world, world.transport, "bus", at=minutes_later(1))
    assert feedback.propose_department(db, "Enroll my son, and which bus?").id == world.enrollment.id
    assert feedback.propose_department(db, "Which bus, and how do I enroll?").id == world.enrollment.id


def test_a_removed_rule_no_longer_routes(db, world):
    rule = add_rule(db, world, world.transport, "bus")
    feedback.remove_rule(db, world.admin, rule.id, now=NOW)
    db.commit()
    assert feedback.propose_department(db, "The bus was late.") is None


def test_keywords_with_symbols_match_literally(db, world):
    add_rule(db, world, world.enrollment, "k-12, pre-k, c++")
    assert feedback.propose_department(db, "Is PRE-K full?").id == world.enrollment.id
    assert feedback.propose_department(db, "c++ club").id == world.enrollment.id
    assert feedback.propose_department(db, "prek is full") is None


# --- sentiment on sending -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "score_sign", "language"),
    [(POSITIVE, 1, "en"), (NEGATIVE, -1, "en"), (NEUTRAL, 0, "en"), (SPANISH, None, "es"), ("Bus late.", None, "")],
)
def test_feedback_keeps_its_sentiment_and_detected_language(db, world, body, score_sign, language):
    item = fresh(db, send(db, world, body))
    assert item.sentiment_language == language
    if score_sign is None:
        assert item.sentiment is None
    elif score_sign == 0:
        assert item.sentiment is not None and abs(item.sentiment) < 0.05
    else:
        assert item.sentiment is not None and item.sentiment * score_sign >= 0.05


# --- who sees what ------------------------------------------------------------------------------


@pytest.fixture
def spread(db, world):
    """One feedback for Transportation, one for Enrollment, one unrouted."""
    return (
        send(db, world, department=world.transport, at=minutes_later(1)),
        send(db, world, department=world.enrollment, at=minutes_later(2)),
        send(db, world, department=None, at=minutes_later(3)),
    )


def test_staff_see_only_their_departments_feedback(db, world, spread):
    transport, enrollment, unrouted = spread
    assert queue(db, world.driver, status="all") == [transport.id]
    assert queue(db, world.enroller, status="all") == [enrollment.id]
    assert feedback.feedback_for_staff(db, world.driver, transport.id).id == transport.id
    for hidden in (enrollment, unrouted):
        with pytest.raises(NotFound):
            feedback.feedback_for_staff(db, world.driver, hidden.id)


def test_staff_in_no_department_see_nothing(db, world, spread):
    loner = factories.make_staff(db)
    assert queue(db, loner, status="all") == []
    with pytest.raises(NotFound):
        feedback.feedback_for_staff(db, loner, spread[0].id)


def test_triage_members_also_see_unrouted_feedback(db, world, spread, triage):
    transport, _enrollment, unrouted = spread
    assert queue(db, world.triager, status="all") == [unrouted.id]
    assert feedback.feedback_for_staff(db, world.triager, unrouted.id).id == unrouted.id
    with pytest.raises(NotFound):
        feedback.feedback_for_staff(db, world.triager, transport.id)
    # Others still do not see it.
    assert unrouted.id not in queue(db, world.driver, status="all")


def test_without_a_triage_department_only_admins_see_unrouted_feedback(db, world, spread):
    unrouted = spread[2]
    for staff in (world.driver, world.enroller, world.triager):
        with pytest.raises(NotFound):
            feedback.feedback_for_staff(db, staff, unrouted.id)
    assert feedback.feedback_for_staff(db, world.admin, unrouted.id).id == unrouted.id


def test_admins_see_all_feedback(db, world, spread):
    assert sorted(queue(db, world.admin, status="all")) == sorted(item.id for item in spread)
    for item in spread:
        assert feedback.feedback_for_staff(db, world.admin, item.id).id == item.id


def test_before_the_district_has_departments_admins_see_the_unrouted_feedback(db):
    admin = factories.make_admin(db)
    sent = feedback.submit_public(
        db,
        NewFeedback(kind="concern", department_id=None, school_id=None, rating=None, body=CONCERN, anonymous=True),
        now=NOW,
    )
    db.commit()
    assert queue(db, admin, status="all") == [sent.id]
    assert queue(db, factories.make_staff(db), status="all") == []


@pytest.mark.parametrize("sort", ["newest", "oldest", "rating_low", "rating_high", "sentiment_low", "sentiment_high"])
def test_feedback_that_ties_on_the_sort_is_each_on_exactly_one_page(db, world, sort):
    sent = [send(db, world, rating=3, at=NOW) for _ in range(7)]
    pages = [
        feedback.review_queue(
            db,
            world.admin,
            ReviewFilter(status="all", sort=sort),
            time_zone="America/Los_Angeles",
            page=number,
            page_size=3,
        )
        for number in (1, 2, 3)
    ]
    shown = [item.id for page in pages for item in page.items]
    assert sorted(shown) == sorted(item.id for item in sent)


def test_a_missing_feedback_is_not_found_even_for_admins(db, world):
    with pytest.raises(NotFound):
        feedback.feedback_for_staff(db, world.admin, 999_999)


def test_families_cannot_use_the_review_queue(db, world, spread):
    with pytest.raises(NotAllowed):
        queue(db, world.guardian)
    with pytest.raises(NotAllowed):
        feedback.feedback_for_staff(db, world.guardian, spread[0].id)


def test_a_family_lists_its_households_named_feedback_only(db, world):
    mine = send(db, world, at=minutes_later(1))
    partners = send(db, world, guardian=world.second_guardian, at=minutes_later(2))
    send(db, world, anonymous=True, at=minutes_later(3))
    send(db, world, guardian=world.neighbour, at=minutes_later(4))
    send_public(db, world, contact_email=world.guardian.email, at=minutes_later(5))
    for guardian in (world.guardian, world.second_guardian):
        page = feedback.feedback_for_family(db, guardian, page=1, page_size=20)
        assert [item.id for item in page.items] == [partners.id, mine.id]
        assert page.total == 2
    # Read as values: what the list shows of each, as the feedback itself says it.
    mine.response = "Thank you, we fixed it."
    db.commit()
    listed = feedback.feedback_for_family(db, world.guardian, page=1, page_size=20).items
    assert [(item.reference, item.kind, item.status, item.created_at, item.answered) for item in listed] == [
        (partners.reference, partners.kind, partners.status, partners.created_at, False),
        (mine.reference, mine.kind, mine.status, mine.created_at, True),
    ]
    departments = {department.id: department.name for department in db.scalars(select(Department))}
    assert [item.department and item.department.name for item in listed] == [
        departments.get(partners.department_id),
        departments.get(mine.department_id),
    ]


def test_a_family_cannot_open_another_households_or_an_anonymous_feedback(db, world):
    mine = send(db, world)
    anonymous = send(db, world, anonymous=True)
    theirs = send(db, world, guardian=world.neighbour)
    assert feedback.feedback_of_family(db, world.guardian, mine.id).id == mine.id
    for hidden_id in (anonymous.id, theirs.id, 999_999):
        with pytest.raises(NotFound):
            feedback.feedback_of_family(db, world.guardian, hidden_id)
    with pytest.raises(NotFound):
        feedback.feedback_of_family(db, world.neighbour, mine.id)


# --- the review queue: filters and sorts ----------------------------------------------------------


def test_the_queue_filters_by_kind(db, world):
    compliment = send(db, world, POSITIVE, kind="compliment")
    send(db, world, kind="concern")
    assert queue(db, world.admin, kind="compliment") == [compliment.id]


def test_the_queue_filters_by_department_or_unrouted(db, world):
    transport = send(db, world, department=world.transport, at=minutes_later(1))
    enrollment = send(db, world, department=world.enrollment, at=minutes_later(2))
    unrouted = send(db, world, department=None, at=minutes_later(3))
    assert queue(db, world.admin, department_id=world.enrollment.id) == [enrollment.id]
    assert queue(db, world.admin, department_id=-1) == [unrouted.id]
    assert queue(db, world.admin, department_id=0) == [unrouted.id, enrollment.id, transport.id]


def test_the_queue_filters_by_school(db, world):
    lincoln = send(db, world, school=world.school)
    send(db, world, school=world.other_school)
    send(db, world)
    assert queue(db, world.admin, school_id=world.school.id) == [lincoln.id]


def test_the_queue_filters_by_rating(db, world):
    two = send(db, world, rating=2)
    send(db, world, rating=4)
    send(db, world)
    assert queue(db, world.admin, rating=2) == [two.id]


def test_the_queue_shows_open_feedback_by_default_and_filters_by_status(db, world):
    fresh_one = send(db, world, at=minutes_later(1))
    in_review = send(db, world, at=minutes_later(2))
    responded = send(db, world, at=minutes_later(3))
    closed = send(db, world, at=minutes_later(4))
    feedback.update(
        db,
        world.admin,
        in_review,
        status=FeedbackStatus.IN_REVIEW,
        assignee_id=None,
        department_id=in_review.department_id,
        now=NOW,
    )
    feedback.respond(db, world.admin, responded, "Thank you.", now=NOW)
    feedback.update(
        db,
        world.admin,
        closed,
        status=FeedbackStatus.CLOSED,
        assignee_id=None,
        department_id=closed.department_id,
        now=NOW,
    )
    db.commit()
    assert queue(db, world.admin) == [in_review.id, fresh_one.id]
    assert queue(db, world.admin, status="all") == [closed.id, responded.id, in_review.id, fresh_one.id]
    assert queue(db, world.admin, status="new") == [fresh_one.id]
    assert queue(db, world.admin, status="responded") == [responded.id]
    assert queue(db, world.admin, status="closed") == [closed.id]


def test_the_queue_filters_by_tag(db, world):
    tagged = send(db, world)
    other = send(db, world)
    tag(db, world.admin, tagged, ["Late bus"])
    tag(db, world.admin, other, ["lunch"])
    assert queue(db, world.admin, tag="late bus") == [tagged.id]
    assert queue(db, world.admin, tag="unknown") == []


def test_the_queue_filters_by_assignee(db, world):
    mine = send(db, world, at=minutes_later(1))
    theirs = send(db, world, at=minutes_later(2))
    nobodys = send(db, world, at=minutes_later(3))
    for item, assignee in ((mine, world.driver), (theirs, world.admin)):
        feedback.update(
            db,
            world.admin,
            item,
            status=item.status,
            assignee_id=assignee.id,
            department_id=item.department_id,
            now=NOW,
        )
    db.commit()
    assert queue(db, world.driver, assignee="me") == [mine.id]
    assert queue(db, world.driver, assignee="none") == [nobodys.id]
    assert queue(db, world.driver, assignee=str(world.admin.id)) == [theirs.id]
    assert queue(db, world.driver, assignee="99999999999999999999") == []
    assert queue(db, world.driver, assignee="") == [nobodys.id, theirs.id, mine.id]


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [("positive", POSITIVE), ("negative", NEGATIVE), ("neutral", NEUTRAL), ("unscored", SPANISH)],
)
def test_the_queue_filters_by_sentiment(db, world, wanted, expected):
    sent = {body: send(db, world, body) for body in (POSITIVE, NEGATIVE, NEUTRAL, SPANISH)}
    assert queue(db, world.admin, sentiment=wanted) == [sent[expected].id]


def test_the_received_date_range_includes_both_whole_days(db, world):
    def at_noon(day: int, hour: int = 20) -> datetime:  # 20:00 UTC is midday in the district
        return datetime(2026, 11, day, hour, tzinfo=UTC)

    before = send(db, world, at=at_noon(15))
    first_day = send(db, world, at=at_noon(16))
    last_day_late = send(db, world, at=at_noon(17, 23))
    after = send(db, world, at=at_noon(18))
    received = {"received_from": date(2026, 11, 16), "received_to": date(2026, 11, 17)}
    assert queue(db, world.admin, **received) == [last_day_late.id, first_day.id]
    assert queue(db, world.admin, received_from=date(2026, 11, 18)) == [after.id]
    assert queue(db, world.admin, received_to=date(2026, 11, 15)) == [before.id]
    assert queue(db, world.admin, received_from=date(2026, 11, 17), received_to=date(2026, 11, 17)) == [
        last_day_late.id
    ]


def test_the_received_date_range_follows_the_districts_days(db, world):
    db.add(DistrictSetting(time_zone="America/Los_Angeles"))
    db.commit()
    # Monday 16 November at 17:30 in Los Angeles is already Tuesday in UTC.
    evening = send(db, world, at=datetime(2026, 11, 17, 1, 30, tzinfo=UTC))
    assert queue(db, world.admin, received_to=date(2026, 11, 16)) == [evening.id]
    assert queue(db, world.admin, received_from=date(2026, 11, 17)) == []


def test_the_queue_finds_feedback_by_reference(db, world):
    wanted = send(db, world)
    send(db, world)
    for text in (
        wanted.reference,
        wanted.reference.lower(),
        f"F-{wanted.id}",
        str(wanted.id),
        f"  {wanted.reference} ",
    ):
        assert queue(db, world.admin, text=text) == [wanted.id]
    assert queue(db, world.admin, text="F-9999999999999999999999") == []


def test_the_queue_finds_feedback_by_words_ignoring_case_and_extra_spaces(db, world):
    wanted = send(db, world, "The bus skipped Elm Street again.")
    send(db, world, "The cafeteria was closed.")
    assert queue(db, world.admin, text="elm street") == [wanted.id]
    assert queue(db, world.admin, text="  ELM    Street ") == [wanted.id]
    assert queue(db, world.admin, text="Maple") == []


@pytest.mark.parametrize(
    ("search", "matching", "not_matching"),
    [
        ("100%", "We are 100% sure the bus was late.", "We are 100 percent sure the bus was late."),
        ("A_1 is cold", "Room A_1 is cold all day.", "Room AB1 is cold all day."),
        ("% of the", "Only 5% of the buses run.", "Only 5 of the buses run."),
        ("snake_case", "The snake_case sign fell.", "The snakeXcase sign fell."),
        ("path a\\b", "Path a\\b is wrong.", "Path a/b is wrong."),
    ],
)
def test_percent_underscore_and_backslash_in_a_search_are_literal(db, world, search, matching, not_matching):
    wanted = send(db, world, matching)
    send(db, world, not_matching)
    assert queue(db, world.admin, text=search) == [wanted.id]


def test_the_search_ignores_case_and_accents(db, world):
    closed = send(db, world, "El AUTOBÚS no vino y la ESCUELA cerró.")
    late = send(db, world, "El autobus llegó tarde.")
    assert sorted(queue(db, world.admin, text="autobús")) == sorted([closed.id, late.id])
    assert queue(db, world.admin, text="ESCUELA CERRÓ") == [closed.id]
    assert queue(db, world.admin, text="escuela cerro") == [closed.id]
    assert queue(db, world.admin, text="LLEGO TARDE") == [late.id]
    assert stale_search_texts(db) == {}


def test_the_search_stays_within_the_staff_members_scope(db, world):
    send(db, world, "The enrollment form is broken.", department=world.enrollment)
    hidden = send(db, world, department=world.enrollment)
    assert queue(db, world.driver, text="enrollment form") == []
    assert queue(db, world.driver, text=hidden.reference) == []


def test_the_queue_sorts_newest_or_oldest_first(db, world):
    items = [send(db, world, at=minutes_later(n)) for n in (3, 1, 2)]
    assert queue(db, world.admin, sort="newest") == [items[0].id, items[2].id, items[1].id]
    assert queue(db, world.admin, sort="oldest") == [items[1].id, items[2].id, items[0].id]
    assert queue(db, world.admin, sort="no such sort") == queue(db, world.admin, sort="newest")


def test_the_queue_sorts_by_rating_with_unrated_last(db, world):
    by_rating = {
        rating: send(db, world, rating=rating, at=minutes_later(n)) for n, rating in enumerate([3, None, 1, 5])
    }
    assert queue(db, world.admin, sort="rating_low") == [by_rating[r].id for r in (1, 3, 5, None)]
    assert queue(db, world.admin, sort="rating_high") == [by_rating[r].id for r in (5, 3, 1, None)]


def test_the_queue_sorts_by_sentiment_with_unscored_last(db, world):
    sent = {
        body: send(db, world, body, at=minutes_later(n))
        for n, body in enumerate([SPANISH, NEUTRAL, POSITIVE, NEGATIVE])
    }
    assert queue(db, world.admin, sort="sentiment_low") == [sent[b].id for b in (NEGATIVE, NEUTRAL, POSITIVE, SPANISH)]
    assert queue(db, world.admin, sort="sentiment_high") == [sent[b].id for b in (POSITIVE, NEUTRAL, NEGATIVE, SPANISH)]


def test_the_queue_pages(db, world):
    items = [send(db, world, at=minutes_later(n)) for n in range(5)]
    page = feedback.review_queue(
        db, world.admin, ReviewFilter(sort="oldest"), time_zone="America/Los_Angeles", page=2, page_size=2
    )
    assert [item.id for item in page.items] == [items[2].id, items[3].id]
    assert (page.total, page.pages) == (5, 3)


def test_the_queue_lists_each_piece_as_it_is_saved(db, world):
    """The queue reads values, not objects: every field it shows is the saved piece's, with
    its department's, school's and tags' names (and their translations), its assignee's
    name, whether it is flagged and whether its sender is unknown."""
    world.school.translations = {"es": {"name": "Escuela Lincoln"}}
    pieces = [
        send(db, world, POSITIVE, school=world.school, rating=5, at=minutes_later(1)),
        send(db, world, NEGATIVE, department=None, at=minutes_later(2)),
        send_public(db, world, "A kid brought a knife on the bus", anonymous=True, at=minutes_later(3)),
        send_public(db, world, NEUTRAL, contact_email="ana@example.org", kind="question", at=minutes_later(4)),
        send(db, world, SPANISH, department=world.enrollment, at=minutes_later(5)),
    ]
    for piece, names in ((pieces[0], ["late", "bus", "driver"]), (pieces[4], ["bus"])):
        found = feedback.feedback_for_staff(db, world.admin, piece.id)
        feedback.set_tags(db, world.admin, found, names, now=minutes_later(6))
    tag = db.scalar(select(FeedbackTag).where(FeedbackTag.name == "bus"))
    tag.translations = {"es": {"name": "autobús"}}
    pieces[1].assignee_id = world.triager.id
    pieces[4].assignee_id = world.enroller.id
    db.commit()
    page = feedback.review_queue(
        db, world.admin, ReviewFilter(status="all"), time_zone="America/Los_Angeles", page=1, page_size=25
    )
    listed = {item.id: item for item in page.items}
    assert listed.keys() == {piece.id for piece in pieces}
    db.expunge_all()
    for piece in pieces:
        saved = feedback.feedback_for_staff(db, world.admin, piece.id)
        item = listed[piece.id]
        flagged = db.scalar(select(Feedback.flagged).where(Feedback.id == piece.id))
        named = lambda thing: None if thing is None else (thing.name, thing.translations)  # noqa: E731
        assert (item.kind, item.body, item.created_at, item.rating, item.status) == (
            saved.kind,
            saved.body,
            saved.created_at,
            saved.rating,
            saved.status,
        )
        assert (item.sentiment, item.sentiment_language) == (saved.sentiment, saved.sentiment_language)
        assert (item.reference, item.sender_unknown, item.flagged) == (saved.reference, saved.sender_unknown, flagged)
        assert named(item.department) == named(saved.department)
        assert named(item.school) == named(saved.school)
        assert [named(t) for t in item.tags] == [named(t) for t in saved.tags]
        assert item.assignee_name == (saved.assignee.display_name if saved.assignee else None)
    # What the fixtures above were for: each case is there.
    assert [len(listed[piece.id].tags) for piece in pieces] == [3, 0, 0, 0, 1]
    assert [listed[piece.id].sender_unknown for piece in pieces] == [False, False, True, False, False]
    assert [listed[piece.id].flagged for piece in pieces] == [False, False, True, False, False]
    assert listed[pieces[0].id].school == ("Lincoln Elementary", {"es": {"name": "Escuela Lincoln"}})
    assert listed[pieces[1].id].department is None


# --- responding ------------------------------------------------------------------------------


def test_responding_sets_the_status_keeps_the_answer_and_emails_a_family_that_allowed_it(db, world):
    item = send(db, world, may_contact=True)
    feedback.respond(db, world.driver, item, "  We spoke to the driver.  ", now=minutes_later(30))
    db.commit()
    item = fresh(db, item)
    assert item.status is FeedbackStatus.RESPONDED
    assert item.response == "We spoke to the driver."
    assert (item.responded_at, item.responded_by_id) == (minutes_later(30), world.driver.id)
    (email,) = emails(db)
    assert (email.recipient_id, email.to_address) == (world.guardian.id, world.guardian.email)
    assert email.payload["reference"] == item.reference
    assert email.payload["response"] == "We spoke to the driver."
    (event,) = events_of(db, item, "feedback.responded")
    assert (event.actor_id, event.household_id) == (world.driver.id, world.household.id)


def test_responding_emails_nobody_when_the_family_did_not_allow_contact(db, world):
    item = send(db, world, may_contact=False)
    feedback.respond(db, world.driver, item, "We spoke to the driver.", now=NOW)
    db.commit()
    assert fresh(db, item).status is FeedbackStatus.RESPONDED
    assert emails(db) == []


def test_responding_emails_nobody_when_the_author_is_no_longer_active(db, world):
    item = send(db, world, may_contact=True)
    world.guardian.is_active = False
    db.commit()
    feedback.respond(db, world.driver, item, "We spoke to the driver.", now=NOW)
    db.commit()
    assert emails(db) == []


def test_responding_to_public_feedback_emails_its_contact_address(db, world):
    item = send_public(db, world, contact_email="Maria@Example.org")
    feedback.respond(db, world.driver, item, "Thank you, we will fix it.", now=NOW)
    db.commit()
    (email,) = emails(db)
    assert (email.recipient_id, email.to_address) == (None, "maria@example.org")
    assert email.payload["response"] == "Thank you, we will fix it."


@pytest.mark.parametrize("public", [False, True])
def test_responding_to_anonymous_feedback_emails_nobody_and_audits_no_household(db, world, public):
    if public:
        item = send_public(db, world, anonymous=True, contact_email="maria@example.org")
    else:
        item = send(db, world, anonymous=True, may_contact=True)
    feedback.respond(db, world.driver, item, "Thank you.", now=NOW)
    db.commit()
    assert fresh(db, item).status is FeedbackStatus.RESPONDED
    assert emails(db) == []
    assert count(db, Notification) == 0
    (event,) = events_of(db, item, "feedback.responded")
    assert event.household_id is None


@pytest.mark.parametrize(("text", "field"), [("", "response"), ("  ", "response"), ("Hi\x00", "response")])
def test_an_empty_or_broken_response_is_refused(db, world, text, field):
    item = send(db, world, may_contact=True)
    with pytest.raises(InvalidInput) as error:
        feedback.respond(db, world.driver, item, text, now=NOW)
    assert error.value.field == field
    db.rollback()
    assert fresh(db, item).status is FeedbackStatus.NEW
    assert emails(db) == []


def test_a_family_cannot_respond(db, world):
    item = send(db, world)
    with pytest.raises(NotAllowed):
        feedback.respond(db, world.guardian, item, "I answer myself.", now=NOW)


# --- internal comments -------------------------------------------------------------------------


def test_an_internal_comment_is_kept_emails_nobody_and_is_audited_without_the_household(db, world):
    item = send(db, world, may_contact=True)
    comment = feedback.add_comment(db, world.driver, item, "  Called the depot.  ", now=minutes_later(5))
    db.commit()
    assert comment.body == "Called the depot."
    assert [c.body for c in feedback.comments_of(db, item)] == ["Called the depot."]
    assert count(db, Notification) == 0
    (event,) = events_of(db, item, "feedback.commented")
    assert (event.actor_id, event.household_id) == (world.driver.id, None)
    assert fresh(db, item).status is FeedbackStatus.NEW


@pytest.mark.parametrize("body", ["", "   ", "x" * 2001, "bad\x1b"])
def test_an_empty_oversized_or_broken_comment_is_refused(db, world, body):
    item = send(db, world)
    with pytest.raises(InvalidInput) as error:
        feedback.add_comment(db, world.driver, item, body, now=NOW)
    assert error.value.field == "body"
    db.rollback()
    assert count(db, FeedbackComment) == 0


def test_a_family_cannot_comment(db, world):
    item = send(db, world)
    with pytest.raises(NotAllowed):
        feedback.add_comment(db, world.guardian, item, "Me too.", now=NOW)


# --- updating -------------------------------------------------------------------------------------


def update(db, actor, item, **changes):
    fields = {"status": item.status, "assignee_id": item.assignee_id, "department_id": item.department_id}
    fields.update(changes)
    result = feedback.update(db, actor, item, now=minutes_later(10), **fields)
    db.commit()
    return result


def test_re_routing_by_staff_moves_the_feedback_and_is_audited(db, world):
    item = send(db, world)
    update(db, world.driver, item, department_id=world.enrollment.id)
    item = fresh(db, item)
    assert (item.department_id, item.routing) == (world.enrollment.id, Routing.STAFF)
    (event,) = events_of(db, item, "feedback.updated")
    assert event.before["department_id"] == world.transport.id
    assert event.after["department_id"] == world.enrollment.id
    assert event.actor_id == world.driver.id
    # It left Dana's queue and reached Erin's.
    assert queue(db, world.driver, status="all") == []
    assert queue(db, world.enroller, status="all") == [item.id]


def test_routing_to_no_department_sends_the_feedback_back_to_triage(db, world):
    item = send(db, world)
    update(db, world.admin, item, department_id=None)
    item = fresh(db, item)
    assert (item.department_id, item.routing) == (None, Routing.TRIAGE)


def test_routing_unrouted_feedback_marks_it_routed_by_staff(db, world, triage):
    item = send(db, world, department=None)
    update(db, world.triager, item, department_id=world.transport.id)
    item = fresh(db, item)
    assert (item.department_id, item.routing) == (world.transport.id, Routing.STAFF)


def test_status_and_assignee_change_together(db, world):
    item = send(db, world)
    update(db, world.driver, item, status=FeedbackStatus.IN_REVIEW, assignee_id=world.driver.id)
    item = fresh(db, item)
    assert (item.status, item.assignee_id, item.routing) == (
        FeedbackStatus.IN_REVIEW,
        world.driver.id,
        Routing.CHOSEN,
    )
    (event,) = events_of(db, item, "feedback.updated")
    assert event.before == {"status": "new", "assignee_id": None, "department_id": world.transport.id}
    assert event.after == {"status": "in_review", "assignee_id": world.driver.id, "department_id": world.transport.id}


def test_feedback_is_assigned_only_to_someone_who_can_open_it(db, world):
    item = send(db, world)
    with pytest.raises(InvalidInput) as refused:
        update(db, world.driver, item, status=FeedbackStatus.IN_REVIEW, assignee_id=world.enroller.id)
    assert refused.value.field == "assignee_id"


def test_re_routing_takes_off_an_assignee_who_cannot_open_it_there(db, world):
    item = send(db, world)
    update(db, world.driver, item, status=FeedbackStatus.IN_REVIEW, assignee_id=world.driver.id)
    item = fresh(db, item)
    update(
        db,
        world.admin,
        item,
        status=FeedbackStatus.IN_REVIEW,
        assignee_id=world.driver.id,
        department_id=world.enrollment.id,
    )
    assert fresh(db, item).assignee_id is None


def test_an_update_that_changes_nothing_is_not_audited(db, world):
    item = send(db, world)
    update(db, world.driver, item)
    assert events_of(db, item, "feedback.updated") == []


def test_the_assignee_must_be_active_staff(db, world):
    item = send(db, world)
    retired = factories.make_staff(db)
    retired.is_active = False
    db.commit()
    for assignee_id in (world.guardian.id, retired.id, 999_999, 0, -5):
        with pytest.raises(InvalidInput) as error:
            feedback.update(
                db,
                world.driver,
                item,
                status=item.status,
                assignee_id=assignee_id,
                department_id=item.department_id,
                now=NOW,
            )
        assert error.value.field == "assignee_id"
    update(db, world.driver, item, assignee_id=world.admin.id)
    assert fresh(db, item).assignee_id == world.admin.id


def test_re_routing_to_an_unknown_department_is_refused(db, world):
    item = send(db, world)
    with pytest.raises(InvalidInput) as error:
        feedback.update(db, world.driver, item, status=item.status, assignee_id=None, department_id=999_999, now=NOW)
    assert error.value.field == "department_id"
    db.rollback()
    assert fresh(db, item).department_id == world.transport.id


def test_a_family_cannot_update_feedback(db, world):
    item = send(db, world)
    with pytest.raises(NotAllowed):
        feedback.update(
            db, world.guardian, item, status=FeedbackStatus.CLOSED, assignee_id=None, department_id=None, now=NOW
        )


# --- tags ---------------------------------------------------------------------------------------------


def tag(db, actor, item, names):
    """Tag as the feedback page does: on the feedback loaded for that staff member."""
    result = feedback.set_tags(db, actor, feedback.feedback_for_staff(db, actor, item.id), names, now=NOW)
    db.commit()
    return result


def tag_names(db, item) -> list[str]:
    db.expire_all()
    return [
        t.name
        for t in db.scalar(select(Feedback).where(Feedback.id == item.id).options(selectinload(Feedback.tags))).tags
    ]


def test_tags_are_lowercased_trimmed_and_deduplicated(db, world):
    item = send(db, world)
    tag(db, world.driver, item, ["Bus", " bus ", "BUS", "Late   Pickup", "", "  "])
    assert tag_names(db, item) == ["bus", "late pickup"]
    (event,) = events_of(db, item, "feedback.tagged")
    assert event.after == {"tags": ["bus", "late pickup"]}


def test_parse_tags_splits_on_commas_and_drops_empty_parts():
    assert [part.strip() for part in feedback.parse_tags("bus, Late pickup,, ,driver")] == [
        "bus",
        "Late pickup",
        "driver",
    ]
    assert feedback.parse_tags(" , ,") == []


def test_tags_are_shared_between_feedbacks(db, world):
    first, second = send(db, world), send(db, world)
    tag(db, world.driver, first, ["bus"])
    tag(db, world.driver, second, ["Bus"])
    assert count(db, FeedbackTag) == 1
    assert feedback.all_tags(db) == ["bus"]


def test_at_most_ten_tags(db, world):
    item = send(db, world)
    tag(db, world.driver, item, [f"tag {n}" for n in range(10)] + ["TAG 0"])
    assert len(tag_names(db, item)) == 10
    with pytest.raises(InvalidInput) as error:
        tag(db, world.driver, item, [f"tag {n}" for n in range(11)])
    assert error.value.field == "tags"


def test_a_tag_has_at_most_forty_characters(db, world):
    item = send(db, world)
    tag(db, world.driver, item, ["x" * 40])
    assert tag_names(db, item) == ["x" * 40]
    with pytest.raises(InvalidInput) as error:
        tag(db, world.driver, item, ["x" * 41])
    assert error.value.field == "tags"


def test_a_tag_with_control_characters_is_refused(db, world):
    item = send(db, world)
    with pytest.raises(InvalidInput) as error:
        tag(db, world.driver, item, ["bus\nstop"])
    assert error.value.field == "tags"


def test_setting_the_same_tags_again_is_not_audited(db, world):
    item = send(db, world)
    tag(db, world.driver, item, ["bus", "driver"])
    tag(db, world.driver, item, ["Driver", "bus"])
    assert len(events_of(db, item, "feedback.tagged")) == 1


def test_clearing_the_tags(db, world):
    item = send(db, world)
    tag(db, world.driver, item, ["bus"])
    tag(db, world.driver, item, [])
    assert tag_names(db, item) == []


# --- bulk changes --------------------------------------------------------------------------------------


def bulk(db, actor, items, action, value=""):
    ids = [item if isinstance(item, int) else item.id for item in items]
    changed = feedback.bulk_change(db, actor, ids, action, value, now=minutes_later(20))
    db.commit()
    return changed


def test_bulk_assign_changes_only_visible_feedback_and_starts_the_review(db, world):
    mine = send(db, world, department=world.transport)
    hidden = send(db, world, department=world.enrollment)
    unrouted = send(db, world, department=None)
    assert bulk(db, world.driver, [mine, hidden, unrouted, 999_999], "assign", str(world.driver.id)) == 1
    assert (fresh(db, mine).assignee_id, fresh(db, mine).status) == (world.driver.id, FeedbackStatus.IN_REVIEW)
    for item in (hidden, unrouted):
        assert (fresh(db, item).assignee_id, fresh(db, item).status) == (None, FeedbackStatus.NEW)
        assert events_of(db, item, "feedback.updated") == []


def test_bulk_assign_to_nobody_unassigns(db, world):
    item = send(db, world)
    bulk(db, world.driver, [item], "assign", str(world.driver.id))
    bulk(db, world.driver, [item], "assign", "")
    assert fresh(db, item).assignee_id is None


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "٣"])
def test_bulk_assign_refuses_a_value_that_is_not_a_staff_id(db, world, value):
    item = send(db, world)
    with pytest.raises(InvalidInput) as error:
        bulk(db, world.driver, [item], "assign", value)
    assert error.value.field == "assignee_id"


def test_bulk_assign_refuses_a_family_member_as_assignee(db, world):
    item = send(db, world)
    with pytest.raises(InvalidInput) as error:
        bulk(db, world.driver, [item], "assign", str(world.guardian.id))
    assert error.value.field == "assignee_id"


def test_bulk_tag_adds_the_tags_to_visible_feedback_only(db, world):
    first = send(db, world, department=world.transport)
    second = send(db, world, department=world.transport)
    hidden = send(db, world, department=world.enrollment)
    tag(db, world.driver, first, ["driver"])
    assert bulk(db, world.driver, [first, second, hidden], "tag", "Late bus, route 7") == 2
    assert tag_names(db, first) == ["driver", "late bus", "route 7"]
    assert tag_names(db, second) == ["late bus", "route 7"]
    assert tag_names(db, hidden) == []


def test_bulk_tag_needs_a_tag(db, world):
    item = send(db, world)
    with pytest.raises(InvalidInput) as error:
        bulk(db, world.driver, [item], "tag", " , ")
    assert error.value.field == "tag"


def test_bulk_close_closes_visible_feedback_only(db, world):
    mine = send(db, world, department=world.transport)
    hidden = send(db, world, department=world.enrollment)
    assert bulk(db, world.enroller, [mine, hidden], "close") == 1
    assert fresh(db, hidden).status is FeedbackStatus.CLOSED
    assert fresh(db, mine).status is FeedbackStatus.NEW


def test_bulk_changes_at_most_one_hundred(db, world):
    items = [send_public(db, world, "Bus late.") for _ in range(101)]
    assert bulk(db, world.admin, items, "close") == 100
    assert count(db, Feedback, Feedback.status == FeedbackStatus.CLOSED) == 100
    assert fresh(db, items[-1]).status is FeedbackStatus.NEW


def test_bulk_counts_a_repeated_id_once(db, world):
    item = send(db, world)
    assert bulk(db, world.admin, [item, item, item], "close") == 1


@pytest.mark.parametrize("action", ["delete", "", "ASSIGN", "respond"])
def test_bulk_refuses_an_unknown_action(db, world, action):
    item = send(db, world)
    with pytest.raises(InvalidInput) as error:
        bulk(db, world.admin, [item], action, "x")
    assert error.value.field == "action"
    assert fresh(db, item).status is FeedbackStatus.NEW


def test_bulk_refuses_an_empty_selection(db, world):
    with pytest.raises(InvalidInput) as error:
        bulk(db, world.admin, [0, -1, 2**70], "close")
    assert error.value.field == "action"


def test_a_family_cannot_use_bulk_changes(db, world):
    item = send(db, world)
    with pytest.raises(NotAllowed):
        bulk(db, world.guardian, [item], "close")


# --- turning feedback into a request ----------------------------------------------------------------


def turn(db, actor, item):
    request = feedback.turn_into_request(db, actor, item, calendar=DISTRICT, now=minutes_later(40))
    db.commit()
    return request


def test_turning_feedback_into_a_request_opens_one_for_the_family_linked_both_ways(db, world):
    item = send(db, world, CONCERN, kind="concern", guardian=world.second_guardian)
    request = turn(db, world.driver, item)
    item = fresh(db, item)
    assert item.request_id == request.id
    assert item.status is FeedbackStatus.IN_REVIEW
    request = db.get(Request, request.id)
    assert request.channel is RequestChannel.FEEDBACK
    assert (request.department_id, request.household_id) == (world.transport.id, world.household.id)
    assert request.author_id == world.second_guardian.id
    assert request.logged_by_id == world.driver.id
    assert request.subject == f"Concern {item.reference}"
    bodies = list(db.scalars(select(RequestMessage.body).where(RequestMessage.request_id == request.id)))
    assert bodies == [CONCERN]
    (event,) = events_of(db, item, "feedback.request_opened")
    assert event.household_id == world.household.id
    assert event.after == {"request": request.reference}


def test_turning_responded_feedback_into_a_request_keeps_it_responded(db, world):
    item = send(db, world)
    feedback.respond(db, world.driver, item, "Thank you.", now=NOW)
    db.commit()
    turn(db, world.driver, item)
    assert fresh(db, item).status is FeedbackStatus.RESPONDED


@pytest.mark.parametrize("which", ["anonymous", "public", "public with email", "unrouted"])
def test_only_named_routed_family_feedback_can_become_a_request(db, world, which):
    item = {
        "anonymous": lambda: send(db, world, anonymous=True),
        "public": lambda: send_public(db, world),
        "public with email": lambda: send_public(db, world, contact_email="maria@example.org"),
        "unrouted": lambda: send(db, world, department=None),
    }[which]()
    with pytest.raises(InvalidInput) as error:
        turn(db, world.admin, item)
    assert error.value.field == "request"
    db.rollback()
    assert count(db, Request) == 0
    assert fresh(db, item).request_id is None


def test_feedback_becomes_a_request_only_once(db, world):
    item = send(db, world)
    turn(db, world.driver, item)
    with pytest.raises(InvalidInput) as error:
        turn(db, world.driver, item)
    assert error.value.field == "request"
    db.rollback()
    assert count(db, Request) == 1


def test_a_family_cannot_turn_feedback_into_a_request(db, world):
    item = send(db, world)
    with pytest.raises(NotAllowed):
        turn(db, world.guardian, item)


# --- administrators: routing rules and the triage group -------------------------------------------------


def test_an_admin_adds_a_rule_with_tidied_keywords(db, world):
    rule = add_rule(db, world, world.transport, "  bus,  Bus   stop ,, driver,")
    assert rule.keywords == "bus, Bus stop, driver"
    assert feedback.keywords_of(rule) == ["bus", "Bus stop", "driver"]
    assert [r.id for r in feedback.routing_rules(db)] == [rule.id]
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "routing_rule.added"))
    assert event.actor_id == world.admin.id
    assert event.after == {"department_id": world.transport.id, "keywords": "bus, Bus stop, driver"}


@pytest.mark.parametrize("actor", ["driver", "guardian"])
def test_only_admins_manage_routing_rules_and_the_triage_group(db, world, actor):
    user = getattr(world, actor)
    rule = add_rule(db, world, world.transport, "bus")
    with pytest.raises(NotAllowed):
        feedback.add_rule(db, user, world.transport.id, "bus", now=NOW)
    with pytest.raises(NotAllowed):
        feedback.remove_rule(db, user, rule.id, now=NOW)
    with pytest.raises(NotAllowed):
        feedback.set_triage_department(db, user, world.engagement.id, now=NOW)
    db.rollback()
    assert count(db, RoutingRule) == 1
    assert feedback.triage_department_id(db) is None


@pytest.mark.parametrize(
    ("keywords", "field"),
    [
        ("", "keywords"),
        (" , ,, ", "keywords"),
        ("bus\x00", "keywords"),
        ("bus\nstop", "keywords"),
        ("x" * 1001, "keywords"),
    ],
)
def test_a_rule_needs_clean_keywords(db, world, keywords, field):
    with pytest.raises(InvalidInput) as error:
        feedback.add_rule(db, world.admin, world.transport.id, keywords, now=NOW)
    assert error.value.field == field
    db.rollback()
    assert count(db, RoutingRule) == 0


@pytest.mark.parametrize("department_id", [None, 0, 999_999, 2**70])
def test_a_rule_needs_a_known_department(db, world, department_id):
    with pytest.raises(InvalidInput) as error:
        feedback.add_rule(db, world.admin, department_id, "bus", now=NOW)
    assert error.value.field == "department_id"


def test_removing_a_rule_is_audited(db, world):
    rule = add_rule(db, world, world.transport, "bus")
    feedback.remove_rule(db, world.admin, rule.id, now=NOW)
    db.commit()
    assert count(db, RoutingRule) == 0
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "routing_rule.removed"))
    assert event.before == {"department_id": world.transport.id, "keywords": "bus"}


@pytest.mark.parametrize("rule_id", [999_999, 0, -1, 2**70])
def test_removing_a_missing_rule_is_not_found(db, world, rule_id):
    with pytest.raises(NotFound):
        feedback.remove_rule(db, world.admin, rule_id, now=NOW)


def test_removing_a_rule_twice_is_not_found(db, world):
    rule = add_rule(db, world, world.transport, "bus")
    feedback.remove_rule(db, world.admin, rule.id, now=NOW)
    db.commit()
    with pytest.raises(NotFound):
        feedback.remove_rule(db, world.admin, rule.id, now=NOW)


def test_an_admin_names_and_clears_the_triage_group(db, world):
    assert feedback.triage_department_id(db) is None
    feedback.set_triage_department(db, world.admin, world.engagement.id, now=NOW)
    db.commit()
    assert feedback.triage_department_id(db) == world.engagement.id
    feedback.set_triage_department(db, world.admin, None, now=minutes_later(1))
    db.commit()
    assert feedback.triage_department_id(db) is None
    changes = list(db.scalars(select(AuditEvent).where(AuditEvent.action == "feedback.triage_group_changed")))
    assert [(e.before, e.after) for e in changes] == [
        ({"department_id": None}, {"department_id": world.engagement.id}),
        ({"department_id": world.engagement.id}, {"department_id": None}),
    ]
    assert count(db, DistrictSetting) == 1


def test_naming_the_same_triage_group_again_is_not_audited(db, world, triage):
    feedback.set_triage_department(db, world.admin, triage.id, now=minutes_later(1))
    db.commit()
    assert count(db, AuditEvent, AuditEvent.action == "feedback.triage_group_changed") == 1


def test_the_triage_group_must_be_a_known_department(db, world):
    with pytest.raises(InvalidInput) as error:
        feedback.set_triage_department(db, world.admin, 999_999, now=NOW)
    assert error.value.field == "department_id"
    db.rollback()
    assert feedback.triage_department_id(db) is None


def test_changing_the_triage_group_changes_who_sees_unrouted_feedback(db, world, triage):
    unrouted = send(db, world, department=None)
    assert queue(db, world.triager) == [unrouted.id]
    feedback.set_triage_department(db, world.admin, world.transport.id, now=minutes_later(1))
    db.commit()
    assert queue(db, world.triager) == []
    assert queue(db, world.driver) == [unrouted.id]
