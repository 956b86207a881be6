"""Changing the email address (confirmed by the new address) and downloading a household's data."""

import csv
import io
import json
import re

import pytest
from sqlalchemy import select

from portal.models import AccountNote, AuditEvent, Notification, User
from portal.services.accounts import email_change
from portal.services.errors import InvalidToken
from tests import factories
from tests.conftest import Browser, csrf_token_from

ATTACHMENT = re.compile(r'attachment; filename="(?P<name>[a-z0-9-]+)\.(?P<ext>json|csv)"')


@pytest.fixture
def household(db):  # type: ignore[no-untyped-def]
    return factories.make_household(db, guardians=1, students=2)


@pytest.fixture
def family(app, guardian) -> Browser:  # type: ignore[no-untyped-def]
    browser = Browser(app.test_client(), app)
    browser.sign_in(guardian.email)
    return browser


def request_change(family: Browser, email: str, password: str = factories.PASSWORD):  # type: ignore[no-untyped-def]
    return family.submit("/account/email", {"email": email, "password": password})


def confirmation_token(db, guardian: User) -> str:  # type: ignore[no-untyped-def]
    db.expire_all()
    sent = db.scalar(select(Notification).where(Notification.template == "email_change_confirm"))
    assert sent is not None and sent.recipient_id == guardian.id
    return sent.payload["token"]


def test_the_new_address_must_confirm_before_the_email_changes(app, db, guardian, family):
    old = guardian.email
    assert request_change(family, "New.Address@example.org").status_code == 302
    db.expire_all()
    assert db.get(User, guardian.id).email == old
    sent = {n.template: n.to_address for n in db.scalars(select(Notification))}
    assert sent == {"email_change_confirm": "new.address@example.org", "email_change_notice": old}

    token = confirmation_token(db, guardian)
    anonymous = app.test_client()
    page = anonymous.get(f"/account/email/confirm/{token}")
    assert page.status_code == 200  # opening the link alone changes nothing
    db.expire_all()
    assert db.get(User, guardian.id).email == old
    confirmed = anonymous.post(
        f"/account/email/confirm/{token}", data={"csrf_token": csrf_token_from(page.get_data(as_text=True))}
    )
    assert confirmed.status_code == 302
    db.expire_all()
    assert db.get(User, guardian.id).email == "new.address@example.org"
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "user.email_changed")).before == {"email": old}
    # The link works once.
    assert anonymous.get(f"/account/email/confirm/{token}").status_code == 410
    # And the new address signs in.
    Browser(app.test_client(), app).sign_in("new.address@example.org")


def test_a_reset_link_mailed_to_the_old_address_dies_with_the_change(app, db, guardian, family):
    with app.app_context():
        reset = factories.reset_token(db, guardian)
    assert request_change(family, "moved@example.org").status_code == 302
    token = confirmation_token(db, guardian)
    anonymous = app.test_client()
    page = anonymous.get(f"/account/email/confirm/{token}")
    anonymous.post(f"/account/email/confirm/{token}", data={"csrf_token": csrf_token_from(page.get_data(as_text=True))})
    assert app.test_client().get(f"/reset-password/{reset}").status_code == 410


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("not-an-address", factories.PASSWORD, "Enter an email address like name@example.org."),
        ("x@example.org", "wrong password!", "Your password is not right."),
        ("<script>@example.org", factories.PASSWORD, "Enter an email address like name@example.org."),
    ],
)
def test_a_bad_request_gets_a_message_next_to_its_field(db, family, email, password, message):
    response = request_change(family, email, password)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.scalar(select(Notification)) is None


def test_an_address_in_use_is_refused(db, family):
    taken = factories.make_user(db)
    response = request_change(family, taken.email)
    assert "Another account uses this address." in response.get_data(as_text=True)


def test_an_expired_or_replaced_link_does_not_work(app, db, guardian, family):
    request_change(family, "first@example.org")
    first = confirmation_token(db, guardian)
    db.query(Notification).delete()
    db.commit()
    request_change(family, "second@example.org")
    assert app.test_client().get(f"/account/email/confirm/{first}").status_code == 410
    with pytest.raises(InvalidToken):
        email_change.pending_change(db, first, now=factories.utcnow())


def test_a_family_downloads_all_its_data_as_json_and_csv(db, household, guardian, family):
    family.submit("/account/notes", {"category": "pickup", "text": '=HYPERLINK("http://x") grandma picks up'})
    response = family.get("/account/data.json")
    assert response.status_code == 200
    assert ATTACHMENT.match(response.headers["Content-Disposition"])["name"].startswith("household-data-")
    (data,) = json.loads(response.get_data(as_text=True))["households"]
    assert data["household"]["name"] == household.name
    assert [g["email"] for g in data["guardians"]] == [guardian.email]
    assert len(data["students"]) == 2
    assert data["notes"][0]["revisions"][0]["after"].startswith("=HYPERLINK")
    assert any(event["action"] == "note.created" for event in data["history"])

    sheet = family.get("/account/data.csv")
    assert sheet.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(sheet.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["household", "section", "item", "field", "value"]
    texts = [row[4] for row in rows if row[1] == "notes" and row[3] == "text"]
    assert texts == ['\'=HYPERLINK("http://x") grandma picks up']  # neutralized for spreadsheets


def test_a_download_lists_notes_as_written_each_with_its_newest_revision_first(db, family):
    for text in ("First note.", "Second note.", "Third note."):
        family.submit("/account/notes", {"category": "pickup", "text": text})
    third = db.scalar(select(AccountNote).where(AccountNote.text == "Third note."))
    family.submit(f"/account/notes/{third.id}", {"version": "1", "category": "pickup", "text": "Third, edited."})
    (data,) = json.loads(family.get("/account/data.json").get_data(as_text=True))["households"]
    assert [note["text"] for note in data["notes"]] == ["First note.", "Second note.", "Third, edited."]
    assert [r["version"] for r in data["notes"][2]["revisions"]] == [2, 1]


def test_another_households_data_is_never_in_a_download(db, family):
    other = factories.make_household(db, name="Someone Else's household")
    body = family.get("/account/data.json").get_data(as_text=True)
    assert other.name not in body
    assert factories.guardians_of(db, other)[0].email not in body


def test_a_staff_download_is_recorded_as_an_export(app, db, household):
    staff = Browser(app.test_client(), app)
    staff.sign_in(factories.make_staff(db).email)
    response = staff.get(f"/staff/households/{household.id}/data.json")
    assert response.status_code == 200
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "household.viewed"))
    assert event.after == {"what": "export"}
    assert staff.get("/staff/households/999999/data.json").status_code == 404


def test_families_cannot_use_staff_downloads(household, family):
    assert family.get(f"/staff/households/{household.id}/data.json").status_code == 403
