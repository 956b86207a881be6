"""Hostile and oversized input on every form: a clear answer, never a 500, nothing unsafe stored or echoed.

Each form gets every hostile value in every one of its text fields, while its other
fields hold ordinary values that must still be in the form when it comes back.
Bytes that are not UTF-8, JSON and broken multipart bodies, file parts and numbers
out of range, on every page and form, are test_fuzz.py's.
"""

import importlib
import io
import itertools
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from flask_wtf import FlaskForm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import String, Text, select

import portal.blueprints
from portal.blueprints.forms import PortalForm, whole_number
from portal.db import Base
from portal.models import Household, School, Student, User
from tests import factories
from tests.conftest import Browser
from tests.web.support import HOSTILE_SCRIPT, csrf_token, field_error, input_value, text

HOSTILE = {
    "script": HOSTILE_SCRIPT,
    "attribute": '"><img src=x onerror=alert(1)>',
    "sql": "' OR '1'='1'; DROP TABLE \"user\"; --",
    "control characters": "Ana\x07\x1b[2J\x08\x7f Lee",
    "nul byte": "Ana\x00Lee",
    "10 000 characters": "x" * 10_000,
    "right-to-left override": "Ana\u202eeeL",
}
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
_numbers = itertools.count(1)


@dataclass
class FormUnderTest:
    who: str | None  # None: anonymous; else the account that fills it in
    path: Callable[[dict], str]
    data: Callable[[int], dict[str, str]]
    attack: list[str]
    kept: dict[str, str] = field(default_factory=dict)  # a field whose ordinary value must come back


def password_fields(number: int) -> dict[str, str]:
    return {"password": "plain sailing on the bay", "confirm": "plain sailing on the bay"}


FORMS = {
    "sign-in": FormUnderTest(
        None,
        lambda ids: "/sign-in",
        lambda n: {"email": "ana@example.org", "password": "some password here"},
        ["email", "password"],
        {"email": "ana@example.org"},
    ),
    "forgot password": FormUnderTest(
        None, lambda ids: "/forgot-password", lambda n: {"email": "ana@example.org"}, ["email"]
    ),
    "activation code": FormUnderTest(None, lambda ids: "/activate", lambda n: {"code": "ABCD-EFGH-JKMN"}, ["code"]),
    "reset password": FormUnderTest(
        None, lambda ids: f"/reset-password/{ids['reset']()}", password_fields, ["password", "confirm"]
    ),
    "invitation": FormUnderTest(
        None, lambda ids: f"/invitation/{ids['invitation']()}", password_fields, ["password", "confirm"]
    ),
    "change password": FormUnderTest(
        "guardian",
        lambda ids: "/password",
        lambda n: {"current_password": factories.PASSWORD, **password_fields(n)},
        ["current_password", "password", "confirm"],
    ),
    "new household": FormUnderTest(
        "staff",
        lambda ids: "/staff/households/new",
        lambda n: {
            "name": "Lee family",
            "sis_id": f"FAM-{n}",
            "guardians-0-display_name": "Ana Lee",
            "guardians-0-email": f"ana{n}@example.org",
            "guardians-0-phone": "213-555-0143",
            "guardians-0-relationship": "mother",
            "guardians-0-language": "en",
            "students-0-first_name": "Bo",
            "students-0-last_name": "Lee",
            "students-0-school_id": "0",
            "students-0-grade": "3",
            "students-0-sis_id": f"S-{n}",
            "action": "create",
        },
        [
            "name",
            "sis_id",
            "guardians-0-display_name",
            "guardians-0-email",
            "guardians-0-phone",
            "guardians-0-relationship",
            "guardians-0-language",
            "students-0-first_name",
            "students-0-last_name",
            "students-0-school_id",
            "students-0-grade",
            "students-0-sis_id",
            "action",
        ],
        {"name": "Lee family", "students-0-first_name": "Bo"},
    ),
    "add guardian": FormUnderTest(
        "staff",
        lambda ids: f"/staff/households/{ids['household']}/guardians/new",
        lambda n: {
            "display_name": "May Park",
            "email": f"may{n}@example.org",
            "phone": "",
            "relationship": "aunt",
            "language": "en",
        },
        ["display_name", "email", "phone", "relationship", "language"],
        {"display_name": "May Park"},
    ),
    "add student": FormUnderTest(
        "staff",
        lambda ids: f"/staff/households/{ids['household']}/students/new",
        lambda n: {"first_name": "Isa", "last_name": "Park", "school_id": "0", "grade": "4", "sis_id": f"ST-{n}"},
        ["first_name", "last_name", "school_id", "grade", "sis_id"],
        {"first_name": "Isa"},
    ),
    "new staff account": FormUnderTest(
        "admin",
        lambda ids: "/admin/staff/new",
        lambda n: {"display_name": "Jo Park", "email": f"jo{n}@district.example", "role": "staff", "language": "en"},
        ["display_name", "email", "role", "language"],
        {"display_name": "Jo Park"},
    ),
    "new school": FormUnderTest(
        "admin",
        lambda ids: "/admin/schools/new",
        lambda n: {"name": f"School number {n}", "code": f"C{n}"},
        ["name", "code"],
    ),
}


@pytest.fixture
def accounts(app, db):
    """The people who fill in the forms, and the ids and tokens the form addresses need."""
    household = factories.make_household(db, name="Park family")
    guardian = factories.guardians_of(db, household)[0]
    invitee = factories.make_household(db, activated=False)

    def fresh_reset() -> str:
        with app.app_context():
            return factories.reset_token(db, factories.make_user(db))

    def fresh_invitation() -> str:
        with app.app_context():
            return factories.invite(db, factories.make_user(db, activated=False)).token

    return {
        "guardian": guardian,
        "staff": factories.make_staff(db),
        "admin": factories.make_admin(db),
        "household": household.id,
        "reset": fresh_reset,
        "invitation": fresh_invitation,
        "invitee": invitee,
    }


def browser_for(app, accounts, who):  # type: ignore[no-untyped-def]
    client = app.test_client()
    if who:
        Browser(client, app).sign_in(accounts[who].email)
    return client


def stored_text_with(db, predicate: Callable[[str], bool]) -> list[tuple[str, str, str]]:
    """Every (table, column, value) of a text column whose value matches `predicate`."""
    db.expire_all()
    found = []
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text)]
        for row in db.execute(select(*columns)) if columns else ():
            for column, value in zip(columns, row, strict=True):
                if isinstance(value, str) and predicate(value):
                    found.append((table.name, column.name, value[:40]))
    return found


def has_nul(value: str) -> bool:
    return "\x00" in value


def has_control_character(value: str) -> bool:
    return any((ord(ch) < 32 and ch not in "\t\r\n") or ord(ch) == 127 for ch in value)


@pytest.mark.parametrize("form_name", FORMS)
def test_hostile_values_in_every_field_get_a_clear_answer_and_no_500(app, db, accounts, form_name):
    form = FORMS[form_name]
    client = browser_for(app, accounts, form.who)
    problems = []
    for (value_name, value), attacked in itertools.product(HOSTILE.items(), form.attack):
        path = form.path(accounts)
        data = {**form.data(next(_numbers)), attacked: value}
        try:
            token = csrf_token(client, path)
            response = client.post(path, data={"csrf_token": token, **data})
        except Exception as error:
            problems.append((attacked, value_name, f"{type(error).__name__}: {error}"[:200]))
            continue
        page = text(response)
        where = (attacked, value_name)
        if response.status_code not in (200, 302, 410):
            problems.append((*where, f"answered {response.status_code}"))
        if HOSTILE_SCRIPT in page or HOSTILE["attribute"] in page:
            problems.append((*where, "markup came back unescaped"))
        if response.status_code == 200 and 'class="form"' in page:  # the form came back
            for kept, expected in form.kept.items():
                if kept != attacked and input_value(page, kept) != expected:
                    problems.append((*where, f"{kept} was not kept: {input_value(page, kept)!r}"))
        if response.status_code == 302 and form.who:
            client.get(response.headers["Location"])  # read the flash, as the browser would
    assert problems == []


@pytest.mark.parametrize(
    "form_name", ["new household", "add guardian", "add student", "new staff account", "new school"]
)
def test_nul_bytes_and_control_characters_are_never_stored(app, db, accounts, form_name):
    form = FORMS[form_name]
    client = browser_for(app, accounts, form.who)
    for value_name in ("nul byte", "control characters"):
        for attacked in form.attack:
            path = form.path(accounts)
            data = {**form.data(next(_numbers)), attacked: HOSTILE[value_name]}
            client.post(path, data={"csrf_token": csrf_token(client, path), **data})
    assert stored_text_with(db, has_nul) == []
    people_and_places = [
        (table, column, value)
        for table, column, value in stored_text_with(db, has_control_character)
        if table in (User.__tablename__, Household.__tablename__, Student.__tablename__, School.__tablename__)
    ]
    assert people_and_places == []


def test_a_nul_byte_at_sign_in_is_answered_without_storing_it(app, db, accounts):
    client = app.test_client()
    token = csrf_token(client, "/sign-in")
    response = client.post("/sign-in", data={"csrf_token": token, "email": "ana\x00@example.org", "password": "x"})
    assert response.status_code == 200
    assert stored_text_with(db, has_nul) == []


def test_a_long_value_is_explained_next_to_its_field_and_the_rest_is_kept(app, db, accounts):
    client = browser_for(app, accounts, "staff")
    form = FORMS["new household"].data(next(_numbers))
    form["guardians-0-display_name"] = "x" * 10_000
    response = client.post(
        "/staff/households/new", data={"csrf_token": csrf_token(client, "/staff/households/new"), **form}
    )
    page = text(response)
    assert response.status_code == 200
    assert "120" in field_error(page, "guardians-0-display_name")
    assert input_value(page, "guardians-0-email") == form["guardians-0-email"]
    assert input_value(page, "students-0-last_name") == "Lee"


def test_markup_typed_into_a_name_is_shown_as_text_everywhere(app, db, accounts):
    staff = browser_for(app, accounts, "staff")
    form = FORMS["new household"].data(next(_numbers))
    form.update(
        {
            "name": HOSTILE_SCRIPT,
            "guardians-0-display_name": HOSTILE["attribute"],
            "students-0-first_name": HOSTILE_SCRIPT,
        }
    )
    created = staff.post(
        "/staff/households/new", data={"csrf_token": csrf_token(staff, "/staff/households/new"), **form}
    )
    assert created.status_code == 200
    household_id = db.scalar(select(Household.id).where(Household.name == HOSTILE_SCRIPT))
    assert household_id is not None
    # The list shows the household's, its guardian's and its student's names on a card.
    listed = staff.get("/staff/households", query_string={"q": form["guardians-0-email"]})
    assert f"/staff/households/{household_id}" in text(listed)
    for page in (created, staff.get(f"/staff/households/{household_id}"), listed):
        html = text(page)
        assert HOSTILE_SCRIPT not in html
        assert HOSTILE["attribute"] not in html
        assert ESCAPED_SCRIPT in html


def test_a_hostile_search_is_shown_back_escaped(app, accounts):
    client = browser_for(app, accounts, "staff")
    for value in HOSTILE.values():
        response = client.get("/staff/households", query_string={"q": value})
        assert response.status_code == 200, repr(value[:20])
        assert HOSTILE_SCRIPT not in text(response)
        assert HOSTILE["attribute"] not in text(response)


@pytest.mark.parametrize(
    ("who", "path"),
    [
        (None, "/sign-in"),
        (None, "/forgot-password"),
        (None, "/activate"),
        ("guardian", "/password"),
        ("staff", "/staff/households/new"),
        ("admin", "/admin/schools/new"),
    ],
)
def test_a_3_mb_body_gets_the_friendly_413_page(app, accounts, who, path):
    client = browser_for(app, accounts, who)
    token = csrf_token(client, path)
    response = client.post(path, data={"csrf_token": token, "email": "a@example.org", "name": "x" * 3_000_000})
    assert response.status_code == 413
    page = text(response)
    assert "too much to send at once" in page
    assert 'href="/"' in page
    if who:
        assert client.get(path).status_code == 200, "a refused body must not sign anyone out"


_addresses = itertools.count(1)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(["/sign-in", "/forgot-password", "/activate"]),
    typed=st.text(max_size=300),
    other=st.text(max_size=40),
)
def test_any_text_in_the_public_forms_gets_an_answer_and_no_500(app, path, typed, other):
    client = app.test_client()
    # A new address each time, so the rate limits do not answer instead of the form.
    address = {"environ_base": {"REMOTE_ADDR": f"10.{next(_addresses) % 250}.{next(_addresses) % 250}.9"}}
    token = csrf_token(client, path, **address)
    data = {"csrf_token": token, "email": typed, "password": other, "code": typed}
    response = client.post(path, data=data, **address)
    assert response.status_code in (200, 302, 429)
    assert HOSTILE_SCRIPT not in text(response)


def test_a_day_the_calendar_cannot_reach_is_refused_next_to_its_field(app, db, accounts):
    staff = browser_for(app, accounts, "staff")
    for day in ("9999-12-31", "0001-01-01"):
        page = text(staff.get("/staff/feedback/", query_string={"received_to": day, "received_from": day}))
        assert field_error(page, "received_to") == "Enter a date between the years 1900 and 2999."
        assert field_error(page, "received_from") == "Enter a date between the years 1900 and 2999."
    admin = browser_for(app, accounts, "admin")
    token = csrf_token(admin, "/admin/calendar")
    response = admin.post(
        "/admin/calendar/closures",
        data={"csrf_token": token, "name": "Far away", "first_day": "9999-12-30", "last_day": "9999-12-31"},
    )
    assert response.status_code == 200
    assert field_error(text(response), "first_day") == "Enter a date between the years 1900 and 2999."


@pytest.mark.parametrize(
    ("who", "path", "data", "field"),
    [
        (None, "/sign-in", {"password": "x"}, "email"),
        (None, "/forgot-password", {}, "email"),
        ("admin", "/admin/schools/new", {"code": "C1"}, "name"),
        ("staff", "/staff/households/new", {"action": "create"}, "name"),
    ],
)
def test_a_file_sent_for_a_text_field_is_not_read_as_its_text(app, accounts, who, path, data, field):
    client = browser_for(app, accounts, who)
    files = {field: (io.BytesIO(b"Lee family"), "name.txt", "text/plain")}
    response = client.post(
        path, data={"csrf_token": csrf_token(client, path), **data, **files}, content_type="multipart/form-data"
    )
    assert response.status_code == 200
    assert field_error(text(response), field)


def test_every_form_reads_its_data_through_portal_form():
    """PortalForm decides what a field reads (posted text, never an uploaded file or a
    JSON body): a form built on FlaskForm alone would not."""
    for module in pkgutil.walk_packages(portal.blueprints.__path__, "portal.blueprints."):
        importlib.import_module(module.name)
    pending, outside = list(FlaskForm.__subclasses__()), []
    while pending:
        form_class = pending.pop()
        pending.extend(form_class.__subclasses__())
        if form_class.__module__.startswith("portal.") and not issubclass(form_class, PortalForm):
            outside.append(f"{form_class.__module__}.{form_class.__qualname__}")
    assert outside == []


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("12", 12), ("0", 0), ("-1", -1), (str(2**31 - 1), 2**31 - 1), (7, 7)],
)
def test_a_whole_number_is_ascii_digits_within_the_databases_integers(typed, expected):
    assert whole_number(typed) == expected


@pytest.mark.parametrize(
    "typed", ["١٢٣", "１２", " 7", "7 ", "1_000", "+5", "--1", "", "-", "1.0", str(2**31), str(-(2**31) - 1), "9" * 40]
)
def test_anything_else_is_not_a_whole_number(typed):
    with pytest.raises(ValueError):
        whole_number(typed)
