"""Times as families read them: in the district's time zone and their language.

A queue page shows dozens of times. Babel's formatting costs tens of microseconds a
call, so each day and each time of day is formatted once per language and kept:
there are only so many of either."""

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import TIMEDELTA_UNITS, format_date, format_timedelta
from babel.dates import format_time as format_time_of_day
from flask_babel import get_locale
from markupsafe import Markup, escape

from portal.blueprints import district
from portal.catalogs import gettext, ngettext
from portal.services.requests.promises import Promise

# "E" alone in a date pattern is the abbreviated weekday ("Tue"); families read it in full.
SHORT_WEEKDAY = re.compile(r"(?<!E)E(?!E)")
ENGLISH = Locale("en")


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    """`moment` (UTC when it carries no zone, as the database's columns are) in `zone`."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone)


@lru_cache(maxsize=2048)
def _day_text(local_day: date, locale: Locale) -> str:
    skeleton = locale.datetime_skeletons.get("MMMMEd")
    if skeleton is None:
        return format_date(local_day, "full", locale=locale)
    return format_date(local_day, SHORT_WEEKDAY.sub("EEEE", skeleton.pattern), locale=locale)


@lru_cache(maxsize=2048)
def _time_text(time_of_day: time, locale: Locale) -> str:
    return format_time_of_day(time_of_day, "short", locale=locale)


def _locale() -> Locale:
    return get_locale() or ENGLISH


def _clock(local: datetime, locale: Locale) -> str:
    return _time_text(local.time().replace(second=0, microsecond=0), locale)


def _when(local: datetime, locale: Locale) -> str:
    return gettext("%(day)s at %(time)s", day=_day_text(local.date(), locale), time=_clock(local, locale))


# How long is left is given in the largest unit that counts at least one and a half of it,
# down to minutes ("90 minutes", then "2 hours").
TIME_LEFT_THRESHOLD = 1.5


@lru_cache(maxsize=2048)
def _duration_text(unit: str, count: int, locale: Locale) -> str:
    # No larger unit qualifies at an infinite threshold: Babel writes `count` `unit`s.
    return format_timedelta(count * dict(TIMEDELTA_UNITS)[unit], granularity=unit, threshold=math.inf, locale=locale)


@dataclass(frozen=True)
class Clock:
    """The district's time zone and the reader's language, read once: a queue writes a
    time or two a row, and reading either goes through the request's context (5 µs for
    both). The functions below the class read them at each call, for templates."""

    zone: ZoneInfo
    locale: Locale

    def day(self, moment: datetime) -> str:
        """The weekday in full, the day and the month, in the locale's own order:
        "Tuesday, November 24", "martes, 24 de noviembre"."""
        return _day_text(_local(moment, self.zone).date(), self.locale)

    def when(self, moment: datetime) -> str:
        """The day and the time: "Tuesday, November 24 at 10:30 AM"."""
        return _when(_local(moment, self.zone), self.locale)

    def when_from(self, moment: datetime, now: datetime) -> str:
        """Only the time when it is today, else the day and the time."""
        local = _local(moment, self.zone)
        if local.date() == _local(now, self.zone).date():
            return _clock(local, self.locale)
        return _when(local, self.locale)

    def time_left(self, moment: datetime, now: datetime) -> str:
        """ "3 hours", "2 days": how long until `moment`, as Babel's format_timedelta writes
        it (down to minutes). Babel looks the locale's patterns up at every call, 10 µs a
        queue row; the unit and the number are chosen here as Babel chooses them, and each
        text is written once per language."""
        seconds = abs((moment - now).total_seconds())
        for unit, seconds_per_unit in TIMEDELTA_UNITS:
            count = seconds / seconds_per_unit
            if count >= TIME_LEFT_THRESHOLD or unit == "minute":
                break
        if unit == "minute" and count > 0:
            count = max(1, count)  # under a minute left reads "1 minute"
        return _duration_text(unit, round(count), self.locale)

    def due_badge(self, promise: Promise | None, now: datetime) -> Markup:
        """A promise as a short badge, for families and staff alike: "Reply due in 3 hours",
        "Overdue since 10:30" (written here, not in a macro: a queue shows one a row)."""
        if promise is None:
            return Markup()
        if promise.is_overdue(now):
            overdue = gettext("Overdue since %(when)s", when=self.when_from(promise.due_at, now))
            return Markup(f'<span class="badge badge--overdue">{escape(overdue)}</span>')  # noqa: S704 (escaped)
        left = self.time_left(promise.due_at, now)
        if promise.kind == "reply":
            text = gettext("Reply due in %(time)s", time=left)
        elif promise.kind == "callback":
            text = gettext("Call due in %(time)s", time=left)
        else:
            text = gettext("Resolution due in %(time)s", time=left)
        return Markup(f'<span class="badge">{escape(text)}</span>')  # noqa: S704 (escaped)


def clock() -> Clock:
    """The page's Clock: for a page's many rows."""
    return Clock(ZoneInfo(district.time_zone()), _locale())


# For templates (filters and globals) and single values: each reads the zone and the language.


def day(moment: datetime) -> str:
    return clock().day(moment)


def when(moment: datetime) -> str:
    return clock().when(moment)


def when_from(moment: datetime, now: datetime) -> str:
    return clock().when_from(moment, now)


def time_left(moment: datetime, now: datetime) -> str:
    return clock().time_left(moment, now)


def due_badge(promise: Promise | None, now: datetime) -> Markup:
    return clock().due_badge(promise, now)


def business_duration(duration: timedelta) -> str:
    """A reply-time target or measure in business time: "45 minutes", "8 business hours"."""
    minutes = round(duration.total_seconds() / 60)
    if minutes < 60:
        return ngettext("%(num)d minute", "%(num)d minutes", max(minutes, 1))
    hours = round(minutes / 60)
    return ngettext("%(num)d business hour", "%(num)d business hours", hours)


def business_seconds(seconds: int | None) -> str:
    """A measured business time kept in seconds (a metric, an email's payload); a dash when there is none."""
    if seconds is None:
        return "—"
    return business_duration(timedelta(seconds=seconds))


FILTERS = {
    "day": day,
    "when": when,
    "business_duration": business_duration,
    "business_seconds": business_seconds,
}
GLOBALS = {"when_from": when_from, "time_left": time_left, "due_badge": due_badge, "reader_clock": clock}
