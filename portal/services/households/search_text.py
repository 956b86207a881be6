"""A household's search text: its name, its guardians' names and its students' names, a
line each, accents folded (portal/text_search.py). Staff searching for a name then read
one trigram index instead of five (on PostgreSQL), and check each match against text
folded once, when it was written, instead of at every search: a common surname at
100,000 requests went from 41.5 to 9.4 ms in the database (bench/RESULTS.md, sixth round).

Every change made through the ORM is followed here, by a flush listener; the roster
import, which writes names with UPDATE statements, refreshes the households it touched
(roster_write.py).
"""

from collections.abc import Collection, Iterable
from itertools import chain
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, event, func, inspect, literal_column, select, update
from sqlalchemy.orm import Session

from portal.models import Guardianship, Household, Student, User
from portal.text_search import folded

LINE = "\n"  # typed words never hold one, so no match runs from one name into the next


def refresh(connection: Connection, household_ids: Collection[int] | Select[Any]) -> None:
    """Write the search text of the households `household_ids` lists (ids or a statement).

    The households are locked first, in id order, by a statement of their own: the UPDATE
    then reads the names as they are once any other writer of these households has
    committed (under READ COMMITTED, an UPDATE that waits for a row reads its subqueries as
    of when it started, and could write a name another transaction had just changed)."""
    locked = select(Household.id).where(Household.id.in_(household_ids)).order_by(Household.id).with_for_update()
    ids = list(connection.scalars(locked))
    if ids:
        connection.execute(update(Household).where(Household.id.in_(ids)).values(search_text=current_text()))


def refresh_for_guardians(connection: Connection, user_ids: Collection[int]) -> None:
    """Write the search text of every household these guardians belong to."""
    refresh(connection, select(Guardianship.household_id).where(Guardianship.user_id.in_(user_ids)))


def current_text() -> ColumnElement[str]:
    guardian_names = (
        select(func.aggregate_strings(User.display_name, LINE))
        .join(Guardianship, Guardianship.user_id == User.id)
        .where(Guardianship.household_id == Household.id)
        .scalar_subquery()
    )
    student_names = (
        select(func.aggregate_strings(Student.first_name + literal_column("' '") + Student.last_name, LINE))
        .where(Student.household_id == Household.id)
        .scalar_subquery()
    )
    return folded(Household.name + LINE + func.coalesce(guardian_names, "") + LINE + func.coalesce(student_names, ""))


@event.listens_for(Session, "after_flush")
def _refresh_after_flush(db: Session, _flush_context: Any) -> None:
    """During after_flush, new, dirty and deleted still hold what was flushed, with history."""
    household_ids: set[int] = set()
    renamed_guardians: set[int] = set()
    for row in chain(db.new, db.dirty, db.deleted):
        if isinstance(row, Household):
            if row in db.new or _changed(row, "name"):
                household_ids.add(row.id)
        elif isinstance(row, Student):
            if row in db.new or row in db.deleted or _changed(row, "first_name", "last_name", "household_id"):
                household_ids.update(_values(row, "household_id"))
        elif isinstance(row, Guardianship):
            if row in db.new or row in db.deleted or _changed(row, "household_id", "user_id"):
                household_ids.update(_values(row, "household_id"))
        elif isinstance(row, User) and row not in db.new and _changed(row, "display_name"):
            renamed_guardians.add(row.id)
    if household_ids:
        refresh(db.connection(), household_ids)
    if renamed_guardians:
        refresh_for_guardians(db.connection(), renamed_guardians)


def _changed(row: object, *names: str) -> bool:
    attributes = inspect(row).attrs
    return any(attributes[name].history.has_changes() for name in names)


def _values(row: object, name: str) -> Iterable[int]:
    """The attribute's value now and, if it changed, before."""
    history = inspect(row).attrs[name].history
    values = [value for value in chain(history.added, history.unchanged, history.deleted) if value is not None]
    return values or [getattr(row, name)]
