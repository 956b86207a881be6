"""The family home page: what a parent comes back for. The open requests of every household
of the guardian with when the next answer is due (the overdue first), the new replies, and
the two actions; never a request of another household."""

import html
import re
from datetime import timedelta

import pytest

from portal.db import utcnow
from portal.models import GuardianRelationship, Guardianship, RequestStatus
from portal.services import requests
from portal.services.calendar import district_calendar
from portal.services.requests import promises
from tests import factories
from tests.web.support import text


@pytest.fixture
def calendar(db):  # type: ignore[no-untyped-def]
    return district_calendar.load_calendar(db, "America/Los_Angeles")


def ask(db, guardian, department, subject, calendar):  # type: ignore[no-untyped-def]
    created, _is_new = requests.submit_request(
        db, guardian, requests.NewRequest(department.id, subject, "Please tell us."), calendar=calendar, now=utcnow()
    )
    db.commit()
    return created


def due_in(db, request, delta: timedelta) -> None:  # type: ignore[no-untyped-def]
    request.first_reply_due_at = utcnow() + delta
    promises.refresh_due_at(request)
    db.commit()


def section(page: str, heading: str) -> str:
    """The <section> whose heading is `heading`."""
    match = re.search(rf"<section[^>]*>\s*<h2[^>]*>{re.escape(heading)}</h2>(.*?)</section>", page, re.S)
    assert match, f"the page has no section {heading!r}"
    return match.group(1)


def card_titles(part: str) -> list[str]:
    return re.findall(r'<h3 class="card-title"><a href="/requests/\d+">([^<]+)</a>', part)


def home(family) -> str:  # type: ignore[no-untyped-def]
    response = family.get("/family/")
    assert response.status_code == 200
    return html.unescape(text(response))


def test_the_two_actions_come_first(family):  # type: ignore[no-untyped-def]
    page = home(family)
    actions = re.search(r'<p class="actions">(.*?)</p>', page, re.S)
    assert actions, "the home page has no actions"
    assert '<a class="button" href="/requests/new">Ask a question</a>' in actions.group(1)
    assert '<a class="button-secondary" href="/account/contact">Update how we reach you</a>' in actions.group(1)
    assert page.index('class="actions"') < page.index("Your open requests") < page.index(">Students<")
    assert "You have no open requests." in section(page, "Your open requests")


def test_open_requests_are_listed_overdue_first_then_by_due_time_with_their_promise(  # type: ignore[no-untyped-def]
    db, family, guardian, transport, calendar
):
    later = ask(db, guardian, transport, "Which bus in spring?", calendar)
    sooner = ask(db, guardian, transport, "Which stop is ours?", calendar)
    late = ask(db, guardian, transport, "Where is the lunch form?", calendar)
    due_in(db, later, timedelta(days=2))
    due_in(db, sooner, timedelta(hours=2))
    due_in(db, late, timedelta(hours=-2))

    part = section(home(family), "Your open requests")

    assert card_titles(part) == [late.subject, sooner.subject, later.subject]
    cards = part.split('<li class="card')[1:]
    assert cards[0].startswith(' card--overdue"')
    assert "We are late: our answer was due" in cards[0]
    assert all("We will reply by" in card for card in cards[1:])
    assert all(f"{item.reference} · Transportation" in part for item in (late, sooner, later))


def test_a_staff_reply_the_family_has_not_answered_is_marked_new(  # type: ignore[no-untyped-def]
    db, family, guardian, staff, transport, calendar
):
    answered = ask(db, guardian, transport, "Which stop is ours?", calendar)
    untouched = ask(db, guardian, transport, "Where is the lunch form?", calendar)
    requests.reply_as_staff(db, staff, answered, "Stop 12, at 7:40.", internal=False, calendar=calendar, now=utcnow())
    requests.reply_as_staff(
        db, staff, untouched, "Internal: ask the office", internal=True, calendar=calendar, now=utcnow()
    )
    db.commit()

    cards = section(home(family), "Your open requests").split('<li class="card')[1:]
    new = {title: "New reply" in card for card in cards for title in card_titles(card)}
    assert new == {answered.subject: True, untouched.subject: False}

    requests.reply_as_family(db, guardian, answered, "Thank you!", calendar=calendar, now=utcnow())
    db.commit()
    assert "New reply" not in home(family)


def test_a_resolved_request_with_a_new_answer_is_shown_apart_and_closed_ones_are_not(  # type: ignore[no-untyped-def]
    db, family, guardian, staff, transport, calendar
):
    resolved = ask(db, guardian, transport, "Which stop is ours?", calendar)
    requests.reply_as_staff(db, staff, resolved, "Stop 12.", internal=False, calendar=calendar, now=utcnow())
    requests.change_status(
        db, staff, resolved, RequestStatus.RESOLVED, calendar=calendar, now=utcnow(), secret_key="secret"
    )
    closed = ask(db, guardian, transport, "Never mind", calendar)
    requests.close_by_family(db, guardian, closed, now=utcnow())
    db.commit()

    page = home(family)

    assert card_titles(section(page, "New answers")) == [resolved.subject]
    assert "Resolved" in section(page, "New answers")
    assert card_titles(section(page, "Your open requests")) == []
    assert closed.subject not in page


def test_every_household_of_the_guardian_is_covered_and_no_other(  # type: ignore[no-untyped-def]
    db, family, guardian, household, transport, calendar
):
    moreno = factories.make_household(db, name="Moreno household")
    db.add(
        Guardianship(household_id=moreno.id, user_id=guardian.id, relationship_to_students=GuardianRelationship.MOTHER)
    )
    db.commit()
    other_parent = factories.guardians_of(db, moreno)[0]
    stranger = factories.guardians_of(db, factories.make_household(db, name="Chen household"))[0]
    ours = ask(db, guardian, transport, "Asked for the Alvarez children", calendar)
    theirs_too = ask(db, other_parent, transport, "Asked by the other parent", calendar)
    not_ours = ask(db, stranger, transport, "Asked by a stranger", calendar)

    page = home(family)

    part = section(page, "Your open requests")
    assert sorted(card_titles(part)) == sorted([ours.subject, theirs_too.subject])
    # With several households, each request says whose it is.
    assert f"{ours.reference} · Transportation · {household.name}" in part
    assert f"{theirs_too.reference} · Transportation · Moreno household" in part
    assert not_ours.subject not in page
    assert not_ours.reference not in page


def test_a_guardian_of_one_household_is_not_told_its_name_on_every_request(  # type: ignore[no-untyped-def]
    db, family, guardian, household, transport, calendar
):
    asked = ask(db, guardian, transport, "Which stop is ours?", calendar)
    part = section(home(family), "Your open requests")
    assert f"{asked.reference} · Transportation</p>" in part
    assert household.name not in part
