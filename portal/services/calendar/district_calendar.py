"""The district calendar: weekly business hours and closures, kept by administrators,
turned into the business_time.Calendar that reply-time arithmetic runs on."""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from babel.dates import format_datetime, get_timezone
from sqlalchemy import ScalarSelect, delete, event, select
from sqlalchemy.orm import Session

from portal.catalogs import lazy_gettext as _l
from portal.db import CONFIGURED_TIME_ZONE
from portal.models import BusinessHours, Closure, DistrictSetting, User
from portal.services import audit, district_cache, scope, translated
from portal.services.errors import InvalidInput, NotFound
from portal.services.requests.business_time import Calendar

DEFAULT_HOURS = {weekday: (("08:00", "16:30"),) for weekday in range(5)}
MAX_CLOSURE_DAYS = 366
CLOSURE_NAME_MAX_LENGTH = 120
# Names in the tz database that are no place's time: "Factory" (no zone at all),
# "localtime" and "posixrules" (aliases of the server's own settings).
NOT_PLACES = frozenset({"Factory", "localtime", "posixrules"})
FALLBACK_TIME_ZONE = "UTC"
_SAMPLE_MOMENT = datetime(2030, 3, 10, 10, 30, tzinfo=UTC)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClosureChange:
    """A closure added ("closure_added") or removed ("closure_removed"): what a family is
    told when it moved their promise."""

    kind: str
    name: str
    first_day: date
    last_day: date
    # The name in the other languages an administrator gave it ({"es": "Día de nieve"}).
    names: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, kind: str, closure: Closure) -> "ClosureChange":
        names = {
            code: fields["name"]
            for code, fields in (closure.translations or {}).items()
            if isinstance(fields, dict) and isinstance(fields.get("name"), str) and fields["name"].strip()
        }
        return cls(kind, closure.name, closure.first_day, closure.last_day, names)


# Keys of Session.info. The configured time zone (DISTRICT_TIMEZONE) is put on every
# session by portal.db (CONFIGURED_TIME_ZONE), so that services read the district's
# calendar themselves.
_TIME_ZONE = "portal.district_time_zone"
_CALENDAR = "portal.district_calendar"


def current_time_zone(db: Session) -> str:
    """The district's time zone, read once per session (a request, a worker round)."""
    if _TIME_ZONE not in db.info:
        db.info[_TIME_ZONE] = time_zone(db, db.info.get(CONFIGURED_TIME_ZONE, FALLBACK_TIME_ZONE))
    zone: str = db.info[_TIME_ZONE]
    return zone


def read_along(db: Session, saved: str | None) -> None:
    """The saved time zone, read with another statement of this session (SAVED_TIME_ZONE):
    current_time_zone then sends none of its own. A calendar already read in another
    zone is read again when next needed."""
    zone = usable_time_zone(saved, db.info.get(CONFIGURED_TIME_ZONE, FALLBACK_TIME_ZONE))
    if db.info.get(_TIME_ZONE, zone) != zone:
        db.info.pop(_CALENDAR, None)
    db.info[_TIME_ZONE] = zone


def current(db: Session) -> Calendar:
    """The calendar that every promise of this session is computed on, with every
    closure: read once per session, and again after `forget` or a rollback; kept between
    requests too (district_cache), in each time zone it was read in."""
    if _CALENDAR not in db.info:
        zone = current_time_zone(db)
        db.info[_CALENDAR] = district_cache.kept(db, ("calendar", zone), lambda: load_calendar(db, zone))
    calendar: Calendar = db.info[_CALENDAR]
    return calendar


def forget(db: Session) -> None:
    """After the calendar changed (or a change was rolled back), the next use reads it again."""
    db.info.pop(_TIME_ZONE, None)
    db.info.pop(_CALENDAR, None)


@event.listens_for(Session, "after_rollback")
def _forget_what_was_rolled_back(db: Session) -> None:
    forget(db)


def _time(text: str) -> time:
    return time.fromisoformat(text)


def weekly_hours(db: Session) -> dict[int, list[tuple[str, str]]]:
    hours: dict[int, list[tuple[str, str]]] = {weekday: [] for weekday in range(7)}
    for row in db.scalars(select(BusinessHours).order_by(BusinessHours.weekday, BusinessHours.opens)):
        hours[row.weekday].append((row.opens, row.closes))
    return hours


def closures(db: Session, *, from_day: date | None = None) -> list[Closure]:
    statement = select(Closure).order_by(Closure.first_day, Closure.id)
    if from_day is not None:
        statement = statement.where(Closure.last_day >= from_day)
    return list(db.scalars(statement))


@cache  # called only with the tz database's names: a few hundred
def _works_everywhere(name: str) -> bool:
    """Whether the portal can use the zone for both its jobs: the reply-time arithmetic
    (zoneinfo) and showing times (Babel, which Flask-Babel hands pytz's zones). Some
    names zoneinfo knows, like "localtime", Babel does not, and every page showing a
    date would fail."""
    if name in NOT_PLACES or name.startswith(("posix/", "right/")):
        return False
    try:
        _SAMPLE_MOMENT.astimezone(ZoneInfo(name))
        format_datetime(_SAMPLE_MOMENT, "EEEE d MMMM HH:mm zzzz", tzinfo=get_timezone(name), locale="en")
    except (LookupError, ValueError, OSError):
        return False
    return True


@cache
def _tz_database_names() -> frozenset[str]:
    return frozenset(available_timezones())


def is_usable_time_zone(name: str) -> bool:
    return name in _tz_database_names() and _works_everywhere(name)


@cache
def usable_time_zones() -> tuple[str, ...]:
    """The time zones an administrator may choose, sorted: the tz database's places
    that the portal can compute and show times in."""
    return tuple(sorted(name for name in _tz_database_names() if is_usable_time_zone(name)))


# The saved choice, as a column to read with another statement (the signed-in session's).
SAVED_TIME_ZONE: ScalarSelect[str | None] = select(DistrictSetting.time_zone).limit(1).scalar_subquery()


def time_zone(db: Session, configured: str) -> str:
    """The district's time zone: the administrators' choice, else the configured one."""
    return usable_time_zone(db.scalar(select(DistrictSetting.time_zone).limit(1)), configured)


def usable_time_zone(saved: str | None, configured: str) -> str:
    """The saved choice (`saved`), else the configured one. A stored or configured name
    the portal cannot use (written before names were checked, or typed into the
    configuration) is passed over with a warning in the log (each time it is read: once
    a request), never an error on every page that shows a time."""
    if saved:
        if is_usable_time_zone(saved):
            return saved
        log.warning("The district's saved time zone %r cannot be used; using %r instead.", saved, configured)
    if is_usable_time_zone(configured):
        return configured
    log.warning("DISTRICT_TIMEZONE %r cannot be used; using %r instead.", configured, FALLBACK_TIME_ZONE)
    return FALLBACK_TIME_ZONE


def set_time_zone(db: Session, actor: User, name: str, *, configured: str, now: datetime) -> bool:
    """Choose the district's time zone (an IANA name, like America/Chicago). Returns
    whether it changed; the caller then recomputes the due times of open requests."""
    scope.require_admin(actor)
    name = name.strip()
    if not is_usable_time_zone(name):
        raise InvalidInput(_l("Choose a time zone from the list, like America/Chicago."), field="time_zone")
    before = time_zone(db, configured)
    if name == before:
        return False
    setting = db.scalar(select(DistrictSetting).limit(1))
    if setting is None:
        setting = DistrictSetting(time_zone=name)
        db.add(setting)
    setting.time_zone, setting.updated_at, setting.updated_by_id = name, now, actor.id
    db.flush()
    audit.record(
        db,
        actor,
        "calendar.time_zone_changed",
        setting,
        now=now,
        before={"time_zone": before},
        after={"time_zone": name},
    )
    forget(db)  # this session's pages and promises use the new zone from now on
    return True


def load_calendar(db: Session, time_zone: str) -> Calendar:
    """The calendar as the arithmetic needs it: two queries. Before an administrator
    sets any hours, the offices keep the default ones, so every promise can be computed."""
    hours = weekly_hours(db)
    if not any(hours.values()):
        hours = {weekday: list(DEFAULT_HOURS.get(weekday, ())) for weekday in range(7)}
    return Calendar(
        ZoneInfo(time_zone),
        {weekday: tuple((_time(o), _time(c)) for o, c in periods) for weekday, periods in hours.items()},
        tuple((closure.first_day, closure.last_day) for closure in closures(db)),
    )


def set_day_hours(db: Session, actor: User, weekday: int, period: tuple[str, str] | None, *, now: datetime) -> None:
    """One open period for a weekday, or None for a closed day."""
    scope.require_admin(actor)
    if not 0 <= weekday <= 6:
        raise InvalidInput(field="weekday")
    if period is not None:
        try:
            opens, closes = _time(period[0]), _time(period[1])
        except ValueError as error:
            raise InvalidInput(_l("Enter times like 08:00 and 16:30."), field=f"day{weekday}_opens") from error
        if not opens < closes:
            raise InvalidInput(_l("The office must open before it closes."), field=f"day{weekday}_closes")
    before = weekly_hours(db)[weekday]
    db.execute(delete(BusinessHours).where(BusinessHours.weekday == weekday))
    if period is not None:
        db.add(BusinessHours(weekday=weekday, opens=period[0], closes=period[1]))
    after = [list(period)] if period is not None else []
    if [list(p) for p in before] != after:
        audit.record(
            db,
            actor,
            "calendar.hours_changed",
            actor,
            now=now,
            before={"weekday": weekday, "periods": [list(p) for p in before]},
            after={"weekday": weekday, "periods": after},
        )


def set_week_hours(
    db: Session, actor: User, week: dict[int, tuple[str, str] | None], *, now: datetime
) -> dict[int, tuple[str, str] | None]:
    """The whole week's hours in one unit of work: one bad day saves none, and a week
    with no open day at all is refused, since no reply could ever be promised."""
    if not any(period is not None for period in week.values()):
        raise InvalidInput(_l("Open the offices on at least one day of the week."), field="day0_opens")
    for weekday, period in sorted(week.items()):
        set_day_hours(db, actor, weekday, period, now=now)
    return week


def add_closure(
    db: Session,
    actor: User,
    first_day: date,
    last_day: date,
    name: str,
    *,
    now: datetime,
    source_uid: str | None = None,
    translations: Mapping[str, Mapping[str, str]] | None = None,
    languages: tuple[str, ...] = (),
) -> Closure:
    scope.require_admin(actor)
    cleaned = translated.clean_translations(
        translations or {}, languages=languages, limits={"name": CLOSURE_NAME_MAX_LENGTH}
    )
    name = " ".join(name.split())
    if not name:
        raise InvalidInput(_l("Name the closure, like “Thanksgiving break”."), field="name")
    if last_day < first_day:
        raise InvalidInput(_l("The last day cannot be before the first day."), field="last_day")
    if (last_day - first_day).days >= MAX_CLOSURE_DAYS:
        raise InvalidInput(_l("A closure can last at most a year."), field="last_day")
    closure = Closure(
        first_day=first_day,
        last_day=last_day,
        name=name,
        translations=cleaned,
        source_uid=source_uid,
        created_at=now,
        created_by_id=actor.id,
    )
    db.add(closure)
    db.flush()
    audit.record(
        db,
        actor,
        "calendar.closure_added",
        closure,
        now=now,
        after={
            "first_day": first_day.isoformat(),
            "last_day": last_day.isoformat(),
            "name": name,
            **({"translations": cleaned} if cleaned else {}),
        },
    )
    return closure


def remove_closure(db: Session, actor: User, closure_id: int, *, now: datetime) -> Closure:
    """Open the offices again on a closure's days; returns the closure, deleted."""
    scope.require_admin(actor)
    closure = db.get(Closure, closure_id)
    if closure is None:
        raise NotFound()
    audit.record(
        db,
        actor,
        "calendar.closure_removed",
        closure,
        now=now,
        before={
            "first_day": closure.first_day.isoformat(),
            "last_day": closure.last_day.isoformat(),
            "name": closure.name,
        },
    )
    db.delete(closure)
    return closure


def seed_default_hours(db: Session) -> None:
    """Monday to Friday, 08:00 to 16:30, when no hours are set yet."""
    if db.scalar(select(BusinessHours.id).limit(1)) is None:
        for weekday, periods in DEFAULT_HOURS.items():
            db.add_all(BusinessHours(weekday=weekday, opens=o, closes=c) for o, c in periods)
