"""Calendars as districts publish them, made up here from the shapes their tools are
documented to write: Google Calendar, Outlook/Exchange, a school-site CMS, and a file
heavy with VTIMEZONE definitions. Each imports; what cannot be read is skipped with its
line and the rest is kept."""

from datetime import date

import pytest

from portal.services.calendar import calendar_import
from portal.services.calendar.calendar_import import ImportedEvent, ParsedCalendar, Problem, SkipReason

TODAY = date(2026, 11, 1)

GOOGLE = """BEGIN:VCALENDAR
PRODID:-//Google Inc//Google Calendar 70.9054//EN
VERSION:2.0
CALSCALE:GREGORIAN
METHOD:PUBLISH
X-WR-CALNAME:Lincoln USD 2026-27
X-WR-TIMEZONE:America/Los_Angeles
X-WR-CALDESC:Holidays\\, breaks and early release days
BEGIN:VTIMEZONE
TZID:America/Los_Angeles
X-LIC-LOCATION:America/Los_Angeles
BEGIN:DAYLIGHT
TZOFFSETFROM:-0800
TZOFFSETTO:-0700
TZNAME:PDT
DTSTART:19700308T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:-0700
TZOFFSETTO:-0800
TZNAME:PST
DTSTART:19701101T020000
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
DTSTART;VALUE=DATE:20261126
DTEND;VALUE=DATE:20261128
DTSTAMP:20261101T120000Z
UID:0f4r6p2l9v3k8s1m7q5t@google.com
CREATED:20260601T170000Z
DESCRIPTION:No school for students or staff.
LAST-MODIFIED:20260601T170000Z
LOCATION:
SEQUENCE:0
STATUS:CONFIRMED
SUMMARY:Thanksgiving Break - No School
TRANSP:TRANSPARENT
END:VEVENT
BEGIN:VEVENT
DTSTART;TZID=America/Los_Angeles:20261208T180000
DTEND;TZID=America/Los_Angeles:20261208T200000
DTSTAMP:20261101T120000Z
UID:6a1b2c3d4e5f@google.com
SUMMARY:Board of Education meeting
STATUS:CONFIRMED
END:VEVENT
BEGIN:VEVENT
DTSTART;VALUE=DATE:20261202
DTEND;VALUE=DATE:20261203
RRULE:FREQ=WEEKLY;WKST=SU;UNTIL=20261230;BYDAY=WE
EXDATE;VALUE=DATE:20261223
DTSTAMP:20261101T120000Z
UID:7early7release7@google.com
SUMMARY:Early release Wednesday
STATUS:CONFIRMED
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:This is an event reminder
TRIGGER:-P0DT0H30M0S
END:VALARM
END:VEVENT
BEGIN:VEVENT
DTSTART;VALUE=DATE:20261130
DTEND;VALUE=DATE:20261201
DTSTAMP:20261101T120000Z
UID:cancelled1@google.com
SUMMARY:Staff development day
STATUS:CANCELLED
END:VEVENT
END:VCALENDAR
"""

OUTLOOK = """BEGIN:VCALENDAR\r
METHOD:PUBLISH\r
PRODID:Microsoft Exchange Server 2010\r
VERSION:2.0\r
X-WR-CALNAME:District Office Calendar\r
BEGIN:VTIMEZONE\r
TZID:Pacific Standard Time\r
BEGIN:STANDARD\r
DTSTART:16010101T020000\r
TZOFFSETFROM:-0700\r
TZOFFSETTO:-0800\r
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=1SU;BYMONTH=11\r
END:STANDARD\r
BEGIN:DAYLIGHT\r
DTSTART:16010101T020000\r
TZOFFSETFROM:-0800\r
TZOFFSETTO:-0700\r
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=2SU;BYMONTH=3\r
END:DAYLIGHT\r
END:VTIMEZONE\r
BEGIN:VEVENT\r
DESCRIPTION:\\n\r
UID:040000008200E00074C5B7101A82E00800000000D0C7A1B2C3D4DA01000000000000000010\r
 000000A1B2C3D4E5F60718293A4B5C6D7E8F90\r
SUMMARY;LANGUAGE=en-US:Winter Recess\r
DTSTART;TZID=Pacific Standard Time:20261221T000000\r
DTEND;TZID=Pacific Standard Time:20270102T000000\r
CLASS:PUBLIC\r
PRIORITY:5\r
DTSTAMP:20261101T160000Z\r
TRANSP:TRANSPARENT\r
STATUS:CONFIRMED\r
SEQUENCE:0\r
LOCATION;LANGUAGE=en-US:\r
X-MICROSOFT-CDO-APPT-SEQUENCE:0\r
X-MICROSOFT-CDO-BUSYSTATUS:FREE\r
X-MICROSOFT-CDO-INTENDEDSTATUS:BUSY\r
X-MICROSOFT-CDO-ALLDAYEVENT:TRUE\r
X-MICROSOFT-CDO-IMPORTANCE:1\r
X-MICROSOFT-CDO-INSTTYPE:0\r
X-MICROSOFT-DONOTFORWARDMEETING:FALSE\r
X-MICROSOFT-DISALLOW-COUNTER:FALSE\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:040000008200E00074C5B7101A82E0080000000011111111\r
SUMMARY;LANGUAGE=en-US:Martin Luther King Jr. Day\r
DTSTART;VALUE=DATE:20270118\r
DTEND;VALUE=DATE:20270119\r
DTSTAMP:20261101T160000Z\r
X-MICROSOFT-CDO-ALLDAYEVENT:TRUE\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:040000008200E00074C5B7101A82E0080000000022222222\r
SUMMARY;LANGUAGE=en-US:Principals' meeting\r
DTSTART;TZID=Pacific Standard Time:20261203T090000\r
DTEND;TZID=Pacific Standard Time:20261203T113000\r
DTSTAMP:20261101T160000Z\r
X-MICROSOFT-CDO-ALLDAYEVENT:FALSE\r
END:VEVENT\r
END:VCALENDAR\r
"""

# A school website's events plugin: LF line ends, its own calendar properties (one of
# them the refresh interval that once refused whole files), categories, HTML in an
# X- property, and one event whose date is written the way people write dates.
SCHOOL_SITE = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Lincoln Elementary - ECPv6.0.0//NONSGML v1.0//EN
CALSCALE:GREGORIAN
METHOD:PUBLISH
X-WR-CALNAME:Lincoln Elementary
X-ORIGINAL-URL:https://lincoln.example.org
X-WR-CALDESC:Events for Lincoln Elementary
REFRESH-INTERVAL;VALUE=DURATION:P1H
X-Robots-Tag:noindex
X-PUBLISHED-TTL:PT1H
BEGIN:VEVENT
DTSTART;VALUE=DATE:20261111
DTEND;VALUE=DATE:20261112
DTSTAMP:20261101T101010
CREATED:20260815T101010Z
LAST-MODIFIED:20260816T101010Z
UID:1234-1794355200-1794441599@lincoln.example.org
SUMMARY:Veterans Day – No School
DESCRIPTION:Schools and offices closed.\\n
URL:https://lincoln.example.org/event/veterans-day/
CATEGORIES:No School,Holidays
X-ALT-DESC;FMTTYPE=text/html:<p>Schools and <b>offices</b> closed.</p>
ATTACH;FMTTYPE=image/jpeg:https://lincoln.example.org/flag.jpg
END:VEVENT
BEGIN:VEVENT
DTSTART;VALUE=DATE:2026-11-30
DTSTAMP:20261101T101010
UID:1240-bad-date@lincoln.example.org
SUMMARY:Teacher work day
CATEGORIES:No School
END:VEVENT
BEGIN:VEVENT
DTSTART;VALUE=DATE:20270215
DTEND;VALUE=DATE:20270216
DTSTAMP:20261101T101010
UID:1250-1802649600-1802735999@lincoln.example.org
SUMMARY:Presidents' Day – No School
CATEGORIES:No School,Holidays
END:VEVENT
END:VCALENDAR"""


def _zone(tzid: str, standard: str, daylight: str, *, years: int) -> str:
    """A VTIMEZONE with a STANDARD and DAYLIGHT block for each of `years` years, as
    calendar servers that write out the zone's history do."""
    blocks = []
    for year in range(2027 - years, 2027):
        blocks.append(
            f"BEGIN:DAYLIGHT\nTZOFFSETFROM:{standard}\nTZOFFSETTO:{daylight}\nTZNAME:D\n"
            f"DTSTART:{year}0308T020000\nEND:DAYLIGHT\n"
            f"BEGIN:STANDARD\nTZOFFSETFROM:{daylight}\nTZOFFSETTO:{standard}\nTZNAME:S\n"
            f"DTSTART:{year}1101T020000\nEND:STANDARD\n"
        )
    return f"BEGIN:VTIMEZONE\nTZID:{tzid}\nX-LIC-LOCATION:{tzid}\n{''.join(blocks)}END:VTIMEZONE\n"


TIME_ZONE_HEAVY = (
    "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Calendar server//EN\n"
    + _zone("/citadel.org/20190101_1/America/Chicago", "-0600", "-0500", years=40)
    + _zone("(UTC-05:00) Eastern Time (US & Canada)", "-0500", "-0400", years=40)
    + _zone("America/Denver", "-0700", "-0600", years=40)
    + """BEGIN:VEVENT
UID:late-meeting
SUMMARY:Late board meeting
DTSTART;TZID=/citadel.org/20190101_1/America/Chicago:20261201T233000
DTEND;TZID=/citadel.org/20190101_1/America/Chicago:20261202T003000
END:VEVENT
BEGIN:VEVENT
UID:snow-day
SUMMARY:Snow day
DTSTART;VALUE=DATE:20270112
END:VEVENT
BEGIN:VEVENT
UID:no-such-zone
SUMMARY:Webinar
DTSTART;TZID=Mars/Olympus_Mons:20261209T100000
END:VEVENT
BEGIN:VEVENT
UID:spring
SUMMARY:Spring break
DTSTART;VALUE=DATE:20270329
DTEND;VALUE=DATE:20270403
END:VEVENT
END:VCALENDAR
"""
)


def by_name(parsed: ParsedCalendar) -> dict[str, list[ImportedEvent]]:
    found: dict[str, list[ImportedEvent]] = {}
    for event in parsed.events:
        found.setdefault(event.name, []).append(event)
    return found


def test_a_google_calendar_export():
    parsed = calendar_import.parse_calendar(GOOGLE)
    events = by_name(parsed)
    (thanksgiving,) = events["Thanksgiving Break - No School"]
    assert (thanksgiving.first_day, thanksgiving.last_day, thanksgiving.problem) == (
        date(2026, 11, 26),
        date(2026, 11, 27),
        None,
    )
    assert [e.problem for e in events["Board of Education meeting"]] == [Problem.TIMED]
    assert [e.problem for e in events["Staff development day"]] == [Problem.CANCELLED]
    # Weekly until the end of December, without the Wednesday of winter break.
    early = events["Early release Wednesday"]
    assert [e.first_day for e in early] == [
        date(2026, 12, 2),
        date(2026, 12, 9),
        date(2026, 12, 16),
        date(2026, 12, 30),
    ]
    assert all(e.can_close(TODAY) for e in early)
    assert parsed.skipped == []


def test_an_outlook_exchange_export():
    parsed = calendar_import.parse_calendar(OUTLOOK)
    events = by_name(parsed)
    # Midnight to midnight in a Windows zone, marked all-day by Exchange: all-day.
    (recess,) = events["Winter Recess"]
    assert (recess.first_day, recess.last_day, recess.problem) == (date(2026, 12, 21), date(2027, 1, 1), None)
    assert recess.uid.startswith("040000008200E00074C5B7101A82E008") and recess.uid.endswith("5C6D7E8F90")
    (king,) = events["Martin Luther King Jr. Day"]
    assert (king.first_day, king.last_day) == (date(2027, 1, 18), date(2027, 1, 18))
    assert [e.problem for e in events["Principals' meeting"]] == [Problem.TIMED]
    assert parsed.skipped == []


def test_a_school_site_export_keeps_the_rest_when_one_date_is_unreadable():
    parsed = calendar_import.parse_calendar(SCHOOL_SITE)
    assert [(e.name, e.first_day, e.categories) for e in parsed.events] == [
        ("Veterans Day – No School", date(2026, 11, 11), ("No School", "Holidays")),
        ("Presidents' Day – No School", date(2027, 2, 15), ("No School", "Holidays")),
    ]
    assert [(s.line, s.reason) for s in parsed.skipped] == [(26, SkipReason.BAD_DATE)]
    assert SCHOOL_SITE.splitlines()[25:27] == ["BEGIN:VEVENT", "DTSTART;VALUE=DATE:2026-11-30"]


def test_a_file_heavy_with_time_zones():
    assert TIME_ZONE_HEAVY.count("BEGIN:STANDARD") == 120
    parsed = calendar_import.parse_calendar(TIME_ZONE_HEAVY)
    events = by_name(parsed)
    # 23:30 in Chicago on December 1 is December 1 there, whatever the server's zone.
    (late,) = events["Late board meeting"]
    assert (late.first_day, late.problem) == (date(2026, 12, 1), Problem.TIMED)
    assert [e.first_day for e in events["Snow day"]] == [date(2027, 1, 12)]
    assert [(e.first_day, e.last_day) for e in events["Spring break"]] == [(date(2027, 3, 29), date(2027, 4, 2))]
    # A zone nobody defined does not cost the file; the event is listed or skipped, not fatal.
    assert len(parsed.events) + len(parsed.skipped) == 4


@pytest.mark.parametrize(
    "shape", [GOOGLE, OUTLOOK, SCHOOL_SITE, TIME_ZONE_HEAVY], ids=["google", "outlook", "cms", "tz"]
)
def test_every_shape_survives_its_json_round_trip(shape):
    parsed = calendar_import.parse_calendar(shape)
    assert ParsedCalendar.from_json(parsed.as_json()) == parsed


@pytest.mark.parametrize(
    "shape", [GOOGLE, OUTLOOK, SCHOOL_SITE, TIME_ZONE_HEAVY], ids=["google", "outlook", "cms", "tz"]
)
def test_a_file_cut_off_midway_keeps_the_events_before_the_cut(shape):
    lines = shape.splitlines(keepends=True)
    last_event_line = max(number for number, line in enumerate(lines) if line.strip() == "BEGIN:VEVENT")
    cut = "".join(lines[: last_event_line + 2])  # inside the last event
    whole = calendar_import.parse_calendar(shape)
    parsed = calendar_import.parse_calendar(cut)
    assert parsed.skipped[-1].line == last_event_line + 1
    assert parsed.skipped[-1].reason is SkipReason.UNREADABLE
    assert {e.uid.split("/")[0] for e in parsed.events} < {e.uid.split("/")[0] for e in whole.events}
