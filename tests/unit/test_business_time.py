"""The reply-time arithmetic: property-based over calendars, DST changes and closures."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.services.requests.business_time import (
    Calendar,
    add_business_time,
    business_time_between,
    is_open_at,
)

LOS_ANGELES = ZoneInfo("America/Los_Angeles")
WEEKDAYS_8_TO_1630 = {day: ((time(8), time(16, 30)),) for day in range(5)}
DISTRICT = Calendar(LOS_ANGELES, WEEKDAYS_8_TO_1630)


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0, zone: ZoneInfo = LOS_ANGELES) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone).astimezone(UTC)


# --- Examples a district would check by hand ------------------------------------


def test_a_request_sent_friday_night_starts_its_clock_on_monday_morning():
    friday_night = local(2026, 11, 20, 22)
    assert add_business_time(friday_night, timedelta(hours=2), DISTRICT) == local(2026, 11, 23, 10)


def test_time_carries_over_to_the_next_business_day():
    thursday_afternoon = local(2026, 11, 19, 15)
    assert add_business_time(thursday_afternoon, timedelta(hours=4), DISTRICT) == local(2026, 11, 20, 10, 30)


def test_a_due_time_never_falls_in_a_closure():
    thanksgiving_break = Calendar(LOS_ANGELES, WEEKDAYS_8_TO_1630, closures=((date(2026, 11, 25), date(2026, 11, 27)),))
    tuesday = local(2026, 11, 24, 15)
    due = add_business_time(tuesday, timedelta(hours=4), thanksgiving_break)
    assert due == local(2026, 11, 30, 10, 30)  # Monday after the break


def test_the_end_of_a_period_is_a_valid_due_time():
    assert add_business_time(local(2026, 11, 23, 16), timedelta(minutes=30), DISTRICT) == local(2026, 11, 23, 16, 30)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # Clocks go forward on Sunday 8 March 2026: Monday's hours are still 8:00 to 16:30 local.
        (local(2026, 3, 6, 15), local(2026, 3, 9, 9, 30)),
        # Clocks go back on Sunday 1 November 2026.
        (local(2026, 10, 30, 15), local(2026, 11, 2, 9, 30)),
    ],
)
def test_opening_hours_follow_the_local_clock_across_dst(start, expected):
    assert add_business_time(start, timedelta(hours=3), DISTRICT) == expected


def test_a_period_crossing_a_dst_change_counts_the_time_actually_lived():
    # Open 01:00 to 04:00 on the night clocks go forward: two real hours, not three.
    night = Calendar(LOS_ANGELES, {6: ((time(1), time(4)),)})
    sunday = local(2026, 3, 8, 0)
    assert business_time_between(sunday, local(2026, 3, 8, 5), night) == timedelta(hours=2)


@pytest.mark.parametrize(
    "bad",
    [
        lambda: Calendar(LOS_ANGELES, {0: ((time(9), time(8)),)}),
        lambda: Calendar(LOS_ANGELES, {0: ((time(8), time(12)), (time(11), time(13)))}),
        lambda: Calendar(LOS_ANGELES, {7: ((time(8), time(9)),)}),
        lambda: Calendar(LOS_ANGELES, WEEKDAYS_8_TO_1630, closures=((date(2026, 1, 2), date(2026, 1, 1)),)),
    ],
)
def test_an_impossible_calendar_is_refused(bad):
    with pytest.raises(ValueError):
        bad()


def test_a_calendar_that_never_opens_fails_instead_of_looping():
    with pytest.raises(ValueError):
        add_business_time(local(2026, 1, 1), timedelta(hours=1), Calendar(LOS_ANGELES, {}))


def test_naive_starts_and_negative_durations_are_refused():
    with pytest.raises(ValueError):
        add_business_time(datetime(2026, 1, 1, 9), timedelta(hours=1), DISTRICT)
    with pytest.raises(ValueError):
        add_business_time(local(2026, 1, 1), timedelta(hours=-1), DISTRICT)


# --- Properties -----------------------------------------------------------------

ZONES = [
    ZoneInfo(name)
    for name in (
        "America/Los_Angeles",
        "America/New_York",
        "America/Phoenix",
        "Europe/London",
        "Australia/Lord_Howe",
        "UTC",
    )
]


@st.composite
def periods(draw) -> tuple[tuple[time, time], ...]:  # type: ignore[no-untyped-def]
    marks = sorted(draw(st.sets(st.integers(min_value=0, max_value=24 * 4 - 1), min_size=0, max_size=6)))
    if len(marks) % 2:
        marks = marks[:-1]
    quarter = [time(m // 4, (m % 4) * 15) for m in marks]
    return tuple((quarter[i], quarter[i + 1]) for i in range(0, len(quarter), 2))


@st.composite
def calendars(draw) -> Calendar:  # type: ignore[no-untyped-def]
    weekly = {day: draw(periods()) for day in range(7)}
    open_minutes = sum(
        (close.hour * 60 + close.minute) - (opens.hour * 60 + opens.minute)
        for day in weekly.values()
        for opens, close in day
    )
    if open_minutes < 4 * 60:
        # Like any district, open some hours a week: a 120-hour target then fits in the
        # three years the arithmetic looks ahead (a calendar that never opens is tested above).
        weekly[2] = ((time(9), time(17)),)
    closures = []
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        first = draw(st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)))
        closures.append((first, first + timedelta(days=draw(st.integers(min_value=0, max_value=12)))))
    return Calendar(draw(st.sampled_from(ZONES)), weekly, tuple(closures))


instants = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC))
durations = st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(hours=120))


@settings(max_examples=300, deadline=None)
@given(calendars(), instants, durations)
def test_the_due_time_is_never_before_the_start_nor_in_closed_time(calendar, start, duration):
    due = add_business_time(start, duration, calendar)
    assert due > start
    assert is_open_at(due, calendar)


@settings(max_examples=300, deadline=None)
@given(calendars(), instants, durations, durations)
def test_adding_a_then_b_is_adding_a_plus_b(calendar, start, a, b):
    assert add_business_time(add_business_time(start, a, calendar), b, calendar) == add_business_time(
        start, a + b, calendar
    )


@settings(max_examples=300, deadline=None)
@given(calendars(), instants, durations)
def test_the_open_time_between_start_and_due_is_the_duration(calendar, start, duration):
    assert business_time_between(start, add_business_time(start, duration, calendar), calendar) == duration
