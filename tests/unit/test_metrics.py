"""Metrics (issue #18) without HTTP: a small district whose every figure is computed by
hand below, built only through the services, so that it also proves the facts are
written where the clocks stop.

The calendar: Monday to Friday, 08:00 to 16:30 in Los Angeles (30 600 business seconds a
day), closed on Wednesday 11 November 2026 (Veterans Day). Clocks went back an hour on
Sunday 1 November. Transportation (T) promises a first reply in 120 business minutes, a
next reply in 60 and a resolution in 1020 (17 hours); Enrollment (E) 240, 240 and 2040.

The period P is the week Monday 9 to Sunday 15 November; the previous period Q is
Monday 2 to Sunday 8 November. "Now" is Monday 16 November, 12:00.

Requests (all about the Lincoln student but R6; "s" is Sam, T staff; "e" is Eve, E staff):
- R1 (T) sent Fri 30 Oct 15:30 PDT; s replies Mon 2 Nov 09:00 PST, across the DST change:
  60 min on Friday + 60 on Monday = 7 200 s, due exactly then: on time. Resolved Mon
  10:00: 10 800 s. Rated 4, no comment, Mon 2 Nov 11:00.
- R2 (T) sent Fri 6 Nov 16:00, across the weekend: first reply due Mon 09:30 (30 + 90
  min); s replies Mon 10:00: 1 800 + 7 200 = 9 000 s, LATE. Resolved Mon 10:30: 10 800 s.
- R3 (T) sent Tue 10 Nov 15:00, across the closure: first reply due Thu 08:30 (90 min
  Tuesday, Wednesday closed, 30 Thursday); s replies Thu 08:15: 5 400 + 900 = 6 300 s.
  Waiting on the family from Thu 09:00; the family writes Fri 09:00 (the pause: 27 000 +
  3 600 = 30 600 s); next reply due Fri 10:00, s replies Fri 09:45: 2 700 s. Resolved Fri
  10:00: 5 400 + 30 600 + 7 200 - 30 600 = 12 600 s. Rated 5 "Great help" Fri 11:00.
- R4 (T) sent Mon 9 Nov 08:00; s replies 08:30 (1 800 s); resolved 09:00 (3 600 s); rated
  2 "Slow" 09:30. The family writes Tue 08:00: REOPENED, next reply due 09:00; s replies
  10:00: 7 200 s, LATE. Resolved again Tue 10:30: 9 000 s.
- R5 sent Mon 9 Nov 09:00 to T; s replies 09:30 (1 800 s, counts toward T); the admin
  TRANSFERS it to E at 10:00; the family writes 11:00 (next reply due 15:00 by E's 240
  min); e replies 14:00: 10 800 s, on time, counts toward E. Still open.
- R6 (E, no student) sent Thu 12 Nov 08:00, never answered: its first reply came due Thu
  12:00 and still runs: a broken promise of P for E. Still open.
- R7 (T) sent Mon 9 Nov 12:00 with a call-back, weekdays 13:00-16:00: the call is due
  14:00; s reaches the family at 13:30 (kept on time, 1 attempt; the summary is the first
  reply: 5 400 s). Resolved 14:00: 7 200 s.
- R8 (T) sent Tue 10 Nov 08:00 with a call-back, weekdays 08:00-16:30: due Tue 10:00; no
  answer at 09:00, reached Thu 12 Nov 09:00 (kept LATE, 2 attempts); the first reply, by
  the call's summary: 30 600 + 3 600 = 34 200 s, LATE. Resolved Thu 09:30: 36 000 s.

Feedback: F1 a concern to T about Lincoln, negative, Mon 9 Nov 10:00, tagged "bus",
responded Tue 10:00 (23 400 + 7 200 = 30 600 s); F2 a compliment to T, no school, positive,
Tue 10 Nov 09:00, responded Thu 10:00 (27 000 + 7 200 = 34 200 s); F3 a question to E,
neutral, Fri 13 Nov 09:00, closed unanswered.
"""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import selectinload

from portal.models import (
    CallOutcome,
    ClockKind,
    ClockStop,
    Department,
    DepartmentMember,
    Feedback,
    FeedbackStatus,
    Priority,
    ReplyTarget,
    Request,
    RequestStatus,
    Student,
)
from portal.services import feedback, metrics, requests
from portal.services.metrics import (
    AgeBucket,
    CallbackFigures,
    Comment,
    Count,
    MetricsScope,
    Period,
    StaffFigures,
    TimeFigures,
)
from portal.services.requests import callbacks
from portal.services.requests.business_time import Calendar
from portal.services.requests.callbacks import CallbackAsk
from portal.services.requests.intake import NewRequest
from tests import factories

LA = ZoneInfo("America/Los_Angeles")
HOURS = {day: ((time(8), time(16, 30)),) for day in range(5)}
VETERANS_DAY = date(2026, 11, 11)
CAL = Calendar(LA, HOURS, closures=((VETERANS_DAY, VETERANS_DAY),))
SECRET = "unit-test-secret"
P = Period(date(2026, 11, 9), date(2026, 11, 15))
Q = Period(date(2026, 11, 2), date(2026, 11, 8))


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=LA).astimezone(UTC)


NOW = at(11, 16, 12)


def make_department(db, name: str, first: int, following: int, resolution: int) -> Department:
    department = factories.make_department(db, name)
    db.add(
        ReplyTarget(
            department_id=department.id,
            priority=Priority.NORMAL,
            first_reply_minutes=first,
            next_reply_minutes=following,
            resolution_minutes=resolution,
        )
    )
    db.commit()
    return department


class Scene:
    """The district above, and how to act in it."""

    def __init__(self, db) -> None:
        self.db = db
        self.t = make_department(db, "Transportation", 120, 60, 1020)
        self.e = make_department(db, "Enrollment", 240, 240, 2040)
        self.school = factories.make_school(db, "Lincoln Elementary")
        household = factories.make_household(db, school=self.school)
        self.guardian = factories.guardians_of(db, household)[0]
        self.student = db.scalar(select(Student).where(Student.household_id == household.id))
        self.s = factories.make_staff(db, name="Sam Staff")
        self.sup = factories.make_staff(db, name="Sue Supervisor")
        self.e_staff = factories.make_staff(db, name="Eve Enroller")
        self.admin = factories.make_admin(db, name="Ada Admin")
        factories.join(db, self.s, self.t)
        factories.join(db, self.sup, self.t, supervisor=True)
        factories.join(db, self.e_staff, self.e)

    def send(self, department: Department, when: datetime, *, student: bool = True) -> Request:
        new = NewRequest(department.id, "A question", "Please help.", student_id=self.student.id if student else None)
        request, _new = requests.submit_request(self.db, self.guardian, new, calendar=CAL, now=when)
        self.db.commit()
        return request

    def reply(self, request: Request, when: datetime, staff=None) -> None:
        requests.reply_as_staff(
            self.db, staff or self.s, request, "Here is the answer.", internal=False, calendar=CAL, now=when
        )
        self.db.commit()

    def family_writes(self, request: Request, when: datetime) -> None:
        requests.reply_as_family(self.db, self.guardian, request, "One more thing.", calendar=CAL, now=when)
        self.db.commit()

    def status(self, request: Request, status: RequestStatus, when: datetime, staff=None) -> None:
        requests.change_status(self.db, staff or self.s, request, status, calendar=CAL, now=when, secret_key=SECRET)
        self.db.commit()

    def rate(self, request: Request, rating: int, comment: str, when: datetime) -> None:
        requests.rate(
            self.db,
            request,
            rating,
            comment,
            resolution_number=request.resolution_count,
            rated_by=self.guardian,
            now=when,
        )
        self.db.commit()

    def ask_call(self, request: Request, starts: str, ends: str, when: datetime) -> None:
        wanted = CallbackAsk("213-555-0143", "English", frozenset(range(5)), starts, ends)
        callbacks.ask(self.db, self.guardian, request, wanted, region="US", now=when, calendar=CAL)
        self.db.commit()

    def call(self, request: Request, outcome: CallOutcome, when: datetime) -> None:
        callbacks.log_attempt(self.db, self.s, request, outcome, "We talked.", now=when, calendar=CAL)
        self.db.commit()

    def feedback(self, kind: str, department: Department, body: str, when: datetime, *, school=None) -> Feedback:
        new = feedback.NewFeedback(
            kind=kind, department_id=department.id, school_id=school.id if school else None, rating=None, body=body
        )
        sent = feedback.submit_from_family(self.db, self.guardian, new, now=when)
        self.db.commit()
        return sent


@pytest.fixture
def scene(db) -> Scene:
    return Scene(db)


@pytest.fixture
def district(db) -> Scene:
    return build_district(db)


def build_district(db) -> Scene:
    """Every request and feedback of the module docstring."""
    scene = Scene(db)
    s, t, e = scene, scene.t, scene.e
    r1 = s.send(t, at(10, 30, 15, 30))
    s.reply(r1, at(11, 2, 9))
    s.status(r1, RequestStatus.RESOLVED, at(11, 2, 10))
    s.rate(r1, 4, "", at(11, 2, 11))

    r2 = s.send(t, at(11, 6, 16))
    s.reply(r2, at(11, 9, 10))
    s.status(r2, RequestStatus.RESOLVED, at(11, 9, 10, 30))

    r3 = s.send(t, at(11, 10, 15))
    s.reply(r3, at(11, 12, 8, 15))
    s.status(r3, RequestStatus.WAITING_ON_FAMILY, at(11, 12, 9))
    s.family_writes(r3, at(11, 13, 9))
    s.reply(r3, at(11, 13, 9, 45))
    s.status(r3, RequestStatus.RESOLVED, at(11, 13, 10))
    s.rate(r3, 5, "Great help", at(11, 13, 11))

    r4 = s.send(t, at(11, 9, 8))
    s.reply(r4, at(11, 9, 8, 30))
    s.status(r4, RequestStatus.RESOLVED, at(11, 9, 9))
    s.rate(r4, 2, "Slow", at(11, 9, 9, 30))
    s.family_writes(r4, at(11, 10, 8))
    s.reply(r4, at(11, 10, 10))
    s.status(r4, RequestStatus.RESOLVED, at(11, 10, 10, 30))

    r5 = s.send(t, at(11, 9, 9))
    s.reply(r5, at(11, 9, 9, 30))
    requests.change_department(s.db, s.admin, r5, e.id, calendar=CAL, now=at(11, 9, 10))
    s.db.commit()
    s.family_writes(r5, at(11, 9, 11))
    s.reply(r5, at(11, 9, 14), staff=s.e_staff)

    s.send(e, at(11, 12, 8), student=False)  # R6

    r7 = s.send(t, at(11, 9, 12))
    s.ask_call(r7, "13:00", "16:00", at(11, 9, 12))
    assert r7.callback_due_at == at(11, 9, 14)
    s.call(r7, CallOutcome.REACHED, at(11, 9, 13, 30))
    s.status(r7, RequestStatus.RESOLVED, at(11, 9, 14))

    r8 = s.send(t, at(11, 10, 8))
    s.ask_call(r8, "08:00", "16:30", at(11, 10, 8))
    assert r8.callback_due_at == at(11, 10, 10)
    s.call(r8, CallOutcome.NO_ANSWER, at(11, 10, 9))
    s.call(r8, CallOutcome.REACHED, at(11, 12, 9))
    s.status(r8, RequestStatus.RESOLVED, at(11, 12, 9, 30))

    f1 = s.feedback(
        "concern",
        t,
        "The bus was late again this week and the driver was rude to my son.",
        at(11, 9, 10),
        school=s.school,
    )
    tagged = s.db.scalar(select(Feedback).where(Feedback.id == f1.id).options(selectinload(Feedback.tags)))
    feedback.set_tags(s.db, s.s, tagged, ["bus"], now=at(11, 9, 11))
    feedback.respond(s.db, s.s, f1, "We talked to the driver.", calendar=CAL, now=at(11, 10, 10))
    f2 = s.feedback(
        "compliment", t, "Thank you so much, the bus driver is wonderful and very kind to our children.", at(11, 10, 9)
    )
    feedback.respond(s.db, s.s, f2, "Thank you!", calendar=CAL, now=at(11, 12, 10))
    f3 = s.feedback("question", e, "When does enrollment for next year open for new students?", at(11, 13, 9))
    feedback.update(
        s.db, s.admin, f3, status=FeedbackStatus.CLOSED, assignee_id=None, department_id=e.id, now=at(11, 13, 10)
    )
    s.db.commit()
    return scene


def lead_of_transport(db, district: Scene) -> MetricsScope:
    scope = metrics.metrics_scope_for(db, district.sup)
    assert scope is not None
    return scope


# --- the hand-computed figures --------------------------------------------------


def test_transportation_this_week_and_the_week_before(db, district):
    board = metrics.dashboard(db, lead_of_transport(db, district), P, now=NOW)
    assert board.period == P and board.previous_period == Q
    now = board.current
    # Received in P and still in T: R3, R4, R7, R8 (R5 moved to E; R2 came on 6 Nov).
    assert now.received == 4
    # Resolved: R2, R3, R4 twice, R7, R8.
    assert now.resolved == 6
    assert now.reopened == 1  # R4
    # First replies, sorted: R4 1800, R5 1800 (answered by T), R7 5400, R3 6300, R2 9000,
    # R8 34200. Median: rank ceil(6/2) = 3 -> 5400; p90: rank ceil(5.4) = 6 -> 34200.
    # On time 4 of 6; broken: R2 and R8, late.
    assert now.first_reply == TimeFigures(6, 5400, 34200, 4, 66.7, 2)
    # Next replies: R3 2700 on time, R4 7200 late (R5's is E's).
    assert now.next_reply == TimeFigures(2, 2700, 7200, 1, 50.0, 1)
    # Resolutions: R4a 3600, R7 7200, R4b 9000, R2 10800, R3 12600 (pause left out), R8 36000.
    assert now.resolution == TimeFigures(6, 9000, 36000, 6, 100.0, 0)
    # R7 kept on time with 1 attempt, R8 kept late with 2: (1 + 2) / 2 attempts per call.
    assert now.callbacks == CallbackFigures(
        asked=2, kept_on_time=1, kept_late=1, on_time_percent=50.0, attempts_per_call=1.5
    )
    sat = now.satisfaction
    # Ratings given in P: R4's 2 (Mon) and R3's 5 (Fri), against 6 resolutions.
    assert (sat.resolved, sat.responses, sat.response_rate_percent, sat.mean, sat.percent_4_or_5) == (
        6,
        2,
        33.3,
        3.5,
        50.0,
    )
    transport = district.t.name
    assert [(c.rating, c.comment, c.department_name) for c in sat.comments] == [
        (5, "Great help", transport),
        (2, "Slow", transport),
    ]
    assert isinstance(sat.comments[0], Comment) and sat.comments[0].created_at == at(11, 13, 11)
    fb = now.feedback
    assert fb.received == 2 and (fb.open, fb.closed) == (2, 0)
    assert [(c.key, c.count) for c in fb.by_kind] == [
        ("compliment", 1),
        ("suggestion", 0),
        ("concern", 1),
        ("question", 0),
    ]
    assert [(c.key, c.label, c.count) for c in fb.by_topic] == [("bus", "bus", 1), ("none", "No topic", 1)]
    assert fb.by_school == (
        Count(str(district.school.id), "Lincoln Elementary", 1),
        Count("none", "No school", 1),
    )
    assert [(c.key, c.count) for c in fb.by_sentiment] == [
        ("positive", 1),
        ("neutral", 0),
        ("negative", 1),
        ("unscored", 0),
    ]
    # F1 30600, F2 34200: feedback carries no promise, so no on-time share.
    assert fb.first_response == TimeFigures(2, 30600, 34200, 0, None, 0)

    before = board.previous
    assert (before.received, before.resolved, before.reopened) == (1, 1, 0)  # R2 arrived; R1 resolved
    assert before.first_reply == TimeFigures(1, 7200, 7200, 1, 100.0, 0)  # R1, across the DST change
    assert before.next_reply == TimeFigures(0, None, None, 0, None, 0)
    assert before.resolution == TimeFigures(1, 10800, 10800, 1, 100.0, 0)
    assert before.callbacks == CallbackFigures(0, 0, 0, None, None)
    assert (before.satisfaction.responses, before.satisfaction.mean, before.satisfaction.comments) == (1, 4.0, ())
    assert before.feedback.received == 0

    # Every T request is resolved or moved.
    assert board.backlog.open == 0
    assert [bucket.count for bucket in board.backlog.ages] == [0, 0, 0, 0, 0]


def test_the_answering_department_keeps_its_figures_after_a_transfer(db, district):
    scope = metrics.metrics_scope_for(db, district.admin, department_id=district.e.id)
    board = metrics.dashboard(db, scope, P, now=NOW)
    now = board.current
    assert now.received == 2  # R5 (now in E) and R6
    # E answered no first reply (R5's was T's); R6's came due Thu 12:00 and still runs.
    assert now.first_reply == TimeFigures(0, None, None, 0, None, 1)
    assert now.next_reply == TimeFigures(1, 10800, 10800, 1, 100.0, 0)  # R5, by E
    assert now.resolution == TimeFigures(0, None, None, 0, None, 0)
    assert now.feedback.received == 1 and (now.feedback.open, now.feedback.closed) == (0, 1)  # F3
    assert now.feedback.first_response == TimeFigures(0, None, None, 0, None, 0)
    # Now (Mon 16 Nov 12:00): R5 is 7 days 3 hours old, R6 4 days 4 hours.
    assert board.backlog.open == 2
    assert board.backlog.ages == (
        AgeBucket("under 1 day", 0),
        AgeBucket("1–3 days", 0),
        AgeBucket("3–7 days", 1),
        AgeBucket("1–4 weeks", 1),
        AgeBucket("over 4 weeks", 0),
    )
    assert [(person.name, person.replies, person.first_replies) for person in board.staff] == [("Eve Enroller", 1, 0)]


def test_the_whole_district_and_one_school(db, district):
    scope = metrics.metrics_scope_for(db, district.admin)
    assert scope == MetricsScope(None, None, True)
    now = metrics.dashboard(db, scope, P, now=NOW).current
    assert now.received == 6
    assert now.first_reply == TimeFigures(6, 5400, 34200, 4, 66.7, 3)  # + R6 still running
    # R3 2700, R4 7200 (late), R5 10800.
    assert now.next_reply == TimeFigures(3, 7200, 10800, 2, 66.7, 1)
    assert now.feedback.received == 3 and now.feedback.closed == 1
    lincoln = metrics.metrics_scope_for(db, district.admin, school_id=district.school.id)
    at_lincoln = metrics.dashboard(db, lincoln, P, now=NOW).current
    assert at_lincoln.received == 5  # not R6, which is about no student
    assert at_lincoln.first_reply.broken == 2
    assert at_lincoln.feedback.received == 1  # F1


def test_staff_figures_for_the_lead(db, district):
    board = metrics.dashboard(db, lead_of_transport(db, district), P, now=NOW)
    # Sam's public replies in P: R2, R3 twice, R4 twice, R5, R7's and R8's call summaries.
    assert board.staff == (
        StaffFigures(district.s.id, "Sam Staff", 0, 8, 6, 5400),
        StaffFigures(district.sup.id, "Sue Supervisor", 0, 0, 0, None),
    )
    no_staff = MetricsScope((district.t.id,), include_staff=False)
    assert metrics.dashboard(db, no_staff, P, now=NOW).staff == ()


def test_the_trend_reuses_the_weeks_figures(db, district):
    trend = metrics.dashboard(db, lead_of_transport(db, district), P, now=NOW).trend
    assert len(trend) == 12
    assert trend[0].week_start == date(2026, 8, 24) and trend[-1].week_start == date(2026, 11, 9)
    last, before, older = trend[-1], trend[-2], trend[-3]
    assert (last.received, last.first_reply_median_seconds, last.first_reply_on_time_percent) == (4, 5400, 66.7)
    assert (last.satisfaction_mean, last.feedback_received) == (3.5, 2)
    assert (before.received, before.first_reply_median_seconds, before.first_reply_on_time_percent) == (1, 7200, 100.0)
    assert (before.satisfaction_mean, before.feedback_received) == (4.0, 0)
    assert (older.week_start, older.received, older.first_reply_median_seconds) == (date(2026, 10, 26), 1, None)
    assert all(point.received == 0 for point in trend[:-3])


def test_the_facts_match_the_promise_the_family_saw(db, district):
    """Each first reply's fact carries the request's promised time and its business seconds."""
    for request in db.scalars(select(Request).where(Request.first_replied_at.is_not(None))):
        fact = db.scalar(
            select(ClockStop).where(ClockStop.request_id == request.id, ClockStop.kind == ClockKind.FIRST_REPLY)
        )
        assert fact is not None
        assert fact.due_at == request.first_reply_due_at
        assert fact.business_seconds == request.first_reply_business_seconds
        assert fact.on_time == (request.first_replied_at <= request.first_reply_due_at)


def test_public_summary_only_for_an_opted_in_public_department(db, district):
    assert metrics.public_summary(db, district.t.id, now=NOW) is None
    district.t.metrics_public = True
    db.commit()
    summary = metrics.public_summary(db, district.t.id, now=NOW)
    # The last 30 days (17 Oct to 16 Nov): R1's 7200 and P's six; rank 4 of 7 -> 6300;
    # on time R1, R3, R4, R5, R7: 5 of 7.
    assert summary == metrics.PublicSummary(district.t.id, "Transportation", 6300, 71.4, 7)
    district.t.is_public = False
    db.commit()
    assert metrics.public_summary(db, district.t.id, now=NOW) is None
    assert metrics.public_summary(db, 10_000, now=NOW) is None


# --- who sees what ----------------------------------------------------------------


def test_scope(db, scene):
    s = scene
    assert metrics.metrics_scope_for(db, s.guardian) is None
    assert metrics.metrics_scope_for(db, s.s) is None  # staff who lead nothing
    assert metrics.metrics_scope_for(db, s.sup) == MetricsScope((s.t.id,), None, True)
    assert metrics.metrics_scope_for(db, s.sup, department_id=s.t.id) == MetricsScope((s.t.id,), None, True)
    assert metrics.metrics_scope_for(db, s.sup, department_id=s.e.id) is None
    assert metrics.metrics_scope_for(db, s.sup, school_id=s.school.id) == MetricsScope((s.t.id,), None, True)
    assert metrics.metrics_scope_for(db, s.admin) == MetricsScope(None, None, True)
    assert metrics.metrics_scope_for(db, s.admin, department_id=s.e.id, school_id=s.school.id) == MetricsScope(
        (s.e.id,), s.school.id, True
    )
    assert metrics.metrics_scope_for(db, s.admin, department_id=10_000) is None
    db.add(DepartmentMember(department_id=s.e.id, user_id=s.sup.id, is_supervisor=True))
    db.commit()
    assert metrics.metrics_scope_for(db, s.sup) == MetricsScope(tuple(sorted((s.t.id, s.e.id))), None, True)
    assert metrics.departments_for_metrics(db, s.sup) == [(s.e.id, "Enrollment"), (s.t.id, "Transportation")]
    assert metrics.departments_for_metrics(db, s.s) == []
    assert metrics.departments_for_metrics(db, s.guardian) == []
    assert metrics.departments_for_metrics(db, s.admin) == [(s.e.id, "Enrollment"), (s.t.id, "Transportation")]
    s.sup.is_active = False
    db.commit()
    assert metrics.metrics_scope_for(db, s.sup) is None


def test_named_periods():
    wednesday = date(2026, 11, 11)
    week = metrics.named_period("week", today=wednesday)
    assert (week.start, week.end) == (date(2026, 11, 9), wednesday)
    # This week so far beside last week's same days, not beside the weekend before it.
    assert (week.previous().start, week.previous().end) == (date(2026, 11, 2), date(2026, 11, 4))
    monday = metrics.named_period("week", today=date(2026, 11, 9))
    assert (monday.previous().start, monday.previous().end) == (date(2026, 11, 2), date(2026, 11, 2))
    assert metrics.named_period("30days", today=wednesday) == Period(date(2026, 10, 13), wednesday)
    assert metrics.named_period("30days", today=wednesday).days == 30
    assert metrics.named_period("30days", today=wednesday).previous() == Period(date(2026, 9, 13), date(2026, 10, 12))
    year = metrics.named_period("year", today=wednesday)
    assert (year.start, year.end) == (date(2026, 7, 1), wednesday)
    # The school year so far beside the last one's same months.
    assert (year.previous().start, year.previous().end) == (date(2025, 7, 1), date(2025, 11, 11))
    assert (metrics.named_period("year", today=date(2027, 3, 1)).start) == date(2026, 7, 1)
    assert metrics.named_period("year", today=date(2027, 7, 1)).start == date(2027, 7, 1)
    leap = metrics.named_period("year", today=date(2028, 2, 29))
    assert leap.previous().end == date(2027, 2, 28)
    with pytest.raises(ValueError):
        metrics.named_period("decade", today=wednesday)


# --- statements -------------------------------------------------------------------


def _statements_of(db, call) -> int:
    count = 0

    def counted(*_args) -> None:
        nonlocal count
        count += 1

    engine = db.get_bind()
    event.listen(engine, "before_cursor_execute", counted)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", counted)
    return count


def test_a_bounded_number_of_statements_whatever_the_requests(db, scene):
    scope = MetricsScope(None, include_staff=True)
    db.commit()
    empty = _statements_of(db, lambda: metrics.dashboard(db, scope, P, now=NOW))
    for day in (9, 10, 12):
        request = scene.send(scene.t, at(11, day, 9))
        scene.reply(request, at(11, day, 10))
        scene.status(request, RequestStatus.RESOLVED, at(11, day, 11))
    scene.feedback("concern", scene.t, "The bus was late again this week and the driver was rude.", at(11, 9, 10))
    db.expire_all()
    busy = _statements_of(db, lambda: metrics.dashboard(db, scope, P, now=NOW))
    # The school names are read only when some feedback names a school: at most one more.
    assert busy <= empty + 1
    assert busy <= 40


def test_a_call_back_that_ended_unkept_counts_its_attempts_not_as_kept(db, scene):
    request = scene.send(scene.t, at(11, 9, 9))
    scene.ask_call(request, "08:00", "16:30", at(11, 9, 9))
    scene.call(request, CallOutcome.NO_ANSWER, at(11, 9, 10))
    scene.call(request, CallOutcome.WRONG_NUMBER, at(11, 9, 11))
    cancelled = scene.send(scene.t, at(11, 10, 9))
    scene.ask_call(cancelled, "08:00", "16:30", at(11, 10, 9))
    callbacks.cancel(db, scene.guardian, cancelled, now=at(11, 10, 10))
    db.commit()
    figures = metrics.dashboard(db, MetricsScope((scene.t.id,)), P, now=NOW).current.callbacks
    # Two asked; one ended with two calls and no one reached; the cancelled one is no call.
    assert figures == CallbackFigures(asked=2, kept_on_time=0, kept_late=0, on_time_percent=None, attempts_per_call=2.0)
    kinds = db.scalars(
        select(ClockStop.kind).where(ClockStop.kind.in_((ClockKind.CALLBACK, ClockKind.CALLBACK_FAILED)))
    )
    assert list(kinds) == [ClockKind.CALLBACK_FAILED]
