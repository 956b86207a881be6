"""Family Portal: a school district's self-service portal for families."""

import logging
import secrets
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, g, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException, InternalServerError, SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from portal import assets, faults, i18n, labels
from portal import db as database
from portal.extensions import babel, csrf, limiter, login_manager
from portal.models import SafetyCategory
from portal.services import errors
from portal.services.accounts import passwords, security_events, sessions
from portal.services.households import phones

ERROR_PAGES = (400, 403, 404, 405, 413, 429, 500)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    load_config(app, test_config)
    configure_logging(app)
    register_extensions(app)
    watch_for_safety_terms()
    register_blueprints(app)
    register_errorhandlers(app)
    register_request_hooks(app)
    register_commands(app)
    return app


def watch_for_safety_terms() -> None:
    """Every new request, family message and feedback is read for safety terms as it is
    saved: importing the module installs its flush listener (services/safety/alerts.py)."""
    from portal.services.safety import alerts  # noqa: F401


def load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    app.config.from_object("portal.config")
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("PORTAL")
    else:
        app.config.from_mapping(test_config)
    instance = Path(app.instance_path)
    if not app.config["DATABASE_URL"]:
        instance.mkdir(parents=True, exist_ok=True)
        app.config["DATABASE_URL"] = f"sqlite:///{instance / 'portal.sqlite3'}"
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret_key(instance / "secret_key")
    if app.config["SESSION_COOKIE_SECURE"] is None:
        app.config["SESSION_COOKIE_SECURE"] = app.config["BASE_URL"].startswith("https://")
    if app.config["SESSION_COOKIE_SECURE"]:
        # The __Host- prefix pins the cookie to this host, over HTTPS, for every path.
        app.config["SESSION_COOKIE_NAME"] = "__Host-portal_session"
    else:
        app.config["SESSION_COOKIE_NAME"] = "portal_session"
    if app.config["TRUSTED_HOSTS"] is None and not app.testing:
        app.config["TRUSTED_HOSTS"] = _hosts_of(app.config["BASE_URL"])
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config["DISTRICT_TIMEZONE"]
    app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"] or "memory://"
    if app.config["REDIS_URL"]:
        timeout = float(app.config["REDIS_TIMEOUT_SECONDS"])
        app.config.setdefault(
            "RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": timeout, "socket_timeout": timeout}
        )
    if app.config.get("PROXY_COUNT"):
        count = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)  # type: ignore[method-assign]


def configure_logging(app: Flask) -> None:
    """Every logger's lines, with time and level, on standard error, unless the host
    (gunicorn's --log-config, a test runner) set up logging first. Without it only
    Flask's own logger printed: the worker's outage lines had no time, and Flask-Limiter's
    fall-back from a dead Redis (a NullHandler of its own) was never seen."""
    logging.basicConfig(
        level=app.config["LOG_LEVEL"], format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )


# Files the same for everyone: cacheable, unlike every page.
STATIC_ENDPOINTS = frozenset({"static", "assets.serve"})

LOOPBACK_NAMES = ["localhost", "127.0.0.1", "::1"]


def _hosts_of(base_url: str) -> list[str]:
    host = urlsplit(base_url).hostname or "localhost"
    return LOOPBACK_NAMES if host in LOOPBACK_NAMES else [host]


def _instance_secret_key(path: Path) -> str:
    """The key generated on first start, kept in instance/ so sessions survive restarts."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.touch(mode=0o600)
    path.write_text(key)
    return key


def session_lifetimes(app: Flask) -> sessions.Lifetimes:
    config = app.config
    return sessions.Lifetimes(
        family_idle=timedelta(minutes=config["FAMILY_SESSION_IDLE_MINUTES"]),
        family_max=timedelta(hours=config["FAMILY_SESSION_MAX_HOURS"]),
        staff_idle=timedelta(minutes=config["STAFF_SESSION_IDLE_MINUTES"]),
        staff_max=timedelta(hours=config["STAFF_SESSION_MAX_HOURS"]),
    )


def register_extensions(app: Flask) -> None:
    from portal.blueprints import access, district

    database.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=access.select_locale, timezone_selector=district.time_zone)
    i18n.init_app(app)
    login_manager.init_app(app)
    login_manager.session_protection = None  # sessions are checked on the server instead
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = None
    login_manager.user_loader(access.load_user)
    limiter.init_app(app)
    passwords.configure(
        time_cost=app.config["PASSWORD_HASH_TIME_COST"],
        memory_kib=app.config["PASSWORD_HASH_MEMORY_KIB"],
        parallelism=app.config["PASSWORD_HASH_PARALLELISM"],
    )
    app.extensions["portal.session_lifetimes"] = session_lifetimes(app)


class RowIdConverter(IntegerConverter):
    """<int:...> in a URL is a row id: a number beyond the database's integer keys
    is a 404 like any other missing row, not an overflow deep in the driver."""

    # ASCII digits only: Werkzeug's \d+ also matches Arabic-Indic or full-width digits,
    # which int() reads as the same number, so one row had many addresses.
    regex = r"[0-9]+"

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", database.MAX_ROW_ID)
        super().__init__(url_map, *args, **kwargs)


def register_blueprints(app: Flask) -> None:
    app.url_map.converters["int"] = RowIdConverter
    assets.init_app(app)
    from portal.blueprints.account.views import bp as account_bp
    from portal.blueprints.admin.views import bp as admin_bp
    from portal.blueprints.admin_calendar.views import bp as admin_calendar_bp
    from portal.blueprints.admin_departments.views import bp as admin_departments_bp
    from portal.blueprints.admin_people.views import bp as admin_people_bp
    from portal.blueprints.admin_roster.views import bp as admin_roster_bp
    from portal.blueprints.admin_safety.views import bp as admin_safety_bp
    from portal.blueprints.admin_security.views import bp as admin_security_bp
    from portal.blueprints.auth.views import bp as auth_bp
    from portal.blueprints.family.views import bp as family_bp
    from portal.blueprints.feedback.views import bp as feedback_bp
    from portal.blueprints.how_we_are_doing.views import bp as how_we_are_doing_bp
    from portal.blueprints.main.views import bp as main_bp
    from portal.blueprints.metrics.views import bp as metrics_bp
    from portal.blueprints.requests.views import bp as requests_bp
    from portal.blueprints.saved_replies.views import bp as saved_replies_bp
    from portal.blueprints.security.views import bp as security_bp
    from portal.blueprints.staff.views import bp as staff_bp
    from portal.blueprints.staff_feedback.views import bp as staff_feedback_bp
    from portal.blueprints.staff_requests.views import bp as staff_requests_bp
    from portal.blueprints.staff_safety.views import bp as staff_safety_bp

    for blueprint in (
        main_bp,
        auth_bp,
        security_bp,
        family_bp,
        account_bp,
        requests_bp,
        feedback_bp,
        how_we_are_doing_bp,
        staff_bp,
        staff_requests_bp,
        staff_feedback_bp,
        staff_safety_bp,
        saved_replies_bp,
        metrics_bp,
        admin_bp,
        admin_people_bp,
        admin_roster_bp,
        admin_departments_bp,
        admin_calendar_bp,
        admin_security_bp,
        admin_safety_bp,
    ):
        app.register_blueprint(blueprint)


def register_errorhandlers(app: Flask) -> None:
    from portal.blueprints.access import request_client

    def render_error(error: HTTPException) -> Any:
        code = error.code or 500
        original = error.original_exception if isinstance(error, InternalServerError) else None
        if original is not None and faults.is_database_unavailable(original):
            # Raised while another error page was being built (one that records a
            # security event, say): the database being down is still a 503.
            return database_unavailable(original)
        if code == 500:
            # Roll back first: the error page must not commit half a change.
            database.close_session()
        template = f"errors/{code}.html" if code in ERROR_PAGES else "errors/generic.html"
        return render_template(template, error=error), code

    for code in ERROR_PAGES:
        app.register_error_handler(code, render_error)

    @app.errorhandler(HTTPException)
    def any_http_error(error: HTTPException) -> tuple[str, int]:
        return render_error(error)

    @app.errorhandler(DBAPIError)
    @app.errorhandler(PoolTimeoutError)
    def database_unavailable(error: Exception) -> Any:
        """While the database restarts: "we'll be right back", 503, built without it.

        The session is closed (rolled back; a dropped connection is discarded by the
        pool), and the layout is given an anonymous user, so neither the user loader
        nor anything else in the page goes back to the database. The language comes
        from the session cookie or the browser, as for anyone signed out."""
        if not faults.is_database_unavailable(error):
            raise error
        app.logger.error("Database unavailable, answering 503: %s", str(error).strip().splitlines()[0])
        try:
            database.close_session()
        except Exception:  # a session on a dead connection may fail to close; it is dropped either way
            app.logger.debug("Closing the session after a database failure failed", exc_info=True)
        g._login_user = login_manager.anonymous_user()
        headers = {"Retry-After": str(int(app.config["UNAVAILABLE_RETRY_AFTER_SECONDS"]))}
        return render_template("errors/503.html"), 503, headers

    @app.errorhandler(SecurityError)
    def untrusted_host(_error: SecurityError) -> tuple[str, int, dict[str, str]]:
        # No page can be built for a host the portal does not answer to: no URLs,
        # no templates, and nothing from the request echoed back.
        return "Bad request: unknown host.\n", 400, {"Content-Type": "text/plain; charset=utf-8"}

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[str, int]:
        return render_template("errors/csrf.html", error=error), 400

    @app.errorhandler(errors.NotFound)
    def not_found(error: errors.NotFound) -> tuple[str, int]:
        if error.refused and current_user.is_authenticated:
            db = database.get_session()
            db.rollback()
            security_events.record(
                db,
                "access_refused",
                request_client(),
                now=database.utcnow(),
                user=current_user,
                detail={"path": request.path[:200]},
            )
            db.commit()  # commit: a security event (who tried to open what is not theirs), after the rollback
        return render_template("errors/404.html"), 404

    @app.errorhandler(429)
    def too_many_requests(error: HTTPException) -> tuple[str, int, dict[str, str]]:
        db = database.get_session()
        db.rollback()
        security_events.record(
            db,
            "rate_limited",
            request_client(),
            now=database.utcnow(),
            email=request.form.get("email", "")[:254],
            detail={"path": request.path[:200]},
        )
        db.commit()  # commit: a security event (who was stopped by a rate limit), after the rollback
        breached = limiter.current_limit
        wait = max(1, int(breached.reset_at - time.time())) if breached is not None else 60
        return render_template("errors/429.html", error=error), 429, {"Retry-After": str(wait)}

    @app.errorhandler(errors.NotAllowed)
    def not_allowed(_error: errors.NotAllowed) -> tuple[str, int]:
        return render_template("errors/403.html"), 403


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


# Every answer's, unless its view set one of them itself; and over HTTPS, HSTS.
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"),
)
STRICT_TRANSPORT_SECURITY = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def register_request_hooks(app: Flask) -> None:
    from portal.blueprints import dates, links, navigation, numbers
    from portal.blueprints.contact_summary import contact_summary

    added = [*SECURITY_HEADERS, STRICT_TRANSPORT_SECURITY] if app.config["SESSION_COOKIE_SECURE"] else SECURITY_HEADERS
    added_by_name = [(name.lower(), name, value) for name, value in added]

    @app.after_request
    def security_headers(response):  # type: ignore[no-untyped-def]
        # The names present read once, where a setdefault each looked through every
        # header again: 41 µs a page, now 10 (bench/RESULTS.md, twenty-second round).
        headers = response.headers
        present = {name.lower() for name, _value in headers.items()}
        headers.extend([(name, value) for lower, name, value in added_by_name if lower not in present])
        if response.mimetype == "application/json" and "charset" not in response.content_type:
            # Every JSON answer (jsonify, the data downloads) says how its text is encoded.
            response.content_type = "application/json; charset=utf-8"
        if request.endpoint not in STATIC_ENDPOINTS:
            # Pages carry personal data or one-time tokens: nothing stays in a
            # shared computer's cache or back button.
            headers["Cache-Control"] = "no-store"
            if "vary" in present:
                response.vary.add("Cookie")
            else:
                headers["Vary"] = "Cookie"
        return response

    app.add_template_filter(datetime.fromisoformat, "isodate")
    # An email's payload holds values as JSON: a safety alert's category is made its enum again.
    app.add_template_filter(SafetyCategory, "safety_category")
    app.add_template_filter(phones.display_phone, "phone")
    app.add_template_filter(labels.label, "label")
    app.add_template_filter(labels.grade, "grade")
    app.add_template_filter(labels.weekday_names, "weekday_names")
    app.add_template_global(public_url)
    app.add_template_global(navigation.main_menu)
    app.add_template_global(links.numbered_links)
    app.add_template_global(contact_summary)
    for name, function in (dates.FILTERS | numbers.FILTERS).items():
        app.add_template_filter(function, name)
    for name, function in dates.GLOBALS.items():
        app.add_template_global(function, name)

    @app.context_processor
    def layout_values() -> dict[str, Any]:
        return {
            "district_name": app.config["DISTRICT_NAME"],
            "languages": app.config["LANGUAGES"],
            "current_language": str(get_locale() or "en"),
        }


def public_url(endpoint: str, **values: Any) -> str:
    """An absolute address on the portal's configured public host, never the request's."""
    base = urlsplit(current_app.config["BASE_URL"])
    return f"{base.scheme}://{base.netloc}{url_for(endpoint, **values)}"


def register_commands(app: Flask) -> None:
    from portal import cli

    for command in cli.COMMANDS:
        app.cli.add_command(command)
