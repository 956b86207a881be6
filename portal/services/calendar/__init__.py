"""The district calendar: when the offices are open, which every promise counts on.

- `district_calendar`: business hours, closures and the district's time zone; `load_calendar`
  gives the `Calendar` that `requests.business_time` computes promises on.
- `calendar_import`: closures from the calendar a district publishes as an `.ics` file,
  which `ics` reads.

Blueprints import the modules by name (`from portal.services.calendar import district_calendar`).
"""

from portal.services.calendar import calendar_import, district_calendar

__all__ = ["calendar_import", "district_calendar"]
