"""When a call-back is promised: the department's reply target, the district calendar
and the window the family gave (days and a time range on its own clock).

A pure function, like business_time: no database, no clock. The call is promised for
the first moment, at or after the time a written reply would be due (the target in
business time from the request), at which both the offices are open and the family
wants to be called: the due time itself when it falls inside the family's window, else
the start of the family's next window with the offices open. A longer target never
promises sooner. A window on days or at hours when the offices are
never open has no call-back time (CallbackWindowError), which the form says before
anything is saved. A target of zero is due at once, like a written reply.

Both clocks are real: the office hours on the district's time zone, the window on the
family's, so a family in another zone, or a change of daylight saving time on either
side, moves the window as it is lived.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from portal.services.requests.business_time import Calendar, add_business_time

# A window that meets the office hours does so every week, unless a closure (a winter break)
# is in the way: beyond this, it never will.
SEARCH = timedelta(days=42)


class CallbackWindowError(ValueError):
    """The family's window does not meet the office hours within SEARCH."""


@dataclass(frozen=True)
class CallWindow:
    """When the family wants to be called: weekdays (Monday is 0) and a time range on its own clock."""

    weekdays: frozenset[int]
    starts: time
    ends: time
    time_zone: ZoneInfo

    def __post_init__(self) -> None:
        if not self.weekdays or not self.weekdays <= set(range(7)):
            raise ValueError("a window needs at least one weekday, 0 (Monday) to 6 (Sunday)")
        if not self.starts < self.ends:
            raise ValueError("a window must start before it ends")

    def periods_of(self, day: date) -> tuple[datetime, datetime] | None:
        """The window on the family's local date `day`, as UTC instants; None on other weekdays."""
        if day.weekday() not in self.weekdays:
            return None
        starts = datetime.combine(day, self.starts, tzinfo=self.time_zone).astimezone(UTC)
        ends = datetime.combine(day, self.ends, tzinfo=self.time_zone).astimezone(UTC)
        return (starts, ends) if ends > starts else None  # a window inside a skipped DST hour


def calling_times(start: datetime, calendar: Calendar, window: CallWindow) -> Iterator[tuple[datetime, datetime]]:
    """The times from `start` on when the offices are open and the family wants the call, in order."""
    first_day = start.astimezone(window.time_zone).date() - timedelta(days=1)
    windows = (window.periods_of(first_day + timedelta(days=offset)) for offset in range(SEARCH.days + 3))
    pending = [w for w in windows if w is not None]
    index = 0
    for opens, closes in calendar.periods_from(start):
        if opens - start > SEARCH:
            break
        while index < len(pending) and pending[index][1] <= opens:
            index += 1
        probe = index
        while probe < len(pending) and pending[probe][0] < closes:
            begins, ends = max(opens, pending[probe][0]), min(closes, pending[probe][1])
            if ends > begins:
                yield begins, ends
            probe += 1
        if index >= len(pending):
            break
    raise CallbackWindowError(f"the window does not meet the office hours within {SEARCH.days} days")


def callback_due(start: datetime, target: timedelta, calendar: Calendar, window: CallWindow) -> datetime:
    """The moment by which the family is promised a call (see the module's rule)."""
    written_due = add_business_time(start, target, calendar)
    for begins, ends in calling_times(start, calendar, window):
        if begins <= written_due <= ends:
            return written_due
        if begins > written_due:
            return begins
    raise AssertionError("unreachable: calling_times raises when the window runs out")
