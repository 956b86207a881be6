"""Sign in and out, the second factor, passwords, and joining through an invitation."""

import time

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from portal.blueprints.access import (
    home_endpoint,
    is_safe_path,
    redirect_home,
    request_client,
)
from portal.blueprints.auth.forms import (
    ActivationCodeForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    NewPasswordForm,
    SecondFactorForm,
    SignInForm,
)
from portal.blueprints.forms import attach_error, save, save_or_refuse, save_or_show_error
from portal.blueprints.security.views import set_up_page
from portal.catalogs import gettext as _
from portal.catalogs import ngettext
from portal.db import get_session, utcnow
from portal.extensions import client_address, limiter
from portal.models import Invitation, User
from portal.services import accounts, audit
from portal.services.accounts import security_events, sessions, two_factor
from portal.services.errors import DomainError, InvalidToken

bp = Blueprint("auth", __name__)

# How long the step between a right password and a right code may take.
PENDING_SECONDS = 300


def _attempt_failed(response: Response) -> bool:
    # Only failed attempts count toward the limits: a success redirects. The server's own
    # failure (a 503 while the database restarts) is no guess at a password: counting it
    # would lock a family out for trying again.
    return response.status_code != 302 and response.status_code < 500


def _account_key() -> str:
    return "account:" + accounts.normalize_email(request.form.get("email", ""))[:254]


def _pending_account_key() -> str:
    return f"second-factor:{session.get('pending_user_id', 'none')}"


def _config_value(name: str):  # type: ignore[no-untyped-def]
    return lambda: current_app.config[name]


limit_per_client = limiter.limit(
    _config_value("SIGN_IN_LIMIT_PER_CLIENT"), methods=["POST"], deduct_when=_attempt_failed
)
limit_per_account = limiter.limit(
    _config_value("SIGN_IN_LIMIT_PER_ACCOUNT"), methods=["POST"], key_func=_account_key, deduct_when=_attempt_failed
)
limit_code_per_account = limiter.limit(
    _config_value("SIGN_IN_LIMIT_PER_ACCOUNT"),
    methods=["POST"],
    key_func=_pending_account_key,
    deduct_when=_attempt_failed,
)
# Every reset request sends an email, so each one counts, not only failures.
limit_reset_per_client = limiter.limit(_config_value("SIGN_IN_LIMIT_PER_CLIENT"), methods=["POST"])
limit_reset_per_account = limiter.limit(
    _config_value("RESET_LIMIT_PER_ACCOUNT"), methods=["POST"], key_func=_account_key
)
limit_activation = limiter.limit(
    _config_value("ACTIVATION_LIMIT_PER_CLIENT"), methods=["POST"], deduct_when=_attempt_failed
)


def _fresh_session() -> None:
    """Forget everything from before this step but the language, so nothing planted survives."""
    language = session.get("language")
    session.clear()
    if language:
        session["language"] = language


def _sign_in(user: User) -> None:
    """Start a new server-side session; the cookie gets a new token."""
    _fresh_session()

    def start(db: Session) -> None:
        sessions.start_session(
            db,
            user,
            current_app.extensions["portal.session_lifetimes"],
            now=utcnow(),
            user_agent=request.user_agent.string,
            ip_address=client_address(),
        )
        audit.record(db, user, "user.signed_in", user, now=utcnow(), ip_address=client_address())
        # Whoever signs in has no use for a reset link still lying in the mailbox.
        accounts.revoke_password_resets(db, user, now=utcnow())

    save(start)
    login_user(user)


def _continue_sign_in(user: User, next_path: str | None) -> Response:
    """After the password: either the session starts, or the second factor is asked for."""
    if not user.needs_two_factor:
        _sign_in(user)
        return redirect(next_path if is_safe_path(next_path) else url_for(home_endpoint(user)))
    _fresh_session()
    session["pending_user_id"] = user.id
    session["pending_since"] = int(time.time())
    if is_safe_path(next_path):
        session["pending_next"] = next_path
    if user.has_two_factor:
        return redirect(url_for("auth.second_factor"))
    return redirect(url_for("auth.set_up_second_factor"))


def _pending_user() -> User | None:
    """The account whose password was right a moment ago, waiting for its second factor."""
    user_id, since = session.get("pending_user_id"), session.get("pending_since", 0)
    if not isinstance(user_id, int) or not isinstance(since, int) or time.time() - since > PENDING_SECONDS:
        return None
    user = get_session().get(User, user_id)
    return user if user is not None and user.is_active else None


def _finish_pending_sign_in(user: User) -> Response:
    next_path = session.get("pending_next")
    _sign_in(user)
    return redirect(next_path if is_safe_path(next_path) else url_for(home_endpoint(user)))


@bp.route("/sign-in", methods=["GET", "POST"])
@limit_per_client
@limit_per_account
def sign_in() -> Response | str:
    if current_user.is_authenticated:
        return redirect_home(current_user)
    form = SignInForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = save_or_show_error(
            form,
            lambda db: accounts.authenticate(db, form.email.data, form.password.data, now=utcnow()),
            on_refused=lambda db, _error: security_events.record(
                db, "sign_in_failed", request_client(), now=utcnow(), email=form.email.data
            ),
        )
        if user:
            return _continue_sign_in(user, form.next.data)
    return render_template("auth/sign_in.html", form=form)


@bp.route("/sign-in/code", methods=["GET", "POST"])
@limit_per_client
@limit_code_per_account
def second_factor() -> Response | str:
    user = _pending_user()
    if user is None:
        flash(_("Please sign in again."))
        return redirect(url_for("auth.sign_in"))
    if not user.has_two_factor:
        return redirect(url_for("auth.set_up_second_factor"))
    form = SecondFactorForm()
    if form.validate_on_submit():

        def verify(db: Session) -> str:
            matched = two_factor.verify(db, user, form.code.data, now=utcnow())
            if matched == "recovery":
                security_events.record(db, "recovery_code_used", request_client(), now=utcnow(), user=user)
            return matched

        matched = save_or_show_error(
            form,
            verify,
            on_refused=lambda db, _error: security_events.record(
                db, "two_factor_failed", request_client(), now=utcnow(), user=user
            ),
        )
        if matched:
            response = _finish_pending_sign_in(user)  # starts a fresh session: flash after it
            if matched == "recovery":
                flash(
                    ngettext(
                        "You used a recovery code. %(num)d is left.",
                        "You used a recovery code. %(num)d are left.",
                        two_factor.unused_recovery_codes(get_session(), user),
                    )
                )
            return response
    return render_template("auth/second_factor.html", form=form)


@bp.route("/sign-in/set-up", methods=["GET", "POST"])
@limit_per_client
@limit_code_per_account
def set_up_second_factor() -> Response | str:
    """Staff and admins set up their authenticator before they can open any page."""
    user = _pending_user()
    if user is None:
        flash(_("Please sign in again."))
        return redirect(url_for("auth.sign_in"))
    if user.has_two_factor:
        return redirect(url_for("auth.second_factor"))
    db = get_session()
    two_factor.begin_setup(user)
    db.commit()  # commit: the secret is kept from the first view, so the QR code stays the same on reload
    form = SecondFactorForm()
    if form.validate_on_submit():

        def confirm(db: Session) -> list[str]:
            codes = two_factor.confirm_setup(db, user, form.code.data, now=utcnow(), household_id=None)
            security_events.record(db, "two_factor_enabled", request_client(), now=utcnow(), user=user)
            return codes

        codes = save_or_show_error(form, confirm)
        if codes:
            _sign_in(user)
            return render_template("security/recovery_codes.html", codes=codes)
    return set_up_page(form, user, during_sign_in=True)


@bp.post("/sign-out")
@login_required
def sign_out() -> Response:
    save(lambda db: sessions.end_session(db, current_user.session_token))
    logout_user()
    session.clear()
    flash(_("You are signed out."))
    return redirect(url_for("auth.sign_in"))


@bp.route("/forgot-password", methods=["GET", "POST"])
@limit_reset_per_client
@limit_reset_per_account
def forgot_password() -> Response | str:
    form = ForgotPasswordForm()
    if form.validate_on_submit():

        def request_reset(db: Session) -> None:
            accounts.request_password_reset(
                db, form.email.data, now=utcnow(), valid_seconds=current_app.config["PASSWORD_RESET_VALID_SECONDS"]
            )
            security_events.record(db, "reset_requested", request_client(), now=utcnow(), email=form.email.data)

        save(request_reset)
        # The same answer whether or not the address has an account.
        flash(
            _(
                "If an account uses that address, we have emailed it a link to choose a new "
                "password. The link works for one hour."
            )
        )
        return redirect(url_for("auth.sign_in"))
    return render_template("auth/forgot_password.html", form=form)


def _link_expired(*, invitation: bool) -> tuple[str, int]:
    db = get_session()
    security_events.record(
        db,
        "token_refused",
        request_client(),
        now=utcnow(),
        detail={"kind": "invitation" if invitation else "password_reset"},
    )
    db.commit()  # commit: a security event, kept whatever the page (GET included) shows
    return render_template("auth/link_expired.html", invitation=invitation), 410


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Response | str | tuple[str, int]:
    db = get_session()
    try:
        accounts.user_for_reset_token(db, token, now=utcnow())
    except InvalidToken:
        return _link_expired(invitation=False)
    form = NewPasswordForm()
    if form.validate_on_submit():

        def reset(db: Session) -> User:
            user = accounts.reset_password(db, token, form.password.data, now=utcnow())
            sessions.end_all_sessions(db, user)
            security_events.record(db, "password_reset", request_client(), now=utcnow(), user=user)
            return user

        outcome = save_or_refuse(reset)
        if isinstance(outcome, InvalidToken):
            # Spent by another request a moment ago, or expired while the form was open.
            return _link_expired(invitation=False)
        if isinstance(outcome, DomainError):
            attach_error(form, outcome)
        else:
            flash(_("Your password is changed. Sign in with the new one."))
            return redirect(url_for("auth.sign_in"))
    return render_template("auth/reset_password.html", form=form)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str) -> Response | str | tuple[str, int]:
    try:
        invitation = accounts.invitation_by_token(get_session(), token, now=utcnow())
    except InvalidToken:
        return _link_expired(invitation=True)
    return _set_first_password(invitation)


@bp.route("/activate", methods=["GET", "POST"])
@limit_activation
def activate() -> Response | str:
    form = ActivationCodeForm()
    if form.validate_on_submit():
        invitation = save_or_show_error(
            form,
            lambda db: accounts.invitation_by_code(
                db, form.code.data, now=utcnow(), secret_key=current_app.config["SECRET_KEY"]
            ),
            on_refused=lambda db, _error: security_events.record(
                db, "token_refused", request_client(), now=utcnow(), detail={"kind": "activation_code"}
            ),
        )
        if invitation:
            session["activation_invitation_id"] = invitation.id
            return redirect(url_for("auth.activate_password"))
    return render_template("auth/activate.html", form=form)


@bp.route("/activate/password", methods=["GET", "POST"])
def activate_password() -> Response | str | tuple[str, int]:
    invitation = get_session().get(Invitation, session.get("activation_invitation_id", 0))
    if invitation is None or not invitation.is_usable(utcnow()):
        session.pop("activation_invitation_id", None)
        return redirect(url_for("auth.activate"))
    return _set_first_password(invitation)


def _set_first_password(invitation: Invitation) -> Response | str | tuple[str, int]:
    db = get_session()
    user = db.get_one(User, invitation.user_id)
    form = NewPasswordForm()
    if form.validate_on_submit():

        def accept(db: Session) -> None:
            accounts.accept_invitation(db, invitation, form.password.data, now=utcnow())
            security_events.record(db, "invitation_accepted", request_client(), now=utcnow(), user=user)

        outcome = save_or_refuse(accept)
        if isinstance(outcome, InvalidToken):
            return _link_expired(invitation=True)
        if isinstance(outcome, DomainError):
            attach_error(form, outcome)
        else:
            response = _continue_sign_in(user, None)  # starts a fresh session: flash after it
            flash(_("Welcome, %(name)s. Your account is ready.", name=user.display_name))
            return response
    return render_template("auth/set_password.html", form=form, invitee=user)


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password() -> Response | str:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()  # type: ignore[attr-defined]

        def change(db: Session) -> bool:
            accounts.change_password(db, user, form.current_password.data, form.password.data, now=utcnow())
            # Every session ends, this one too: a copy of its cookie must not
            # outlive the old password. This browser gets a fresh session.
            sessions.end_all_sessions(db, user)
            security_events.record(db, "password_changed", request_client(), now=utcnow(), user=user)
            return True

        if save_or_show_error(form, change):
            _sign_in(user)
            flash(_("Your password is changed. You were signed out everywhere else."))
            return redirect_home(user)
    return render_template("auth/change_password.html", form=form)
