"""Account notes: families write them for staff, every revision is kept, nobody's edit is lost."""

import html

import pytest
from sqlalchemy import func, select

from portal.db import utcnow
from portal.models import AccountNote, AccountNoteRevision, AuditEvent, NoteCategory, Notification, StaffNote
from portal.services.households import notes
from tests import factories
from tests.conftest import Browser, csrf_token_from


@pytest.fixture
def household(db):  # type: ignore[no-untyped-def]
    return factories.make_household(db, guardians=2)


@pytest.fixture
def family(app, household, db) -> Browser:  # type: ignore[no-untyped-def]
    browser = Browser(app.test_client(), app)
    browser.sign_in(factories.guardians_of(db, household)[0].email)
    return browser


def page_text(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(response.get_data(as_text=True))


def add_note(browser: Browser, text: str, category: str = "pickup"):  # type: ignore[no-untyped-def]
    return browser.submit("/account/notes", {"category": category, "text": text})


def the_note(db) -> AccountNote:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.scalar(select(AccountNote))


def test_a_family_adds_a_note_and_sees_it_with_its_history(db, family):
    response = add_note(family, "Grandma Rosa picks up on Fridays.")
    assert response.status_code == 302
    page = page_text(family.get("/account/notes"))
    assert "Grandma Rosa picks up on Fridays." in page
    assert "History: 1 version" in page
    note = the_note(db)
    assert (note.category.value, note.version) == ("pickup", 1)
    assert db.scalar(select(func.count()).where(AuditEvent.action == "note.created")) == 1


def test_every_revision_is_kept_with_who_and_what_changed(db, family):
    add_note(family, "Grandma Rosa picks up on Fridays.")
    note = the_note(db)
    response = family.submit(
        f"/account/notes/{note.id}",
        {"version": "1", "category": "pickup", "text": "Grandma Rosa picks up on Fridays and Mondays."},
    )
    assert response.status_code == 302
    revisions = db.scalars(select(AccountNoteRevision).order_by(AccountNoteRevision.version)).all()
    assert [(r.version, r.text_before, r.text_after) for r in revisions] == [
        (1, None, "Grandma Rosa picks up on Fridays."),
        (2, "Grandma Rosa picks up on Fridays.", "Grandma Rosa picks up on Fridays and Mondays."),
    ]
    page = page_text(family.get(f"/account/notes/{note.id}"))
    assert "Before:" in page and "After:" in page
    assert "changed a note for staff" in page_text(family.get("/family/history"))


def test_a_second_save_from_an_older_page_does_not_overwrite_the_first(app, db, household, family):
    add_note(family, "Interpreter: Vietnamese.", category="language")
    note = the_note(db)
    other = Browser(app.test_client(), app)
    other.sign_in(factories.guardians_of(db, household)[1].email)
    stale_page = other.get(f"/account/notes/{note.id}").get_data(as_text=True)

    family.submit(
        f"/account/notes/{note.id}",
        {"version": "1", "category": "language", "text": "Interpreter: Vietnamese, for meetings."},
    )
    response = other.client.post(
        f"/account/notes/{note.id}",
        data={
            "csrf_token": csrf_token_from(stale_page),
            "version": "1",
            "category": "language",
            "text": "Interpreter: Vietnamese or Cantonese.",
        },
    )
    assert response.status_code == 200
    page = page_text(response)
    assert "Someone changed this note since you opened it" in page
    assert "Interpreter: Vietnamese, for meetings." in page  # what is saved now is shown
    assert "Interpreter: Vietnamese or Cantonese.</textarea>" in page  # and their text kept
    assert the_note(db).text == "Interpreter: Vietnamese, for meetings."
    # Saving again from the re-rendered form, which now carries the newest version, works.
    retry = other.client.post(
        f"/account/notes/{note.id}",
        data={
            "csrf_token": csrf_token_from(response.get_data(as_text=True)),
            "version": "2",
            "category": "language",
            "text": "Interpreter: Vietnamese or Cantonese.",
        },
    )
    assert retry.status_code == 302
    assert the_note(db).text == "Interpreter: Vietnamese or Cantonese."


def test_a_family_gets_404_for_another_households_note(app, db, family):
    other_household = factories.make_household(db)
    stranger = Browser(app.test_client(), app)
    stranger.sign_in(factories.guardians_of(db, other_household)[0].email)
    add_note(stranger, "Private: custody order on file.")
    note = the_note(db)
    assert family.get(f"/account/notes/{note.id}").status_code == 404
    token = csrf_token_from(family.get("/account/notes").get_data(as_text=True))
    response = family.client.post(
        f"/account/notes/{note.id}", data={"csrf_token": token, "version": "1", "category": "other", "text": "mine now"}
    )
    assert response.status_code == 404
    assert the_note(db).text == "Private: custody order on file."


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Write the note."),
        ("x" * 2001, "Field cannot be longer than 2000 characters."),
        ("nul\x00byte", "Remove the invisible control characters"),
    ],
)
def test_a_bad_note_gets_a_message_and_keeps_the_category(db, family, text, message):
    response = add_note(family, text, category="accessibility")
    assert response.status_code == 200
    page = page_text(response)
    assert message in page
    assert '<option selected value="accessibility">' in page
    assert db.scalar(select(func.count()).select_from(AccountNote)) == 0


def test_script_in_a_note_is_stored_and_shown_as_text(db, family):
    add_note(family, "<script>alert('x')</script>")
    raw = family.get("/account/notes").get_data(as_text=True)
    assert "<script>alert(" not in raw
    assert "&lt;script&gt;" in raw
    assert the_note(db).text == "<script>alert('x')</script>"


def test_staff_change_a_note_with_a_reason_and_the_family_is_told(app, db, household, family):
    add_note(family, "Dad picks up.")
    note = the_note(db)
    staff = Browser(app.test_client(), app)
    staff.sign_in(factories.make_staff(db, name="Jordan Lee").email)
    path = f"/staff/households/{household.id}/notes/{note.id}"
    refused = staff.submit(path, {"version": "1", "category": "pickup", "text": "Dad and Aunt Ana pick up."})
    assert refused.status_code == 200
    assert "Say why you are changing this family" in page_text(refused)
    assert "Dad and Aunt Ana pick up.</textarea>" in page_text(refused)
    saved = staff.submit(
        path,
        {"version": "1", "category": "pickup", "text": "Dad and Aunt Ana pick up.", "reason": "Mother asked by phone"},
    )
    assert saved.status_code == 302
    assert the_note(db).text == "Dad and Aunt Ana pick up."
    told = db.scalars(select(Notification).where(Notification.template == "changed_by_staff")).all()
    assert len(told) == 2  # both guardians
    assert told[0].payload["reason"] == "Mother asked by phone"
    assert "Reason: Mother asked by phone" in page_text(family.get(f"/account/notes/{note.id}"))
    assert "Mother asked by phone" in page_text(family.get("/family/history"))


def test_internal_notes_are_for_staff_only(app, db, household, family):
    staff = Browser(app.test_client(), app)
    staff.sign_in(factories.make_staff(db).email)
    response = staff.submit(
        f"/staff/households/{household.id}/internal-notes",
        {"text": "Possible custody dispute: check ID at pickup."},
        page=f"/staff/households/{household.id}",
    )
    assert response.status_code == 302
    assert db.scalar(select(func.count()).select_from(StaffNote)) == 1
    assert "Possible custody dispute" in page_text(staff.get(f"/staff/households/{household.id}"))
    for path in ("/account/notes", "/family/history", "/family/"):
        assert "custody dispute" not in page_text(family.get(path))


def test_families_cannot_reach_staff_note_pages(db, household, family):
    assert family.get(f"/staff/households/{household.id}/notes/new").status_code == 403


def test_staff_add_a_note_for_the_family_with_a_reason(app, db, household, family):
    staff = Browser(app.test_client(), app)
    staff.sign_in(factories.make_staff(db).email)
    path = f"/staff/households/{household.id}/notes/new"
    assert staff.get(path).status_code == 200
    refused = staff.submit(path, {"category": "accessibility", "text": "Needs step-free access."})
    assert "Say why you are changing this family" in page_text(refused)
    saved = staff.submit(
        path,
        {"category": "accessibility", "text": "Needs step-free access.", "reason": "Father asked at the front desk"},
    )
    assert saved.status_code == 302
    assert "Needs step-free access." in page_text(family.get("/account/notes"))
    assert staff.get(f"/staff/households/{household.id + 1000}/notes/new").status_code == 404


@pytest.mark.parametrize("editor", ["family", "staff"])
def test_a_save_that_loses_the_race_at_its_write_gets_the_conflict_page(
    app, db, household, family, monkeypatch, editor
):
    """The other save lands after this page read the note and before it writes: the write
    itself finds the version moved on. The page must still answer with the conflict."""
    add_note(family, "Dad picks up.")
    note = the_note(db)
    if editor == "staff":
        person = Browser(app.test_client(), app)
        person.sign_in(factories.make_staff(db).email)
        path, fields = f"/staff/households/{household.id}/notes/{note.id}", {"reason": "Asked by phone"}
    else:
        person = Browser(app.test_client(), app)
        person.sign_in(factories.guardians_of(db, household)[1].email)
        path, fields = f"/account/notes/{note.id}", {}
    rival = factories.guardians_of(db, household)[0]
    real_revise = notes.revise_note

    def revise_after_a_rival(session, actor, loaded, edit, **kwargs):  # type: ignore[no-untyped-def]
        winner = notes.note_for_family(db, rival, note.id)
        real_revise(
            db,
            rival,
            winner,
            notes.NoteEdit(NoteCategory.PICKUP, "Grandma picks up."),
            based_on_version=1,
            now=utcnow(),
        )
        db.commit()
        return real_revise(session, actor, loaded, edit, **kwargs)

    monkeypatch.setattr(notes, "revise_note", revise_after_a_rival)
    typed = "Dad and Aunt Ana pick up."
    response = person.submit(path, {"version": "1", "category": "pickup", "text": typed, **fields})
    monkeypatch.undo()

    assert response.status_code == 200
    page = page_text(response)
    assert "Someone changed this note since you opened it" in page
    assert "Grandma picks up." in page  # what is saved now, with its history
    assert "History: 2 versions" in page
    assert f"{typed}</textarea>" in page  # what they typed is kept
    assert 'name="version" type="hidden" value="2"' in page  # so that saving again works
    assert the_note(db).text == "Grandma picks up."
    retry = person.submit(path, {"version": "2", "category": "pickup", "text": typed, **fields})
    assert retry.status_code == 302
    assert the_note(db).text == typed
