"""Administrators name departments and set the reply-time targets families are promised."""

import pytest
from sqlalchemy import func, select

from portal.models import AuditEvent, DepartmentMember, Priority, ReplyTarget
from portal.services import departments
from tests import factories


def form_values(**overrides: str) -> dict[str, str]:
    values = {"name": "Transportation", "description": "Bus routes and stops.", "is_public": "y"}
    for priority in Priority:
        values |= {f"{priority.value}_first": "8", f"{priority.value}_next": "8", f"{priority.value}_resolution": "40"}
    return values | overrides


def test_defaults_apply_until_a_department_sets_its_own(db, transport):
    targets = departments.targets_of(db, transport.id)
    assert targets[Priority.NORMAL] == departments.Targets(480, 480, 2400)
    assert targets[Priority.URGENT].first_reply_minutes == 60


def test_an_admin_saves_targets_in_business_hours(db, transport, sign_in):
    browser = sign_in(factories.make_admin(db))
    page = browser.get(f"/admin/departments/{transport.id}").get_data(as_text=True)
    assert 'value="8"' in page  # the defaults, shown in hours
    response = browser.submit(f"/admin/departments/{transport.id}", form_values(urgent_first="0.5", urgent_next="1"))
    assert response.status_code == 302
    urgent = db.scalar(select(ReplyTarget).where(ReplyTarget.priority == Priority.URGENT))
    assert (urgent.first_reply_minutes, urgent.next_reply_minutes, urgent.resolution_minutes) == (30, 60, 2400)
    assert db.scalar(select(func.count()).where(AuditEvent.action == "department.updated")) == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"normal_first": "eight"}, "Enter a number of hours, like 8 or 0.5."),
        ({"normal_first": "nan"}, "Enter a number of hours, like 8 or 0.5."),
        ({"normal_first": "1.5e308"}, "Enter a number of hours, like 8 or 0.5."),
        ({"normal_first": "0"}, "Give a time between a minute and 240 business hours."),
        ({"normal_resolution": "100000"}, "Give a time between a minute and 240 business hours."),
        ({"normal_first": "50"}, "The first reply cannot be due after the resolution."),
        ({"name": ""}, "Enter the department"),
    ],
)
def test_bad_targets_get_a_message_and_keep_what_was_typed(db, transport, sign_in, overrides, message):
    browser = sign_in(factories.make_admin(db))
    response = browser.submit(f"/admin/departments/{transport.id}", form_values(description="Kept text", **overrides))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message in page.replace("&#39;", "'")
    assert "Kept text" in page
    assert db.scalar(select(func.count()).select_from(ReplyTarget)) == 0


def test_only_admins_edit_departments(db, transport, sign_in, client):
    sign_in(factories.make_staff(db))
    assert client.get("/admin/departments").status_code == 403
    assert client.get(f"/admin/departments/{transport.id}").status_code == 403


def test_a_missing_department_is_404(db, sign_in):
    browser = sign_in(factories.make_admin(db))
    assert browser.get("/admin/departments/9999").status_code == 404


def test_an_admin_adds_staff_and_one_supervisor(db, transport, sign_in):
    first, second = factories.make_staff(db, name="Ana Staff"), factories.make_staff(db, name="Ben Staff")
    browser = sign_in(factories.make_admin(db))
    path = f"/admin/departments/{transport.id}"
    for user in (first, second):
        response = browser.submit(f"{path}/members", {"user_id": str(user.id), "is_supervisor": "y"}, page=path)
        assert response.status_code == 302
    members = {m.user_id: m.is_supervisor for m in db.scalars(select(DepartmentMember))}
    assert members == {first.id: False, second.id: True}  # one supervisor: the latest named
    page = browser.get(path).get_data(as_text=True)
    assert "Ana Staff" in page and "Supervisor" in page
    removed = browser.submit(f"{path}/members/{first.id}/remove", {}, page=path)
    assert removed.status_code == 302
    db.expire_all()
    assert [m.user_id for m in db.scalars(select(DepartmentMember))] == [second.id]
    assert db.scalar(select(func.count()).where(AuditEvent.action == "department.member_added")) == 2


def test_a_family_account_cannot_be_made_a_member(db, transport, sign_in):
    guardian = factories.guardians_of(db, factories.make_household(db))[0]
    browser = sign_in(factories.make_admin(db))
    path = f"/admin/departments/{transport.id}"
    response = browser.submit(f"{path}/members", {"user_id": str(guardian.id)}, page=path)
    assert response.status_code == 200
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(DepartmentMember)) == 0
    assert browser.submit(f"{path}/members/{guardian.id}/remove", {}, page=path).status_code == 404
