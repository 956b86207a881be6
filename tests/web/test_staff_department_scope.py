"""Staff see a household's own details, but of its requests and feedback only those of the
departments they work in: on every page, search and download that shows a household.

The scene: the Alvarez family asked Transportation (department A) and Counselling
(department B). Robin works only in Transportation; an administrator sees everything.
Every text of department B's side carries the marker B_TEXT, and B's name carries
B_NAME, so "nothing of B" is a plain substring check over the whole response.
"""

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from portal.db import utcnow
from portal.models import AccountNote, Department, DepartmentMember, NoteCategory, SavedReply
from portal.services import feedback, requests
from portal.services.calendar import district_calendar
from tests import factories
from tests.conftest import Browser

# Each with a "~", which no random part of a page can hold (CSRF tokens and links are
# base64url, invitation codes letters and digits): "XB9" alone turned up in one now and then.
B_TEXT = "XB9~"
B_NAME = "QD7~"


@dataclass
class Scene:
    household_id: int
    guardian_id: int
    note_id: int
    request_a: int
    request_b: int
    feedback_a: int
    feedback_b: int
    saved_reply_b: int
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
    saved_reply_b = SavedReply(
        department_id=counselling.id, title=f"{B_TEXT} title", body=f"{B_TEXT} saved reply", updated_at=now
    )
    db.add(saved_reply_b)
    db.commit()
    return Scene(
        household_id=household.id,
        guardian_id=guardian.id,
        note_id=note.id,
        request_a=request_a.id,
        request_b=request_b.id,
        feedback_a=feedback_a.id,
        feedback_b=feedback_b.id,
        saved_reply_b=saved_reply_b.id,
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


# --- every staff surface that shows a household ------------------------------


@dataclass(frozen=True)
class Surface:
    endpoint: str
    url: str  # formatted with the scene's ids
    method: str = "GET"
    page: str | None = None  # the page whose CSRF token a POST sends back
    staff_status: int = 200  # what Robin gets (after following redirects)
    admin_sees_b: bool = False  # whether the page shows department B's texts to an administrator


HOUSEHOLD = "/staff/households/{household_id}"
REQUEST_A = "/staff/requests/{request_a}"
FEEDBACK_A = "/staff/feedback/{feedback_a}"
SAVED_REPLY_B = "/staff/saved-replies/{saved_reply_b}"
ARCHIVE_B = SAVED_REPLY_B + "/archive"

# POSTs are sent empty: each answers with its page again (errors shown) or a redirect to one.
SURFACES = [
    Surface("staff.home", "/staff/"),
    Surface("staff.households_list", "/staff/households?q=Alvarez"),
    Surface("staff.new_household", "/staff/households/new"),
    Surface("staff.new_household", "/staff/households/new", "POST"),
    Surface("staff.household", HOUSEHOLD),
    Surface("staff.add_guardian", HOUSEHOLD + "/guardians/new"),
    Surface("staff.add_guardian", HOUSEHOLD + "/guardians/new", "POST"),
    Surface("staff.add_student", HOUSEHOLD + "/students/new"),
    Surface("staff.add_student", HOUSEHOLD + "/students/new", "POST"),
    Surface("staff.reinvite", HOUSEHOLD + "/guardians/{guardian_id}/invitation", "POST", HOUSEHOLD),
    Surface("staff.edit_contact", HOUSEHOLD + "/guardians/{guardian_id}/contact"),
    Surface("staff.edit_contact", HOUSEHOLD + "/guardians/{guardian_id}/contact", "POST"),
    Surface("staff.new_note", HOUSEHOLD + "/notes/new"),
    Surface("staff.new_note", HOUSEHOLD + "/notes/new", "POST"),
    Surface("staff.edit_note", HOUSEHOLD + "/notes/{note_id}"),
    Surface("staff.edit_note", HOUSEHOLD + "/notes/{note_id}", "POST"),
    Surface("staff.add_internal_note", HOUSEHOLD + "/internal-notes", "POST", HOUSEHOLD),
    Surface("staff.download_household", HOUSEHOLD + "/data.json", admin_sees_b=True),
    Surface("staff.download_household_csv", HOUSEHOLD + "/data.csv", admin_sees_b=True),
    Surface("staff_requests.queue", "/staff/requests/?status=all", admin_sees_b=True),
    Surface("staff_requests.queue", "/staff/requests/?status=all&q=Alvarez", admin_sees_b=True),
    Surface("staff_requests.detail", REQUEST_A, admin_sees_b=True),  # the other-open-requests panel
    Surface("staff_requests.detail", "/staff/requests/{request_b}", staff_status=404, admin_sees_b=True),
    Surface("staff_requests.reply", REQUEST_A + "/reply", "POST", REQUEST_A, admin_sees_b=True),
    Surface("staff_requests.update", REQUEST_A + "/update", "POST", REQUEST_A, admin_sees_b=True),
    Surface("staff_requests.log_call", REQUEST_A + "/call", "POST", REQUEST_A, admin_sees_b=True),
    Surface("staff_requests.log_phone_call", "/staff/requests/phone/{household_id}"),
    Surface("staff_requests.log_phone_call", "/staff/requests/phone/{household_id}", "POST"),
    Surface("staff_feedback.queue", "/staff/feedback/?status=all", admin_sees_b=True),
    Surface("staff_feedback.queue", "/staff/feedback/?status=all&q=counselling", admin_sees_b=True),
    Surface("staff_feedback.bulk", "/staff/feedback/bulk", "POST", "/staff/feedback/", admin_sees_b=True),
    Surface("staff_feedback.detail", FEEDBACK_A),
    Surface("staff_feedback.detail", "/staff/feedback/{feedback_b}", staff_status=404, admin_sees_b=True),
    Surface("staff_feedback.comment", FEEDBACK_A + "/comment", "POST", FEEDBACK_A),
    Surface("staff_feedback.respond", FEEDBACK_A + "/respond", "POST", FEEDBACK_A),
    Surface("staff_feedback.update", FEEDBACK_A + "/update", "POST", FEEDBACK_A),
    Surface("staff_feedback.tags", FEEDBACK_A + "/tags", "POST", FEEDBACK_A),
    Surface("staff_feedback.open_request", FEEDBACK_A + "/request", "POST", FEEDBACK_A),
    # The figures: for department leads and administrators; Robin leads nothing.
    Surface("metrics.index", "/staff/metrics/", staff_status=403),
    Surface("metrics.download", "/staff/metrics/requests.csv", staff_status=403),
    Surface("metrics.weekly_email", "/staff/metrics/weekly-email", "POST", "/security/", staff_status=403),
    # Saved replies: kept by department leads and administrators; Robin leads nothing.
    Surface("saved_replies.reply_list", "/staff/saved-replies/", staff_status=403, admin_sees_b=True),
    Surface("saved_replies.new_reply", "/staff/saved-replies/new", staff_status=403),
    Surface("saved_replies.new_reply", "/staff/saved-replies/new", "POST", "/security/", staff_status=403),
    Surface("saved_replies.edit_reply", SAVED_REPLY_B, staff_status=404, admin_sees_b=True),
    Surface("saved_replies.edit_reply", SAVED_REPLY_B, "POST", "/security/", staff_status=404, admin_sees_b=True),
    Surface("saved_replies.archive_reply", ARCHIVE_B, "POST", "/security/", staff_status=404, admin_sees_b=True),
    # Who looked: for administrators only.
    Surface("admin_security.access_log_list", "/admin/access-log?household={household_id}", staff_status=403),
    Surface("admin_security.access_log_csv", "/admin/access-log.csv?household={household_id}", staff_status=403),
]
STAFF_BLUEPRINTS = ("staff", "staff_requests", "staff_feedback", "metrics", "saved_replies")
CHOICE = re.compile(r"<option\b[^>]*>.*?</option>", re.DOTALL)


def _fetch(browser: Browser, surface: Surface, scene: Scene):  # type: ignore[no-untyped-def]
    url = surface.url.format(**vars(scene))
    if surface.method == "GET":
        return browser.get(url, follow_redirects=True)
    page = (surface.page or surface.url).format(**vars(scene))
    return browser.submit(url, {}, page=page, follow_redirects=True)


def _without_choices(body: str) -> str:
    """The page less its drop-down lists: a list of every department reveals no request."""
    return CHOICE.sub("", body)


def test_the_surfaces_below_are_every_staff_page(app: Flask):
    """A new staff page fails here until it is added to SURFACES, and so tested below."""
    endpoints = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] in STAFF_BLUEPRINTS
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert endpoints - {(surface.endpoint, surface.method) for surface in SURFACES} == set()


@pytest.mark.parametrize("surface", SURFACES, ids=lambda s: f"{s.method} {s.endpoint} {s.url}")
def test_staff_see_nothing_of_a_department_they_do_not_work_in(app, db, scene, sign_in, surface):
    robin = sign_in(scene.staff_a)
    response = _fetch(robin, surface, scene)
    assert response.status_code == surface.staff_status
    body = response.get_data(as_text=True)
    assert B_TEXT not in body
    assert B_NAME not in _without_choices(body)


@pytest.mark.parametrize("surface", SURFACES, ids=lambda s: f"{s.method} {s.endpoint} {s.url}")
def test_an_administrator_sees_every_department_on_the_same_surfaces(app, db, scene, sign_in, surface):
    admin = sign_in(scene.admin)
    response = _fetch(admin, surface, scene)
    assert response.status_code == 200
    assert (B_TEXT in response.get_data(as_text=True)) is surface.admin_sees_b
