"""The main menu of the signed-in user, worked out once a page: each role's destinations,
one or two of them primary (a phone shows those beside the menu, the others in it; a
wider screen shows every one in a row), and the page being shown marked."""

from dataclasses import dataclass

from flask import request, url_for
from flask_babel import LazyString

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


@dataclass(frozen=True)
class MenuItem:
    url: str
    text: str
    primary: bool
    current: bool  # the page being shown


def main_menu(user: User) -> list[MenuItem]:
    """The signed-in `user`'s menu, in order."""
    destinations = list(FAMILY if user.is_family else ())
    if user.is_staff:
        destinations += STAFF
        if leads_a_department(user):
            destinations += LEADS
    if user.is_admin:
        destinations += ADMIN
    destinations += EVERYONE
    shown = request.endpoint
    return [
        MenuItem(url_for(endpoint), str(text), primary, endpoint == shown) for endpoint, text, primary in destinations
    ]


def leads_a_department(user: User) -> bool:
    """Whether the staff member reads metrics and keeps saved replies (an administrator,
    or a department's supervisor). Read with the staff member's departments, which most
    staff pages read anyway."""
    return user.is_staff and scope.for_staff(get_session(), user).leads_a_department
