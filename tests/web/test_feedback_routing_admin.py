"""Administrators route "not sure" feedback: keyword rules that propose a department, and
the triage group whose members sort what no rule matches."""

import html
import re

import pytest
from sqlalchemy import func, select

from portal.models import Department, DepartmentMember, DistrictSetting, Feedback, Routing, RoutingRule
from tests import factories
from tests.conftest import Browser
from tests.web.support import field_error, input_value, location, redirects_to_sign_in, submit, text

PAGE = "/admin/feedback-routing"
SUBMISSION_KEY = re.compile(r'name="submission_key" type="hidden" value="([^"]+)"')
REFERENCE_LINK = re.compile(r'<a href="/staff/feedback/\d+">\w+ (F-\d{6})</a>')


# --- setting the scene ------------------------------------------------------


@pytest.fixture
def nutrition(db) -> Department:  # type: ignore[no-untyped-def]
    return factories.make_department(db, "Nutrition Services")


@pytest.fixture
def admin(db, sign_in) -> Browser:  # type: ignore[no-untyped-def]
    return sign_in(factories.make_admin(db, name="Alex Admin"))


def browser_for(app, user) -> Browser:  # type: ignore[no-untyped-def]
    browser = Browser(app.test_client(), app)
    browser.sign_in(user.email)
    return browser


def count(db, model, *where) -> int:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model).where(*where))


def rules(db) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    db.expire_all()
    return [(rule.department_id, rule.keywords) for rule in db.scalars(select(RoutingRule).order_by(RoutingRule.id))]


def triage_department_id(db) -> int | None:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.scalar(select(DistrictSetting.triage_department_id))


def add_rule(browser: Browser, department_id: object, keywords: str):  # type: ignore[no-untyped-def]
    return browser.submit(f"{PAGE}/rules", {"department_id": department_id, "keywords": keywords}, page=PAGE)


def send_not_sure(family: Browser, body: str) -> None:
    """A family sends "not sure" feedback through the form (read it back with latest_feedback)."""
    page = text(family.get("/feedback/new"))
    response = family.submit(
        "/feedback/new",
        {
            "submission_key": SUBMISSION_KEY.search(page).group(1),  # type: ignore[union-attr]
            "kind": "concern",
            "department_id": 0,
            "school_id": 0,
            "body": body,
        },
    )
    assert response.status_code == 200 and "Its reference is" in text(response)


def latest_feedback(db) -> Feedback:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.scalars(select(Feedback).order_by(Feedback.id.desc())).first()


# --- the page ---------------------------------------------------------------


def test_the_routing_page_lists_the_rules_and_offers_the_triage_group(db, admin, transport, nutrition):
    db.add(RoutingRule(department_id=transport.id, keywords="bus, bus stop, driver"))
    db.commit()
    page = html.unescape(text(admin.get(PAGE)))
    assert "Feedback routing" in page
    assert "<td>Transportation</td>" in page
    assert "<td>bus, bus stop, driver</td>" in page
    assert "Remove the rule for Transportation" in page
    assert "None: administrators sort it" in page
    assert f'<option value="{nutrition.id}">Nutrition Services</option>' in page


def test_the_routing_page_says_when_there_are_no_rules(admin):
    assert "No rules yet: every “not sure” feedback goes to the triage group." in html.unescape(text(admin.get(PAGE)))


# --- keyword rules ----------------------------------------------------------


def test_an_admin_adds_a_rule_and_not_sure_feedback_with_those_words_goes_to_that_department(
    app, db, admin, guardian, transport, nutrition
):
    response = add_rule(admin, transport.id, "  bus stop ,driver,  , autobús ")
    assert response.status_code == 302
    assert location(response).endswith(PAGE)
    page = html.unescape(text(admin.get(location(response))))
    assert "Routing rule added." in page
    assert "<td>bus stop, driver, autobús</td>" in page
    assert rules(db) == [(transport.id, "bus stop, driver, autobús")]

    family = browser_for(app, guardian)
    send_not_sure(family, "The DRIVER did not stop at our Bus Stop this morning.")
    routed = latest_feedback(db)
    assert (routed.department_id, routed.routing) == (transport.id, Routing.RULE)
    send_not_sure(family, "¿A qué hora pasa el autobus por la mañana?")
    assert latest_feedback(db).department_id == transport.id
    send_not_sure(family, "The lunch menu has no vegetarian option.")
    unmatched = latest_feedback(db)
    assert (unmatched.department_id, unmatched.routing) == (None, Routing.TRIAGE)


def test_feedback_routed_by_a_rule_says_so_to_staff(app, db, admin, guardian, transport):
    add_rule(admin, transport.id, "bus")
    send_not_sure(browser_for(app, guardian), "The bus was late again today.")
    routed = latest_feedback(db)
    staff = factories.make_staff(db, name="Robin Ortiz")
    db.add(DepartmentMember(department_id=transport.id, user_id=staff.id))
    db.commit()
    desk = browser_for(app, staff)
    assert REFERENCE_LINK.findall(text(desk.get("/staff/feedback/"))) == [routed.reference]
    assert "(proposed by a routing rule)" in html.unescape(text(desk.get(f"/staff/feedback/{routed.id}")))


def test_a_chosen_department_is_kept_whatever_the_rules_say(app, db, admin, guardian, transport, nutrition):
    add_rule(admin, transport.id, "bus")
    family = browser_for(app, guardian)
    page = text(family.get("/feedback/new"))
    family.submit(
        "/feedback/new",
        {
            "submission_key": SUBMISSION_KEY.search(page).group(1),  # type: ignore[union-attr]
            "kind": "concern",
            "department_id": nutrition.id,
            "school_id": 0,
            "body": "Lunch on the bus trip was cold.",
        },
    )
    chosen = latest_feedback(db)
    assert (chosen.department_id, chosen.routing) == (nutrition.id, Routing.CHOSEN)


def test_an_admin_removes_a_rule_and_its_words_no_longer_route(app, db, admin, guardian, transport):
    add_rule(admin, transport.id, "bus")
    rule = db.scalar(select(RoutingRule))
    response = admin.submit(f"{PAGE}/rules/{rule.id}/remove", {}, page=PAGE)
    assert response.status_code == 302
    assert location(response).endswith(PAGE)
    page = html.unescape(text(admin.get(location(response))))
    assert "Routing rule removed." in page
    assert "Remove the rule for Transportation" not in page
    assert rules(db) == []
    send_not_sure(browser_for(app, guardian), "The bus was late again today.")
    assert latest_feedback(db).department_id is None


def test_removing_a_rule_that_does_not_exist_is_404(db, admin):
    response = admin.submit(f"{PAGE}/rules/987654/remove", {}, page=PAGE)
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ("", "Write at least one word, like “bus, stop, driver”."),
        ("   ", "Write at least one word, like “bus, stop, driver”."),
        (" , ,, ", "Write at least one word, like “bus, stop, driver”."),
        ("bus\x07, stop", "Remove the invisible control characters from this field."),
        ("x" * 1001, "Field cannot be longer than 1000 characters."),
    ],
)
def test_keywords_that_cannot_be_saved_get_an_error_next_to_the_field_and_the_department_is_kept(
    db, admin, transport, nutrition, keywords, message
):
    response = add_rule(admin, nutrition.id, keywords)
    assert response.status_code == 200
    page = text(response)
    assert html.unescape(field_error(page, "keywords") or "") == message
    assert f'<option selected value="{nutrition.id}">Nutrition Services</option>' in page
    assert rules(db) == []


def test_keywords_are_kept_in_the_form_when_the_department_is_refused(db, admin, transport):
    response = add_rule(admin, 987654, "bus, driver")
    assert response.status_code == 200
    page = text(response)
    assert field_error(page, "department_id") == "Choose a department from the list."
    assert input_value(page, "keywords") == "bus, driver"
    assert rules(db) == []


@pytest.mark.parametrize("value", ["transport", "", "1.5", "9" * 25, "-1"])
def test_a_department_not_in_the_list_gets_an_error_next_to_the_field_never_a_500(db, admin, transport, value):
    response = add_rule(admin, value, "bus")
    assert response.status_code == 200
    assert field_error(text(response), "department_id")
    assert rules(db) == []


def test_a_script_in_the_keywords_is_shown_as_text(db, admin, transport):
    add_rule(admin, transport.id, "<script>alert(1)</script>")
    page = text(admin.get(PAGE))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# --- the triage group -------------------------------------------------------


def test_an_admin_chooses_the_triage_group_whose_members_then_see_unrouted_feedback(
    app, db, admin, guardian, transport, nutrition
):
    sorter = factories.make_staff(db, name="Sam Sorter")
    db.add(DepartmentMember(department_id=nutrition.id, user_id=sorter.id))
    db.commit()
    send_not_sure(browser_for(app, guardian), "Who do I ask about the winter concert?")
    unrouted = latest_feedback(db)
    desk = browser_for(app, sorter)
    assert REFERENCE_LINK.findall(text(desk.get("/staff/feedback/"))) == []

    response = admin.submit(f"{PAGE}/triage", {"department_id": nutrition.id})
    assert response.status_code == 302
    assert location(response).endswith(PAGE)
    page = text(admin.get(location(response)))
    assert "Triage group saved." in page
    assert f'<option selected value="{nutrition.id}">Nutrition Services</option>' in page
    assert triage_department_id(db) == nutrition.id
    assert REFERENCE_LINK.findall(text(desk.get("/staff/feedback/"))) == [unrouted.reference]
    assert desk.get(f"/staff/feedback/{unrouted.id}").status_code == 200

    admin.submit(f"{PAGE}/triage", {"department_id": 0})
    assert triage_department_id(db) is None
    assert REFERENCE_LINK.findall(text(desk.get("/staff/feedback/"))) == []
    assert desk.get(f"/staff/feedback/{unrouted.id}").status_code == 404


@pytest.mark.parametrize("value", ["987654", "nutrition", "9" * 25])
def test_a_triage_group_not_in_the_list_gets_an_error_next_to_the_field(db, admin, transport, value):
    response = admin.submit(f"{PAGE}/triage", {"department_id": value})
    assert response.status_code == 200
    assert field_error(text(response), "department_id")
    assert triage_department_id(db) is None


# --- who may route feedback -------------------------------------------------

ROUTING_POSTS = [
    ("/rules", {"department_id": "{department}", "keywords": "bus"}),
    ("/rules/{rule}/remove", {}),
    ("/triage", {"department_id": "{department}"}),
]


def fill(data: dict[str, str], department: Department) -> dict[str, str]:
    return {key: value.format(department=department.id) for key, value in data.items()}


@pytest.fixture
def rule(db, transport) -> RoutingRule:  # type: ignore[no-untyped-def]
    made = RoutingRule(department_id=transport.id, keywords="bus")
    db.add(made)
    db.commit()
    return made


@pytest.mark.parametrize("who", ["staff", "family"])
def test_staff_and_families_get_403_on_the_routing_page(db, sign_in, transport, who):
    user = factories.make_staff(db) if who == "staff" else factories.guardians_of(db, factories.make_household(db))[0]
    assert sign_in(user).get(PAGE).status_code == 403


@pytest.mark.parametrize("who", ["staff", "family"])
@pytest.mark.parametrize(("path", "data"), ROUTING_POSTS)
def test_staff_and_families_get_403_posting_to_the_routing_routes_and_change_nothing(
    db, sign_in, transport, rule, who, path, data
):
    if who == "staff":
        user = factories.make_staff(db)
        db.add(DepartmentMember(department_id=transport.id, user_id=user.id, is_supervisor=True))
        db.commit()
        page = "/staff/feedback/"
    else:
        user = factories.guardians_of(db, factories.make_household(db))[0]
        page = "/feedback/"
    browser = sign_in(user)
    response = browser.submit(PAGE + path.format(rule=rule.id), fill(data, transport), page=page)
    assert response.status_code == 403
    assert rules(db) == [(transport.id, "bus")]
    assert triage_department_id(db) is None


def test_an_anonymous_visitor_is_sent_to_sign_in_for_the_routing_page(client):
    assert redirects_to_sign_in(client.get(PAGE))


@pytest.mark.parametrize(("path", "data"), ROUTING_POSTS)
def test_an_anonymous_post_to_a_routing_route_is_sent_to_sign_in(db, client, transport, rule, path, data):
    response = submit(client, PAGE + path.format(rule=rule.id), fill(data, transport), page="/sign-in")
    assert redirects_to_sign_in(response)
    assert rules(db) == [(transport.id, "bus")]


@pytest.mark.parametrize(("path", "data"), ROUTING_POSTS)
def test_a_routing_post_without_its_csrf_token_is_refused(db, admin, transport, rule, path, data):
    response = admin.client.post(PAGE + path.format(rule=rule.id), data=fill(data, transport))
    assert response.status_code == 400
    assert rules(db) == [(transport.id, "bus")]
    assert triage_department_id(db) is None
    assert count(db, RoutingRule) == 1
