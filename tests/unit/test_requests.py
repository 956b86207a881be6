"""Requests without HTTP: the reply-time clocks, idempotent submission, validation,
escalation, notifications, ratings, measured speed and the staff queue.

Every time is passed as `now` on a known calendar: Monday to Friday, 08:00 to 16:30 in
Los Angeles. Transportation promises (business minutes) a first reply in 120, a next
reply in 60 and a resolution in 1020 (two business days) at normal priority.
"""

import json
import types
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from itsdangerous import URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from portal.models import (
    AuditEvent,
    Department,
    DepartmentMember,
    Household,
    Notification,
    Priority,
    ReplyTarget,
    Request,
    RequestMessage,
    RequestStatus,
    SatisfactionRating,
    School,
    Student,
    User,
)
from portal.services import requests
from portal.services.calendar.district_calendar import ClosureChange
from portal.services.errors import InvalidInput, InvalidToken, NotAllowed, NotFound
from portal.services.requests import NewRequest, Promise, QueueFilter, intake
from portal.services.requests.business_time import Calendar
from tests import factories
from tests.search_text import stale_search_texts

LOS_ANGELES = ZoneInfo("America/Los_Angeles")
WEEKDAYS_8_TO_1630 = {day: ((time(8), time(16, 30)),) for day in range(5)}
DISTRICT = Calendar(LOS_ANGELES, WEEKDAYS_8_TO_1630)
SECRET = "unit-test-secret"
KEY = "form-key-0123456789abcdef"
# (first reply, next reply, resolution) in business minutes.
TRANSPORT_TARGETS = {Priority.NORMAL: (120, 60, 1020), Priority.HIGH: (30, 30, 510)}
ENROLLMENT_TARGETS = {Priority.NORMAL: (240, 240, 2040)}


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LOS_ANGELES).astimezone(UTC)


def nov(day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in November 2026: Monday 16 to Friday 20 is a plain week."""
    return local(2026, 11, day, hour, minute)


def closed_on(*days: date) -> Calendar:
    return Calendar(LOS_ANGELES, WEEKDAYS_8_TO_1630, closures=tuple((day, day) for day in days))


# --- the district -------------------------------------------------------------


def make_department(db, name: str, targets: dict, *, public: bool = True) -> Department:
    department = Department(name=name, description="", is_public=public)
    db.add(department)
    db.flush()
    for priority, (first, following, resolution) in targets.items():
        db.add(
            ReplyTarget(
                department_id=department.id,
                priority=priority,
                first_reply_minutes=first,
                next_reply_minutes=following,
                resolution_minutes=resolution,
            )
        )
    db.commit()
    return department


def join(db, department: Department, user: User, *, supervisor: bool = False) -> None:
    db.add(DepartmentMember(department_id=department.id, user_id=user.id, is_supervisor=supervisor))
    db.commit()


@dataclass
class District:
    transport: Department
    enrollment: Department
    legal: Department
    school: School
    household: Household
    guardian: User
    second_guardian: User
    student: Student
    staff: User
    colleague: User
    supervisor: User
    enroller: User
    admin: User


@pytest.fixture
def district(db) -> District:
    transport = make_department(db, "Transportation", TRANSPORT_TARGETS)
    enrollment = make_department(db, "Enrollment", ENROLLMENT_TARGETS)
    legal = make_department(db, "Legal", {}, public=False)
    school = factories.make_school(db, "Lincoln Elementary")
    household = factories.make_household(db, guardians=2, students=1, name="Garcia family", school=school)
    guardian, second_guardian = factories.guardians_of(db, household)
    student = db.scalar(select(Student).where(Student.household_id == household.id))
    staff = factories.make_staff(db, name="Sam Staff")
    colleague = factories.make_staff(db, name="Cam Colleague")
    supervisor = factories.make_staff(db, name="Sue Supervisor")
    enroller = factories.make_staff(db, name="Eve Enroller")
    admin = factories.make_admin(db, name="Ada Admin")
    join(db, transport, staff)
    join(db, transport, colleague)
    join(db, transport, supervisor, supervisor=True)
    join(db, enrollment, enroller)
    join(db, enrollment, colleague)
    return District(
        transport,
        enrollment,
        legal,
        school,
        household,
        guardian,
        second_guardian,
        student,
        staff,
        colleague,
        supervisor,
        enroller,
        admin,
    )


# --- acting as the family and as staff ------------------------------------------


def submit(
    db,
    district: District,
    *,
    at: datetime,
    department: Department | None = None,
    subject: str = "Bus stop change",
    body: str = "Can the bus stop at Elm Street instead?",
    guardian: User | None = None,
    student_id: int | None = None,
    key: str | None = None,
    calendar: Calendar = DISTRICT,
) -> Request:
    new = NewRequest((department or district.transport).id, subject, body, student_id=student_id, submission_key=key)
    request, _created = requests.submit_request(db, guardian or district.guardian, new, calendar=calendar, now=at)
    db.commit()
    return request


def staff_reply(db, district: District, request: Request, *, at: datetime, internal: bool = False, actor=None):
    message = requests.reply_as_staff(
        db, actor or district.staff, request, "Yes, from Monday.", internal=internal, calendar=DISTRICT, now=at
    )
    db.commit()
    return message


def family_reply(db, district: District, request: Request, *, at: datetime, body: str = "Thank you. And Fridays?"):
    message = requests.reply_as_family(db, district.guardian, request, body, calendar=DISTRICT, now=at)
    db.commit()
    return message


def set_status(db, district: District, request: Request, status: RequestStatus, *, at: datetime) -> None:
    requests.change_status(db, district.staff, request, status, calendar=DISTRICT, now=at, secret_key=SECRET)
    db.commit()


def resolve(db, district: District, request: Request, *, at: datetime) -> None:
    set_status(db, district, request, RequestStatus.RESOLVED, at=at)


def emails(db, template: str) -> list[Notification]:
    return list(db.scalars(select(Notification).where(Notification.template == template).order_by(Notification.id)))


def count(db, model, *where) -> int:
    return db.scalar(select(func.count()).select_from(model).where(*where))


# --- the clocks at submission ---------------------------------------------------


def test_submit_computes_the_due_times_from_the_department_targets_in_business_time(db, district):
    request = submit(db, district, at=nov(16, 10))
    assert (request.first_reply_target_minutes, request.next_reply_target_minutes) == (120, 60)
    assert request.resolution_target_minutes == 1020
    assert request.status is RequestStatus.OPEN
    assert request.first_reply_due_at == nov(16, 12)
    assert request.resolution_due_at == nov(18, 10)  # two business days later
    assert request.next_reply_due_at is None
    assert request.due_at == nov(16, 12)
    assert requests.promise_of(request) == Promise("reply", nov(16, 12))


def test_a_request_sent_friday_night_starts_its_clocks_on_monday_morning(db, district):
    request = submit(db, district, at=nov(20, 22))
    assert request.first_reply_due_at == nov(23, 10)
    assert request.resolution_due_at == nov(24, 16, 30)
    assert request.due_at == nov(23, 10)


def test_a_closure_day_is_skipped_by_every_clock(db, district):
    snow_day = closed_on(date(2026, 11, 17))
    request = submit(db, district, at=nov(16, 15, 30), calendar=snow_day)
    # One hour on Monday, none on Tuesday, the rest from Wednesday morning.
    assert request.first_reply_due_at == nov(18, 9)
    assert request.resolution_due_at == nov(19, 15, 30)


@pytest.mark.parametrize(
    ("sent", "first_reply_due", "resolution_due", "first_reply_due_utc"),
    [
        # Clocks go back on Sunday 1 November 2026: Monday opens at 08:00 PST, 16:00 UTC.
        (
            local(2026, 10, 30, 15),
            local(2026, 11, 2, 8, 30),
            local(2026, 11, 3, 15),
            datetime(2026, 11, 2, 16, 30, tzinfo=UTC),
        ),
        # Clocks go forward on Sunday 8 March 2026: Monday opens at 08:00 PDT, 15:00 UTC.
        (
            local(2026, 3, 6, 15),
            local(2026, 3, 9, 8, 30),
            local(2026, 3, 10, 15),
            datetime(2026, 3, 9, 15, 30, tzinfo=UTC),
        ),
    ],
)
def test_the_clocks_follow_the_local_office_hours_across_a_dst_weekend(
    db, district, sent, first_reply_due, resolution_due, first_reply_due_utc
):
    request = submit(db, district, at=sent)
    assert request.first_reply_due_at == first_reply_due == first_reply_due_utc
    assert request.resolution_due_at == resolution_due


def test_due_times_come_back_from_the_database_as_the_same_utc_instants(db, district):
    request_id = submit(db, district, at=nov(16, 10)).id
    db.expunge_all()
    stored = db.get(Request, request_id)
    assert stored.first_reply_due_at == nov(16, 12)
    assert stored.first_reply_due_at.utcoffset() == timedelta(0)
    assert stored.due_at == nov(16, 12)


# --- replies ----------------------------------------------------------------------


def test_the_first_public_staff_reply_stops_the_first_reply_clock(db, district):
    request = submit(db, district, at=nov(16, 16))
    staff_reply(db, district, request, at=nov(17, 9))
    assert request.first_replied_at == nov(17, 9)
    # 30 minutes on Monday and an hour on Tuesday morning: the night does not count.
    assert request.first_reply_business_seconds == 90 * 60
    assert request.status is RequestStatus.IN_PROGRESS
    assert requests.running_clocks(request) == [("resolution", nov(18, 16))]
    assert request.due_at == request.resolution_due_at == nov(18, 16)
    assert requests.promise_of(request) == Promise("resolution", nov(18, 16))


def test_a_later_staff_reply_keeps_the_first_reply_time(db, district):
    request = submit(db, district, at=nov(16, 10))
    staff_reply(db, district, request, at=nov(16, 11))
    staff_reply(db, district, request, at=nov(16, 15))
    assert request.first_replied_at == nov(16, 11)
    assert request.first_reply_business_seconds == 3600


def test_an_internal_note_stops_no_clock_and_is_audited_without_the_household(db, district):
    request = submit(db, district, at=nov(16, 10))
    staff_reply(db, district, request, at=nov(16, 11), internal=True)
    assert request.first_replied_at is None
    assert request.first_reply_business_seconds is None
    assert request.status is RequestStatus.OPEN
    assert request.due_at == request.first_reply_due_at == nov(16, 12)
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "request.internal_note"))
    assert event is not None and event.household_id is None


def test_an_internal_note_is_hidden_from_the_familys_conversation(db, district):
    request = submit(db, district, at=nov(16, 10))
    staff_reply(db, district, request, at=nov(16, 11), internal=True)
    staff_reply(db, district, request, at=nov(16, 12))
    assert [m.is_internal for m in requests.public_messages(db, request)] == [False, False]
    assert [m.is_internal for m in requests.all_messages(db, request)] == [False, True, False]


def test_a_family_message_before_any_staff_reply_starts_no_next_reply_clock(db, district):
    request = submit(db, district, at=nov(16, 10))
    family_reply(db, district, request, at=nov(16, 11))
    assert request.next_reply_due_at is None
    assert request.due_at == request.first_reply_due_at == nov(16, 12)


def test_a_family_message_after_a_staff_reply_starts_a_next_reply_clock(db, district):
    request = submit(db, district, at=nov(16, 10))
    staff_reply(db, district, request, at=nov(16, 10, 30))
    family_reply(db, district, request, at=nov(16, 11))
    assert request.next_reply_started_at == nov(16, 11)
    assert request.next_reply_due_at == nov(16, 12)
    assert request.due_at == nov(16, 12)
    assert requests.promise_of(request) == Promise("reply", nov(16, 12))


def test_a_second_family_message_does_not_restart_the_next_reply_clock(db, district):
    request = submit(db, district, at=nov(16, 10))
    staff_reply(db, district, request, at=nov(16, 10, 30))
    family_reply(db, district, request, at=nov(16, 11))
    family_reply(db, district, request, at=nov(16, 11, 45))
    assert request.next_reply_started_at == nov(16, 11)
    assert request.next_reply_due_at == nov(16, 12)


def test_a_public_staff_reply_stops_the_next_reply_clock(db, district):
    request = submit(db, district, at=nov(16, 10))
    staff_reply(db, district, request, at=nov(16, 10, 30))
    family_reply(db, district, request, at=nov(16, 11))
    staff_reply(db, district, request, at=nov(16, 11, 30))
    assert request.next_reply_due_at is None
    assert request.next_reply_started_at is None
    assert request.due_at == request.resolution_due_at == nov(18, 10)


def test_an_internal_note_does_not_stop_the_next_reply_clock(db, district):
    request = submit(db, district, at=nov(16, 10))
    staff_reply(db, district, request, at=nov(16, 10, 30))
    family_reply(db, district, request, at=nov(16, 11))
    staff_reply(db, district, request, at=nov(16, 11, 30), internal=True)
    assert request.next_reply_due_at == request.due_at == nov(16, 12)


# --- waiting on the family ----------------------------------------------------------


def test_waiting_on_family_pauses_the_resolution_clock(db, district):
    request = submit(db, district, at=nov(16, 10))
    staff_reply(db, district, request, at=nov(16, 11))
    set_status(db, district, request, RequestStatus.WAITING_ON_FAMILY, at=nov(16, 11))
    assert request.status is RequestStatus.WAITING_ON_FAMILY
    assert request.resolution_paused_at == nov(16, 11)
    assert request.resolution_due_at is None
    assert request.due_at is None
    assert requests.running_clocks(request) == []
    assert requests.promise_of(request) is None


def test_the_familys_answer_resumes_the_resolution_clock_with_the_paused_business_time_added(db, district):
    request = submit(db, district, at=nov(16, 10))
    staff_reply(db, district, request, at=nov(16, 11))
    set_status(db, district, request, RequestStatus.WAITING_ON_FAMILY, at=nov(16, 11))
    family_reply(db, district, request, at=nov(17, 11))
    assert request.status is RequestStatus.IN_PROGRESS
    assert request.resolution_paused_at is None
    # Paused 11:00-16:30 on Monday and 08:00-11:00 on Tuesday: 8.5 business hours.
    assert request.resolution_paused_seconds == int(8.5 * 3600)
    assert request.resolution_due_at == nov(19, 10)  # Wednesday 10:00 plus 8.5 hours
    assert request.next_reply_due_at == nov(17, 12)
    assert request.due_at == nov(17, 12)


def test_staff_taking_a_request_off_waiting_resume_the_resolution_clock(db, district):
    request = submit(db, district, at=nov(16, 10))
    staff_reply(db, district, request, at=nov(16, 11))
    set_status(db, district, request, RequestStatus.WAITING_ON_FAMILY, at=nov(16, 11))
    set_status(db, district, request, RequestStatus.IN_PROGRESS, at=nov(17, 11))
    assert request.resolution_due_at == request.due_at == nov(19, 10)
    assert request.next_reply_due_at is None


def test_pauses_add_up(db, district):
    request = submit(db, district, at=nov(16, 10))
    staff_reply(db, district, request, at=nov(16, 11))
    set_status(db, district, request, RequestStatus.WAITING_ON_FAMILY, at=nov(16, 11))
    family_reply(db, district, request, at=nov(16, 12))
    staff_reply(db, district, request, at=nov(16, 13))
    set_status(db, district, request, RequestStatus.WAITING_ON_FAMILY, at=nov(16, 13))
    family_reply(db, district, request, at=nov(16, 15))
    assert request.resolution_paused_seconds == 3 * 3600
    assert request.resolution_due_at == nov(18, 13)


def test_waiting_on_family_before_a_first_reply_keeps_the_first_reply_clock_running(db, district):
    request = submit(db, district, at=nov(16, 10))
    set_status(db, district, request, RequestStatus.WAITING_ON_FAMILY, at=nov(16, 10, 30))
    assert requests.running_clocks(request) == [("first_reply", nov(16, 12))]
    assert request.due_at == nov(16, 12)


# --- resolving, reopening, closing -----------------------------------------------


def test_resolving_stops_every_clock_and_counts_the_resolution(db, district):
    request = submit(db, district, at=nov(16, 10))
    staff_reply(db, district, request, at=nov(16, 10, 30))
    family_reply(db, district, request, at=nov(16, 11))
    resolve(db, district, request, at=nov(16, 11, 15))
    assert request.status is RequestStatus.RESOLVED
    assert request.resolved_at == nov(16, 11, 15)
    assert request.resolution_count == 1
    assert (request.next_reply_due_at, request.resolution_due_at, request.due_at) == (None, None, None)
    assert requests.running_clocks(request) == []
    assert requests.promise_of(request) is None


def test_resolving_before_any_reply_stops_the_first_reply_clock_too(db, district):
    request = submit(db, district, at=nov(16, 10))
    resolve(db, district, request, at=nov(16, 10, 30))
    assert requests.running_clocks(request) == []
    assert request.due_at is None


def test_a_family_message_reopens_a_resolved_request_and_restarts_its_clocks(db, district):
    request = submit(db, district, at=nov(16, 10))
    staff_reply(db, district, request, at=nov(16, 10, 30))
    resolve(db, district, request, at=nov(16, 12))
    family_reply(db, district, request, at=nov(17, 9))
    assert request.status is RequestStatus.IN_PROGRESS
    assert request.resolved_at is None
    assert request.resolution_started_at == nov(17, 9)
    assert request.resolution_due_at == nov(19, 9)
    assert request.next_reply_due_at == request.due_at == nov(17, 10)
    assert request.resolution_count == 1


def test_reopen_before_a_first_reply_restarts_the_first_reply_clock(db, district):
    request = submit(db, district, at=nov(16, 10))
    requests.close_by_family(db, district.guardian, request, now=nov(16, 10, 30))
    requests.reopen(db, district.guardian, request, calendar=DISTRICT, now=nov(17, 9))
    db.commit()
    assert request.status is RequestStatus.OPEN
    assert request.first_reply_due_at == request.due_at == nov(17, 11)
    assert request.resolution_due_at == nov(19, 9)


def test_reopen_after_a_reply_starts_a_next_reply_clock(db, district):
    request = submit(db, district, at=nov(16, 10))
    staff_reply(db, district, request, at=nov(16, 10, 30))
    resolve(db, district, request, at=nov(16, 12))
    requests.reopen(db, district.guardian, request, calendar=DISTRICT, now=nov(17, 9))
    db.commit()
    assert request.status is RequestStatus.IN_PROGRESS
    assert request.next_reply_due_at == request.due_at == nov(17, 10)
    assert request.resolution_due_at == nov(19, 9)


def test_reopening_an_open_request_changes_nothing(db, district):
    request = submit(db, district, at=nov(16, 10))
    requests.reopen(db, district.guardian, request, calendar=DISTRICT, now=nov(17, 9))
    db.commit()
    assert request.resolution_started_at == nov(16, 10)
    assert request.due_at == nov(16, 12)
    assert count(db, AuditEvent, AuditEvent.action == "request.reopened") == 0


def test_closing_by_the_family_stops_the_clocks(db, district):
    request = submit(db, district, at=nov(16, 10))
    requests.close_by_family(db, district.guardian, request, now=nov(16, 11))
    db.commit()
    assert request.status is RequestStatus.CLOSED
    assert request.due_at is None
    assert requests.running_clocks(request) == []
    assert requests.promise_of(request) is None


def test_closing_a_closed_request_records_nothing_more(db, district):
    request = submit(db, district, at=nov(16, 10))
    requests.close_by_family(db, district.guardian, request, now=nov(16, 11))
    requests.close_by_family(db, district.guardian, request, now=nov(16, 12))
    db.commit()
    assert count(db, AuditEvent, AuditEvent.action == "request.status_changed") == 1


def test_a_family_message_reopens_a_closed_request(db, district):
    request = submit(db, district, at=nov(16, 10))
    requests.close_by_family(db, district.guardian, request, now=nov(16, 11))
    family_reply(db, district, request, at=nov(17, 9))
    assert request.status is RequestStatus.OPEN
    assert request.due_at == nov(17, 11)


# --- the one promise -------------------------------------------------------------


def clocks(**values) -> Request:
    """An unsaved request with just the clock columns set."""
    defaults = {
        "status": RequestStatus.IN_PROGRESS,
        "first_replied_at": None,
        "first_reply_due_at": None,
        "next_reply_due_at": None,
        "resolution_paused_at": None,
        "resolution_due_at": None,
    }
    return Request(**{**defaults, **values})


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"first_reply_due_at": nov(16, 12), "resolution_due_at": nov(18, 10)}, Promise("reply", nov(16, 12))),
        (
            {"first_replied_at": nov(16, 11), "first_reply_due_at": nov(16, 12), "resolution_due_at": nov(18, 10)},
            Promise("resolution", nov(18, 10)),
        ),
        (
            {"first_replied_at": nov(16, 11), "next_reply_due_at": nov(17, 9), "resolution_due_at": nov(18, 10)},
            Promise("reply", nov(17, 9)),
        ),
        # A resolution due before the next reply is the earlier promise.
        (
            {"first_replied_at": nov(16, 11), "next_reply_due_at": nov(18, 12), "resolution_due_at": nov(18, 10)},
            Promise("resolution", nov(18, 10)),
        ),
        # A paused resolution clock promises nothing.
        (
            {
                "first_replied_at": nov(16, 11),
                "next_reply_due_at": nov(18, 12),
                "resolution_due_at": nov(18, 10),
                "resolution_paused_at": nov(16, 12),
            },
            Promise("reply", nov(18, 12)),
        ),
        ({"status": RequestStatus.RESOLVED, "first_reply_due_at": nov(16, 12)}, None),
    ],
)
def test_promise_of_chooses_the_earliest_running_clock(values, expected):
    assert requests.promise_of(clocks(**values)) == expected


def test_a_promise_is_overdue_from_its_due_time():
    promise = Promise("reply", nov(16, 12))
    assert not promise.is_overdue(nov(16, 11, 59))
    assert promise.is_overdue(nov(16, 12))


# --- priority and department -----------------------------------------------------


def test_a_new_priority_brings_its_targets_and_recomputes_from_the_clock_start(db, district):
    request = submit(db, district, at=nov(16, 10))
    requests.change_priority(db, district.staff, request, Priority.HIGH, calendar=DISTRICT, now=nov(16, 10, 20))
    db.commit()
    assert (request.first_reply_target_minutes, request.resolution_target_minutes) == (30, 510)
    assert request.first_reply_due_at == request.due_at == nov(16, 10, 30)
    assert request.resolution_due_at == nov(17, 10)


def test_a_new_priority_recomputes_a_running_next_reply_clock(db, district):
    request = submit(db, district, at=nov(16, 10))
    staff_reply(db, district, request, at=nov(16, 10, 30))
    family_reply(db, district, request, at=nov(16, 11))
    requests.change_priority(db, district.staff, request, Priority.HIGH, calendar=DISTRICT, now=nov(16, 11, 10))
    db.commit()
    assert request.next_reply_due_at == request.due_at == nov(16, 11, 30)


def test_the_same_priority_again_changes_nothing(db, district):
    request = submit(db, district, at=nov(16, 10))
    requests.change_priority(db, district.staff, request, Priority.NORMAL, calendar=DISTRICT, now=nov(16, 11))
    db.commit()
    assert count(db, AuditEvent, AuditEvent.action == "request.priority_changed") == 0


def test_a_new_department_brings_its_targets_and_recomputes(db, district):
    request = submit(db, district, at=nov(16, 10))
    requests.change_department(
        db, district.staff, request, district.enrollment.id, calendar=DISTRICT, now=nov(16, 10, 20)
    )
    db.commit()
    assert request.department_id == district.enrollment.id
    assert request.first_reply_due_at == request.due_at == nov(16, 14)
    assert request.resolution_due_at == nov(20, 10)


def test_a_new_department_drops_an_assignee_who_is_not_a_member(db, district):
    request = submit(db, district, at=nov(16, 10))
    requests.assign(db, district.staff, request, district.staff.id, now=nov(16, 10, 5))
    requests.change_department(db, district.staff, request, district.enrollment.id, calendar=DISTRICT, now=nov(16, 11))
    db.commit()
    assert request.assignee_id is None


def test_a_new_department_keeps_an_assignee_who_is_a_member_of_both(db, district):
    request = submit(db, district, at=nov(16, 10))
    requests.assign(db, district.staff, request, district.colleague.id, now=nov(16, 10, 5))
    requests.change_department(db, district.staff, request, district.enrollment.id, calendar=DISTRICT, now=nov(16, 11))
    db.commit()
    assert request.assignee_id == district.colleague.id


def test_the_update_form_offers_every_department_once_and_the_active_members_of_its_own(db, district):
    leaver = factories.make_staff(db, name="Lee Leaver")
    join(db, district.transport, leaver)
    leaver.is_active = False
    db.commit()
    choices = requests.update_choices(db, district.transport.id)
    assert [d.name for d in choices.departments] == ["Enrollment", "Legal", "Transportation"]
    # Supervisors first, then by name; a member whose account is closed is not offered.
    assert [u.display_name for u in choices.assignees] == ["Sue Supervisor", "Cam Colleague", "Sam Staff"]
    assert [u.display_name for u in requests.update_choices(db, district.enrollment.id).assignees] == [
        "Cam Colleague",
        "Eve Enroller",
    ]
    assert requests.update_choices(db, district.legal.id).assignees == ()


def test_an_unknown_department_is_refused(db, district):
    request = submit(db, district, at=nov(16, 10))
    with pytest.raises(InvalidInput) as refused:
        requests.change_department(db, district.staff, request, 999_999, calendar=DISTRICT, now=nov(16, 11))
    assert refused.value.field == "department_id"


def test_a_family_account_cannot_use_staff_actions(db, district):
    request = submit(db, district, at=nov(16, 10))
    with pytest.raises(NotAllowed):
        requests.change_priority(db, district.guardian, request, Priority.HIGH, calendar=DISTRICT, now=nov(16, 11))
    with pytest.raises(NotAllowed):
        requests.reply_as_staff(
            db, district.guardian, request, "Hi", internal=False, calendar=DISTRICT, now=nov(16, 11)
        )


# --- idempotent submission ------------------------------------------------------


def test_the_same_submission_key_twice_makes_one_request(db, district):
    new = NewRequest(district.transport.id, "Bus stop change", "Elm Street?", submission_key=KEY)
    first, created = requests.submit_request(db, district.guardian, new, calendar=DISTRICT, now=nov(16, 10))
    db.commit()
    again, created_again = requests.submit_request(db, district.guardian, new, calendar=DISTRICT, now=nov(16, 10, 1))
    db.commit()
    assert (created, created_again) == (True, False)
    assert again.id == first.id
    assert count(db, Request) == 1
    assert count(db, RequestMessage) == 1
    assert count(db, AuditEvent, AuditEvent.action == "request.created") == 1


def test_a_second_guardian_of_the_household_sending_the_same_key_finds_the_same_request(db, district):
    first = submit(db, district, at=nov(16, 10), key=KEY)
    again = submit(db, district, at=nov(16, 10, 1), key=KEY, guardian=district.second_guardian, subject="Other")
    assert again.id == first.id
    assert again.subject == "Bus stop change"


def test_different_households_with_the_same_key_make_two_requests(db, district):
    other = factories.make_household(db)
    ours = submit(db, district, at=nov(16, 10), key=KEY)
    theirs = submit(db, district, at=nov(16, 10), key=KEY, guardian=factories.guardians_of(db, other)[0])
    assert ours.id != theirs.id
    assert (ours.household_id, theirs.household_id) == (district.household.id, other.id)


@pytest.mark.parametrize("key", ["short", "has spaces but is long enough", "k" * 65, "slash/es/are/not/allowed", ""])
def test_a_malformed_submission_key_is_ignored(db, district, key):
    first = submit(db, district, at=nov(16, 10), key=key)
    second = submit(db, district, at=nov(16, 10), key=key)
    assert first.id != second.id
    assert first.submission_key is None and second.submission_key is None


def test_a_submission_that_loses_a_race_fails_and_run_again_returns_the_winners_request(db, district, monkeypatch):
    winner = submit(db, district, at=nov(16, 10), key=KEY)
    looked_up = []
    real_lookup = intake._submitted_with

    def lookup_that_misses_once(session, household_id, key):
        # The first look-up runs before the winner committed: it sees nothing.
        looked_up.append(key)
        return None if len(looked_up) == 1 else real_lookup(session, household_id, key)

    monkeypatch.setattr(intake, "_submitted_with", lookup_that_misses_once)
    new = NewRequest(district.transport.id, "Bus stop change", "Elm Street?", submission_key=KEY)
    # The unique key refuses the twin; the request's boundary rolls back and runs it again.
    with pytest.raises(IntegrityError):
        requests.submit_request(db, district.guardian, new, calendar=DISTRICT, now=nov(16, 10))
    db.rollback()
    loser, created = requests.submit_request(db, district.guardian, new, calendar=DISTRICT, now=nov(16, 10))
    assert (loser.id, created) == (winner.id, False)
    assert count(db, Request) == 1


# --- the sending limit ------------------------------------------------------------

THREE_A_DAY = requests.SendingLimit(3, timedelta(days=1))


def send(db, district: District, *, at: datetime, key: str | None = None, guardian: User | None = None):
    new = NewRequest(district.transport.id, "Bus stop change", "Elm Street?", submission_key=key)
    sent = requests.submit_request(db, guardian or district.guardian, new, calendar=DISTRICT, now=at, limit=THREE_A_DAY)
    db.commit()
    return sent


def assert_limit_reached(db, district: District, *, at: datetime) -> None:
    before = count(db, Request)
    with pytest.raises(InvalidInput) as refused:
        send(db, district, at=at, key="one-more-0123456789")
    db.rollback()
    assert "Your family has sent 3 new requests recently" in str(refused.value.message)
    assert count(db, Request) == before


def test_replays_of_one_submission_cost_nothing_against_the_limit(db, district):
    first, created = send(db, district, at=nov(16, 10), key=KEY)
    for minute in range(1, 11):  # a flaky phone sends the same form again and again
        again, created_again = send(db, district, at=nov(16, 10, minute), key=KEY)
        assert (again.id, created_again) == (first.id, False)
    assert created
    send(db, district, at=nov(16, 11), key="second-0123456789ab")
    send(db, district, at=nov(16, 11), key="third-0123456789abc")
    assert count(db, Request) == 3
    assert count(db, AuditEvent, AuditEvent.action == "request.created") == 3
    assert_limit_reached(db, district, at=nov(16, 12))


def test_a_replay_still_finds_its_request_once_the_limit_is_reached(db, district):
    first, _created = send(db, district, at=nov(16, 10), key=KEY)
    send(db, district, at=nov(16, 10), key="second-0123456789ab")
    send(db, district, at=nov(16, 10), key="third-0123456789abc")
    again, created = send(db, district, at=nov(16, 12), key=KEY)
    assert (again.id, created) == (first.id, False)


def test_the_limit_counts_the_households_requests_from_every_guardian(db, district):
    send(db, district, at=nov(16, 10))
    send(db, district, at=nov(16, 10), guardian=district.second_guardian)
    send(db, district, at=nov(16, 10), guardian=district.second_guardian)
    assert_limit_reached(db, district, at=nov(16, 11))
    other_household = factories.guardians_of(db, factories.make_household(db))[0]
    send(db, district, at=nov(16, 11), guardian=other_household)  # another family is not held back


def test_the_limit_counts_a_rolling_period_and_only_requests_the_family_sent(db, district):
    for _ in range(3):
        send(db, district, at=nov(16, 10))
    for _ in range(3):  # calls that staff wrote down are not the family's sending
        requests.log_phone_request(
            db,
            district.staff,
            district.household.id,
            district.guardian.id,
            NewRequest(district.transport.id, "Called about the bus", "Elm Street?"),
            priority=Priority.NORMAL,
            calendar=DISTRICT,
            now=nov(17, 9),
        )
    db.commit()
    assert_limit_reached(db, district, at=nov(17, 9, 59))
    send(db, district, at=nov(17, 10, 1))  # 24 hours on, the first three no longer count


# --- validation ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "body", "field"),
    [
        ("", "A question", "subject"),
        ("  \t\n ", "A question", "subject"),
        ("x" * 151, "A question", "subject"),
        ("A subject", "", "body"),
        ("A subject", " \n\t ", "body"),
        ("A subject", "x" * 5001, "body"),
    ],
)
def test_a_bad_subject_or_body_is_refused_on_its_field(db, district, subject, body, field):
    with pytest.raises(InvalidInput) as refused:
        submit(db, district, at=nov(16, 10), subject=subject, body=body)
    assert refused.value.field == field
    db.rollback()
    assert count(db, Request) == 0


def test_subject_and_body_at_their_limits_are_accepted_and_stored_trimmed(db, district):
    request = submit(
        db, district, at=nov(16, 10), subject="  Bus \n  stop   change ", body="\n  " + "x" * 5000 + "  \n"
    )
    assert request.subject == "Bus stop change"
    assert db.scalar(select(RequestMessage.body)) == "x" * 5000
    longest = submit(db, district, at=nov(16, 10), subject=" " + "y" * 150 + " ")
    assert longest.subject == "y" * 150


def test_a_family_cannot_send_a_request_to_a_department_that_is_not_public(db, district):
    with pytest.raises(InvalidInput) as refused:
        submit(db, district, at=nov(16, 10), department=district.legal)
    assert refused.value.field == "department_id"


@pytest.mark.parametrize("department_id", [None, 0, 999_999])
def test_a_missing_department_is_refused(db, district, department_id):
    new = NewRequest(department_id, "Bus stop change", "Elm Street?")
    with pytest.raises(InvalidInput) as refused:
        requests.submit_request(db, district.guardian, new, calendar=DISTRICT, now=nov(16, 10))
    assert refused.value.field == "department_id"


def test_another_households_student_is_refused(db, district):
    other = factories.make_household(db, students=1)
    their_student = db.scalar(select(Student.id).where(Student.household_id == other.id))
    with pytest.raises(InvalidInput) as refused:
        submit(db, district, at=nov(16, 10), student_id=their_student)
    assert refused.value.field == "student_id"


def test_an_unknown_student_is_refused(db, district):
    with pytest.raises(InvalidInput) as refused:
        submit(db, district, at=nov(16, 10), student_id=999_999)
    assert refused.value.field == "student_id"


def test_a_request_about_a_student_carries_the_students_school(db, district):
    request = submit(db, district, at=nov(16, 10), student_id=district.student.id)
    assert request.student_id == district.student.id
    assert request.school_id == district.school.id


def test_only_a_guardian_in_a_household_can_submit(db, district):
    new = NewRequest(district.transport.id, "Bus stop change", "Elm Street?")
    for actor in (district.staff, factories.make_user(db)):
        with pytest.raises(NotAllowed):
            requests.submit_request(db, actor, new, calendar=DISTRICT, now=nov(16, 10))


def test_a_phone_request_may_go_to_a_department_that_is_not_public(db, district):
    new = NewRequest(district.legal.id, "Custody papers", "Called about custody papers.")
    request = requests.log_phone_request(
        db,
        district.staff,
        district.household.id,
        district.guardian.id,
        new,
        priority=Priority.NORMAL,
        calendar=DISTRICT,
        now=nov(16, 10),
    )
    db.commit()
    assert (request.author_id, request.logged_by_id) == (district.guardian.id, district.staff.id)
    assert request.first_reply_due_at == nov(17, 9, 30)  # Legal keeps the default 8 business hours


# --- escalation -----------------------------------------------------------------


def overdue_emails(db) -> list[tuple[int, str, int]]:
    return [(n.recipient_id, n.payload["clock"], n.payload["request_id"]) for n in emails(db, "request_overdue")]


def escalate(db, *, at: datetime) -> int:
    escalated = requests.escalate_overdue(db, now=at)
    db.commit()
    return escalated


def test_an_overdue_first_reply_is_escalated_to_the_supervisor_once(db, district):
    request = submit(db, district, at=nov(16, 10))
    assert escalate(db, at=nov(16, 11, 59)) == 0
    assert escalate(db, at=nov(16, 12)) == 1
    assert escalate(db, at=nov(16, 13)) == 0
    assert overdue_emails(db) == [(district.supervisor.id, "first_reply", request.id)]
    assert request.first_reply_escalated_at == nov(16, 12)


def test_an_overdue_next_reply_is_escalated_separately(db, district):
    request = submit(db, district, at=nov(16, 10))
    escalate(db, at=nov(16, 12, 30))  # the first reply is late
    staff_reply(db, district, request, at=nov(16, 13))
    family_reply(db, district, request, at=nov(16, 13, 30))
    assert escalate(db, at=nov(16, 14, 29)) == 0
    assert escalate(db, at=nov(16, 14, 30)) == 1
    assert escalate(db, at=nov(16, 15)) == 0
    assert overdue_emails(db) == [
        (district.supervisor.id, "first_reply", request.id),
        (district.supervisor.id, "next_reply", request.id),
    ]


def test_each_new_next_reply_clock_can_be_escalated_again(db, district):
    request = submit(db, district, at=nov(16, 10))
    staff_reply(db, district, request, at=nov(16, 10, 30))
    family_reply(db, district, request, at=nov(16, 11))
    escalate(db, at=nov(16, 12))
    staff_reply(db, district, request, at=nov(16, 12, 30))
    family_reply(db, district, request, at=nov(16, 13))
    escalate(db, at=nov(16, 14))
    assert [clock for _, clock, _ in overdue_emails(db)] == ["next_reply", "next_reply"]


def test_without_a_supervisor_the_active_administrators_are_told(db, district):
    former_admin = factories.make_admin(db)
    former_admin.is_active = False
    db.commit()
    request = submit(db, district, at=nov(16, 10), department=district.enrollment)
    escalate(db, at=nov(16, 14))
    assert overdue_emails(db) == [(district.admin.id, "first_reply", request.id)]


@pytest.mark.parametrize("status", [RequestStatus.RESOLVED, RequestStatus.CLOSED])
def test_resolved_and_closed_requests_are_not_escalated(db, district, status):
    request = submit(db, district, at=nov(16, 10))
    set_status(db, district, request, status, at=nov(16, 11))
    assert escalate(db, at=nov(17, 12)) == 0
    assert overdue_emails(db) == []


def test_a_replied_first_clock_is_not_escalated(db, district):
    request = submit(db, district, at=nov(16, 10))
    staff_reply(db, district, request, at=nov(16, 11))
    assert escalate(db, at=nov(20, 16)) == 0  # even with the resolution overdue
    assert request.first_reply_escalated_at is None


def test_an_internal_note_does_not_prevent_escalation(db, district):
    submit(db, district, at=nov(16, 10))
    request = submit(db, district, at=nov(16, 10))
    staff_reply(db, district, request, at=nov(16, 11), internal=True)
    assert escalate(db, at=nov(16, 12)) == 2


# --- notifications ----------------------------------------------------------------


def test_a_public_staff_reply_emails_the_author_only(db, district):
    request = submit(db, district, at=nov(16, 10))
    staff_reply(db, district, request, at=nov(16, 11))
    [sent] = emails(db, "request_reply")
    assert sent.recipient_id == district.guardian.id
    assert sent.to_address == district.guardian.email
    assert sent.payload["request_id"] == request.id
    assert sent.payload["reference"] == request.reference
    assert sent.payload["staff_name"] == "Sam Staff"
    assert count(db, Notification) == 1


def test_an_internal_note_emails_nobody(db, district):
    request = submit(db, district, at=nov(16, 10))
    staff_reply(db, district, request, at=nov(16, 11), internal=True)
    assert count(db, Notification) == 0


def test_no_reply_email_when_the_authors_account_is_deactivated(db, district):
    request = submit(db, district, at=nov(16, 10))
    district.guardian.is_active = False
    db.commit()
    staff_reply(db, district, request, at=nov(16, 11))
    assert emails(db, "request_reply") == []


def test_resolving_emails_the_author_a_rating_link_for_this_request(db, district):
    request = submit(db, district, at=nov(16, 10))
    resolve(db, district, request, at=nov(16, 11))
    [sent] = emails(db, "request_resolved")
    assert sent.recipient_id == district.guardian.id
    found, resolution_number = requests.request_for_rating_token(db, sent.payload["token"], secret_key=SECRET)
    assert (found.id, resolution_number) == (request.id, 1)


def test_assigning_emails_the_assignee(db, district):
    request = submit(db, district, at=nov(16, 10))
    requests.assign(db, district.staff, request, district.colleague.id, now=nov(16, 11))
    db.commit()
    assert request.assignee_id == district.colleague.id
    [sent] = emails(db, "request_assigned")
    assert sent.recipient_id == district.colleague.id
    assert sent.payload["assigned_by"] == "Sam Staff"


def test_taking_a_request_yourself_emails_nobody(db, district):
    request = submit(db, district, at=nov(16, 10))
    requests.assign(db, district.staff, request, district.staff.id, now=nov(16, 11))
    db.commit()
    assert request.assignee_id == district.staff.id
    assert emails(db, "request_assigned") == []


def test_unassigning_emails_nobody(db, district):
    request = submit(db, district, at=nov(16, 10))
    requests.assign(db, district.staff, request, district.staff.id, now=nov(16, 11))
    requests.assign(db, district.staff, request, None, now=nov(16, 12))
    db.commit()
    assert request.assignee_id is None
    assert count(db, Notification) == 0


def test_assigning_someone_outside_the_department_is_refused(db, district):
    request = submit(db, district, at=nov(16, 10))
    district.colleague.is_active = False
    db.commit()
    for outsider in (district.enroller, district.admin, district.guardian, district.colleague):
        with pytest.raises(InvalidInput) as refused:
            requests.assign(db, district.staff, request, outsider.id, now=nov(16, 11))
        assert refused.value.field == "assignee_id"
    assert request.assignee_id is None
    assert count(db, Notification) == 0


# --- satisfaction -----------------------------------------------------------------


def latest_rating_token(db) -> str:
    return emails(db, "request_resolved")[-1].payload["token"]


def rate(db, request: Request, rating: int | None = 5, *, resolution_number: int | None = None):
    number = request.resolution_count if resolution_number is None else resolution_number
    saved = requests.rate(db, request, rating, "", resolution_number=number, rated_by=None, now=nov(17, 9))
    db.commit()
    return saved


def test_a_rating_token_names_its_own_request_and_cannot_be_tampered_into_another(db, district):
    first = submit(db, district, at=nov(16, 10))
    second = submit(db, district, at=nov(16, 10), subject="Another question")
    resolve(db, district, first, at=nov(16, 11))
    resolve(db, district, second, at=nov(16, 11))
    token = requests.rating_token(first, SECRET)
    found, number = requests.request_for_rating_token(db, token, secret_key=SECRET)
    assert (found.id, number) == (first.id, 1)
    # Swap in a payload naming the other request, keeping the signature.
    claim = base64_encode(json.dumps({"r": second.id, "n": 1}, separators=(",", ":"))).decode()
    tampered = ".".join([claim, *token.split(".")[1:]])
    with pytest.raises(InvalidToken):
        requests.request_for_rating_token(db, tampered, secret_key=SECRET)
    rate(db, found, resolution_number=number)
    assert requests.rating_of(db, first, 1) is not None
    assert requests.can_rate(db, second)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-token",
        URLSafeTimedSerializer("another-secret", salt="request-satisfaction").dumps({"r": 1, "n": 1}),
        URLSafeTimedSerializer(SECRET, salt="password-reset").dumps({"r": 1, "n": 1}),
        URLSafeTimedSerializer(SECRET, salt="request-satisfaction").dumps({"r": "1", "n": 1}),
        URLSafeTimedSerializer(SECRET, salt="request-satisfaction").dumps([1, 1]),
        URLSafeTimedSerializer(SECRET, salt="request-satisfaction").dumps({"r": 999_999, "n": 1}),
    ],
    # Named, not shown: a signed token holds the time it was made, and every test process
    # (pytest-xdist) must collect the same test ids.
    ids=["empty", "no token", "other secret", "other purpose", "id as text", "a list", "no such request"],
)
def test_a_forged_or_malformed_rating_token_is_invalid(db, district, token):
    request = submit(db, district, at=nov(16, 10))
    resolve(db, district, request, at=nov(16, 11))
    with pytest.raises(InvalidToken):
        requests.request_for_rating_token(db, token, secret_key=SECRET)


def test_an_expired_rating_token_is_invalid(db, district):
    request = submit(db, district, at=nov(16, 10))
    resolve(db, district, request, at=nov(16, 11))
    signed_at = datetime.now(UTC) - requests.RATING_LINK_MAX_AGE - timedelta(minutes=1)
    with mock.patch("itsdangerous.timed.time", types.SimpleNamespace(time=signed_at.timestamp)):
        old = requests.rating_token(request, SECRET)
    with pytest.raises(InvalidToken):
        requests.request_for_rating_token(db, old, secret_key=SECRET)


def test_a_rating_token_is_good_until_it_expires(db, district):
    request = submit(db, district, at=nov(16, 10))
    resolve(db, district, request, at=nov(16, 11))
    signed_at = datetime.now(UTC) - requests.RATING_LINK_MAX_AGE + timedelta(minutes=5)
    with mock.patch("itsdangerous.timed.time", types.SimpleNamespace(time=signed_at.timestamp)):
        token = requests.rating_token(request, SECRET)
    assert requests.request_for_rating_token(db, token, secret_key=SECRET)[0].id == request.id


def test_a_resolution_is_rated_once(db, district):
    request = submit(db, district, at=nov(16, 10))
    resolve(db, district, request, at=nov(16, 11))
    assert requests.can_rate(db, request)
    rate(db, request, 4)
    assert not requests.can_rate(db, request)
    with pytest.raises(InvalidInput) as refused:
        rate(db, request, 5)
    assert refused.value.field == "rating"
    assert count(db, SatisfactionRating) == 1


def test_after_reopening_and_resolving_again_a_new_rating_is_allowed_and_the_old_token_refused(db, district):
    request = submit(db, district, at=nov(16, 10))
    resolve(db, district, request, at=nov(16, 11))
    first_token = latest_rating_token(db)
    family_reply(db, district, request, at=nov(17, 9))
    resolve(db, district, request, at=nov(17, 10))
    second_token = latest_rating_token(db)
    assert first_token != second_token
    found, number = requests.request_for_rating_token(db, second_token, secret_key=SECRET)
    assert number == 2
    rate(db, found, 5, resolution_number=number)
    assert requests.rating_of(db, request, 2).rating == 5
    found, old_number = requests.request_for_rating_token(db, first_token, secret_key=SECRET)
    with pytest.raises(InvalidToken):
        rate(db, found, 3, resolution_number=old_number)


def test_an_unused_token_of_an_earlier_resolution_is_refused(db, district):
    request = submit(db, district, at=nov(16, 10))
    resolve(db, district, request, at=nov(16, 11))
    first_token = latest_rating_token(db)
    family_reply(db, district, request, at=nov(17, 9))
    resolve(db, district, request, at=nov(17, 10))
    found, old_number = requests.request_for_rating_token(db, first_token, secret_key=SECRET)
    assert old_number == 1
    with pytest.raises(InvalidToken):
        rate(db, found, 3, resolution_number=old_number)
    assert requests.can_rate(db, request)


def test_a_reopened_request_cannot_be_rated(db, district):
    request = submit(db, district, at=nov(16, 10))
    resolve(db, district, request, at=nov(16, 11))
    family_reply(db, district, request, at=nov(17, 9))
    assert not requests.can_rate(db, request)
    with pytest.raises(InvalidToken):
        rate(db, request, 5, resolution_number=1)


@pytest.mark.parametrize("rating", [None, 0, 6, -1, 100])
def test_a_rating_outside_one_to_five_is_refused(db, district, rating):
    request = submit(db, district, at=nov(16, 10))
    resolve(db, district, request, at=nov(16, 11))
    with pytest.raises(InvalidInput) as refused:
        rate(db, request, rating)
    assert refused.value.field == "rating"
    assert requests.can_rate(db, request)


def test_a_rating_comment_is_limited(db, district):
    request = submit(db, district, at=nov(16, 10))
    resolve(db, district, request, at=nov(16, 11))
    with pytest.raises(InvalidInput) as refused:
        requests.rate(db, request, 5, "x" * 2001, resolution_number=1, rated_by=None, now=nov(17, 9))
    assert refused.value.field == "comment"


# --- measured speed -------------------------------------------------------------


def replied_requests(db, district, count: int, *, day: datetime, department: Department | None = None) -> None:
    """`count` requests sent at 09:00 on `day`, answered after 10, 20, 30... minutes."""
    for number in range(1, count + 1):
        request = submit(db, district, at=day, department=department)
        staff_reply(db, district, request, at=day + timedelta(minutes=10 * number), actor=district.colleague)


def test_nineteen_replied_requests_are_not_enough_to_measure(db, district):
    replied_requests(db, district, 19, day=nov(16, 9))
    submit(db, district, at=nov(16, 9))  # not replied: does not count
    assert requests.typical_first_reply(db, now=nov(20, 12)) == {}


def test_twenty_replied_requests_give_the_median_business_time(db, district):
    replied_requests(db, district, 20, day=nov(16, 9))
    replied_requests(db, district, 19, day=nov(16, 9), department=district.enrollment)
    # Medians of 10..200 minutes: (100 + 110) / 2.
    assert requests.typical_first_reply(db, now=nov(20, 12)) == {district.transport.id: timedelta(minutes=105)}


def test_requests_older_than_thirty_days_are_not_measured(db, district):
    replied_requests(db, district, 5, day=local(2026, 10, 19, 9))
    replied_requests(db, district, 19, day=nov(16, 9))
    assert requests.typical_first_reply(db, now=nov(20, 12)) == {}
    replied_requests(db, district, 1, day=nov(16, 9))
    # Counted, the five old ones (10..50 minutes) would pull the median down to 70 minutes.
    assert requests.typical_first_reply(db, now=nov(20, 12)) == {district.transport.id: timedelta(minutes=95)}


# --- the calendar changed ------------------------------------------------------------

SNOW_DAY = {"kind": "closure_added", "name": "Snow day"}


def test_a_closure_on_the_due_day_moves_the_promise_and_says_why(db, district):
    request = submit(db, district, at=nov(16, 15, 30))
    assert request.due_at == nov(17, 9)
    moved = requests.recompute_after_calendar_change(
        db, SNOW_DAY, now=nov(16, 16), calendar=closed_on(date(2026, 11, 17))
    )
    db.commit()
    assert moved == 1
    assert request.first_reply_due_at == request.due_at == nov(18, 9)
    assert request.resolution_due_at == nov(19, 15, 30)
    assert request.due_moved == {
        "kind": "closure_added",
        "name": "Snow day",
        "from": nov(17, 9).isoformat(),
        "to": nov(18, 9).isoformat(),
        "at": nov(16, 16).isoformat(),
    }


def test_the_reason_a_promise_moved_is_kept_in_the_database(db, district):
    request_id = submit(db, district, at=nov(16, 15, 30)).id
    requests.recompute_after_calendar_change(db, SNOW_DAY, now=nov(16, 16), calendar=closed_on(date(2026, 11, 17)))
    db.commit()
    db.expunge_all()
    stored = db.get(Request, request_id)
    assert stored.due_at == nov(18, 9)
    assert stored.due_moved["name"] == "Snow day"
    assert stored.due_moved["to"] == nov(18, 9).isoformat()


def test_requests_whose_promise_did_not_move_keep_no_reason(db, district):
    same_day = submit(db, district, at=nov(16, 8))
    requests.change_priority(db, district.staff, same_day, Priority.HIGH, calendar=DISTRICT, now=nov(16, 8))
    waiting = submit(db, district, at=nov(16, 9))
    staff_reply(db, district, waiting, at=nov(16, 9, 30))
    set_status(db, district, waiting, RequestStatus.WAITING_ON_FAMILY, at=nov(16, 9, 30))
    db.commit()
    assert same_day.due_at == nov(16, 8, 30) and same_day.resolution_due_at == nov(16, 16, 30)
    moved = requests.recompute_after_calendar_change(
        db, SNOW_DAY, now=nov(16, 10), calendar=closed_on(date(2026, 11, 17))
    )
    db.commit()
    assert moved == 0
    assert (same_day.due_moved, waiting.due_moved) == (None, None)
    assert same_day.due_at == nov(16, 8, 30)
    assert waiting.due_at is None


def test_resolved_requests_are_left_alone_when_the_calendar_changes(db, district):
    request = submit(db, district, at=nov(16, 15, 30))
    resolve(db, district, request, at=nov(16, 15, 45))
    moved = requests.recompute_after_calendar_change(
        db, SNOW_DAY, now=nov(16, 16), calendar=closed_on(date(2026, 11, 17))
    )
    db.commit()
    assert moved == 0
    assert request.due_moved is None
    assert request.first_reply_due_at == nov(17, 9)
    assert request.due_at is None


def test_a_moved_promise_can_be_escalated_again_when_it_is_broken(db, district):
    request = submit(db, district, at=nov(16, 15, 30))
    escalate(db, at=nov(17, 9))
    # The district closes on Tuesday after all: the reply is now due Wednesday.
    requests.recompute_after_calendar_change(db, SNOW_DAY, now=nov(17, 9, 30), calendar=closed_on(date(2026, 11, 17)))
    db.commit()
    assert request.first_reply_escalated_at is None
    assert escalate(db, at=nov(18, 8, 59)) == 0
    assert escalate(db, at=nov(18, 9)) == 1
    assert len(overdue_emails(db)) == 2


def closure(kind: str, name: str, first: date, last: date | None = None) -> ClosureChange:
    return ClosureChange(kind, name, first, last or first)


def test_a_family_is_told_of_the_closure_between_its_clock_and_its_promise(db, district):
    request = submit(db, district, at=nov(16, 15, 30))
    changes = [
        closure("closure_added", "Veterans Day", date(2026, 11, 11)),  # before the clock started
        closure("closure_added", "Snow day", date(2026, 11, 17)),
        closure("closure_added", "Winter break", date(2026, 12, 21), date(2027, 1, 1)),
        closure("closure_removed", "PD day", date(2026, 11, 18)),
    ]
    calendar = closed_on(date(2026, 11, 17))
    requests.recompute_after_calendar_change(db, changes, now=nov(16, 16), calendar=calendar)
    assert (request.due_moved["kind"], request.due_moved["name"]) == ("closure_added", "Snow day")


def test_a_promise_that_comes_earlier_is_explained_by_the_closure_removed(db, district):
    request = submit(db, district, at=nov(16, 15, 30))
    requests.recompute_after_calendar_change(db, SNOW_DAY, now=nov(16, 16), calendar=closed_on(date(2026, 11, 17)))
    changes = [
        closure("closure_added", "Board day", date(2026, 11, 20)),
        closure("closure_removed", "Snow day", date(2026, 11, 17)),
    ]
    requests.recompute_after_calendar_change(db, changes, now=nov(16, 17), calendar=DISTRICT)
    assert request.due_at == nov(17, 9)
    assert (request.due_moved["kind"], request.due_moved["name"]) == ("closure_removed", "Snow day")


def test_a_moved_resolution_clock_is_counted_although_the_familys_promise_did_not_move(db, district):
    request = submit(db, district, at=nov(16, 15, 30))
    assert (request.due_at, request.resolution_due_at) == (nov(17, 9), nov(18, 15, 30))
    wednesday = date(2026, 11, 18)
    moved = requests.recompute_after_calendar_change(
        db, [closure("closure_added", "PD day", wednesday)], now=nov(16, 16), calendar=closed_on(wednesday)
    )
    assert moved == 1
    assert request.resolution_due_at == nov(19, 15, 30)
    assert request.due_at == nov(17, 9)
    assert request.due_moved is None  # the family's promise did not move: nothing to tell


# --- the staff queue --------------------------------------------------------------


@dataclass
class Queue:
    bus_stop: Request  # Transportation, Garcia, about the student: due Monday 12:00
    late_bus: Request  # Transportation, Nguyen: due Monday 11:00
    papers: Request  # Enrollment, Garcia: due Monday 12:00
    lunchbox: Request  # Transportation, Garcia: resolved
    waiting: Request  # Transportation, Garcia: waiting on the family, no due time
    form: Request  # Transportation, Nguyen: due Monday 12:30
    similar_form: Request  # Transportation, Nguyen: due Monday 12:30, after `form`


@pytest.fixture
def queued(db, district) -> Queue:
    nguyen = factories.make_household(db, name="Nguyen household")
    nguyen_guardian = factories.guardians_of(db, nguyen)[0]
    late_bus = submit(
        db,
        district,
        at=nov(16, 9),
        guardian=nguyen_guardian,
        subject="Late bus 100% of days",
        body="We wait in the rain with an umbrella.",
    )
    bus_stop = submit(db, district, at=nov(16, 10), student_id=district.student.id)
    papers = submit(db, district, at=nov(16, 8), department=district.enrollment, subject="Enrollment papers")
    lunchbox = submit(db, district, at=nov(16, 8), subject="Lost lunchbox")
    resolve(db, district, lunchbox, at=nov(16, 8, 30))
    waiting = submit(db, district, at=nov(16, 8), subject="Route 1000 question")
    staff_reply(db, district, waiting, at=nov(16, 8, 30))
    set_status(db, district, waiting, RequestStatus.WAITING_ON_FAMILY, at=nov(16, 8, 30))
    form = submit(db, district, at=nov(16, 10, 30), guardian=nguyen_guardian, subject="Form A_1 missing")
    similar_form = submit(db, district, at=nov(16, 10, 30), guardian=nguyen_guardian, subject="Form AB1 missing")
    return Queue(bus_stop, late_bus, papers, lunchbox, waiting, form, similar_form)


def queue_of(db, actor: User, *, now: datetime | None = None, **wanted) -> list[Request]:
    page = requests.queue(db, actor, QueueFilter(**wanted), now=now or nov(16, 9), page=1, page_size=50)
    return page.items


def ids(found: list[Request]) -> list[int]:
    return [request.id for request in found]


def test_staff_see_only_their_departments_requests_due_first_and_undated_last(db, district, queued):
    found = queue_of(db, district.staff)
    assert ids(found)[:3] == [queued.late_bus.id, queued.bus_stop.id, queued.form.id]
    assert found[-1].id == queued.waiting.id
    assert {request.department.name for request in found} == {district.transport.name}
    assert ids(queue_of(db, district.enroller)) == [queued.papers.id]


def test_admins_see_every_department(db, district, queued):
    found = ids(queue_of(db, district.admin))
    assert queued.papers.id in found and queued.bus_stop.id in found
    assert found.index(queued.late_bus.id) < found.index(queued.papers.id) < found.index(queued.waiting.id)
    assert queued.lunchbox.id not in found


def test_a_family_account_has_no_queue(db, district, queued):
    with pytest.raises(NotAllowed):
        queue_of(db, district.guardian)


@pytest.mark.parametrize(
    ("status", "expected"),
    [("all", {"lunchbox", "waiting"}), ("resolved", {"lunchbox"}), ("waiting_on_family", {"waiting"})],
)
def test_the_queue_filters_by_status(db, district, queued, status, expected):
    found = set(ids(queue_of(db, district.staff, status=status)))
    wanted = {getattr(queued, name).id for name in expected}
    assert wanted <= found
    if status != "all":
        assert found == wanted


def test_the_queue_filters_by_department_within_the_staff_members_own(db, district, queued):
    assert ids(queue_of(db, district.admin, department_id=district.enrollment.id)) == [queued.papers.id]
    assert queue_of(db, district.staff, department_id=district.enrollment.id) == []


def test_the_queue_filters_by_assignee(db, district, queued):
    requests.assign(db, district.staff, queued.bus_stop, district.staff.id, now=nov(16, 10))
    requests.assign(db, district.staff, queued.late_bus, district.colleague.id, now=nov(16, 10))
    db.commit()
    assert ids(queue_of(db, district.staff, assignee="me")) == [queued.bus_stop.id]
    assert ids(queue_of(db, district.staff, assignee=str(district.colleague.id))) == [queued.late_bus.id]
    unassigned = ids(queue_of(db, district.staff, assignee="none"))
    assert queued.bus_stop.id not in unassigned and queued.late_bus.id not in unassigned
    assert queued.form.id in unassigned


def test_the_queue_filters_by_school(db, district, queued):
    assert ids(queue_of(db, district.staff, school_id=district.school.id)) == [queued.bus_stop.id]


def test_the_queue_shows_only_overdue_requests_when_asked(db, district, queued):
    assert ids(queue_of(db, district.staff, overdue_only=True, now=nov(16, 12))) == [
        queued.late_bus.id,
        queued.bus_stop.id,
    ]
    assert queue_of(db, district.staff, overdue_only=True, now=nov(16, 10, 59)) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lunchbox", "lunchbox"),  # a word of the subject
        ("LUNCHBOX", "lunchbox"),  # in any case
        ("umbrella", "late_bus"),  # a word of a message
        ("100%", "late_bus"),  # % is a plain character: "Route 1000" does not match
        ("A_1 missing", "form"),  # _ is a plain character: "Form AB1 missing" does not match
    ],
)
def test_the_queue_search_finds_words_in_subjects_and_messages(db, district, queued, text, expected):
    assert ids(queue_of(db, district.staff, status="all", text=text)) == [getattr(queued, expected).id]


def test_the_queue_search_finds_a_reference(db, district, queued):
    reference = queued.late_bus.reference
    assert reference == f"R-{queued.late_bus.id:06d}"
    assert ids(queue_of(db, district.staff, text=reference)) == [queued.late_bus.id]
    assert ids(queue_of(db, district.staff, text=f"  {reference.lower()} ")) == [queued.late_bus.id]


def test_the_queue_search_finds_a_household_name(db, district, queued):
    found = queue_of(db, district.staff, status="all", text="nguyen")
    assert {request.family for request in found} == {db.get(Household, queued.late_bus.household_id).name}
    assert len(found) == 3


def test_the_queue_search_finds_a_request_by_its_households_guardians_and_students(db, district, queued):
    """Staff search by the child or the parent they were told about: each name of the
    household finds its requests, whatever its accents and case, and only them."""
    household = factories.make_household(db, name="Smith household", students=0)
    guardian = factories.guardians_of(db, household)[0]
    guardian.display_name = "Marisol Quintána"
    db.add(Student(household_id=household.id, first_name="Zéphyrine", last_name="Smith", grade="4"))
    db.commit()
    asked = submit(db, district, at=nov(16, 9), guardian=guardian, subject="Lunch", body="Is there a vegetarian menu?")
    searches = ["quintana", "MARISOL", "zephyrine", "Zéphyrine Smith", "smith household"]
    found = {text: ids(queue_of(db, district.staff, status="all", text=text)) for text in searches}
    assert {text: ids_found for text, ids_found in found.items() if ids_found != [asked.id]} == {}


def test_the_queue_search_ignores_accents_in_subjects_messages_and_household_names(db, district):
    pena = factories.make_household(db, name="Familia Peña")
    accented = submit(
        db,
        district,
        at=nov(16, 9),
        guardian=factories.guardians_of(db, pena)[0],
        subject="Autobús tardío",
        body="La niña espera en la esquina.",
    )
    searches = ["autobus tardio", "AUTOBÚS", "nina espera", "pena", "PEÑA"]
    found = {text: ids(queue_of(db, district.staff, status="all", text=text)) for text in searches}
    assert {text: ids_found for text, ids_found in found.items() if ids_found != [accented.id]} == {}
    assert stale_search_texts(db) == {}


def test_the_queue_search_finds_the_words_of_every_reply_whatever_their_case_and_accents(db, district):
    asked = submit(db, district, at=nov(16, 9), subject="Horario", body="¿A qué hora?")
    family_reply(db, district, asked, at=nov(16, 10), body="¿Y el MIÉRCOLES también?")
    staff_reply(db, district, asked, at=nov(16, 11))
    staff_reply(db, district, asked, at=nov(16, 12), internal=True)
    searches = ["miercoles tambien", "Miércoles", "FROM MONDAY", "que hora", "HORARIO"]
    found = {text: ids(queue_of(db, district.staff, status="all", text=text)) for text in searches}
    assert {text: ids_found for text, ids_found in found.items() if ids_found != [asked.id]} == {}
    assert stale_search_texts(db) == {}


FILTERS_TO_SEARCH_WITHIN = [
    {},
    {"status": "all"},
    {"status": "resolved"},
    {"status": "waiting_on_family"},
    {"assignee": "me"},
    {"assignee": "none"},
    {"overdue_only": True},
    {"callbacks_only": True},
]


@pytest.mark.parametrize("filters", FILTERS_TO_SEARCH_WITHIN)
@pytest.mark.parametrize("text", ["bus", "umbrella", "nguyen", "missing", "enrollment", "nothing-like-it"])
def test_a_search_within_filters_finds_the_filtered_requests_the_search_finds(db, district, queued, filters, text):
    """The search runs within the queue's scope and filters (for PostgreSQL to start from
    the narrower side): it must find exactly the requests both find apart, for a word of a
    subject, of a message or of a household's name, for staff and for an administrator
    (whose scope is every department), in the queue's order."""
    requests.assign(db, district.staff, queued.bus_stop, district.staff.id, now=nov(16, 10))
    db.commit()
    for actor in (district.staff, district.admin):
        filtered = queue_of(db, actor, now=nov(16, 12), **filters)
        found_anywhere = set(ids(queue_of(db, actor, now=nov(16, 12), status="all", text=text)))
        expected = [request.id for request in filtered if request.id in found_anywhere]
        assert ids(queue_of(db, actor, now=nov(16, 12), text=text, **filters)) == expected, actor.email


def test_a_search_is_paged_with_its_total_and_a_page_past_the_end_shows_the_last(db, district, queued):
    def search_page(number: int) -> tuple[list[int], int, int]:
        wanted = QueueFilter(text="missing")
        found = requests.queue(db, district.staff, wanted, now=nov(16, 9), page=number, page_size=1)
        return ids(found.items), found.number, found.total

    first, second = search_page(1), search_page(2)
    assert {first[0][0], second[0][0]} == {queued.form.id, queued.similar_form.id}
    assert (first[1:], second[1:]) == ((1, 2), (2, 2))
    assert search_page(9) == second


def test_the_queue_search_does_not_reach_other_departments(db, district, queued):
    assert queue_of(db, district.staff, text="Enrollment papers") == []
    assert queue_of(db, district.staff, text=queued.papers.reference) == []


# Beyond PostgreSQL's integer (3000000000) or SQLite's (40 digits).
@pytest.mark.parametrize("text", ["R-3000000000", "R-" + "9" * 40, "9" * 100])
def test_a_reference_search_no_id_can_match_finds_nothing_rather_than_failing(db, district, queued, text):
    assert requests.searchable(text)
    assert queue_of(db, district.staff, status="all", text=text) == []


# Digits int() refuses (²), a prefix alone, single letters, symbols, LIKE's wildcards,
# words of one or two letters: no run of three letters or digits for an index to find.
UNSEARCHABLE = ["²", "R-²", "R-", "r -", "a", "é", "le", "a b c", "b-u-s", "%", "_", "%_%", "\\", "@", "-- ;", "\x00"]


@pytest.mark.parametrize("text", UNSEARCHABLE)
def test_text_no_index_can_find_is_not_searched_and_sends_the_unsearched_queues_statements(db, district, queued, text):
    """Such text would be tested against every request and message of the district (0.14-0.65 s
    at 100,000 requests): the queue is the unsearched one, statement for statement (the
    search box says why)."""
    assert not requests.searchable(text)

    def sent(text: str) -> tuple[list[int], list[str]]:
        statements: list[str] = []
        connection = db.connection()

        def capture(_connection, _cursor, statement, *_rest) -> None:  # type: ignore[no-untyped-def]
            if "request" in statement:  # the staff member's departments are read once a session
                statements.append(statement)

        event.listen(connection, "before_cursor_execute", capture)
        try:
            found = ids(queue_of(db, district.staff, status="all", text=text))
        finally:
            event.remove(connection, "before_cursor_execute", capture)
        return found, statements

    assert sent(text) == sent("")


def test_the_queue_lists_each_request_as_it_is_saved(db, district, queued):
    """The queue reads values, not objects: every field it shows is the saved request's,
    with its family's, department's (and its translations), school's and assignee's
    names, whether it is flagged, and the promise its clocks give."""
    district.transport.translations = {"es": {"name": "Transporte"}}
    queued.late_bus.assignee_id = district.staff.id
    knife = submit(db, district, at=nov(16, 11), subject="On the bus", body="A kid brought a knife on the bus.")
    db.commit()
    listed = {item.id: item for item in queue_of(db, district.staff, status="all")}
    assert knife.id in listed and queued.bus_stop.id in listed
    db.expunge_all()
    for request_id, item in listed.items():
        saved = requests.request_for_staff(db, district.staff, request_id)
        flagged = db.scalar(select(Request.flagged).where(Request.id == request_id))
        assert (item.reference, item.subject, item.priority, item.status, item.flagged) == (
            saved.reference,
            saved.subject,
            saved.priority,
            saved.status,
            flagged,
        )
        assert (item.family, item.assignee_name) == (
            saved.household.name,
            saved.assignee.display_name if saved.assignee else None,
        )
        assert (item.department.name, item.department.translations) == (
            saved.department.name,
            saved.department.translations,
        )
        assert item.school == (None if saved.school is None else (saved.school.name, saved.school.translations))
        assert (requests.running_clocks(item), requests.promise_of(item), item.is_active) == (
            requests.running_clocks(saved),
            requests.promise_of(saved),
            saved.is_active,
        )
    # What the fixtures above were for: each case is there.
    assert listed[knife.id].flagged and not listed[queued.late_bus.id].flagged
    assert listed[queued.late_bus.id].assignee_name == district.staff.display_name
    assert listed[queued.bus_stop.id].school is not None and listed[queued.late_bus.id].school is None
    assert listed[queued.lunchbox.id].is_active is False and requests.promise_of(listed[queued.lunchbox.id]) is None


def test_the_queue_is_paginated(db, district, queued):
    page = requests.queue(db, district.staff, QueueFilter(), now=nov(16, 9), page=2, page_size=2)
    assert (page.total, page.pages) == (5, 3)
    assert ids(page.items) == [queued.form.id, queued.similar_form.id]


def test_staff_get_not_found_for_a_request_outside_their_departments(db, district, queued):
    assert requests.request_for_staff(db, district.staff, queued.bus_stop.id).id == queued.bus_stop.id
    with pytest.raises(NotFound):
        requests.request_for_staff(db, district.staff, queued.papers.id)
    assert requests.request_for_staff(db, district.admin, queued.papers.id).id == queued.papers.id


def test_other_open_requests_are_shown_in_full_only_in_the_staff_members_departments(db, district, queued):
    seen_by_staff = requests.other_open_requests(db, district.staff, queued.bus_stop)
    assert ids(seen_by_staff.visible) == [queued.waiting.id]
    assert seen_by_staff.hidden_count == 1
    seen_by_admin = requests.other_open_requests(db, district.admin, queued.bus_stop)
    assert ids(seen_by_admin.visible) == [queued.papers.id, queued.waiting.id]
    assert seen_by_admin.hidden_count == 0
