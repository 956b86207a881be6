"""Searching for words in text, with accents and case ignored: "garcia" finds "García",
"JOSÉ" finds "Jose".

The text a search reads most is stored beside it folded, written once when the row is: a
request's subject, its messages, feedback, a household's names (`search_text` columns,
trigram-indexed on PostgreSQL, and kept there in lower case). A search folds the typed
words the same way and compares them whatever their case (stored_text_contains): no
folding of each candidate row (the request search for a word in 20,000
Spanish messages, at 100,000 requests: 282 ms folded at each search, 101-106 ms stored;
bench/RESULTS.md, seventh round). A household's search text is gathered in SQL from its
names (services/households/search_text.py) and folded there by the SQL function
portal_fold(text). On PostgreSQL a migration (d7a3f1c9e5b2) creates it, written with the
same rule; every SQLite connection is given `fold_accents` itself under that name
(portal.db).

The rule: text all ASCII is kept as it is (most text, and the cheapest test); other text
is decomposed (NFKD, which also makes "ﬁ" two letters and a full-width A a plain one), its
combining diacritical marks (U+0300 to U+036F) are dropped, and the letters whose mark
Unicode does not decompose are replaced (the stroke of "Đ" in Vietnamese, of "Ø" and "Ł",
Turkish's dotless i...). Text and its decomposed form fold alike. PostgreSQL does each
step with a C function of its own (`normalize`, `regexp_replace`, `replace`): a 470-letter
Spanish text in 29 µs, against 670 µs for `translate` with a table of every accented
letter. Changing the rule needs a migration that recreates the function and writes every
search text again; a test holds the two to the same results.
"""

import re
import unicodedata
from collections.abc import Callable
from typing import Any

from sqlalchemy import Boolean, ColumnElement, ColumnExpressionArgument, ScalarSelect, String, func, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

FOLDING_FUNCTION = "portal_fold"  # the name `folded` calls

UNDECOMPOSED_LETTERS = "ĐđØøŁłĦħŦŧıƀƗƚ"
THEIR_PLAIN_LETTERS = "DdOoLlHhTtibIl"
_UNDECOMPOSED = str.maketrans(UNDECOMPOSED_LETTERS, THEIR_PLAIN_LETTERS)
COMBINING_MARKS = re.compile("[\u0300-\u036f]")


def fold_accents(text: str) -> str:
    if text.isascii():
        return text
    return COMBINING_MARKS.sub("", unicodedata.normalize("NFKD", text)).translate(_UNDECOMPOSED)


def has_run_of(words: str, length: int) -> bool:
    """Whether `words` hold `length` letters or digits in a row (accents aside). A trigram
    index finds text by runs of three; a pattern without one is tested against every row
    of the table: a search for "a" read all 100,000 requests and their 200,000 messages
    (0.4-0.65 s), "le" 0.18-0.3 s (bench/RESULTS.md, tenth round)."""
    return re.search(rf"[^\W_]{{{length}}}", fold_accents(words)) is not None


def reference_digits(words: str, prefix: str) -> str | None:
    """The digits of a reference number typed as a search, its `prefix` ("R-") optional
    and in any case; None when `words` are not one."""
    digits = words.strip().upper().removeprefix(prefix)
    return digits if digits.isascii() and digits.isdigit() else None


def contains_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with its %, _ and \\ taken literally (ESCAPE '\\')."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def folded(text: ColumnExpressionArgument[str]) -> ColumnElement[str]:
    """`text` folded in the database, as the trigram indexes on it are written."""
    return func.portal_fold(text, type_=String())


def folded_copy_of(source: str) -> Callable[[Any], str]:
    """A column default: the row's column `source` folded, as the row is inserted (through
    the ORM or an INSERT statement alike)."""

    def default(context: Any) -> str:
        return fold_accents(context.get_current_parameters()[source])

    return default


def folded_text_contains(folded_text: QueryableAttribute[str] | ColumnElement[str], words: str) -> ColumnElement[bool]:
    """`folded_text`, a `search_text` column, holds `words`, whatever their case and accents."""
    return stored_text_contains(folded_text, literal(contains_pattern(fold_accents(words)), String()))


class stored_text_contains(FunctionElement[bool]):
    """`stored` (a `search_text` column) matches the LIKE `pattern` whatever their case: both
    are put in lower case by one rule, the database's own (Python's lower() differs from it
    for a Greek final sigma, say), so that text stored folded is found as a search that
    folded it at every row found it.

    On SQLite, ILIKE: SQLite writes it `lower(stored) LIKE lower(pattern)`. On PostgreSQL
    the column is stored in lower case already, by a trigger that lowers whatever any
    writer puts there (migration b5d2e8a4c6f3), so `stored LIKE lower(pattern)`: ILIKE
    would lower each candidate row again, much of a search's time when it matches many
    rows (the household search for a common surname, 2,558 households: 6.5 against 9.1 ms;
    the request queue's for "bus": 5.8 against 6.8 ms; bench/RESULTS.md, fifteenth round).
    LIKE and ILIKE are the same to the trigram indexes."""

    name = "stored_text_contains"
    type = Boolean()
    inherit_cache = True

    def __init__(self, stored: ColumnExpressionArgument[str], pattern: ColumnExpressionArgument[str]) -> None:
        super().__init__(stored, pattern)


@compiles(stored_text_contains)
def _stored_text_contains(element: stored_text_contains, compiler: SQLCompiler, **kw: Any) -> str:
    stored, pattern = element.clauses
    return compiler.process(stored.ilike(pattern, escape="\\"), **kw)


@compiles(stored_text_contains, "postgresql")
def _stored_text_contains_on_postgresql(element: stored_text_contains, compiler: SQLCompiler, **kw: Any) -> str:
    stored, pattern = element.clauses
    return compiler.process(stored.like(func.lower(pattern, type_=String()), escape="\\"), **kw)


class one_of_found(FunctionElement[bool]):
    """`column` is one of the values `found` (a one-column SELECT) lists: `column IN
    (SELECT ...)`; on PostgreSQL `column = ANY(ARRAY(SELECT ...))`, for matches found by a
    search that an index on `column` then looks up. With IN, PostgreSQL joins the found
    values by reading `column`'s table whole when it expects a few thousand of them (the
    requests of the 2,558 households named "garcia": every one of the 100,000 requests read
    and hashed, 29 ms for the count); an array it takes as a short list, looked up in the
    index (15 ms)."""

    name = "one_of_found"
    type = Boolean()
    inherit_cache = True

    def __init__(self, column: ColumnExpressionArgument[Any], found: ScalarSelect[Any]) -> None:
        super().__init__(column, found)


@compiles(one_of_found)
def _one_of_found(element: one_of_found, compiler: SQLCompiler, **kw: Any) -> str:
    column, found = element.clauses
    return f"{compiler.process(column, **kw)} IN {compiler.process(found, **kw)}"


@compiles(one_of_found, "postgresql")
def _one_of_found_on_postgresql(element: one_of_found, compiler: SQLCompiler, **kw: Any) -> str:
    column, found = element.clauses
    return f"{compiler.process(column, **kw)} = ANY(ARRAY{compiler.process(found, **kw)})"
