"""WTForms' own messages are in the page's language, in every form and in the fields a
form holds (FormField), and WTForms' catalog is read once per language, not at every
request (portal.catalogs.WTFormsMessages)."""

import pytest
from flask import Flask
from flask_babel import force_locale
from werkzeug.datastructures import MultiDict
from wtforms import Form, FormField, StringField
from wtforms.validators import InputRequired, Length

from portal.blueprints.forms import PortalForm, PortalSubform
from portal.catalogs import WTFormsMessages, wtforms_catalog_in


class Inner(PortalSubform):
    name = StringField("Name", validators=[Length(max=3)])


class Outer(PortalForm):
    class Meta:
        csrf = False

    title = StringField("Title", validators=[InputRequired()])
    inner = FormField(Inner)


class Plain(Form):
    name = StringField("Name", validators=[Length(max=3)])


def errors_of(app: Flask, language: str) -> dict[str, object]:
    with app.test_request_context(method="POST"), force_locale(language):
        form = Outer(MultiDict({"title": "", "inner-name": "too long"}))
        assert not form.validate()
        return form.errors


@pytest.mark.parametrize(
    ("language", "required", "too_long"),
    [
        ("en", "This field is required.", "Field cannot be longer than 3 characters."),
        ("es", "Este campo es obligatorio.", "El campo no puede tener más de 3 caracteres."),
    ],
)
def test_wtforms_messages_are_in_the_pages_language_in_a_form_and_its_fields_forms(app, language, required, too_long):
    assert errors_of(app, language) == {"title": [required], "inner": {"name": [too_long]}}


def test_wtforms_catalog_is_read_once_per_language(app):
    wtforms_catalog_in.cache_clear()
    for language in ("es", "en", "es", "es", "en"):
        errors_of(app, language)
    assert wtforms_catalog_in.cache_info().misses == 2


def test_outside_a_request_the_messages_are_as_written():
    messages = WTFormsMessages()
    assert messages.gettext("Not a valid choice.") == "Not a valid choice."
    assert messages.ngettext("one %(num)d", "many %(num)d", 1) == "one %(num)d"
    assert messages.ngettext("one %(num)d", "many %(num)d", 2) == "many %(num)d"


def test_a_plain_wtforms_form_would_stay_in_english(app):
    """Why the fields' forms derive from PortalSubform: WTForms' own Form is not translated."""
    with app.test_request_context(method="POST"), force_locale("es"):
        form = Plain(MultiDict({"name": "too long"}))
        assert not form.validate()
    assert form.errors == {"name": ["Field cannot be longer than 3 characters."]}
