"""Server-side sessions: signing out, a password change or a reset ends them for real.

The browser's cookie holds a random token; the database holds its SHA-256 hash,
so a stolen database copy cannot be replayed as a cookie either.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from portal.db import rows_matched
from portal.models import ContactPreference, User, UserSession
from portal.models.district_data import VERSION
from portal.models.safety import UNCLEARED_ALERT
from portal.services import district_cache
from portal.services.calendar import district_calendar
from portal.services.households import contacts
from portal.services.safety import alerts

# last_seen_at is written at most this often, not on every page view.
_TOUCH_INTERVAL = timedelta(seconds=60)

# A signed-in session with its user. The district's time zone comes along, since almost
# every page shows a time, the version of the district data that this process may have
# kept, whether a safety alert is not cleared yet (the queues pin those), and the user's
# call-back number and language (the family's request page and new-request form offer
# them). Built once (portal.db, "Statements built once"): every page sends it.
_LIVE_SESSION = (
    select(UserSession, User, district_calendar.SAVED_TIME_ZONE, VERSION, UNCLEARED_ALERT, *contacts.CALL_DETAILS)
    .join(User, User.id == UserSession.user_id)
    .outerjoin(ContactPreference, ContactPreference.user_id == User.id)
    .where(UserSession.token_hash == bindparam("token_hash"))
)


@dataclass(frozen=True)
class Lifetimes:
    family_idle: timedelta
    family_max: timedelta
    staff_idle: timedelta
    staff_max: timedelta

    def for_user(self, user: User) -> tuple[timedelta, timedelta]:
        if user.is_staff:
            return self.staff_idle, self.staff_max
        return self.family_idle, self.family_max


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    db: Session, user: User, lifetimes: Lifetimes, *, now: datetime, user_agent: str, ip_address: str
) -> str:
    """Open a session for `user` and return the token for the cookie."""
    token = secrets.token_urlsafe(32)
    _idle, maximum = lifetimes.for_user(user)
    db.add(
        UserSession(
            token_hash=hash_token(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + maximum,
            user_agent=user_agent[:300],
            ip_address=ip_address[:45],
        )
    )
    user.session_token = token
    return token


def load_session_user(db: Session, token: str, lifetimes: Lifetimes, *, now: datetime) -> User | None:
    """The user of a live session, or None when it ended, expired or sat idle too long."""
    if not token or len(token) > 100:
        return None
    row = db.execute(_LIVE_SESSION, {"token_hash": hash_token(token)}).first()
    if row is None:
        return None
    user_session, user, saved_time_zone, district_data_version, uncleared_alert, *call_details = row
    district_calendar.read_along(db, saved_time_zone)
    district_cache.read_along(db, district_data_version)
    alerts.read_along(db, uncleared_alert)
    contacts.read_along(db, user.id, tuple(call_details))
    idle, _maximum = lifetimes.for_user(user)
    if not user.is_active or now >= user_session.expires_at or now - user_session.last_seen_at >= idle:
        db.delete(user_session)
        return None
    if now - user_session.last_seen_at >= _TOUCH_INTERVAL:
        user_session.last_seen_at = now
    user.session_token = token
    return user


def end_session(db: Session, token: str) -> None:
    db.execute(delete(UserSession).where(UserSession.token_hash == hash_token(token)))


def end_all_sessions(db: Session, user: User, *, except_token: str | None = None) -> None:
    """End every session of `user`, but the one named (the browser that asked)."""
    statement = delete(UserSession).where(UserSession.user_id == user.id)
    if except_token:
        statement = statement.where(UserSession.token_hash != hash_token(except_token))
    db.execute(statement)


def list_sessions(db: Session, user: User, lifetimes: Lifetimes, *, now: datetime) -> list[UserSession]:
    """The user's live sessions, newest activity first; ended and expired ones are gone."""
    idle, _maximum = lifetimes.for_user(user)
    db.execute(
        delete(UserSession).where(
            UserSession.user_id == user.id,
            (UserSession.expires_at <= now) | (UserSession.last_seen_at <= now - idle),
        )
    )
    statement = select(UserSession).where(UserSession.user_id == user.id)
    return list(db.scalars(statement.order_by(UserSession.last_seen_at.desc())))


def end_session_of(db: Session, user: User, session_id: int) -> bool:
    """End one of the user's own sessions; False when there is no such session of theirs."""
    result = db.execute(delete(UserSession).where(UserSession.id == session_id, UserSession.user_id == user.id))
    return rows_matched(result) == 1


@dataclass(frozen=True)
class Device:
    browser: str
    kind: str  # "phone", "tablet" or "computer"


# The first match wins: Edge and Opera say "Chrome" too, Chrome says "Safari".
_BROWSERS = (
    ("EdgA/", "Edge"),
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("CriOS/", "Chrome"),
    ("FxiOS/", "Firefox"),
    ("Firefox/", "Firefox"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)


def describe_device(user_agent: str) -> Device:
    """A plain description of a browser from its User-Agent header, for people to recognise."""
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), "")
    if "iPad" in user_agent or ("Android" in user_agent and "Mobile" not in user_agent):
        kind = "tablet"
    elif any(marker in user_agent for marker in ("iPhone", "Android", "Mobile")):
        kind = "phone"
    else:
        kind = "computer"
    return Device(browser=browser, kind=kind)
