"""A signed-in person's own security: where they are signed in, and their second factor."""

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from portal.blueprints.access import request_client
from portal.blueprints.forms import attach_error, save, save_or_show_error
from portal.blueprints.security.forms import ConfirmCodeForm, ConfirmPasswordForm
from portal.catalogs import gettext as _
from portal.db import get_session, utcnow
from portal.models import User
from portal.services import scope
from portal.services.accounts import passwords, security_events, sessions, two_factor
from portal.services.errors import DomainError, NotFound

bp = Blueprint("security", __name__, url_prefix="/security")


def set_up_page(form: FlaskForm, user: User, *, during_sign_in: bool) -> str:
    """The authenticator set-up page: QR code drawn here, the key to type, and the code field."""
    uri = two_factor.provisioning_uri(user, current_app.config["DISTRICT_NAME"])
    return render_template(
        "security/set_up_two_factor.html",
        form=form,
        secret=user.totp_secret,
        qr_code=two_factor.qr_code_data_uri(uri),
        during_sign_in=during_sign_in,
    )


@bp.get("/")
@login_required
def overview() -> str:
    db = get_session()
    own_sessions = sessions.list_sessions(
        db, current_user, current_app.extensions["portal.session_lifetimes"], now=utcnow()
    )
    db.commit()  # commit: the ended and expired sessions it found are gone for good
    return render_template(
        "security/overview.html",
        sessions=[(s, sessions.describe_device(s.user_agent)) for s in own_sessions],
        recovery_codes_left=two_factor.unused_recovery_codes(db, current_user),
        can_turn_off=current_user.has_two_factor and not current_user.is_staff,
        current_session_hash=sessions.hash_token(current_user.session_token),
    )


@bp.post("/sessions/<int:session_id>/end")
@login_required
def end_session(session_id: int) -> Response:

    def end(db: Session) -> None:
        if not sessions.end_session_of(db, current_user, session_id):
            raise NotFound()
        security_events.record(db, "session_ended", request_client(), now=utcnow(), user=current_user)

    save(end)
    flash(_("That session is ended. Whoever used it must sign in again."))
    # Ending this browser's own session signs it out; the next page says so.
    return redirect(url_for("security.overview"))


@bp.route("/two-factor", methods=["GET", "POST"])
@login_required
def set_up_two_factor() -> Response | str:
    db = get_session()
    if current_user.has_two_factor:
        return redirect(url_for("security.overview"))
    two_factor.begin_setup(current_user)
    db.commit()  # commit: the secret is kept from the first view, so the QR code stays the same on reload
    form = ConfirmCodeForm()
    if form.validate_on_submit():

        def confirm(db: Session) -> list[str]:
            codes = two_factor.confirm_setup(
                db, current_user, form.code.data, now=utcnow(), household_id=scope.household_id_of(db, current_user)
            )
            security_events.record(db, "two_factor_enabled", request_client(), now=utcnow(), user=current_user)
            return codes

        codes = save_or_show_error(form, confirm)
        if codes:
            return render_template("security/recovery_codes.html", codes=codes)
    return set_up_page(form, current_user, during_sign_in=False)


@bp.post("/two-factor/recovery-codes")
@login_required
def new_recovery_codes() -> str:
    codes = save(lambda db: two_factor.regenerate_recovery_codes(db, current_user, now=utcnow()))
    return render_template("security/recovery_codes.html", codes=codes)


@bp.route("/two-factor/off", methods=["GET", "POST"])
@login_required
def turn_off_two_factor() -> Response | str:
    """Families may turn their second factor off, after typing their password again."""
    if not current_user.has_two_factor:
        return redirect(url_for("security.overview"))
    form = ConfirmPasswordForm()
    if form.validate_on_submit():

        def turn_off(db: Session) -> None:
            household_id = scope.household_id_of(db, current_user)
            two_factor.turn_off(db, current_user, current_user, now=utcnow(), household_id=household_id)
            security_events.record(db, "two_factor_disabled", request_client(), now=utcnow(), user=current_user)

        # Staff may not turn theirs off: that NotAllowed is a 403 page, not an error next to the password.
        if not passwords.verify_password(current_user.password_hash, form.password.data):
            attach_error(form, DomainError(_("Your password is not right."), field="password"))
        else:
            save(turn_off)
            flash(_("Two-step sign-in is off. You sign in with your password alone."))
            return redirect(url_for("security.overview"))
    return render_template("security/turn_off.html", form=form)
