"""The PostgreSQL pool hands out a live connection without asking the server first: a
connection the server dropped or spoke on while it sat idle is replaced at check-out
(portal.db._replace_if_dropped), and any other is handed out as it is."""

import select
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine, text

from portal.db import make_engine


@pytest.fixture
def engine(app) -> Iterator[Engine]:
    """A pool of the portal's own making, of its own: the test knows every connection in it."""
    url = app.config["DATABASE_URL"]
    if url.startswith("sqlite"):
        pytest.skip("PostgreSQL only: SQLite has no server that can drop a connection")
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def observer(engine) -> Iterator[psycopg.Connection]:
    """A connection apart from the pool, to watch and act on the pool's from the server."""
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as connection:
        yield connection


def backend_of(engine: Engine) -> tuple[int, psycopg.Connection]:
    """The server process and the driver connection of the pool's one connection, after a
    statement and its check-in."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 'the last statement'"))
        driver = connection.connection.driver_connection
    return driver.info.backend_pid, driver


def last_activity(observer: psycopg.Connection, pid: int) -> tuple[object, ...]:
    return observer.execute("SELECT query, state_change FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()


def test_a_connection_taken_from_the_pool_sends_nothing_to_the_server(engine, observer):
    pid, driver = backend_of(engine)
    seen = last_activity(observer, pid)
    with engine.connect() as connection:
        assert connection.connection.driver_connection is driver
        # A ping (the pool's pre-ping) would show as the backend's latest query.
        assert last_activity(observer, pid) == seen
        assert connection.scalar(text("SELECT pg_backend_pid()")) == pid


def test_a_connection_the_server_ended_is_replaced_at_check_out(engine, observer):
    pid, driver = backend_of(engine)
    # What a restart does to every pooled connection; the timeout waits for the backend's end.
    assert observer.execute("SELECT pg_terminate_backend(%s, 5000)", [pid]).fetchone() == (True,)
    with engine.connect() as connection:
        assert connection.connection.driver_connection is not driver
        assert connection.scalar(text("SELECT pg_backend_pid()")) != pid


def test_a_connection_the_server_spoke_on_while_it_was_idle_is_replaced(engine, observer):
    with engine.connect() as connection:
        connection.execute(text("LISTEN portal_pool_test"))
        connection.commit()
        driver = connection.connection.driver_connection
    observer.execute("NOTIFY portal_pool_test")
    # The backend passes the notification on as soon as it notices it, not at once.
    assert select.select([driver.fileno()], [], [], 5)[0]
    pid = driver.info.backend_pid
    with engine.connect() as connection:
        assert connection.connection.driver_connection is not driver
        assert connection.scalar(text("SELECT pg_backend_pid()")) != pid


def test_a_connection_closed_while_it_was_idle_is_replaced(engine):
    _pid, driver = backend_of(engine)
    driver.close()
    with engine.connect() as connection:
        assert connection.connection.driver_connection is not driver
        assert connection.scalar(text("SELECT 1")) == 1
