"""The metrics page and its CSV downloads (issue #18): who may open them, what a bad
query string gets (never a 5xx), and that the page shows exactly the query layer's
figures for a small scene.

The scene: Transportation (A) and Counselling (B), each with a lead; Robin works in A
but leads nothing; the Alvarez family asked A twice (one answered, resolved and rated
with a comment) and B once; feedback went to A. Counselling's name carries markup and a
spreadsheet formula, so escaping and the CSV guard are checked on real rows.
"""

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from portal.blueprints.metrics import tables
from portal.db import utcnow
from portal.models import DepartmentMember, RequestStatus, School, User
from portal.services import feedback, metrics, requests
from portal.services.calendar import district_calendar
from tests import factories
from tests.conftest import Browser
from tests.web.support import HOSTILE_SCRIPT, redirects_to_sign_in
from tests.web.test_query_budgets import statements_sent

PAGE = "/staff/metrics/"
COUNSELLING = '=HYPERLINK("x") <b>Counselling</b>'
COMMENT = "=1+1 <script>alert(1)</script> quick and kind"


@dataclass
class Scene:
    department_a: int
    department_b: int
    school: School
    lead_a: User
    lead_b: User
    robin: User  # staff of A, leads nothing
    guardian: User
    admin: User


def earlier_today(now: datetime, zone: ZoneInfo, *, hours: int) -> datetime:
    """`hours` before `now`, but not before the district's last midnight: a time inside
    every named period, whose first day may have begun minutes ago (a week on Monday, a
    school year on 1 July). Two hours before a Monday 00:25 was last week's Sunday."""
    midnight = datetime.combine(now.astimezone(zone).date(), time(), tzinfo=zone)
    return max(now - timedelta(hours=hours), midnight.astimezone(UTC))


@pytest.mark.parametrize(
    "local",
    [
        datetime(2026, 12, 7, 0, 25),  # a Monday, the week minutes old
        datetime(2026, 12, 7, 1, 59, 59),
        datetime(2026, 12, 7, 2, 0, 1),
        datetime(2026, 7, 1, 0, 0),  # the school year's first instant
        datetime(2027, 1, 1, 0, 10),
        datetime(2026, 3, 8, 3, 30),  # an hour after the clocks went forward
        datetime(2026, 11, 1, 1, 30),  # the hour the clocks go back
    ],
)
@pytest.mark.parametrize("zone_name", ["America/Los_Angeles", "Pacific/Kiritimati", "UTC"])
def test_the_scenes_time_is_inside_every_named_period_of_its_day(local, zone_name):
    zone = ZoneInfo(zone_name)
    now = local.replace(tzinfo=zone).astimezone(UTC)
    today = now.astimezone(zone).date()
    for hours in (1, 2):
        earlier = earlier_today(now, zone, hours=hours)
        assert earlier <= now and earlier.astimezone(zone).date() == today
        for name in ("week", "30days", "year"):
            period = metrics.named_period(name, today=today)
            assert period.start <= earlier.astimezone(zone).date() <= period.end


@pytest.fixture
def scene(app: Flask, db) -> Scene:  # type: ignore[no-untyped-def]
    now = earlier_today(utcnow(), ZoneInfo(district_calendar.current_time_zone(db)), hours=2)
    transport = factories.make_department(db, "Transportation")
    counselling = factories.make_department(db, COUNSELLING)
    lead_a, lead_b = factories.make_staff(db, name="Lee Lead"), factories.make_staff(db, name="Bo Lead")
    robin = factories.make_staff(db, name="Robin Ortiz")
    factories.join(db, lead_a, transport, supervisor=True)
    factories.join(db, lead_b, counselling, supervisor=True)
    factories.join(db, robin, transport)
    school = factories.make_school(db, name="Lincoln Elementary")
    household = factories.make_household(db, name="Alvarez family", school=school)
    guardian = factories.guardians_of(db, household)[0]
    calendar = district_calendar.current(db)

    def ask(department_id: int, subject: str):  # type: ignore[no-untyped-def]
        new = requests.NewRequest(department_id=department_id, subject=subject, body="Please help.")
        return requests.submit_request(db, guardian, new, calendar=calendar, now=now)[0]

    answered = ask(transport.id, "Bus stop change")
    requests.reply_as_staff(db, lead_a, answered, "The stop at Elm Street.", internal=False, now=now)
    requests.change_status(db, lead_a, answered, RequestStatus.RESOLVED, now=now, secret_key=app.config["SECRET_KEY"])
    requests.rate(db, answered, 5, COMMENT, resolution_number=answered.resolution_count, rated_by=guardian, now=now)
    ask(transport.id, "Late bus")
    ask(counselling.id, "Worried about my son")
    new = feedback.NewFeedback("concern", transport.id, school_id=school.id, rating=2, body="The bus was late.")
    feedback.submit_from_family(db, guardian, new, now=now)
    db.commit()
    return Scene(
        transport.id, counselling.id, school, lead_a, lead_b, robin, guardian, factories.make_admin(db, name="Ada")
    )


def _signed_in(app: Flask, user: User) -> Browser:
    """`user` signed in on a client of their own, beside the `sign_in` fixture's."""
    browser = Browser(app.test_client(), app)
    browser.sign_in(user.email)
    return browser


# --- who may open it -------------------------------------------------------------


@pytest.mark.parametrize("path", [PAGE, "/staff/metrics/requests.csv"])
def test_anyone_signed_out_is_sent_to_sign_in(client, scene, path):
    assert redirects_to_sign_in(client.get(path))


@pytest.mark.parametrize("path", [PAGE, "/staff/metrics/requests.csv"])
@pytest.mark.parametrize("who", ["guardian", "robin"])
def test_families_and_staff_who_lead_nothing_are_refused(scene, sign_in, who, path):
    """A family is refused as on every staff page (403); so is staff who lead no department."""
    browser = sign_in(getattr(scene, who))
    assert browser.get(path).status_code == 403


@pytest.mark.parametrize("path", [PAGE, "/staff/metrics/requests.csv"])
def test_a_lead_opens_their_department_and_not_another(scene, sign_in, path):
    lee = sign_in(scene.lead_a)
    assert lee.get(path).status_code == 200
    assert lee.get(f"{path}?department={scene.department_a}").status_code == 200
    assert lee.get(f"{path}?department={scene.department_b}").status_code == 404
    assert lee.get(f"{path}?department=999999").status_code == 404


def test_a_leads_page_names_only_their_departments(scene, sign_in):
    body = sign_in(scene.lead_a).get(PAGE).get_data(as_text=True)
    assert "Metrics: All my departments" in body
    assert "Transportation" in body
    assert "Counselling" not in body
    assert 'name="school"' not in body  # a lead's figures are their departments', whatever the school
    assert "Workload and first replies by staff member" in body


def test_a_lead_asking_for_a_school_gets_their_departments_figures(scene, sign_in):
    lee = sign_in(scene.lead_a)
    response = lee.get(f"{PAGE}?school={scene.school.id}")
    assert response.status_code == 200
    assert "Lincoln Elementary</h1>" not in response.get_data(as_text=True)


def test_an_administrator_sees_all_one_department_or_one_school(scene, sign_in):
    ada = sign_in(scene.admin)
    whole = ada.get(PAGE).get_data(as_text=True)
    assert "Metrics: All departments" in whole
    assert 'name="school"' in whole
    for query in (f"department={scene.department_b}", f"school={scene.school.id}", f"department={scene.department_a}"):
        assert ada.get(f"{PAGE}?{query}").status_code == 200, query
    assert "Metrics: Transportation, Lincoln Elementary" in ada.get(
        f"{PAGE}?department={scene.department_a}&school={scene.school.id}"
    ).get_data(as_text=True)
    assert ada.get(f"{PAGE}?department=999999").status_code == 404
    assert ada.get("/staff/metrics/requests.csv?department=999999").status_code == 404


def test_an_unknown_table_is_not_found(scene, sign_in):
    ada = sign_in(scene.admin)
    for key in ("nothing", "requests.csv", "..", "REQUESTS"):
        assert ada.get(f"/staff/metrics/{key}.csv").status_code == 404


# --- the period ------------------------------------------------------------------------


def _page(browser: Browser, query: str) -> str:
    response = browser.get(f"{PAGE}?{query}")
    assert response.status_code == 200, query
    return response.get_data(as_text=True)


def _error_of(body: str, field: str) -> str:
    match = re.search(rf'id="{field}-error"><span class="visually-hidden">[^<]*</span>([^<]*)</p>', body)
    return match.group(1) if match else ""


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("period=custom&start=2026-03-01&end=2026-02-01", "end", "The last day cannot be before the first day."),
        ("period=custom&start=2020-01-01&end=2026-01-01", "end", "Choose a range of two years at most."),
        ("period=custom&end=2026-01-01", "start", "Enter the first day, or choose another period."),
        ("period=custom&start=2026-01-01", "end", "Enter the last day, or choose another period."),
        ("period=custom&start=2026-02-30&end=2026-03-01", "start", "Not a valid date value."),
        ("period=custom&start=1899-12-31&end=2026-03-01", "start", "Enter a date between the years 1900 and 2999."),
        ("period=custom&start=2026-01-01&end=9999-12-31", "end", "Enter a date between the years 1900 and 2999."),
        ("period=forever", "period", "Not a valid choice."),
    ],
)
def test_a_bad_range_is_explained_next_to_its_field_and_the_rest_kept(scene, sign_in, query, field, message):
    body = _page(sign_in(scene.admin), f"{query}&department={scene.department_a}")
    assert _error_of(body, field) == message
    assert f'<option selected value="{scene.department_a}">' in body  # the other choices kept
    assert "Previous period:" in body  # the last 30 days are shown meanwhile


def test_a_custom_range_is_shown_beside_the_equal_range_before_it(scene, sign_in):
    body = _page(sign_in(scene.admin), "period=custom&start=2026-03-02&end=2026-03-08")
    assert "This period: Mar 2, 2026 to Mar 8, 2026. Previous period: Feb 23, 2026 to Mar 1, 2026." in body
    assert 'value="2026-03-02"' in body


@pytest.mark.parametrize("period", ["week", "30days", "year"])
def test_each_named_period_opens(scene, sign_in, period):
    body = _page(sign_in(scene.lead_a), f"period={period}")
    assert f'<option selected value="{period}">' in body


HOSTILE = [
    HOSTILE_SCRIPT,
    '"><img src=x onerror=alert(1)>',
    "9" * 40,
    str(2**31),
    str(2**63),
    "-1",
    "١٢٣",
    "9999-12-31",
    "0000-00-00",
    "x" * 5000,
    "Ana\x00Lee",
    "%FF",
]


@pytest.mark.parametrize("name", ["period", "start", "end", "school", "department", "page", "key"])
@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_a_hostile_query_string_never_gets_a_5xx(scene, sign_in, name, value):
    ada = sign_in(scene.admin)
    for path in (PAGE, "/staff/metrics/requests.csv"):
        response = ada.get(path, query_string={name: value, "period": "custom"} if name != "period" else {name: value})
        # A department id that is a number but no department is a 404, like any other.
        assert response.status_code in ((200, 404) if name == "department" else (200,)), (path, name, value)
        assert HOSTILE_SCRIPT not in response.get_data(as_text=True)


# --- what the page shows ------------------------------------------------------------------


class TableReader(HTMLParser):
    """Every <table> of a page by id: its rows of cell texts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self._table: list[list[str]] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = self.tables.setdefault(dict(attrs).get("id") or "", [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self._table[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None


def _tables_of(body: str) -> dict[str, list[list[str]]]:
    reader = TableReader()
    reader.feed(body)
    return reader.tables


def _expected(app: Flask, db, viewer: User, **choice: Any) -> dict[str, list[list[str]]]:  # type: ignore[no-untyped-def]
    """The query layer's own figures for what the page shows, worded as the page words them."""
    with app.test_request_context():
        now = utcnow()
        today = now.astimezone(ZoneInfo(district_calendar.current_time_zone(db))).date()
        scope = metrics.metrics_scope_for(db, viewer, **choice)
        assert scope is not None
        board = metrics.dashboard(db, scope, metrics.named_period("30days", today=today), now=now)
        return {
            f"table-{table.key}": [
                list(table.columns),
                *([tables.shown(cell) for cell in row] for row in table.rows),
            ]
            for table in tables.build(board).all()
            if table.key != "comments"
        }


@pytest.mark.parametrize("who", ["lead_a", "admin"])
def test_the_page_shows_exactly_the_query_layers_figures(app, db, scene, sign_in, who):
    viewer = getattr(scene, who)
    shown = _tables_of(_page(sign_in(viewer), ""))
    expected = _expected(app, db, viewer)
    for key, rows in expected.items():
        if len(rows) == 1:  # an empty table says so in one cell
            rows = [rows[0], ["Nothing in this period."]]
        assert shown[key] == rows, key
    assert set(shown) == set(expected)


def test_the_figures_of_the_scene_are_the_ones_counted_by_hand(app, scene, sign_in):
    lee = _tables_of(_page(sign_in(scene.lead_a), ""))
    assert lee["table-requests"][1][:2] == ["Received", "2"]  # A's two requests, not B's
    assert lee["table-requests"][2][:2] == ["Resolved", "1"]
    assert lee["table-first-reply"][1][:2] == ["Answered", "1"]
    assert lee["table-satisfaction"][2][:2] == ["Ratings received", "1"]
    assert lee["table-satisfaction"][4][:2] == ["Mean rating (1 to 5)", "5.0"]
    assert lee["table-feedback"][1][:2] == ["Received", "1"]
    ada = _tables_of(_page(_signed_in(app, scene.admin), ""))
    assert ada["table-requests"][1][:2] == ["Received", "3"]


def test_comments_and_names_are_escaped(scene, sign_in):
    body = _page(sign_in(scene.admin), "")
    assert "<script>alert(1)</script>" not in body
    assert "<b>Counselling</b>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; quick and kind" in body
    assert "&lt;b&gt;Counselling&lt;/b&gt;" in body


def test_the_page_says_how_fresh_and_whose_the_figures_are(scene, sign_in):
    body = _page(sign_in(scene.lead_a), "")
    assert "Figures as of" in body
    assert "A request counts toward the department that answered it" in body
    assert body.count('role="img"') >= 7
    assert "style=" not in body.split("<main", 1)[1]


# --- the downloads ---------------------------------------------------------------------------


def _csv(browser: Browser, path: str) -> list[list[str]]:
    response = browser.get(path)
    assert response.status_code == 200, path
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="metrics-')
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).removeprefix("\ufeff"))))


def test_every_table_on_the_page_downloads(scene, sign_in):
    ada = sign_in(scene.admin)
    body = _page(ada, "period=week")
    links = sorted(set(re.findall(r'href="(/staff/metrics/[a-z-]+\.csv[^"]*)"', body)))
    keys = {re.sub(r"\.csv.*", "", link.removeprefix("/staff/metrics/")) for link in links}
    assert keys == {key.removeprefix("table-") for key in _tables_of(body)} | {"comments"}
    for link in links:
        assert "period=week" in link
        assert _csv(ada, link.replace("&amp;", "&"))[0]


def test_a_comparison_downloads_with_units_and_both_periods(scene, sign_in):
    rows = _csv(sign_in(scene.lead_a), "/staff/metrics/first-reply.csv?period=custom&start=2026-03-02&end=2026-03-08")
    assert rows[0] == ["Figure", "Unit", "2026-03-02 to 2026-03-08", "2026-02-23 to 2026-03-01", "Change"]
    assert rows[1][:2] == ["Answered", "count"]
    assert rows[2][:2] == ["Median", "business seconds"]


def test_a_download_guards_against_spreadsheet_formulas(scene, sign_in):
    ada = sign_in(scene.admin)
    comments = _csv(ada, "/staff/metrics/comments.csv")
    assert comments[1][4] == "'" + COMMENT
    topics = _csv(ada, "/staff/metrics/requests.csv")
    assert topics[1][0] == "Received"
    staff = _csv(ada, "/staff/metrics/staff.csv")
    assert staff[0] == ["Staff member", "Open, assigned", "Replies sent", "First replies", "Median first reply"]


def test_a_leads_download_holds_only_their_departments(app, scene, sign_in):
    rows = _csv(sign_in(scene.lead_a), "/staff/metrics/requests.csv")
    assert rows[1][:3] == ["Received", "count", "2"]
    bo = _signed_in(app, scene.lead_b)
    assert bo.get(f"/staff/metrics/requests.csv?department={scene.department_a}").status_code == 404


# --- speed ------------------------------------------------------------------------------------


def _more_of_everything(app: Flask, db, scene: Scene, round_: int) -> None:  # type: ignore[no-untyped-def]
    """Requests answered by other staff, ratings with comments, feedback from another school."""
    now = earlier_today(utcnow(), ZoneInfo(district_calendar.current_time_zone(db)), hours=1)
    school = factories.make_school(db, name=f"School {round_}")
    for number in range(4):
        helper = factories.make_staff(db, name=f"Helper {round_}-{number}")
        db.add(DepartmentMember(department_id=scene.department_a, user_id=helper.id))
        new = requests.NewRequest(department_id=scene.department_a, subject=f"Question {number}", body="Help.")
        asked = requests.submit_request(db, scene.guardian, new, now=now)[0]
        requests.reply_as_staff(db, helper, asked, "Answered.", internal=False, now=now)
        requests.change_status(db, helper, asked, RequestStatus.RESOLVED, now=now, secret_key=app.config["SECRET_KEY"])
        requests.rate(db, asked, 3, f"Comment {number}", resolution_number=1, rated_by=scene.guardian, now=now)
        sent = feedback.NewFeedback("question", scene.department_a, school_id=school.id, rating=4, body="Fine.")
        feedback.submit_from_family(db, scene.guardian, sent, now=now)
    db.commit()


@pytest.mark.parametrize("who", ["lead_a", "admin"])
def test_the_page_sends_as_many_statements_for_many_rows_as_for_few(app, db, scene, who):
    """No statement per row (department, staff member, comment, school): counts, not times."""
    viewer = _signed_in(app, getattr(scene, who))
    counts = []
    for round_ in (1, 2):
        with statements_sent(app) as sent:
            assert viewer.get(PAGE).status_code == 200
        counts.append(len(sent))
        _more_of_everything(app, db, scene, round_)
    assert counts[0] == counts[1], counts
