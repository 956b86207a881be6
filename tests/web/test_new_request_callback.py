"""The shorter new-request form: departments as a compact list, the chosen one's promise
once by the button, and a call-back asked for with the request itself, in one unit of work."""

import html
import re

import pytest
from sqlalchemy import func, select

from portal.models import AuditEvent, Callback, Request
from tests import factories
from tests.web.support import HOSTILE_SCRIPT, field_error

QUESTION = "Our stop moved.\nWhen does the afternoon bus come now?"
CALL = {
    "call_me": "y",
    "phone": "213-555-0143",
    "language": "Español",
    "weekdays": ["0", "1", "2", "3", "4"],
    "window_starts": "08:00",
    "window_ends": "16:00",
    "note": "Ask for grandma",
}


def asking(transport, **fields):  # type: ignore[no-untyped-def]
    return {
        "submission_key": "k" * 24,
        "department_id": str(transport.id),
        "student_id": "0",
        "subject": "Bus stop change",
        "body": QUESTION,
        **fields,
    }


def count(db, model) -> int:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model))


def test_departments_are_a_compact_list_and_the_promise_is_shown_once(db, family, transport, special_ed):
    page = html.unescape(family.get("/requests/new").get_data(as_text=True))
    assert page.count("First reply within") == 2, "one line per department"
    assert "Bus stops, routes and late buses." not in page, "descriptions make the list long"
    # Each choice carries its promise for the script; none is shown until a department is chosen.
    assert len(re.findall(r'data-promise="We will reply by [^"]+"', page)) == 2
    assert re.search(r'<p class="promise" id="reply-promise" role="status" data-promise-of="department_id"></p>', page)


def test_the_chosen_departments_promise_is_shown_by_the_button_when_the_form_comes_back(db, family, transport):
    sent = family.submit("/requests/new", asking(transport, subject=""))
    page = html.unescape(sent.get_data(as_text=True))
    assert sent.status_code == 200
    promise = re.search(r'id="reply-promise"[^>]*>([^<]*)</p>', page)
    assert promise and promise.group(1).startswith("We will reply by "), promise


def test_the_call_back_fields_start_with_the_familys_number_and_stay_folded(db, family, guardian, transport):
    guardian.phone = "+13105550188"
    db.commit()
    page = family.get("/requests/new").get_data(as_text=True)
    assert re.search(r'<details class="callback-choice" id="callback">', page), "folded until asked for"
    assert 'value="+13105550188"' in page
    assert 'name="call_me"' in page and "Call me back instead" in page


def test_a_new_request_with_a_call_back_promises_the_call(db, family, transport):
    sent = family.submit("/requests/new", asking(transport, **CALL))
    assert sent.status_code == 302
    request = db.scalar(select(Request))
    callback = db.scalar(select(Callback))
    assert callback.request_id == request.id
    assert (callback.phone, callback.language, callback.note) == ("+12135550143", "Español", "Ask for grandma")
    assert request.callback_due_at == callback.due_at
    page = html.unescape(family.get(sent.headers["Location"]).get_data(as_text=True))
    assert re.search(r'<div role="status">\s*<p class="promise">We will call you by ', page)
    assert {"request.created", "callback.asked"} <= set(db.scalars(select(AuditEvent.action)))


def test_the_call_back_fields_are_ignored_without_the_choice(db, family, transport):
    sent = family.submit("/requests/new", asking(transport, **{**CALL, "call_me": "", "phone": "not a number"}))
    assert sent.status_code == 302
    assert count(db, Request) == 1
    assert count(db, Callback) == 0


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"phone": "not a number"}, "phone", "phone number"),
        ({"phone": "12"}, "phone", "phone number"),
        ({"weekdays": []}, "weekdays", "at least one day"),
        ({"weekdays": ["9", "x"]}, "weekdays", ""),
        ({"window_starts": "7pm"}, "window_starts", "15:30"),
        ({"window_starts": "16:00", "window_ends": "08:00"}, "window_ends", "later than the start"),
        ({"window_starts": "20:00", "window_ends": "21:00"}, "window_starts", "offices are closed"),
        ({"language": ""}, "language", "Choose a language."),
        ({"note": "Ask\x1b for grandma"}, "note", "control characters"),
        ({"note": HOSTILE_SCRIPT * 20}, "note", "300"),
    ],
)
def test_a_call_back_that_cannot_be_sends_nothing_and_keeps_the_question(db, family, transport, change, field, message):
    typed = asking(transport, **{**CALL, **change})
    sent = family.submit("/requests/new", typed)
    assert sent.status_code == 200
    page = sent.get_data(as_text=True)
    shown = html.unescape(page)
    error = field_error(page, field) if field != "weekdays" else re.search(r'id="weekdays-error"', page)
    assert error, f"no message next to {field}"
    assert message in shown
    # Everything typed is kept: the question, the department, the call-back and its folding open.
    assert f"{QUESTION}</textarea>" in shown.replace("\r\n", "\n")
    assert 'value="Bus stop change"' in page
    assert re.search(rf'value="{transport.id}" aria-describedby="department_id-0-about" checked', page)
    assert re.search(r'<details class="callback-choice" id="callback" open>', page)
    assert re.search(r'<input checked id="call_me" name="call_me" type="checkbox" value="y">', page)
    assert HOSTILE_SCRIPT not in page
    assert count(db, Request) == 0, "the request waits for its call-back"
    assert count(db, Callback) == 0


def test_the_same_form_sent_twice_makes_one_request_and_one_call_back(db, family, transport):
    first = family.submit("/requests/new", asking(transport, **CALL))
    again = family.submit("/requests/new", asking(transport, **CALL))
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"]
    assert count(db, Request) == 1
    assert count(db, Callback) == 1


def test_a_new_request_with_a_call_back_needs_the_pages_token(db, family, transport):
    family.get("/requests/new")
    refused = family.client.post("/requests/new", data=asking(transport, **CALL))
    assert refused.status_code == 400
    assert count(db, Request) == 0


def test_another_households_request_page_is_404_after_a_call_back(db, family, transport, stranger):
    family.submit("/requests/new", asking(transport, **CALL))
    request_id = db.scalar(select(Request.id))
    assert stranger.get(f"/requests/{request_id}/sent").status_code == 404
    assert stranger.get(f"/requests/{request_id}").status_code == 404


def test_a_closed_department_choice_still_gets_no_call_back(db, family, transport):
    hidden = factories.make_department(db, "Internal Audit")
    hidden.is_public = False
    db.commit()
    sent = family.submit("/requests/new", asking(transport, **{**CALL, "department_id": str(hidden.id)}))
    assert sent.status_code == 200
    assert count(db, Callback) == 0
