"""Spanish end to end: an administrator names a department in Spanish; a family switches to
Spanish and asks it a question; staff answer; the family's email (a real SMTP server,
tests.mailserver) is in Spanish, and its link, opened in a browser that never signed in,
opens the Spanish page — and, once signed in, the request page, in Spanish.

Each step has its own client and its own session, as in production."""

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from sqlalchemy import select

from portal.db import get_session, utcnow
from portal.models import Request, User
from portal.services import requests
from tests import factories
from tests.conftest import Browser
from tests.mailserver import mail_server  # noqa: F401 (a fixture)
from tests.web.support import text

BASE_URL = "https://portal.district.example"
SUBMISSION_KEY = re.compile(r'name="submission_key" type="hidden" value="([^"]+)"')


@pytest.fixture
def app_config(mail_server) -> dict[str, object]:  # noqa: F811
    return {**mail_server.config(), "BASE_URL": BASE_URL}


def page(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(text(response))


def test_a_spanish_family_asks_gets_a_spanish_email_and_its_link_opens_in_spanish(app: Flask, runner, mail_server):  # noqa: F811
    with app.app_context():
        db = get_session()
        department = factories.make_department(db, "Transportation", description="Bus stops and routes.")
        staff = factories.make_staff(db, name="Robin Ortiz")
        factories.join(db, staff, department)
        admin_email = factories.make_admin(db).email
        household = factories.make_household(db, name="Alvarez family")
        guardian_email = factories.guardians_of(db, household)[0].email
        department_id, staff_id = department.id, staff.id

    # An administrator enters the Spanish name and description.
    admin = Browser(app.test_client(), app)
    admin.sign_in(admin_email)
    values = {
        "name": "Transportation",
        "description": "Bus stops and routes.",
        "name_es": "Transporte escolar",
        "description_es": "Paradas y rutas del autobús.",
        "is_public": "y",
    }
    for priority in ("low", "normal", "high", "urgent"):
        values |= {f"{priority}_first": "8", f"{priority}_next": "8", f"{priority}_resolution": "40"}
    assert admin.submit(f"/admin/departments/{department_id}", values).status_code == 302

    # The family, signed in in English, switches to Spanish and asks a question.
    family = Browser(app.test_client(), app)
    family.sign_in(guardian_email)
    assert family.submit("/language", {"language": "es", "next": "/requests/new"}, page="/family/").status_code == 302
    form_page = page(family.get("/requests/new"))
    assert '<html lang="es">' in form_page
    assert "Transporte escolar" in form_page and ">Transportation<" not in form_page
    response = family.submit(
        "/requests/new",
        {
            "submission_key": SUBMISSION_KEY.search(form_page).group(1),  # type: ignore[union-attr]
            "department_id": department_id,
            "student_id": 0,
            "subject": "Cambio de parada",
            "body": "Nos mudamos. ¿Cuál es la parada más cercana?",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        db = get_session()
        asked = db.scalar(select(Request))
        assert asked is not None
        request_id = asked.id
        requests.reply_as_staff(
            db, db.get(User, staff_id), asked, "La parada 14, desde el lunes.", internal=False, now=utcnow()
        )
        db.commit()
    assert "Transporte escolar" in page(family.get(f"/requests/{request_id}"))

    # The email: in Spanish, every link carrying the language.
    result = runner.invoke(args=["deliver-notifications"])
    assert result.exit_code == 0, result.output
    [mail] = [m for m in mail_server.messages if guardian_email in m.rcpt_tos]
    assert '<html lang="es">' in mail.html
    assert "replied to your question" not in mail.text  # the Spanish catalog's words, not the English
    assert mail.links
    for link in mail.links:
        assert parse_qs(urlsplit(html.unescape(link)).query).get("lang") == ["es"], link
    link = html.unescape(mail.links[0])
    assert urlsplit(link).path == f"/requests/{request_id}"

    # Opened in a browser that never signed in: the sign-in page, in Spanish.
    stranger = Browser(app.test_client(), app)
    parts = urlsplit(link)
    opened = stranger.get(f"{parts.path}?{parts.query}")
    assert opened.status_code == 302
    sign_in_page = page(stranger.get(opened.headers["Location"]))
    assert '<html lang="es">' in sign_in_page
    assert "Iniciar sesión" in sign_in_page
    # And, once the parent signs in there, the request itself, still in Spanish.
    stranger.sign_in(guardian_email)
    request_page = page(stranger.get(parts.path))
    assert '<html lang="es">' in request_page and "Transporte escolar" in request_page
