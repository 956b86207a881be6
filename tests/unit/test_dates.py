"""Times as families read them: the district's zone, their language, and the same
words however many times a page asks (the formatting is kept per language)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date, format_time, format_timedelta
from flask_babel import force_locale
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.blueprints import dates
from portal.services.calendar import district_calendar
from portal.services.requests.promises import Promise
from tests import factories

# Tuesday 24 November 2026, 18:30 UTC: 10:30 AM in Los Angeles.
MOMENT = datetime(2026, 11, 24, 18, 30, 45, tzinfo=UTC)


@pytest.fixture
def in_request(app):  # type: ignore[no-untyped-def]
    with app.test_request_context("/"):
        yield


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Tuesday, November 24 at 10:30\u202fAM"),
        ("es", "martes, 24 de noviembre a las 10:30"),
    ],
)
def test_when_is_the_day_in_full_and_the_time_in_the_familys_language(in_request, language, expected):
    with force_locale(language):
        assert dates.when(MOMENT) == expected


def test_the_same_moment_reads_differently_after_the_language_changes(in_request):
    with force_locale("en"):
        english = dates.day(MOMENT)
    with force_locale("es"):
        assert dates.day(MOMENT) == "martes, 24 de noviembre"
    assert english == "Tuesday, November 24"


def test_a_time_today_shows_only_the_time_and_another_day_the_day_too(in_request):
    with force_locale("en"):
        assert dates.when_from(MOMENT, MOMENT + timedelta(hours=3)) == "10:30\u202fAM"
        # 9 PM in Los Angeles is already the next day in UTC: still today for the district.
        assert dates.when_from(MOMENT, MOMENT + timedelta(hours=10)) == "10:30\u202fAM"
        assert dates.when_from(MOMENT, MOMENT + timedelta(hours=14)) == "Tuesday, November 24 at 10:30\u202fAM"


def test_a_moment_without_a_zone_is_utc_as_the_database_stores_it(in_request):
    with force_locale("en"):
        assert dates.when(MOMENT.replace(tzinfo=None)) == dates.when(MOMENT)


def test_times_follow_the_districts_zone_and_its_daylight_saving(app, db):
    district_calendar.set_time_zone(
        db, factories.make_admin(db), "Europe/Madrid", configured="America/Los_Angeles", now=MOMENT
    )
    db.commit()
    with app.test_request_context("/"), force_locale("en"):
        assert dates.when(MOMENT) == "Tuesday, November 24 at 7:30\u202fPM"
        assert dates.when(datetime(2026, 7, 1, 18, 30, tzinfo=UTC)) == "Wednesday, July 1 at 8:30\u202fPM"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moment=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)))
def test_the_kept_formatting_says_what_babel_says_each_time(app, moment):
    zone = ZoneInfo("America/Los_Angeles")
    with app.test_request_context("/"), force_locale("es"):
        expected = "{} a las {}".format(
            format_date(moment.astimezone(zone), "EEEE, d 'de' MMMM", locale="es"),
            format_time(moment, "short", tzinfo=zone, locale="es"),
        )
        assert dates.when(moment) == expected


# Around every boundary the unit and its rounding change at: 90 seconds, 1.5 hours, 36
# hours, 10.5 days, 45 days, 547.5 days, and the half units rounding goes up or down at.
BOUNDARIES = [0, 29.5, 30, 59.9, 60, 89.5, 90, 5369, 5370, 5399.9, 5400, 129_600, 907_200, 3_888_000, 47_304_000]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seconds=st.one_of(
        st.floats(min_value=-4e8, max_value=4e8, allow_nan=False),
        st.sampled_from(BOUNDARIES),
        st.sampled_from(BOUNDARIES).flatmap(lambda at: st.floats(at - 1, at + 1)),
    ),
    language=st.sampled_from(["en", "es"]),
)
def test_the_kept_time_left_says_what_babel_says_each_time(app, seconds, language):
    """time_left chooses the unit and the number as Babel's format_timedelta does, to the
    microsecond, in the past and the future alike."""
    left = timedelta(seconds=seconds)
    with app.test_request_context("/"), force_locale(language):
        expected = format_timedelta(left, granularity="minute", threshold=dates.TIME_LEFT_THRESHOLD, locale=language)
        assert dates.time_left(MOMENT + left, MOMENT) == expected


@pytest.mark.parametrize(
    ("kind", "language", "expected"),
    [
        ("reply", "en", '<span class="badge">Reply due in 3 hours</span>'),
        ("callback", "en", '<span class="badge">Call due in 3 hours</span>'),
        ("resolution", "en", '<span class="badge">Resolution due in 3 hours</span>'),
        ("reply", "es", '<span class="badge">Respuesta en 3 horas</span>'),
    ],
)
def test_the_due_badge_names_the_promise_and_the_time_left(in_request, kind, language, expected):
    with force_locale(language):
        badge = dates.due_badge(Promise(kind, MOMENT + timedelta(hours=3)), MOMENT)
    assert str(badge) == expected


def test_an_overdue_badge_says_since_when_and_no_promise_shows_nothing(in_request):
    with force_locale("en"):
        overdue = dates.due_badge(Promise("reply", MOMENT - timedelta(hours=1)), MOMENT)
        assert str(overdue) == '<span class="badge badge--overdue">Overdue since 9:30\u202fAM</span>'
        assert dates.due_badge(None, MOMENT) == ""
