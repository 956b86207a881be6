"""Checks that every household's search text says what its names say now."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Household
from portal.services.households.search_text import LINE, current_text


def stale_households(db: Session) -> dict[int, tuple[list[str], list[str]]]:
    """Households whose stored search text differs from one written now: {id: (stored, now)},
    each as its sorted lines (the order names are gathered in is the database's)."""
    rows = db.execute(select(Household.id, Household.search_text, current_text().label("now")))
    return {
        household_id: (sorted(stored.split(LINE)), sorted(now.split(LINE)))
        for household_id, stored, now in rows
        if sorted(stored.split(LINE)) != sorted(now.split(LINE))
    }
