"""Reading the calendar a district publishes as an iCalendar (.ics) file.

Reading (`read_calendar`, `parse_calendar`) is pure: text in, plain `ImportedEvent`s
out, with bounded work on whatever arrives (the uploads guard's size limit, at most
MAX_EVENTS events, names and categories cut to their columns' lengths), and
`InvalidInput` as the only error, for a file that is no calendar at all.

Districts' files come from many tools (Google Calendar, Outlook, school-site
systems), so reading is tolerant: the calendar's own properties are not read, unknown
properties are ignored, and an event that cannot be read is skipped with its line
number and the reason (`SkippedEvent`) while the rest imports. Only all-day events
can close the offices: a timed event (a board meeting at 19:00) does not close a
day. A repeating all-day event is offered as its dates in the year from its start
(`recurrence`); a moved or cancelled occurrence (RECURRENCE-ID) replaces its date.
"""

import hashlib
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from portal.catalogs import lazy_gettext as _l
from portal.services import uploads
from portal.services.calendar import district_calendar, ics_text, recurrence
from portal.services.errors import InvalidInput

MAX_BYTES = 1024 * 1024
EXTENSIONS = (".ics", ".ical")
MAX_EVENTS = 2000
# Every BEGIN line: events, their alarms, time zones with their rules.
MAX_COMPONENTS = 4 * MAX_EVENTS
NAME_MAX_LENGTH = 120  # Closure.name
UID_MAX_LENGTH = 255  # Closure.source_uid
CATEGORY_MAX_LENGTH = 60
MAX_CATEGORIES_PER_EVENT = 10

BEGIN_LINE = re.compile(r"^BEGIN:", re.IGNORECASE | re.MULTILINE)
BEGIN_EVENT_LINE = re.compile(r"^BEGIN:VEVENT\s*$", re.IGNORECASE | re.MULTILINE)
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class Problem(StrEnum):
    """Why an event in the file cannot close the offices."""

    TIMED = "timed"
    REPEATS = "repeats"  # a repeating event whose rule cannot be read
    TOO_LONG = "too_long"
    CANCELLED = "cancelled"
    UNTITLED = "untitled"


class SkipReason(StrEnum):
    """Why an event of the file is skipped: it cannot be listed at all."""

    UNREADABLE = "unreadable"  # the event's text is broken (a bad line, no END)
    NO_START = "no_start"
    BAD_DATE = "bad_date"
    SAME_UID = "same_uid"  # the UID of an event earlier in the file


@dataclass(frozen=True)
class SkippedEvent:
    line: int  # of the event's BEGIN:VEVENT
    reason: SkipReason
    same_as_line: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {"line": self.line, "reason": self.reason.value, "same_as_line": self.same_as_line}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "SkippedEvent":
        return cls(data["line"], SkipReason(data["reason"]), data.get("same_as_line"))


@dataclass(frozen=True)
class ImportedEvent:
    """An event of the file (or one date of a repeating one): local dates, both
    included, as a closure keeps them."""

    uid: str
    name: str
    first_day: date
    last_day: date
    categories: tuple[str, ...] = ()
    problem: Problem | None = None
    line: int = 0  # of the event's BEGIN:VEVENT

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
            "line": self.line,
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
            line=data.get("line", 0),
        )


@dataclass(frozen=True)
class ParsedCalendar:
    events: list[ImportedEvent]
    skipped: list[SkippedEvent] = field(default_factory=list)
    # Repeating events whose dates run on beyond what is offered (a year, MAX_OCCURRENCES).
    cut_repeats: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "events": [event.as_json() for event in self.events],
            "skipped": [skipped.as_json() for skipped in self.skipped],
            "cut_repeats": self.cut_repeats,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ParsedCalendar":
        return cls(
            [ImportedEvent.from_json(event) for event in data["events"]],
            [SkippedEvent.from_json(skipped) for skipped in data.get("skipped", [])],
            data.get("cut_repeats", 0),
        )


# --- reading the file -------------------------------------------------------


def read_calendar(data: bytes, filename: str) -> ParsedCalendar:
    """An uploaded .ics file's events, or InvalidInput saying plainly what is wrong."""
    text = uploads.read_text_upload(data, filename, extensions=EXTENSIONS, max_bytes=MAX_BYTES)
    return parse_calendar(text)


def _refuse(message: str) -> InvalidInput:
    return InvalidInput(message, field="file")


NOT_A_CALENDAR = _l("This file is not a calendar we can read. Export the calendar as .ics.")


def parse_calendar(text: str) -> ParsedCalendar:
    """The events of an iCalendar text, sorted by date; the events that cannot be read,
    with their lines."""
    # Counted before parsing, so an oversized file costs a regular expression, not a parse.
    if len(BEGIN_EVENT_LINE.findall(text)) > MAX_EVENTS or len(BEGIN_LINE.findall(text)) > MAX_COMPONENTS:
        raise _refuse(_l("The file has more than %(count)d events. Export one school year.", count=MAX_EVENTS))
    found = ics_text.split(text)
    if not found.calendars:
        raise _refuse(NOT_A_CALENDAR)
    if not found.events:
        raise _refuse(_l("The file has no events."))
    skipped: list[SkippedEvent] = []
    components: list[tuple[int, Any]] = []
    for line, component in ics_text.parse_events(found):
        if component is None:
            skipped.append(SkippedEvent(line, SkipReason.UNREADABLE))
        else:
            components.append((line, component))
    if not components:
        raise _refuse(NOT_A_CALENDAR)
    return _listed(components, skipped)


def _listed(components: list[tuple[int, Any]], skipped: list[SkippedEvent]) -> ParsedCalendar:
    spellings: dict[str, str] = {}
    events: dict[str, ImportedEvent] = {}
    lines_of: dict[str, int] = {}
    repeating: list[tuple[Any, ImportedEvent]] = []
    for line, component in components:
        try:
            event = _event(component, spellings, line)
        except MissingStart:
            skipped.append(SkippedEvent(line, SkipReason.NO_START))
            continue
        except Exception:
            # Properties are decoded lazily: a broken date shows only here, and loses one event.
            skipped.append(SkippedEvent(line, SkipReason.BAD_DATE))
            continue
        if event.uid in events:
            skipped.append(SkippedEvent(line, SkipReason.SAME_UID, same_as_line=lines_of[event.uid]))
            continue
        events[event.uid], lines_of[event.uid] = event, line
        if event.problem is None and _repeats(component):
            repeating.append((component, event))
    cut = 0
    for component, event in repeating:
        series = event.uid
        moved = [_recurrence_day(uid, series) for uid in events if uid.startswith(series + "/")]
        try:
            days, more = recurrence.occurrence_days(component, event.first_day, [day for day in moved if day])
        except recurrence.Unreadable:
            events[series] = replace(event, problem=Problem.REPEATS)
            continue
        del events[series]
        length = event.last_day - event.first_day
        for day in days:
            if len(events) >= MAX_EVENTS:  # the file's own events come first
                more = True
                break
            occurrence = replace(event, uid=_occurrence_uid(series, day), first_day=day, last_day=day + length)
            events.setdefault(occurrence.uid, occurrence)
        cut += more
    ordered = sorted(events.values(), key=lambda e: (e.first_day, e.last_day, e.name, e.uid))
    return ParsedCalendar(ordered, sorted(skipped, key=lambda s: s.line), cut)


class MissingStart(ValueError):
    """An event without DTSTART: it has no day to close."""


def _repeats(component: Any) -> bool:
    return any(component.get(prop) is not None for prop in ("RRULE", "RDATE"))


def _occurrence_uid(series: str, day: date) -> str:
    """The key of one date of a repeating event: as a moved occurrence of that date has it."""
    uid = f"{series}/{day.isoformat()}"
    return uid if len(uid) <= UID_MAX_LENGTH else "sha256-" + hashlib.sha256(uid.encode()).hexdigest()


def _recurrence_day(uid: str, series: str) -> date | None:
    """The original date of a moved occurrence, from its key."""
    try:
        return date.fromisoformat(uid[len(series) + 1 :][:10])
    except ValueError:
        return None


def _event(component: Any, spellings: dict[str, str], line: int) -> ImportedEvent:
    start = _single(component.get("DTSTART"))
    if start is None:
        raise MissingStart()
    begins = start.dt
    all_day = isinstance(begins, date) and not isinstance(begins, datetime)
    if isinstance(begins, datetime) and _all_day_by_outlook(component, begins):
        all_day, begins = True, begins.date()
    if all_day:
        first_day, last_day = begins, _last_day_of_all_day(component, begins)
    elif isinstance(begins, datetime):
        first_day = begins.date()
        end = _single(component.get("DTEND"))
        last_day = max(first_day, end.dt.date()) if end is not None and isinstance(end.dt, datetime) else first_day
    else:
        raise ValueError("DTSTART is neither a date nor a date-time")
    name = readable_line(_text(component.get("SUMMARY")), NAME_MAX_LENGTH)
    return ImportedEvent(
        uid=_uid(component, name, first_day),
        name=name,
        first_day=first_day,
        last_day=last_day,
        categories=_categories(component.get("CATEGORIES"), spellings),
        problem=_problem(component, all_day=all_day, days=(last_day - first_day).days + 1, name=name),
        line=line,
    )


def _all_day_by_outlook(component: Any, begins: datetime) -> bool:
    """Outlook and Exchange may write an all-day event as midnight to midnight in a time
    zone, marked with their own property; it is all-day all the same."""
    marked = any(
        _text(component.get(name)).strip().upper() == "TRUE"
        for name in ("X-MICROSOFT-CDO-ALLDAYEVENT", "X-MICROSOFT-MSNCALENDAR-ALLDAYEVENT")
    )
    return marked and begins.time() == time(0)


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
            category = readable_line(str(raw), CATEGORY_MAX_LENGTH)
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


def readable_line(text: str, max_length: int) -> str:
    """One line of readable text: no control characters, single spaces, cut to its column.
    Unlike text.clean_text (what people type, refused with a message to correct), a
    district's file is taken as it is and made readable: nobody is there to correct it."""
    return " ".join(CONTROL_CHARACTERS.sub(" ", text).split())[:max_length].rstrip()
