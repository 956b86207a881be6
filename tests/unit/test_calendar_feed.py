"""The district's published calendar, read on a schedule: what a subscription accepts,
and what each read of the feed does to the closures."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.models import AuditEvent, CalendarFeed, Closure
from portal.services.calendar import feed
from portal.services.errors import InvalidInput, NotAllowed, NotFound
from tests import factories

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
TODAY = date(2026, 11, 27)
HOSTS = ["calendar.district.example"]
URL = "https://calendar.district.example/district.ics"
EVERY = timedelta(hours=6)


def ics(*events: str) -> str:
    return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//District//EN\r\n" + "".join(events) + "END:VCALENDAR\r\n"


def vevent(uid: str, name: str, first: date, *, categories: str = "Holiday", cancelled: bool = False) -> str:
    lines = [f"UID:{uid}", f"SUMMARY:{name}", f"DTSTART;VALUE=DATE:{first:%Y%m%d}", f"CATEGORIES:{categories}"]
    if cancelled:
        lines.append("STATUS:CANCELLED")
    return "BEGIN:VEVENT\r\n" + "\r\n".join(lines) + "\r\nEND:VEVENT\r\n"


@pytest.fixture
def subscription(db, admin) -> CalendarFeed:  # type: ignore[no-untyped-def]
    subscribed = feed.subscribe(db, admin, URL, "Holiday, No school", allowed_hosts=HOSTS, now=NOW)
    db.commit()
    return subscribed


def closures(db) -> dict[str, tuple[date, str]]:  # type: ignore[no-untyped-def]
    db.expire_all()
    return {c.source_uid or "": (c.first_day, c.name) for c in db.scalars(select(Closure))}


def read(db, subscription: CalendarFeed, *events: str, today: date = TODAY) -> feed.FeedResult:  # type: ignore[no-untyped-def]
    result = feed.apply(db, subscription, ics(*events), now=NOW, today=today, every=EVERY)
    db.commit()
    return result


# --- subscribing ------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://calendar.district.example/district.ics",  # https only
        "file:///etc/passwd",
        "https://evil.example/district.ics",
        "https://calendar.district.example.evil.example/x.ics",
        "https://user:secret@calendar.district.example/district.ics",
        "https://calendar.district.example:notaport/district.ics",
        "https://[::1/district.ics",
        "calendar.district.example/district.ics",
        "",
        "https://calendar.district.example/" + "x" * 500,
    ],
)
def test_only_an_https_address_on_an_allowed_host_is_accepted(db, admin, url):
    with pytest.raises(InvalidInput) as refused:
        feed.subscribe(db, admin, url, "Holiday", allowed_hosts=HOSTS, now=NOW)
    assert refused.value.field == "url"
    assert feed.current(db) is None


def test_http_is_accepted_when_the_operator_allows_it(db, admin):
    url = "http://calendar.district.example/district.ics"
    assert feed.subscribe(db, admin, url, "Holiday", allowed_hosts=HOSTS, allow_http=True, now=NOW).url == url


def test_without_allowed_hosts_nothing_can_be_subscribed(db, admin):
    with pytest.raises(InvalidInput) as refused:
        feed.subscribe(db, admin, URL, "Holiday", allowed_hosts=[], now=NOW)
    assert "CALENDAR_FEED_HOSTS" in str(refused.value.message)


@pytest.mark.parametrize("categories", ["", " , ,", ",".join(f"c{n}" for n in range(21))])
def test_categories_are_required_and_bounded(db, admin, categories):
    with pytest.raises(InvalidInput) as refused:
        feed.subscribe(db, admin, URL, categories, allowed_hosts=HOSTS, now=NOW)
    assert refused.value.field == "categories"


def test_a_second_subscription_changes_the_first_and_is_audited(db, admin, subscription):
    again = feed.subscribe(db, admin, URL + "?v=2", "holiday, HOLIDAY, Early\x07release", allowed_hosts=HOSTS, now=NOW)
    db.commit()
    assert again.id == subscription.id
    assert again.categories == ["holiday", "Early release"]
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "calendar.feed_subscribed")).all()
    assert [e.before for e in events] == [None, {"url": URL, "categories": ["Holiday", "No school"]}]


def test_staff_cannot_subscribe_check_or_stop(db, subscription):
    staff = factories.make_staff(db)
    with pytest.raises(NotAllowed):
        feed.subscribe(db, staff, URL, "Holiday", allowed_hosts=HOSTS, now=NOW)
    with pytest.raises(NotAllowed):
        feed.check_now(db, staff, now=NOW)
    with pytest.raises(NotAllowed):
        feed.unsubscribe(db, staff, now=NOW)


def test_stopping_keeps_the_closures_the_feed_made(db, admin, subscription):
    read(db, subscription, vevent("mlk", "MLK Day", date(2027, 1, 18)))
    feed.unsubscribe(db, admin, now=NOW)
    db.commit()
    assert feed.current(db) is None
    assert list(closures(db)) == ["mlk"]
    with pytest.raises(NotFound):
        feed.unsubscribe(db, admin, now=NOW)


# --- the worker's claim -----------------------------------------------------------


def test_a_due_feed_is_claimed_once_until_its_claim_lapses(db, subscription):
    claimed = feed.claim_due(db, now=NOW)
    db.commit()
    assert claimed is not None and claimed.id == subscription.id
    assert feed.claim_due(db, now=NOW + timedelta(minutes=5)) is None  # another worker, meanwhile
    assert feed.claim_due(db, now=NOW + feed.CLAIM) is not None  # the first one died mid-read


def test_a_read_sets_the_next_one_and_a_failure_retries_sooner(db, subscription):
    read(db, subscription, vevent("mlk", "MLK Day", date(2027, 1, 18)))
    assert subscription.next_check_at == NOW + EVERY
    assert (subscription.last_outcome, subscription.last_summary) == (
        "updated",
        {"added": 1, "updated": 0, "removed": 0},
    )
    feed.record_failure(subscription, "unreachable", "connection refused\nby host", now=NOW)
    assert subscription.next_check_at == NOW + feed.RETRY_AFTER
    assert subscription.last_message == "connection refused by host"


# --- what a read changes ----------------------------------------------------------


def test_events_of_the_chosen_categories_become_closures(db, subscription):
    result = read(
        db,
        subscription,
        vevent("mlk", "MLK Day", date(2027, 1, 18)),
        vevent("pd", "PD day", date(2027, 2, 12), categories="NO SCHOOL"),
        vevent("game", "Football game", date(2027, 2, 13), categories="Athletics"),
        vevent("past", "Labor Day", date(2026, 9, 7)),
    )
    assert closures(db) == {"mlk": (date(2027, 1, 18), "MLK Day"), "pd": (date(2027, 2, 12), "PD day")}
    assert (result.added, result.updated, result.removed) == (2, 0, 0)
    assert sorted(subscription.closure_uids) == ["mlk", "pd"]


def test_a_moved_event_moves_its_closure_and_an_unchanged_read_changes_nothing(db, subscription):
    read(db, subscription, vevent("mlk", "MLK Day", date(2027, 1, 18)))
    moved = read(db, subscription, vevent("mlk", "MLK Day (observed)", date(2027, 1, 19)))
    assert (moved.added, moved.updated) == (0, 1)
    assert closures(db) == {"mlk": (date(2027, 1, 19), "MLK Day (observed)")}
    same = read(db, subscription, vevent("mlk", "MLK Day (observed)", date(2027, 1, 19)))
    assert same.changes == []
    assert subscription.last_outcome == "unchanged"


def test_an_event_removed_or_cancelled_in_the_feed_opens_the_offices_again(db, admin, subscription):
    read(
        db,
        subscription,
        vevent("mlk", "MLK Day", date(2027, 1, 18)),
        vevent("pd", "PD day", date(2027, 2, 12)),
        vevent("snow", "Snow make-up", date(2027, 3, 1)),
    )
    # Added by hand, and by a file upload: never the feed's to remove.
    db.add(Closure(first_day=date(2027, 1, 4), last_day=date(2027, 1, 4), name="By hand"))
    db.add(Closure(first_day=date(2027, 1, 5), last_day=date(2027, 1, 5), name="Uploaded", source_uid="upload-1"))
    db.commit()

    result = read(
        db,
        subscription,
        vevent("mlk", "MLK Day", date(2027, 1, 18)),
        vevent("pd", "PD day", date(2027, 2, 12), cancelled=True),
        vevent("snow", "Snow make-up", date(2027, 3, 1), categories="Athletics"),  # no longer a closing category
    )
    assert result.removed == 2
    assert sorted(closures(db)) == ["", "mlk", "upload-1"]
    assert {c.name for c in result.changes if c.kind == "closure_removed"} == {"PD day", "Snow make-up"}
    assert subscription.closure_uids == ["mlk"]


def test_a_past_closure_of_the_feed_is_left_alone_when_its_event_leaves(db, subscription):
    read(db, subscription, vevent("mlk", "MLK Day", date(2027, 1, 18)))
    later = date(2027, 2, 1)
    result = read(db, subscription, vevent("pd", "PD day", date(2027, 2, 12)), today=later)
    assert result.removed == 0
    assert sorted(closures(db)) == ["mlk", "pd"]
    assert sorted(subscription.closure_uids) == ["mlk", "pd"]


def test_a_feed_that_is_no_calendar_changes_nothing(db, subscription):
    read(db, subscription, vevent("mlk", "MLK Day", date(2027, 1, 18)))
    with pytest.raises(InvalidInput):
        feed.apply(db, subscription, "<html>Moved</html>", now=NOW, today=TODAY, every=EVERY)
    db.rollback()
    assert list(closures(db)) == ["mlk"]


def test_a_feed_whose_administrator_left_is_not_applied(db, admin, subscription):
    admin.is_active = False
    db.commit()
    with pytest.raises(InvalidInput) as refused:
        feed.apply(
            db, subscription, ics(vevent("mlk", "MLK Day", date(2027, 1, 18))), now=NOW, today=TODAY, every=EVERY
        )
    assert "subscribe again" in str(refused.value.message)
