"""Call-backs through the web: a family asks on its request's page and sees the promise and
each attempt; staff see it in the queue and on the request, and log calls."""

import pytest
from sqlalchemy import select

from portal.db import utcnow
from portal.models import Callback, CallbackStatus
from portal.services import requests
from portal.services.requests.intake import NewRequest
from tests import factories

WINDOW = {
    "phone": "213-555-0143",
    "language": "Español",
    "weekdays": ["0", "1", "2", "3", "4"],
    "window_starts": "08:00",
    "window_ends": "16:00",
    "note": "Ask for grandma",
}


@pytest.fixture
def asked(db, guardian, transport):  # type: ignore[no-untyped-def]
    request, _created = requests.submit_request(
        db, guardian, NewRequest(transport.id, "Bus pass", "Lost it"), now=utcnow()
    )
    db.commit()
    return request


@pytest.fixture
def transport_staff(db, transport):  # type: ignore[no-untyped-def]
    member = factories.make_staff(db, name="Tess Transport")
    factories.join(db, member, transport)
    return member


def test_a_family_asks_for_a_call_and_sees_the_promise(family, asked, db):
    page = family.get(f"/requests/{asked.id}").get_data(as_text=True)
    assert "Rather talk? We call you back" in page

    sent = family.submit(f"/requests/{asked.id}/callback", WINDOW, page=f"/requests/{asked.id}")

    assert sent.status_code == 302
    page = family.get(f"/requests/{asked.id}").get_data(as_text=True)
    assert (
        "We will call you at" in page and "Español" in page and "Monday, Tuesday, Wednesday, Thursday, Friday" in page
    )
    assert "Rather talk?" not in page, "one call-back at a time"
    callback = db.scalar(select(Callback))
    assert callback.phone == "+12135550143" and callback.note == "Ask for grandma"


@pytest.mark.parametrize(
    "change, message",
    [
        ({"phone": "not a number"}, "phone number"),
        ({"weekdays": []}, "at least one day"),
        ({"weekdays": ["9", "x"]}, ""),
        ({"window_starts": "7pm"}, "15:30"),
        ({"window_starts": "16:00", "window_ends": "08:00"}, "later than the start"),
        ({"window_starts": "20:00", "window_ends": "21:00"}, "offices are closed"),
        ({"note": "<script>alert(1)</script>" * 20}, ""),
    ],
)
def test_a_call_back_that_cannot_be_says_why_and_keeps_what_was_typed(family, asked, db, change, message):
    sent = family.submit(f"/requests/{asked.id}/callback", {**WINDOW, **change}, page=f"/requests/{asked.id}")

    assert sent.status_code == 200
    page = sent.get_data(as_text=True)
    assert message in page
    assert 'value="Español"' in page, "what was typed is kept"
    assert "<script>alert(1)" not in page
    assert db.scalar(select(Callback)) is None


def test_another_familys_request_cannot_be_asked_about(sign_in, db, asked, transport):
    other = factories.guardians_of(db, factories.make_household(db))[0]
    browser = sign_in(other)
    token_page = browser.get("/requests/")
    assert token_page.status_code == 200
    assert browser.submit(f"/requests/{asked.id}/callback", WINDOW, page="/requests/").status_code == 404


def test_staff_see_the_call_back_and_log_the_calls(family, guardian, asked, db, sign_in, transport_staff):
    family.submit(f"/requests/{asked.id}/callback", WINDOW, page=f"/requests/{asked.id}")
    family.sign_out()
    staff = sign_in(transport_staff)

    queue = staff.get("/staff/requests/?callbacks=y").get_data(as_text=True)
    assert f"/staff/requests/{asked.id}" in queue and "Call back" in queue
    page = staff.get(f"/staff/requests/{asked.id}").get_data(as_text=True)
    assert 'href="tel:+12135550143"' in page and "Ask for grandma" in page

    refused = staff.submit(
        f"/staff/requests/{asked.id}/call", {"outcome": "reached", "note": ""}, page=f"/staff/requests/{asked.id}"
    )
    assert refused.status_code == 200 and "Write what was said" in refused.get_data(as_text=True)
    staff.submit(
        f"/staff/requests/{asked.id}/call", {"outcome": "no_answer", "note": ""}, page=f"/staff/requests/{asked.id}"
    )
    done = staff.submit(
        f"/staff/requests/{asked.id}/call",
        {"outcome": "reached", "note": "New pass on Monday."},
        page=f"/staff/requests/{asked.id}",
    )
    assert done.status_code == 302
    assert db.scalar(select(Callback.status)) == CallbackStatus.REACHED
    staff.sign_out()

    family_page = sign_in(guardian).get(f"/requests/{asked.id}").get_data(as_text=True)
    assert "Summary of our call: New pass on Monday." in family_page
    assert "We tried to call at" in family_page and "no answer" in family_page


def test_a_hostile_outcome_is_refused(family, asked, db, sign_in, transport_staff):
    family.submit(f"/requests/{asked.id}/callback", WINDOW, page=f"/requests/{asked.id}")
    family.sign_out()
    staff = sign_in(transport_staff)

    sent = staff.submit(
        f"/staff/requests/{asked.id}/call",
        {"outcome": "'; DROP TABLE callback; --"},
        page=f"/staff/requests/{asked.id}",
    )

    assert sent.status_code == 200
    assert db.scalar(select(Callback.status)) == CallbackStatus.OPEN


def test_the_family_may_take_the_call_back_back(family, asked, db):
    family.submit(f"/requests/{asked.id}/callback", WINDOW, page=f"/requests/{asked.id}")

    done = family.submit(f"/requests/{asked.id}/callback/cancel", {}, page=f"/requests/{asked.id}")

    assert done.status_code == 302
    assert db.scalar(select(Callback.status)) == CallbackStatus.CANCELLED
    assert "Rather talk?" in family.get(f"/requests/{asked.id}").get_data(as_text=True)
