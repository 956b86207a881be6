"""The header: the portal's name, the language switch (a plain form, one button per other
language, back to the same page), and for a signed-in user the role's primary destinations
beside a menu (a <details>: no JavaScript) holding the rest, the current page marked."""

import html
import re

from tests import factories
from tests.conftest import Browser
from tests.web.support import location, text, without_tokens

HEADER = re.compile(r"<header\b.*?</header>", re.S)
FOOTER = re.compile(r"<footer\b.*?</footer>", re.S)
FORM = re.compile(r'<form method="post" action="/language" class="language-switch">(.*?)</form>', re.S)


def header_of(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 200
    found = HEADER.search(html.unescape(text(response)))
    assert found, "the page has no header"
    return found.group(0)


def language_form(header: str) -> dict[str, str]:
    form = FORM.search(header)
    assert form, "the header has no language switch"
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form.group(1)))
    buttons = re.findall(
        r'<button type="submit" name="language" value="(\w+)" lang="(\w+)"[^>]*>([^<]+)</button>', form.group(1)
    )
    return {**fields, "buttons": ";".join(f"{value}:{lang}:{name}" for value, lang, name in buttons)}


def primary_and_menu(header: str) -> tuple[list[str], list[str]]:
    row = re.search(r'<ul class="nav-list">(.*?)</ul>', header, re.S)
    menu = re.search(r'<ul class="nav-menu-list">(.*?)</ul>', header, re.S)
    assert row and menu, "the header has no navigation row and menu"
    primary = re.findall(r'<li class="nav-item nav-item--primary"><a href="[^"]+"[^>]*>([^<]+)</a>', row.group(1))
    rest = re.findall(r'<a href="[^"]+"[^>]*>([^<]+)</a>', menu.group(1))
    rest += re.findall(r"<button[^>]*>([^<]+)</button>", menu.group(1))
    return primary, rest


def test_the_language_switch_is_in_the_header_signed_out_too(client):  # type: ignore[no-untyped-def]
    response = client.get("/forgot-password?from=letter")
    header = header_of(response)
    form = language_form(header)
    assert form["next"] == "/forgot-password?from=letter"
    assert form["csrf_token"]
    assert form["buttons"] == "es:es:Español"
    assert "<nav" not in header and "nav-menu" not in without_tokens(header)  # nobody signed in: no menu
    footer = FOOTER.search(text(response))
    assert footer and "/language" not in footer.group(0)


def test_the_header_switch_returns_to_the_page_in_the_other_language(client):  # type: ignore[no-untyped-def]
    form = language_form(header_of(client.get("/forgot-password")))
    switched = client.post("/language", data={"csrf_token": form["csrf_token"], "next": form["next"], "language": "es"})
    assert switched.status_code == 302
    assert location(switched) == "/forgot-password"
    page = client.get("/forgot-password")
    assert '<html lang="es">' in text(page)
    assert language_form(header_of(page))["buttons"] == "en:en:English"


def test_switching_away_from_an_email_links_language_sticks(client):  # type: ignore[no-untyped-def]
    """An email's link opened signed out (?lang=es), then "English": the page comes back in
    English, its other parameters kept; the link's language does not win again."""
    form = language_form(header_of(client.get("/sign-in?lang=es&next=%2Ffamily%2F")))
    assert form["next"] == "/sign-in?next=%2Ffamily%2F"
    switched = client.post("/language", data={"csrf_token": form["csrf_token"], "next": form["next"], "language": "en"})
    assert location(switched) == "/sign-in?next=%2Ffamily%2F"
    assert '<html lang="en">' in text(client.get(location(switched)))


def test_the_language_switch_without_its_token_changes_nothing(client):  # type: ignore[no-untyped-def]
    refused = client.post("/language", data={"next": "/sign-in", "language": "es"})
    assert refused.status_code == 400
    assert '<html lang="en">' in text(client.get("/sign-in"))


def test_a_family_sees_its_two_destinations_and_the_rest_in_the_menu(family):  # type: ignore[no-untyped-def]
    header = header_of(family.get("/requests/"))
    primary, rest = primary_and_menu(header)
    assert primary == ["My requests", "Ask a question"]
    assert rest == ["My household", "How we reach you", "Tell us what you think", "Security", "Sign out"]
    assert '<a href="/requests/" aria-current="page">My requests</a>' in header
    assert header.count('aria-current="page"') == 1  # "My requests" is not in the menu twice
    assert '<summary class="header-button">Menu</summary>' in header
    assert "style=" not in header and "<script" not in header


def test_the_menu_follows_the_pages_language_and_where_the_portal_is_mounted(family):  # type: ignore[no-untyped-def]
    """The menu's addresses and texts are kept per language and per mount point
    (navigation._links): each page still gets its own."""

    def switch_to(language: str) -> None:
        form = language_form(header_of(family.get("/requests/")))
        data = {"csrf_token": form["csrf_token"], "next": form["next"], "language": language}
        assert family.client.post("/language", data=data).status_code == 302

    for _ in range(2):
        assert primary_and_menu(header_of(family.get("/requests/")))[0] == ["My requests", "Ask a question"]
        switch_to("es")
        header = header_of(family.get("/requests/"))
        assert primary_and_menu(header)[0] == ["Mis solicitudes", "Hacer una pregunta"]
        assert '<a href="/requests/" aria-current="page">Mis solicitudes</a>' in header
        switch_to("en")
        header = header_of(family.get("/requests/", base_url="http://localhost/portal"))
        assert '<a href="/portal/requests/" aria-current="page">My requests</a>' in header
        assert 'href="/requests/' not in header


def test_menus_kept_stay_few_whatever_mount_points_requests_name(app, family):  # type: ignore[no-untyped-def]
    for number in range(80):
        header = header_of(family.get("/requests/", base_url=f"http://localhost/mount{number}"))
        assert f'<a href="/mount{number}/requests/" aria-current="page">My requests</a>' in header
    assert len(app.extensions["portal.menu_links"]) <= 64


def test_the_current_page_is_marked_in_the_menu_too(family):  # type: ignore[no-untyped-def]
    header = header_of(family.get("/account/contact"))
    # In the row a wider screen shows, and in the menu a phone opens.
    assert header.count('<a href="/account/contact" aria-current="page">How we reach you</a>') == 2


def test_staff_see_their_queues_and_the_rest_in_the_menu(desk):  # type: ignore[no-untyped-def]
    primary, rest = primary_and_menu(header_of(desk.get("/staff/requests/")))
    assert primary == ["Requests", "Feedback"]
    assert rest == ["Households", "Security", "Sign out"]


def test_an_administrator_finds_administration_in_the_menu(as_admin):  # type: ignore[no-untyped-def]
    primary, rest = primary_and_menu(header_of(as_admin.get("/admin/")))
    assert primary == ["Requests", "Feedback"]
    assert rest[:4] == ["Households", "Metrics", "Saved replies", "Administration"]


def test_a_department_lead_finds_metrics_and_saved_replies_and_other_staff_do_not(app, db, sign_in):  # type: ignore[no-untyped-def]
    department = factories.make_department(db)
    lead, plain = factories.make_staff(db), factories.make_staff(db)
    factories.join(db, lead, department, supervisor=True)
    factories.join(db, plain, department)
    _primary, rest = primary_and_menu(header_of(sign_in(lead).get("/staff/requests/")))
    assert rest[:3] == ["Households", "Metrics", "Saved replies"]
    other = Browser(app.test_client(), app)
    other.sign_in(plain.email)
    _primary, rest = primary_and_menu(header_of(other.get("/staff/requests/")))
    assert "Metrics" not in rest and "Saved replies" not in rest
