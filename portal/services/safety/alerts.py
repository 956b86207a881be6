"""Safety alerts: a request, a family's message or a feedback (anonymous included) whose
text matches a safety term is flagged, and the district's safety team is told at once.

At once, any hour: the email is queued due now, whatever anyone's quiet hours (quiet
hours hold back what families are sent, never an alert to staff). It says no more than
the kind of match and a link; the text is read on the alert's page, signed in.

The team is an ordered list of people kept by administrators (without one, the
administrators are the team). The first person is told; until someone acknowledges the
alert, or clears it as a false positive with a reason, it is sent to the next person
every re-send interval, round the list. Every step is in the audit trail. The family who
wrote is never told that its text was flagged.

Terms: the built-in list (terms.py) until an administrator edits it; the first edit
copies it into the table, and from then on the table is the list.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, event, func, inspect, or_, select, update
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.base import NO_VALUE

from portal.catalogs import lazy_gettext as _l
from portal.db import SAFETY_RESEND_MINUTES, rows_matched, utcnow
from portal.models import (
    ACTIVE_STATUSES,
    Feedback,
    Request,
    RequestMessage,
    Role,
    SafetyAlert,
    SafetyCategory,
    SafetyTeamMember,
    SafetyTerm,
    User,
)
from portal.services import audit, notifications, scope
from portal.services.errors import InvalidInput, NotAllowed, NotFound
from portal.services.pagination import Page, paginate
from portal.services.read_along import forgotten_after_a_write, recalled, remember
from portal.services.safety import matcher, terms
from portal.services.text import clean_text

# Session.info keys: the terms in force (read once per session), the alerts of this flush.
_TERMS, _FLAGGED = "portal.safety_terms", "portal.safety_flagged"
DEFAULT_RESEND_MINUTES = 15
PHRASE_MAX, REASON_MAX = 120, 300


@dataclass(frozen=True)
class TermsInForce:
    alerting: tuple[matcher.Term, ...]
    benign: tuple[str, ...]
    edited: bool  # False: the built-in list


def terms_in_force(db: Session) -> TermsInForce:
    """The district's safety terms, read once per session."""
    if _TERMS not in db.info:
        rows = db.execute(select(SafetyTerm.phrase, SafetyTerm.category, SafetyTerm.is_benign)).all()
        if rows:
            alerting = tuple(
                matcher.Term(phrase, str(category)) for phrase, category, benign in rows if not benign and category
            )
            benign_phrases = tuple(phrase for phrase, _category, benign in rows if benign)
            db.info[_TERMS] = TermsInForce(alerting, benign_phrases, edited=True)
        else:
            db.info[_TERMS] = TermsInForce(terms.BUILT_IN_TERMS, terms.BENIGN_PHRASES, edited=False)
    found: TermsInForce = db.info[_TERMS]
    return found


@event.listens_for(Session, "before_flush")
def _flag_new_texts(db: Session, _context: object, _instances: object) -> None:
    """Every new request, family message and feedback is read before it is saved, whatever
    wrote it (a family, staff logging a call, the public form): none can be missed."""
    for obj in list(db.new):
        if isinstance(obj, Request):
            messages = inspect(obj).attrs.messages.loaded_value
            bodies = [m.body for m in messages or () if not m.from_staff] if messages is not NO_VALUE else []
            _flag(db, " \n".join([obj.subject, *bodies]), request=obj, household_id=obj.household_id)
        elif isinstance(obj, RequestMessage) and not obj.from_staff and obj.request_id is not None:
            # (A new request's first message has no request_id yet: it is read with its request.)
            request = db.get_one(Request, obj.request_id)
            _flag(db, obj.body, request=request, message=obj, household_id=request.household_id)
        elif isinstance(obj, Feedback):
            _flag(db, obj.body, feedback=obj, household_id=obj.household_id)


def _flag(
    db: Session,
    text: str,
    *,
    household_id: int | None,
    request: Request | None = None,
    message: RequestMessage | None = None,
    feedback: Feedback | None = None,
) -> None:
    in_force = terms_in_force(db)
    found = matcher.find(text, in_force.alerting, in_force.benign)
    if not found:
        return
    alert = SafetyAlert(
        request=request,
        message=message,
        feedback=feedback,
        household_id=household_id,
        category=SafetyCategory(found[0].category),
        term=found[0].term[:PHRASE_MAX],
        created_at=utcnow(),
    )
    db.add(alert)
    db.info.setdefault(_FLAGGED, []).append((alert, [match.term for match in found]))


@event.listens_for(Session, "after_flush_postexec")
def _tell_of_new_alerts(db: Session, _context: object) -> None:
    """Once saved (with ids), each new alert is in the audit trail and its first email queued;
    both are saved by the flush that the commit runs next."""
    for alert, found in db.info.pop(_FLAGGED, []):
        audit.record(
            db,
            None,
            "safety.flagged",
            alert,
            now=alert.created_at,
            household_id=alert.household_id,
            after={"terms": found},
        )
        _tell_next(db, alert, now=alert.created_at)


@event.listens_for(Session, "after_rollback")
def _forget_flagged(db: Session) -> None:
    db.info.pop(_FLAGGED, None)
    db.info.pop(_TERMS, None)


def _resend_after(db: Session) -> timedelta:
    return timedelta(minutes=float(db.info.get(SAFETY_RESEND_MINUTES, DEFAULT_RESEND_MINUTES)))


def team(db: Session) -> list[User]:
    """The safety team in order, active people only; the administrators when there is none."""
    members = list(
        db.scalars(
            select(User)
            .join(SafetyTeamMember, SafetyTeamMember.user_id == User.id)
            .where(User.is_active.is_(True))
            .order_by(SafetyTeamMember.position, SafetyTeamMember.id)
        )
    )
    if members:
        return members
    return list(db.scalars(select(User).where(User.role == Role.ADMIN, User.is_active.is_(True)).order_by(User.id)))


def _tell_next(db: Session, alert: SafetyAlert, *, now: datetime) -> None:
    resend_after = _resend_after(db)
    people = team(db)
    if not people:
        alert.next_notify_at = now + resend_after  # nobody to tell yet: try again later
        return
    person = people[alert.notified_count % len(people)]
    notifications.enqueue_email(db, person, "safety_alert", {"alert_id": alert.id, "category": alert.category}, now=now)
    alert.notified_user_id, alert.notified_count = person.id, alert.notified_count + 1
    alert.next_notify_at = now + resend_after
    audit.record(db, None, "safety.notified", alert, now=now, household_id=alert.household_id, after={"to": person.id})


def resend_due(db: Session, *, now: datetime) -> int:
    """Alerts nobody acknowledged within the interval go to the next person. Each is taken
    by one worker only (a guarded update), so two workers never send it twice."""
    due = list(
        db.scalars(
            select(SafetyAlert)
            .where(SafetyAlert.next_notify_at <= now)
            .order_by(SafetyAlert.next_notify_at, SafetyAlert.id)
            .limit(100)
        )
    )
    sent = 0
    for alert in due:
        taken = db.execute(
            update(SafetyAlert)
            .where(SafetyAlert.id == alert.id, SafetyAlert.next_notify_at == alert.next_notify_at)
            .values(next_notify_at=now + _resend_after(db))
            .execution_options(synchronize_session=False)
        )
        if rows_matched(taken) == 1:
            db.refresh(alert)
            _tell_next(db, alert, now=now)
            sent += 1
    return sent


def _require_team(db: Session, actor: User) -> None:
    """The safety team and administrators deal with alerts; nobody else sees them."""
    if actor.is_admin:
        return
    member = db.scalar(select(SafetyTeamMember.id).where(SafetyTeamMember.user_id == actor.id))
    if member is None or not actor.is_staff:
        raise NotAllowed()


def is_on_team(db: Session, actor: User) -> bool:
    try:
        _require_team(db, actor)
    except NotAllowed:
        return False
    return True


@dataclass(frozen=True)
class AlertView:
    alert: SafetyAlert
    text: str  # what was written, for the team to judge
    kind: str  # request, message or feedback
    reference: str  # the request's or the feedback's reference


def alert_for_team(db: Session, actor: User, alert_id: int) -> AlertView:
    _require_team(db, actor)
    alert = db.get(SafetyAlert, alert_id)
    if alert is None:
        raise NotFound()
    if alert.message_id is not None:
        message = db.get_one(RequestMessage, alert.message_id)
        return AlertView(alert, message.body, "message", db.get_one(Request, message.request_id).reference)
    if alert.request_id is not None:
        request = db.get_one(Request, alert.request_id)
        first = db.scalar(
            select(RequestMessage.body).where(RequestMessage.request_id == request.id).order_by(RequestMessage.id)
        )
        return AlertView(alert, f"{request.subject}\n\n{first or ''}".strip(), "request", request.reference)
    feedback = db.get_one(Feedback, alert.feedback_id)
    return AlertView(alert, feedback.body, "feedback", feedback.reference)


def department_of_request(request_id: int) -> Select[int]:
    return select(Request.department_id).where(Request.id == request_id)


def department_of_feedback(feedback_id: int) -> Select[int | None]:
    return select(Feedback.department_id).where(Feedback.id == feedback_id)


def acknowledge(db: Session, actor: User, alert_id: int, *, now: datetime) -> SafetyAlert:
    """Someone on the team has it: nobody else is asked. Acknowledging twice changes nothing."""
    view = alert_for_team(db, actor, alert_id)
    alert = view.alert
    if alert.acknowledged_at is None and alert.cleared_at is None:
        alert.acknowledged_at, alert.acknowledged_by_id, alert.next_notify_at = now, actor.id, None
        audit.record(db, actor, "safety.acknowledged", alert, now=now, household_id=alert.household_id)
    return alert


def clear(db: Session, actor: User, alert_id: int, reason: str, *, now: datetime) -> SafetyAlert:
    """A false positive: the flag is taken off, with the reason, and nobody else is asked."""
    reason = clean_text(reason, field="reason", limit=REASON_MAX, missing=_l("Say why this is not a safety concern."))
    view = alert_for_team(db, actor, alert_id)
    alert = view.alert
    if alert.cleared_at is not None:
        raise InvalidInput(_l("This alert was already cleared."), field="reason")
    alert.cleared_at, alert.cleared_by_id, alert.clear_reason, alert.next_notify_at = now, actor.id, reason, None
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by_id = now, actor.id
    audit.record(db, actor, "safety.cleared", alert, now=now, household_id=alert.household_id, after={"reason": reason})
    return alert


def open_alerts(db: Session, actor: User, *, page: int, page_size: int = 25) -> Page[SafetyAlert]:
    """The alerts not cleared, those nobody acknowledged first, newest first."""
    _require_team(db, actor)
    statement = (
        select(SafetyAlert)
        .where(SafetyAlert.cleared_at.is_(None))
        .order_by(SafetyAlert.acknowledged_at.is_not(None), SafetyAlert.created_at.desc(), SafetyAlert.id.desc())
    )
    return paginate(db, statement, number=page, size=page_size)


@dataclass(frozen=True)
class LoggedAlert:
    alert: SafetyAlert
    acknowledged_by: str
    cleared_by: str

    @property
    def seconds_to_acknowledge(self) -> int | None:
        if self.alert.acknowledged_at is None:
            return None
        return int((self.alert.acknowledged_at - self.alert.created_at).total_seconds())


def _log_statement() -> Select[SafetyAlert, str, str]:
    acknowledger, clearer = aliased(User), aliased(User)
    return (
        select(SafetyAlert, acknowledger.display_name, clearer.display_name)
        .outerjoin(acknowledger, acknowledger.id == SafetyAlert.acknowledged_by_id)
        .outerjoin(clearer, clearer.id == SafetyAlert.cleared_by_id)
        .order_by(SafetyAlert.created_at.desc(), SafetyAlert.id.desc())
    )


def alert_log(db: Session, actor: User, *, page: int, page_size: int = 50) -> Page[LoggedAlert]:
    scope.require_admin(actor)
    found = paginate(db, _log_statement(), number=page, size=page_size, rows=True)
    items = [LoggedAlert(alert, ack or "", cleared or "") for alert, ack, cleared in found.items]
    return Page(items, found.number, found.size, found.total)


def alert_log_rows(db: Session, actor: User) -> Iterator[LoggedAlert]:
    """Every alert, for the CSV download, read in pages of the database's."""
    scope.require_admin(actor)
    for alert, ack, cleared in db.execute(_log_statement().execution_options(yield_per=1000)):
        yield LoggedAlert(alert, ack or "", cleared or "")


# The open requests and the feedback with an alert not cleared, in each staff scope's
# form. Built once (portal.db, "Statements built once").
_FLAGGED_REQUESTS = scope.requests_forms(
    select(Request)
    .where(
        Request.id.in_(select(SafetyAlert.request_id).where(SafetyAlert.cleared_at.is_(None))),
        Request.status.in_(ACTIVE_STATUSES),
    )
    .order_by(Request.id.desc())
    .limit(20)
)
_FLAGGED_FEEDBACK = scope.feedback_forms(
    select(Feedback)
    .where(Feedback.id.in_(select(SafetyAlert.feedback_id).where(SafetyAlert.cleared_at.is_(None))))
    .order_by(Feedback.id.desc())
    .limit(20)
)


def flagged_requests(db: Session, staff_scope: scope.StaffScope) -> list[Request]:
    """The open requests with an alert not cleared that a staff member's queue holds, for
    the top of the queue."""
    return [] if _none_uncleared(db) else list(db.scalars(*staff_scope.built(_FLAGGED_REQUESTS)))


def flagged_feedback(db: Session, staff_scope: scope.StaffScope) -> list[Feedback]:
    """The feedback with an alert not cleared that a staff member may see, for the top of the review queue."""
    return [] if _none_uncleared(db) else list(db.scalars(*staff_scope.built(_FLAGGED_FEEDBACK)))


# Session.info: whether an alert was not cleared, read along with the session statement
# (models/safety.py, UNCLEARED_ALERT). While none was, the queues pin nothing without a
# statement: 0.3 ms of the app's time on the staff queue, 0.6 ms on the feedback queue
# (bench/RESULTS.md, eighteenth round). Forgotten when the session writes (its own new
# alert is not in what it read).
_UNCLEARED_READ = forgotten_after_a_write("portal.uncleared_alert_read")


def read_along(db: Session, uncleared_alert: bool | None) -> None:
    if uncleared_alert is not None:
        remember(db, _UNCLEARED_READ, bool(uncleared_alert))


def _none_uncleared(db: Session) -> bool:
    return recalled(db, _UNCLEARED_READ) is False


# --- The list of terms and the team, kept by administrators -------------------------------


def _edit_terms(db: Session) -> None:
    """Before the first edit, the built-in list becomes the table's."""
    if db.scalar(select(func.count()).select_from(SafetyTerm)) == 0:
        db.add_all(SafetyTerm(phrase=t.phrase, category=SafetyCategory(t.category)) for t in terms.BUILT_IN_TERMS)
        db.add_all(SafetyTerm(phrase=phrase, category=None, is_benign=True) for phrase in terms.BENIGN_PHRASES)
        db.flush()
    db.info.pop(_TERMS, None)


def list_terms(db: Session, actor: User) -> list[SafetyTerm]:
    """The terms in force, by category, as rows (the built-in ones without an id until edited)."""
    scope.require_admin(actor)
    rows = list(db.scalars(select(SafetyTerm).order_by(SafetyTerm.is_benign, SafetyTerm.category, SafetyTerm.phrase)))
    if rows:
        return rows
    built_in = [SafetyTerm(phrase=t.phrase, category=SafetyCategory(t.category)) for t in terms.BUILT_IN_TERMS]
    benign = [SafetyTerm(phrase=phrase, category=None, is_benign=True) for phrase in terms.BENIGN_PHRASES]
    return sorted(built_in, key=lambda t: (t.category or "", t.phrase)) + sorted(benign, key=lambda t: t.phrase)


def add_term(db: Session, actor: User, phrase: str, category: str, *, now: datetime) -> SafetyTerm:
    """A term (category a SafetyCategory value) or, with category "benign", a benign phrase."""
    scope.require_admin(actor)
    phrase = clean_text(phrase, field="phrase", limit=PHRASE_MAX, missing=_l("Enter a word or phrase."), one_line=True)
    benign = category == "benign"
    if not benign and category not in set(SafetyCategory):
        raise InvalidInput(_l("Choose what the term is about."), field="category")
    if matcher.pattern_of(phrase) is None:
        raise InvalidInput(
            _l("Use letters, and at least three of them before a *: “suicid*”, not “su*”."), field="phrase"
        )
    _edit_terms(db)
    if db.scalar(select(SafetyTerm.id).where(func.lower(SafetyTerm.phrase) == phrase.lower())) is not None:
        raise InvalidInput(_l("This phrase is on the list already."), field="phrase")
    term = SafetyTerm(
        phrase=phrase,
        category=None if benign else SafetyCategory(category),
        is_benign=benign,
        created_by_id=actor.id,
        created_at=now,
    )
    db.add(term)
    db.flush()
    audit.record(db, actor, "safety.term_added", term, now=now, after={"phrase": phrase, "category": category})
    return term


def remove_term(db: Session, actor: User, phrase: str, *, now: datetime) -> None:
    scope.require_admin(actor)
    _edit_terms(db)
    term = db.scalar(select(SafetyTerm).where(SafetyTerm.phrase == phrase))
    if term is None:
        raise NotFound()
    audit.record(db, actor, "safety.term_removed", term, now=now, before={"phrase": term.phrase})
    db.delete(term)
    db.flush()


def team_members(db: Session, actor: User) -> list[User]:
    scope.require_admin(actor)
    return list(
        db.scalars(
            select(User)
            .join(SafetyTeamMember, SafetyTeamMember.user_id == User.id)
            .order_by(SafetyTeamMember.position, SafetyTeamMember.id)
        )
    )


def add_to_team(db: Session, actor: User, user_id: int | None, *, now: datetime) -> None:
    scope.require_admin(actor)
    person = db.get(User, user_id) if user_id else None
    if person is None or not person.is_staff or not person.is_active:
        raise InvalidInput(_l("Choose an active staff member."), field="user_id")
    if db.scalar(select(SafetyTeamMember.id).where(SafetyTeamMember.user_id == user_id)) is not None:
        raise InvalidInput(_l("%(name)s is on the team already.", name=person.display_name), field="user_id")
    last = db.scalar(select(func.max(SafetyTeamMember.position))) or 0
    member = SafetyTeamMember(user_id=user_id, position=last + 1)
    db.add(member)
    db.flush()
    audit.record(db, actor, "safety.team_added", person, now=now)


def remove_from_team(db: Session, actor: User, user_id: int, *, now: datetime) -> None:
    scope.require_admin(actor)
    member = db.scalar(select(SafetyTeamMember).where(SafetyTeamMember.user_id == user_id))
    if member is None:
        raise NotFound()
    db.delete(member)
    audit.record(db, actor, "safety.team_removed", db.get_one(User, user_id), now=now)
    db.flush()


def staff_choices(db: Session, actor: User) -> list[User]:
    """Staff who may join the team: active staff and administrators not on it."""
    scope.require_admin(actor)
    on_team = select(SafetyTeamMember.user_id)
    return list(
        db.scalars(
            select(User)
            .where(
                or_(User.role == Role.STAFF, User.role == Role.ADMIN),
                User.is_active.is_(True),
                User.id.not_in(on_team),
            )
            .order_by(User.display_name)
        )
    )
