"""Every field of a PortalForm is written as WTForms writes it, byte for byte, whatever the
text and the attributes a template passes: its inputs and buttons through quick_widget."""

from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    Field,
    FileField,
    Form,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SearchField,
    SelectChoice,
    StringField,
    SubmitField,
    TelField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, Select, TextArea

from portal.blueprints.forms import PortalForm, QuickSelect, QuickTextArea, quick_widget
from tests.unit.test_quick_select import ATTRIBUTE_VALUES, NAMES, TEXT

# Each kind of field the portal's forms declare, with the validators that set attributes
# (required, maxlength, min, max: the flags QuickFlags lists).
FIELDS: dict[str, Callable[[], Field]] = {
    "text": lambda: StringField("Text", validators=[DataRequired(), Length(max=40)]),
    "password": lambda: PasswordField("Password", validators=[DataRequired()]),
    "email": lambda: EmailField("Email", validators=[Optional()]),
    "hidden": lambda: HiddenField(),
    "checkbox": lambda: BooleanField("Tick"),
    "date": lambda: DateField("Day", validators=[Optional()]),
    "search": lambda: SearchField("Search"),
    "phone": lambda: TelField("Phone"),
    "number": lambda: IntegerField("Number", validators=[Optional()]),
    "ranged number": lambda: IntegerField("Number", validators=[InputRequired(), NumberRange(min=1, max=12)]),
    "radio": lambda: RadioField("Pick", choices=[SelectChoice("a", "A"), SelectChoice("b", 'B "quoted" <b>')]),
    "file": lambda: FileField("File"),
    "submit": lambda: SubmitField("Send"),
    "text area": lambda: TextAreaField("Text", validators=[Length(max=90)]),
    "required text area": lambda: TextAreaField("Text", validators=[DataRequired(), Length(min=2, max=9000)]),
}


def both(kind: str) -> tuple[type[Form], type[Form]]:
    class Quick(PortalForm):
        class Meta:
            csrf = False

        field = FIELDS[kind]()

    class Plain(Form):
        field = FIELDS[kind]()

    return Quick, Plain


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(sorted(FIELDS)),
    sent=TEXT,
    # "name" is the field's own: WTForms refuses it twice, either way.
    attributes=st.dictionaries(NAMES.filter(lambda name: name != "name"), ATTRIBUTE_VALUES, max_size=4),
)
def test_every_field_is_written_as_wtforms_writes_it(app, kind, sent, attributes):  # type: ignore[no-untyped-def]
    quick_form, plain_form = both(kind)
    with app.test_request_context():
        quick, plain = quick_form(MultiDict({"field": sent})), plain_form(MultiDict({"field": sent}))
        quick.validate(), plain.validate()  # PortalForm also refuses control characters: not what is compared
        assert quick.field(**attributes) == plain.field(**attributes)


def test_only_widgets_that_write_through_their_own_html_params_are_copied():
    checkbox = CheckboxInput()
    quick = quick_widget(checkbox)
    assert quick is not checkbox and quick is quick_widget(checkbox)  # made once, then kept
    assert type(quick) is CheckboxInput and checkbox.html_params is not quick.html_params
    for widget in (QuickSelect(), Select()):
        assert quick_widget(widget) is widget
    # A textarea writes through WTForms' module-level html_params: it gets its own.
    assert isinstance(quick_widget(TextArea()), QuickTextArea)
