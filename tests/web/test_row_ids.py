"""An id in a URL beyond what the database's integer keys hold is a missing row (404),
for every route that takes one, never an overflow deep in the database driver."""

import re

import pytest
from flask import Flask

from tests import factories

TOO_BIG = "99999999999999999999"  # past 64 bits: SQLite's driver cannot even bind it
JUST_TOO_BIG = str(2**31)  # past PostgreSQL's INTEGER


def id_routes(app: Flask) -> list[str]:
    return sorted({rule.rule for rule in app.url_map.iter_rules() if "<int:" in rule.rule})


@pytest.mark.parametrize("number", [TOO_BIG, JUST_TOO_BIG])
@pytest.mark.parametrize("role", ["family", "staff", "admin"])
def test_every_route_with_an_id_answers_404_for_an_id_too_big_for_the_database(app, db, sign_in, role, number):
    household = factories.make_household(db)
    user = {
        "family": lambda: factories.guardians_of(db, household)[0],
        "staff": lambda: factories.make_staff(db),
        "admin": lambda: factories.make_admin(db),
    }[role]()
    db.commit()
    browser = sign_in(user)
    routes = id_routes(app)
    assert routes, "no route takes an id"
    answers = {}
    for rule in routes:
        path = re.sub(r"<int:[^>]+>", number, rule)
        path = re.sub(r"<[^>]+>", "token", path)
        answers[path] = browser.get(path).status_code
    # 404 for a missing row; 403 where the role may not open the page at all; 405 for POST-only routes.
    assert {path: code for path, code in answers.items() if code not in (403, 404, 405)} == {}
