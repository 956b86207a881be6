"""Properties of the metrics' arithmetic on random data: the median and the 90th
percentile agree with a direct reading of their definition (in Python, and as the database
ranks them), the previous period is as long as the period and just before it, and
percentages stay within 0-100."""

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table, delete, insert

from portal.services.metrics import Period, queries, stats

seconds = st.lists(st.integers(min_value=0, max_value=10**7), max_size=200)


def direct_percentile(values: list[int], fraction_numerator: int, fraction_denominator: int) -> int | None:
    """The smallest value with at least (numerator / denominator) of all values at or below it."""
    if not values:
        return None
    return min(
        value
        for value in values
        if sum(1 for other in values if other <= value) * fraction_denominator >= fraction_numerator * len(values)
    )


@given(seconds)
def test_median_and_p90_match_their_definition(values):
    ordered = sorted(values)
    assert stats.median(ordered) == direct_percentile(values, 1, 2)
    assert stats.p90(ordered) == direct_percentile(values, 9, 10)


@given(seconds)
def test_median_and_p90_are_values_in_order(values):
    ordered = sorted(values)
    median, p90 = stats.median(ordered), stats.p90(ordered)
    if not values:
        assert median is None and p90 is None
    else:
        assert median in values and p90 in values
        assert min(values) <= median <= p90 <= max(values)


def test_nearest_rank_by_hand():
    assert stats.median([1, 2, 3, 4]) == 2  # the lower middle
    assert stats.median([1, 2, 3]) == 2
    assert stats.p90(list(range(1, 11))) == 9
    assert stats.p90(list(range(1, 12))) == 10  # rank ceil(9.9) = 10
    assert stats.p90([7]) == 7


@given(
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
    length=st.integers(min_value=1, max_value=800),
)
def test_the_previous_period_is_as_long_and_adjacent(start, length):
    period = Period(start, start + timedelta(days=length - 1))
    previous = period.previous()
    assert period.days == length
    assert previous.days == period.days
    assert previous.end + timedelta(days=1) == period.start
    assert previous.start <= previous.end


@given(part=st.integers(min_value=-10, max_value=10**6), whole=st.integers(min_value=-10, max_value=10**6))
def test_percentages_stay_within_0_and_100(part, whole):
    value = stats.percent(part, whole)
    if whole <= 0:
        assert value is None
    else:
        assert value is not None and 0.0 <= value <= 100.0


@given(st.integers(min_value=0, max_value=500), st.integers(min_value=1, max_value=500))
def test_a_share_of_a_whole_is_its_rounded_percentage(part, whole):
    part = min(part, whole)
    assert stats.percent(part, whole) == round(100 * part / whole, 1)


# --- the database ranks as the definition does ------------------------------------------

EXAMPLES = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@EXAMPLES
@given(
    first=st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=60),
    second=st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=60),
)
def test_the_database_ranks_as_the_definition(db, first, second):
    """The queries' median and p90 (window functions in SQL) on random data, in two groups,
    agree with the pure definition."""
    rows = [(0, value, value % 2) for value in first] + [(1, value, value % 2) for value in second]
    table = Table(
        "ranked_values", MetaData(), Column("key", Integer), Column("seconds", Integer), Column("on_time", Integer)
    )
    table.create(db.connection(), checkfirst=True)
    db.execute(delete(table))
    db.execute(insert(table), [{"key": key, "seconds": value, "on_time": ok} for key, value, ok in rows])
    ranked = queries._ranked(db, table.c.key, table.c.seconds, table.c.on_time, [])
    for key, group in ((0, first), (1, second)):
        ordered = sorted(group)
        assert ranked[key].count == len(group)
        assert ranked[key].on_time == sum(value % 2 for value in group)
        assert ranked[key].median == stats.median(ordered)
        assert ranked[key].p90 == stats.p90(ordered)
