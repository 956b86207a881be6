"""The outbox rules in portal.services.notifications, without HTTP or SMTP.

Every time is passed explicitly (`now`), so no clock is frozen or waited for.
"""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.models import Notification, NotificationStatus
from portal.services import accounts, notifications
from portal.services.accounts import passwords
from portal.services.errors import InvalidInput
from tests import factories

NOW = datetime(2025, 3, 10, 16, 0, tzinfo=UTC)
BASE_SECONDS = 60


def unsaved_notification(**values: object) -> Notification:
    defaults: dict[str, object] = {
        "channel": "email",
        "to_address": "guardian@example.org",
        "template": "password_changed",
        "language": "en",
        "payload": {},
        "status": NotificationStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": NOW,
        "last_error": "",
        "created_at": NOW,
    }
    return Notification(**{**defaults, **values})


def fail(notification: Notification, *, now: datetime, max_attempts: int = 100) -> None:
    notifications.mark_attempt_failed(
        notification,
        "SMTPDataError: (451, b'Try again later')",
        now=now,
        max_attempts=max_attempts,
        retry_base_seconds=BASE_SECONDS,
    )


def outbox(db) -> list[Notification]:  # type: ignore[no-untyped-def]
    return list(db.scalars(select(Notification).order_by(Notification.id)))


# Backoff ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failures", "expected_delay"),
    [
        (1, timedelta(minutes=1)),
        (2, timedelta(minutes=2)),
        (3, timedelta(minutes=4)),
        (4, timedelta(minutes=8)),
        (7, timedelta(minutes=64)),
    ],
)
def test_each_failure_doubles_the_wait_from_the_moment_it_failed(failures, expected_delay):
    notification = unsaved_notification()
    failed_at = NOW
    for number in range(failures):
        failed_at = NOW + timedelta(hours=number)  # the worker noticed each failure at a different time
        fail(notification, now=failed_at)
    assert notification.attempts == failures
    assert notification.status == NotificationStatus.PENDING
    assert notification.next_attempt_at == failed_at + expected_delay


def test_backoff_never_waits_longer_than_six_hours():
    notification = unsaved_notification(attempts=30)
    fail(notification, now=NOW)
    assert notification.next_attempt_at == NOW + timedelta(hours=6)


def test_zero_base_retries_at_once():
    notification = unsaved_notification(attempts=2)
    notifications.mark_attempt_failed(notification, "boom", now=NOW, max_attempts=8, retry_base_seconds=0)
    assert notification.next_attempt_at == NOW
    assert notification.status == NotificationStatus.PENDING


def test_failure_keeps_the_error_cut_to_the_column_size():
    notification = unsaved_notification()
    notifications.mark_attempt_failed(notification, "x" * 2000, now=NOW, max_attempts=8, retry_base_seconds=60)
    assert notification.last_error == "x" * 500


@pytest.mark.parametrize("max_attempts", [1, 3, 8])
def test_the_last_allowed_attempt_marks_the_notification_failed(max_attempts):
    notification = unsaved_notification()
    for number in range(max_attempts - 1):
        fail(notification, now=NOW + timedelta(days=number), max_attempts=max_attempts)
        assert notification.status == NotificationStatus.PENDING
    due_before_last = notification.next_attempt_at
    fail(notification, now=NOW + timedelta(days=max_attempts), max_attempts=max_attempts)
    assert notification.status == NotificationStatus.FAILED
    assert notification.attempts == max_attempts
    assert notification.next_attempt_at == due_before_last  # no further attempt is scheduled


def test_a_failed_notification_is_never_claimed_again(db):
    user = factories.make_user(db)
    notification = notifications.enqueue_email(db, user, "password_changed", {}, now=NOW)
    db.flush()
    for number in range(3):
        fail(notification, now=NOW + timedelta(minutes=number), max_attempts=3)
    db.commit()
    assert notification.status == NotificationStatus.FAILED
    assert notifications.claim_next_due(db, now=NOW + timedelta(days=365)) is None


# Sending -----------------------------------------------------------------------


def test_sending_removes_the_secrets_from_the_payload_and_keeps_the_rest(db):
    user = factories.make_user(db)
    payload = {
        "token": "secret-link-token",
        "code": "ABCD-EFGH-JKMN",
        "expires_at": NOW.isoformat(),
        "inviter": "Ms Li",
    }
    notification = notifications.enqueue_email(db, user, "invitation", payload, now=NOW)
    db.commit()

    claimed = notifications.claim_next_due(db, now=NOW)
    assert claimed is notification
    notifications.mark_sent(claimed, subject="Your invitation", now=NOW + timedelta(seconds=5))
    db.commit()
    db.expire_all()  # read back what the database holds, not the object in memory

    stored = db.get_one(Notification, notification.id)
    assert stored.payload == {"expires_at": NOW.isoformat(), "inviter": "Ms Li"}
    assert stored.status == NotificationStatus.SENT
    assert stored.attempts == 1
    assert stored.sent_at == NOW + timedelta(seconds=5)
    assert stored.subject == "Your invitation"
    assert notifications.claim_next_due(db, now=NOW + timedelta(days=1)) is None


def test_sending_after_a_failure_clears_the_error_and_counts_both_attempts():
    notification = unsaved_notification(payload={"token": "t"})
    fail(notification, now=NOW)
    notifications.mark_sent(notification, subject="S" * 300, now=NOW + timedelta(minutes=1))
    assert notification.attempts == 2
    assert notification.last_error == ""
    assert notification.subject == "S" * 200
    assert notification.payload == {}


# Claiming -----------------------------------------------------------------------


def test_claims_the_earliest_due_first_and_breaks_ties_by_id(db):
    user = factories.make_user(db)
    later = notifications.enqueue_email(db, user, "password_changed", {"n": "later"}, now=NOW + timedelta(minutes=5))
    first_of_tie = notifications.enqueue_email(db, user, "password_changed", {"n": "tie-1"}, now=NOW)
    second_of_tie = notifications.enqueue_email(db, user, "password_changed", {"n": "tie-2"}, now=NOW)
    earliest = notifications.enqueue_email(
        db, user, "password_changed", {"n": "earliest"}, now=NOW - timedelta(hours=1)
    )
    not_yet_due = notifications.enqueue_email(
        db, user, "password_changed", {"n": "future"}, now=NOW + timedelta(days=1)
    )
    db.commit()

    order = []
    while (claimed := notifications.claim_next_due(db, now=NOW + timedelta(minutes=10))) is not None:
        order.append(claimed)
        notifications.mark_sent(claimed, subject="s", now=NOW)
        db.flush()
    assert order == [earliest, first_of_tie, second_of_tie, later]
    assert not_yet_due.status == NotificationStatus.PENDING


def test_a_retry_waits_its_turn_behind_notifications_due_earlier(db):
    user = factories.make_user(db)
    retried = notifications.enqueue_email(db, user, "password_changed", {}, now=NOW)
    db.flush()
    fail(retried, now=NOW)  # due again at NOW + 1 minute
    fresh = notifications.enqueue_email(db, user, "password_changed", {}, now=NOW + timedelta(seconds=30))
    db.commit()

    assert notifications.claim_next_due(db, now=NOW + timedelta(seconds=59)) is fresh
    notifications.mark_sent(fresh, subject="s", now=NOW)
    db.flush()
    assert notifications.claim_next_due(db, now=NOW + timedelta(seconds=59)) is None
    assert notifications.claim_next_due(db, now=NOW + timedelta(minutes=1)) is retried


def test_a_claimed_notification_is_not_claimed_again_until_its_claim_lapses(db):
    user = factories.make_user(db)
    notification = notifications.enqueue_email(db, user, "password_changed", {}, now=NOW)
    db.commit()

    assert notifications.claim_next_due(db, now=NOW) is notification
    db.commit()
    assert notification.status == NotificationStatus.SENDING
    lapses = NOW + notifications.CLAIM_LAPSES_AFTER
    assert notifications.claim_next_due(db, now=lapses - timedelta(seconds=1)) is None
    assert notifications.claim_next_due(db, now=lapses) is notification


def test_a_released_notification_is_due_at_once_with_no_attempt_counted(db):
    user = factories.make_user(db)
    notification = notifications.enqueue_email(db, user, "password_changed", {}, now=NOW)
    db.commit()
    claimed = notifications.claim_next_due(db, now=NOW)
    assert claimed is notification
    notifications.release(claimed, now=NOW + timedelta(seconds=3))
    db.commit()
    assert (notification.status, notification.attempts) == (NotificationStatus.PENDING, 0)
    assert notifications.claim_next_due(db, now=NOW + timedelta(seconds=3)) is notification


def test_a_send_recorded_late_strips_the_secrets_and_is_recorded_once(db):
    user = factories.make_user(db)
    notification = notifications.enqueue_email(db, user, "invitation", {"token": "t", "n": 1}, now=NOW)
    db.commit()
    assert notifications.claim_next_due(db, now=NOW) is notification
    db.commit()
    for _ in range(2):
        notifications.record_sent(db, notification.id, subject="Invited", sent_at=NOW + timedelta(seconds=4))
        db.commit()
    db.expire_all()
    stored = db.get_one(Notification, notification.id)
    assert (stored.status, stored.attempts, stored.payload) == (NotificationStatus.SENT, 1, {"n": 1})
    assert stored.sent_at == NOW + timedelta(seconds=4)


# Enqueueing ----------------------------------------------------------------------


def test_enqueue_addresses_the_recipient_in_their_language(db):
    user = factories.make_user(db, language="es")
    notification = notifications.enqueue_email(db, user, "password_changed", {}, now=NOW)
    other = notifications.enqueue_email(db, user, "password_changed", {}, now=NOW, to_address="work@example.org")
    db.commit()
    assert (notification.to_address, notification.language) == (user.email, "es")
    assert notification.status == NotificationStatus.PENDING
    assert notification.attempts == 0
    assert notification.next_attempt_at == NOW
    assert other.to_address == "work@example.org"


def test_the_notification_is_rolled_back_with_the_change_that_caused_it(db):
    user = factories.make_user(db)
    old_hash = user.password_hash
    accounts.change_password(db, user, factories.PASSWORD, "a brand new kettle of fish", now=NOW)
    db.flush()
    assert len(outbox(db)) == 1  # written, but not committed

    db.rollback()
    db.expire_all()
    assert outbox(db) == []
    assert db.get_one(type(user), user.id).password_hash == old_hash


def test_the_notification_is_committed_with_the_change_that_caused_it(db):
    user = factories.make_user(db)
    accounts.change_password(db, user, factories.PASSWORD, "a brand new kettle of fish", now=NOW)
    db.commit()
    db.expire_all()
    assert passwords.verify_password(db.get_one(type(user), user.id).password_hash, "a brand new kettle of fish")
    [notification] = outbox(db)
    assert (notification.template, notification.recipient_id) == ("password_changed", user.id)


def test_a_refused_change_queues_nothing(db):
    user = factories.make_user(db)
    with pytest.raises(InvalidInput):
        accounts.change_password(db, user, "not the password", "a brand new kettle of fish", now=NOW)
    db.commit()
    assert outbox(db) == []


def test_reset_for_an_unknown_address_queues_nothing(db):
    factories.make_user(db, email="known@example.org")
    accounts.request_password_reset(db, "unknown@example.org", now=NOW, valid_seconds=3600)
    db.commit()
    assert db.scalar(select(func.count()).select_from(Notification)) == 0
