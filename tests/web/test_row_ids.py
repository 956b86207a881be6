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


# Numbers int() would take but a person never types, and numbers past the database's integers.
ODD_NUMBERS = ["١٢٣", "１２", " 7", "1_0", "-2147483649", str(2**31), str(2**63), "9" * 40]


@pytest.mark.parametrize("number", ODD_NUMBERS)
def test_number_filters_in_a_query_string_take_only_ascii_digits_in_range(app, db, sign_in, number):
    browser = sign_in(factories.make_admin(db))
    paths = [
        f"/admin/access-log?household={number}&staff={number}&page={number}",
        f"/admin/access-log.csv?household={number}&staff={number}",
        f"/admin/security-events?page={number}",
        f"/admin/?page={number}",
        f"/staff/requests/?page={number}&department_id={number}&school_id={number}&assignee={number}",
        f"/staff/feedback/?page={number}&department_id={number}&school_id={number}&rating={number}&assignee={number}",
        f"/staff/households?page={number}&q={number}",
    ]
    answers = {path: browser.get(path).status_code for path in paths}
    assert {path: code for path, code in answers.items() if code != 200} == {}


def test_a_number_in_unusual_digits_is_not_read_as_that_number(app, db, sign_in):
    household = factories.make_household(db)
    browser = sign_in(factories.make_admin(db))
    arabic = "".join("٠١٢٣٤٥٦٧٨٩"[int(digit)] for digit in str(household.id))
    page = browser.get(f"/admin/access-log?household={arabic}").get_data(as_text=True)
    assert browser.get(f"/admin/access-log?household={household.id}").status_code == 200
    assert f'value="{household.id}"' not in page


@pytest.mark.parametrize("zero", [0x0660, 0xFF10, 0x07C0], ids=["arabic-indic", "full-width", "nko"])
def test_an_id_in_a_url_is_ascii_digits_only(app, db, sign_in, zero):
    household = factories.make_household(db)
    browser = sign_in(factories.make_staff(db))
    same_number = str(household.id).translate({ord("0") + n: zero + n for n in range(10)})
    assert int(same_number) == household.id
    assert browser.get(f"/staff/households/{household.id}").status_code == 200
    assert browser.get(f"/staff/households/{same_number}").status_code == 404
