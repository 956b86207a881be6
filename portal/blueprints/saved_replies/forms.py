from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal.blueprints.forms import NumberSelectField, PortalForm
from portal.blueprints.translated_fields import TranslatableForm
from portal.catalogs import lazy_gettext as _l
from portal.services.requests.saved_replies import BODY_LIMIT, TITLE_LIMIT

EVERY_DEPARTMENT = 0


class SavedReplyForm(TranslatableForm):
    TRANSLATED = ("body",)
    title = StringField(
        _l("Title staff see"),
        validators=[DataRequired(_l("Give the reply a title staff will recognise.")), Length(max=TITLE_LIMIT)],
    )
    department_id = NumberSelectField(_l("Offered on the requests of"))
    body = TextAreaField(
        _l("Text of the reply"), validators=[DataRequired(_l("Write the reply.")), Length(max=BODY_LIMIT)]
    )


class ArchiveForm(PortalForm):
    pass
