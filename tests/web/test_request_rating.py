"""“How did we do?”: offered once per resolution, on the family's request page and by the
link in the resolution email, which works without signing in, for that request and
that resolution only."""

import html
import json
import types
from unittest import mock

import pytest
from itsdangerous import URLSafeTimedSerializer, base64_encode
from sqlalchemy import func, select

from portal import mail
from portal.db import utcnow
from portal.models import Notification, Request, RequestStatus, SatisfactionRating
from portal.services import requests
from portal.services.calendar import district_calendar
from tests.conftest import Browser
from tests.web.support import HOSTILE_SCRIPT, field_error, location, text

ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
LINK_EXPIRED = "This link does not work any more"
OFFER = 'id="rating-heading"'


@pytest.fixture
def visitor(app) -> Browser:  # type: ignore[no-untyped-def]
    """Someone who opens the emailed link, not signed in."""
    return Browser(app.test_client(), app)


def calendar(db):  # type: ignore[no-untyped-def]
    return district_calendar.load_calendar(db, "America/Los_Angeles")


def ask(db, guardian, transport, subject: str = "Bus stop change") -> Request:  # type: ignore[no-untyped-def]
    created, _is_new = requests.submit_request(
        db,
        guardian,
        requests.NewRequest(department_id=transport.id, subject=subject, body="Which stop is closest?"),
        calendar=calendar(db),
        now=utcnow(),
    )
    db.commit()
    return created


def set_status(app, db, staff, request: Request, status: RequestStatus) -> None:  # type: ignore[no-untyped-def]
    requests.change_status(
        db, staff, request, status, calendar=calendar(db), now=utcnow(), secret_key=app.config["SECRET_KEY"]
    )
    db.commit()


def resolved(app, db, staff, guardian, transport, subject: str = "Bus stop change") -> Request:  # type: ignore[no-untyped-def]
    """A request staff answered and resolved."""
    asked = ask(db, guardian, transport, subject)
    requests.reply_as_staff(
        db, staff, asked, "Stop 14 from Monday.", internal=False, calendar=calendar(db), now=utcnow()
    )
    db.commit()
    set_status(app, db, staff, asked, RequestStatus.RESOLVED)
    return asked


def rating_link_token(db, request: Request) -> str:  # type: ignore[no-untyped-def]
    """The token of the latest resolution email for `request`."""
    db.expire_all()
    emails = db.scalars(
        select(Notification).where(Notification.template == "request_resolved").order_by(Notification.id.desc())
    )
    email = next(email for email in emails if email.payload["request_id"] == request.id)
    return email.payload["token"]


def ratings(db, request: Request | None = None) -> list[SatisfactionRating]:  # type: ignore[no-untyped-def]
    db.expire_all()
    statement = select(SatisfactionRating).order_by(SatisfactionRating.id)
    if request is not None:
        statement = statement.where(SatisfactionRating.request_id == request.id)
    return list(db.scalars(statement))


def page_text(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(text(response))


# --- on the request page ----------------------------------------------------


def test_an_active_request_does_not_offer_a_rating(db, family, guardian, transport):
    asked = ask(db, guardian, transport)
    assert OFFER not in text(family.get(f"/requests/{asked.id}"))


def test_a_resolved_request_offers_how_did_we_do_once(app, db, family, staff, guardian, transport):
    asked = resolved(app, db, staff, guardian, transport)
    page = text(family.get(f"/requests/{asked.id}"))
    assert page.count(OFFER) == 1
    assert f'action="/requests/{asked.id}/rate"' in page


def test_a_family_rates_on_the_page_once(app, db, family, staff, guardian, transport):
    asked = resolved(app, db, staff, guardian, transport)
    response = family.submit(f"/requests/{asked.id}/rate", {"rating": "4", "comment": "Quick, thanks."})
    assert response.status_code == 302
    assert location(response).endswith(f"/requests/{asked.id}")
    page = page_text(family.get(location(response)))
    assert "Thank you for telling us how we did." in page
    assert "You rated our answer 4 out of 5. Thank you." in page
    assert OFFER not in page
    saved = ratings(db)
    assert [(r.rating, r.comment, r.rated_by_id, r.resolution_number) for r in saved] == [
        (4, "Quick, thanks.", guardian.id, 1)
    ]

    again = family.submit(f"/requests/{asked.id}/rate", {"rating": "1", "comment": "Changed my mind."})
    assert again.status_code == 302
    assert "Thank you: you already told us how we did." in page_text(family.get(location(again)))
    assert [(r.rating, r.comment) for r in ratings(db)] == [(4, "Quick, thanks.")]
    assert "You rated our answer 4 out of 5." in page_text(family.get(f"/requests/{asked.id}"))


def test_a_rating_on_an_active_request_is_refused(db, family, guardian, transport):
    asked = ask(db, guardian, transport)
    response = family.submit(f"/requests/{asked.id}/rate", {"rating": "5"}, page=f"/requests/{asked.id}")
    assert response.status_code == 302
    page = page_text(family.get(location(response)))
    assert "There is nothing to rate yet" in page
    assert OFFER not in page
    assert ratings(db) == []


def test_staff_see_the_familys_rating_on_the_request_page(app, db, family, staff, guardian, transport, sign_in):
    asked = resolved(app, db, staff, guardian, transport)
    family.submit(f"/requests/{asked.id}/rate", {"rating": "2", "comment": "Took a week."})
    family.sign_out()
    page = page_text(sign_in(staff).get(f"/staff/requests/{asked.id}"))
    assert "The family rated the answer 2 out of 5. “Took a week.”" in page


@pytest.mark.parametrize(
    ("rating", "message"),
    [
        ("", "Choose from 1 to 5."),
        ("0", "Choose from 1 to 5."),
        ("9", "Choose from 1 to 5."),
        ("-1", "Choose from 1 to 5."),
        ("five", None),
        ("4.5", None),
    ],
)
def test_a_rating_out_of_range_or_not_a_number_gets_an_error_next_to_the_field(
    app, db, family, staff, guardian, transport, rating, message
):
    asked = resolved(app, db, staff, guardian, transport)
    response = family.submit(f"/requests/{asked.id}/rate", {"rating": rating, "comment": "Kept comment"})
    assert response.status_code == 200
    page = text(response)
    error = field_error(page, "rating")
    assert error
    if message:
        assert error == message
    assert "Kept comment</textarea>" in page
    assert ratings(db) == []


@pytest.mark.parametrize(
    ("comment", "message"),
    [
        ("Thanks\x07\x1b[2J", "Remove the invisible control characters from this field."),
        ("Nul\x00byte", "Remove the invisible control characters from this field."),
        ("c" * 2001, "Field cannot be longer than 2000 characters."),
    ],
)
def test_a_bad_comment_gets_a_message_next_to_it_and_the_rating_is_kept(
    app, db, family, staff, guardian, transport, comment, message
):
    asked = resolved(app, db, staff, guardian, transport)
    response = family.submit(f"/requests/{asked.id}/rate", {"rating": "3", "comment": comment})
    assert response.status_code == 200
    page = text(response)
    assert field_error(page, "comment") == message
    assert 'checked id="rating-2" name="rating" type="radio" value="3"' in page
    assert ratings(db) == []


def test_a_script_in_a_comment_is_shown_as_text_to_staff(app, db, family, staff, guardian, transport, sign_in):
    asked = resolved(app, db, staff, guardian, transport)
    family.submit(f"/requests/{asked.id}/rate", {"rating": "3", "comment": HOSTILE_SCRIPT})
    assert ratings(db)[0].comment == HOSTILE_SCRIPT
    family.sign_out()
    page = text(sign_in(staff).get(f"/staff/requests/{asked.id}"))
    assert HOSTILE_SCRIPT not in page
    assert ESCAPED_SCRIPT in page


# --- by the emailed link ----------------------------------------------------


def test_the_resolution_email_carries_the_rating_link(app, db, staff, guardian, transport):
    asked = resolved(app, db, staff, guardian, transport)
    token = rating_link_token(db, asked)
    email = db.scalar(select(Notification).where(Notification.template == "request_resolved"))
    assert email.recipient_id == guardian.id
    with app.app_context():
        message = mail.render_email(app, email)
    assert f"http://portal.test/requests/rate/{token}" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_the_emailed_link_rates_signed_out_once_then_says_thank_you(app, db, visitor, staff, guardian, transport):
    asked = resolved(app, db, staff, guardian, transport)
    link = f"/requests/rate/{rating_link_token(db, asked)}"
    page = page_text(visitor.get(link))
    assert f"Tell us how we answered your request {asked.reference}." in page

    response = visitor.submit(link, {"rating": "5", "comment": "Very helpful."})
    assert response.status_code == 200
    assert "Your rating helps us answer families better." in page_text(response)
    assert [(r.rating, r.comment, r.rated_by_id) for r in ratings(db)] == [(5, "Very helpful.", None)]

    again = page_text(visitor.get(link))
    assert f"Thank you: you already told us how we did with request {asked.reference}." in again
    assert 'name="rating"' not in again
    twice = visitor.submit(link, {"rating": "1", "comment": "Second go."})
    assert twice.status_code == 200
    assert "you already told us how we did" in page_text(twice)
    assert [(r.rating, r.comment) for r in ratings(db)] == [(5, "Very helpful.")]


def test_a_rating_by_link_shows_on_the_familys_page_which_offers_no_second_one(
    app, db, visitor, family, staff, guardian, transport
):
    asked = resolved(app, db, staff, guardian, transport)
    visitor.submit(f"/requests/rate/{rating_link_token(db, asked)}", {"rating": "5"})
    page = page_text(family.get(f"/requests/{asked.id}"))
    assert OFFER not in page
    assert "You rated our answer 5 out of 5. Thank you." in page


def test_after_rating_on_the_page_the_link_says_already_rated(app, db, visitor, family, staff, guardian, transport):
    asked = resolved(app, db, staff, guardian, transport)
    family.submit(f"/requests/{asked.id}/rate", {"rating": "4"})
    link = f"/requests/rate/{rating_link_token(db, asked)}"
    assert "you already told us how we did" in page_text(visitor.get(link))
    visitor.submit(link, {"rating": "1"})
    assert [r.rating for r in ratings(db)] == [4]


def test_the_link_without_a_rating_gets_an_error_next_to_the_field(app, db, visitor, staff, guardian, transport):
    asked = resolved(app, db, staff, guardian, transport)
    response = visitor.submit(f"/requests/rate/{rating_link_token(db, asked)}", {"comment": "Forgot the stars"})
    assert response.status_code == 200
    page = text(response)
    assert field_error(page, "rating") == "Choose from 1 to 5."
    assert "Forgot the stars</textarea>" in page
    assert ratings(db) == []


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"rating": "five", "comment": "ok"}, "rating"),
        ({"rating": "7", "comment": "ok"}, "rating"),
        ({"rating": "4", "comment": "bell\x07"}, "comment"),
        ({"rating": "4", "comment": "c" * 2001}, "comment"),
    ],
)
def test_bad_input_on_the_link_gets_an_error_next_to_the_field(
    app, db, visitor, staff, guardian, transport, data, field
):
    asked = resolved(app, db, staff, guardian, transport)
    response = visitor.submit(f"/requests/rate/{rating_link_token(db, asked)}", data)
    assert response.status_code == 200
    assert field_error(text(response), field)
    assert ratings(db) == []


def test_a_script_in_a_comment_by_link_is_stored_as_typed(app, db, visitor, staff, guardian, transport):
    asked = resolved(app, db, staff, guardian, transport)
    visitor.submit(f"/requests/rate/{rating_link_token(db, asked)}", {"rating": "2", "comment": HOSTILE_SCRIPT})
    assert ratings(db)[0].comment == HOSTILE_SCRIPT


def test_a_token_for_one_request_cannot_rate_another(app, db, visitor, staff, guardian, transport):
    first = resolved(app, db, staff, guardian, transport, "Bus stop change")
    second = resolved(app, db, staff, guardian, transport, "Late bus")
    payload, timestamp, signature = rating_link_token(db, first).split(".")
    forged = base64_encode(json.dumps({"r": second.id, "n": 1}, separators=(",", ":"))).decode()
    tampered = f"/requests/rate/{forged}.{timestamp}.{signature}"

    refused = visitor.get(tampered)
    assert refused.status_code == 404
    assert LINK_EXPIRED in page_text(refused)
    refused_post = visitor.submit(tampered, {"rating": "1"}, page="/sign-in")
    assert refused_post.status_code == 404
    assert ratings(db) == []

    visitor.submit(f"/requests/rate/{payload}.{timestamp}.{signature}", {"rating": "5"})
    assert [(r.request_id, r.rating) for r in ratings(db)] == [(first.id, 5)]


def test_a_link_signed_with_another_key_is_refused(app, db, visitor, staff, guardian, transport):
    asked = resolved(app, db, staff, guardian, transport)
    forged = requests.rating_token(asked, "not-the-districts-secret-key")
    response = visitor.get(f"/requests/rate/{forged}")
    assert response.status_code == 404
    assert LINK_EXPIRED in page_text(response)


def test_a_link_older_than_sixty_days_is_refused(app, db, visitor, staff, guardian, transport):
    asked = resolved(app, db, staff, guardian, transport)
    long_ago = (utcnow() - requests.RATING_LINK_MAX_AGE).timestamp() - 60
    with mock.patch("itsdangerous.timed.time", types.SimpleNamespace(time=lambda: long_ago)):
        old = requests.rating_token(asked, app.config["SECRET_KEY"])
    assert visitor.get(f"/requests/rate/{old}").status_code == 404
    assert visitor.submit(f"/requests/rate/{old}", {"rating": "5"}, page="/sign-in").status_code == 404
    assert ratings(db) == []


def test_after_reopening_the_old_link_cannot_rate(app, db, visitor, family, staff, guardian, transport):
    asked = resolved(app, db, staff, guardian, transport)
    link = f"/requests/rate/{rating_link_token(db, asked)}"
    family.submit(f"/requests/{asked.id}/reopen", {})
    db.expire_all()
    assert db.get(Request, asked.id).status is RequestStatus.IN_PROGRESS
    response = visitor.submit(link, {"rating": "5"}, page="/sign-in")
    assert response.status_code == 404
    assert LINK_EXPIRED in page_text(response)
    assert ratings(db) == []


def test_after_reopening_the_old_link_says_it_does_not_work(app, db, visitor, family, staff, guardian, transport):
    asked = resolved(app, db, staff, guardian, transport)
    link = f"/requests/rate/{rating_link_token(db, asked)}"
    family.submit(f"/requests/{asked.id}/reopen", {})
    response = visitor.get(link)
    assert response.status_code == 404
    assert LINK_EXPIRED in page_text(response)


def test_after_a_second_resolution_only_the_new_link_rates(app, db, visitor, family, staff, guardian, transport):
    asked = resolved(app, db, staff, guardian, transport)
    old_link = f"/requests/rate/{rating_link_token(db, asked)}"
    family.submit(f"/requests/{asked.id}/reply", {"body": "The stop is not safe."})
    db.expire_all()
    set_status(app, db, staff, db.get(Request, asked.id), RequestStatus.RESOLVED)
    new_link = f"/requests/rate/{rating_link_token(db, asked)}"
    assert new_link != old_link

    assert visitor.submit(old_link, {"rating": "1"}, page="/sign-in").status_code == 404
    assert ratings(db) == []
    assert visitor.submit(new_link, {"rating": "3"}).status_code == 200
    assert [(r.rating, r.resolution_number) for r in ratings(db)] == [(3, 2)]


def test_a_second_resolution_offers_a_new_rating_on_the_page(app, db, family, staff, guardian, transport):
    asked = resolved(app, db, staff, guardian, transport)
    family.submit(f"/requests/{asked.id}/rate", {"rating": "2"})
    family.submit(f"/requests/{asked.id}/reply", {"body": "Still a problem."})
    db.expire_all()
    set_status(app, db, staff, db.get(Request, asked.id), RequestStatus.RESOLVED)
    assert text(family.get(f"/requests/{asked.id}")).count(OFFER) == 1
    family.submit(f"/requests/{asked.id}/rate", {"rating": "5"})
    assert [(r.rating, r.resolution_number) for r in ratings(db)] == [(2, 1), (5, 2)]


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a.b.c",
        "x" * 1000,
        "eyJyIjoxLCJuIjoxfQ",
        "eyJyIjoxLCJuIjoxfQ.AAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "%00",
        "%E2%80%AE",
        HOSTILE_SCRIPT.replace("/", ""),
    ],
)
def test_a_garbage_token_is_404_never_500(app, db, visitor, staff, guardian, transport, token):
    resolved(app, db, staff, guardian, transport)
    response = visitor.get(f"/requests/rate/{token}")
    assert response.status_code == 404
    assert LINK_EXPIRED in page_text(response)
    assert "<script>" not in text(response)
    assert visitor.submit(f"/requests/rate/{token}", {"rating": "5"}, page="/sign-in").status_code == 404
    assert ratings(db) == []


def test_a_token_whose_content_is_not_a_request_is_refused(app, db, visitor):
    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="request-satisfaction")
    for content in ({"r": "1", "n": 1}, [1, 1], {"r": 987654, "n": 1}, {"n": 1}, "R-000001"):
        response = visitor.get(f"/requests/rate/{serializer.dumps(content)}")
        assert response.status_code == 404, content


@pytest.mark.parametrize("path", ["/requests/{id}/rate", "/requests/rate/{token}"])
def test_a_rating_without_the_csrf_token_is_refused(app, db, family, staff, guardian, transport, path):
    asked = resolved(app, db, staff, guardian, transport)
    url = path.format(id=asked.id, token=rating_link_token(db, asked))
    response = family.client.post(url, data={"rating": "5"})
    assert response.status_code == 400
    assert db.scalar(select(func.count()).select_from(SatisfactionRating)) == 0
