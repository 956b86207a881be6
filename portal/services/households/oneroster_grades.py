"""Grades as OneRoster exports write them (CEDS codes), read into what our Student.grade holds.

The canonical codes are the CEDS ones, at most four characters as the grade column is:
IT, PR, PK, TK, KG, 01 to 13, PS, UG, and OT, which stands for CEDS "Other" (five
characters, too long for the column). Read alike: any letter case and surrounding spaces,
K and Kindergarten for KG, Other for OT, numbers with or without leading zeros (1, 01, 001),
and 0 for kindergarten and -1 for prekindergarten, as several SIS write them.
"""

import re

from portal.catalogs import lazy_gettext as _l

GRADE_CODES = ("IT", "PR", "PK", "TK", "KG", *(f"{number:02d}" for number in range(1, 14)), "PS", "UG", "OT")
_SPELLINGS = {code: code for code in GRADE_CODES} | {
    "K": "KG",
    "KINDERGARTEN": "KG",
    "OTHER": "OT",
    "-1": "PK",
}
_NUMBER = re.compile(r"0*(\d{1,2})", re.ASCII)
_LABELS: dict[str, str] = {
    "IT": _l("Infant/toddler"),
    "PR": _l("Preschool"),
    "PK": _l("Prekindergarten"),
    "TK": _l("Transitional kindergarten"),
    "KG": _l("Kindergarten"),
    "PS": _l("Postsecondary"),
    "UG": _l("Ungraded"),
    "OT": _l("Other grade"),
}


def normalize_grade(raw: str) -> str | None:
    """The canonical code of a grade as an export spells it, or None when it is no grade we know."""
    text = raw.strip().upper()
    code = _SPELLINGS.get(text)
    if code is None and (number := _NUMBER.fullmatch(text)):
        value = int(number[1])
        code = "KG" if value == 0 else f"{value:02d}" if value <= 13 else None
    return code


def grade_label(code: str) -> str:
    """A grade in words ("Kindergarten", "Grade 3"), translated when shown; an unknown code as it is."""
    canonical = normalize_grade(code)
    if canonical is None:
        return code
    label: str = _LABELS.get(canonical) or _l("Grade %(number)d", number=int(canonical))
    return label
