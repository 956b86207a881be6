"""Administrators: the security events and who looked at which household, with their CSV downloads."""

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.blueprints.access import admin_required
from portal.blueprints.downloads import csv_attachment
from portal.blueprints.forms import whole_number
from portal.db import get_session
from portal.services import csv_export
from portal.services.accounts import security_events
from portal.services.households import access_log

# The most rows one CSV download holds.
EXPORT_LIMIT = 10_000

bp = Blueprint("admin_security", __name__, url_prefix="/admin")


def _security_event_page(kind: str | None, page: int, page_size: int):  # type: ignore[no-untyped-def]
    return security_events.list_events(get_session(), current_user, kind=kind, page=page, page_size=page_size)


@bp.get("/security-events")
@admin_required
def security_event_list() -> str:
    kind = request.args.get("kind") or None
    events = _security_event_page(kind, request.args.get("page", 1, type=whole_number), current_app.config["PAGE_SIZE"])
    return render_template(
        "admin_security/security_event_list.html", events=events, kind=kind, kinds=security_events.KINDS
    )


@bp.get("/security-events.csv")
@admin_required
def security_events_csv() -> Response:
    events = _security_event_page(request.args.get("kind") or None, 1, EXPORT_LIMIT)
    body = csv_export.write_csv(
        ["time", "kind", "user_id", "email", "ip_address", "user_agent"],
        ([e.created_at, e.kind, e.user_id, e.email, e.ip_address, e.user_agent] for e in events.items),
    )
    return csv_attachment(body, stem="security-events")


def _access_page(page: int, page_size: int):  # type: ignore[no-untyped-def]
    return access_log.household_views(
        get_session(),
        current_user,
        household_id=request.args.get("household", type=whole_number),
        staff_id=request.args.get("staff", type=whole_number),
        page=page,
        page_size=page_size,
    )


@bp.get("/access-log")
@admin_required
def access_log_list() -> str:
    views = _access_page(request.args.get("page", 1, type=whole_number), current_app.config["PAGE_SIZE"])
    return render_template(
        "admin_security/access_log_list.html",
        views=views,
        household=request.args.get("household", type=whole_number),
        staff=request.args.get("staff", type=whole_number),
    )


@bp.get("/access-log.csv")
@admin_required
def access_log_csv() -> Response:
    views = _access_page(1, EXPORT_LIMIT)
    body = csv_export.write_csv(
        ["time", "staff_id", "staff_name", "staff_email", "household_id", "household_name", "what", "ip_address"],
        (
            [
                event.created_at,
                staff.id,
                staff.display_name,
                staff.email,
                household.id,
                household.name,
                (event.after or {}).get("what", ""),
                event.ip_address,
            ]
            for event, staff, household in views.items
        ),
    )
    return csv_attachment(body, stem="household-access-log")
