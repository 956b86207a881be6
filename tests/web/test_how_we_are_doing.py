"""The public "how we are doing" page: only departments an administrator published, with
the figures of the query layer, readable signed out and in Spanish."""

from datetime import timedelta

import pytest

from portal.db import utcnow
from portal.services import requests
from portal.services.metrics import public, public_summary
from portal.services.requests.intake import NewRequest
from tests import factories
from tests.conftest import Browser


def answered(db, department, staff, household, count: int) -> None:  # type: ignore[no-untyped-def]
    guardian = factories.guardians_of(db, household)[0]
    start = utcnow() - timedelta(days=5)
    for number in range(count):
        asked, _created = requests.submit_request(
            db, guardian, NewRequest(department.id, f"Question {number}", "When?"), now=start + timedelta(hours=number)
        )
        requests.reply_as_staff(
            db, staff, asked, "Tomorrow.", internal=False, now=start + timedelta(hours=number, minutes=30)
        )
    db.commit()


@pytest.fixture
def published(db, transport, staff, household):  # type: ignore[no-untyped-def]
    transport.metrics_public = True
    transport.translations = {"es": {"name": "Transporte"}}
    db.commit()
    answered(db, transport, staff, household, 6)
    return transport


def test_a_published_department_shows_its_figures_to_anyone(client, db, published, special_ed):
    page = client.get("/how-we-are-doing/")
    text = page.get_data(as_text=True)

    assert page.status_code == 200
    summary = public_summary(db, published.id, now=utcnow())
    assert summary is not None and summary.answered == 6
    assert "Transportation" in text
    assert "Questions answered</dt><dd>6</dd>" in text
    assert "Special Education" not in text  # not published
    assert client.get(f"/how-we-are-doing/{published.id}").status_code == 200


def test_an_unpublished_or_private_department_is_not_found(client, db, published, special_ed):
    assert client.get(f"/how-we-are-doing/{special_ed.id}").status_code == 404
    special_ed.metrics_public = True
    special_ed.is_public = False  # families cannot ask it: nothing to publish
    db.commit()
    assert client.get(f"/how-we-are-doing/{special_ed.id}").status_code == 404
    for hostile in ("99999999999999999999999", "-1", "abc", "%3Cscript%3E"):
        assert client.get(f"/how-we-are-doing/{hostile}").status_code == 404


def test_too_few_answers_give_no_typical_time(client, db, transport, staff, household):
    transport.metrics_public = True
    db.commit()
    answered(db, transport, staff, household, 2)
    text = client.get(f"/how-we-are-doing/{transport.id}").get_data(as_text=True)
    assert "Too few questions were answered" in text
    assert "Typical first reply" not in text


def test_the_page_reads_in_spanish(client, published):
    text = client.get("/how-we-are-doing/?lang=es", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Transporte" in text


def test_an_administrator_publishes_a_department_and_the_question_form_links_to_it(
    app, as_admin, guardian, db, transport
):
    family = Browser(app.test_client(), app)
    family.sign_in(guardian.email)
    page = as_admin.get(f"/admin/departments/{transport.id}").get_data(as_text=True)
    assert "How we are doing" in page
    assert "How fast departments answered lately" not in family.get("/requests/new").get_data(as_text=True)

    form = {
        "name": transport.name,
        "description": transport.description,
        "is_public": "y",
        "metrics_public": "y",
        **{f"{p}_{k}": "8" for p in ("low", "normal", "high", "urgent") for k in ("first", "next", "resolution")},
    }
    saved = as_admin.submit(f"/admin/departments/{transport.id}", form)

    assert saved.status_code == 302
    db.refresh(transport)
    assert transport.metrics_public is True
    assert "How fast departments answered lately" in family.get("/requests/new").get_data(as_text=True)
    assert family.get(f"/how-we-are-doing/{transport.id}").status_code == 200


def test_the_figures_are_read_again_after_five_minutes(db, published, staff, household):
    kept: public.Kept = {}
    now = utcnow()
    (first,) = public.public_figures(db, kept, now=now)
    answered(db, published, staff, household, 2)
    (cached,) = public.public_figures(db, kept, now=now + timedelta(minutes=4))
    (fresh,) = public.public_figures(db, kept, now=now + public.CACHE_FOR)
    assert (first.summary.answered, cached.summary.answered, fresh.summary.answered) == (6, 6, 8)
    published.metrics_public = False  # unpublished: gone at once, kept figures or not
    db.commit()
    assert public.public_figures(db, kept, now=now + public.CACHE_FOR) == []
