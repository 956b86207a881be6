"""Account notes: what a family wants staff to know, with every revision kept,
and staff's internal notes on a household, which families never see."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.exc import StaleDataError

from portal.catalogs import lazy_gettext as _l
from portal.models import AccountNote, AccountNoteRevision, Guardianship, NoteCategory, StaffNote, User
from portal.services import audit, notifications, scope
from portal.services.errors import Conflict, InvalidInput, NotFound
from portal.services.text import clean_text

MAX_LENGTH = 2000
STALE_MESSAGE = _l(
    "Someone changed this note since you opened it. What is saved now is shown below; your text is still in "
    "the box: check it and save again."
)
REASON_MAX_LENGTH = 500


@dataclass(frozen=True)
class NoteEdit:
    category: NoteCategory
    text: str
    reason: str = ""


# A note's revisions with their authors, joined to the notes: a household has a handful of
# notes, each with a few revisions, so one statement reads them all (a row per revision).
# Results read with scalars() need unique(): a note comes once per revision.
HISTORY = joinedload(AccountNote.revisions).joinedload(AccountNoteRevision.author)


def with_history(statement: Select[AccountNote]) -> Select[AccountNote]:
    return statement.options(HISTORY)


def notes_for_family(db: Session, actor: User) -> list[AccountNote]:
    statement = scope.family_select(actor, AccountNote).order_by(AccountNote.updated_at.desc(), AccountNote.id.desc())
    return list(db.scalars(with_history(statement)).unique())


def note_for_family(db: Session, actor: User, note_id: int) -> AccountNote:
    return scope.family_get(db, actor, AccountNote, note_id, HISTORY)


# Built once (portal.db, "Statements built once").
_HOUSEHOLD_NOTES = with_history(
    select(AccountNote)
    .where(AccountNote.household_id == bindparam("household_id"))
    .order_by(AccountNote.updated_at.desc(), AccountNote.id.desc())
)


def notes_for_staff(db: Session, actor: User, household_id: int) -> list[AccountNote]:
    scope.require_staff(actor)
    return list(db.scalars(_HOUSEHOLD_NOTES, {"household_id": household_id}).unique())


def note_for_staff(db: Session, actor: User, household_id: int, note_id: int) -> AccountNote:
    scope.require_staff(actor)
    note = db.scalar(
        with_history(select(AccountNote).where(AccountNote.id == note_id, AccountNote.household_id == household_id))
    )
    if note is None:
        raise NotFound()
    return note


def saved_note(db: Session, note_id: int) -> AccountNote:
    """A note as it is saved now, with its history, for the page that answers a refused save.

    The refused unit of work was rolled back, which expires every loaded object; the
    history is not lazy-loadable (lazy="raise"), so it is read again here, refreshing
    the session's copy (the caller's object) in place. `note_id` comes from a note the
    caller loaded through its scope."""
    note = db.scalar(
        with_history(select(AccountNote).where(AccountNote.id == note_id)).execution_options(populate_existing=True)
    )
    if note is None:
        raise NotFound()
    return note


def _check(edit: NoteEdit, *, on_behalf: bool) -> str:
    text = clean_text(edit.text, field="text", limit=MAX_LENGTH, missing=_l("Write the note."))
    if on_behalf and not edit.reason.strip():
        raise InvalidInput(_l("Say why you are changing this family's notes."), field="reason")
    if len(edit.reason) > REASON_MAX_LENGTH:
        raise InvalidInput(_l("Use at most %(count)d characters.", count=REASON_MAX_LENGTH), field="reason")
    return text


def _tell_family(db: Session, actor: User, household_id: int, edit: NoteEdit, *, now: datetime) -> None:
    guardians = db.scalars(select(User).join(Guardianship).where(Guardianship.household_id == household_id))
    for guardian in guardians:
        notifications.enqueue_email(
            db,
            guardian,
            "changed_by_staff",
            {"staff_name": actor.display_name, "changes": ["notes"], "reason": edit.reason.strip()},
            now=now,
        )


def _record_revision(
    db: Session,
    actor: User,
    note: AccountNote,
    edit: NoteEdit,
    *,
    version: int,
    before: dict[str, str] | None,
    now: datetime,
) -> None:
    """Keep the revision, audit it, and when staff wrote it, tell the family why."""
    on_behalf = not actor.is_family
    reason = edit.reason.strip()
    db.add(
        AccountNoteRevision(
            note_id=note.id,
            version=version,
            author_id=actor.id,
            category=note.category,
            text_before=before["text"] if before else None,
            text_after=note.text,
            reason=reason,
            created_at=now,
        )
    )
    after = {"category": note.category.value, "text": note.text, **({"reason": reason} if on_behalf else {})}
    action = "note.revised" if before else "note.created"
    audit.record(db, actor, action, note, now=now, household_id=note.household_id, before=before, after=after)
    if on_behalf:
        _tell_family(db, actor, note.household_id, edit, now=now)


def add_note(db: Session, actor: User, household_id: int | None, edit: NoteEdit, *, now: datetime) -> AccountNote:
    """A family adds a note to its own household; staff add one on its behalf, with a reason.

    A guardian of several households (shared custody) chooses which one, among theirs;
    with one household, `household_id` may be None: that one."""
    on_behalf = not actor.is_family
    if on_behalf:
        scope.require_staff(actor)
        if household_id is None:
            raise NotFound()
    else:
        household_id = _own_household(db, actor, household_id)
    text = _check(edit, on_behalf=on_behalf)
    note = AccountNote(household_id=household_id, category=edit.category, text=text, created_at=now, updated_at=now)
    db.add(note)
    db.flush()
    _record_revision(db, actor, note, edit, version=1, before=None, now=now)
    return note


def _own_household(db: Session, actor: User, household_id: int | None) -> int:
    households = scope.household_ids_of(db, actor)
    if not households:
        raise NotFound()
    if household_id is None and len(households) == 1:
        return households[0]
    if household_id is None or household_id not in households:
        raise InvalidInput(_l("Choose a household from the list."), field="household_id")
    return household_id


def revise_note(
    db: Session, actor: User, note: AccountNote, edit: NoteEdit, *, based_on_version: int, now: datetime
) -> AccountNote:
    """A new revision of a note that the caller loaded through its scope (family or staff).

    A save based on an older version is refused with Conflict: the caller shows
    what is saved now and keeps what this person typed."""
    on_behalf = not actor.is_family
    text = _check(edit, on_behalf=on_behalf)
    if note.version != based_on_version:
        raise Conflict(STALE_MESSAGE, field="text")
    if text == note.text and edit.category == note.category:
        return note
    before = {"category": note.category.value, "text": note.text}
    new_version = note.version + 1  # the mapper bumps the row's version to this as it checks it
    note.text, note.category, note.updated_at = text, edit.category, now
    try:
        db.flush()
    except StaleDataError as error:
        raise Conflict(STALE_MESSAGE, field="text") from error
    _record_revision(db, actor, note, edit, version=new_version, before=before, now=now)
    return note


# Built once (portal.db, "Statements built once").
_STAFF_NOTES = (
    select(StaffNote)
    .where(StaffNote.household_id == bindparam("household_id"))
    .order_by(StaffNote.created_at.desc(), StaffNote.id.desc())
    .options(joinedload(StaffNote.author))
)


def staff_notes(db: Session, actor: User, household_id: int) -> list[StaffNote]:
    scope.require_staff(actor)
    return list(db.scalars(_STAFF_NOTES, {"household_id": household_id}))


def add_staff_note(db: Session, actor: User, household_id: int, text: str, *, now: datetime) -> StaffNote:
    """An internal note: staff only. Audited, but never in the family's history."""
    scope.require_staff(actor)
    text = clean_text(text, field="text", limit=MAX_LENGTH, missing=_l("Write the note."))
    note = StaffNote(household_id=household_id, author_id=actor.id, text=text, created_at=now)
    db.add(note)
    db.flush()
    # No household_id on the event: the family's history must not reveal internal notes.
    audit.record(db, actor, "staff_note.created", note, now=now, after={"household_id": household_id})
    return note
