"""numbered_links writes, for every route that takes one row id, the link url_for writes,
for any id a route accepts, under any application root (one holding the marker's digits
included: there url_for builds each link)."""

import pytest
from flask import Flask, url_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.blueprints.links import _MARKER, numbered_links
from portal.db import MAX_ROW_ID


def routes_of_one_row_id(app: Flask) -> list[tuple[str, str]]:
    """(endpoint, argument) of every route whose only argument is an <int:...> row id."""
    found = []
    for rule in app.url_map.iter_rules():
        if len(rule.arguments) == 1 and f"<int:{next(iter(rule.arguments))}>" in rule.rule:
            found.append((rule.endpoint, next(iter(rule.arguments))))
    return sorted(found)


ROOTS = ["/", "/portal/", f"/district-{_MARKER}/", f"/{_MARKER}{_MARKER}/"]


@pytest.mark.parametrize("root", ROOTS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(numbers=st.lists(st.one_of(st.integers(1, MAX_ROW_ID), st.sampled_from([1, _MARKER, 9, 10])), max_size=5))
def test_each_link_is_the_one_url_for_writes(app: Flask, root: str, numbers: list[int]) -> None:
    routes = routes_of_one_row_id(app)
    assert ("staff_requests.detail", "request_id") in routes and ("staff_feedback.detail", "feedback_id") in routes
    with app.test_request_context("/", base_url=f"http://localhost{root}"):
        for endpoint, argument in routes:
            link_of = numbered_links(endpoint, argument)
            for number in numbers:
                assert link_of(number) == url_for(endpoint, **{argument: number}), (endpoint, root)
