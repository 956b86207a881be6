"""The calendar pages of the admin_calendar blueprint, and the one unit of work for every calendar change."""

import itertools
from collections.abc import Callable, Sequence
from datetime import date
from typing import TypeVar
from zoneinfo import ZoneInfo

from flask import current_app, flash, render_template, request
from sqlalchemy.orm import Session
from wtforms import Form

from portal import calendar_feed
from portal.blueprints import district
from portal.blueprints.admin_calendar.forms import (
    WEEKDAY_NAMES,
    BusinessHoursForm,
    CalendarFeedForm,
    CalendarImportChoiceForm,
    CalendarImportForm,
    ClosureForm,
    TimeZoneForm,
)
from portal.blueprints.forms import save, save_or_show_error
from portal.blueprints.translated_fields import with_translations
from portal.catalogs import gettext as _
from portal.catalogs import ngettext
from portal.db import get_session, utcnow
from portal.i18n import translated_field
from portal.models import CalendarFeed, CalendarImport, Closure
from portal.services import requests
from portal.services.calendar import calendar_import, district_calendar, feed

T = TypeVar("T")


def saved_hours_form() -> BusinessHoursForm:
    form = BusinessHoursForm(formdata=None)
    for weekday, periods in district_calendar.weekly_hours(get_session()).items():
        opens, closes = form.day_fields(weekday)
        opens.data, closes.data = periods[0] if periods else ("", "")
    return form


def saved_feed_form(subscription: CalendarFeed | None) -> CalendarFeedForm:
    if subscription is None:
        return CalendarFeedForm(formdata=None)
    return CalendarFeedForm(formdata=None, url=subscription.url, categories=", ".join(subscription.categories))


def district_today() -> date:
    return utcnow().astimezone(ZoneInfo(district.time_zone())).date()


def calendar_page(
    *,
    hours_form: BusinessHoursForm | None = None,
    closure_form: ClosureForm | None = None,
    time_zone_form: TimeZoneForm | None = None,
    import_form: CalendarImportForm | None = None,
    feed_form: CalendarFeedForm | None = None,
) -> str:
    """The calendar page, with the form that was sent (and its errors) as it was sent."""
    subscription = feed.current(get_session())
    return render_template(
        "admin_calendar/calendar.html",
        hours_form=hours_form or saved_hours_form(),
        closure_form=closure_form or with_translations(ClosureForm)(formdata=None),
        time_zone_form=time_zone_form or TimeZoneForm(formdata=None, time_zone=district.time_zone()),
        import_form=import_form or CalendarImportForm(formdata=None),
        feed_form=feed_form or saved_feed_form(subscription),
        subscription=subscription,
        feed_hosts=calendar_feed.allowed_hosts(current_app),
        weekdays=WEEKDAY_NAMES,
        closures=district_calendar.closures(get_session(), from_day=district_today()),
        time_zone=district.time_zone(),
        import_max_kb=calendar_import.MAX_BYTES // 1024,
        import_max_events=calendar_import.MAX_EVENTS,
    )


def save_calendar_change(
    form: Form | None,
    change: Callable[[Session], T],
    reason: Callable[[T], dict[str, str] | Sequence[district_calendar.ClosureChange] | None],
    saved: Callable[[T], str],
) -> bool:
    """One unit of work for a change to the district calendar: the change, then every open
    request's promise computed again on the changed calendar (keeping `reason(result)` to
    tell the family why it moved), then the commit. A refused change is shown on `form`
    (raised, without a form). Flashes `saved(result)` and how many promises moved."""

    def change_and_recompute(db: Session) -> tuple[T, int | None]:
        result = change(db)
        why = reason(result)
        district_calendar.forget(db)
        if why is None:
            return result, None
        return result, requests.recompute_after_calendar_change(db, why, now=utcnow())

    if form is None:
        outcome: tuple[T, int | None] | None = save(change_and_recompute)
    else:
        outcome = save_or_show_error(form, change_and_recompute)
    if outcome is None:
        return False
    result, moved = outcome
    flash(saved(result))
    if moved:
        flash(
            ngettext(
                "The promised reply time of %(num)d open request moved.",
                "The promised reply times of %(num)d open requests moved.",
                moved,
            )
        )
    elif moved is not None:
        flash(_("No open request's promised reply time moved."))
    return True


def import_choice_form(
    parsed: calendar_import.ParsedCalendar, today: date, gone: list[Closure]
) -> CalendarImportChoiceForm:
    form = CalendarImportChoiceForm() if request.method == "POST" else CalendarImportChoiceForm(formdata=None)
    form.categories.choices = [name for name, _count in calendar_import.category_counts(parsed.events, today)]
    form.events.choices = [event.uid for event in parsed.events if event.can_close(today)]
    form.removals.choices = [(closure.id, translated_field(closure)) for closure in gone]
    return form


def by_month(events: list[calendar_import.ImportedEvent]) -> list[tuple[date, list[calendar_import.ImportedEvent]]]:
    """The events under the first day of the month they start in, for a preview a phone can scroll."""
    return [
        (month, list(grouped))
        for month, grouped in itertools.groupby(events, key=lambda event: event.first_day.replace(day=1))
    ]


def import_page(
    imported: CalendarImport,
    parsed: calendar_import.ParsedCalendar,
    form: CalendarImportChoiceForm,
    gone: list[Closure],
    plan: list[calendar_import.PlannedClosure] | None = None,
    removals: set[int] | None = None,
) -> str:
    """The preview of an upload. Every closure gone from the file is ticked for removal
    until the administrator sends the save form with their own `removals`."""
    today = district_today()
    return render_template(
        "admin_calendar/review_import.html",
        imported=imported,
        parsed=parsed,
        months=by_month(parsed.events),
        form=form,
        plan=plan,
        gone=gone,
        today=today,
        categories=calendar_import.category_counts(parsed.events, today),
        chosen_categories=set(form.categories.data or ()),
        chosen_uids=set(form.events.data or ()),
        chosen_removals={closure.id for closure in gone} if removals is None else removals,
    )
