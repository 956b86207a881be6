"""District data in Spanish: administrators give department, school and closure names in
Spanish beside the English; a family reading in Spanish sees them wherever they are named,
and the English where no translation was given. Links carry the language."""

import html
import re

import pytest
from sqlalchemy import select

from portal.db import utcnow
from portal.models import AuditEvent, Closure, Department, FeedbackTag, School
from portal.services import feedback, requests
from portal.services.calendar import district_calendar
from tests import factories
from tests.conftest import Browser
from tests.web.support import text

SUBMISSION_KEY = re.compile(r'name="submission_key" type="hidden" value="([^"]+)"')


def department_form(**overrides: str) -> dict[str, str]:
    values = {"name": "Transportation", "description": "Bus routes and stops.", "is_public": "y"}
    for priority in ("low", "normal", "high", "urgent"):
        values |= {f"{priority}_first": "8", f"{priority}_next": "8", f"{priority}_resolution": "40"}
    return values | overrides


def page_of(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(text(response))


@pytest.fixture
def spanish_school(db):  # type: ignore[no-untyped-def]
    school = factories.make_school(db, name="Lincoln Elementary")
    school.translations = {"es": {"name": "Escuela Primaria Lincoln"}}
    db.commit()
    return school


@pytest.fixture
def spanish_transport(db, transport):  # type: ignore[no-untyped-def]
    transport.translations = {"es": {"name": "Transporte escolar", "description": "Paradas y rutas del autobús."}}
    db.commit()
    return transport


@pytest.fixture
def spanish_family(db, spanish_school, sign_in):  # type: ignore[no-untyped-def]
    household = factories.make_household(db, name="Alvarez family", school=spanish_school)
    guardian = factories.guardians_of(db, household)[0]
    guardian.language = "es"
    db.commit()
    return sign_in(guardian), guardian


def ask(db, guardian, department):  # type: ignore[no-untyped-def]
    created, _ = requests.submit_request(
        db,
        guardian,
        requests.NewRequest(department_id=department.id, subject="Parada", body="¿Puede cambiar la parada?"),
        calendar=district_calendar.load_calendar(db, "America/Los_Angeles"),
        now=utcnow(),
    )
    db.commit()
    return created


# --- administrators enter the Spanish ---------------------------------------------------


def test_the_department_form_has_a_spanish_field_beside_each_english_one(db, transport, sign_in):
    browser = sign_in(factories.make_admin(db))
    page = page_of(browser.get(f"/admin/departments/{transport.id}"))
    assert 'name="name_es"' in page and 'name="description_es"' in page
    assert "Name (Spanish)" in page
    assert page.index('name="name"') < page.index('name="name_es"') < page.index('name="description"')


def test_an_admin_enters_spanish_department_names_and_it_is_audited(db, transport, sign_in):
    browser = sign_in(factories.make_admin(db))
    response = browser.submit(
        f"/admin/departments/{transport.id}",
        department_form(name_es="  Transporte   escolar ", description_es="Paradas y rutas."),
    )
    assert response.status_code == 302
    db.expire_all()
    department = db.get(Department, transport.id)
    assert department.translations == {"es": {"name": "Transporte escolar", "description": "Paradas y rutas."}}
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "department.updated"))
    assert event.after["translations"] == department.translations
    assert event.before["translations"] == {}
    again = page_of(browser.get(f"/admin/departments/{transport.id}"))
    assert 'value="Transporte escolar"' in again  # shown back for editing


def test_clearing_the_spanish_name_goes_back_to_the_english(db, spanish_transport, sign_in):
    browser = sign_in(factories.make_admin(db))
    browser.submit(f"/admin/departments/{spanish_transport.id}", department_form(name_es="", description_es=""))
    db.expire_all()
    assert db.get(Department, spanish_transport.id).translations == {}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name_es", "x" * 121, "Field cannot be longer than 120 characters."),
        ("description_es", "x" * 1001, "Field cannot be longer than 1000 characters."),
        ("name_es", "Transporte\x07", "Remove the invisible control characters from this field."),
    ],
)
def test_a_bad_spanish_name_is_refused_beside_its_field_and_kept(db, transport, sign_in, field, value, message):
    browser = sign_in(factories.make_admin(db))
    response = browser.submit(f"/admin/departments/{transport.id}", department_form(**{field: value}))
    assert response.status_code == 200
    page = page_of(response)
    assert message in page
    assert f'id="{field}-error"' in page
    assert value[:100] in page
    db.expire_all()
    assert db.get(Department, transport.id).translations == {}


def test_an_admin_names_a_school_in_spanish(db, school, sign_in):
    browser = sign_in(factories.make_admin(db))
    home = page_of(browser.get("/admin/"))
    assert f"/admin/schools/{school.id}" in home
    assert 'name="name_es"' in page_of(browser.get(f"/admin/schools/{school.id}"))
    response = browser.submit(
        f"/admin/schools/{school.id}", {"name": "Lincoln Elementary", "name_es": "Escuela Primaria Lincoln"}
    )
    assert response.status_code == 302
    db.expire_all()
    assert db.get(School, school.id).translations == {"es": {"name": "Escuela Primaria Lincoln"}}
    assert db.scalar(select(AuditEvent.after).where(AuditEvent.action == "school.updated"))["translations"] == {
        "es": {"name": "Escuela Primaria Lincoln"}
    }


def test_a_new_school_and_a_closure_can_have_their_spanish_names(db, sign_in):
    browser = sign_in(factories.make_admin(db))
    response = browser.submit("/admin/schools/new", {"name": "Roosevelt High", "name_es": "Preparatoria Roosevelt"})
    assert response.status_code == 302
    assert db.scalar(select(School.translations).where(School.name == "Roosevelt High")) == {
        "es": {"name": "Preparatoria Roosevelt"}
    }
    assert 'name="name_es"' in page_of(browser.get("/admin/calendar"))
    response = browser.submit(
        "/admin/calendar/closures",
        {"name": "Snow day", "name_es": "Día de nieve", "first_day": "2031-01-06", "last_day": "2031-01-06"},
        page="/admin/calendar",
    )
    assert response.status_code == 302
    assert db.scalar(select(Closure.translations).where(Closure.name == "Snow day")) == {"es": {"name": "Día de nieve"}}


def test_a_missing_school_is_404_and_only_admins_edit_schools(app, db, school, sign_in):
    desk = sign_in(factories.make_staff(db))
    assert desk.get(f"/admin/schools/{school.id}").status_code == 403
    admin = Browser(app.test_client(), app)
    admin.sign_in(factories.make_admin(db).email)
    assert admin.get("/admin/schools/99999").status_code == 404


# --- a family reading in Spanish ----------------------------------------------------------


def test_a_spanish_family_sees_spanish_names_everywhere(db, spanish_family, spanish_transport, spanish_school):
    family, guardian = spanish_family
    new_form = page_of(family.get("/requests/new"))
    assert "Transporte escolar" in new_form
    assert ">Transportation<" not in new_form
    home = page_of(family.get("/family/"))
    assert "Escuela Primaria Lincoln" in home and "Lincoln Elementary" not in home
    created = ask(db, guardian, spanish_transport)
    detail = page_of(family.get(f"/requests/{created.id}"))
    assert "Transporte escolar" in detail and "Transportation" not in detail
    listing = page_of(family.get("/requests/"))
    assert "Transporte escolar" in listing


def test_an_english_family_sees_the_english_names(db, family, guardian, spanish_transport):
    page = page_of(family.get("/requests/new"))
    assert "Transportation" in page and "Transporte escolar" not in page


def test_without_a_spanish_name_a_spanish_family_sees_the_english_one(db, spanish_family, transport):
    family, guardian = spanish_family
    assert "Transportation" in page_of(family.get("/requests/new"))
    created = ask(db, guardian, transport)
    assert "Transportation" in page_of(family.get(f"/requests/{created.id}"))


def test_staff_reading_in_spanish_see_the_spanish_names(app, db, spanish_family, spanish_transport, staff):
    _family, guardian = spanish_family
    created = ask(db, guardian, spanish_transport)
    staff.language = "es"
    db.commit()
    desk = Browser(app.test_client(), app)
    desk.sign_in(staff.email)
    page = page_of(desk.get(f"/staff/requests/{created.id}"))
    assert "Transporte escolar" in page
    assert "español" in page  # the family's language, named in the reader's language


def test_staff_reading_in_spanish_see_the_spanish_names_in_both_queues(
    app, db, spanish_family, spanish_transport, spanish_school, staff
):
    """Every row, filter option and tag of the queues, named in the reader's language."""
    _family, guardian = spanish_family
    created = ask(db, guardian, spanish_transport)
    created.school_id = spanish_school.id
    sent = feedback.submit_from_family(
        db,
        guardian,
        feedback.NewFeedback("concern", spanish_transport.id, school_id=spanish_school.id, rating=None, body="Tarde."),
        now=utcnow(),
    )
    feedback.set_tags(db, staff, feedback.feedback_for_staff(db, staff, sent.id), ["late"], now=utcnow())
    db.scalar(select(FeedbackTag).where(FeedbackTag.name == "late")).translations = {"es": {"name": "tarde"}}
    staff.language = "es"
    db.commit()
    desk = Browser(app.test_client(), app)
    desk.sign_in(staff.email)
    for path in ("/staff/requests/", "/staff/feedback/"):
        page = desk.get(path).get_data(as_text=True)
        row = page[page.index("<tbody>") :]
        assert "Transporte escolar" in row and "Escuela Primaria Lincoln" in row, path
        assert f'<option value="{spanish_school.id}">Escuela Primaria Lincoln</option>' in page, path
        assert "Transportation" not in row and ">Lincoln Elementary<" not in page, path
    assert '<span class="tag">tarde</span>' in desk.get("/staff/feedback/").get_data(as_text=True)


def test_a_closure_that_moved_a_promise_is_named_in_spanish(db, spanish_family, spanish_transport, sign_in):
    family, guardian = spanish_family
    created = ask(db, guardian, spanish_transport)
    admin = factories.make_admin(db)
    due = created.due_at.astimezone(district_calendar.current(db).time_zone).date()
    closure = district_calendar.add_closure(
        db,
        admin,
        due,
        due,
        "Snow day",
        now=utcnow(),
        translations={"es": {"name": "Día de nieve"}},
        languages=("en", "es"),
    )
    district_calendar.forget(db)
    change = district_calendar.ClosureChange.of("closure_added", closure)
    assert requests.recompute_after_calendar_change(db, [change], now=utcnow())
    db.commit()
    page = page_of(family.get(f"/requests/{created.id}"))
    assert "Día de nieve" in page and "Snow day" not in page


# --- links carry the language --------------------------------------------------------------


def test_a_link_with_lang_opens_the_page_in_that_language_signed_out(client):
    assert '<html lang="es">' in text(client.get("/sign-in?lang=es"))
    assert '<html lang="es">' in text(client.get("/sign-in"))  # kept for the visit


def test_an_unknown_lang_is_ignored(client):
    assert '<html lang="en">' in text(client.get("/sign-in?lang=xx"))
    assert '<html lang="en">' in text(client.get("/sign-in?lang=es%00"))


def test_a_signed_in_user_keeps_the_language_of_the_account(db, family, guardian):
    assert '<html lang="en">' in text(family.get("/family/?lang=es"))
    db.expire_all()
    assert guardian.language == "en"
