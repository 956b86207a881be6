"""Two doors that no longer compete: a family's question goes to the request form, which
promises when it will be answered; feedback (a compliment, a suggestion, a concern) is one
tap away in the menu. Feedback already stored as "a question" stays valid and readable."""

import html
import re

from sqlalchemy import func, select

from portal.db import utcnow
from portal.models import Feedback, FeedbackKind
from portal.services import feedback
from tests.web.support import field_error, text

SUBMISSION_KEY = re.compile(r'name="submission_key" type="hidden" value="([^"]+)"')
BODY = "When does the winter bus timetable start?"


def feedback_form(family, **fields: object) -> dict[str, object]:  # type: ignore[no-untyped-def]
    page = text(family.get("/feedback/new"))
    form: dict[str, object] = {
        "submission_key": SUBMISSION_KEY.search(page).group(1),  # type: ignore[union-attr]
        "kind": "compliment",
        "department_id": 0,
        "school_id": 0,
        "body": BODY,
    }
    form.update(fields)
    return form


def feedback_count(db) -> int:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.scalar(select(func.count(Feedback.id)))


def test_the_family_form_does_not_offer_a_question_and_points_to_the_request_form(family):  # type: ignore[no-untyped-def]
    page = html.unescape(text(family.get("/feedback/new")))
    kinds = re.findall(r'name="kind" type="radio" value="(\w+)"', page)
    assert kinds == ["compliment", "suggestion", "concern"]
    door = re.search(r'<div class="promise-box">(.*?)</div>', page, re.S)
    assert door, "the feedback form does not point to the request form"
    assert "A question? Ask it on the question form: there we promise when we will answer." in door.group(1)
    assert 'href="/requests/new"' in door.group(1)
    assert page.index('class="promise-box"') < page.index('<form method="post" novalidate class="form">')


def test_a_question_sent_to_the_feedback_form_is_refused_beside_the_field_and_nothing_is_lost(db, family):  # type: ignore[no-untyped-def]
    response = family.submit("/feedback/new", feedback_form(family, kind="question"))
    assert response.status_code == 200
    page = html.unescape(text(response))
    assert field_error(page, "kind") == "Ask a question on the question form: there we promise when we will answer."
    assert re.search(rf"<textarea [^>]*name=\"body\"[^>]*>\s*{re.escape(BODY)}</textarea>", page)
    assert 'href="/requests/new"' in page
    assert feedback_count(db) == 0


def test_the_other_kinds_are_still_sent(db, family):  # type: ignore[no-untyped-def]
    for kind in ("compliment", "suggestion", "concern"):
        response = family.submit("/feedback/new", feedback_form(family, kind=kind))
        assert "Thank you for your feedback" in text(response)
    assert feedback_count(db) == 3


def test_feedback_is_in_the_familys_menu(family):  # type: ignore[no-untyped-def]
    page = html.unescape(text(family.get("/family/")))
    menu = re.search(r'<details class="nav-menu">(.*?)</details>', page, re.S)
    assert menu is not None
    assert '<a href="/feedback/new">Tell us what you think</a>' in menu.group(1)


def test_the_public_form_keeps_every_kind_and_tells_parents_where_to_ask(client):  # type: ignore[no-untyped-def]
    # Someone without an account has no request form: "a question" stays here for them.
    page = html.unescape(text(client.get("/feedback/public")))
    kinds = re.findall(r'name="kind" type="radio" value="(\w+)"', page)
    assert kinds == ["compliment", "suggestion", "concern", "question"]
    assert "A parent or guardian with an account: sign in to ask a question" in page
    assert '<a href="/sign-in">Sign in</a>' in page


def test_feedback_stored_as_a_question_stays_valid_and_readable(db, family, guardian):  # type: ignore[no-untyped-def]
    stored = feedback.submit_from_family(
        db,
        guardian,
        feedback.NewFeedback(kind="question", department_id=None, school_id=None, rating=None, body=BODY),
        now=utcnow(),
    )
    db.commit()
    assert stored.kind is FeedbackKind.QUESTION
    assert f"Question {stored.reference}" in html.unescape(text(family.get("/feedback/")))
    detail = family.get(f"/feedback/{stored.id}")
    assert detail.status_code == 200
    assert BODY in html.unescape(text(detail))
