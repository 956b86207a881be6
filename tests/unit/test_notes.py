"""Account notes without HTTP: a save that loses a race is a Conflict, and what is saved
now can be shown after the refused unit of work is rolled back."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from portal.models import AccountNote, AccountNoteRevision, AuditEvent, NoteCategory
from portal.services.errors import Conflict
from portal.services.households import notes
from tests import factories

MONDAY = datetime(2026, 11, 16, 18, tzinfo=UTC)


@pytest.fixture
def other_db(app):  # type: ignore[no-untyped-def]
    """A second person's unit of work, beside `db`."""
    session = app.extensions["portal.sessionmaker"]()
    yield session
    session.close()


def test_a_save_whose_write_finds_the_note_moved_on_is_a_conflict_and_writes_nothing(db, other_db):
    household = factories.make_household(db, guardians=2)
    first, second = factories.guardians_of(db, household)
    note = notes.add_note(db, first, household.id, notes.NoteEdit(NoteCategory.PICKUP, "Dad picks up."), now=MONDAY)
    db.commit()
    # Both read version 1; the second person saves first.
    mine = notes.note_for_family(db, first, note.id)
    theirs = notes.note_for_family(other_db, second, note.id)
    notes.revise_note(
        other_db,
        second,
        theirs,
        notes.NoteEdit(NoteCategory.PICKUP, "Grandma picks up."),
        based_on_version=1,
        now=MONDAY,
    )
    other_db.commit()

    with pytest.raises(Conflict) as refused:
        notes.revise_note(
            db, first, mine, notes.NoteEdit(NoteCategory.PICKUP, "Aunt Ana picks up."), based_on_version=1, now=MONDAY
        )
    assert refused.value.field == "text"
    db.rollback()

    saved = notes.saved_note(db, note.id)
    assert (saved.version, saved.text) == (2, "Grandma picks up.")
    # The history is loaded, authors included: the conflict page renders it without lazy loads.
    assert [(revision.version, revision.author.id) for revision in saved.revisions] == [(2, second.id), (1, first.id)]
    assert db.scalar(select(func.count()).select_from(AccountNoteRevision)) == 2
    assert db.scalar(select(func.count()).where(AuditEvent.action == "note.revised")) == 1
    assert db.scalar(select(AccountNote.text)) == "Grandma picks up."
