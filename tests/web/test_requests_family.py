"""Requests, as a family uses them: ask a department, see the promised reply time, follow
the public conversation, reply, close and reopen; and never see another household's
requests or a staff member's internal note."""

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal import mail
from portal.db import utcnow
from portal.models import (
    Department,
    GuardianRelationship,
    Guardianship,
    Notification,
    Request,
    RequestMessage,
    RequestStatus,
    SatisfactionRating,
    Student,
)
from portal.services import requests
from portal.services.calendar import district_calendar
from tests import factories
from tests.conftest import Browser
from tests.web.support import (
    HOSTILE_SCRIPT,
    field_error,
    input_value,
    location,
    redirects_to_sign_in,
    submit,
    text,
    without_tokens,
)

ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
INTERNAL_NOTE = "Internal: dad is disputing custody, do not share the new stop"
SUBMISSION_KEY = re.compile(r'name="submission_key" type="hidden" value="([^"]+)"')


# --- setting the scene ------------------------------------------------------


@pytest.fixture
def household(db):  # type: ignore[no-untyped-def]
    return factories.make_household(db, students=2)


def calendar(db):  # type: ignore[no-untyped-def]
    return district_calendar.load_calendar(db, "America/Los_Angeles")


def ask(db, guardian, transport, subject: str = "Bus stop change", body: str = "Can the stop move?") -> Request:  # type: ignore[no-untyped-def]
    """A request the guardian sent, made through the service."""
    created, _is_new = requests.submit_request(
        db,
        guardian,
        requests.NewRequest(department_id=transport.id, subject=subject, body=body),
        calendar=calendar(db),
        now=utcnow(),
    )
    db.commit()
    return created


def staff_reply(db, staff, request: Request, body: str, *, internal: bool = False) -> None:  # type: ignore[no-untyped-def]
    requests.reply_as_staff(db, staff, request, body, internal=internal, calendar=calendar(db), now=utcnow())
    db.commit()


def resolve(app, db, staff, request: Request) -> None:  # type: ignore[no-untyped-def]
    requests.change_status(
        db,
        staff,
        request,
        RequestStatus.RESOLVED,
        calendar=calendar(db),
        now=utcnow(),
        secret_key=app.config["SECRET_KEY"],
    )
    db.commit()


def reload(db, request_id: int) -> Request:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.get(Request, request_id)


def count(db, model, *where) -> int:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model).where(*where))


def new_request_form(family: Browser, transport: Department, **fields: object) -> dict[str, object]:
    """The new-request form as a guardian fills it in, with the key the page served."""
    page = text(family.get("/requests/new"))
    form: dict[str, object] = {
        "submission_key": SUBMISSION_KEY.search(page).group(1),  # type: ignore[union-attr]
        "department_id": transport.id,
        "student_id": 0,
        "subject": "Bus stop change",
        "body": "Our new address is 12 Elm St. Which stop is closest?",
    }
    form.update(fields)
    return form


# --- asking -----------------------------------------------------------------


def test_the_new_request_form_offers_public_departments_only_with_their_promise(db, family, transport):
    db.add(Department(name="Internal Audit", description="Staff only.", is_public=False))
    db.commit()
    page = html.unescape(text(family.get("/requests/new")))
    assert "Transportation" in page
    assert "First reply within 8 business hours." in page
    assert "We will reply by " in page
    assert "Internal Audit" not in page


def test_the_new_request_form_shows_the_measured_reply_time_once_there_are_enough_requests(
    db, family, transport, guardian
):
    for number in range(requests.MEASURED_SPEED_MIN_REQUESTS):
        asked = ask(db, guardian, transport, subject=f"Question {number}")
        asked.first_replied_at = utcnow()
        asked.first_reply_business_seconds = 3 * 3600
    db.commit()
    page = html.unescape(text(family.get("/requests/new")))
    assert "Typically answered in 3 business hours (last 30 days)." in page
    assert "First reply within" not in page


def test_the_new_request_form_lists_the_households_students_only(db, family, household):
    stranger = factories.make_household(db, students=1)
    page = text(family.get("/requests/new"))
    ours = db.scalars(select(Student).where(Student.household_id == household.id)).all()
    theirs = db.scalars(select(Student).where(Student.household_id == stranger.id)).all()
    assert len(ours) == 2
    for student in ours:
        assert f'<option value="{student.id}">{student.full_name}</option>' in page
    assert theirs[0].full_name not in page


def test_sending_a_request_shows_its_reference_and_the_promised_reply_time(db, family, transport):
    response = family.submit("/requests/new", new_request_form(family, transport))
    assert response.status_code == 302
    created = db.scalar(select(Request))
    assert location(response).endswith(f"/requests/{created.id}/sent")
    page = html.unescape(text(family.get(location(response))))
    assert f"Your reference number is {created.reference}." in page
    assert "We will reply by " in page
    assert "We will email you when Transportation replies." in page


def test_a_request_about_a_student_keeps_the_student(db, family, transport, household):
    student = db.scalar(select(Student).where(Student.household_id == household.id))
    family.submit("/requests/new", new_request_form(family, transport, student_id=student.id))
    created = db.scalar(select(Request))
    assert created.student_id == student.id
    assert student.full_name in text(family.get(f"/requests/{created.id}"))


def test_the_same_form_sent_twice_makes_one_request_and_the_same_redirect(db, family, transport):
    form = new_request_form(family, transport)
    first = family.submit("/requests/new", form)
    second = family.submit("/requests/new", form)
    assert first.status_code == second.status_code == 302
    assert location(second) == location(first)
    assert count(db, Request) == 1
    assert count(db, RequestMessage) == 1


def test_two_forms_make_two_requests(db, family, transport):
    family.submit("/requests/new", new_request_form(family, transport))
    family.submit("/requests/new", new_request_form(family, transport, subject="Late bus"))
    assert count(db, Request) == 2


LIMIT_REACHED = "Your family has sent 3 new requests recently, the most we accept at a time."
THREE_A_DAY = {"NEW_REQUEST_LIMIT_PER_ACCOUNT": "3 per day"}


@pytest.mark.parametrize("app_config", [THREE_A_DAY])
def test_replays_of_one_form_cost_nothing_against_the_familys_limit(db, family, transport):
    form = new_request_form(family, transport)
    answers = [family.submit("/requests/new", form) for _ in range(6)]  # a flaky phone, six times
    assert {(answer.status_code, location(answer)) for answer in answers} == {(302, location(answers[0]))}
    for subject in ("Late bus", "New route"):
        assert family.submit("/requests/new", new_request_form(family, transport, subject=subject)).status_code == 302
    assert count(db, Request) == 3

    refused = family.submit("/requests/new", new_request_form(family, transport, subject="One more"))
    assert refused.status_code == 200
    page = html.unescape(text(refused))
    assert LIMIT_REACHED in page
    assert input_value(page, "subject") == "One more"  # what they typed is kept
    assert "Our new address is 12 Elm St. Which stop is closest?</textarea>" in page
    assert count(db, Request) == 3
    # The first form sent again still finds its request.
    assert location(family.submit("/requests/new", form)) == location(answers[0])


# --- following the requests -------------------------------------------------


def test_my_requests_lists_the_households_requests_with_status_and_due_badge(db, family, transport, guardian):
    ours = ask(db, guardian, transport, subject="Bus stop change")
    stranger = factories.guardians_of(db, factories.make_household(db))[0]
    ask(db, stranger, transport, subject="Someone else's question")
    page = html.unescape(text(family.get("/requests/")))
    assert f'<a href="/requests/{ours.id}">Bus stop change</a>' in page and ours.reference in page
    assert "Someone else's question" not in page
    assert '<span class="status status--open">Sent</span>' in page
    assert "Reply due in " in page


def test_a_second_guardian_sees_the_households_requests(db, app, transport, household, guardian):
    second = factories.make_user(db)
    db.add(
        Guardianship(household_id=household.id, user_id=second.id, relationship_to_students=GuardianRelationship.PARENT)
    )
    db.commit()
    asked = ask(db, guardian, transport)
    browser = Browser(app.test_client(), app)
    browser.sign_in(second.email)
    assert browser.get(f"/requests/{asked.id}").status_code == 200
    assert asked.reference in text(browser.get("/requests/"))


def test_the_request_page_shows_the_public_conversation_and_never_an_internal_note(
    db, family, transport, guardian, staff
):
    asked = ask(db, guardian, transport, body="Which stop is closest?")
    staff_reply(db, staff, asked, INTERNAL_NOTE, internal=True)
    staff_reply(db, staff, asked, "Stop 14 at Elm and 3rd, from Monday.")
    page = html.unescape(text(family.get(f"/requests/{asked.id}")))
    assert "Which stop is closest?" in page
    assert "Stop 14 at Elm and 3rd, from Monday." in page
    assert "Robin Ortiz" in page
    assert INTERNAL_NOTE not in page
    assert "Internal note" not in page


def test_an_internal_note_reaches_no_page_download_or_email_of_the_family(app, db, family, transport, guardian, staff):
    asked = ask(db, guardian, transport)
    staff_reply(db, staff, asked, INTERNAL_NOTE, internal=True)
    staff_reply(db, staff, asked, "Stop 14 from Monday.")
    resolve(app, db, staff, asked)
    family_pages = {
        url: family.get(url)
        for url in (
            f"/requests/{asked.id}",
            "/requests/",
            f"/requests/{asked.id}/sent",
            "/account/data.json",
            "/account/data.csv",
            "/family/history",
        )
    }
    for url, response in family_pages.items():
        assert response.status_code == 200, url
        assert INTERNAL_NOTE not in html.unescape(text(response)), url
    emails = db.scalars(select(Notification).where(Notification.recipient_id == guardian.id)).all()
    assert {email.template for email in emails} == {"request_reply", "request_resolved"}
    with app.app_context():
        for email in emails:
            message = mail.render_email(app, email)
            rendered = "\n".join(
                [message["Subject"], *(part.get_content() for part in message.iter_parts())]  # type: ignore[attr-defined]
            )
            assert "Stop 14 from Monday." in rendered or email.template == "request_resolved"
            assert INTERNAL_NOTE not in html.unescape(rendered), email.template


def test_the_family_history_shows_the_request_but_not_the_internal_note(db, family, transport, guardian, staff):
    asked = ask(db, guardian, transport)
    staff_reply(db, staff, asked, INTERNAL_NOTE, internal=True)
    history = db.scalars(
        select(RequestMessage).where(RequestMessage.request_id == asked.id, RequestMessage.is_internal)
    ).all()
    assert len(history) == 1  # the note exists; the family's history must not reveal it
    page = html.unescape(text(family.get("/family/history")))
    assert f"sent request {asked.reference}" in page
    assert INTERNAL_NOTE not in page
    assert "internal" not in without_tokens(page).lower()


# --- replying, closing, reopening -------------------------------------------


def test_a_family_reply_is_added_and_redirects_to_the_conversation(db, family, transport, guardian):
    asked = ask(db, guardian, transport)
    response = family.submit(f"/requests/{asked.id}/reply", {"body": "Also: my son uses a wheelchair."})
    assert response.status_code == 302
    assert location(response).endswith(f"/requests/{asked.id}#latest")
    page = html.unescape(text(family.get(location(response))))
    assert "Your message was sent." in page
    assert "Also: my son uses a wheelchair." in page
    assert count(db, RequestMessage, RequestMessage.request_id == asked.id) == 2


def test_an_empty_reply_is_refused_next_to_the_field(db, family, transport, guardian):
    asked = ask(db, guardian, transport)
    response = family.submit(f"/requests/{asked.id}/reply", {"body": "   "})
    assert response.status_code == 200
    assert field_error(text(response), "body") == "Write your message."
    assert count(db, RequestMessage) == 1


def test_a_family_closes_a_request_and_opens_it_again(db, family, transport, guardian):
    asked = ask(db, guardian, transport)
    closed = family.submit(f"/requests/{asked.id}/close", {})
    assert closed.status_code == 302
    assert location(closed).endswith(f"/requests/{asked.id}")
    assert reload(db, asked.id).status is RequestStatus.CLOSED
    page = html.unescape(text(family.get(location(closed))))
    assert "Your request is closed." in page and "This request is closed." in page

    reopened = family.submit(f"/requests/{asked.id}/reopen", {})
    assert reopened.status_code == 302
    assert location(reopened).endswith(f"/requests/{asked.id}")
    again = reload(db, asked.id)
    assert again.status is RequestStatus.OPEN
    assert again.due_at is not None
    assert "Your request is open again." in text(family.get(location(reopened)))


def test_a_family_reply_on_a_resolved_request_reopens_it(app, db, family, transport, guardian, staff):
    asked = ask(db, guardian, transport)
    staff_reply(db, staff, asked, "Stop 14 from Monday.")
    resolve(app, db, staff, asked)
    response = family.submit(f"/requests/{asked.id}/reply", {"body": "The stop is not safe."})
    assert response.status_code == 302
    again = reload(db, asked.id)
    assert again.status is RequestStatus.IN_PROGRESS
    assert again.resolved_at is None
    assert again.next_reply_due_at is not None
    page = html.unescape(text(family.get(location(response))))
    assert "Your request is open again and your message was sent." in page


# --- household isolation ----------------------------------------------------

FAMILY_PAGES = ["/requests/{id}", "/requests/{id}/sent"]
FAMILY_POSTS = [
    ("/requests/{id}/reply", {"body": "Mine now"}, RequestStatus.OPEN),
    ("/requests/{id}/reply", {"body": "Mine now"}, RequestStatus.RESOLVED),
    ("/requests/{id}/close", {}, RequestStatus.OPEN),
    ("/requests/{id}/reopen", {}, RequestStatus.RESOLVED),
    ("/requests/{id}/rate", {"rating": "1", "comment": "bad"}, RequestStatus.RESOLVED),
]


@pytest.mark.parametrize("path", FAMILY_PAGES)
def test_a_family_gets_404_for_another_households_request_page(db, stranger, transport, guardian, path):
    asked = ask(db, guardian, transport)
    assert stranger.get(path.format(id=asked.id)).status_code == 404


@pytest.mark.parametrize(("path", "data", "status"), FAMILY_POSTS)
def test_a_family_gets_404_and_changes_nothing_posting_to_another_households_request(
    app, db, stranger, transport, guardian, staff, path, data, status
):
    asked = ask(db, guardian, transport)
    if status is RequestStatus.RESOLVED:
        staff_reply(db, staff, asked, "Stop 14 from Monday.")
        resolve(app, db, staff, asked)
    messages = count(db, RequestMessage)
    response = stranger.submit(path.format(id=asked.id), data, page="/requests/")
    assert response.status_code == 404
    assert reload(db, asked.id).status is status
    assert count(db, RequestMessage) == messages
    assert count(db, SatisfactionRating) == 0


def test_a_family_gets_404_for_a_request_that_does_not_exist(family):
    assert family.get("/requests/999999").status_code == 404


STAFF_PAGES = ["/staff/requests/", "/staff/requests/{id}", "/staff/requests/phone/{household}"]
STAFF_POSTS = [
    ("/staff/requests/{id}/reply", {"body": "Hello", "action": "reply"}),
    (
        "/staff/requests/{id}/update",
        {"status": "closed", "priority": "normal", "department_id": "0", "assignee_id": "0"},
    ),
    ("/staff/requests/phone/{household}", {"subject": "x", "body": "y"}),
]


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_a_family_gets_403_on_staff_request_pages(db, family, transport, guardian, household, path):
    asked = ask(db, guardian, transport)
    assert family.get(path.format(id=asked.id, household=household.id)).status_code == 403


@pytest.mark.parametrize(("path", "data"), STAFF_POSTS)
def test_a_family_gets_403_posting_to_staff_request_routes(db, family, transport, guardian, household, path, data):
    asked = ask(db, guardian, transport)
    response = family.submit(path.format(id=asked.id, household=household.id), data, page="/requests/")
    assert response.status_code == 403
    assert reload(db, asked.id).status is RequestStatus.OPEN
    assert count(db, Request) == 1


@pytest.mark.parametrize("path", ["/requests/", "/requests/new", "/requests/{id}", "/requests/{id}/sent"])
def test_an_anonymous_visitor_is_sent_to_sign_in_for_family_pages(db, client, transport, guardian, path):
    asked = ask(db, guardian, transport)
    assert redirects_to_sign_in(client.get(path.format(id=asked.id)))


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/requests/new", {"subject": "x", "body": "y"}),
        ("/requests/{id}/reply", {"body": "Mine now"}),
        ("/requests/{id}/close", {}),
        ("/requests/{id}/reopen", {}),
        ("/requests/{id}/rate", {"rating": "5"}),
    ],
)
def test_an_anonymous_post_to_a_family_route_is_sent_to_sign_in(db, client, transport, guardian, path, data):
    asked = ask(db, guardian, transport)
    response = submit(client, path.format(id=asked.id), data, page="/sign-in")
    assert redirects_to_sign_in(response)
    assert count(db, RequestMessage) == 1
    assert reload(db, asked.id).status is RequestStatus.OPEN


# --- hostile and oversized input --------------------------------------------


def test_a_script_in_subject_and_body_is_shown_as_text(db, family, transport):
    family.submit(
        "/requests/new", new_request_form(family, transport, subject=f"Bus {HOSTILE_SCRIPT}", body=HOSTILE_SCRIPT)
    )
    created = db.scalar(select(Request))
    assert created.subject == f"Bus {HOSTILE_SCRIPT}"
    for url in (f"/requests/{created.id}", "/requests/", f"/requests/{created.id}/sent"):
        page = text(family.get(url))
        assert HOSTILE_SCRIPT not in page, url
    assert ESCAPED_SCRIPT in text(family.get(f"/requests/{created.id}"))


def test_a_script_in_a_reply_is_shown_as_text(db, family, transport, guardian):
    asked = ask(db, guardian, transport)
    family.submit(f"/requests/{asked.id}/reply", {"body": HOSTILE_SCRIPT})
    page = text(family.get(f"/requests/{asked.id}"))
    assert HOSTILE_SCRIPT not in page
    assert ESCAPED_SCRIPT in page


def test_control_characters_in_the_subject_are_refused_and_the_rest_kept(db, family, transport):
    response = family.submit("/requests/new", new_request_form(family, transport, subject="Bus\x07stop"))
    assert response.status_code == 200
    page = text(response)
    assert "Remove the invisible control characters" in field_error(page, "subject")
    assert "Our new address is 12 Elm St. Which stop is closest?</textarea>" in page
    assert f'value="{transport.id}" aria-describedby="department_id-0-about" checked' in page
    assert count(db, Request) == 0


def test_control_characters_in_the_body_are_refused_and_the_rest_kept(db, family, transport):
    response = family.submit("/requests/new", new_request_form(family, transport, body="Which\x00stop?"))
    assert response.status_code == 200
    page = text(response)
    assert "Remove the invisible control characters" in field_error(page, "body")
    assert input_value(page, "subject") == "Bus stop change"
    assert count(db, Request) == 0


def test_control_characters_in_a_reply_are_refused_and_the_text_kept(db, family, transport, guardian):
    asked = ask(db, guardian, transport)
    response = family.submit(f"/requests/{asked.id}/reply", {"body": "Thanks\x1b[2J a lot"})
    assert response.status_code == 200
    page = text(response)
    assert "Remove the invisible control characters" in field_error(page, "body")
    assert "Thanks\x1b[2J a lot</textarea>" in page
    assert count(db, RequestMessage) == 1


def test_an_oversized_body_gets_a_message_and_the_subject_is_kept(db, family, transport):
    response = family.submit("/requests/new", new_request_form(family, transport, body="x" * 6000))
    assert response.status_code == 200
    page = text(response)
    assert field_error(page, "body") == "Field cannot be longer than 5000 characters."
    assert input_value(page, "subject") == "Bus stop change"
    assert count(db, Request) == 0


def test_an_oversized_subject_gets_a_message_and_the_body_is_kept(db, family, transport):
    response = family.submit("/requests/new", new_request_form(family, transport, subject="s" * 200))
    assert response.status_code == 200
    page = text(response)
    assert field_error(page, "subject") == "Field cannot be longer than 150 characters."
    assert "Our new address is 12 Elm St. Which stop is closest?</textarea>" in page
    assert count(db, Request) == 0


def test_an_oversized_reply_gets_a_message(db, family, transport, guardian):
    asked = ask(db, guardian, transport)
    response = family.submit(f"/requests/{asked.id}/reply", {"body": "x" * 6000})
    assert response.status_code == 200
    assert field_error(text(response), "body") == "Field cannot be longer than 5000 characters."
    assert count(db, RequestMessage) == 1


@pytest.mark.parametrize("value", ["transport", "1e3", "", "-1", "0", "1.5"])
def test_a_department_that_is_not_in_the_list_gets_an_error_next_to_the_field(db, family, transport, value):
    response = family.submit("/requests/new", new_request_form(family, transport, department_id=value))
    assert response.status_code == 200
    assert field_error(text(response), "department_id")
    assert input_value(text(response), "subject") == "Bus stop change"
    assert count(db, Request) == 0


def test_a_private_department_cannot_be_chosen_by_sending_its_id(db, family, transport):
    private = Department(name="Internal Audit", is_public=False)
    db.add(private)
    db.commit()
    response = family.submit("/requests/new", new_request_form(family, transport, department_id=private.id))
    assert response.status_code == 200
    assert field_error(text(response), "department_id") == "Choose a department from the list."
    assert count(db, Request) == 0


@pytest.mark.parametrize("value", ["first", "1.5", "1e3"])
def test_a_student_id_that_is_not_a_number_gets_an_error_next_to_the_field(db, family, transport, value):
    response = family.submit("/requests/new", new_request_form(family, transport, student_id=value))
    assert response.status_code == 200
    assert field_error(text(response), "student_id")
    assert input_value(text(response), "subject") == "Bus stop change"
    assert count(db, Request) == 0


@pytest.mark.parametrize("field", ["department_id", "student_id"])
def test_an_id_too_large_for_the_database_gets_an_error_next_to_the_field(db, family, transport, field):
    response = family.submit("/requests/new", new_request_form(family, transport, **{field: "9" * 20}))
    assert response.status_code == 200
    assert field_error(text(response), field)
    assert count(db, Request) == 0


def test_another_households_student_gets_an_error_next_to_the_field(db, family, transport):
    stranger = factories.make_household(db)
    their_student = db.scalar(select(Student).where(Student.household_id == stranger.id))
    response = family.submit("/requests/new", new_request_form(family, transport, student_id=their_student.id))
    assert response.status_code == 200
    page = text(response)
    assert field_error(page, "student_id") == "Choose a student from the list."
    assert their_student.full_name not in page
    assert input_value(page, "subject") == "Bus stop change"
    assert count(db, Request) == 0


def test_an_empty_subject_and_body_get_messages(db, family, transport):
    response = family.submit("/requests/new", new_request_form(family, transport, subject=" ", body="question"))
    assert field_error(text(response), "subject") == "Write a short subject, like “Bus stop change”."
    response = family.submit("/requests/new", new_request_form(family, transport, body="  "))
    assert field_error(text(response), "body") == "Write your message."
    assert count(db, Request) == 0


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/requests/new", {"department_id": "1", "subject": "Bus", "body": "When?"}),
        ("/requests/{id}/reply", {"body": "Hello"}),
        ("/requests/{id}/close", {}),
        ("/requests/{id}/reopen", {}),
        ("/requests/{id}/rate", {"rating": "5"}),
    ],
)
def test_a_family_post_without_its_csrf_token_is_refused(db, family, transport, guardian, path, data):
    asked = ask(db, guardian, transport)
    response = family.client.post(path.format(id=asked.id), data=data)
    assert response.status_code == 400
    assert count(db, Request) == 1
    assert count(db, RequestMessage) == 1
    assert reload(db, asked.id).status is RequestStatus.OPEN


def test_an_old_request_stays_listed_with_its_overdue_badge(db, family, transport, guardian):
    created, _is_new = requests.submit_request(
        db,
        guardian,
        requests.NewRequest(department_id=transport.id, subject="Old question", body="Still waiting"),
        calendar=calendar(db),
        now=utcnow() - timedelta(days=20),
    )
    db.commit()
    page = html.unescape(text(family.get("/requests/")))
    assert "Overdue since" in page
    detail = html.unescape(text(family.get(f"/requests/{created.id}")))
    assert "We are late: our answer was due" in detail
