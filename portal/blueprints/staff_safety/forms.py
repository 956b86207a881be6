from wtforms import TextAreaField
from wtforms.validators import Length

from portal.blueprints.forms import PortalForm
from portal.catalogs import lazy_gettext as _l
from portal.services.safety.alerts import REASON_MAX


class AcknowledgeForm(PortalForm):
    pass


class ClearForm(PortalForm):
    reason = TextAreaField(_l("Why is this not a safety concern?"), validators=[Length(max=REASON_MAX)])
