"""The catalogs in portal/translations: complete, compiled, placeholders kept, and used.

The strings are extracted from the current source through babel.cfg, as
`scripts/translations update` does, so a new _() or _l() that nobody translated
fails here by name.
"""

import re
from collections import Counter
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "portal" / "translations"
# Every catalog present: a language added by its catalog is checked like Spanish.
LOCALES = tuple(sorted(path.parent.parent.name for path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")))
HOW_TO_FIX = (
    "\nRun `scripts/translations update`, translate the new or changed strings in "
    "portal/translations/<language>/LC_MESSAGES/messages.po, then run `scripts/translations compile`."
)

# A printf-style conversion as Python's % operator reads it: %(name)s, %d, %.2f, %%.
CONVERSION = re.compile(r"%(?:\((?P<name>\w+)\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?(?P<type>[diouxXeEfFgGcrsa%])")
LAZY_CALL = re.compile(r"\b(?:_l|lazy_gettext)\(\s*[\"']")


def read_catalog(locale: str) -> Catalog:
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=locale)


def compiled_messages(catalog: Catalog) -> dict[tuple[object, str | None], object]:
    # read_mo gives a plural's ids and strings as lists.
    def frozen(value: object) -> object:
        return tuple(value) if isinstance(value, list | tuple) else value

    return {(frozen(message.id), message.context): frozen(message.string) for message in catalog if message.id}


def where(message: Message) -> str:
    return ", ".join(f"{filename}:{lineno}" for filename, lineno in message.locations[:3])


def conversions(text: str) -> tuple[Counter[tuple[str | None, str]], str]:
    """The conversions in `text`, and what is left of it once they are taken out."""
    found = Counter((match["name"], match["type"]) for match in CONVERSION.finditer(text))
    return found, CONVERSION.sub("", text)


@pytest.fixture(scope="module")
def source_messages() -> Catalog:
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config, filename="babel.cfg")
    catalog = Catalog()
    extracted = extract_from_dir(ROOT, method_map, options_map, keywords=DEFAULT_KEYWORDS)
    for filename, lineno, message, _comments, context in extracted:
        catalog.add(message, None, [(filename, lineno)], context=context)
    return catalog


def test_extraction_finds_lazy_strings(source_messages: Catalog) -> None:
    # babel.cfg names _l and lazy_gettext; a Babel that ignores its keywords would miss them.
    uses_lazy = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "portal").rglob("*.py")
        if LAZY_CALL.search(path.read_text(encoding="utf-8"))
    }
    extracted_from = {filename for message in source_messages for filename, _lineno in message.locations}
    assert uses_lazy <= extracted_from, (
        f"no strings extracted from {sorted(uses_lazy - extracted_from)}: are babel.cfg's keywords ignored?"
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_every_source_string_is_translated(source_messages: Catalog, locale: str) -> None:
    catalog = read_catalog(locale)
    problems = []
    for message in source_messages:
        if not message.id:
            continue
        entry = catalog.get(message.id, message.context)
        strings = entry.string if entry and isinstance(entry.string, tuple) else (entry and entry.string,)
        if entry is None or entry.id != message.id:
            problems.append(f"missing: {message.id!r} ({where(message)})")
        elif entry.fuzzy:
            problems.append(f"fuzzy: {message.id!r} ({where(message)})")
        elif not all(strings) or (message.pluralizable and len(strings) != catalog.num_plurals):
            problems.append(f"not translated: {message.id!r} ({where(message)})")
    assert not problems, (
        f"{len(problems)} of the source strings are not ready in {locale}/messages.po:\n"
        + "\n".join(problems)
        + HOW_TO_FIX
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_compiled_catalog_is_up_to_date(locale: str) -> None:
    catalog = read_catalog(locale)
    compiled = BytesIO()
    write_mo(compiled, catalog)  # as `pybabel compile` does: fuzzy entries left out
    compiled.seek(0)
    expected = read_mo(compiled)
    mo_path = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo"
    assert mo_path.exists(), f"{mo_path.relative_to(ROOT)} is missing." + HOW_TO_FIX
    with mo_path.open("rb") as mo:
        actual = read_mo(mo)
    expected_messages, actual_messages = compiled_messages(expected), compiled_messages(actual)
    stale = sorted(
        str(key[0])
        for key in expected_messages.keys() | actual_messages.keys()
        if expected_messages.get(key) != actual_messages.get(key)
    )
    assert not stale, f"{mo_path.relative_to(ROOT)} differs from the .po for {len(stale)} messages: {stale[:10]}" + (
        HOW_TO_FIX
    )
    assert actual.plural_forms == expected.plural_forms, "the .mo has other plural forms than the .po." + HOW_TO_FIX


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_every_placeholder(locale: str) -> None:
    catalog = read_catalog(locale)
    problems = []
    for message in catalog:
        if not message.id or not message.string or message.fuzzy:  # fuzzy ones are not compiled
            continue
        if message.pluralizable:
            # The first form answers the English singular, the others the plural.
            originals = [message.id[0]] + [message.id[1]] * (len(message.string) - 1)
            pairs = list(zip(originals, message.string, strict=True))
        else:
            pairs = [(message.id, message.string)]
        for original, translation in pairs:
            if not translation:
                continue
            wanted, _rest = conversions(original)
            found, rest = conversions(translation)
            if found != wanted:
                problems.append(f"{original!r} -> {translation!r}")
            elif "%" in rest:
                # Templates always %-format their strings: a lone % would break the page.
                problems.append(f"{original!r} -> {translation!r} (a lone %: write %%)")
    assert not problems, f"translations in {locale}/messages.po that change the placeholders:\n" + "\n".join(problems)


@pytest.mark.parametrize("accept_language", ["es", "es-MX,es;q=0.9,en;q=0.8"])
def test_sign_in_page_is_in_spanish_for_spanish_browsers(client, accept_language: str) -> None:
    page = client.get("/sign-in", headers={"Accept-Language": accept_language})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<html lang="es">' in html
    assert "<h1>Iniciar sesión</h1>" in html
    # The form's labels are lazy strings (_l), translated when the page is drawn.
    assert "Correo electrónico" in html
    assert "Contraseña" in html
