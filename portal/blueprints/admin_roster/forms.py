"""The upload of a OneRoster export."""

from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField

from portal.blueprints.forms import PortalForm
from portal.catalogs import lazy_gettext as _l


class RosterUploadForm(PortalForm):
    file = FileField(
        _l("OneRoster export (.zip)"),
        validators=[FileRequired(_l("Choose the OneRoster .zip file the SIS exported."))],
    )
    invite_guardians = BooleanField(_l("Invite new guardians by email"), default=True)
