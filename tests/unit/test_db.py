"""Times are stored in UTC, timezone-aware, on every database."""

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
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
