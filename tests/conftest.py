"""Fixtures: an app per test on a fresh database, a client, the session, sign-in.

By default every test gets its own SQLite file. With PORTAL_TEST_DATABASE_URL set
(CI sets a PostgreSQL URL), the schema is built once and every table is emptied
after each test.
"""

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from alembic import command as alembic_command
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from portal import create_app
from portal.cli import alembic_config
from portal.db import Base, get_engine, get_session
from portal.models import User
from tests import factories

EXTERNAL_DATABASE_URL = os.environ.get("PORTAL_TEST_DATABASE_URL", "")
IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_report_header() -> str:
    return f"database: {EXTERNAL_DATABASE_URL or 'SQLite, a fresh file per test'}"


# (requests sent, answers 5xx) of tests/web/test_fuzz.py, for the terminal summary.
FUZZ_COUNT = pytest.StashKey[tuple[int, int]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fuzz-long", action="store_true", default=False, help="fuzz every page and form with many more requests"
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if FUZZ_COUNT in config.stash:
        sent, failed = config.stash[FUZZ_COUNT]
        terminalreporter.write_line(f"fuzz: {sent} requests sent, {failed} answered 5xx")


@pytest.fixture(scope="session")
def external_database() -> Iterator[str | None]:
    """The PostgreSQL database named by PORTAL_TEST_DATABASE_URL, with a freshly migrated schema."""
    if not EXTERNAL_DATABASE_URL:
        yield None
        return
    engine = create_engine(EXTERNAL_DATABASE_URL)
    try:
        with engine.begin() as connection:
            # Built by the migrations, as init-db builds it: with PostgreSQL's own indexes.
            Base.metadata.drop_all(connection)
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
            config = alembic_config()
            config.attributes["connection"] = connection
            alembic_command.upgrade(config, "head")
    except OperationalError as error:
        engine.dispose()
        if IN_CI:
            raise
        pytest.skip(f"PostgreSQL at PORTAL_TEST_DATABASE_URL is not reachable: {error}")
    yield EXTERNAL_DATABASE_URL
    engine.dispose()


def make_test_config(database_url: str, instance: Path, **overrides: object) -> dict[str, object]:
    config: dict[str, object] = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "DATABASE_URL": database_url,
        "BASE_URL": "http://portal.test",
        "SMTP_HOST": None,
        # Argon2id at its cheapest: the tests check behaviour, not cost.
        "PASSWORD_HASH_TIME_COST": 1,
        "PASSWORD_HASH_MEMORY_KIB": 8,
        "PASSWORD_HASH_PARALLELISM": 1,
    }
    config.update(overrides)
    return config


@pytest.fixture
def app_config() -> dict[str, object]:
    """Override in a test module to change the configuration of `app`."""
    return {}


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty database with the schema, built once and copied for every test."""
    path = tmp_path_factory.mktemp("schema") / "template.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    engine.dispose()
    return path


@pytest.fixture
def app(
    tmp_path: Path, external_database: str | None, sqlite_template: Path, app_config: dict[str, object]
) -> Iterator[Flask]:
    if external_database is None:
        database_file = tmp_path / "portal.sqlite3"
        shutil.copyfile(sqlite_template, database_file)
        database_url = f"sqlite:///{database_file}"
    else:
        database_url = external_database
    app = create_app(make_test_config(database_url, tmp_path, **app_config))
    app.instance_path = str(tmp_path / "instance")
    yield app
    with app.app_context():
        engine = get_engine()
        if external_database is not None:
            tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
            with engine.begin() as connection:
                connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


@pytest.fixture
def db(app: Flask) -> Iterator[Session]:
    """A session of its own, outside any app context: an app context held open
    here would be shared by the test client's requests (their `g`, their
    session, their signed-in user), hiding bugs that real requests would show."""
    session = app.extensions["portal.sessionmaker"]()
    yield session
    session.close()


CSRF_PATTERN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token_from(html: str) -> str:
    match = CSRF_PATTERN.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


class Browser:
    """The test client, used as a person would: GET a page, send its form back with its token."""

    def __init__(self, client: FlaskClient, app: Flask) -> None:
        self.client = client
        self.app = app

    def get(self, url: str, **kwargs):  # type: ignore[no-untyped-def]
        return self.client.get(url, **kwargs)

    def submit(self, url: str, data: dict[str, object], *, page: str | None = None, **kwargs):  # type: ignore[no-untyped-def]
        """POST `data` to `url` with the CSRF token of `page` (default: `url` itself)."""
        served = self.client.get(page or url)
        token = csrf_token_from(served.get_data(as_text=True))
        return self.client.post(url, data={"csrf_token": token, **data}, **kwargs)

    def sign_in(self, email: str, password: str = factories.PASSWORD):  # type: ignore[no-untyped-def]
        """Sign in, with the second factor when the account asks for one (factories.TOTP_SECRET)."""
        response = self.submit("/sign-in", {"email": email, "password": password})
        assert response.status_code == 302, f"sign-in of {email} failed"
        if response.headers["Location"].endswith("/sign-in/code"):
            response = self.submit("/sign-in/code", {"code": self.fresh_totp_code(email)})
            assert response.status_code == 302, f"second factor of {email} failed"
        return response

    def fresh_totp_code(self, email: str) -> str:
        """The current code, made usable again: several sign-ins in one test may share a 30 s step."""
        with self.app.app_context():
            db = get_session()
            user = db.scalar(select(User).where(User.email == email.lower()))
            assert user is not None and user.totp_secret
            user.totp_last_step = None
            db.commit()
            return pyotp.TOTP(user.totp_secret).now()

    def sign_out(self):  # type: ignore[no-untyped-def]
        return self.submit("/sign-out", {}, page="/security/")


@pytest.fixture
def browser(client: FlaskClient, app: Flask) -> Browser:
    return Browser(client, app)


@pytest.fixture
def sign_in(app: Flask, client: FlaskClient):  # type: ignore[no-untyped-def]
    """sign_in(user) signs the test client in as `user` (made by tests.factories)."""

    def sign_in_as(user, password: str = factories.PASSWORD) -> Browser:  # type: ignore[no-untyped-def]
        browser = Browser(client, app)
        browser.sign_in(user.email, password)
        return browser

    return sign_in_as
