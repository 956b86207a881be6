"""Admins import households from the student information system's CSV export."""

import io

import pytest
from sqlalchemy import func, select

from portal.models import Guardianship, Household, Notification, Student, User
from tests import factories

HEADER = (
    "household_id,household_name,guardian_name,guardian_email,guardian_phone,guardian_relationship,"
    "guardian_language,student_id,student_first_name,student_last_name,school_code,grade\n"
)


def export(school_code: str) -> bytes:
    return (
        HEADER
        + f"F100,Lopez family,Ana Lopez,ana@example.org,213-555-0143,mother,es,S1,Leo,Lopez,{school_code},3\n"
        + f"F100,Lopez family,,,,,,S2,Mia,Lopez,{school_code},K\n"
        + "F101,Kim family,Joon Kim,joon@example.org,,father,en,S3,Min,Kim,,7\n"
    ).encode()


def upload(browser, data: bytes, *, check_only: bool, filename: str = "sis.csv"):  # type: ignore[no-untyped-def]
    fields: dict[str, object] = {"file": (io.BytesIO(data), filename)}
    if check_only:
        fields["check_only"] = "y"
    return browser.submit("/admin/import", fields, content_type="multipart/form-data")


def count(db, model) -> int:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model))


@pytest.fixture
def admin_browser(db, sign_in):  # type: ignore[no-untyped-def]
    return sign_in(factories.make_admin(db))


def test_checking_a_file_reports_what_it_would_create_and_writes_nothing(db, admin_browser):
    school = factories.make_school(db)
    page = upload(admin_browser, export(school.code), check_only=True).get_data(as_text=True)
    assert "New households: 2" in page
    assert "New guardians, each to be invited: 2" in page
    assert "New students: 3" in page
    assert count(db, Household) == 0


def test_importing_creates_households_and_invites_each_new_guardian(db, admin_browser):
    school = factories.make_school(db)
    page = upload(admin_browser, export(school.code), check_only=False).get_data(as_text=True)
    assert "Imported 2 households" in page
    lopez = db.scalar(select(Household).where(Household.sis_id == "F100"))
    assert lopez.name == "Lopez family"
    ana = db.scalar(select(User).where(User.email == "ana@example.org"))
    assert (ana.phone, ana.language, ana.password_hash) == ("+12135550143", "es", None)
    assert db.scalar(select(Guardianship.household_id).where(Guardianship.user_id == ana.id)) == lopez.id
    assert count(db, Student) == 3
    assert db.scalar(select(func.count()).where(Notification.template == "invitation")) == 2


def test_importing_the_same_file_again_adds_nothing(db, admin_browser):
    school = factories.make_school(db)
    upload(admin_browser, export(school.code), check_only=False)
    page = upload(admin_browser, export(school.code), check_only=True).get_data(as_text=True)
    assert "New households: 0" in page
    assert "New students: 0" in page
    upload(admin_browser, export(school.code), check_only=False)
    assert (count(db, Household), count(db, Student), count(db, Notification)) == (2, 3, 2)


def test_one_bad_row_imports_nothing_and_names_its_line(db, admin_browser):
    school = factories.make_school(db)
    data = export(school.code) + b"F102,Bad family,Bo Bad,not-an-email,,,,,,,,\n"
    page = upload(admin_browser, data, check_only=False).get_data(as_text=True)
    assert "Line 5:" in page
    assert "nothing was imported" in page
    assert count(db, Household) == 0


def test_a_guardian_of_another_household_is_refused(db, admin_browser):
    other = factories.make_household(db)
    taken = factories.guardians_of(db, other)[0]
    data = (HEADER + f"F200,New family,Someone,{taken.email},,,,,,,,\n").encode()
    page = upload(admin_browser, data, check_only=True).get_data(as_text=True)
    assert "already has an account in another household" in page


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"", "sis.csv", "The file is empty"),
        (b"PK\x03\x04\x14\x00 a spreadsheet", "sis.xlsx", "Choose a file ending in"),
        (b"PK\x03\x04\x14\x00 a spreadsheet", "sis.csv", "save it as CSV first"),
        (b"name,email\nA,a@example.org\n", "sis.csv", "The file has no column household_id"),
        (b"x" * (1024 * 1024 + 1), "sis.csv", "The file is too large"),
        (HEADER.encode(), "sis.csv", "no rows below its header"),
        ((HEADER + "F1,<script>alert(1)</script>,,,,,,,,,,\x01\n").encode(), "sis.csv", "control characters"),
    ],
)
def test_a_bad_upload_gets_a_clear_message_and_no_500(db, admin_browser, data, filename, message):
    response = upload(admin_browser, data, check_only=False, filename=filename)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message in page
    assert "<script>alert(1)</script>" not in page
    assert count(db, Household) == 0


def test_an_upload_larger_than_any_request_may_be_gets_the_friendly_413_page(db, admin_browser):
    response = upload(admin_browser, b"x" * (3 * 1024 * 1024), check_only=True)
    assert response.status_code == 413
    assert "too much to send at once" in response.get_data(as_text=True)


def test_staff_and_families_cannot_import(db, sign_in, client):
    sign_in(factories.make_staff(db))
    assert client.get("/admin/import").status_code == 403


def test_a_guardian_listed_in_two_households_is_refused_on_the_second_line_never_dropped(db, admin_browser):
    school = factories.make_school(db)
    shared = (
        HEADER
        + f"F300,Rivera family,Sam Rivera,sam@example.org,,father,en,S30,Ana,Rivera,{school.code},3\n"
        + f"F301,Ortiz family,Sam Rivera,SAM@example.org,,father,en,S31,Luz,Ortiz,{school.code},5\n"
    ).encode()
    page = upload(admin_browser, shared, check_only=True).get_data(as_text=True)
    assert "Line 3:" in page
    assert "sam@example.org is a guardian in household F300 too." in page
    assert count(db, Household) == 0
