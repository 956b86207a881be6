"""How fast each department answers, for anyone: families deciding whether to ask,
and the public the district answers to. Only departments an administrator published."""

from flask import Blueprint, current_app, render_template

from portal.db import get_session, utcnow
from portal.services.errors import NotFound
from portal.services.metrics import public

bp = Blueprint("how_we_are_doing", __name__, url_prefix="/how-we-are-doing")


def _kept() -> public.Kept:
    """The figures this process read lately (one store per app)."""
    kept: public.Kept = current_app.extensions.setdefault("portal.public_figures", {})
    return kept


@bp.get("/")
def index() -> str:
    return render_template(
        "how_we_are_doing/index.html", figures=public.public_figures(get_session(), _kept(), now=utcnow()), one=False
    )


@bp.get("/<int:department_id>")
def department(department_id: int) -> str:
    figures = public.public_figures(get_session(), _kept(), now=utcnow(), department_id=department_id)
    if not figures:
        raise NotFound()
    return render_template("how_we_are_doing/index.html", figures=figures, one=True)
