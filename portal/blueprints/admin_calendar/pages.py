"""The calendar pages of the admin_calendar blueprint, and the one unit of work for every calendar change."""

from collections.abc import Callable
from datetime import date
from typing import TypeVar
from zoneinfo import ZoneInfo

from flask import flash, render_template, request
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm import Session
from wtforms import Form

from portal.blueprints import district
from portal.blueprints.admin_calendar.forms import (
    WEEKDAY_NAMES,
    BusinessHoursForm,
    CalendarImportChoiceForm,
    CalendarImportForm,
    ClosureForm,
    TimeZoneForm,
)
from portal.blueprints.forms import save, save_or_show_error
from portal.db import get_session, utcnow
from portal.models import CalendarImport
from portal.services import requests
from portal.services.calendar import calendar_import, district_calendar

T = TypeVar("T")


def saved_hours_form() -> BusinessHoursForm:
    form = BusinessHoursForm(formdata=None)
    for weekday, periods in district_calendar.weekly_hours(get_session()).items():
        opens, closes = form.day_fields(weekday)
        opens.data, closes.data = periods[0] if periods else ("", "")
    return form


def district_today() -> date:
    return utcnow().astimezone(ZoneInfo(district.time_zone())).date()


def calendar_page(
    *,
    hours_form: BusinessHoursForm | None = None,
    closure_form: ClosureForm | None = None,
    time_zone_form: TimeZoneForm | None = None,
    import_form: CalendarImportForm | None = None,
) -> str:
    """The calendar page, with the form that was sent (and its errors) as it was sent."""
    return render_template(
        "admin_calendar/calendar.html",
        hours_form=hours_form or saved_hours_form(),
        closure_form=closure_form or ClosureForm(formdata=None),
        time_zone_form=time_zone_form or TimeZoneForm(formdata=None, time_zone=district.time_zone()),
        import_form=import_form or CalendarImportForm(formdata=None),
        weekdays=WEEKDAY_NAMES,
        closures=district_calendar.closures(get_session(), from_day=district_today()),
        time_zone=district.time_zone(),
        import_max_kb=calendar_import.MAX_BYTES // 1024,
        import_max_events=calendar_import.MAX_EVENTS,
    )


def save_calendar_change(
    form: Form | None,
    change: Callable[[Session], T],
    reason: Callable[[T], dict[str, str] | None],
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


def import_choice_form(parsed: calendar_import.ParsedCalendar, today: date) -> CalendarImportChoiceForm:
    form = CalendarImportChoiceForm() if request.method == "POST" else CalendarImportChoiceForm(formdata=None)
    form.categories.choices = [name for name, _count in calendar_import.category_counts(parsed.events, today)]
    form.events.choices = [event.uid for event in parsed.events if event.can_close(today)]
    return form


def import_page(
    imported: CalendarImport,
    parsed: calendar_import.ParsedCalendar,
    form: CalendarImportChoiceForm,
    plan: list[calendar_import.PlannedClosure] | None = None,
) -> str:
    today = district_today()
    return render_template(
        "admin_calendar/review_import.html",
        imported=imported,
        parsed=parsed,
        form=form,
        plan=plan,
        today=today,
        categories=calendar_import.category_counts(parsed.events, today),
        chosen_categories=set(form.categories.data or ()),
        chosen_uids=set(form.events.data or ()),
    )
