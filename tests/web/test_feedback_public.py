"""The public feedback form: anyone in the community, signed out, anonymous or with an
email to answer; robots that fill in the hidden field are thanked and nothing is kept;
each client may send only so many; hostile and oversized input gets a clear answer."""

import html
import re

import pytest
from sqlalchemy import func, select

from portal.models import AuditEvent, Department, Feedback, FeedbackSource, FeedbackStatus
from tests import factories
from tests.web.support import HOSTILE_SCRIPT, csrf_token, field_error, input_value, location, text

ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
SUBMISSION_KEY = re.compile(r'name="submission_key" type="hidden" value="([^"]+)"')
BODY = "The crossing guard at Elm and 3rd is wonderful with the children."
LIMIT = 3


@pytest.fixture
def app_config() -> dict[str, object]:
    return {"PUBLIC_FEEDBACK_LIMIT_PER_CLIENT": f"{LIMIT} per hour"}


def count(db, model, *where) -> int:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model).where(*where))


def only_feedback(db) -> Feedback:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.scalars(select(Feedback)).one()


def public_form(client, department: Department | None = None, **fields: object) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """The public form as someone fills it in, with the token and key the page served."""
    page = text(client.get("/feedback/public"))
    form: dict[str, object] = {
        "csrf_token": csrf_token(client, "/feedback/public"),
        "submission_key": SUBMISSION_KEY.search(page).group(1),  # type: ignore[union-attr]
        "kind": "compliment",
        "department_id": department.id if department else 0,
        "school_id": 0,
        "rating": "5",
        "body": BODY,
        "contact_email": "",
        "website": "",
    }
    form.update(fields)
    return {key: value for key, value in form.items() if value is not None}


def send(client, department: Department | None = None, **fields: object):  # type: ignore[no-untyped-def]
    return client.post("/feedback/public", data=public_form(client, department, **fields))


def reference_of(page: str) -> str:
    match = re.search(r"Its reference is (F-\d{6})\.", page)
    assert match, "the thank-you page shows no reference"
    return match.group(1)


# --- the form, signed out ---------------------------------------------------


def test_the_public_form_opens_signed_out_with_topics_schools_and_an_email_field(db, client, transport, school):
    db.add(Department(name="Internal Audit", is_public=False))
    db.commit()
    response = client.get("/feedback/public")
    assert response.status_code == 200
    page = html.unescape(text(response))
    assert "Tell the district what you think" in page
    assert '<option value="0">Not sure</option>' in page
    assert f'<option value="{transport.id}">Transportation</option>' in page
    assert "Internal Audit" not in page
    assert f'<option value="{school.id}">Lincoln Elementary</option>' in page
    assert "Your email, if you would like an answer (optional)" in page
    assert "Sent anonymously, we keep nothing that says who you are" in page


def test_the_hidden_field_is_hidden_from_people(client):
    page = text(client.get("/feedback/public"))
    trap = re.search(r'<div class="trap" aria-hidden="true">(.*?)</div>', page, re.S)
    assert trap is not None
    assert 'name="website"' in trap.group(1)
    assert 'tabindex="-1"' in trap.group(1)


def test_the_site_footer_offers_the_public_form_to_visitors(client):
    assert 'href="/feedback/public"' in text(client.get("/sign-in"))


def test_a_signed_in_family_is_sent_to_the_family_form(db, sign_in):
    family = sign_in(factories.guardians_of(db, factories.make_household(db))[0])
    response = family.get("/feedback/public")
    assert response.status_code == 302
    assert location(response).endswith("/feedback/new")


# --- sending ----------------------------------------------------------------


def test_feedback_sent_without_an_email_is_kept_with_no_way_to_answer(db, client, transport):
    response = send(client, transport)
    assert response.status_code == 200
    page = html.unescape(text(response))
    assert "Thank you for your feedback" in page
    sent = only_feedback(db)
    assert reference_of(page) == sent.reference
    assert sent.source is FeedbackSource.PUBLIC
    assert (sent.author_id, sent.household_id, sent.contact_email) == (None, None, None)
    assert sent.may_contact is False
    assert sent.status is FeedbackStatus.NEW
    assert 'href="/feedback/"' not in page  # no "My feedback" for someone without an account


def test_feedback_sent_with_an_email_may_be_answered(db, client, transport):
    response = send(client, transport, contact_email="Ana.Lee@Example.org")
    assert response.status_code == 200
    assert "We may contact you about it. Our answer will also be emailed to you." in html.unescape(text(response))
    sent = only_feedback(db)
    assert sent.contact_email == "ana.lee@example.org"
    assert sent.may_contact is True


def test_anonymous_wins_over_an_email(db, client, transport):
    response = send(client, transport, contact_email="ana@example.org", anonymous="y")
    assert response.status_code == 200
    assert "You sent it anonymously" in html.unescape(text(response))
    sent = only_feedback(db)
    assert sent.is_anonymous is True
    assert (sent.contact_email, sent.may_contact) == (None, False)
    event = db.scalars(select(AuditEvent).where(AuditEvent.object_type == "feedback")).one()
    assert (event.actor_id, event.household_id) == (None, None)
    assert "ana@example.org" not in str(event.after)


def test_the_same_public_form_sent_twice_makes_one_feedback(db, client, transport):
    form = public_form(client, transport)
    first = client.post("/feedback/public", data=form)
    second = client.post("/feedback/public", data=form)
    assert reference_of(text(first)) == reference_of(text(second))
    assert count(db, Feedback) == 1


def test_a_filled_in_hidden_field_is_thanked_and_nothing_is_kept(db, client, transport):
    response = send(client, transport, website="http://cheap-pills.example", contact_email="bot@example.org")
    assert response.status_code == 200
    page = html.unescape(text(response))
    assert "Thank you for your feedback" in page
    assert "Its reference is" not in page
    assert count(db, Feedback) == 0
    assert count(db, AuditEvent) == 0


def test_an_invalid_email_gets_an_error_next_to_the_field_and_the_rest_is_kept(db, client, transport):
    response = send(client, transport, contact_email="ana at example")
    assert response.status_code == 200
    page = text(response)
    assert field_error(page, "contact_email") == "Enter an email address like name@example.org."
    assert input_value(page, "contact_email") == "ana at example"
    assert f"{html.escape(BODY)}</textarea>" in page
    assert f'<option selected value="{transport.id}">Transportation</option>' in page
    assert count(db, Feedback) == 0


def test_the_public_form_without_its_csrf_token_is_refused(db, client, transport):
    form = public_form(client, transport)
    del form["csrf_token"]
    response = client.post("/feedback/public", data=form)
    assert response.status_code == 400
    assert count(db, Feedback) == 0


# --- the limit per client ---------------------------------------------------


def test_the_post_after_the_limit_per_client_gets_429_and_nothing_is_kept(db, client, transport):
    for number in range(LIMIT):
        assert send(client, transport, body=f"Message number {number}").status_code == 200
    form = public_form(client, transport, body="One too many")
    response = client.post("/feedback/public", data=form)
    assert response.status_code == 429
    assert "Too many attempts" in text(response)
    assert count(db, Feedback) == LIMIT
    assert client.get("/feedback/public").status_code == 200, "reading the form is not limited"


def test_refused_and_trapped_posts_count_towards_the_limit(db, client, transport):
    send(client, transport, body="   ")
    send(client, transport, website="spam")
    send(client, transport)
    assert send(client, transport).status_code == 429
    assert count(db, Feedback) == 1


def test_the_limit_per_client_does_not_hold_back_another_client(db, app, client, transport):
    for _ in range(LIMIT + 1):
        send(client, transport)
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "203.0.113.50"
    assert send(other, transport, body="From another address").status_code == 200


# --- hostile and oversized input --------------------------------------------


def test_an_oversized_text_gets_a_message_and_everything_else_is_kept(db, client, transport, school):
    response = send(
        client, transport, school_id=school.id, rating="2", contact_email="ana@example.org", body="x" * 5000
    )
    assert response.status_code == 200
    page = text(response)
    assert field_error(page, "body") == "Field cannot be longer than 4000 characters."
    assert "x" * 5000 + "</textarea>" in page
    assert input_value(page, "contact_email") == "ana@example.org"
    assert f'<option selected value="{transport.id}">Transportation</option>' in page
    assert f'<option selected value="{school.id}">Lincoln Elementary</option>' in page
    assert re.search(r'<input checked id="rating-3" name="rating" type="radio" value="2">', page)
    assert count(db, Feedback) == 0


def test_a_body_larger_than_the_request_limit_gets_the_413_page(db, client, transport):
    response = send(client, transport, body="x" * 3_000_000)
    assert response.status_code == 413
    assert "too much to send at once" in text(response)
    assert count(db, Feedback) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("body", "The bus\x00was late"),
        ("body", "Late \x1b[2J bus"),
        ("contact_email", "ana@example.org\x07"),
    ],
)
def test_control_characters_are_refused_next_to_the_field_and_the_rest_is_kept(db, client, transport, field, value):
    fields = {"contact_email": "ana@example.org", field: value}
    response = send(client, transport, **fields)
    assert response.status_code == 200
    page = text(response)
    assert field_error(page, field)
    if field == "body":
        assert "Remove the invisible control characters" in (field_error(page, "body") or "")
        assert input_value(page, "contact_email") == "ana@example.org"
    else:
        assert f"{html.escape(BODY)}</textarea>" in page
    assert count(db, Feedback) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("department_id", "transport"),
        ("department_id", "-1"),
        ("department_id", "9" * 20),
        ("school_id", "lincoln"),
        ("school_id", "9" * 20),
        ("rating", "five"),
        ("rating", "6"),
        ("kind", "<script>"),
    ],
)
def test_a_value_not_in_the_list_gets_a_clear_error_never_a_500(db, client, transport, field, value):
    response = send(client, transport, contact_email="ana@example.org", **{field: value})
    assert response.status_code == 200
    page = text(response)
    assert field_error(page, field), f"no error next to {field}"
    assert input_value(page, "contact_email") == "ana@example.org"
    assert f"{html.escape(BODY)}</textarea>" in page
    assert count(db, Feedback) == 0


def test_a_script_in_the_text_and_the_email_field_is_never_echoed_as_markup(db, client, transport):
    response = send(client, transport, contact_email=f"a{HOSTILE_SCRIPT}@example.org", body=HOSTILE_SCRIPT)
    page = text(response)
    assert HOSTILE_SCRIPT not in page
    assert field_error(page, "contact_email") == "Enter an email address like name@example.org."
    assert f"{ESCAPED_SCRIPT}</textarea>" in page
    assert count(db, Feedback) == 0
