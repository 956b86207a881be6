"""What every blueprint's forms share: showing a domain error next to its field."""

from collections.abc import Iterable, Iterator

from wtforms import Field, Form

from portal.services.errors import DomainError


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
