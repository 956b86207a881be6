"""Requests, as staff work them: a queue of their own departments' requests, a request
page with everything about the family, replies and internal notes, moves, assignment,
phone calls logged into the same queue, and overdue replies escalated by `flask escalate`."""

import html
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from portal import mail
from portal.db import utcnow
from portal.models import (
    AccountNote,
    NoteCategory,
    Notification,
    Request,
    RequestChannel,
    RequestMessage,
    RequestStatus,
    Student,
)
from portal.services import requests
from portal.services.calendar import district_calendar
from tests import factories
from tests.conftest import Browser
from tests.web.support import HOSTILE_SCRIPT, field_error, input_value, location, redirects_to_sign_in, submit, text

ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
CONTROL_CHARACTERS = "Called\x07\x1b[2J back"


@pytest.fixture
def app_config(request: pytest.FixtureRequest) -> dict[str, object]:
    """Parametrize indirectly to change the configuration (a small PAGE_SIZE)."""
    return getattr(request, "param", {})


# --- setting the scene ------------------------------------------------------


@pytest.fixture
def sped_staff(db, special_ed):  # type: ignore[no-untyped-def]
    user = factories.make_staff(db, name="Casey Nguyen")
    factories.join(db, user, special_ed)
    return user


def browser_for(app, user) -> Browser:  # type: ignore[no-untyped-def]
    browser = Browser(app.test_client(), app)
    browser.sign_in(user.email)
    return browser


def calendar(db):  # type: ignore[no-untyped-def]
    return district_calendar.load_calendar(db, "America/Los_Angeles")


def ask(db, guardian, department, subject: str = "Bus stop change", body: str = "Which stop?", **kwargs) -> Request:  # type: ignore[no-untyped-def]
    created, _is_new = requests.submit_request(
        db,
        guardian,
        requests.NewRequest(department_id=department.id, subject=subject, body=body),
        calendar=calendar(db),
        now=kwargs.get("now") or utcnow(),
    )
    db.commit()
    return created


def reload(db, request_id: int) -> Request:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.get(Request, request_id)


def count(db, model, *where) -> int:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model).where(*where))


def emails(db, template: str, recipient=None) -> list[Notification]:  # type: ignore[no-untyped-def]
    db.expire_all()
    statement = select(Notification).where(Notification.template == template)
    if recipient is not None:
        statement = statement.where(Notification.recipient_id == recipient.id)
    return list(db.scalars(statement.order_by(Notification.id)))


def update_form(request: Request, **fields: object) -> dict[str, object]:
    """The update form as the page serves it for `request`, then `fields`."""
    form: dict[str, object] = {
        "status": request.status.value,
        "priority": request.priority.value,
        "department_id": request.department_id,
        "assignee_id": request.assignee_id or 0,
    }
    form.update(fields)
    return form


def phone_form(guardian, department, **fields: object) -> dict[str, object]:  # type: ignore[no-untyped-def]
    form: dict[str, object] = {
        "guardian_id": guardian.id,
        "department_id": department.id,
        "student_id": 0,
        "priority": "normal",
        "subject": "Late bus on route 7",
        "body": "Mum called: the bus was 40 minutes late twice this week.",
    }
    form.update(fields)
    return form


def queue_page(browser: Browser, **params: str) -> str:
    return html.unescape(text(browser.get("/staff/requests/", query_string=params)))


# --- confined to their departments ------------------------------------------


def test_the_queue_shows_only_the_staff_members_departments(db, desk, guardian, transport, special_ed):
    ours = ask(db, guardian, transport, subject="Bus stop change")
    theirs = ask(db, guardian, special_ed, subject="IEP meeting date")
    page = queue_page(desk)
    assert f"{ours.reference}: Bus stop change" in page
    assert "IEP meeting date" not in page
    assert "IEP meeting date" not in queue_page(desk, q=theirs.reference, status="all")
    assert "IEP meeting date" not in queue_page(desk, department_id=str(special_ed.id))


def test_staff_get_404_for_a_request_outside_their_departments(db, desk, guardian, special_ed):
    theirs = ask(db, guardian, special_ed)
    assert desk.get(f"/staff/requests/{theirs.id}").status_code == 404


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("reply", {"body": "Hello from transport", "action": "reply", "then_status": "resolved"}),
        ("reply", {"body": "Hello from transport", "action": "note"}),
        ("update", {"status": "closed", "priority": "urgent", "assignee_id": "0"}),
    ],
)
def test_staff_get_404_and_change_nothing_posting_to_a_request_outside_their_departments(
    db, desk, guardian, special_ed, action, data
):
    theirs = ask(db, guardian, special_ed)
    response = desk.submit(
        f"/staff/requests/{theirs.id}/{action}", {"department_id": special_ed.id, **data}, page="/staff/requests/"
    )
    assert response.status_code == 404
    after = reload(db, theirs.id)
    assert (after.status, after.priority.value) == (RequestStatus.OPEN, "normal")
    assert count(db, RequestMessage) == 1
    assert count(db, Notification) == 0


def test_an_admin_sees_and_opens_every_departments_requests(app, db, guardian, transport, special_ed):
    bus = ask(db, guardian, transport, subject="Bus stop change")
    iep = ask(db, guardian, special_ed, subject="IEP meeting date")
    admin = browser_for(app, factories.make_admin(db))
    page = queue_page(admin)
    assert "Bus stop change" in page and "IEP meeting date" in page
    assert admin.get(f"/staff/requests/{bus.id}").status_code == 200
    assert admin.get(f"/staff/requests/{iep.id}").status_code == 200


def test_staff_move_a_request_to_another_department_and_return_to_the_queue(db, desk, guardian, transport, special_ed):
    asked = ask(db, guardian, transport)
    response = desk.submit(
        f"/staff/requests/{asked.id}/update",
        update_form(asked, department_id=special_ed.id),
        page=f"/staff/requests/{asked.id}",
    )
    assert response.status_code == 302
    assert urlsplit(location(response)).path == "/staff/requests/"
    page = html.unescape(text(desk.get(location(response))))
    assert "Request updated." in page
    assert "It is now in a department you do not work in, so it left your queue." in page
    assert "Bus stop change" not in page.split("</form>", 1)[1]
    assert reload(db, asked.id).department_id == special_ed.id
    assert desk.get(f"/staff/requests/{asked.id}").status_code == 404


def test_a_move_within_the_staff_members_departments_returns_to_the_request(db, staff, desk, guardian, transport):
    other = factories.make_department(db, "Enrollment")
    factories.join(db, staff, other)
    asked = ask(db, guardian, transport)
    response = desk.submit(
        f"/staff/requests/{asked.id}/update", update_form(asked, department_id=other.id), page="/staff/requests/"
    )
    assert response.status_code == 302
    assert location(response).endswith(f"/staff/requests/{asked.id}")
    assert reload(db, asked.id).department_id == other.id


def test_moving_an_assigned_request_to_another_department_takes_the_assignee_off(
    db, staff, desk, guardian, transport, special_ed
):
    asked = ask(db, guardian, transport)
    requests.assign(db, staff, asked, staff.id, now=utcnow())
    db.commit()
    # The form as the page serves it: the assignee is still selected.
    response = desk.submit(
        f"/staff/requests/{asked.id}/update",
        update_form(reload(db, asked.id), department_id=special_ed.id),
        page="/staff/requests/",
    )
    assert response.status_code == 302
    moved = reload(db, asked.id)
    assert (moved.department_id, moved.assignee_id) == (special_ed.id, None)


def test_staff_assign_a_request_to_a_colleague_who_is_emailed(app, db, desk, guardian, transport):
    colleague = factories.make_staff(db, name="Sam Park")
    factories.join(db, colleague, transport)
    asked = ask(db, guardian, transport)
    response = desk.submit(
        f"/staff/requests/{asked.id}/update", update_form(asked, assignee_id=colleague.id), page="/staff/requests/"
    )
    assert response.status_code == 302
    assert reload(db, asked.id).assignee_id == colleague.id
    assert [email.payload["reference"] for email in emails(db, "request_assigned", colleague)] == [asked.reference]
    assert "Sam Park" in queue_page(desk)


def test_assigning_to_someone_outside_the_department_shows_an_error_next_to_the_field(
    db, desk, guardian, transport, sped_staff
):
    asked = ask(db, guardian, transport)
    response = desk.submit(
        f"/staff/requests/{asked.id}/update", update_form(asked, assignee_id=sped_staff.id), page="/staff/requests/"
    )
    assert response.status_code == 200
    assert (
        html.unescape(field_error(text(response), "assignee_id") or "")
        == "Choose a member of the request's department."
    )
    assert reload(db, asked.id).assignee_id is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("assignee_id", "robin"),
        ("assignee_id", "1.5"),
        ("department_id", "transport"),
        ("department_id", ""),
        ("status", "deleted"),
        ("priority", "whenever"),
    ],
)
def test_an_update_with_a_value_not_in_the_list_gets_an_error_next_to_the_field(
    db, desk, guardian, transport, field, value
):
    asked = ask(db, guardian, transport)
    response = desk.submit(
        f"/staff/requests/{asked.id}/update", update_form(asked, **{field: value}), page="/staff/requests/"
    )
    assert response.status_code == 200
    assert field_error(text(response), field)
    after = reload(db, asked.id)
    assert (after.status, after.department_id, after.assignee_id) == (RequestStatus.OPEN, transport.id, None)


def test_moving_to_a_department_that_does_not_exist_gets_an_error_next_to_the_field(db, desk, guardian, transport):
    asked = ask(db, guardian, transport)
    response = desk.submit(
        f"/staff/requests/{asked.id}/update", update_form(asked, department_id=987654), page="/staff/requests/"
    )
    assert response.status_code == 200
    assert field_error(text(response), "department_id") == "Choose a department from the list."
    assert reload(db, asked.id).department_id == transport.id


# --- the request page -------------------------------------------------------


def test_the_request_page_shows_the_familys_contact_details_and_notes(db, desk, household, guardian, transport):
    db.add(AccountNote(household_id=household.id, category=NoteCategory.PICKUP, text="Grandma Rosa picks up."))
    db.commit()
    asked = ask(db, guardian, transport)
    page = html.unescape(text(desk.get(f"/staff/requests/{asked.id}")))
    assert "Alvarez family" in page
    assert guardian.display_name in page
    assert guardian.email in page
    assert "Grandma Rosa picks up." in page
    assert "Which stop?" in page


def test_other_open_requests_show_in_full_for_own_departments_and_only_counted_for_others(
    app, db, staff, desk, guardian, transport, special_ed
):
    asked = ask(db, guardian, transport, subject="Bus stop change")
    sibling = ask(db, guardian, transport, subject="Late bus on route 7")
    ask(db, guardian, special_ed, subject="IEP meeting date")
    done = ask(db, guardian, transport, subject="Lost lunchbox on the bus")
    requests.change_status(
        db,
        staff,
        done,
        RequestStatus.CLOSED,
        calendar=calendar(db),
        now=utcnow(),
        secret_key=app.config["SECRET_KEY"],
    )
    db.commit()
    page = html.unescape(text(desk.get(f"/staff/requests/{asked.id}")))
    assert f"{sibling.reference}: Late bus on route 7" in page
    assert "1 open request in a department you do not work in" in page
    assert "IEP meeting date" not in page
    assert "Lost lunchbox on the bus" not in page


def test_an_admin_sees_other_open_requests_of_every_department_in_full(app, db, guardian, transport, special_ed):
    asked = ask(db, guardian, transport)
    ask(db, guardian, special_ed, subject="IEP meeting date")
    admin = browser_for(app, factories.make_admin(db))
    page = html.unescape(text(admin.get(f"/staff/requests/{asked.id}")))
    assert "IEP meeting date" in page
    assert "department you do not work in" not in page


def test_a_public_reply_is_emailed_to_the_family_and_stops_the_first_reply_clock(db, desk, guardian, transport):
    asked = ask(db, guardian, transport)
    response = desk.submit(
        f"/staff/requests/{asked.id}/reply", {"body": "Stop 14 from Monday.", "action": "reply", "then_status": ""}
    )
    assert response.status_code == 302
    assert location(response).endswith(f"/staff/requests/{asked.id}#latest")
    assert "Reply sent to the family." in text(desk.get(location(response)))
    after = reload(db, asked.id)
    assert after.first_replied_at is not None
    assert after.status is RequestStatus.IN_PROGRESS
    sent = emails(db, "request_reply", guardian)
    assert len(sent) == 1
    assert sent[0].payload["body"] == "Stop 14 from Monday."
    assert sent[0].payload["reference"] == asked.reference


def test_an_internal_note_sends_no_email_and_stops_no_clock(db, desk, guardian, transport):
    asked = ask(db, guardian, transport)
    response = desk.submit(
        f"/staff/requests/{asked.id}/reply",
        {"body": "Check with the driver first.", "action": "note", "then_status": "resolved"},
    )
    assert response.status_code == 302
    assert "Internal note saved. The family does not see it." in text(desk.get(location(response)))
    after = reload(db, asked.id)
    assert after.first_replied_at is None
    assert after.status is RequestStatus.OPEN  # then_status applies to a reply only
    assert count(db, Notification) == 0
    note = db.scalar(select(RequestMessage).where(RequestMessage.is_internal))
    assert note.body == "Check with the driver first."
    page = html.unescape(text(desk.get(f"/staff/requests/{asked.id}")))
    assert "Internal note: staff only" in page and "Check with the driver first." in page


def test_a_reply_then_resolved_resolves_and_asks_the_family_how_we_did(db, desk, guardian, transport):
    asked = ask(db, guardian, transport)
    response = desk.submit(
        f"/staff/requests/{asked.id}/reply",
        {"body": "Stop 14 from Monday.", "action": "reply", "then_status": "resolved"},
    )
    assert response.status_code == 302
    after = reload(db, asked.id)
    assert after.status is RequestStatus.RESOLVED
    assert after.resolution_count == 1
    assert after.due_at is None
    assert [email.template for email in emails(db, "request_resolved", guardian)] == ["request_resolved"]
    assert len(emails(db, "request_reply", guardian)) == 1


def test_a_reply_then_waiting_on_family_pauses_the_resolution_clock(db, desk, guardian, transport):
    asked = ask(db, guardian, transport)
    desk.submit(
        f"/staff/requests/{asked.id}/reply",
        {"body": "Which school does he attend?", "action": "reply", "then_status": "waiting_on_family"},
    )
    after = reload(db, asked.id)
    assert after.status is RequestStatus.WAITING_ON_FAMILY
    assert after.resolution_paused_at is not None
    assert "Waiting for the family: the resolution clock is paused." in html.unescape(
        text(desk.get(f"/staff/requests/{asked.id}"))
    )


# --- the queue: filters, search, pages --------------------------------------


def test_the_queue_finds_a_request_by_reference_subject_message_and_family_name(db, desk, transport):
    alvarez = factories.guardians_of(db, factories.make_household(db, name="Alvarez family"))[0]
    brown = factories.guardians_of(db, factories.make_household(db, name="Brown family"))[0]
    first = ask(db, alvarez, transport, subject="Bus stop change", body="Which stop is closest?")
    second = ask(db, brown, transport, subject="Late bus", body="The driver skipped Maple Street.")
    for query, found, missing in [
        (second.reference, second, first),
        (second.reference.lower(), second, first),
        ("stop change", first, second),
        ("maple street", second, first),
        ("Alvarez", first, second),
    ]:
        page = queue_page(desk, q=query)
        assert found.subject in page, query
        assert missing.subject not in page, query


def test_the_queue_filters_by_status_assignee_and_overdue(app, db, staff, desk, guardian, transport):
    mine = ask(db, guardian, transport, subject="Assigned to me")
    requests.assign(db, staff, mine, staff.id, now=utcnow())
    old = ask(db, guardian, transport, subject="Waiting since last month", now=utcnow() - timedelta(days=30))
    resolved = ask(db, guardian, transport, subject="Already resolved")
    requests.reply_as_staff(db, staff, resolved, "Done.", internal=False, calendar=calendar(db), now=utcnow())
    db.commit()
    requests.change_status(
        db,
        staff,
        resolved,
        RequestStatus.RESOLVED,
        calendar=calendar(db),
        now=utcnow(),
        secret_key=app.config["SECRET_KEY"],
    )
    db.commit()

    assert "Already resolved" not in queue_page(desk)
    only_resolved = queue_page(desk, status="resolved")
    assert "Already resolved" in only_resolved and "Assigned to me" not in only_resolved
    only_mine = queue_page(desk, assignee="me")
    assert "Assigned to me" in only_mine and old.subject not in only_mine
    nobodys = queue_page(desk, assignee="none")
    assert "Assigned to me" not in nobodys and old.subject in nobodys
    overdue = queue_page(desk, overdue="y")
    assert old.subject in overdue and "Assigned to me" not in overdue


@pytest.mark.parametrize("app_config", [{"PAGE_SIZE": 2}], indirect=True)
def test_the_queue_pages_keep_the_filters_in_their_links(db, desk, guardian, transport):
    for number in range(5):
        ask(db, guardian, transport, subject=f"Bus question {number}")
    ask(db, guardian, transport, subject="Lunch money")
    filters = {"q": "Bus", "status": "all", "department_id": str(transport.id), "assignee": "none"}
    page = text(desk.get("/staff/requests/", query_string=filters))
    assert "5 requests, what is due next first" in page
    assert "Page 1 of 3" in page
    next_link = html.unescape(page.split('rel="next"')[0].rsplit('href="', 1)[1].split('"', 1)[0])
    wanted = parse_qs(urlsplit(next_link).query)
    assert wanted.pop("page") == ["2"]
    assert {key: values[0] for key, values in wanted.items()} == filters
    second = text(desk.get(next_link))
    assert "Page 2 of 3" in second
    assert "Lunch money" not in second
    assert html.unescape(second).count("Bus question") == 2


@pytest.mark.parametrize(
    "params",
    [
        {"page": "abc"},
        {"page": "-3"},
        {"page": "99999"},
        {"department_id": "transport"},
        {"school_id": "x"},
        {"status": "deleted"},
        {"assignee": "everyone"},
        {"q": "x" * 500},
        {"q": HOSTILE_SCRIPT},
        {"q": "100%_\\"},
    ],
)
def test_odd_queue_parameters_never_break_the_queue(db, desk, guardian, transport, params):
    ask(db, guardian, transport)
    response = desk.get("/staff/requests/", query_string=params)
    assert response.status_code == 200
    assert HOSTILE_SCRIPT not in text(response)


# --- phone calls ------------------------------------------------------------


def test_staff_log_a_phone_call_that_joins_the_queue_and_the_familys_requests(
    app, db, staff, desk, household, guardian, transport
):
    assert desk.get(f"/staff/requests/phone/{household.id}").status_code == 200
    response = desk.submit(f"/staff/requests/phone/{household.id}", phone_form(guardian, transport))
    assert response.status_code == 302
    logged = db.scalar(select(Request))
    assert location(response).endswith(f"/staff/requests/{logged.id}")
    assert (logged.channel, logged.author_id, logged.logged_by_id) == (RequestChannel.PHONE, guardian.id, staff.id)
    assert logged.household_id == household.id and logged.due_at is not None
    detail = html.unescape(text(desk.get(location(response))))
    assert f"Request {logged.reference} logged. Tell the family: we will reply by" in detail
    assert "(by phone)" in detail
    assert "Late bus on route 7" in queue_page(desk)
    family = browser_for(app, guardian)
    mine = html.unescape(text(family.get("/requests/")))
    assert f"{logged.reference} · Transportation" in mine and "Late bus on route 7" in mine
    assert "the bus was 40 minutes late" in html.unescape(text(family.get(f"/requests/{logged.id}")))


def test_a_phone_call_for_a_department_the_staff_member_is_not_in_returns_to_the_household(
    db, desk, household, guardian, special_ed
):
    response = desk.submit(f"/staff/requests/phone/{household.id}", phone_form(guardian, special_ed))
    assert response.status_code == 302
    assert urlsplit(location(response)).path == f"/staff/households/{household.id}"
    assert db.scalar(select(Request)).department_id == special_ed.id


def test_a_phone_call_for_a_guardian_of_another_household_is_refused_next_to_the_field(db, desk, household, transport):
    stranger = factories.guardians_of(db, factories.make_household(db))[0]
    response = desk.submit(f"/staff/requests/phone/{household.id}", phone_form(stranger, transport))
    assert response.status_code == 200
    page = text(response)
    assert field_error(page, "guardian_id") == "Choose the guardian who called."
    assert input_value(page, "subject") == "Late bus on route 7"
    assert count(db, Request) == 0


@pytest.mark.parametrize("value", [None, "0", "987654"])
def test_a_phone_call_without_a_department_is_refused_next_to_the_field(
    db, desk, household, guardian, transport, value
):
    form = phone_form(guardian, transport, department_id=value)
    if value is None:
        del form["department_id"]
    response = desk.submit(f"/staff/requests/phone/{household.id}", form)
    assert response.status_code == 200
    page = text(response)
    assert field_error(page, "department_id") == "Choose a department from the list."
    assert "the bus was 40 minutes late twice this week.</textarea>" in page
    assert count(db, Request) == 0


@pytest.mark.parametrize(("field", "value"), [("department_id", "buses"), ("student_id", "kid"), ("guardian_id", "x")])
def test_a_phone_call_with_an_id_that_is_not_a_number_gets_an_error_next_to_the_field(
    db, desk, household, guardian, transport, field, value
):
    response = desk.submit(f"/staff/requests/phone/{household.id}", phone_form(guardian, transport, **{field: value}))
    assert response.status_code == 200
    assert field_error(text(response), field)
    assert input_value(text(response), "subject") == "Late bus on route 7"
    assert count(db, Request) == 0


def test_a_phone_call_about_another_households_student_is_refused_next_to_the_field(
    db, desk, household, guardian, transport
):
    stranger = factories.make_household(db)
    their_student = db.scalar(select(Student).where(Student.household_id == stranger.id))
    response = desk.submit(
        f"/staff/requests/phone/{household.id}", phone_form(guardian, transport, student_id=their_student.id)
    )
    assert response.status_code == 200
    assert field_error(text(response), "student_id") == "Choose a student from the list."
    assert count(db, Request) == 0


def test_a_phone_call_for_a_household_that_does_not_exist_is_404(desk):
    assert desk.get("/staff/requests/phone/987654").status_code == 404


# --- hostile and oversized input --------------------------------------------


def test_a_script_in_a_staff_reply_is_shown_as_text_to_staff_family_and_in_the_email(
    app, db, desk, guardian, transport
):
    asked = ask(db, guardian, transport)
    desk.submit(f"/staff/requests/{asked.id}/reply", {"body": HOSTILE_SCRIPT, "action": "reply"})
    staff_page = text(desk.get(f"/staff/requests/{asked.id}"))
    assert HOSTILE_SCRIPT not in staff_page and ESCAPED_SCRIPT in staff_page
    family_page = text(browser_for(app, guardian).get(f"/requests/{asked.id}"))
    assert HOSTILE_SCRIPT not in family_page and ESCAPED_SCRIPT in family_page
    with app.app_context():
        message = mail.render_email(app, emails(db, "request_reply", guardian)[0])
    email_html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert HOSTILE_SCRIPT not in email_html and ESCAPED_SCRIPT in email_html


def test_a_script_in_a_familys_subject_is_shown_as_text_in_the_queue_and_request_page(db, desk, guardian, transport):
    asked = ask(db, guardian, transport, subject=f"Bus {HOSTILE_SCRIPT}", body=HOSTILE_SCRIPT)
    for url in ("/staff/requests/", f"/staff/requests/{asked.id}"):
        page = text(desk.get(url))
        assert HOSTILE_SCRIPT not in page, url
        assert ESCAPED_SCRIPT in page, url


def test_a_script_in_a_logged_phone_call_is_shown_as_text(db, desk, household, guardian, transport):
    desk.submit(
        f"/staff/requests/phone/{household.id}",
        phone_form(guardian, transport, subject=HOSTILE_SCRIPT, body=HOSTILE_SCRIPT),
    )
    logged = db.scalar(select(Request))
    assert logged.subject == HOSTILE_SCRIPT
    page = text(desk.get(f"/staff/requests/{logged.id}"))
    assert HOSTILE_SCRIPT not in page and ESCAPED_SCRIPT in page


def test_control_characters_in_a_staff_reply_are_refused_and_the_choice_kept(db, desk, guardian, transport):
    asked = ask(db, guardian, transport)
    response = desk.submit(
        f"/staff/requests/{asked.id}/reply",
        {"body": CONTROL_CHARACTERS, "action": "reply", "then_status": "resolved"},
    )
    assert response.status_code == 200
    page = text(response)
    assert "Remove the invisible control characters" in field_error(page, "body")
    assert '<option selected value="resolved">' in page
    assert count(db, RequestMessage) == 1
    assert count(db, Notification) == 0


def test_an_oversized_staff_reply_gets_a_message_next_to_the_field(db, desk, guardian, transport):
    asked = ask(db, guardian, transport)
    response = desk.submit(
        f"/staff/requests/{asked.id}/reply", {"body": "x" * 6000, "action": "note", "then_status": "waiting_on_family"}
    )
    assert response.status_code == 200
    page = text(response)
    assert field_error(page, "body") == "Field cannot be longer than 5000 characters."
    assert '<option selected value="waiting_on_family">' in page
    assert count(db, RequestMessage) == 1


def test_an_empty_staff_reply_gets_a_message_next_to_the_field(db, desk, guardian, transport):
    asked = ask(db, guardian, transport)
    response = desk.submit(f"/staff/requests/{asked.id}/reply", {"body": "   ", "action": "reply"})
    assert response.status_code == 200
    assert field_error(text(response), "body") == "Write your message."
    assert count(db, RequestMessage) == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("subject", CONTROL_CHARACTERS, "Remove the invisible control characters from this field."),
        ("body", "Nul\x00byte", "Remove the invisible control characters from this field."),
        ("subject", "s" * 200, "Field cannot be longer than 150 characters."),
        ("body", "b" * 6000, "Field cannot be longer than 5000 characters."),
    ],
)
def test_a_bad_phone_call_field_gets_a_message_and_the_others_are_kept(
    db, desk, household, guardian, transport, field, value, message
):
    response = desk.submit(f"/staff/requests/phone/{household.id}", phone_form(guardian, transport, **{field: value}))
    assert response.status_code == 200
    page = text(response)
    assert field_error(page, field) == message
    if field == "subject":
        assert "the bus was 40 minutes late twice this week.</textarea>" in page
    else:
        assert input_value(page, "subject") == "Late bus on route 7"
    assert f'<option selected value="{transport.id}">' in page
    assert count(db, Request) == 0


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/staff/requests/{id}/reply", {"body": "Hello", "action": "reply", "then_status": "resolved"}),
        ("/staff/requests/{id}/update", {"status": "closed", "priority": "normal", "assignee_id": "0"}),
        ("/staff/requests/phone/{household}", {"subject": "Bus", "body": "Late", "priority": "normal"}),
    ],
)
def test_a_staff_post_without_its_csrf_token_is_refused(db, desk, household, guardian, transport, path, data):
    asked = ask(db, guardian, transport)
    form = {"department_id": transport.id, "guardian_id": guardian.id, **data}
    response = desk.client.post(path.format(id=asked.id, household=household.id), data=form)
    assert response.status_code == 400
    assert reload(db, asked.id).status is RequestStatus.OPEN
    assert count(db, Request) == 1
    assert count(db, RequestMessage) == 1


@pytest.mark.parametrize("path", ["/staff/requests/", "/staff/requests/{id}", "/staff/requests/phone/{household}"])
def test_an_anonymous_visitor_is_sent_to_sign_in_for_staff_pages(db, client, household, guardian, transport, path):
    asked = ask(db, guardian, transport)
    assert redirects_to_sign_in(client.get(path.format(id=asked.id, household=household.id)))


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/staff/requests/{id}/reply", {"body": "Hello", "action": "reply"}),
        ("/staff/requests/{id}/update", {"status": "closed", "priority": "normal", "assignee_id": "0"}),
        ("/staff/requests/phone/{household}", {"subject": "Bus", "body": "Late", "priority": "normal"}),
    ],
)
def test_an_anonymous_post_to_a_staff_route_is_sent_to_sign_in(db, client, household, guardian, transport, path, data):
    asked = ask(db, guardian, transport)
    response = submit(client, path.format(id=asked.id, household=household.id), data, page="/sign-in")
    assert redirects_to_sign_in(response)
    assert reload(db, asked.id).status is RequestStatus.OPEN
    assert count(db, RequestMessage) == 1


# --- escalation -------------------------------------------------------------


def test_flask_escalate_tells_the_supervisor_once_about_an_overdue_first_reply(app, db, staff, guardian, transport):
    supervisor = factories.make_staff(db, name="Pat Supervisor")
    factories.join(db, supervisor, transport, supervisor=True)
    overdue = ask(db, guardian, transport, subject="Waiting since last month", now=utcnow() - timedelta(days=30))
    ask(db, guardian, transport, subject="Sent just now")
    runner = app.test_cli_runner()

    first = runner.invoke(args=["escalate"])
    assert first.exit_code == 0, first.output
    assert first.output == "Escalated 1 overdue replies.\n"
    sent = emails(db, "request_overdue")
    assert [(email.recipient_id, email.payload["reference"]) for email in sent] == [(supervisor.id, overdue.reference)]
    assert sent[0].payload["clock"] == "first_reply"

    second = runner.invoke(args=["escalate"])
    assert second.exit_code == 0, second.output
    assert second.output == "Escalated 0 overdue replies.\n"
    assert len(emails(db, "request_overdue")) == 1


def test_flask_escalate_tells_the_admins_when_the_department_has_no_supervisor(app, db, guardian, transport):
    admin = factories.make_admin(db)
    ask(db, guardian, transport, now=utcnow() - timedelta(days=30))
    result = app.test_cli_runner().invoke(args=["escalate"])
    assert result.exit_code == 0, result.output
    assert [email.recipient_id for email in emails(db, "request_overdue")] == [admin.id]


def test_the_overdue_email_names_the_request(app, db, guardian, transport):
    supervisor = factories.make_staff(db)
    factories.join(db, supervisor, transport, supervisor=True)
    overdue = ask(db, guardian, transport, subject="Waiting since last month", now=utcnow() - timedelta(days=30))
    app.test_cli_runner().invoke(args=["escalate"])
    with app.app_context():
        message = mail.render_email(app, emails(db, "request_overdue")[0])
    assert message["Subject"] == f"Overdue reply: {overdue.reference}"
    assert f"/staff/requests/{overdue.id}" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
