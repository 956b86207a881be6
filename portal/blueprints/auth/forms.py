from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from portal.blueprints.forms import PortalForm
from portal.catalogs import lazy_gettext as _l
from portal.services.accounts.passwords import MAX_LENGTH as PASSWORD_MAX

EMAIL_MAX = 254


class SignInForm(PortalForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter your email address.")), Length(max=EMAIL_MAX)])
    password = PasswordField(
        _l("Password"), validators=[DataRequired(_l("Enter your password.")), Length(max=PASSWORD_MAX)]
    )
    next = HiddenField()


class ForgotPasswordForm(PortalForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter your email address.")), Length(max=EMAIL_MAX)])


class NewPasswordForm(PortalForm):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(_l("Choose a password.")), Length(max=PASSWORD_MAX)],
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[
            DataRequired(_l("Type the password again.")),
            EqualTo("password", _l("The two passwords are not the same.")),
        ],
    )


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Enter your current password.")), Length(max=PASSWORD_MAX)],
    )


class ActivationCodeForm(PortalForm):
    code = StringField(
        _l("Activation code"),
        validators=[DataRequired(_l("Enter the code from your letter.")), Length(max=40)],
    )


class SecondFactorForm(PortalForm):
    code = StringField(
        _l("Authentication code"),
        validators=[DataRequired(_l("Enter the code from your authenticator app.")), Length(max=40)],
    )
