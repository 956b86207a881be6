"""Call-backs: a family asks to be called about a request instead of written to, at a
number, in a language, within a weekly window, and is promised a time like a written
reply (callback_time); staff log each attempt.

The promise is a clock of the request (`Request.callback_due_at`), so the queue orders a
call-back with the written replies by what is due first, and a late call is told to the
supervisors once, like a late reply. The window is on the district's clock (the
families' and the offices'; the portal keeps no other zone for a family).

Attempts. Reached closes the call-back: the call's summary goes into the conversation as
a reply, which the family reads and which stops the reply clock. Voicemail or no answer
twice, and the family is written to (in the portal and by email) for a better time or
number; a wrong number asks it to correct its contact details. A family may take its
call-back back and be written to instead.
"""

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from flask_babel import force_locale
from sqlalchemy import bindparam, func, inspect, select
from sqlalchemy.orm import Session, joinedload

from portal.catalogs import lazy_gettext as _l
from portal.models import (
    CallAttempt,
    Callback,
    CallbackStatus,
    CallOutcome,
    Request,
    User,
)
from portal.services import audit, scope
from portal.services.calendar import district_calendar
from portal.services.errors import InvalidInput, NotAllowed, NotFound
from portal.services.households import phones
from portal.services.requests import facts
from portal.services.requests.business_time import Calendar
from portal.services.requests.callback_time import CallbackWindowError, CallWindow, callback_due
from portal.services.requests.conversation import reply_as_staff
from portal.services.requests.promises import refresh_due_at
from portal.services.text import clean_text

NOTE_MAX, ATTEMPT_NOTE_MAX, LANGUAGE_MAX = 300, 500, 60
FAILED_ATTEMPTS_BEFORE_WRITING = 2
_CLOCK = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


@dataclass(frozen=True)
class CallbackAsk:
    phone: str
    language: str
    weekdays: frozenset[int]
    window_starts: str  # "HH:MM"
    window_ends: str
    note: str = ""


@dataclass(frozen=True)
class CallbackView:
    callback: Callback
    attempts: list[CallAttempt]


def _clock(text: str, field: str) -> time:
    if not _CLOCK.fullmatch(text or ""):
        raise InvalidInput(_l("Enter a time like 15:30."), field=field)
    return time.fromisoformat(text)


def _window(ask: CallbackAsk, calendar: Calendar) -> CallWindow:
    if not ask.weekdays or not ask.weekdays <= set(range(7)):
        raise InvalidInput(_l("Choose at least one day."), field="weekdays")
    starts, ends = _clock(ask.window_starts, "window_starts"), _clock(ask.window_ends, "window_ends")
    if not starts < ends:
        raise InvalidInput(_l("The end must be later than the start."), field="window_ends")
    return CallWindow(ask.weekdays, starts, ends, calendar.time_zone)


def open_callback(db: Session, request_id: int) -> Callback | None:
    return db.scalar(select(Callback).where(Callback.request_id == request_id, Callback.status == CallbackStatus.OPEN))


def ask(
    db: Session,
    actor: User,
    request: Request,
    wanted: CallbackAsk,
    *,
    region: str,
    now: datetime,
    calendar: Calendar | None = None,
) -> Callback:
    """The family (`request` read through scope.family_get) asks to be called back."""
    if not actor.is_family:
        raise NotAllowed()
    if not request.is_active:
        raise InvalidInput(_l("This request is closed. Send a new one to be called."), field="phone")
    if open_callback(db, request.id) is not None:
        raise InvalidInput(_l("You asked for a call already; we will call you."), field="phone")
    number = phones.normalize_phone(wanted.phone, region=region)
    language = clean_text(
        wanted.language, field="language", limit=LANGUAGE_MAX, one_line=True, missing=_l("Choose a language.")
    )
    note = clean_text(wanted.note, field="note", limit=NOTE_MAX)
    calendar = calendar or district_calendar.current(db)
    window = _window(wanted, calendar)
    target = request.next_reply_target_minutes if request.first_replied_at else request.first_reply_target_minutes
    try:
        due = callback_due(now, timedelta(minutes=target), calendar, window)
    except CallbackWindowError as error:
        raise InvalidInput(
            _l("Our offices are closed on those days at those times. Choose a time when we are open."),
            field="window_starts",
        ) from error
    callback = Callback(
        request_id=request.id,
        asked_by_id=actor.id,
        phone=number,
        language=language,
        weekdays="".join(str(day) for day in sorted(wanted.weekdays)),
        window_starts=wanted.window_starts,
        window_ends=wanted.window_ends,
        note=note,
        due_at=due,
        created_at=now,
    )
    db.add(callback)
    request.callback_due_at, request.updated_at = due, now
    refresh_due_at(request)
    db.flush()
    audit.record(
        db,
        actor,
        "callback.asked",
        request,
        now=now,
        household_id=request.household_id,
        after={"due_at": due.isoformat()},
    )
    return callback


def cancel(db: Session, actor: User, request: Request, *, now: datetime) -> Callback:
    """The family would rather be written to: the reply clocks go on as they were."""
    if not actor.is_family:
        raise NotAllowed()
    callback = open_callback(db, request.id)
    if callback is None:
        raise InvalidInput(_l("There is no call to cancel."))
    _close(request, callback, CallbackStatus.CANCELLED, now)
    audit.record(db, actor, "callback.cancelled", request, now=now, household_id=request.household_id)
    return callback


def _close(request: Request, callback: Callback, status: CallbackStatus, now: datetime) -> None:
    callback.status, callback.closed_at = status, now
    request.callback_due_at = None
    refresh_due_at(request)


# Built once (portal.db, "Statements built once"): both request pages send it.
# Built once (portal.db, "Statements built once").
_LATEST_CALLBACK_ID = select(func.max(Callback.id)).where(Callback.request_id == bindparam("request_id"))
_CALLBACK_WITH_ATTEMPTS = (
    select(Callback).where(Callback.id == bindparam("callback_id")).options(joinedload(Callback.attempts))
)


def view_of(db: Session, request: Request) -> CallbackView | None:
    """The request's latest call-back with its attempts, for the family's and staff's pages.
    Their requests come with the latest call-back's id (undefer(Request.latest_callback_id)),
    so that they send no statement while there is none; it is read here for another."""
    if "latest_callback_id" in inspect(request).unloaded:
        latest_id = db.scalar(_LATEST_CALLBACK_ID, {"request_id": request.id})
    else:
        latest_id = request.latest_callback_id
    if latest_id is None:
        return None
    callback = db.scalars(_CALLBACK_WITH_ATTEMPTS, {"callback_id": latest_id}).unique().one_or_none()
    if callback is None:  # deleted since, with its request
        return None
    return CallbackView(callback, list(callback.attempts))


def log_attempt(
    db: Session,
    actor: User,
    request: Request,
    outcome: CallOutcome,
    note: str,
    *,
    now: datetime,
    calendar: Calendar | None = None,
) -> CallAttempt:
    """Staff tried to call (the request read through their scope)."""
    staff_scope = scope.for_staff(db, actor)
    if not staff_scope.sees_request_of(request.department_id):
        raise NotFound()
    callback = open_callback(db, request.id)
    if callback is None:
        raise InvalidInput(_l("This call-back is no longer open."), field="outcome")
    note = clean_text(
        note,
        field="note",
        limit=ATTEMPT_NOTE_MAX,
        missing=_l("Write what was said: the family reads it.") if outcome is CallOutcome.REACHED else None,
    )
    attempt = CallAttempt(callback_id=callback.id, staff_id=actor.id, outcome=outcome, note=note, created_at=now)
    db.add(attempt)
    db.flush()
    audit.record(
        db,
        actor,
        "callback.attempted",
        request,
        now=now,
        household_id=request.household_id,
        after={"outcome": outcome.value},
    )
    family = db.get(User, callback.asked_by_id) if callback.asked_by_id else None
    language = family.language if family else "en"
    calendar = calendar or district_calendar.current(db)
    ended = outcome in (CallOutcome.REACHED, CallOutcome.WRONG_NUMBER)
    if ended or _failed_attempts(db, callback.id) >= FAILED_ATTEMPTS_BEFORE_WRITING:
        tried = db.scalar(select(func.count()).where(CallAttempt.callback_id == callback.id)) or 0
        kept = outcome is CallOutcome.REACHED
        facts.callback_ended(db, request, callback, actor.id, kept=kept, attempts=tried, now=now, calendar=calendar)
    if outcome is CallOutcome.REACHED:
        _close(request, callback, CallbackStatus.REACHED, now)
        with force_locale(language):
            summary = str(_l("Summary of our call: %(note)s", note=note))
        reply_as_staff(db, actor, request, summary, internal=False, calendar=calendar, now=now)
    elif outcome is CallOutcome.WRONG_NUMBER:
        _close(request, callback, CallbackStatus.WRONG_NUMBER, now)
        with force_locale(language):
            text = str(
                _l(
                    "We could not reach you at %(phone)s: the number seems wrong. Please correct it under "
                    "“How we reach you”, and ask for a call again or write to us here.",
                    phone=phones.display_phone(callback.phone),
                )
            )
        _write_to_family(db, actor, request, text, calendar=calendar, now=now)
    elif _failed_attempts(db, callback.id) >= FAILED_ATTEMPTS_BEFORE_WRITING:
        _close(request, callback, CallbackStatus.NEEDS_NEW_TIME, now)
        with force_locale(language):
            text = str(
                _l(
                    "We tried to call you twice and could not reach you. Please tell us a better time or "
                    "number: ask for a call again, or write to us here."
                )
            )
        _write_to_family(db, actor, request, text, calendar=calendar, now=now)
    return attempt


def _failed_attempts(db: Session, callback_id: int) -> int:
    failed = (CallOutcome.VOICEMAIL, CallOutcome.NO_ANSWER)
    counted = select(func.count()).where(CallAttempt.callback_id == callback_id, CallAttempt.outcome.in_(failed))
    return db.scalar(counted) or 0


def _write_to_family(
    db: Session, actor: User, request: Request, text: str, *, calendar: Calendar | None, now: datetime
) -> None:
    """A reply the family reads in the portal and gets by email (in the family's language)."""
    reply_as_staff(db, actor, request, text, internal=False, calendar=calendar, now=now)


def recompute_open(db: Session, calendar: Calendar) -> int:
    """The open call-backs' promises again, on a changed calendar (a closure added or
    removed, new office hours): from when each was asked, with its window. Returns how
    many moved. A window that no longer meets the office hours keeps its promise: staff
    see it, and call."""
    moved = 0
    statement = (
        select(Callback, Request)
        .join(Request, Request.id == Callback.request_id)
        .where(Callback.status == CallbackStatus.OPEN)
        .order_by(Callback.id)
    )
    for callback, request in db.execute(statement):
        window = CallWindow(
            frozenset(int(day) for day in callback.weekdays),
            time.fromisoformat(callback.window_starts),
            time.fromisoformat(callback.window_ends),
            calendar.time_zone,
        )
        target = request.next_reply_target_minutes if request.first_replied_at else request.first_reply_target_minutes
        try:
            due = callback_due(callback.created_at, timedelta(minutes=target), calendar, window)
        except CallbackWindowError:
            continue
        if due != callback.due_at:
            callback.due_at = request.callback_due_at = due
            refresh_due_at(request)
            moved += 1
    return moved
