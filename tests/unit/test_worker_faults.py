"""The notification worker through outages: the database unreachable or its connections
dropped, the mail server stopped or closing with 421. The loop (cli.run_worker) runs in a
thread with tiny back-off values; it must wait, log each outage once and its end, and
deliver every message exactly once afterwards (the one documented exception: a worker
process that dies after the server accepted a message; its claim lapses and the message
is sent again, with the same Message-ID)."""

import logging
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session, sessionmaker

from portal import cli, faults
from portal.db import close_session, get_engine, get_session, make_engine, utcnow
from portal.mail import DeliveryReport, deliver_due, message_id, sender_for
from portal.models import Notification, NotificationStatus, User
from portal.services import notifications
from tests import factories
from tests.mailserver import MailServer, mail_server  # noqa: F401 (a fixture)
from tests.web.support import in_parallel

CLOSED_POSTGRESQL_PORT = "postgresql+psycopg://postgres@127.0.0.1:1/portal"
FIRST_WAIT = 0.05
MAX_WAIT = 0.2
POLL = 0.05


@pytest.fixture
def smtp(mail_server: MailServer) -> MailServer:  # noqa: F811
    """The test SMTP server (tests.mailserver), under a name that does not shadow the import."""
    return mail_server


@pytest.fixture
def app_config(smtp: MailServer) -> dict[str, object]:
    return {
        **smtp.config(),
        "NOTIFICATION_POLL_SECONDS": POLL,
        "WORKER_BACKOFF_FIRST_SECONDS": FIRST_WAIT,
        "WORKER_BACKOFF_MAX_SECONDS": MAX_WAIT,
        "NOTIFICATION_RETRY_BASE_SECONDS": 3600,  # a message refused on its own would wait: none must be
    }


@pytest.fixture
def worker_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="portal.worker")
    return caplog


def failure_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "portal.worker" and r.levelno >= logging.ERROR]


def recovery_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "portal.worker" and "is back after" in r.getMessage()]


def eventually(condition: Callable[[], bool], *, seconds: float = 8) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the worker did not get there in time"
        time.sleep(0.02)


@contextmanager
def running_worker(app: Flask, steps: Callable[[Flask], list] = cli.notification_worker_steps) -> Iterator[None]:  # type: ignore[type-arg]
    """`deliver-notifications --loop` (or other steps) in a thread, stopped and joined on exit."""
    stop = threading.Event()
    crashed: list[BaseException] = []

    def run() -> None:
        with app.app_context():
            try:
                cli.run_worker(steps(app), stop=stop)
            except BaseException as error:  # reported by the test, not lost in the thread
                crashed.append(error)

    thread = threading.Thread(target=run, name="worker", daemon=True)
    thread.start()
    try:
        yield
        assert thread.is_alive(), f"the worker loop ended: {crashed!r}"
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert crashed == []


@contextmanager
def database_unreachable(app: Flask, url: str) -> Iterator[list[str]]:
    """New sessions of `app` go to a database nobody answers at; yields the connection attempts."""
    engine = make_engine(url, connect_timeout_seconds=2)
    attempts: list[str] = []
    event.listen(engine, "do_connect", lambda *_args: attempts.append(url))
    saved = app.extensions["portal.sessionmaker"]
    app.extensions["portal.sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)
    try:
        yield attempts
    finally:
        app.extensions["portal.sessionmaker"] = saved
        engine.dispose()


def queue_email(db: Session) -> int:
    """A committed notification for a new account; its id."""
    user = factories.make_user(db)
    notification = notifications.enqueue_email(db, user, "password_changed", {}, now=utcnow())
    db.commit()
    return notification.id


def outbox(app: Flask) -> list[Notification]:
    with app.app_context():
        return list(get_session().scalars(select(Notification).order_by(Notification.id)))


def skip_unless_postgresql(app: Flask) -> None:
    if app.config["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("PostgreSQL only: SQLite has no server whose connections can be dropped")


# What counts as down --------------------------------------------------------------------------


def database_error(url: str, statement: str) -> Exception:
    engine = make_engine(url, connect_timeout_seconds=2)
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    except Exception as error:
        return error
    finally:
        engine.dispose()
    raise AssertionError("the statement did not fail")


def test_an_unreachable_or_unreadable_database_is_unavailable(tmp_path):
    assert faults.is_database_unavailable(database_error(CLOSED_POSTGRESQL_PORT, "SELECT 1"))
    unreadable = f"sqlite:///{tmp_path / 'no-such-directory' / 'portal.sqlite3'}"
    assert faults.is_database_unavailable(database_error(unreadable, "SELECT 1"))


@pytest.mark.parametrize("statement", ["SELECT * FROM no_such_table", "SELEC 1", "INSERT INTO t VALUES (1)"])
def test_a_mistake_in_a_statement_is_not_an_outage(tmp_path, statement):
    # SQLite calls these OperationalError too: they must stay 500s (bugs), not a 503 that hides them.
    url = f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        connection.execute(text("INSERT INTO t VALUES (1)"))
    engine.dispose()
    error = database_error(url, statement)
    assert not faults.is_database_unavailable(error)
    assert faults.unavailable_dependency(error) is None


def test_a_postgresql_statement_timeout_or_deadlock_is_not_an_outage(app):
    # PostgreSQL files both under OperationalError: they are bugs to see as 500s, not a 503.
    skip_unless_postgresql(app)
    timed_out = database_error(app.config["DATABASE_URL"], "SET statement_timeout = 50; SELECT pg_sleep(1)")
    assert timed_out.orig.sqlstate == "57014"
    assert not faults.is_database_unavailable(timed_out)

    engine = make_engine(app.config["DATABASE_URL"])
    with engine.begin() as setup:
        setup.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS lock_a (id int)"))
    errors: list[Exception] = []
    both_hold_one = threading.Barrier(2)

    def take(first: int, second: int) -> None:
        try:
            with engine.begin() as connection:
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": first})
                both_hold_one.wait(timeout=10)
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": second})
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=take, args=keys) for keys in ((914001, 914002), (914002, 914001))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    engine.dispose()
    assert [error.orig.sqlstate for error in errors] == ["40P01"]
    assert not faults.is_database_unavailable(errors[0])


# Outages: the back-off and the log, on their own -----------------------------------------------


def test_an_outage_is_logged_once_with_waits_doubling_to_the_cap_and_its_end_once(caplog):
    log = logging.getLogger("test.outages")
    clock = iter(range(100)).__next__
    outages = faults.Outages(log, first_seconds=1, max_seconds=8, clock=lambda: float(clock()))
    with caplog.at_level(logging.INFO, logger="test.outages"):
        waits = [outages.failed(faults.DATABASE, OSError("connection refused")) for _ in range(6)]
        outages.working()
        outages.working()
    assert waits == [1, 2, 4, 8, 8, 8]
    assert [record.levelname for record in caplog.records] == ["ERROR", "WARNING"]
    assert "database is unavailable (OSError: connection refused)" in caplog.records[0].getMessage()
    assert "database is back after" in caplog.records[1].getMessage()
    assert outages.failed(faults.DATABASE, OSError("again")) == 1  # a new outage starts from the first wait


def test_one_dependency_back_leaves_the_other_down():
    outages = faults.Outages(logging.getLogger("test.outages"), first_seconds=1, max_seconds=8)
    outages.failed(faults.DATABASE, OSError())
    outages.failed(faults.MAIL_SERVER, OSError())
    outages.working(faults.DATABASE)
    assert list(outages.down_since) == [faults.MAIL_SERVER]
    assert outages.failed(faults.MAIL_SERVER, OSError()) == 4  # still the same outage: the wait goes on growing


# The worker loop --------------------------------------------------------------------------------


@pytest.mark.parametrize("outage", ["stopped", "421"])
def test_the_worker_waits_out_a_mail_server_outage_and_then_delivers_once(app, db, smtp, worker_log, outage):
    notification_id = queue_email(db)
    if outage == "stopped":
        smtp.stop()
    else:
        smtp.refuse_next(6, "421 4.3.2 Service not available, closing channel")
    with running_worker(app):
        eventually(lambda: len(failure_lines(worker_log)) == 1)
        if outage == "stopped":
            time.sleep(4 * MAX_WAIT)  # several tries against nothing
            smtp.start()
        eventually(lambda: len(smtp.messages) == 1)
        time.sleep(4 * POLL)  # a few more rounds: nothing is sent again
    [mail] = smtp.messages
    [notification] = outbox(app)
    assert (notification.id, notification.status, notification.attempts) == (
        notification_id,
        NotificationStatus.SENT,
        1,
    )
    assert mail.message["Message-ID"] == message_id(app, notification)
    assert len(failure_lines(worker_log)) == 1
    assert failure_lines(worker_log)[0].startswith(
        "The mail server is unavailable (ConnectionRefusedError"
        if outage == "stopped"
        else "The mail server is unavailable (SMTPDataError: (421"
    )
    assert len(recovery_lines(worker_log)) == 1
    if outage == "421":
        assert smtp.handler.refused == 6


def test_a_message_that_times_out_on_its_own_costs_an_attempt_and_holds_no_other_back(app, db, smtp, worker_log):
    # The server answers every connection but sits on one recipient's message past the
    # client's timeout: that is the message's failure, not an outage of the server.
    app.config["SMTP_TIMEOUT_SECONDS"] = 0.5
    slow = queue_email(db)
    smtp.handler.stall[db.get_one(Notification, slow).to_address] = 2
    others = [queue_email(db) for _ in range(3)]
    with app.app_context():
        report = deliver_due(app, get_session(), sender_for(app))
    assert report.unavailable is None
    assert (report.sent, report.retrying) == (3, 1)
    by_id = {n.id: n for n in outbox(app)}
    assert [by_id[number].status for number in others] == [NotificationStatus.SENT] * 3
    assert (by_id[slow].status, by_id[slow].attempts) == (NotificationStatus.PENDING, 1)
    assert by_id[slow].next_attempt_at > utcnow()  # its own back-off: the next round claims the others first
    assert failure_lines(worker_log) == []


def test_the_worker_waits_out_an_unreachable_database_with_back_off_and_then_delivers_once(app, db, smtp, worker_log):
    with running_worker(app):
        with database_unreachable(app, CLOSED_POSTGRESQL_PORT) as attempts:
            eventually(lambda: len(attempts) >= 2)
            notification_id = queue_email(db)  # written while the worker cannot see the database
            time.sleep(6 * MAX_WAIT)
        eventually(lambda: len(smtp.messages) == 1)
        time.sleep(4 * POLL)
    # Back-off, not a busy loop: with waits of 0.05, 0.1 and then 0.2 s, well under one try per poll.
    assert 3 <= len(attempts) <= 15
    [notification] = outbox(app)
    assert (notification.id, notification.status, notification.attempts) == (
        notification_id,
        NotificationStatus.SENT,
        1,
    )
    assert len(smtp.messages) == 1
    [failure] = failure_lines(worker_log)
    assert "database is unavailable (OperationalError" in failure
    assert len(recovery_lines(worker_log)) == 1


def test_the_worker_survives_its_database_connections_being_terminated(app, db, smtp, worker_log):
    skip_unless_postgresql(app)
    with running_worker(app):
        queue_email(db)
        eventually(lambda: len(smtp.messages) == 1)
        # What a PostgreSQL restart does to the worker's pooled connections, between two rounds.
        terminated = db.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        db.commit()
        assert terminated >= 1
        queue_email(db)
        eventually(lambda: len(smtp.messages) == 2)
        time.sleep(4 * POLL)
    assert [n.status for n in outbox(app)] == [NotificationStatus.SENT] * 2
    assert len(smtp.messages) == 2
    assert len({mail.message["Message-ID"] for mail in smtp.messages}) == 2


def test_a_connection_lost_after_the_server_accepted_a_message_records_it_without_sending_it_again(
    app, db, smtp, worker_log, monkeypatch
):
    """The worker's database connection dies after SMTP accepted the message and before
    it was recorded as sent: the worker keeps the send and records it once the database
    answers again, so the message goes out once."""
    skip_unless_postgresql(app)
    from portal import mail as mail_module

    first_id = queue_email(db)
    second_id = queue_email(db)
    real_sender = mail_module.sender_for(app)
    crashed: list[int] = []

    class ConnectionCutOnceSender:
        def send(self, message) -> None:  # type: ignore[no-untyped-def]
            real_sender.send(message)
            if not crashed:
                # The worker's own connection is cut, from another one, as a restart would.
                backend = get_session().connection().connection.dbapi_connection.info.backend_pid  # type: ignore[union-attr]
                with get_engine().connect() as other:
                    other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
                    other.commit()
                crashed.append(backend)

    monkeypatch.setattr(mail_module, "sender_for", lambda _app: ConnectionCutOnceSender())
    with running_worker(app):
        eventually(lambda: [n.status for n in outbox(app)] == [NotificationStatus.SENT] * 2)
        time.sleep(4 * POLL)
    by_id = [mail.message["Message-ID"] for mail in smtp.messages]
    first, second = outbox(app)
    assert (first.id, second.id) == (first_id, second_id)
    assert by_id == [message_id(app, first), message_id(app, second)]
    assert [(n.status, n.attempts) for n in (first, second)] == [(NotificationStatus.SENT, 1)] * 2
    assert crashed
    [failure] = failure_lines(worker_log)
    assert "database is unavailable" in failure


def test_a_message_claimed_by_a_worker_that_died_is_sent_again_with_the_same_message_id(app, db, smtp):
    """The one documented duplicate: a worker process that dies after the server accepted
    a message and before recording it. Its claim lapses, and another worker sends the
    message again, with the same Message-ID, so mail systems that deduplicate drop it."""
    notification_id = queue_email(db)
    claimed_at = utcnow() - notifications.CLAIM_LAPSES_AFTER - timedelta(seconds=1)
    db.get_one(Notification, notification_id).next_attempt_at = claimed_at  # queued then
    dead_workers_claim = notifications.claim_next_due(db, now=claimed_at)
    assert dead_workers_claim is not None and dead_workers_claim.id == notification_id
    db.commit()

    report = deliver_due(app, db, sender_for(app))

    assert report.sent == 1
    [mail] = smtp.messages
    notification = db.get_one(Notification, notification_id)
    assert mail.message["Message-ID"] == message_id(app, notification)
    assert (notification.status, notification.attempts) == (NotificationStatus.SENT, 1)


def test_a_message_another_worker_is_sending_is_left_to_it(app, db, smtp):
    queue_email(db)
    assert notifications.claim_next_due(db, now=utcnow()) is not None
    db.commit()

    report = deliver_due(app, db, sender_for(app))

    assert (report.sent, smtp.messages) == (0, [])
    [notification] = outbox(app)
    assert notification.status == NotificationStatus.SENDING


def test_workers_running_at_once_send_each_message_once(app, db, smtp):
    """Three workers (three app hosts) draining one outbox together on PostgreSQL."""
    skip_unless_postgresql(app)
    queued = [queue_email(db) for _ in range(30)]

    def worker() -> DeliveryReport:
        with app.app_context():
            try:
                return deliver_due(app, get_session(), sender_for(app))
            finally:
                close_session()

    reports = in_parallel([worker] * 3)

    assert sum(report.sent for report in reports) == len(queued)
    ids = [mail.message["Message-ID"] for mail in smtp.messages]
    assert len(ids) == len(set(ids)) == len(queued)
    assert {n.status for n in outbox(app)} == {NotificationStatus.SENT}


def test_the_escalation_loop_waits_out_an_unreachable_database(app, db, worker_log):
    rounds: list[int] = []

    def escalation_steps(_app: Flask) -> list:  # type: ignore[type-arg]
        return [lambda: rounds.append(cli._escalate())]

    with running_worker(app, escalation_steps):
        eventually(lambda: len(rounds) >= 1)
        with database_unreachable(app, CLOSED_POSTGRESQL_PORT) as attempts:
            eventually(lambda: len(attempts) >= 3)
            done_while_down = len(rounds)
        eventually(lambda: len(rounds) > done_while_down)
    assert len(failure_lines(worker_log)) == 1
    assert len(recovery_lines(worker_log)) == 1


def test_an_error_that_is_not_an_outage_still_ends_the_loop(app):
    def broken(_app: Flask) -> list:  # type: ignore[type-arg]
        def step() -> None:
            raise ZeroDivisionError("a bug")

        return [step]

    stop = threading.Event()
    with app.app_context(), pytest.raises(ZeroDivisionError):
        cli.run_worker(broken(app), stop=stop)


def test_a_user_row_is_only_read_in_a_round_never_kept_across_rounds(app, db, smtp):
    # Each round is its own session: a change committed between rounds is seen by the next.
    rounds: list[str] = []
    with app.app_context():
        db = get_session()
        user_id = factories.make_user(db).id
        db.commit()

    def steps(_app: Flask) -> list:  # type: ignore[type-arg]
        return [lambda: rounds.append(get_session().get(User, user_id).display_name)]  # type: ignore[union-attr]

    with running_worker(app, steps):
        eventually(lambda: len(rounds) >= 1)
        with app.app_context():
            db = get_session()
            db.get(User, user_id).display_name = "Renamed"  # type: ignore[union-attr]
            db.commit()
        eventually(lambda: rounds[-1] == "Renamed")


# --- stopping: SIGTERM, whenever it arrives ------------------------------------------

# A worker's stop as `deliver-notifications --loop` makes it, in a process of its own
# (the handler is the process's): "ready" once it waits, exit 0 once stopped.
_WAITING_WORKER = """
import signal, sys
from portal import cli
stop = cli._stop_on_sigterm()
if sys.argv[1] == "inside-wait":
    # Where a signal may arrive: inside stop.wait, the event's lock held by this thread.
    with stop._cond:
        signal.getsignal(signal.SIGTERM)(signal.SIGTERM, None)
    sys.exit(0 if stop.wait(10) else 1)
print("ready", flush=True)
while not stop.is_set():
    stop.wait(0.0001)
"""


def _worker(how: str) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 (this interpreter, this test's own script)
        [sys.executable, "-c", _WAITING_WORKER, how], stdout=subprocess.PIPE, text=True
    )


def test_sigterm_inside_the_workers_wait_stops_it() -> None:
    """Setting the event in the handler itself took the lock its own thread held: the
    worker waited forever (a `deliver-notifications --loop` that `timeout 10` could not stop)."""
    worker = _worker("inside-wait")
    try:
        assert worker.wait(20) == 0
    finally:
        worker.kill()


def test_sigterm_at_any_moment_stops_a_waiting_worker() -> None:
    for _ in range(10):
        worker = _worker("loop")
        try:
            assert worker.stdout is not None and worker.stdout.readline() == "ready\n"
            time.sleep(random.random() / 50)
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(20) == 0
        finally:
            worker.kill()
