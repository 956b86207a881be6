"""The queue queries' plans at a size: each queue view's statements, as the services
send them, run under EXPLAIN ANALYZE on the benchmark's database. Reported in
bench/RESULTS.md: milliseconds in the database per view, and whether any big table was
read whole, and by which statement: the page's rows, or the count of the pages
(tests/unit/test_query_plans.py checks the indexes; this gives the times)."""

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from portal import create_app
from portal.db import get_session, utcnow
from portal.models import User
from portal.sample_data.demo import ADMIN_EMAIL, STAFF_EMAIL
from portal.services import feedback, households, requests

PAGE = {"page": 1, "page_size": 25}


@dataclass
class PlanResult:
    view: str
    statements: int
    database_ms: float
    whole_table_reads: list[str]


def _views(staff: User, admin: User) -> dict[str, Callable[[Session], object]]:
    def request_queue(actor: User, **wanted: Any) -> Callable[[Session], object]:
        return lambda db: requests.queue(db, actor, requests.QueueFilter(**wanted), now=utcnow(), **PAGE)

    def review_queue(actor: User, **wanted: Any) -> Callable[[Session], object]:
        return lambda db: feedback.review_queue(
            db, actor, feedback.ReviewFilter(**wanted), time_zone="America/Los_Angeles", **PAGE
        )

    return {
        "requests: staff, active (the default)": request_queue(staff),
        "requests: staff, all statuses": request_queue(staff, status="all"),
        "requests: staff, overdue": request_queue(staff, overdue_only=True),
        "requests: staff, search 'bus'": request_queue(staff, text="bus"),
        "requests: admin, active": request_queue(admin),
        "requests: admin, all statuses": request_queue(admin, status="all"),
        "requests: admin, all statuses, search 'garcia'": request_queue(admin, status="all", text="garcia"),
        "requests: admin, all statuses, page 400": lambda db: requests.queue(
            db, admin, requests.QueueFilter(status="all"), now=utcnow(), page=400, page_size=25
        ),
        "feedback: staff, open (the default)": review_queue(staff),
        "feedback: staff, all, lowest rating first": review_queue(staff, status="all", sort="rating_low"),
        "feedback: admin, all, search 'bus driver'": review_queue(admin, status="all", text="bus driver"),
        "households: staff, all (the staff home)": lambda db: households.search_households(db, staff, "", **PAGE),
        "households: staff, search 'garcia'": lambda db: households.search_households(db, staff, "garcia", **PAGE),
        "households: staff, search a phone '5550'": lambda db: households.search_households(db, staff, "5550", **PAGE),
    }


def _plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(node for child in plan.get("Plans", []) for node in _plan_nodes(child))]


def measure(env: dict[str, str]) -> list[PlanResult]:
    """`env`: the served app's environment (its PORTAL_* settings name the database)."""
    os.environ.update(env)
    app = create_app()
    results = []
    with app.app_context():
        db = get_session()
        big = set(db.scalars(text("SELECT relname FROM pg_class WHERE relkind = 'r' AND reltuples >= 10000")))
        staff = db.scalar(select(User).where(User.email == STAFF_EMAIL))
        admin = db.scalar(select(User).where(User.email == ADMIN_EMAIL))
        for view, run in _views(staff, admin).items():
            sent: list[tuple[str, Any]] = []
            connection = db.connection()

            def capture(_c, _cur, statement, parameters, _ctx, _many, sent=sent):  # type: ignore[no-untyped-def]
                if statement.lstrip().upper().startswith("SELECT"):
                    sent.append((statement, parameters))

            event.listen(connection, "before_cursor_execute", capture)
            try:
                run(db)
            finally:
                event.remove(connection, "before_cursor_execute", capture)
            total, whole = 0.0, []
            for statement, parameters in sent:
                (plan,) = connection.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters).scalar()
                total += plan["Planning Time"] + plan["Execution Time"]
                # The count behind "page 3 of 40" reads every row the filters keep: when they
                # keep a large share of a table, reading it whole is the cheapest way there is.
                counting = " (the count)" if statement.lstrip().upper().startswith("SELECT COUNT(") else ""
                whole += [
                    node["Relation Name"] + counting
                    for node in _plan_nodes(plan["Plan"])
                    if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in big
                ]
            results.append(PlanResult(view, len(sent), round(total, 2), sorted(set(whole))))
            db.rollback()
    return results
