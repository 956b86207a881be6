"""Times as families read them: in the district's time zone and their language."""

import re
from datetime import datetime, timedelta

from babel import Locale
from babel.dates import format_date
from flask_babel import format_time, format_timedelta, get_locale, gettext, ngettext, to_user_timezone

# "E" alone in a date pattern is the abbreviated weekday ("Tue"); families read it in full.
SHORT_WEEKDAY = re.compile(r"(?<!E)E(?!E)")


def day(moment: datetime) -> str:
    """The weekday in full, the day and the month, in the locale's own order:
    "Tuesday, November 24", "martes, 24 de noviembre"."""
    locale = get_locale() or Locale("en")
    skeleton = locale.datetime_skeletons.get("MMMMEd")
    if skeleton is None:
        return format_date(to_user_timezone(moment), "full", locale=locale)
    return format_date(to_user_timezone(moment), SHORT_WEEKDAY.sub("EEEE", skeleton.pattern), locale=locale)


def when(moment: datetime) -> str:
    """The day and the time: "Tuesday, November 24 at 10:30 AM"."""
    return gettext("%(day)s at %(time)s", day=day(moment), time=format_time(moment, "short"))


def when_from(moment: datetime, now: datetime) -> str:
    """Only the time when it is today, else the day and the time."""
    if to_user_timezone(moment).date() == to_user_timezone(now).date():
        return format_time(moment, "short")
    return when(moment)


def time_left(moment: datetime, now: datetime) -> str:
    """ "3 hours", "2 days": how long until `moment`."""
    return format_timedelta(moment - now, granularity="minute", threshold=1.5)


def business_duration(duration: timedelta) -> str:
    """A reply-time target or measure in business time: "45 minutes", "8 business hours"."""
    minutes = round(duration.total_seconds() / 60)
    if minutes < 60:
        return ngettext("%(num)d minute", "%(num)d minutes", max(minutes, 1))
    hours = round(minutes / 60)
    return ngettext("%(num)d business hour", "%(num)d business hours", hours)


FILTERS = {
    "day": day,
    "when": when,
    "business_duration": business_duration,
}
GLOBALS = {"when_from": when_from, "time_left": time_left}
