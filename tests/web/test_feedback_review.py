"""Feedback, as staff triage it: a review queue confined to their departments (and the
unrouted feedback for the triage group), with filters, search, sort, pages and bulk
changes; the feedback page with its history, internal comments, the answer to the
sender, re-routing, tags and follow-up requests."""

import html
import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from portal import mail
from portal.db import utcnow
from portal.models import (
    Department,
    Feedback,
    FeedbackComment,
    FeedbackStatus,
    FeedbackTag,
    Notification,
    Request,
    RequestChannel,
    Routing,
)
from portal.models.feedback import feedback_tagging
from portal.services import feedback
from tests import factories
from tests.conftest import Browser
from tests.web.support import HOSTILE_SCRIPT, field_error, location, redirects_to_sign_in, submit, text

ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
BODY = "The bus was late again and my child was cold, upset and scared."
INTERNAL = "Internal: the driver has had three warnings already"
ANSWER = "We spoke to the driver; the bus leaves on time from Monday."
REFERENCE_LINK = re.compile(r'<a href="/staff/feedback/\d+">\w+ (F-\d{6})</a>')


@pytest.fixture
def app_config(request: pytest.FixtureRequest) -> dict[str, object]:
    """Parametrize indirectly to change the configuration (a small PAGE_SIZE)."""
    return getattr(request, "param", {})


# --- setting the scene ------------------------------------------------------


def browser_for(app, user) -> Browser:  # type: ignore[no-untyped-def]
    browser = Browser(app.test_client(), app)
    browser.sign_in(user.email)
    return browser


def send(db, guardian, department: Department | None, body: str = BODY, **fields: object) -> Feedback:  # type: ignore[no-untyped-def]
    """Feedback the guardian sent (None: "not sure" and no rule), made through the service."""
    values: dict[str, object] = {
        "kind": "concern",
        "department_id": department.id if department else None,
        "school_id": None,
        "rating": None,
        "body": body,
    }
    values.update(fields)
    sent = feedback.submit_from_family(db, guardian, feedback.NewFeedback(**values), now=utcnow())  # type: ignore[arg-type]
    db.commit()
    return sent


def send_public(db, department: Department | None, body: str = BODY, **fields: object) -> Feedback:  # type: ignore[no-untyped-def]
    values: dict[str, object] = {
        "kind": "concern",
        "department_id": department.id if department else None,
        "school_id": None,
        "rating": None,
        "body": body,
    }
    values.update(fields)
    sent = feedback.submit_public(db, feedback.NewFeedback(**values), now=utcnow())  # type: ignore[arg-type]
    db.commit()
    return sent


def set_triage(db, admin, department: Department | None) -> None:  # type: ignore[no-untyped-def]
    feedback.set_triage_department(db, admin, department.id if department else None, now=utcnow())
    db.commit()


def reload(db, feedback_id: int) -> Feedback:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.get(Feedback, feedback_id)


def tags_of(db, feedback_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    db.expire_all()
    return sorted(
        db.scalars(
            select(FeedbackTag.name)
            .join(feedback_tagging, feedback_tagging.c.tag_id == FeedbackTag.id)
            .where(feedback_tagging.c.feedback_id == feedback_id)
        )
    )


def backdate(db, received: dict[Feedback, datetime]) -> None:  # type: ignore[no-untyped-def]
    """Set when each piece of feedback was received."""
    for item, when in received.items():
        item.created_at = when
    db.commit()


def count(db, model, *where) -> int:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model).where(*where))


def emails(db, template: str = "feedback_response") -> list[Notification]:  # type: ignore[no-untyped-def]
    db.expire_all()
    return list(db.scalars(select(Notification).where(Notification.template == template).order_by(Notification.id)))


def rendered(app, notification: Notification) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """The plain-text and the HTML part of the email."""
    with app.app_context():
        message = mail.render_email(app, notification)
        plain, rich = (part.get_content() for part in message.iter_parts())  # type: ignore[attr-defined]
    return plain, rich


def queue_page(browser: Browser, **params: str) -> str:
    response = browser.get("/staff/feedback/", query_string=params)
    assert response.status_code == 200
    return html.unescape(text(response))


def listed(browser: Browser, **params: str) -> list[str]:
    """The references the queue lists, in order."""
    return REFERENCE_LINK.findall(text(browser.get("/staff/feedback/", query_string=params)))


def staff_page(browser: Browser, item: Feedback) -> str:
    response = browser.get(f"/staff/feedback/{item.id}")
    assert response.status_code == 200
    return html.unescape(text(response))


def update_form(item: Feedback, **fields: object) -> dict[str, object]:
    """The triage form as the page serves it for `item`, then `fields`."""
    form: dict[str, object] = {
        "status": item.status.value,
        "assignee_id": item.assignee_id or 0,
        "department_id": item.department_id or 0,
    }
    form.update(fields)
    return form


# --- confined to their departments ------------------------------------------


def test_the_queue_shows_only_the_staff_members_departments(db, desk, guardian, transport, special_ed):
    ours = send(db, guardian, transport, body="Bus 7 was late again today.")
    theirs = send(db, guardian, special_ed, body="The IEP meeting date was changed.")
    page = queue_page(desk)
    assert ours.reference in page and "Bus 7 was late again today." in page
    assert theirs.reference not in page and "IEP meeting" not in page
    assert listed(desk, q=theirs.reference, status="all") == []
    assert listed(desk, q="IEP meeting", status="all") == []
    # Only their own topics are offered; another's, sent by hand, is refused beside the
    # filter and left out, and the queue stays theirs.
    assert topics_offered(page) == ["Any topic", "Transportation"]
    refused = queue_page(desk, department_id=str(special_ed.id), status="all")
    assert field_error(refused, "department_id")
    assert listed(desk, department_id=str(special_ed.id), status="all") == [ours.reference]


def topics_offered(page: str) -> list[str]:
    return options_of(page, "department_id")


def options_of(page: str, name: str) -> list[str]:
    """The labels of the options of the page's select named `name`."""
    select = re.search(rf'<select [^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert select is not None
    return re.findall(r"<option [^>]*>(.*?)</option>", select.group(1))


def test_staff_get_404_for_feedback_outside_their_departments(db, desk, guardian, special_ed):
    theirs = send(db, guardian, special_ed, body="The IEP meeting date was changed.")
    response = desk.get(f"/staff/feedback/{theirs.id}")
    assert response.status_code == 404
    assert "IEP meeting" not in text(response)


FEEDBACK_POSTS = [
    ("comment", {"body": "Looked into it"}),
    ("respond", {"response": "Thank you"}),
    ("update", {"status": "closed", "assignee_id": "0", "department_id": "0"}),
    ("tags", {"tags": "hijacked"}),
    ("request", {}),
]


@pytest.mark.parametrize(("action", "data"), FEEDBACK_POSTS, ids=[action for action, _data in FEEDBACK_POSTS])
def test_staff_get_404_and_change_nothing_posting_to_feedback_outside_their_departments(
    db, desk, guardian, special_ed, action, data
):
    theirs = send(db, guardian, special_ed)
    response = desk.submit(f"/staff/feedback/{theirs.id}/{action}", data, page="/staff/feedback/")
    assert response.status_code == 404
    after = reload(db, theirs.id)
    assert (after.status, after.department_id, after.response, after.request_id) == (
        FeedbackStatus.NEW,
        special_ed.id,
        None,
        None,
    )
    assert tags_of(db, theirs.id) == []
    assert count(db, FeedbackComment) == 0
    assert count(db, Request) == 0
    assert count(db, Notification) == 0


def test_members_of_the_triage_group_see_and_open_unrouted_feedback(app, db, admin, guardian, transport):
    engagement = factories.make_department(db, "Family Engagement")
    sorter = factories.make_staff(db, name="Sam Sorter")
    factories.join(db, sorter, engagement)
    set_triage(db, admin, engagement)
    unrouted = send(db, guardian, None, body="Who do I ask about the winter concert?")
    routed = send(db, guardian, transport)
    triage = browser_for(app, sorter)
    assert listed(triage) == [unrouted.reference]
    assert topics_offered(queue_page(triage)) == ["Any topic", "Not routed yet", "Family Engagement"]
    assert listed(triage, department_id="-1") == [unrouted.reference]
    assert "Who do I ask about the winter concert?" in staff_page(triage, unrouted)
    assert triage.get(f"/staff/feedback/{routed.id}").status_code == 404


def test_staff_outside_the_triage_group_never_see_unrouted_feedback(db, desk, admin, guardian, transport):
    set_triage(db, admin, factories.make_department(db, "Family Engagement"))
    unrouted = send(db, guardian, None, body="Who do I ask about the winter concert?")
    ours = send(db, guardian, transport)
    assert listed(desk, status="all") == [ours.reference]
    assert "Not routed yet" not in topics_offered(queue_page(desk))
    assert listed(desk, department_id="-1", status="all") == [ours.reference]
    assert desk.get(f"/staff/feedback/{unrouted.id}").status_code == 404


def test_without_a_triage_group_only_administrators_see_unrouted_feedback(app, db, desk, admin, guardian):
    unrouted = send(db, guardian, None)
    assert listed(desk) == []
    assert desk.get(f"/staff/feedback/{unrouted.id}").status_code == 404
    assert listed(browser_for(app, admin)) == [unrouted.reference]


def test_an_admin_sees_and_opens_every_departments_feedback(app, db, admin, guardian, transport, special_ed):
    bus = send(db, guardian, transport)
    iep = send(db, guardian, special_ed)
    unrouted = send(db, guardian, None)
    public = send_public(db, special_ed)
    browser = browser_for(app, admin)
    assert sorted(listed(browser)) == sorted([bus.reference, iep.reference, unrouted.reference, public.reference])
    for item in (bus, iep, unrouted, public):
        assert browser.get(f"/staff/feedback/{item.id}").status_code == 200


# --- filters, search, sort and pages ----------------------------------------


@pytest.fixture
def mixed(db, admin, guardian, transport, special_ed):  # type: ignore[no-untyped-def]
    """Four pieces of feedback that each filter tells apart, seen by an administrator."""
    lincoln = factories.make_school(db, name="Lincoln Elementary")
    roosevelt = factories.make_school(db, name="Roosevelt Middle")
    praise = send(
        db,
        guardian,
        transport,
        "The bus driver was wonderful and kind, thank you so much for everything.",
        kind="compliment",
        school_id=lincoln.id,
        rating=5,
    )
    worry = send(db, guardian, transport, BODY, kind="concern", school_id=roosevelt.id, rating=1)
    idea = send(
        db, guardian, None, "The bus arrives at the school at eight every morning.", kind="suggestion", rating=3
    )
    spanish = send_public(
        db, special_ed, "¿Cuándo empieza el horario de invierno del autobús escolar este año?", kind="question"
    )
    return {"praise": praise, "worry": worry, "idea": idea, "spanish": spanish, "lincoln": lincoln}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"kind": "concern"}, ["worry"]),
        ({"kind": "question"}, ["spanish"]),
        ({"department_id": "-1"}, ["idea"]),
        ({"rating": "1"}, ["worry"]),
        ({"rating": "3"}, ["idea"]),
        ({"sentiment": "positive"}, ["praise"]),
        ({"sentiment": "negative"}, ["worry"]),
        ({"sentiment": "neutral"}, ["idea"]),
        ({"sentiment": "unscored"}, ["spanish"]),
        ({"q": "cold, upset"}, ["worry"]),
        ({"q": "WONDERFUL"}, ["praise"]),
        ({"q": "invierno"}, ["spanish"]),
        ({"q": "100%"}, []),
        ({"q": "bus", "kind": "compliment"}, ["praise"]),
    ],
)
def test_the_queue_filters(app, admin, mixed, params, expected):
    browser = browser_for(app, admin)
    assert sorted(listed(browser, **params)) == sorted(mixed[name].reference for name in expected)


def test_the_queue_filters_by_department_and_school(app, admin, mixed, transport):
    browser = browser_for(app, admin)
    assert sorted(listed(browser, department_id=str(transport.id))) == sorted(
        [mixed["praise"].reference, mixed["worry"].reference]
    )
    assert listed(browser, school_id=str(mixed["lincoln"].id)) == [mixed["praise"].reference]


@pytest.mark.parametrize("written", ["{reference}", "{lower}", "{number}"])
def test_the_queue_finds_feedback_by_its_reference(app, admin, mixed, written):
    item = mixed["idea"]
    query = written.format(reference=item.reference, lower=item.reference.lower(), number=item.id)
    assert listed(browser_for(app, admin), q=query) == [item.reference]


def test_the_queue_shows_open_feedback_unless_asked_for_another_status(app, db, admin, mixed):
    feedback.respond(db, admin, reload(db, mixed["praise"].id), "Thank you!", now=utcnow())
    feedback.update(
        db,
        admin,
        reload(db, mixed["worry"].id),
        status=FeedbackStatus.CLOSED,
        assignee_id=None,
        department_id=mixed["worry"].department_id,
        now=utcnow(),
    )
    db.commit()
    browser = browser_for(app, admin)
    opened = sorted([mixed["idea"].reference, mixed["spanish"].reference])
    assert sorted(listed(browser)) == opened
    assert sorted(listed(browser, status="open")) == opened
    assert listed(browser, status="responded") == [mixed["praise"].reference]
    assert listed(browser, status="closed") == [mixed["worry"].reference]
    assert len(listed(browser, status="all")) == 4


def test_the_queue_filters_by_tag_and_assignee(app, db, admin, staff, mixed):
    feedback.set_tags(
        db, admin, feedback.feedback_for_staff(db, admin, mixed["praise"].id), ["driver", "thanks"], now=utcnow()
    )
    db.commit()
    # The staff member works in Transportation, where "worry" is; "idea" is unrouted: admins only.
    for name, assignee in (("idea", admin), ("worry", staff)):
        item = reload(db, mixed[name].id)
        feedback.update(
            db, admin, item, status=item.status, assignee_id=assignee.id, department_id=item.department_id, now=utcnow()
        )
        db.commit()
    browser = browser_for(app, admin)
    assert listed(browser, tag="thanks") == [mixed["praise"].reference]
    assert field_error(text(browser.get("/staff/feedback/", query_string={"tag": "no-such-tag"})), "tag")
    assert listed(browser, assignee="me") == [mixed["idea"].reference]
    assert listed(browser, assignee=str(staff.id)) == [mixed["worry"].reference]
    assert sorted(listed(browser, assignee="none")) == sorted([mixed["praise"].reference, mixed["spanish"].reference])


def test_the_queue_filters_by_the_day_received(app, db, admin, mixed):
    backdate(db, {mixed["praise"]: datetime(2024, 1, 15, 18, 0, tzinfo=UTC)})
    backdate(db, {mixed["worry"]: datetime(2023, 12, 31, 23, 0, tzinfo=UTC)})
    browser = browser_for(app, admin)
    assert listed(browser, received_from="2024-01-01", received_to="2024-01-31") == [mixed["praise"].reference]
    assert listed(browser, received_to="2023-12-31") == [mixed["worry"].reference]
    assert mixed["praise"].reference not in listed(browser, received_from="2024-02-01")


def test_the_days_received_are_the_districts_days_as_the_queue_shows_them(app, db, admin, mixed):
    # 04:00 UTC on February 1 is 8:00 PM on January 31 in Los Angeles, the district's time zone.
    backdate(db, {mixed["praise"]: datetime(2024, 2, 1, 4, 0, tzinfo=UTC)})
    browser = browser_for(app, admin)
    row = queue_page(browser, q=mixed["praise"].reference)
    assert "January 31" in row
    assert listed(browser, received_to="2024-01-31") == [mixed["praise"].reference]
    assert mixed["praise"].reference not in listed(browser, received_from="2024-02-01")


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("newest", ["spanish", "idea", "worry", "praise"]),
        ("oldest", ["praise", "worry", "idea", "spanish"]),
        ("rating_low", ["worry", "idea", "praise", "spanish"]),
        ("rating_high", ["praise", "idea", "worry", "spanish"]),
        ("sentiment_low", ["worry", "idea", "praise", "spanish"]),
        ("sentiment_high", ["praise", "idea", "worry", "spanish"]),
    ],
)
def test_the_queue_sorts(app, db, admin, mixed, sort, order):
    received = ["praise", "worry", "idea", "spanish"]
    backdate(db, {mixed[name]: datetime(2025, 3, 1, 9, minutes, tzinfo=UTC) for minutes, name in enumerate(received)})
    assert listed(browser_for(app, admin), sort=sort) == [mixed[name].reference for name in order]


@pytest.mark.parametrize(
    "params",
    [
        {"rating": "five"},
        {"rating": "9" * 30},
        {"department_id": "transport"},
        {"school_id": "-" + "9" * 30},
        {"received_from": "2024-13-45"},
        {"received_to": "yesterday"},
        {"sort": "random()"},
        {"status": "deleted"},
        {"kind": "complaint"},
        {"sentiment": "angry"},
        {"assignee": "9" * 30},
        {"tag": "x" * 500},
        {"q": "x" * 500},
        {"q": "%_\\"},
        {"page": "last"},
        {"page": "99999"},
        {"page": "-3"},
        {"q": HOSTILE_SCRIPT},
    ],
)
def test_a_filter_value_that_makes_no_sense_gets_an_answer_never_a_500(app, admin, mixed, params):
    response = browser_for(app, admin).get("/staff/feedback/", query_string=params)
    assert response.status_code == 200
    assert HOSTILE_SCRIPT not in text(response)


def test_the_queue_and_the_page_say_how_each_piece_reads_in_the_readers_language(app, db, admin, mixed):
    queue = text(browser_for(app, admin).get("/staff/feedback/", query_string={"status": "all"}))
    assert '<span class="badge">Positive</span>' in queue
    assert '<span class="badge badge--overdue">Negative</span>' in queue
    assert '<span class="muted">Not scored: language (Spanish) not supported</span>' in queue
    for item in mixed.values():
        if isinstance(item, Feedback):
            assert f'aria-label="Select {item.reference}"' in queue
    admin.language = "es"
    db.commit()
    browser = browser_for(app, admin)
    queue = text(browser.get("/staff/feedback/", query_string={"status": "all"}))
    assert '<span class="badge">Positivo</span>' in queue
    assert '<span class="muted">Sin evaluar: idioma no compatible (español)</span>' in queue
    assert f'aria-label="Seleccionar {mixed["spanish"].reference}"' in queue
    page = text(browser.get(f"/staff/feedback/{mixed['spanish'].id}"))
    assert '<span class="muted">Sin evaluar: idioma no compatible (español)</span>' in page


@pytest.mark.parametrize("app_config", [{"PAGE_SIZE": 2}], indirect=True)
def test_the_pager_keeps_the_filters(app, db, admin, guardian, transport):
    concerns = [send(db, guardian, transport, f"Bus {number} was late and the children waited.") for number in range(5)]
    send(db, guardian, transport, "Bus 9 was late too.", kind="compliment")
    send(db, guardian, transport, "The lunch menu is late.")
    backdate(db, {item: datetime(2025, 3, 1, 9, minutes, tzinfo=UTC) for minutes, item in enumerate(concerns)})
    browser = browser_for(app, admin)
    filters = {"kind": "concern", "q": "bus", "sort": "oldest", "status": "open"}
    first = text(browser.get("/staff/feedback/", query_string=filters))
    assert REFERENCE_LINK.findall(first) == [item.reference for item in concerns[:2]]
    assert "5 pieces of feedback" in first
    next_link = re.search(r'<a href="([^"]+)" rel="next">', first)
    assert next_link is not None
    target = html.unescape(next_link.group(1))
    assert urlsplit(target).path == "/staff/feedback/"
    assert parse_qs(urlsplit(target).query) == {**{key: [value] for key, value in filters.items()}, "page": ["2"]}
    second = text(browser.get(target))
    assert REFERENCE_LINK.findall(second) == [item.reference for item in concerns[2:4]]
    previous = re.search(r'<a href="([^"]+)" rel="prev">', second)
    assert previous is not None
    assert parse_qs(urlsplit(html.unescape(previous.group(1))).query)["q"] == ["bus"]
    assert "Page 2 of 3" in second


# --- bulk changes -----------------------------------------------------------


def test_the_queue_offers_only_the_people_who_can_be_given_its_feedback(
    db, desk, admin, guardian, transport, special_ed
):
    colleague = factories.make_staff(db, name="Sam Park")
    factories.join(db, colleague, transport)
    elsewhere = factories.make_staff(db, name="Lee Elsewhere")
    factories.join(db, elsewhere, special_ed)
    send(db, guardian, transport)
    page = queue_page(desk)
    for name in ("assignee", "assignee_id"):
        offered = options_of(page, name)
        assert "Sam Park" in offered and "Robin Ortiz" in offered and admin.display_name in offered
        assert "Lee Elsewhere" not in offered
    # An administrator may give feedback to anyone on the staff.
    assert "Lee Elsewhere" in options_of(queue_page(browser_for(desk.app, admin)), "assignee")
    # Nor can the bulk form give feedback to someone it does not offer.
    ours = db.scalar(select(Feedback.id))
    bulk(desk, [ours], "assign", assignee_id=str(elsewhere.id))
    assert reload(db, ours).assignee_id is None


@pytest.fixture
def three(db, guardian, transport):  # type: ignore[no-untyped-def]
    return [send(db, guardian, transport, f"Bus {number} was late.") for number in range(3)]


def bulk(browser: Browser, ids: list[int], action: str, **fields: object):  # type: ignore[no-untyped-def]
    data: dict[str, object] = {"ids": [str(i) for i in ids], "action": action, "assignee_id": "", "tag": ""}
    data.update(fields)
    return browser.submit("/staff/feedback/bulk", data, page="/staff/feedback/")


def test_bulk_assign_changes_only_the_selected_feedback_the_staff_member_may_see(
    db, desk, staff, guardian, transport, special_ed, three
):
    colleague = factories.make_staff(db, name="Sam Park")
    factories.join(db, colleague, transport)
    theirs = send(db, guardian, special_ed)
    response = bulk(desk, [three[0].id, three[1].id, theirs.id, 987654], "assign", assignee_id=str(colleague.id))
    assert response.status_code == 302
    assert urlsplit(location(response)).path == "/staff/feedback/"
    assert "2 pieces of feedback changed." in text(desk.get(location(response)))
    for item in three[:2]:
        after = reload(db, item.id)
        assert (after.assignee_id, after.status) == (colleague.id, FeedbackStatus.IN_REVIEW)
    assert reload(db, three[2].id).assignee_id is None
    untouched = reload(db, theirs.id)
    assert (untouched.assignee_id, untouched.status) == (None, FeedbackStatus.NEW)


def test_bulk_tag_adds_the_tag_to_the_selected_feedback_only(db, desk, guardian, special_ed, three):
    admin = factories.make_admin(db)
    feedback.set_tags(db, admin, feedback.feedback_for_staff(db, admin, three[0].id), ["late"], now=utcnow())
    db.commit()
    theirs = send(db, guardian, special_ed)
    response = bulk(desk, [three[0].id, three[1].id, theirs.id], "tag", tag="Route 7")
    assert response.status_code == 302
    assert tags_of(db, three[0].id) == ["late", "route 7"]
    assert tags_of(db, three[1].id) == ["route 7"]
    assert tags_of(db, three[2].id) == []
    assert tags_of(db, theirs.id) == []
    assert sorted(listed(desk, tag="route 7")) == sorted([three[0].reference, three[1].reference])


def test_bulk_close_closes_the_selected_feedback_only(db, desk, guardian, special_ed, three):
    theirs = send(db, guardian, special_ed)
    response = bulk(desk, [three[1].id, theirs.id], "close")
    assert "1 piece of feedback changed." in text(desk.get(location(response)))
    assert reload(db, three[1].id).status is FeedbackStatus.CLOSED
    assert reload(db, three[0].id).status is FeedbackStatus.NEW
    assert reload(db, theirs.id).status is FeedbackStatus.NEW
    assert three[1].reference not in listed(desk)


def test_bulk_returns_to_the_filtered_queue_it_came_from(db, desk, three):
    back = "/staff/feedback/?kind=concern&q=late"
    response = bulk(desk, [three[0].id], "close", back=back)
    assert location(response).endswith(back)


@pytest.mark.parametrize("back", ["https://evil.example/staff/feedback/", "//evil.example/", "/staff/feedback/\\evil"])
def test_bulk_never_returns_off_the_portal(db, desk, three, back):
    response = bulk(desk, [three[0].id], "close", back=back)
    assert urlsplit(location(response)).netloc in ("", "localhost")
    assert urlsplit(location(response)).path == "/staff/feedback/"


@pytest.mark.parametrize(
    ("ids", "action", "fields", "message"),
    [
        ([], "close", {}, "Select at least one piece of feedback."),
        (["x", "-1"], "close", {}, "Select at least one piece of feedback."),
        (None, "delete", {}, "Choose what to do with the selected feedback."),
        (None, "tag", {"tag": " , "}, "Write the tag to add."),
        (None, "assign", {"assignee_id": "robin"}, "Choose a staff member from the list."),
    ],
)
def test_a_bulk_change_that_makes_no_sense_says_why_and_changes_nothing(db, desk, three, ids, action, fields, message):
    chosen = [str(item.id) for item in three] if ids is None else ids
    response = desk.submit("/staff/feedback/bulk", {"ids": chosen, "action": action, **fields}, page="/staff/feedback/")
    assert response.status_code == 302
    assert message in html.unescape(text(desk.get(location(response))))
    for item in three:
        after = reload(db, item.id)
        assert (after.status, after.assignee_id) == (FeedbackStatus.NEW, None)
        assert tags_of(db, item.id) == []


# --- the feedback page ------------------------------------------------------


def test_the_feedback_page_shows_the_sender_and_everything_they_chose(db, desk, household, guardian, transport):
    school = factories.make_school(db, name="Lincoln Elementary")
    item = send(db, guardian, transport, school_id=school.id, rating=2, may_contact=True)
    page = staff_page(desk, item)
    assert f"Concern {item.reference}" in page
    assert BODY in page
    assert guardian.display_name in page
    assert f'href="/staff/households/{household.id}"' in page
    assert "Transportation" in page and "Lincoln Elementary" in page
    assert "2 out of 5" in page
    assert "Negative" in page
    assert "The answer is emailed to the sender and shown on their “My feedback”." in page


def test_the_page_of_anonymous_feedback_shows_nothing_of_the_sender(db, desk, household, guardian, transport):
    item = send(db, guardian, transport, anonymous=True, may_contact=True)
    page = staff_page(desk, item)
    assert "Anonymous: nothing about the sender was kept" in page
    assert guardian.display_name not in page
    assert guardian.email not in page
    assert "Alvarez" not in page
    assert f"/households/{household.id}" not in page
    assert "The sender cannot be reached: the answer is kept here only." in page


def test_the_page_of_public_feedback_shows_the_contact_email(db, desk, transport):
    item = send_public(db, transport, contact_email="ana@example.org")
    page = staff_page(desk, item)
    assert "ana@example.org" in page
    assert "(public form)" in page
    assert "The answer is emailed to the sender." in page


def test_the_history_lists_each_change(app, db, desk, staff, guardian, transport):
    item = send(db, guardian, transport)
    page = f"/staff/feedback/{item.id}"
    desk.submit(f"{page}/update", update_form(item, status="in_review", assignee_id=staff.id))
    desk.submit(f"{page}/tags", {"tags": "bus, late"})
    desk.submit(f"{page}/comment", {"body": INTERNAL})
    desk.submit(f"{page}/respond", {"response": ANSWER})
    desk.submit(f"{page}/request", {})
    opened = db.scalar(select(Request))
    history = staff_page(desk, item).split("<h3>History</h3>", 1)[1]
    lines = [re.sub(r"<[^>]+>", "", line).strip() for line in re.findall(r"<li>(.*?)</li>", history, re.S)]
    assert len(lines) == 6
    expected = [
        f"{guardian.display_name}, sent it",
        "Robin Ortiz, changed the status, assignee or department",
        "Robin Ortiz, changed the tags to: bus, late",
        "Robin Ortiz, added an internal comment",
        "Robin Ortiz, answered the sender",
        f"Robin Ortiz, opened request {opened.reference}",
    ]
    for line, wanted in zip(lines, expected, strict=True):
        assert line.endswith(wanted), line
    assert INTERNAL not in history


def test_the_history_of_anonymous_feedback_names_no_one(db, desk, guardian, transport):
    item = send(db, guardian, transport, anonymous=True)
    history = staff_page(desk, item).split("<h3>History</h3>", 1)[1]
    assert "the sender, sent it" in history
    assert guardian.display_name not in history


# --- internal comments ------------------------------------------------------


def test_an_internal_comment_is_saved_and_shown_to_staff(db, desk, staff, guardian, transport):
    item = send(db, guardian, transport)
    response = desk.submit(f"/staff/feedback/{item.id}/comment", {"body": INTERNAL})
    assert response.status_code == 302
    assert location(response).endswith(f"/staff/feedback/{item.id}")
    page = html.unescape(text(desk.get(location(response))))
    assert "Comment saved. The sender does not see it." in page
    assert INTERNAL in page
    comment = db.scalar(select(FeedbackComment))
    assert (comment.feedback_id, comment.author_id, comment.body) == (item.id, staff.id, INTERNAL)
    assert count(db, Notification) == 0


def test_an_internal_comment_reaches_no_page_download_or_email_of_the_family(app, db, desk, guardian, transport):
    item = send(db, guardian, transport, may_contact=True)
    desk.submit(f"/staff/feedback/{item.id}/comment", {"body": INTERNAL})
    desk.submit(f"/staff/feedback/{item.id}/respond", {"response": ANSWER})
    family = browser_for(app, guardian)
    for url in (
        "/feedback/",
        f"/feedback/{item.id}",
        "/family/history",
        "/account/data.json",
        "/account/data.csv",
    ):
        response = family.get(url)
        assert response.status_code == 200, url
        page = html.unescape(text(response))
        assert INTERNAL not in page, url
        assert "three warnings" not in page, url
    assert ANSWER in html.unescape(text(family.get(f"/feedback/{item.id}")))
    (sent,) = emails(db)
    for part in rendered(app, sent):
        assert ANSWER in html.unescape(part)
        assert INTERNAL not in html.unescape(part)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("   ", "Write the comment."),
        ("Called\x07\x1b[2J back", "Remove the invisible control characters"),
        ("x" * 2001, "Field cannot be longer than 2000 characters."),
    ],
)
def test_a_comment_that_cannot_be_saved_gets_an_error_next_to_the_field_and_the_text_is_kept(
    db, desk, guardian, transport, body, message
):
    item = send(db, guardian, transport)
    response = desk.submit(f"/staff/feedback/{item.id}/comment", {"body": body})
    assert response.status_code == 200
    page = text(response)
    assert message in (field_error(page, "body") or "")
    if body.strip():
        assert f"{body}</textarea>" in page
    assert count(db, FeedbackComment) == 0


# --- the answer -------------------------------------------------------------


def test_answering_a_family_who_may_be_contacted_emails_them_and_shows_on_my_feedback(
    app, db, desk, guardian, transport
):
    item = send(db, guardian, transport, may_contact=True)
    response = desk.submit(f"/staff/feedback/{item.id}/respond", {"response": ANSWER})
    assert response.status_code == 302
    assert "Answer saved and emailed to the sender." in html.unescape(text(desk.get(location(response))))
    after = reload(db, item.id)
    assert (after.status, after.response) == (FeedbackStatus.RESPONDED, ANSWER)
    (sent,) = emails(db)
    assert sent.recipient_id == guardian.id
    assert sent.payload["response"] == ANSWER
    assert sent.payload["reference"] == item.reference
    plain, _rich = rendered(app, sent)
    assert ANSWER in plain
    assert f"/feedback/{item.id}" in plain
    family = browser_for(app, guardian)
    listing = html.unescape(text(family.get("/feedback/")))
    assert "Answered</span> · The district answered" in listing
    assert ANSWER in html.unescape(text(family.get(f"/feedback/{item.id}")))


def test_answering_a_family_who_did_not_ask_to_be_contacted_sends_no_email_but_shows_the_answer(
    app, db, desk, guardian, transport
):
    item = send(db, guardian, transport, may_contact=False)
    response = desk.submit(f"/staff/feedback/{item.id}/respond", {"response": ANSWER})
    assert "Answer saved." in text(desk.get(location(response)))
    assert emails(db) == []
    assert ANSWER in html.unescape(text(browser_for(app, guardian).get(f"/feedback/{item.id}")))


def test_answering_anonymous_feedback_sends_no_email(db, desk, guardian, transport):
    item = send(db, guardian, transport, anonymous=True, may_contact=True)
    response = desk.submit(f"/staff/feedback/{item.id}/respond", {"response": ANSWER})
    assert response.status_code == 302
    assert reload(db, item.id).response == ANSWER
    assert count(db, Notification) == 0


def test_answering_public_feedback_emails_the_address_it_gave(app, db, desk, transport):
    item = send_public(db, transport, contact_email="ana@example.org")
    desk.submit(f"/staff/feedback/{item.id}/respond", {"response": ANSWER})
    (sent,) = emails(db)
    assert (sent.recipient_id, sent.to_address) == (None, "ana@example.org")
    plain, rich = rendered(app, sent)
    assert ANSWER in plain and item.reference in plain
    assert "My feedback" not in plain  # no account to read it again in
    assert ANSWER in html.unescape(rich)


def test_answering_public_feedback_without_an_address_sends_no_email(db, desk, transport):
    item = send_public(db, transport)
    desk.submit(f"/staff/feedback/{item.id}/respond", {"response": ANSWER})
    assert reload(db, item.id).status is FeedbackStatus.RESPONDED
    assert count(db, Notification) == 0


@pytest.mark.parametrize(
    ("response_text", "message"),
    [
        ("  ", "Write the response."),
        ("Hello\x00there", "Remove the invisible control characters"),
        ("x" * 4001, "Field cannot be longer than 4000 characters."),
    ],
)
def test_an_answer_that_cannot_be_saved_gets_an_error_next_to_the_field(
    db, desk, guardian, transport, response_text, message
):
    item = send(db, guardian, transport, may_contact=True)
    response = desk.submit(f"/staff/feedback/{item.id}/respond", {"response": response_text})
    assert response.status_code == 200
    assert message in (field_error(text(response), "response") or "")
    assert reload(db, item.id).status is FeedbackStatus.NEW
    assert count(db, Notification) == 0


# --- hostile input ----------------------------------------------------------


def test_scripts_are_shown_as_text_in_the_queue_the_page_my_feedback_and_the_email(app, db, desk, guardian, transport):
    item = send(db, guardian, transport, f"Bus {HOSTILE_SCRIPT}", may_contact=True)
    desk.submit(f"/staff/feedback/{item.id}/comment", {"body": f"Note {HOSTILE_SCRIPT}"})
    desk.submit(f"/staff/feedback/{item.id}/tags", {"tags": HOSTILE_SCRIPT})
    desk.submit(f"/staff/feedback/{item.id}/respond", {"response": f"Answer {HOSTILE_SCRIPT}"})
    queue = text(desk.get("/staff/feedback/", query_string={"status": "all"}))
    page = text(desk.get(f"/staff/feedback/{item.id}"))
    assert HOSTILE_SCRIPT not in queue and HOSTILE_SCRIPT not in page
    assert f"Bus {ESCAPED_SCRIPT}" in queue
    assert f"Bus {ESCAPED_SCRIPT}" in page
    assert f"Note {ESCAPED_SCRIPT}" in page
    family_page = text(browser_for(app, guardian).get(f"/feedback/{item.id}"))
    assert HOSTILE_SCRIPT not in family_page
    assert f"Answer {ESCAPED_SCRIPT}" in family_page
    (sent,) = emails(db)
    plain, rich = rendered(app, sent)
    assert HOSTILE_SCRIPT not in rich
    assert f"Answer {ESCAPED_SCRIPT}" in rich
    assert f"Answer {HOSTILE_SCRIPT}" in plain  # plain text is not markup


# --- status, assignee and re-routing ----------------------------------------


def test_staff_change_the_status_and_assignee(db, desk, staff, guardian, transport):
    item = send(db, guardian, transport)
    response = desk.submit(
        f"/staff/feedback/{item.id}/update", update_form(item, status="in_review", assignee_id=staff.id)
    )
    assert response.status_code == 302
    assert location(response).endswith(f"/staff/feedback/{item.id}")
    assert "Feedback updated." in text(desk.get(location(response)))
    after = reload(db, item.id)
    assert (after.status, after.assignee_id) == (FeedbackStatus.IN_REVIEW, staff.id)
    assert listed(desk, assignee="me") == [item.reference]


def test_rerouting_to_a_department_the_staff_member_is_not_in_returns_to_the_queue(
    db, desk, guardian, transport, special_ed
):
    item = send(db, guardian, transport)
    response = desk.submit(f"/staff/feedback/{item.id}/update", update_form(item, department_id=special_ed.id))
    assert response.status_code == 302
    assert urlsplit(location(response)).path == "/staff/feedback/"
    page = html.unescape(text(desk.get(location(response))))
    assert "Feedback updated." in page
    assert "It is now with a department you do not work in, so it left your queue." in page
    after = reload(db, item.id)
    assert (after.department_id, after.routing) == (special_ed.id, Routing.STAFF)
    assert item.reference not in listed(desk, status="all")
    assert desk.get(f"/staff/feedback/{item.id}").status_code == 404


def test_rerouting_within_the_staff_members_departments_returns_to_the_page(db, desk, staff, guardian, transport):
    enrollment = factories.make_department(db, "Enrollment")
    factories.join(db, staff, enrollment)
    item = send(db, guardian, transport)
    response = desk.submit(f"/staff/feedback/{item.id}/update", update_form(item, department_id=enrollment.id))
    assert location(response).endswith(f"/staff/feedback/{item.id}")
    assert "(re-routed by staff)" in staff_page(desk, item)
    assert reload(db, item.id).department_id == enrollment.id


def test_unrouting_sends_the_feedback_back_to_triage(app, db, desk, admin, guardian, transport):
    item = send(db, guardian, transport)
    response = desk.submit(f"/staff/feedback/{item.id}/update", update_form(item, department_id=0))
    assert urlsplit(location(response)).path == "/staff/feedback/"
    after = reload(db, item.id)
    assert (after.department_id, after.routing) == (None, Routing.TRIAGE)
    assert listed(browser_for(app, admin), department_id="-1") == [item.reference]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("department_id", "transport", None),
        ("department_id", "987654", "Choose a department from the list."),
        ("department_id", "9" * 25, "Choose one of the options in the list."),
        ("assignee_id", "robin", None),
        ("assignee_id", "987654", "Choose a staff member from the list."),
        ("status", "deleted", None),
    ],
)
def test_an_update_with_a_value_not_in_the_list_gets_an_error_next_to_the_field(
    db, desk, guardian, transport, field, value, message
):
    item = send(db, guardian, transport)
    response = desk.submit(f"/staff/feedback/{item.id}/update", update_form(item, **{field: value}))
    assert response.status_code == 200
    error = field_error(text(response), field)
    assert error
    if message:
        assert error == message
    after = reload(db, item.id)
    assert (after.status, after.department_id, after.assignee_id) == (FeedbackStatus.NEW, transport.id, None)


@pytest.mark.parametrize("route", ["update", "bulk"])
def test_feedback_is_never_assigned_to_someone_who_cannot_open_it(app, db, desk, guardian, transport, route):
    outsider = factories.make_staff(db, name="Casey Nguyen")
    factories.join(db, outsider, factories.make_department(db, "Special Education"))
    item = send(db, guardian, transport)
    if route == "update":
        desk.submit(f"/staff/feedback/{item.id}/update", update_form(item, assignee_id=outsider.id))
    else:
        bulk(desk, [item.id], "assign", assignee_id=str(outsider.id))
    if reload(db, item.id).assignee_id == outsider.id:
        theirs = browser_for(app, outsider)
        assert theirs.get(f"/staff/feedback/{item.id}").status_code == 200
        assert listed(theirs, assignee="me") == [item.reference]


def test_feedback_cannot_be_assigned_to_a_family(db, desk, guardian, transport):
    item = send(db, guardian, transport)
    response = desk.submit(f"/staff/feedback/{item.id}/update", update_form(item, assignee_id=guardian.id))
    assert field_error(text(response), "assignee_id") == "Choose a staff member from the list."
    assert reload(db, item.id).assignee_id is None


# --- tags -------------------------------------------------------------------


def test_tags_are_saved_cleaned_and_shown(db, desk, guardian, transport):
    item = send(db, guardian, transport)
    response = desk.submit(f"/staff/feedback/{item.id}/tags", {"tags": "Bus,  late  arrival , bus,,"})
    assert response.status_code == 302
    assert "Tags saved." in text(desk.get(location(response)))
    assert tags_of(db, item.id) == ["bus", "late arrival"]
    assert 'value="bus, late arrival"' in text(desk.get(f"/staff/feedback/{item.id}"))
    assert '<span class="tag">late arrival</span>' in text(desk.get("/staff/feedback/"))
    desk.submit(f"/staff/feedback/{item.id}/tags", {"tags": ""})
    assert tags_of(db, item.id) == []


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ("x" * 41, "A tag has at most 40 characters."),
        (", ".join(f"tag{n}" for n in range(11)), "Use at most 10 tags."),
        ("bus, la\x07te", "Remove the invisible control characters"),
    ],
)
def test_tags_that_cannot_be_saved_get_an_error_next_to_the_field(db, desk, guardian, transport, tags, message):
    item = send(db, guardian, transport)
    response = desk.submit(f"/staff/feedback/{item.id}/tags", {"tags": tags})
    assert response.status_code == 200
    assert message in (field_error(text(response), "tags") or "")
    assert tags_of(db, item.id) == []
    assert count(db, FeedbackTag) == 0


# --- turning feedback into a request ----------------------------------------


def test_turning_feedback_into_a_request_opens_one_the_family_sees_in_my_requests(
    app, db, desk, household, guardian, transport
):
    item = send(db, guardian, transport, kind="suggestion")
    response = desk.submit(f"/staff/feedback/{item.id}/request", {})
    assert response.status_code == 302
    assert location(response).endswith(f"/staff/feedback/{item.id}")
    opened = db.scalar(select(Request))
    assert (opened.household_id, opened.author_id, opened.department_id) == (household.id, guardian.id, transport.id)
    assert opened.channel is RequestChannel.FEEDBACK
    assert opened.subject == f"Suggestion {item.reference}"
    after = reload(db, item.id)
    assert (after.request_id, after.status) == (opened.id, FeedbackStatus.IN_REVIEW)
    page = html.unescape(text(desk.get(location(response))))
    assert f"Request {opened.reference} opened for the family." in page
    assert "The request opened for it" in page
    assert "Turn into a request" not in page
    family = browser_for(app, guardian)
    my_requests = html.unescape(text(family.get("/requests/")))
    assert opened.reference in my_requests and f"Suggestion {item.reference}" in my_requests
    assert "We opened a request to follow this up" in html.unescape(text(family.get(f"/feedback/{item.id}")))


@pytest.mark.parametrize("sender", ["anonymous", "public with email", "public without email"])
def test_feedback_without_a_named_family_cannot_become_a_request_and_says_why(db, desk, guardian, transport, sender):
    if sender == "anonymous":
        item = send(db, guardian, transport, anonymous=True)
    else:
        item = send_public(db, transport, contact_email="ana@example.org" if "with email" in sender else None)
    response = desk.submit(f"/staff/feedback/{item.id}/request", {})
    assert response.status_code == 200
    page = html.unescape(text(response))
    assert "Only feedback a family sent with its name can become a request. Respond to it instead." in page
    assert count(db, Request) == 0
    assert reload(db, item.id).request_id is None


def test_unrouted_feedback_must_be_routed_before_it_becomes_a_request(app, db, admin, guardian):
    item = send(db, guardian, None)
    response = browser_for(app, admin).submit(f"/staff/feedback/{item.id}/request", {})
    assert response.status_code == 200
    assert "Route the feedback to a department first." in html.unescape(text(response))
    assert count(db, Request) == 0


def test_feedback_becomes_a_request_only_once(db, desk, guardian, transport):
    item = send(db, guardian, transport)
    desk.submit(f"/staff/feedback/{item.id}/request", {})
    response = desk.submit(f"/staff/feedback/{item.id}/request", {}, page="/staff/feedback/")
    assert response.status_code == 200
    assert count(db, Request) == 1
    assert reload(db, item.id).request_id == db.scalar(select(Request.id))


def test_asking_twice_for_a_request_says_the_feedback_already_has_one(db, desk, guardian, transport):
    item = send(db, guardian, transport)
    desk.submit(f"/staff/feedback/{item.id}/request", {})
    response = desk.submit(f"/staff/feedback/{item.id}/request", {}, page="/staff/feedback/")
    assert "This feedback already has a request." in html.unescape(text(response))


# --- who may use the review pages -------------------------------------------

STAFF_PAGES = ["/staff/feedback/", "/staff/feedback/{id}"]
STAFF_POSTS = [("bulk", {"ids": ["{id}"], "action": "close"}), *FEEDBACK_POSTS]


def post_path(action: str, item: Feedback) -> str:
    return "/staff/feedback/bulk" if action == "bulk" else f"/staff/feedback/{item.id}/{action}"


def post_data(data: dict[str, object], item: Feedback) -> dict[str, object]:
    return {key: [str(item.id)] if key == "ids" else value for key, value in data.items()}


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_a_family_gets_403_on_the_review_pages(db, sign_in, guardian, transport, path):
    item = send(db, guardian, transport)
    assert sign_in(guardian).get(path.format(id=item.id)).status_code == 403


@pytest.mark.parametrize(("action", "data"), STAFF_POSTS, ids=[action for action, _data in STAFF_POSTS])
def test_a_family_gets_403_posting_to_the_review_routes(db, sign_in, guardian, transport, action, data):
    item = send(db, guardian, transport)
    family = sign_in(guardian)
    response = family.submit(post_path(action, item), post_data(data, item), page="/feedback/")
    assert response.status_code == 403
    assert reload(db, item.id).status is FeedbackStatus.NEW
    assert count(db, FeedbackComment) == count(db, Request) == count(db, FeedbackTag) == 0


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_an_anonymous_visitor_is_sent_to_sign_in_for_the_review_pages(db, client, guardian, transport, path):
    item = send(db, guardian, transport)
    assert redirects_to_sign_in(client.get(path.format(id=item.id)))


@pytest.mark.parametrize(("action", "data"), STAFF_POSTS, ids=[action for action, _data in STAFF_POSTS])
def test_an_anonymous_post_to_a_review_route_is_sent_to_sign_in(db, client, guardian, transport, action, data):
    item = send(db, guardian, transport)
    response = submit(client, post_path(action, item), post_data(data, item), page="/sign-in")
    assert redirects_to_sign_in(response)
    assert reload(db, item.id).status is FeedbackStatus.NEW


@pytest.mark.parametrize(("action", "data"), STAFF_POSTS, ids=[action for action, _data in STAFF_POSTS])
def test_a_review_post_without_its_csrf_token_is_refused(db, desk, guardian, transport, action, data):
    item = send(db, guardian, transport)
    response = desk.client.post(post_path(action, item), data=post_data(data, item))
    assert response.status_code == 400
    assert reload(db, item.id).status is FeedbackStatus.NEW
    assert count(db, FeedbackComment) == count(db, Request) == count(db, FeedbackTag) == 0
