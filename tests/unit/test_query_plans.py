"""Every filter and sort of the two queues, and the household search, is served by an
index on PostgreSQL.

The queues' own statements (captured as the services send them) are explained on a
generated district with the planner steered away from reading tables whole: no
sequential scans, no plain index scans (a bitmap scan needs a condition), no merge or
hash joins. Where it still reads a large table without an index condition, no index
serves that filter or join. A full walk of an index is counted as such a read too,
unless it hands the rows over in the order asked for, to a LIMIT. Plans, not times:
the result does not depend on the machine. bench/RESULTS.md has the plans' timings at
100 000 requests."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import Department, FeedbackKind, FeedbackTag, User
from portal.sample_data.demo import ADMIN_EMAIL, STAFF_EMAIL
from portal.services import feedback, households, requests

GENERATED_REQUESTS = 6_000
# Under this many rows, a table is read whole in a page or two, whatever the plan; the
# planner's choice there says nothing about the indexes (departments, schools, tags...).
SMALL_TABLE_ROWS = 1_000
PAGE = {"page": 1, "page_size": 25}
# Off: sequential scans, plain index scans (so a table is reached by a bitmap scan on a
# condition) and the joins that walk whole inputs (merge, hash): a join then looks each
# row up in an index, if one serves.
PLANNER_CONSTRAINTS = ("enable_seqscan", "enable_indexscan", "enable_mergejoin", "enable_hashjoin")


@pytest.fixture
def district(app, db: Session, runner) -> Session:  # type: ignore[no-untyped-def]
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("query plans are PostgreSQL's (set PORTAL_TEST_DATABASE_URL); SQLite plans differently")
    result = runner.invoke(args=["seed-demo", "--scale", str(GENERATED_REQUESTS)])
    assert result.exit_code == 0, result.output
    db.execute(text("ANALYZE"))
    db.commit()
    return db


def user(db: Session, email: str) -> User:
    found = db.scalar(select(User).where(User.email == email))
    assert found is not None
    return found


def statements_of(db: Session, run: Callable[[], object]) -> list[tuple[str, Any]]:
    """The SELECTs `run` sends, with their parameters."""
    connection = db.connection()
    sent: list[tuple[str, Any]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append((statement, parameters))

    event.listen(connection, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(connection, "before_cursor_execute", capture)
    return sent


def nodes(plan: dict[str, Any], parents: tuple[dict[str, Any], ...] = ()) -> Iterator[tuple[dict, tuple]]:
    yield plan, parents
    for child in plan.get("Plans", []):
        yield from nodes(child, (*parents, plan))


def explain(db: Session, statement: str, parameters: Any, *, as_json: bool) -> Any:
    """The plan PostgreSQL makes under PLANNER_CONSTRAINTS."""
    connection = db.connection()
    for setting in PLANNER_CONSTRAINTS:
        connection.exec_driver_sql(f"SET LOCAL {setting} = off")
    try:
        if as_json:
            return connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters).scalar_one()[0]
        return "\n".join(connection.exec_driver_sql(f"EXPLAIN {statement}", parameters).scalars())
    finally:
        for setting in PLANNER_CONSTRAINTS:
            connection.exec_driver_sql(f"RESET {setting}")


def small_tables(db: Session) -> set[str]:
    rows = db.execute(
        text("SELECT relname FROM pg_class WHERE relkind = 'r' AND reltuples < :rows"), {"rows": SMALL_TABLE_ROWS}
    )
    return set(rows.scalars())


def unindexed_scans(db: Session, statement: str, parameters: Any, small: set[str]) -> list[str]:
    found = []
    for node, parents in nodes(explain(db, statement, parameters, as_json=True)["Plan"]):
        table = node.get("Relation Name")
        if table is None or table in small:
            continue
        kind = node["Node Type"]
        if kind == "Seq Scan":
            found.append(f"Seq Scan on {table}")
        elif kind in {"Index Scan", "Index Only Scan"} and "Index Cond" not in node:
            ordered_for_limit = any(p["Node Type"] == "Limit" for p in parents) and not any(
                p["Node Type"] in {"Sort", "Aggregate", "Hash"} for p in parents
            )
            if not ordered_for_limit:
                found.append(f"{kind} over all of {table} ({node['Index Name']}), no condition")
    return found


@dataclass(frozen=True)
class Case:
    name: str
    run: Callable[[Session, User, User], object]


def request_queue(who: str, **wanted: Any) -> Callable[[Session, User, User], object]:
    def run(db: Session, staff: User, admin: User) -> object:
        actor = staff if who == "staff" else admin
        return requests.queue(db, actor, requests.QueueFilter(**wanted), now=utcnow(), **PAGE)

    return run


def review_queue(who: str = "staff", **wanted: Any) -> Callable[[Session, User, User], object]:
    def run(db: Session, staff: User, admin: User) -> object:
        if wanted.get("department_id") == "some":
            wanted["department_id"] = db.scalar(select(Department.id).order_by(Department.id))
        if wanted.get("tag") == "some":
            wanted["tag"] = db.scalar(select(FeedbackTag.name).order_by(FeedbackTag.id)) or "none"
        return feedback.review_queue(
            db,
            staff if who == "staff" else admin,
            feedback.ReviewFilter(**wanted),
            time_zone="America/Los_Angeles",
            **PAGE,
        )

    return run


def household_search(query: str) -> Callable[[Session, User, User], object]:
    return lambda db, staff, admin: households.search_households(db, staff, query, **PAGE)


TODAY = date.today()
CASES = [
    # The request queue, for a staff member (their departments) and an administrator (all).
    *[
        Case(f"requests-{who}-{name}", request_queue(who, **wanted))
        for who in ("staff", "admin")
        for name, wanted in {
            "active": {},
            "closed": {"status": "closed"},
            "waiting": {"status": "waiting_on_family"},
            "mine": {"assignee": "me"},
            "unassigned": {"assignee": "none"},
            "assignee": {"assignee": "2"},
            "school": {"school_id": 1},
            "overdue": {"overdue_only": True},
            "department": {"department_id": 1},
            "words": {"text": "garcia"},
            "reference": {"text": "R-000042"},
            "all-words": {"status": "all", "text": "garcia"},
        }.items()
    ],
    # The feedback review queue: each filter and each sort.
    *[
        Case(f"feedback-{name}", review_queue(**wanted))
        for name, wanted in {
            "open": {},
            "newest-all": {"status": "all"},
            "closed": {"status": "closed"},
            "kind": {"kind": FeedbackKind.CONCERN.value},
            "department": {"department_id": "some"},
            "unrouted": {"department_id": -1},
            "school": {"school_id": 1},
            "rating": {"rating": 1},
            "tag": {"tag": "some"},
            "mine": {"assignee": "me"},
            "unassigned": {"assignee": "none"},
            "negative": {"sentiment": "negative"},
            "unscored": {"sentiment": "unscored"},
            "dates": {"received_from": TODAY - timedelta(days=30), "received_to": TODAY},
            "words": {"text": "bus driver"},
            "admin-all-words": {"who": "admin", "status": "all", "text": "bus driver"},
            "admin-all-reference": {"who": "admin", "status": "all", "text": "F-000042"},
            "oldest": {"sort": "oldest"},
            "rating-low": {"sort": "rating_low"},
            "rating-high": {"sort": "rating_high"},
            "sentiment-low": {"sort": "sentiment_low"},
            "sentiment-high": {"sort": "sentiment_high"},
        }.items()
    ],
    # Staff find a family by a guardian's name, email or phone, or a student's name.
    *[
        Case(f"households-{name}", household_search(query))
        for name, query in {
            "guardian-or-household-name": "garcia",
            "email": "family12-0@",
            "phone": "5550123",
            "student-full-name": "sofia rivera",
        }.items()
    ],
]


def test_queue_statements_are_served_by_indexes(district: Session):
    """One generated district for every case (generating it is most of the time)."""
    staff, admin = user(district, STAFF_EMAIL), user(district, ADMIN_EMAIL)
    small = small_tables(district)
    assert "request" not in small and "feedback" not in small, "the generated district is too small to tell"
    problems = []
    for case in CASES:
        sent = statements_of(district, lambda case=case: case.run(district, staff, admin))
        assert sent, f"{case.name} sent no statement"
        for statement, parameters in sent:
            found = unindexed_scans(district, statement, parameters, small)
            if found:
                plan = explain(district, statement, parameters, as_json=False)
                problems.append(f"{case.name}: {', '.join(found)}:\n{statement}\n{plan}")
    assert not problems, "\n\n".join(problems)
