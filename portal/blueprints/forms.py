"""What every blueprint's forms share: showing a domain error next to its field."""

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import Field, Form, SelectChoice

from portal.db import get_session
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


class PortalForm(FlaskForm):
    """The base of every form: text with control characters is refused next to its field."""

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        for field in _leaf_fields(self):
            if field.type in ("CSRFTokenField", "HiddenField") or not isinstance(field.data, str):
                continue
            if has_control_characters(field.data, multiline=field.type == "TextAreaField"):
                field.errors = [*field.errors, str(_l("Remove the invisible control characters from this field."))]
                valid = False
        return valid


def validate_filters(form: Form) -> None:
    """Check a search form: a filter with a bad value shows its error and is left out
    (back to its default); the other filters still apply."""
    form.validate()
    for field in form:
        if field.errors:
            field.data = field.default


def save_or_show_error(form: Form, change: Callable[[Session], T]) -> T | None:
    """Run one unit of work for a validated form and commit it; on a domain error, roll
    back and show the error next to its field. Returns the change's result, or None
    when it was refused (a change must return something truthy)."""
    db = get_session()
    try:
        result = change(db)
    except DomainError as error:
        db.rollback()
        attach_error(form, error)
        return None
    db.commit()
    return result
