"""The district's published calendar, read on a schedule: an administrator subscribes
the portal to its .ics URL, on a host the operator allowed, and chooses the categories
whose events close the offices. The worker reads it (`claim_due`, then `apply` or
`record_failure`): a new or moved event of those categories becomes or moves a closure;
a closure the feed made whose event leaves the feed, or is cancelled there, is removed;
the promises of open requests are computed again, each family told of the closure that
moved its own. Fetching is not here (portal/calendar_feed.py): this is what is done
with the text.
"""

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.catalogs import lazy_gettext as _l
from portal.db import rows_matched
from portal.models import CalendarFeed, Closure, User
from portal.services import audit, scope
from portal.services.calendar import district_calendar
from portal.services.calendar.calendar_import import MAX_BYTES, ImportResult, close_on_events
from portal.services.calendar.ics import (
    CATEGORY_MAX_LENGTH,
    ImportedEvent,
    ParsedCalendar,
    parse_calendar,
    readable_line,
)
from portal.services.errors import InvalidInput, NotFound

URL_MAX_LENGTH = 500  # CalendarFeed.url
MESSAGE_MAX_LENGTH = 300  # CalendarFeed.last_message
MAX_CATEGORIES = 20
# A read that fails (the host is down) is tried again sooner than the regular interval.
RETRY_AFTER = timedelta(minutes=30)
# How long a worker's claim lasts: after a crash mid-read, another worker reads it then.
CLAIM = timedelta(minutes=10)

__all__ = [
    "MAX_BYTES",
    "FeedResult",
    "apply",
    "check_now",
    "claim_due",
    "current",
    "record_failure",
    "subscribe",
    "unsubscribe",
]


def current(db: Session) -> CalendarFeed | None:
    return db.scalar(select(CalendarFeed).order_by(CalendarFeed.id).limit(1))


def _checked_url(url: str, allowed_hosts: Iterable[str], *, allow_http: bool) -> str:
    url = url.strip()
    if not url:
        raise InvalidInput(_l("Enter the address of the district's published calendar."), field="url")
    if len(url) > URL_MAX_LENGTH:
        raise InvalidInput(_l("The address is longer than %(count)d characters.", count=URL_MAX_LENGTH), field="url")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        host, parts = "", urlsplit("")
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme.lower() not in schemes or not host or parts.username or parts.password:
        raise InvalidInput(
            _l("Enter an address that starts with https://, like https://calendar.example.org/district.ics."),
            field="url",
        )
    allowed = {name.strip().lower() for name in allowed_hosts if name.strip()}
    if not allowed:
        raise InvalidInput(
            _l("The portal's operator has not allowed any calendar host yet (CALENDAR_FEED_HOSTS)."), field="url"
        )
    if host not in allowed:
        raise InvalidInput(
            _l("The portal reads calendars only from these hosts: %(hosts)s.", hosts=", ".join(sorted(allowed))),
            field="url",
        )
    return url


def _checked_categories(text: str) -> list[str]:
    categories: list[str] = []
    for raw in text.split(","):
        category = readable_line(raw, CATEGORY_MAX_LENGTH)
        if category and category.casefold() not in {c.casefold() for c in categories}:
            categories.append(category)
    if not categories:
        raise InvalidInput(
            _l("Name at least one category whose events close the offices, like “Holiday”."), field="categories"
        )
    if len(categories) > MAX_CATEGORIES:
        raise InvalidInput(_l("Name at most %(count)d categories.", count=MAX_CATEGORIES), field="categories")
    return categories


def subscribe(
    db: Session,
    actor: User,
    url: str,
    categories: str,
    *,
    allowed_hosts: Iterable[str],
    allow_http: bool = False,
    now: datetime,
) -> CalendarFeed:
    """Read the calendar at `url` from now on (the worker's next round reads it first);
    a subscription there was is changed, and keeps the closures it made."""
    scope.require_admin(actor)
    checked_url = _checked_url(url, allowed_hosts, allow_http=allow_http)
    chosen = _checked_categories(categories)
    feed = current(db)
    before = {"url": feed.url, "categories": feed.categories} if feed else None
    if feed is None:
        feed = CalendarFeed(closure_uids=[], created_by_id=actor.id, created_at=now)
        db.add(feed)
    feed.url, feed.categories, feed.next_check_at = checked_url, chosen, now
    feed.created_by_id = actor.id
    db.flush()
    audit.record(
        db,
        actor,
        "calendar.feed_subscribed",
        feed,
        now=now,
        before=before,
        after={"url": feed.url, "categories": chosen},
    )
    return feed


def unsubscribe(db: Session, actor: User, *, now: datetime) -> None:
    """Stop reading the feed. The closures it made stay, as closures added by hand do."""
    scope.require_admin(actor)
    feed = current(db)
    if feed is None:
        raise NotFound()
    audit.record(db, actor, "calendar.feed_unsubscribed", feed, now=now, before={"url": feed.url})
    db.delete(feed)


def check_now(db: Session, actor: User, *, now: datetime) -> CalendarFeed:
    """Ask the worker to read the feed in its next round."""
    scope.require_admin(actor)
    feed = current(db)
    if feed is None:
        raise NotFound()
    feed.next_check_at = now
    return feed


def claim_due(db: Session, *, now: datetime) -> CalendarFeed | None:
    """The feed, when it is due and this worker is the one to read it: the claim moves
    its next check past the read, so another worker does not read it too."""
    feed = db.scalar(select(CalendarFeed).where(CalendarFeed.next_check_at <= now).limit(1))
    if feed is None:
        return None
    claimed = db.execute(
        update(CalendarFeed)
        .where(CalendarFeed.id == feed.id, CalendarFeed.next_check_at == feed.next_check_at)
        .values(next_check_at=now + CLAIM)
        .execution_options(synchronize_session=False)
    )
    if rows_matched(claimed) != 1:
        return None
    db.refresh(feed)
    return feed


class FeedResult(ImportResult):
    """What a read of the feed changed (an upload's counts; "unchanged" is not shown)."""

    def as_json(self) -> dict[str, int]:
        return {"added": self.added, "updated": self.updated, "removed": self.removed}


def apply(db: Session, feed: CalendarFeed, text: str, *, now: datetime, today: date, every: timedelta) -> FeedResult:
    """Bring the closures up to date with the feed's text (the caller then computes the
    promises again with the result's `changes`). Raises InvalidInput when the text is no
    calendar; record that with `record_failure`."""
    actor = db.get(User, feed.created_by_id) if feed.created_by_id else None
    if actor is None or not actor.is_admin or not actor.is_active:
        raise InvalidInput(_l("The administrator who subscribed can no longer change the calendar: subscribe again."))
    parsed = parse_calendar(text)
    result = FeedResult()
    chosen = _chosen(parsed, feed.categories, today)
    close_on_events(db, actor, chosen, result, now=now)
    keep = {event.uid for event in chosen}
    removed: set[str] = set()
    for closure in _gone(db, feed.closure_uids, keep, today):
        result.removed += 1
        result.changes.append(district_calendar.ClosureChange.of("closure_removed", closure))
        removed.add(closure.source_uid or "")
        district_calendar.remove_closure(db, actor, closure.id, now=now)
    # Its past closures stay its own, as do those still in the feed.
    feed.closure_uids = sorted(keep | (set(feed.closure_uids) - removed))
    _record(feed, "updated" if result.changes else "unchanged", None, now=now, next_check=now + every)
    feed.last_summary = result.as_json()
    return result


def record_failure(feed: CalendarFeed, outcome: str, message: str, *, now: datetime) -> None:
    """A read that failed ("refused": not a calendar; "unreachable"), shown on the
    calendar page; tried again after RETRY_AFTER."""
    _record(feed, outcome, message, now=now, next_check=now + RETRY_AFTER)


def _record(feed: CalendarFeed, outcome: str, message: str | None, *, now: datetime, next_check: datetime) -> None:
    feed.last_checked_at, feed.last_outcome, feed.next_check_at = now, outcome, next_check
    feed.last_message = readable_line(message, MESSAGE_MAX_LENGTH) if message else None


def _chosen(parsed: ParsedCalendar, categories: list[str], today: date) -> list[ImportedEvent]:
    wanted = {category.casefold() for category in categories}
    return [
        event
        for event in parsed.events
        if event.can_close(today) and wanted.intersection(category.casefold() for category in event.categories)
    ]


def _gone(db: Session, made: list[str], keep: set[str], today: date) -> list[Closure]:
    """The closures still to come that the feed made and no longer has (or has cancelled,
    or no longer in a chosen category)."""
    missing = [uid for uid in made if uid not in keep]
    found: list[Closure] = []
    for start in range(0, len(missing), 500):
        statement = select(Closure).where(
            Closure.source_uid.in_(missing[start : start + 500]), Closure.last_day >= today
        )
        found.extend(db.scalars(statement.order_by(Closure.first_day, Closure.id)))
    return found


def _is_past(db: Session, uid: str, today: date) -> bool:
    closure = db.scalar(select(Closure).where(Closure.source_uid == uid))
    return closure is not None and closure.last_day < today
