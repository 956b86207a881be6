"""One page of a list, and the count behind it."""

from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

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
        return max(1, -(-self.total // self.size))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def paginate(db: Session, statement: Select, *, number: int, size: int, rows: bool = False) -> Page:
    """Run `statement` for page `number` (from 1); out-of-range numbers are clamped.
    Items are the first column's objects, or whole rows with `rows=True`."""
    total = db.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    last_page = max(1, -(-total // size))
    number = min(max(1, number), last_page, MAX_PAGE)
    limited = statement.limit(size).offset((number - 1) * size)
    items = list(db.execute(limited).all() if rows else db.scalars(limited))
    return Page(items=items, number=number, size=size, total=total)
