"""services.requests.callback_time: the promised call-back time, on the office hours, the
district calendar and the family's own window, as properties and worked examples."""

import contextlib
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.services.requests.business_time import Calendar, add_business_time, is_open_at
from portal.services.requests.callback_time import CallbackWindowError, CallWindow, callback_due

LA = ZoneInfo("America/Los_Angeles")
WEEKDAYS = frozenset(range(5))
OFFICE = Calendar(
    LA,
    {day: ((time(8), time(16, 30)),) for day in range(5)},
    closures=((date(2026, 11, 26), date(2026, 11, 27)), (date(2026, 12, 21), date(2027, 1, 1))),
)


def local(*args: int, zone: ZoneInfo = LA) -> datetime:
    return datetime(*args, tzinfo=zone).astimezone(UTC)


def afternoons(zone: ZoneInfo = LA, days: frozenset[int] = WEEKDAYS) -> CallWindow:
    return CallWindow(days, time(15), time(17), zone)


def in_window(moment: datetime, window: CallWindow) -> bool:
    seen = moment.astimezone(window.time_zone)
    return seen.weekday() in window.weekdays and window.starts <= seen.time().replace(microsecond=0) <= window.ends


# --- Worked examples ------------------------------------------------------------------------------


def test_a_due_time_inside_the_window_is_the_promise():
    start = local(2026, 11, 2, 13, 0)  # Monday 13:00; a 2-hour target is due at 15:00
    assert callback_due(start, timedelta(hours=2), OFFICE, afternoons()) == local(2026, 11, 2, 15, 0)


def test_a_due_time_before_the_window_is_promised_for_the_start_of_the_window():
    start = local(2026, 11, 2, 8, 0)  # due at 10:00, before the family's 15:00
    assert callback_due(start, timedelta(hours=2), OFFICE, afternoons()) == local(2026, 11, 2, 15, 0)


def test_a_due_time_after_the_window_rolls_to_the_next_day():
    start = local(2026, 11, 2, 14, 45)  # offices close at 16:30: a 2-hour target is due Tuesday 08:15
    due = callback_due(start, timedelta(hours=2), OFFICE, afternoons())
    assert due == local(2026, 11, 3, 15, 0)


def test_a_closure_is_skipped_like_a_weekend():
    start = local(2026, 11, 25, 16, 0)  # the Wednesday before Thanksgiving, closed Thursday and Friday
    due = callback_due(start, timedelta(hours=1), OFFICE, afternoons())
    assert due == local(2026, 11, 30, 15, 0)  # Monday's window


def test_a_family_in_another_time_zone_is_called_in_its_own_afternoon():
    new_york = ZoneInfo("America/New_York")
    start = local(2026, 11, 2, 8, 0)
    due = callback_due(start, timedelta(hours=1), OFFICE, afternoons(new_york))
    # New York 15:00-17:00 is 12:00-14:00 in Los Angeles, inside office hours.
    assert due == local(2026, 11, 2, 15, 0, zone=new_york)


def test_the_window_keeps_the_familys_clock_across_a_change_of_daylight_saving_time():
    start = local(2026, 3, 6, 16, 0)  # Friday; the clocks go forward on Sunday 8 March
    due = callback_due(start, timedelta(hours=1), OFFICE, afternoons())
    assert due.astimezone(LA) == datetime(2026, 3, 9, 15, 0, tzinfo=LA)


def test_a_window_when_the_offices_are_never_open_has_no_call_back_time():
    weekends = afternoons(days=frozenset({5, 6}))
    with pytest.raises(CallbackWindowError):
        callback_due(local(2026, 11, 2, 9, 0), timedelta(hours=1), OFFICE, weekends)
    evenings = CallWindow(WEEKDAYS, time(18), time(20), LA)
    with pytest.raises(CallbackWindowError):
        callback_due(local(2026, 11, 2, 9, 0), timedelta(hours=1), OFFICE, evenings)


@pytest.mark.parametrize(
    "weekdays, starts, ends",
    [(frozenset(), time(9), time(10)), (WEEKDAYS, time(10), time(9)), ({7}, time(9), time(10))],
)
def test_a_window_must_be_a_window(weekdays, starts, ends):
    with pytest.raises(ValueError):
        CallWindow(frozenset(weekdays), starts, ends, LA)


# --- Properties ---------------------------------------------------------------------------------------

ZONES = [LA, ZoneInfo("America/New_York"), ZoneInfo("America/Phoenix"), ZoneInfo("Pacific/Honolulu")]
starts = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC))
targets = st.integers(min_value=1, max_value=60 * 40).map(lambda minutes: timedelta(minutes=minutes))


@st.composite
def windows(draw: st.DrawFn) -> CallWindow:
    days = draw(st.frozensets(st.integers(0, 6), min_size=1))
    first = draw(st.integers(0, 22 * 4))
    length = draw(st.integers(1, 8 * 4))
    starts_at = time(first // 4, 15 * (first % 4))
    ends_minutes = min(first * 15 + length * 15, 23 * 60 + 59)
    ends_at = time(ends_minutes // 60, ends_minutes % 60)
    return CallWindow(days, starts_at, ends_at, draw(st.sampled_from(ZONES)))


@settings(max_examples=300, deadline=None)
@given(starts, targets, windows())
def test_the_promise_is_a_time_the_offices_are_open_and_the_family_wants_the_call(start, target, window):
    try:
        due = callback_due(start, target, OFFICE, window)
    except CallbackWindowError:
        # None at or after the written reply's due time, inside the search from `start`: a
        # window may meet the offices only before then (for the last time before a change
        # of daylight saving time moves it out of office hours).
        assert not _ever_meets(window, add_business_time(start, target, OFFICE), until=start + timedelta(days=42))
        return
    assert is_open_at(due, OFFICE)
    assert in_window(due, window)
    assert due >= add_business_time(start, target, OFFICE), "never sooner than a written reply would be due"


def test_a_window_met_only_before_the_written_reply_is_due_has_no_call_back_time():
    """Found by the property above: Monday and Wednesday 00:00-05:15 in Honolulu meets Los
    Angeles' office hours (08:00-08:15) only while Los Angeles keeps summer time. Asked on the
    Tuesday evening before the change, a written reply is due Wednesday 08:16: no later
    time is inside both, and the form says so."""
    window = CallWindow(frozenset({0, 2}), time(0), time(5, 15), ZoneInfo("Pacific/Honolulu"))
    start = datetime(2026, 10, 28, 0, 0, tzinfo=UTC)
    with pytest.raises(CallbackWindowError):
        callback_due(start, timedelta(minutes=16), OFFICE, window)
    assert callback_due(start, timedelta(minutes=10), OFFICE, window) == local(2026, 10, 28, 8, 10)


@settings(max_examples=200, deadline=None)
@given(starts, targets, targets, windows())
def test_a_longer_target_never_promises_sooner(start, shorter, longer, window):
    shorter, longer = sorted((shorter, longer))
    with contextlib.suppress(CallbackWindowError):
        assert callback_due(start, shorter, OFFICE, window) <= callback_due(start, longer, OFFICE, window)


@settings(max_examples=200, deadline=None)
@given(starts, targets)
def test_a_window_around_all_office_hours_promises_what_a_written_reply_would(start, target):
    whole_day = CallWindow(frozenset(range(7)), time(6), time(20), LA)
    assert callback_due(start, target, OFFICE, whole_day) == add_business_time(start, target, OFFICE)


def _ever_meets(window: CallWindow, start: datetime, *, until: datetime) -> bool:
    """Brute force, in the middle of every quarter of an hour from `start` to `until`
    (windows and hours are on that grid): is there a time, not a mere touch, inside both?"""
    moment = start.replace(minute=start.minute // 15 * 15, second=0, microsecond=0) + timedelta(minutes=7)
    while moment < until:
        if moment >= start and is_open_at(moment, OFFICE) and in_window(moment, window):
            return True
        moment += timedelta(minutes=15)
    return False
