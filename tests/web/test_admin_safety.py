"""The administrators' safety pages: who is on the safety team and in which order, the
terms that raise an alert (a term added flags the next request, a term removed no longer
does), and the log of alerts with its CSV download."""

import csv
import io
from datetime import timedelta

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from portal.db import utcnow
from portal.models import SafetyAlert, SafetyTeamMember, SafetyTerm, User
from portal.services import requests
from portal.services.requests.intake import NewRequest
from portal.services.safety import alerts
from tests import factories
from tests.conftest import Browser
from tests.web.support import csrf_token, field_error, input_value, redirects_to_sign_in, text

PAGE = "/admin/safety/"
ROUTES = [
    ("GET", "/admin/safety/"),
    ("GET", "/admin/safety/log"),
    ("GET", "/admin/safety/log.csv"),
    ("POST", "/admin/safety/team"),
    ("POST", "/admin/safety/team/1/remove"),
    ("POST", "/admin/safety/terms"),
    ("POST", "/admin/safety/terms/remove"),
]
LOG_HEADER = [
    "alert_id",
    "flagged_at",
    "category",
    "term",
    "acknowledged_at",
    "acknowledged_by",
    "seconds_to_acknowledge",
    "cleared_at",
    "cleared_by",
    "clear_reason",
]


def flagged(app, guardian, department, words: str) -> bool:  # type: ignore[no-untyped-def]
    """Whether a request with `words`, sent by the guardian, raises a safety alert. Sent in
    a session of its own, as each request to the portal is: a session reads the terms once."""
    with app.extensions["portal.sessionmaker"]() as db:
        actor = db.get_one(User, guardian.id)
        request, _new = requests.submit_request(db, actor, NewRequest(department.id, "A question", words), now=utcnow())
        db.commit()
        return db.scalar(select(SafetyAlert.id).where(SafetyAlert.request_id == request.id)) is not None


def terms_in_table(db) -> set[str]:  # type: ignore[no-untyped-def]
    return set(db.scalars(select(SafetyTerm.phrase)))


# ---- who may open them ----------------------------------------------------------------


@pytest.mark.parametrize("who", ["signed out", "family", "staff", "safety team member"])
def test_only_administrators_open_the_safety_pages(app, db, admin, who):
    client = app.test_client()
    if who != "signed out":
        user = factories.make_user(db) if who == "family" else factories.make_staff(db)
        if who == "safety team member":
            alerts.add_to_team(db, admin, user.id, now=utcnow())
            db.commit()
        Browser(client, app).sign_in(user.email)
    token = csrf_token(client, "/sign-in" if who == "signed out" else "/password")
    answered = {}
    for method, path in ROUTES:
        data = {"csrf_token": token, "user_id": str(admin.id), "phrase": "zorblax", "category": "violence"}
        response = client.open(path, method=method, data=data if method == "POST" else None)
        answered[method, path] = "sign-in" if redirects_to_sign_in(response) else response.status_code
    expected = "sign-in" if who == "signed out" else 403
    assert {route: answer for route, answer in answered.items() if answer != expected} == {}
    assert db.scalar(select(func.count()).select_from(SafetyTeamMember)) == (1 if who == "safety team member" else 0)
    assert terms_in_table(db) == set()


def test_the_admin_home_links_to_the_safety_page(as_admin):
    assert 'href="/admin/safety/"' in text(as_admin.get("/admin/"))


# ---- the team --------------------------------------------------------------------------


def test_a_staff_member_is_added_to_the_team_and_removed(as_admin, db, staff):
    page = text(as_admin.get(PAGE))
    assert "Nobody is on the safety team" in page and "after 15 minutes" in page
    assert f'<option value="{staff.id}">Robin Ortiz' in page

    added = as_admin.submit("/admin/safety/team", {"user_id": str(staff.id)}, page=PAGE)

    assert added.status_code == 302
    page = text(as_admin.get(PAGE))
    assert "Added to the safety team." in page and "Remove Robin Ortiz from the team" in page
    assert [user.id for user in alerts.team(db)] == [staff.id]

    removed = as_admin.submit(f"/admin/safety/team/{staff.id}/remove", {}, page=PAGE)

    assert removed.status_code == 302
    assert "Removed from the safety team." in text(as_admin.get(PAGE))
    assert db.scalar(select(SafetyTeamMember.id)) is None


def test_the_team_is_shown_in_order(as_admin, db, admin):
    first, second = factories.make_staff(db, name="Ada First"), factories.make_staff(db, name="Bo Second")
    for person in (second, first):
        alerts.add_to_team(db, admin, person.id, now=utcnow())
    db.commit()

    page = text(as_admin.get(PAGE))

    assert page.index("Bo Second") < page.index("Ada First") < page.index("Add to the safety team")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("family", "Choose an active staff member."),
        ("already", "is on the team already"),
        ("abc", "Choose one of"),
        (None, "Choose an active staff member."),
    ],
)
def test_a_person_who_cannot_join_is_refused_next_to_the_field(as_admin, db, admin, staff, value, message):
    alerts.add_to_team(db, admin, staff.id, now=utcnow())
    db.commit()
    user_id = {"family": str(factories.make_user(db).id), "already": str(staff.id)}.get(value, value)

    refused = as_admin.submit("/admin/safety/team", {} if user_id is None else {"user_id": user_id}, page=PAGE)

    assert refused.status_code == 200
    assert message in (field_error(text(refused), "user_id") or "")
    assert db.scalar(select(func.count()).select_from(SafetyTeamMember)) == 1


def test_removing_someone_not_on_the_team_says_so(as_admin, staff):
    refused = as_admin.submit(f"/admin/safety/team/{staff.id}/remove", {}, page=PAGE)

    assert refused.status_code == 302
    assert "That person is not on the safety team." in text(as_admin.get(PAGE))


# ---- the terms -------------------------------------------------------------------------


def test_the_built_in_terms_are_listed_by_category_until_the_first_change(as_admin, db):
    page = text(as_admin.get(PAGE))

    assert "This is the built-in list" in page
    suicide = page.split('id="terms-suicide"')[1].split("<h3")[0]
    assert "suicid*" in suicide and 'aria-label="Remove “suicid*”"' in suicide
    assert "killer whale" in page.split('id="terms-benign"')[1]
    assert terms_in_table(db) == set()


def test_an_added_term_flags_the_next_request_and_a_removed_one_no_longer_does(as_admin, app, db, guardian, transport):
    words = "Hubo una pelea despues de clase"
    assert not flagged(app, guardian, transport, words)

    added = as_admin.submit("/admin/safety/terms", {"phrase": "pelea después", "category": "violence"}, page=PAGE)

    assert added.status_code == 302
    page = text(as_admin.get(PAGE))
    assert "“pelea después” is on the list." in page and "the district's own list" in page
    assert "pelea después" in page.split('id="terms-violence"')[1].split("<h3")[0]
    assert flagged(app, guardian, transport, words)  # accents and case ignored

    removed = as_admin.submit("/admin/safety/terms/remove", {"phrase": "pelea después"}, page=PAGE)

    assert removed.status_code == 302
    assert "“pelea después” is no longer on the list." in text(as_admin.get(PAGE))
    assert "pelea después" not in terms_in_table(db)
    assert not flagged(app, guardian, transport, words)


def test_a_built_in_term_removed_no_longer_flags(as_admin, app, db, guardian, transport):
    words = "She said she keeps cutting herself"
    assert flagged(app, guardian, transport, words)

    removed = as_admin.submit("/admin/safety/terms/remove", {"phrase": "cutting herself"}, page=PAGE)

    assert removed.status_code == 302
    assert "cutting herself" not in terms_in_table(db) and "suicid*" in terms_in_table(db)
    assert not flagged(app, guardian, transport, words)


def test_an_everyday_phrase_is_added_and_no_longer_alerts(as_admin, app, db, guardian, transport):
    words = "Please bring a caulking gun for shop class"
    assert flagged(app, guardian, transport, words)

    added = as_admin.submit("/admin/safety/terms", {"phrase": "caulking gun", "category": "benign"}, page=PAGE)

    assert added.status_code == 302
    assert "caulking gun" in text(as_admin.get(PAGE)).split('id="terms-benign"')[1]
    assert db.scalar(select(SafetyTerm.is_benign).where(SafetyTerm.phrase == "caulking gun"))
    assert not flagged(app, guardian, transport, words)


@pytest.mark.parametrize(
    ("phrase", "message"),
    [
        ("su*", "at least three of them before a *"),
        ("", "Enter a word or phrase."),
        ("   ", "Enter a word or phrase."),
        ("suicid*", "This phrase is on the list already."),
        ("SUICID*", "This phrase is on the list already."),
        ('"><img src=x onerror=alert(1)>su*', "Use letters"),
    ],
)
def test_a_refused_term_is_explained_next_to_the_field_with_what_was_typed_kept(as_admin, db, phrase, message):
    refused = as_admin.submit("/admin/safety/terms", {"phrase": phrase, "category": "weapons"}, page=PAGE)

    assert refused.status_code == 200
    page = text(refused)
    assert message in (field_error(page, "phrase") or "")
    assert input_value(page, "phrase") == str(escape(phrase))
    assert '<option selected value="weapons">' in page
    assert "<img src=x" not in page
    assert terms_in_table(db) == set()  # the built-in list is still the one in force


def test_a_ten_thousand_character_phrase_is_refused(as_admin, db):
    refused = as_admin.submit("/admin/safety/terms", {"phrase": "a" * 10_000, "category": "abuse"}, page=PAGE)

    assert refused.status_code == 200
    assert "120" in (field_error(text(refused), "phrase") or "")
    assert terms_in_table(db) == set()


def test_a_category_not_on_the_list_is_refused(as_admin, db):
    refused = as_admin.submit("/admin/safety/terms", {"phrase": "zorblax", "category": "nonsense"}, page=PAGE)

    assert refused.status_code == 200
    assert field_error(text(refused), "category") == "Choose what the term is about."
    assert terms_in_table(db) == set()


@pytest.mark.parametrize("phrase", ["not a term at all", "", "Ana\x00Lee", "x" * 5_000])
def test_removing_a_phrase_not_on_the_list_says_so(as_admin, db, phrase):
    refused = as_admin.submit("/admin/safety/terms/remove", {"phrase": phrase}, page=PAGE)

    assert refused.status_code == 302
    assert "That phrase is not on the list." in text(as_admin.get(PAGE))
    assert terms_in_table(db) == set()


def test_a_phrase_with_markup_is_shown_escaped(as_admin, db):
    # Only letters count as words ("script alert 1 script"); the rest is shown as typed, escaped.
    phrase = "<script>alert(1)</script>"

    added = as_admin.submit("/admin/safety/terms", {"phrase": phrase, "category": "weapons"}, page=PAGE)

    assert added.status_code == 302
    page = text(as_admin.get(PAGE))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and phrase not in page
    assert phrase in terms_in_table(db)
    removed = as_admin.submit("/admin/safety/terms/remove", {"phrase": phrase}, page=PAGE)
    assert removed.status_code == 302 and phrase not in terms_in_table(db)


# ---- the log ---------------------------------------------------------------------------


@pytest.fixture
def acknowledged(app, db, admin, guardian, transport) -> SafetyAlert:  # type: ignore[no-untyped-def]
    """An alert the administrator acknowledged 7 minutes after it was raised."""
    assert flagged(app, guardian, transport, "My son says he wants to die.")
    alert = db.scalars(select(SafetyAlert)).one()
    alerts.acknowledge(db, admin, alert.id, now=alert.created_at + timedelta(minutes=7, seconds=20))
    db.commit()
    return alert


def test_the_log_shows_how_quickly_an_alert_was_acknowledged(as_admin, acknowledged, admin):
    page = text(as_admin.get("/admin/safety/log"))

    assert f'href="/staff/safety/{acknowledged.id}"' in page
    assert "Time to acknowledge</dt><dd>7 minutes</dd>" in page
    assert f"Acknowledged by</dt><dd>{admin.display_name}</dd>" in page
    assert "suicide" in page and acknowledged.term in page


def test_the_log_csv_has_its_header_and_a_row_per_alert(as_admin, acknowledged, admin):
    response = as_admin.get("/admin/safety/log.csv")

    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="safety-alerts-')
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == LOG_HEADER
    assert len(rows) == 2
    row = dict(zip(LOG_HEADER, rows[1], strict=True))
    assert row["alert_id"] == str(acknowledged.id) and row["category"] == "suicide"
    assert row["seconds_to_acknowledge"] == "440"
    assert row["acknowledged_by"] == admin.display_name
    assert row["flagged_at"].endswith("+00:00") and row["acknowledged_at"].endswith("+00:00")
    assert row["cleared_at"] == "" and row["clear_reason"] == ""


def test_a_clear_reason_that_looks_like_a_formula_is_neutralised_in_the_csv(as_admin, db, admin, acknowledged):
    alerts.clear(db, admin, acknowledged.id, '=HYPERLINK("http://evil.example","x")', now=utcnow())
    db.commit()

    rows = list(csv.reader(io.StringIO(as_admin.get("/admin/safety/log.csv").get_data(as_text=True))))

    assert rows[1][LOG_HEADER.index("clear_reason")] == '\'=HYPERLINK("http://evil.example","x")'
    page = text(as_admin.get("/admin/safety/log"))
    assert 'Reason</dt><dd class="break">=HYPERLINK(&#34;http://evil.example&#34;,&#34;x&#34;)</dd>' in page


def test_the_log_is_paged(as_admin, app, db, guardian, transport):
    for number in range(app.config["PAGE_SIZE"] + 1):
        assert flagged(app, guardian, transport, f"There is a gun in locker {number}")

    first = text(as_admin.get("/admin/safety/log"))
    second = text(as_admin.get("/admin/safety/log?page=2"))

    assert 'rel="next"' in first and "Page 2 of 2" in second
    assert first.count('class="card"') == app.config["PAGE_SIZE"] and second.count('class="card"') == 1
    assert as_admin.get("/admin/safety/log?page=%D9%A1").status_code == 200
