"""The front door, the health check and the language switch."""

from flask import Blueprint, current_app, jsonify, redirect, request, session, url_for
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from portal.blueprints.access import redirect_home, redirect_to_next
from portal.db import get_session

bp = Blueprint("main", __name__)


@bp.get("/")
def index() -> Response:
    if current_user.is_authenticated:
        return redirect_home(current_user)
    return redirect(url_for("auth.sign_in"))


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    try:
        get_session().execute(text("SELECT 1"))
    except SQLAlchemyError:
        current_app.logger.exception("Health check: database unavailable")
        return jsonify(status="error", database="unavailable"), 503
    return jsonify(status="ok", database="ok"), 200


@bp.post("/language")
def switch_language() -> Response:
    language = request.form.get("language", "")
    if language in current_app.config["LANGUAGES"]:
        session["language"] = language
        if current_user.is_authenticated and current_user.language != language:
            current_user.language = language
            get_session().commit()
    return redirect_to_next(url_for("main.index"))
