"""The published calendar read over the network by the worker, from a real HTTP server
on this machine; and the administrator's part of it on the calendar page."""

import html
import http.server
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select

from portal import calendar_feed
from portal.db import utcnow
from portal.models import CalendarFeed, Closure, Request
from portal.services import requests
from portal.services.calendar import feed
from tests import factories
from tests.web.support import text

ZONE = ZoneInfo("America/Los_Angeles")


class Site:
    """What the server answers: path -> (status, headers, body)."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.hits: list[str] = []

    def serve(self, path: str, body: bytes | str, status: int = 200, **headers: str) -> None:
        self.pages[path] = (status, headers, body.encode() if isinstance(body, str) else body)


@pytest.fixture
def site() -> Iterator[tuple[Site, int]]:
    served = Site()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served.hits.append(self.path)
            status, headers, body = served.pages.get(self.path, (404, {}, b"not here"))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def app_config() -> dict[str, object]:
    return {"CALENDAR_FEED_HOSTS": "127.0.0.1", "CALENDAR_FEED_ALLOW_HTTP": True, "CALENDAR_FEED_TIMEOUT_SECONDS": 2}


def ics(*events: str) -> str:
    return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//District//EN\r\n" + "".join(events) + "END:VCALENDAR\r\n"


def vevent(uid: str, name: str, first: date, *, categories: str = "Holiday", extra: str = "") -> str:
    body = f"UID:{uid}\r\nSUMMARY:{name}\r\nDTSTART;VALUE=DATE:{first:%Y%m%d}\r\nCATEGORIES:{categories}\r\n{extra}"
    return f"BEGIN:VEVENT\r\n{body}END:VEVENT\r\n"


def subscribe(db, admin, url: str) -> CalendarFeed:  # type: ignore[no-untyped-def]
    subscribed = feed.subscribe(db, admin, url, "Holiday", allowed_hosts=["127.0.0.1"], allow_http=True, now=utcnow())
    db.commit()
    return subscribed


def worker_round(app: Flask) -> feed.FeedResult | None:
    with app.app_context():
        return calendar_feed.refresh(app)


def subscription(db) -> CalendarFeed:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.scalars(select(CalendarFeed)).one()


# --- the worker reads the feed ----------------------------------------------------


def test_the_worker_reads_the_feed_and_a_family_is_told_of_the_closure_that_moved_its_promise(
    app, db, admin, transport, site
):
    served, port = site
    guardian = factories.guardians_of(db, factories.make_household(db))[0]
    asked, _new = requests.submit_request(db, guardian, requests.NewRequest(transport.id, "Bus", "Stop?"), now=utcnow())
    db.commit()
    due_day = asked.due_at.astimezone(ZONE).date()
    far = due_day + timedelta(days=120)
    served.serve(
        "/district.ics",
        ics(vevent("far", "Spring break", far), vevent("near", "Facilities closure", due_day)),
        Content_Type="text/calendar; charset=utf-8",
    )
    subscribe(db, admin, f"http://127.0.0.1:{port}/district.ics")

    result = worker_round(app)

    assert result is not None and result.added == 2
    assert worker_round(app) is None  # not due again for hours
    assert served.hits == ["/district.ics"]
    db.expire_all()
    moved = db.get(Request, asked.id)
    assert moved.due_at.astimezone(ZONE).date() > due_day
    assert (moved.due_moved["kind"], moved.due_moved["name"]) == ("closure_added", "Facilities closure")

    # The district cancels the closure in its calendar: the next read opens the offices again.
    served.serve(
        "/district.ics",
        ics(
            vevent("far", "Spring break", far),
            vevent("near", "Facilities closure", due_day, extra="STATUS:CANCELLED\r\n"),
        ),
    )
    feed.check_now(db, admin, now=utcnow())
    db.commit()
    result = worker_round(app)
    assert result is not None and result.removed == 1
    db.expire_all()
    freed = db.get(Request, asked.id)
    assert freed.due_at == asked.due_at
    assert (freed.due_moved["kind"], freed.due_moved["name"]) == ("closure_removed", "Facilities closure")


@pytest.mark.parametrize(
    ("path", "outcome", "reason"),
    [
        ("/missing.ics", "unreachable", "the server answered 404"),
        ("/elsewhere.ics", "unreachable", "a host that is not allowed"),
        ("/page.html", "refused", "not a calendar"),
        ("/huge.ics", "refused", "KB"),
    ],
)
def test_a_read_that_fails_is_recorded_and_changes_nothing(app, db, admin, site, path, outcome, reason):
    served, port = site
    served.serve("/elsewhere.ics", b"", 302, Location="http://localhost:9/district.ics")
    served.serve("/page.html", "<html><body>We moved!</body></html>")
    served.serve("/huge.ics", ics(vevent("x", "X" * 50, date(2027, 1, 4)) * 1) + " " * (feed.MAX_BYTES + 10))
    subscribe(db, admin, f"http://127.0.0.1:{port}{path}")

    assert worker_round(app) is None

    failed = subscription(db)
    assert failed.last_outcome == outcome
    assert reason.lower() in (failed.last_message or "").lower()
    assert db.scalars(select(Closure)).all() == []
    assert failed.next_check_at > utcnow() + timedelta(minutes=25)


def test_a_host_that_does_not_answer_is_recorded_as_unreachable(app, db, admin):
    subscribe(db, admin, "http://127.0.0.1:9/district.ics")  # the discard port: nothing listens
    assert worker_round(app) is None
    assert subscription(db).last_outcome == "unreachable"


def test_a_redirect_within_the_allowed_host_is_followed(app, db, admin, site):
    served, port = site
    served.serve("/old.ics", b"", 301, Location=f"http://127.0.0.1:{port}/new.ics")
    served.serve("/new.ics", ics(vevent("mlk", "MLK Day", date(utcnow().year + 1, 1, 18))))
    subscribe(db, admin, f"http://127.0.0.1:{port}/old.ics")
    result = worker_round(app)
    assert result is not None and result.added == 1


def test_https_only_unless_the_operator_allows_http():
    with pytest.raises(calendar_feed.FeedUnreachable):
        calendar_feed.fetch("http://127.0.0.1:9/x.ics", hosts=["127.0.0.1"], allow_http=False, timeout=1)
    with pytest.raises(calendar_feed.FeedUnreachable):
        calendar_feed.fetch("file:///etc/passwd", hosts=["127.0.0.1", ""], allow_http=True, timeout=1)


# --- the calendar page ------------------------------------------------------------


def test_an_admin_subscribes_and_sees_the_last_read_on_the_calendar_page(app, db, as_admin, site):
    served, port = site
    served.serve("/district.ics", ics(vevent("mlk", "MLK Day", date(utcnow().year + 1, 1, 18))))
    page = html.unescape(text(as_admin.get("/admin/calendar")))
    assert "From one of these hosts, which the portal's operator allowed: 127.0.0.1." in page
    url = f"http://127.0.0.1:{port}/district.ics"

    response = as_admin.submit("/admin/calendar/feed", {"url": url, "categories": "Holiday"}, page="/admin/calendar")
    assert response.status_code == 302
    page = html.unescape(text(as_admin.get("/admin/calendar")))
    assert "Not yet: within a few minutes." in page

    worker_round(app)
    page = html.unescape(text(as_admin.get("/admin/calendar")))
    assert "closures: 1 added, 0 updated, 0 removed." in page
    assert as_admin.submit("/admin/calendar/feed/check", {}, page="/admin/calendar").status_code == 302
    assert subscription(db).next_check_at <= utcnow()
    assert as_admin.submit("/admin/calendar/feed/stop", {}, page="/admin/calendar").status_code == 302
    assert db.scalars(select(CalendarFeed)).all() == []
    assert [c.name for c in db.scalars(select(Closure))] == ["MLK Day"]


def test_a_refused_address_is_shown_next_to_its_field_with_the_rest_kept(as_admin):
    response = as_admin.submit(
        "/admin/calendar/feed",
        {"url": "https://evil.example/x.ics", "categories": "Holiday, No school"},
        page="/admin/calendar",
    )
    page = html.unescape(text(response))
    assert response.status_code == 200
    assert "The portal reads calendars only from these hosts: 127.0.0.1." in page
    assert 'value="Holiday, No school"' in page


def test_staff_and_families_cannot_reach_the_feed(db, desk, client):
    for path in ("/admin/calendar/feed", "/admin/calendar/feed/check", "/admin/calendar/feed/stop"):
        assert desk.submit(
            path, {"url": "http://127.0.0.1/x.ics", "categories": "Holiday"}, page="/requests/"
        ).status_code in (403, 404)
    assert db.scalars(select(CalendarFeed)).all() == []


@pytest.mark.parametrize("path", ["/admin/calendar/feed", "/admin/calendar/feed/check", "/admin/calendar/feed/stop"])
def test_every_feed_post_needs_the_csrf_token(as_admin, path):
    assert as_admin.client.post(path, data={"url": "x", "categories": "y"}).status_code == 400
