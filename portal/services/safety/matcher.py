"""Does a message say that a child may be in danger? Whole words and phrases of the
district's safety terms, found in any case, with or without accents, and in the common
spellings people type on a phone.

Normalising. Text and terms are read the same way: compatibility forms folded (NFKC, so
full-width letters are letters), accents dropped, case folded, the digits and signs that
stand in for letters inside a word read as those letters ("k1ll", "$uicide", "m@tar"),
and a word with a letter held down ("kiiiill", "killlll") compared with every run of one
letter read once, on both sides. Words are runs of letters and digits; everything else
separates them.

Matching. A term is one or more words; it matches the same words in a row. A word
ending in `*` matches any word it begins ("suicid*": suicide, suicidal, suicidio). A term
never matches inside a longer word: "gun" is not in "begun". Benign phrases (a
"shooting guard", a "killer whale") are taken out of the text before terms are looked
for, so a term may be short without alerting on everyday school vocabulary.

Pure: no database; terms come from the caller (the built-in list in `terms.py`, and
those kept by administrators).
"""

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

# Inside a word, these stand in for letters. A digit between digits ("grade 3", "2024")
# stays a digit: only a word that also has letters is read this way.
_LOOKALIKES = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})
_WORD = re.compile(r"[a-z0-9@$!]+")
_EXAGGERATED = re.compile(r"([a-z])\1{2,}")
_REPEATED = re.compile(r"([a-z])\1+")
MAX_TEXT = 200_000  # characters read of one text; a longer one is read up to here
KEY = 3  # terms are looked up by the first letters of their first word: a text is read once
LOOSE = "~"  # marks a word typed with a letter held down, compared squeezed


@dataclass(frozen=True, slots=True)
class Term:
    """A safety term: its words as typed, and its category (a models.SafetyCategory)."""

    phrase: str
    category: str


@dataclass(frozen=True, slots=True)
class Match:
    category: str
    term: str  # as the term was written, for the alert log


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _word(raw: str) -> str:
    raw = raw.strip("!")  # "help!" is "help"; only an inner "!" stands for an i
    if any(c.isalpha() for c in raw):
        raw = raw.translate(_LOOKALIKES)
    if _EXAGGERATED.search(raw):  # "kiiiill", "killlll": compared with every letter once
        return LOOSE + squeeze(raw)
    return raw


def squeeze(word: str) -> str:
    """The word with each run of one letter as one letter ("kill" -> "kil")."""
    return _REPEATED.sub(r"\1", word)


def words(text: str) -> list[str]:
    """The text's words, normalised as terms are."""
    return [word for raw in _WORD.findall(_fold(text[:MAX_TEXT])) if (word := _word(raw))]


class Matcher:
    """Terms and benign phrases, ready to look for in many texts."""

    def __init__(self, terms: Iterable[Term], benign: Iterable[str] = ()) -> None:
        self._terms: dict[str, list[tuple[tuple[str, ...], Term]]] = {}
        for term in terms:
            pattern = pattern_of(term.phrase)
            if pattern is not None:
                stem = pattern[0].rstrip("*")
                for key in {stem[:KEY], LOOSE + squeeze(stem)[:KEY]}:
                    self._terms.setdefault(key, []).append((pattern, term))
        self._benign: dict[str, list[tuple[str, ...]]] = {}
        for phrase in {tuple(words(text)) for text in benign}:
            if phrase:
                self._benign.setdefault(phrase[0], []).append(phrase)

    def matches(self, text: str) -> list[Match]:
        """Every term found in `text`, each once, in the order they first appear."""
        found: dict[str, Match] = {}
        tokens = self._without_benign(words(text))
        for index, token in enumerate(tokens):
            if token is None:
                continue
            key = token[: KEY + 1] if token.startswith(LOOSE) else token[:KEY]
            for pattern, term in self._terms.get(key, ()):
                if term.phrase not in found and _matches_at(tokens, index, pattern):
                    found[term.phrase] = Match(term.category, term.phrase)
        return list(found.values())

    def _without_benign(self, tokens: list[str]) -> list[str | None]:
        kept: list[str | None] = list(tokens)
        for start, token in enumerate(tokens):
            for phrase in self._benign.get(token, ()):
                if tuple(tokens[start : start + len(phrase)]) == phrase:
                    kept[start : start + len(phrase)] = [None] * len(phrase)
        return kept


def pattern_of(phrase: str) -> tuple[str, ...] | None:
    """A term's words as matched; None when it cannot be a term: no word, or a `*` after
    fewer than KEY letters (it would match too much)."""
    pieces: list[str] = []
    for piece in phrase.split():
        stem = words(piece.rstrip("*"))
        if stem and piece.endswith("*"):
            stem[-1] += "*"
        pieces += stem
    pattern = tuple(pieces)
    if not pattern or any(w.endswith("*") and len(w) <= KEY for w in pattern):
        return None
    return pattern


def _matches_at(tokens: list[str | None], start: int, pattern: tuple[str, ...]) -> bool:
    if start + len(pattern) > len(tokens):
        return False
    for token, wanted in zip(tokens[start : start + len(pattern)], pattern, strict=True):
        if token is None:
            return False
        if token.startswith(LOOSE):
            token, wanted = token[1:], squeeze(wanted)
        if wanted.endswith("*") and token.startswith(wanted[:-1]):
            continue
        if token != wanted:
            return False
    return True


@lru_cache(maxsize=8)
def _cached(terms: tuple[Term, ...], benign: tuple[str, ...]) -> Matcher:
    return Matcher(terms, benign)


def find(text: str, terms: Iterable[Term], benign: Iterable[str] = ()) -> list[Match]:
    """The safety terms in `text` (see the module's rules); [] when none."""
    return _cached(tuple(terms), tuple(benign)).matches(text)
