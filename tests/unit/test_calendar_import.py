"""Reading a district's published iCalendar file into candidate closures, and saving them."""

import contextlib
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from portal.models import AuditEvent, CalendarImport, Closure
from portal.services.calendar import calendar_import
from portal.services.calendar.calendar_import import Change, ImportedEvent, ParsedCalendar, Problem, SkipReason
from portal.services.calendar.district_calendar import ClosureChange
from portal.services.errors import InvalidInput, NotAllowed, NotFound
from tests import factories

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
TODAY = date(2026, 11, 27)


def ics(*events: str, wrap: bool = True) -> str:
    """An iCalendar text with these VEVENT bodies (property lines, one per line)."""
    body = "".join(f"BEGIN:VEVENT\r\n{event.strip()}\r\nEND:VEVENT\r\n" for event in events)
    if not wrap:
        return body
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//District//Calendar//EN\r\n{body}END:VCALENDAR\r\n"


def event(uid: str = "e1@district.example", summary: str = "Thanksgiving", *lines: str) -> str:
    return "\n".join([f"UID:{uid}", f"SUMMARY:{summary}", "DTSTAMP:20260801T000000Z", *lines])


def parse(*events: str) -> ParsedCalendar:
    return calendar_import.parse_calendar(ics(*events))


def only(parsed: ParsedCalendar) -> ImportedEvent:
    assert len(parsed.events) == 1, parsed
    return parsed.events[0]


# --- reading -------------------------------------------------------------------


@pytest.mark.parametrize(
    "calendar_property",
    [
        "REFRESH-INTERVAL;VALUE=DURATION:P1H",  # as published; not a valid duration (PT1H is)
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
        "X-PUBLISHED-TTL:PT1H",
        "X-WR-CALNAME:Lincoln Unified\r\n  School District",  # folded onto a second line
        "COLOR:not-a-colour;;",
        "NAME;LANGUAGE=es:Calendario del distrito",
        "METHOD:PUBLISH\r\nCALSCALE:GREGORIAN\r\nX-MS-OLK-FORCEINSPECTOROPEN:TRUE",
    ],
)
def test_the_calendars_own_properties_never_refuse_the_file(calendar_property):
    body = ics(event("e1@district.example", "Thanksgiving", "DTSTART;VALUE=DATE:20261126"), wrap=False)
    text = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{calendar_property}\r\nPRODID:-//District//EN\r\n{body}END:VCALENDAR\r\n"
    assert only(calendar_import.parse_calendar(text)).name == "Thanksgiving"


def test_an_events_own_properties_are_kept_when_the_calendars_are_dropped():
    body = ics(
        event(
            "e1@district.example",
            "Spring",
            "DTSTART;VALUE=DATE:20270329",
            "DTEND;VALUE=DATE:20270403",
            "CATEGORIES:Holiday,\r\n No school",
        ),
        wrap=False,
    )
    text = f"BEGIN:VCALENDAR\r\nREFRESH-INTERVAL;VALUE=DURATION:P1H\r\n{body}END:VCALENDAR\r\n"
    spring = only(calendar_import.parse_calendar(text))
    assert (spring.first_day, spring.last_day) == (date(2027, 3, 29), date(2027, 4, 2))
    assert set(spring.categories) == {"Holiday", "No school"}


def test_an_all_day_event_ends_the_day_before_its_exclusive_dtend():
    parsed = parse(event("a", "Thanksgiving", "DTSTART;VALUE=DATE:20261126", "DTEND;VALUE=DATE:20261127"))
    assert only(parsed) == ImportedEvent("a", "Thanksgiving", date(2026, 11, 26), date(2026, 11, 26), line=4)
    assert parsed.skipped == []


def test_a_multi_day_event_covers_every_day_up_to_its_dtend():
    thanksgiving = only(parse(event("a", "Break", "DTSTART;VALUE=DATE:20261125", "DTEND;VALUE=DATE:20261130")))
    assert (thanksgiving.first_day, thanksgiving.last_day) == (date(2026, 11, 25), date(2026, 11, 29))


@pytest.mark.parametrize(
    "end",
    [
        [],  # no DTEND: one day
        ["DTEND;VALUE=DATE:20261207"],  # DTEND equal to DTSTART, as some exporters write it
        ["DURATION:P1D"],
    ],
)
def test_an_event_without_a_usable_end_is_one_day(end):
    snow_day = only(parse(event("a", "Snow day", "DTSTART;VALUE=DATE:20261207", *end)))
    assert (snow_day.first_day, snow_day.last_day) == (date(2026, 12, 7), date(2026, 12, 7))
    assert snow_day.problem is None


def test_a_duration_in_days_sets_the_last_day():
    spring = only(parse(event("a", "Spring break", "DTSTART;VALUE=DATE:20270329", "DURATION:P5D")))
    assert spring.last_day == date(2027, 4, 2)


def test_a_timed_event_is_listed_but_cannot_close_the_offices():
    parsed = parse(
        event("board", "Board meeting", "DTSTART;TZID=America/Chicago:20261201T190000", "DTEND:20261202T010000Z"),
        event("holiday", "Holiday", "DTSTART;VALUE=DATE:20261225"),
    )
    board, holiday = parsed.events
    assert board.problem is Problem.TIMED
    assert board.first_day == date(2026, 12, 1)
    assert not board.can_close(TODAY)
    assert holiday.can_close(TODAY)


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        (["DTSTART;VALUE=DATE:20261207", "RRULE:FREQ=FORTNIGHTLY;COUNT=3"], Problem.REPEATS),
        (["DTSTART;VALUE=DATE:20261207", "RRULE:FREQ=WEEKLY;BYDAY=XX"], Problem.REPEATS),
        (["DTSTART;VALUE=DATE:20261207", "STATUS:CANCELLED"], Problem.CANCELLED),
        (["DTSTART;VALUE=DATE:20260101", "DTEND;VALUE=DATE:20270103"], Problem.TOO_LONG),
    ],
)
def test_events_that_cannot_become_closures_say_why(lines, problem):
    listed = only(parse(event("a", "Something", *lines)))
    assert listed.problem is problem
    assert not listed.can_close(TODAY)


def test_a_closure_of_exactly_a_year_is_allowed():
    year = only(parse(event("a", "Sabbatical", "DTSTART;VALUE=DATE:20270101", "DTEND;VALUE=DATE:20280102")))
    assert (year.last_day - year.first_day).days == 365
    assert year.problem is None


def test_an_event_without_a_title_cannot_close_the_offices():
    assert only(parse("UID:a\nDTSTART;VALUE=DATE:20261207")).problem is Problem.UNTITLED


def test_a_moved_occurrence_of_a_repeating_event_replaces_its_date():
    parsed = parse(
        event("weekly", "PLC day", "DTSTART;VALUE=DATE:20261207", "RRULE:FREQ=WEEKLY;COUNT=3"),
        event("weekly", "PLC day moved", "DTSTART;VALUE=DATE:20261215", "RECURRENCE-ID;VALUE=DATE:20261214"),
    )
    assert [(e.uid, e.name, e.first_day) for e in parsed.events] == [
        ("weekly/2026-12-07", "PLC day", date(2026, 12, 7)),
        ("weekly/2026-12-14", "PLC day moved", date(2026, 12, 15)),
        ("weekly/2026-12-21", "PLC day", date(2026, 12, 21)),
    ]
    assert all(e.problem is None for e in parsed.events)


def days_of(parsed: ParsedCalendar) -> list[date]:
    return [e.first_day for e in parsed.events]


def test_a_weekly_all_day_event_is_offered_as_its_dates():
    parsed = parse(
        event("early", "Early release", "DTSTART;VALUE=DATE:20261202", "RRULE:FREQ=WEEKLY;UNTIL=20261223T000000Z")
    )
    assert days_of(parsed) == [date(2026, 12, 2), date(2026, 12, 9), date(2026, 12, 16), date(2026, 12, 23)]
    assert {e.uid for e in parsed.events} == {f"early/2026-12-{d:02d}" for d in (2, 9, 16, 23)}
    assert parsed.cut_repeats == 0


def test_exdate_and_rdate_take_out_and_add_dates_and_a_cancelled_occurrence_says_so():
    parsed = parse(
        event(
            "plc",
            "PLC day",
            "DTSTART;VALUE=DATE:20270104",
            "RRULE:FREQ=MONTHLY;COUNT=4",
            "EXDATE;VALUE=DATE:20270204",
            "RDATE;VALUE=DATE:20270215,20270216",
        ),
        event("plc", "PLC day", "DTSTART;VALUE=DATE:20270304", "RECURRENCE-ID;VALUE=DATE:20270304", "STATUS:CANCELLED"),
    )
    closable = [e.first_day for e in parsed.events if e.problem is None]
    assert closable == [date(2027, 1, 4), date(2027, 2, 15), date(2027, 2, 16), date(2027, 4, 4)]
    cancelled = [e for e in parsed.events if e.problem is Problem.CANCELLED]
    assert [(e.uid, e.first_day) for e in cancelled] == [("plc/2027-03-04", date(2027, 3, 4))]


def test_a_repeating_event_without_an_end_is_offered_for_a_year_at_most():
    parsed = parse(event("daily", "Every day", "DTSTART;VALUE=DATE:20261201", "RRULE:FREQ=DAILY"))
    assert len(parsed.events) == 60
    assert parsed.cut_repeats == 1
    weekly = parse(event("weekly", "Every week", "DTSTART;VALUE=DATE:20261201", "RRULE:FREQ=WEEKLY"))
    assert days_of(weekly)[-1] <= date(2027, 12, 2)
    assert weekly.cut_repeats == 1


def test_a_several_day_repeating_event_keeps_its_length():
    parsed = parse(
        event("camp", "Camp", "DTSTART;VALUE=DATE:20270104", "DTEND;VALUE=DATE:20270106", "RRULE:FREQ=YEARLY;COUNT=2")
    )
    assert [(e.first_day, e.last_day) for e in parsed.events] == [
        (date(2027, 1, 4), date(2027, 1, 5)),
        (date(2028, 1, 4), date(2028, 1, 5)),
    ]


def test_a_timed_repeating_event_is_one_line_that_cannot_close():
    listed = only(parse(event("board", "Board", "DTSTART:20261201T190000Z", "RRULE:FREQ=MONTHLY")))
    assert listed.problem is Problem.TIMED


def test_categories_are_read_from_every_line_and_spelled_as_first_seen():
    parsed = parse(
        event(
            "a", "Thanksgiving", "DTSTART;VALUE=DATE:20261126", "CATEGORIES:Holiday, No school", "CATEGORIES:Holiday"
        ),
        event("b", "Winter break", "DTSTART;VALUE=DATE:20261221", "CATEGORIES:HOLIDAY"),
        event("c", "PD day", "DTSTART;VALUE=DATE:20261130"),
    )
    by_uid = {e.uid: e for e in parsed.events}
    assert by_uid["a"].categories == ("Holiday", "No school")
    assert by_uid["b"].categories == ("Holiday",)
    assert by_uid["c"].categories == ()
    assert calendar_import.category_counts(parsed.events, date(2026, 11, 1)) == [("Holiday", 2), ("No school", 1)]


def test_names_are_cleaned_and_cut_to_the_closure_column():
    long_name = "Winter\\nbreak " + "x" * 300
    listed = only(parse(event("a", long_name, "DTSTART;VALUE=DATE:20261221")))
    assert len(listed.name) == calendar_import.NAME_MAX_LENGTH
    assert listed.name.startswith("Winter break xxx")


def test_an_event_without_a_uid_gets_a_stable_key():
    first = only(parse("SUMMARY:Snow day\nDTSTART;VALUE=DATE:20261207"))
    again = only(parse("SUMMARY:Snow day\nDTSTART;VALUE=DATE:20261207"))
    assert first.uid == again.uid
    assert first.uid.startswith("no-uid-")


def test_a_very_long_uid_is_hashed_to_fit_the_column():
    listed = only(parse(event("u" * 600, "Holiday", "DTSTART;VALUE=DATE:20261225")))
    assert len(listed.uid) <= calendar_import.UID_MAX_LENGTH
    assert listed.uid.startswith("sha256-")


def test_unreadable_and_repeated_events_are_skipped_with_their_lines_and_reasons():
    parsed = parse(
        event("a", "Holiday", "DTSTART;VALUE=DATE:20261225"),
        event("a", "Same UID again", "DTSTART;VALUE=DATE:20261226"),
        event("b", "Broken date", "DTSTART:not-a-date"),
        event("c", "No start"),
        event("d", "Bad line", "DTSTART;VALUE=DATE:20261228", "BEGIN:VALARM"),
        event("e", "Kept", "DTSTART;VALUE=DATE:20261229"),
    )
    assert [e.uid for e in parsed.events] == ["a", "e"]
    assert [(s.line, s.reason, s.same_as_line) for s in parsed.skipped] == [
        (10, SkipReason.SAME_UID, 4),
        (16, SkipReason.BAD_DATE, None),
        (22, SkipReason.NO_START, None),
        (27, SkipReason.UNREADABLE, None),
    ]


def test_events_are_sorted_by_date():
    parsed = parse(
        event("late", "Spring break", "DTSTART;VALUE=DATE:20270329"),
        event("early", "Thanksgiving", "DTSTART;VALUE=DATE:20261126"),
    )
    assert [e.uid for e in parsed.events] == ["early", "late"]


def test_what_is_kept_between_preview_and_save_reads_back_the_same():
    parsed = parse(
        event("a", "Thanksgiving", "DTSTART;VALUE=DATE:20261126", "CATEGORIES:Holiday"),
        event("b", "Board", "DTSTART:20261201T190000Z"),
    )
    assert ParsedCalendar.from_json(parsed.as_json()) == parsed


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"", "district.ics", "empty"),
        (b"%PDF-1.7 calendar", "district.ics", "not plain text"),
        (b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "district.csv", "ending in"),
        (b"x" * (calendar_import.MAX_BYTES + 1), "district.ics", "too large"),
        (b"hello, this is not a calendar", "district.ics", "not a calendar"),
        (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", "district.ics", "no events"),
        (ics(event("a", "Holiday", "DTSTART;VALUE=DATE:20261225"), wrap=False).encode(), "d.ics", "not a calendar"),
        (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n", "district.ics", "not a calendar"),
        ("BEGIN:VCALENDAR\r\n" + "BEGIN:X\r\n" * 9000, "district.ics", "more than"),
    ],
)
def test_files_that_are_no_calendar_are_refused_next_to_the_file_field(data, filename, message):
    with pytest.raises(InvalidInput) as refused:
        calendar_import.read_calendar(data.encode() if isinstance(data, str) else data, filename)
    assert refused.value.field == "file"
    assert message in str(refused.value.message)


def test_more_than_the_maximum_of_events_is_refused():
    events = [event(f"e{n}", "Day", "DTSTART;VALUE=DATE:20261207") for n in range(calendar_import.MAX_EVENTS + 1)]
    with pytest.raises(InvalidInput) as refused:
        calendar_import.parse_calendar(ics(*events))
    assert "more than 2000 events" in str(refused.value.message)


def test_the_maximum_of_events_is_read():
    events = [event(f"e{n}", "Day", "DTSTART;VALUE=DATE:20261207") for n in range(calendar_import.MAX_EVENTS)]
    assert len(calendar_import.parse_calendar(ics(*events)).events) == calendar_import.MAX_EVENTS


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_any_bytes_are_read_or_refused_with_the_services_own_error(data):
    with contextlib.suppress(InvalidInput):
        calendar_import.read_calendar(data, "district.ics")


LINE = st.one_of(
    st.sampled_from(
        [
            "BEGIN:VCALENDAR",
            "END:VCALENDAR",
            "BEGIN:VEVENT",
            "END:VEVENT",
            "BEGIN:VALARM",
            "END:VALARM",
            "DTSTART;VALUE=DATE:20261225",
            "DTEND;VALUE=DATE:20261224",
            "DTSTART:20261201T190000Z",
            "DTSTART;TZID=Nowhere/Land:20261201T190000",
            "DTEND;VALUE=DATE:00010101",
            "DTSTART;VALUE=DATE:99991231",
            "DTEND;VALUE=DATE:99991231",
            "DURATION:-P3D",
            "DURATION:PT1H",
            "RRULE:FREQ=SECONDLY",
            "RECURRENCE-ID:garbage",
            "CATEGORIES:",
            "CATEGORIES:,,,",
            "SUMMARY:",
            "UID:",
            "STATUS:CANCELLED",
            " folded continuation",
        ]
    ),
    st.builds(
        lambda name, value: f"{name}:{value}",
        st.sampled_from(["UID", "SUMMARY", "CATEGORIES", "DTSTART", "DTEND", "DURATION", "RRULE", "STATUS"]),
        st.text(max_size=30),
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(LINE, max_size=40))
def test_calendar_shaped_garbage_is_read_or_refused_with_the_services_own_error(lines):
    try:
        parsed = calendar_import.parse_calendar("\r\n".join(lines))
    except InvalidInput:
        return
    for listed in parsed.events:
        assert listed.first_day <= listed.last_day
        assert len(listed.name) <= calendar_import.NAME_MAX_LENGTH
        assert 0 < len(listed.uid) <= calendar_import.UID_MAX_LENGTH
        assert ParsedCalendar.from_json(parsed.as_json()) == parsed


# --- choosing ------------------------------------------------------------------

EVENTS = [
    ImportedEvent("past", "Labor Day", date(2026, 9, 7), date(2026, 9, 7), ("Holiday",)),
    ImportedEvent("thanks", "Thanksgiving", date(2026, 11, 26), date(2026, 11, 27), ("Holiday",)),
    ImportedEvent("pd", "PD day", date(2026, 11, 30), date(2026, 11, 30), ("No school",)),
    ImportedEvent("board", "Board", date(2026, 12, 1), date(2026, 12, 1), ("Holiday",), Problem.TIMED),
    ImportedEvent("winter", "Winter break", date(2026, 12, 21), date(2027, 1, 1), ("Holiday", "No school")),
]


def test_a_category_chooses_its_events_that_can_still_close_the_offices():
    chosen = calendar_import.choose(EVENTS, categories=["Holiday"], uids=[], today=TODAY)
    # Labor Day is over and the board meeting is timed; Thanksgiving is still going on.
    assert [e.uid for e in chosen] == ["thanks", "winter"]


def test_events_chosen_one_by_one_join_the_chosen_categories():
    chosen = calendar_import.choose(EVENTS, categories=["No school"], uids=["thanks", "board", "past"], today=TODAY)
    assert [e.uid for e in chosen] == ["thanks", "pd", "winter"]


# --- keeping and saving --------------------------------------------------------


def count(db, model, *where):  # type: ignore[no-untyped-def]
    return db.scalar(select(func.count()).select_from(model).where(*where))


def test_saving_adds_closures_then_a_new_file_updates_them_without_duplicates(db, admin):
    first = calendar_import.keep_import(db, admin, "district.ics", ParsedCalendar(EVENTS), now=NOW)
    chosen = calendar_import.choose(EVENTS, categories=["Holiday"], uids=[], today=TODAY)
    result = calendar_import.save_closures(db, admin, first, chosen, now=NOW, today=TODAY)
    db.commit()
    assert (result.added, result.updated, result.unchanged) == (2, 0, 0)
    assert result.reason() == [
        ClosureChange("closure_added", "Thanksgiving", date(2026, 11, 26), date(2026, 11, 27)),
        ClosureChange("closure_added", "Winter break", date(2026, 12, 21), date(2027, 1, 1)),
    ]
    assert count(db, CalendarImport) == 0

    moved_break = ImportedEvent("winter", "Winter Break", date(2026, 12, 22), date(2027, 1, 1), ("Holiday",))
    updated_events = [EVENTS[1], moved_break, EVENTS[2]]
    second = calendar_import.keep_import(db, admin, "district.ics", ParsedCalendar(updated_events), now=NOW)
    plan = calendar_import.plan_closures(db, updated_events)
    assert [p.change for p in plan] == [Change.UNCHANGED, Change.UPDATE, Change.ADD]
    result = calendar_import.save_closures(db, admin, second, updated_events, now=NOW, today=TODAY)
    db.commit()
    assert (result.added, result.updated, result.unchanged) == (1, 1, 1)
    # Families whose promise the new break moved hear of its new days; those it freed, of its old ones.
    assert ClosureChange("closure_added", "Winter Break", date(2026, 12, 22), date(2027, 1, 1)) in result.changes
    assert ClosureChange("closure_removed", "Winter break", date(2026, 12, 21), date(2027, 1, 1)) in result.changes
    assert count(db, Closure) == 3
    winter = db.scalar(select(Closure).where(Closure.source_uid == "winter"))
    assert (winter.first_day, winter.name) == (date(2026, 12, 22), "Winter Break")
    updated = db.scalar(select(AuditEvent).where(AuditEvent.action == "calendar.closure_updated"))
    assert updated.before["first_day"] == "2026-12-21"
    assert updated.after["first_day"] == "2026-12-22"
    assert count(db, AuditEvent, AuditEvent.action == "calendar.closure_added") == 3
    assert count(db, AuditEvent, AuditEvent.action == "calendar.imported") == 2


def test_nothing_chosen_saves_nothing(db, admin):
    kept = calendar_import.keep_import(db, admin, "district.ics", ParsedCalendar(EVENTS), now=NOW)
    with pytest.raises(InvalidInput) as refused:
        calendar_import.save_closures(db, admin, kept, [], now=NOW, today=TODAY)
    assert refused.value.field == "events"


def saved_from(db, admin, events: list[ImportedEvent]):  # type: ignore[no-untyped-def]
    kept = calendar_import.keep_import(db, admin, "district.ics", ParsedCalendar(events), now=NOW)
    result = calendar_import.save_closures(db, admin, kept, events, now=NOW, today=TODAY)
    db.commit()
    return result


def test_closures_whose_events_left_the_file_or_were_cancelled_are_offered_for_removal(db, admin):
    thanks, pd, winter = EVENTS[1], EVENTS[2], EVENTS[4]
    spring = ImportedEvent("spring", "Spring break", date(2027, 3, 29), date(2027, 4, 2))
    saved_from(db, admin, [thanks, pd, winter, spring])
    db.add(Closure(first_day=date(2027, 2, 15), last_day=date(2027, 2, 15), name="Presidents' Day"))  # by hand
    db.add(Closure(first_day=date(2026, 9, 7), last_day=date(2026, 9, 7), name="Labor Day", source_uid="past"))
    db.commit()

    # The district's new file: PD day is gone, winter break cancelled, spring unchanged.
    cancelled = ImportedEvent("winter", "Winter break", winter.first_day, winter.last_day, (), Problem.CANCELLED)
    new_file = ParsedCalendar([thanks, cancelled, spring])
    gone = calendar_import.closures_gone(db, new_file, TODAY)
    assert [c.source_uid for c in gone] == ["pd", "winter"]  # Labor Day is over: not offered

    kept = calendar_import.keep_import(db, admin, "district.ics", new_file, now=NOW)
    # The administrator keeps PD day (unticked) and removes the winter break.
    result = calendar_import.save_closures(
        db, admin, kept, [], now=NOW, today=TODAY, removals=[c.id for c in gone if c.source_uid == "winter"] + [999]
    )
    db.commit()
    assert (result.added, result.updated, result.removed) == (0, 0, 1)
    assert result.reason() == [ClosureChange("closure_removed", "Winter break", winter.first_day, winter.last_day)]
    assert sorted(db.scalars(select(Closure.name))) == [
        "Labor Day",
        "PD day",
        "Presidents' Day",
        "Spring break",
        "Thanksgiving",
    ]
    removed = db.scalar(select(AuditEvent).where(AuditEvent.action == "calendar.closure_removed"))
    assert removed.before["name"] == "Winter break"
    imported = db.scalars(select(AuditEvent).where(AuditEvent.action == "calendar.imported")).all()
    assert imported[-1].after["removed"] == 1


def test_an_admin_keeps_one_upload_waiting_at_a_time(db, admin):
    calendar_import.keep_import(db, admin, "old.ics", ParsedCalendar(EVENTS), now=NOW)
    calendar_import.keep_import(db, admin, "new.ics", ParsedCalendar(EVENTS), now=NOW)
    db.commit()
    assert db.scalars(select(CalendarImport.filename)).all() == ["new.ics"]


def test_only_the_admin_who_uploaded_a_file_reaches_it(db, admin):
    kept = calendar_import.keep_import(db, admin, "district.ics", ParsedCalendar(EVENTS), now=NOW)
    db.commit()
    assert calendar_import.import_of(db, admin, kept.id) is kept
    with pytest.raises(NotFound) as hidden:
        calendar_import.import_of(db, factories.make_admin(db), kept.id)
    assert hidden.value.refused
    with pytest.raises(NotAllowed):
        calendar_import.import_of(db, factories.make_staff(db), kept.id)
    with pytest.raises(NotAllowed):
        calendar_import.keep_import(db, factories.make_staff(db), "x.ics", ParsedCalendar(EVENTS), now=NOW)


def test_repeating_events_never_list_more_than_the_event_limit():
    weekly = [
        event(f"w{number}", f"Weekly {number}", "DTSTART;VALUE=DATE:20261207", "RRULE:FREQ=WEEKLY")
        for number in range(60)
    ]
    parsed = calendar_import.parse_calendar(ics(*weekly))
    assert len(parsed.events) == calendar_import.MAX_EVENTS
    assert parsed.cut_repeats == 60
