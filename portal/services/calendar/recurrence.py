"""The days of a repeating all-day event (RRULE, RDATE, EXDATE), bounded: a district's
weekly early-release day or monthly board day is offered as the dates it falls on in
the year after it starts, at most MAX_OCCURRENCES of them, so that a rule without an
end (FREQ=WEEKLY, no COUNT or UNTIL) costs a bounded loop and a bounded preview."""

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from dateutil.rrule import rrulestr

# A school year ends within a year of its first day; a weekly rule fills 53 weeks.
HORIZON = timedelta(days=366)
MAX_OCCURRENCES = 60


class Unreadable(ValueError):
    """The rule cannot be read: the event is listed, but not expanded."""


def occurrence_days(component: Any, first_day: date, moved: Iterable[date] = ()) -> tuple[list[date], bool]:
    """The first days of the occurrences of the all-day `component` that starts on
    `first_day`, in the year from it, without those cancelled by EXDATE and those
    `moved` by an event of their own (RECURRENCE-ID). The second value says whether
    occurrences were left out because the rule runs on beyond MAX_OCCURRENCES or the
    year. Raises Unreadable for a rule the parser cannot read."""
    start = datetime(first_day.year, first_day.month, first_day.day)
    last = start + HORIZON
    days: set[date] = set()
    more = False
    for value in _lines(component.get("RRULE")):
        try:
            # ignoretz: an all-day rule's UNTIL may be written in UTC ("...T000000Z").
            rule = rrulestr(value.to_ical().decode(), dtstart=start, ignoretz=True)
        except (ValueError, TypeError, AttributeError, OverflowError) as error:
            raise Unreadable(str(error)) from error
        for occurrence in rule.xafter(start, count=MAX_OCCURRENCES + 1, inc=True):
            if occurrence > last or len(days) >= MAX_OCCURRENCES:
                more = True
                break
            days.add(occurrence.date())
    days.add(first_day)
    days.update(day for day in _dates(component.get("RDATE")) if first_day <= day <= last.date())
    days.difference_update(_dates(component.get("EXDATE")))
    days.difference_update(moved)
    ordered = sorted(days)
    if len(ordered) > MAX_OCCURRENCES:
        ordered, more = ordered[:MAX_OCCURRENCES], True
    return ordered, more


def _lines(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _dates(value: Any) -> set[date]:
    """The days of RDATE or EXDATE lines (each may list several)."""
    found: set[date] = set()
    for line in _lines(value):
        for item in getattr(line, "dts", []):
            moment = item.dt
            if isinstance(moment, datetime):
                found.add(moment.date())
            elif isinstance(moment, date):
                found.add(moment)
    return found
