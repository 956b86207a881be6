"""District data in the reader's language: the translation when there is one, the English
otherwise, never an exception whatever a row's translations hold; and what is saved."""

from types import SimpleNamespace
from typing import Any

import pytest
from babel import Locale
from hypothesis import given
from hypothesis import strategies as st

from portal.i18n import catalog_languages, display_name, endonym
from portal.services import translated
from portal.services.errors import InvalidInput

ENGLISH = "Transportation"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10,
)
# What the JSON column could hold: the expected shape, or anything at all.
stored_translations = st.one_of(
    st.dictionaries(
        st.sampled_from(["es", "fr", "en", "es_MX", ""]),
        st.dictionaries(st.sampled_from(["name", "description", "other"]), st.text(max_size=30), max_size=3),
        max_size=4,
    ),
    json_values,
)
locales = st.one_of(
    st.sampled_from(["en", "es", "fr", "es_MX", "es-MX", "ES", "", "xx"]),
    st.none(),
    st.builds(Locale.parse, st.sampled_from(["en", "es", "fr", "es_MX"])),
)


def row(translations: Any, name: Any = ENGLISH) -> SimpleNamespace:
    return SimpleNamespace(name=name, description="Buses.", translations=translations)


@given(stored=stored_translations, locale=locales)
def test_any_stored_translations_give_a_text_and_never_raise(stored, locale):
    shown = translated.translated(row(stored), "name", locale)
    assert isinstance(shown, str)
    language = translated._language_of(locale)
    wanted = stored.get(language) if isinstance(stored, dict) else None
    if isinstance(wanted, dict) and isinstance(wanted.get("name"), str) and wanted["name"].strip():
        assert shown == (wanted["name"] if language != "en" else ENGLISH)
    else:
        assert shown == ENGLISH  # missing, empty or malformed: the English


@pytest.mark.parametrize(
    ("stored", "locale", "shown"),
    [
        ({"es": {"name": "Transporte"}}, "es", "Transporte"),
        ({"es": {"name": "Transporte"}}, "es_MX", "Transporte"),
        ({"es": {"name": "Transporte"}}, Locale("es", "MX"), "Transporte"),
        ({"es": {"name": "Transporte"}}, "en", ENGLISH),
        ({"es": {"name": "Transporte"}}, "fr", ENGLISH),
        ({"es": {"name": "   "}}, "es", ENGLISH),
        ({"es": {"description": "Autobuses"}}, "es", ENGLISH),
        ({}, "es", ENGLISH),
        (None, "es", ENGLISH),
        ({"es": "Transporte"}, "es", ENGLISH),
    ],
)
def test_the_translation_or_the_english(stored, locale, shown):
    assert translated.translated(row(stored), "name", locale) == shown


def test_each_field_falls_back_on_its_own():
    department = row({"es": {"name": "Transporte"}})
    assert translated.translated(department, "name", "es") == "Transporte"
    assert translated.translated(department, "description", "es") == "Buses."


def test_a_missing_english_value_is_empty_text():
    assert translated.translated(row({}, name=None), "name", "es") == ""
    assert translated.translated(SimpleNamespace(), "name", "es") == ""


def test_clean_translations_keeps_the_other_languages_trimmed():
    cleaned = translated.clean_translations(
        {"es": {"name": "  Transporte   escolar ", "description": " Autobuses \n y paradas "}, "de": {"name": "X"}},
        languages=("en", "es", "fr"),
        limits={"name": 120, "description": 1000},
    )
    assert cleaned == {"es": {"name": "Transporte escolar", "description": "Autobuses \n y paradas"}}


def test_clean_translations_refuses_on_the_field_of_its_language():
    with pytest.raises(InvalidInput) as refused:
        translated.clean_translations({"es": {"name": "x" * 121}}, languages=("en", "es"), limits={"name": 120})
    assert refused.value.field == "name_es"
    with pytest.raises(InvalidInput) as refused:
        translated.clean_translations({"es": {"name": "Bus\x00"}}, languages=("en", "es"), limits={"name": 120})
    assert refused.value.field == "name_es"


@given(given_text=st.text(max_size=200))
def test_clean_translations_never_fails_other_than_by_refusing(given_text):
    try:
        cleaned = translated.clean_translations(
            {"es": {"name": given_text}}, languages=("en", "es"), limits={"name": 120}
        )
    except InvalidInput as error:
        assert error.field == "name_es"
    else:
        assert set(cleaned) <= {"es"}
        assert all(text.strip() for fields in cleaned.values() for text in fields.values())


def test_merged_keeps_a_language_whose_catalog_is_gone():
    assert translated.merged(
        {"es": {"name": "Viejo"}, "fr": {"name": "Transport"}}, {"es": {"name": "Nuevo"}}, languages=("en", "es")
    ) == {"fr": {"name": "Transport"}, "es": {"name": "Nuevo"}}
    assert translated.merged({"es": {"name": "Viejo"}}, {}, languages=("en", "es")) == {}


def test_languages_are_named_in_themselves_and_in_the_reader_s_language():
    assert endonym("es") == "Español"
    assert endonym("fr") == "Français"
    assert display_name("es", "en") == "Spanish"
    assert display_name("en", "es") == "inglés"
    assert display_name("not a language", "en") == "not a language"


def test_the_languages_are_the_catalogs_present(tmp_path):
    for code in ("fr", "es", "not_a_language"):
        folder = tmp_path / code / "LC_MESSAGES"
        folder.mkdir(parents=True)
        (folder / "messages.mo").write_bytes(b"")
    (tmp_path / "de" / "LC_MESSAGES").mkdir(parents=True)  # no compiled catalog: not offered
    assert catalog_languages([str(tmp_path)]) == {"en": "English", "es": "Español", "fr": "Français"}
