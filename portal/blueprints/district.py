"""The district's time zone and calendar for the request being served."""

from flask import current_app, g

from portal.db import get_session
from portal.services.calendar import district_calendar
from portal.services.requests.business_time import Calendar


def time_zone() -> str:
    """The district's time zone, read once per request (or per worker context)."""
    if "district_time_zone" not in g:
        g.district_time_zone = district_calendar.time_zone(get_session(), current_app.config["DISTRICT_TIMEZONE"])
    return g.district_time_zone


def calendar() -> Calendar:
    """The calendar that reply-time arithmetic runs on, with every closure."""
    if "district_calendar" not in g:
        g.district_calendar = district_calendar.load_calendar(get_session(), time_zone())
    return g.district_calendar


def forget_calendar() -> None:
    """After an administrator changed the calendar, the next use reads it again."""
    g.pop("district_time_zone", None)
    g.pop("district_calendar", None)
