"""One page of a list, and the count behind it."""

import functools
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.base import ExecutableOption
from sqlalchemy.sql.visitors import iterate

from portal.db import read_values

ItemT = TypeVar("ItemT")

MAX_PAGE = 10_000


@dataclass(frozen=True)
class Page(Generic[ItemT]):
    items: list[ItemT]
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return _last_page(self.total, self.size)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def paginate(
    db: Session,
    statement: Select[*tuple[Any, ...]],
    *,
    number: int,
    size: int,
    rows: bool = False,
    then_load: Sequence[ExecutableOption] = (),
    counted_apart: Sequence[ColumnElement[bool]] = (),
    values: bool = False,
) -> Page[Any]:
    """Run `statement` for page `number` (from 1); a number past the end reads the last
    page. Items are the first column's objects, or the statement's rows with `rows=True`.
    `values`: the statement selects values only, no mapped object (a queue's ids, a
    directory's ids and names), and is read without the ORM (portal.db, read_values).

    The page and its total in one statement: each row carries the count of the whole list,
    a subquery of its own that PostgreSQL runs once, before the page (an InitPlan), as it
    ran the count when it was a statement apart, and that a page no longer pays as a
    statement and a round trip of its own (bench/RESULTS.md, twenty-first round). A page
    past the end has no row to carry the total: the list is then counted and its last page
    read.

    With `then_load` (joins of what each row shows), the page's ids are chosen first,
    sorted and limited on the list's own index, and only those rows are joined, in a
    second statement: joined in one step, the database would join every matching row
    before sorting. Two statements, not one with the ids as a subquery, for PostgreSQL's
    plan cache: reading rows by their ids is the same plan for any ids, so a connection
    plans it once; the one statement, whose page size is a parameter, was planned again
    at every request (the staff queue's: 0.7-1.0 ms of planning for 0.6 ms of work).

    `counted_apart`: conditions that split the statement's rows with no overlap (the two
    sides of an OR in its WHERE, say); the total is the sum of their counts. PostgreSQL
    counts an OR of two index ranges by visiting every matching row of the table, and each
    range alone from the index only."""
    total = _count(statement.order_by(None), counted_apart).scalar_subquery()
    if not then_load:
        counted = statement.add_columns(total)
        return _page_and_total(
            db, counted, statement, counted_apart, number=number, size=size, rows=rows, values=values
        )
    model = statement.column_descriptions[0]["entity"]
    counted = _ending_with_the_id(statement).with_only_columns(model.id, total)
    ids = _page_and_total(db, counted, statement, counted_apart, number=number, size=size, values=True)
    return replace(ids, items=_load_in_order(db, model, ids.items, then_load))


def paginate_search(
    db: Session,
    statement: Select[*tuple[Any, ...]],
    *,
    number: int,
    size: int,
    rows: bool = False,
    parameters: Mapping[str, Any] | None = None,
    values: bool = False,
) -> Page[Any]:
    """`paginate` for a list whose WHERE costs more than its rows, a text search, or whose
    round trips cost more than its rows, a family's own requests: each row carries
    `count(*) OVER ()`, so that PostgreSQL runs the search once for the page and its total
    instead of once for each. `parameters`: those of a statement built once; `values` as
    for `paginate`.

    For a statement with a row per item: no joined collections (load them with
    selectinload) and no DISTINCT, which the window would count before removing."""
    counted = statement.add_columns(func.count().over())
    return _page_and_total(
        db, counted, statement, (), number=number, size=size, rows=rows, parameters=parameters, values=values
    )


def _page_and_total(
    db: Session,
    counted: Select[*tuple[Any, ...]],
    statement: Select[*tuple[Any, ...]],
    counted_apart: Sequence[ColumnElement[bool]],
    *,
    number: int,
    size: int,
    rows: bool = False,
    parameters: Mapping[str, Any] | None = None,
    values: bool = False,
) -> Page[Any]:
    """Page `number` of `counted`, `statement` with the list's total as its last column.
    A page past the end has no row to carry the total: `statement` is then counted (its
    count built only then: 20 µs that a page inside the list need not pay)."""

    def read(number: int) -> list[Any]:
        page = counted.limit(size).offset((number - 1) * size)
        return list((read_values(db, page, parameters) if values else db.execute(page, parameters)).all())

    number = min(max(1, number), MAX_PAGE)
    found = read(number)
    if not found and number > 1:
        total = db.scalar(_count(statement.order_by(None), counted_apart), parameters) or 0
        number = min(_last_page(total, size), MAX_PAGE)
        found = read(number) if total else []
    if not found:  # an empty list, or one emptied between the count and the page
        return Page(items=[], number=1, size=size, total=0)
    items = [row[:-1] if rows else row[0] for row in found]
    return Page(items=items, number=number, size=size, total=found[0][-1])


def _last_page(total: int, size: int) -> int:
    return max(1, -(-total // size))


def _count(statement: Select[*tuple[Any, ...]], parts: Sequence[ColumnElement[bool]]) -> Select[int]:
    if not parts:
        return select(func.count()).select_from(statement.subquery())
    counts = [select(func.count()).select_from(statement.where(part).subquery()).scalar_subquery() for part in parts]
    return select(functools.reduce(operator.add, counts))


def _ending_with_the_id(statement: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
    model = statement.column_descriptions[0]["entity"]
    id_column = model.__table__.c.id
    sorted_by = [element for clause in statement._order_by_clauses for element in iterate(clause)]
    return statement if any(element is id_column for element in sorted_by) else statement.order_by(model.id)


def _load_in_order(db: Session, model: Any, ids: list[Any], options: Sequence[ExecutableOption]) -> list[Any]:
    if not ids:
        return []
    found: list[Any] = list(db.scalars(select(model).where(model.id.in_(ids)).options(*options)).unique())
    loaded = {item.id: item for item in found}
    # A row deleted between the two statements is left out, not an error.
    return [loaded[item_id] for item_id in ids if item_id in loaded]
