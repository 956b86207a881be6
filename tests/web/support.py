"""What the web tests share: the steps a person takes in a browser, and reading the pages."""

import re
import threading
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests import factories

Answer = TypeVar("Answer")

CSRF_PATTERN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
COOKIE = "portal_session"
HOSTILE_SCRIPT = "<script>alert(1)</script>"


def csrf_token(client: FlaskClient, page: str, **kwargs) -> str:  # type: ignore[no-untyped-def]
    served = client.get(page, **kwargs)
    match = CSRF_PATTERN.search(served.get_data(as_text=True))
    assert match, f"{page} ({served.status_code}) has no CSRF token"
    return match.group(1)


def submit(client: FlaskClient, url: str, data: dict, *, page: str | None = None, **kwargs) -> TestResponse:  # type: ignore[type-arg]
    """POST `data` with the CSRF token served by `page` (default: `url`), as a browser would."""
    token = csrf_token(client, page or url, **kwargs)
    return client.post(url, data={"csrf_token": token, **data}, **kwargs)


def password_sign_in(client: FlaskClient, email: str, password: str = factories.PASSWORD, **kwargs) -> TestResponse:  # type: ignore[no-untyped-def]
    return submit(client, "/sign-in", {"email": email, "password": password}, **kwargs)


def sign_out(client: FlaskClient) -> TestResponse:
    # A page that every signed-in user can open serves the token of the sign-out form.
    return submit(client, "/sign-out", {}, page="/password")


def session_cookie(client: FlaskClient, name: str = COOKIE) -> str | None:
    cookie = client.get_cookie(name)
    return cookie.value if cookie is not None else None


def set_session_cookie(client: FlaskClient, value: str, name: str = COOKIE) -> None:
    client.set_cookie(name, value)


def location(response: TestResponse) -> str:
    return response.headers.get("Location", "")


def redirects_to_sign_in(response: TestResponse) -> bool:
    return response.status_code == 302 and urlsplit(location(response)).path == "/sign-in"


def stays_on_portal(target: str) -> bool:
    """True when a browser following `target` from a portal page stays on the portal."""
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return False
    return urlsplit(urljoin("http://localhost/sign-in", target)).netloc == "localhost"


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def without_tokens(html: str) -> str:
    """The page with its CSRF tokens blanked, to compare two answers."""
    return CSRF_PATTERN.sub('name="csrf_token" value=""', html)


def field_error(html: str, field_id: str) -> str | None:
    """The error message shown beside the field `field_id`, if any."""
    match = re.search(rf'<p class="field-error" id="{re.escape(field_id)}-error">(.*?)</p>', html, re.S)
    if match is None:
        return None
    return re.sub(r"<[^>]+>", "", match.group(1)).replace("Error:", "").strip()


def input_value(html: str, name: str) -> str | None:
    """The value an <input name=...> was rendered with (HTML-escaped, as in the page)."""
    for tag in re.findall(r"<input\b[^>]*>", html):
        if re.search(rf'\bname="{re.escape(name)}"', tag):
            value = re.search(r'\bvalue="([^"]*)"', tag)
            return value.group(1) if value else ""
    return None


def in_parallel(posts: list[Callable[[], Answer]]) -> list[Answer]:
    """Release every post (or other call) at once from a barrier, one thread each (the
    race tests on PostgreSQL); re-raise any thread's error here."""
    barrier = threading.Barrier(len(posts))
    answers: list[Any] = [None] * len(posts)

    def run(number: int) -> None:
        try:
            barrier.wait(timeout=30)
            answers[number] = posts[number]()
        except BaseException as error:  # handed to the test's thread below
            answers[number] = error

    threads = [threading.Thread(target=run, args=(number,)) for number in range(len(posts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a post did not finish"
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
    return answers
