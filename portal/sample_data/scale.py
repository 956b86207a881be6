"""A district at scale, for benchmarks: N requests with proportionate households,
guardians, students, messages and feedback, inserted in bulk.

Rows are written with multi-row INSERTs in batches (no ORM objects, no audit trail:
this is synthetic data), so 100 000 requests take minutes, not hours. Every due time
is computed with the same business-time arithmetic as real requests."""

import itertools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

from portal.models import (
    ContactPreference,
    Department,
    DepartmentMember,
    Feedback,
    FeedbackKind,
    FeedbackSource,
    FeedbackStatus,
    FeedbackTag,
    GuardianRelationship,
    Guardianship,
    Household,
    Priority,
    Request,
    RequestChannel,
    RequestMessage,
    RequestStatus,
    Role,
    Routing,
    School,
    Student,
    TopicSubscription,
    User,
)
from portal.models.feedback import feedback_tagging
from portal.services import departments
from portal.services.feedback import sentiment
from portal.services.households import contacts, search_text
from portal.services.metrics import backfill
from portal.services.requests.business_time import Calendar, add_business_time

BATCH = 2000
# Per request: about one household in two asks something in a year.
HOUSEHOLDS_PER_REQUEST = 0.5
FEEDBACK_PER_REQUEST = 0.2
# A district's size follows: at 100 000 requests (about 100 000 students), 67 schools of
# about 1 500 students and 100 staff answering families. The demo's schools and staff
# count towards these.
REQUESTS_PER_SCHOOL = 1500
REQUESTS_PER_STAFF_MEMBER = 1000
TAGS = [
    "bus", "late bus", "driver", "cafeteria", "allergy", "menu", "bullying", "safety", "thanks", "website",
    "registration", "transfer", "laptop", "homework", "attendance", "front office", "parking", "events",
]  # fmt: skip
TAGGED_SHARE = 0.3
STUDENTS_PER_HOUSEHOLD = (1, 3)
EMAIL_DOMAIN = "scale.example.org"
HISTORY_DAYS = 365

FIRST_NAMES = [
    "Maria", "José", "Linh", "Aisha", "James", "Mei", "Carlos", "Fatima", "Noah", "Sofia", "Minh", "Olivia",
    "Diego", "Amara", "Ethan", "Lucía", "Hiro", "Zara", "Mateo", "Grace", "Omar", "Isabella", "Tuan", "Emma",
]  # fmt: skip
LAST_NAMES = [
    "García", "Nguyen", "Smith", "Hernández", "Kim", "Johnson", "López", "Tran", "Williams", "Martínez",
    "Patel", "Brown", "Rodríguez", "Chen", "Davis", "Pérez", "Ali", "Wilson", "Sánchez", "Okafor",
]  # fmt: skip
SUBJECTS = [
    "Bus stop change", "Late bus this morning", "Proof of address", "Absence on Friday", "Lunch account balance",
    "Laptop does not charge", "IEP meeting date", "Transfer to another school", "Allergy on the menu",
    "Portal password", "Early pick-up", "Route 12 schedule", "Registration documents", "Meal application",
]  # fmt: skip
BODIES = [
    "Could you tell me what we need to do? Thank you.",
    "We moved last month; which stop should my child use now?",
    "My son was sick and missed two days. Do you need a note from the doctor?",
    "The balance on the meal account looks wrong after the last payment.",
    "¿Me pueden llamar por la tarde? Trabajo en las mañanas.",
]
FEEDBACK_TEXTS = [
    ("compliment", "The driver was wonderful and kind to my daughter. Thank you!"),
    ("concern", "The bus was late again this week and the children waited in the rain."),
    ("suggestion", "It would help to get school news by text message as well."),
    ("question", "Is there a parent group that helps new families?"),
    ("concern", "La cafetería se quedó sin almuerzo antes del último grupo."),
    ("compliment", "Great teachers and a very welcoming front office."),
]


@dataclass(frozen=True)
class ScaleResult:
    households: int
    guardians: int
    students: int
    requests: int
    messages: int
    feedback: int


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert(db: Session, table: Table, rows: Iterator[dict[str, Any]]) -> int:
    count = 0
    for batch in _batches(rows):
        db.execute(insert(table), batch)
        count += len(batch)
    return count


def _next_id(db: Session, model: type[Any]) -> int:
    return (db.scalar(select(func.max(model.id))) or 0) + 1


def _advance_sequences(db: Session, models: list[type[Any]]) -> None:
    """Explicit ids leave PostgreSQL's sequences behind: move them past the rows."""
    if db.get_bind().dialect.name != "postgresql":
        return
    for model in models:
        table = model.__tablename__
        db.execute(
            text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT MAX(id) FROM \"{table}\"))")  # noqa: S608
        )


def generate(
    db: Session, *, requests: int, calendar: Calendar, password_hash: str, now: datetime, seed: int = 1
) -> ScaleResult:
    """Add `requests` requests and a district's worth of families around them. The
    district's departments, schools and staff must exist already (seed-demo)."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, reproducible by seed
    department_ids = list(db.scalars(select(Department.id).order_by(Department.id)))
    if department_ids:
        grow_district(db, rng, requests=requests, department_ids=department_ids, password_hash=password_hash)
    school_ids = list(db.scalars(select(School.id).order_by(School.id)))
    members: dict[int, list[int]] = {}
    for department_id, user_id in db.execute(select(DepartmentMember.department_id, DepartmentMember.user_id)):
        members.setdefault(department_id, []).append(user_id)
    staff_ids = list(db.scalars(select(User.id).where(User.role != Role.FAMILY)))
    if not department_ids or not school_ids or not staff_ids:
        raise ValueError("load the demo district first (flask seed-demo): departments, schools and staff")
    targets = {department_id: departments.targets_of(db, department_id) for department_id in department_ids}

    household_count = max(1, round(requests * HOUSEHOLDS_PER_REQUEST))
    first_household, first_user, first_student = _next_id(db, Household), _next_id(db, User), _next_id(db, Student)
    first_request, first_message = _next_id(db, Request), _next_id(db, RequestMessage)
    first_feedback = _next_id(db, Feedback)

    # Households, each with one or two guardians and one to three students.
    households, guardians, guardianships, students = [], [], [], []
    user_id, student_id = first_user, first_student
    guardians_of: dict[int, list[int]] = {}
    students_of: dict[int, list[tuple[int, int]]] = {}
    for offset in range(household_count):
        household_id = first_household + offset
        last = rng.choice(LAST_NAMES)
        created = now - timedelta(days=rng.randrange(HISTORY_DAYS * 3))
        households.append(
            {"id": household_id, "name": f"{last} family {household_id}", "sis_id": None, "created_at": created}
        )
        for number in range(1 if rng.random() < 0.4 else 2):
            language = "es" if rng.random() < 0.3 else "en"
            guardians.append(
                {
                    "id": user_id,
                    "email": f"family{household_id}-{number}@{EMAIL_DOMAIN}",
                    "password_hash": password_hash,
                    "display_name": f"{rng.choice(FIRST_NAMES)} {last}",
                    "phone": f"+1213{rng.randrange(10**7):07d}",
                    "language": language,
                    "role": Role.FAMILY.value,
                    "is_active": True,
                    "created_at": created,
                    "activated_at": created,
                }
            )
            guardianships.append(
                {
                    "household_id": household_id,
                    "user_id": user_id,
                    "relationship_to_students": GuardianRelationship.PARENT.value,
                    "created_at": created,
                }
            )
            guardians_of.setdefault(household_id, []).append(user_id)
            user_id += 1
        for _ in range(rng.randint(*STUDENTS_PER_HOUSEHOLD)):
            school_id = rng.choice(school_ids)
            students.append(
                {
                    "id": student_id,
                    "household_id": household_id,
                    "first_name": rng.choice(FIRST_NAMES),
                    "last_name": last,
                    "school_id": school_id,
                    "grade": str(rng.randint(1, 12)),
                    "sis_id": None,
                }
            )
            students_of.setdefault(household_id, []).append((student_id, school_id))
            student_id += 1
    _insert(db, Household.__table__, iter(households))
    _insert(db, User.__table__, iter(guardians))
    _insert(db, Guardianship.__table__, iter(guardianships))
    _insert(db, Student.__table__, iter(students))
    # Rows inserted as rows: the households' search text is written for them here.
    search_text.refresh(db.connection(), select(Household.id).where(Household.id >= first_household))
    # Each guardian starts with the default preferences, as guardians the portal creates do.
    channels = sorted(contacts.default_channels(User(), ContactPreference(mobile_phone="+1")))
    _insert(
        db,
        ContactPreference.__table__,
        (
            {"user_id": g["id"], "mobile_phone": g["phone"], "interpreter_language": "", "version": 1,
             "updated_at": g["created_at"]}
            for g in guardians
        ),
    )  # fmt: skip
    _insert(
        db,
        TopicSubscription.__table__,
        ({"user_id": g["id"], "topic": topic, "channel": channel} for g in guardians for topic, channel in channels),
    )

    request_rows, message_rows = _requests(
        rng,
        count=requests,
        first_request=first_request,
        first_message=first_message,
        households=[h["id"] for h in households],
        guardians_of=guardians_of,
        students_of=students_of,
        department_ids=department_ids,
        members=members,
        staff_ids=staff_ids,
        targets=targets,
        calendar=calendar,
        now=now,
    )
    _insert(db, Request.__table__, iter(request_rows))
    _insert(db, RequestMessage.__table__, iter(message_rows))

    feedback_rows = list(
        _feedback(
            rng,
            count=round(requests * FEEDBACK_PER_REQUEST),
            first_feedback=first_feedback,
            households=[h["id"] for h in households],
            guardians_of=guardians_of,
            department_ids=department_ids,
            school_ids=school_ids,
            now=now,
        )
    )
    _insert(db, Feedback.__table__, iter(feedback_rows))
    tag_ids = list(db.scalars(select(FeedbackTag.id).order_by(FeedbackTag.id)))
    _insert(
        db,
        feedback_tagging,
        (
            {"feedback_id": row["id"], "tag_id": tag_id}
            for row in feedback_rows
            if rng.random() < TAGGED_SHARE
            for tag_id in rng.sample(tag_ids, rng.randint(1, 2))
        ),
    )
    _advance_sequences(db, [Household, User, Student, Request, RequestMessage, Feedback])
    # Rows inserted directly have no metrics facts: build them as for a database from before them.
    backfill.backfill(db, calendar=calendar)
    return ScaleResult(
        households=len(households),
        guardians=len(guardians),
        students=len(students),
        requests=len(request_rows),
        messages=len(message_rows),
        feedback=len(feedback_rows),
    )


def grow_district(
    db: Session, rng: random.Random, *, requests: int, department_ids: list[int], password_hash: str
) -> None:
    """Schools, staff (each in a department, some in two) and feedback tags in proportion
    to the district's requests once these `requests` are added, beside what it has: the
    staff pages list them in their filters. A name, code or email already taken is skipped."""
    total = (db.scalar(select(func.count()).select_from(Request)) or 0) + requests
    schools = db.scalar(select(func.count()).select_from(School)) or 0
    taken = set(db.scalars(select(School.name))) | {code for code in db.scalars(select(School.code)) if code}

    def name_and_code(number: int) -> tuple[str, str]:
        return f"{LAST_NAMES[number % len(LAST_NAMES)]} School {number}", f"S{number:03d}"

    numbers = _unused(lambda n: not taken.isdisjoint(name_and_code(n)))
    for number in itertools.islice(numbers, max(0, round(total / REQUESTS_PER_SCHOOL) - schools)):
        name, code = name_and_code(number)
        db.add(School(name=name, code=code))
    staff = db.scalar(select(func.count()).select_from(User).where(User.role != Role.FAMILY)) or 0
    emails = set(db.scalars(select(User.email).where(User.email.like(f"staff%@{EMAIL_DOMAIN}"))))
    numbers = _unused(lambda n: f"staff{n}@{EMAIL_DOMAIN}" in emails)
    for number in itertools.islice(numbers, max(0, round(total / REQUESTS_PER_STAFF_MEMBER) - staff)):
        member = User(
            email=f"staff{number}@{EMAIL_DOMAIN}",
            password_hash=password_hash,
            display_name=f"{FIRST_NAMES[number % len(FIRST_NAMES)]} {LAST_NAMES[number % len(LAST_NAMES)]} {number}",
            role=Role.STAFF,
            language="en",
        )
        db.add(member)
        db.flush()
        joined = 2 if rng.random() < 0.1 else 1
        for department_id in rng.sample(department_ids, min(joined, len(department_ids))):
            db.add(DepartmentMember(department_id=department_id, user_id=member.id))
    known = set(db.scalars(select(FeedbackTag.name)))
    db.add_all(FeedbackTag(name=name) for name in TAGS if name not in known)
    db.flush()


def _unused(taken: Callable[[int], bool]) -> Iterator[int]:
    """1, 2, 3... without the numbers `taken` says are in use."""
    return (number for number in itertools.count(1) if not taken(number))


def _requests(
    rng: random.Random,
    *,
    count: int,
    first_request: int,
    first_message: int,
    households: list[int],
    guardians_of: dict[int, list[int]],
    students_of: dict[int, list[tuple[int, int]]],
    department_ids: list[int],
    members: dict[int, list[int]],
    staff_ids: list[int],
    targets: dict[int, dict[Priority, departments.Targets]],
    calendar: Calendar,
    now: datetime,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Requests over the last year: the recent ones still open, with running clocks."""
    request_rows, message_rows = [], []
    message_id = first_message
    for offset in range(count):
        request_id = first_request + offset
        household_id = rng.choice(households)
        author_id = rng.choice(guardians_of[household_id])
        student_id, school_id = rng.choice(students_of[household_id])
        department_id = rng.choice(department_ids)
        priority = rng.choices(list(Priority), weights=(2, 14, 3, 1))[0]
        target = targets[department_id][priority]
        # Most requests are old and finished; the last few weeks' are still open.
        age = timedelta(minutes=rng.randrange(HISTORY_DAYS * 24 * 60))
        created = now - age
        first_due = add_business_time(created, timedelta(minutes=target.first_reply_minutes), calendar)
        resolution_due = add_business_time(created, timedelta(minutes=target.resolution_minutes), calendar)
        active = age < timedelta(days=21) and rng.random() < 0.7
        replied = (not active) or rng.random() < 0.5
        first_replied = None
        if replied:
            first_replied = min(
                now,
                add_business_time(created, timedelta(minutes=rng.randint(5, target.first_reply_minutes * 2)), calendar),
            )
        status = (
            rng.choice([RequestStatus.OPEN, RequestStatus.IN_PROGRESS, RequestStatus.WAITING_ON_FAMILY])
            if active
            else rng.choice([RequestStatus.RESOLVED, RequestStatus.CLOSED])
        )
        if active and first_replied is None:
            status = RequestStatus.OPEN
        elif active and status is RequestStatus.OPEN:
            status = RequestStatus.IN_PROGRESS
        running = []
        if active and first_replied is None:
            running.append(first_due)
        paused = status is RequestStatus.WAITING_ON_FAMILY
        if active and not paused:
            running.append(resolution_due)
        assignee = rng.choice(members.get(department_id) or staff_ids) if rng.random() < 0.6 else None
        resolved_at = first_replied + timedelta(hours=rng.randint(1, 72)) if not active and first_replied else None
        request_rows.append(
            {
                "id": request_id,
                "household_id": household_id,
                "author_id": author_id,
                "logged_by_id": None,
                "channel": RequestChannel.PORTAL.value,
                "department_id": department_id,
                "student_id": student_id,
                "school_id": school_id,
                "subject": rng.choice(SUBJECTS),
                "priority": priority.value,
                "status": status.value,
                "assignee_id": assignee,
                "submission_key": None,
                "created_at": created,
                "updated_at": first_replied or created,
                "first_reply_target_minutes": target.first_reply_minutes,
                "first_reply_due_at": first_due,
                "first_replied_at": first_replied,
                "first_reply_business_seconds": rng.randint(300, target.first_reply_minutes * 120)
                if first_replied
                else None,
                "first_reply_escalated_at": None,
                "next_reply_target_minutes": target.next_reply_minutes,
                "next_reply_started_at": None,
                "next_reply_due_at": None,
                "next_reply_escalated_at": None,
                "resolution_target_minutes": target.resolution_minutes,
                "resolution_started_at": created,
                "resolution_paused_seconds": 0,
                "resolution_paused_at": now if paused else None,
                "resolution_due_at": None if paused or not active else resolution_due,
                "resolved_at": resolved_at if status is RequestStatus.RESOLVED else None,
                "resolution_count": 1 if status is RequestStatus.RESOLVED else 0,
                "due_at": min(running) if running else None,
                "due_moved": None,
            }
        )
        message_rows.append(_message(message_id, request_id, author_id, False, rng.choice(BODIES), created))
        message_id += 1
        if first_replied:
            staff_id = assignee or rng.choice(staff_ids)
            message_rows.append(
                _message(message_id, request_id, staff_id, True, "Thank you, we are looking into it.", first_replied)
            )
            message_id += 1
    return request_rows, message_rows


def _message(
    message_id: int, request_id: int, author_id: int, from_staff: bool, body: str, at: datetime
) -> dict[str, Any]:
    return {
        "id": message_id,
        "request_id": request_id,
        "author_id": author_id,
        "from_staff": from_staff,
        "is_internal": False,
        "body": body,
        "created_at": at,
    }


def _feedback(
    rng: random.Random,
    *,
    count: int,
    first_feedback: int,
    households: list[int],
    guardians_of: dict[int, list[int]],
    department_ids: list[int],
    school_ids: list[int],
    now: datetime,
) -> Iterator[dict[str, Any]]:
    # Sentiment once per text: the analysis is the slow part, the texts repeat.
    moods = {body: sentiment.analyse(body) for _kind, body in FEEDBACK_TEXTS}
    for offset in range(count):
        kind, body = rng.choice(FEEDBACK_TEXTS)
        anonymous = rng.random() < 0.15
        household_id = None if anonymous else rng.choice(households)
        created = now - timedelta(minutes=rng.randrange(HISTORY_DAYS * 24 * 60))
        routed = rng.random() < 0.85
        status = rng.choice(list(FeedbackStatus)) if created < now - timedelta(days=14) else FeedbackStatus.NEW
        yield {
            "id": first_feedback + offset,
            "kind": FeedbackKind(kind).value,
            "source": FeedbackSource.PORTAL.value,
            "department_id": rng.choice(department_ids) if routed else None,
            "routing": (Routing.CHOSEN if routed else Routing.TRIAGE).value,
            "school_id": rng.choice(school_ids) if rng.random() < 0.7 else None,
            "rating": rng.randint(1, 5) if rng.random() < 0.6 else None,
            "body": body,
            "language": "es" if moods[body].language == "es" else "en",
            "is_anonymous": anonymous,
            "may_contact": not anonymous and rng.random() < 0.5,
            "author_id": None if household_id is None else guardians_of[household_id][0],
            "household_id": household_id,
            "contact_email": None,
            "status": status.value,
            "assignee_id": None,
            "sentiment": moods[body].score,
            "sentiment_language": moods[body].language,
            "response": "Thank you for telling us." if status is FeedbackStatus.RESPONDED else None,
            "responded_at": created + timedelta(days=2) if status is FeedbackStatus.RESPONDED else None,
            "responded_by_id": None,
            "request_id": None,
            "submission_key": None,
            "created_at": created,
            "updated_at": created,
        }
