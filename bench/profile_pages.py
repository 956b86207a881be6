"""Where a page's time goes, in-process: the portal app and its Flask test client on a
database that bench/bench.py (or `flask seed-demo --scale N`) filled.

    PORTAL_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/portal_bench_100000 \\
    PORTAL_SECRET_KEY=... PORTAL_BASE_URL=http://127.0.0.1:8097 PORTAL_REDIS_URL=redis://127.0.0.1:6379/15 \\
        .venv/bin/python bench/profile_pages.py [--requests 200] [--top 25]

First, two yardsticks measured the same way: the reference page (bench/reference_app.py,
what bench/bench.py compares every page with under load) and the signed-in floor, a
family page that shows nothing, so costs what every signed-in page pays before its
content (the session check, the CSRF token, the header and menu, the cookie). Each page
is then given as a share of the reference, as bench/bench.py gives it under load.

For each page: the milliseconds of one request without a profiler, then one run under
cProfile whose shares split that time into the session and sign-in check, the view's
own work, SQL (the ORM around it and the wait for PostgreSQL, timed by the driver's
cursor), template rendering, translation look-ups and the access log. The shares
overlap where one contains another (translations happen inside rendering, SQL inside
the view and the session check); each is the function's cumulative time.
"""

import argparse
import cProfile
import os
import pstats
import sys
import time
from collections.abc import Callable
from typing import Any

import reference_app
from flask import render_template
from flask.testing import FlaskClient
from sqlalchemy import event, make_url

import bench
from portal import create_app
from portal.blueprints.access import family_required
from portal.db import get_engine

# (label, file path ends with, function name): cumulative time of these functions.
PARTS: list[tuple[str, str, str]] = [
    ("session and user (load_user)", "portal/blueprints/access.py", "load_user"),
    ("locale selector", "portal/blueprints/access.py", "select_locale"),
    ("view function", "flask/app.py", "dispatch_request"),
    ("SQL: ORM and driver (Session._execute_internal)", "sqlalchemy/orm/session.py", "_execute_internal"),
    ("SQL: autoflush", "sqlalchemy/orm/session.py", "_autoflush"),
    ("SQL: commit", "sqlalchemy/orm/session.py", "commit"),
    ("templates: render_template", "flask/templating.py", "render_template"),
    ("translations: template gettext", "portal/i18n.py", "_gettext"),
    ("translations: flask_babel gettext", "flask_babel/__init__.py", "gettext"),
    ("translations: lazy strings", "speaklater.py", "__str__"),
    ("labels (|label)", "portal/labels.py", "label"),
    ("access log: record_view", "portal/services/households/access_log.py", "record_view"),
    ("CSRF token", "flask_wtf/csrf.py", "generate_csrf"),
    ("url_for", "flask/helpers.py", "url_for"),
    ("forms: wtforms Form.__init__", "wtforms/form.py", "__call__"),
    ("after_request hooks", "flask/app.py", "process_response"),
    ("cookie session open/save", "flask/sessions.py", "open_session"),
]

# The signed-in floor: base.html around an empty page, for a signed-in family.
FLOOR_PATH = "/bench/floor"
FLOOR_TEMPLATE = (
    '{% extends "base.html" %}{% block title %}Floor{% endblock %}{% block content %}<h1>Floor</h1>{% endblock %}'
)

STAFF_PAGES = (
    "staff queue",
    "staff queue search",
    "staff request page",
    "feedback queue",
    "household page",
    "household search",
)


def sign_in(app: Any, email: str, *, second_factor: bool) -> FlaskClient:
    import pyotp

    from portal.sample_data.demo import DEMO_TOTP_SECRET

    client = app.test_client()
    token = bench.csrf(client.get("/sign-in").get_data(as_text=True))
    response = client.post("/sign-in", data={"csrf_token": token, "email": email, "password": bench.PASSWORD})
    if second_factor:
        token = bench.csrf(client.get("/sign-in/code").get_data(as_text=True))
        response = client.post("/sign-in/code", data={"csrf_token": token, "code": pyotp.TOTP(DEMO_TOTP_SECRET).now()})
    if response.status_code != 302:
        raise RuntimeError(f"sign-in of {email} failed: {response.status_code}")
    return client


def add_floor_page(app: Any) -> None:
    """The signed-in floor's page, on this in-process app only."""
    template = app.jinja_env.from_string(FLOOR_TEMPLATE)

    @family_required
    def floor() -> str:
        return render_template(template)

    app.add_url_rule(FLOOR_PATH, "bench_floor", floor)


def reference_client() -> FlaskClient:
    """The reference page's app on its own database beside the portal's, made afresh
    (as bench/bench.py makes it: do not run both at once)."""
    portal = make_url(os.environ["PORTAL_DATABASE_URL"])
    admin = portal.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    url = bench.fresh_database(admin, bench.REFERENCE_DATABASE)
    reference_app.fill(url)
    return reference_app.create_app(url).test_client()


def _cumulative(stats: pstats.Stats, path_end: str, name: str) -> tuple[float, int]:
    seconds, calls = 0.0, 0
    for (filename, _line, function), (_cc, nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if function == name and filename.endswith(path_end):
            seconds += ct
            calls += nc
    return seconds, calls


def time_requests(get: Callable[[], Any], count: int) -> float:
    """ms a request, the best of 3 runs of `count` (after a warm-up: caches, compiled
    statements and templates)."""
    for _ in range(10):
        assert get().status_code == 200
    best = float("inf")
    for _ in range(3):
        begin = time.perf_counter()
        for _ in range(count):
            get()
        best = min(best, (time.perf_counter() - begin) * 1000 / count)
    return best


def profile_page(
    engine: Any, get: Callable[[], Any], count: int, top: int, dump: str = ""
) -> tuple[float, float, float, list[tuple[str, float, float]], str]:
    """ms per request unprofiled (time_requests); SQL statements a request and the share of
    a request spent waiting for PostgreSQL (from a run of its own, with the statements
    timed); the parts (label, share of the profiled time, calls per request); the top functions."""
    waited = [0.0, 0]
    started: list[float] = []

    def before(*_args: Any) -> None:
        started.append(time.perf_counter())

    def after(*_args: Any) -> None:
        waited[0] += time.perf_counter() - started.pop()
        waited[1] += 1

    plain_ms = time_requests(get, count)
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    begin = time.perf_counter()
    for _ in range(count):
        get()
    timed_seconds = time.perf_counter() - begin
    event.remove(engine, "before_cursor_execute", before)
    event.remove(engine, "after_cursor_execute", after)
    database_share, statements = waited[0] / timed_seconds, waited[1] / count

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(count):
        get()
    profiler.disable()
    if dump:
        profiler.dump_stats(dump)
    stats = pstats.Stats(profiler)
    total = stats.total_tt  # type: ignore[attr-defined]
    parts = []
    for label, path_end, name in PARTS:
        seconds, calls = _cumulative(stats, path_end, name)
        parts.append((label, seconds / total, calls / count))
    listing = []
    stats.sort_stats("tottime")
    for key in stats.fcn_list[:top]:  # type: ignore[attr-defined]
        _cc, nc, tt, ct, _callers = stats.stats[key]  # type: ignore[attr-defined]
        filename, line, function = key
        short = filename.split("site-packages/")[-1].split("/main/")[-1]
        listing.append(
            f"    {tt / total:6.1%} own {ct / total:6.1%} cum {nc / count:7.1f} calls  {short}:{line} {function}"
        )
    return plain_ms, statements, database_share, parts, "\n".join(listing)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per page, each run")
    parser.add_argument("--top", type=int, default=25, help="functions listed by own time")
    parser.add_argument("--dump", default="", help="a folder to write each page's pstats file into")
    parser.add_argument("--pages", default="", help="comma-separated page names (default: staff pages, family home)")
    args = parser.parse_args()
    app = create_app()
    add_floor_page(app)
    wanted = set(args.pages.split(",")) if args.pages else {*STAFF_PAGES, "family home"}
    # No app context held here: each test request pushes its own, as a served request does.
    family = sign_in(app, bench.FAMILY, second_factor=False)
    staff = sign_in(app, bench.STAFF, second_factor=True)
    chosen = [page for page in bench.pages(dict(os.environ), family, staff) if page[0] in wanted]  # type: ignore[arg-type]
    with app.app_context():
        engine = get_engine()
    reference = reference_client()
    reference_ms = time_requests(lambda: reference.get("/"), args.requests)
    floor_ms = time_requests(lambda: family.get(FLOOR_PATH), args.requests)
    print(f"reference page: {reference_ms:.2f} ms a request")
    print(f"signed-in floor: {floor_ms:.2f} ms a request, {reference_ms / floor_ms:.0%} of the reference")
    for name, _kind, path, client in chosen:
        plain_ms, statements, database_share, parts, listing = profile_page(
            engine,
            lambda client=client, path=path: client.get(path),
            args.requests,
            args.top,
            f"{args.dump}/{name.replace(' ', '_')}.pstats" if args.dump else "",
        )
        print(
            f"\n## {name} ({path}): {plain_ms:.2f} ms a request ({reference_ms / plain_ms:.0%} of the reference, "
            f"{plain_ms - floor_ms:.2f} ms above the floor), {statements:.0f} SQL statements, "
            f"{database_share * plain_ms:.2f} ms of them waiting for PostgreSQL ({database_share:.0%})"
        )
        for label, share, calls in parts:
            if share >= 0.005:
                print(f"  {label:<42} {share:6.1%}  {share * plain_ms:6.2f} ms  ({calls:.1f} calls)")
        print(listing, flush=True)


if __name__ == "__main__":
    sys.setrecursionlimit(10_000)
    main()
