"""District data in the reader's language: department, school, closure and feedback-tag
names an administrator also gave in another language.

English lives in the row's own columns; the other languages in its `translations` JSON
column, by language code then field ({"es": {"name": "Transporte"}}). A reader sees the
translation of a field when there is one and the English otherwise, field by field: a
name is always wholly one language, never half of each. A third language needs only its
catalog (portal/translations/) — the column takes any language code."""

from collections.abc import Mapping
from typing import Any, NamedTuple

from portal.models.district import Translations
from portal.services.text import clean_text

# The language of the row's own columns.
SOURCE_LANGUAGE = "en"


class DistrictName(NamedTuple):
    """A name of district data with its translations, as values (a department's, school's
    or tag's beside the feedback or request a list shows: services/district_names.py):
    `translated` reads it as it reads the row."""

    name: str
    translations: Translations


def translated(obj: Any, field: str, locale: object) -> str:
    """The `field` of `obj` in `locale` ("es", "es_MX" or a babel Locale), else its English.

    Never raises for what a row may hold: a missing, empty or malformed translations
    value, or a blank translation, all give the English (and None as "")."""
    english = getattr(obj, field, None)
    english_text = english if isinstance(english, str) else ("" if english is None else str(english))
    language = _language_of(locale)
    if language == SOURCE_LANGUAGE:
        return english_text
    stored = getattr(obj, "translations", None)
    if not isinstance(stored, Mapping):
        return english_text
    fields = stored.get(language)
    if not isinstance(fields, Mapping):
        return english_text
    text = fields.get(field)
    if isinstance(text, str) and text.strip():
        return text
    return english_text


def _language_of(locale: object) -> str:
    """The language part of a locale: "es" of "es_MX", "es-MX" or Locale("es", "MX")."""
    language = getattr(locale, "language", None)
    if isinstance(language, str):
        return language
    text = str(locale or SOURCE_LANGUAGE)
    return text.replace("-", "_").split("_", 1)[0].lower()


def clean_translations(
    given: Mapping[str, Mapping[str, str | None]],
    *,
    languages: tuple[str, ...],
    limits: Mapping[str, int],
    one_line: frozenset[str] = frozenset({"name"}),
) -> Translations:
    """The translations as they are saved, or InvalidInput on the field `<field>_<code>`.

    Only the portal's languages other than English and only the fields in `limits` are
    kept; each is checked as its English field is (control characters, length; a name
    folded onto one line); a blank one is left out, so the English shows instead."""
    cleaned: Translations = {}
    for code in languages:
        if code == SOURCE_LANGUAGE:
            continue
        for field, limit in limits.items():
            text = (given.get(code) or {}).get(field) or ""
            text = clean_text(text, field=f"{field}_{code}", limit=limit, one_line=field in one_line)
            if text:
                cleaned.setdefault(code, {})[field] = text
    return cleaned


def merged(current: Mapping[str, Any] | None, changed: Translations, *, languages: tuple[str, ...]) -> Translations:
    """The stored translations with the portal's languages replaced by `changed`: a
    language whose catalog was removed keeps what was typed for it, should it come back."""
    kept: Translations = {
        code: dict(fields)
        for code, fields in (current or {}).items()
        if code not in languages and isinstance(fields, Mapping)
    }
    kept.update(changed)
    return kept
