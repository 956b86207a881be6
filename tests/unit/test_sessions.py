"""Server-side sessions: idle and absolute expiry, ending one or all, only hashes stored."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select, update

from portal.db import CONFIGURED_TIME_ZONE
from portal.models import ContactPreference, DistrictSetting, UserSession
from portal.services.accounts import sessions
from portal.services.calendar import district_calendar
from portal.services.households import contacts
from tests import factories

NOW = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)
LIFETIMES = sessions.Lifetimes(
    family_idle=timedelta(hours=4),
    family_max=timedelta(days=14),
    staff_idle=timedelta(minutes=30),
    staff_max=timedelta(hours=12),
)


def start(db, user, *, now=NOW):
    token = sessions.start_session(db, user, LIFETIMES, now=now, user_agent="Firefox", ip_address="203.0.113.9")
    db.commit()
    return token


def load(db, token, *, at):
    user = sessions.load_session_user(db, token, LIFETIMES, now=at)
    db.commit()
    return user


def session_count(db):
    return db.scalar(select(func.count()).select_from(UserSession))


def test_a_session_token_finds_its_user_and_only_its_hash_is_stored(db):
    user = factories.make_user(db)
    token = start(db, user)
    row = db.scalar(select(UserSession))
    assert token not in (row.token_hash, row.user_agent, row.ip_address)
    assert row.token_hash == sessions.hash_token(token)
    assert (row.user_agent, row.ip_address, row.expires_at) == ("Firefox", "203.0.113.9", NOW + timedelta(days=14))
    found = load(db, token, at=NOW + timedelta(minutes=1))
    assert found.id == user.id
    assert found.get_id() == token


def test_every_session_gets_a_different_token(db):
    user = factories.make_user(db)
    assert len({start(db, user) for _ in range(5)}) == 5


def test_an_unknown_or_oversized_token_finds_nobody(db):
    start(db, factories.make_user(db))
    for token in ["", "unknown-token", "x" * 101]:
        assert load(db, token, at=NOW) is None


@pytest.mark.parametrize(
    ("make", "idle"), [(factories.make_user, timedelta(hours=4)), (factories.make_staff, timedelta(minutes=30))]
)
def test_a_session_idle_too_long_ends(db, make, idle):
    user = make(db)
    token = start(db, user)
    assert load(db, token, at=NOW + idle - timedelta(seconds=1)) is not None
    assert load(db, start(db, user), at=NOW + idle) is None


def test_staff_sessions_idle_out_sooner_than_family_sessions(db):
    family_token, staff_token = start(db, factories.make_user(db)), start(db, factories.make_staff(db))
    an_hour_later = NOW + timedelta(hours=1)
    assert load(db, family_token, at=an_hour_later) is not None
    assert load(db, staff_token, at=an_hour_later) is None


def test_use_keeps_a_session_alive_until_its_absolute_limit(db):
    user = factories.make_staff(db)
    token = start(db, user)
    moment = NOW
    while moment + timedelta(minutes=20) < NOW + timedelta(hours=12):
        moment += timedelta(minutes=20)
        assert load(db, token, at=moment) is not None, moment
    assert load(db, token, at=NOW + timedelta(hours=12)) is None


def test_an_ended_or_expired_session_row_is_deleted(db):
    token = start(db, factories.make_user(db))
    assert load(db, token, at=NOW + timedelta(days=15)) is None
    assert session_count(db) == 0


def test_last_seen_is_written_at_most_once_a_minute(db):
    token = start(db, factories.make_user(db))
    load(db, token, at=NOW + timedelta(seconds=30))
    assert db.scalar(select(UserSession.last_seen_at)) == NOW
    load(db, token, at=NOW + timedelta(seconds=90))
    assert db.scalar(select(UserSession.last_seen_at)) == NOW + timedelta(seconds=90)


def test_a_deactivated_users_sessions_end(db):
    user = factories.make_user(db)
    token = start(db, user)
    user.is_active = False
    db.commit()
    assert load(db, token, at=NOW) is None


def test_end_session_ends_only_that_session(db):
    user = factories.make_user(db)
    first, second = start(db, user), start(db, user)
    sessions.end_session(db, first)
    db.commit()
    assert load(db, first, at=NOW) is None
    assert load(db, second, at=NOW) is not None


def test_end_all_sessions_spares_only_the_named_one_and_other_users(db):
    user, other = factories.make_user(db), factories.make_user(db)
    kept, ended_one, ended_two = start(db, user), start(db, user), start(db, user)
    others = start(db, other)
    sessions.end_all_sessions(db, user, except_token=kept)
    db.commit()
    assert [load(db, t, at=NOW) is not None for t in (kept, ended_one, ended_two, others)] == [True, False, False, True]
    sessions.end_all_sessions(db, user)
    db.commit()
    assert load(db, kept, at=NOW) is None


# The district's time zone comes with the signed-in session: no statement of its own ---------


def statements_while(db, run):  # type: ignore[no-untyped-def]
    sent = []

    def record(*_args):  # type: ignore[no-untyped-def]
        sent.append(1)

    connection = db.connection()
    event.listen(connection, "before_cursor_execute", record)
    try:
        result = run()
    finally:
        event.remove(connection, "before_cursor_execute", record)
    return result, len(sent)


@pytest.mark.parametrize(
    ("saved", "expected"),
    [(None, "America/Chicago"), ("Europe/Madrid", "Europe/Madrid"), ("Not/AZone", "America/Chicago")],
)
def test_the_session_brings_the_districts_time_zone_along(db, saved, expected):
    db.info[CONFIGURED_TIME_ZONE] = "America/Chicago"
    if saved:
        db.add(DistrictSetting(time_zone=saved))
    token = start(db, factories.make_user(db))
    district_calendar.forget(db)
    _user, sent = statements_while(db, lambda: sessions.load_session_user(db, token, LIFETIMES, now=NOW))
    zone, sent_after = statements_while(db, lambda: district_calendar.current_time_zone(db))
    assert (sent, zone, sent_after) == (1, expected, 0)
    # What the session read is what a separate read finds.
    assert district_calendar.time_zone(db, "America/Chicago") == expected


def test_a_time_zone_changed_after_the_session_was_read_is_the_one_used(db):
    admin = factories.make_admin(db)
    token = start(db, admin)
    sessions.load_session_user(db, token, LIFETIMES, now=NOW)
    district_calendar.set_time_zone(db, admin, "Pacific/Auckland", configured="UTC", now=NOW)
    assert district_calendar.current_time_zone(db) == "Pacific/Auckland"
    db.rollback()  # the change undone: read again
    assert district_calendar.current_time_zone(db) == district_calendar.time_zone(db, db.info[CONFIGURED_TIME_ZONE])
    assert district_calendar.current_time_zone(db) != "Pacific/Auckland"


def test_a_calendar_read_in_another_zone_is_read_again_when_the_session_brings_a_new_one(db):
    db.info[CONFIGURED_TIME_ZONE] = "America/Chicago"
    token = start(db, factories.make_user(db))
    district_calendar.forget(db)
    assert district_calendar.current(db).time_zone.key == "America/Chicago"
    db.add(DistrictSetting(time_zone="Europe/Madrid"))
    db.flush()
    sessions.load_session_user(db, token, LIFETIMES, now=NOW)
    assert district_calendar.current(db).time_zone.key == "Europe/Madrid"
    # The same zone again: the calendar already read is kept.
    calendar = district_calendar.current(db)
    sessions.load_session_user(db, token, LIFETIMES, now=NOW)
    assert district_calendar.current(db) is calendar


# The family's call-back number and language come with the session too ------------------------


def test_the_session_brings_the_familys_call_back_number_along_until_the_session_writes(db):
    guardian = factories.guardians_of(db, factories.make_household(db))[0]
    preference = contacts.start_preferences(db, guardian, mobile_phone="+13235550100")
    preference.voice_phone, preference.interpreter_language = "+13235550188", "Spanish"
    other = factories.guardians_of(db, factories.make_household(db))[0]
    token = start(db, guardian)
    user = sessions.load_session_user(db, token, LIFETIMES, now=NOW)
    details, sent = statements_while(db, lambda: contacts.call_details(db, user))
    assert (details, sent) == (("+13235550188", "Spanish"), 0)
    # Another user's are theirs (the account's phone: no preferences saved), read apart.
    assert statements_while(db, lambda: contacts.call_details(db, other)) == ((other.phone or "", ""), 1)

    preference.voice_phone = None  # pending: read from the database, which it reaches first
    assert contacts.call_details(db, user) == ("+13235550100", "Spanish")
    db.execute(update(ContactPreference).values(interpreter_language="Tagalog"))  # a bulk write
    assert contacts.call_details(db, user) == ("+13235550100", "Tagalog")


def test_a_family_without_saved_preferences_is_offered_the_accounts_phone(db):
    guardian = factories.guardians_of(db, factories.make_household(db))[0]
    guardian.phone = "+13235550111"
    token = start(db, guardian)
    user = sessions.load_session_user(db, token, LIFETIMES, now=NOW)
    assert statements_while(db, lambda: contacts.call_details(db, user)) == (("+13235550111", ""), 0)
