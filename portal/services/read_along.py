"""Values read along with another statement of the session, so that the pages that use
them send none of their own: with the session statement (services/accounts/sessions.py),
the district data's version, whether a safety alert is not cleared, the signed-in
family's call-back number; with the household a staff page shows, whether the staff
member looked at it lately (households/access_log.py). Each is kept in Session.info
under a key made here, with what it was read about (a user, a staff member and a
household), and forgotten from the session's first write on (a flush, a bulk UPDATE or
DELETE, SQL text): what it wrote is not in what was read, so its reader reads the
database again. A reader also passes over its value while a change is pending, not
flushed yet, and when it was read about another (`recalled`)."""

from collections.abc import Hashable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

_KEYS: set[str] = set()


def forgotten_after_a_write(key: str) -> str:
    """`key`, a Session.info key that the session's first write removes."""
    _KEYS.add(key)
    return key


def remember(db: Session, key: str, value: Any, *, about: Hashable = None) -> None:
    """Keep `value`, read along about `about` (None: about the whole district)."""
    db.info[key] = (about, value)


def recalled(db: Session, key: str, *, about: Hashable = None) -> Any:
    """The value read along under `key` about `about`, or None when none was read, when it
    was read about another, or when a change is pending that the value would not show."""
    if db.new or db.dirty or db.deleted:
        return None
    read = db.info.get(key)
    if read is None or read[0] != about:
        return None
    return read[1]


@event.listens_for(Session, "after_flush")
def _forget_after_a_flush(db: Session, _flush_context: Any) -> None:
    for key in _KEYS:
        db.info.pop(key, None)


@event.listens_for(Session, "do_orm_execute")
def _forget_after_a_write(state: ORMExecuteState) -> None:
    if not state.is_select:  # bulk UPDATE and DELETE, and SQL text, which may write
        for key in _KEYS:
            state.session.info.pop(key, None)
