"""What every blueprint's forms share: where a field reads its value, whole numbers
typed or tampered with, showing a domain error next to its field, and the unit of work
of a view that saves (save, save_or_show_error, save_or_flash, save_or_refuse)."""

import copy
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from functools import lru_cache
from typing import Any, TypeVar

import wtforms
from flask import current_app, flash, request
from flask_wtf import FlaskForm
from flask_wtf.form import _Auto, _is_submitted
from markupsafe import Markup, escape
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from wtforms import DateField, Field, FileField, Form, RadioField, SelectChoice
from wtforms.fields.core import Flags
from wtforms.meta import DefaultMeta
from wtforms.widgets import Select, TextArea
from wtforms.widgets.core import clean_key, html_params

from portal.catalogs import WTFormsMessages
from portal.catalogs import lazy_gettext as _l
from portal.db import MAX_ROW_ID, get_session
from portal.services.errors import DomainError
from portal.services.text import has_control_characters

T = TypeVar("T")


def _leaf_fields(fields: Iterable[Field]) -> Iterator[Field]:
    for field in fields:
        if field.type == "FieldList":
            yield from _leaf_fields(field.entries)
        elif field.type == "FormField":
            yield from _leaf_fields(field.form)
        else:
            yield field


def attach_error(form: Form, error: DomainError) -> None:
    """Put the error on the field it names ("email", or "guardians-0-email" inside a
    list), else on the form's first visible field."""
    visible = [f for f in _leaf_fields(form) if f.type not in ("CSRFTokenField", "HiddenField")]
    field = next((f for f in visible if f.name == error.field), visible[0])
    field.errors = [*field.errors, str(error.message)]


def language_choices() -> list[SelectChoice]:
    return [SelectChoice(code, name) for code, name in current_app.config["LANGUAGES"].items()]


def _is_ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def whole_number(value: object) -> int:
    """A whole number from a form or a query string: ASCII digits, with a minus sign for
    the few choices that use -1 (int() would also take "١٢٣", " 12" or "1_000"), within
    the database's integer range, so that an absurd number is a refused value here and
    not an overflow in the database driver. Raises ValueError, which WTForms and
    `request.args.get(..., type=...)` expect."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and len(value) <= 12 and _is_ascii_digits(value.removeprefix("-")):
        number = int(value)
    else:
        raise ValueError("not a whole number")
    if not -MAX_ROW_ID - 1 <= number <= MAX_ROW_ID:
        raise ValueError("out of range")
    return number


NOT_AN_OPTION = _l("Choose one of the options in the list.")


def whole_numbers(values: Iterable[str]) -> list[int]:
    """The whole numbers among `values` (ticked row ids, say); the others are left out."""
    numbers = []
    for value in values:
        try:
            numbers.append(whole_number(value))
        except ValueError:
            continue
    return numbers


@lru_cache(maxsize=1024)
def _attribute_name(name: str) -> str:
    """An attribute's name as html_params writes it, escaped: the templates use a few dozen,
    and working each out again took 40 % of a checkbox's attributes."""
    return str(escape(clean_key(name)))


def quick_html_params(**attributes: Any) -> Markup:
    """WTForms' `html_params`, the same text in a fifth of the time: it builds each
    attribute with `Markup.format`, which is slow, and a filter bar has a dozen selects."""
    written = []
    for name, value in sorted(attributes.items()):
        # As html_params does: the name escaped, and a value already marked safe still has
        # its quotes escaped.
        name = _attribute_name(name)
        if value is True:
            written.append(name)
        elif value is not False:
            written.append(f'{name}="{str(escape(value)).replace(chr(34), "&quot;")}"')
    return Markup(" ".join(written))  # noqa: S704 (every name and value escaped)


@lru_cache(maxsize=256)
def quick_widget(widget: Any) -> Any:
    """`widget` writing its attributes with quick_html_params, when it writes them through
    its own `html_params` as WTForms' inputs and buttons do (a copy, kept: one widget
    serves every field of its kind); any other widget as it is. The contact page has 21
    checkboxes, and WTForms' html_params took 80 µs for each of them."""
    if type(widget) is TextArea:
        return QuickTextArea()
    if getattr(type(widget), "html_params", None) is not html_params:
        return widget
    quick = copy.copy(widget)
    quick.html_params = quick_html_params
    return quick


class QuickTextArea(TextArea):
    """WTForms' textarea, its attributes written by quick_html_params: the same HTML. It
    calls WTForms' module-level html_params itself, so quick_widget cannot hand it
    quick_html_params as it does the inputs; a reply box took 60 µs to write."""

    def __call__(self, field: Field, **kwargs: Any) -> Markup:
        kwargs.setdefault("id", field.id)
        # As TextArea does: the validators' flags it knows (maxlength, required), unless given.
        for flag, value in vars(field.flags).items():
            if flag in self.validation_attrs and flag not in kwargs:
                kwargs[flag] = value
        text = escape(field._value())  # type: ignore[attr-defined]
        return Markup(f"<textarea {quick_html_params(name=field.name, **kwargs)}>\r\n{text}</textarea>")  # noqa: S704


class QuickSelect(Select):
    """WTForms' select written out directly: the same HTML, in a fifth of the time. WTForms
    looks up how `render_option` is declared and builds every option's attributes through
    `html_params` on each rendering; the staff queues' filters have about sixty options."""

    def __call__(self, field: Field, **kwargs: Any) -> Markup:
        plain = None if self.multiple else _plain_choices(field)
        if plain is None and (self.multiple or field.has_groups()):  # type: ignore[attr-defined]
            return super().__call__(field, **kwargs)
        kwargs.setdefault("id", field.id)
        for flag in self.validation_attrs:
            if flag not in kwargs and getattr(field.flags, flag, False):
                kwargs[flag] = getattr(field.flags, flag)
        if plain is None:
            chosen: Iterable[SelectChoice] = field._iter_choices_normalized()  # type: ignore[attr-defined]
            options = "".join(self.render_option(choice) for choice in chosen)
        else:
            options = "".join(_option(choice.value, choice.label, selected) for choice, selected in plain)
        # Every part escaped: quick_html_params escapes, and so does render_option.
        return Markup(f"<select {quick_html_params(name=field.name, **kwargs)}>{options}</select>")  # noqa: S704

    @classmethod
    def render_option(cls, choice: SelectChoice, **kwargs: Any) -> Markup:
        if choice.render_kw or kwargs:
            return super().render_option(choice, **kwargs)
        return Markup(_option(choice.value, choice.label, choice.selected))  # noqa: S704 (escaped by _option)


def _option(value: Any, label: Any, selected: bool) -> str:
    """An option as WTForms writes it, its value and label escaped. Plain text: a filter
    bar has about two hundred options, and every Markup operation makes another object."""
    value = str(value) if isinstance(value, bool) else value
    # A lazy label is written in the request's language: the text is what is kept.
    return _written_option(value, label if label is None or isinstance(label, str) else str(label), selected)


@lru_cache(maxsize=4096, typed=True)
def _written_option(value: Any, label: str | None, selected: bool) -> str:
    """Kept: a queue's filters write the same few hundred options at every request, and
    escaping each costs more than finding it here. Typed, so that a value or label marked
    safe is never taken for the same text unmarked."""
    # As html_params does: attributes sorted by name, and a value already marked safe still
    # has its quotes escaped (escape leaves none in any other value).
    quoted = str(escape(value)).replace('"', "&quot;")
    return f'<option {"selected " if selected else ""}value="{quoted}">{escape(label or value)}</option>'


def _plain_choices(field: Field) -> Iterator[tuple[SelectChoice, bool]] | None:
    """Each choice with whether it is the field's value, as WTForms' SelectField works it
    out, when the choices are a list of SelectChoice without groups or attributes (every
    select of ours): WTForms otherwise copies each choice twice over, at each rendering and
    again at each validation. None for any other choices."""
    choices = field.choices  # type: ignore[attr-defined]
    if not isinstance(choices, list) or type(field).iter_choices is not wtforms.SelectField.iter_choices:
        return None
    if not all(type(choice) is SelectChoice and choice.optgroup is None and not choice.render_kw for choice in choices):
        return None
    coerce, data = field.coerce, field.data  # type: ignore[attr-defined]
    return ((choice, coerce(choice.value) == data) for choice in choices)


class SelectField(wtforms.SelectField):
    """A select, written out by QuickSelect."""

    widget = QuickSelect()

    def pre_validate(self, form: Form) -> None:
        plain = _plain_choices(self) if self.validate_choice and not self.process_errors else None
        if plain is None:
            super().pre_validate(form)
        elif not any(selected for _choice, selected in plain):
            super().pre_validate(form)  # not a choice: WTForms' own error, in its own words


class NumberSelectField(SelectField):
    """A select whose option values are whole numbers (ids, ratings): see whole_number."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("coerce", whole_number)
        kwargs.setdefault("invalid_value_message", NOT_AN_OPTION)
        super().__init__(*args, **kwargs)


class NumberRadioField(RadioField):
    """Radio buttons whose values are whole numbers (ids, ratings): see whole_number."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("coerce", whole_number)
        kwargs.setdefault("invalid_value_message", NOT_AN_OPTION)
        super().__init__(*args, **kwargs)


class DayField(DateField):
    """A calendar day (YYYY-MM-DD) between the years 1900 and 2999: the day after
    9999-12-31 does not exist, and every search or closure ends up adding days to it."""

    FIRST, LAST = date(1900, 1, 1), date(2999, 12, 31)

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if self.data is not None and not self.FIRST <= self.data <= self.LAST:
            raise ValueError(_l("Enter a date between the years 1900 and 2999."))


def _form_text_and_own_files(form: Form) -> MultiDict[str, Any] | None:
    """What a submitted form reads: the posted text, and uploaded files only for its
    file fields. Flask-WTF would merge every uploaded file into the form's data, so a
    file part named like a text field (a bot, a crafted page) reached the field as a
    file object; here a text field only ever reads text, and a file field only files."""
    # The form's own fields only: lists and sub-forms are built from this data, later.
    file_fields = {field.name for field in form if isinstance(field, FileField)}
    if not file_fields:
        return request.form or None
    data: MultiDict[str, Any] = MultiDict(
        (name, value) for name, value in request.form.items(multi=True) if name not in file_fields
    )
    for name in file_fields:
        data.setlist(name, request.files.getlist(name))
    return data or None


WTFORMS_MESSAGES = WTFormsMessages()


class QuickFlags(Flags):
    """A field's flags (required, maxlength, ...), listed by dir() from the flags set
    alone. WTForms' inputs look for their HTML attributes with dir() at every render,
    3.4 µs a field for the class's own names, none of which is ever one (the contact page
    writes 34 inputs); the same flags come out, in the same order."""

    def __dir__(self) -> list[str]:
        return list(self.__dict__)


def _wtforms_messages(_meta: DefaultMeta, _form: Form) -> WTFormsMessages:
    """Meta.get_translations: WTForms' own messages in the page's language."""
    return WTFORMS_MESSAGES


def _bound_with_quick_flags(meta: DefaultMeta, form: Form, unbound_field: Any, options: dict[str, Any]) -> Field:
    """Meta.bind_field: WTForms' own, the field's flags listed by QuickFlags."""
    field = DefaultMeta.bind_field(meta, form, unbound_field, options)
    field.flags.__class__ = QuickFlags
    return field


class PortalSubform(Form):
    """Fields that a PortalForm holds in a FormField (a household's guardians and
    students), translated and flagged as the form around them. Its Meta is a class of its
    own, not PortalForm's: a form may derive from both (StudentForm), and WTForms makes
    that form's Meta a class of all their Metas."""

    class Meta:
        get_translations = _wtforms_messages
        bind_field = _bound_with_quick_flags


class PortalForm(FlaskForm):
    """The base of every form: text fields read only the posted text (never an uploaded
    file, never a JSON body), and text with control characters is refused next to its field."""

    class Meta(FlaskForm.Meta):
        get_translations = _wtforms_messages
        bind_field = _bound_with_quick_flags

        def wrap_formdata(self, form: Form, formdata: Any) -> Any:
            if formdata is not _Auto:  # given by the view: a query string's filters, or None
                return formdata
            return _form_text_and_own_files(form) if _is_submitted() else None

        def render_field(self, field: Field, render_kw: dict[str, Any]) -> Markup:
            """WTForms' own (the field's render_kw under the template's), through the
            field's quick_widget: the same HTML, its attributes written faster."""
            render_kw = {clean_key(name): value for name, value in render_kw.items()}
            own = getattr(field, "render_kw", None)
            if own is not None:
                render_kw = {**{clean_key(name): value for name, value in own.items()}, **render_kw}
            return quick_widget(field.widget)(field, **render_kw)  # type: ignore[no-any-return]

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        for field in _leaf_fields(self):
            if field.type in ("CSRFTokenField", "HiddenField") or not isinstance(field.data, str):
                continue
            if has_control_characters(field.data, multiline=field.type == "TextAreaField"):
                field.errors = [*field.errors, str(_l("Remove the invisible control characters from this field."))]
                valid = False
        return valid


class Searchable:
    """A search box's validator: words the service would not search (`searchable`, its
    rule: too short for its index) are refused with `message`, so that the page says why
    the list is not searched."""

    def __init__(self, searchable: Callable[[str], bool], message: str) -> None:
        self.searchable = searchable
        self.message = message

    def __call__(self, form: Form, field: Field) -> None:
        if field.data and not self.searchable(field.data):
            raise wtforms.validators.ValidationError(str(self.message))


def queue_search_field(searchable: Callable[[str], bool]) -> wtforms.StringField:
    """A queue's search box: a reference number, or words the queue's `searchable` runs."""
    return wtforms.StringField(
        _l("Search"),
        validators=[
            wtforms.validators.Optional(),
            wtforms.validators.Length(max=100),
            Searchable(searchable, _l("Type a reference number, or at least three letters or digits in a row.")),
        ],
    )


def validate_filters(form: Form) -> None:
    """Check a search form: a filter with a bad value shows its error and is left out
    (back to its default); the other filters still apply. A form given no filter at all
    (a queue opened from the menu) holds its defaults, which need no check."""
    if not any(field.raw_data for field in form):
        return
    form.validate()
    for field in form:
        if field.errors:
            field.data = field.default


# The transaction rule (docs/architecture.md): services flush and raise typed errors;
# these helpers are the request's boundary, where a view's change is committed or,
# when refused, rolled back. A view that saves uses one of them.


def _run(db: Session, change: Callable[[Session], T]) -> T:
    """Run `change`; when its flush loses a race on a unique key (a twin submission,
    a second rating sent at the same moment, committed first by another request), roll
    back and run it once more from the start: the second run sees the winner and
    answers as a replay does. A change keeps its work in the database, so running it
    again is safe; a conflict that is no race fails the second time too."""
    try:
        return change(db)
    except IntegrityError:
        db.rollback()
        return change(db)


def save(change: Callable[[Session], T]) -> T:
    """Run one unit of work that the page does not refuse itself, and commit it. A
    domain error goes on, uncommitted, to the app's error pages (404, 403)."""
    db = get_session()
    result = _run(db, change)
    db.commit()
    return result


def save_or_refuse(
    change: Callable[[Session], T],
    *,
    on_refused: Callable[[Session, DomainError], object] | None = None,
    refusals: type[DomainError] | tuple[type[DomainError], ...] = DomainError,
) -> T | DomainError:
    """Run one unit of work and commit it; when it is refused (one of `refusals`), roll it
    back and return the error, for a page that answers a refusal its own way (a spent
    link's page). `on_refused(db, error)` runs after the rollback, and what it records
    (a failed attempt, a security event) is committed."""
    db = get_session()
    try:
        result = _run(db, change)
    except refusals as error:
        db.rollback()
        if on_refused is not None:
            on_refused(db, error)
            db.commit()
        return error
    db.commit()
    return result


def save_or_show_error(
    form: Form,
    change: Callable[[Session], T],
    *,
    on_refused: Callable[[Session, DomainError], object] | None = None,
) -> T | None:
    """Run one unit of work for a validated form and commit it; on a domain error, roll
    back and show the error next to its field (see save_or_refuse for `on_refused`).
    Returns the change's result, or None when it was refused (a change must return
    something truthy)."""
    outcome = save_or_refuse(change, on_refused=on_refused)
    if isinstance(outcome, DomainError):
        attach_error(form, outcome)
        return None
    return outcome


def save_or_flash(
    change: Callable[[Session], T],
    *,
    refusals: type[DomainError] | tuple[type[DomainError], ...] = DomainError,
) -> T | None:
    """For a button without a form to show an error in: run one unit of work and commit
    it; when refused (one of `refusals`), roll back and flash the error. Returns the
    change's result, or None when it was refused (a change must return something truthy)."""
    outcome = save_or_refuse(change, refusals=refusals)
    if isinstance(outcome, DomainError):
        flash(str(outcome.message), "error")
        return None
    return outcome
