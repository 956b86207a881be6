"""Administrator pages: staff accounts and schools."""

import re

import pytest
from sqlalchemy import func, select

from portal.models import AuditEvent, Notification, Role, School, User
from tests import factories
from tests.conftest import Browser
from tests.web.support import csrf_token, field_error, input_value, location, redirects_to_sign_in, submit, text


@pytest.fixture
def admin(db, sign_in):
    user = factories.make_admin(db, name="Pat Morgan")
    sign_in(user)
    return user


def count(db, model, *where) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model).where(*where))


def reload(db, model, object_id):
    db.expire_all()
    return db.get(model, object_id)


def staff_form(**fields: str) -> dict[str, str]:
    return {"display_name": "Jo Park", "email": "jo@district.example", "role": "staff", "language": "en", **fields}


def test_the_admin_home_lists_staff_and_admins_but_no_families(client, db, admin):
    staff = factories.make_staff(db, name="Jordan Lee")
    household = factories.make_household(db)
    response = client.get("/admin/")
    assert response.status_code == 200
    html = text(response)
    assert "Jordan Lee" in html
    assert "Pat Morgan" in html
    assert factories.guardians_of(db, household)[0].email not in html
    assert f'action="/admin/staff/{staff.id}/active"' in html
    assert f'action="/admin/staff/{admin.id}/active"' not in html


def test_an_admin_creates_a_staff_account_that_is_invited_by_email(client, db, admin):
    response = submit(client, "/admin/staff/new", staff_form(email="Jo@District.example", language="es"))
    assert response.status_code == 302
    assert location(response) == "/admin/"
    assert "Jo Park was emailed an invitation" in text(client.get("/admin/"))
    jo = db.scalar(select(User).where(User.email == "jo@district.example"))
    assert (jo.role, jo.language, jo.password_hash) == (Role.STAFF, "es", None)
    assert count(db, Notification, Notification.recipient_id == jo.id, Notification.template == "invitation") == 1
    assert count(db, AuditEvent, AuditEvent.action == "staff.created", AuditEvent.actor_id == admin.id) == 1


def test_an_admin_creates_another_admin(client, db, admin):
    submit(client, "/admin/staff/new", staff_form(role="admin"))
    assert db.scalar(select(User.role).where(User.email == "jo@district.example")) == Role.ADMIN


def test_a_staff_email_in_use_is_shown_on_the_email_field_and_the_name_is_kept(client, db, admin):
    factories.make_user(db, email="jo@district.example")
    response = submit(client, "/admin/staff/new", staff_form())
    html = text(response)
    assert response.status_code == 200
    assert "already exists" in field_error(html, "email")
    assert input_value(html, "display_name") == "Jo Park"
    assert count(db, User, User.role == Role.STAFF) == 0


def test_a_staff_account_form_with_a_mistake_is_explained_next_to_the_field(client, db, admin):
    mistakes = [
        ({"display_name": ""}, "display_name"),
        ({"email": "jo at district"}, "email"),
        ({"role": "family"}, "role"),
        ({"role": "superuser"}, "role"),
        ({"language": "xx"}, "language"),
    ]
    for fields, field in mistakes:
        response = submit(client, "/admin/staff/new", staff_form(**fields))
        assert response.status_code == 200, fields
        assert field_error(text(response), field), fields
    assert count(db, User) == 1


def test_deactivating_a_staff_member_signs_them_out_and_stops_sign_in(app, client, db, admin):
    staff = factories.make_staff(db, name="Jordan Lee")
    their_browser = Browser(app.test_client(), app)
    their_browser.sign_in(staff.email)
    assert their_browser.get("/staff/households/999").status_code == 404
    response = submit(client, f"/admin/staff/{staff.id}/active", {"active": "0"}, page="/admin/")
    assert location(response) == "/admin/"
    assert "Jordan Lee can no longer sign in." in text(client.get("/admin/"))
    assert not reload(db, User, staff.id).is_active
    assert redirects_to_sign_in(their_browser.get("/staff/households/999"))
    again = submit(
        their_browser.client, "/sign-in", {"email": staff.email, "password": factories.PASSWORD}, page="/sign-in"
    )
    assert again.status_code == 200
    assert count(db, AuditEvent, AuditEvent.action == "staff.deactivated") == 1


def test_a_deactivated_staff_member_can_be_reactivated(client, db, admin):
    staff = factories.make_staff(db, name="Jordan Lee")
    submit(client, f"/admin/staff/{staff.id}/active", {"active": "0"}, page="/admin/")
    assert "Reactivate Jordan Lee" in text(client.get("/admin/"))
    submit(client, f"/admin/staff/{staff.id}/active", {"active": "1"}, page="/admin/")
    assert "Jordan Lee can sign in again." in text(client.get("/admin/"))
    assert reload(db, User, staff.id).is_active


def test_an_admin_cannot_deactivate_their_own_account(client, db, admin):
    response = submit(client, f"/admin/staff/{admin.id}/active", {"active": "0"}, page="/admin/")
    assert location(response) == "/admin/"
    assert "You cannot deactivate your own account." in text(client.get("/admin/"))
    assert reload(db, User, admin.id).is_active


@pytest.mark.parametrize("target", ["family", "missing"])
def test_the_active_switch_is_404_for_families_and_missing_accounts(client, db, admin, target):
    family = factories.make_user(db)
    user_id = family.id if target == "family" else 999_999
    response = submit(client, f"/admin/staff/{user_id}/active", {"active": "0"}, page="/admin/")
    assert response.status_code == 404
    assert reload(db, User, family.id).is_active


def test_the_active_switch_only_accepts_post(client, db, admin):
    staff = factories.make_staff(db)
    assert client.get(f"/admin/staff/{staff.id}/active").status_code == 405


def test_an_admin_adds_a_school(client, db, admin):
    response = submit(client, "/admin/schools/new", {"name": "Lincoln  Elementary", "code": " LES "})
    assert location(response) == "/admin/"
    html = text(client.get("/admin/"))
    assert "School added." in html
    assert "Lincoln Elementary (LES)" in html
    school = db.scalar(select(School))
    assert (school.name, school.code) == ("Lincoln Elementary", "LES")


def test_a_school_form_with_a_mistake_is_explained_and_the_other_field_kept(client, db, admin):
    factories.make_school(db, name="Lincoln Elementary").code = "LES"
    db.commit()
    mistakes = [
        ({"name": "Lincoln Elementary", "code": ""}, "name", "already exists"),
        ({"name": "Other School", "code": "LES"}, "code", "already exists"),
        ({"name": "", "code": "NEW"}, "name", "Enter the school's name."),
        ({"name": "x" * 121, "code": ""}, "name", "120"),
    ]
    for fields, field, message in mistakes:
        response = submit(client, "/admin/schools/new", fields)
        page = text(response)
        assert response.status_code == 200, fields
        assert message in (field_error(page, field) or ""), fields
        other = "code" if field == "name" else "name"
        assert input_value(page, other) == fields[other], fields
    assert count(db, School) == 1


def admin_rules(app) -> list[tuple[str, str]]:
    """Every (method, path) under /admin, ids filled with 1."""
    rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/admin")]
    assert len(rules) >= 29, "the admin routes are not all registered"
    return sorted(
        (method, re.sub(r"<[^>]+>", "1", rule.rule))
        for rule in rules
        for method in sorted((rule.methods or set()) & {"GET", "POST"})
    )


@pytest.mark.parametrize("who", ["signed out", "family", "staff"])
def test_every_admin_route_is_closed_to_everyone_but_administrators(app, db, who):
    client = app.test_client()
    if who != "signed out":
        user = factories.make_user(db) if who == "family" else factories.make_staff(db)
        Browser(client, app).sign_in(user.email)
    token = csrf_token(client, "/sign-in" if who == "signed out" else "/password")
    answered = {}
    for method, path in admin_rules(app):
        response = client.open(path, method=method, data={"csrf_token": token} if method == "POST" else None)
        answered[method, path] = "sign-in" if redirects_to_sign_in(response) else response.status_code
    expected = {"sign-in"} if who == "signed out" else {403, 404}
    assert {route: answer for route, answer in answered.items() if answer not in expected} == {}
