"""The one place that turns "the signed-in family" into a WHERE clause.

Family code never loads household data by id alone: it goes through
family_get(), which answers NotFound both for a missing row and for another
household's, so ids cannot be probed.
"""

from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from portal.models import Guardianship, Household, User
from portal.services.errors import NotAllowed, NotFound

ModelT = TypeVar("ModelT")


def household_id_of(db: Session, user: User) -> int | None:
    return db.scalar(select(Guardianship.household_id).where(Guardianship.user_id == user.id))


def _household_column(model: type[Any]) -> Any:
    return model.id if model is Household else model.household_id


def family_select(actor: User, model: type[ModelT]) -> Select[tuple[ModelT]]:
    """SELECT rows of `model` that belong to the actor's own household."""
    if not actor.is_family:
        raise NotAllowed()
    own_household = select(Guardianship.household_id).where(Guardianship.user_id == actor.id)
    return select(model).where(_household_column(model).in_(own_household.scalar_subquery()))


def family_get(db: Session, actor: User, model: type[ModelT], object_id: int, *options: Any) -> ModelT:
    """One row of the actor's own household, or NotFound. `options` are loader options."""
    statement = family_select(actor, model).where(model.id == object_id)  # type: ignore[attr-defined]
    found = db.scalar(statement.options(*options))
    if found is None:
        raise NotFound(refused=db.get(model, object_id) is not None)
    return found


def require_staff(actor: User) -> None:
    if not actor.is_staff:
        raise NotAllowed()


def require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise NotAllowed()
