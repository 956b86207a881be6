"""Saved replies: a lead keeps their department's (an administrator every one's and the
district-wide ones), in English and Spanish; the request page offers them in the
family's language, and nobody keeps or sees another department's."""

import pytest
from sqlalchemy import select

from portal.db import utcnow
from portal.models import AuditEvent, SavedReply
from portal.services import requests
from portal.services.requests.intake import NewRequest
from tests import factories
from tests.conftest import Browser

REPLY = {
    "title": "Bus stop change",
    "department_id": "",
    "body": "A new stop takes two school days to set up.",
    "body_es": "Una parada nueva tarda dos días escolares.",
}


@pytest.fixture
def lead(db, transport):  # type: ignore[no-untyped-def]
    user = factories.make_staff(db, name="Lee Lead")
    factories.join(db, user, transport, supervisor=True)
    return user


@pytest.fixture
def as_lead(lead, sign_in):  # type: ignore[no-untyped-def]
    return sign_in(lead)


def saved(db, department, *, body_es: str | None = "Una parada nueva tarda dos días escolares.") -> SavedReply:  # type: ignore[no-untyped-def]
    reply = SavedReply(
        department_id=department.id if department else None,
        title="Bus stop change",
        body="A new stop takes two school days to set up.",
        translations={"es": {"body": body_es}} if body_es else {},
        updated_at=utcnow(),
    )
    db.add(reply)
    db.commit()
    return reply


def ask(db, guardian, department):  # type: ignore[no-untyped-def]
    request, _created = requests.submit_request(
        db, guardian, NewRequest(department.id, "Bus stop", "We moved"), now=utcnow()
    )
    db.commit()
    return request


def test_a_lead_writes_a_reply_in_english_and_spanish(as_lead, db, transport):
    sent = as_lead.submit("/staff/saved-replies/new", {**REPLY, "department_id": str(transport.id)})

    assert sent.status_code == 302
    reply = db.scalars(select(SavedReply)).one()
    assert (reply.department_id, reply.title) == (transport.id, "Bus stop change")
    assert reply.translations == {"es": {"body": "Una parada nueva tarda dos días escolares."}}
    assert db.scalar(select(AuditEvent.action).where(AuditEvent.object_type == "saved_reply")) == "saved_reply.created"
    listed = as_lead.get("/staff/saved-replies/").get_data(as_text=True)
    assert "Bus stop change" in listed and "Transportation" in listed


def test_a_lead_cannot_keep_another_departments_or_the_district_wide_ones(as_lead, db, transport, special_ed):
    refused = as_lead.submit("/staff/saved-replies/new", {**REPLY, "department_id": str(special_ed.id)})
    assert refused.status_code == 200
    assert 'id="department_id-error"' in refused.get_data(as_text=True)
    district_wide = as_lead.submit("/staff/saved-replies/new", {**REPLY, "department_id": "0"})
    assert district_wide.status_code == 200
    assert db.scalars(select(SavedReply)).all() == []

    others = saved(db, special_ed)
    assert as_lead.get(f"/staff/saved-replies/{others.id}").status_code == 404
    assert (
        as_lead.submit(f"/staff/saved-replies/{others.id}/archive", {}, page="/staff/saved-replies/").status_code == 404
    )
    assert "Bus stop change" not in as_lead.get("/staff/saved-replies/").get_data(as_text=True)


def test_staff_who_lead_nothing_and_families_keep_none(desk, stranger, db, transport):
    reply = saved(db, transport)
    assert desk.get("/staff/saved-replies/").status_code == 403
    assert desk.get("/staff/saved-replies/new").status_code == 403
    assert desk.get(f"/staff/saved-replies/{reply.id}").status_code == 404
    assert stranger.get("/staff/saved-replies/").status_code == 403
    assert stranger.get(f"/staff/saved-replies/{reply.id}").status_code == 403


def test_an_admin_keeps_district_wide_replies(as_admin, db):
    sent = as_admin.submit("/staff/saved-replies/new", {**REPLY, "department_id": "0"})
    assert sent.status_code == 302
    assert db.scalars(select(SavedReply.department_id)).one() is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "", "Give the reply a title"),
        ("body", "   ", "Write the reply."),
        ("title", "x" * 81, "80 characters"),
        ("body", "a\x00b", "control"),
        ("body_es", "a\x07b", "control"),
        ("body_es", "x" * 5001, "5000 characters"),
        ("department_id", "99999999999999999999999", ""),
    ],
)
def test_bad_input_is_refused_next_to_the_field_and_the_rest_kept(as_lead, db, transport, field, value, message):
    typed = {**REPLY, "department_id": str(transport.id), "title": "<script>alert(1)</script>", field: value}
    page = as_lead.submit("/staff/saved-replies/new", typed)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert message.lower() in text.lower()
    assert "<script>alert(1)</script>" not in text
    if field != "body":
        assert "A new stop takes two school days" in text
    assert db.scalars(select(SavedReply)).all() == []


def test_editing_changes_only_what_was_typed_and_archiving_stops_the_offer(as_lead, db, transport):
    reply = saved(db, transport)
    page = as_lead.get(f"/staff/saved-replies/{reply.id}").get_data(as_text=True)
    assert "Una parada nueva" in page

    changed = as_lead.submit(
        f"/staff/saved-replies/{reply.id}",
        {**REPLY, "department_id": str(transport.id), "body": "Two school days, sometimes three."},
    )
    assert changed.status_code == 302
    db.refresh(reply)
    assert reply.body == "Two school days, sometimes three."
    assert reply.translations["es"]["body"] == "Una parada nueva tarda dos días escolares."

    archived = as_lead.submit(f"/staff/saved-replies/{reply.id}/archive", {}, page=f"/staff/saved-replies/{reply.id}")
    assert archived.status_code == 302
    db.refresh(reply)
    assert reply.is_active is False
    assert as_lead.get(f"/staff/saved-replies/{reply.id}").status_code == 404
    actions = db.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "saved_reply")).all()
    assert actions == ["saved_reply.changed", "saved_reply.archived"]


def test_the_request_page_offers_the_reply_in_the_familys_language(desk, db, household, transport, special_ed):
    guardian = factories.guardians_of(db, household)[0]
    guardian.language = "es"
    db.commit()
    request = ask(db, guardian, transport)
    ours, district_wide, others = saved(db, transport), saved(db, None, body_es=None), saved(db, special_ed)
    district_wide.title = "Office hours"
    others.title = "IEP meetings"
    db.commit()

    page = desk.get(f"/staff/requests/{request.id}").get_data(as_text=True)
    assert "Use a saved reply" in page
    assert "Bus stop change" in page and "Office hours" in page
    assert "IEP meetings" not in page
    assert "in English only" in page  # the district-wide one has no Spanish

    filled = desk.get(f"/staff/requests/{request.id}?saved_reply={ours.id}").get_data(as_text=True)
    assert "Una parada nueva tarda dos días escolares.</textarea>" in filled
    # Another department's reply, or nonsense, fills nothing.
    for value in (str(others.id), "abc", "99999999999999999999999", "-1"):
        page = desk.get(f"/staff/requests/{request.id}?saved_reply={value}")
        assert page.status_code == 200
        assert "Una parada nueva" not in page.get_data(as_text=True).split("<textarea", 1)[1].split("</textarea>")[0]


def test_a_reply_changed_or_archived_is_offered_so_by_the_next_request_page(app, desk, lead, db, guardian, transport):
    """The request page keeps the replies it offers between requests (district_cache): a
    change by their keeper shows on the next page all the same."""
    as_lead = Browser(app.test_client(), app)
    as_lead.sign_in(lead.email)
    request = ask(db, guardian, transport)
    reply = saved(db, transport)
    assert "Bus stop change" in desk.get(f"/staff/requests/{request.id}").get_data(as_text=True)
    assert "Bus stop change" in desk.get(f"/staff/requests/{request.id}").get_data(as_text=True)

    renamed = {**REPLY, "department_id": str(transport.id), "title": "New stop"}
    assert as_lead.submit(f"/staff/saved-replies/{reply.id}", renamed).status_code == 302
    page = desk.get(f"/staff/requests/{request.id}").get_data(as_text=True)
    assert "New stop" in page and "Bus stop change" not in page

    archived = as_lead.submit(f"/staff/saved-replies/{reply.id}/archive", {}, page=f"/staff/saved-replies/{reply.id}")
    assert archived.status_code == 302
    assert "New stop" not in desk.get(f"/staff/requests/{request.id}").get_data(as_text=True)


def test_an_english_family_gets_the_english_text(desk, db, guardian, transport):
    request = ask(db, guardian, transport)
    reply = saved(db, transport)
    filled = desk.get(f"/staff/requests/{request.id}?saved_reply={reply.id}").get_data(as_text=True)
    assert "A new stop takes two school days to set up.</textarea>" in filled
