"""Shared custody: a guardian in two households (each parent's) sees and uses both, as
one account, and nothing of a third household; a student the SIS no longer lists is kept
but no longer offered."""

import csv
import html
import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from portal.db import utcnow
from portal.models import (
    AccountNote,
    Feedback,
    GuardianRelationship,
    Guardianship,
    Household,
    NoteCategory,
    Notification,
    Request,
    School,
    Student,
    User,
)
from portal.services import feedback, requests
from portal.services.calendar import district_calendar
from portal.services.households import access_log, notes
from tests import factories
from tests.conftest import Browser
from tests.web.support import field_error, text

SUBMISSION_KEY = re.compile(r'name="submission_key" type="hidden" value="([^"]+)"')
LEFT_ON = datetime(2026, 6, 15, 18, 0, tzinfo=UTC)


@dataclass
class Scene:
    """Dana is a guardian of the Rivera household (joined first) and of the Moreno household,
    with Sam, the other parent, in Moreno only; the Chen household is nobody's here."""

    dana: User
    sam: User
    rivera: Household
    moreno: Household
    chen: Household
    ana: Student  # Rivera
    ben: Student  # Moreno
    former: Student  # Moreno, no longer listed by the SIS
    chen_student: Student
    school: School  # Ben's


def students_of(db, household: Household) -> list[Student]:  # type: ignore[no-untyped-def]
    return list(db.scalars(select(Student).where(Student.household_id == household.id).order_by(Student.id)))


@pytest.fixture
def scene(db) -> Scene:  # type: ignore[no-untyped-def]
    school = factories.make_school(db, name="Jefferson Middle")
    rivera = factories.make_household(db, name="Rivera household", students=1)
    moreno = factories.make_household(db, name="Moreno household", students=2, school=school)
    chen = factories.make_household(db, name="Chen household", students=1)
    dana = factories.guardians_of(db, rivera)[0]
    db.add(Guardianship(household_id=moreno.id, user_id=dana.id, relationship_to_students=GuardianRelationship.MOTHER))
    ben, former = students_of(db, moreno)
    ben.first_name, former.first_name = "Ben", "Oldie"
    former.is_active, former.deactivated_at = False, LEFT_ON
    ana = students_of(db, rivera)[0]
    ana.first_name = "Ana"
    db.commit()
    return Scene(
        dana=dana,
        sam=factories.guardians_of(db, moreno)[0],
        rivera=rivera,
        moreno=moreno,
        chen=chen,
        ana=ana,
        ben=ben,
        former=former,
        chen_student=students_of(db, chen)[0],
        school=school,
    )


@pytest.fixture
def dana(scene, sign_in) -> Browser:  # type: ignore[no-untyped-def]
    return sign_in(scene.dana)


def ask(db, guardian: User, department, subject: str, student: Student | None = None) -> Request:  # type: ignore[no-untyped-def]
    created, _is_new = requests.submit_request(
        db,
        guardian,
        requests.NewRequest(
            department_id=department.id,
            subject=subject,
            body="Please help.",
            student_id=student.id if student else None,
        ),
        calendar=district_calendar.load_calendar(db, "America/Los_Angeles"),
        now=utcnow(),
    )
    db.commit()
    return created


def new_request_form(browser: Browser, department, **fields: object) -> dict[str, object]:  # type: ignore[no-untyped-def]
    page = text(browser.get("/requests/new"))
    form: dict[str, object] = {
        "submission_key": SUBMISSION_KEY.search(page).group(1),  # type: ignore[union-attr]
        "department_id": department.id,
        "student_id": 0,
        "subject": "Bus stop change",
        "body": "Which stop is closest?",
    }
    return form | fields


def count(db, model, *where) -> int:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model).where(*where))


def emails_to(db, guardian: User, template: str) -> int:  # type: ignore[no-untyped-def]
    return count(db, Notification, Notification.recipient_id == guardian.id, Notification.template == template)


# --- the household page -----------------------------------------------------


def test_home_shows_both_households_with_their_students_and_guardians(db, scene, dana):
    page = html.unescape(text(dana.get("/family/")))
    assert "<h1>My households</h1>" in page
    assert f'<h2 id="household-heading-{scene.rivera.id}">Rivera household</h2>' in page
    assert f'<h2 id="household-heading-{scene.moreno.id}">Moreno household</h2>' in page
    assert page.index("Rivera household") < page.index("Moreno household")  # the first joined first
    for student in (scene.ana, scene.ben):
        assert student.full_name in page
    assert scene.sam.display_name in page
    assert "Chen household" not in page
    assert scene.chen_student.full_name not in page


def test_a_student_no_longer_enrolled_is_shown_as_such_and_not_as_current(db, scene, dana):
    page = html.unescape(text(dana.get("/family/")))
    moreno = page[page.index("Moreno household") :]
    # Ben first, then Oldie, marked with the day the SIS stopped listing him.
    assert moreno.index(scene.ben.full_name) < moreno.index(scene.former.full_name)
    assert "No longer enrolled since Jun 15, 2026" in moreno
    student_page = html.unescape(text(dana.get(f"/family/students/{scene.former.id}")))
    assert "No longer enrolled since Jun 15, 2026" in student_page
    assert "No longer enrolled" not in html.unescape(text(dana.get(f"/family/students/{scene.ben.id}")))


def test_a_guardian_of_one_household_sees_it_as_before(db, scene, sign_in):
    page = html.unescape(text(sign_in(scene.sam).get("/family/")))
    assert "<h1>Moreno household</h1>" in page
    assert "My households" not in page
    assert "Rivera household" not in page and scene.ana.full_name not in page


def test_the_students_of_both_households_open_and_the_third_households_do_not(scene, dana):
    assert dana.get(f"/family/students/{scene.ana.id}").status_code == 200
    assert dana.get(f"/family/students/{scene.ben.id}").status_code == 200
    assert dana.get(f"/family/students/{scene.chen_student.id}").status_code == 404


# --- requests ---------------------------------------------------------------


def test_the_requests_list_shows_both_households_requests(db, scene, dana, transport):
    ask(db, scene.dana, transport, "About Ana", scene.ana)
    ask(db, scene.sam, transport, "Sam asks about Ben", scene.ben)
    ask(db, factories.guardians_of(db, scene.chen)[0], transport, "Chen question")
    page = html.unescape(text(dana.get("/requests/")))
    assert "About Ana" in page and "Sam asks about Ben" in page
    assert "Chen question" not in page


def test_the_new_request_form_offers_the_enrolled_students_of_both_households_only(db, scene, dana):
    page = html.unescape(text(dana.get("/requests/new")))
    assert f'<option value="{scene.ana.id}">{scene.ana.full_name}</option>' in page
    assert f'<option value="{scene.ben.id}">{scene.ben.full_name}</option>' in page
    assert scene.former.full_name not in page
    assert scene.chen_student.full_name not in page


def test_a_request_about_a_student_of_the_second_household_lands_in_that_household(db, scene, dana, transport):
    response = dana.submit("/requests/new", new_request_form(dana, transport, student_id=scene.ben.id))
    assert response.status_code == 302
    created = db.scalar(select(Request))
    assert (created.household_id, created.student_id) == (scene.moreno.id, scene.ben.id)
    assert created.author_id == scene.dana.id
    # Sam, the other parent in that household, follows it too.
    sam = Browser(dana.app.test_client(), dana.app)
    sam.sign_in(scene.sam.email)
    assert sam.get(f"/requests/{created.id}").status_code == 200


def test_a_request_about_no_student_lands_in_the_first_household(db, scene, dana, transport):
    dana.submit("/requests/new", new_request_form(dana, transport))
    assert db.scalar(select(Request.household_id)) == scene.rivera.id


@pytest.mark.parametrize("whose", ["chen_student", "former"])
def test_a_student_of_a_third_household_or_no_longer_enrolled_is_refused(db, scene, dana, transport, whose):
    student = getattr(scene, whose)
    response = dana.submit("/requests/new", new_request_form(dana, transport, student_id=student.id))
    assert response.status_code == 200
    assert field_error(text(response), "student_id") == "Choose a student from the list."
    assert count(db, Request) == 0


def test_a_reply_to_the_requesting_guardian_is_emailed_once(db, scene, transport, staff):
    asked = ask(db, scene.dana, transport, "About Ben", scene.ben)
    requests.reply_as_staff(
        db,
        staff,
        asked,
        "Stop 14 from Monday.",
        internal=False,
        calendar=district_calendar.load_calendar(db, "America/Los_Angeles"),
        now=utcnow(),
    )
    db.commit()
    assert emails_to(db, scene.dana, "request_reply") == 1


# --- feedback ---------------------------------------------------------------


def test_feedback_about_a_school_goes_to_the_household_whose_student_goes_there(db, scene, transport):
    def send(school_id: int | None) -> Feedback:
        new = feedback.NewFeedback(
            kind="compliment", department_id=transport.id, school_id=school_id, rating=5, body="Great bus drivers."
        )
        sent = feedback.submit_from_family(db, scene.dana, new, now=utcnow())
        db.commit()
        return sent

    assert send(scene.school.id).household_id == scene.moreno.id
    assert send(None).household_id == scene.rivera.id


def test_a_reply_to_feedback_is_emailed_once(db, scene, transport, staff):
    new = feedback.NewFeedback(
        kind="question", department_id=transport.id, school_id=None, rating=None, body="When?", may_contact=True
    )
    sent = feedback.submit_from_family(db, scene.dana, new, now=utcnow())
    db.commit()
    feedback.respond(db, factories.make_admin(db), sent, "Next week.", now=utcnow())
    db.commit()
    assert emails_to(db, scene.dana, "feedback_response") == 1


# --- notes ------------------------------------------------------------------


def add_note(db, guardian: User, household: Household, text_: str) -> AccountNote:  # type: ignore[no-untyped-def]
    note = notes.add_note(
        db, guardian, household.id, notes.NoteEdit(category=NoteCategory.PICKUP, text=text_), now=utcnow()
    )
    db.commit()
    return note


def test_the_notes_of_both_households_are_shown_with_their_households_name(db, scene, dana):
    add_note(db, scene.dana, scene.rivera, "Grandma picks Ana up.")
    add_note(db, scene.sam, scene.moreno, "Ben takes the late bus on Fridays.")
    add_note(db, factories.guardians_of(db, scene.chen)[0], scene.chen, "Chen note.")
    page = html.unescape(text(dana.get("/account/notes")))
    assert "Grandma picks Ana up." in page and "Ben takes the late bus on Fridays." in page
    assert "Chen note." not in page
    assert '<p class="muted">Moreno household</p>' in page
    assert 'name="household_id"' in page  # a choice, since there are two


@pytest.mark.parametrize("which", ["rivera", "moreno"])
def test_a_note_can_be_added_to_either_household(db, scene, dana, which):
    household = getattr(scene, which)
    response = dana.submit(
        "/account/notes", {"household_id": household.id, "category": "pickup", "text": "Call grandma."}
    )
    assert response.status_code == 302
    assert db.scalar(select(AccountNote.household_id)) == household.id


def test_a_note_cannot_be_added_to_a_third_household(db, scene, dana):
    response = dana.submit(
        "/account/notes", {"household_id": scene.chen.id, "category": "pickup", "text": "Call grandma."}
    )
    assert response.status_code == 200
    assert field_error(text(response), "household_id") == "Choose a household from the list."
    assert count(db, AccountNote) == 0


def test_a_note_of_either_household_can_be_changed_and_not_one_of_a_third(db, scene, dana):
    theirs = add_note(db, scene.sam, scene.moreno, "Ben takes the late bus.")
    chen = add_note(db, factories.guardians_of(db, scene.chen)[0], scene.chen, "Chen note.")
    response = dana.submit(
        f"/account/notes/{theirs.id}", {"version": theirs.version, "category": "pickup", "text": "Ben walks home."}
    )
    assert response.status_code == 302
    db.expire_all()
    assert db.get(AccountNote, theirs.id).text == "Ben walks home."
    assert dana.get(f"/account/notes/{chen.id}").status_code == 404


def test_a_guardian_of_one_household_gets_no_household_choice(db, scene, sign_in):
    sam = sign_in(scene.sam)
    assert 'name="household_id"' not in text(sam.get("/account/notes"))
    assert sam.submit("/account/notes", {"category": "pickup", "text": "Call grandma."}).status_code == 302
    assert db.scalar(select(AccountNote.household_id)) == scene.moreno.id


# --- history and download ---------------------------------------------------


def test_the_history_covers_both_households_and_names_them(db, scene, dana, staff):
    for household in (scene.rivera, scene.moreno, scene.chen):
        access_log.record_view(db, staff, household, "notes", now=utcnow(), ip_address="192.0.2.1")
    db.commit()
    page = html.unescape(text(dana.get("/family/history")))
    assert page.count("read your household's notes") == 2
    assert '<span class="tag">Rivera household</span>' in page
    assert '<span class="tag">Moreno household</span>' in page
    assert "Chen household" not in page


def test_the_download_covers_both_households_and_not_the_third(db, scene, dana, transport):
    ask(db, scene.sam, transport, "Sam asks about Ben", scene.ben)
    add_note(db, scene.dana, scene.rivera, "Grandma picks Ana up.")
    data = json.loads(dana.get("/account/data.json").get_data(as_text=True))
    assert [h["household"]["name"] for h in data["households"]] == ["Rivera household", "Moreno household"]
    rivera, moreno = data["households"]
    assert [n["text"] for n in rivera["notes"]] == ["Grandma picks Ana up."]
    assert [r["subject"] for r in moreno["requests"]] == ["Sam asks about Ben"]
    assert {s["name"]: s["enrolled"] for s in moreno["students"]} == {
        scene.ben.full_name: True,
        scene.former.full_name: False,
    }
    body = json.dumps(data)
    assert "Chen household" not in body and scene.chen_student.full_name not in body

    sheet = dana.get("/account/data.csv").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(sheet)))
    assert rows[0] == ["household", "section", "item", "field", "value"]
    names = [(row[0], row[4]) for row in rows if row[1] == "household" and row[3] == "name"]
    assert names == [("1", "Rivera household"), ("2", "Moreno household")]


# --- staff ------------------------------------------------------------------


def test_staff_see_a_student_no_longer_enrolled_marked_on_the_household_page(db, scene, desk):
    page = html.unescape(text(desk.get(f"/staff/households/{scene.moreno.id}")))
    assert scene.ben.full_name in page
    assert f'{scene.former.full_name} <span class="tag">No longer enrolled since Jun 15, 2026</span>' in page


def test_a_school_the_sis_no_longer_lists_is_not_offered(app, db, scene, dana, staff):
    desk = Browser(app.test_client(), app)
    desk.sign_in(staff.email)
    closed = factories.make_school(db, name="Closed Elementary")
    closed.is_active = False
    db.commit()
    assert "Closed Elementary" not in text(desk.get(f"/staff/households/{scene.moreno.id}/students/new"))
    assert "Closed Elementary" not in text(dana.get("/feedback/new"))
    assert "Jefferson Middle" in text(dana.get("/feedback/new"))
    # A filter of older requests still finds it.
    assert "Closed Elementary" in text(desk.get("/staff/requests/"))
