"""A search a trigram index cannot serve (a letter, a symbol, a prefix alone; two letters
in the queues) is not run: the box says why, in the staff member's language, and the
list is the unsearched one. Run, it would read every request and message, or every
household, of a district (up to 0.65 s at 100,000 requests: bench/RESULTS.md, tenth round)."""

import html

import pytest

from tests.web.support import field_error, input_value, text
from tests.web.test_requests_staff import ask

QUEUE_MESSAGE = {
    "en": "Type a reference number, or at least three letters or digits in a row.",
    "es": "Escriba un número de referencia, o al menos tres letras o cifras seguidas.",
}
HOUSEHOLD_MESSAGE = {
    "en": "Type at least two letters or digits in a row.",
    "es": "Escriba al menos dos letras o cifras seguidas.",
}
QUEUES = ["/staff/requests/", "/staff/feedback/"]


@pytest.fixture
def desk(db, staff, sign_in, guardian, transport):  # type: ignore[no-untyped-def]
    ask(db, guardian, transport, subject="Late bus on Elm Street")
    return sign_in(staff)


def page(browser, path: str, **params: str) -> str:  # type: ignore[no-untyped-def]
    response = browser.get(path, query_string={"status": "all", **params})
    assert response.status_code == 200
    return html.unescape(text(response))


@pytest.mark.parametrize("path", QUEUES)
@pytest.mark.parametrize("query", ["a", "R-", "F-", "le", "b-u-s", "%", "_", "@", "-- ;", "é"])
def test_a_queue_search_too_short_to_search_is_explained_next_to_the_box(desk, path, query):
    shown = page(desk, path, q=query)
    assert field_error(shown, "q") == QUEUE_MESSAGE["en"]
    unsearched = page(desk, path)
    assert shown.count("<tr>") == unsearched.count("<tr>")


@pytest.mark.parametrize(("path", "reference"), [("/staff/requests/", "R-1"), ("/staff/feedback/", "F-1")])
@pytest.mark.parametrize("query", ["bus", "Elm", "reference", "12", "r-000001"])
def test_a_queue_search_with_its_reference_or_three_letters_is_run(desk, path, reference, query):
    query = reference if query == "reference" else query
    assert field_error(page(desk, path, q=query), "q") is None


@pytest.mark.parametrize("query", ["a", "%", "_", "@", "é", "5-5-5"])
def test_a_household_search_too_short_to_search_is_explained_and_kept_in_the_box(desk, query):
    shown = page(desk, "/staff/households", q=query)
    assert field_error(shown, "q") == HOUSEHOLD_MESSAGE["en"]
    assert input_value(shown, "q") == html.escape(query)
    assert "Alvarez family" in shown  # the unsearched list


@pytest.mark.parametrize("query", ["Al", "wu", "12"])
def test_a_household_search_of_two_letters_is_run(desk, query):
    assert field_error(page(desk, "/staff/households", q=query), "q") is None


def test_the_explanations_are_in_the_staff_members_language(db, staff, desk):
    staff.language = "es"
    db.commit()
    for path in QUEUES:
        assert field_error(page(desk, path, q="a"), "q") == QUEUE_MESSAGE["es"], path
    assert field_error(page(desk, "/staff/households", q="a"), "q") == HOUSEHOLD_MESSAGE["es"]
