"""The front door, the health check and the language switch."""

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from portal.db import get_session, make_engine
from portal.models import School, User
from tests import factories
from tests.conftest import Browser
from tests.web.support import location, password_sign_in, submit, text


def test_the_front_door_sends_visitors_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert location(response) == "/sign-in"


@pytest.mark.parametrize(("make", "home"), [(factories.make_staff, "/staff/"), (factories.make_admin, "/admin/")])
def test_the_front_door_sends_staff_and_admins_to_their_home(db, client, sign_in, make, home):
    sign_in(make(db))
    response = client.get("/")
    assert response.status_code == 302
    assert location(response) == home


def test_the_front_door_sends_a_family_to_its_household(db, client):
    guardian = factories.guardians_of(db, factories.make_household(db))[0]
    password_sign_in(client, guardian.email)
    assert location(client.get("/")) == "/family/"


def test_healthz_reports_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "redis": "not configured"}


def test_healthz_reports_503_when_the_database_cannot_be_reached(app, client, tmp_path):
    unreachable = make_engine(f"sqlite:///{tmp_path / 'no-such-directory' / 'portal.sqlite3'}")
    app.extensions["portal.sessionmaker"] = sessionmaker(bind=unreachable, expire_on_commit=False)
    try:
        response = client.get("/healthz")
    finally:
        unreachable.dispose()
    assert response.status_code == 503
    assert response.json["database"] == "unavailable"
    assert response.json["status"] != "ok"
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"


def test_healthz_needs_no_sign_in_and_is_never_cached(client):
    response = client.get("/healthz")
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert "no-store" in response.headers.get("Cache-Control", "")


def test_the_language_switch_changes_the_page_language(client):
    response = submit(client, "/language", {"language": "es", "next": "/sign-in"}, page="/sign-in")
    assert response.status_code == 302
    assert location(response) == "/sign-in"
    assert '<html lang="es">' in text(client.get("/sign-in"))
    submit(client, "/language", {"language": "en", "next": "/sign-in"}, page="/sign-in")
    assert '<html lang="en">' in text(client.get("/sign-in"))


def test_an_unknown_language_is_ignored(client):
    submit(client, "/language", {"language": "xx", "next": "/sign-in"}, page="/sign-in")
    assert '<html lang="en">' in text(client.get("/sign-in"))


def test_the_language_switch_only_accepts_post(client):
    assert client.get("/language").status_code == 405


def test_the_language_switch_without_next_goes_to_the_front_door(client):
    response = submit(client, "/language", {"language": "es"}, page="/sign-in")
    assert location(response) == "/"


def test_a_signed_in_family_keeps_its_chosen_language(db, client):
    guardian = factories.guardians_of(db, factories.make_household(db))[0]
    password_sign_in(client, guardian.email)
    submit(client, "/language", {"language": "es", "next": "/family/"}, page="/family/")
    db.expire_all()
    assert db.get(User, guardian.id).language == "es"
    assert '<html lang="es">' in text(client.get("/family/"))


def test_the_language_chosen_before_sign_in_survives_sign_in(db, client):
    guardian = factories.guardians_of(db, factories.make_household(db))[0]
    submit(client, "/language", {"language": "es", "next": "/sign-in"}, page="/sign-in")
    password_sign_in(client, guardian.email)
    with client.session_transaction() as session:
        assert session.get("language") == "es"


def test_a_page_that_does_not_exist_gets_the_friendly_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert 'href="/"' in text(response)
    assert "<h1>" in text(response)


def test_a_wrong_method_gets_the_friendly_405(client):
    response = client.post("/healthz")
    assert response.status_code in (400, 405)
    assert "<h1>" in text(response)


@pytest.mark.own_app  # it adds a route
def test_an_unexpected_error_gets_the_friendly_500_page_and_nothing_half_done_is_saved(app, db, client):
    def half_done():  # type: ignore[no-untyped-def]
        session = get_session()
        session.add(School(name="Half-saved school"))
        session.flush()
        raise RuntimeError("something broke")

    app.add_url_rule("/test-only/half-done", view_func=half_done)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/test-only/half-done")
    assert response.status_code == 500
    page = text(response)
    assert "<h1>" in page
    assert "something broke" not in page
    assert "Traceback" not in page
    assert db.scalar(select(func.count()).select_from(School)) == 0


def test_every_json_answer_says_it_is_utf_8(db, client):
    """Every GET route of the URL map, signed out, as a family and as an admin: whatever
    answers JSON (jsonify or a download) declares charset=utf-8."""
    household = factories.make_household(db)
    guardian = factories.guardians_of(db, household)[0]
    admin = factories.make_admin(db)
    values = {"household_id": household.id, "user_id": guardian.id}
    rules = [rule for rule in client.application.url_map.iter_rules() if "GET" in (rule.methods or ())]

    def json_answers() -> dict[str, str]:
        answers = {}
        for rule in rules:
            if not set(rule.arguments) <= set(values):
                continue
            path = rule.build({name: values[name] for name in rule.arguments})[1]
            response = client.get(path)
            if response.mimetype == "application/json":
                answers[path] = response.headers["Content-Type"]
        return answers

    found = json_answers()
    password_sign_in(client, guardian.email)
    found |= json_answers()
    client.delete_cookie("portal_session")
    Browser(client, client.application).sign_in(admin.email)
    found |= json_answers()
    assert {"/healthz", "/account/data.json", f"/staff/households/{household.id}/data.json"} <= set(found)
    assert set(found.values()) == {"application/json; charset=utf-8"}
