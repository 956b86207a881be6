"""QuickSelect writes the select WTForms would write, byte for byte, whatever the text."""

from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from wtforms import Form, SelectChoice
from wtforms import SelectField as WTFormsSelectField
from wtforms.validators import DataRequired
from wtforms.widgets import html_params

from portal.blueprints.forms import (
    NOT_AN_OPTION,
    NumberSelectField,
    QuickSelect,
    SelectField,
    quick_html_params,
    whole_number,
)

# Hostile text too: markup, quotes, ampersands, control characters, other scripts.
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
# Values already marked safe too: their quotes must still be escaped inside the attribute.
VALUES = TEXT | TEXT.map(Markup)
# Labels marked safe too: the options are kept, and the same text marked and unmarked must
# not be taken for each other.
CHOICES = st.lists(
    st.builds(SelectChoice, VALUES, VALUES), min_size=1, max_size=8, unique_by=lambda choice: choice.value
)


# Attribute names as views pass them: "class_", "aria_describedby", "data_x_y", and any
# text at all, markup included; values of
# every kind a view passes (text, markup, numbers, None, True for a bare attribute, False
# for none).
NAMES = st.from_regex(r"\A(?:(?:data|aria)_)?[a-z][a-z_]{0,12}\Z") | TEXT.filter(bool)
ATTRIBUTE_VALUES = VALUES | st.integers() | st.none() | st.booleans()


@given(attributes=st.dictionaries(NAMES, ATTRIBUTE_VALUES, max_size=6))
def test_the_attributes_are_wtforms_own(attributes):  # type: ignore[no-untyped-def]
    written = quick_html_params(**attributes)
    assert written == html_params(**attributes)
    assert isinstance(written, Markup)


def test_a_quote_in_an_attribute_marked_safe_cannot_end_it():
    hostile = {"class_": Markup('a" onmouseover="x'), "aria_label": 'b" onclick="y'}
    assert quick_html_params(**hostile) == html_params(**hostile)
    assert quick_html_params(**hostile) == 'aria-label="b&#34; onclick=&#34;y" class="a&quot; onmouseover=&quot;x"'


def both(choices, *, required):  # type: ignore[no-untyped-def]
    validators = [DataRequired()] if required else []

    class Quick(Form):
        field = SelectField("Field", choices=choices, validators=validators)

    class Plain(Form):
        field = WTFormsSelectField("Field", choices=choices, validators=validators)

    return Quick, Plain


@given(choices=CHOICES, picked=st.integers(min_value=0, max_value=9), required=st.booleans(), css=TEXT)
def test_the_html_is_wtforms_own(choices, picked, required, css):  # type: ignore[no-untyped-def]
    quick_form, plain_form = both(choices, required=required)
    sent = MultiDict({"field": choices[picked % len(choices)].value})
    quick, plain = quick_form(sent).field, plain_form(sent).field
    assert quick() == plain()
    assert quick(class_=css, aria_invalid="true") == plain(class_=css, aria_invalid="true")


NUMBER_CHOICES = st.lists(
    st.builds(SelectChoice, st.integers(min_value=-1, max_value=99), TEXT), min_size=1, max_size=8
)


@given(
    choices=CHOICES | NUMBER_CHOICES,
    sent=st.none() | TEXT | st.integers(min_value=-2, max_value=100).map(str),
    picked=st.none() | st.integers(min_value=0, max_value=9),
)
def test_a_choice_is_checked_as_wtforms_checks_it(choices, sent, picked):  # type: ignore[no-untyped-def]
    """Whatever is sent (a choice, any text, nothing): the same field value, the same
    verdict and message, and the same option marked selected."""
    numbers = isinstance(choices[0].value, int)
    options = {"coerce": whole_number, "invalid_value_message": NOT_AN_OPTION} if numbers else {}

    class Quick(Form):
        field = (NumberSelectField if numbers else SelectField)("Field", choices=choices)

    class Plain(Form):
        field = WTFormsSelectField("Field", choices=choices, **options)

    value = str(choices[picked % len(choices)].value) if picked is not None else sent
    data = MultiDict() if value is None else MultiDict({"field": value})
    quick, plain = Quick(data), Plain(data)
    assert quick.validate() == plain.validate()
    assert quick.field.data == plain.field.data
    assert [str(error) for error in quick.field.errors] == [str(error) for error in plain.field.errors]
    assert quick.field() == plain.field()


def test_options_with_their_own_attributes_and_groups_go_through_wtforms():
    grouped = [SelectChoice("a", "A", optgroup="Group <1>"), SelectChoice("b", "B", optgroup="Group 2")]
    with_attributes = [SelectChoice("a", "A", render_kw={"disabled": True})]
    for choices in (grouped, with_attributes):
        quick_form, plain_form = both(choices, required=False)
        assert quick_form().field() == plain_form().field()
    assert '<optgroup label="Group &lt;1&gt;">' in both(grouped, required=False)[0]().field()
    assert '<option disabled value="a">A</option>' in both(with_attributes, required=False)[0]().field()
    assert isinstance(SelectField.widget, QuickSelect)


def test_a_quote_in_a_value_marked_safe_cannot_end_the_attribute():
    quick_form, _plain = both([SelectChoice(Markup('a" onmouseover="x'), "A")], required=False)
    assert '<option value="a&quot; onmouseover=&quot;x">A</option>' in quick_form().field()


class Translated:
    """A label read in the request's language, as a lazy string is."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


def test_an_option_is_written_in_the_language_its_label_reads_in_now():
    label = Translated("Newest first")
    quick_form, _plain = both([SelectChoice("newest", label)], required=False)
    assert (
        quick_form().field() == '<select id="field" name="field"><option value="newest">Newest first</option></select>'
    )
    label.text = "Lo más reciente primero"
    assert "Lo más reciente primero</option>" in quick_form().field()


def test_the_same_text_marked_safe_and_unmarked_is_written_each_its_own_way():
    for _ in range(2):  # the second time from what is kept
        marked, _plain = both([SelectChoice("a", Markup("<b>A</b>"))], required=False)
        unmarked, _plain = both([SelectChoice("a", "<b>A</b>")], required=False)
        assert "<b>A</b></option>" in marked().field()
        assert "&lt;b&gt;A&lt;/b&gt;</option>" in unmarked().field()
