"""The one CSV writer of the portal: every CSV it produces goes through here.

A spreadsheet runs a cell that begins with =, +, -, @, a tab or a carriage
return as a formula ("CSV injection"), so such free-text cells get a leading
apostrophe. A validated E.164 phone number (+15555550100) is left as it is, so
that mass-messaging tools import it.
"""

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def safe_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool | int | float):
        return str(value)
    text = str(value)
    if text.startswith(FORMULA_PREFIXES) and not E164.fullmatch(text):
        return "'" + text
    return text


def write_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(cell) for cell in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return buffer.getvalue()
