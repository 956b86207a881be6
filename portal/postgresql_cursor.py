"""psycopg's cursor, whose `description` builds its columns when they are read.

SQLAlchemy asks the cursor for `description` after every statement, to learn whether it
returned rows, and reads the columns in it only the first time a compiled statement runs:
it keeps what it learnt with the statement. psycopg builds a Column object for each column
at every ask, 1.7 µs a column: 263 columns (0.45 ms) on a staff request page, 108 on the
family home, for nothing after the first time (bench/RESULTS.md, seventeenth round).

Here the ask gives the same columns, built on the first read of one of them, from the
result the cursor held when asked: a later statement on the cursor does not change them.
"""

from collections.abc import Iterator, Sequence
from types import SimpleNamespace
from typing import Any, overload

import psycopg
from psycopg import Column


class Description(Sequence[Column]):
    """The columns of one result, as psycopg describes them, built when first read."""

    __slots__ = ("_columns", "_count", "_source")

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        result = cursor.pgresult
        assert result is not None
        # What psycopg's Column reads from its cursor, as the cursor has it now.
        self._source = SimpleNamespace(pgresult=result, _encoding=cursor._encoding, adapters=cursor.adapters)
        self._count = result.nfields
        self._columns: list[Column] | None = None

    def _built(self) -> list[Column]:
        if self._columns is None:
            self._columns = [Column(self._source, index) for index in range(self._count)]  # type: ignore[arg-type]
        return self._columns

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> Column: ...

    @overload
    def __getitem__(self, index: slice) -> list[Column]: ...

    def __getitem__(self, index: int | slice) -> Column | list[Column]:
        return self._built()[index]

    def __iter__(self) -> Iterator[Column]:
        return iter(self._built())

    def __repr__(self) -> str:
        return repr(self._built())


class Cursor(psycopg.Cursor[Any]):
    """The connection's cursor (`connection.cursor_factory`), `description` built on read."""

    @property
    def description(self) -> Sequence[Column] | None:  # type: ignore[override]
        result = self.pgresult
        if result is not None and result.nfields:
            return Description(self)
        return super().description  # no columns: None, or psycopg's [] for "SELECT ;"
