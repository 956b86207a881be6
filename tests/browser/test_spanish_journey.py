"""Spanish end to end, in a real browser: an administrator names a department in Spanish
at a desktop; a parent on a phone switches to Spanish and asks it a question; staff
answer; the parent's email (a real SMTP server) is in Spanish, and its link, opened on a
phone that has never signed in, opens the Spanish sign-in page. Every page is audited."""

import re

import pytest
from playwright.sync_api import expect

from portal.db import utcnow
from portal.models import Request
from portal.services import requests
from tests import factories
from tests.mailserver import mail_server  # noqa: F401 (a fixture)

pytestmark = pytest.mark.browser

SENT = re.compile(r"Sent (\d+), failed (\d+)")


@pytest.fixture
def app_config(mail_server) -> dict[str, object]:  # noqa: F811
    """Email goes to the test SMTP server; BASE_URL is set to the live server's address."""
    return mail_server.config()


def test_spanish_from_the_admin_s_names_to_the_parent_s_email_link(
    desktop,
    open_visitor,
    phone,
    district,
    db,
    runner,
    live_server,
    mail_server,  # noqa: F811
):  # type: ignore[no-untyped-def]
    department = factories.make_department(db, "Transportation", description="Bus stops and routes.")
    factories.join(db, district.staff, department)

    # The administrator gives the Spanish name and description, beside the English.
    desktop.sign_in(district.admin.email)
    desktop.open(f"/admin/departments/{department.id}")
    desktop.fill("Name (Spanish)", "Transporte escolar")
    desktop.fill("Description shown to families (Spanish)", "Paradas y rutas del autobús.")
    desktop.press("Save department")
    assert desktop.path == "/admin/departments"

    # The parent, on a phone, switches to Spanish in the header and asks.
    page = phone.page
    phone.sign_in(district.guardian.email)
    phone.click(page.get_by_role("banner").get_by_role("button", name="Español", exact=True))
    expect(page.locator("html")).to_have_attribute("lang", "es")
    phone.open("/requests/new")
    expect(page.get_by_role("radio", name="Transportation", exact=True)).to_have_count(0)
    page.get_by_role("radio", name="Transporte escolar", exact=True).check()
    phone.fill("Asunto", "Cambio de parada")
    phone.fill("Su pregunta", "Nos mudamos. ¿Cuál es la parada más cercana?")
    phone.press("Enviar")
    expect(page.get_by_role("heading", level=1)).to_have_text("Se envió su pregunta")
    expect(page.get_by_role("main")).to_contain_text("Transporte escolar")

    # Staff answer (the staff pages are tested elsewhere), in a session that sees the
    # parent's switch to Spanish, as a staff request's own session would.
    db.expire_all()
    asked = db.query(Request).one()
    requests.reply_as_staff(db, district.staff, asked, "La parada 14, desde el lunes.", internal=False, now=utcnow())
    db.commit()

    result = runner.invoke(args=["deliver-notifications"])
    assert result.exit_code == 0, result.output
    [email] = [mail for mail in mail_server.messages if district.guardian.email in mail.rcpt_tos]
    assert '<html lang="es">' in email.html
    link = next(link for link in email.links if f"/requests/{asked.id}" in link)
    assert link.startswith(live_server.url) and link.endswith("?lang=es"), link

    # Opened on a phone that never signed in: the sign-in page, in Spanish.
    stranger = open_visitor("phone")
    response = stranger.page.goto(link)
    assert response is not None and response.status == 200
    stranger.audit.check(stranger.page)
    assert stranger.path == "/sign-in"
    expect(stranger.page.locator("html")).to_have_attribute("lang", "es")
    expect(stranger.page.get_by_role("heading", level=1)).to_have_text("Iniciar sesión")
