"""Email end to end: an action queues a message, `flask deliver-notifications` sends it
to a real SMTP server (tests.mailserver), and the links in it work.

No app context is held open across requests and commands here (the `db` fixture
would hold one, and then every request and the command would share its session).
Each step gets its own session, as in production, so a test cannot pass because
the worker saw something the web request had not committed.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

import portal
import portal.mail
from portal.db import get_session, utcnow
from portal.models import ContactPreference, Household, Notification, NotificationStatus, SafetyAlert, User
from portal.services import accounts, households, notifications, requests
from portal.services.errors import InvalidInput
from portal.services.requests.intake import NewRequest
from portal.services.safety import alerts
from tests import factories
from tests.conftest import csrf_token_from
from tests.mailserver import URL_PATTERN, mail_server  # noqa: F401 (a fixture)

BASE_URL = "https://portal.district.example"
MAX_ATTEMPTS = 3
NEW_PASSWORD = "purple elephants juggle quietly"
SUMMARY = re.compile(r"Sent (?P<sent>\d+), failed (?P<failed>\d+)\b[^\n]*\n")
SPANISH_CATALOG = Path(portal.__file__).parent / "translations" / "es" / "LC_MESSAGES" / "messages.mo"


@pytest.fixture
def app_config(request: pytest.FixtureRequest, mail_server) -> dict[str, object]:  # noqa: F811
    """Send to the test SMTP server. Parametrize `app_config` indirectly to add settings."""
    return {
        **mail_server.config(),
        "BASE_URL": BASE_URL,
        "NOTIFICATION_MAX_ATTEMPTS": MAX_ATTEMPTS,
        **getattr(request, "param", {}),
    }


@contextmanager
def database(app: Flask) -> Iterator[Session]:
    with app.app_context():
        yield get_session()


def deliver(runner) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Run `flask deliver-notifications` once; (sent, failed) from its one-line summary."""
    result = runner.invoke(args=["deliver-notifications"])
    assert result.exception is None, repr(result.exception)
    assert result.exit_code == 0
    match = SUMMARY.fullmatch(result.output)
    assert match, f"not a one-line summary: {result.output!r}"
    return int(match["sent"]), int(match["failed"])


def outbox(app: Flask) -> list[Notification]:
    with database(app) as db:
        return list(db.scalars(select(Notification).order_by(Notification.id)))


def make_due(app: Flask) -> None:
    """Move every retry time into the past, as if the backoff had been waited out."""
    with database(app) as db:
        db.execute(update(Notification).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.commit()


def invitation_settings(app: Flask) -> households.InvitationSettings:
    return households.InvitationSettings(valid_days=21, secret_key=app.config["SECRET_KEY"])


def create_household(app: Flask, *guardians: households.GuardianDetails) -> None:
    """Staff create a household through the service, as the staff form does, and commit."""
    with database(app) as db:
        staff = factories.make_staff(db)
        households.create_household(
            db,
            staff,
            "Rivera family",
            list(guardians),
            [households.StudentDetails("Ana", "Rivera", grade="3")],
            invitation_settings(app),
            now=utcnow(),
        )
        db.commit()


def queue_password_reset(app: Flask, email: str) -> None:
    with database(app) as db:
        accounts.request_password_reset(
            db, email, now=utcnow(), valid_seconds=app.config["PASSWORD_RESET_VALID_SECONDS"]
        )
        db.commit()


def make_guardian(app: Flask, **kwargs: object) -> User:
    with database(app) as db:
        return factories.make_user(db, **kwargs)  # type: ignore[arg-type]


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def assert_links_use_base_url(mail) -> None:  # type: ignore[no-untyped-def]
    assert mail.links, "the email has no links"
    for link in mail.links:
        assert link.startswith(BASE_URL + "/"), link


# The invitation ----------------------------------------------------------------


def test_invitation_email_link_opens_the_set_password_page_once(app, runner, mail_server, browser):  # noqa: F811
    create_household(app, households.GuardianDetails("Rosa Rivera", "Rosa.Rivera@Example.org"))

    assert deliver(runner) == (1, 0)

    [mail] = mail_server.messages
    assert mail.rcpt_tos == ["rosa.rivera@example.org"]
    assert "invites you to its family portal" in mail.text
    assert_links_use_base_url(mail)
    [link] = set(mail.links)  # the same link in the text and the HTML part
    assert urlsplit(link).path.startswith("/invitation/")

    page = browser.get(path_of(link))
    assert page.status_code == 200
    assert "Choose a password for your account rosa.rivera@example.org" in page.get_data(as_text=True)
    accepted = browser.submit(path_of(link), {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert accepted.status_code == 302
    assert browser.get(path_of(link)).status_code == 410

    [notification] = outbox(app)
    assert notification.status == NotificationStatus.SENT
    assert notification.attempts == 1
    assert "token" not in notification.payload  # the link is gone once delivered


# Password reset and change ------------------------------------------------------


def test_reset_email_link_works_once_and_the_change_is_confirmed_by_email(app, runner, mail_server, browser):  # noqa: F811
    guardian = make_guardian(app, email="dad@example.org")
    asked = browser.submit("/forgot-password", {"email": "dad@example.org"})
    assert asked.status_code == 302

    assert deliver(runner) == (1, 0)
    [reset_mail] = mail_server.messages
    assert reset_mail.rcpt_tos == [guardian.email]
    assert_links_use_base_url(reset_mail)
    [link] = set(reset_mail.links)
    assert urlsplit(link).path.startswith("/reset-password/")

    assert browser.get(path_of(link)).status_code == 200
    changed = browser.submit(path_of(link), {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert changed.status_code == 302
    assert browser.get(path_of(link)).status_code == 410
    again = {"password": "another fine passphrase", "confirm": "another fine passphrase"}
    assert browser.submit(path_of(link), again, page="/forgot-password").status_code == 410

    assert deliver(runner) == (1, 0)
    confirmation = mail_server.messages[1]
    assert confirmation.subject == "Your family portal password was changed"
    # text, then href and text in HTML; in the email's language
    assert confirmation.links == [f"{BASE_URL}/forgot-password?lang=en"] * 3


def test_password_change_sends_a_confirmation_email(app, runner, mail_server, sign_in):  # noqa: F811
    guardian = make_guardian(app)
    browser = sign_in(guardian)
    changed = browser.submit(
        "/password",
        {"current_password": factories.PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert changed.status_code == 302

    assert deliver(runner) == (1, 0)
    [mail] = mail_server.messages
    assert mail.rcpt_tos == [guardian.email]
    assert mail.subject == "Your family portal password was changed"
    assert_links_use_base_url(mail)


@pytest.mark.parametrize("app_config", [{}, {"PROXY_COUNT": 1}], indirect=True, ids=["direct", "behind-proxy"])
def test_links_come_from_base_url_never_from_the_request_host(app, runner, mail_server):  # noqa: F811
    make_guardian(app, email="mom@example.org")
    client = app.test_client()
    hostile = {"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"}
    page = client.get("/forgot-password", headers=hostile)
    token = csrf_token_from(page.get_data(as_text=True))
    asked = client.post("/forgot-password", data={"csrf_token": token, "email": "mom@example.org"}, headers=hostile)
    assert asked.status_code == 302

    assert deliver(runner) == (1, 0)
    [mail] = mail_server.messages
    assert_links_use_base_url(mail)
    assert "evil.example" not in mail.message.as_string()


# The message itself -------------------------------------------------------------------


def test_email_has_a_text_and_an_html_part_in_the_recipients_language(app, runner, mail_server):  # noqa: F811
    create_household(app, households.GuardianDetails("Lucía Pérez", "lucia@example.org", language="es"))
    deliver(runner)

    [mail] = mail_server.messages
    message = mail.message
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["To"] == "lucia@example.org"
    assert message["From"] == app.config["MAIL_FROM"]
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"]
    assert '<html lang="es">' in mail.html
    assert app.config["DISTRICT_NAME"] in mail.subject
    [link] = set(mail.links)
    assert link in mail.text
    assert f'href="{link}"' in mail.html
    [notification] = outbox(app)
    assert notification.language == "es"


@pytest.mark.xfail(not SPANISH_CATALOG.exists(), reason="Spanish catalog not yet compiled", strict=False)
def test_a_spanish_speaking_guardian_gets_the_email_in_spanish(app, runner, mail_server):  # noqa: F811
    create_household(app, households.GuardianDetails("Lucía Pérez", "lucia@example.org", language="es"))
    deliver(runner)

    [mail] = mail_server.messages
    english = f"Your invitation to the {app.config['DISTRICT_NAME']} family portal"
    assert mail.subject != english
    assert "invites you to its family portal" not in mail.text


# The outbox: same transaction, retries, giving up ---------------------------------------


def test_a_rolled_back_change_leaves_no_notification(app, runner, mail_server):  # noqa: F811
    make_guardian(app, email="taken@example.org")
    with database(app) as db:
        staff = factories.make_staff(db)
        guardians = [
            households.GuardianDetails("First Guardian", "first@example.org"),  # invited, then...
            households.GuardianDetails("Second Guardian", "taken@example.org"),  # ...refused
        ]
        with pytest.raises(InvalidInput):
            households.create_household(db, staff, "Half family", guardians, [], invitation_settings(app), now=utcnow())
        assert db.scalars(select(Notification)).all(), "the first invitation was written before the error"
        db.rollback()  # as the staff view does

    assert outbox(app) == []
    with database(app) as db:
        assert db.scalars(select(Household)).all() == []
    assert deliver(runner) == (0, 0)
    assert mail_server.messages == []


def test_a_refused_message_is_retried_after_the_backoff_and_delivered_once(app, runner, mail_server):  # noqa: F811
    guardian = make_guardian(app)
    queue_password_reset(app, guardian.email)
    mail_server.refuse_next(1)

    before = utcnow()
    assert deliver(runner) == (0, 1)
    [notification] = outbox(app)
    assert notification.status == NotificationStatus.PENDING
    assert notification.attempts == 1
    assert "451" in notification.last_error
    retry_base = timedelta(seconds=app.config["NOTIFICATION_RETRY_BASE_SECONDS"])
    assert before + retry_base <= notification.next_attempt_at <= utcnow() + retry_base
    assert mail_server.messages == []

    assert deliver(runner) == (0, 0)  # not due yet: nothing is tried
    assert mail_server.handler.refused == 1

    make_due(app)
    assert deliver(runner) == (1, 0)
    [notification] = outbox(app)
    assert notification.status == NotificationStatus.SENT
    assert notification.attempts == 2
    assert notification.last_error == ""
    assert notification.payload == {}

    make_due(app)
    assert deliver(runner) == (0, 0)
    assert [mail.rcpt_tos for mail in mail_server.messages] == [[guardian.email]]


def test_after_the_last_allowed_attempt_the_notification_is_failed_and_left_alone(app, runner, mail_server):  # noqa: F811
    guardian = make_guardian(app)
    queue_password_reset(app, guardian.email)
    mail_server.refuse_next(100)

    for attempt in range(1, MAX_ATTEMPTS + 1):
        make_due(app)
        assert deliver(runner) == (0, 1)
        [notification] = outbox(app)
        assert notification.attempts == attempt
    assert notification.status == NotificationStatus.FAILED

    make_due(app)
    assert deliver(runner) == (0, 0)
    assert mail_server.handler.refused == MAX_ATTEMPTS
    [notification] = outbox(app)
    assert (notification.status, notification.attempts) == (NotificationStatus.FAILED, MAX_ATTEMPTS)


@pytest.mark.parametrize("outage", ["stopped", "421"])
def test_an_unavailable_mail_server_stops_the_run_and_costs_no_attempt(app, runner, mail_server, outage):  # noqa: F811
    """Nothing listening, or 421 (closing): no message could go out, so none is charged an
    attempt (an outage must not use up a message's attempts and lose it) and the run stops."""
    first, second = make_guardian(app), make_guardian(app)
    queue_password_reset(app, first.email)
    queue_password_reset(app, second.email)
    if outage == "stopped":
        mail_server.stop()
    else:
        mail_server.refuse_next(1, "421 4.3.2 Service not available, closing channel")

    result = runner.invoke(args=["deliver-notifications"])
    assert result.exit_code == 1
    assert result.output.startswith("Sent 0, failed 0")
    assert "mail server unavailable" in result.output
    for notification in outbox(app):
        assert (notification.status, notification.attempts, notification.last_error) == (
            NotificationStatus.PENDING,
            0,
            "",
        )
        assert "token" in notification.payload  # kept until the message is really sent

    if outage == "stopped":
        mail_server.start()  # same port
    assert deliver(runner) == (2, 0)  # at once: nothing was put off
    assert sorted(mail.rcpt_tos[0] for mail in mail_server.messages) == sorted([first.email, second.email])
    assert [(n.status, n.attempts) for n in outbox(app)] == [(NotificationStatus.SENT, 1)] * 2


def test_a_message_has_the_same_message_id_on_every_attempt(app, runner, mail_server):  # noqa: F811
    """Derived from the notification row: a copy sent again after a crash can be dropped."""
    queue_password_reset(app, make_guardian(app).email)
    queue_password_reset(app, make_guardian(app).email)
    [first, second] = outbox(app)
    with app.app_context():
        ids = [portal.mail.render_email(app, first)["Message-ID"] for _ in range(2)]
        other = portal.mail.render_email(app, second)["Message-ID"]
    assert ids[0] == ids[1] != other
    assert re.fullmatch(rf"<notification-{first.id}\.\d+@portal\.invalid>", ids[0])  # MAIL_FROM's domain

    assert deliver(runner) == (2, 0)
    assert {mail.message["Message-ID"] for mail in mail_server.messages} == {ids[0], other}


# The command -------------------------------------------------------------------------------


def test_deliver_notifications_prints_a_one_line_summary_and_exits_0(app, runner, mail_server):  # noqa: F811
    assert deliver(runner) == (0, 0)
    for _ in range(3):
        queue_password_reset(app, make_guardian(app).email)
    mail_server.refuse_next(1)

    result = runner.invoke(args=["deliver-notifications"])
    assert result.exit_code == 0
    [line] = result.output.splitlines()
    assert line.startswith("Sent 2, failed 1")
    assert len(mail_server.messages) == 2


def test_a_message_that_cannot_be_rendered_does_not_block_the_others(app, runner, mail_server):  # noqa: F811
    guardian = make_guardian(app)
    with database(app) as db:
        # Queued by an older release, whose template has since been removed.
        notifications.enqueue_email(db, guardian, "retired_template", {}, now=utcnow() - timedelta(minutes=5))
        db.commit()
    queue_password_reset(app, guardian.email)

    assert deliver(runner) == (1, 1)
    assert len(mail_server.messages) == 1
    broken, reset = outbox(app)
    assert (broken.status, broken.attempts) == (NotificationStatus.PENDING, 1)
    assert broken.last_error
    assert reset.status == NotificationStatus.SENT


@pytest.mark.parametrize("app_config", [{"SMTP_HOST": None}], indirect=True)
def test_without_an_smtp_host_the_message_goes_to_the_log_and_is_sent(app, runner, mail_server, caplog):  # noqa: F811
    guardian = make_guardian(app, email="logged@example.org")
    queue_password_reset(app, guardian.email)

    with caplog.at_level("WARNING", logger="portal.mail"):
        assert deliver(runner) == (1, 0)

    [record] = [r for r in caplog.records if r.name == "portal.mail"]
    logged = record.getMessage()
    assert "logged@example.org" in logged
    assert "Choose a new password for the" in logged
    assert f"{BASE_URL}/reset-password/" in logged
    assert mail_server.messages == []
    [notification] = outbox(app)
    assert (notification.status, notification.attempts) == (NotificationStatus.SENT, 1)


def test_a_safety_alert_is_delivered_at_once_whatever_the_quiet_hours_and_sent_again_to_the_next(
    app,
    db,
    runner,
    mail_server,  # noqa: F811
):
    first, second = factories.make_staff(db, name="First On Call"), factories.make_staff(db, name="Second On Call")
    admin = factories.make_admin(db)
    for member in (first, second):
        alerts.add_to_team(db, admin, member.id, now=utcnow())
        # Quiet hours all day long: they hold back what families are sent, never a safety alert.
        db.add(ContactPreference(user_id=member.id, quiet_start="00:00", quiet_end="23:59"))
    department = factories.make_department(db, "Counseling")
    guardian = factories.guardians_of(db, factories.make_household(db))[0]
    requests.submit_request(db, guardian, NewRequest(department.id, "Help", "He talks about suicide."), now=utcnow())
    db.commit()

    assert deliver(runner) == (1, 0)
    [told] = mail_server.messages
    assert told.rcpt_tos == [first.email] and told.subject == "Safety alert: a message needs a person now"
    assert "suicide" in told.text and "talks about" not in told.text
    alert_url = [url for url in URL_PATTERN.findall(told.text) if "/staff/safety/" in url]
    assert alert_url and alert_url[0].startswith(BASE_URL)

    with database(app) as session:
        alert = session.scalar(select(SafetyAlert))
        assert alerts.resend_due(session, now=alert.next_notify_at + timedelta(seconds=1)) == 1
        session.commit()
    make_due(app)  # the re-send was queued at the (future) moment it was due
    assert deliver(runner) == (1, 0)
    assert mail_server.messages[-1].rcpt_tos == [second.email]
