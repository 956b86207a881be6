"""The front door, the health check and the language switch."""

from flask import Blueprint, current_app, jsonify, redirect, request, session, url_for
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from portal.blueprints.access import redirect_home, redirect_to_next
from portal.blueprints.forms import save
from portal.db import get_session
from portal.extensions import limiter

bp = Blueprint("main", __name__)


@bp.get("/")
def index() -> Response:
    if current_user.is_authenticated:
        return redirect_home(current_user)
    return redirect(url_for("auth.sign_in"))


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """Which dependency is down. The database is required: without it, 503. Redis is not:
    rate limits fall back to each process's memory, so the portal still serves, 200 "degraded"."""
    try:
        get_session().execute(text("SELECT 1"))
        database = "ok"
    except SQLAlchemyError as error:
        current_app.logger.warning("Health check: database unavailable: %s", str(error).strip().splitlines()[0])
        database = "unavailable"
    if not current_app.config["REDIS_URL"]:
        redis = "not configured"
    else:
        redis = "ok" if limiter.storage.check() else "unavailable"
    if database != "ok":
        return jsonify(status="error", database=database, redis=redis), 503
    return jsonify(status="ok" if redis != "unavailable" else "degraded", database=database, redis=redis), 200


@bp.before_app_request
def language_from_link() -> None:
    """A link in an email carries the email's language (?lang=es): a visitor who is not
    signed in, in a browser that may never have been here, reads the page in it. A
    signed-in user keeps the language of their account (the email was written in it
    anyway): a link opened in someone else's browser, or an old email from before they
    switched, does not change what language their emails and pages come in. A value
    that is not one of the portal's languages is ignored."""
    language = request.args.get("lang")
    if language is None or request.method != "GET" or language not in current_app.config["LANGUAGES"]:
        return
    if not current_user.is_authenticated:
        session["language"] = language


@bp.post("/language")
def switch_language() -> Response:
    language = request.form.get("language", "")
    if language in current_app.config["LANGUAGES"]:
        session["language"] = language
        if current_user.is_authenticated and current_user.language != language:

            def switch(_db: Session) -> None:
                current_user.language = language

            save(switch)
    return redirect_to_next(url_for("main.index"))
