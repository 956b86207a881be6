"""An iCalendar text cut into the parts the portal reads, with their line numbers: its
events and the time zones they refer to. The calendar's own properties (its name,
colour, refresh interval, publisher's extensions) are left behind: nothing here reads
them, and the parser refuses a whole file over one it cannot decode, like the common
`REFRESH-INTERVAL;VALUE=DURATION:P1H` (P1H is not a valid duration). Other components
(to-dos, journal entries, free/busy) are left behind too.

The events are parsed together, the quick way; when the parser refuses that, each
event is parsed on its own, so that one broken event is skipped and the others kept.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from icalendar import Calendar


@dataclass
class Block:
    line: int  # of its BEGIN line, counting from 1
    lines: list[str] = field(default_factory=list)
    closed: bool = False

    @property
    def text(self) -> str:
        return "".join(self.lines)


@dataclass
class SplitCalendar:
    calendars: int = 0
    events: list[Block] = field(default_factory=list)
    time_zones: dict[str, Block] = field(default_factory=dict)  # by TZID


def split(text: str) -> SplitCalendar:
    """The events and time zones of every VCALENDAR in `text`. An event ends at its own
    END:VEVENT even when a component inside it was left open, and an event left open
    ends where the next one begins: one broken event does not swallow the rest."""
    found = SplitCalendar()
    depth = 0
    block: Block | None = None
    kind = ""
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        folded = line[:1] in (" ", "\t")  # the continuation of the line before
        marker = "" if folded else line.strip().upper()
        if marker in ("BEGIN:VEVENT", "BEGIN:VTIMEZONE") and depth <= 2:
            if block is not None:
                _keep(found, block)  # left open
            block, kind, depth = Block(number), marker[6:], 2
            block.lines.append(_ended(line))
            continue
        if marker.startswith("BEGIN:"):
            depth += 1
            found.calendars += marker == "BEGIN:VCALENDAR" and depth == 1
        elif marker.startswith("END:"):
            depth = max(depth - 1, 0)
        if block is not None:
            block.lines.append(_ended(line))
            if marker == f"END:{kind}" or depth < 2:
                block.closed = marker == f"END:{kind}"
                _keep(found, block)
                block, depth = None, 1 if depth else 0
    if block is not None:  # a file cut off inside a component
        _keep(found, block)
    return found


def _ended(line: str) -> str:
    return line if line.endswith(("\n", "\r")) else line + "\r\n"


def _keep(found: SplitCalendar, block: Block) -> None:
    if block.lines[0].strip().upper() == "BEGIN:VEVENT":
        found.events.append(block)
        return
    tzid = next((line.split(":", 1)[1].strip() for line in block.lines if line.upper().startswith("TZID:")), "")
    if tzid and block.closed:
        found.time_zones.setdefault(tzid, block)


def parse_events(found: SplitCalendar) -> Iterator[tuple[int, Any | None]]:
    """(line, parsed VEVENT) for each event in file order; None for an event that
    cannot be parsed."""
    whole = _parse(list(found.time_zones.values()), [block for block in found.events if block.closed])
    if whole is not None and len(whole) == sum(block.closed for block in found.events):
        parsed = iter(whole)
        for block in found.events:
            yield block.line, next(parsed) if block.closed else None
        return
    for block in found.events:
        if not block.closed:
            yield block.line, None
            continue
        zones = [zone for tzid, zone in found.time_zones.items() if tzid in block.text]
        alone = _parse(zones, [block])
        yield block.line, alone[0] if alone else None


def _parse(zones: list[Block], events: list[Block]) -> list[Any] | None:
    """The VEVENTs of a calendar made of these blocks; None when the parser refuses it."""
    text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Family Portal//Import//EN\r\n"
    text += "".join(block.text for block in (*zones, *events)) + "END:VCALENDAR\r\n"
    try:
        calendar = Calendar.from_ical(text)
    except Exception:
        # The parser answers malformed input with many kinds of exceptions; all mean the same here.
        return None
    return [component for component in calendar.subcomponents if component.name == "VEVENT"]
