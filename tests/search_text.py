"""Checks that the search text stored beside each searched text says what that text says now."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Feedback, Household, Request, RequestMessage
from portal.services.households.search_text import LINE, current_text
from portal.text_search import fold_accents


def stale_households(db: Session) -> dict[int, tuple[list[str], list[str]]]:
    """Households whose stored search text differs from one written now: {id: (stored, now)},
    each as its sorted lines (the order names are gathered in is the database's)."""
    rows = db.execute(select(Household.id, Household.search_text, current_text().label("now")))
    return {
        household_id: (sorted(stored.split(LINE)), sorted(now.split(LINE)))
        for household_id, stored, now in rows
        if sorted(stored.split(LINE)) != sorted(now.split(LINE))
    }


def stale_search_texts(db: Session) -> dict[tuple[str, int], tuple[str, str]]:
    """Requests, messages and feedback whose stored search text is not their text folded:
    {(table, id): (stored, expected)}."""
    stale = {}
    searched_texts = ((Request, Request.subject), (RequestMessage, RequestMessage.body), (Feedback, Feedback.body))
    for model, searched in searched_texts:
        for row_id, text, stored in db.execute(select(model.id, searched, model.search_text)):
            if stored != fold_accents(text):
                stale[(model.__tablename__, row_id)] = (stored, fold_accents(text))
    return stale
