"""Administrators: the district calendar: business hours, time zone, closures and calendar imports."""

from flask import Blueprint, current_app, flash, redirect, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from portal import calendar_feed
from portal.blueprints.access import admin_required
from portal.blueprints.admin_calendar.forms import (
    BusinessHoursForm,
    CalendarFeedForm,
    CalendarImportForm,
    ClosureForm,
    TimeZoneForm,
)
from portal.blueprints.admin_calendar.pages import (
    calendar_page,
    district_today,
    import_choice_form,
    import_page,
    save_calendar_change,
)
from portal.blueprints.forms import save, save_or_flash, save_or_show_error
from portal.blueprints.translated_fields import with_translations
from portal.catalogs import gettext as _
from portal.db import get_session, utcnow
from portal.services.calendar import calendar_import, district_calendar, feed

bp = Blueprint("admin_calendar", __name__, url_prefix="/admin")


@bp.get("/calendar")
@admin_required
def calendar() -> str:
    return calendar_page()


@bp.post("/calendar/hours")
@admin_required
def set_hours() -> Response | str:
    form = BusinessHoursForm()
    if form.validate_on_submit():
        week: dict[int, tuple[str, str] | None] = {}
        for weekday in range(7):
            opens, closes = ((field.data or "").strip() for field in form.day_fields(weekday))
            week[weekday] = (opens, closes) if opens or closes else None
        if save_calendar_change(
            form,
            lambda db: district_calendar.set_week_hours(db, current_user, week, now=utcnow()),
            reason=lambda _week: {"kind": "hours_changed"},
            saved=lambda _week: _("Business hours saved."),
        ):
            return redirect(url_for("admin_calendar.calendar"))
    return calendar_page(hours_form=form)


@bp.post("/calendar/time-zone")
@admin_required
def set_time_zone() -> Response | str:
    form = TimeZoneForm()
    if form.validate_on_submit() and save_calendar_change(
        form,
        lambda db: district_calendar.set_time_zone(
            db,
            current_user,
            form.time_zone.data or "",
            configured=current_app.config["DISTRICT_TIMEZONE"],
            now=utcnow(),
        ),
        reason=lambda changed: {"kind": "time_zone_changed"} if changed else None,
        saved=lambda changed: (
            _("The district's time zone is now %(zone)s.", zone=form.time_zone.data)
            if changed
            else _("The district's time zone was already %(zone)s.", zone=form.time_zone.data)
        ),
    ):
        return redirect(url_for("admin_calendar.calendar"))
    return calendar_page(time_zone_form=form)


@bp.post("/calendar/closures")
@admin_required
def add_closure() -> Response | str:
    form = with_translations(ClosureForm)()
    if form.validate_on_submit() and save_calendar_change(
        form,
        lambda db: district_calendar.add_closure(
            db,
            current_user,
            form.first_day.data,
            form.last_day.data,
            form.name.data,
            now=utcnow(),
            translations=form.translations_data(),
            languages=tuple(current_app.config["LANGUAGES"]),
        ),
        reason=lambda closure: [district_calendar.ClosureChange.of("closure_added", closure)],
        saved=lambda _closure: _("Closure added."),
    ):
        return redirect(url_for("admin_calendar.calendar"))
    return calendar_page(closure_form=form)


@bp.post("/calendar/closures/<int:closure_id>/remove")
@admin_required
def remove_closure(closure_id: int) -> Response:
    save_calendar_change(
        None,
        lambda db: district_calendar.remove_closure(db, current_user, closure_id, now=utcnow()),
        reason=lambda removed: [district_calendar.ClosureChange.of("closure_removed", removed)],
        saved=lambda _none: _("Closure removed."),
    )
    return redirect(url_for("admin_calendar.calendar"))


@bp.post("/calendar/feed")
@admin_required
def subscribe_feed() -> Response | str:
    """Read the district's published calendar on a schedule; the worker's next round reads it."""
    form = CalendarFeedForm()
    if form.validate_on_submit() and save_or_show_error(
        form,
        lambda db: feed.subscribe(
            db,
            current_user,
            form.url.data or "",
            form.categories.data or "",
            allowed_hosts=calendar_feed.allowed_hosts(current_app),
            allow_http=bool(current_app.config["CALENDAR_FEED_ALLOW_HTTP"]),
            now=utcnow(),
        ),
    ):
        flash(
            _("Subscribed. The calendar is read within a few minutes, then every %(hours)d hours.", hours=_feed_hours())
        )
        return redirect(url_for("admin_calendar.calendar"))
    return calendar_page(feed_form=form)


def _feed_hours() -> int:
    return max(1, int(current_app.config["CALENDAR_FEED_REFRESH_MINUTES"]) // 60)


@bp.post("/calendar/feed/check")
@admin_required
def check_feed_now() -> Response:
    if save_or_flash(lambda db: feed.check_now(db, current_user, now=utcnow())):
        flash(_("The calendar is read again within a few minutes."))
    return redirect(url_for("admin_calendar.calendar"))


@bp.post("/calendar/feed/stop")
@admin_required
def unsubscribe_feed() -> Response:
    save(lambda db: feed.unsubscribe(db, current_user, now=utcnow()))
    flash(_("The portal no longer reads the published calendar. The closures it made stay."))
    return redirect(url_for("admin_calendar.calendar"))


@bp.post("/calendar/import")
@admin_required
def upload_calendar() -> Response | str:
    """Read a published .ics file and keep its events for the preview; nothing closes yet."""
    form = CalendarImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        filename = upload.filename or ""
        imported = save_or_show_error(
            form,
            lambda db: calendar_import.keep_import(
                db,
                current_user,
                filename,
                calendar_import.read_calendar(upload.read(calendar_import.MAX_BYTES + 1), filename),
                now=utcnow(),
            ),
        )
        if imported is not None:
            return redirect(url_for("admin_calendar.review_import", import_id=imported.id))
    return calendar_page(import_form=form)


@bp.route("/calendar/import/<int:import_id>", methods=["GET", "POST"])
@admin_required
def review_import(import_id: int) -> str:
    """The events of an upload, by month; the administrator chooses which close the
    offices and sees the closures that saving would add, update and remove."""
    db = get_session()
    imported = calendar_import.import_of(db, current_user, import_id)
    parsed, today = calendar_import.parsed_of(imported), district_today()
    gone = calendar_import.closures_gone(db, parsed, today)
    form = import_choice_form(parsed, today, gone)
    plan = None
    if form.validate_on_submit():
        chosen = calendar_import.choose(
            parsed.events, categories=form.categories.data or (), uids=form.events.data or (), today=today
        )
        plan = calendar_import.plan_closures(db, chosen)
        if not plan and not gone:
            form.events.errors.append(_("Choose at least one category or event that closes the offices."))
            plan = None
    return import_page(imported, parsed, form, gone, plan)


@bp.post("/calendar/import/<int:import_id>/save")
@admin_required
def save_import(import_id: int) -> Response | str:
    db = get_session()
    imported = calendar_import.import_of(db, current_user, import_id)
    parsed, today = calendar_import.parsed_of(imported), district_today()
    gone = calendar_import.closures_gone(db, parsed, today)
    form = import_choice_form(parsed, today, gone)

    def chosen() -> list[calendar_import.ImportedEvent]:
        return calendar_import.choose(
            parsed.events, categories=form.categories.data or (), uids=form.events.data or (), today=today
        )

    if form.validate_on_submit() and save_calendar_change(
        form,
        lambda db: calendar_import.save_closures(
            db,
            current_user,
            imported,
            chosen(),
            now=utcnow(),
            today=today,
            removals=form.removals.data or (),
        ),
        reason=lambda result: result.reason(),
        saved=lambda result: _(
            "Closures from the file: %(added)d new, %(updated)d updated, %(unchanged)d unchanged, %(removed)d removed.",
            added=result.added,
            updated=result.updated,
            unchanged=result.unchanged,
            removed=result.removed,
        ),
    ):
        return redirect(url_for("admin_calendar.calendar"))
    # Refused: the page again, with what was sent and the error next to its field.
    plan = calendar_import.plan_closures(db, chosen()) if form.categories.data or form.events.data else []
    return import_page(imported, parsed, form, gone, plan, removals=set(form.removals.data or ()))


@bp.post("/calendar/import/<int:import_id>/discard")
@admin_required
def discard_import(import_id: int) -> Response:
    save(lambda db: calendar_import.discard_import(db, current_user, import_id, now=utcnow()))
    flash(_("The uploaded calendar was discarded; nothing changed."))
    return redirect(url_for("admin_calendar.calendar"))
