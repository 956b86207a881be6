"""Email delivery for the outbox: rendering in the recipient's language, and SMTP."""

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Protocol
from urllib.parse import urlsplit

from flask import Flask, render_template
from flask_babel import force_locale
from sqlalchemy.orm import Session

from portal.catalogs import lazy_gettext as _l
from portal.db import utcnow
from portal.faults import MAIL_SERVER, DependencyUnavailable
from portal.models import Notification, NotificationStatus
from portal.services import notifications

log = logging.getLogger("portal.mail")

SUBJECTS = {
    "invitation": _l("Your invitation to the %(district)s family portal"),
    "password_reset": _l("Choose a new password for the %(district)s family portal"),
    "password_changed": _l("Your family portal password was changed"),
    "two_factor_enabled": _l("Two-step sign-in is on for your family portal account"),
    "two_factor_disabled": _l("Two-step sign-in was turned off for your family portal account"),
    "changed_by_staff": _l("District staff changed your family portal account"),
    "email_change_confirm": _l("Confirm your new email address for the family portal"),
    "email_change_notice": _l("The email address of your family portal account"),
    "request_reply": _l("%(reference)s: a reply to your question"),
    "request_resolved": _l("%(reference)s is resolved: how did we do?"),
    "request_assigned": _l("%(reference)s was assigned to you"),
    "request_overdue": _l("Overdue reply: %(reference)s"),
    "feedback_response": _l("The district's answer to your feedback %(reference)s"),
    "safety_alert": _l("Safety alert: a message needs a person now"),
    "weekly_summary": _l("Last week on the %(district)s family portal"),
}


class Sender(Protocol):
    def send(self, message: EmailMessage) -> None: ...


@dataclass
class SmtpSender:
    host: str
    port: int
    username: str | None
    password: str | None
    starttls: bool
    use_ssl: bool
    timeout: float

    def send(self, message: EmailMessage) -> None:
        client = self._session()
        with client:
            client.send_message(message)

    def _session(self) -> smtplib.SMTP:
        """A session ready for a message. A failure up to here (nothing listens, no
        greeting, TLS or login refused) is the server's, not the message's."""
        context = ssl.create_default_context()
        try:
            if self.use_ssl:
                client: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except (OSError, smtplib.SMTPException) as error:
            raise MailServerUnreachable(error) from error
        try:
            if self.starttls and not self.use_ssl:
                client.starttls(context=context)
            if self.username:
                client.login(self.username, self.password or "")
        except (OSError, smtplib.SMTPException) as error:
            client.close()
            raise MailServerUnreachable(error) from error
        return client


class MailServerUnreachable(Exception):
    """No SMTP session could be opened: the cause is the server's (`cause`)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.cause = cause


class LogSender:
    """Development without an SMTP server: the message goes to the log."""

    def send(self, message: EmailMessage) -> None:
        text = message.get_body(("plain",))
        log.warning(
            "Email to %s: %s\n%s", message["To"], message["Subject"], text.get_content() if text is not None else ""
        )


def sender_for(app: Flask) -> Sender:
    config = app.config
    if not config["SMTP_HOST"]:
        return LogSender()
    return SmtpSender(
        host=config["SMTP_HOST"],
        port=int(config["SMTP_PORT"]),
        username=config["SMTP_USERNAME"],
        password=config["SMTP_PASSWORD"],
        starttls=bool(config["SMTP_STARTTLS"]),
        use_ssl=bool(config["SMTP_SSL"]),
        timeout=float(config["SMTP_TIMEOUT_SECONDS"]),
    )


def render_email(app: Flask, notification: Notification) -> EmailMessage:
    """The message in the recipient's language. Links come from BASE_URL, never a request."""
    with app.test_request_context(base_url=app.config["BASE_URL"]), force_locale(notification.language):
        values = {"district": app.config["DISTRICT_NAME"], **notification.payload}
        subject = str(SUBJECTS[notification.template] % values)
        text_body = render_template(f"email/{notification.template}.txt", subject=subject, **values)
        html_body = render_template(f"email/{notification.template}.html", subject=subject, **values)
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = app.config["MAIL_FROM"]
    message["To"] = notification.to_address
    message["Message-ID"] = message_id(app, notification)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text_body)
    message.add_alternative(html_body, subtype="html")
    return message


def message_id(app: Flask, notification: Notification) -> str:
    """The same Message-ID on every attempt for one notification row, so a copy sent again
    after a crash (accepted by the server, not yet recorded as sent) can be recognised and
    dropped by mail systems. The creation time keeps ids apart across rebuilt databases."""
    domain = parseaddr(app.config["MAIL_FROM"])[1].rpartition("@")[2] or urlsplit(app.config["BASE_URL"]).hostname
    return f"<notification-{notification.id}.{int(notification.created_at.timestamp())}@{domain or 'portal.invalid'}>"


# SMTP replies that speak for the server, not for one message: 421 (service not
# available, closing) and a refused login.
SERVER_WIDE_CODES = frozenset({421})


def is_mail_server_unavailable(error: BaseException) -> bool:
    """True when no message could go out now (nothing listens, no greeting, TLS or the
    login refused, the server closes with 421), as opposed to a failure of this one
    message: a 4xx or 5xx to its sender, recipients or content, or a connection that
    timed out or dropped while it was being sent. That one counts an attempt against the
    message and the batch goes on, so a message that always times out is retried with
    its own back-off and given up, instead of holding every other message back."""
    if isinstance(error, MailServerUnreachable):
        return True
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return bool(error.recipients) and all(code in SERVER_WIDE_CODES for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code in SERVER_WIDE_CODES
    return False


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    given_up: int = 0
    # Set when the batch stopped because the mail server is unavailable.
    unavailable: DependencyUnavailable | None = None


@dataclass(frozen=True)
class UnrecordedSend:
    """A message the server accepted whose SENT the database did not take."""

    notification_id: int
    subject: str
    sent_at: datetime


def deliver_due(
    app: Flask, db: Session, sender: Sender, unrecorded: list[UnrecordedSend] | None = None
) -> DeliveryReport:
    """Send every due notification, one at a time, committing each as it goes.

    Each is claimed (committed as SENDING) before it is sent, so no other worker sends it
    too. A message refused by the server is retried later with its own backoff, and given
    up after NOTIFICATION_MAX_ATTEMPTS. When the mail server itself is unavailable, the
    claimed notification is released untouched (no attempt counted, so no outage can use
    up a message's attempts) and the batch stops, with the report's `unavailable` set.

    A worker keeps `unrecorded` across rounds: when the database drops between the
    server accepting a message and its SENT being committed, the send is kept there and
    recorded first thing next round, instead of the message going out again.
    """
    config = app.config
    report = DeliveryReport()
    if unrecorded is None:
        unrecorded = []
    while unrecorded:
        send = unrecorded[0]
        notifications.record_sent(db, send.notification_id, subject=send.subject, sent_at=send.sent_at)
        db.commit()
        unrecorded.pop(0)
    for _ in range(config["NOTIFICATION_BATCH_SIZE"]):
        notification = notifications.claim_next_due(db, now=utcnow())
        if notification is None:
            break
        db.commit()
        try:
            message = render_email(app, notification)
            try:
                sender.send(message)
            except Exception as error:
                if is_mail_server_unavailable(error):
                    cause = error.cause if isinstance(error, MailServerUnreachable) else error
                    raise DependencyUnavailable(MAIL_SERVER, cause) from error
                raise
        except DependencyUnavailable as outage:
            notifications.release(notification, now=utcnow())
            db.commit()
            report.unavailable = outage
            break
        except Exception as error:
            if isinstance(error, smtplib.SMTPException | OSError):
                log.warning("Delivery of notification %s failed: %s", notification.id, error)
            else:
                log.exception("Notification %s could not be rendered or sent", notification.id)
            notifications.mark_attempt_failed(
                notification,
                f"{type(error).__name__}: {error}",
                now=utcnow(),
                max_attempts=config["NOTIFICATION_MAX_ATTEMPTS"],
                retry_base_seconds=config["NOTIFICATION_RETRY_BASE_SECONDS"],
            )
            if notification.status == NotificationStatus.FAILED:
                report.given_up += 1
            else:
                report.retrying += 1
            db.commit()
        else:
            send = UnrecordedSend(notification.id, message["Subject"], utcnow())
            notifications.mark_sent(notification, subject=send.subject, now=send.sent_at)
            try:
                db.commit()
            except Exception:
                unrecorded.append(send)
                raise
            report.sent += 1
    return report
