"""The portal's languages, and gettext for templates that finds the catalog once per
language, not once per string.

The languages are English and every language with a compiled catalog in the translation
directories (portal/translations/<code>/LC_MESSAGES/messages.mo), each named in itself:
adding a catalog is all a new language needs (README, "Adding a language").

Templates translate through `portal.catalogs`, as the rest of the portal does."""

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from babel import Locale, UnknownLocaleError
from flask import Flask, request
from flask_babel import get_locale
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup

from portal.catalogs import translate, translate_plural
from portal.services import translated
from portal.services.translated import SOURCE_LANGUAGE


def endonym(code: str) -> str:
    """The language's name in itself, capitalised as a menu item: "Español", "Français"."""
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


@lru_cache(maxsize=1024)
def display_name(code: str, reader: object) -> str:
    """The language's name in the reader's language, for use inside a sentence: "Spanish"
    for an English reader, "inglés" for a Spanish one; the code itself if Babel has none.
    Kept once found (pages name the same few languages row after row)."""
    try:
        return Locale.parse(code).get_display_name(str(reader or SOURCE_LANGUAGE)) or code
    except (ValueError, UnknownLocaleError):
        return code


def catalog_languages(directories: list[str]) -> dict[str, str]:
    """English, then each language with a compiled catalog in `directories`, by code,
    each named in itself."""
    codes = set()
    for directory in directories:
        for catalog in Path(directory).glob("*/LC_MESSAGES/messages.mo"):
            code = catalog.parent.parent.name
            try:
                Locale.parse(code)
            except (ValueError, UnknownLocaleError):
                continue  # a folder that names no language
            codes.add(code)
    codes.discard(SOURCE_LANGUAGE)
    return {code: endonym(code) for code in [SOURCE_LANGUAGE, *sorted(codes)]}


def init_app(app: Flask) -> None:
    """Replace the template gettext Flask-Babel installed, and find the languages (call
    after babel.init_app). LANGUAGES set in the configuration is kept as given."""
    if not app.config.get("LANGUAGES"):
        app.config["LANGUAGES"] = catalog_languages(app.extensions["babel"].translation_directories)
    app.jinja_env.install_gettext_callables(gettext=translate, ngettext=translate_plural, newstyle=True)
    # Jinja's own newstyle callables reach the catalog through three calls of the
    # template's context (`_` looks `gettext` up, which calls `translate`): a staff page
    # translates fifty strings and more, at 7.3 µs each where these take 4.7.
    app.jinja_env.globals.update(_=template_gettext, gettext=template_gettext, ngettext=template_ngettext)
    app.add_template_filter(translated_field, "translated")
    app.add_template_global(_language_name, "language_name")
    app.add_template_global(this_page_without_lang)


@pass_eval_context
def template_gettext(eval_ctx: EvalContext, string: str, /, **variables: Any) -> str:
    """`{{ _("...") }}` as Jinja's newstyle gettext writes it: the text in the page's
    language, marked safe where the template escapes (so that only the variables put in
    are escaped), and always a format string ("%%" is "%")."""
    translated_text = translate(string)
    # The catalog's text is the portal's own, as Jinja's gettext trusts it.
    written = Markup(translated_text) if eval_ctx.autoescape else translated_text  # noqa: S704
    # Without a "%", formatting would give the same text back (2 µs a string, most of them).
    return written % variables if variables or "%" in translated_text else written


@pass_eval_context
def template_ngettext(eval_ctx: EvalContext, singular: str, plural: str, num: int, /, **variables: Any) -> str:
    """`{{ ngettext(...) }}` as Jinja's newstyle ngettext writes it; `num` is `%(num)d`."""
    variables.setdefault("num", num)
    translated_text = translate_plural(singular, plural, num)
    return (Markup(translated_text) if eval_ctx.autoescape else translated_text) % variables  # noqa: S704


def translated_field(obj: Any, field: str = "name") -> str:
    """The field of district data in the page's (or email's) language: for the choices a
    view builds; templates use the `translated` filter, which is this."""
    return translated.translated(obj, field, get_locale())


def translator(field: str = "name") -> Callable[[Any], str]:
    """`translated_field` for the many rows and options of one page, the page's language
    read once: reading it costs 2-3 µs a call, the translation itself under 1."""
    locale = get_locale()
    return lambda obj: translated.translated(obj, field, locale)


def _language_name(code: str | None) -> str:
    """`{{ language_name(user.language) }}`: a language named in the reader's language."""
    return display_name(code, get_locale()) if code else ""


def this_page_without_lang() -> str:
    """This page's path and query, less an email link's `lang`: where the language switch
    returns to (with `lang` kept, the link's language would win again on arrival)."""
    kept = [(name, value) for name, value in request.args.items(multi=True) if name != "lang"]
    return f"{request.path}?{urlencode(kept)}" if kept else request.path
