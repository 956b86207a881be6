"""Closures from the calendar a district publishes as an iCalendar (.ics) file.

Reading (`read_calendar`, `parse_calendar`) is pure: text in, plain `ImportedEvent`s
out, with bounded work on whatever arrives (the uploads guard's size limit, at most
MAX_EVENTS events, names and categories cut to their columns' lengths), and
`InvalidInput` as the only error. Only all-day events can close the offices: a timed
event (a board meeting at 19:00) does not close a day. Repeating events (RRULE, RDATE
and their moved occurrences) are listed but not imported: expanding them means
guessing a horizon, and districts publish holidays as single events.

Saving keeps an upload between its preview and the save (`keep_import`), then turns the
chosen events into closures keyed by the event's UID (`save_closures`), so importing an
updated file updates those closures instead of duplicating them.
"""

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from icalendar import Calendar
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from portal.models import CalendarImport, Closure, User
from portal.services import audit, scope, uploads
from portal.services.calendar import district_calendar
from portal.services.errors import InvalidInput, NotFound

MAX_BYTES = 1024 * 1024
EXTENSIONS = (".ics", ".ical")
MAX_EVENTS = 2000
# Every BEGIN line: events, their alarms, time zones with their rules.
MAX_COMPONENTS = 4 * MAX_EVENTS
NAME_MAX_LENGTH = 120  # Closure.name
UID_MAX_LENGTH = 255  # Closure.source_uid
FILENAME_MAX_LENGTH = 200  # CalendarImport.filename
CATEGORY_MAX_LENGTH = 60
MAX_CATEGORIES_PER_EVENT = 10
# How many closure names a family reads when an import moved their promise.
NAMES_IN_REASON = 3

BEGIN_LINE = re.compile(r"^BEGIN:", re.IGNORECASE | re.MULTILINE)
BEGIN_EVENT_LINE = re.compile(r"^BEGIN:VEVENT\s*$", re.IGNORECASE | re.MULTILINE)
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class Problem(StrEnum):
    """Why an event in the file cannot close the offices."""

    TIMED = "timed"
    REPEATS = "repeats"
    TOO_LONG = "too_long"
    CANCELLED = "cancelled"
    UNTITLED = "untitled"


@dataclass(frozen=True)
class ImportedEvent:
    """An event of the file: local dates, both included, as a closure keeps them."""

    uid: str
    name: str
    first_day: date
    last_day: date
    categories: tuple[str, ...] = ()
    problem: Problem | None = None

    def can_close(self, today: date) -> bool:
        """An all-day event that has not ended yet; past days change no promise."""
        return self.problem is None and self.last_day >= today

    def as_json(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "name": self.name,
            "first_day": self.first_day.isoformat(),
            "last_day": self.last_day.isoformat(),
            "categories": list(self.categories),
            "problem": self.problem.value if self.problem else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ImportedEvent":
        return cls(
            uid=data["uid"],
            name=data["name"],
            first_day=date.fromisoformat(data["first_day"]),
            last_day=date.fromisoformat(data["last_day"]),
            categories=tuple(data["categories"]),
            problem=Problem(data["problem"]) if data["problem"] else None,
        )


@dataclass(frozen=True)
class ParsedCalendar:
    events: list[ImportedEvent]
    # Events left out: unreadable dates, or a UID seen earlier in the file.
    left_out: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"events": [event.as_json() for event in self.events], "left_out": self.left_out}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ParsedCalendar":
        return cls([ImportedEvent.from_json(event) for event in data["events"]], data["left_out"])


# --- reading the file -------------------------------------------------------


def read_calendar(data: bytes, filename: str) -> ParsedCalendar:
    """An uploaded .ics file's events, or InvalidInput saying plainly what is wrong."""
    text = uploads.read_text_upload(data, filename, extensions=EXTENSIONS, max_bytes=MAX_BYTES)
    return parse_calendar(text)


def _refuse(message: str) -> InvalidInput:
    return InvalidInput(message, field="file")


def parse_calendar(text: str) -> ParsedCalendar:
    """The events of an iCalendar text, sorted by date."""
    # Counted before parsing, so an oversized file costs a regular expression, not a parse.
    if len(BEGIN_EVENT_LINE.findall(text)) > MAX_EVENTS or len(BEGIN_LINE.findall(text)) > MAX_COMPONENTS:
        raise _refuse(_l("The file has more than %(count)d events. Export one school year.", count=MAX_EVENTS))
    try:
        calendars = Calendar.from_ical(text, multiple=True)
    except Exception as error:
        # The parser answers malformed input with many kinds of exceptions; all mean the same here.
        raise _refuse(_l("This file is not a calendar we can read. Export the calendar as .ics.")) from error
    if not calendars or any(calendar.name != "VCALENDAR" for calendar in calendars):
        raise _refuse(_l("This file is not a calendar we can read. Export the calendar as .ics."))
    components = [sub for calendar in calendars for sub in calendar.subcomponents if sub.name == "VEVENT"]
    if not components:
        raise _refuse(_l("The file has no events."))
    if len(components) > MAX_EVENTS:
        raise _refuse(_l("The file has more than %(count)d events. Export one school year.", count=MAX_EVENTS))
    spellings: dict[str, str] = {}
    events: dict[str, ImportedEvent] = {}
    left_out = 0
    for component in components:
        try:
            event = _event(component, spellings)
        except Exception:
            # Properties are decoded lazily: a broken date shows only here, and loses one event.
            left_out += 1
            continue
        if event.uid in events:
            left_out += 1
            continue
        events[event.uid] = event
    return ParsedCalendar(sorted(events.values(), key=lambda e: (e.first_day, e.last_day, e.name)), left_out)


def _event(component: Any, spellings: dict[str, str]) -> ImportedEvent:
    start = _single(component.get("DTSTART"))
    if start is None:
        raise ValueError("no DTSTART")
    begins = start.dt
    all_day = isinstance(begins, date) and not isinstance(begins, datetime)
    if all_day:
        first_day, last_day = begins, _last_day_of_all_day(component, begins)
    elif isinstance(begins, datetime):
        first_day = begins.date()
        end = _single(component.get("DTEND"))
        last_day = max(first_day, end.dt.date()) if end is not None and isinstance(end.dt, datetime) else first_day
    else:
        raise ValueError("DTSTART is neither a date nor a date-time")
    name = clean_text(_text(component.get("SUMMARY")), NAME_MAX_LENGTH)
    return ImportedEvent(
        uid=_uid(component, name, first_day),
        name=name,
        first_day=first_day,
        last_day=last_day,
        categories=_categories(component.get("CATEGORIES"), spellings),
        problem=_problem(component, all_day=all_day, days=(last_day - first_day).days + 1, name=name),
    )


def _last_day_of_all_day(component: Any, first_day: date) -> date:
    """RFC 5545: an all-day DTEND is exclusive; without DTEND (or DURATION) the event is one day."""
    end = _single(component.get("DTEND"))
    if end is not None:
        ends = end.dt.date() if isinstance(end.dt, datetime) else end.dt
        if not isinstance(ends, date):
            raise ValueError("DTEND is not a date")
        # Some exporters write DTEND equal to DTSTART for a one-day event.
        return max(first_day, ends - timedelta(days=1))
    duration = _single(component.get("DURATION"))
    if duration is not None and isinstance(duration.dt, timedelta):
        return first_day + timedelta(days=max(duration.dt.days, 1) - 1)
    return first_day


def _problem(component: Any, *, all_day: bool, days: int, name: str) -> Problem | None:
    if _text(component.get("STATUS")).strip().upper() == "CANCELLED":
        return Problem.CANCELLED
    if any(component.get(prop) is not None for prop in ("RRULE", "RDATE", "RECURRENCE-ID")):
        return Problem.REPEATS
    if not all_day:
        return Problem.TIMED
    if days > district_calendar.MAX_CLOSURE_DAYS:
        return Problem.TOO_LONG
    if not name:
        return Problem.UNTITLED
    return None


def _uid(component: Any, name: str, first_day: date) -> str:
    """The closure's source_uid: the event's UID, with the date of a moved occurrence."""
    uid = CONTROL_CHARACTERS.sub("", _text(component.get("UID"))).strip()
    if not uid:
        # RFC 5545 requires a UID; without one, the same event in a re-import is found by its name and day.
        uid = "no-uid-" + hashlib.sha256(f"{name}\n{first_day.isoformat()}".encode()).hexdigest()[:40]
    recurrence = _single(component.get("RECURRENCE-ID"))
    if recurrence is not None:
        uid = f"{uid}/{recurrence.dt.isoformat()}"
    if len(uid) > UID_MAX_LENGTH:
        uid = "sha256-" + hashlib.sha256(uid.encode()).hexdigest()
    return uid


def _categories(value: Any, spellings: dict[str, str]) -> tuple[str, ...]:
    """The event's categories, each spelled as it was first spelled in the file."""
    found: list[str] = []
    items = value if isinstance(value, list) else [] if value is None else [value]
    for item in items:
        cats = getattr(item, "cats", None)
        for raw in cats if cats is not None else str(item).split(","):
            category = clean_text(str(raw), CATEGORY_MAX_LENGTH)
            if not category:
                continue
            category = spellings.setdefault(category.casefold(), category)
            if category not in found:
                found.append(category)
            if len(found) == MAX_CATEGORIES_PER_EVENT:
                return tuple(found)
    return tuple(found)


def _single(value: Any) -> Any:
    """A property given twice arrives as a list: the first one counts."""
    return value[0] if isinstance(value, list) and value else value


def _text(value: Any) -> str:
    value = _single(value)
    return "" if value is None else str(value)


def clean_text(text: str, max_length: int) -> str:
    """One line of readable text: no control characters, single spaces, cut to its column."""
    return " ".join(CONTROL_CHARACTERS.sub(" ", text).split())[:max_length].rstrip()


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


# --- keeping and saving -------------------------------------------------------


def keep_import(db: Session, actor: User, filename: str, parsed: ParsedCalendar, *, now: datetime) -> CalendarImport:
    """Keep an uploaded file's events for its preview. An administrator has one upload
    waiting at a time: a new one replaces any they left unsaved."""
    scope.require_admin(actor)
    db.execute(delete(CalendarImport).where(CalendarImport.created_by_id == actor.id))
    imported = CalendarImport(
        filename=clean_text(filename, FILENAME_MAX_LENGTH) or "calendar.ics",
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
        after={"filename": imported.filename, "events": len(parsed.events), "left_out": parsed.left_out},
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
    # The closures added or updated, by date: what families are told moved their promise.
    changed: list[Closure] = field(default_factory=list)

    def reason(self) -> dict[str, str] | None:
        """Why promises moved, as the request page reads it; None when nothing changed."""
        if not self.changed:
            return None
        names = [closure.name for closure in self.changed[:NAMES_IN_REASON]]
        more = "…" if len(self.changed) > NAMES_IN_REASON else ""
        return {"kind": "closure_added", "name": ", ".join(names) + more}


def save_closures(
    db: Session, actor: User, imported: CalendarImport, chosen: list[ImportedEvent], *, now: datetime
) -> ImportResult:
    """Close the offices on the chosen events: a closure per event, or the closure an
    earlier import made from the same UID brought up to date. The upload is then done."""
    scope.require_admin(actor)
    if not chosen:
        raise InvalidInput(_l("Choose at least one category or event that closes the offices."), field="events")
    result = ImportResult()
    for planned in plan_closures(db, chosen):
        event, change = planned.event, planned.change
        if change is Change.UNCHANGED:
            result.unchanged += 1
        elif planned.closure is None:
            result.added += 1
            result.changed.append(
                district_calendar.add_closure(
                    db, actor, event.first_day, event.last_day, event.name, now=now, source_uid=event.uid
                )
            )
        else:
            result.updated += 1
            result.changed.append(_update_closure(db, actor, planned.closure, event, now=now))
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
        },
    )
    db.delete(imported)
    db.flush()
    return result


def _update_closure(db: Session, actor: User, closure: Closure, event: ImportedEvent, *, now: datetime) -> Closure:
    before = _audited(closure)
    closure.first_day, closure.last_day, closure.name = event.first_day, event.last_day, event.name
    audit.record(db, actor, "calendar.closure_updated", closure, now=now, before=before, after=_audited(closure))
    return closure


def _audited(closure: Closure) -> dict[str, str]:
    return {"first_day": closure.first_day.isoformat(), "last_day": closure.last_day.isoformat(), "name": closure.name}
