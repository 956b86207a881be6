"""Sign in and out, passwords, and joining through an invitation."""

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from portal.blueprints.access import home_endpoint, redirect_home, redirect_to_next
from portal.blueprints.auth.forms import (
    ActivationCodeForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    NewPasswordForm,
    SignInForm,
)
from portal.blueprints.forms import attach_error
from portal.db import get_session, utcnow
from portal.extensions import client_address, limiter
from portal.models import Invitation, User
from portal.services import accounts, audit, sessions
from portal.services.errors import DomainError, InvalidToken

bp = Blueprint("auth", __name__)


def _attempt_failed(response: Response) -> bool:
    # Only failed attempts count toward the limits: a success redirects.
    return response.status_code != 302


def _account_key() -> str:
    return "account:" + accounts.normalize_email(request.form.get("email", ""))[:254]


def _config_value(name: str):  # type: ignore[no-untyped-def]
    return lambda: current_app.config[name]


sign_in_limit_per_client = limiter.limit(
    _config_value("SIGN_IN_LIMIT_PER_CLIENT"), methods=["POST"], deduct_when=_attempt_failed
)
sign_in_limit_per_account = limiter.limit(
    _config_value("SIGN_IN_LIMIT_PER_ACCOUNT"),
    methods=["POST"],
    key_func=_account_key,
    deduct_when=_attempt_failed,
)
activation_limit = limiter.limit(
    _config_value("ACTIVATION_LIMIT_PER_CLIENT"), methods=["POST"], deduct_when=_attempt_failed
)


def _sign_in(user: User) -> None:
    """Start a fresh server-side session: nothing from before sign-in is carried over."""
    db = get_session()
    language = session.get("language")
    session.clear()
    if language:
        session["language"] = language
    sessions.start_session(
        db,
        user,
        current_app.extensions["portal.session_lifetimes"],
        now=utcnow(),
        user_agent=request.user_agent.string,
        ip_address=client_address(),
    )
    audit.record(db, user, "user.signed_in", user, now=utcnow(), ip_address=client_address())
    db.commit()
    login_user(user)


@bp.route("/sign-in", methods=["GET", "POST"])
@sign_in_limit_per_client
@sign_in_limit_per_account
def sign_in() -> Response | str:
    if current_user.is_authenticated:
        return redirect_home(current_user)
    form = SignInForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(get_session(), form.email.data, form.password.data, now=utcnow())
        except DomainError as error:
            attach_error(form, error)
        else:
            _sign_in(user)
            return redirect_to_next(url_for(home_endpoint(user)))
    return render_template("auth/sign_in.html", form=form)


@bp.post("/sign-out")
@login_required
def sign_out() -> Response:
    sessions.end_session(get_session(), current_user.session_token)
    get_session().commit()
    logout_user()
    session.clear()
    flash(_("You are signed out."))
    return redirect(url_for("auth.sign_in"))


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(_config_value("SIGN_IN_LIMIT_PER_CLIENT"), methods=["POST"])
def forgot_password() -> Response | str:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        db = get_session()
        accounts.request_password_reset(db, form.email.data, now=utcnow(), secret_key=current_app.config["SECRET_KEY"])
        db.commit()
        # The same answer whether or not the address has an account.
        flash(
            _(
                "If an account uses that address, we have emailed it a link to choose a new "
                "password. The link works for one hour."
            )
        )
        return redirect(url_for("auth.sign_in"))
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Response | str:
    db = get_session()
    config = current_app.config
    try:
        accounts.user_for_reset_token(
            db, token, secret_key=config["SECRET_KEY"], max_age_seconds=config["PASSWORD_RESET_VALID_SECONDS"]
        )
    except InvalidToken:
        return render_template("auth/link_expired.html"), 410  # type: ignore[return-value]
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            user = accounts.reset_password(
                db,
                token,
                form.password.data,
                now=utcnow(),
                secret_key=config["SECRET_KEY"],
                max_age_seconds=config["PASSWORD_RESET_VALID_SECONDS"],
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            sessions.end_all_sessions(db, user)
            db.commit()
            flash(_("Your password is changed. Sign in with the new one."))
            return redirect(url_for("auth.sign_in"))
    return render_template("auth/reset_password.html", form=form)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str) -> Response | str:
    db = get_session()
    try:
        invitation = accounts.invitation_by_token(db, token, now=utcnow())
    except InvalidToken:
        return render_template("auth/link_expired.html", invitation=True), 410  # type: ignore[return-value]
    return _set_first_password(invitation)


@bp.route("/activate", methods=["GET", "POST"])
@activation_limit
def activate() -> Response | str:
    form = ActivationCodeForm()
    if form.validate_on_submit():
        try:
            invitation = accounts.invitation_by_code(
                get_session(), form.code.data, now=utcnow(), secret_key=current_app.config["SECRET_KEY"]
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            session["activation_invitation_id"] = invitation.id
            return redirect(url_for("auth.activate_password"))
    return render_template("auth/activate.html", form=form)


@bp.route("/activate/password", methods=["GET", "POST"])
def activate_password() -> Response | str:
    invitation = get_session().get(Invitation, session.get("activation_invitation_id", 0))
    if invitation is None or not invitation.is_usable(utcnow()):
        session.pop("activation_invitation_id", None)
        return redirect(url_for("auth.activate"))
    return _set_first_password(invitation)


def _set_first_password(invitation) -> Response | str:  # type: ignore[no-untyped-def]
    db = get_session()
    user = db.get_one(User, invitation.user_id)
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.accept_invitation(db, invitation, form.password.data, now=utcnow())
        except InvalidToken:
            return render_template("auth/link_expired.html", invitation=True), 410  # type: ignore[return-value]
        except DomainError as error:
            attach_error(form, error)
        else:
            db.commit()
            _sign_in(user)
            flash(_("Welcome, %(name)s. Your account is ready.", name=user.display_name))
            return redirect_home(user)
    return render_template("auth/set_password.html", form=form, invitee=user)


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password() -> Response | str:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        db = get_session()
        try:
            accounts.change_password(db, current_user, form.current_password.data, form.password.data, now=utcnow())
        except DomainError as error:
            attach_error(form, error)
        else:
            # Every session ends, this one too: a copy of its cookie must not
            # outlive the old password. This browser gets a fresh session.
            user = current_user._get_current_object()
            sessions.end_all_sessions(db, user)
            db.commit()
            _sign_in(user)
            flash(_("Your password is changed. You were signed out everywhere else."))
            return redirect_home(user)
    return render_template("auth/change_password.html", form=form)
