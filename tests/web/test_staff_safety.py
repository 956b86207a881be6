"""The safety team's pages: a family's message that matched a safety term, read,
acknowledged or cleared; nobody else sees them; the family is never told."""

import pytest
from sqlalchemy import select

from portal import mail
from portal.db import utcnow
from portal.models import Notification, SafetyAlert
from portal.services import requests, scope
from portal.services.requests.intake import NewRequest
from portal.services.safety import alerts
from tests import factories
from tests.web.support import without_tokens

WORDS = "My daughter says she wants to die. Please call me."


@pytest.fixture
def team_member(db, admin):  # type: ignore[no-untyped-def]
    member = factories.make_staff(db, name="Sol Safety")
    alerts.add_to_team(db, admin, member.id, now=utcnow())
    db.commit()
    return member


@pytest.fixture
def flagged(db, guardian, transport, team_member):  # type: ignore[no-untyped-def]
    requests.submit_request(db, guardian, NewRequest(transport.id, "Worried", WORDS), now=utcnow())
    db.commit()
    return db.scalar(select(SafetyAlert))


def test_the_team_member_reads_the_alert_and_acknowledges_it(sign_in, flagged, team_member, db):
    team = sign_in(team_member)

    listing = team.get("/staff/safety/").get_data(as_text=True)
    assert f"/staff/safety/{flagged.id}" in listing and "nobody has acknowledged it yet" in listing
    page = team.get(f"/staff/safety/{flagged.id}")
    assert page.status_code == 200 and WORDS in page.get_data(as_text=True)

    done = team.submit(f"/staff/safety/{flagged.id}/acknowledge", {}, page=f"/staff/safety/{flagged.id}")

    assert done.status_code == 302
    db.refresh(flagged)
    assert flagged.acknowledged_by_id == team_member.id
    assert "Nobody else on the team is asked" in team.get(done.headers["Location"]).get_data(as_text=True)


def test_clearing_needs_a_reason_and_keeps_what_was_typed(sign_in, flagged, team_member, db):
    team = sign_in(team_member)
    url = f"/staff/safety/{flagged.id}"

    refused = team.submit(f"{url}/clear", {"reason": "  "}, page=url)
    assert refused.status_code == 200 and "Say why" in refused.get_data(as_text=True)

    cleared = team.submit(f"{url}/clear", {"reason": "<script>x</script> a song lyric"}, page=url)
    assert cleared.status_code == 302
    page = team.get(url).get_data(as_text=True)
    assert "&lt;script&gt;x&lt;/script&gt; a song lyric" in page and "<script>x" not in page
    db.refresh(flagged)
    assert flagged.cleared_by_id == team_member.id


def test_nobody_else_sees_the_alerts(sign_in, client, flagged, db, family):
    outsider = factories.make_staff(db)
    assert client.get(f"/staff/safety/{flagged.id}").status_code in (302, 403, 404)  # the family, signed in
    family.sign_out()
    assert client.get("/staff/safety/").status_code == 302  # a visitor: to sign-in
    staff = sign_in(outsider)
    assert staff.get("/staff/safety/").status_code == 403
    assert staff.get(f"/staff/safety/{flagged.id}").status_code == 403
    assert staff.client.post(f"/staff/safety/{flagged.id}/acknowledge").status_code in (400, 403)


def test_an_unknown_alert_is_not_found(sign_in, team_member):
    assert sign_in(team_member).get("/staff/safety/999999").status_code == 404


def test_the_family_is_never_told(family, flagged):
    pages = [without_tokens(family.get(path).get_data(as_text=True)).lower() for path in ("/requests/", "/family/")]
    assert not any("safety" in page or "flag" in page for page in pages)


def test_the_email_has_only_the_kind_of_match_and_a_link(app, flagged, db):
    notification = db.scalar(select(Notification).where(Notification.template == "safety_alert"))

    message = mail.render_email(app, notification)

    text = message.get_body(("plain",)).get_content()
    assert f"/staff/safety/{flagged.id}" in text and "(suicide)" in text
    assert "die" not in text and "Worried" not in text


def test_a_flagged_request_is_pinned_above_the_queue_of_its_department_only(sign_in, db, flagged, transport):
    colleague = factories.make_staff(db)
    factories.join(db, colleague, transport)
    elsewhere = factories.make_staff(db)
    factories.join(db, elsewhere, factories.make_department(db, "Nutrition"))

    browser = sign_in(colleague)
    queue = browser.get("/staff/requests/").get_data(as_text=True)
    pinned = queue.split('id="safety-heading"')[1].split("</section>")[0]
    assert f"/staff/requests/{flagged.request_id}" in pinned
    browser.sign_out()
    other = sign_in(elsewhere).get("/staff/requests/").get_data(as_text=True)
    assert "safety-heading" not in other


def test_flagged_feedback_is_pinned_above_the_review_queue(sign_in, db, admin, team_member):
    from portal.services import feedback

    sent = feedback.submit_public(
        db,
        feedback.NewFeedback("concern", None, None, None, "A kid brought a knife on the bus", anonymous=True),
        now=utcnow(),
    )
    db.commit()

    queue = sign_in(admin).get("/staff/feedback/").get_data(as_text=True)

    assert "safety-heading" in queue and f"/staff/feedback/{sent.id}" in queue


def test_the_queues_pin_an_alert_from_the_page_after_it_is_raised_until_it_is_cleared(
    sign_in, db, guardian, transport, team_member
):
    """Whether an alert is not cleared comes with each page's session statement: the
    queues pin nothing without a statement while none is, and the next page after one is
    raised, by any session, pins it."""
    colleague = factories.make_staff(db)
    factories.join(db, colleague, transport)
    browser = sign_in(colleague)
    assert "safety-heading" not in browser.get("/staff/requests/").get_data(as_text=True)
    assert "safety-heading" not in browser.get("/staff/feedback/").get_data(as_text=True)

    requests.submit_request(db, guardian, NewRequest(transport.id, "Worried", WORDS), now=utcnow())
    db.commit()
    alert = db.scalar(select(SafetyAlert))
    assert alert is not None
    queue = browser.get("/staff/requests/").get_data(as_text=True)
    assert f"/staff/requests/{alert.request_id}" in queue.split('id="safety-heading"')[1].split("</section>")[0]

    alerts.clear(db, team_member, alert.id, "A song lyric", now=utcnow())
    db.commit()
    assert "safety-heading" not in browser.get("/staff/requests/").get_data(as_text=True)


def test_a_session_that_wrote_looks_for_alerts_again(db, guardian, transport):
    """What a session read with its session statement says nothing of what it raised itself."""
    staff = factories.make_staff(db)
    factories.join(db, staff, transport)
    alerts.read_along(db, False)
    requests.submit_request(db, guardian, NewRequest(transport.id, "Worried", WORDS), now=utcnow())
    db.flush()
    assert [found.subject for found in alerts.flagged_requests(db, scope.for_staff(db, staff))] == ["Worried"]


def queue_row(page: str, path: str) -> str:
    """The queue table's row that links to `path` (not the pinned list above the table)."""
    table = page.split('<table class="queue">')[1].split("</table>")[0]
    [row] = [row for row in table.split("<tr>") if f'href="{path}"' in row]
    return row


def test_the_queue_marks_flagged_rows_until_the_alert_is_cleared(
    sign_in, db, guardian, flagged, transport, team_member
):
    calm, _is_new = requests.submit_request(
        db, guardian, NewRequest(transport.id, "Bus stop", "Which stop is ours?"), now=utcnow()
    )
    db.commit()
    colleague = factories.make_staff(db)
    factories.join(db, colleague, transport)
    browser = sign_in(colleague)
    flagged_path, calm_path = f"/staff/requests/{flagged.request_id}", f"/staff/requests/{calm.id}"

    for status in ("active", "all"):
        page = browser.get(f"/staff/requests/?status={status}").get_data(as_text=True)
        assert "tag--safety" in queue_row(page, flagged_path)
        assert "tag--safety" not in queue_row(page, calm_path)

    alerts.clear(db, team_member, flagged.id, "A figure of speech.", now=utcnow())
    db.commit()
    page = browser.get("/staff/requests/").get_data(as_text=True)
    assert "tag--safety" not in queue_row(page, flagged_path)


def test_the_review_queue_marks_flagged_feedback_until_the_alert_is_cleared(sign_in, db, admin, team_member):
    from portal.services import feedback

    worrying, calm = (
        feedback.submit_public(
            db, feedback.NewFeedback("concern", None, None, None, text, anonymous=True), now=utcnow()
        )
        for text in ("A kid brought a knife on the bus", "The bus was late again")
    )
    db.commit()
    alert = db.scalar(select(SafetyAlert).where(SafetyAlert.feedback_id == worrying.id))
    browser = sign_in(admin)

    page = browser.get("/staff/feedback/").get_data(as_text=True)
    assert "tag--safety" in queue_row(page, f"/staff/feedback/{worrying.id}")
    assert "tag--safety" not in queue_row(page, f"/staff/feedback/{calm.id}")

    alerts.clear(db, team_member, alert.id, "A cooking class knife, reported already.", now=utcnow())
    db.commit()
    page = browser.get("/staff/feedback/").get_data(as_text=True)
    assert "tag--safety" not in queue_row(page, f"/staff/feedback/{worrying.id}")
