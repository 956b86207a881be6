"""Rules for the text people type, shared by the forms and the services behind them."""

# Tab and line breaks belong in a multi-line text box; no other control character
# belongs anywhere (NUL, for one, cannot even be stored in PostgreSQL).
MULTILINE_ALLOWED = frozenset("\t\n\r")


def has_control_characters(text: str, *, multiline: bool) -> bool:
    allowed = MULTILINE_ALLOWED if multiline else frozenset()
    return any((ord(ch) < 32 or 127 <= ord(ch) < 160) and ch not in allowed for ch in text)
