"""A third language by its catalog alone: a toy French catalog (two strings) beside the
real Spanish one, and nothing else changed — it is offered in the language switch, a page
is served in it, and administrators get a field for it beside each translated English one."""

import html
import re
import shutil
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from sqlalchemy import select

import portal
from portal.models import Department
from tests import factories
from tests.web.support import text

TRANSLATIONS = Path(portal.__file__).parent / "translations"


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, object]:
    """The portal's own catalogs, copied, and a French one added: what a translator ships."""
    directory = tmp_path / "translations"
    shutil.copytree(TRANSLATIONS, directory)
    catalog = Catalog(locale="fr", domain="messages")
    catalog.add("Sign in", "Se connecter")
    catalog.add("Name", "Nom")
    french = directory / "fr" / "LC_MESSAGES"
    french.mkdir(parents=True)
    with (french / "messages.mo").open("wb") as compiled:
        write_mo(compiled, catalog)
    return {"BABEL_TRANSLATION_DIRECTORIES": str(directory)}


def test_the_new_language_is_offered_in_its_own_name(app, client):
    assert list(app.config["LANGUAGES"]) == ["en", "es", "fr"]
    page = html.unescape(text(client.get("/sign-in")))
    # The switch (a select or a button per language), each choice named in itself.
    for code, name in (("fr", "Français"), ("es", "Español")):
        assert re.search(rf'value="{code}" lang="{code}"[^>]*>{name}<', page), f"{name} is not offered"


def test_a_page_is_served_in_the_new_language(client):
    page = html.unescape(text(client.get("/sign-in?lang=fr")))
    assert '<html lang="fr">' in page
    assert "Se connecter" in page


def test_administrators_get_a_field_for_the_new_language(db, sign_in):
    department = factories.make_department(db, "Transportation")
    browser = sign_in(factories.make_admin(db))
    page = html.unescape(text(browser.get(f"/admin/departments/{department.id}")))
    assert 'name="name_es"' in page and 'name="name_fr"' in page
    assert "Name (French)" in page
    values = {"name": "Transportation", "description": "", "is_public": "y", "name_fr": "Transport scolaire"}
    for priority in ("low", "normal", "high", "urgent"):
        values |= {f"{priority}_first": "8", f"{priority}_next": "8", f"{priority}_resolution": "40"}
    assert browser.submit(f"/admin/departments/{department.id}", values).status_code == 302
    assert db.scalar(select(Department.translations).where(Department.id == department.id)) == {
        "fr": {"name": "Transport scolaire"}
    }
