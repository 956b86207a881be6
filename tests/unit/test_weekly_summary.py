"""The Monday metrics summary: when it is due on the district's clock, who gets it, and
that it is queued once however many workers look."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal import mail
from portal.models import Notification, Role, WeeklySummaryRun
from portal.services.calendar import district_calendar
from portal.services.metrics import Period, dashboard, metrics_scope_for, weekly
from tests import factories

ZONE = ZoneInfo("America/Los_Angeles")


def at(local: str) -> datetime:
    """A district wall-clock time as the UTC instant the worker sees."""
    return datetime.fromisoformat(local).replace(tzinfo=ZONE).astimezone(UTC)


def test_this_weeks_summary_is_due_from_monday_seven_district_time() -> None:
    # Monday 2026-12-07.
    assert weekly.latest_due_monday(at("2026-12-07T06:59"), ZONE) == date(2026, 11, 30)
    assert weekly.latest_due_monday(at("2026-12-07T07:00"), ZONE) == date(2026, 12, 7)
    assert weekly.latest_due_monday(at("2026-12-13T23:59"), ZONE) == date(2026, 12, 7)
    # 07:00 in Los Angeles is 15:00 UTC: at 08:00 UTC on Monday it is still Sunday night there.
    assert weekly.latest_due_monday(datetime(2026, 12, 7, 8, 0, tzinfo=UTC), ZONE) == date(2026, 11, 30)


def test_the_monday_after_a_clock_change_is_due_at_seven_local_time() -> None:
    # Clocks went back on Sunday 2026-11-01; Monday 07:00 PST is 15:00 UTC.
    assert weekly.latest_due_monday(datetime(2026, 11, 2, 14, 59, tzinfo=UTC), ZONE) == date(2026, 10, 26)
    assert weekly.latest_due_monday(datetime(2026, 11, 2, 15, 0, tzinfo=UTC), ZONE) == date(2026, 11, 2)


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)))
def test_the_due_monday_is_a_monday_within_the_last_week(now: datetime) -> None:
    monday = weekly.latest_due_monday(now, ZONE)
    local = now.astimezone(ZONE)
    assert monday.weekday() == 0
    assert timedelta(0) <= local.date() - monday < timedelta(days=8)
    reported = weekly.week_reported(monday)
    assert (reported.start.weekday(), reported.end.weekday()) == (0, 6)
    assert reported.end + timedelta(days=1) == monday


def summary_count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Notification).where(Notification.template == "weekly_summary"))


def test_only_those_who_asked_and_may_see_metrics_get_it_once(db: Session) -> None:
    db.info[district_calendar.CONFIGURED_TIME_ZONE] = "America/Los_Angeles"
    transport = factories.make_department(db, "Transportation")
    lead = factories.make_staff(db, language="es")
    factories.join(db, lead, transport, supervisor=True)
    admin = factories.make_admin(db)
    not_asked = factories.make_admin(db)
    plain_staff = factories.make_staff(db)
    factories.join(db, plain_staff, transport)
    family = factories.make_user(db, role=Role.FAMILY)
    for person in (lead, admin, plain_staff, family):
        person.weekly_summary_email = True
    db.commit()
    now = at("2026-12-07T09:30")

    assert weekly.queue_weekly_summaries(db, now=now) == 2
    db.commit()
    queued = list(db.scalars(select(Notification).where(Notification.template == "weekly_summary")))
    assert {n.recipient_id for n in queued} == {lead.id, admin.id}
    assert not_asked.id not in {n.recipient_id for n in queued}
    by_recipient = {n.recipient_id: n for n in queued}
    assert by_recipient[lead.id].language == "es"
    assert by_recipient[lead.id].payload["departments"] == ["Transportation"]
    assert by_recipient[admin.id].payload["departments"] == []
    assert by_recipient[lead.id].payload["period_start"] == "2026-11-30"
    assert by_recipient[lead.id].payload["period_end"] == "2026-12-06"

    # Later the same week, or from a second worker: nothing more.
    assert weekly.queue_weekly_summaries(db, now=now + timedelta(hours=5)) == 0
    db.commit()
    assert summary_count(db) == 2
    assert db.scalar(select(WeeklySummaryRun.recipients)) == 2
    # The next Monday: the next week's.
    assert weekly.queue_weekly_summaries(db, now=now + timedelta(days=7)) == 2


def test_the_payload_holds_the_dashboards_figures(db: Session) -> None:
    admin = factories.make_admin(db)
    admin.weekly_summary_email = True
    db.commit()
    now = datetime(2026, 12, 8, 18, 0, tzinfo=UTC)
    weekly.queue_weekly_summaries(db, now=now)
    db.commit()
    payload = db.scalars(select(Notification.payload)).one()
    scope = metrics_scope_for(db, admin)
    assert scope is not None
    figures = dashboard(db, scope, Period(date(2026, 11, 30), date(2026, 12, 6)), now=now)
    assert payload == weekly.payload_of(figures, department_names=[])


def test_a_lead_who_no_longer_leads_is_skipped(db: Session) -> None:
    lead = factories.make_staff(db)
    lead.weekly_summary_email = True
    db.commit()
    assert weekly.queue_weekly_summaries(db, now=datetime(2026, 12, 8, 18, 0, tzinfo=UTC)) == 0


def test_only_who_may_see_metrics_can_ask_for_the_summary(db: Session) -> None:
    department = factories.make_department(db)
    lead = factories.make_staff(db)
    factories.join(db, lead, department, supervisor=True)
    plain = factories.make_staff(db)
    assert weekly.set_subscription(db, lead, True) is True
    assert weekly.set_subscription(db, lead, True) is False
    assert weekly.set_subscription(db, plain, True) is False
    assert plain.weekly_summary_email is False
    assert weekly.set_subscription(db, lead, False) is True


def test_the_email_shows_the_figures_in_the_readers_language_with_a_link_to_the_page(app, db: Session) -> None:
    lead = factories.make_staff(db, language="es")
    department = factories.make_department(db, "Transportation")
    department.translations = {"es": {"name": "Transporte"}}
    factories.join(db, lead, department, supervisor=True)
    lead.weekly_summary_email = True
    db.commit()
    weekly.queue_weekly_summaries(db, now=datetime(2026, 12, 8, 18, 0, tzinfo=UTC))
    db.commit()
    notification = db.scalars(select(Notification)).one()
    notification.payload = {
        **notification.payload,
        "received": 41,
        "first_reply_median_seconds": 3 * 3600,
        "first_reply_on_time_percent": 87.5,
        "satisfaction_mean": 4.25,
        "satisfaction_responses": 12,
    }

    message = mail.render_email(app, notification)

    text = message.get_body(("plain",)).get_content()
    assert "41" in text
    assert "88" in text and "%" in text  # 87.5 % rounded, written the Spanish way
    assert "4,2" in text or "4,3" in text  # a decimal comma
    assert "Transporte" in text
    assert "/staff/metrics/?" in text and "period=custom" in text and "start=2026-11-30" in text
    assert "lang=es" in text
    html = message.get_body(("html",)).get_content()
    assert "<table" in html and 'scope="row"' in html
