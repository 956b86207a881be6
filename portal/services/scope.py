"""The one place that turns "the signed-in family" into a WHERE clause, and that
decides what a staff member may see of a family.

Family code never loads household data by id alone: it goes through
family_get(), which answers NotFound both for a missing row and for another
household's, so ids cannot be probed.

Staff code asks for_staff() what one staff member may see: every household's
own details (guardians, students, notes, contact preferences), but only the
requests and feedback of the departments they work in (departments.py says
which), and only the history events about those. Every staff page, search and
download of family data goes through it.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any, Generic, TypeVar

from sqlalchemy import BindParameter, ColumnElement, Row, Select, and_, bindparam, event, or_, select
from sqlalchemy.orm import Session

from portal.models import (
    AuditEvent,
    DepartmentMember,
    DistrictSetting,
    Feedback,
    Guardianship,
    Household,
    Request,
    User,
)
from portal.services import departments
from portal.services.errors import NotAllowed, NotFound

ModelT = TypeVar("ModelT")


def household_ids_of(db: Session, user: User) -> list[int]:
    """The households a guardian belongs to, the first joined first (several: shared custody)."""
    statement = select(Guardianship.household_id).where(Guardianship.user_id == user.id).order_by(Guardianship.id)
    return list(db.scalars(statement))


def household_id_of(db: Session, user: User) -> int | None:
    """The first household a guardian joined: where events about the account itself are recorded."""
    return next(iter(household_ids_of(db, user)), None)


def _household_column(model: type[Any]) -> Any:
    return model.id if model is Household else model.household_id


# The guardian of a family statement built once (portal.db, "Statements built once"): a
# parameter that family_parameters gives at execution.
FAMILY_USER_ID = "family_user_id"


def _households_rows(model: type[ModelT], user_id: Any) -> Select[ModelT]:
    own_household = select(Guardianship.household_id).where(Guardianship.user_id == user_id)
    return select(model).where(_household_column(model).in_(own_household.scalar_subquery()))


def family_select(actor: User, model: type[ModelT]) -> Select[ModelT]:
    """SELECT rows of `model` that belong to the actor's own household."""
    if not actor.is_family:
        raise NotAllowed()
    return _households_rows(model, actor.id)


def family_statement(model: type[ModelT]) -> Select[ModelT]:
    """family_select for a statement built once: the guardian is the parameter
    FAMILY_USER_ID, which family_parameters gives (run without it, the statement fails)."""
    return _households_rows(model, bindparam(FAMILY_USER_ID))


def family_parameters(actor: User, **values: Any) -> dict[str, Any]:
    """A family statement's parameters for the signed-in guardian, with `values` (which
    cannot name another guardian)."""
    if not actor.is_family:
        raise NotAllowed()
    return {**values, FAMILY_USER_ID: actor.id}


def family_get(db: Session, actor: User, model: type[ModelT], object_id: int, *options: Any) -> ModelT:
    """One row of the actor's own household, or NotFound. `options` are loader options."""
    statement = family_select(actor, model).where(model.id == object_id)  # type: ignore[attr-defined]
    return _found(db, db.scalar(statement.options(*options)), model, object_id)


def family_get_built(
    db: Session, actor: User, statement: Select[ModelT], model: type[ModelT], object_id: int
) -> ModelT:
    """family_get through a family_statement built once, whose row's id is its parameter
    "object_id"."""
    return _found(db, db.scalar(statement, family_parameters(actor, object_id=object_id)), model, object_id)


def _found(db: Session, found: ModelT | None, model: type[ModelT], object_id: int) -> ModelT:
    if found is None:
        raise NotFound(refused=db.get(model, object_id) is not None)
    return found


def require_staff(actor: User) -> None:
    if not actor.is_staff:
        raise NotAllowed()


def require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise NotAllowed()


# History events about these objects belong to a department; every other event about a
# household (its guardians, students, notes, invitations, contact preferences) does not.
# An event that concerns a request or feedback must be recorded against it, so that
# StaffScope.household_events() can follow it.
DEPARTMENT_OBJECT_TYPES = (Request.__tablename__, Feedback.__tablename__)


class StaffScope:
    """What one staff member may see of families' requests and feedback: the requests of
    the departments they work in; the feedback routed to those departments, and the
    unrouted feedback when one of them is the triage group. Administrators see all.

    The departments are read once, when first needed, and as a list of ids: given the
    values, PostgreSQL looks up (department, status) in the queue indexes, where with a
    subquery it read every active request and joined (3 times slower at 100 000 requests).
    for_staff() gives the same scope to every caller in a session until the session
    writes, commits or rolls back, so that a page (its queue, the safety items pinned
    above it, the other requests of a family) reads the departments once.
    """

    def __init__(self, db: Session, actor: User) -> None:
        require_staff(actor)
        self._db = db
        self.actor = actor

    @cached_property
    def _memberships(self) -> list[tuple[departments.DepartmentChoice, bool, bool]] | None:
        return departments.memberships_of(self._db, self.actor)

    @cached_property
    def department_ids(self) -> tuple[int, ...] | None:
        """The departments worked in; None for an administrator: every one."""
        if self._memberships is None:
            return None
        return tuple(department.id for department, _lead, _triage in self._memberships)

    @cached_property
    def departments(self) -> Sequence[departments.DepartmentChoice]:
        """The departments worked in, by name (read with the memberships): every one for
        an administrator."""
        if self._memberships is None:
            return departments.department_choices(self._db)
        return [department for department, _lead, _triage in self._memberships]

    @property
    def leads_a_department(self) -> bool:
        """An administrator, or the supervisor of a department: who reads its metrics and
        keeps its saved replies (read with the departments, not again)."""
        return self._memberships is None or any(lead for _department, lead, _triage in self._memberships)

    @property
    def sees_unrouted_feedback(self) -> bool:
        """An administrator, or a member of the triage department (read with the departments)."""
        return self._memberships is None or any(triage for _department, _lead, triage in self._memberships)

    def sees_request_of(self, department_id: int) -> bool:
        return self.department_ids is None or department_id in self.department_ids

    def sees_feedback_of(self, department_id: int | None) -> bool:
        if department_id is None:
            return self.sees_unrouted_feedback
        return self.sees_request_of(department_id)

    def requests_where(self) -> ColumnElement[bool] | None:
        """The WHERE clause of the requests this staff member may see; None: all of them."""
        return None if self.department_ids is None else _requests_of(self.department_ids)

    def feedback_where(self) -> ColumnElement[bool] | None:
        """The WHERE clause of the feedback this staff member may see; None: all of it."""
        if self.department_ids is None:
            return None
        return _feedback_of(self.department_ids, unrouted=self.sees_unrouted_feedback)

    def built(self, forms: "ScopeForms[ModelT]") -> tuple[Select[ModelT], dict[str, Any]]:
        """The form of a statement built once (requests_forms, feedback_forms) for this
        staff member, with its parameters."""
        if self.department_ids is None:
            return forms.every, {}
        statement = forms.of_departments
        if forms.with_unrouted is not None and self.sees_unrouted_feedback:
            statement = forms.with_unrouted
        return statement, {SCOPE_DEPARTMENT_IDS: self.department_ids}

    def get_built(self, forms: "ScopeForms[ModelT]", object_id: int) -> ModelT:
        """The row of a statement built once (requests_forms, feedback_forms) whose id is
        its parameter "object_id", or NotFound when this staff member may not see it."""
        statement, parameters = self.built(forms)
        found = self._db.scalar(statement, {**parameters, "object_id": object_id})
        if found is None:
            raise NotFound()
        return found

    def get_built_row(
        self, forms: "ScopeForms[Any]", object_id: int, parameters: dict[str, Any]
    ) -> Row[*tuple[Any, ...]]:
        """get_built, for a statement of several columns (and no joined collection) with
        other `parameters` of its own."""
        statement, scope_parameters = self.built(forms)
        found = self._db.execute(statement, {**scope_parameters, **parameters, "object_id": object_id}).first()
        if found is None:
            raise NotFound()
        return found

    def feedback_parts(self) -> tuple[ColumnElement[bool], ...]:
        """The feedback this staff member sees, split with no overlap where it is an OR
        (their departments' and the unrouted): counted apart, each is one index range."""
        if self.department_ids is None:
            return ()
        parts = _feedback_parts(self.department_ids, unrouted=self.sees_unrouted_feedback)
        return parts if len(parts) > 1 else ()

    def requests(self) -> Select[Request]:
        """SELECT the requests this staff member may see."""
        where = self.requests_where()
        return select(Request) if where is None else select(Request).where(where)

    def feedback(self) -> Select[Feedback]:
        """SELECT the feedback this staff member may see."""
        where = self.feedback_where()
        return select(Feedback) if where is None else select(Feedback).where(where)

    def household_events(self, household_id: int) -> Select[AuditEvent]:
        """The history of a household as this staff member may read it.

        An event about a request or feedback they may not see is left out, rather than
        shown as a neutral line ("a request changed"): a line per step would still give
        the timeline of the family's business with another department (each step of a
        counselling case, say), far more than the bare count of open requests that the
        request page shows so that work is not done twice; and it would point to a
        request that the same page or download leaves out, so they could do nothing
        with it. The family's own history keeps every event.
        """
        statement = select(AuditEvent).where(AuditEvent.household_id == household_id)
        if self.department_ids is None:
            return statement
        visible_requests = select(Request.id).where(
            Request.household_id == household_id, _requests_of(self.department_ids)
        )
        visible_feedback = select(Feedback.id).where(
            Feedback.household_id == household_id,
            _feedback_of(self.department_ids, unrouted=self.sees_unrouted_feedback),
        )
        return statement.where(
            or_(
                AuditEvent.object_type.not_in(DEPARTMENT_OBJECT_TYPES),
                and_(AuditEvent.object_type == Request.__tablename__, AuditEvent.object_id.in_(visible_requests)),
                and_(AuditEvent.object_type == Feedback.__tablename__, AuditEvent.object_id.in_(visible_feedback)),
            )
        )


# The clauses of a scope: `department_ids` a tuple, or the parameter of a statement built
# once. Kept per tuple of departments: clauses never change, and building them anew took a
# queue 0.1 ms a page (a staff member works in a few departments; a district has tens).
@lru_cache(maxsize=1024)
def _requests_of(department_ids: Any) -> ColumnElement[bool]:
    return Request.department_id.in_(department_ids)


@lru_cache(maxsize=1024)
def _feedback_parts(department_ids: Any, *, unrouted: bool) -> tuple[ColumnElement[bool], ...]:
    routed = Feedback.department_id.in_(department_ids)
    return (routed, Feedback.department_id.is_(None)) if unrouted else (routed,)


@lru_cache(maxsize=1024)
def _feedback_of(department_ids: Any, *, unrouted: bool) -> ColumnElement[bool]:
    # A list OR-ed with "unrouted" lets PostgreSQL combine two lookups in the review
    # index, where a subquery would be tested row by row.
    return or_(*_feedback_parts(department_ids, unrouted=unrouted))


# The departments of a staff statement built once (portal.db, "Statements built once"): a
# parameter that StaffScope.built gives at execution.
SCOPE_DEPARTMENT_IDS = "scope_department_ids"
_SCOPE_DEPARTMENTS: BindParameter[int] = bindparam(SCOPE_DEPARTMENT_IDS, expanding=True)


@dataclass(frozen=True)
class ScopeForms(Generic[ModelT]):
    """A statement built once in each form a staff scope gives it (StaffScope.built picks
    one): whole, for an administrator; limited to the staff member's departments, a
    parameter; for feedback, to those and the unrouted, for the triage group."""

    every: Select[ModelT]
    of_departments: Select[ModelT]
    with_unrouted: Select[ModelT] | None = None


def requests_forms(statement: Select[ModelT]) -> ScopeForms[ModelT]:
    """`statement`, about requests, in the forms of the staff scopes."""
    return ScopeForms(statement, statement.where(_requests_of(_SCOPE_DEPARTMENTS)))


def feedback_forms(statement: Select[ModelT]) -> ScopeForms[ModelT]:
    """`statement`, about feedback, in the forms of the staff scopes."""
    return ScopeForms(
        statement,
        statement.where(_feedback_of(_SCOPE_DEPARTMENTS, unrouted=False)),
        statement.where(_feedback_of(_SCOPE_DEPARTMENTS, unrouted=True)),
    )


_SCOPES = "portal.staff_scopes"
# What a scope is made of: the staff member (their role), their memberships, the triage setting.
_VISIBILITY_ROWS = (User, DepartmentMember, DistrictSetting)


def for_staff(db: Session, actor: User) -> StaffScope:
    """What `actor` may see of families' requests and feedback; NotAllowed for a family.

    One scope per staff member and session, shared by every caller until the session
    changes a staff member, a membership or the triage setting (in a flush, or with an
    UPDATE or DELETE statement), commits or rolls back: the next caller then reads them
    again. Other writes (the access log a page records, say) keep it."""
    if _touches_visibility(db):
        # Not flushed yet: the next query flushes them, and the scope must see them.
        _forget_scopes(db)
        return StaffScope(db, actor)
    scopes: dict[int, StaffScope] = db.info.setdefault(_SCOPES, {})
    found = scopes.get(actor.id)
    if found is None or found.actor != actor:  # the same user (or the proxy of it)
        found = scopes[actor.id] = StaffScope(db, actor)
    return found


def _touches_visibility(db: Session) -> bool:
    return any(isinstance(row, _VISIBILITY_ROWS) for changed in (db.new, db.deleted, db.dirty) for row in changed)


def _forget_scopes(db: Session, *_args: Any) -> None:
    db.info.pop(_SCOPES, None)


@event.listens_for(Session, "after_flush")
def _forget_scopes_after_flush(db: Session, _flush_context: Any) -> None:
    """During after_flush, new, dirty and deleted still hold what was flushed."""
    if _touches_visibility(db):
        _forget_scopes(db)


for _moment in ("after_commit", "after_rollback", "after_soft_rollback"):
    event.listen(Session, _moment, _forget_scopes)


@event.listens_for(Session, "do_orm_execute")
def _forget_scopes_on_write(execute_state: Any) -> None:
    """An INSERT, UPDATE or DELETE sent as a statement (not a flush) may change memberships."""
    if not execute_state.is_select:
        _forget_scopes(execute_state.session)
