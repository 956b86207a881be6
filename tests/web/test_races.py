"""Parallel posts against one app, as two app workers or a flaky phone send them: one
thread per person, each with its own test client, released together by a barrier.

PostgreSQL only: that is where requests really run side by side (CI runs this file
there). On SQLite a write waits for the one before it; the same rules are tested
there without threads (tests/unit/test_notes.py, tests/unit/test_requests.py,
tests/web/test_account_notes.py, tests/web/test_requests_family.py)."""

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from portal.db import utcnow
from portal.models import (
    AccountNote,
    AccountNoteRevision,
    Department,
    Feedback,
    NoteCategory,
    Request,
    SatisfactionRating,
)
from portal.services.households import notes
from tests import factories
from tests.conftest import EXTERNAL_DATABASE_URL, Browser, csrf_token_from
from tests.web.support import in_parallel
from tests.web.test_request_rating import rating_link_token, resolved

pytestmark = pytest.mark.skipif(
    not EXTERNAL_DATABASE_URL.startswith("postgresql"),
    reason="parallel writes need PostgreSQL (set PORTAL_TEST_DATABASE_URL); SQLite runs one write at a time",
)

LIMIT = 5
SUBMISSION_KEY = re.compile(r'name="submission_key" type="hidden" value="([^"]+)"')
LIMIT_REACHED = f"Your family has sent {LIMIT} new requests recently, the most we accept at a time."
STALE = "Someone changed this note since you opened it."


@pytest.fixture
def app_config() -> dict[str, object]:
    return {"NEW_REQUEST_LIMIT_PER_ACCOUNT": f"{LIMIT} per day", "PUBLIC_FEEDBACK_LIMIT_PER_CLIENT": "100 per hour"}


def page_text(response: TestResponse) -> str:
    return html.unescape(response.get_data(as_text=True))


def signed_in(app: Flask, email: str) -> Browser:
    browser = Browser(app.test_client(), app)
    browser.sign_in(email)
    return browser


def count(db: Session, model: type, *where: Any) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model).where(*where)) or 0


# --- two people save one note at once ------------------------------------------------


@pytest.mark.parametrize("editors", ["staff", "family"])
def test_two_parallel_saves_of_one_note_save_one_and_show_the_other_the_conflict(app, db, editors):
    household = factories.make_household(db, guardians=2)
    guardians = factories.guardians_of(db, household)
    note = notes.add_note(db, guardians[0], household.id, notes.NoteEdit(NoteCategory.PICKUP, "Dad."), now=utcnow())
    db.commit()
    if editors == "staff":
        people = [signed_in(app, factories.make_staff(db).email) for _ in range(2)]
        path, extra = f"/staff/households/{household.id}/notes/{note.id}", {"reason": "Asked by phone"}
    else:
        people = [signed_in(app, guardian.email) for guardian in guardians]
        path, extra = f"/account/notes/{note.id}", {}
    tokens = [csrf_token_from(person.get(path).get_data(as_text=True)) for person in people]
    typed = ["Grandma Rosa picks up.", "Aunt Ana picks up."]

    def save(number: int) -> Callable[[], TestResponse]:
        form = {"csrf_token": tokens[number], "version": "1", "category": "pickup", "text": typed[number], **extra}
        return lambda: people[number].client.post(path, data=form)

    answers = in_parallel([save(0), save(1)])

    assert sorted(answer.status_code for answer in answers) == [200, 302]
    winner = next(number for number, answer in enumerate(answers) if answer.status_code == 302)
    loser = 1 - winner
    page = page_text(answers[loser])
    assert STALE in page
    assert f"{typed[loser]}</textarea>" in page  # what the loser typed is kept
    assert typed[winner] in page  # beside what is saved now
    db.expire_all()
    saved = db.scalar(select(AccountNote))
    assert (saved.version, saved.text) == (2, typed[winner])
    assert count(db, AccountNoteRevision) == 2


# --- a family's requests: replays and the sending limit ------------------------------


def request_form(browser: Browser, transport: Department, subject: str, key: str | None = None) -> dict[str, object]:
    """The new-request form this browser was served: its token, and its key unless one is given."""
    page = browser.get("/requests/new").get_data(as_text=True)
    return {
        "csrf_token": csrf_token_from(page),
        "submission_key": key or SUBMISSION_KEY.search(page).group(1),  # type: ignore[union-attr]
        "department_id": transport.id,
        "student_id": 0,
        "subject": subject,
        "body": "Which stop is closest to 12 Elm St?",
    }


def post(browser: Browser, form: dict[str, object]) -> Callable[[], TestResponse]:
    return lambda: browser.client.post("/requests/new", data=form)


def test_twenty_parallel_replays_of_one_request_make_one_request_and_cost_one(app, db, transport, guardian):
    phones = [signed_in(app, guardian.email) for _ in range(20)]
    key = SUBMISSION_KEY.search(phones[0].get("/requests/new").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    forms = [request_form(phone, transport, "Bus stop change", key) for phone in phones]

    answers = in_parallel([post(phone, form) for phone, form in zip(phones, forms, strict=True)])

    assert {answer.status_code for answer in answers} == {302}
    assert len({answer.headers["Location"] for answer in answers}) == 1  # all to the one request
    assert count(db, Request) == 1
    # Charged once: LIMIT - 1 more requests go through, and the next is refused.
    for number in range(LIMIT - 1):
        assert post(phones[0], request_form(phones[0], transport, f"Question {number}"))().status_code == 302
    refused = post(phones[0], request_form(phones[0], transport, "One too many"))()
    assert refused.status_code == 200
    assert LIMIT_REACHED in page_text(refused)
    assert count(db, Request) == LIMIT


def test_parallel_requests_beyond_the_limit_make_exactly_the_limit(app, db, transport, guardian):
    phones = [signed_in(app, guardian.email) for _ in range(LIMIT + 7)]
    forms = [request_form(phone, transport, f"Question {number}") for number, phone in enumerate(phones)]

    answers = in_parallel([post(phone, form) for phone, form in zip(phones, forms, strict=True)])

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] * 7 + [302] * LIMIT
    for answer in answers:
        if answer.status_code == 200:
            page = page_text(answer)
            assert LIMIT_REACHED in page
            assert "Which stop is closest to 12 Elm St?</textarea>" in page  # their text is kept
    assert count(db, Request) == LIMIT


# --- the unique key decides, and the loser is answered as a replay --------------------


def test_ten_parallel_sends_of_one_public_feedback_make_one_and_all_see_its_reference(app, db, transport):
    visitors = [Browser(app.test_client(), app) for _ in range(10)]
    key = SUBMISSION_KEY.search(visitors[0].get("/feedback/public").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    forms = []
    for visitor in visitors:
        page = visitor.get("/feedback/public").get_data(as_text=True)
        forms.append(
            {
                "csrf_token": csrf_token_from(page),
                "submission_key": key,
                "kind": "compliment",
                "department_id": transport.id,
                "school_id": 0,
                "rating": "5",
                "body": "The crossing guard at Elm and 3rd is wonderful.",
                "contact_email": "",
                "website": "",
            }
        )

    answers = in_parallel(
        [
            lambda v=visitor, f=form: v.client.post("/feedback/public", data=f)
            for visitor, form in zip(visitors, forms, strict=True)
        ]
    )

    assert {answer.status_code for answer in answers} == {200}
    references = {re.search(r"Its reference is (F-\d{6})\.", page_text(answer)).group(1) for answer in answers}  # type: ignore[union-attr]
    assert len(references) == 1
    assert count(db, Feedback) == 1


def test_ten_parallel_ratings_by_one_emailed_link_keep_one_and_thank_every_sender(app, db, transport, guardian):
    staff = factories.make_staff(db, name="Robin Ortiz")
    factories.join(db, staff, transport)
    asked = resolved(app, db, staff, guardian, transport)
    link = f"/requests/rate/{rating_link_token(db, asked)}"
    visitors = [Browser(app.test_client(), app) for _ in range(10)]
    forms = [
        {
            "csrf_token": csrf_token_from(visitor.get(link).get_data(as_text=True)),
            "rating": str(1 + n % 5),
            "comment": f"Go {n}",
        }
        for n, visitor in enumerate(visitors)
    ]

    answers = in_parallel(
        [lambda v=visitor, f=form: v.client.post(link, data=f) for visitor, form in zip(visitors, forms, strict=True)]
    )

    assert {answer.status_code for answer in answers} == {200}
    pages = [page_text(answer) for answer in answers]
    assert sum("Your rating helps us answer families better." in page for page in pages) == 1
    assert sum("you already told us how we did" in page for page in pages) == 9
    assert count(db, SatisfactionRating) == 1
