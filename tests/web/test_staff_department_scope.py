"""Staff see a household's own details, but of its requests and feedback only those of the
departments they work in: on every page, search and download that shows a household.

The scene: the Alvarez family asked Transportation (department A) and Counselling
(department B). Robin works only in Transportation; an administrator sees everything.
Every text of department B's side carries the marker B_TEXT, and B's name carries
B_NAME, so "nothing of B" is a plain substring check over the whole response.
"""

import json
from dataclasses import dataclass
from typing import Any

import pytest

from portal.db import utcnow
from portal.models import AccountNote, Department, DepartmentMember, NoteCategory
from portal.services import district_calendar, feedback, requests
from tests import factories

B_TEXT = "XB9"
B_NAME = "QD7"


@dataclass
class Scene:
    household_id: int
    guardian_id: int
    note_id: int
    request_a: int
    request_b: int
    feedback_a: int
    feedback_b: int
    staff_a: Any
    admin: Any


def _department(db, name: str) -> Department:  # type: ignore[no-untyped-def]
    department = Department(name=name, description=f"{name} questions.")
    db.add(department)
    db.flush()
    return department


def _member(db, user, department: Department) -> None:  # type: ignore[no-untyped-def]
    db.add(DepartmentMember(department_id=department.id, user_id=user.id))
    db.flush()


@pytest.fixture
def scene(db) -> Scene:  # type: ignore[no-untyped-def]
    """Built through the services, so that the history holds the events they record."""
    now, calendar = utcnow(), district_calendar.load_calendar(db, "America/Los_Angeles")
    transport, counselling = _department(db, "Transportation"), _department(db, f"Counselling {B_NAME}")
    staff_a, staff_b = factories.make_staff(db, name="Robin Ortiz"), factories.make_staff(db, name="Casey Nguyen")
    _member(db, staff_a, transport)
    _member(db, staff_b, counselling)
    admin = factories.make_admin(db, name="Alex Admin")
    household = factories.make_household(db, name="Alvarez family")
    guardian = factories.guardians_of(db, household)[0]
    note = AccountNote(household_id=household.id, category=NoteCategory.PICKUP, text="Grandma Rosa picks up.")
    db.add(note)

    def ask(department: Department, subject: str, body: str):  # type: ignore[no-untyped-def]
        new = requests.NewRequest(department_id=department.id, subject=subject, body=body)
        return requests.submit_request(db, guardian, new, calendar=calendar, now=now)[0]

    def reply(by, request, body: str, *, internal: bool = False) -> None:  # type: ignore[no-untyped-def]
        requests.reply_as_staff(db, by, request, body, internal=internal, calendar=calendar, now=now)

    request_a = ask(transport, "Bus stop change", "Which stop is nearest?")
    reply(staff_a, request_a, "The stop at Elm Street.")
    request_b = ask(counselling, f"{B_TEXT} subject: worried about my son", f"{B_TEXT} first message from the family")
    reply(staff_b, request_b, f"{B_TEXT} reply by counselling")
    reply(staff_b, request_b, f"{B_TEXT} internal note", internal=True)
    requests.reply_as_family(db, guardian, request_b, f"{B_TEXT} the family writes again", calendar=calendar, now=now)
    # Asked of Transportation, then sent on to Counselling: it is B's now, history and all.
    moved = ask(transport, f"{B_TEXT} subject of a request sent on", f"{B_TEXT} message of a request sent on")
    requests.change_department(db, staff_a, moved, counselling.id, calendar=calendar, now=now)

    def send(department: Department | None, body: str):  # type: ignore[no-untyped-def]
        department_id = department.id if department else None
        new = feedback.NewFeedback("concern", department_id, school_id=None, rating=3, body=body, may_contact=True)
        return feedback.submit_from_family(db, guardian, new, now=now)

    feedback_a = send(transport, "The bus driver was very kind.")
    feedback_b = send(counselling, f"{B_TEXT} feedback text about counselling")
    feedback.respond(db, staff_b, feedback_b, f"{B_TEXT} counselling's answer", now=now)
    feedback.add_comment(db, staff_b, feedback_b, f"{B_TEXT} comment among counsellors", now=now)
    # Unrouted feedback is for the triage group, which Robin is not in.
    send(None, f"{B_TEXT} feedback sent as not sure")
    db.commit()
    return Scene(
        household_id=household.id,
        guardian_id=guardian.id,
        note_id=note.id,
        request_a=request_a.id,
        request_b=request_b.id,
        feedback_a=feedback_a.id,
        feedback_b=feedback_b.id,
        staff_a=staff_a,
        admin=admin,
    )


def test_a_staff_members_household_download_leaves_out_other_departments(app, db, scene, sign_in):
    """The defect of issue 14: the history carried the subject of department B's request."""
    robin = sign_in(scene.staff_a)
    response = robin.get(f"/staff/households/{scene.household_id}/data.json")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Bus stop change" in body
    assert B_TEXT not in body
    assert B_NAME not in body
    data = json.loads(body)
    assert [request["subject"] for request in data["requests"]] == ["Bus stop change"]
    assert [item["text"] for item in data["feedback"]] == ["The bus driver was very kind."]
    assert {event["action"] for event in data["history"]} >= {"request.created", "request.replied", "feedback.sent"}


def test_an_administrators_household_download_keeps_every_department(app, db, scene, sign_in):
    admin = sign_in(scene.admin)
    data = json.loads(admin.get(f"/staff/households/{scene.household_id}/data.json").get_data(as_text=True))
    assert len(data["requests"]) == 3
    assert len(data["feedback"]) == 3
    assert any(B_TEXT in json.dumps(event, ensure_ascii=False) for event in data["history"])
