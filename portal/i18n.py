"""Gettext for templates that finds the catalog once per language, not once per string.

A staff page translates a hundred and more strings; Flask-Babel looks its context up
again for each. The catalogs never change while the portal runs, so each language's
is kept the first time it is used (Flask-Babel keeps them for the process as well)."""

from babel import Locale
from babel.support import NullTranslations
from flask import Flask
from flask_babel import get_locale, get_translations

_catalogs: dict[Locale, NullTranslations] = {}


def _catalog() -> NullTranslations:
    locale = get_locale()
    if locale is None:  # outside a request: the strings as written
        return get_translations()
    catalog = _catalogs.get(locale)
    if catalog is None:
        catalog = _catalogs[locale] = get_translations()
    return catalog


def _gettext(string: str) -> str:
    return _catalog().ugettext(string)


def _ngettext(singular: str, plural: str, number: int) -> str:
    return _catalog().ungettext(singular, plural, number)


def init_app(app: Flask) -> None:
    """Replace the template gettext Flask-Babel installed (call after babel.init_app)."""
    app.jinja_env.install_gettext_callables(gettext=_gettext, ngettext=_ngettext, newstyle=True)
