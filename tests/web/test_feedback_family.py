"""Feedback, as a signed-in family sends and follows it: the form (topics, schools, what
anonymity means), the thank-you page with its reference, "My feedback" with the district's
answer, and nothing of an anonymous sender or of another household ever shown."""

import html
import re

import pytest
from sqlalchemy import func, select

from portal.db import utcnow
from portal.models import (
    AuditEvent,
    Department,
    Feedback,
    FeedbackStatus,
    GuardianRelationship,
    Guardianship,
)
from portal.services import feedback
from tests import factories
from tests.conftest import Browser
from tests.web.support import HOSTILE_SCRIPT, field_error, redirects_to_sign_in, submit, text, without_tokens

ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
SUBMISSION_KEY = re.compile(r'name="submission_key" type="hidden" value="([^"]+)"')
BODY = "The driver on route 7 waited for my son in the rain. Thank you!"
ANSWER = "Thank you, we passed your words on to the driver."


# --- setting the scene ------------------------------------------------------


def send(db, guardian, department=None, body: str = BODY, **fields: object) -> Feedback:  # type: ignore[no-untyped-def]
    """Feedback the guardian sent, made through the service."""
    values: dict[str, object] = {
        "kind": "compliment",
        "department_id": department.id if department else None,
        "school_id": None,
        "rating": None,
        "body": body,
    }
    values.update(fields)
    sent = feedback.submit_from_family(db, guardian, feedback.NewFeedback(**values), now=utcnow())  # type: ignore[arg-type]
    db.commit()
    return sent


def answer(db, staff, sent: Feedback, response: str = ANSWER) -> None:  # type: ignore[no-untyped-def]
    feedback.respond(db, staff, db.get(Feedback, sent.id), response, now=utcnow())
    db.commit()


def count(db, model, *where) -> int:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model).where(*where))


def only_feedback(db) -> Feedback:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.scalars(select(Feedback)).one()


def feedback_form(family: Browser, department: Department | None = None, **fields: object) -> dict[str, object]:
    """The feedback form as a guardian fills it in, with the key the page served."""
    page = text(family.get("/feedback/new"))
    form: dict[str, object] = {
        "submission_key": SUBMISSION_KEY.search(page).group(1),  # type: ignore[union-attr]
        "kind": "compliment",
        "department_id": department.id if department else 0,
        "school_id": 0,
        "rating": "5",
        "body": BODY,
    }
    form.update(fields)
    return {key: value for key, value in form.items() if value is not None}


def reference_of(page: str) -> str:
    match = re.search(r"Its reference is (F-\d{6})\.", page)
    assert match, "the thank-you page shows no reference"
    return match.group(1)


# --- the form ---------------------------------------------------------------


def test_the_form_offers_public_departments_and_not_sure(db, family, transport):
    db.add(Department(name="Internal Audit", description="Staff only.", is_public=False))
    db.commit()
    page = text(family.get("/feedback/new"))
    assert '<option value="0">Not sure</option>' in page
    assert f'<option value="{transport.id}">Transportation</option>' in page
    assert "Internal Audit" not in page


def test_the_form_offers_the_schools_or_none_in_particular(db, family, school):
    other = factories.make_school(db, name="Roosevelt Middle")
    page = text(family.get("/feedback/new"))
    assert "No school in particular" in page
    assert f'<option value="{school.id}">Lincoln Elementary</option>' in page
    assert f'<option value="{other.id}">Roosevelt Middle</option>' in page


def test_the_form_offers_three_kinds_and_an_optional_rating(family):
    # "A question" is asked on the request form, which promises an answer (test_feedback_door).
    page = html.unescape(text(family.get("/feedback/new")))
    assert 'value="question"' not in page
    for label in (
        "A compliment: something that went well",
        "A suggestion: an idea to do better",
        "A concern: something that went wrong",
        "How would you rate it? (optional)",
        "5 – very good",
        "1 – very poor",
    ):
        assert label in page


def test_the_form_explains_what_anonymous_means_before_sending(family):
    page = html.unescape(text(family.get("/feedback/new")))
    assert "Send anonymously" in page
    assert 'aria-describedby="anonymous-hint"' in page
    hint = re.search(r'<p class="hint" id="anonymous-hint">(.*?)</p>', page, re.S)
    assert hint is not None
    assert "we keep nothing that says who you are" in hint.group(1)
    assert "We cannot answer you" in hint.group(1)
    assert "it will not appear in “My feedback”" in hint.group(1)
    # The explanation comes before the button that sends.
    assert page.index('id="anonymous-hint"') < page.index("Send feedback")


# --- sending ----------------------------------------------------------------


def test_sending_feedback_thanks_with_its_reference_and_keeps_the_sender(db, family, transport, household, guardian):
    response = family.submit("/feedback/new", feedback_form(family, transport))
    assert response.status_code == 200
    page = html.unescape(text(response))
    assert "Thank you for your feedback" in page
    sent = only_feedback(db)
    assert reference_of(page) == sent.reference == f"F-{sent.id:06d}"
    assert (sent.author_id, sent.household_id) == (guardian.id, household.id)
    assert (sent.department_id, sent.rating, sent.body) == (transport.id, 5, BODY)
    assert sent.status is FeedbackStatus.NEW
    assert 'href="/feedback/"' in page


def test_feedback_about_a_school_keeps_the_school(db, family, transport, school):
    family.submit("/feedback/new", feedback_form(family, transport, school_id=school.id))
    sent = only_feedback(db)
    assert sent.school_id == school.id
    assert "Lincoln Elementary" in text(family.get(f"/feedback/{sent.id}"))


def test_feedback_without_a_rating_is_accepted(db, family, transport):
    response = family.submit("/feedback/new", feedback_form(family, transport, rating=None))
    assert response.status_code == 200
    assert only_feedback(db).rating is None


def test_may_contact_is_kept_and_said_on_the_thank_you_page(db, family, transport):
    response = family.submit("/feedback/new", feedback_form(family, transport, may_contact="y"))
    assert "We may contact you about it." in text(response)
    assert only_feedback(db).may_contact is True


def test_anonymous_feedback_keeps_nothing_of_the_sender(db, family, transport):
    response = family.submit(
        "/feedback/new", feedback_form(family, transport, anonymous="y", may_contact="y", kind="concern")
    )
    assert response.status_code == 200
    page = html.unescape(text(response))
    sent = only_feedback(db)
    assert reference_of(page) == sent.reference
    assert "You sent it anonymously" in page
    assert sent.is_anonymous is True
    assert (sent.author_id, sent.household_id, sent.contact_email) == (None, None, None)
    assert sent.may_contact is False
    event = db.scalars(select(AuditEvent).where(AuditEvent.object_type == "feedback")).one()
    assert (event.actor_id, event.household_id, event.ip_address) == (None, None, "")


def test_anonymous_feedback_is_absent_from_my_feedback_and_the_family_history(db, family, transport):
    named = family.submit("/feedback/new", feedback_form(family, transport, body="Named: the new bus route is great."))
    hidden = family.submit(
        "/feedback/new", feedback_form(family, transport, anonymous="y", body="Secret: the driver is rude.")
    )
    named_reference = reference_of(text(named))
    hidden_reference = reference_of(text(hidden))
    listing = html.unescape(text(family.get("/feedback/")))
    assert named_reference in listing
    assert hidden_reference not in listing
    history = html.unescape(text(family.get("/family/history")))
    assert f"sent feedback {named_reference}" in history
    assert hidden_reference not in history
    assert "Secret" not in history


def test_the_sender_cannot_open_their_anonymous_feedback(db, family, guardian, transport):
    hidden = send(db, guardian, transport, anonymous=True)
    response = family.get(f"/feedback/{hidden.id}")
    assert response.status_code == 404
    assert BODY not in html.unescape(text(response))


def test_the_same_form_sent_twice_makes_one_feedback_with_one_reference(db, family, transport):
    form = feedback_form(family, transport)
    first = family.submit("/feedback/new", form)
    second = family.submit("/feedback/new", form)
    assert first.status_code == second.status_code == 200
    assert reference_of(text(first)) == reference_of(text(second))
    assert count(db, Feedback) == 1


def test_not_sure_with_no_rule_waits_for_triage_and_shows_the_topic_as_undecided(db, family):
    family.submit("/feedback/new", feedback_form(family, None))
    sent = only_feedback(db)
    assert sent.department_id is None
    assert "Topic to be decided" in text(family.get(f"/feedback/{sent.id}"))


# --- My feedback ------------------------------------------------------------


def test_my_feedback_lists_the_households_named_feedback_with_its_status(
    db, family, household, guardian, transport, staff
):
    second = factories.make_user(db)
    db.add(
        Guardianship(household_id=household.id, user_id=second.id, relationship_to_students=GuardianRelationship.PARENT)
    )
    db.commit()
    ours = send(db, guardian, transport, kind="suggestion")
    partners = send(db, second, transport, kind="question")
    answered = send(db, guardian, transport, kind="concern")
    answer(db, staff, answered)
    hidden = send(db, guardian, transport, anonymous=True)
    strangers = send(db, factories.guardians_of(db, factories.make_household(db))[0], transport)
    page = html.unescape(text(family.get("/feedback/")))
    assert f'<a href="/feedback/{ours.id}">Suggestion {ours.reference}</a>' in page
    assert f'<a href="/feedback/{partners.id}">Question {partners.reference}</a>' in page
    assert f'<a href="/feedback/{answered.id}">Concern {answered.reference}</a>' in page
    assert hidden.reference not in page
    assert strangers.reference not in page
    assert '<span class="status">Received</span>' in page
    assert '<span class="status">Answered</span> · The district answered' in page


def test_my_feedback_says_so_when_there_is_none_yet(family):
    page = html.unescape(text(family.get("/feedback/")))
    assert "You have not sent feedback with your name yet." in page


def test_the_feedback_page_shows_the_text_status_and_the_districts_answer(db, family, guardian, transport, staff):
    sent = send(db, guardian, transport, rating=4)
    before = html.unescape(text(family.get(f"/feedback/{sent.id}")))
    assert BODY in before
    assert "No answer yet." in before
    assert "4 out of 5" in before
    answer(db, staff, sent)
    page = html.unescape(text(family.get(f"/feedback/{sent.id}")))
    assert f"Compliment {sent.reference}" in page
    assert "Transportation" in page
    assert "Answered" in page
    assert ANSWER in page
    assert "No answer yet." not in page


def test_the_answer_appears_on_the_family_history(db, family, guardian, transport, staff):
    sent = send(db, guardian, transport)
    answer(db, staff, sent)
    history = html.unescape(text(family.get("/family/history")))
    assert f"sent feedback {sent.reference}" in history
    assert "Robin Ortiz (Transportation) answered your feedback" in history


# --- household isolation and access -------------------------------------------


@pytest.mark.parametrize("anonymous", [False, True], ids=["named", "anonymous"])
def test_a_family_gets_404_for_another_households_feedback_and_nothing_leaks(
    db, stranger, guardian, transport, staff, anonymous
):
    theirs = send(db, guardian, transport, body="Private: our address is 12 Elm St.", anonymous=anonymous)
    answer(db, staff, theirs, "Private answer for the Alvarez family.")
    response = stranger.get(f"/feedback/{theirs.id}")
    assert response.status_code == 404
    page = html.unescape(text(response))
    assert "Private" not in page
    assert theirs.reference not in page
    listing = html.unescape(text(stranger.get("/feedback/")))
    assert theirs.reference not in listing and "Private" not in listing


def test_a_family_gets_the_same_404_for_feedback_that_does_not_exist(db, stranger, guardian, transport):
    theirs = send(db, guardian, transport)
    existing = stranger.get(f"/feedback/{theirs.id}")
    missing = stranger.get("/feedback/999999")
    assert existing.status_code == missing.status_code == 404
    assert same_page(text(existing), f"/feedback/{theirs.id}") == same_page(text(missing), "/feedback/999999")


def same_page(page: str, path: str) -> str:
    """The page with its own path (the language switch links back to it) and token blanked."""
    return without_tokens(page).replace(path, "/feedback/ID")


FAMILY_PAGES = ["/feedback/", "/feedback/new", "/feedback/{id}"]


@pytest.mark.parametrize("path", FAMILY_PAGES)
def test_staff_get_403_on_family_feedback_pages(db, sign_in, staff, guardian, transport, path):
    sent = send(db, guardian, transport)
    desk = sign_in(staff)
    assert desk.get(path.format(id=sent.id)).status_code == 403


def test_an_admin_gets_403_on_my_feedback(db, sign_in):
    admin = sign_in(factories.make_admin(db))
    assert admin.get("/feedback/").status_code == 403


def test_staff_cannot_send_family_feedback(db, sign_in, staff, transport):
    desk = sign_in(staff)
    response = desk.submit(
        "/feedback/new", {"kind": "compliment", "department_id": transport.id, "body": BODY}, page="/staff/feedback/"
    )
    assert response.status_code == 403
    assert count(db, Feedback) == 0


@pytest.mark.parametrize("path", FAMILY_PAGES)
def test_an_anonymous_visitor_is_sent_to_sign_in_for_family_feedback_pages(db, client, guardian, transport, path):
    sent = send(db, guardian, transport)
    assert redirects_to_sign_in(client.get(path.format(id=sent.id)))


def test_an_anonymous_post_of_the_family_form_is_sent_to_sign_in(db, client, transport):
    response = submit(
        client, "/feedback/new", {"kind": "compliment", "department_id": transport.id, "body": BODY}, page="/sign-in"
    )
    assert redirects_to_sign_in(response)
    assert count(db, Feedback) == 0


def test_the_family_form_without_its_csrf_token_is_refused(db, family, transport):
    response = family.client.post("/feedback/new", data={"kind": "compliment", "department_id": 0, "body": BODY})
    assert response.status_code == 400
    assert count(db, Feedback) == 0


# --- hostile and oversized input --------------------------------------------


def test_a_script_in_the_text_and_the_answer_is_shown_as_text(db, family, guardian, transport, staff):
    response = family.submit("/feedback/new", feedback_form(family, transport, body=f"Bus {HOSTILE_SCRIPT}"))
    assert HOSTILE_SCRIPT not in text(response)
    sent = only_feedback(db)
    assert sent.body == f"Bus {HOSTILE_SCRIPT}"
    answer(db, staff, sent, f"Answer {HOSTILE_SCRIPT}")
    for url in ("/feedback/", f"/feedback/{sent.id}", "/family/history"):
        assert HOSTILE_SCRIPT not in text(family.get(url)), url
    page = text(family.get(f"/feedback/{sent.id}"))
    assert f"Bus {ESCAPED_SCRIPT}" in page
    assert f"Answer {ESCAPED_SCRIPT}" in page


def kept_choices(page: str, department: Department, school) -> None:  # type: ignore[no-untyped-def]
    """The kind, topic, school and rating the guardian chose are still chosen."""
    assert re.search(r'<input checked id="kind-0" name="kind" type="radio" value="compliment">', page)
    assert f'<option selected value="{department.id}">Transportation</option>' in page
    assert f'<option selected value="{school.id}">Lincoln Elementary</option>' in page
    assert re.search(r'<input checked id="rating-1" name="rating" type="radio" value="4">', page)


def test_control_characters_in_the_text_are_refused_and_the_choices_kept(db, family, transport, school):
    response = family.submit(
        "/feedback/new",
        feedback_form(family, transport, school_id=school.id, rating="4", body="The bus\x07\x1b[2J was late"),
    )
    assert response.status_code == 200
    page = text(response)
    assert "Remove the invisible control characters" in (field_error(page, "body") or "")
    assert "The bus\x07\x1b[2J was late</textarea>" in page
    kept_choices(page, transport, school)
    assert count(db, Feedback) == 0


def test_an_oversized_text_gets_a_message_and_the_choices_are_kept(db, family, transport, school):
    response = family.submit(
        "/feedback/new", feedback_form(family, transport, school_id=school.id, rating="4", body="x" * 5000)
    )
    assert response.status_code == 200
    page = text(response)
    assert field_error(page, "body") == "Field cannot be longer than 4000 characters."
    assert "x" * 5000 + "</textarea>" in page
    kept_choices(page, transport, school)
    assert count(db, Feedback) == 0


def test_a_body_larger_than_the_request_limit_gets_the_413_page(db, family, transport):
    response = family.submit("/feedback/new", feedback_form(family, transport, body="x" * 3_000_000))
    assert response.status_code == 413
    assert "too much to send at once" in text(response)
    assert count(db, Feedback) == 0
    assert family.get("/feedback/").status_code == 200, "a refused body must not sign anyone out"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("department_id", "transport"),
        ("department_id", "1.5"),
        ("department_id", "9" * 20),
        ("school_id", "lincoln"),
        ("school_id", "1e3"),
        ("school_id", "9" * 20),
        ("rating", "five"),
        ("rating", "4.5"),
        ("rating", "7"),
        ("rating", "-1"),
        ("kind", "complaint"),
    ],
)
def test_a_value_not_in_the_list_gets_an_error_next_to_its_field_and_the_text_is_kept(
    db, family, transport, field, value
):
    response = family.submit("/feedback/new", feedback_form(family, transport, **{field: value}))
    assert response.status_code == 200
    page = text(response)
    assert field_error(page, field), f"no error next to {field}"
    assert BODY in html.unescape(page)
    assert count(db, Feedback) == 0


def test_a_private_department_cannot_be_chosen_by_sending_its_id(db, family, transport):
    private = Department(name="Internal Audit", is_public=False)
    db.add(private)
    db.commit()
    response = family.submit("/feedback/new", feedback_form(family, transport, department_id=private.id))
    assert response.status_code == 200
    assert field_error(text(response), "department_id") == "Choose a topic from the list."
    assert count(db, Feedback) == 0


def test_a_school_that_does_not_exist_gets_an_error_next_to_the_field(db, family, transport):
    response = family.submit("/feedback/new", feedback_form(family, transport, school_id=987654))
    assert field_error(text(response), "school_id") == "Choose a school from the list."
    assert count(db, Feedback) == 0


def test_a_missing_kind_and_an_empty_text_get_messages(db, family, transport):
    response = family.submit("/feedback/new", feedback_form(family, transport, kind=None))
    assert field_error(text(response), "kind") == "Choose what kind of feedback this is."
    response = family.submit("/feedback/new", feedback_form(family, transport, body="   "))
    assert field_error(text(response), "body") == "Write your feedback."
    assert count(db, Feedback) == 0
