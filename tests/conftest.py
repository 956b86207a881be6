"""Fixtures: an app per test on a fresh database, a client, the session, sign-in.

By default every test gets its own SQLite file. With PORTAL_TEST_DATABASE_URL set
(CI sets a PostgreSQL URL), the schema is built once and every table is emptied
after each test.
"""

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyotp
import pytest
from alembic import command as alembic_command
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings
from jinja2.bccache import Bucket, BytecodeCache
from sqlalchemy import create_engine, make_url, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from portal import create_app
from portal.cli import alembic_config
from portal.db import Base, get_engine, get_session, use_database
from portal.extensions import limiter
from portal.models import User
from tests import factories

IN_CI = os.environ.get("CI", "").lower() == "true"
# Properties, not timings: an example that runs slowly on a loaded machine is not a
# failure (Hypothesis's default fails any example slower than 200 ms).
settings.register_profile("portal", deadline=None)
settings.load_profile("portal")
# Under pytest-xdist each worker process ("gw0", "gw1", ...) gets a PostgreSQL database
# and a Redis database of its own, so that workers never see each other's rows or counts.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
WORKER_NUMBER = int(WORKER.removeprefix("gw") or 0)


def _database_of_this_worker(url: str) -> str:
    if not url or not WORKER:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{WORKER}").render_as_string(hide_password=False)


EXTERNAL_DATABASE_URL = _database_of_this_worker(os.environ.get("PORTAL_TEST_DATABASE_URL", ""))
if WORKER and "PORTAL_TEST_REDIS_URL" not in os.environ:
    os.environ["PORTAL_TEST_REDIS_URL"] = f"redis://127.0.0.1:6379/{15 - WORKER_NUMBER % 8}"


def pytest_report_header() -> str:
    return f"database: {EXTERNAL_DATABASE_URL or 'SQLite, a fresh file per test'}"


# The user property of tests/web/test_fuzz.py: (requests sent, answers 5xx), for the terminal summary.
FUZZ_COUNT = "fuzz"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fuzz-long", action="store_true", default=False, help="fuzz every page and form with many more requests"
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """The fuzz test's count (tests/web/test_fuzz.py), from the main process or an xdist worker."""
    for reports in terminalreporter.stats.values():
        for report in (report for report in reports if getattr(report, "when", None) == "call"):
            for name, value in report.user_properties:
                if name == FUZZ_COUNT:
                    sent, failed = value
                    terminalreporter.write_line(f"fuzz: {sent} requests sent, {failed} answered 5xx")


@pytest.fixture(scope="session")
def external_database() -> Iterator[str | None]:
    """The PostgreSQL database named by PORTAL_TEST_DATABASE_URL, with a freshly migrated schema."""
    if not EXTERNAL_DATABASE_URL:
        yield None
        return
    try:
        _create_if_missing(EXTERNAL_DATABASE_URL)
    except OperationalError as error:
        if IN_CI:
            raise
        pytest.skip(f"PostgreSQL at PORTAL_TEST_DATABASE_URL is not reachable: {error}")
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


def _create_if_missing(url: str) -> None:
    """A worker's own database, made beside the one PORTAL_TEST_DATABASE_URL names."""
    if not WORKER:
        return
    server = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            name = make_url(url).database
            if connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}) is None:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        server.dispose()


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


class MemoryBytecodeCache(BytecodeCache):
    """Templates compiled once per test run, not once per test's app."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = MemoryBytecodeCache()


@dataclass
class ReusableApp:
    """The app with the default test configuration, built once and reused by the tests
    that follow, each on its own fresh database; rebuilt after any test that needed an
    app of its own (the rate limiter is bound to the app made last)."""

    app: Flask | None = None
    config: dict[str, Any] = field(default_factory=dict)
    extensions: dict[str, Any] = field(default_factory=dict)

    def take(self, database_url: str, instance: Path) -> Flask:
        if self.app is None:
            self.app = new_app(database_url, instance, {})
            self.config, self.extensions = dict(self.app.config), dict(self.app.extensions)
        else:
            use_database(self.app, database_url)
        return self.app

    def give_back(self, app: Flask) -> None:
        """Undo what the test changed: its configuration, extensions and rate-limit counts."""
        if app is not self.app:
            return
        app.config.clear()
        app.config.update(self.config)
        app.extensions.clear()
        app.extensions.update(self.extensions)
        limiter.reset()


REUSABLE = ReusableApp()


def new_app(database_url: str, instance: Path, overrides: dict[str, object]) -> Flask:
    REUSABLE.app = None
    app = create_app(make_test_config(database_url, instance, **overrides))
    app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
    return app


@pytest.fixture
def app(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    external_database: str | None,
    sqlite_template: Path,
    app_config: dict[str, object],
) -> Iterator[Flask]:
    """The app on a fresh database. Mark a test `own_app` when it changes the app in a
    way that cannot be undone (a route added)."""
    if external_database is None:
        database_file = tmp_path / "portal.sqlite3"
        shutil.copyfile(sqlite_template, database_file)
        database_url = f"sqlite:///{database_file}"
    else:
        database_url = external_database
    if app_config or request.node.get_closest_marker("own_app"):
        app = new_app(database_url, tmp_path, app_config)
    else:
        app = REUSABLE.take(database_url, tmp_path)
    app.instance_path = str(tmp_path / "instance")
    yield app
    with app.app_context():
        engine = get_engine()
        if external_database is not None:
            # All but the district data's version, the schema's own row (models/district_data.py),
            # raised by the TRUNCATE of the district's tables.
            tables = ", ".join(
                f'"{table.name}"' for table in Base.metadata.sorted_tables if table.name != "district_data_version"
            )
            with engine.begin() as connection:
                connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
    REUSABLE.give_back(app)
    if request.node.get_closest_marker("own_app"):
        REUSABLE.app = None


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
def admin(db: Session) -> User:
    """An administrator, not signed in."""
    return factories.make_admin(db)


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
