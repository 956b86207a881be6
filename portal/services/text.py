"""Rules for the text people type, shared by the forms and the services behind them.

Every free-text field a service saves goes through `clean_text`."""

from typing import Any

from portal.catalogs import lazy_gettext as _l
from portal.services.errors import InvalidInput

# Tab and line breaks belong in a multi-line text box; no other control character
# belongs anywhere (NUL, for one, cannot even be stored in PostgreSQL). Nor does half of
# a UTF-16 pair (U+D800 to U+DFFF), which Python strings can hold but no UTF-8 text can.
MULTILINE_ALLOWED = frozenset("\t\n\r")
CONTROL_CHARACTERS_MESSAGE = _l("Remove the invisible control characters from this field.")


def has_control_characters(text: str, *, multiline: bool) -> bool:
    allowed = MULTILINE_ALLOWED if multiline else frozenset()
    return any(
        (ord(ch) < 32 or 127 <= ord(ch) < 160 or 0xD800 <= ord(ch) < 0xE000) and ch not in allowed for ch in text
    )


def clean_text(text: str, *, field: str, limit: int, missing: Any = None, one_line: bool = False) -> str:
    """`text` as it is saved, or InvalidInput on `field`: control characters other than
    tab and line breaks are refused; a one-line text has its runs of spaces, tabs and
    line breaks folded into single spaces, any other has its ends trimmed; an empty
    text is refused with the message `missing` (when the field is required); and it
    may have at most `limit` characters."""
    if has_control_characters(text, multiline=True):
        raise InvalidInput(CONTROL_CHARACTERS_MESSAGE, field=field)
    text = " ".join(text.split()) if one_line else text.strip()
    if not text and missing is not None:
        raise InvalidInput(missing, field=field)
    if len(text) > limit:
        raise InvalidInput(_l("Use at most %(count)d characters.", count=limit), field=field)
    return text
