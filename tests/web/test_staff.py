"""Staff pages: find a household, open it, create one, add to it and print invitation letters."""

import re

import pytest
from sqlalchemy import func, select

from portal.models import AuditEvent, Household, Invitation, Notification, Student, User
from portal.services import accounts
from tests import factories
from tests.web.support import field_error, input_value, location, submit, text

LETTER_CODE = re.compile(r'<p class="activation-code">([^<]+)</p>')
CODE_FORMAT = re.compile(r"^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$")


@pytest.fixture
def staff(db, client, sign_in):
    user = factories.make_staff(db, name="Jordan Lee")
    sign_in(user)
    return user


def count(db, model, *where) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model).where(*where))


def household_form(**fields: str) -> dict[str, str]:
    """The new-household form as typed: one guardian and one student, then `fields`."""
    form = {
        "name": "Lee family",
        "sis_id": "",
        "guardians-0-display_name": "Ana Lee",
        "guardians-0-email": "ana@example.org",
        "guardians-0-phone": "",
        "guardians-0-relationship": "mother",
        "guardians-0-language": "en",
        "students-0-first_name": "Bo",
        "students-0-last_name": "Lee",
        "students-0-school_id": "0",
        "students-0-grade": "3",
        "students-0-sis_id": "",
        "action": "create",
    }
    form.update(fields)
    return form


def second_guardian(**fields: str) -> dict[str, str]:
    return {
        "guardians-1-display_name": "Sam Lee",
        "guardians-1-email": "sam@example.org",
        "guardians-1-phone": "(213) 555-0143",
        "guardians-1-relationship": "father",
        "guardians-1-language": "es",
        **fields,
    }


def second_student(**fields: str) -> dict[str, str]:
    return {
        "students-1-first_name": "Mia",
        "students-1-last_name": "Lee",
        "students-1-school_id": "0",
        "students-1-grade": "K",
        "students-1-sis_id": "S-77",
        **fields,
    }


# The household list and search -------------------------------------------------------------


@pytest.fixture
def district(db):
    rivera = factories.make_household(db, name="Rivera family", students=0)
    alex = factories.guardians_of(db, rivera)[0]
    alex.display_name, alex.email, alex.phone = "Alex Rivera", "alex.rivera@example.org", "+12135550143"
    db.add(Student(household_id=rivera.id, first_name="Sofia", last_name="Rivera", grade="2"))
    nguyen = factories.make_household(db, name="Nguyen family", students=0)
    linh = factories.guardians_of(db, nguyen)[0]
    linh.display_name, linh.email, linh.phone = "Linh Nguyen", "linh@example.net", "+13235550112"
    db.add(Student(household_id=nguyen.id, first_name="An", last_name="Nguyen", grade="6"))
    db.commit()
    return {"rivera": rivera, "nguyen": nguyen}


def listed(response) -> list[str]:
    return re.findall(r'<a href="/staff/households/\d+">([^<]+)</a>', text(response))


def test_staff_home_lists_every_household(client, staff, district):
    response = client.get("/staff/")
    assert response.status_code == 200
    assert listed(response) == ["Nguyen family", "Rivera family"]
    assert "Alex Rivera" in text(response)
    assert "Sofia Rivera" in text(response)


SEARCHES = {
    "alex rivera": ["Rivera family"],  # a guardian's name
    "LINH@example.net": ["Nguyen family"],  # an email
    "213-555-0143": ["Rivera family"],  # phone digits
    "(323) 555 0112": ["Nguyen family"],
    "sofia": ["Rivera family"],  # a student's first name
    "An Nguyen": ["Nguyen family"],  # a student's full name
    "nobody at all": [],
}


def test_staff_search_households_by_guardian_email_phone_and_student(client, staff, district):
    wrong = {}
    for query, expected in SEARCHES.items():
        response = client.get("/staff/households", query_string={"q": query})
        assert response.status_code == 200, query
        if listed(response) != expected or input_value(text(response), "q") != query:
            wrong[query] = (listed(response), input_value(text(response), "q"))
    assert wrong == {}
    assert "No household matches" in text(client.get("/staff/households", query_string={"q": "nobody at all"}))


def test_each_household_found_links_to_its_own_page_with_its_names(client, staff, district):
    page = text(client.get("/staff/households", query_string={"q": "family"}))
    links = re.findall(r'<a href="/staff/households/(\d+)">([^<]+)</a>', page)
    assert sorted(links) == sorted((str(household.id), household.name) for household in district.values())
    assert page.count("<p>Guardians: ") == page.count("<p>Students: ") == 2
    assert "<p>Students: Sofia Rivera</p>" in page


def test_staff_find_a_family_by_its_names_typed_with_or_without_accents(db, client, staff, district):
    pena = factories.make_household(db, name="Peña family", students=0)
    factories.guardians_of(db, pena)[0].display_name = "José Peña"
    db.add(Student(household_id=pena.id, first_name="Iñaki", last_name="Peña", grade="4"))
    db.commit()
    found = {}
    for query in ("jose pena", "PEÑA", "inaki", "Iñaki Peña"):
        response = client.get("/staff/households", query_string={"q": query})
        found[query] = (listed(response), input_value(text(response), "q"))
    assert found == {query: (["Peña family"], query) for query in found}


@pytest.mark.parametrize("app_config", [{"PAGE_SIZE": 2}])
def test_the_household_list_pages_through_results(db, client, staff, app_config):
    for letter in "EDCBA":
        factories.make_household(db, name=f"{letter} family")
    first = client.get("/staff/households", query_string={"q": "family"})
    assert listed(first) == ["A family", "B family"]
    assert "Page 1 of 3" in text(first)
    next_page = re.search(r'<a href="([^"]+)" rel="next">', text(first)).group(1).replace("&amp;", "&")
    assert "q=family" in next_page
    second = client.get(next_page)
    assert listed(second) == ["C family", "D family"]
    last = client.get("/staff/households", query_string={"q": "family", "page": 3})
    assert listed(last) == ["E family"]
    assert 'rel="next"' not in text(last)
    assert 'rel="prev"' in text(last)


def test_a_strange_page_number_does_not_fail(client, staff, district):
    for page in ["0", "-1", "abc", "99999999999999999999", "1e3", ""]:
        response = client.get("/staff/households", query_string={"page": page})
        assert response.status_code == 200, page
        assert listed(response) == ["Nguyen family", "Rivera family"], page


# Creating a household -------------------------------------------------------------------------


def test_the_new_household_form_starts_with_one_guardian_and_one_student(client, staff):
    page = text(client.get("/staff/households/new"))
    assert 'name="guardians-0-email"' in page
    assert 'name="students-0-first_name"' in page
    assert 'name="guardians-1-email"' not in page
    assert 'value="add_guardian"' in page
    assert 'value="add_student"' in page
    assert 'value="create"' in page
    for label in ("Household name", "Full name", "Email", "First name", "Last name", "School", "Grade"):
        assert f">{label}</label>" in page


def test_adding_a_guardian_row_keeps_everything_typed(client, db, staff):
    response = submit(client, "/staff/households/new", household_form(action="add_guardian"))
    html = text(response)
    assert response.status_code == 200
    assert 'name="guardians-1-email"' in html
    assert input_value(html, "name") == "Lee family"
    assert input_value(html, "guardians-0-display_name") == "Ana Lee"
    assert input_value(html, "guardians-0-email") == "ana@example.org"
    assert input_value(html, "students-0-first_name") == "Bo"
    assert 'class="field-error"' not in html
    assert count(db, Household) == 0


def test_adding_a_student_row_keeps_everything_typed(client, db, staff):
    response = submit(client, "/staff/households/new", {**household_form(action="add_student"), **second_guardian()})
    html = text(response)
    assert 'name="students-1-first_name"' in html
    assert input_value(html, "guardians-1-email") == "sam@example.org"
    assert input_value(html, "students-0-last_name") == "Lee"
    assert count(db, Household) == 0


def test_guardian_rows_stop_at_the_maximum(client, staff):
    form = household_form(action="add_guardian")
    for index in range(1, 6):
        form.update({f"guardians-{index}-display_name": f"G{index}", f"guardians-{index}-email": f"g{index}@e.org"})
    html = text(submit(client, "/staff/households/new", form))
    assert 'name="guardians-5-email"' in html
    assert 'name="guardians-6-email"' not in html
    assert 'value="add_guardian"' not in html


def test_staff_create_a_household_with_two_guardians_and_two_students(client, db, staff):
    school = factories.make_school(db, name="Lincoln Elementary")
    form = {**household_form(), **second_guardian(), **second_student(**{"students-1-school_id": str(school.id)})}
    response = submit(client, "/staff/households/new", form)
    assert response.status_code == 200
    html = text(response)
    assert "Household created" in html
    household = db.scalar(select(Household))
    assert household.name == "Lee family"
    guardians = factories.guardians_of(db, household)
    assert [(g.email, g.phone, g.language) for g in guardians] == [
        ("ana@example.org", None, "en"),
        ("sam@example.org", "+12135550143", "es"),
    ]
    students = db.scalars(select(Student).order_by(Student.id)).all()
    assert [(s.full_name, s.school_id, s.grade, s.sis_id) for s in students] == [
        ("Bo Lee", None, "3", None),
        ("Mia Lee", school.id, "K", "S-77"),
    ]


def test_creating_a_household_prints_a_letter_with_an_activation_code_per_guardian(app, client, db, staff):
    response = submit(client, "/staff/households/new", {**household_form(), **second_guardian()})
    html = text(response)
    codes = LETTER_CODE.findall(html)
    assert len(codes) == 2
    assert all(CODE_FORMAT.match(code) for code in codes)
    assert "http://portal.test/activate" in html
    household = db.scalar(select(Household))
    for code, guardian in zip(codes, factories.guardians_of(db, household), strict=True):
        invitation = accounts.invitation_by_code(
            db, code, now=household.created_at, secret_key=app.config["SECRET_KEY"]
        )
        assert invitation.user_id == guardian.id


def test_creating_a_household_audits_it_and_queues_one_invitation_per_guardian(client, db, staff):
    submit(client, "/staff/households/new", {**household_form(), **second_guardian()})
    household = db.scalar(select(Household))
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "household.created"))
    assert (event.actor_id, event.household_id) == (staff.id, household.id)
    emails = db.scalars(select(Notification).where(Notification.template == "invitation").order_by(Notification.id))
    assert [n.to_address for n in emails] == ["ana@example.org", "sam@example.org"]
    # One unit of work: the household, its audit event and its emails carry one timestamp.
    assert {n.created_at for n in db.scalars(select(Notification))} == {event.created_at}


def test_a_duplicate_guardian_email_is_shown_on_that_field_and_everything_else_is_kept(client, db, staff):
    factories.make_user(db, email="sam@example.org")
    form = {**household_form(), **second_guardian(), **second_student()}
    response = submit(client, "/staff/households/new", form)
    html = text(response)
    assert response.status_code == 200
    assert "already exists" in field_error(html, "guardians-1-email")
    assert field_error(html, "guardians-0-email") is None
    for name, value in form.items():
        if name not in ("action", "csrf_token") and not name.endswith(("relationship", "language", "grade", "_id")):
            assert input_value(html, name) == value.replace("&", "&amp;"), name
    assert re.search(r'<option selected value="father">|<option value="father" selected>', html)
    assert count(db, Household) == 0
    assert count(db, Notification) == 0
    assert count(db, AuditEvent, AuditEvent.action.like("household.%")) == 0
    assert count(db, User, User.email == "ana@example.org") == 0


MISTAKES = [
    ({"name": ""}, "name", "Enter a name for the household."),
    ({"guardians-0-display_name": ""}, "guardians-0-display_name", "Enter the guardian's name."),
    ({"guardians-0-email": "not an email"}, "guardians-0-email", "like name@example.org"),
    ({"guardians-0-phone": "call me"}, "guardians-0-phone", "phone number"),
    ({"guardians-0-phone": "555-0000"}, "guardians-0-phone", "phone number"),
    ({"students-0-first_name": ""}, "students-0-first_name", "Enter the student's first name."),
    ({"students-0-school_id": "999"}, "students-0-school_id", ""),
    ({"students-0-grade": "13"}, "students-0-grade", ""),
    ({"guardians-0-relationship": "boss"}, "guardians-0-relationship", ""),
]


def test_a_new_household_with_a_mistake_is_explained_next_to_the_field(client, db, staff):
    unexplained = {}
    for fields, field, message in MISTAKES:
        response = submit(client, "/staff/households/new", household_form(**fields))
        error = field_error(text(response), field)
        if response.status_code != 200 or error is None or message not in error:
            unexplained[field + " " + repr(fields)] = (response.status_code, error)
    assert unexplained == {}
    assert count(db, Household) == 0


def test_a_household_sis_id_already_used_is_shown_on_that_field(client, db, staff):
    existing = factories.make_household(db)
    existing.sis_id = "FAM-9"
    db.commit()
    response = submit(client, "/staff/households/new", household_form(sis_id="FAM-9"))
    assert "already has this SIS id" in field_error(text(response), "sis_id")


def test_a_post_without_an_action_creates_nothing(client, db, staff):
    form = household_form()
    del form["action"]
    response = submit(client, "/staff/households/new", form)
    assert response.status_code == 200
    assert input_value(text(response), "guardians-0-email") == "ana@example.org"
    assert count(db, Household) == 0


# One household ------------------------------------------------------------------------------------


def test_staff_open_a_household_with_its_guardians_and_students(client, db, staff):
    school = factories.make_school(db, name="Roosevelt Middle")
    household = factories.make_household(db, name="Park family", guardians=2, students=2, school=school)
    response = client.get(f"/staff/households/{household.id}")
    assert response.status_code == 200
    html = text(response)
    assert "Park family" in html
    for guardian in factories.guardians_of(db, household):
        assert guardian.display_name in html
        assert guardian.email in html
    assert "Roosevelt Middle" in html
    assert f'href="/staff/households/{household.id}/guardians/new"' in html
    assert f'href="/staff/households/{household.id}/students/new"' in html


def test_a_missing_household_is_404_for_staff(client, staff):
    for path in ("/staff/households/999", "/staff/households/999/guardians/new", "/staff/households/999/students/new"):
        assert client.get(path).status_code == 404, path


def test_only_guardians_not_yet_activated_get_a_new_invitation_button(client, db, staff):
    household = factories.make_household(db, guardians=1)
    waiting = factories.make_household(db, guardians=1, activated=False)
    active_page = text(client.get(f"/staff/households/{household.id}"))
    waiting_page = text(client.get(f"/staff/households/{waiting.id}"))
    assert "/invitation" not in active_page
    assert "Invited, not yet activated" in waiting_page
    guardian = factories.guardians_of(db, waiting)[0]
    assert f'action="/staff/households/{waiting.id}/guardians/{guardian.id}/invitation"' in waiting_page


def test_staff_add_a_guardian_and_get_their_letter(client, db, staff):
    household = factories.make_household(db, name="Park family")
    response = submit(
        client,
        f"/staff/households/{household.id}/guardians/new",
        {"display_name": "May Park", "email": "May@Example.org", "phone": "", "relationship": "aunt", "language": "es"},
    )
    assert response.status_code == 200
    html = text(response)
    [code] = LETTER_CODE.findall(html)
    assert CODE_FORMAT.match(code)
    assert "Park family" in html
    may = db.scalar(select(User).where(User.email == "may@example.org"))
    assert may.language == "es"
    assert may.id in [g.id for g in factories.guardians_of(db, household)]
    assert count(db, Notification, Notification.recipient_id == may.id) == 1


def test_adding_a_guardian_with_an_email_in_use_keeps_the_form(client, db, staff):
    household = factories.make_household(db)
    taken = factories.make_user(db)
    form = {"display_name": "May Park", "email": taken.email, "phone": "", "relationship": "aunt", "language": "en"}
    response = submit(client, f"/staff/households/{household.id}/guardians/new", form)
    html = text(response)
    assert "already exists" in field_error(html, "email")
    assert input_value(html, "display_name") == "May Park"


def test_staff_add_a_student(client, db, staff):
    school = factories.make_school(db, name="Jefferson High")
    household = factories.make_household(db, students=0)
    response = submit(
        client,
        f"/staff/households/{household.id}/students/new",
        {"first_name": "Isa", "last_name": "Park", "school_id": str(school.id), "grade": "11", "sis_id": ""},
    )
    assert response.status_code == 302
    assert location(response) == f"/staff/households/{household.id}"
    page = text(client.get(location(response)))
    assert "Student added." in page
    assert "Isa Park" in page
    assert "Jefferson High" in page
    assert count(db, AuditEvent, AuditEvent.action == "household.student_added") == 1


def test_adding_a_student_with_a_missing_name_keeps_the_form(client, db, staff):
    household = factories.make_household(db, students=0)
    response = submit(
        client,
        f"/staff/households/{household.id}/students/new",
        {"first_name": "Isa", "last_name": "", "school_id": "0", "grade": "11", "sis_id": "S-1"},
    )
    html = text(response)
    assert field_error(html, "last_name") == "Enter the student's last name."
    assert input_value(html, "first_name") == "Isa"
    assert input_value(html, "sis_id") == "S-1"
    assert count(db, Student) == 0


def test_a_new_invitation_prints_a_letter_and_revokes_the_older_one(app, client, db, staff):
    household = factories.make_household(db, activated=False)
    guardian = factories.guardians_of(db, household)[0]
    with app.app_context():
        first = factories.invite(db, guardian)
    path = f"/staff/households/{household.id}/guardians/{guardian.id}/invitation"
    response = submit(client, path, {}, page=f"/staff/households/{household.id}")
    assert response.status_code == 200
    html = text(response)
    [code] = LETTER_CODE.findall(html)
    assert code != first.code
    assert "Earlier links and codes no longer work" in html
    assert client.get(f"/invitation/{first.token}").status_code == 410
    assert count(db, Invitation, Invitation.user_id == guardian.id, Invitation.revoked_at.is_(None)) == 1


def test_a_new_invitation_for_someone_outside_the_household_is_404(client, db, staff):
    ours, theirs = factories.make_household(db), factories.make_household(db, activated=False)
    stranger = factories.guardians_of(db, theirs)[0]
    path = f"/staff/households/{ours.id}/guardians/{stranger.id}/invitation"
    response = submit(client, path, {}, page=f"/staff/households/{ours.id}")
    assert response.status_code == 404
    assert count(db, Invitation) == 0


def test_a_new_invitation_only_accepts_post(client, db, staff):
    household = factories.make_household(db, activated=False)
    guardian = factories.guardians_of(db, household)[0]
    assert client.get(f"/staff/households/{household.id}/guardians/{guardian.id}/invitation").status_code == 405


def test_an_activated_guardian_cannot_be_given_a_new_invitation(app, client, db, staff):
    # The letter shows its code to the staff member who prints it: for an account
    # already in use, that code would let them choose the family's password.
    household = factories.make_household(db)
    guardian = factories.guardians_of(db, household)[0]
    path = f"/staff/households/{household.id}/guardians/{guardian.id}/invitation"
    response = submit(client, path, {}, page=f"/staff/households/{household.id}")
    assert LETTER_CODE.findall(text(response)) == []
    assert count(db, Invitation) == 0
