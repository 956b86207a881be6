"""Checks that the search text stored beside each searched text says what that text says now."""

from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from portal.models import Feedback, Household, Request, RequestMessage
from portal.services.households.search_text import LINE, current_text
from portal.text_search import folded


def as_stored(db: Session, text: Any) -> ColumnElement[str]:
    """What a search_text column holds for the folded `text`: in lower case on PostgreSQL,
    where a trigger lowers it (migration b5d2e8a4c6f3), as it is on SQLite."""
    return func.lower(text) if db.get_bind().dialect.name == "postgresql" else text


def stale_households(db: Session) -> dict[int, tuple[list[str], list[str]]]:
    """Households whose stored search text differs from one written now: {id: (stored, now)},
    each as its sorted lines (the order names are gathered in is the database's)."""
    rows = db.execute(select(Household.id, Household.search_text, as_stored(db, current_text()).label("now")))
    return {
        household_id: (sorted(stored.split(LINE)), sorted(now.split(LINE)))
        for household_id, stored, now in rows
        if sorted(stored.split(LINE)) != sorted(now.split(LINE))
    }


def stale_search_texts(db: Session) -> dict[tuple[str, int], tuple[str, str]]:
    """Requests, messages and feedback whose stored search text is not their text folded
    (by the database's portal_fold, which tests/unit/test_text_search.py holds to Python's):
    {(table, id): (stored, expected)}."""
    stale = {}
    searched_texts = ((Request, Request.subject), (RequestMessage, RequestMessage.body), (Feedback, Feedback.body))
    for model, searched in searched_texts:
        expected = as_stored(db, folded(searched))
        for row_id, stored, now in db.execute(select(model.id, model.search_text, expected)):
            if stored != now:
                stale[(model.__tablename__, row_id)] = (stored, now)
    return stale
