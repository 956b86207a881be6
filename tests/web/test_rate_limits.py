"""Failed sign-ins and activation codes are limited per client and per account; successes do not count.

Every test runs on each limit storage: memory (no REDIS_URL), Redis (127.0.0.1:6379, skipped
when unreachable except in CI), and a Redis that is down (a closed port). Redis down, the
limits must still hold, counted per process, and nothing may answer 500.
"""

import os
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest
import redis
from sqlalchemy import func, select

from portal.extensions import limiter
from portal.models import Notification
from tests import factories
from tests.web.support import location, submit, text

PER_CLIENT = 5
PER_ACCOUNT = 3
ACTIVATIONS = 3
RESETS_PER_ACCOUNT = 2
WRONG_PASSWORD = "not the password!"


REAL_REDIS = os.environ.get("PORTAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CLOSED_REDIS_PORT = "redis://127.0.0.1:1/0"
STORAGES = {"memory": None, "redis": REAL_REDIS, "redis-down": CLOSED_REDIS_PORT}


def real_redis_or_skip() -> None:
    """Redis runs beside the tests here and in CI; elsewhere its tests are skipped."""
    try:
        redis.Redis.from_url(REAL_REDIS, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        if os.environ.get("CI", "").lower() == "true":
            raise
        pytest.skip(f"Redis at {REAL_REDIS} is not reachable: {error}")


@pytest.fixture(params=list(STORAGES))
def storage(request: pytest.FixtureRequest) -> str:
    if request.param == "redis":
        real_redis_or_skip()
    return request.param


@pytest.fixture
def app_config(storage: str) -> dict[str, object]:
    return {
        "SIGN_IN_LIMIT_PER_CLIENT": f"{PER_CLIENT} per 10 minutes",
        "SIGN_IN_LIMIT_PER_ACCOUNT": f"{PER_ACCOUNT} per 15 minutes",
        "ACTIVATION_LIMIT_PER_CLIENT": f"{ACTIVATIONS} per 10 minutes",
        "RESET_LIMIT_PER_ACCOUNT": f"{RESETS_PER_ACCOUNT} per hour",
        "REDIS_URL": STORAGES[storage],
    }


@pytest.fixture(autouse=True)
def fresh_limits(app, storage: str) -> Iterator[None]:  # type: ignore[no-untyped-def]
    if storage == "redis":
        limiter.reset()  # the counts of earlier tests (Redis database 15 is the tests' own)
    yield
    # The limiter is one object rebound by every test app: a storage one test found dead
    # must not leave the next on the in-memory fallback.
    limiter._storage_dead = False


def from_address(address: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": address}}


def attempt(client, email: str, password: str = WRONG_PASSWORD, address: str = "198.51.100.7"):
    return submit(client, "/sign-in", {"email": email, "password": password}, **from_address(address))


def assert_limited(response) -> None:
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 60 * 60  # when the window of the limit ends
    assert not [name for name, _value in response.headers if name.lower().startswith("x-ratelimit")]
    page = text(response)
    assert "Too many attempts" in page
    assert "wait a few minutes" in page
    assert 'href="/"' in page  # the friendly page, in the layout, with a way on


def test_the_attempt_after_the_limit_per_client_is_refused_with_a_friendly_page(client):
    for number in range(PER_CLIENT):
        assert attempt(client, f"stranger{number}@example.org").status_code == 200
    assert_limited(attempt(client, "one.more@example.org"))


def test_the_limit_per_client_does_not_hold_back_other_clients(client):
    for number in range(PER_CLIENT + 1):
        attempt(client, f"stranger{number}@example.org")
    assert attempt(client, "someone@example.org", address="203.0.113.50").status_code == 200


def test_the_attempt_after_the_limit_per_account_is_refused_from_any_address(client, guardian):
    for number in range(PER_ACCOUNT):
        assert attempt(client, guardian.email, address=f"198.51.100.{number + 1}").status_code == 200
    assert_limited(attempt(client, guardian.email.upper(), address="203.0.113.99"))


def test_a_locked_account_stays_locked_even_with_the_right_password(client, guardian):
    for _ in range(PER_ACCOUNT):
        attempt(client, guardian.email)
    assert_limited(attempt(client, guardian.email, factories.PASSWORD, address="203.0.113.5"))


def test_the_limit_per_account_does_not_lock_other_accounts(client, guardian):
    for _ in range(PER_ACCOUNT + 1):
        attempt(client, "target@example.org")
    response = attempt(client, guardian.email, factories.PASSWORD, address="203.0.113.5")
    assert response.status_code == 302


def test_successful_sign_ins_do_not_count(app, guardian):
    client = app.test_client()
    for _ in range(PER_ACCOUNT - 1):
        assert attempt(client, guardian.email).status_code == 200
    for _ in range(PER_CLIENT):
        browser = app.test_client()
        assert location(attempt(browser, guardian.email, factories.PASSWORD)) == "/family/"
    assert attempt(client, guardian.email).status_code == 200
    assert_limited(attempt(client, guardian.email))


def test_activation_codes_are_limited_per_client(client):
    for _ in range(ACTIVATIONS):
        response = submit(client, "/activate", {"code": "2222-3333-4444"}, **from_address("198.51.100.7"))
        assert response.status_code == 200
    assert_limited(submit(client, "/activate", {"code": "2222-3333-4444"}, **from_address("198.51.100.7")))
    other = submit(client, "/activate", {"code": "2222-3333-4444"}, **from_address("203.0.113.8"))
    assert other.status_code == 200


def test_a_right_activation_code_does_not_count(app, db):
    household = factories.make_household(db, guardians=ACTIVATIONS + 1, activated=False)
    with app.app_context():
        codes = [factories.invite(db, guardian).code for guardian in factories.guardians_of(db, household)]
    client = app.test_client()
    for _ in range(ACTIVATIONS - 1):
        assert submit(client, "/activate", {"code": "2222-3333-4444"}).status_code == 200
    for code in codes:
        assert location(submit(client, "/activate", {"code": code})) == "/activate/password"
    assert submit(client, "/activate", {"code": "2222-3333-4444"}).status_code == 200
    assert_limited(submit(client, "/activate", {"code": "2222-3333-4444"}))


def reset_emails(db) -> int:
    return db.scalar(select(func.count()).select_from(Notification).where(Notification.template == "password_reset"))


def test_forgot_password_requests_are_limited_per_client_whether_or_not_they_succeed(client, db):
    for number in range(PER_CLIENT):
        assert submit(client, "/forgot-password", {"email": f"person{number}@example.org"}).status_code == 302
    assert_limited(submit(client, "/forgot-password", {"email": "one.more@example.org"}))


def test_reset_emails_to_one_account_are_limited_from_any_address(client, db, guardian):
    # Each request sends an email: a stranger must not be able to flood someone's inbox.
    for number in range(RESETS_PER_ACCOUNT):
        response = submit(client, "/forgot-password", {"email": guardian.email}, **from_address(f"198.51.100.{number}"))
        assert response.status_code == 302
    assert_limited(submit(client, "/forgot-password", {"email": guardian.email}, **from_address("203.0.113.77")))
    assert reset_emails(db) == RESETS_PER_ACCOUNT


@pytest.mark.parametrize("storage", ["redis"], indirect=True)
def test_with_redis_the_counts_live_in_redis_shared_by_every_host(client):
    attempt(client, "stranger@example.org", address="198.51.100.42")
    keys = redis.Redis.from_url(REAL_REDIS).keys("LIMITS*")
    assert any(b"198.51.100.42" in key for key in keys)


@pytest.mark.parametrize("storage", ["redis-down"], indirect=True)
def test_with_redis_down_the_limits_hold_per_process_and_the_fall_back_is_logged(client, caplog):
    for number in range(PER_CLIENT):
        assert attempt(client, f"stranger{number}@example.org").status_code == 200
    assert_limited(attempt(client, "one.more@example.org"))
    assert "falling back to in-memory storage" in caplog.text


def test_an_ordinary_page_of_a_limited_route_carries_no_limit_headers(client):
    response = attempt(client, "stranger@example.org")
    assert response.status_code == 200
    assert "Retry-After" not in response.headers
    assert not [name for name, _value in response.headers if name.lower().startswith("x-ratelimit")]


@pytest.mark.parametrize("storage", ["redis-down"], indirect=True)
def test_a_dead_redis_is_logged_with_time_and_level_where_the_operator_reads(tmp_path):
    # Outside pytest's log capture: a fresh interpreter, as gunicorn or the worker starts.
    config = {
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "SECRET_KEY": "x",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
    }
    script = "\n".join(
        [
            "from portal import create_app",
            "from portal.db import Base, get_engine",
            f"app = create_app({{**{config!r}, 'REDIS_URL': {CLOSED_REDIS_PORT!r}}})",
            "with app.app_context():",
            "    Base.metadata.create_all(get_engine())",
            "client = app.test_client()",
            "client.post('/sign-in', data={'email': 'a@example.org', 'password': 'wrong password!'})",
        ]
    )
    ran = subprocess.run(  # noqa: S603 (this interpreter, this test's own script)
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ WARNING flask-limiter: .*falling back", ran.stderr, re.M), (
        ran.stderr
    )
