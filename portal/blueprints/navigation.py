"""The main menu of the signed-in user, worked out once a page: each role's destinations,
one or two of them primary (a phone shows those beside the menu, the others in it; a
wider screen shows every one in a row), and the page being shown marked."""

from typing import Any, NamedTuple

from flask import current_app, request, url_for
from flask_babel import LazyString, get_locale

from portal.catalogs import lazy_gettext as _l
from portal.db import get_session
from portal.models import User
from portal.services import scope

# (endpoint, text, primary)
Destination = tuple[str, LazyString, bool]

FAMILY: tuple[Destination, ...] = (
    ("requests.request_list", _l("My requests"), True),
    ("requests.new", _l("Ask a question"), True),
    ("family.home", _l("My household"), False),
    ("account.contact", _l("How we reach you"), False),
    ("feedback.new", _l("Tell us what you think"), False),
)
STAFF: tuple[Destination, ...] = (
    ("staff_requests.queue", _l("Requests"), True),
    ("staff_feedback.queue", _l("Feedback"), True),
    ("staff.home", _l("Households"), False),
)
# Administrators and departments' supervisors: who read metrics and keep saved replies.
LEADS: tuple[Destination, ...] = (
    ("metrics.index", _l("Metrics"), False),
    ("saved_replies.reply_list", _l("Saved replies"), False),
)
ADMIN: tuple[Destination, ...] = (("admin.home", _l("Administration"), False),)
EVERYONE: tuple[Destination, ...] = (("security.overview", _l("Security"), False),)


class MenuItem(NamedTuple):
    url: str
    text: str
    primary: bool
    current: bool  # the page being shown


# Per app: a menu's addresses and texts, for each mix of roles in each language and where
# the portal is mounted (which changes the addresses), worked out the first time a page
# shows them: url_for and the translations took 48 µs a family's page.
_KEPT_LINKS = "portal.menu_links"
_MOST_KEPT = 64


def _destinations(family: bool, staff: bool, leads: bool, admin: bool) -> tuple[Destination, ...]:
    destinations = FAMILY if family else ()
    if staff:
        destinations += STAFF + (LEADS if leads else ())
    if admin:
        destinations += ADMIN
    return destinations + EVERYONE


def main_menu(user: User) -> list[MenuItem]:
    """The signed-in `user`'s menu, in order."""
    roles = (user.is_family, user.is_staff, leads_a_department(user), user.is_admin)
    key = (roles, str(get_locale()), request.script_root)
    kept: dict[Any, list[tuple[str, str, str, bool]]] = current_app.extensions.setdefault(_KEPT_LINKS, {})
    links = kept.get(key)
    if links is None:
        if len(kept) >= _MOST_KEPT:  # a handful in use: never more, whatever reaches the server
            kept.clear()
        links = [(endpoint, url_for(endpoint), str(text), primary) for endpoint, text, primary in _destinations(*roles)]
        kept[key] = links
    shown = request.endpoint
    return [MenuItem(url, text, primary, endpoint == shown) for endpoint, url, text, primary in links]


def leads_a_department(user: User) -> bool:
    """Whether the staff member reads metrics and keeps saved replies (an administrator,
    or a department's supervisor). Read with the staff member's departments, which most
    staff pages read anyway."""
    return user.is_staff and scope.for_staff(get_session(), user).leads_a_department
