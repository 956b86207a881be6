"""The end of a request's unit of work: what it did not commit is rolled back, and a
transaction that wrote nothing ends with COMMIT (which keeps PostgreSQL's prepared
statements; a ROLLBACK makes the driver forget them)."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select, text, update
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


def test_a_transaction_that_only_read_ends_with_commit(app):
    assert in_a_request(app, lambda db: db.scalar(select(func.count()).select_from(User))) == ["commit"]


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


@pytest.mark.parametrize(
    ("work", "name"),
    [
        (add_flushed, "Flushed Not Committed"),
        (add_pending, "Pending Not Committed"),
        (update_with_a_statement, "Updated Not Committed"),
        (update_with_text, "Updated Not Committed"),
    ],
    ids=["flushed", "pending", "update statement", "text statement"],
)
def test_what_was_written_and_not_committed_is_rolled_back(app, db, work, name):
    factories.make_user(db)
    assert in_a_request(app, work) == ["rollback"]
    assert users_named(app, name) == 0


def test_after_a_commit_a_transaction_that_only_reads_ends_with_commit_again(app, db):
    factories.make_user(db)

    def write_commit_then_read(db: Session) -> None:
        add_flushed(db)
        db.commit()
        db.scalar(select(func.count()).select_from(User))

    assert in_a_request(app, write_commit_then_read) == ["commit", "commit"]
    assert users_named(app, "Flushed Not Committed") == 1


def test_a_request_that_failed_is_rolled_back_even_if_it_only_read(app):
    with endings(app) as ended, pytest.raises(RuntimeError), app.app_context():
        get_session().scalar(select(func.count()).select_from(User))
        raise RuntimeError("the view failed")
    assert ended == ["rollback"]


def test_postgresql_keeps_the_prepared_statements_of_requests_that_only_read(app, db):
    """The reason for all this: a statement run five times on a connection is prepared
    by the driver, and stays prepared from one request to the next."""
    factories.make_user(db)
    for _ in range(7):
        assert in_a_request(app, lambda db: db.scalar(select(func.count()).select_from(User))) == ["commit"]
    with app.app_context():
        connection = get_session().connection()
        if connection.dialect.name != "postgresql":
            pytest.skip("prepared statements: PostgreSQL only")
        prepared = connection.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar()
    assert prepared and prepared > 0
