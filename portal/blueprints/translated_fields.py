"""The fields an administrator fills in for district data in the portal's other languages.

A form lists which of its fields are translated (`TRANSLATED = ("name", "description")`);
`with_translations(FormClass)` gives the class with, for each language in LANGUAGES other
than English, a `<field>_<code>` field beside the English one: the same kind of field and
the same length limit, optional (empty shows the English), labelled "Name (Español)".
The languages are read when the page is served, so a new catalog brings its fields."""

from functools import cache
from typing import Any, ClassVar, TypeVar

from flask import current_app
from flask_babel import get_locale
from wtforms import Field
from wtforms.fields.core import UnboundField
from wtforms.validators import DataRequired, InputRequired, Optional

from portal.blueprints.forms import PortalForm
from portal.catalogs import lazy_gettext as _l
from portal.i18n import SOURCE_LANGUAGE, display_name
from portal.models.district import Translations

FormT = TypeVar("FormT", bound="TranslatableForm")


class LanguageName:
    """A language's name, read in the language of the page that shows it."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __str__(self) -> str:
        return display_name(self.code, get_locale())

    def __html__(self) -> str:
        return str(self)


class TranslatableForm(PortalForm):
    TRANSLATED: ClassVar[tuple[str, ...]] = ()
    LANGUAGES: ClassVar[tuple[str, ...]] = ()

    def translations_of(self, field: str) -> list[Field]:
        """The fields for `field` in the other languages, in the order of LANGUAGES."""
        return [self[f"{field}_{code}"] for code in self.LANGUAGES]

    def translations_data(self) -> Translations:
        """What was typed, by language then field: for the service to check and save."""
        return {
            code: {field: self[f"{field}_{code}"].data or "" for field in self.TRANSLATED} for code in self.LANGUAGES
        }

    def fill_translations(self, stored: Any) -> None:
        """Show the stored translations (a form built with formdata=None)."""
        stored = stored if isinstance(stored, dict) else {}
        for code in self.LANGUAGES:
            fields = stored.get(code) if isinstance(stored.get(code), dict) else {}
            for field in self.TRANSLATED:
                value = fields.get(field)
                self[f"{field}_{code}"].data = value if isinstance(value, str) else ""


def with_translations(form_class: type[FormT]) -> type[FormT]:
    """`form_class` with a field per other language for each of its TRANSLATED fields."""
    languages = tuple(code for code in current_app.config["LANGUAGES"] if code != SOURCE_LANGUAGE)
    return _built(form_class, languages)


@cache
def _built(form_class: type[FormT], languages: tuple[str, ...]) -> type[FormT]:
    fields: dict[str, Any] = {"LANGUAGES": languages}
    for name in form_class.TRANSLATED:
        english: UnboundField = getattr(form_class, name)
        validators = [
            v for v in english.kwargs.get("validators", []) if not isinstance(v, DataRequired | InputRequired)
        ]
        for code in languages:
            label = _l("%(field)s (%(language)s)", field=english.args[0], language=LanguageName(code))
            fields[f"{name}_{code}"] = english.field_class(label, validators=[Optional(), *validators])
    return type(form_class.__name__, (form_class,), fields)
