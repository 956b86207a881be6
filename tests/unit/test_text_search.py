"""Searches ignore accents: the words typed and the searched text are folded alike, in
Python and in the database."""

import string
import unicodedata
from itertools import chain

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Integer, cast, false, literal, literal_column, null, select, table, union_all
from sqlalchemy.dialects import postgresql, sqlite

from portal.text_search import (
    contains_pattern,
    fold_accents,
    folded,
    folded_text_contains,
    has_run_of,
    one_of_found,
    reference_digits,
)
from tests.search_text import as_stored


@pytest.mark.parametrize(
    ("name", "folded_name"),
    [
        ("García", "Garcia"),
        ("JOSÉ PEÑA", "JOSE PENA"),
        ("Nguyễn Thị Hương", "Nguyen Thi Huong"),
        ("Đặng", "Dang"),
        ("Łódź", "Lodz"),
        ("Søren Ærø", "Soren Æro"),  # "Æ" is two letters plain: kept
        ("Straße", "Straße"),
        (unicodedata.normalize("NFD", "Ibáñez"), "Ibanez"),  # marks stored apart
        ("Ελένη 李 Аня", "Ελενη 李 Аня"),  # marks of other scripts too
    ],
)
def test_letters_with_marks_fold_to_their_plain_letter(name, folded_name):
    assert fold_accents(name) == folded_name


# Latin-1 Supplement, Latin Extended-A and -B, Latin Extended Additional, and the
# combining marks, with ASCII letters.
LATIN = st.text(
    alphabet=string.ascii_letters + " " + "".join(map(chr, chain(range(0xC0, 0x250), range(0x1E00, 0x1F00)))),
    max_size=40,
)


@given(LATIN)
def test_text_and_its_decomposed_form_fold_alike(text):
    assert fold_accents(unicodedata.normalize("NFC", text)) == fold_accents(unicodedata.normalize("NFD", text))


# Latin-1 Supplement and Latin Extended-A letters with no plain ASCII form: ligatures and
# "ß", letters of their own (eth, thorn, eng, kra), and "ŀ" and "ŉ", which keep a mark
# written as punctuation.
KEPT = "ÆÐÞßæðþĸĿŀŉŊŋŒœ"
LATIN_LETTERS = "".join(letter for letter in map(chr, range(0xC0, 0x180)) if letter.isalpha())


@given(st.text(alphabet=string.ascii_letters + " " + LATIN_LETTERS, max_size=40))
def test_latin_letters_with_marks_fold_to_ascii(text):
    assert fold_accents(text).translate(dict.fromkeys(map(ord, KEPT + "·ʼ"))).isascii()


SAMPLES = [
    "García Ñúñez",
    "Nguyễn Thị Hương Đặng",
    "Łódź Søren Ærø Straße",
    unicodedata.normalize("NFD", "Ibáñez"),
    "ﬁle Ａ ½",
    "Ελένη 李 Аня 😀",
    "plain ascii",
]


def test_the_database_folds_as_python_does(db):
    found = {text: db.scalar(select(folded(literal(text)))) for text in SAMPLES}
    assert found == {text: fold_accents(text) for text in SAMPLES}


# Any text a database stores (PostgreSQL's text refuses NUL; surrogates are not text), from
# the Basic Multilingual Plane, whose decompositions PostgreSQL and Python know alike since
# both follow Unicode's (a character newer than one of them could differ).
STORABLE = st.text(
    st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs", "Cn"), exclude_characters="\x00"), max_size=60
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(STORABLE)
def test_the_database_folds_any_text_as_python_does(db, text):
    assert db.scalar(select(folded(literal(text)))) == fold_accents(text)


def _case_changed(text: str, changes: list[bool]) -> str:
    return "".join(letter.swapcase() if change else letter for letter, change in zip(text, changes, strict=False))


@st.composite
def text_and_words(draw: st.DrawFn) -> tuple[str, str]:
    """Stored text and words to search it for: a piece of it with some letters' case
    changed (found), or other text (found or not)."""
    text = draw(STORABLE)
    if text and draw(st.booleans()):
        start = draw(st.integers(0, len(text) - 1))
        end = draw(st.integers(start + 1, len(text)))
        piece = text[start:end]
        return text, _case_changed(piece, draw(st.lists(st.booleans(), min_size=len(piece), max_size=len(piece))))
    return text, draw(STORABLE)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text_and_words())
def test_stored_search_text_is_found_as_ilike_finds_the_folded_text(db, found):
    """A search of text as a search_text column stores it (in lower case, on PostgreSQL)
    answers as ILIKE of the folded text did: the same rule of case, whatever the text."""
    text, words = found
    stored = select(as_stored(db, literal(fold_accents(text)))).scalar_subquery()
    searched = db.scalar(select(folded_text_contains(stored, words)))
    assert searched == db.scalar(
        select(literal(fold_accents(text)).ilike(contains_pattern(fold_accents(words)), escape="\\"))
    )


def test_stored_search_text_is_compared_with_like_on_postgresql():
    """On PostgreSQL the column is in lower case already: only the words are lowered."""
    condition = folded_text_contains(literal_column("search_text"), "García_%")
    on_postgresql = condition.compile(dialect=postgresql.dialect())
    assert str(on_postgresql) == "search_text LIKE lower(%(param_1)s::VARCHAR) ESCAPE '\\'"
    assert on_postgresql.params == {"param_1": "%Garcia\\_\\%%"}
    assert str(condition.compile(dialect=sqlite.dialect())) == "lower(search_text) LIKE lower(?) ESCAPE '\\'"


def test_every_search_text_is_lowered_by_its_trigger_on_postgresql(db):
    """Whoever writes a search_text column, PostgreSQL keeps it in lower case (what each
    writer stores is checked in test_scale.py and test_household_search_text.py)."""
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("a PostgreSQL trigger; SQLite searches with ILIKE")
    triggers = set(db.scalars(select(literal_column("tgname")).select_from(table("pg_trigger"))))
    tables = ["household", "request", "request_message", "feedback"]
    assert {f"{table}_lower_search_text" for table in tables} <= triggers


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    found=st.lists(st.integers(min_value=-3, max_value=3) | st.none(), max_size=5),
    value=st.integers(min_value=-3, max_value=3),
)
def test_one_of_found_is_in_on_every_database(db, found, value):
    """`one_of_found` (an array on PostgreSQL, IN elsewhere) answers as IN does, whatever
    the list: empty, with repeats, with NULL."""
    rows = [select(cast(null() if item is None else literal(item), Integer)) for item in found]
    listed = (union_all(*rows) if rows else select(cast(literal(0), Integer)).where(false())).subquery()
    column = cast(literal(value), Integer)
    in_list = column.in_(select(listed.c[0]))
    assert db.scalar(select(one_of_found(column, select(listed.c[0]).scalar_subquery()))) == db.scalar(select(in_list))


def test_one_of_found_is_written_for_the_index_on_postgresql():
    ids = select(literal(1)).scalar_subquery()
    column = literal_column("household_id")
    assert str(one_of_found(column, ids).compile(dialect=postgresql.dialect())) == (
        "household_id = ANY(ARRAY(SELECT %(param_1)s::INTEGER AS anon_1))"
    )
    assert str(one_of_found(column, ids).compile(dialect=sqlite.dialect())) == "household_id IN (SELECT ? AS anon_1)"


@given(words=st.text(max_size=30), length=st.integers(min_value=1, max_value=4))
def test_a_run_is_that_many_letters_or_digits_in_a_row_whatever_their_accents(words, length):
    plain = fold_accents(words)
    in_a_row = any(all(ch.isalnum() for ch in plain[i : i + length]) for i in range(len(plain) - length + 1))
    assert has_run_of(words, length) == in_a_row


@pytest.mark.parametrize(
    ("words", "runs"),
    [("bus", 3), ("Peña", 4), ("R-12", 2), ("a_b_c", 1), ("5% of", 2), ("李小龙", 3), ("", 0), ("x" * 200, 200)],
)
def test_runs_of_some_words(words, runs):
    assert has_run_of(words, runs) or runs == 0
    assert not has_run_of(words, runs + 1)


@pytest.mark.parametrize(
    ("words", "digits"),
    [
        ("R-12", "12"),
        (" r-000042 ", "000042"),
        ("12", "12"),
        ("R-", None),
        ("R-²", None),
        ("F-12", None),
        ("R-1 2", None),
    ],
)
def test_the_digits_of_a_reference_typed_as_a_search(words, digits):
    assert reference_digits(words, "R-") == digits
