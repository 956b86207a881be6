"""Searches ignore accents: the words typed and the searched text are folded alike, in
Python and in the database."""

import string
import unicodedata
from itertools import chain

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import literal, select

from portal.text_search import fold_accents, folded


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
