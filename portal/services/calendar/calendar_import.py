"""Closures from the calendar a district publishes as an iCalendar (.ics) file: the file
is read by `ics` (its limits and reading are re-exported here, for the views), the
administrator chooses categories or events, and the closures are saved.

Saving keeps an upload between its preview and the save (`keep_import`), then turns the
chosen events into closures keyed by the event's UID (`save_closures`), so importing an
updated file updates those closures instead of duplicating them. A closure an earlier
import made whose event the new file no longer has, or has cancelled, is offered for
removal (`closures_gone`): the district took that day back.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from portal.catalogs import lazy_gettext as _l
from portal.models import CalendarImport, Closure, User
from portal.services import audit, scope
from portal.services.calendar import district_calendar
from portal.services.calendar.ics import (
    MAX_BYTES,
    MAX_EVENTS,
    NAME_MAX_LENGTH,
    UID_MAX_LENGTH,
    ImportedEvent,
    ParsedCalendar,
    Problem,
    SkippedEvent,
    SkipReason,
    parse_calendar,
    read_calendar,
    readable_line,
)
from portal.services.errors import InvalidInput, NotFound

__all__ = [
    "MAX_BYTES",
    "MAX_EVENTS",
    "NAME_MAX_LENGTH",
    "UID_MAX_LENGTH",
    "Change",
    "ImportResult",
    "ImportedEvent",
    "ParsedCalendar",
    "PlannedClosure",
    "Problem",
    "SkipReason",
    "SkippedEvent",
    "category_counts",
    "choose",
    "close_on_events",
    "closures_gone",
    "discard_import",
    "import_of",
    "keep_import",
    "parse_calendar",
    "parsed_of",
    "plan_closures",
    "read_calendar",
    "save_closures",
]

FILENAME_MAX_LENGTH = 200  # CalendarImport.filename


# --- choosing -----------------------------------------------------------------


def category_counts(events: Iterable[ImportedEvent], today: date) -> list[tuple[str, int]]:
    """The categories of the events that can close the offices, with how many each has."""
    counts = Counter(category for event in events if event.can_close(today) for category in event.categories)
    return sorted(counts.items(), key=lambda item: item[0].casefold())


def choose(
    events: Iterable[ImportedEvent], *, categories: Iterable[str], uids: Iterable[str], today: date
) -> list[ImportedEvent]:
    """The events that close the offices: those of a chosen category, and those chosen one by one."""
    categories, uids = set(categories), set(uids)
    return [
        event
        for event in events
        if event.can_close(today) and (event.uid in uids or not categories.isdisjoint(event.categories))
    ]


class Change(StrEnum):
    ADD = "add"
    UPDATE = "update"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class PlannedClosure:
    event: ImportedEvent
    # The closure an earlier import made from this event, if any.
    closure: Closure | None

    @property
    def change(self) -> Change:
        if self.closure is None:
            return Change.ADD
        same = (self.closure.first_day, self.closure.last_day, self.closure.name)
        if same == (self.event.first_day, self.event.last_day, self.event.name):
            return Change.UNCHANGED
        return Change.UPDATE


def plan_closures(db: Session, chosen: list[ImportedEvent]) -> list[PlannedClosure]:
    """What saving the chosen events would do to the closures."""
    uids = [event.uid for event in chosen]
    existing: dict[str, Closure] = {}
    for start in range(0, len(uids), 500):
        statement = select(Closure).where(Closure.source_uid.in_(uids[start : start + 500]))
        existing.update((closure.source_uid or "", closure) for closure in db.scalars(statement))
    return [PlannedClosure(event, existing.get(event.uid)) for event in chosen]


def closures_gone(db: Session, parsed: ParsedCalendar, today: date) -> list[Closure]:
    """The closures still to come that an earlier import made from an event this file no
    longer has, or has as cancelled."""
    events = {event.uid: event for event in parsed.events}
    imported = select(Closure).where(Closure.source_uid.is_not(None), Closure.last_day >= today)
    return [
        closure
        for closure in db.scalars(imported.order_by(Closure.first_day, Closure.id))
        if (event := events.get(closure.source_uid or "")) is None or event.problem is Problem.CANCELLED
    ]


# --- keeping and saving -------------------------------------------------------


def keep_import(db: Session, actor: User, filename: str, parsed: ParsedCalendar, *, now: datetime) -> CalendarImport:
    """Keep an uploaded file's events for its preview. An administrator has one upload
    waiting at a time: a new one replaces any they left unsaved."""
    scope.require_admin(actor)
    db.execute(delete(CalendarImport).where(CalendarImport.created_by_id == actor.id))
    imported = CalendarImport(
        filename=readable_line(filename, FILENAME_MAX_LENGTH) or "calendar.ics",
        events=parsed.as_json(),
        created_by_id=actor.id,
        created_at=now,
    )
    db.add(imported)
    db.flush()
    audit.record(
        db,
        actor,
        "calendar.import_uploaded",
        imported,
        now=now,
        after={"filename": imported.filename, "events": len(parsed.events), "skipped": len(parsed.skipped)},
    )
    return imported


def import_of(db: Session, actor: User, import_id: int) -> CalendarImport:
    """An upload waiting for its save: only the administrator who uploaded it may see it."""
    scope.require_admin(actor)
    imported = db.get(CalendarImport, import_id)
    if imported is None or imported.created_by_id != actor.id:
        raise NotFound(refused=imported is not None)
    return imported


def parsed_of(imported: CalendarImport) -> ParsedCalendar:
    return ParsedCalendar.from_json(imported.events)


def discard_import(db: Session, actor: User, import_id: int, *, now: datetime) -> None:
    imported = import_of(db, actor, import_id)
    audit.record(db, actor, "calendar.import_discarded", imported, now=now, after={"filename": imported.filename})
    db.delete(imported)


@dataclass
class ImportResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    # The closures added, updated (as their new days) and removed: what families are told
    # moved their promise.
    changes: list[district_calendar.ClosureChange] = field(default_factory=list)

    def reason(self) -> list[district_calendar.ClosureChange] | None:
        """Why promises may have moved; None when no closure changed."""
        return self.changes or None


def save_closures(
    db: Session,
    actor: User,
    imported: CalendarImport,
    chosen: list[ImportedEvent],
    *,
    now: datetime,
    today: date,
    removals: Iterable[int] = (),
) -> ImportResult:
    """Close the offices on the chosen events: a closure per event, or the closure an
    earlier import made from the same UID brought up to date; and open them again on the
    closures gone from the file that the administrator chose to remove (`removals`, ids
    among `closures_gone`). The upload is then done."""
    scope.require_admin(actor)
    removing = {closure.id: closure for closure in closures_gone(db, parsed_of(imported), today)}
    removal_ids = set(removals) & removing.keys()
    if not chosen and not removal_ids:
        raise InvalidInput(_l("Choose at least one category or event that closes the offices."), field="events")
    result = ImportResult()
    close_on_events(db, actor, chosen, result, now=now)
    for closure_id in sorted(removal_ids):
        gone = district_calendar.remove_closure(db, actor, closure_id, now=now)
        result.removed += 1
        result.changes.append(district_calendar.ClosureChange.of("closure_removed", gone))
    audit.record(
        db,
        actor,
        "calendar.imported",
        imported,
        now=now,
        after={
            "filename": imported.filename,
            "added": result.added,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "removed": result.removed,
        },
    )
    db.delete(imported)
    db.flush()
    return result


def close_on_events(
    db: Session, actor: User, chosen: list[ImportedEvent], result: ImportResult, *, now: datetime
) -> None:
    """A closure per chosen event, or the closure made earlier from the same UID brought
    up to date; counted in `result`, with the days each change closes and opens."""
    for planned in plan_closures(db, chosen):
        event = planned.event
        if planned.change is Change.UNCHANGED:
            result.unchanged += 1
            continue
        if planned.closure is None:
            result.added += 1
            closure = district_calendar.add_closure(
                db, actor, event.first_day, event.last_day, event.name, now=now, source_uid=event.uid
            )
        else:
            result.updated += 1
            result.changes.append(district_calendar.ClosureChange.of("closure_removed", planned.closure))
            closure = _update_closure(db, actor, planned.closure, event, now=now)
        result.changes.append(district_calendar.ClosureChange.of("closure_added", closure))


def _update_closure(db: Session, actor: User, closure: Closure, event: ImportedEvent, *, now: datetime) -> Closure:
    before = _audited(closure)
    closure.first_day, closure.last_day, closure.name = event.first_day, event.last_day, event.name
    audit.record(db, actor, "calendar.closure_updated", closure, now=now, before=before, after=_audited(closure))
    return closure


def _audited(closure: Closure) -> dict[str, str]:
    return {"first_day": closure.first_day.isoformat(), "last_day": closure.last_day.isoformat(), "name": closure.name}
