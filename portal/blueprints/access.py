"""Who may open what: the role decorators, the session loader and safe redirects."""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort, current_app, has_request_context, redirect, request, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.db import get_session, utcnow
from portal.extensions import client_address
from portal.models import Role, User
from portal.services.accounts import security_events, sessions

ViewT = TypeVar("ViewT", bound=Callable[..., Any])


def load_user(token: str) -> User | None:
    db = get_session()
    user = sessions.load_session_user(db, token, current_app.extensions["portal.session_lifetimes"], now=utcnow())
    if db.new or db.dirty or db.deleted:
        # commit: an ended session's removal and the sliding last-seen time are kept whatever the page does
        db.commit()
    return user


def select_locale() -> str | None:
    """The signed-in user's language, else the one chosen here, else the browser's."""
    languages = list(current_app.config["LANGUAGES"])
    if not has_request_context():
        return languages[0]  # a command or a worker: force_locale() chooses
    if current_user and current_user.is_authenticated and current_user.language in languages:
        if session.get("language") != current_user.language:
            # Kept in the cookie too: the page shown while the database is down
            # cannot read the user, and speaks this language all the same.
            session["language"] = current_user.language
        return current_user.language
    if session.get("language") in languages:
        return session["language"]
    return request.accept_languages.best_match(languages) or languages[0]


def _role_required(*roles: Role) -> Callable[[ViewT], ViewT]:
    def decorator(view: ViewT) -> ViewT:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


family_required = _role_required(Role.FAMILY)
staff_required = _role_required(Role.STAFF, Role.ADMIN)
admin_required = _role_required(Role.ADMIN)


def home_endpoint(user: User) -> str:
    return {Role.FAMILY: "family.home", Role.STAFF: "staff.home", Role.ADMIN: "admin.home"}[user.role]


def is_safe_path(target: str | None) -> bool:
    """True only for a path on this portal: no scheme, no host, no tricks."""
    if not target or len(target) > 500 or not target.startswith("/"):
        return False
    if target.startswith("//") or "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def redirect_to_next(default: str) -> Response:
    """Redirect to the `next` value if it is a path on this portal, else to `default`."""
    target = request.values.get("next")
    return redirect(target if is_safe_path(target) else default)


def redirect_home(user: User) -> Response:
    return redirect(url_for(home_endpoint(user)))


def request_client() -> security_events.Client:
    return security_events.Client(ip_address=client_address(), user_agent=request.user_agent.string)
