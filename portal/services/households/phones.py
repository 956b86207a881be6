"""Phone numbers, validated and stored in E.164 (+15555550100)."""

from functools import lru_cache

import phonenumbers

from portal.catalogs import lazy_gettext as _l
from portal.services.errors import InvalidInput


def normalize_phone(text: str, *, region: str, field: str = "phone") -> str:
    """E.164 for a number typed in any common way; the district's country is the default."""
    try:
        number = phonenumbers.parse(text[:40], region)
    except phonenumbers.NumberParseException as error:
        raise InvalidInput(_l("Enter a phone number, like 213-555-0143."), field=field) from error
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(_l("This is not a valid phone number. Check the digits."), field=field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=4096)
def display_phone(e164: str) -> str:
    """The number as people write it: national format at home, international abroad
    (kept: parsing a number costs tens of microseconds, and a page shows it several times)."""
    number = phonenumbers.parse(e164, None)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
