"""Reading the district's published calendar over the network, for the worker (the
rules of what the text changes are in portal/services/calendar/feed.py).

Only hosts the operator allowed (CALENDAR_FEED_HOSTS) are read, a redirect included;
only https, unless the operator allows http (CALENDAR_FEED_ALLOW_HTTP, for a district
network without TLS); at most the upload limit of an .ics file, within
CALENDAR_FEED_TIMEOUT_SECONDS. A read that fails is recorded on the subscription and
tried again later; it never stops the worker.
"""

import http.client
import logging
import urllib.error
import urllib.request
from datetime import timedelta
from typing import IO, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Flask

from portal.db import get_session, utcnow
from portal.services import requests, uploads
from portal.services.calendar import district_calendar, feed, ics
from portal.services.errors import InvalidInput

log = logging.getLogger("portal.calendar_feed")

MAX_REDIRECTS = 3


class FeedUnreachable(Exception):
    """The feed could not be read: the host is down, slow, refused us, or sent too much."""


def allowed_hosts(app: Flask) -> list[str]:
    return [host.strip().lower() for host in str(app.config["CALENDAR_FEED_HOSTS"] or "").split(",") if host.strip()]


class _AllowedRedirects(urllib.request.HTTPRedirectHandler):
    max_redirections = MAX_REDIRECTS

    def __init__(self, hosts: list[str], schemes: tuple[str, ...]) -> None:
        self.hosts, self.schemes = hosts, schemes

    def redirect_request(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: Any, newurl: str
    ) -> urllib.request.Request | None:
        target = urlsplit(newurl)
        if target.scheme not in self.schemes or (target.hostname or "").lower() not in self.hosts:
            raise FeedUnreachable(f"redirected to {target.scheme}://{target.hostname}, a host that is not allowed")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch(url: str, *, hosts: list[str], allow_http: bool, timeout: float) -> str:
    """The calendar's text at `url`; FeedUnreachable when it cannot be read, InvalidInput
    when what arrives is not a text file of the upload's limits."""
    schemes = ("https", "http") if allow_http else ("https",)
    target = urlsplit(url)
    if target.scheme not in schemes or (target.hostname or "").lower() not in hosts:
        raise FeedUnreachable(f"{target.hostname} is not an allowed host")
    opener = urllib.request.build_opener(_AllowedRedirects(hosts, schemes))
    headers = {"Accept": "text/calendar, */*;q=0.1", "User-Agent": "FamilyPortal"}
    # The scheme and host were checked above (https, or http when allowed; never file:).
    request = urllib.request.Request(url, headers=headers)  # noqa: S310
    try:
        with opener.open(request, timeout=timeout) as response:
            data = response.read(feed.MAX_BYTES + 1)
    except urllib.error.HTTPError as error:
        raise FeedUnreachable(f"the server answered {error.code}") from error
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
        raise FeedUnreachable(str(getattr(error, "reason", error))) from error
    return uploads.read_text_upload(data, "feed.ics", extensions=ics.EXTENSIONS, max_bytes=feed.MAX_BYTES)


def refresh(app: Flask) -> feed.FeedResult | None:
    """One worker round: read the feed if it is due, and bring the closures and the
    promises up to date. Returns what changed, or None when nothing was read."""
    db = get_session()
    now = utcnow()
    subscription = feed.claim_due(db, now=now)
    if subscription is None:
        return None
    db.commit()  # the claim: another worker leaves this read alone
    config = app.config
    try:
        text = fetch(
            subscription.url,
            hosts=allowed_hosts(app),
            allow_http=bool(config["CALENDAR_FEED_ALLOW_HTTP"]),
            timeout=float(config["CALENDAR_FEED_TIMEOUT_SECONDS"]),
        )
        zone = ZoneInfo(district_calendar.current_time_zone(db))
        every = timedelta(minutes=int(config["CALENDAR_FEED_REFRESH_MINUTES"]))
        result = feed.apply(db, subscription, text, now=now, today=now.astimezone(zone).date(), every=every)
    except (FeedUnreachable, InvalidInput) as error:
        db.rollback()
        outcome = "unreachable" if isinstance(error, FeedUnreachable) else "refused"
        message = str(error) if isinstance(error, FeedUnreachable) else str(error.message)
        log.warning("calendar feed %s: %s (%s)", subscription.url, outcome, message)
        feed.record_failure(subscription, outcome, message, now=now)
        db.commit()
        return None
    district_calendar.forget(db)
    if result.changes:
        requests.recompute_after_calendar_change(db, result.changes, now=now)
    db.commit()
    return result
