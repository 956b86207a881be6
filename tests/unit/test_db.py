"""Times are stored in UTC, timezone-aware, on every database."""

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import StatementError

from portal.db import UTCDateTime, utcnow
from portal.models import User
from tests import factories


def test_utcnow_is_aware_utc():
    now = utcnow()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()], ids=["sqlite", "postgresql"])
def test_a_naive_datetime_is_refused(dialect):
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2026, 11, 27, 12, 0), dialect)


def test_a_naive_datetime_is_refused_when_saved(db):
    user = factories.make_user(db)
    user.last_sign_in_at = datetime(2026, 11, 27, 12, 0)
    with pytest.raises(StatementError, match="naive"):
        db.commit()
    db.rollback()


def test_an_aware_time_in_another_zone_is_stored_as_the_same_instant_in_utc(db):
    user = factories.make_user(db)
    local = datetime(2026, 3, 8, 1, 30, tzinfo=ZoneInfo("America/Los_Angeles"))
    user.last_sign_in_at = local
    db.commit()
    db.expire_all()
    stored = db.scalar(select(User.last_sign_in_at).where(User.id == user.id))
    assert stored == local
    assert stored.tzinfo == UTC
    assert stored == datetime(2026, 3, 8, 9, 30, tzinfo=UTC)


def test_times_read_back_are_aware_utc(db):
    created = datetime(2026, 11, 27, 23, 59, 59, 123456, tzinfo=timezone(timedelta(hours=-8)))
    user = factories.make_user(db, now=created)
    db.expire_all()
    stored = db.get(User, user.id)
    assert stored.created_at == created
    assert stored.created_at.utcoffset() == timedelta(0)
    assert stored.activated_at.tzinfo is not None


def test_none_stays_none(db):
    user = factories.make_user(db, activated=False)
    db.expire_all()
    assert db.get(User, user.id).activated_at is None


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()], ids=["sqlite", "postgresql"])
def test_values_from_the_database_come_back_aware_utc(dialect):
    column = UTCDateTime()
    naive_from_sqlite = column.process_result_value(datetime(2026, 1, 1, 12, 0), dialect)
    offset_from_postgresql = column.process_result_value(
        datetime(2026, 1, 1, 4, 0, tzinfo=timezone(timedelta(hours=-8))), dialect
    )
    assert naive_from_sqlite == offset_from_postgresql == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert naive_from_sqlite.tzinfo == offset_from_postgresql.tzinfo == UTC


def test_sqlite_gets_naive_utc_and_postgresql_gets_aware_utc():
    value = datetime(2026, 1, 1, 4, 0, tzinfo=timezone(timedelta(hours=-8)))
    assert UTCDateTime().process_bind_param(value, sqlite.dialect()) == datetime(2026, 1, 1, 12, 0)
    assert UTCDateTime().process_bind_param(value, postgresql.dialect()) == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_postgresql_sessions_run_in_utc_so_times_pass_through_untouched(db):
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite keeps no zone: its times are put back in UTC on read")
    assert db.scalar(text("SHOW TimeZone")) == "UTC"
    stored = db.scalar(select(text("TIMESTAMPTZ '2026-03-08 01:30:00-08'")))
    assert stored.tzinfo is UTC  # datetime.UTC itself, which UTCDateTime passes on as it is


# Every example overwrites the same user's time: the one database serves them all.
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    moment=st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1)),
    offset_minutes=st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_any_aware_time_comes_back_as_the_same_instant_in_utc(db, moment, offset_minutes):
    aware = moment.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    user = db.scalar(select(User).where(User.email == "times@example.org")) or factories.make_user(
        db, email="times@example.org"
    )
    user.last_sign_in_at = aware
    db.commit()
    db.expire_all()
    stored = db.scalar(select(User.last_sign_in_at).where(User.id == user.id))
    assert stored.tzinfo is UTC
    assert stored == aware  # to the microsecond, on both databases
