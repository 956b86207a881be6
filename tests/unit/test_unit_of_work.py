"""The end of a request's unit of work: what it did not commit is rolled back. On
PostgreSQL a connection is in autocommit until a statement writes or locks
(portal.db._begin_before_writing): plain reads before it run on their own and send no
BEGIN or COMMIT, and from that statement on the unit of work's writes are one
transaction, committed or rolled back as one."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.pq import TransactionStatus
from sqlalchemy import column, delete, event, func, select, text, union, update
from sqlalchemy.orm import Session

from portal.db import get_engine, get_session
from portal.models import Role, User
from tests import factories


@contextmanager
def endings(app) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    """How the transactions that end while the block runs end: "commit" or "rollback"."""
    with app.app_context():
        engine = get_engine()
    ended: list[str] = []

    def committed(_connection) -> None:  # type: ignore[no-untyped-def]
        ended.append("commit")

    def rolled_back(_connection) -> None:  # type: ignore[no-untyped-def]
        ended.append("rollback")

    event.listen(engine, "commit", committed)
    event.listen(engine, "rollback", rolled_back)
    try:
        yield ended
    finally:
        event.remove(engine, "commit", committed)
        event.remove(engine, "rollback", rolled_back)


def in_a_request(app, work: Callable[[Session], object]) -> list[str]:  # type: ignore[no-untyped-def]
    with endings(app) as ended, app.app_context():
        work(get_session())
    return ended


def users_named(app, name: str) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(User).where(User.display_name == name)) or 0


def test_nothing_read_nothing_ended(app):
    assert in_a_request(app, lambda db: None) == []


def a_guardian(name: str) -> User:
    return User(email=f"{name.replace(' ', '.').lower()}@example.org", display_name=name, role=Role.FAMILY)


def add_flushed(db: Session) -> None:
    db.add(a_guardian("Flushed Not Committed"))
    db.flush()


def add_pending(db: Session) -> None:
    db.scalar(select(func.count()).select_from(User))
    db.add(a_guardian("Pending Not Committed"))


def update_with_a_statement(db: Session) -> None:
    db.execute(update(User).values(display_name="Updated Not Committed"))


def update_with_text(db: Session) -> None:
    db.execute(text("UPDATE \"user\" SET display_name = 'Updated Not Committed'"))


def read_then_update_twice(db: Session) -> None:
    db.scalar(select(func.count()).select_from(User))
    db.execute(update(User).values(display_name="Updated Not Committed"))
    db.scalar(select(func.count()).select_from(User))
    db.add(a_guardian("Updated Not Committed"))
    db.flush()


@pytest.mark.parametrize(
    ("work", "name"),
    [
        (add_flushed, "Flushed Not Committed"),
        (add_pending, "Pending Not Committed"),
        (update_with_a_statement, "Updated Not Committed"),
        (update_with_text, "Updated Not Committed"),
        (read_then_update_twice, "Updated Not Committed"),
    ],
    ids=["flushed", "pending", "update statement", "text statement", "read, write, read, write"],
)
def test_what_was_written_and_not_committed_is_rolled_back(app, db, work, name):
    factories.make_user(db)
    assert in_a_request(app, work) == ["rollback"]
    assert users_named(app, name) == 0


def test_a_request_that_failed_is_rolled_back(app):
    with endings(app) as ended, pytest.raises(RuntimeError), app.app_context():
        get_session().scalar(select(func.count()).select_from(User))
        raise RuntimeError("the view failed")
    assert ended == ["rollback"]


# PostgreSQL: where the transaction begins.


def driver_of(db: Session) -> psycopg.Connection:
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: the transaction begins at the first write there (portal.db)")
    return db.connection().connection.driver_connection  # type: ignore[return-value]


def in_transaction(driver: psycopg.Connection) -> bool:
    """Whether the server holds a transaction open for the connection (a BEGIN was sent)."""
    return driver.pgconn.transaction_status != TransactionStatus.IDLE


def test_a_request_that_only_reads_opens_no_transaction(app, db):
    factories.make_user(db)
    with app.app_context():
        session = get_session()
        driver = driver_of(session)
        assert session.scalar(select(func.count()).select_from(User)) == 1
        assert session.scalars(select(User).where(User.id > 0)).all()
        assert not in_transaction(driver)


WRITES_OR_LOCKS: dict[str, Callable[[Session], object]] = {
    "flush": add_flushed,
    "update statement": update_with_a_statement,
    "text statement": update_with_text,
    "delete": lambda db: db.execute(delete(User).where(User.id == -1)),
    "for update": lambda db: db.scalars(select(User).with_for_update()).all(),
    "for update nowait": lambda db: db.scalars(select(User).with_for_update(nowait=True)).all(),
    "for update skip locked": lambda db: db.scalars(select(User).with_for_update(skip_locked=True)).all(),
    "for no key update": lambda db: db.scalars(select(User).with_for_update(key_share=True)).all(),
    "for share": lambda db: db.scalars(select(User).with_for_update(read=True)).all(),
    "for key share": lambda db: db.scalars(select(User).with_for_update(read=True, key_share=True)).all(),
    "a row read for update": lambda db: db.get(User, 1, with_for_update=True),
    # SQL text may call anything: a lock held until the transaction ends.
    "SQL text": lambda db: db.execute(text("SELECT pg_advisory_xact_lock(914003)")),
    "SQL text given its columns": lambda db: db.execute(
        text("SELECT pg_advisory_xact_lock(914004) AS locked").columns(column("locked"))
    ),
    "a union": lambda db: db.execute(union(select(User.id), select(User.id))).all(),
    "a CTE": lambda db: db.scalar(select(func.count()).select_from(select(User.id).cte("ids"))),
    "a server-side cursor": lambda db: db.execute(select(User).execution_options(yield_per=10)).all(),
    # SQLAlchemy sends the SAVEPOINT with the statement that follows it.
    "savepoint": lambda db: (db.begin_nested(), db.scalar(select(func.count()).select_from(User))),
}


@pytest.mark.parametrize("work", WRITES_OR_LOCKS.values(), ids=WRITES_OR_LOCKS.keys())
def test_a_transaction_begins_at_the_first_statement_that_writes_or_locks(app, db, work):
    factories.make_user(db)
    with app.app_context():
        session = get_session()
        driver = driver_of(session)
        session.scalar(select(func.count()).select_from(User))
        assert not in_transaction(driver)
        work(session)
        assert in_transaction(driver)
        session.scalar(select(func.count()).select_from(User))  # a read inside it stays inside
        assert in_transaction(driver)
        session.commit()
        assert not in_transaction(driver)
        session.scalar(select(func.count()).select_from(User))  # and after it, runs on its own again
        assert not in_transaction(driver)


def test_a_row_read_for_update_stays_locked_until_the_commit(app, db):
    user = factories.make_user(db)
    db.commit()
    with app.app_context():
        session = get_session()
        driver_of(session)
        session.get(User, user.id, with_for_update=True)
        url = session.get_bind().url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(url, autocommit=True) as other:
            other.execute("SET lock_timeout = '200ms'")
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute("UPDATE \"user\" SET display_name = 'Raced' WHERE id = %s", [user.id])
            session.commit()
            other.execute("UPDATE \"user\" SET display_name = 'After' WHERE id = %s", [user.id])
    assert users_named(app, "After") == 1


STEP_NAMES = select(User.display_name).where(User.display_name.like("Step %"))
STEPS = st.lists(st.sampled_from(["read", "write", "lock", "commit", "rollback"]), max_size=12)


# The same database for every example: each one starts with no guardians of its own.
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
def test_any_mix_of_reads_and_writes_keeps_exactly_what_was_committed(app, db, steps):
    """Whatever the order of reads, writes, locking reads, commits and rollbacks, a
    transaction is open exactly while something written or locked is neither committed
    nor rolled back, every read sees the unit's own writes, and what stays is what was
    committed."""
    db.execute(delete(User).where(User.display_name.like("Step %")))
    db.commit()
    committed: set[str] = set()
    pending: set[str] = set()
    open_transaction = False
    with app.app_context():
        session = get_session()
        driver = driver_of(session)
        for number, step in enumerate(steps):
            if step == "write":
                session.add(a_guardian(f"Step {number}"))
                session.flush()
                pending.add(f"Step {number}")
                open_transaction = True
            elif step == "lock":
                session.scalars(select(User).where(User.display_name.like("Step %")).with_for_update()).all()
                open_transaction = True
            elif step == "commit":
                session.commit()
                committed |= pending
                pending, open_transaction = set(), False
            elif step == "rollback":
                session.rollback()
                pending, open_transaction = set(), False
            seen = set(session.scalars(STEP_NAMES))
            assert seen == committed | pending
            assert in_transaction(driver) == open_transaction
    with app.app_context():
        assert set(get_session().scalars(STEP_NAMES)) == committed


def test_postgresql_keeps_the_prepared_statements_of_requests_that_only_read(app, db):
    """The reason reads send no transaction: a statement run five times on a connection
    is prepared by the driver, and would be forgotten at a ROLLBACK."""
    factories.make_user(db)
    for _ in range(7):
        in_a_request(app, lambda db: db.scalar(select(func.count()).select_from(User)))
    with app.app_context():
        session = get_session()
        driver_of(session)
        prepared = session.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar()
    assert prepared and prepared > 0
