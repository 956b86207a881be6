"""Business time: the arithmetic behind every promised reply time.

A pure function of (start, business time to add, calendar): no database, no
clock. The calendar is the district's weekly opening hours on the local wall
clock of its time zone, minus closures (holidays, snow days). Durations are real
elapsed time inside open periods, so a day on which clocks change still counts
its opening hours as they are lived. A due time never falls in closed time.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Far enough for any real closure calendar; a calendar that never opens fails fast.
MAX_DAYS = 3 * 366

Period = tuple[time, time]


@dataclass(frozen=True)
class Calendar:
    time_zone: ZoneInfo
    # Monday is 0. Each day's periods are sorted, do not overlap, and open before they close.
    weekly_hours: Mapping[int, tuple[Period, ...]]
    # Inclusive ranges of local dates when the offices are closed all day.
    closures: tuple[tuple[date, date], ...] = field(default=())

    def __post_init__(self) -> None:
        for weekday, periods in self.weekly_hours.items():
            if not 0 <= weekday <= 6:
                raise ValueError(f"weekday {weekday} is not 0 (Monday) to 6 (Sunday)")
            for index, (opens, closes) in enumerate(periods):
                if not opens < closes:
                    raise ValueError(f"a period must open before it closes: {opens}-{closes}")
                if index and opens < periods[index - 1][1]:
                    raise ValueError("periods of a day must be sorted and must not overlap")
        for first, last in self.closures:
            if last < first:
                raise ValueError(f"a closure ends before it starts: {first}-{last}")

    def is_closed_on(self, day: date) -> bool:
        return any(first <= day <= last for first, last in self.closures)

    def open_periods(self, day: date) -> list[tuple[datetime, datetime]]:
        """The open periods of a local date, as aware UTC instants."""
        if self.is_closed_on(day):
            return []
        periods: list[tuple[datetime, datetime]] = []
        for opens, closes in self.weekly_hours.get(day.weekday(), ()):
            start, end = self._instant(day, opens), self._instant(day, closes)
            # Around a DST change, wall-clock periods can shrink, vanish or touch: keep
            # them in order, without overlap, and drop the ones with no time left.
            if periods:
                start = max(start, periods[-1][1])
            if end > start:
                periods.append((start, end))
        return periods

    def _instant(self, day: date, wall_clock: time) -> datetime:
        # A wall-clock time skipped by a DST change (02:30 on the spring-forward
        # night) resolves forward; zoneinfo's fold=0 does that consistently.
        return datetime.combine(day, wall_clock, tzinfo=self.time_zone).astimezone(UTC)

    def periods_from(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open periods that end after `start`, in order, clipped to begin no earlier than it."""
        day = start.astimezone(self.time_zone).date()
        for offset in range(MAX_DAYS):
            for opens, closes in self.open_periods(day + timedelta(days=offset)):
                if closes > start:
                    yield max(opens, start), closes
        raise ValueError(f"the calendar has no open time within {MAX_DAYS} days of {start.isoformat()}")


def add_business_time(start: datetime, duration: timedelta, calendar: Calendar) -> datetime:
    """The instant when `duration` of open time has passed since `start`.

    Started in closed time (a Friday night, a holiday), the clock begins at the next
    opening. The result is inside open hours, or exactly at a closing time when the
    duration runs out there; adding a and then b is the same as adding a + b."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if duration < timedelta(0):
        raise ValueError("duration must not be negative")
    if duration == timedelta(0):
        return start
    remaining = duration
    for opens, closes in calendar.periods_from(start):
        available = closes - opens
        if remaining <= available:
            return opens + remaining
        remaining -= available
    raise AssertionError("unreachable: periods_from raises when the calendar runs out")


def business_time_between(start: datetime, end: datetime, calendar: Calendar) -> timedelta:
    """How much open time lies between two instants (zero when end is not after start)."""
    total = timedelta(0)
    if end <= start:
        return total
    for opens, closes in calendar.periods_from(start):
        if opens >= end:
            break
        total += min(closes, end) - opens
    return total


def is_open_at(moment: datetime, calendar: Calendar) -> bool:
    """True when `moment` lies in an open period, its ends included."""
    day = moment.astimezone(calendar.time_zone).date()
    # A period belongs to its local date; check the neighbours for instants near midnight.
    return any(
        opens <= moment <= closes
        for offset in (-1, 0, 1)
        for opens, closes in calendar.open_periods(day + timedelta(days=offset))
    )
