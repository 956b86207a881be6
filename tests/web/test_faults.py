"""Pages while a dependency is down: the database gives "we'll be right back" (503,
Retry-After, the visitor's language, built without the database); Redis down still
serves, and /healthz says which one is down."""

import html
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, gettext
from sqlalchemy import event, text
from sqlalchemy.orm import sessionmaker

from portal.db import get_engine, make_engine
from portal.extensions import limiter
from portal.models import User
from tests import factories
from tests.web.support import csrf_token, password_sign_in
from tests.web.test_rate_limits import CLOSED_REDIS_PORT, REAL_REDIS, real_redis_or_skip

CLOSED_POSTGRESQL_PORT = "postgresql+psycopg://postgres@127.0.0.1:1/portal"
RETRY_AFTER_SECONDS = 17


@pytest.fixture
def app_config(request: pytest.FixtureRequest) -> dict[str, object]:
    overrides = getattr(request, "param", {})
    if overrides.get("REDIS_URL") == REAL_REDIS:
        real_redis_or_skip()
    return {"UNAVAILABLE_RETRY_AFTER_SECONDS": RETRY_AFTER_SECONDS, **overrides}


@pytest.fixture(params=["postgresql-closed-port", "sqlite-unreadable-path"])
def dead_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql-closed-port":
        return CLOSED_POSTGRESQL_PORT
    return f"sqlite:///{tmp_path / 'no-such-directory' / 'portal.sqlite3'}"


@contextmanager
def database_down(app: Flask, url: str) -> Iterator[list[str]]:
    """The running app's database is unreachable; yields the list of connection attempts."""
    engine = make_engine(url, connect_timeout_seconds=2)
    attempts: list[str] = []
    event.listen(engine, "do_connect", lambda *_args: attempts.append(url))
    saved = dict(app.extensions)
    app.extensions["portal.engine"] = engine
    app.extensions["portal.sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)
    try:
        yield attempts
    finally:
        app.extensions.update(saved)
        engine.dispose()


def page_text(app: Flask, language: str) -> tuple[str, str, str]:
    """The 503 page's heading and message, and the layout's way on, from the catalog of `language`."""
    with app.test_request_context(), force_locale(language):
        return (
            gettext("We'll be right back"),
            gettext(
                "The portal is unavailable for a few minutes. Please try again shortly. "
                "If you were sending a form, it was not saved: please send it again."
            ),
            gettext("Go to the start page"),
        )


def assert_right_back(app: Flask, response, language: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response.headers["Cache-Control"] == "no-store"
    page = html.unescape(response.get_data(as_text=True))
    assert f'<html lang="{language}">' in page
    for sentence in page_text(app, language):
        assert sentence in page
    assert "Traceback" not in page
    assert "Sign out" not in page  # the layout of someone signed out: nothing read about the user


def test_the_spanish_catalog_is_what_the_spanish_page_is_checked_against(app):
    # Guards the tests below: the Spanish layout really is Spanish, not the English fallback.
    assert page_text(app, "es")[2] != page_text(app, "en")[2]


@pytest.mark.parametrize(("accept_language", "language"), [("en-US,en;q=0.9", "en"), ("es-MX,es;q=0.9", "es")])
def test_a_visitor_gets_we_will_be_right_back_in_their_browsers_language(
    app, client, dead_database_url, accept_language, language
):
    headers = {"Accept-Language": accept_language}
    token = csrf_token(client, "/sign-in", headers=headers)
    with database_down(app, dead_database_url) as attempts:
        for response in (
            client.get("/feedback/public", headers=headers),
            client.post(
                "/sign-in", data={"csrf_token": token, "email": "a@example.org", "password": "x" * 12}, headers=headers
            ),
        ):
            assert_right_back(app, response, language)
    # One try per request, the one that failed: the page itself asked the database nothing.
    assert len(attempts) == 2


def test_the_language_chosen_on_the_portal_beats_the_browsers(app, client, dead_database_url):
    token = csrf_token(client, "/sign-in")
    client.post("/language", data={"csrf_token": token, "language": "es", "next": "/sign-in"})
    with database_down(app, dead_database_url) as attempts:
        response = client.get("/feedback/public", headers={"Accept-Language": "en"})
    assert_right_back(app, response, "es")
    assert len(attempts) == 1


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_signed_in_family_gets_we_will_be_right_back_in_its_own_language(
    app, db, client, dead_database_url, language
):
    guardian = factories.guardians_of(db, factories.make_household(db))[0]
    db.get(User, guardian.id).language = language
    db.commit()
    password_sign_in(client, guardian.email, headers={"Accept-Language": "en"})
    assert client.get("/family/").status_code == 200
    with database_down(app, dead_database_url) as attempts:
        responses = [client.get(path, headers={"Accept-Language": "en"}) for path in ("/family/", "/requests/")]
    for response in responses:
        assert_right_back(app, response, language)
        assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert len(attempts) == len(responses)
    # Back up: the same cookie is still signed in.
    assert client.get("/family/").status_code == 200


@pytest.mark.parametrize("app_config", [{"PUBLIC_FEEDBACK_LIMIT_PER_CLIENT": "1 per hour"}], indirect=True)
def test_an_error_page_that_needs_the_database_is_still_we_will_be_right_back(app, client, dead_database_url):
    # The rate-limit page records a security event: with the database down, that fails
    # while the error page is being built, and must still end in the 503 page.
    app.config["PROPAGATE_EXCEPTIONS"] = False
    token = csrf_token(client, "/feedback/public")
    with database_down(app, dead_database_url):
        responses = [client.post("/feedback/public", data={"csrf_token": token}) for _ in range(2)]
    assert [response.status_code for response in responses] == [503, 503]
    assert_right_back(app, responses[1], "en")


@pytest.mark.parametrize("app_config", [{"SIGN_IN_LIMIT_PER_ACCOUNT": "3 per 15 minutes"}], indirect=True)
def test_sign_ins_that_met_a_database_outage_do_not_count_against_the_limit(app, db, client, dead_database_url):
    guardian = factories.guardians_of(db, factories.make_household(db))[0]
    token = csrf_token(client, "/sign-in")
    typed = {"csrf_token": token, "email": guardian.email, "password": factories.PASSWORD}
    with database_down(app, dead_database_url):
        outage = [client.post("/sign-in", data=typed) for _ in range(6)]
    for response in outage:
        assert_right_back(app, response, "en")
    # The family tried again and again while the portal was down: it is not locked out.
    assert client.post("/sign-in", data=typed).status_code == 302


def test_healthz_names_the_database_as_the_dependency_that_is_down(app, client, dead_database_url):
    with database_down(app, dead_database_url):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "error", "database": "unavailable", "redis": "not configured"}


def test_a_database_that_dropped_the_portals_connections_is_used_again_at_once(app, db, client):
    """A PostgreSQL restart, as the app sees it: every pooled connection is dead. The next
    request is served (the pool replaces them at check-out), not answered 503."""
    if app.config["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("PostgreSQL only: SQLite has no server that can drop a connection")
    guardian = factories.guardians_of(db, factories.make_household(db))[0]
    password_sign_in(client, guardian.email)
    assert client.get("/family/").status_code == 200
    with app.app_context(), get_engine().connect() as connection:
        portal_backend = connection.scalar(text("SELECT pg_backend_pid()"))
    # The timeout waits for the backend's end, as a restart ends them before it is back.
    db.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": portal_backend})
    db.commit()
    assert client.get("/family/").status_code == 200


# Redis ---------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _limiter_forgets_a_dead_storage() -> Iterator[None]:
    # The limiter is one object rebound by every test app; a storage marked dead by one
    # test must not leave the next test on the in-memory fallback.
    yield
    limiter._storage_dead = False


@pytest.mark.parametrize("app_config", [{"REDIS_URL": CLOSED_REDIS_PORT}], indirect=True)
def test_healthz_with_redis_down_is_degraded_but_up(client: FlaskClient):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "degraded", "database": "ok", "redis": "unavailable"}


@pytest.mark.parametrize("app_config", [{"REDIS_URL": REAL_REDIS}], indirect=True)
def test_healthz_with_redis_up_is_ok(client: FlaskClient):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "redis": "ok"}
