"""The metrics page at district scale: the demo district with N generated requests
(100 000 by default) in a new PostgreSQL database, then each view of the metrics page
timed in the process, as a signed-in lead and administrator see it: the query layer
alone (`dashboard`) and the whole page (the query layer, the charts and the template,
through the Flask test client).

    .venv/bin/python bench/metrics.py [--requests 100000] [--repeat 15]
        [--server postgresql+psycopg://postgres@127.0.0.1:5432]

Figures go to standard output as a Markdown table: median, 90th percentile and
slowest of the timed runs after one warm-up, and the statements each page sends.
Targets (issue #18): a department over 30 days under 300 ms, the school-year
administrator view under 1 s."""

import argparse
import re
import statistics
import time
from collections.abc import Callable

import psycopg
import pyotp
from alembic import command
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from portal import create_app
from portal.cli import alembic_config
from portal.db import get_engine, get_session, utcnow
from portal.models import Department, User
from portal.sample_data.demo import ADMIN_EMAIL, DEMO_TOTP_SECRET, STAFF_EMAIL
from portal.services.metrics import Period, dashboard, metrics_scope_for, named_period

PASSWORD = "demo-password"  # noqa: S105 - the demo's public sign-in
DATABASE = "bench_metrics"


def fresh_database(server: str) -> str:
    plain = server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}"')
        connection.execute(f'CREATE DATABASE "{DATABASE}"')
    return f"{server}/{DATABASE}"


def load(app: Flask, requests: int) -> str:
    with app.app_context():
        config = alembic_config()
        with get_engine().begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    result = app.test_cli_runner().invoke(args=["seed-demo", "--scale", str(requests)])
    if result.exit_code != 0:
        raise RuntimeError(result.output)
    plain = app.config["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    return result.output.strip().splitlines()[-1]


def signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()

    def token() -> str:
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(path).get_data(as_text=True))
        assert match, path
        return match[1]

    path = "/sign-in"
    client.post(path, data={"csrf_token": token(), "email": email, "password": PASSWORD})
    path = "/sign-in/code"
    response = client.post(path, data={"csrf_token": token(), "code": pyotp.TOTP(DEMO_TOTP_SECRET).now()})
    if response.status_code != 302:
        raise RuntimeError(f"sign-in of {email} failed: {response.status_code}")
    return client


def timed(action: Callable[[], object], repeat: int) -> list[float]:
    action()  # warm-up: caches, the first plan
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        runs.append((time.perf_counter() - started) * 1000)
    return runs


def statements_of(app: Flask, action: Callable[[], object]) -> int:
    count = 0

    def counted(*_args: object) -> None:
        nonlocal count
        count += 1

    with app.app_context():
        engine = get_engine()
    event.listen(engine, "before_cursor_execute", counted)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", counted)
    return count


def row(name: str, runs: list[float], statements: int | str) -> str:
    ordered = sorted(runs)
    p90 = ordered[max(0, round(0.9 * len(ordered)) - 1)]
    return f"| {name} | {statistics.median(ordered):.0f} | {p90:.0f} | {ordered[-1]:.0f} | {statements} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--server", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    arguments = parser.parse_args()
    url = fresh_database(arguments.server)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-" + "x" * 40, "BASE_URL": "http://localhost"})
    app.config["RATELIMIT_ENABLED"] = False
    started = time.perf_counter()
    print(load(app, arguments.requests), f"({time.perf_counter() - started:.0f} s)")

    today = utcnow().date()
    with app.app_context():
        db = get_session()
        lead = db.scalars(select(User).where(User.email == STAFF_EMAIL)).one()
        admin = db.scalars(select(User).where(User.email == ADMIN_EMAIL)).one()
        transportation = db.scalars(select(Department.id).where(Department.name == "Transportation")).one()
        lead_scope = metrics_scope_for(db, lead, department_id=transportation)
        admin_scope = metrics_scope_for(db, admin)
        assert lead_scope is not None and admin_scope is not None
        month, year = named_period("30days", today=today), named_period("year", today=today)

    def query(scope: object, period: Period) -> Callable[[], object]:
        def run() -> object:
            with app.app_context():
                return dashboard(get_session(), scope, period, now=utcnow())  # type: ignore[arg-type]

        return run

    lead_client, admin_client = signed_in(app, STAFF_EMAIL), signed_in(app, ADMIN_EMAIL)

    def page(client: FlaskClient, path: str) -> Callable[[], object]:
        def run() -> object:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            return response

        return run

    cases: list[tuple[str, Callable[[], object]]] = [
        ("query layer: a department, last 30 days", query(lead_scope, month)),
        ("query layer: every department, last 30 days", query(admin_scope, month)),
        ("query layer: every department, this school year", query(admin_scope, year)),
        ("page: a lead, their department, last 30 days", page(lead_client, "/staff/metrics/?period=30days")),
        ("page: an administrator, last 30 days", page(admin_client, "/staff/metrics/?period=30days")),
        ("page: an administrator, this school year", page(admin_client, "/staff/metrics/?period=year")),
    ]
    print(f"\nPeriods: last 30 days {month.start}–{month.end}; school year {year.start}–{year.end} (today {today}).")
    print(f"{arguments.repeat} timed runs after one warm-up; milliseconds.\n")
    print("| view | median ms | p90 ms | slowest ms | statements |")
    print("|---|---:|---:|---:|---:|")
    for name, action in cases:
        print(row(name, timed(action, arguments.repeat), statements_of(app, action)), flush=True)


if __name__ == "__main__":
    main()
