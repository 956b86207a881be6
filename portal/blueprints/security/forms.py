from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from portal.blueprints.forms import PortalForm
from portal.catalogs import lazy_gettext as _l
from portal.services.accounts.passwords import MAX_LENGTH as PASSWORD_MAX


class ConfirmCodeForm(PortalForm):
    code = StringField(
        _l("Authentication code"),
        validators=[DataRequired(_l("Enter the code from your authenticator app.")), Length(max=40)],
    )


class ConfirmPasswordForm(PortalForm):
    password = PasswordField(
        _l("Your password"), validators=[DataRequired(_l("Enter your password.")), Length(max=PASSWORD_MAX)]
    )
