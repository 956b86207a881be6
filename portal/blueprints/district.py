"""The district's time zone for the request being served, for showing dates.

The services read the district's calendar themselves (`district_calendar.current`),
once per session; this reads the same cached value for the pages."""

from portal.db import get_session
from portal.services.calendar import district_calendar


def time_zone() -> str:
    """The district's time zone, read once per request (or per worker round)."""
    return district_calendar.current_time_zone(get_session())
