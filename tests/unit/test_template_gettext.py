"""The templates' `_`, `gettext` and `ngettext` (portal.i18n) write what Jinja's own newstyle
callables write, around the same catalog: in HTML templates the text is marked safe and
only the variables put in are escaped; in text templates (the emails' plain part) nothing
is escaped; "%%" is "%" whether or not a variable is put in; `num` is put in by ngettext."""

from typing import Any

import pytest
from flask import Flask
from flask_babel import force_locale
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jinja2 import Environment

from portal.catalogs import translate, translate_plural
from portal.i18n import template_gettext, template_ngettext
from tests.unit.test_translations import read_catalog

SPANISH = read_catalog("es")
SINGULARS = sorted(str(message.id) for message in SPANISH if message.id and isinstance(message.id, str))
PLURALS = sorted(tuple(message.id) for message in SPANISH if message.id and not isinstance(message.id, str))

TEMPLATES = [
    '{{ _(text) }}|{{ gettext(text) }}|{{ _(text, value=value) }}|{{ _("Select %(reference)s", reference=value) }}',
    "{{ ngettext(singular, plural, number) }}|{{ ngettext(singular, plural, number, value=value) }}",
    "{% trans %}Feedback{% endtrans %}|{% trans count=number %}{{ count }} piece{% pluralize %}{{ count }} pieces"
    "{% endtrans %}",
]

# Text the catalogs never hold, written as a template would (a percent sign doubled or
# not, a variable's conversion, markup), and values with markup in them.
written = st.text(alphabet=st.sampled_from("ab <>&\"'%()sdé"), max_size=30)


def jinja_own(autoescape: bool) -> Environment:
    """Jinja's newstyle gettext around the portal's catalogs: what the templates wrote before."""
    environment = Environment(extensions=["jinja2.ext.i18n"], autoescape=autoescape)  # noqa: S701 (both kinds)
    environment.install_gettext_callables(gettext=translate, ngettext=translate_plural, newstyle=True)  # type: ignore[attr-defined]
    return environment


def portal_own(app: Flask, autoescape: bool) -> Environment:
    environment = app.jinja_env.overlay(autoescape=autoescape)
    assert environment.globals["_"] is template_gettext and environment.globals["ngettext"] is template_ngettext
    return environment


def rendered(environment: Environment, source: str, variables: dict[str, Any]) -> str | type:
    try:
        return environment.from_string(source).render(**variables)
    except (TypeError, ValueError, KeyError) as error:  # a text whose "%" is no conversion
        return type(error)


@pytest.mark.parametrize("autoescape", [True, False], ids=["html", "text"])
@pytest.mark.parametrize("language", ["en", "es"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.one_of(st.sampled_from(SINGULARS), written),
    plural=st.one_of(st.sampled_from(PLURALS), st.tuples(written, written)),
    value=st.one_of(written, st.sampled_from(["<script>alert(1)</script>", "R-1", ""])),
    number=st.integers(min_value=-3, max_value=1_000_001),
)
def test_templates_translate_as_jinjas_newstyle_gettext(
    app: Flask, autoescape: bool, language: str, text: str, plural: tuple[str, str], value: str, number: int
) -> None:
    variables = {"text": text, "singular": plural[0], "plural": plural[1], "value": value, "number": number}
    with app.test_request_context(), force_locale(language):
        for source in TEMPLATES:
            expected = rendered(jinja_own(autoescape), source, variables)
            assert rendered(portal_own(app, autoescape), source, variables) == expected, source


def test_spanish_pages_read_the_spanish_catalog(app: Flask) -> None:
    with app.test_request_context(), force_locale("es"):
        page = app.jinja_env.from_string('{{ _("Feedback") }}: {{ _("Select %(reference)s", reference="<b>") }}')
        assert page.render() == "Comentarios: Seleccionar &lt;b&gt;"
