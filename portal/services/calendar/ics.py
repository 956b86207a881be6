"""Reading the calendar a district publishes as an iCalendar (.ics) file.

Reading (`read_calendar`, `parse_calendar`) is pure: text in, plain `ImportedEvent`s
out, with bounded work on whatever arrives (the uploads guard's size limit, at most
MAX_EVENTS events, names and categories cut to their columns' lengths), and
`InvalidInput` as the only error. Only all-day events can close the offices: a timed
event (a board meeting at 19:00) does not close a day. Repeating events (RRULE, RDATE
and their moved occurrences) are listed but not imported: expanding them means
guessing a horizon, and districts publish holidays as single events.
"""

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from icalendar import Calendar

from portal.services import uploads
from portal.services.calendar import district_calendar
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
        calendars = Calendar.from_ical(_without_calendar_properties(text), multiple=True)
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


def _without_calendar_properties(text: str) -> str:
    """`text` without the calendar's own properties (its name, colour, refresh interval,
    publisher's extensions, ...): nothing here reads them, and the parser refuses the
    whole file over one it cannot decode, like the common `REFRESH-INTERVAL;VALUE=
    DURATION:P1H` (P1H is not a valid duration). Components, with every property
    of theirs, are kept as they are."""
    kept: list[str] = []
    depth = 0
    dropping = False
    for line in text.splitlines(keepends=True):
        if line[:1] in (" ", "\t"):  # the folded continuation of the line before
            if not dropping:
                kept.append(line)
            continue
        marker = line[:6].upper()
        if marker.startswith("BEGIN:"):
            depth += 1
        elif marker.startswith("END:"):
            depth -= 1
        else:
            dropping = depth == 1
            if dropping:
                continue
        dropping = False
        kept.append(line)
    return "".join(kept)


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
    name = readable_line(_text(component.get("SUMMARY")), NAME_MAX_LENGTH)
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
